//! Process syscalls: clone3 with namespaces and a pidfd, the vfork-style spawn of programs
//! ([`spawn_vfork`] on a [`ChildStack`]), credentials, capabilities, rlimits, exec, signals, wait.
//!
//! The fork-like calls are `unsafe fn`s: they are sound only in a single-threaded process (the
//! zygote and the container init are). Everything else is a safe wrapper.

use std::ffi::{CStr, CString, c_char};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::{cvt, cvt_long, timeval_ns};
use crate::protocol::WaitStatus;

/// Namespace flags for a container init.
pub const CONTAINER_NAMESPACES: u64 = (libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWNET) as u64;

/// `struct clone_args` of `clone3(2)` (size version 2, 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Which side of a clone we are on.
#[derive(Debug)]
pub enum Forked {
    /// The new process.
    Child,
    /// The caller; `pid` is in the caller's pid namespace.
    Parent {
        /// Child pid.
        pid: i32,
        /// pidfd of the child (`CLONE_PIDFD`).
        pidfd: OwnedFd,
    },
}

/// `clone3(flags | CLONE_PIDFD)` like `fork`, with `SIGCHLD` as exit signal.
///
/// # Safety
///
/// The calling process must be single-threaded: the child is a copy of the calling thread only,
/// so a lock held by another thread (the allocator's, stdio's) would stay locked in it forever.
pub unsafe fn clone3(ns_flags: u64) -> io::Result<Forked> {
    let mut pidfd: RawFd = -1;
    let args = CloneArgs {
        flags: ns_flags | libc::CLONE_PIDFD as u64,
        pidfd: std::ptr::addr_of_mut!(pidfd) as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    // SAFETY: `args` is a valid clone_args of the size passed and `pidfd` outlives the call; no
    // stack is given, so the child runs on a copy of this stack like after fork(), which the
    // caller guarantees is sound (single-threaded process).
    let ret = unsafe {
        libc::syscall(libc::SYS_clone3, std::ptr::addr_of!(args), std::mem::size_of::<CloneArgs>())
    };
    match cvt_long(ret)? {
        0 => Ok(Forked::Child),
        pid => {
            // SAFETY: CLONE_PIDFD made the kernel store a fresh fd we now own.
            let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
            Ok(Forked::Parent { pid: i32::try_from(pid).unwrap_or(i32::MAX), pidfd })
        }
    }
}

/// A stack for [`spawn_vfork`] children: mapped once, reused by every spawn (the caller is
/// suspended while a child runs on it), with an inaccessible guard page below it so an overflow
/// faults instead of writing into the caller's memory.
pub struct ChildStack {
    /// Start of the mapping (the guard page); `len` bytes, mapped by `new`, unmapped by drop.
    base: *mut libc::c_void,
    len: usize,
}

impl ChildStack {
    /// Maps `bytes` of stack (rounded up to pages) plus one guard page.
    pub fn new(bytes: usize) -> io::Result<Self> {
        let page = 4096usize;
        let len = bytes.div_ceil(page).saturating_add(1).saturating_mul(page);
        // SAFETY: an anonymous private mapping at an address the kernel picks; no memory of
        // ours is touched.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = ChildStack { base, len };
        // SAFETY: the first page lies inside the mapping made above, which nothing uses yet.
        cvt(unsafe { libc::mprotect(stack.base, page, libc::PROT_NONE) })?;
        Ok(stack)
    }

    /// One past the highest byte (stacks grow down on x86-64), 16-byte aligned.
    fn top(&self) -> *mut libc::c_void {
        // `len` is a multiple of the page size, so base + len is page (and 16-byte) aligned.
        self.base.cast::<u8>().wrapping_add(self.len).cast()
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` describe the mapping made by `new`; no child runs on it now
        // (spawn_vfork returns only after its child has exec'd or exited).
        unsafe { libc::munmap(self.base, self.len) };
    }
}

extern "C" fn vfork_entry<F: Fn()>(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `&F` spawn_vfork passed to clone; the caller is suspended inside
    // clone (CLONE_VFORK) until this child execs or exits, so the reference stays valid.
    let f = unsafe { &*arg.cast_const().cast::<F>() };
    f();
    exit_now(127)
}

/// Starts `child` in a new process that shares this one's memory until it execs or exits
/// (`clone(CLONE_VM | CLONE_VFORK | SIGCHLD)` on `stack`, as `posix_spawn` does): no page
/// tables are copied and none torn down. Returns its pid once it has exec'd or begun to exit;
/// `child` must end in `execve` or `_exit` (if it returns, the child `_exit`s with 127). "Begun":
/// the kernel resumes the caller when the child lets go of the shared memory (`exit_mm`, early
/// in `do_exit`), so the child may still be in its cgroup and not yet waitable: a `WNOHANG`
/// wait can miss it; [`reap`] waits for it. With
/// `share_fd_table` the child also shares the fd table (`CLONE_FILES`): an fd it opens is the
/// caller's.
///
/// # Safety
///
/// The caller must be single-threaded and install no signal handlers (a handler would run on
/// the shared memory in the child). `child` runs in the caller's memory on a small stack: it may
/// only make raw syscalls and write through atomics; it must not allocate, unwind, take a lock
/// or touch the caller's stack other than through what it captured.
pub unsafe fn spawn_vfork<F: Fn()>(
    stack: &mut ChildStack,
    child: &F,
    share_fd_table: bool,
) -> io::Result<i32> {
    let files = if share_fd_table { libc::CLONE_FILES } else { 0 };
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | files | libc::SIGCHLD;
    let arg: *const F = child;
    // SAFETY: `stack.top()` is the top of a live mapping this exclusive borrow keeps unused by
    // anything else; `vfork_entry::<F>` receives `arg`, a `&F` valid until clone returns (the
    // caller is suspended until then); the child never returns into this frame (it runs on
    // its own stack and ends in execve or _exit).
    let pid = unsafe { libc::clone(vfork_entry::<F>, stack.top(), flags, arg.cast_mut().cast()) };
    cvt(pid)
}

/// `_exit(code)`: leaves without running destructors or atexit handlers (after a fork).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(code) }
}

/// `setgroups(0)`, `setresgid(gid)`, `setresuid(uid)`.
pub fn set_ids(uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: an empty list with a null pointer is valid for setgroups.
    cvt(unsafe { libc::setgroups(0, std::ptr::null()) })?;
    // SAFETY: no memory arguments.
    cvt(unsafe { libc::setresgid(gid, gid, gid) })?;
    // SAFETY: no memory arguments.
    cvt(unsafe { libc::setresuid(uid, uid, uid) })?;
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Drops every capability from the bounding set (needs CAP_SETPCAP: call before giving up
/// root).
pub fn drop_bounding_set(cap_last: u32) -> io::Result<()> {
    for cap in 0..=cap_last {
        // SAFETY: no memory arguments.
        let ret = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
        if ret == -1 {
            let e = io::Error::last_os_error();
            // EINVAL: this kernel has fewer capabilities than cap_last says.
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Clears the ambient set, then effective/permitted/inheritable (lowering is always allowed).
pub fn clear_capabilities() -> io::Result<()> {
    // SAFETY: no memory arguments.
    cvt(unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) })?;
    let mut header = CapHeader { version: 0x2008_0522, pid: 0 }; // _LINUX_CAPABILITY_VERSION_3
    let data = [CapData::default(); 2];
    // SAFETY: header and the two v3 data slots are valid for the duration of the call.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    cvt_long(ret)?;
    Ok(())
}

/// `close(fd)` of a raw number (in a child, for fd slots the program must not have).
pub fn close_raw(fd: RawFd) {
    // SAFETY: after a fork the child owns its fd table; closing a number nothing else in this
    // process will use is sound (EBADF is ignored).
    unsafe { libc::close(fd) };
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
pub fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: no memory arguments.
    cvt(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })?;
    Ok(())
}

/// `setrlimit(resource, {value, value})`.
pub fn set_rlimit(resource: u32, value: u64) -> io::Result<()> {
    let lim = libc::rlimit { rlim_cur: value, rlim_max: value };
    // SAFETY: `lim` is a valid rlimit; an unknown resource is EINVAL.
    cvt(unsafe { libc::setrlimit(resource as _, &lim) })?;
    Ok(())
}

/// `setpgid(0, 0)`: the caller leads a new process group in its session.
pub fn new_process_group() -> io::Result<()> {
    // SAFETY: no memory arguments.
    cvt(unsafe { libc::setpgid(0, 0) })?;
    Ok(())
}

/// `setsid()`.
pub fn setsid() -> io::Result<()> {
    // SAFETY: no arguments.
    cvt(unsafe { libc::setsid() })?;
    Ok(())
}

/// `unshare(CLONE_NEWCGROUP)`: the caller's current cgroups become the root of its view
/// (`/proc/self/cgroup` reads `/`). Needs `CAP_SYS_ADMIN` in its user namespace.
pub fn unshare_cgroup_ns() -> io::Result<()> {
    // SAFETY: a flag argument only, no memory.
    cvt(unsafe { libc::unshare(libc::CLONE_NEWCGROUP) })?;
    Ok(())
}

/// Opens `/proc/self/ns/cgroup` and returns the raw number: for a `spawn_vfork` child sharing
/// its parent's fd table, which takes ownership once the child is gone.
pub fn open_own_cgroup_ns_raw() -> io::Result<RawFd> {
    let path = c"/proc/self/ns/cgroup";
    // SAFETY: `path` is a valid C string; the new fd is returned, not wrapped.
    cvt(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })
}

/// `setns(fd, CLONE_NEWCGROUP)`: the caller (and every child it makes afterwards) sees the
/// cgroups from that namespace's root. Needs `CAP_SYS_ADMIN` in its user namespace.
pub fn enter_cgroup_ns(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: no memory arguments; `fd` is open for the call.
    cvt(unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWCGROUP) })?;
    Ok(())
}

/// `umask(0)`.
pub fn umask_zero() {
    // SAFETY: no memory arguments; cannot fail.
    unsafe { libc::umask(0) };
}

/// `chdir(path)`.
pub fn chdir(path: &CStr) -> io::Result<()> {
    // SAFETY: `path` is a valid C string.
    cvt(unsafe { libc::chdir(path.as_ptr()) })?;
    Ok(())
}

/// `sethostname` + `setdomainname`.
pub fn set_names(host: &[u8], domain: &[u8]) -> io::Result<()> {
    // SAFETY: pointer and length describe `host`.
    cvt(unsafe { libc::sethostname(host.as_ptr().cast(), host.len()) })?;
    // SAFETY: pointer and length describe `domain`.
    cvt(unsafe { libc::setdomainname(domain.as_ptr().cast(), domain.len()) })?;
    Ok(())
}

/// A NULL-terminated array of C strings for `execve` (built before fork).
pub struct CStrArray {
    /// Owns the strings `ptrs` points into.
    _strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl CStrArray {
    /// Builds the array; an interior NUL is `EINVAL`.
    pub fn new(items: &[Vec<u8>]) -> io::Result<Self> {
        let strings = items.iter().map(|b| super::cstr(b)).collect::<io::Result<Vec<_>>>()?;
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        Ok(CStrArray { _strings: strings, ptrs })
    }
}

/// `execve(path, argv, envp)`; returns only on failure.
pub fn execve(path: &CStr, argv: &CStrArray, envp: &CStrArray) -> io::Error {
    // SAFETY: `path` is a C string; both arrays are NULL-terminated arrays of pointers into
    // CStrings owned by the CStrArray, alive for the call.
    unsafe { libc::execve(path.as_ptr(), argv.ptrs.as_ptr(), envp.ptrs.as_ptr()) };
    io::Error::last_os_error()
}

/// `close_range(first, ~0, CLOSE_RANGE_CLOEXEC)`: marks every fd from `first` on close-on-exec.
/// Kernels before 5.11 (EINVAL: no `CLOSE_RANGE_CLOEXEC`) get `FD_CLOEXEC` set fd by fd up to
/// the lower of RLIMIT_NOFILE's soft limit and [`CLOEXEC_LOOP_FDS_MAX`](crate::limits::CLOEXEC_LOOP_FDS_MAX).
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: no memory arguments.
    let ret =
        unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    match cvt_long(ret) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            let mut rl = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            // SAFETY: `rl` is a valid rlimit for the kernel to fill.
            cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) })?;
            let end = u32::try_from(rl.rlim_cur)
                .unwrap_or(u32::MAX)
                .min(crate::limits::CLOEXEC_LOOP_FDS_MAX);
            for fd in first..end {
                let Ok(fd) = libc::c_int::try_from(fd) else { break };
                // SAFETY: F_SETFD on a number that may not be open: EBADF then, nothing else.
                let _ = unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// `close_range(first, ~0, 0)`: closes every fd from `first` on.
///
/// Callers must not hold `OwnedFd`s for those numbers afterwards (they would close a number that
/// may be reused); it is called right after a fork, on fds the child does not own.
pub fn close_from(first: u32) -> io::Result<()> {
    // SAFETY: no memory arguments.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) };
    cvt_long(ret)?;
    Ok(())
}

/// `close_range(first, last, 0)`: closes every fd in `first..=last` (same caveat as
/// [`close_from`]: only for fds nothing in this process owns).
pub fn close_range(first: u32, last: u32) -> io::Result<()> {
    if first > last {
        return Ok(());
    }
    // SAFETY: no memory arguments.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) };
    cvt_long(ret)?;
    Ok(())
}

/// `dup2(fd, target)` without O_CLOEXEC on the target (it is meant to survive exec).
pub fn dup2(fd: RawFd, target: RawFd) -> io::Result<()> {
    // SAFETY: no memory arguments; the caller owns the target number after a fork.
    cvt(unsafe { libc::dup2(fd, target) })?;
    Ok(())
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, min)`: a copy at a number ≥ `min`.
pub fn dup_at_least(fd: BorrowedFd<'_>, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: no memory arguments.
    let new = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) })?;
    // SAFETY: F_DUPFD_CLOEXEC returned a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: no memory arguments.
    cvt(unsafe { libc::kill(pid, sig) })?;
    Ok(())
}

