//! The op bookkeeping of a ring: keys, kinds, the slot that owns an op's resources while the
//! kernel works, the [`Completion`] that hands them back, timeouts' [`Expiry`], errno values.

use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use io_uring::types::{TimeoutFlags, Timespec};

use super::ProvidedBuf;

/// Identifies one op in flight (slot index + generation). Used to cancel it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpKey {
    pub(super) index: u32,
    pub(super) generation: u32,
}

impl OpKey {
    pub(super) fn user_data(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    pub(super) fn from_user_data(user_data: u64) -> OpKey {
        OpKey { index: user_data as u32, generation: (user_data >> 32) as u32 }
    }
}

/// Which operation a slot holds; decides how its CQE is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// No-op (tests, wake-ups).
    Nop,
    /// Multishot accept: each CQE is a new connection.
    AcceptMulti,
    /// Multishot recv into provided buffers.
    RecvMulti,
    /// Send from an owned or static buffer.
    Send,
    /// Read into an owned buffer's spare capacity.
    Read,
    /// Write from an owned buffer.
    Write,
    /// Timeout (relative or absolute on CLOCK_MONOTONIC).
    Timeout,
    /// Update of an armed timeout.
    TimeoutUpdate,
    /// Cancellation of another op.
    Cancel,
    /// Close of an fd handed over to the kernel.
    Close,
    /// `shutdown(2)` of a socket.
    Shutdown,
}

/// What the kernel reads from for a send or write.
#[derive(Debug)]
pub(super) enum Payload {
    None,
    Owned(Vec<u8>),
    Static(&'static [u8]),
}

/// One op in flight and everything the kernel may touch for it.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) generation: u32,
    pub(super) busy: bool,
    pub(super) kind: OpKind,
    pub(super) tag: u64,
    /// Keeps the fd open until the last CQE.
    pub(super) fd: Option<Rc<OwnedFd>>,
    pub(super) payload: Payload,
    /// The timespec a timeout SQE points at. Slots live in a boxed slice that never moves, so
    /// the address stays valid until the kernel copies it at submission.
    pub(super) timespec: Timespec,
}

impl Slot {
    pub(super) fn empty() -> Slot {
        Slot {
            generation: 0,
            busy: false,
            kind: OpKind::Nop,
            tag: 0,
            fd: None,
            payload: Payload::None,
            timespec: Timespec::new(),
        }
    }
}

/// One CQE, with ownership of the op's resources returned.
#[derive(Debug)]
pub struct Completion {
    /// The caller's tag given at push time.
    pub tag: u64,
    /// The op this completes.
    pub key: OpKey,
    /// What the op was.
    pub kind: OpKind,
    /// The CQE result: bytes, an fd, 0, or a negative errno.
    pub result: i32,
    /// Whether a multishot op stays armed (`IORING_CQE_F_MORE`). When false this is the op's
    /// last completion and its slot is free again.
    pub more: bool,
    /// The op's owned buffer (send/read/write), returned on its last completion. For a read,
    /// its length includes the bytes read. Empty for other ops.
    pub buf: Vec<u8>,
    /// A provided receive buffer holding the bytes of this recv completion.
    pub provided: Option<ProvidedBuf>,
    /// The accepted socket of an accept completion.
    pub accepted: Option<OwnedFd>,
}

impl Completion {
    /// The result as `io::Result` of a byte count (negative results are errnos).
    pub fn bytes(&self) -> io::Result<usize> {
        if self.result < 0 {
            Err(io::Error::from_raw_os_error(-self.result))
        } else {
            Ok(self.result as usize)
        }
    }
}

/// A timeout's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// After this long from submission.
    After(Duration),
    /// At this CLOCK_MONOTONIC time in nanoseconds (see `sys::monotonic_ns`).
    AtMonotonicNs(u64),
}

impl Expiry {
    pub(super) fn timespec(self) -> (Timespec, TimeoutFlags) {
        match self {
            Expiry::After(duration) => (Timespec::from(duration), TimeoutFlags::empty()),
            Expiry::AtMonotonicNs(ns) => (
                Timespec::new().sec(ns / 1_000_000_000).nsec((ns % 1_000_000_000) as u32),
                TimeoutFlags::ABS,
            ),
        }
    }
}

/// errno values the ring reports (negated in CQE results).
pub mod errno {
    /// Operation canceled.
    pub const ECANCELED: i32 = rustix::io::Errno::CANCELED.raw_os_error();
    /// No provided buffer was available.
    pub const ENOBUFS: i32 = rustix::io::Errno::NOBUFS.raw_os_error();
    /// Timer expired.
    pub const ETIME: i32 = rustix::io::Errno::TIME.raw_os_error();
    /// No such op (cancel target already done).
    pub const ENOENT: i32 = rustix::io::Errno::NOENT.raw_os_error();
    /// Interrupted system call.
    pub const EINTR: i32 = rustix::io::Errno::INTR.raw_os_error();
    /// Kernel is busy flushing an overflowed CQ.
    pub const EBUSY: i32 = rustix::io::Errno::BUSY.raw_os_error();
    /// Try again.
    pub const EAGAIN: i32 = rustix::io::Errno::AGAIN.raw_os_error();
    /// Too many open files in the process.
    pub const EMFILE: i32 = rustix::io::Errno::MFILE.raw_os_error();
    /// Too many open files in the system.
    pub const ENFILE: i32 = rustix::io::Errno::NFILE.raw_os_error();
}
