//! The judge benchmark's baselines: a go-judge-shaped `POST /run` server with no judge behind it.
//!
//! `cargo run --release -p shardbox-bench --example judge_floor -- 127.0.0.1:18291` runs each
//! request's program directly (the floor: no sandbox); add `--bwrap` (or `--bwrap=/path/to/bwrap`)
//! to run each one inside a one-shot bubblewrap sandbox instead. Both accept the subset of the
//! go-judge `/run` body that go-judge's own benchmark uses and answer a go-judge-shaped JSON
//! array, so the load generator measures them through the same HTTP path as shardbox. The
//! server is `shardbox_bench::judge_floor`; this is its command line. It binds loopback only:
//! it runs whatever it is sent, unsandboxed in the floor mode.

use std::path::PathBuf;
use std::process::ExitCode;

use shardbox_bench::judge_floor::{FloorConfig, FloorServer};

fn main() -> ExitCode {
    let mut addr = "127.0.0.1:18291".to_string();
    let mut config = FloorConfig::floor();
    let mut mode = "floor (no sandbox)".to_string();
    for arg in std::env::args().skip(1) {
        if arg == "--bwrap" || arg.starts_with("--bwrap=") {
            let path = arg.strip_prefix("--bwrap=").unwrap_or("/usr/bin/bwrap");
            config = FloorConfig::bwrap(PathBuf::from(path));
            mode = format!("bwrap ({path}) per request");
        } else if arg.starts_with('-') {
            eprintln!("usage: judge_floor [ADDR] [--bwrap[=PATH]]");
            return ExitCode::from(2);
        } else {
            addr = arg;
        }
    }
    let work_root = config.work_root.display().to_string();
    match FloorServer::bind(&addr, config) {
        Ok(server) => {
            eprintln!(
                "judge_floor: {mode}, POST http://{}/run, work dirs under {work_root}",
                server.addr()
            );
            server.serve_forever();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("judge_floor: cannot listen on {addr}: {e}");
            ExitCode::from(2)
        }
    }
}
