//! The judge's command-line flags, with go-judge's names and `ES_*` environment variables.
//!
//! [`JudgeArgs`] is flattened into the server's flags (`crate::cli::ServeArgs`). It maps onto
//! the container layer's [`SandboxConfig`] ([`JudgeArgs::sandbox_config`]), the file store's
//! [`FileStoreConfig`] ([`JudgeArgs::store_config`]) and the request model's [`ParseOptions`].
//! Sizes accept go-judge's spellings (`256m`, `64MiB`, `16k`, `1G`, a plain byte count);
//! durations Go's (`10s`, `1m30s`). Flags go-judge has and shardbox does not need are either
//! accepted and ignored (listed in `docs/operations.md`) or unknown (an error at start).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use shardbox_sandbox::SandboxConfig;
use shardbox_sandbox::filestore::FileStoreConfig;
use shardbox_sandbox::model::ParseOptions;

use crate::cli::parse_duration;
use crate::limits;

/// Parses a size the way go-judge's flags do (`bytefmt`): a number with an optional unit `B`,
/// `K`/`KB`/`KiB`, `M`/`MB`/`MiB`, `G`/`GB`/`GiB`, `T`/`TB`/`TiB` (case-insensitive, powers of
/// 1024); a bare number is bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let n: u64 = number.parse().map_err(|_| format!("invalid size {text:?} (e.g. 256m, 16k)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        other => return Err(format!("unknown size unit {other:?} in {text:?}")),
    };
    n.checked_mul(1u64 << shift).ok_or_else(|| format!("size {text:?} is too large"))
}

fn parse_bool() -> clap::builder::BoolishValueParser {
    clap::builder::BoolishValueParser::new()
}

