//! Every system call the engine makes outside io_uring, each wrapped once.
//!
//! Main items: [`tcp_listener`] (one `SO_REUSEPORT` listener per shard), [`pin_current_thread`],
//! [`allowed_cpus`] and [`set_sched_slice`] (shard placement and scheduling),
//! [`block_shutdown_signals`] + [`shutdown_signalfd`] (SIGTERM/SIGINT read through the ring),
//! [`eventfd`] + [`eventfd_signal`] (cross-thread wake-ups), [`raise_nofile_limit`], the clocks,
//! and [`AnonMap`] (page-aligned anonymous memory for the provided-buffer ring).
//!
//! Each wrapper returns `io::Result`, takes `BorrowedFd` and returns `OwnedFd`; callers map the
//! error to their own variant. The wrappers use rustix or nix; this is the only module of the
//! crate allowed to name `libc::` (STYLE §6), which it does only for `sched_getscheduler` and
//! `sched_setattr` (neither rustix nor nix wraps them). The io_uring calls themselves live in
//! [`crate::ring`], which owns the memory the kernel writes into.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use nix::sys::signal::{SigSet, Signal};
use rustix::net::{AddressFamily, SocketFlags, SocketType};

/// The CPUs this thread may run on, in increasing order.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    let set = rustix::thread::sched_getaffinity(None)?;
    Ok((0..rustix::thread::CpuSet::MAX_CPU).filter(|&cpu| set.is_set(cpu)).collect())
}

/// Pins the calling thread to one CPU (`sched_setaffinity(0, {cpu})`).
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= rustix::thread::CpuSet::MAX_CPU {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "cpu index out of range"));
    }
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set)?;
    Ok(())
}

/// Asks the scheduler for a short time slice for the calling thread (`sched_setattr` with
/// `sched_runtime` under `SCHED_OTHER`, Linux 6.12+ EEVDF): a thread that mostly sleeps and
/// then runs briefly gets an earlier virtual deadline when it wakes, so it preempts a CPU-bound
/// task on its CPU instead of waiting for that task's slice to end. Its share of the CPU does
/// not change. The kernel clamps `slice_ns` to 0.1..100 ms. Keeps the thread's nice value;
/// does nothing (returns `Ok(false)`) when the thread is not `SCHED_OTHER`.
pub fn set_sched_slice(slice_ns: u64) -> io::Result<bool> {
    // SAFETY: sched_getscheduler(0) reads the calling thread's policy; no memory is passed.
    let policy = unsafe { libc::sched_getscheduler(0) };
    if policy == -1 {
        return Err(io::Error::last_os_error());
    }
    if policy != libc::SCHED_OTHER {
        return Ok(false);
    }
    let nice = rustix::process::getpriority_process(None)?;
    let attr = libc::sched_attr {
        size: std::mem::size_of::<libc::sched_attr>() as u32,
        sched_policy: libc::SCHED_OTHER as u32,
        sched_flags: 0,
        sched_nice: nice,
        sched_priority: 0,
        sched_runtime: slice_ns,
        sched_deadline: 0,
        sched_period: 0,
    };
    // SAFETY: sched_setattr(0 = this thread, attr, 0) reads `size` bytes of `attr`, a live,
    // fully initialised `sched_attr` on this stack whose `size` is its own size.
    let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &raw const attr, 0u32) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(true)
}

/// The calling thread's kernel id (`gettid`).
pub fn thread_id() -> u32 {
    rustix::thread::gettid().as_raw_nonzero().get().unsigned_abs()
}

/// What the scheduler says about thread `tid` of this process
/// (`/proc/self/task/<tid>/schedstat`, Linux `CONFIG_SCHED_INFO`): nanoseconds on a CPU and
/// nanoseconds runnable but waiting for one. `None` when the file is missing or malformed.
pub fn thread_sched_times(tid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    let mut fields = text.split_ascii_whitespace().map(str::parse::<u64>);
    let on_cpu_ns = fields.next()?.ok()?;
    let waiting_ns = fields.next()?.ok()?;
    Some((on_cpu_ns, waiting_ns))
}

/// Raises `RLIMIT_NOFILE` so that at least `wanted` descriptors can be open, as far as the
/// process may (root may raise the hard limit too). Returns the soft limit in force afterwards.
pub fn raise_nofile_limit(wanted: u64) -> io::Result<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let old = getrlimit(Resource::Nofile);
    let soft = old.current.unwrap_or(u64::MAX);
    if soft >= wanted {
        return Ok(soft);
    }
    let hard = old.maximum.unwrap_or(u64::MAX);
    // First try to raise the hard limit as well (needs CAP_SYS_RESOURCE), then settle for the
    // hard limit we have.
    let raised = Rlimit { current: Some(wanted), maximum: Some(hard.max(wanted)) };
    if setrlimit(Resource::Nofile, raised).is_ok() {
        return Ok(wanted);
    }
    setrlimit(Resource::Nofile, Rlimit { current: Some(hard), maximum: Some(hard) })?;
    Ok(hard)
}

