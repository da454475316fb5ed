//! CPU accounting from `/proc`: what the server (and the load generator) spent per request.
//!
//! [`ProcessSet`] names the processes of a server: one or more root pids (given, or found by
//! [`pids_listening_on`] from a listening TCP port) plus all their descendants, so a
//! multi-process server such as nginx (master + workers) is counted whole. [`ProcessSet::sample`]
//! reads `utime` and `stime` of each from `/proc/<pid>/stat` (these cover every thread of the
//! process, including exited ones) plus `cutime` and `cstime`, the CPU of the children each has
//! reaped: a judge's programs live for a millisecond and are never seen alive by a sample, but
//! their CPU (and a one-shot sandbox's, such as `bwrap`) lands in the reaper's counters, so a
//! judge is charged for the programs it runs, whichever process reaps them. [`CpuSample::since`]
//! subtracts two samples: the growth of each pid present in both, plus all the CPU of a pid born
//! in between (a judge may replace a container mid-run); a pid gone by the second sample is
//! left out, so a worker that exits mid-run cannot make the delta negative (its reaper's
//! `cutime` carries it; a child alive at the first sample and reaped before the second thus
//! has its earlier CPU counted twice: negligible for short-lived programs).
//! [`MachineCpu`] reads the first line of `/proc/stat` for the machine-wide busy and steal
//! share of a window: on a shared VM the steal column says how far to trust a round.
//!
//! The kernel accounts in clock ticks (`USER_HZ`, 100 per second on Linux), so a window should
//! hold at least a few hundred ticks of work (seconds, not milliseconds) for the per-request
//! figure to be meaningful. It does not attribute softirq time spent on behalf of the server
//! in another task's context; the loopback TCP stack often runs there, which is why the load
//! generator reports its own CPU as well.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::limits::PROC_ENTRIES_MAX;

/// Why CPU accounting failed.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    /// A `/proc` file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A `/proc` file did not have the expected shape.
    #[error("cannot parse {path}")]
    Parse {
        /// The file.
        path: String,
    },
    /// No process listens on the port.
    #[error("no process listens on TCP port {port}")]
    NoListener {
        /// The port searched for.
        port: u16,
    },
    /// The process does not exist.
    #[error("process {pid} does not exist")]
    NoProcess {
        /// The pid given.
        pid: u32,
    },
}

/// CPU time of a set of processes, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// Time in user space.
    pub user_ns: u64,
    /// Time in the kernel on behalf of the processes.
    pub system_ns: u64,
}

impl CpuTime {
    /// User plus system time.
    pub fn total_ns(&self) -> u64 {
        self.user_ns + self.system_ns
    }
}

/// Per-pid tick counters at one instant.
#[derive(Clone, Debug, Default)]
pub struct CpuSample {
    ticks: BTreeMap<u32, (u64, u64)>,
}

impl CpuSample {
    /// CPU used between `earlier` and `self`: the growth of every pid present in both, plus
    /// everything a pid born since `earlier` has used (a judge replaces containers mid-run).
    pub fn since(&self, earlier: &CpuSample) -> CpuTime {
        let (mut user, mut system) = (0u64, 0u64);
        for (pid, &(u, s)) in &self.ticks {
            let (u0, s0) = earlier.ticks.get(pid).copied().unwrap_or((0, 0));
            user += u.saturating_sub(u0);
            system += s.saturating_sub(s0);
        }
        let ns_per_tick = 1_000_000_000 / rustix::param::clock_ticks_per_second().max(1);
        CpuTime { user_ns: user * ns_per_tick, system_ns: system * ns_per_tick }
    }

    /// The pids sampled.
    pub fn pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.ticks.keys().copied()
    }
}

/// The processes whose CPU a run charges to the server: roots and their descendants.
#[derive(Clone, Debug)]
pub struct ProcessSet {
    roots: Vec<u32>,
}

impl ProcessSet {
    /// The given pids (and, at each sample, their descendants). Each must exist now.
    pub fn new(roots: Vec<u32>) -> Result<Self, CpuError> {
        for &pid in &roots {
            if !Path::new(&format!("/proc/{pid}/stat")).exists() {
                return Err(CpuError::NoProcess { pid });
            }
        }
        Ok(Self { roots })
    }