/// Flags of the judge (go-judge's names).
#[derive(Debug, Clone, Args)]
pub struct JudgeArgs {
    /// Keep the file store in this directory instead of memory (sealed memfds).
    #[arg(long = "dir", env = "ES_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Remove a stored file not read for this long (0: never).
    #[arg(long = "file-timeout", env = "ES_FILE_TIMEOUT", default_value = "0",
          value_parser = parse_duration, value_name = "DURATION")]
    pub file_timeout: Duration,

    /// Total bytes the file store may hold; an upload or copyOutCached past it fails clearly.
    #[arg(long = "file-store-bytes-max", env = "ES_FILE_STORE_BYTES_MAX", default_value = "1g",
          value_parser = parse_size, value_name = "SIZE")]
    pub file_store_bytes_max: u64,

    /// Comma-separated host directories "src" files must resolve under (default: any path).
    #[arg(long = "src-prefix", env = "ES_SRC_PREFIX", value_delimiter = ',', value_name = "DIRS")]
    pub src_prefix: Vec<PathBuf>,

    /// Default copyOutMax of commands that give none.
    #[arg(long = "copy-out-limit", env = "ES_COPY_OUT_LIMIT", default_value = "256m",
          value_parser = parse_size, value_name = "SIZE")]
    pub copy_out_limit: u64,

    /// Containers built at start and kept ready (default: the parallelism).
    #[arg(long = "pre-fork", env = "ES_PRE_FORK", value_name = "N")]
    pub pre_fork: Option<usize>,

    /// Most containers alive at once (default: 4 x the parallelism); past it /run waits, then 503.
    #[arg(long = "containers-max", env = "ES_CONTAINERS_MAX", value_name = "N")]
    pub containers_max: Option<usize>,

    /// Worker threads running judge jobs (default: the parallelism, like go-judge's workers).
    #[arg(long = "judge-workers", env = "ES_JUDGE_WORKERS", value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new()
              .range(1..=crate::limits::JUDGE_WORKERS_MAX as u64))]
    pub judge_workers: Option<usize>,

    /// Requests waiting for a worker; past it /run answers 503 "worker queue is full".
    #[arg(long = "worker-queue-max", env = "ES_WORKER_QUEUE_MAX",
          default_value_t = crate::limits::WORKER_QUEUE_DEFAULT, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new()
              .range(1..=crate::limits::WORKER_QUEUE_MAX as u64))]
    pub worker_queue_max: usize,

    /// Bytes of request bodies the judge's queued and running jobs may hold; past it /run and
    /// POST /file answer 503 "worker queue is full" (one body larger than it still runs alone).
    #[arg(long = "worker-queue-bytes-max", env = "ES_WORKER_QUEUE_BYTES_MAX",
          default_value = "512m", value_parser = parse_size, value_name = "SIZE")]
    pub worker_queue_bytes_max: u64,

    /// RLIMIT_FSIZE of every program.
    #[arg(long = "output-limit", env = "ES_OUTPUT_LIMIT", default_value = "256m",
          value_parser = parse_size, value_name = "SIZE")]
    pub output_limit: u64,

    /// RLIMIT_NOFILE of every program.
    #[arg(
        long = "open-file-limit",
        env = "ES_OPEN_FILE_LIMIT",
        default_value_t = 256,
        value_name = "N"
    )]
    pub open_file_limit: u64,

    /// tmpfs options of /w and /tmp in every container.
    #[arg(
        long = "tmp-fs-param",
        env = "ES_TMP_FS_PARAM",
        default_value = "size=128m,nr_inodes=4k",
        value_name = "OPTIONS"
    )]
    pub tmp_fs_param: String,

    /// Honour cpuRateLimit (cgroup CPU bandwidth).
    #[arg(long = "enable-cpu-rate", env = "ES_ENABLE_CPU_RATE", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_bool(), value_name = "BOOL")]
    pub enable_cpu_rate: bool,

    /// CFS period of cpuRateLimit.
    #[arg(long = "cpu-cfs-period", env = "ES_CPU_CFS_PERIOD", default_value = "100ms",
          value_parser = parse_duration, value_name = "DURATION")]
    pub cpu_cfs_period: Duration,

    /// Mount configuration file replacing the default container mounts.
    #[arg(long = "mount-conf", env = "ES_MOUNT_CONF", value_name = "FILE")]
    pub mount_conf: Option<PathBuf>,

    /// Added to every memoryLimit for the cgroup.
    #[arg(long = "extra-memory-limit", env = "ES_EXTRA_MEMORY_LIMIT", default_value = "16k",
          value_parser = parse_size, value_name = "SIZE")]
    pub extra_memory_limit: u64,

    /// Name of the cgroup directory created for the containers.
    #[arg(
        long = "cgroup-prefix",
        env = "ES_CGROUP_PREFIX",
        default_value = "shardbox",
        value_name = "NAME"
    )]
    pub cgroup_prefix: String,

    /// Refuse to start without cgroups instead of falling back to rlimits.
    #[arg(long = "no-fallback", env = "ES_NO_FALLBACK", num_args = 0..=1, require_equals = true,
          default_value = "false", default_missing_value = "true", value_parser = parse_bool(), value_name = "BOOL")]
    pub no_fallback: bool,

    /// First host uid of the range the containers map to.
    #[arg(long = "container-cred-start", env = "ES_CONTAINER_CRED_START", value_name = "UID")]
    pub container_cred_start: Option<u32>,

    /// Install the seccomp filter on programs (a deny-list of dangerous syscalls).
    #[arg(long = "seccomp", env = "ES_SECCOMP", num_args = 0..=1, require_equals = true,
          default_value = "true", default_missing_value = "true", value_parser = parse_bool(), value_name = "BOOL")]
    pub seccomp: bool,

    /// Accepted for go-judge compatibility and ignored: CPU time is checked by a timer armed
    /// for the moment the budget could run out, not by polling.
    #[arg(long = "time-limit-checker-interval", env = "ES_TIME_LIMIT_CHECKER_INTERVAL",
          value_parser = parse_duration, value_name = "DURATION", hide = true)]
    pub time_limit_checker_interval: Option<Duration>,
}

