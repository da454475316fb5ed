//! Named limits of the sandbox crate (STYLE.md §9), with their relations asserted at compile time.
//!
//! Two groups. Container layer (zygote, init, protocol, cgroups, pool): every count or size that
//! crosses the host↔container socket or comes from configuration. Judge layer (request model,
//! run orchestration, file store): everything a `POST /run` body can ask for, checked before any
//! of it is spent; a request over one of them is rejected with a typed error naming the limit
//! (`model::RequestError::LimitExceeded`, HTTP 400). go-judge has none of the judge limits; each
//! is set far above what a judge client sends (`docs/compatibility.md`). This module holds
//! constants only; it does not enforce them.

/// Largest message on a control socket (host↔container init, host↔zygote), in bytes.
/// A SOCK_SEQPACKET datagram larger than this is rejected by the decoder (`MSG_TRUNC` is checked).
pub const MSG_BYTES_MAX: usize = 64 * 1024;

/// Largest number of fds carried by one message (SCM_RIGHTS), and so the largest fd table a
/// program can be given (`files` in go-judge, fd 0..n-1).
pub const MSG_FDS_MAX: usize = 64;

/// Highest fd number (exclusive) marked close-on-exec one by one where the kernel lacks
/// `CLOSE_RANGE_CLOEXEC` (before 5.11; the lower of this and RLIMIT_NOFILE's soft limit). A
/// program's child holds the init's few fds plus at most [`MSG_FDS_MAX`] dups just above its
/// fd table, all allocated lowest-first, so its fds sit far below this.
pub const CLOEXEC_LOOP_FDS_MAX: u32 = 4096;

/// Largest number of argv entries of one program.
pub const ARGS_COUNT_MAX: usize = 4096;

/// Largest number of environment entries of one program.
pub const ENV_COUNT_MAX: usize = 4096;

/// Largest path (container path, symlink target, mount source or target), in bytes.
pub const PATH_BYTES_MAX: usize = 4095;

/// Largest number of rlimits set on one program (there are 16 resources on Linux).
pub const RLIMITS_COUNT_MAX: usize = 16;

/// Largest number of mount entries in a mount plan (default list plus a mount config file).
pub const MOUNTS_COUNT_MAX: usize = 256;

/// Largest mount config file, in bytes (read as `max + 1` and rejected when longer).
pub const MOUNT_CONFIG_BYTES_MAX: usize = 64 * 1024;

/// Largest host name or domain name given to a container (the kernel's `__NEW_UTS_LEN`).
pub const HOST_NAME_BYTES_MAX: usize = 64;

/// Largest number of containers one pool may hold (idle + in use).
pub const POOL_CONTAINERS_MAX: usize = 4096;

/// Largest number of entries the reset removes one by one from `/w` or `/tmp` before it gives up
/// and mounts a fresh tmpfs instead (which is O(1) in the number of files).
pub const WIPE_ENTRIES_MAX: usize = 256;

/// Largest directory depth the reset walks before it falls back to a fresh tmpfs.
pub const WIPE_DEPTH_MAX: usize = 16;

/// Largest list of extended-attribute names (NUL-separated) the reset reads from the root of a
/// tmpfs to remove them one by one, in bytes; a longer list makes it mount a fresh tmpfs
/// instead. A stack buffer of this size is read on every reset.
pub const XATTR_NAMES_BYTES_MAX: usize = 256;

/// Shortest interval between two CPU-time checks of a running program, in nanoseconds. The check
/// timer is armed for when the remaining budget could run out; this floor stops it from spinning
/// when the remainder is tiny. It bounds the detection delay of a CPU-time limit.
pub const CPU_CHECK_INTERVAL_NS_MIN: u64 = 1_000_000;

/// Longest time the host waits for a container init to answer a command that does not run a
/// program (open, symlink, reset, ping), in milliseconds. A container that does not answer in
/// time is dead.
pub const REPLY_WAIT_MS_MAX: u64 = 10_000;

/// Most `OpenWrite` requests the host sends to an init before reading their replies
/// (`Container::open_write_batch`): one wake-up of the init serves them all. Bounded so the
/// requests (each at most a path) and the replies always fit the socket buffers and neither
/// side can block the other.
pub const OPEN_WRITE_BATCH_MAX: usize = 8;

/// Longest time a reset waits for the kernel's unix-socket garbage collector (a work queue) to
/// free the sockets the last run left in flight (`SCM_RIGHTS` cycles outlive every process), in
/// milliseconds. Past it the reset fails and the container is destroyed (its net namespace with
/// it), so the next run never finds them.
pub const UNIX_GC_WAIT_MS_MAX: u64 = 1_000;