/// The signals that ask the server to shut down gracefully.
const SHUTDOWN_SIGNALS: [Signal; 2] = [Signal::SIGTERM, Signal::SIGINT];

fn shutdown_sigset() -> SigSet {
    let mut set = SigSet::empty();
    for signal in SHUTDOWN_SIGNALS {
        set.add(signal);
    }
    set
}

/// Blocks SIGTERM and SIGINT in the calling thread; threads it spawns afterwards inherit the
/// mask, so the signals stay pending until a signalfd reads them.
pub fn block_shutdown_signals() -> io::Result<()> {
    shutdown_sigset().thread_block().map_err(io::Error::from)
}

/// A signalfd that reads SIGTERM and SIGINT (blocking, close-on-exec; the ring never blocks on it).
pub fn shutdown_signalfd() -> io::Result<OwnedFd> {
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    let fd = SignalFd::with_flags(&shutdown_sigset(), SfdFlags::SFD_CLOEXEC)?;
    Ok(OwnedFd::from(fd))
}

/// Size of one `struct signalfd_siginfo`, the unit a signalfd read returns.
pub const SIGNALFD_SIGINFO_BYTES: usize = 128;

/// The signal number in a `struct signalfd_siginfo` (its first field, `ssi_signo`).
pub fn signalfd_signo(siginfo: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = siginfo.get(..4)?.try_into().ok()?;
    Some(u32::from_ne_bytes(bytes))
}

/// The name of a signal number, for logs.
pub fn signal_name(signo: u32) -> &'static str {
    i32::try_from(signo)
        .ok()
        .and_then(|n| Signal::try_from(n).ok())
        .map_or("unknown", Signal::as_str)
}

/// Sends a shutdown signal to this process (used by tests and by the CLI's self-checks).
pub fn raise_sigterm() -> io::Result<()> {
    nix::sys::signal::raise(Signal::SIGTERM).map_err(io::Error::from)
}

/// A blocking, close-on-exec eventfd with counter 0. Blocking, because the ring reads it: a ring
/// read of a non-blocking eventfd would complete with `EAGAIN` instead of waiting.
pub fn eventfd() -> io::Result<OwnedFd> {
    Ok(rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC)?)
}

/// Adds 1 to an eventfd's counter, waking whoever reads it. Callable from any thread.
pub fn eventfd_signal(fd: BorrowedFd<'_>) -> io::Result<()> {
    let one = 1u64.to_ne_bytes();
    let written = rustix::io::write(fd, &one)?;
    if written == one.len() {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::WriteZero, "short eventfd write"))
    }
}

/// A TCP listener for one shard: `SO_REUSEADDR`, `SO_REUSEPORT` (each shard binds the same
/// address and the kernel spreads connections), `TCP_NODELAY` (inherited by accepted sockets),
/// blocking (io_uring waits on it; a non-blocking listener would make ring accepts fail with
/// `EAGAIN`), close-on-exec.
pub fn tcp_listener(addr: SocketAddr, backlog: i32) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    rustix::net::sockopt::set_socket_reuseaddr(&fd, true)?;
    rustix::net::sockopt::set_socket_reuseport(&fd, true)?;
    rustix::net::sockopt::set_tcp_nodelay(&fd, true)?;
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, backlog)?;
    Ok(fd)
}

/// The flags ring accepts pass for new sockets: close-on-exec, blocking.
pub fn accept_flags() -> i32 {
    // The bit pattern is what accept4(2) takes; rustix spells it as an unsigned bitflag.
    i32::try_from(SocketFlags::CLOEXEC.bits()).unwrap_or(0)
}

/// The address a socket is bound to.
pub fn local_addr(fd: BorrowedFd<'_>) -> io::Result<SocketAddr> {
    let addr = rustix::net::getsockname(fd)?;
    SocketAddr::try_from(addr).map_err(|_| io::Error::other("listener has a non-IP address"))
}

/// Whether `TCP_NODELAY` is set on a socket.
pub fn tcp_nodelay(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(rustix::net::sockopt::tcp_nodelay(fd)?)
}

/// Shuts down both directions of a socket (wakes anything waiting on it with EOF).
pub fn shutdown_socket(fd: BorrowedFd<'_>) -> io::Result<()> {
    Ok(rustix::net::shutdown(fd, rustix::net::Shutdown::Both)?)
}

/// Nanoseconds on `CLOCK_MONOTONIC`, the clock io_uring absolute timeouts use.
pub fn monotonic_ns() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    timespec_ns(ts.tv_sec, ts.tv_nsec)
}

