//! One floor `/run` request: parse the go-judge body, run its program, encode the result.
//!
//! [`run_request`] accepts the subset of go-judge's request model the benchmark needs (one
//! `cmd`: `args`, `env`, `files` = stdin content and two collectors, `copyIn` contents,
//! `cpuLimit`/`clockLimit` as a wall bound) and answers go-judge's result array. Running a
//! program: a fresh work directory, the copy-in files, a spawn (directly or under `bwrap` with
//! [`BWRAP_ARGS`]), both output pipes read with `poll` up to each collector's `max + 1` bytes,
//! CPU time from `/proc/<pid>/schedstat` of the exited child before it is reaped, then the
//! directory is removed. It enforces no CPU, memory or process limit: that is a judge's work.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Component, Path};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, WaitId, WaitIdOptions, waitid};
use serde::{Deserialize, Serialize};

use super::{Isolation, Shared};
use crate::limits::{FLOOR_COLLECT_BYTES_MAX, FLOOR_FILES_MAX, FLOOR_WALL_MS_MAX};

/// The part of go-judge's `/run` request the floor understands (unknown keys are ignored).
#[derive(Debug, Deserialize)]
struct RunRequest {
    #[serde(default)]
    cmd: Vec<Cmd>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cmd {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    files: Vec<Option<CmdFile>>,
    #[serde(default)]
    cpu_limit: u64,
    #[serde(default)]
    clock_limit: u64,
    #[serde(default)]
    copy_in: BTreeMap<String, CmdFile>,
}

#[derive(Debug, Deserialize)]
struct CmdFile {
    content: Option<String>,
    name: Option<String>,
    max: Option<u64>,
}

/// One go-judge result, keys in go-judge's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RunResult {
    status: &'static str,
    exit_status: i32,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
    time: u64,
    memory: u64,
    run_time: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    files: BTreeMap<String, String>,
}

impl RunResult {
    fn failed(status: &'static str, error: String) -> Self {
        Self {
            status,
            exit_status: 0,
            error,
            time: 0,
            memory: 0,
            run_time: 0,
            files: BTreeMap::new(),
        }
    }
}

/// A collector: fd 1 or 2 captured under `name`, at most `max` bytes.
struct Collector {
    name: String,
    max: u64,
}

/// Parses and runs one request; `Err` is the JSON string of a 400 answer.
pub(super) fn run_request(body: &[u8], shared: &Shared) -> Result<Vec<u8>, String> {
    let request: RunRequest = sonic_rs::from_slice(body).map_err(|e| e.to_string())?;
    let cmd = match request.cmd.as_slice() {
        [] => return Err("no cmd provided".into()),
        [cmd] => cmd,
        _ => return Err("a floor server runs exactly one cmd".into()),
    };
    if cmd.args.is_empty() {
        return Err("empty args".into());
    }
    if cmd.files.len() > FLOOR_FILES_MAX {
        return Err(format!("a floor server takes at most {FLOOR_FILES_MAX} files"));
    }
    let stdin = match cmd.files.first() {
        Some(Some(CmdFile { content: Some(content), .. })) => content.as_str(),
        None | Some(None) => "",
        Some(Some(_)) => return Err("files[0] must be a content file or null".into()),
    };
    let mut collectors = [None, None];
    for (slot, file) in collectors.iter_mut().zip(cmd.files.iter().skip(1)) {
        *slot = match file {
            Some(CmdFile { name: Some(name), max: Some(max), content: None }) => {
                Some(Collector { name: name.clone(), max: (*max).min(FLOOR_COLLECT_BYTES_MAX) })
            }
            None => None,
            Some(_) => return Err("files[1] and files[2] must be collectors or null".into()),
        };
    }
    let mut copy_in = Vec::with_capacity(cmd.copy_in.len());
    for (path, file) in &cmd.copy_in {
        match file {
            CmdFile { content: Some(content), name: None, max: None } => {
                copy_in.push((path.as_str(), content.as_bytes()))
            }
            _ => return Err(format!("copyIn {path:?}: only content files are supported")),
        }
    }
    let wall_ns = match (cmd.clock_limit, cmd.cpu_limit) {
        (0, 0) => u64::MAX,
        (0, cpu) => cpu,
        (clock, _) => clock,
    };
    let wall = Duration::from_nanos(wall_ns).min(Duration::from_millis(FLOOR_WALL_MS_MAX));
    let job = Job { args: &cmd.args, env: &cmd.env, stdin, collectors, copy_in, wall };
    let result = run_in_fresh_dir(&job, shared);
    let mut json = sonic_rs::to_vec(&[result]).map_err(|e| e.to_string())?;
    json.push(b'\n');
    Ok(json)
}

