//! Raw Linux syscalls of the container layer, each wrapped once (STYLE.md §6).
//!
//! This is the only place of the crate that names `libc::`. Wrappers turn `-1`/errno into
//! `io::Error`, take `BorrowedFd` and return `OwnedFd`. Submodules: [`proc`] (clone3, credentials,
//! capabilities, rlimits, exec, signals), [`fs`] (mount, pivot_root, openat2, fstat) and [`sock`]
//! (SOCK_SEQPACKET with SCM_RIGHTS, poll, timerfd, eventfd).
//!
//! It does not decide anything: callers (`init`, `zygote`, `container`) own the order of steps.

pub mod fs;
pub mod proc;
pub mod sock;

use std::ffi::CString;
use std::io;

/// Turns a `-1` return into the thread's errno.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// Same for `ssize_t` and `long` returns.
fn cvt_long(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret == -1 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// A path as a C string; an interior NUL is `EINVAL`.
pub fn cstr(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// errno values the callers match on (kept here so nothing else names `libc::`).
pub mod errno {
    /// Invalid argument.
    pub const EINVAL: i32 = libc::EINVAL;
    /// Text file busy.
    pub const ETXTBSY: i32 = libc::ETXTBSY;
    /// No child processes.
    pub const ECHILD: i32 = libc::ECHILD;
    /// Busy.
    pub const EBUSY: i32 = libc::EBUSY;
    /// No such process.
    pub const ESRCH: i32 = libc::ESRCH;
    /// Bad message (protocol).
    pub const EBADMSG: i32 = libc::EBADMSG;
    /// Function not implemented.
    pub const ENOSYS: i32 = libc::ENOSYS;
    /// Is a directory.
    pub const EISDIR: i32 = libc::EISDIR;
    /// No such device or address (opening a fifo without reader non-blocking, or a socket).
    pub const ENXIO: i32 = libc::ENXIO;
    /// Address family not supported by protocol.
    pub const EAFNOSUPPORT: i32 = libc::EAFNOSUPPORT;
}

/// Signal numbers the callers need.
pub mod signal {
    /// SIGKILL.
    pub const SIGKILL: i32 = libc::SIGKILL;
    /// SIGXCPU (RLIMIT_CPU).
    pub const SIGXCPU: i32 = libc::SIGXCPU;
}

/// `RLIMIT_*` resource numbers.
pub mod rlimit {
    /// CPU seconds.
    pub const CPU: u32 = libc::RLIMIT_CPU;
    /// Largest file size.
    pub const FSIZE: u32 = libc::RLIMIT_FSIZE;
    /// Open files.
    pub const NOFILE: u32 = libc::RLIMIT_NOFILE;
    /// Stack size.
    pub const STACK: u32 = libc::RLIMIT_STACK;
    /// Core file size.
    pub const CORE: u32 = libc::RLIMIT_CORE;
    /// Data segment.
    pub const DATA: u32 = libc::RLIMIT_DATA;
    /// Address space.
    pub const AS: u32 = libc::RLIMIT_AS;
    /// Processes per real uid.
    pub const NPROC: u32 = libc::RLIMIT_NPROC;
}

/// `CLOCK_MONOTONIC` in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    timespec_ns(&ts)
}

fn timespec_ns(ts: &libc::timespec) -> u64 {
    let s = u64::try_from(ts.tv_sec).unwrap_or(0);
    let n = u64::try_from(ts.tv_nsec).unwrap_or(0);
    s.saturating_mul(1_000_000_000).saturating_add(n)
}

fn timeval_ns(tv: &libc::timeval) -> u64 {
    let s = u64::try_from(tv.tv_sec).unwrap_or(0);
    let us = u64::try_from(tv.tv_usec).unwrap_or(0);
    s.saturating_mul(1_000_000_000).saturating_add(us.saturating_mul(1000))
}

/// The errno of an `io::Error` (0 when it has none).
pub fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// `strerror`-like text for an errno, via `io::Error`.
pub fn errno_text(errno: i32) -> String {
    io::Error::from_raw_os_error(errno).to_string()
}

/// Number of the last capability of this kernel (`/proc/sys/kernel/cap_last_cap`), or 63.
pub fn cap_last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63)
}