/// Longest time the host waits for the outcome after it asked the init to kill a program, in
/// milliseconds. Past it the container is destroyed.
pub const KILL_WAIT_MS_MAX: u64 = 5_000;

/// Largest number of times the reaper re-sends `kill(-1, SIGKILL)` while processes keep appearing
/// (a fork bomb racing the kill). Past it the container is destroyed.
pub const KILL_ROUNDS_MAX: usize = 1024;

/// Largest number of bytes read from one cgroup control file.
pub const CGROUP_FILE_BYTES_MAX: usize = 4096;
/// Passes over our own v2 cgroup's `cgroup.procs` when moving its processes to a leaf (a
/// process forked meanwhile needs another pass; one still there makes enabling controllers
/// fail with a clear error, and the pool falls back to rlimits).
pub const CGROUP_VACATE_ROUNDS_MAX: usize = 4;

/// Every how many calls `Cgroup::is_empty_quick` (the pool's per-run emptiness checks) reads
/// every hierarchy's `cgroup.procs` instead of the two files that cover a container's processes
/// (defence in depth, amortised: five opens per this many checks).
pub const CGROUP_FULL_CHECK_EVERY: u32 = 64;

/// Smallest memory limit the cgroup accepts from us, in bytes (a program cannot start below it).
pub const MEMORY_LIMIT_BYTES_MIN: u64 = 4096;

/// Largest number of tries to exec a program that fails with ETXTBSY (a copied-in binary whose
/// writer has not closed it yet), one millisecond apart.
pub const EXEC_ETXTBSY_RETRIES_MAX: u32 = 50;

/// Stack of a program's child between its spawn and `execve`, in bytes (`init::exec_child` runs
/// on it in the init's memory; it needs a few KiB, debug builds more). Mapped once per container
/// with a guard page below; only the pages touched are ever allocated.
pub const CHILD_STACK_BYTES: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Judge layer.

/// Largest `POST /run` body the model parses, in bytes (the engine's `-body-bytes-max`, 64 MiB by
/// default, applies first). It also bounds the sum of every `content` of a request.
pub const REQUEST_BYTES_MAX: usize = 256 << 20;

/// Deepest nesting of arrays and objects in a `POST /run` body. The schema needs 5 levels; the
/// bound stops a body of nested brackets from exhausting the parser's stack (sonic-rs recurses;
/// go-judge's Go decoder allows 10 000).
pub const JSON_DEPTH_MAX: usize = 32;

/// Most commands (`cmd` entries) in one request; each one takes a container.
pub const CMDS_MAX: usize = 64;

/// Most argv entries of one command.
pub const ARGS_MAX: usize = ARGS_COUNT_MAX;

/// Most environment entries of one command.
pub const ENVS_MAX: usize = ENV_COUNT_MAX;

/// Most bytes of argv plus environment of one command, each string counted with
/// [`ARGV_ENV_ENTRY_OVERHEAD_BYTES`] more (as the kernel counts its NUL and pointer). The whole
/// exec request must fit one control-socket message ([`MSG_BYTES_MAX`]).
pub const ARGV_ENV_BYTES_MAX: usize = 56 * 1024;

/// What each argv or environment string costs on top of its bytes in [`ARGV_ENV_BYTES_MAX`].
pub const ARGV_ENV_ENTRY_OVERHEAD_BYTES: usize = 8;

/// Most entries in a command's `files` (the child's fds `0..FILES_MAX`), mapped fds included:
/// every fd travels in one message.
pub const FILES_MAX: usize = MSG_FDS_MAX;

/// Most `copyIn` entries of one command (files plus symlinks).
pub const COPY_IN_MAX: usize = 4096;

/// Most `copyOut` plus `copyOutCached` entries of one command.
pub const COPY_OUT_MAX: usize = 4096;

/// Most `pipeMapping` entries of one request.
pub const PIPE_MAPPINGS_MAX: usize = 256;

/// Longest collector or pipe-capture name, in bytes (one path component, Linux `NAME_MAX`).
pub const NAME_BYTES_MAX: usize = 255;

/// Longest `requestId` and `cpuSetLimit`, in bytes.
pub const TAG_BYTES_MAX: usize = 4096;

/// Default per-file copy-out cap when a command sets no `copyOutMax`, bytes (go-judge's
/// `-copy-out-limit` default, 256 MiB).
pub const COPY_OUT_BYTES_DEFAULT: u64 = 256 << 20;

