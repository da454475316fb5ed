//! One shard's io_uring: the only code that hands memory to the kernel.
//!
//! [`Ring`] wraps an `io_uring::IoUring` created with `SINGLE_ISSUER | DEFER_TASKRUN` and a
//! completion queue several times the submission queue, plus a [`BufRing`] of provided receive
//! buffers. Callers never build raw SQEs: they call typed `push_*` methods, each of which
//! **takes ownership** of whatever the kernel will touch (the fd as an `Rc<OwnedFd>`, the buffer
//! as a `Vec<u8>`, the timeout's timespec) and parks it in an op slot until the op's last CQE
//! arrives. [`Ring::drain`] turns CQEs into [`Completion`]s that hand the buffer back, even when
//! the op failed or was cancelled, and even if the connection that started it is long gone
//! (STYLE §8). Cancellation ([`Ring::push_cancel`]) is itself an op: the target keeps its
//! buffer until its own CQE says it is done.
//!
//! Capacity: there are exactly as many op slots as CQ entries, so the number of ops in flight
//! never exceeds what the CQ can hold; a push beyond that returns [`PushError::Full`] (the
//! throttling error) instead of overflowing. A full SQ is flushed with a submit first.
//!
//! ```text
//!   push_send(fd, Vec) ──► slot{fd, Vec, tag} ──SQE──► kernel ──CQE──► drain ──► Completion{tag, result, Vec}
//! ```
//!
//! What this module does not do: decide what an op means (that is the shard's `tag`), retry,
//! or time anything out (timeouts are ops like any other).

mod buf_ring;
mod op;
mod teardown;
mod wait;

use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::rc::Rc;

use io_uring::types::Fd;
use io_uring::{IoUring, cqueue, opcode, squeue};

pub use buf_ring::{BufRing, BufRingError, ProvidedBuf};
pub use op::{Completion, Expiry, OpKey, OpKind, errno};
use op::{Payload, Slot};

/// Sizes of one ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingConfig {
    /// Submission queue entries (a power of two).
    pub sq_entries: u32,
    /// Completion queue entries (a power of two, at least `sq_entries`); also the number of ops
    /// that may be in flight at once.
    pub cq_entries: u32,
    /// Number of provided receive buffers (a power of two, at most 32768).
    pub recv_buffers: u32,
    /// Bytes per provided receive buffer.
    pub recv_buffer_bytes: u32,
}

/// Why a ring could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RingError {
    /// `io_uring_setup` failed (old kernel, `io_uring_disabled`, seccomp, memory); `hint` says
    /// which of these the error code points to, so an operator knows what to change.
    #[error("creating the io_uring instance: {source}{hint}")]
    Setup {
        /// The kernel's answer.
        #[source]
        source: io::Error,
        /// What the error code most likely means here (empty when there is nothing to add).
        hint: String,
    },
    /// The queue sizes are not usable.
    #[error("ring sizes: sq {sq} and cq {cq} must be powers of two with sq <= cq")]
    Sizes {
        /// Requested SQ entries.
        sq: u32,
        /// Requested CQ entries.
        cq: u32,
    },
    /// The provided-buffer ring failed.
    #[error(transparent)]
    BufRing(#[from] BufRingError),
}

/// What an `io_uring_setup` error most likely means for the flags [`Ring::new`] asks for.
fn setup_hint(err: &io::Error) -> String {
    use rustix::io::Errno;
    let docs = "see docs/operations.md#requirements";
    match Errno::from_io_error(err) {
        // SINGLE_ISSUER is 6.0, DEFER_TASKRUN 6.1; a size above the kernel's limits is the
        // other cause (Ring::new checks only the shape of the sizes).
        Some(Errno::INVAL) => {
            let release = rustix::system::uname();
            let release = release.release().to_string_lossy();
            format!(
                " (the kernel refused the ring's flags or sizes: shardbox needs Linux 6.1 or \
                 newer for single-issuer rings with deferred task work, this is {release}; {docs})"
            )
        }
        Some(Errno::PERM) => format!(
            " (io_uring is not allowed here: kernel.io_uring_disabled is set, or a seccomp \
             profile such as Docker's default blocks io_uring_setup; {docs})"
        ),
        Some(Errno::NOSYS) => format!(" (this kernel was built without io_uring; {docs})"),
        _ => String::new(),
    }
}

