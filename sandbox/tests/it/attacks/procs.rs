//! Processes and resources: programs that try to outlive their run, evade the CPU-time limit,
//! hang the wall clock, exhaust threads, fds and kernel instances, fill memory through tmpfs or
//! sparse files, or send a request (argv, env, a name) too large for the protocol.

use std::time::{Duration, Instant};

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::{ContainerError, ExecLimits, ExecRequest, WaitStatus};

use super::{compile, field, run_bin};
use crate::harness::{check, env, limits, pool, sh};

const MS: u64 = 1_000_000;

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("attacks::procs::nothing_outlives_the_run", outlive),
        Trial::test("attacks::procs::threads_count_against_procs_max", threads),
        Trial::test("attacks::procs::fds_and_kernel_instances_are_bounded", fds),
        Trial::test("attacks::procs::sparse_files_are_bounded", sparse),
        Trial::test("attacks::procs::tmpfs_pages_count_as_memory", tmpfs_memory),
        Trial::test("attacks::procs::cpu_limit_sees_daemons_and_kernel_time", cpu_evasion),
        Trial::test("attacks::procs::wall_limit_ends_a_stopped_vfork", vfork_stop),
        Trial::test("attacks::procs::oversized_request_is_refused", oversized),
        Trial::test("attacks::procs::collectors_held_in_flight_end_with_the_run", held_in_flight),
    ]
}

fn bin() -> Result<Vec<u8>, Failed> {
    compile("procs", include_str!("c/procs.c"), &["-pthread"])
}

fn cgroup_empty(c: &shardbox_sandbox::Container) -> Result<bool, Failed> {
    Ok(c.cgroup().map(|cg| cg.is_empty()).transpose()?.unwrap_or(true))
}

fn outlive() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let l = ExecLimits { wall_time_ns: Some(10_000 * MS), ..limits() };
    let start = Instant::now();
    let r = run_bin(&mut c, "procs", &bin, &["daemons"], l)?;
    r.exited(0)?;
    check(field(&r, "spawned") == Some("0 0"), || format!("{r:?}"))?;
    check(field(&r, "clone_parent").is_some_and(|v| !v.starts_with('-')), || format!("{r:?}"))?;
    // The run ends when main exits: nobody waits for the daemons' wall clock.
    check(start.elapsed() < Duration::from_secs(3), || format!("took {:?}", start.elapsed()))?;
    check(cgroup_empty(&c)?, || "processes left in the cgroup after the run".into())?;
    let r = sh(&mut c, "ls /proc | grep -c '^[0-9]'", limits())?;
    // init, sh, ls, grep.
    check(r.stdout.trim().parse::<u32>().unwrap_or(99) <= 4, || format!("left: {r:?}"))?;
    Ok(())
}

fn threads() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let l = ExecLimits { procs_max: Some(16), ..limits() };
    let r = run_bin(&mut c, "procs", &bin, &["threads"], l)?;
    r.exited(0)?;
    let n: u64 =
        field(&r, "threads").and_then(|v| v.split(' ').next()?.parse().ok()).unwrap_or(u64::MAX);
    // main is one of the 16 tasks.
    check(n <= 15, || format!("{n} threads under pids.max 16: {r:?}"))?;
    check(field(&r, "threads").is_some_and(|v| v.ends_with(" 11")), || format!("EAGAIN: {r:?}"))?;
    Ok(())
}

fn fds() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "procs", &bin, &["fds"], limits())?;
    r.exited(0)?;
    // RLIMIT_NOFILE 256 (open_file_limit), 0..2 taken; it cannot be raised.
    check(field(&r, "open") == Some("253 24"), || format!("open: {r:?}"))?;
    check(field(&r, "raise_nofile") == Some("-1 1"), || format!("raise: {r:?}"))?;
    let inotify = field(&r, "inotify").map(str::to_string);
    check(inotify.as_deref().is_some_and(|v| v.ends_with(" 24") && !v.starts_with("0 ")), || {
        format!("inotify: {r:?}")
    })?;
    // Instances are per user and freed at exit: the next run gets as many.
    let r = run_bin(&mut c, "procs", &bin, &["fds"], limits())?;
    check(field(&r, "inotify") == inotify.as_deref(), || format!("inotify after a run: {r:?}"))?;
    Ok(())
}

fn sparse() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "procs", &bin, &["sparse"], limits())?;
    r.exited(0)?;
    // RLIMIT_FSIZE (output_limit_bytes, 256 MiB) bounds sizes on tmpfs and memfd: EFBIG.
    for what in ["ftruncate_1t", "memfd_1t", "pwrite_far"] {
        check(field(&r, what) == Some("-1 27"), || format!("{what}: {r:?}"))?;
    }
    Ok(())
}

fn tmpfs_memory() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let limit = 32u64 << 20;
    let l = ExecLimits { memory_bytes: Some(limit), ..limits() };
    let r = run_bin(&mut c, "procs", &bin, &["fill", "100"], l)?;
    let o = r.outcome;
    // Either the write fails or the OOM killer ends the program: /w is not a way around the
    // memory limit.
    let filled: u64 =
        field(&r, "filled").and_then(|v| v.split(' ').next()?.parse().ok()).unwrap_or(0);
    check(o.memory_limit_hit || filled < 32, || format!("wrote {filled} MiB: {r:?}"))?;
    check(o.memory_peak_bytes <= limit + 16 * 1024, || format!("peak over the limit: {o:?}"))?;
    c.reset()?;
    let r = sh(&mut c, "exit 0", limits())?;
    check(r.outcome.memory_peak_bytes < 8 << 20, || format!("next run: {r:?}"))?;
    Ok(())
}

