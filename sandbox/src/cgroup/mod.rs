//! cgroups v1 and v2: one cgroup per container, created once and reused run after run.
//!
//! - [`CgroupRoot`]: the directory `<own cgroup>/<prefix>/<instance>` in each hierarchy, where
//!   `<instance>` = `<pid>-<start time>` is unique per process (concurrent test processes never
//!   collide), removed on drop; [`CgroupRoot::new`] first removes stale instances of dead
//!   processes. v1 (this machine: `cpu`, `cpuacct`, `cpuset`, `memory`, `pids` mounted
//!   separately) and v2 (one unified directory with `cgroup.subtree_control`) share the code:
//!   only the file names and formats differ (`Files`).
//! - [`Cgroup`]: one container's cgroup. Per run: [`Cgroup::prepare`] writes the limits
//!   (only those that changed) and resets the counters where the kernel allows (v1
//!   `memory.max_usage_in_bytes` and `cpuacct.usage` ← 0; v2 `memory.peak` per-fd reset on 6.12+,
//!   `cpu.stat` by delta, OOM kills by delta of `memory.events` / `memory.oom_control`),
//!   [`Cgroup::usage`] reads them back, [`Cgroup::cpu_ns`] is the cheap read for the CPU timer.
//!   Programs join it before exec by writing `0` to the fds that [`Cgroup::procs_files`]
//!   opens (v1 `tasks`, which moves the thread without the global lock `cgroup.procs` takes;
//!   v2 `cgroup.procs`; the init keeps them), except in v1's `cpu`/`cpuacct` and `cpuset`
//!   hierarchies: there the container's init lives in the cgroup itself ([`Cgroup::adopt`])
//!   and programs are born in it, so a v1 run joins `memory` and `pids` only. A v1 `cpu` hierarchy mounted apart from `cpuacct` is used only
//!   for CFS rate limits ([`CgroupRoot::new`]): a nested `cpu` cgroup makes every container a
//!   scheduling group of its own, which cost CPU and latency on every wake-up. Moving a task between `cpu` cgroups makes the scheduler move
//!   and reschedule it; under load that cost a run milliseconds (measured: writing `0`
//!   there after `pids`: p90 1.8–3.3 ms, against p90 ≤ 37 µs for `pids`).
//! - [`Graveyard`]: directories whose removal has to wait. A killed process leaves its cgroup
//!   asynchronously, and on a loaded machine that can outlast the wait in [`Cgroup::remove`];
//!   such a directory (and that of any [`Cgroup`] dropped without `remove`) is buried and
//!   retried by [`CgroupRoot::sweep`] (the pool calls it after each run), and at the latest
//!   when the root drops, so no directory outlives the server.
//!
//! v2 note: controllers can be enabled under our cgroup only if it holds no process (the "no
//! internal processes" rule). Started by systemd or a container runtime, our cgroup holds
//! shardbox itself, so [`CgroupRoot::new`] first moves every process of it into a leaf child
//! named [`V2_SERVER_LEAF`], as go-judge does (a process already there builds beside it:
//! [`detect::v2_base`]). The cgroup must be delegated to us (writable, e.g. a systemd unit with
//! `Delegate=yes`); otherwise [`CgroupRoot::new`] fails and the pool falls back to rlimits.
//! This machine is v1 (its cgroup2 mount has no controllers, and one with controllers cannot be
//! mounted while v1 holds them), so the v2 paths run for real in a qemu guest with a
//! cgroup-v2-only kernel: `.ci/cgroup2-guest.sh` (see `docs/architecture.md`).

pub mod detect;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::limits::{CGROUP_FILE_BYTES_MAX, CGROUP_FULL_CHECK_EVERY, CGROUP_VACATE_ROUNDS_MAX};
use detect::Layout;

/// Which cgroup version is in use (go-judge `/config` `cgroupType`: 0 none, 1 v1, 2 v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CgroupVersion {
    /// cgroup v1.
    V1,
    /// cgroup v2.
    V2,
}

/// A cgroup operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Creating a directory.
    #[error("mkdir {path}: {source}")]
    Mkdir {
        /// Directory.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// Opening a control file.
    #[error("open {path}: {source}")]
    Open {
        /// File.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// Writing a control file.
    #[error("write {value:?} to {path}: {source}")]
    Write {
        /// File.
        path: PathBuf,
        /// Value written.
        value: String,
        /// Cause.
        source: io::Error,
    },
    /// Reading a control file.
    #[error("read {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// A control file did not have the expected format.
    #[error("parse {path}: {text:?}")]
    Parse {
        /// File.
        path: PathBuf,
        /// What it held.
        text: String,
    },
    /// Removing a directory.
    #[error("rmdir {path}: {source}")]
    Rmdir {
        /// Directory.
        path: PathBuf,
        /// Cause.
        source: io::Error,
    },
    /// No usable hierarchy.
    #[error("no usable cgroup hierarchy (need v1 memory+pids+cpuacct or v2 memory+pids+cpu)")]
    Unavailable,
}

impl CgroupError {
    /// The text an API caller may see: the step, the control file's name and the cause, but
    /// not the host directory (it names the server's own cgroup, its pid and the container).
    /// [`Display`](std::fmt::Display) keeps the full path for the server's log.
    pub fn caller_text(&self) -> String {
        let file = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
        let file = |p: &Path| file(p).unwrap_or_else(|| "?".to_owned());
        match self {
            CgroupError::Mkdir { source, .. } => format!("mkdir: {source}"),
            CgroupError::Open { path, source } => format!("open {}: {source}", file(path)),
            CgroupError::Write { path, value, source } => {
                format!("write {value:?} to {}: {source}", file(path))
            }
            CgroupError::Read { path, source } => format!("read {}: {source}", file(path)),
            CgroupError::Parse { path, text } => format!("parse {}: {text:?}", file(path)),
            CgroupError::Rmdir { source, .. } => format!("rmdir: {source}"),
            CgroupError::Unavailable => self.to_string(),
        }
    }

    /// Whether this is cgroup v1 refusing a memory limit below what the cgroup is charged
    /// already (`memory.limit_in_bytes` → `EBUSY` once reclaim cannot get under it). v2 takes
    /// such a `memory.max` and reclaims or OOM-kills instead, so it never reports this.
    pub fn is_memory_limit_below_usage(&self) -> bool {
        match self {
            CgroupError::Write { path, source, .. } => {
                source.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error())
                    && path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("memory."))
            }
            _ => false,
        }
    }
}

fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    let map =
        |source| CgroupError::Write { path: path.to_path_buf(), value: value.to_string(), source };
    let mut f = OpenOptions::new().write(true).open(path).map_err(map)?;
    f.write_all(value.as_bytes()).map_err(map)
}

