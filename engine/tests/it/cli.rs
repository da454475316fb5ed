//! The binary's command line: help, environment variables, bad flags, defaults.

use std::process::Command;

use crate::harness::{Binary, Client};

#[test]
fn help_lists_every_flag_and_its_environment_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_shardbox")).arg("-help").output().expect("run");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("utf-8");
    for (flag, env) in [
        ("--http-addr", "ES_HTTP_ADDR"),
        ("--parallelism", "ES_PARALLELISM"),
        ("--auth-token", "ES_AUTH_TOKEN"),
        ("--silent", "ES_SILENT"),
        ("--release", "ES_RELEASE"),
        ("--shard-conns-max", "ES_SHARD_CONNS_MAX"),
        ("--idle-timeout", "ES_IDLE_TIMEOUT"),
        ("--header-timeout", "ES_HEADER_TIMEOUT"),
        ("--write-timeout", "ES_WRITE_TIMEOUT"),
        ("--shutdown-timeout", "ES_SHUTDOWN_TIMEOUT"),
        ("--body-bytes-max", "ES_BODY_BYTES_MAX"),
        ("--wait-batch", "ES_WAIT_BATCH"),
        ("--wait-batch-bound", "ES_WAIT_BATCH_BOUND"),
    ] {
        assert!(help.contains(flag), "help lacks {flag}");
        assert!(help.contains(env), "help lacks {env}");
    }
    assert!(help.contains("localhost:5050"));
}

#[test]
fn bad_flags_exit_two() {
    for args in [
        &["-no-such-flag"][..],
        &["-parallelism", "many"],
        &["-idle-timeout", "10"],
        &["-parallelism", "0"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_shardbox")).args(args).output().expect("run");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn wait_batch_out_of_range_is_refused_at_start_with_its_range() {
    for (args, message) in [
        (&["-wait-batch", "0"][..], "wait-batch = 0 is outside 1..=16"),
        (&["-wait-batch", "17"], "wait-batch = 17 is outside 1..=16"),
        (
            &["-wait-batch-bound", "99us"],
            "wait-batch-bound (ns) = 99000 is outside 100000..=10000000",
        ),
        (&["-wait-batch-bound", "10001us"], "wait-batch-bound (ns) = 10001000 is outside"),
        (&["-wait-batch=-1"], "invalid value '-1'"),
        (&["-wait-batch-bound", "5"], "missing unit"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_shardbox")).args(args).output().expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// The value of `series{shard="0"}` in a `/metrics` text.
fn shard0(metrics: &str, series: &str) -> u64 {
    let prefix = format!("{series}{{shard=\"0\"}} ");
    let line = metrics.lines().find_map(|l| l.strip_prefix(&prefix)).expect("series present");
    line.parse().expect("a count")
}

#[test]
fn wait_batch_from_the_environment_reaches_the_shards() {
    // Batching off through ES_WAIT_BATCH, the shortest bound through the flag: bursts of
    // requests make busy turns, and still no wait is batched.
    let server = Binary::start_with_env(&["-wait-batch-bound", "100us"], &[("ES_WAIT_BATCH", "1")]);
    let mut clients: Vec<Client> = (0..48).map(|_| Client::connect(server.addr)).collect();
    let mut observer = Client::connect(server.addr);
    let start = std::time::Instant::now();
    let metrics = loop {
        for client in &mut clients {
            client.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        }
        for client in &mut clients {
            assert_eq!(client.read_reply().expect("reply").status, 200);
        }
        let metrics = observer.get("/metrics").text();
        if shard0(&metrics, "shardbox_shard_busy_turns_total") > 0 {
            break metrics;
        }
        assert!(start.elapsed() < crate::harness::PATIENCE, "no busy turn: {metrics}");
    };
    assert_eq!(shard0(&metrics, "shardbox_shard_ring_batched_waits_total"), 0, "{metrics}");
    assert_eq!(shard0(&metrics, "shardbox_shard_ring_batches_short_total"), 0);
}

#[test]
fn environment_variables_configure_the_server() {
    let server =
        Binary::start_with_env(&[], &[("ES_AUTH_TOKEN", "tok"), ("ES_SHARD_CONNS_MAX", "1")]);
    let mut first = Client::connect(server.addr);
    assert_eq!(first.get("/hello").status, 200);
    // The cap of one connection came from the environment.
    let mut second = Client::connect(server.addr);
    let refused = second.read_reply().expect("503");
    assert_eq!(refused.status, 503);
}

#[test]
fn version_flag_in_go_spelling() {
    for flag in ["-version", "--version"] {
        let output = Command::new(env!("CARGO_BIN_EXE_shardbox")).arg(flag).output().expect("run");
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).expect("utf-8");
        assert!(text.starts_with("shardbox "), "{text}");
    }
}

/// As a container's main process (pid 1) the server listens on all interfaces by default, as
/// go-judge does (otherwise nothing outside the container could reach it), starts its container
/// pool, and still stops on SIGTERM (`docker stop`; pid 1 ignores signals it has no handler for).
/// `unshare` gives it a pid namespace (it is pid 1 there, with its own /proc) and a network
/// namespace (so port 5050 is its own).
#[test]
fn as_pid_1_it_listens_on_all_interfaces_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut unshare = Command::new("unshare")
        .args(["--pid", "--net", "--mount", "--fork", "--mount-proc", "--kill-child"])
        .args([
            env!("CARGO_BIN_EXE_shardbox"),
            "-release",
            "-parallelism",
            "1",
            "-pin-shards=false",
        ])
        .env_remove("RUST_LOG")
        .env_remove("ES_HTTP_ADDR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) runs");
    let mut lines = BufReader::new(unshare.stderr.take().expect("stderr")).lines();
    let mut log = Vec::new();
    let listening = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = unshare.kill();
            panic!("the server stopped before listening: {log:#?}");
        };
        log.push(line.clone());
        if let Some(addr) = line.split("addr=").nth(1) {
            break addr.split_whitespace().next().unwrap_or_default().to_owned();
        }
    };
    assert_eq!(listening, "0.0.0.0:5050", "{log:#?}");
    assert!(log.iter().any(|l| l.contains("container pool started")), "{log:#?}");

    // The server's pid outside its namespace: unshare's only child.
    let children = format!("/proc/{0}/task/{0}/children", unshare.id());
    let server: i32 = std::fs::read_to_string(&children)
        .expect("unshare's children")
        .split_whitespace()
        .next()
        .and_then(|pid| pid.parse().ok())
        .expect("unshare has forked the server");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server), nix::sys::signal::Signal::SIGTERM)
        .expect("SIGTERM");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = unshare.wait().expect("wait");
    assert!(status.success(), "pid 1 exits 0 after SIGTERM: {status:?}, {rest:#?}");
    assert!(rest.iter().any(|l| l.contains("shutting down gracefully")), "{rest:#?}");
}
