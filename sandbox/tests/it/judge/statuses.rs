//! One real run per status (and per way of reaching it): Accepted, Memory Limit Exceeded, Time
//! Limit Exceeded by CPU and by wall clock, Output Limit Exceeded, File Error, Nonzero Exit
//! Status, Signalled, Dangerous Syscall, Internal Error.

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::status::Status;

use super::{cmd, expect_status, file, run_one, sh};
use crate::harness::check;

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("judge::status::accepted", accepted),
        Trial::test("judge::status::memory_limit", memory_limit),
        Trial::test("judge::status::time_limit_by_cpu", time_limit_cpu),
        Trial::test("judge::status::time_limit_by_wall_clock", time_limit_wall),
        Trial::test("judge::status::output_limit", output_limit),
        Trial::test("judge::status::nonzero_exit", nonzero_exit),
        Trial::test("judge::status::signalled", signalled),
        Trial::test("judge::status::dangerous_syscall", dangerous_syscall),
        Trial::test("judge::status::internal_error_on_start_failure", internal_error),
    ]
}

fn accepted() -> Result<(), Failed> {
    let r = run_one(&cmd(r#"["echo","hello world"]"#, ""))?;
    expect_status(&r, Status::Accepted)?;
    check(file(&r, "stdout") == "hello world\n", || format!("{r:?}"))?;
    check(r.files.get("stderr").is_some_and(Vec::is_empty), || format!("{r:?}"))?;
    check(r.exit_status == 0 && r.error.is_empty(), || format!("{r:?}"))?;
    check(r.memory_bytes > 0 && r.run_time_ns > 0, || format!("usage measured: {r:?}"))?;
    check(r.time_ns < 1_000_000_000, || format!("{r:?}"))?;
    Ok(())
}

fn memory_limit() -> Result<(), Failed> {
    // 200 MiB touched under a 64 MiB limit: the cgroup OOM-kills it.
    let extra = r#","memoryLimit":67108864"#;
    let r = run_one(&cmd(r#"["python3","-c","b = bytearray(200 << 20)"]"#, extra))?;
    expect_status(&r, Status::MemoryLimitExceeded)?;
    check(r.memory_bytes >= 64 << 20, || format!("peak at the limit: {r:?}"))?;
    // go-judge#186: a limit too small to even start the program is still a memory verdict.
    let r = run_one(&cmd(r#"["python3","-c","pass"]"#, r#","memoryLimit":1048576"#))?;
    expect_status(&r, Status::MemoryLimitExceeded)?;
    Ok(())
}

fn time_limit_cpu() -> Result<(), Failed> {
    let extra = r#","cpuLimit":300000000,"clockLimit":5000000000"#;
    let r = run_one(&sh("while :; do :; done", extra))?;
    expect_status(&r, Status::TimeLimitExceeded)?;
    check(r.exit_status == 9, || format!("killed: {r:?}"))?;
    check(r.time_ns >= 300_000_000, || format!("time at least the limit: {r:?}"))?;
    check(r.time_ns < 1_000_000_000, || format!("stopped soon after: {r:?}"))?;
    Ok(())
}

fn time_limit_wall() -> Result<(), Failed> {
    let extra = r#","cpuLimit":1000000000,"clockLimit":300000000,"realCpuLimit":0"#;
    let r = run_one(&cmd(r#"["sleep","5"]"#, extra))?;
    expect_status(&r, Status::TimeLimitExceeded)?;
    check(r.run_time_ns >= 300_000_000, || format!("runTime at least the limit: {r:?}"))?;
    check(r.run_time_ns < 2_000_000_000, || format!("stopped soon after: {r:?}"))?;
    check(r.time_ns < 300_000_000, || format!("a sleeper uses little CPU: {r:?}"))?;
    // No clockLimit: the wall limit is the CPU limit (go-judge's waiter does the same).
    let r = run_one(&cmd(r#"["sleep","5"]"#, r#","cpuLimit":300000000,"realCpuLimit":0"#))?;
    expect_status(&r, Status::TimeLimitExceeded)?;
    Ok(())
}

fn output_limit() -> Result<(), Failed> {
    let r = run_one(
        r#"{"args":["/bin/sh","-c","printf %0100d 0"],"env":["PATH=/bin"],
            "files":[{"content":""},{"name":"stdout","max":10}],
            "cpuLimit":1000000000,"memoryLimit":67108864,"procLimit":10}"#,
    )?;
    expect_status(&r, Status::OutputLimitExceeded)?;
    check(r.error == "Output Limit Exceeded", || format!("{r:?}"))?;
    check(file(&r, "stdout").len() == 11, || format!("max + 1 bytes kept, as go-judge: {r:?}"))?;
    let fe = r.file_errors.first();
    check(
        fe.is_some_and(|e| e.kind.as_str() == "CollectSizeExceeded" && e.name == "stdout"),
        || format!("{r:?}"),
    )?;
    // Overflow after a non-zero exit keeps the exit status (go-judge step 4).
    let r = run_one(
        r#"{"args":["/bin/sh","-c","printf %0100d 0; exit 2"],"env":["PATH=/bin"],
        "files":[{"content":""},{"name":"stdout","max":10}],
        "cpuLimit":1000000000,"memoryLimit":67108864,"procLimit":10}"#,
    )?;
    expect_status(&r, Status::NonzeroExitStatus)?;
    check(r.exit_status == 2, || format!("{r:?}"))?;
    Ok(())
}

fn nonzero_exit() -> Result<(), Failed> {
    let r = run_one(&sh("echo out; echo err >&2; exit 3", ""))?;
    expect_status(&r, Status::NonzeroExitStatus)?;
    check(r.exit_status == 3, || format!("{r:?}"))?;
    check(file(&r, "stdout") == "out\n" && file(&r, "stderr") == "err\n", || format!("{r:?}"))?;
    // Without files, fds 0-2 are closed: echo fails to write (go-judge §1.6).
    let r = run_one(
        r#"{"args":["/bin/echo","hi"],"cpuLimit":1000000000,"memoryLimit":67108864,"procLimit":10}"#,
    )?;
    expect_status(&r, Status::NonzeroExitStatus)?;
    Ok(())
}

fn signalled() -> Result<(), Failed> {
    let r = run_one(&sh("kill -SEGV $$", ""))?;
    expect_status(&r, Status::Signalled)?;
    check(r.exit_status == 11, || format!("{r:?}"))?;
    // kill -9 of itself without a clockLimit: go-judge says TLE; shardbox knows no limit fired.
    let r = run_one(&sh("kill -9 $$", r#","realCpuLimit":0"#))?;
    expect_status(&r, Status::Signalled)?;
    check(r.exit_status == 9, || format!("{r:?}"))?;
    // Programs start with no signal ignored (go-judge inherits five ignored).
    let r = run_one(&sh("kill -TERM $$; sleep 1", ""))?;
    expect_status(&r, Status::Signalled)?;
    check(r.exit_status == 15, || format!("{r:?}"))?;
    Ok(())
}

fn dangerous_syscall() -> Result<(), Failed> {
    let r = run_one(&cmd(r#"["unshare","-U","true"]"#, ""))?;
    expect_status(&r, Status::DangerousSyscall)?;
    check(r.exit_status == 31, || format!("{r:?}"))?;
    Ok(())
}

fn internal_error() -> Result<(), Failed> {
    let no_path = r#"{"args":["echo","x"],"files":[{"content":""},{"name":"stdout","max":10}],
        "cpuLimit":1000000000,"memoryLimit":67108864,"procLimit":10}"#;
    let r = run_one(no_path)?;
    expect_status(&r, Status::InternalError)?;
    check(
        r.error == "execve: handle: echo: no PATH environment variable provided for look up",
        || format!("go-judge's message: {r:?}"),
    )?;
    check(r.files.get("stdout").is_some_and(Vec::is_empty), || {
        format!("collectors still returned: {r:?}")
    })?;
    let r = run_one(&cmd(r#"["no-such-program"]"#, ""))?;
    expect_status(&r, Status::InternalError)?;
    check(r.error.contains("executable file not found in $PATH"), || format!("{r:?}"))?;
    let r = run_one(&cmd(r#"["/bin/nope"]"#, ""))?;
    expect_status(&r, Status::InternalError)?;
    check(r.error == "execve: start: /bin/nope: execve: no such file or directory", || {
        format!("{r:?}")
    })?;
    Ok(())
}