/// Why an op could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Every op slot is in flight: the CQ could not hold another completion. Back off.
    #[error("ring full: {in_flight} ops in flight, capacity {capacity}")]
    Full {
        /// Ops in flight.
        in_flight: u32,
        /// Slot capacity (= CQ entries).
        capacity: u32,
    },
    /// The SQ was full and submitting it to make room failed.
    #[error("flushing a full submission queue: {0}")]
    Submit(#[source] io::Error),
}

/// A shard's io_uring instance, its op slots and its provided-buffer ring.
pub struct Ring {
    // Field order is drop order: the io_uring instance goes first, so the kernel has let go
    // of the buffer ring and every slot's buffer before they are freed. `Drop` also waits for
    // every op in flight first, and leaks the memory if the kernel does not finish.
    uring: ManuallyDrop<IoUring>,
    /// Provided receive buffers (buffer group 0).
    pub bufs: ManuallyDrop<BufRing>,
    slots: ManuallyDrop<Box<[Slot]>>,
    free: Vec<u32>,
    in_flight: u32,
    stats: RingStats,
    /// Ops queued since the last enter that the caller expects to complete during that enter
    /// ([`Ring::expect_inline`]); the next waiting enter does not count their completions.
    inline_expected: u32,
    /// Completions the next waiting enter asks for at least ([`Ring::batch_next_wait`]).
    wait_batch: u32,
    /// How long that batched wait may hold the completions it has.
    wait_batch_bound: std::time::Duration,
    /// Whether the last batched wait returned with fewer completions than it asked for.
    batch_short: bool,
}

/// What a ring has done since it was built: how often it entered the kernel, how often it may
/// have slept there, how many completions it delivered. Plain counts for `/metrics` and for
/// tests that check batching (no timing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// `io_uring_enter` calls made.
    pub enters: u64,
    /// Enters that asked for at least one completion while none was ready nor flagged as
    /// pending task work: the thread (most likely) slept in the kernel.
    pub sleeps: u64,
    /// Completions (CQEs) drained.
    pub completions: u64,
    /// Enters that waited for a batch of completions ([`Ring::batch_next_wait`] taken).
    pub batched_waits: u64,
    /// Batched waits that came back with fewer completions than they asked for: they hit
    /// their bound (the completions they had were held that long) or a signal.
    pub batches_short: u64,
    /// Waits that did not count sends declared inline ([`Ring::expect_inline`]) and ended
    /// at [`crate::limits::INLINE_WAIT_BOUND`] (or a signal) with fewer completions than asked: the
    /// connection went quiet after its response (normal), or a send the shard still had to
    /// act on was declared inline and held it that long (a bug).
    pub inline_waits_bounded: u64,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("in_flight", &self.in_flight)
            .field("capacity", &self.capacity())
            .field("bufs_lent", &self.bufs.lent())
            .finish_non_exhaustive()
    }
}

impl Ring {
    /// Creates a ring on the calling thread (which must be the only thread that submits to it).
    pub fn new(config: RingConfig) -> Result<Ring, RingError> {
        let RingConfig { sq_entries: sq, cq_entries: cq, recv_buffers, recv_buffer_bytes } = config;
        if !sq.is_power_of_two() || !cq.is_power_of_two() || sq > cq {
            return Err(RingError::Sizes { sq, cq });
        }
        let uring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            // The kernel raises IORING_SQ_TASKRUN when deferred completions wait to be posted,
            // so `submit_and_wait(0)` knows whether it must enter at all.
            .setup_taskrun_flag()
            .setup_submit_all()
            .setup_cqsize(cq)
            .build(sq)
            .map_err(|source| RingError::Setup { hint: setup_hint(&source), source })?;
        let bufs = BufRing::new(recv_buffers, recv_buffer_bytes, 0)?;
        bufs.register(&uring)?;
        let slots: Box<[Slot]> = (0..cq).map(|_| Slot::empty()).collect();
        let free = (0..cq).rev().collect();
        Ok(Ring {
            uring: ManuallyDrop::new(uring),
            bufs: ManuallyDrop::new(bufs),
            slots: ManuallyDrop::new(slots),
            free,
            in_flight: 0,
            stats: RingStats::default(),
            inline_expected: 0,
            wait_batch: 0,
            wait_batch_bound: crate::limits::INLINE_WAIT_BOUND,
            batch_short: false,
        })
    }