/// `pidfd_send_signal(pidfd, sig)`.
pub fn pidfd_kill(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: no memory arguments besides a null siginfo, which is allowed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<u8>(),
            0,
        )
    };
    cvt_long(ret)?;
    Ok(())
}

/// One reaped child.
#[derive(Debug, Clone, Copy)]
pub struct Reaped {
    /// Its pid.
    pub pid: i32,
    /// How it ended.
    pub status: WaitStatus,
    /// User CPU, ns.
    pub user_ns: u64,
    /// System CPU, ns.
    pub sys_ns: u64,
    /// maxrss, bytes.
    pub maxrss_bytes: u64,
}

/// `wait4(-1, WNOHANG | __WALL)`: `Ok(None)` when children exist but none has exited; `ECHILD`
/// when there are none.
pub fn reap_any() -> io::Result<Option<Reaped>> {
    wait4(-1, libc::WNOHANG)
}

/// `wait4(pid, __WALL)`: blocks until the child `pid` has exited, and reaps it. When it returns
/// the kernel has released the task (`release_task`): it is in no cgroup's task list and no
/// longer charged to any `pids` controller. Retries on `EINTR`.
pub fn reap(pid: i32) -> io::Result<Reaped> {
    loop {
        match wait4(pid, 0) {
            Ok(Some(r)) => return Ok(r),
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn wait4(which: i32, flags: i32) -> io::Result<Option<Reaped>> {
    let mut status = 0;
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `ru` are valid for writes.
    let pid = cvt(unsafe { libc::wait4(which, &mut status, flags | libc::__WALL, &mut ru) })?;
    if pid == 0 {
        return Ok(None);
    }
    let status = if libc::WIFSIGNALED(status) {
        WaitStatus::Signalled(libc::WTERMSIG(status))
    } else {
        WaitStatus::Exited(libc::WEXITSTATUS(status))
    };
    Ok(Some(Reaped {
        pid,
        status,
        user_ns: timeval_ns(&ru.ru_utime),
        sys_ns: timeval_ns(&ru.ru_stime),
        maxrss_bytes: u64::try_from(ru.ru_maxrss).unwrap_or(0).saturating_mul(1024),
    }))
}

/// The kernel's `struct sigaction` for `rt_sigaction` (x86-64).
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// Sets every catchable signal (1..=64, including the ones libc reserves for itself) to its
/// default action and unblocks all signals. Uses the raw syscall: libc refuses 32 and 33.
pub fn reset_signals() {
    let act = KernelSigaction { handler: libc::SIG_DFL, flags: 0, restorer: 0, mask: 0 };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `act` is a valid kernel sigaction of the size passed (8-byte mask); the old
        // action is not wanted; invalid numbers return EINVAL.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                std::ptr::addr_of!(act),
                std::ptr::null_mut::<u8>(),
                8,
            )
        };
    }
    unblock_all_signals();
}

