//! The Linux subset through glibc: a self-checking program (brk, mmap/munmap/mprotect,
//! clocks, getrandom, uname, fstat, isatty, rlimits, writev, failing open), stdin, abort().

use shardbox_vm::{Captured, Config, Outcome, TrapKind, run_program};

fn run(name: &str, stdin: &[u8]) -> (Outcome, Captured) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("guest/prebuilt")
        .join(format!("{name}.elf"));
    let elf = std::fs::read(path).expect("ELF");
    let mut host = Captured::with_stdin(stdin);
    let (out, _) = run_program(
        &elf,
        &Config::default(),
        &[name.as_bytes()],
        &[b"LANG=C"],
        1_000_000_000,
        &mut host,
    )
    .expect("loads");
    (out, host)
}

#[test]
fn glibc_sees_the_linux_subset_it_expects() {
    let (out, host) = run("t-sys", b"");
    let text = String::from_utf8_lossy(&host.stdout);
    assert_eq!(out, Outcome::Exited(0), "{text}");
    assert!(!text.contains("FAILED"), "{text}");
    assert_eq!(text.matches(": ok").count(), 21, "{text}");
}

#[test]
fn stdin_is_read_through_the_host() {
    let (out, host) = run("t-echo", b"abc\ndef");
    assert_eq!(out, Outcome::Exited(0));
    assert_eq!(host.stdout, b"ABC\nDEF[7 bytes]\n");
}

#[test]
fn abort_is_a_signal_trap() {
    let (out, host) = run("t-abort", b"");
    assert!(matches!(out, Outcome::Trap { kind: TrapKind::Signal(6), .. }), "{out:?}");
    assert_eq!(host.stdout, b"aborting\n");
}
