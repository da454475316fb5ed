//! Host-side plumbing of a run: pipes, pseudo-terminals, and the threads that drain them.
//!
//! - [`pipe`]: a plain `pipe(2)` (close-on-exec), used for `pipeMapping` without `proxy` and
//!   for `pipe: true` collectors.
//! - [`pty`]: a pseudo-terminal pair for `tty: true` (the peer is opened from the master with
//!   `TIOCGPTPEER`, so no `/dev/pts` path is looked up).
//! - [`Budget`]: the bytes a request may still keep from its outputs, shared by its collector
//!   and relay threads and its copy-out; what is kept is taken from it first.
//! - [`collect`]: what a collector thread does: keep the first `max + 1` bytes (as far as the
//!   [`Budget`] allows), then read and discard the rest until end of file, so the writer never blocks on a full pipe and never
//!   gets `SIGPIPE` (go-judge does the same). A pty master reports `EIO` once every peer is
//!   closed: that is its end of file.
//! - [`relay`]: what a proxy thread does for `pipeMapping` with `proxy: true`: move bytes from
//!   the writer's pipe to the reader's, keeping the first `max` bytes when the mapping has a
//!   `name` (as far as the [`Budget`] allows); with splice (no copy through user space) unless
//!   `disableZeroCopy`. When the reader
//!   goes away (`EPIPE`), the rest is drained so the writer never sees `EPIPE` either.
//!
//! Every function here blocks; the orchestration runs each on its own scoped thread. None of
//! them can block forever on its own: each ends when the other side's fds are closed, which the
//! orchestration does as soon as a program's run returns (a write end a program left in flight,
//! `SCM_RIGHTS` in a cycle of unix sockets, closes when the orchestration has the kernel's
//! collector run: `run::execute`).

use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::pipe::{PipeFlags, SpliceFlags};
use rustix::pty::OpenptFlags;

use crate::limits::RELAY_CHUNK_BYTES;

/// A pipe: `(read end, write end)`, both close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(PipeFlags::CLOEXEC)?)
}

/// A pseudo-terminal: `(master, peer)`. The peer goes to the program's collector fds.
pub fn pty() -> io::Result<(OwnedFd, OwnedFd)> {
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let master = rustix::pty::openpt(flags)?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let peer = rustix::pty::ioctl_tiocgptpeer(&master, flags)?;
    Ok((master, peer))
}