fn read_small(path: &Path) -> Result<String, CgroupError> {
    let f = File::open(path)
        .map_err(|source| CgroupError::Open { path: path.to_path_buf(), source })?;
    read_at0(&f, path)
}

fn read_at0(f: &File, path: &Path) -> Result<String, CgroupError> {
    let mut buf = [0u8; CGROUP_FILE_BYTES_MAX];
    let n = f
        .read_at(&mut buf, 0)
        .map_err(|source| CgroupError::Read { path: path.to_path_buf(), source })?;
    Ok(String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned())
}

/// Parses a single number (`max` → `None`).
pub fn parse_value(text: &str) -> Option<Option<u64>> {
    let t = text.trim();
    if t == "max" { Some(None) } else { t.parse().ok().map(Some) }
}

/// Finds `key value` in a flat-keyed file (`cpu.stat`, `memory.events`, `memory.oom_control`).
pub fn parse_keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == key).then_some(())?;
        it.next()?.parse().ok()
    })
}

/// v2 `cpu.max` content for a rate (1000 = one CPU) and a period in µs.
pub fn cpu_max_value(rate: Option<u64>, period_us: u64) -> String {
    match rate {
        Some(r) => format!("{} {period_us}", period_us.saturating_mul(r) / 1000),
        None => format!("max {period_us}"),
    }
}

/// Unique name of one root: `<pid>-<start time in clock ticks>-<n>` (n counts the roots of
/// this process, so several pools never share a directory).
fn instance_name() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let pid = std::process::id();
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{pid}-{}-{n}", start_time(pid).unwrap_or(0))
}

/// Field 22 of `/proc/<pid>/stat` (after the `)` closing the command name).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// True when `name` (`<pid>-<start>-<n>`) belongs to a live process.
fn instance_alive(name: &str) -> bool {
    let mut it = name.split('-');
    let (Some(pid), Some(start)) = (it.next(), it.next()) else { return false };
    match (pid.parse::<u32>(), start.parse::<u64>()) {
        (Ok(pid), Ok(start)) => start_time(pid) == Some(start),
        _ => false,
    }
}

/// Kills the processes listed in `dir/cgroup.procs`.
fn kill_members(dir: &Path) {
    if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        for pid in procs.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ = crate::sys::proc::kill(pid, crate::sys::signal::SIGKILL);
        }
    }
}

/// Directories of cgroups that could not be removed yet, shared by a [`CgroupRoot`] and the
/// [`Cgroup`]s created under it.
#[derive(Debug, Default, Clone)]
pub struct Graveyard(Arc<Mutex<Vec<PathBuf>>>);

impl Graveyard {
    fn bury(&self, dir: PathBuf) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(dir);
    }

    /// One removal attempt per buried directory (killing what is still inside); keeps those
    /// still busy. Returns how many remain.
    fn sweep(&self) -> usize {
        let mut dirs = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !dirs.is_empty() {
            dirs.retain(|dir| {
                kill_members(dir);
                match std::fs::remove_dir(dir) {
                    Ok(()) => false,
                    Err(e) => e.kind() != io::ErrorKind::NotFound,
                }
            });
        }
        dirs.len()
    }
}

/// Removes a cgroup directory tree bottom-up, killing processes still inside (stale leftovers).
fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_tree(&e.path())?;
            }
        }
    }
    kill_members(dir);
    // A killed process leaves the cgroup asynchronously: retry briefly.
    for _ in 0..100 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(crate::sys::errno::EBUSY) => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(source) => return Err(CgroupError::Rmdir { path: dir.to_path_buf(), source }),
        }
    }
    Err(CgroupError::Rmdir {
        path: dir.to_path_buf(),
        source: io::Error::from_raw_os_error(crate::sys::errno::EBUSY),
    })
}

/// The per-process cgroup directory in every hierarchy.
#[derive(Debug)]
pub struct CgroupRoot {
    version: CgroupVersion,
    /// `(controller, <own>/<prefix>/<instance>)`; v2 has one entry named "unified".
    dirs: Vec<(String, PathBuf)>,
    controllers: Vec<String>,
    graveyard: Graveyard,
    /// Whether `memory.peak` takes a reset (v1 always; v2 on kernels 6.12+): probed once, on
    /// this root's own directory ([`probe_v2_features`]), and handed to every cgroup.
    peak_resettable: bool,
}

impl CgroupRoot {
    /// Detects the hierarchy, removes stale instances under `prefix`, creates ours. Without
    /// `cpu_rate` (CFS rate limits wanted), a v1 `cpu` hierarchy mounted apart from `cpuacct` is
    /// not used ([`detect::without_separate_cpu`]).
    pub fn new(prefix: &str, cpu_rate: bool) -> Result<Self, CgroupError> {
        let layout = detect::discover();
        let layout = if cpu_rate { layout } else { detect::without_separate_cpu(layout) };
        Self::with_layout(layout, prefix, cpu_rate)
    }

    fn with_layout(layout: Layout, prefix: &str, cpu_rate: bool) -> Result<Self, CgroupError> {
        let name = instance_name();
        match layout {
            Layout::None => Err(CgroupError::Unavailable),
            Layout::V1(own) => {
                let mut dirs = Vec::new();
                for (ctl, base) in &own {
                    let prefix_dir = base.join(prefix);
                    mkdir_cg(&prefix_dir, ctl == "cpuset")?;
                    clean_stale(&prefix_dir);
                    let dir = prefix_dir.join(&name);
                    mkdir_cg(&dir, ctl == "cpuset")?;
                    dirs.push((ctl.clone(), dir));
                }
                let controllers = own.into_iter().map(|(c, _)| c).collect();
                Ok(CgroupRoot {
                    version: CgroupVersion::V1,
                    dirs,
                    controllers,
                    graveyard: Graveyard::default(),
                    peak_resettable: true,
                })
            }
            Layout::V2 { dir: base, controllers } => {
                vacate(&base)?;
                let enable = detect::v2_enabled(&controllers, cpu_rate);
                let line = enable.iter().map(|c| format!("+{c}")).collect::<Vec<_>>().join(" ");
                write_file(&base.join("cgroup.subtree_control"), &line)?;
                let prefix_dir = base.join(prefix);
                mkdir_cg(&prefix_dir, false)?;
                write_file(&prefix_dir.join("cgroup.subtree_control"), &line)?;
                clean_stale(&prefix_dir);
                let dir = prefix_dir.join(&name);
                mkdir_cg(&dir, false)?;
                write_file(&dir.join("cgroup.subtree_control"), &line)?;
                let features = probe_v2_features(&dir);
                static NOTICE: std::sync::Once = std::sync::Once::new();
                if let Some(text) = features.notice() {
                    NOTICE.call_once(|| eprintln!("shardbox sandbox: {text}"));
                }
                Ok(CgroupRoot {
                    version: CgroupVersion::V2,
                    dirs: vec![("unified".into(), dir)],
                    controllers: enable,
                    graveyard: Graveyard::default(),
                    peak_resettable: features.memory_peak_reset,
                })
            }
        }
    }

