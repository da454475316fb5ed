//! What a run asks for and what it reports: [`ExecRequest`], [`ExecLimits`], [`ExecOutcome`],
//! and [`Canceller`] (stop a running program from another thread).
//!
//! Plain data plus the pure rules that turn limits into rlimits ([`rlimits_for`]) and decide when
//! the CPU-time check fires next ([`next_cpu_check_ns`]); `container` does the waiting.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::config::SandboxConfig;
use crate::limits::CPU_CHECK_INTERVAL_NS_MIN;
use crate::protocol::{Rlimit, WaitStatus};
use crate::sys;

/// Limits of one run. `None` means "not limited" (the judge layer maps go-judge's zero values).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecLimits {
    /// CPU time of every process of the run, ns (go-judge `cpuLimit`). Enforced by the cgroup
    /// counter and a timer, with RLIMIT_CPU = floor(s)+1 as backstop.
    pub cpu_time_ns: Option<u64>,
    /// Wall-clock time from fork, ns (go-judge `clockLimit`).
    pub wall_time_ns: Option<u64>,
    /// Memory, bytes (go-judge `memoryLimit`); the cgroup gets this + `extra_memory_limit_bytes`.
    pub memory_bytes: Option<u64>,
    /// RLIMIT_STACK, bytes (go-judge `stackLimit`).
    pub stack_bytes: Option<u64>,
    /// Most tasks (processes and threads), cgroup `pids.max` (go-judge `procLimit`).
    pub procs_max: Option<u64>,
    /// CPU rate, 1000 = one CPU (go-judge `cpuRateLimit`; only with `enable_cpu_rate`).
    pub cpu_rate: Option<u64>,
    /// `cpuset.cpus` (go-judge `cpuSetLimit`).
    pub cpuset: Option<String>,
    /// Also set RLIMIT_DATA to the memory limit (go-judge `dataSegmentLimit`).
    pub data_segment_limit: bool,
    /// Also set RLIMIT_AS to the memory limit (go-judge `addressSpaceLimit`).
    pub address_space_limit: bool,
}

/// One program to run.
#[derive(Debug, Default)]
pub struct ExecRequest<'a> {
    /// argv (resolved like go-judge: see `init`).
    pub args: Vec<Vec<u8>>,
    /// Environment, exactly (nothing inherited).
    pub env: Vec<Vec<u8>>,
    /// `files[i]` becomes fd `i`; `None` leaves it closed; fds past the end are closed.
    pub files: Vec<Option<BorrowedFd<'a>>>,
    /// Limits.
    pub limits: ExecLimits,
}

/// What happened to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecOutcome {
    /// How the main process ended.
    pub status: WaitStatus,
    /// CPU time (user + system) of every process, ns: the cgroup counter, or rusage without one.
    pub cpu_time_ns: u64,
    /// Peak memory, bytes: the cgroup peak, or the largest maxrss without one.
    pub memory_peak_bytes: u64,
    /// Wall time from the worker sending `Exec` (where the wall limit starts) to the main
    /// process's exit, ns.
    pub wall_time_ns: u64,
    /// The CPU-time limit fired (timer kill, SIGXCPU, or time over the limit).
    pub cpu_limit_hit: bool,
    /// The wall-clock limit fired.
    pub wall_limit_hit: bool,
    /// The memory cgroup OOM-killed a process during the run.
    pub memory_limit_hit: bool,
    /// The run was cancelled through a [`Canceller`].
    pub cancelled: bool,
    /// Peak number of tasks, when the kernel can report it for this run (fresh cgroup).
    pub proc_peak: Option<u64>,
}

/// Stops a running program from another thread (the WebSocket cancel, a client that left).
/// Cloning is cheap; cancelling before the run starts kills it as soon as it starts.
#[derive(Debug, Clone)]
pub struct Canceller {
    fd: Arc<OwnedFd>,
}

impl Canceller {
    /// A new, untriggered canceller (an eventfd).
    pub fn new() -> io::Result<Self> {
        Ok(Canceller { fd: Arc::new(sys::sock::eventfd()?) })
    }