/// `read(2)` that retries on `EINTR` and reads a pty master's `EIO` as end of file.
fn read_some(src: &mut std::fs::File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match src.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => {
                return Ok(0);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Reads and discards everything left in `src`.
fn drain(src: &mut std::fs::File, buf: &mut [u8]) {
    while let Ok(n) = read_some(src, buf) {
        if n == 0 {
            break;
        }
    }
}

/// The bytes a request may still keep in memory from its programs' outputs
/// ([`crate::model::Request::copy_out_total_bytes_max`] at the start). Every collector, proxy
/// capture and inline copy-out of the request takes what it keeps from it before keeping it,
/// so the request's outputs together never hold more, however many collectors it names and
/// whatever their `max`. Shared by the request's collector and relay threads.
#[derive(Debug)]
pub struct Budget(AtomicU64);

impl Budget {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Budget {
        Budget(AtomicU64::new(bytes))
    }

    /// Takes up to `want` bytes; returns how many were granted (less than `want` only when
    /// the budget is spent).
    pub fn take(&self, want: u64) -> u64 {
        let mut granted = 0;
        // The closure never returns `None`, so the update always succeeds.
        let _ = self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            granted = left.min(want);
            Some(left.saturating_sub(granted))
        });
        granted
    }

    /// Gives back `bytes` taken but not kept.
    pub fn give_back(&self, bytes: u64) {
        let _ = self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            Some(left.saturating_add(bytes))
        });
    }

    /// What is left.
    pub fn left(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What a collector kept.
#[derive(Debug, Default)]
pub struct Collected {
    /// The first bytes of the output: at most `max + 1`.
    pub bytes: Vec<u8>,
    /// The request's [`Budget`] ran out before the output ended or passed `max`: `bytes` is
    /// cut short and the output counts as over its limit.
    pub cut: bool,
}

/// Keeps the first `max + 1` bytes of `src` (one more than allowed, so the caller can tell an
/// overflow), taking them from `budget`, then drains the rest. A read error ends the
/// collection with what was kept.
pub fn collect(src: OwnedFd, max: u64, budget: &Budget) -> Collected {
    let mut src = std::fs::File::from(src);
    let keep = max.saturating_add(1);
    let mut out = Vec::new();
    let mut buf = vec![0u8; RELAY_CHUNK_BYTES];
    loop {
        let n = match read_some(&mut src, &mut buf) {
            Ok(0) | Err(_) => return Collected { bytes: out, cut: false },
            Ok(n) => n,
        };
        let have = u64::try_from(out.len()).unwrap_or(u64::MAX);
        let room = keep.saturating_sub(have).min(u64::try_from(n).unwrap_or(u64::MAX));
        let granted = budget.take(room);
        let kept = usize::try_from(granted).unwrap_or(usize::MAX);
        out.extend_from_slice(buf.get(..kept).unwrap_or_default());
        let cut = granted < room;
        if cut || u64::try_from(out.len()).unwrap_or(u64::MAX) >= keep {
            drain(&mut src, &mut buf);
            return Collected { bytes: out, cut };
        }
    }
}

/// Writes all of `data` to `dst`; `false` when the reader is gone (or the pipe broke).
fn write_all(dst: &OwnedFd, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        match rustix::io::write(dst, data) {
            Ok(0) => return false,
            Ok(n) => data = data.get(n..).unwrap_or_default(),
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
    }
    true
}

/// Moves bytes from `src` to `dst` until `src` ends, keeping the first `capture_max` bytes
/// (none when `None`) as far as `budget` allows; see the module documentation. Returns the
/// captured bytes. `dst` is closed when `src` ends or the reader goes away, so the reader sees
/// end of file.
pub fn relay(
    src: OwnedFd,
    dst: OwnedFd,
    capture_max: Option<u64>,
    zero_copy: bool,
    budget: &Budget,
) -> Vec<u8> {
    let mut src = std::fs::File::from(src);
    let mut captured = Vec::new();
    let mut buf = vec![0u8; RELAY_CHUNK_BYTES];
    let mut want = capture_max.unwrap_or(0);
    // Copy through user space while capturing (and throughout without zero copy).
    while want > 0 || !zero_copy {
        let n = match read_some(&mut src, &mut buf) {
            Ok(0) | Err(_) => return captured,
            Ok(n) => n,
        };
        let chunk = buf.get(..n).unwrap_or_default();
        let take = want.min(u64::try_from(n).unwrap_or(u64::MAX));
        let granted = budget.take(take);
        let kept = usize::try_from(granted).unwrap_or(usize::MAX);
        captured.extend_from_slice(chunk.get(..kept).unwrap_or_default());
        // A spent budget ends the capture; the bytes still flow to the reader.
        want = if granted < take { 0 } else { want.saturating_sub(granted) };
        if !write_all(&dst, chunk) {
            drop(dst);
            drain(&mut src, &mut buf);
            return captured;
        }
    }
    loop {
        match rustix::pipe::splice(
            src.as_fd(),
            None,
            &dst,
            None,
            RELAY_CHUNK_BYTES,
            SpliceFlags::MOVE,
        ) {
            Ok(0) => return captured,
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => {
                drop(dst);
                drain(&mut src, &mut buf);
                return captured;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn writer(fd: OwnedFd, data: Vec<u8>) -> std::thread::JoinHandle<io::Result<()>> {
        std::thread::spawn(move || std::fs::File::from(fd).write_all(&data))
    }

    #[test]
    fn collect_keeps_max_plus_one_and_drains() {
        for (len, max, kept) in
            [(0usize, 5u64, 0usize), (5, 5, 5), (6, 5, 6), (1 << 20, 5, 6), (3, 0, 1)]
        {
            let (r, w) = pipe().expect("pipe");
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let t = writer(w, data.clone());
            let budget = Budget::new(u64::MAX);
            let got = collect(r, max, &budget);
            t.join().expect("join").expect("the writer never sees EPIPE: the rest is drained");
            assert_eq!(got.bytes, data[..kept], "len {len} max {max}");
            assert!(!got.cut);
            assert_eq!(u64::MAX - budget.left(), kept as u64, "what is kept is taken");
        }
    }

    /// Budgets at max - 1, max and max + 1 of what the output needs: below, the output is cut
    /// where the budget ends (and counts as over its limit) while the writer still finishes.
    #[test]
    fn collect_keeps_no_more_than_the_budget() {
        let data = vec![7u8; 100_000];
        for (budget_bytes, kept, cut) in
            [(99_999u64, 99_999usize, true), (100_000, 100_000, false), (100_001, 100_000, false)]
        {
            let (r, w) = pipe().expect("pipe");
            let t = writer(w, data.clone());
            let budget = Budget::new(budget_bytes);
            let got = collect(r, 1 << 20, &budget);
            t.join().expect("join").expect("the writer never sees EPIPE: the rest is drained");
            assert_eq!((got.bytes.len(), got.cut), (kept, cut), "budget {budget_bytes}");
            assert_eq!(budget.left(), budget_bytes - kept as u64);
        }
    }

    #[test]
    fn a_budget_grants_what_is_left_and_takes_back() {
        let b = Budget::new(10);
        assert_eq!(b.take(4), 4);
        assert_eq!(b.take(10), 6);
        assert_eq!(b.take(1), 0);
        b.give_back(3);
        assert_eq!((b.left(), b.take(5)), (3, 3));
    }

    #[test]
    fn relay_moves_everything_and_captures_a_prefix() {
        for zero_copy in [true, false] {
            for capture in [None, Some(0), Some(10), Some(5 << 20)] {
                let (src_r, src_w) = pipe().expect("pipe");
                let (dst_r, dst_w) = pipe().expect("pipe");
                let data: Vec<u8> = (0..(1usize << 20) + 7).map(|i| (i % 253) as u8).collect();
                let t = writer(src_w, data.clone());
                let reader = std::thread::spawn(move || {
                    let mut out = Vec::new();
                    std::fs::File::from(dst_r).read_to_end(&mut out).map(|_| out)
                });
                let captured = relay(src_r, dst_w, capture, zero_copy, &Budget::new(u64::MAX));
                t.join().expect("join").expect("write");
                let moved = reader.join().expect("join").expect("read");
                assert_eq!(moved, data, "zero_copy {zero_copy} capture {capture:?}");
                let want = capture.map_or(0, |c| (c as usize).min(data.len()));
                assert_eq!(captured, data[..want]);
            }
        }
    }

    #[test]
    fn relay_drains_when_the_reader_leaves() {
        for zero_copy in [true, false] {
            let (src_r, src_w) = pipe().expect("pipe");
            let (dst_r, dst_w) = pipe().expect("pipe");
            drop(dst_r);
            let t = writer(src_w, vec![1u8; 4 << 20]);
            let captured = relay(src_r, dst_w, Some(3), zero_copy, &Budget::new(u64::MAX));
            t.join().expect("join").expect("the writer sees no EPIPE");
            assert_eq!(captured, [1, 1, 1]);
        }
    }

    #[test]
    fn a_spent_budget_ends_a_capture_not_the_relay() {
        for zero_copy in [true, false] {
            let (src_r, src_w) = pipe().expect("pipe");
            let (dst_r, dst_w) = pipe().expect("pipe");
            let data = vec![3u8; 1 << 20];
            let t = writer(src_w, data.clone());
            let reader = std::thread::spawn(move || {
                let mut out = Vec::new();
                std::fs::File::from(dst_r).read_to_end(&mut out).map(|_| out)
            });
            let budget = Budget::new(1000);
            let captured = relay(src_r, dst_w, Some(5 << 20), zero_copy, &budget);
            t.join().expect("join").expect("write");
            assert_eq!(reader.join().expect("join").expect("read"), data, "every byte moved");
            assert_eq!((captured.len(), budget.left()), (1000, 0), "zero_copy {zero_copy}");
        }
    }

    #[test]
    fn pty_output_reaches_the_master_and_peer_close_is_eof() {
        let (master, peer) = pty().expect("pty");
        let mut p = std::fs::File::from(peer);
        p.write_all(b"hi\n").expect("write");
        drop(p);
        let got = collect(master, 100, &Budget::new(u64::MAX));
        assert_eq!(got.bytes, b"hi\r\n", "the terminal turns \\n into \\r\\n, as for go-judge");
    }
}
