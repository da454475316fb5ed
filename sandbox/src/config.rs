//! [`SandboxConfig`]: every knob of the container layer, with go-judge's flag names.
//!
//! The engine maps its CLI flags and environment variables onto this struct (go-judge spells the
//! environment variables `ES_` + the flag in upper snake case, e.g. `ES_PRE_FORK`). This module
//! only holds values and their defaults; `mounts` reads the mount config file and `pool` applies
//! the rest.

use std::path::PathBuf;

/// Whether to use cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// Detect v1 or v2 at start; without usable cgroups, fall back to rlimits and rusage
    /// (unless [`SandboxConfig::no_fallback`]).
    Auto,
    /// Never use cgroups: rlimits (RLIMIT_DATA for memory, RLIMIT_NPROC for processes,
    /// RLIMIT_CPU for time) and `wait4` rusage. go-judge reaches this mode when not root.
    Off,
}

/// Configuration of the container layer.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Containers built at start and kept idle by the background replenisher.
    /// go-judge: `-pre-fork` (default 1). Default here: the parallelism (CPUs).
    pub pre_fork: usize,
    /// Most containers alive at once (idle + in use); past it `Pool::get` fails with
    /// `PoolError::Exhausted` (the engine answers 503). go-judge has no cap. Default 4 ×
    /// parallelism, at most `limits::POOL_CONTAINERS_MAX`.
    pub containers_max: usize,
    /// Mount config file replacing the default mount list (format in `mounts`).
    /// go-judge: `-mount-conf` (a YAML file there; a simpler line format here).
    pub mount_config: Option<PathBuf>,
    /// tmpfs options of `/w` and `/tmp` in the default mount list.
    /// go-judge: `-tmp-fs-param`, default `size=128m,nr_inodes=4k`.
    pub tmp_fs_param: String,
    /// Host name of every container. go-judge: mount.yaml `hostName`.
    pub host_name: String,
    /// Domain name of every container. go-judge: mount.yaml `domainName`.
    pub domain_name: String,
    /// First host uid of the range containers map to: container `c` maps its root to
    /// `start + 2c` and [`Self::container_uid`] to `start + 2c + 1`, so no container shares a
    /// host uid with the host or another container. go-judge: `-container-cred-start` (there 0
    /// means "programs run as root"; here programs never run as root).
    pub container_cred_start: u32,
    /// uid programs run as inside the container. go-judge: mount.yaml `uid` (default 1000 with
    /// `-container-cred-start`).
    pub container_uid: u32,
    /// gid programs run as inside the container. go-judge: mount.yaml `gid`.
    pub container_gid: u32,
    /// Cgroup use. go-judge: automatic, with fallback when not root.
    pub cgroup: CgroupMode,
    /// Fail at start instead of falling back to rlimits. go-judge: `-no-fallback`.
    pub no_fallback: bool,
    /// Name of the directory created in each cgroup hierarchy (under the cgroup this process is
    /// in). go-judge: `-cgroup-prefix` (default `gojudge`).
    pub cgroup_prefix: String,
    /// Added to every memory limit, bytes. go-judge: `-extra-memory-limit`, default 16 KiB.
    pub extra_memory_limit_bytes: u64,
    /// RLIMIT_FSIZE of every program, bytes. go-judge: `-output-limit`, default 256 MiB.
    pub output_limit_bytes: u64,
    /// RLIMIT_NOFILE of every program. go-judge: `-open-file-limit`, default 256.
    pub open_file_limit: u64,
    /// Honour `cpu_rate` limits (cgroup CFS quota). go-judge: `-enable-cpu-rate`.
    pub enable_cpu_rate: bool,
    /// CFS period for `cpu_rate`, µs. go-judge: `-cpu-cfs-period`, default 100 ms.
    pub cpu_cfs_period_us: u64,
    /// Install the default seccomp deny-list on programs. go-judge: off unless built with the
    /// `seccomp` tag and given `-seccomp-conf`; on here.
    pub seccomp: bool,
    /// Host directory each container mounts its tmpfs root over (inside its own mount
    /// namespace; the host never sees anything there). Created at start, removed at shutdown.
    pub root_dir: PathBuf,
    /// A cgroup whose memory usage after the kill stays above this (page cache charged to it) is
    /// replaced by a fresh one before reuse, so leftovers never count against the next program.
    pub memory_leftover_bytes_max: u64,
}

impl SandboxConfig {
    /// Defaults for a machine with `parallelism` CPUs.
    pub fn with_parallelism(parallelism: usize) -> Self {
        let parallelism = parallelism.max(1);
        SandboxConfig {
            pre_fork: parallelism,
            containers_max: parallelism
                .saturating_mul(4)
                .clamp(1, crate::limits::POOL_CONTAINERS_MAX),
            mount_config: None,
            tmp_fs_param: "size=128m,nr_inodes=4k".to_string(),
            host_name: "shardbox".to_string(),
            domain_name: "shardbox".to_string(),
            container_cred_start: 1_000_000,
            container_uid: 1000,
            container_gid: 1000,
            cgroup: CgroupMode::Auto,
            no_fallback: false,
            cgroup_prefix: "shardbox".to_string(),
            extra_memory_limit_bytes: 16 * 1024,
            output_limit_bytes: 256 * 1024 * 1024,
            open_file_limit: 256,
            enable_cpu_rate: false,
            cpu_cfs_period_us: 100_000,
            seccomp: true,
            root_dir: std::env::temp_dir().join(format!("shardbox-root-{}", std::process::id())),
            memory_leftover_bytes_max: 1024 * 1024,
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self::with_parallelism(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}
