//! Every committed guest ELF run in shardbox's VM: stdout and exit code must equal what
//! qemu-riscv64 recorded (`vm/guest/expected/`, see `qemu_diff.rs`). This also proves glibc's
//! static start-up (TLS, auxv, stdio, atexit) works in the VM.

use std::path::{Path, PathBuf};

use shardbox_vm::{Captured, Config, Outcome, run_program};

fn guest_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest")
}

/// `(name, args)` from `diff/cases.txt`.
pub fn cases() -> Vec<(String, Vec<String>)> {
    let list = std::fs::read_to_string(guest_dir().join("diff/cases.txt")).expect("cases.txt");
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace().map(String::from);
            (words.next().expect("name"), words.collect())
        })
        .collect()
}

/// Runs a prebuilt guest with `args` (argv[0] = its name) and an empty environment.
pub fn run(name: &str, args: &[String], fuel: u64) -> (Outcome, Captured, u64) {
    let elf = std::fs::read(guest_dir().join("prebuilt").join(format!("{name}.elf"))).expect("ELF");
    let mut argv: Vec<&[u8]> = vec![name.as_bytes()];
    argv.extend(args.iter().map(|a| a.as_bytes()));
    let mut host = Captured::default();
    let (outcome, stats) =
        run_program(&elf, &Config::default(), &argv, &[], fuel, &mut host).expect("loads");
    (outcome, host, stats.instret)
}

#[test]
fn every_prebuilt_guest_matches_qemu() {
    let mut failures = Vec::new();
    for (name, args) in cases() {
        let dir = guest_dir().join("expected");
        let stdout = std::fs::read(dir.join(format!("{name}.stdout"))).expect("recorded stdout");
        let code: i32 = std::fs::read_to_string(dir.join(format!("{name}.exit")))
            .expect("recorded exit")
            .trim()
            .parse()
            .expect("exit code");
        let (outcome, host, instret) = run(&name, &args, 20_000_000_000);
        println!("{name}: {outcome:?}, {instret} instructions");
        let got_code = match outcome {
            Outcome::Exited(c) => Some(c & 0xff),
            _ => None,
        };
        if got_code != Some(code) || host.stdout != stdout {
            failures.push(format!(
                "{name}: {outcome:?} (recorded exit {code}); stdout {}\n--- got\n{}\n--- stderr\n{}",
                if host.stdout == stdout { "same" } else { "differs" },
                String::from_utf8_lossy(&host.stdout),
                String::from_utf8_lossy(&host.stderr),
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