    /// Ops in flight (slots holding resources until their last CQE).
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Counts of enters, likely sleeps and completions so far.
    pub fn stats(&self) -> RingStats {
        self.stats
    }

    /// Maximum ops in flight (= CQ entries).
    pub fn capacity(&self) -> u32 {
        self.slots.len() as u32
    }

    fn claim(&mut self, kind: OpKind, tag: u64) -> Result<(OpKey, &mut Slot), PushError> {
        let capacity = self.capacity();
        let Some(index) = self.free.pop() else {
            return Err(PushError::Full { in_flight: self.in_flight, capacity });
        };
        let slot = self.slots.get_mut(index as usize);
        assert!(slot.is_some(), "free list holds slot {index} beyond capacity {capacity}");
        let Some(slot) = slot else {
            return Err(PushError::Full { in_flight: self.in_flight, capacity });
        };
        assert!(!slot.busy, "free list holds busy slot {index}");
        slot.busy = true;
        slot.kind = kind;
        slot.tag = tag;
        slot.generation = slot.generation.wrapping_add(1);
        self.in_flight += 1;
        Ok((OpKey { index, generation: slot.generation }, slot))
    }

    /// Undoes `claim` when the SQE could not be queued; returns the slot's resources.
    fn release(&mut self, key: OpKey) -> (Option<Rc<OwnedFd>>, Payload) {
        let slot = &mut self.slots[key.index as usize];
        assert!(slot.busy && slot.generation == key.generation, "releasing a slot not in flight");
        slot.busy = false;
        self.in_flight -= 1;
        self.free.push(key.index);
        (slot.fd.take(), std::mem::replace(&mut slot.payload, Payload::None))
    }

    /// Queues an SQE, flushing the SQ once if it is full.
    fn enqueue(&mut self, key: OpKey, entry: squeue::Entry) -> Result<(), PushError> {
        let entry = entry.user_data(key.user_data());
        // SAFETY: every pointer in `entry` refers to memory owned by the op's slot (its
        // boxed-slice timespec, its Vec or 'static payload, its Rc'd fd) or by `self.bufs`; the
        // slot keeps them until the op's last CQE, and `Ring`'s Drop waits for all ops before
        // freeing slots or buffers.
        if unsafe { self.uring.submission().push(&entry) }.is_ok() {
            return Ok(());
        }
        // Whatever was expected to complete inline is submitted (and has completed) now; its
        // completions wait in the CQ, where the next wait sees them.
        self.inline_expected = 0;
        if let Err(error) = self.uring.submit() {
            self.release(key);
            return Err(PushError::Submit(error));
        }
        // SAFETY: as above.
        if unsafe { self.uring.submission().push(&entry) }.is_ok() {
            Ok(())
        } else {
            self.release(key);
            Err(PushError::Submit(io::Error::other("submission queue still full after submit")))
        }
    }

    /// A no-op: completes with 0.
    pub fn push_nop(&mut self, tag: u64) -> Result<OpKey, PushError> {
        let (key, _) = self.claim(OpKind::Nop, tag)?;
        self.enqueue(key, opcode::Nop::new().build())?;
        Ok(key)
    }