    /// The processes listening on TCP `port` (IPv4 or IPv6, any address).
    pub fn listening_on(port: u16) -> Result<Self, CpuError> {
        let pids = pids_listening_on(port)?;
        if pids.is_empty() {
            return Err(CpuError::NoListener { port });
        }
        Ok(Self { roots: pids })
    }

    /// The root pids.
    pub fn roots(&self) -> &[u32] {
        &self.roots
    }

    /// Reads the counters of the roots and all their current descendants.
    pub fn sample(&self) -> Result<CpuSample, CpuError> {
        let table = process_table()?;
        let mut wanted: Vec<u32> = self.roots.clone();
        let mut at = 0;
        while let Some(&pid) = wanted.get(at) {
            at += 1;
            for (&child, stat) in &table {
                if stat.ppid == pid && !wanted.contains(&child) {
                    wanted.push(child);
                }
            }
        }
        let mut sample = CpuSample::default();
        for pid in wanted {
            if let Some(stat) = table.get(&pid) {
                let user = stat.utime.saturating_add(stat.cutime);
                sample.ticks.insert(pid, (user, stat.stime.saturating_add(stat.cstime)));
            }
        }
        Ok(sample)
    }
}

/// The fields of `/proc/<pid>/stat` this module uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// Parent pid.
    pub ppid: u32,
    /// User time in clock ticks (all threads).
    pub utime: u64,
    /// System time in clock ticks (all threads).
    pub stime: u64,
    /// User time of reaped children (and theirs), in clock ticks.
    pub cutime: u64,
    /// System time of reaped children (and theirs), in clock ticks.
    pub cstime: u64,
}

/// Parses the text of `/proc/<pid>/stat`. The command name may contain spaces and parentheses,
/// so fields are counted from the last `)`.
pub fn parse_proc_stat(text: &str) -> Option<ProcStat> {
    let after = text.get(text.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after.split_ascii_whitespace().collect();
    // After the name: state(0) ppid(1) pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime(11) stime(12) cutime(13) cstime(14).
    Some(ProcStat {
        ppid: fields.get(1)?.parse().ok()?,
        utime: fields.get(11)?.parse().ok()?,
        stime: fields.get(12)?.parse().ok()?,
        cutime: fields.get(13)?.parse().ok()?,
        cstime: fields.get(14)?.parse().ok()?,
    })
}

/// Reads `/proc/<pid>/stat` of one process.
pub fn read_proc_stat(pid: u32) -> Result<ProcStat, CpuError> {
    let path = format!("/proc/{pid}/stat");
    let text = fs::read_to_string(&path)
        .map_err(|source| CpuError::Read { path: path.clone(), source })?;
    parse_proc_stat(&text).ok_or(CpuError::Parse { path })
}

/// Every process's stat, keyed by pid (processes that vanish while scanning are skipped).
fn process_table() -> Result<BTreeMap<u32, ProcStat>, CpuError> {
    let entries =
        fs::read_dir("/proc").map_err(|source| CpuError::Read { path: "/proc".into(), source })?;
    let mut table = BTreeMap::new();
    for entry in entries.take(PROC_ENTRIES_MAX).flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(stat) = read_proc_stat(pid) {
            table.insert(pid, stat);
        }
    }
    Ok(table)
}

/// Socket inodes in LISTEN state on `port`, from the text of `/proc/net/tcp` or `tcp6`.
pub fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const LISTEN: &str = "0A";
    let mut inodes = Vec::new();
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9))
        else {
            continue;
        };
        let Some((_, port_hex)) = local.rsplit_once(':') else { continue };
        if *state == LISTEN
            && u16::from_str_radix(port_hex, 16).ok() == Some(port)
            && let Ok(inode) = inode.parse::<u64>()
        {
            inodes.push(inode);
        }
    }
    inodes
}

