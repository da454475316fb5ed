//! Time limits as a client sees them, and the rlimit fallback.
//!
//! - CPU time: the reported `time` of a spinning program against its `cpuLimit`. The overshoot
//!   (time − limit) is printed for `docs/compatibility.md`, not asserted tightly: the machine is
//!   shared and timings taken while others compile are noise. The structural bound asserted is
//!   that the check timer, not the RLIMIT_CPU backstop (floor(limit) + 1 s = 1 s here), stopped
//!   the program.
//! - Wall clock: `runTime` of a sleeper against its `clockLimit`, printed the same way.
//! - Fallback: with cgroups unusable (a `-cgroup-prefix` whose parent does not exist) the server
//!   logs a warning, reports `cgroupType` 0 in `/config` and still runs programs under rlimits;
//!   with `-no-fallback` it refuses to start.

use std::time::{Duration, Instant};

use sonic_rs::JsonValueTrait;

use super::{field, json, output, post_run, require_judge, start};

fn spin(cpu_limit_ns: u64, script: &str) -> String {
    format!(
        r#"{{"cmd":[{{"args":["/bin/sh","-c","{script}"],"env":["PATH=/usr/bin:/bin"],
            "files":[{{"content":""}},{{"name":"stdout","max":100}},{{"name":"stderr","max":1000}}],
            "cpuLimit":{cpu_limit_ns},"clockLimit":10000000000,"memoryLimit":67108864,"procLimit":20}}]}}"#
    )
}

fn sorted_ms(mut v: Vec<i64>) -> String {
    v.sort_unstable();
    let ms: Vec<String> = v.iter().map(|ns| format!("{:.1}", *ns as f64 / 1e6)).collect();
    ms.join(" ")
}

#[test]
fn cpu_time_limit_overshoot() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    const LIMIT: u64 = 100_000_000;
    for (what, script) in [
        ("one process", "while :; do :; done"),
        ("two processes", "(while :; do :; done) & while :; do :; done"),
    ] {
        let mut overshoot = Vec::new();
        for _ in 0..10 {
            let r = post_run(&mut c, &spin(LIMIT, script));
            let v = json(&r);
            assert_eq!(field(&v, 0, "status"), "Time Limit Exceeded", "{}", r.text());
            assert_eq!(field(&v, 0, "exitStatus"), "9", "{}", r.text());
            let time: u64 = field(&v, 0, "time").parse().expect("time");
            assert!(time >= LIMIT, "stopped only once the budget was spent: {time}");
            assert!(time < 1_000_000_000, "stopped by the check timer, not RLIMIT_CPU: {time}");
            overshoot.push(time as i64 - LIMIT as i64);
        }
        eprintln!(
            "    cpuLimit 100 ms, {what}: time − limit (ms, sorted) {}",
            sorted_ms(overshoot)
        );
    }
}

#[test]
fn wall_clock_limit_overshoot() {
    require_judge!();
    let server = start(&[]);
    let mut c = server.client();
    const LIMIT: u64 = 100_000_000;
    let body = format!(
        r#"{{"cmd":[{{"args":["/bin/sleep","10"],"env":["PATH=/bin"],
            "cpuLimit":1000000000,"clockLimit":{LIMIT},"memoryLimit":67108864,"procLimit":5}}]}}"#
    );
    let mut overshoot = Vec::new();
    for _ in 0..10 {
        let t0 = Instant::now();
        let v = json(&post_run(&mut c, &body));
        assert_eq!(field(&v, 0, "status"), "Time Limit Exceeded");
        let run_time: u64 = field(&v, 0, "runTime").parse().expect("runTime");
        assert!(run_time >= LIMIT, "runTime {run_time}");
        assert!(t0.elapsed() < Duration::from_secs(5), "killed long before sleep's 10 s");
        overshoot.push(run_time as i64 - LIMIT as i64);
    }
    eprintln!("    clockLimit 100 ms: runTime − limit (ms, sorted) {}", sorted_ms(overshoot));
}

#[test]
fn without_cgroups_the_server_falls_back_to_rlimits_and_says_so() {
    require_judge!();
    let bad_prefix = "shardbox-no-such-parent/x";
    let server = start(&["-cgroup-prefix", bad_prefix]);
    let mut c = server.client();
    let config = json(&c.get("/config"));
    let cgroup_type = config.get("runnerConfig").and_then(|r| r.get("cgroupType"));
    assert_eq!(cgroup_type.and_then(|t| t.as_u64()), Some(0), "{config:?}");
    let log = server.binary.log.lock().expect("log").join("\n");
    assert!(log.contains("falling back to rlimits"), "{log}");
    assert!(log.contains("cgroupType 0"), "{log}");
    // Programs run; usage comes from wait4.
    let v = json(&post_run(&mut c, &spin(2_000_000_000, "echo ran")));
    assert_eq!(field(&v, 0, "status"), "Accepted");
    assert_eq!(output(&v, 0, "stdout"), "ran\n");
    let memory: u64 = field(&v, 0, "memory").parse().expect("memory");
    assert!(memory > 0, "maxrss reported");
    // CPU time: only RLIMIT_CPU (whole seconds) and the clock; still Time Limit Exceeded.
    let v = json(&post_run(&mut c, &spin(300_000_000, "exec sh -c 'while :; do :; done'")));
    assert_eq!(field(&v, 0, "status"), "Time Limit Exceeded");
    eprintln!("    fallback, cpuLimit 300 ms: time {} ns", field(&v, 0, "time"));
    drop(c);
    drop(server);
    // -no-fallback: the server refuses to start, saying why.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shardbox"))
        .args(["-http-addr", "127.0.0.1:0", "-parallelism", "1", "-pin-shards=false"])
        .args(["-cgroup-prefix", bad_prefix, "-no-fallback"])
        .output()
        .expect("run shardbox");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cgroups required"), "{stderr}");
}