    /// v1 or v2.
    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// Controllers in use.
    pub fn controllers(&self) -> &[String] {
        &self.controllers
    }

    /// Directories of this instance (for tests and `/config`).
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(|(_, d)| d.as_path())
    }

    /// Creates the cgroup of one container, named `name`.
    pub fn create(&self, name: &str) -> Result<Cgroup, CgroupError> {
        let mut dirs = Vec::new();
        for (ctl, base) in &self.dirs {
            let dir = base.join(name);
            mkdir_cg(&dir, ctl == "cpuset")?;
            dirs.push((ctl.clone(), dir));
        }
        let cpu_limits = self.controllers.iter().any(|c| c == "cpu");
        Cgroup::open(self.version, dirs, self.graveyard.clone(), cpu_limits, self.peak_resettable)
    }

    /// Retries the removal of buried cgroups (see [`Graveyard`]); returns how many remain.
    /// Cheap when none is buried: one uncontended lock.
    pub fn sweep(&self) -> usize {
        self.graveyard.sweep()
    }
}

impl Drop for CgroupRoot {
    fn drop(&mut self) {
        for (_, dir) in &self.dirs {
            if let Err(e) = remove_tree(dir) {
                eprintln!("shardbox sandbox: {e}");
            }
            // The prefix directory goes too when no other instance uses it.
            if let Some(parent) = dir.parent() {
                let _ = std::fs::remove_dir(parent);
            }
        }
    }
}

/// mkdir; a v1 cpuset child starts with empty `cpus`/`mems` and accepts no task until they are
/// copied from the parent.
fn mkdir_cg(dir: &Path, cpuset: bool) -> Result<(), CgroupError> {
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => return Err(CgroupError::Mkdir { path: dir.to_path_buf(), source }),
    }
    if cpuset && let Some(parent) = dir.parent() {
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let v = read_small(&parent.join(f))?;
            if read_small(&dir.join(f))?.trim().is_empty() {
                write_file(&dir.join(f), v.trim())?;
            }
        }
    }
    Ok(())
}

/// Removes instances of processes that are gone.
fn clean_stale(prefix_dir: &Path) {
    let Ok(rd) = std::fs::read_dir(prefix_dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false)
            && !instance_alive(&name)
            && let Err(err) = remove_tree(&e.path())
        {
            eprintln!("shardbox sandbox: stale cgroup cleanup: {err}");
        }
    }
}

/// What the kernel offers in the v2 cgroup `dir` (one with the memory and pids controllers):
/// its file names, and whether `memory.peak` takes a reset (which, on 6.12+, resets it only
/// for the fd written, so probing it changes nothing anyone reads).
fn probe_v2_features(dir: &Path) -> detect::V2Features {
    let names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let reset_ok = OpenOptions::new()
        .write(true)
        .open(dir.join("memory.peak"))
        .and_then(|mut f| f.write_all(b"reset\n"))
        .is_ok();
    detect::V2Features::from_files(names.iter().map(String::as_str), reset_ok)
}

/// The leaf child of our own v2 cgroup that its processes (shardbox, its helper) move to.
pub const V2_SERVER_LEAF: &str = "shardbox-server";