/// Unblocks every signal of the calling thread.
pub fn unblock_all_signals() {
    // SAFETY: sigset_t is plain data.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for writes.
    unsafe { libc::sigemptyset(&mut set) };
    // SAFETY: `set` is a valid sigset; the old set is not wanted.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) };
}

/// `signal(SIGCHLD, SIG_IGN)`: children are reaped by the kernel (the zygote never waits).
pub fn ignore_sigchld() {
    // SAFETY: SIG_IGN is a valid disposition for SIGCHLD.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
}

/// Blocks SIGCHLD and returns a signalfd for it (non-blocking, close-on-exec).
pub fn sigchld_fd() -> io::Result<OwnedFd> {
    // SAFETY: sigset_t is plain data.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for writes.
    unsafe { libc::sigemptyset(&mut set) };
    // SAFETY: `set` is valid; SIGCHLD is a valid signal.
    unsafe { libc::sigaddset(&mut set, libc::SIGCHLD) };
    // SAFETY: `set` is a valid sigset.
    cvt(unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) })?;
    // SAFETY: `set` is a valid sigset; -1 asks for a new fd.
    let fd = cvt(unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) })?;
    // SAFETY: signalfd returned a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Drains a non-blocking signalfd (the signals only wake the poll; `reap_any` does the work).
pub fn drain_signalfd(fd: BorrowedFd<'_>) {
    let mut buf = [0u8; 128 * 8];
    loop {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return;
        }
    }
}

/// Sends `SIGKILL` to the process behind a raw pid in our namespace, ignoring ESRCH.
pub fn kill_all_in_namespace() -> io::Result<()> {
    match kill(-1, libc::SIGKILL) {
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        r => r,
    }
}

/// Sleeps `ms` milliseconds (used between ETXTBSY retries in a child).
pub fn sleep_ms(ms: u64) {
    std::thread::sleep(std::time::Duration::from_millis(ms));
}
