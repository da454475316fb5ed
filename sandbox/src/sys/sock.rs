//! Sockets and waiting: `SOCK_SEQPACKET` pairs with `SCM_RIGHTS`, `poll`, `timerfd`, `eventfd`,
//! pipes.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::{cvt, cvt_long};
use crate::limits::{MSG_BYTES_MAX, MSG_FDS_MAX};

/// `socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC)`.
pub fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is valid for two ints.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: socketpair returned two fresh fds we own.
    let a = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    // SAFETY: as above.
    let b = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    Ok((a, b))
}

/// `pipe2(O_CLOEXEC)`: (read end, write end).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is valid for two ints.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 returned two fresh fds we own.
    let r = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    // SAFETY: as above.
    let w = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    Ok((r, w))
}

/// The kernel's limit of fds in one SCM_RIGHTS message (`SCM_MAX_FD`).
const SCM_MAX_FD: usize = 253;
/// Receive buffer: room for `MSG_FDS_MAX` fds (more is `MSG_CTRUNC`; the kernel closes them).
const CMSG_BUF_BYTES: usize = 64 + MSG_FDS_MAX * 4;
/// Send buffer: room for what the kernel accepts (tests play a hostile peer with it).
const CMSG_SEND_BYTES: usize = 64 + SCM_MAX_FD * 4;

/// Control-message buffer, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf<const N: usize>([u8; N]);

/// Sends one datagram with `fds` attached (`MSG_NOSIGNAL`: a dead peer is EPIPE, not a signal).
pub fn send_msg(sock: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    if fds.len() > MSG_FDS_MAX || data.len() > MSG_BYTES_MAX {
        return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
    }
    send_datagram(sock, data, fds)
}