/// Seconds since the Unix epoch on `CLOCK_REALTIME` (for the `Date` header).
pub fn unix_time_secs() -> u64 {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    u64::try_from(ts.tv_sec).unwrap_or(0)
}

/// Seconds and nanoseconds since the Unix epoch on `CLOCK_REALTIME`.
pub fn unix_time() -> (u64, u32) {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    (u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
}

fn timespec_ns(sec: i64, nsec: i64) -> u64 {
    let sec = u64::try_from(sec).unwrap_or(0);
    let nsec = u64::try_from(nsec).unwrap_or(0);
    sec.saturating_mul(1_000_000_000).saturating_add(nsec)
}

/// A private anonymous read-write mapping, page-aligned, zero-filled, unmapped on drop.
///
/// The provided-buffer ring needs page-aligned memory that never moves; a `Vec` gives neither
/// guarantee about alignment.
#[derive(Debug)]
pub struct AnonMap {
    /// INVARIANT: points to a live mapping of `len` bytes created by `mmap` in [`AnonMap::new`]
    /// and unmapped only in `drop`.
    ptr: NonNull<u8>,
    len: usize,
}

impl AnonMap {
    /// Maps `len` bytes (`len > 0`), populated up front so the hot path takes no page faults.
    pub fn new(len: usize) -> io::Result<AnonMap> {
        use rustix::mm::{MapFlags, ProtFlags, mmap_anonymous};
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty mapping"));
        }
        // SAFETY: a fresh anonymous mapping at an address the kernel picks aliases no existing
        // Rust object; the pointer is owned by the returned AnonMap and unmapped once, in drop.
        let raw = unsafe {
            mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::POPULATE,
            )
        }?;
        let ptr = NonNull::new(raw.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned a null pointer"))?;
        Ok(AnonMap { ptr, len })
    }

    /// The start of the mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The length of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: an `AnonMap` has at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl Drop for AnonMap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe the mapping created in `new` (field invariant); it is
        // unmapped exactly once, here, and no reference into it outlives `self`.
        let result = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
        if let Err(error) = result {
            tracing::error!(%error, "munmap of a buffer mapping failed");
        }
    }
}

/// Borrowed fd helper for code that holds an `OwnedFd` behind an `Rc`.
pub fn borrow(fd: &OwnedFd) -> BorrowedFd<'_> {
    fd.as_fd()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventfd_counts_signals() {
        let fd = eventfd().expect("eventfd");
        eventfd_signal(fd.as_fd()).expect("signal");
        eventfd_signal(fd.as_fd()).expect("signal");
        let mut buf = [0u8; 8];
        let n = rustix::io::read(&fd, &mut buf).expect("read");
        assert_eq!(n, 8);
        assert_eq!(u64::from_ne_bytes(buf), 2);
    }

    #[test]
    fn listener_has_nodelay_and_reports_its_port() {
        let fd = tcp_listener("127.0.0.1:0".parse().expect("addr"), 16).expect("listen");
        let addr = local_addr(fd.as_fd()).expect("addr");
        assert_ne!(addr.port(), 0);
        assert!(tcp_nodelay(fd.as_fd()).expect("nodelay"));
        // A second listener on the same port works because of SO_REUSEPORT.
        let second = tcp_listener(addr, 16).expect("second listener on the same port");
        assert_eq!(local_addr(second.as_fd()).expect("addr"), addr);
    }

    #[test]
    fn accepted_sockets_inherit_nodelay() {
        let listener = tcp_listener("127.0.0.1:0".parse().expect("addr"), 16).expect("listen");
        let addr = local_addr(listener.as_fd()).expect("addr");
        let _client = std::net::TcpStream::connect(addr).expect("connect");
        let accepted = rustix::net::accept(&listener).expect("accept");
        assert!(
            tcp_nodelay(accepted.as_fd()).expect("nodelay"),
            "no setsockopt per connection needed"
        );
    }

    #[test]
    fn anon_map_is_page_aligned() {
        let map = AnonMap::new(8192).expect("mmap");
        assert_eq!(map.len(), 8192);
        assert_eq!(map.as_ptr() as usize % 4096, 0, "page aligned");
    }

    #[test]
    fn signalfd_signo_reads_the_first_field() {
        let mut info = [0u8; SIGNALFD_SIGINFO_BYTES];
        info[..4].copy_from_slice(&15u32.to_ne_bytes());
        assert_eq!(signalfd_signo(&info), Some(15));
        assert_eq!(signalfd_signo(&info[..3]), None);
        assert_eq!(signal_name(15), "SIGTERM");
    }

    #[test]
    fn clocks_move_forward() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(b >= a);
        assert!(unix_time_secs() > 1_600_000_000);
    }
}
