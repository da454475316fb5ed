//! `shardbox vm run`: the binary runs committed guest ELFs end to end (stdout, exit code,
//! arguments, stdin), reports traps, fuel and load errors with their exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn guest(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../vm/guest/prebuilt")
        .join(format!("{name}.elf"))
}

fn expected(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../vm/guest/expected")
        .join(format!("{name}.stdout"));
    std::fs::read(path).expect("recorded stdout")
}

fn shardbox() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shardbox"))
}

#[test]
fn runs_a_glibc_program_with_arguments_and_its_exit_code() {
    let out = shardbox()
        .args(["vm", "run"])
        .arg(guest("diff-startup"))
        .args(["one", "two"])
        .env_clear()
        .output()
        .expect("run shardbox");
    assert_eq!(out.status.code(), Some(5), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, expected("diff-startup"));
}

#[test]
fn stats_go_to_stderr() {
    let out =
        shardbox().args(["vm", "run", "--stats"]).arg(guest("c-hello")).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, expected("c-hello"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("instructions retired") && err.contains("pages written"), "{err}");
}

#[test]
fn out_of_fuel_and_bad_elf_have_their_exit_codes() {
    let out = shardbox()
        .args(["vm", "run", "--fuel", "1000"])
        .arg(guest("diff-int"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(152), "out of fuel");
    assert!(String::from_utf8_lossy(&out.stderr).contains("out of fuel"));
    let out =
        shardbox().args(["vm", "run"]).arg(env!("CARGO_BIN_EXE_shardbox")).output().expect("run");
    assert_eq!(out.status.code(), Some(126), "an x86 ELF is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a little-endian ELF64 RISC-V"));
    let out = shardbox().args(["vm", "run", "/nonexistent.elf"]).output().expect("run");
    assert_eq!(out.status.code(), Some(126));
}

#[test]
fn page_budget_is_enforced() {
    let out = shardbox()
        .args(["vm", "run", "--pages", "20"])
        .arg(guest("diff-mem"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(126), "the initial data alone needs more than 20 pages");
    let out = shardbox()
        .args(["vm", "run", "--pages", "200"])
        .arg(guest("diff-mem"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(137), "stderr: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn stdin_reaches_the_guest_and_abort_is_sigabrt() {
    let mut child = shardbox()
        .args(["vm", "run"])
        .arg(guest("t-echo"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(b"hello, guest\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"HELLO, GUEST\n[13 bytes]\n");
    let out = shardbox().args(["vm", "run"]).arg(guest("t-abort")).output().expect("run");
    assert_eq!(out.status.code(), Some(134));
    assert_eq!(out.stdout, b"aborting\n");
}