impl JudgeArgs {
    /// The container layer's configuration for a server with `parallelism` shards.
    pub fn sandbox_config(&self, parallelism: usize) -> SandboxConfig {
        let mut c = SandboxConfig::with_parallelism(parallelism);
        if let Some(n) = self.containers_max {
            c.containers_max = n;
        }
        c.pre_fork = self.pre_fork.unwrap_or(c.pre_fork).min(c.containers_max);
        c.mount_config = self.mount_conf.clone();
        c.tmp_fs_param = self.tmp_fs_param.clone();
        c.cgroup_prefix = self.cgroup_prefix.clone();
        c.no_fallback = self.no_fallback;
        if let Some(start) = self.container_cred_start {
            c.container_cred_start = start;
        }
        c.extra_memory_limit_bytes = self.extra_memory_limit;
        c.output_limit_bytes = self.output_limit;
        c.open_file_limit = self.open_file_limit;
        c.enable_cpu_rate = self.enable_cpu_rate;
        c.cpu_cfs_period_us = u64::try_from(self.cpu_cfs_period.as_micros()).unwrap_or(u64::MAX);
        c.seccomp = self.seccomp;
        c
    }

    /// Worker threads for a server with `parallelism` shards: `-judge-workers`, else the
    /// parallelism (go-judge's worker count), at least one.
    pub fn workers(&self, parallelism: usize) -> usize {
        self.judge_workers.unwrap_or(parallelism).max(1)
    }

    /// The file store's configuration.
    pub fn store_config(&self) -> FileStoreConfig {
        FileStoreConfig {
            dir: self.dir.clone(),
            ttl: (!self.file_timeout.is_zero()).then_some(self.file_timeout),
            bytes_max: self.file_store_bytes_max,
            ..FileStoreConfig::default()
        }
    }

    /// [`JudgeArgs::store_config`] for a process that may hold `fds` more descriptors: a memory
    /// store holds one memfd per file, so it holds at most that many files (and at least
    /// [`limits::FILE_STORE_FILES_MIN`]). Without this, a client that uploads empty files
    /// (nothing counts against the byte quota) runs the server out of descriptors: measured
    /// at a limit of 20 000, 20 000 uploads and every `/run` failed (`Too many open files`),
    /// containers could not be reset or replaced, until the files were deleted. A `-dir`
    /// store opens a file only while it is read.
    pub fn store_config_within(&self, fds: u64) -> FileStoreConfig {
        let mut c = self.store_config();
        if c.dir.is_none() {
            let room = usize::try_from(fds).unwrap_or(usize::MAX);
            let files_max = c.files_max.min(room).max(limits::FILE_STORE_FILES_MIN);
            if files_max < c.files_max {
                tracing::warn!(
                    files_max,
                    "RLIMIT_NOFILE bounds the memory file store (one descriptor per file)"
                );
            }
            c.files_max = files_max;
        }
        c
    }

