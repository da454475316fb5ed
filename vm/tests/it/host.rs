//! The embedder's host-call table: `ecall`s 520..=599 (and any number the VM does not serve)
//! reach [`Host::hostcall`] with the guest's registers and checked memory; `Unknown` gives the
//! guest `-ENOSYS`, `Stop` ends the run with a value.

use shardbox_vm::{Captured, Guest, Host, HostResult, Outcome, SeededRandom};

use crate::asm::{self, DATA, EBREAK, ECALL, addi};

#[derive(Default)]
struct Table {
    calls: Vec<u64>,
}

impl Host for Table {
    fn hostcall(&mut self, nr: u64, guest: &mut Guest<'_, '_>) -> HostResult {
        self.calls.push(nr);
        match nr {
            // Sum of the bytes at (a0, a1), or u64::MAX if the guest passed a bad pointer.
            520 => {
                let (p, n) = (guest.cpu.get(10), guest.cpu.get(11));
                let mut buf = vec![0u8; n as usize];
                match guest.mem.read_bytes(p, &mut buf) {
                    Ok(()) => HostResult::Return(buf.iter().map(|&b| u64::from(b)).sum()),
                    Err(_) => HostResult::Return(u64::MAX),
                }
            }
            // Writes "pong" at a0.
            521 => match guest.mem.write_bytes(guest.cpu.get(10), b"pong") {
                Ok(()) => HostResult::Return(4),
                Err(_) => HostResult::Return(u64::MAX),
            },
            522 => HostResult::Stop(77),
            _ => HostResult::Unknown,
        }
    }
}

#[test]
fn host_calls_reach_the_embedders_table() {
    let code = [
        addi(10, 5, 0), // a0 = DATA
        addi(11, 0, 4),
        addi(17, 0, 520),
        ECALL,
        addi(9, 10, 0), // s1 = sum("abcd")
        addi(10, 5, 16),
        addi(17, 0, 521),
        ECALL,
        addi(19, 10, 0), // s3 = 4
        addi(10, 0, 0),
        addi(17, 0, 520),
        ECALL,
        addi(20, 10, 0), // s4 = MAX (null pointer)
        addi(17, 0, 599),
        ECALL,
        addi(18, 10, 0), // s2 = -ENOSYS
        addi(17, 0, 600),
        ECALL,
        addi(21, 10, 0), // s5 = -ENOSYS (beyond the reserved range: still the embedder's)
        addi(17, 0, 522),
        ECALL,
        EBREAK, // not reached: 522 stops the run
    ];
    let image = asm::elf(&asm::words(&code), b"abcd");
    asm::with_vm(&image, |vm| {
        vm.cpu_mut().x[5] = DATA;
        let mut host = Table::default();
        assert_eq!(vm.run(1000, &mut host), Outcome::Returned(77));
        assert_eq!(host.calls, [520, 521, 520, 599, 600, 522]);
        let x = &vm.cpu().x;
        assert_eq!(x[9], 97 + 98 + 99 + 100);
        assert_eq!(x[19], 4);
        assert_eq!(x[20], u64::MAX);
        assert_eq!(x[18], (-38i64) as u64);
        assert_eq!(x[21], (-38i64) as u64);
        let mut pong = [0u8; 4];
        vm.memory().read_bytes(DATA + 16, &mut pong).expect("data");
        assert_eq!(&pong, b"pong");
    });
}

#[test]
fn linux_numbers_and_shardbox_calls_do_not_reach_the_embedder() {
    // getpid (172) is Linux's, 500 (memcpy of 0 bytes) shardbox's, 450 unknown Linux: -ENOSYS.
    let code = [
        addi(17, 0, 172),
        ECALL,
        addi(9, 10, 0),
        addi(10, 5, 0),
        addi(11, 5, 0),
        addi(12, 0, 0),
        addi(17, 0, 500),
        ECALL,
        addi(18, 10, 0),
        addi(17, 0, 450),
        ECALL,
        EBREAK,
    ];
    let image = asm::elf(&asm::words(&code), b"");
    asm::with_vm(&image, |vm| {
        vm.cpu_mut().x[5] = DATA;
        let mut host = Table::default();
        let out = vm.run(1000, &mut host);
        assert!(matches!(out, Outcome::Trap { .. }), "{out:?}");
        assert!(host.calls.is_empty(), "{:?}", host.calls);
        assert_eq!(vm.cpu().x[9], 1, "getpid");
        assert_eq!(vm.cpu().x[18], DATA, "memcpy returns dst");
        assert_eq!(vm.cpu().x[10], (-38i64) as u64, "unknown Linux call");
    });
}

/// Two `getrandom(DATA + off, 16, 0)` calls; returns the 32 bytes.
fn getrandom_twice(host: &mut dyn Host) -> [u8; 32] {
    let code = [
        addi(10, 5, 0),
        addi(11, 0, 16),
        addi(12, 0, 0),
        addi(17, 0, 278),
        ECALL,
        addi(9, 10, 0), // s1 = 16
        addi(10, 5, 16),
        addi(11, 0, 16),
        addi(17, 0, 278),
        ECALL,
        addi(18, 10, 0), // s2 = 16
        EBREAK,
    ];
    let image = asm::elf(&asm::words(&code), b"");
    asm::with_vm(&image, |vm| {
        vm.cpu_mut().x[5] = DATA;
        let out = vm.run(1000, host);
        assert!(matches!(out, Outcome::Trap { .. }), "{out:?}");
        assert_eq!((vm.cpu().x[9], vm.cpu().x[18]), (16, 16));
        let mut bytes = [0u8; 32];
        vm.memory().read_bytes(DATA, &mut bytes).expect("data");
        bytes
    })
}

#[test]
fn successive_getrandom_calls_differ_but_a_seeded_host_is_reproducible() {
    let first = getrandom_twice(&mut Captured::default());
    assert_ne!(first[..16], first[16..], "the second call repeated the first: {first:?}");
    assert_ne!(first[..16], [0u8; 16]);
    // A fresh host with the same (default) seed replays the same stream.
    assert_eq!(getrandom_twice(&mut Captured::default()), first);
    // The stream continues across calls exactly as one long fill would.
    let mut one = [0u8; 32];
    SeededRandom::default().fill(&mut one);
    assert_eq!(one, first);
}
