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
