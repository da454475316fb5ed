//! What the VM benchmarks share (included by each with `mod support;`): the prebuilt guest
//! ELFs, the kernels template, and the untimed reference call that gives the checksum and the
//! exact instruction count every timed call of a kernel must match.
//!
//! Not a bench target of its own: cargo builds a bench from `benches/*.rs` or
//! `benches/<name>/main.rs`, never from `benches/support/mod.rs`.

use std::path::Path;

use shardbox_vm::{Config, Instance, NullHost, Outcome, PagePool, Template};

/// The bytes of `vm/guest/prebuilt/<name>.elf`.
pub fn elf(name: &str) -> Vec<u8> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/prebuilt").join(format!("{name}.elf"));
    std::fs::read(path).expect("prebuilt ELF")
}

/// The template of `t-kernels.elf` (`vm/guest/tests/kernels.c`), initialised.
pub fn kernels() -> Template {
    Template::new(&elf("t-kernels"), &Config::default(), &[b"k"], &[], 100_000_000, &mut NullHost)
        .expect("init")
}

/// What one kernel call must produce: its checksum and its instructions retired.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// The kernel's return value.
    pub sum: u64,
    /// Instructions the call retired.
    pub insns: u64,
}

impl Reference {
    /// Calls kernel `name` (at `addr`) with `n` once, untimed, in a fresh fork.
    pub fn of(t: &Template, pool: &PagePool, name: &str, addr: u64, n: u64) -> Reference {
        let mut vm = t.fork(pool);
        let Outcome::Returned(sum) = vm.call(addr, &[n], u64::MAX, &mut NullHost) else {
            panic!("{name} did not return");
        };
        Reference { sum, insns: vm.instret() }
    }

    /// Asserts that a timed call of kernel `name` returned `out` and did the same work.
    pub fn check(&self, name: &str, out: Outcome, vm: &Instance<'_>) {
        assert_eq!(out, Outcome::Returned(self.sum), "{name}");
        assert_eq!(vm.instret(), self.insns, "{name}");
    }
}