    /// Multishot accept on `listener`: one completion per new connection, with
    /// [`Completion::accepted`] set, until a completion has `more == false`.
    pub fn push_accept_multi(
        &mut self,
        listener: &Rc<OwnedFd>,
        tag: u64,
    ) -> Result<OpKey, PushError> {
        let raw = listener.as_raw_fd();
        let (key, slot) = self.claim(OpKind::AcceptMulti, tag)?;
        slot.fd = Some(Rc::clone(listener));
        let entry = opcode::AcceptMulti::new(Fd(raw)).flags(crate::sys::accept_flags()).build();
        self.enqueue(key, entry)?;
        Ok(key)
    }

    /// Multishot recv on `socket` into the provided buffers. Each completion carries a
    /// [`ProvidedBuf`] (or 0 bytes at end of stream); with `-ENOBUFS` or `more == false` the
    /// recv is no longer armed and must be pushed again.
    pub fn push_recv_multi(&mut self, socket: &Rc<OwnedFd>, tag: u64) -> Result<OpKey, PushError> {
        let raw = socket.as_raw_fd();
        let group = self.bufs.group();
        let (key, slot) = self.claim(OpKind::RecvMulti, tag)?;
        slot.fd = Some(Rc::clone(socket));
        self.enqueue(key, opcode::RecvMulti::new(Fd(raw), group).build())?;
        Ok(key)
    }

    /// Sends `buf[offset..]` on `socket`; the completion returns `buf`. On a push error the
    /// buffer comes back in the error tuple.
    pub fn push_send(
        &mut self,
        socket: &Rc<OwnedFd>,
        buf: Vec<u8>,
        offset: usize,
        tag: u64,
    ) -> Result<OpKey, (PushError, Vec<u8>)> {
        self.push_bytes(OpKind::Send, socket, Payload::Owned(buf), offset, tag).map_err(
            |(error, payload)| match payload {
                Payload::Owned(buf) => (error, buf),
                Payload::None | Payload::Static(_) => (error, Vec::new()),
            },
        )
    }

    /// Sends a static byte string (canned responses such as the 503 of a shed connection).
    pub fn push_send_static(
        &mut self,
        socket: &Rc<OwnedFd>,
        bytes: &'static [u8],
        tag: u64,
    ) -> Result<OpKey, PushError> {
        self.push_bytes(OpKind::Send, socket, Payload::Static(bytes), 0, tag).map_err(|(e, _)| e)
    }

    /// Writes `buf[offset..]` to `fd` (any file: pipe, eventfd, socket); the completion returns
    /// `buf`.
    pub fn push_write(
        &mut self,
        fd: &Rc<OwnedFd>,
        buf: Vec<u8>,
        offset: usize,
        tag: u64,
    ) -> Result<OpKey, (PushError, Vec<u8>)> {
        self.push_bytes(OpKind::Write, fd, Payload::Owned(buf), offset, tag).map_err(
            |(error, payload)| match payload {
                Payload::Owned(buf) => (error, buf),
                Payload::None | Payload::Static(_) => (error, Vec::new()),
            },
        )
    }