/// Pids that hold a listening TCP socket on `port` (root processes of a server).
///
/// Reads `/proc/net/tcp{,6}` for the socket inodes, then every `/proc/<pid>/fd/*` link for
/// `socket:[inode]`. Needs permission to read other processes' fd tables (root, or same user).
pub fn pids_listening_on(port: u16) -> Result<Vec<u32>, CpuError> {
    let mut inodes = Vec::new();
    for path in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = fs::read_to_string(path) {
            inodes.extend(listening_inodes(&text, port));
        }
    }
    if inodes.is_empty() {
        return Ok(Vec::new());
    }
    let links: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let table = process_table()?;
    let mut holders = Vec::new();
    for &pid in table.keys() {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        let holds = fds.flatten().any(|fd| {
            fs::read_link(fd.path())
                .ok()
                .and_then(|target| target.to_str().map(|t| links.iter().any(|l| l == t)))
                .unwrap_or(false)
        });
        if holds {
            holders.push(pid);
        }
    }
    // Keep only roots: a worker whose ancestor also holds the socket is counted through it.
    let roots = holders
        .iter()
        .copied()
        .filter(|&pid| {
            let mut up = table.get(&pid).map(|s| s.ppid);
            let mut hops = 0;
            while let Some(parent) = up
                && parent > 1
                && hops < 64
            {
                if holders.contains(&parent) {
                    return false;
                }
                up = table.get(&parent).map(|s| s.ppid);
                hops += 1;
            }
            true
        })
        .collect();
    Ok(roots)
}

/// Machine-wide CPU counters from the first line of `/proc/stat`, in ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MachineCpu {
    /// All ticks (busy, idle and steal).
    pub total: u64,
    /// Ticks not idle and not iowait (includes steal).
    pub busy: u64,
    /// Ticks the hypervisor ran someone else while this VM wanted the CPU.
    pub steal: u64,
}

impl MachineCpu {
    /// Reads `/proc/stat`.
    pub fn read() -> Result<Self, CpuError> {
        let path = "/proc/stat";
        let text = fs::read_to_string(path)
            .map_err(|source| CpuError::Read { path: path.into(), source })?;
        Self::parse(&text).ok_or(CpuError::Parse { path: path.into() })
    }

    /// Parses the aggregate `cpu` line.
    pub fn parse(text: &str) -> Option<Self> {
        let line = text.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> =
            line.split_ascii_whitespace().skip(1).map_while(|f| f.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
        let field = |i: usize| v.get(i).copied().unwrap_or(0);
        let total: u64 = (0..8).map(field).sum();
        let idle = field(3) + field(4);
        Some(Self { total, busy: total.saturating_sub(idle), steal: field(7) })
    }

    /// Share of the window's ticks that were stolen, in percent.
    pub fn steal_percent_since(&self, earlier: &MachineCpu) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        100.0 * self.steal.saturating_sub(earlier.steal) as f64 / total as f64
    }

    /// Share of the window's ticks that were busy (including steal), in percent.
    pub fn busy_percent_since(&self, earlier: &MachineCpu) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        100.0 * self.busy.saturating_sub(earlier.busy) as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_tricky_command_name() {
        let text = "42 (a) b (c)) S 7 42 42 0 -1 4194560 100 0 0 0 250 31 5 6 20 0 3 0 1 2 3";
        assert_eq!(
            parse_proc_stat(text),
            Some(ProcStat { ppid: 7, utime: 250, stime: 31, cutime: 5, cstime: 6 })
        );
        assert_eq!(parse_proc_stat("42 (x) S 7"), None);
    }

    #[test]
    fn listen_table_matches_port_and_state() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1\n\
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 5678 1\n\
   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9999 1\n";
        assert_eq!(listening_inodes(table, 8080), vec![1234]);
        assert_eq!(listening_inodes(table, 80), vec![9999]);
        assert!(listening_inodes(table, 81).is_empty());
    }

    #[test]
    fn machine_line_parses_steal() {
        let m = MachineCpu::parse("cpu  10 0 5 80 5 0 0 10 0 0\ncpu0 1 2").unwrap();
        assert_eq!(m, MachineCpu { total: 110, busy: 25, steal: 10 });
        let later = MachineCpu { total: 210, busy: 75, steal: 30 };
        assert_eq!(later.steal_percent_since(&m), 20.0);
        assert_eq!(later.busy_percent_since(&m), 50.0);
    }
}