/// One program to run, validated.
struct Job<'a> {
    args: &'a [String],
    env: &'a [String],
    stdin: &'a str,
    collectors: [Option<Collector>; 2],
    copy_in: Vec<(&'a str, &'a [u8])>,
    wall: Duration,
}

/// Creates the work directory, runs the job in it, removes it.
fn run_in_fresh_dir(job: &Job<'_>, shared: &Shared) -> RunResult {
    let n = shared.next_dir.fetch_add(1, Ordering::Relaxed);
    let dir = shared.config.work_root.join(format!("judge-floor-{}-{n}", std::process::id()));
    if let Err(e) = std::fs::create_dir(&dir) {
        return RunResult::failed("Internal Error", format!("work dir {}: {e}", dir.display()));
    }
    let result = run_in(job, &dir, &shared.config.isolation);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(job: &Job<'_>, dir: &Path, isolation: &Isolation) -> RunResult {
    for (path, content) in &job.copy_in {
        if let Err(message) = copy_in(dir, path, content) {
            return RunResult::failed("File Error", message);
        }
    }
    let stdin = if job.stdin.is_empty() {
        Stdio::null()
    } else {
        // Like go-judge's memfd: a file the program reads from, not a pipe we must feed.
        let path = dir.join(".stdin");
        match std::fs::write(&path, job.stdin).and_then(|()| File::open(&path)) {
            Ok(file) => Stdio::from(file),
            Err(e) => return RunResult::failed("Internal Error", format!("stdin: {e}")),
        }
    };
    let mut command = match isolation {
        Isolation::None => {
            let Some((program, args)) = job.args.split_first() else {
                return RunResult::failed("Internal Error", "empty args".into());
            };
            let mut c = Command::new(program);
            c.args(args).current_dir(dir);
            c
        }
        Isolation::Bwrap(bwrap) => {
            let mut c = Command::new(bwrap);
            c.args(BWRAP_ARGS).arg("--bind").arg(dir).arg("/w").args(["--chdir", "/w", "--"]);
            c.args(job.args);
            c
        }
    };
    command.env_clear();
    for pair in job.env {
        if let Some((key, value)) = pair.split_once('=') {
            command.env(key, value);
        }
    }
    let out = |c: &Option<Collector>| if c.is_some() { Stdio::piped() } else { Stdio::null() };
    let [stdout, stderr] = &job.collectors;
    command.stdin(stdin).stdout(out(stdout)).stderr(out(stderr));
    let started = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return RunResult::failed("Internal Error", format!("start: {e}")),
    };
    let deadline = started + job.wall;
    let caps = job.collectors.each_ref().map(|c| c.as_ref().map_or(0, |c| c.max + 1));
    let (outputs, timed_out) = collect(&mut child, caps, deadline);
    finish(child, job, outputs, timed_out, started)
}

/// Flags of the one-shot bubblewrap sandbox (the work directory is bound at `/w` after them).
pub const BWRAP_ARGS: &[&str] = &[
    "--unshare-all",
    "--die-with-parent",
    "--ro-bind",
    "/usr",
    "/usr",
    "--ro-bind",
    "/bin",
    "/bin",
    "--ro-bind",
    "/lib",
    "/lib",
    "--ro-bind-try",
    "/lib64",
    "/lib64",
    "--ro-bind",
    "/etc",
    "/etc",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
];

/// Writes one copyIn file under `dir`; the path must stay inside it.
fn copy_in(dir: &Path, path: &str, content: &[u8]) -> Result<(), String> {
    let relative = Path::new(path);
    if path.is_empty() || !relative.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!("copyIn {path:?}: only relative paths inside the work dir"));
    }
    let target = dir.join(relative);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("copyIn {path:?}: {e}"))?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o777)
        .open(&target)
        .and_then(|mut file| file.write_all(content))
        .map_err(|e| format!("copyIn {path:?}: {e}"))
}

