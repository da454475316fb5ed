//! Shared helpers: the skip check, one pool for the whole binary, running a shell command with
//! collected stdout/stderr.

use std::io::Read;
use std::os::fd::AsFd;
use std::sync::OnceLock;

use shardbox_sandbox::{
    Container, ExecLimits, ExecOutcome, ExecRequest, Pool, SandboxConfig, WaitStatus,
};

/// Why the tests cannot run here, if they cannot.
pub fn skip_reason() -> Option<String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(str::to_string))
        .unwrap_or_default();
    if uid.split_whitespace().nth(2) != Some("0") {
        return Some("not running as root (the container layer needs root)".into());
    }
    match std::fs::read_to_string("/proc/sys/user/max_user_namespaces") {
        Ok(n) if n.trim() != "0" => {}
        _ => {
            return Some(
                "user namespaces are disabled (/proc/sys/user/max_user_namespaces)".into(),
            );
        }
    }
    if !std::path::Path::new("/sys/fs/cgroup").exists() {
        return Some("no /sys/fs/cgroup".into());
    }
    None
}

pub fn config() -> SandboxConfig {
    let mut c = SandboxConfig::with_parallelism(2);
    c.pre_fork = 1;
    c.containers_max = 6;
    c.cgroup_prefix = "shardbox-test".into();
    c.no_fallback = true;
    c
}

static POOL: OnceLock<Pool> = OnceLock::new();

/// The pool shared by the tests (cgroups required).
pub fn pool() -> &'static Pool {
    POOL.get_or_init(|| match Pool::new(config()) {
        Ok(p) => p,
        Err(e) => panic!("pool start: {e}"),
    })
}

/// Whether the pool reports a run's peak memory from the programs' maxrss rather than from the
/// cgroup: cgroup v2 on a kernel without `memory.peak` (before 5.19; `cgroup::detect::V2Features`).
/// maxrss counts every resident page a program maps, shared file pages charged to other cgroups
/// included, so it can exceed the cgroup's own peak and limit.
pub fn peak_is_maxrss() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release.trim().split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    pool().info().cgroup_type == 2 && version < (5, 19)
}

pub fn env() -> Vec<Vec<u8>> {
    vec![b"PATH=/usr/bin:/bin".to_vec()]
}

pub fn limits() -> ExecLimits {
    ExecLimits {
        cpu_time_ns: Some(10_000_000_000),
        wall_time_ns: Some(20_000_000_000),
        memory_bytes: Some(256 << 20),
        procs_max: Some(50),
        ..ExecLimits::default()
    }
}

/// Output of one run.
#[derive(Debug)]
pub struct Ran {
    pub outcome: ExecOutcome,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn exited(&self, code: i32) -> Result<(), String> {
        if self.outcome.status == WaitStatus::Exited(code) {
            Ok(())
        } else {
            Err(format!("expected exit {code}, got {self:?}"))
        }
    }
}

/// Runs argv with stdin /dev/null and stdout/stderr collected in /w files.
pub fn run_args(c: &mut Container, args: &[&str], limits: ExecLimits) -> Result<Ran, String> {
    let out = c.open_write(b"/tmp/.stdout").map_err(|e| e.to_string())?;
    let err = c.open_write(b"/tmp/.stderr").map_err(|e| e.to_string())?;
    let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
    let req = ExecRequest {
        args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        env: env(),
        files: vec![Some(null.as_fd()), Some(out.as_fd()), Some(err.as_fd())],
        limits,
    };
    let outcome = c.run(&req, None).map_err(|e| e.to_string())?;
    drop((out, err));
    let read = |c: &mut Container, p: &[u8]| -> Result<String, String> {
        let (mut f, _) = c.open_read(p).map_err(|e| e.to_string())?;
        let mut s = String::new();
        f.by_ref().take(1 << 20).read_to_string(&mut s).map_err(|e| e.to_string())?;
        Ok(s)
    };
    let stdout = read(c, b"/tmp/.stdout")?;
    let stderr = read(c, b"/tmp/.stderr")?;
    Ok(Ran { outcome, stdout, stderr })
}

/// Runs `sh -c script`.
pub fn sh(c: &mut Container, script: &str, limits: ExecLimits) -> Result<Ran, String> {
    run_args(c, &["/bin/sh", "-c", script], limits)
}

/// `Err` with a message unless `cond`.
pub fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}