/// Default total bytes the file store may hold before an add fails with a quota error
/// (`-file-store-bytes-max`).
pub const FILE_STORE_BYTES_DEFAULT: u64 = 1 << 30;

/// Most files the file store holds at once.
pub const FILE_STORE_FILES_MAX: usize = 1 << 16;

/// Most random ids drawn for one file store add before it gives up (40 random bits against at
/// most `FILE_STORE_FILES_MAX` entries: a second draw is already rare).
pub const FILE_ID_TRIES_MAX: usize = 8;

/// Longest original file name kept by the file store, in bytes.
pub const FILE_NAME_BYTES_MAX: usize = 255;

/// Longest time a run waits for containers when the pool is at its cap, in milliseconds; past
/// it the request fails with `PoolError::Exhausted` (HTTP 503).
pub const POOL_WAIT_MS_MAX: u64 = 10_000;

/// Largest `procLimit` passed to the cgroup (`pids.max` refuses more than the kernel's
/// `PID_MAX_LIMIT`); larger requests are clamped to it.
pub const PROCS_LIMIT_MAX: u64 = 4 * 1024 * 1024;

/// Largest `cpuRateLimit` passed on (1000 = one CPU; 1024 CPUs); larger requests are clamped.
pub const CPU_RATE_LIMIT_MAX: u64 = 1024 * 1000;

/// Bytes one relay or collector thread moves per read (proxy pipes, `pipe: true` collectors).
pub const RELAY_CHUNK_BYTES: usize = 64 * 1024;

const _: () = assert!(
    ARGV_ENV_BYTES_MAX + FILES_MAX + RLIMITS_COUNT_MAX * 12 + 64 <= MSG_BYTES_MAX,
    "argv, env, fd slots and rlimits of one exec fit one control message"
);
const _: () = assert!(CLOEXEC_LOOP_FDS_MAX as usize > 4 * MSG_FDS_MAX, "room above the fd table");
const _: () = assert!(JSON_DEPTH_MAX >= 8, "the request schema nests 5 levels deep");
const _: () = assert!(ARGV_ENV_ENTRY_OVERHEAD_BYTES >= 4, "covers the 4-byte length prefix");
const _: () = assert!(ARGV_ENV_BYTES_MAX <= REQUEST_BYTES_MAX);
const _: () = assert!(
    ARGV_ENV_BYTES_MAX < 128 * 1024,
    "below the kernel's least argv+env limit (ARG_MAX, 32 pages), so execve's E2BIG means its \
     pages could not be charged (run::start_out_of_memory), never that argv is too long"
);
const _: () = assert!(NAME_BYTES_MAX <= PATH_BYTES_MAX);
const _: () = assert!(
    OPEN_WRITE_BATCH_MAX * (PATH_BYTES_MAX + 64) <= 64 * 1024,
    "a batch of opens fits well inside a unix socket's default 208 KiB buffer"
);
const _: () = assert!(OPEN_WRITE_BATCH_MAX >= 1);
const _: () = assert!(CGROUP_FULL_CHECK_EVERY >= 1);
const _: () = assert!(FILES_MAX >= 3, "stdin, stdout and stderr must fit");
const _: () = assert!(CMDS_MAX >= 2, "an interactive judge needs two commands");
const _: () = assert!(
    PIPE_MAPPINGS_MAX <= CMDS_MAX * FILES_MAX / 2,
    "every mapping takes two fd slots, so a larger limit could never be reached"
);
const _: () = assert!(FILE_NAME_BYTES_MAX <= PATH_BYTES_MAX);

const _: () = assert!(MSG_FDS_MAX <= 253, "SCM_RIGHTS carries at most 253 fds (SCM_MAX_FD)");
const _: () = assert!(PATH_BYTES_MAX < MSG_BYTES_MAX);
const _: () = assert!(MOUNT_CONFIG_BYTES_MAX <= MSG_BYTES_MAX);
const _: () = assert!(MOUNTS_COUNT_MAX * 16 < MSG_BYTES_MAX);
const _: () =
    assert!(CPU_CHECK_INTERVAL_NS_MIN <= 10_000_000, "the promise is detection within 10 ms");
const _: () = assert!(KILL_WAIT_MS_MAX <= REPLY_WAIT_MS_MAX);
const _: () = assert!(WIPE_DEPTH_MAX <= WIPE_ENTRIES_MAX);
const _: () = assert!(UNIX_GC_WAIT_MS_MAX < REPLY_WAIT_MS_MAX, "a reset answers in time");