/// [`send_msg`] without our protocol's limits (up to the kernel's): what a hostile peer sends.
#[cfg(test)]
pub fn send_msg_unchecked(
    sock: BorrowedFd<'_>,
    data: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<()> {
    send_datagram(sock, data, fds)
}

fn send_datagram(sock: BorrowedFd<'_>, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    if fds.len() > SCM_MAX_FD {
        return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
    }
    let mut iov = libc::iovec { iov_base: data.as_ptr().cast_mut().cast(), iov_len: data.len() };
    let mut cbuf = CmsgBuf([0; CMSG_SEND_BYTES]);
    // SAFETY: msghdr is plain data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        let payload = fds.len() * std::mem::size_of::<RawFd>();
        // SAFETY: CMSG_SPACE is a pure size computation.
        let space = unsafe { libc::CMSG_SPACE(payload as u32) } as usize;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: msg_control points at `cbuf`, which is aligned and at least `space` bytes
        // (CMSG_SEND_BYTES covers SCM_MAX_FD fds, checked above), so the first header is in
        // bounds.
        let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        if cmsg.is_null() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        // SAFETY: `cmsg` points into `cbuf` (checked non-null above).
        let hdr = unsafe { &mut *cmsg };
        hdr.cmsg_level = libc::SOL_SOCKET;
        hdr.cmsg_type = libc::SCM_RIGHTS;
        // SAFETY: CMSG_LEN is a pure size computation.
        hdr.cmsg_len = unsafe { libc::CMSG_LEN(payload as u32) } as usize;
        // SAFETY: CMSG_DATA of a header inside `cbuf` points inside it, with room for
        // `payload` bytes because the buffer holds CMSG_SPACE(payload).
        let dst = unsafe { libc::CMSG_DATA(cmsg) };
        for (i, fd) in fds.iter().enumerate() {
            let raw = fd.as_raw_fd().to_ne_bytes();
            // SAFETY: `i < fds.len()`, so offset 4*i is within the `payload` bytes after `dst`.
            let at = unsafe { dst.add(i * 4) };
            // SAFETY: `at` has 4 writable bytes (above); it may be unaligned, hence a byte copy.
            unsafe { std::ptr::copy_nonoverlapping(raw.as_ptr(), at, 4) };
        }
    }
    loop {
        // SAFETY: `msg` points at `iov` and `cbuf`, both alive for the call.
        let ret = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        match cvt_long(ret as libc::c_long) {
            Ok(_) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Receives one datagram into `buf` and its fds (close-on-exec) into `fds`. Returns the length;
/// 0 means the peer closed. A datagram or fd list that did not fit is `EMSGSIZE` (the fds that
/// did arrive are closed).
pub fn recv_msg(sock: BorrowedFd<'_>, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let mut cbuf = CmsgBuf([0; CMSG_BUF_BYTES]);
    // SAFETY: msghdr is plain data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = CMSG_BUF_BYTES;
    let n = loop {
        // SAFETY: `msg` points at `iov` (into `buf`) and `cbuf`, both alive and writable.
        let ret = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        match cvt_long(ret as libc::c_long) {
            Ok(n) => break usize::try_from(n).unwrap_or(0),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
    };
    // SAFETY: after recvmsg, msg_control/msg_controllen describe received headers in `cbuf`.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: non-null headers returned by CMSG_FIRSTHDR/NXTHDR lie inside `cbuf`.
        let hdr = unsafe { &*cmsg };
        if hdr.cmsg_level == libc::SOL_SOCKET && hdr.cmsg_type == libc::SCM_RIGHTS {
            // SAFETY: CMSG_LEN(0) is a pure size computation.
            let header_len = unsafe { libc::CMSG_LEN(0) } as usize;
            let count = hdr.cmsg_len.saturating_sub(header_len) / 4;
            // SAFETY: the data of a header inside `cbuf` is inside `cbuf`.
            let data = unsafe { libc::CMSG_DATA(cmsg) };
            for i in 0..count {
                let mut raw = [0u8; 4];
                // SAFETY: `i < count` and the kernel wrote `count` fds after the header.
                let at = unsafe { data.add(i * 4) };
                // SAFETY: `at` has 4 readable bytes (above); a byte copy allows misalignment.
                unsafe { std::ptr::copy_nonoverlapping(at, raw.as_mut_ptr(), 4) };
                // SAFETY: SCM_RIGHTS installed this fd in our table; we now own it.
                fds.push(unsafe { OwnedFd::from_raw_fd(RawFd::from_ne_bytes(raw)) });
            }
        }
        // SAFETY: `cmsg` is a valid header of `msg`.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    if msg.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 {
        fds.clear();
        return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
    }
    Ok(n)
}

/// Which of the polled fds are ready.
pub fn poll(fds: &[BorrowedFd<'_>], timeout_ms: i32) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 })
        .collect();
    loop {
        // SAFETY: `pfds` is a valid array of its length.
        let ret = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        match cvt(ret) {
            Ok(_) => break,
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(pfds.iter().map(|p| p.revents != 0).collect())
}

/// A `CLOCK_MONOTONIC` timerfd (non-blocking, close-on-exec).
pub fn timerfd() -> io::Result<OwnedFd> {
    // SAFETY: no memory arguments.
    let fd = cvt(unsafe {
        libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
    })?;
    // SAFETY: timerfd_create returned a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Arms a timerfd to fire once at absolute monotonic time `at_ns` (0 disarms).
pub fn timerfd_set_abs(fd: BorrowedFd<'_>, at_ns: u64) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(at_ns / 1_000_000_000).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::try_from(at_ns % 1_000_000_000).unwrap_or(0),
    };
    let spec =
        libc::itimerspec { it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 }, it_value: ts };
    // SAFETY: `spec` is a valid itimerspec; the old value is not wanted.
    cvt(unsafe {
        libc::timerfd_settime(fd.as_raw_fd(), libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut())
    })?;
    Ok(())
}

/// An eventfd (non-blocking, close-on-exec).
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: no memory arguments.
    let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
    // SAFETY: eventfd returned a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads (and so clears) a timerfd or eventfd counter; 0 when it was not ready.
pub fn read_counter(fd: BorrowedFd<'_>) -> u64 {
    let mut v = [0u8; 8];
    // SAFETY: `v` is valid for 8 bytes of writes.
    let n = unsafe { libc::read(fd.as_raw_fd(), v.as_mut_ptr().cast(), 8) };
    if n == 8 { u64::from_ne_bytes(v) } else { 0 }
}

/// Adds 1 to an eventfd counter.
pub fn signal_event(fd: BorrowedFd<'_>) -> io::Result<()> {
    let v = 1u64.to_ne_bytes();
    // SAFETY: `v` is 8 readable bytes.
    let n = unsafe { libc::write(fd.as_raw_fd(), v.as_ptr().cast(), 8) };
    cvt_long(n as libc::c_long)?;
    Ok(())
}

/// `write` on a raw fd, all of `data` (after a fork, where no `File` is at hand).
pub fn write_raw(fd: RawFd, data: &[u8]) -> io::Result<()> {
    let mut off = 0;
    while let Some(rest) = data.get(off..) {
        if rest.is_empty() {
            break;
        }
        // SAFETY: `rest` is readable for its length.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        match cvt_long(n as libc::c_long) {
            Ok(n) => off += usize::try_from(n).unwrap_or(0),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `read` on an fd into `buf`; 0 at end of file.
pub fn read_raw(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match cvt_long(n as libc::c_long) {
            Ok(n) => return Ok(usize::try_from(n).unwrap_or(0)),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}
