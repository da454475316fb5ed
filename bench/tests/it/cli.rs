//! The binary's exit codes: 0 for a clean run, 1 when responses were wrong, 2 when the run
//! could not be carried out; and `compare` writes its table and raw CSV.

use std::process::Command;

use crate::server::{Behaviour, TestServer};

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shardbox-bench"))
}

#[test]
fn clean_run_exits_zero() {
    let server = TestServer::start(Behaviour::Hello);
    let out = bench()
        .args(["run", &server.url("/hello"), "-c", "2", "--warmup", "0ms", "--requests", "100"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("requests      100 in"), "{stdout}");
    assert!(stdout.contains("errors        0"), "{stdout}");
}

#[test]
fn errors_exit_one_and_say_so() {
    let server = TestServer::start(Behaviour::ServerErrorAfter(5));
    let out = bench()
        .args(["run", &server.url("/"), "-c", "1", "--warmup", "0ms", "--requests", "20"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("RUN HAD 16 ERRORS"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAILED"));
}

#[test]
fn absurd_values_exit_two_before_any_traffic() {
    let server = TestServer::start(Behaviour::Hello);
    for args in [["-c", "100000"], ["-d", "100000"], ["--duration", "1000m"]] {
        let out = bench().arg("run").arg(server.url("/")).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(server.served(), 0);
}

#[test]
fn compare_writes_table_and_raw_csv() {
    let a = TestServer::start(Behaviour::Hello);
    let b = TestServer::start(Behaviour::Chunked);
    let dir = std::env::temp_dir().join(format!("bench-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("raw.csv");
    let summary = dir.join("summary.md");
    let pid = std::process::id().to_string();
    let out = bench()
        .args([
            "compare",
            "--target",
            &format!("a={}", a.url("/")),
            "--target",
            &format!("b={}", b.url("/")),
        ])
        .args(["--pid", &format!("a={pid}"), "--pid", &format!("b={pid}")])
        .args([
            "--rounds",
            "3",
            "--scenario",
            "test",
            "-c",
            "2",
            "--warmup",
            "0ms",
            "--requests",
            "50",
        ])
        .args(["--expect-body-bytes", "5"])
        .arg("--csv")
        .arg(&csv)
        .arg("--summary")
        .arg(&summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("| a | ") && stdout.contains("| 1.00× |"), "{stdout}");
    let raw = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = raw.lines().collect();
    assert_eq!(lines.len(), 1 + 2 * 3, "header and one row per target per round:\n{raw}");
    assert!(lines[1].starts_with("test,a,0,50,") && lines[2].starts_with("test,b,0,50,"), "{raw}");
    assert!(
        lines[3].starts_with("test,b,1,") && lines[4].starts_with("test,a,1,"),
        "order rotates:\n{raw}"
    );
    assert_eq!(std::fs::read_to_string(&summary).unwrap().trim(), stdout.trim());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_reports_a_start_command_that_exits() {
    let out = bench()
        .args(["compare", "--target", "gone=http://127.0.0.1:9/", "--start", "gone=exit 3"])
        .args(["--rounds", "1", "--requests", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exited during start-up"), "{stderr}");
}