/// Moves every process of our own v2 cgroup `base` into its leaf [`V2_SERVER_LEAF`], so that
/// `base` may enable controllers for its children. The root cgroup (no `cgroup.type` file) is
/// exempt from the rule and left alone, as is a cgroup that holds no process.
fn vacate(base: &Path) -> Result<(), CgroupError> {
    if !base.join("cgroup.type").exists() {
        return Ok(());
    }
    let procs = base.join("cgroup.procs");
    let leaf = base.join(V2_SERVER_LEAF);
    for _ in 0..CGROUP_VACATE_ROUNDS_MAX {
        let text = read_small(&procs)?;
        let mut pids = text.split_whitespace().peekable();
        if pids.peek().is_none() {
            break;
        }
        mkdir_cg(&leaf, false)?;
        for pid in pids {
            match write_file(&leaf.join("cgroup.procs"), pid) {
                Ok(()) => {}
                // Exited meanwhile.
                Err(CgroupError::Write { source, .. })
                    if source.raw_os_error() == Some(crate::sys::errno::ESRCH) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// The peak memory of a run on a kernel without `memory.peak` (v2 before 5.19): the largest
/// `ru_maxrss` of its processes, as go-judge reports there; after an OOM kill in the cgroup,
/// at least the memory limit `limit_bytes` (the charge reached `memory.max`, or the kernel
/// would not have killed), so a run killed for memory is reported at its limit even when its
/// resident set was smaller (page cache, tmpfs files and kernel memory count in the cgroup).
pub fn fallback_peak_bytes(maxrss_bytes: u64, oom_kills: u64, limit_bytes: Option<u64>) -> u64 {
    match limit_bytes {
        Some(limit) if oom_kills > 0 => maxrss_bytes.max(limit),
        _ => maxrss_bytes,
    }
}

/// Limits of one run, as written to the cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupLimits {
    /// Memory limit in bytes (`None`: unlimited).
    pub memory_bytes: Option<u64>,
    /// Most tasks (processes + threads) (`None`: unlimited).
    pub pids: Option<u64>,
    /// CPU rate, 1000 = one CPU (`None`: unlimited), with the CFS period in µs.
    pub cpu_rate: Option<(u64, u64)>,
    /// `cpuset.cpus` (`None`: the parent's).
    pub cpuset: Option<String>,
}

/// Counters of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CgroupUsage {
    /// CPU time of every task, ns.
    pub cpu_ns: u64,
    /// Peak memory since the reset, bytes.
    pub memory_peak_bytes: u64,
    /// OOM kills during the run.
    pub oom_kills: u64,
    /// Peak number of tasks (only when the kernel can report it for this run).
    pub pids_peak: Option<u64>,
}

/// File names per version.
struct Files {
    cpu: &'static str,
    peak: &'static str,
    limit: &'static str,
    events: &'static str,
    current: &'static str,
    /// What a program's child writes `0` to, to join the cgroup before exec.
    join: &'static str,
}

const V1_FILES: Files = Files {
    cpu: "cpuacct.usage",
    peak: "memory.max_usage_in_bytes",
    limit: "memory.limit_in_bytes",
    events: "memory.oom_control",
    current: "memory.usage_in_bytes",
    // `tasks`, not `cgroup.procs`: `0` there moves only the calling thread, which the kernel
    // does without taking the global `cgroup_threadgroup_rwsem` for writing. Through
    // `cgroup.procs` the first move after an idle spell waited for an RCU grace period: 12 ms
    // p50 here (51 µs through `tasks`). The child is single-threaded (forked from the
    // single-threaded init), so its thread is the whole process.
    join: "tasks",
};
const V2_FILES: Files = Files {
    cpu: "cpu.stat",
    peak: "memory.peak",
    limit: "memory.max",
    events: "memory.events",
    current: "memory.current",
    join: "cgroup.procs",
};

/// One container's cgroup.
#[derive(Debug)]
pub struct Cgroup {
    version: CgroupVersion,
    dirs: Vec<(String, PathBuf)>,
    cpu_file: (PathBuf, File),
    /// `memory.max_usage_in_bytes` (v1) / `memory.peak` (v2; `None` before kernel 5.19, where
    /// [`Cgroup::usage`] falls back on the programs' maxrss).
    peak_file: Option<(PathBuf, File)>,
    /// `memory.oom_control` (v1) / `memory.events` (v2), kept open and re-read with `pread` (a
    /// seq file restarts at offset 0, unlike `cgroup.procs`): two reads per run, no open.
    events_file: (PathBuf, File),
    /// `memory.usage_in_bytes` (v1) / `memory.current` (v2), kept open likewise.
    current_file: (PathBuf, File),
    /// `pids.current`, kept open likewise; [`Cgroup::is_empty_quick`] reads it. It counts
    /// every task charged to the cgroup from its fork (or move) until its parent reaps it,
    /// zombies included.
    pids_current: (PathBuf, File),
    /// v2: `cgroup.events`, kept open likewise; its `populated` is 0 once every task of the
    /// cgroup has passed `cgroup_exit` (a zombie no longer counts, `pids.current` still does).
    events_v2: Option<(PathBuf, File)>,
    /// [`Cgroup::is_empty_quick`] calls since the last full check.
    quick_checks: AtomicU32,
    /// Last limits written (writes are skipped when unchanged).
    written: Option<CgroupLimits>,
    /// v2: cpu.stat usage at the reset; OOM kills at the reset (both versions).
    cpu_base_ns: u64,
    oom_base: u64,
    /// Whether the peak takes a reset (v1 always; v2 on kernel 6.12+): the root's answer
    /// ([`CgroupRoot`] probes once), not probed again per cgroup.
    peak_resettable: bool,
    /// No run has used this cgroup yet (pids.peak is meaningful only then: it cannot be reset).
    fresh: bool,
    /// Where directories that cannot be removed yet go (also on drop without `remove`).
    graveyard: Graveyard,
    /// v1: the host pid of the container's init, which lives in the `cpu`/`cpuacct` and
    /// `cpuset` hierarchies' cgroups ([`Cgroup::adopt`]); [`Cgroup::is_empty`] does not count it.
    resident: Option<u32>,
    /// The `cpu` controller is in use (v1 hierarchy or v2 `+cpu`): CFS rate limits can be set.
    cpu_limits: bool,
}

impl Cgroup {
    fn files(version: CgroupVersion) -> &'static Files {
        match version {
            CgroupVersion::V1 => &V1_FILES,
            CgroupVersion::V2 => &V2_FILES,
        }
    }

    fn dir_of(&self, ctl: &str) -> Option<&Path> {
        self.dirs.iter().find(|(c, _)| c == ctl || c == "unified").map(|(_, d)| d.as_path())
    }

    fn open(
        version: CgroupVersion,
        dirs: Vec<(String, PathBuf)>,
        graveyard: Graveyard,
        cpu_limits: bool,
        peak_resettable: bool,
    ) -> Result<Self, CgroupError> {
        let f = Self::files(version);
        let find = |ctl: &str| {
            dirs.iter()
                .find(|(c, _)| c == ctl || c == "unified")
                .map(|(_, d)| d.clone())
                .ok_or(CgroupError::Unavailable)
        };
        let open_rw = |p: PathBuf| -> Result<(PathBuf, File), CgroupError> {
            let file = OpenOptions::new()
                .read(true)
                // Written: the peak (reset) in both versions, `cpuacct.usage` (reset) in v1.
                .write(p.ends_with(f.peak) || (version == CgroupVersion::V1 && p.ends_with(f.cpu)))
                .open(&p)
                .map_err(|source| CgroupError::Open { path: p.clone(), source })?;
            Ok((p, file))
        };
        let cpu_file = open_rw(find("cpuacct").or_else(|_| find("cpu"))?.join(f.cpu))?;
        let peak_file = match open_rw(find("memory")?.join(f.peak)) {
            Ok(p) => Some(p),
            // v2 before kernel 5.19: no memory.peak (see `detect::V2Features`).
            Err(CgroupError::Open { source, .. })
                if version == CgroupVersion::V2 && source.kind() == io::ErrorKind::NotFound =>
            {
                None
            }
            Err(e) => return Err(e),
        };
        let events_file = open_rw(find("memory")?.join(f.events))?;
        let current_file = open_rw(find("memory")?.join(f.current))?;
        let pids_current = open_rw(find("pids")?.join("pids.current"))?;
        let events_v2 = match version {
            CgroupVersion::V1 => None,
            CgroupVersion::V2 => Some(open_rw(find("unified")?.join("cgroup.events"))?),
        };
        // The root's probe; without a peak there is nothing to reset.
        let peak_resettable = peak_resettable && peak_file.is_some();
        Ok(Cgroup {
            version,
            dirs,
            cpu_file,
            peak_file,
            events_file,
            current_file,
            pids_current,
            events_v2,
            quick_checks: AtomicU32::new(0),
            written: None,
            cpu_base_ns: 0,
            oom_base: 0,
            peak_resettable,
            fresh: true,
            graveyard,
            resident: None,
            cpu_limits,
        })
    }

    /// v1 or v2.
    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// Whether `dir` is the v1 `cpu`/`cpuacct` hierarchy's directory (one directory when
    /// co-mounted, as on most machines).
    fn is_sched_dir(&self, dir: &Path) -> bool {
        self.version == CgroupVersion::V1
            && self.dirs.iter().any(|(c, d)| (c == "cpu" || c == "cpuacct") && d == dir)
    }

    /// Whether `dir` is a v1 hierarchy's directory the container's init lives in once adopted
    /// ([`Cgroup::adopt`]): `cpu`/`cpuacct` and `cpuset` (which counts and limits nothing the
    /// init could spend: it only restricts CPUs).
    fn is_resident_dir(&self, dir: &Path) -> bool {
        self.is_sched_dir(dir)
            || (self.version == CgroupVersion::V1
                && self.dirs.iter().any(|(c, d)| c == "cpuset" && d == dir))
    }

    /// v1: moves the container's init (host pid `pid`) into this cgroup's `cpu`/`cpuacct` and
    /// `cpuset` hierarchies, so programs are born there instead of moving in on every run (see
    /// the module doc). Its own CPU time then counts in `cpuacct.usage`: the container
    /// subtracts it. A run's `cpuset.cpus` restricts the init too while it lasts (harmless: it
    /// only forks and waits). The init is then not counted by [`Cgroup::is_empty`], and
    /// [`Cgroup::procs_files`] leaves those hierarchies out. v2 (one hierarchy, where the init
    /// would also count against the memory and pids limits): nothing.
    pub fn adopt(&mut self, pid: u32) -> Result<(), CgroupError> {
        if self.version != CgroupVersion::V1 {
            return Ok(());
        }
        let mut done: Vec<&Path> = Vec::new();
        for (_, d) in &self.dirs {
            if self.is_resident_dir(d) && !done.contains(&d.as_path()) {
                write_file(&d.join("cgroup.procs"), &pid.to_string())?;
                done.push(d);
            }
        }
        self.resident = Some(pid);
        Ok(())
    }

    /// Opens every hierarchy's join file for writing (v1 `tasks`, v2 `cgroup.procs`; the init
    /// writes `0` to each in a program's child; the kernel checks the opener's credentials,
    /// ours), except those the init already lives in ([`Cgroup::adopt`]).
    pub fn procs_files(&self) -> Result<Vec<OwnedFd>, CgroupError> {
        let join = Self::files(self.version).join;
        self.dirs
            .iter()
            .filter(|(_, d)| self.resident.is_none() || !self.is_resident_dir(d))
            .map(|(_, d)| {
                let p = d.join(join);
                OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .map(OwnedFd::from)
                    .map_err(|source| CgroupError::Open { path: p, source })
            })
            .collect()
    }

    /// Writes the limits of the next run (skipping unchanged ones) and resets the counters.
    pub fn prepare(&mut self, limits: &CgroupLimits) -> Result<(), CgroupError> {
        let old = self.written.take();
        let files = Self::files(self.version);
        let v1 = self.version == CgroupVersion::V1;
        if old.as_ref().is_none_or(|o| o.memory_bytes != limits.memory_bytes) {
            let dir = self.dir_of("memory").ok_or(CgroupError::Unavailable)?;
            let v = match limits.memory_bytes {
                Some(b) => b.to_string(),
                None if v1 => "-1".to_string(),
                None => "max".to_string(),
            };
            write_file(&dir.join(files.limit), &v)?;
            if !v1 {
                // No swap for programs (v1 keeps the kernel default; this machine has none).
                let _ = write_file(&dir.join("memory.swap.max"), "0");
            }
        }
        if old.as_ref().is_none_or(|o| o.pids != limits.pids) {
            let dir = self.dir_of("pids").ok_or(CgroupError::Unavailable)?;
            let v = limits.pids.map_or_else(|| "max".to_string(), |p| p.to_string());
            write_file(&dir.join("pids.max"), &v)?;
        }
        if old.as_ref().is_none_or(|o| o.cpu_rate != limits.cpu_rate)
            && self.cpu_limits
            && let Some(dir) =
                self.dirs.iter().find(|(c, _)| c == "cpu" || c == "unified").map(|(_, d)| d)
        {
            if v1 {
                let (quota, period) = match limits.cpu_rate {
                    Some((rate, period)) => {
                        ((period.saturating_mul(rate) / 1000).to_string(), period)
                    }
                    None => ("-1".to_string(), 100_000),
                };
                write_file(&dir.join("cpu.cfs_period_us"), &period.to_string())?;
                write_file(&dir.join("cpu.cfs_quota_us"), &quota)?;
            } else {
                let (rate, period) = limits.cpu_rate.map_or((None, 100_000), |(r, p)| (Some(r), p));
                write_file(&dir.join("cpu.max"), &cpu_max_value(rate, period))?;
            }
        }
        if old.as_ref().is_none_or(|o| o.cpuset != limits.cpuset)
            && let Some(dir) = self
                .dirs
                .iter()
                .find(|(c, _)| c == "cpuset" || c == "unified")
                .map(|(_, d)| d.clone())
        {
            let v = match &limits.cpuset {
                Some(s) => s.clone(),
                None if v1 => read_small(&dir.parent().unwrap_or(&dir).join("cpuset.cpus"))?
                    .trim()
                    .to_string(),
                // v2: an empty `cpuset.cpus` means "the parent's". A newline, not "": an empty
                // write never reaches the kernel (the cgroup kept the last run's set).
                None => "\n".to_string(),
            };
            if limits.cpuset.is_some() || self.version == CgroupVersion::V1 || old.is_some() {
                write_file(&dir.join("cpuset.cpus"), &v)?;
            }
        }
        self.written = Some(limits.clone());
        self.reset_counters()
    }

    fn reset_counters(&mut self) -> Result<(), CgroupError> {
        match self.version {
            CgroupVersion::V1 => {
                self.cpu_file.1.write_all(b"0").map_err(|source| CgroupError::Write {
                    path: self.cpu_file.0.clone(),
                    value: "0".into(),
                    source,
                })?;
                if let Some((path, f)) = self.peak_file.as_mut() {
                    f.write_all(b"0").map_err(|source| CgroupError::Write {
                        path: path.clone(),
                        value: "0".into(),
                        source,
                    })?;
                }
                self.cpu_base_ns = 0;
            }
            CgroupVersion::V2 => {
                self.cpu_base_ns = self.read_cpu_total()?;
                if self.peak_resettable
                    && let Some((_, f)) = self.peak_file.as_mut()
                {
                    let _ = f.write_all(b"reset\n");
                }
            }
        }
        self.oom_base = self.read_oom_kills()?;
        Ok(())
    }

    fn read_cpu_total(&self) -> Result<u64, CgroupError> {
        let (path, f) = &self.cpu_file;
        let text = read_at0(f, path)?;
        let parsed = match self.version {
            CgroupVersion::V1 => parse_value(&text).flatten(),
            CgroupVersion::V2 => parse_keyed(&text, "usage_usec").map(|us| us.saturating_mul(1000)),
        };
        parsed.ok_or_else(|| CgroupError::Parse { path: path.clone(), text })
    }

    fn read_oom_kills(&self) -> Result<u64, CgroupError> {
        let (path, f) = &self.events_file;
        let text = read_at0(f, path)?;
        // Kernels before 4.13 have no oom_kill line in v1: count 0.
        Ok(parse_keyed(&text, "oom_kill").unwrap_or(0))
    }

    /// CPU time used since the reset, ns (one `pread`: cheap enough for the limit timer).
    pub fn cpu_ns(&self) -> Result<u64, CgroupError> {
        Ok(self.read_cpu_total()?.saturating_sub(self.cpu_base_ns))
    }

    /// Counters of the run since `prepare`. `maxrss_bytes` (the largest `ru_maxrss` of the
    /// run's processes) is the peak memory where the kernel has no `memory.peak` (v2 before
    /// 5.19; see [`fallback_peak_bytes`]).
    pub fn usage(&mut self, maxrss_bytes: u64) -> Result<CgroupUsage, CgroupError> {
        let cpu_ns = self.cpu_ns()?;
        let oom_kills = self.read_oom_kills()?.saturating_sub(self.oom_base);
        let memory_peak_bytes = match &self.peak_file {
            // This run's own peak: reset by `prepare`, or (v2 before 6.12) a cgroup no other
            // run used, as the container replaces it before each run
            // ([`Cgroup::needs_replacing_for_a_run`]).
            Some((path, f)) => {
                let text = read_at0(f, path)?;
                parse_value(&text)
                    .flatten()
                    .ok_or_else(|| CgroupError::Parse { path: path.clone(), text })?
            }
            None => fallback_peak_bytes(
                maxrss_bytes,
                oom_kills,
                self.written.as_ref().and_then(|l| l.memory_bytes),
            ),
        };
        let pids_peak = if self.fresh {
            self.dir_of("pids")
                .and_then(|d| read_small(&d.join("pids.peak")).ok())
                .and_then(|t| parse_value(&t).flatten())
        } else {
            None
        };
        self.fresh = false;
        Ok(CgroupUsage { cpu_ns, memory_peak_bytes, oom_kills, pids_peak })
    }

    /// Memory charged to the cgroup now, bytes (page cache left by earlier programs).
    pub fn memory_current(&self) -> Result<u64, CgroupError> {
        let (path, f) = &self.current_file;
        let text = read_at0(f, path)?;
        parse_value(&text).flatten().ok_or_else(|| CgroupError::Parse { path: path.clone(), text })
    }

    /// True when no task is in the cgroup, the adopted init aside: no hierarchy's
    /// `cgroup.procs` lists another process, `pids.current` is 0 (so every task that was here
    /// has been reaped, not only killed: the init is never in `pids`), and on v2 `cgroup.events`
    /// says `populated 0`.
    pub fn is_empty(&self) -> Result<bool, CgroupError> {
        let resident = self.resident.map(|p| p.to_string());
        for (_, d) in &self.dirs {
            let text = read_small(&d.join("cgroup.procs"))?;
            if text.split_whitespace().any(|p| Some(p) != resident.as_deref()) {
                return Ok(false);
            }
        }
        Ok(self.pids_current()? == 0 && !self.populated_v2()?)
    }

    /// [`Cgroup::is_empty`] for the hot path (the pool's paired checks after the kill and
    /// before reuse), from counters kept open (a `pread` each, no open):
    /// - v2: `pids.current` is 0 and `cgroup.events` says `populated 0`. The first counts a
    ///   task from its fork (or move) in until it is reaped, the second until it passes
    ///   `cgroup_exit`; `cgroup.procs` (which the full check reads) lists it until then too.
    /// - v1 with the init adopted: `pids.current` is 0 and the `cpuacct` (or `cpu`)
    ///   hierarchy's `cgroup.procs` lists only the init (one open). That is every process of
    ///   the container: each is born in the init's cgroup there and none can leave it (no
    ///   cgroup file is reachable from inside), and any that joined `pids` is counted there,
    ///   zombies included. v1 without an adopted init: [`Cgroup::is_empty`].
    ///
    /// Every [`CGROUP_FULL_CHECK_EVERY`]-th call, and whenever the quick answer is "not
    /// empty", every hierarchy is read as [`Cgroup::is_empty`] does.
    pub fn is_empty_quick(&self) -> Result<bool, CgroupError> {
        let n = self.quick_checks.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if n >= CGROUP_FULL_CHECK_EVERY {
            self.quick_checks.store(0, Ordering::Relaxed);
            return self.is_empty();
        }
        let quick = match self.version {
            CgroupVersion::V2 => self.pids_current()? == 0 && !self.populated_v2()?,
            CgroupVersion::V1 => {
                let sched = self.dirs.iter().find(|(_, d)| self.is_sched_dir(d)).map(|(_, d)| d);
                let (Some(resident), Some(sched)) = (self.resident, sched) else {
                    return self.is_empty();
                };
                let resident = resident.to_string();
                self.pids_current()? == 0
                    && read_small(&sched.join("cgroup.procs"))?
                        .split_whitespace()
                        .all(|p| p == resident)
            }
        };
        if quick { Ok(true) } else { self.is_empty() }
    }

    /// Tasks charged to the cgroup's `pids` controller now (zombies included).
    fn pids_current(&self) -> Result<u64, CgroupError> {
        let (path, f) = &self.pids_current;
        let text = read_at0(f, path)?;
        parse_value(&text).flatten().ok_or_else(|| CgroupError::Parse { path: path.clone(), text })
    }

    /// v2: `populated` of `cgroup.events` (a task that has not passed `cgroup_exit` is in the
    /// cgroup); `false` on v1.
    fn populated_v2(&self) -> Result<bool, CgroupError> {
        let Some((path, f)) = &self.events_v2 else { return Ok(false) };
        let text = read_at0(f, path)?;
        match parse_keyed(&text, "populated") {
            Some(n) => Ok(n != 0),
            None => Err(CgroupError::Parse { path: path.clone(), text }),
        }
    }

    /// Who is in the cgroup, for the message of a failed emptiness check: every hierarchy's
    /// `cgroup.procs` with, for each pid listed, the essentials of `/proc/<pid>/status` (name,
    /// state, thread group, parent, pids in nested namespaces), then `pids.current` and, on
    /// v2, `cgroup.events`. Best effort: what cannot be read is said so.
    pub fn members_report(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for (ctl, d) in &self.dirs {
            let _ = write!(out, "[{ctl} {}:", d.display());
            let procs = match read_small(&d.join("cgroup.procs")) {
                Ok(t) => t,
                Err(e) => {
                    let _ = write!(out, " {e}]");
                    continue;
                }
            };
            for pid in procs.split_whitespace() {
                let mark = if self.resident.is_some_and(|r| r.to_string() == pid) {
                    " (the init)"
                } else {
                    ""
                };
                let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .map(|t| {
                        t.lines()
                            .filter(|l| {
                                ["Name:", "State:", "Tgid:", "PPid:", "NSpid:", "Threads:"]
                                    .iter()
                                    .any(|k| l.starts_with(k))
                            })
                            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_else(|e| format!("no status: {e}"));
                let _ = write!(out, " pid {pid}{mark} {{{status}}}");
            }
            out.push(']');
        }
        match self.pids_current() {
            Ok(n) => {
                let _ = write!(out, " pids.current {n}");
            }
            Err(e) => {
                let _ = write!(out, " {e}");
            }
        }
        if let Some((path, f)) = &self.events_v2 {
            match read_at0(f, path) {
                Ok(t) => {
                    let _ = write!(out, "; cgroup.events: {}", t.trim().replace('\n', ", "));
                }
                Err(e) => {
                    let _ = write!(out, "; {e}");
                }
            }
        }
        out
    }

    /// A new cgroup beside this one (same parents), named `name`.
    pub fn sibling(&self, name: &str) -> Result<Cgroup, CgroupError> {
        let mut dirs = Vec::new();
        for (ctl, d) in &self.dirs {
            let parent = d.parent().ok_or(CgroupError::Unavailable)?;
            let nd = parent.join(name);
            mkdir_cg(&nd, ctl == "cpuset")?;
            dirs.push((ctl.clone(), nd));
        }
        Cgroup::open(
            self.version,
            dirs,
            self.graveyard.clone(),
            self.cpu_limits,
            self.peak_resettable,
        )
    }

    /// Whether the kernel reports the cgroup's memory peak (v1 always; v2 on kernels 5.19+).
    pub fn has_memory_peak(&self) -> bool {
        self.peak_file.is_some()
    }

    /// Whether the memory peak can be reset per run (v1 always; v2 on kernels 6.12+).
    pub fn peak_resettable(&self) -> bool {
        self.peak_resettable
    }

    /// Whether the next run needs a new cgroup to report its own memory peak: v2 from kernel
    /// 5.19 to 6.12 (`memory.peak` without reset) once a run has used this one. Before 5.19
    /// there is no peak to keep apart: the cgroup is reused.
    pub fn needs_replacing_for_a_run(&self) -> bool {
        self.version == CgroupVersion::V2
            && self.peak_file.is_some()
            && !self.peak_resettable
            && !self.fresh
    }

    /// Directories (for tests).
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(|(_, d)| d.as_path())
    }

    /// Removes the cgroup, killing what is still inside. A directory still busy after the
    /// wait is buried (see [`Graveyard`]), not an error; other failures are returned (and the
    /// directory buried too, for the root's final removal).
    pub fn remove(mut self) -> Result<(), CgroupError> {
        let mut first_err = None;
        for (_, d) in std::mem::take(&mut self.dirs) {
            match remove_tree(&d) {
                Ok(()) => {}
                Err(CgroupError::Rmdir { source, .. })
                    if source.raw_os_error() == Some(crate::sys::errno::EBUSY) =>
                {
                    self.graveyard.bury(d);
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                    self.graveyard.bury(d);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Drop for Cgroup {
    /// A cgroup dropped without [`Cgroup::remove`] (a container whose set-up failed half-way)
    /// is buried rather than left behind; the next sweep removes it.
    fn drop(&mut self) {
        for (_, d) in std::mem::take(&mut self.dirs) {
            self.graveyard.bury(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_peak_is_maxrss_or_the_limit_after_an_oom_kill() {
        assert_eq!(fallback_peak_bytes(5 << 20, 0, Some(32 << 20)), 5 << 20);
        assert_eq!(fallback_peak_bytes(5 << 20, 1, Some(32 << 20)), 32 << 20);
        assert_eq!(fallback_peak_bytes(40 << 20, 2, Some(32 << 20)), 40 << 20);
        assert_eq!(fallback_peak_bytes(5 << 20, 1, None), 5 << 20);
        assert_eq!(fallback_peak_bytes(0, 0, None), 0);
    }

    #[test]
    fn values_and_keyed_files() {
        assert_eq!(parse_value("123\n"), Some(Some(123)));
        assert_eq!(parse_value("max\n"), Some(None));
        assert_eq!(parse_value("x"), None);
        let cpu_stat = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n";
        assert_eq!(parse_keyed(cpu_stat, "usage_usec"), Some(1500));
        let events = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(parse_keyed(events, "oom_kill"), Some(1));
        let oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
        assert_eq!(parse_keyed(oom_control, "oom_kill"), Some(2));
        assert_eq!(parse_keyed(oom_control, "oom"), None);
    }

    #[test]
    fn cpu_max_format() {
        assert_eq!(cpu_max_value(Some(500), 100_000), "50000 100000");
        assert_eq!(cpu_max_value(Some(2000), 100_000), "200000 100000");
        assert_eq!(cpu_max_value(None, 100_000), "max 100000");
    }

    /// A fake cgroup directory (regular files): what `vacate` reads and writes.
    fn fake_cgroup(name: &str, procs: &str, root: bool) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("shardbox-vacate-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(V2_SERVER_LEAF)).expect("mkdir");
        std::fs::write(dir.join("cgroup.procs"), procs).expect("procs");
        std::fs::write(dir.join(V2_SERVER_LEAF).join("cgroup.procs"), "").expect("leaf procs");
        if !root {
            std::fs::write(dir.join("cgroup.type"), "domain\n").expect("type");
        }
        dir
    }

    #[test]
    fn vacate_moves_processes_to_the_leaf_except_at_the_root() {
        let leaf_procs = |dir: &Path| {
            std::fs::read_to_string(dir.join(V2_SERVER_LEAF).join("cgroup.procs")).expect("read")
        };
        // A regular file never empties, so every round writes the last pid again.
        let populated = fake_cgroup("populated", "4242\n", false);
        vacate(&populated).expect("vacate");
        assert_eq!(leaf_procs(&populated), "4242");
        let root = fake_cgroup("root", "4242\n", true);
        vacate(&root).expect("vacate");
        assert_eq!(leaf_procs(&root), "", "the root cgroup is exempt");
        let empty = fake_cgroup("empty", "", false);
        vacate(&empty).expect("vacate");
        assert_eq!(leaf_procs(&empty), "", "nothing to move");
        for dir in [populated, root, empty] {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn a_dropped_cgroup_is_buried_then_swept_with_its_processes() {
        let root = match CgroupRoot::new("shardbox-unit-graveyard", true) {
            Ok(root) => root,
            Err(e) => {
                eprintln!("SKIPPED: needs root and a usable cgroup hierarchy: {e}");
                return;
            }
        };
        let cg = root.create("c0").expect("create");
        let dirs: Vec<PathBuf> = cg.dirs().map(Path::to_path_buf).collect();
        let mut sleeper = std::process::Command::new("sleep").arg("100").spawn().expect("sleep");
        for dir in &dirs {
            std::fs::write(dir.join("cgroup.procs"), sleeper.id().to_string()).expect("join");
        }
        drop(cg);
        assert!(dirs.iter().all(|d| d.exists()), "a busy cgroup stays until swept");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // The sweep kills the sleeper; its cgroup empties once it is reaped.
        let mut remaining = root.sweep();
        let status = sleeper.wait().expect("wait");
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
        while remaining > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            remaining = root.sweep();
        }
        assert_eq!(remaining, 0);
        assert!(dirs.iter().all(|d| !d.exists()), "swept: {dirs:?}");
        assert_eq!(root.sweep(), 0, "nothing left to sweep");
    }

    #[test]
    fn the_quick_emptiness_check_sees_every_process_it_claims_to() {
        let root = match CgroupRoot::new("shardbox-unit-quick", true) {
            Ok(root) if root.version() == CgroupVersion::V1 => root,
            Ok(_) => {
                eprintln!("SKIPPED: the quick check differs from the full one only on cgroup v1");
                return;
            }
            Err(e) => {
                eprintln!("SKIPPED: needs root and a usable cgroup hierarchy: {e}");
                return;
            }
        };
        let sleep = || std::process::Command::new("sleep").arg("100").spawn().expect("sleep");
        let join = |cg: &Cgroup, ctl: &str, pid: u32| {
            let dir = cg.dir_of(ctl).expect("hierarchy");
            std::fs::write(dir.join("cgroup.procs"), pid.to_string()).expect("join");
        };
        let mut cg = root.create("c0").expect("create");
        let mut init = sleep();
        cg.adopt(init.id()).expect("adopt");
        let cpuset = cg.dir_of("cpuset").map(Path::to_path_buf);
        if let Some(dir) = &cpuset {
            let tasks = std::fs::read_to_string(dir.join("tasks")).expect("tasks");
            assert_eq!(tasks.trim(), init.id().to_string(), "adopted in cpuset too");
        } else {
            eprintln!("no v1 cpuset hierarchy: its part of the test is skipped");
        }
        for _ in 0..2 * CGROUP_FULL_CHECK_EVERY {
            assert!(cg.is_empty_quick().expect("quick"), "the adopted init does not count");
        }
        // In `pids`: seen by every quick check.
        let mut in_pids = sleep();
        join(&cg, "pids", in_pids.id());
        assert!(!cg.is_empty_quick().expect("quick"));
        assert!(!cg.is_empty().expect("full"));
        let _ = in_pids.kill();
        let _ = in_pids.wait();
        assert!(cg.is_empty_quick().expect("quick"), "gone once reaped");
        // In `cpu` beside the init (where programs are born): seen by every quick check.
        let mut in_cpu = sleep();
        join(&cg, "cpu", in_cpu.id());
        assert!(!cg.is_empty_quick().expect("quick"));
        let _ = in_cpu.kill();
        let _ = in_cpu.wait();
        // Only in `memory` (no container process can get there without the two above): the
        // full check every CGROUP_FULL_CHECK_EVERY calls sees it.
        let mut in_memory = sleep();
        join(&cg, "memory", in_memory.id());
        assert!(!cg.is_empty().expect("full"));
        let seen = (0..CGROUP_FULL_CHECK_EVERY).any(|_| !cg.is_empty_quick().expect("quick"));
        assert!(seen, "the periodic full check never ran");
        let _ = in_memory.kill();
        let _ = in_memory.wait();
        // In `cpuset` beside the init (which lives there too): the full check sees it.
        if cpuset.is_some() {
            let mut in_cpuset = sleep();
            join(&cg, "cpuset", in_cpuset.id());
            assert!(!cg.is_empty().expect("full"));
            let _ = in_cpuset.kill();
            let _ = in_cpuset.wait();
            assert!(cg.is_empty().expect("full"), "the init alone in cpuset does not count");
        }
        let _ = init.kill();
        let _ = init.wait();
        cg.remove().expect("remove");
    }

    #[test]
    fn kept_open_counters_are_read_again_at_offset_zero() {
        let root = match CgroupRoot::new("shardbox-unit-reread", false) {
            Ok(root) => root,
            Err(e) => {
                eprintln!("SKIPPED: needs root and a usable cgroup hierarchy: {e}");
                return;
            }
        };
        let cg = root.create("c0").expect("create");
        // Each file read twice through the same fd gives a value both times (`cgroup.procs`
        // would not: its second read at offset 0 is empty).
        for _ in 0..2 {
            assert!(cg.memory_current().is_ok());
            assert_eq!(cg.read_oom_kills().expect("oom kills"), 0);
            assert_eq!(cg.pids_current().expect("pids.current"), 0);
            assert!(!cg.populated_v2().expect("cgroup.events"));
        }
        cg.remove().expect("remove");
    }

    /// The v2 features found match the running kernel's version (the guest runs of
    /// `.ci/cgroup2-guest.sh` check each series: 5.10, 6.1, 6.12), and a cgroup without
    /// `memory.peak` still opens and reports the maxrss it is given.
    #[test]
    fn v2_features_match_the_kernel_version() {
        let root = match CgroupRoot::new("shardbox-unit-features", false) {
            Ok(root) => root,
            Err(e) => {
                eprintln!("SKIPPED: needs root and a usable cgroup hierarchy: {e}");
                return;
            }
        };
        if root.version() != CgroupVersion::V2 {
            eprintln!("SKIPPED: v2 feature detection needs cgroup v2 (this is v1)");
            return;
        }
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
        let mut parts = release.trim().split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
        let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        let dir = root.dirs().next().expect("dir").to_path_buf();
        let f = probe_v2_features(&dir);
        eprintln!("    kernel {}: {f:?}", release.trim());
        assert_eq!(f.memory_peak, version >= (5, 19), "{release}: {f:?}");
        assert_eq!(f.pids_peak, version >= (6, 1), "{release}: {f:?}");
        assert_eq!(f.memory_peak_reset, version >= (6, 12), "{release}: {f:?}");
        let mut cg = root.create("c0").expect("create");
        assert_eq!(cg.has_memory_peak(), f.memory_peak);
        assert_eq!(cg.peak_resettable(), f.memory_peak_reset);
        let limits = CgroupLimits { memory_bytes: Some(64 << 20), ..CgroupLimits::default() };
        cg.prepare(&limits).expect("prepare");
        let u = cg.usage(3 << 20).expect("usage");
        if !f.memory_peak {
            // Nothing ran: no OOM kill, so the peak is the maxrss given.
            assert_eq!(u.memory_peak_bytes, 3 << 20);
            assert!(!cg.needs_replacing_for_a_run(), "no peak to keep apart: reuse");
        } else {
            assert_eq!(cg.needs_replacing_for_a_run(), !f.memory_peak_reset);
        }
        cg.remove().expect("remove");
    }

    #[test]
    fn instance_names_identify_live_processes() {
        let me = instance_name();
        assert!(instance_alive(&me));
        assert!(!instance_alive("999999999-1"));
        assert!(!instance_alive("garbage"));
        let (pid, _) = me.split_once('-').unwrap();
        assert!(!instance_alive(&format!("{pid}-1-0")), "same pid, other start time");
        assert_ne!(instance_name(), me, "two roots of one process never share a name");
    }
}