    fn push_bytes(
        &mut self,
        kind: OpKind,
        fd: &Rc<OwnedFd>,
        payload: Payload,
        offset: usize,
        tag: u64,
    ) -> Result<OpKey, (PushError, Payload)> {
        let raw = fd.as_raw_fd();
        let (key, slot) = match self.claim(kind, tag) {
            Ok(claimed) => claimed,
            Err(error) => return Err((error, payload)),
        };
        slot.fd = Some(Rc::clone(fd));
        slot.payload = payload;
        let bytes: &[u8] = match &slot.payload {
            Payload::Owned(buf) => buf.get(offset..).unwrap_or(&[]),
            Payload::Static(bytes) => bytes.get(offset..).unwrap_or(&[]),
            Payload::None => &[],
        };
        let (ptr, len) = (bytes.as_ptr(), u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        let entry = match kind {
            OpKind::Write => opcode::Write::new(Fd(raw), ptr, len).offset(u64::MAX).build(),
            _ => opcode::Send::new(Fd(raw), ptr, len).build(),
        };
        match self.enqueue(key, entry) {
            Ok(()) => Ok(key),
            Err(error) => {
                // `enqueue` released the slot already; recover the payload from it.
                let slot = &mut self.slots[key.index as usize];
                Err((error, std::mem::replace(&mut slot.payload, Payload::None)))
            }
        }
    }

    /// Reads from `fd` into the spare capacity of `buf` (`buf.len()..buf.capacity()`); the
    /// completion returns `buf` with its length grown by the bytes read.
    pub fn push_read(
        &mut self,
        fd: &Rc<OwnedFd>,
        buf: Vec<u8>,
        tag: u64,
    ) -> Result<OpKey, (PushError, Vec<u8>)> {
        self.push_read_at(fd, buf, u64::MAX, usize::MAX, tag)
    }

    /// Reads at most `len_max` bytes from `fd` at `offset` (`u64::MAX`: at the file position,
    /// as [`Ring::push_read`]) into the spare capacity of `buf`; the completion returns `buf`
    /// with its length grown by the bytes read. File bodies use it with explicit offsets: the
    /// descriptor is a `dup` sharing its position with the file store's.
    pub fn push_read_at(
        &mut self,
        fd: &Rc<OwnedFd>,
        mut buf: Vec<u8>,
        offset: u64,
        len_max: usize,
        tag: u64,
    ) -> Result<OpKey, (PushError, Vec<u8>)> {
        let raw = fd.as_raw_fd();
        // The heap block does not move when the Vec moves into the slot below.
        let spare = buf.spare_capacity_mut();
        let len = spare.len().min(len_max).min(u32::MAX as usize);
        let ptr = spare.as_mut_ptr().cast::<u8>();
        let (key, slot) = match self.claim(OpKind::Read, tag) {
            Ok(claimed) => claimed,
            Err(error) => return Err((error, buf)),
        };
        slot.fd = Some(Rc::clone(fd));
        slot.payload = Payload::Owned(buf);
        let entry = opcode::Read::new(Fd(raw), ptr, len as u32).offset(offset).build();
        match self.enqueue(key, entry) {
            Ok(()) => Ok(key),
            Err(error) => {
                let slot = &mut self.slots[key.index as usize];
                match std::mem::replace(&mut slot.payload, Payload::None) {
                    Payload::Owned(buf) => Err((error, buf)),
                    Payload::None | Payload::Static(_) => Err((error, Vec::new())),
                }
            }
        }
    }

    /// A timeout: completes with `-ETIME` when it expires, `-ECANCELED` if cancelled.
    pub fn push_timeout(&mut self, expiry: Expiry, tag: u64) -> Result<OpKey, PushError> {
        let (timespec, flags) = expiry.timespec();
        let (key, slot) = self.claim(OpKind::Timeout, tag)?;
        slot.timespec = timespec;
        let entry = opcode::Timeout::new(&raw const slot.timespec).flags(flags).build();
        self.enqueue(key, entry)?;
        Ok(key)
    }

    /// Moves the expiry of an armed timeout. Completes with 0, or `-ENOENT` if the target
    /// already fired.
    pub fn push_timeout_update(
        &mut self,
        target: OpKey,
        expiry: Expiry,
        tag: u64,
    ) -> Result<OpKey, PushError> {
        let (timespec, flags) = expiry.timespec();
        let (key, slot) = self.claim(OpKind::TimeoutUpdate, tag)?;
        slot.timespec = timespec;
        let entry = opcode::TimeoutUpdate::new(target.user_data(), &raw const slot.timespec)
            .flags(flags)
            .build();
        self.enqueue(key, entry)?;
        Ok(key)
    }

    /// Asks the kernel to cancel `target`. The target still completes (usually with
    /// `-ECANCELED`) and only then returns its buffer; this op completes with 0 or `-ENOENT`.
    pub fn push_cancel(&mut self, target: OpKey, tag: u64) -> Result<OpKey, PushError> {
        let (key, _) = self.claim(OpKind::Cancel, tag)?;
        self.enqueue(key, opcode::AsyncCancel::new(target.user_data()).build())?;
        Ok(key)
    }

    /// Closes `fd` through the ring (no syscall on the caller's side). If the push fails the fd
    /// is closed synchronously instead, so it is closed either way.
    pub fn push_close(&mut self, fd: OwnedFd, tag: u64) -> Result<OpKey, PushError> {
        let (key, _) = self.claim(OpKind::Close, tag)?;
        let raw = fd.as_raw_fd();
        match self.enqueue(key, opcode::Close::new(Fd(raw)).build()) {
            Ok(()) => {
                // The kernel owns the descriptor now and closes it when the op runs.
                let _ = fd.into_raw_fd();
                Ok(key)
            }
            Err(error) => Err(error),
        }
    }

    /// `shutdown(socket, SHUT_WR)`: sends FIN after queued data, keeps reading possible.
    pub fn push_shutdown_write(
        &mut self,
        socket: &Rc<OwnedFd>,
        tag: u64,
    ) -> Result<OpKey, PushError> {
        let raw = socket.as_raw_fd();
        let (key, slot) = self.claim(OpKind::Shutdown, tag)?;
        slot.fd = Some(Rc::clone(socket));
        let how = rustix::net::Shutdown::Write as i32;
        self.enqueue(key, opcode::Shutdown::new(Fd(raw), how).build())?;
        Ok(key)
    }

    /// Submits queued SQEs without waiting, and posts completions that are ready (runs the
    /// ring's deferred task work).
    pub fn submit(&mut self) -> io::Result<usize> {
        self.submit_and_wait(0)
    }

    /// Moves every ready CQE into `out` (appending), returning the number moved. At most
    /// `out`'s spare capacity is moved per call when it has any, so the caller can bound the
    /// work and avoid reallocating.
    pub fn drain(&mut self, out: &mut Vec<Completion>) -> usize {
        let limit = match out.capacity() - out.len() {
            0 => usize::MAX,
            spare => spare,
        };
        let mut moved = 0;
        let Ring { uring, bufs, slots, free, in_flight, stats, .. } = self;
        let mut cq = uring.completion();
        while moved < limit {
            let Some(cqe) = cq.next() else { break };
            moved += 1;
            stats.completions += 1;
            let key = OpKey::from_user_data(cqe.user_data());
            let slot = slots.get_mut(key.index as usize);
            assert!(slot.is_some(), "CQE names slot {} beyond capacity", key.index);
            let Some(slot) = slot else { continue };
            assert!(slot.busy, "CQE for slot {} that is not in flight", key.index);
            assert_eq!(slot.generation, key.generation, "CQE for a recycled slot");
            let flags = cqe.flags();
            let result = cqe.result();
            let more = cqueue::more(flags);
            let provided = cqueue::buffer_select(flags)
                .map(|bid| bufs.lend(bid, u32::try_from(result).unwrap_or(0)));
            let accepted = if slot.kind == OpKind::AcceptMulti && result >= 0 {
                // SAFETY: an accept CQE with a non-negative result carries a new descriptor
                // that nothing else owns; wrapping it makes this Completion its only owner.
                Some(unsafe { OwnedFd::from_raw_fd(result) })
            } else {
                None
            };
            let mut buf = Vec::new();
            if !more {
                if let Payload::Owned(owned) = std::mem::replace(&mut slot.payload, Payload::None) {
                    buf = owned;
                    if slot.kind == OpKind::Read && result > 0 {
                        let grown = buf.len().saturating_add(result as usize);
                        assert!(grown <= buf.capacity(), "kernel read past the buffer");
                        // SAFETY: the kernel wrote `result` bytes into the spare capacity
                        // starting at the old length (push_read), so the first `grown` bytes
                        // are initialized, and `grown <= capacity` was just checked.
                        unsafe { buf.set_len(grown) };
                    }
                }
                slot.fd = None;
                slot.busy = false;
                *in_flight -= 1;
                free.push(key.index);
            }
            out.push(Completion {
                tag: slot.tag,
                key,
                kind: slot.kind,
                result,
                more,
                buf,
                provided,
                accepted,
            });
        }
        moved
    }
}

#[cfg(test)]
mod tests;