/// Reads stdout and stderr until both close, keeping at most `caps[i]` bytes of each and
/// draining the rest; kills the child at `deadline`. Returns the outputs and whether it timed out.
fn collect(child: &mut Child, caps: [u64; 2], deadline: Instant) -> ([Vec<u8>; 2], bool) {
    let mut outputs = [Vec::new(), Vec::new()];
    let mut pipes: [Option<File>; 2] = [
        child.stdout.take().map(|p| File::from(OwnedFd::from(p))),
        child.stderr.take().map(|p| File::from(OwnedFd::from(p))),
    ];
    let mut chunk = [0u8; 16 << 10];
    while pipes.iter().any(Option::is_some) {
        let now = Instant::now();
        if now >= deadline {
            let _ = child.kill();
            return (outputs, true);
        }
        let left = deadline - now;
        let timeout = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let open: Vec<usize> =
            (0..pipes.len()).filter(|&i| matches!(pipes.get(i), Some(Some(_)))).collect();
        let ready: Vec<usize> = {
            let mut fds: Vec<PollFd<'_>> =
                pipes.iter().flatten().map(|p| PollFd::new(p, PollFlags::IN)).collect();
            match poll(&mut fds, Some(&timeout)) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return (outputs, false),
            }
            open.iter()
                .zip(&fds)
                .filter(|(_, fd)| !fd.revents().is_empty())
                .map(|(&i, _)| i)
                .collect()
        };
        for i in ready {
            let (Some(slot), Some(out), Some(cap)) =
                (pipes.get_mut(i), outputs.get_mut(i), caps.get(i))
            else {
                continue;
            };
            let Some(pipe) = slot.as_mut() else { continue };
            match super::read_retrying(pipe, &mut chunk) {
                Ok(0) | Err(_) => *slot = None,
                Ok(n) => {
                    let room = usize::try_from(cap.saturating_sub(out.len() as u64)).unwrap_or(0);
                    out.extend_from_slice(chunk.get(..n.min(room)).unwrap_or_default());
                }
            }
        }
    }
    (outputs, false)
}

/// Waits for the child, takes its CPU time before reaping it, and builds the result.
fn finish(
    mut child: Child,
    job: &Job<'_>,
    outputs: [Vec<u8>; 2],
    timed_out: bool,
    started: Instant,
) -> RunResult {
    let pid = i32::try_from(child.id()).ok().and_then(Pid::from_raw);
    // Wait without reaping, so /proc/<pid>/schedstat still holds the child's CPU time.
    let exited = pid.map(|pid| {
        loop {
            match waitid(WaitId::Pid(pid), WaitIdOptions::EXITED | WaitIdOptions::NOWAIT) {
                Err(rustix::io::Errno::INTR) => {}
                other => break other,
            }
        }
    });
    let run_time = started.elapsed();
    let time_ns = match exited {
        Some(Ok(_)) => std::fs::read_to_string(format!("/proc/{}/schedstat", child.id()))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
            .unwrap_or(0),
        _ => 0,
    };
    let status = match child.wait() {
        Ok(status) => status,
        Err(e) => return RunResult::failed("Internal Error", format!("wait: {e}")),
    };
    let mut files = BTreeMap::new();
    let mut overflow = false;
    for (collector, output) in job.collectors.iter().zip(outputs) {
        if let Some(c) = collector {
            overflow |= output.len() as u64 > c.max;
            files.insert(c.name.clone(), String::from_utf8_lossy(&output).into_owned());
        }
    }
    use std::os::unix::process::ExitStatusExt as _;
    let (status_text, exit_status) = if timed_out {
        ("Time Limit Exceeded", status.signal().unwrap_or(0))
    } else if let Some(signal) = status.signal() {
        ("Signalled", signal)
    } else {
        match status.code() {
            Some(0) if overflow => ("Output Limit Exceeded", 0),
            Some(0) => ("Accepted", 0),
            Some(code) => ("Nonzero Exit Status", code),
            None => ("Internal Error", 0),
        }
    };
    RunResult {
        status: status_text,
        exit_status,
        error: if overflow && status_text == "Output Limit Exceeded" {
            "Output Limit Exceeded".into()
        } else {
            String::new()
        },
        time: time_ns,
        memory: 0,
        run_time: u64::try_from(run_time.as_nanos()).unwrap_or(u64::MAX),
        files,
    }
}
