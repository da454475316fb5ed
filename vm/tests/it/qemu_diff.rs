//! The committed guest ELFs (`vm/guest/prebuilt/`) and the differential test against
//! `qemu-riscv64`.
//!
//! `vm/guest/diff/cases.txt` lists programs (static glibc C programs exercising integers,
//! floating point with printf and fesetround, memory, glibc start-up; and the qemu-runnable SDK
//! examples) with their arguments; `vm/guest/build.sh` records each one's stdout and exit code
//! under qemu in `vm/guest/expected/`. Here, qemu must still produce exactly those outputs
//! (when it is installed: Debian `qemu-user`, which `.ci/install.sh` installs for CI), so the
//! recordings are the reference the VM's own run of the same ELFs is compared with.

use std::path::{Path, PathBuf};
use std::process::Command;

fn guest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest")
}

struct Case {
    name: String,
    args: Vec<String>,
}

fn cases() -> Vec<Case> {
    let list = std::fs::read_to_string(guest_dir().join("diff/cases.txt")).expect("cases.txt");
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace().map(String::from);
            let name = words.next().expect("a name");
            Case { name, args: words.collect() }
        })
        .collect()
}

fn expected(name: &str) -> (Vec<u8>, i32) {
    let dir = guest_dir().join("expected");
    let stdout = std::fs::read(dir.join(format!("{name}.stdout"))).expect("recorded stdout");
    let code = std::fs::read_to_string(dir.join(format!("{name}.exit"))).expect("recorded exit");
    (stdout, code.trim().parse().expect("exit code"))
}

/// Every prebuilt ELF is a little-endian ELF64 RISC-V executable without writable+executable
/// segments, and every listed case has its recordings.
#[test]
fn prebuilt_guests_are_riscv_executables() {
    let prebuilt = guest_dir().join("prebuilt");
    let mut seen = 0;
    for entry in std::fs::read_dir(&prebuilt).expect("prebuilt/") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read ELF");
        let name = path.display();
        assert!(bytes.len() < 1 << 20, "{name} is over 1 MiB: strip it");
        assert_eq!(bytes.get(..4), Some(&b"\x7fELF"[..]), "{name}: ELF magic");
        assert_eq!(bytes.get(4), Some(&2), "{name}: ELFCLASS64");
        assert_eq!(bytes.get(5), Some(&1), "{name}: little-endian");
        assert_eq!(bytes.get(16..18), Some(&[2, 0][..]), "{name}: ET_EXEC");
        assert_eq!(bytes.get(18..20), Some(&[243, 0][..]), "{name}: EM_RISCV");
        // Program headers: no PT_LOAD that is both writable and executable.
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
        let u16_at = |o: usize| u16::from_le_bytes(bytes[o..o + 2].try_into().unwrap());
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
        let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
        for i in 0..usize::from(phnum) {
            let ph = phoff + i * phentsize;
            let (kind, flags) = (u32_at(ph), u32_at(ph + 4));
            assert!(!(kind == 1 && flags & 3 == 3), "{name}: RWX PT_LOAD segment {i}");
        }
        seen += 1;
    }
    assert!(seen >= 12, "expected the 12 prebuilt guests, found {seen}");
    for case in cases() {
        assert!(prebuilt.join(format!("{}.elf", case.name)).is_file(), "{} missing", case.name);
        expected(&case.name);
    }
}

fn qemu_available() -> bool {
    Command::new("qemu-riscv64").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// qemu-riscv64 reproduces the recorded stdout and exit code of every case.
#[test]
fn qemu_reproduces_recorded_outputs() {
    if !qemu_available() {
        println!(
            "SKIP qemu_reproduces_recorded_outputs: qemu-riscv64 is not installed \
             (Debian package qemu-user; .ci/install.sh installs it)"
        );
        return;
    }
    let prebuilt = guest_dir().join("prebuilt");
    let mut mismatches = Vec::new();
    for case in cases() {
        let elf = prebuilt.join(format!("{}.elf", case.name));
        let out = Command::new("timeout")
            .arg("120")
            .arg("qemu-riscv64")
            .arg(&elf)
            .args(&case.args)
            .env_clear()
            .output()
            .expect("run qemu-riscv64");
        let (stdout, code) = expected(&case.name);
        let got_code = out.status.code().unwrap_or(-1);
        if out.stdout != stdout || got_code != code {
            mismatches.push(format!(
                "{}: exit {got_code} (recorded {code}); stdout {}\n--- got\n{}\n--- recorded\n{}",
                case.name,
                if out.stdout == stdout { "same" } else { "differs" },
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&stdout),
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