fn cpu_evasion() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    for mode in ["spin-daemon", "kernel-spin"] {
        let l =
            ExecLimits { cpu_time_ns: Some(300 * MS), wall_time_ns: Some(5_000 * MS), ..limits() };
        let start = Instant::now();
        let r = run_bin(&mut c, "procs", &bin, &[mode], l)?;
        let o = r.outcome;
        check(o.cpu_limit_hit && !o.wall_limit_hit, || format!("{mode}: {o:?}"))?;
        check(o.cpu_time_ns >= 300 * MS, || format!("{mode}: {o:?}"))?;
        check(start.elapsed() < Duration::from_secs(3), || {
            format!("{mode}: took {:?}", start.elapsed())
        })?;
        check(cgroup_empty(&c)?, || format!("{mode}: processes left"))?;
    }
    Ok(())
}

fn vfork_stop() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let l = ExecLimits { wall_time_ns: Some(300 * MS), ..limits() };
    let start = Instant::now();
    let r = run_bin(&mut c, "procs", &bin, &["vfork-stop"], l)?;
    let o = r.outcome;
    check(o.wall_limit_hit && o.status == WaitStatus::Signalled(9), || format!("{r:?}"))?;
    check(start.elapsed() < Duration::from_secs(2), || format!("took {:?}", start.elapsed()))?;
    check(cgroup_empty(&c)?, || "processes left".into())?;
    Ok(())
}

fn oversized() -> Result<(), Failed> {
    let mut c = pool().get()?;
    let many = |n: usize, len: usize| vec![b"x".repeat(len); n];
    let t = || vec![b"/bin/true".to_vec()];
    // Too many bytes for one message, and too many entries in few bytes (ARGS_COUNT_MAX and
    // ENV_COUNT_MAX are 4096): both must be refused before they reach the init, which would
    // take an undecodable message for a broken host and exit.
    for (args, env) in [
        (many(8192, 16), env()),
        (t(), many(8192, 16)),
        (many(5000, 1), env()),
        (t(), many(5000, 1)),
    ] {
        let req = ExecRequest { args, env, files: vec![], limits: limits() };
        match c.run(&req, None) {
            Err(ContainerError::TooLarge(_)) => {}
            other => return Err(format!("oversized request: {other:?}").into()),
        }
        check(!c.is_broken(), || "an oversized request broke the container".into())?;
    }
    // A name longer than PATH_BYTES_MAX (4095) fits a message easily.
    let long = vec![b'a'; 5000];
    check(matches!(c.open_write(&long), Err(ContainerError::TooLarge(_))), || "copy-in".into())?;
    check(matches!(c.open_read(&long), Err(ContainerError::TooLarge(_))), || "copy-out".into())?;
    let r = c.symlink(&long, b"x");
    check(matches!(r, Err(ContainerError::TooLarge(_))), || format!("symlink: {r:?}"))?;
    check(!c.is_broken(), || "a long name broke the container".into())?;
    sh(&mut c, "exit 0", limits())?.exited(0)?;
    Ok(())
}

/// A program puts its stdout and stderr (`pipe: true` collectors) and a proxied pipe's write
/// end in flight in a cycle of unix sockets (`SCM_RIGHTS`) and exits: no process holds the
/// pipes, but they stay open until the kernel's unix garbage collector runs, which on a quiet
/// host may be never. The judge waited for their end of file: one request held a worker for
/// 22 s, the next ones for over a minute. Each run must end with its program.
fn held_in_flight() -> Result<(), Failed> {
    use crate::judge::{expect_status, file, json_string, run_body};
    use shardbox_sandbox::status::Status;
    let bin = bin()?;
    let dir = std::env::temp_dir().join(format!("sbx-held-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("procs");
    std::fs::write(&path, &bin)?;
    let src = json_string(&path.to_string_lossy());
    let cmd = |stdout: &str| {
        format!(
            r#"{{"args":["./procs","hold-out"],"env":[],"copyIn":{{"procs":{{"src":{src}}}}},
                "files":[{{"content":""}},{stdout},{{"name":"stderr","max":1000,"pipe":true}}],
                "cpuLimit":2000000000,"clockLimit":30000000000,"memoryLimit":67108864,
                "procLimit":4}}"#
        )
    };
    let collector = cmd(r#"{"name":"stdout","max":1000,"pipe":true}"#);
    let pipeline = format!(
        r#"{{"cmd":[{},{}],"pipeMapping":[{{"in":{{"index":0,"fd":1}},"out":{{"index":1,"fd":0}},
            "proxy":true,"name":"p","max":1000}}]}}"#,
        cmd("null"),
        r#"{"args":["/bin/cat"],"env":[],"files":[null,{"name":"stdout","max":1000},
            {"name":"stderr","max":1000}],"cpuLimit":2000000000,"clockLimit":30000000000,
            "memoryLimit":67108864,"procLimit":4}"#,
    );
    let result = (|| -> Result<(), Failed> {
        for _ in 0..5 {
            let r = run_body(&format!(r#"{{"cmd":[{collector}]}}"#))?;
            let r = r.first().ok_or("no result")?;
            expect_status(r, Status::Accepted)?;
            check(file(r, "stdout") == "hello 0 0\n", || format!("{r:?}"))?;
            let r = run_body(&pipeline)?;
            for one in &r {
                expect_status(one, Status::Accepted)?;
            }
            let last = r.get(1).ok_or("no second result")?;
            check(file(last, "stdout") == "hello 0 0\n", || format!("{r:?}"))?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