    /// The request model's options.
    pub fn parse_options(&self) -> ParseOptions {
        ParseOptions { copy_out_bytes_default: self.copy_out_limit, ..ParseOptions::default() }
            .with_src_prefixes(
                self.src_prefix.iter().filter(|p| !p.as_os_str().is_empty()).cloned(),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_go_judge_spellings() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1234"), Ok(1234));
        assert_eq!(parse_size("16k"), Ok(16 << 10));
        assert_eq!(parse_size("256m"), Ok(256 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("2tb"), Ok(2 << 40));
        assert!(parse_size("").is_err());
        assert!(parse_size("m").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999t").is_err(), "overflow");
    }

    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        judge: JudgeArgs,
    }

    fn judge(args: &[&str]) -> JudgeArgs {
        use clap::Parser;
        let argv = std::iter::once("shardbox").chain(args.iter().copied());
        Flags::try_parse_from(argv).map(|f| f.judge).expect("valid flags")
    }

    #[test]
    fn pre_fork_defaults_to_the_parallelism() {
        let c = judge(&[]).sandbox_config(3);
        assert_eq!((c.pre_fork, c.containers_max), (3, 12));
        let c = judge(&["--pre-fork", "1"]).sandbox_config(3);
        assert_eq!(c.pre_fork, 1);
        let c = judge(&["--pre-fork", "0"]).sandbox_config(3);
        assert_eq!(c.pre_fork, 0, "no containers built ahead: each run builds one");
        // Never more pre-forked than may ever be alive.
        let c = judge(&["--pre-fork", "9", "--containers-max", "5"]).sandbox_config(3);
        assert_eq!((c.pre_fork, c.containers_max), (5, 5));
        let c = judge(&["--containers-max", "2"]).sandbox_config(3);
        assert_eq!((c.pre_fork, c.containers_max), (2, 2));
    }

    #[test]
    fn judge_workers_default_to_the_parallelism() {
        assert_eq!(judge(&[]).workers(3), 3);
        assert_eq!(judge(&["--judge-workers", "5"]).workers(3), 5);
        assert_eq!(judge(&[]).workers(0), 1, "at least one");
        use clap::Parser;
        let max = crate::limits::JUDGE_WORKERS_MAX.to_string();
        let over = (crate::limits::JUDGE_WORKERS_MAX + 1).to_string();
        assert_eq!(judge(&["--judge-workers", &max]).workers(1), crate::limits::JUDGE_WORKERS_MAX);
        for bad in ["0", over.as_str(), "-1", "x"] {
            assert!(Flags::try_parse_from(["shardbox", "--judge-workers", bad]).is_err(), "{bad}");
        }
        assert!(Flags::try_parse_from(["shardbox", "--worker-queue-max", "0"]).is_err());
    }

    #[test]
    fn a_memory_store_fits_the_descriptors_left() {
        let max = shardbox_sandbox::limits::FILE_STORE_FILES_MAX;
        let min = limits::FILE_STORE_FILES_MIN;
        let files = |fds: u64| judge(&[]).store_config_within(fds).files_max;
        assert_eq!(files(0), min, "never fewer than the floor");
        assert_eq!(files(min as u64 + 1), min + 1);
        assert_eq!(files(max as u64 - 1), max - 1);
        assert_eq!(files(max as u64), max);
        assert_eq!(files(u64::MAX), max);
        let on_disk = judge(&["--dir", "/nonexistent"]).store_config_within(0);
        assert_eq!(on_disk.files_max, max, "a disk store holds no descriptor per file");
    }

    #[test]
    fn flags_reach_the_sandbox_store_and_model() {
        let j = judge(&[
            "--output-limit",
            "1m",
            "--open-file-limit",
            "64",
            "--extra-memory-limit",
            "32k",
            "--enable-cpu-rate",
            "--cpu-cfs-period",
            "50ms",
            "--file-timeout",
            "2s",
            "--file-store-bytes-max",
            "10m",
            "--copy-out-limit",
            "4k",
            "--no-fallback",
            "--seccomp=false",
        ]);
        let c = j.sandbox_config(1);
        assert_eq!((c.output_limit_bytes, c.open_file_limit), (1 << 20, 64));
        assert_eq!((c.extra_memory_limit_bytes, c.cpu_cfs_period_us), (32 << 10, 50_000));
        assert!(c.enable_cpu_rate && c.no_fallback && !c.seccomp);
        let s = j.store_config();
        assert_eq!((s.ttl, s.bytes_max), (Some(Duration::from_secs(2)), 10 << 20));
        assert_eq!(judge(&[]).store_config().ttl, None, "0 means no TTL");
        assert_eq!(j.parse_options().copy_out_bytes_default, 4 << 10);
    }
}