/// Syscalls the default seccomp filter kills the process for (x86-64 numbers from libc), by name.
pub const DENIED_SYSCALLS: &[(&str, i64)] = &[
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("fsopen", libc::SYS_fsopen),
    ("fsconfig", libc::SYS_fsconfig),
    ("fsmount", libc::SYS_fsmount),
    ("fspick", libc::SYS_fspick),
    ("move_mount", libc::SYS_move_mount),
    ("open_tree", libc::SYS_open_tree),
    ("mount_setattr", libc::SYS_mount_setattr),
    ("pivot_root", libc::SYS_pivot_root),
    ("chroot", libc::SYS_chroot),
    ("ptrace", libc::SYS_ptrace),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("kcmp", libc::SYS_kcmp),
    ("pidfd_getfd", libc::SYS_pidfd_getfd),
    ("kexec_load", libc::SYS_kexec_load),
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("bpf", libc::SYS_bpf),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("unshare", libc::SYS_unshare),
    ("setns", libc::SYS_setns),
    ("io_uring_setup", libc::SYS_io_uring_setup),
    ("io_uring_enter", libc::SYS_io_uring_enter),
    ("io_uring_register", libc::SYS_io_uring_register),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("reboot", libc::SYS_reboot),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("quotactl", libc::SYS_quotactl),
    ("quotactl_fd", libc::SYS_quotactl_fd),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("name_to_handle_at", libc::SYS_name_to_handle_at),
    ("acct", libc::SYS_acct),
    ("settimeofday", libc::SYS_settimeofday),
    ("clock_settime", libc::SYS_clock_settime),
    ("clock_adjtime", libc::SYS_clock_adjtime),
    ("adjtimex", libc::SYS_adjtimex),
    ("sethostname", libc::SYS_sethostname),
    ("setdomainname", libc::SYS_setdomainname),
    ("syslog", libc::SYS_syslog),
    ("vhangup", libc::SYS_vhangup),
    ("iopl", libc::SYS_iopl),
    ("ioperm", libc::SYS_ioperm),
    ("lookup_dcookie", libc::SYS_lookup_dcookie),
    ("fanotify_init", libc::SYS_fanotify_init),
    ("uselib", libc::SYS_uselib),
    ("move_pages", libc::SYS_move_pages),
    ("migrate_pages", libc::SYS_migrate_pages),
    // Found missing in review: the LDT (kernel bugs, Docker denies it; no 64-bit contest
    // program needs it) and open_tree with mount attributes (Linux 6.15; not in libc 0.2.191).
    ("modify_ldt", libc::SYS_modify_ldt),
    ("open_tree_attr", 467),
];

/// `clone` (its first argument holds the flags on x86-64).
pub const SYS_CLONE: i64 = libc::SYS_clone;
/// `clone3` (arguments in memory: a filter cannot inspect them, so it answers ENOSYS and libc
/// falls back to `clone`).
pub const SYS_CLONE3: i64 = libc::SYS_clone3;
/// `socket`.
pub const SYS_SOCKET: i64 = libc::SYS_socket;
/// Socket families programs may create: those a network namespace confines. Everything else
/// (AF_VSOCK above all: not namespaced, it reaches the hypervisor host; AF_PACKET, AF_ALG,
/// AF_BLUETOOTH, ...) is `EAFNOSUPPORT`.
pub const SOCKET_FAMILIES_ALLOWED: &[u32] =
    &[libc::AF_UNIX as u32, libc::AF_INET as u32, libc::AF_INET6 as u32, libc::AF_NETLINK as u32];
/// Namespace flags a program may not pass to `clone`.
pub const CLONE_NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWCGROUP as u64,
];
/// Bit 30 of a syscall number selects the x32 ABI on x86-64 (same audit arch).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// `SECCOMP_RET_KILL_PROCESS`.
pub const SECCOMP_RET_KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
