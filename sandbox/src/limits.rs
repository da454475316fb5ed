//! Named limits of the sandbox crate (STYLE.md §9), with their relations asserted at compile time.
//!
//! Container layer (zygote, init, protocol, cgroups, pool). Every count or size that crosses the
//! host↔container socket or comes from configuration is bounded here, and checked before anything
//! is allocated for it. This module holds constants only; it does not enforce them.

/// Largest message on a control socket (host↔container init, host↔zygote), in bytes.
/// A SOCK_SEQPACKET datagram larger than this is rejected by the decoder (`MSG_TRUNC` is checked).
pub const MSG_BYTES_MAX: usize = 64 * 1024;

/// Largest number of fds carried by one message (SCM_RIGHTS), and so the largest fd table a
/// program can be given (`files` in go-judge, fd 0..n-1).
pub const MSG_FDS_MAX: usize = 64;

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

/// Shortest interval between two CPU-time checks of a running program, in nanoseconds. The check
/// timer is armed for when the remaining budget could run out; this floor stops it from spinning
/// when the remainder is tiny. It bounds the detection delay of a CPU-time limit.
pub const CPU_CHECK_INTERVAL_NS_MIN: u64 = 1_000_000;

/// Longest time the host waits for a container init to answer a command that does not run a
/// program (open, symlink, reset, ping), in milliseconds. A container that does not answer in
/// time is dead.
pub const REPLY_WAIT_MS_MAX: u64 = 10_000;

/// Longest time the host waits for the outcome after it asked the init to kill a program, in
/// milliseconds. Past it the container is destroyed.
pub const KILL_WAIT_MS_MAX: u64 = 5_000;

/// Largest number of times the reaper re-sends `kill(-1, SIGKILL)` while processes keep appearing
/// (a fork bomb racing the kill). Past it the container is destroyed.
pub const KILL_ROUNDS_MAX: usize = 1024;

/// Largest number of bytes read from one cgroup control file.
pub const CGROUP_FILE_BYTES_MAX: usize = 4096;

/// Smallest memory limit the cgroup accepts from us, in bytes (a program cannot start below it).
pub const MEMORY_LIMIT_BYTES_MIN: u64 = 4096;

/// Largest number of tries to exec a program that fails with ETXTBSY (a copied-in binary whose
/// writer has not closed it yet), one millisecond apart.
pub const EXEC_ETXTBSY_RETRIES_MAX: u32 = 50;

const _: () = assert!(MSG_FDS_MAX <= 253, "SCM_RIGHTS carries at most 253 fds (SCM_MAX_FD)");
const _: () = assert!(PATH_BYTES_MAX < MSG_BYTES_MAX);
const _: () = assert!(MOUNT_CONFIG_BYTES_MAX <= MSG_BYTES_MAX);
const _: () = assert!(MOUNTS_COUNT_MAX * 16 < MSG_BYTES_MAX);
const _: () =
    assert!(CPU_CHECK_INTERVAL_NS_MIN <= 10_000_000, "the promise is detection within 10 ms");
const _: () = assert!(KILL_WAIT_MS_MAX <= REPLY_WAIT_MS_MAX);
const _: () = assert!(WIPE_DEPTH_MAX <= WIPE_ENTRIES_MAX);