    /// Asks the run to stop.
    pub fn cancel(&self) -> io::Result<()> {
        sys::sock::signal_event(self.fd.as_fd())
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The rlimits of a run (go-judge §1.5): CPU backstop floor(s)+1, FSIZE, NOFILE, CORE 0, STACK
/// when given, DATA/AS when asked (DATA always without cgroup), NPROC without cgroup.
pub fn rlimits_for(limits: &ExecLimits, config: &SandboxConfig, cgroup: bool) -> Vec<Rlimit> {
    use sys::rlimit as r;
    let mut v = Vec::with_capacity(8);
    if let Some(ns) = limits.cpu_time_ns {
        v.push(Rlimit { resource: r::CPU, value: (ns / 1_000_000_000).saturating_add(1) });
    }
    v.push(Rlimit { resource: r::FSIZE, value: config.output_limit_bytes });
    v.push(Rlimit { resource: r::NOFILE, value: config.open_file_limit });
    v.push(Rlimit { resource: r::CORE, value: 0 });
    let memory = limits.memory_bytes.map(|m| m.saturating_add(config.extra_memory_limit_bytes));
    if let Some(stack) = limits.stack_bytes {
        v.push(Rlimit { resource: r::STACK, value: memory.map_or(stack, |m| stack.min(m)) });
    }
    if let Some(m) = memory {
        if limits.data_segment_limit || !cgroup {
            v.push(Rlimit { resource: r::DATA, value: m });
        }
        if limits.address_space_limit {
            v.push(Rlimit { resource: r::AS, value: m });
        }
    }
    if !cgroup && let Some(p) = limits.procs_max {
        v.push(Rlimit { resource: r::NPROC, value: p });
    }
    v
}

/// When to read the CPU counter next: the earliest moment the remaining budget could be spent
/// if the program kept `cpus` CPUs busy, but not sooner than `CPU_CHECK_INTERVAL_NS_MIN`.
pub fn next_cpu_check_ns(now_ns: u64, used_ns: u64, limit_ns: u64, cpus: u64) -> u64 {
    let remaining = limit_ns.saturating_sub(used_ns);
    now_ns.saturating_add((remaining / cpus.max(1)).max(CPU_CHECK_INTERVAL_NS_MIN))
}

/// CPUs a run can use at once: the machine's, or fewer with a cpuset or a rate.
pub fn usable_cpus(machine: u64, limits: &ExecLimits, rate_enabled: bool) -> u64 {
    let mut k = machine.max(1);
    if let Some(set) = &limits.cpuset {
        k = k.min(cpuset_count(set).max(1));
    }
    if let (true, Some(rate)) = (rate_enabled, limits.cpu_rate) {
        k = k.min(rate.div_ceil(1000).max(1));
    }
    k
}

/// Number of CPUs in a cpuset list like `0-3,8,10-11` (0 when unparsable).
pub fn cpuset_count(set: &str) -> u64 {
    let mut n = 0u64;
    for part in set.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let r = match part.split_once('-') {
            Some((a, b)) => match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => return 0,
            },
            None => match part.parse::<u64>() {
                Ok(_) => 1,
                Err(_) => return 0,
            },
        };
        n = n.saturating_add(r);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlimits_follow_go_judge() {
        let cfg = SandboxConfig::with_parallelism(1);
        let limits = ExecLimits {
            cpu_time_ns: Some(1_500_000_000),
            memory_bytes: Some(64 << 20),
            stack_bytes: Some(1 << 40),
            procs_max: Some(4),
            ..ExecLimits::default()
        };
        let v = rlimits_for(&limits, &cfg, true);
        let get = |res| v.iter().find(|r| r.resource == res).map(|r| r.value);
        assert_eq!(get(sys::rlimit::CPU), Some(2));
        assert_eq!(get(sys::rlimit::FSIZE), Some(256 << 20));
        assert_eq!(get(sys::rlimit::NOFILE), Some(256));
        assert_eq!(get(sys::rlimit::CORE), Some(0));
        assert_eq!(
            get(sys::rlimit::STACK),
            Some((64 << 20) + 16 * 1024),
            "stack clamped to memory"
        );
        assert_eq!(get(sys::rlimit::DATA), None);
        assert_eq!(get(sys::rlimit::NPROC), None);
        let v = rlimits_for(&limits, &cfg, false);
        assert!(v.iter().any(|r| r.resource == sys::rlimit::DATA));
        assert!(v.iter().any(|r| r.resource == sys::rlimit::NPROC && r.value == 4));
    }

    #[test]
    fn cpu_check_is_armed_for_the_earliest_possible_overrun() {
        // 1 s budget, nothing used, 2 CPUs: the budget could be gone after 0.5 s.
        assert_eq!(next_cpu_check_ns(0, 0, 1_000_000_000, 2), 500_000_000);
        // Nearly spent: the floor applies.
        assert_eq!(
            next_cpu_check_ns(10, 999_999_000, 1_000_000_000, 1),
            10 + CPU_CHECK_INTERVAL_NS_MIN
        );
        // Over budget: the floor, never a past time.
        assert_eq!(next_cpu_check_ns(5, 2, 1, 1), 5 + CPU_CHECK_INTERVAL_NS_MIN);
    }

    #[test]
    fn cpus_from_cpuset_and_rate() {
        assert_eq!(cpuset_count("0-3,8,10-11"), 7);
        assert_eq!(cpuset_count("x"), 0);
        assert_eq!(cpuset_count("3-1"), 0);
        let l = ExecLimits { cpuset: Some("0".into()), ..ExecLimits::default() };
        assert_eq!(usable_cpus(8, &l, false), 1);
        let l = ExecLimits { cpu_rate: Some(1500), ..ExecLimits::default() };
        assert_eq!(usable_cpus(8, &l, true), 2);
        assert_eq!(usable_cpus(8, &l, false), 8);
    }
}
