//! Connection slots: the per-connection state the shard's callbacks move along.
//!
//! A `Conn` is a plain state machine, no future and no waker. Its fields say which ring ops
//! it has in flight (a multishot `recv`, at most one `send`), what is buffered (`inbuf`: bytes of
//! a request not yet complete; `out`: responses not yet handed to a send; the buffer being sent
//! sits in the send op's ring slot), where it is in the current request (`Phase`), and its two
//! timer links. `Conns` is the fixed-capacity slab of slots (capacity = the per-shard
//! connection cap); a slot is reused for the next connection only after every op of the previous
//! one has completed, so a late completion can never reach the wrong connection (the generation
//! in each tag double-checks it). Slots keep their buffers across connections, so a busy shard
//! stops allocating once its slots are warm.
//!
//! ```text
//!   accept ─► Open ──(error / Connection: close / EOF)──► [flush] ─► Lingering ─► Closing ─► Free
//!               │                                                      (after an error)   ▲
//!               └──────────────(timeout, reset, shutdown)─────────────────────────────────┘
//!   Closing: cancels pushed, waiting for the recv and send completions; then close(fd), Free.
//! ```
//!
//! The request-level logic lives in `crate::pipeline` and the shard-level in `crate::shard`.

use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use shardbox_http::{ChunkedDecoder, Version};

use crate::executor::TaskId;
use crate::ring::OpKey;
use crate::timer::{LinkStore, TimerLink};

/// Link slot of the read-side timers (idle, header, body, linger).
pub(crate) const SLOT_READ: usize = 0;
/// Link slot of the write timer.
pub(crate) const SLOT_WRITE: usize = 1;

/// Timer classes (indices into the shard's `TimerLists`).
pub(crate) mod class {
    /// Keep-alive: no request in progress.
    pub(crate) const IDLE: u8 = 0;
    /// Part of a request head received; runs from its first byte.
    pub(crate) const HEADER: u8 = 1;
    /// Body arriving; re-armed on each read.
    pub(crate) const BODY: u8 = 2;
    /// After an error response: reading and discarding until the client closes.
    pub(crate) const LINGER: u8 = 3;
    /// A send in flight; re-armed on each progress.
    pub(crate) const WRITE: u8 = 4;
}

/// `(timeout, link slot)` per timer class, in class order.
pub(crate) fn timer_classes(
    idle: Duration,
    header: Duration,
    body: Duration,
    write: Duration,
) -> [(Duration, usize); 5] {
    [
        (idle, SLOT_READ),
        (header, SLOT_READ),
        (body, SLOT_READ),
        (crate::limits::LINGER_TIMEOUT, SLOT_READ),
        (write, SLOT_WRITE),
    ]
}

/// Lifecycle of a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    /// Unused.
    Free,
    /// Serving requests.
    Open,
    /// Its last response is sent and the write side shut; discarding input until EOF.
    Lingering,
    /// Waiting for its in-flight ops to complete before the fd is closed.
    Closing,
}

/// How the body of the request at the start of `inbuf` is framed, and progress so far.
#[derive(Debug)]
pub(crate) enum BodyFraming {
    /// `Content-Length`: this many body bytes follow the head.
    Length(u64),
    /// Chunked: the decoder's state and how many bytes after the head it has consumed; the
    /// decoded data so far is in `Conn::body`.
    Chunked { decoder: ChunkedDecoder, raw: usize },
}

/// Where a connection is in its current request.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Between requests: nothing of the next one received.
    Idle,
    /// Part of a request head is in `inbuf`.
    Head,
    /// The head (at the start of `inbuf`, `head_len` bytes) is complete; its body is arriving.
    Body { head_len: usize, framing: BodyFraming },
    /// A handler's task is computing the response; later requests wait in `inbuf`.
    Deferred { task: TaskId, version: Version, keep_alive: bool, head_only: bool },
}

/// A file body being sent after its head (`crate::router::FileBody`): one read of at most
/// `limits::FILE_CHUNK_BYTES` into the connection's `out`, then its send, then the next read.
/// The read and the send use the connection's one write-side op slot (`Conn::send`), so closing
/// cancels whichever is in flight.
#[derive(Debug)]
pub(crate) struct FileSend {
    /// The response's own descriptor; each op in flight holds a clone of the `Rc`.
    pub(crate) fd: Rc<OwnedFd>,
    /// Bytes read so far (the next read's offset).
    pub(crate) offset: u64,
    /// The body's length.
    pub(crate) end: u64,
}

/// One connection slot.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) generation: u32,
    pub(crate) life: Life,
    pub(crate) fd: Option<Rc<OwnedFd>>,
    /// The armed multishot recv.
    pub(crate) recv: Option<OpKey>,
    /// The send in flight (its buffer lives in the ring slot until the completion), or the
    /// read of a file body's next chunk.
    pub(crate) send: Option<OpKey>,
    /// A file body still being sent: nothing more is parsed until it is done.
    pub(crate) file: Option<FileSend>,
    /// Offset in the buffer the send in flight started at.
    pub(crate) send_offset: usize,
    /// Bytes of requests received but not yet answered (a partial head or body, or pipelined
    /// requests waiting behind a deferred one).
    pub(crate) inbuf: Vec<u8>,
    /// Decoded chunked body of the request in progress.
    pub(crate) body: Vec<u8>,
    /// Responses not yet handed to a send.
    pub(crate) out: Vec<u8>,
    /// A large deferred reply framed in its own buffer (`crate::response::frame_in_place`),
    /// sent from the offset once everything queued before it is out: it is handed to the
    /// ring as is, never copied into `out`. Nothing more is parsed until it is sent.
    pub(crate) reply: Option<(Vec<u8>, usize)>,
    /// Responses in `out`, and when the first of them was received (ns).
    pub(crate) out_count: u32,
    pub(crate) out_since_ns: u64,
    /// Responses in the send in flight, and when the first of them was received.
    pub(crate) sending_count: u32,
    pub(crate) sending_since_ns: u64,
    pub(crate) phase: Phase,
    /// Close once `out` and the send in flight are done; parse nothing more.
    pub(crate) close_after_flush: bool,
    /// Linger (shut down writing, drain input) before closing: set after error responses.
    pub(crate) linger: bool,
    /// The client closed its write side (recv returned 0).
    pub(crate) peer_eof: bool,
    /// The recv must be pushed (again) at the next flush.
    pub(crate) needs_recv: bool,
    /// The recv was cancelled to stop reading while output drains.
    pub(crate) recv_paused: bool,
    /// Reading should pause: cancel the recv at the next flush.
    pub(crate) wants_pause: bool,
    /// A `100 Continue` was sent for the request in progress.
    pub(crate) continue_sent: bool,
    /// When the body in progress started arriving (its head was complete), for
    /// [`crate::timer::body_too_slow`].
    pub(crate) body_since_ns: u64,
    /// Bytes of the shard's body budget this connection's body in progress holds
    /// ([`Conns::reserve_body`]).
    pub(crate) body_reserved: u64,
    /// Bytes of the shard's reply budget this connection's deferred replies not yet sent hold
    /// ([`Conns::reserve_reply`]).
    pub(crate) reply_reserved: u64,
    /// In the shard's flush list.
    pub(crate) dirty: bool,
    pub(crate) links: [TimerLink; 2],
}

impl Conn {
    fn empty() -> Conn {
        Conn {
            generation: 0,
            life: Life::Free,
            fd: None,
            recv: None,
            send: None,
            file: None,
            send_offset: 0,
            inbuf: Vec::new(),
            body: Vec::new(),
            out: Vec::new(),
            reply: None,
            out_count: 0,
            out_since_ns: 0,
            sending_count: 0,
            sending_since_ns: 0,
            phase: Phase::Idle,
            close_after_flush: false,
            linger: false,
            peer_eof: false,
            needs_recv: false,
            recv_paused: false,
            wants_pause: false,
            continue_sent: false,
            body_since_ns: 0,
            body_reserved: 0,
            reply_reserved: 0,
            dirty: false,
            links: [TimerLink::default(); 2],
        }
    }

    /// Whether nothing is in progress: no partial request, nothing to send, no task.
    pub(crate) fn is_quiet(&self) -> bool {
        matches!(self.phase, Phase::Idle)
            && self.inbuf.is_empty()
            && self.out.is_empty()
            && self.reply.is_none()
            && self.send.is_none()
            && self.file.is_none()
    }

    /// Whether nothing is queued to send: `out` is empty and no reply waits behind it.
    pub(crate) fn nothing_queued(&self) -> bool {
        self.out.is_empty() && self.reply.is_none()
    }

    /// Whether the output queued on this connection is at its limit.
    pub(crate) fn output_full(&self) -> bool {
        self.reply.is_some()
            || self.out_count >= crate::limits::PIPELINE_DEPTH_MAX
            || self.out.len() >= crate::limits::CONN_OUTPUT_BYTES_MAX
    }

    /// Whether more requests may be parsed now.
    pub(crate) fn can_parse(&self) -> bool {
        self.life == Life::Open
            && !self.close_after_flush
            && !matches!(self.phase, Phase::Deferred { .. })
            && self.file.is_none()
            && !self.output_full()
    }
}

/// A shard's reply budget (`-shard-replies-bytes-max`) as its handlers and the judge's workers
/// see it: the bytes its deferred replies not yet sent hold, kept up to date by `Conns`.
#[derive(Debug, Clone)]
pub struct RepliesGauge {
    held: Arc<AtomicU64>,
    max: u64,
}

impl RepliesGauge {
    /// Whether the budget is spent: unsent replies hold so much that any reply it charges
    /// (one over `limits::CONN_OUTPUT_BYTES_MAX`) would be replaced by a 503 now
    /// (`Conns::reserve_reply`). `/run` then refuses a run whose reply could be that large
    /// before running it, rather than losing its results after.
    pub fn is_spent(&self) -> bool {
        let held = self.held.load(Ordering::Relaxed);
        let charged_min = crate::limits::CONN_OUTPUT_BYTES_MAX as u64 + 1;
        held > 0 && held.saturating_add(charged_min) > self.max
    }
}

/// Why a connection slot could not be taken.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AtCapacity;

/// The connection slots of one shard.
#[derive(Debug)]
pub(crate) struct Conns {
    slots: Vec<Conn>,
    free: Vec<u32>,
    live: u32,
    max: u32,
    /// Sum of every connection's `body_reserved`.
    bodies_reserved: u64,
    /// The shard's budget for bodies in progress (`-shard-bodies-bytes-max`).
    bodies_max: u64,
    /// Sum of every connection's `reply_reserved`.
    replies_reserved: u64,
    /// The shard's budget for deferred replies not yet sent (`-shard-replies-bytes-max`).
    replies_max: u64,
    /// `replies_reserved` for other threads.
    replies_gauge: RepliesGauge,
}

impl Conns {
    /// Room for `max` connections; slots are created as needed. Bodies still arriving may
    /// hold `bodies_max` bytes in all, deferred replies not yet sent `replies_max`.
    pub(crate) fn new(max: u32, bodies_max: u64, replies_max: u64) -> Conns {
        Conns {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            max,
            bodies_reserved: 0,
            bodies_max,
            replies_reserved: 0,
            replies_max,
            replies_gauge: RepliesGauge { held: Arc::new(AtomicU64::new(0)), max: replies_max },
        }
    }

    /// The shard's reply budget as other threads see it.
    pub(crate) fn replies_gauge(&self) -> RepliesGauge {
        self.replies_gauge.clone()
    }

    fn publish_replies(&self) {
        self.replies_gauge.held.store(self.replies_reserved, Ordering::Relaxed);
    }

    /// Adds `bytes` (a deferred reply about to be queued) to what `index`'s unsent replies
    /// hold of the shard's budget. `false` when that would pass the budget while other
    /// connections hold part of it: a `/run` reply is bounded (`-copy-out-limit`, up to six
    /// times that as JSON), but a client that never reads keeps it until the write timeout,
    /// and one that reads a byte now and then keeps it for good, so without this many such
    /// clients hold the sum. A reply alone always passes.
    pub(crate) fn reserve_reply(&mut self, index: u32, bytes: u64) -> bool {
        let held = self.slots[index as usize].reply_reserved;
        let others = self.replies_reserved - held;
        if others > 0 && self.replies_reserved.saturating_add(bytes) > self.replies_max {
            return false;
        }
        self.replies_reserved += bytes;
        self.slots[index as usize].reply_reserved = held + bytes;
        self.publish_replies();
        true
    }

    /// Gives back what `index`'s replies held (everything queued on it has been sent).
    pub(crate) fn release_reply(&mut self, index: u32) {
        let conn = &mut self.slots[index as usize];
        self.replies_reserved -= conn.reply_reserved;
        conn.reply_reserved = 0;
        self.publish_replies();
    }

    /// Bytes reserved by deferred replies not yet sent.
    #[cfg(test)]
    pub(crate) fn replies_reserved(&self) -> u64 {
        self.replies_reserved
    }

    /// Grows what the body in progress on `index` holds of the shard's budget to `bytes`.
    /// `false` when that would pass the budget while other bodies hold part of it: each
    /// connection's body is bounded (`body_bytes_max`), but without this their sum is not,
    /// and a client trickling large bodies over many connections holds all of it. A body
    /// alone is always allowed, so any valid request can still be sent.
    pub(crate) fn reserve_body(&mut self, index: u32, bytes: u64) -> bool {
        let held = self.slots[index as usize].body_reserved;
        let more = bytes.saturating_sub(held);
        let others = self.bodies_reserved - held;
        if more > 0 && others > 0 && self.bodies_reserved.saturating_add(more) > self.bodies_max {
            return false;
        }
        self.bodies_reserved += more;
        self.slots[index as usize].body_reserved = held + more;
        true
    }

    /// Gives back what the body on `index` held (it is complete, or the request failed).
    pub(crate) fn release_body(&mut self, index: u32) {
        let conn = &mut self.slots[index as usize];
        self.bodies_reserved -= conn.body_reserved;
        conn.body_reserved = 0;
    }

    /// Bytes reserved by bodies in progress.
    #[cfg(test)]
    pub(crate) fn bodies_reserved(&self) -> u64 {
        self.bodies_reserved
    }

    /// Connections in use (open, lingering or closing).
    pub(crate) fn live(&self) -> u32 {
        self.live
    }

    /// Takes a slot for a new connection on `fd`.
    pub(crate) fn open(&mut self, fd: Rc<OwnedFd>) -> Result<(u32, u32), AtCapacity> {
        if self.live >= self.max {
            return Err(AtCapacity);
        }
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.slots.push(Conn::empty());
                (self.slots.len() - 1) as u32
            }
        };
        let conn = &mut self.slots[index as usize];
        assert_eq!(conn.life, Life::Free, "slot {index} on the free list is in use");
        assert!(conn.recv.is_none() && conn.send.is_none(), "free slot {index} has ops in flight");
        let generation = conn.generation.wrapping_add(1);
        let (inbuf, body, out) = (
            std::mem::take(&mut conn.inbuf),
            std::mem::take(&mut conn.body),
            std::mem::take(&mut conn.out),
        );
        *conn =
            Conn { generation, life: Life::Open, fd: Some(fd), inbuf, body, out, ..Conn::empty() };
        self.live += 1;
        Ok((index, generation))
    }

    /// Returns a slot whose ops have all completed. Keeps its buffers (cleared) for the next
    /// connection unless they grew large.
    pub(crate) fn release(&mut self, index: u32) {
        let conn = &mut self.slots[index as usize];
        assert_eq!(conn.life, Life::Closing, "releasing slot {index} that is not closing");
        assert!(conn.recv.is_none(), "releasing slot {index} with a recv in flight");
        assert!(conn.send.is_none(), "releasing slot {index} with a send in flight");
        assert!(conn.links.iter().all(|link| link.class().is_none()), "slot {index} has a timer");
        self.bodies_reserved -= conn.body_reserved;
        conn.body_reserved = 0;
        self.replies_reserved -= conn.reply_reserved;
        conn.reply_reserved = 0;
        self.publish_replies();
        let conn = &mut self.slots[index as usize];
        for buf in [&mut conn.inbuf, &mut conn.body, &mut conn.out] {
            buf.clear();
            if buf.capacity() > crate::limits::POOLED_BUFFER_BYTES_MAX {
                *buf = Vec::new();
            }
        }
        conn.fd = None;
        conn.file = None;
        conn.reply = None;
        conn.life = Life::Free;
        conn.phase = Phase::Idle;
        self.free.push(index);
        self.live -= 1;
    }

    /// The slot at `index`.
    pub(crate) fn get(&self, index: u32) -> &Conn {
        &self.slots[index as usize]
    }

    /// The slot at `index`, mutably.
    pub(crate) fn get_mut(&mut self, index: u32) -> &mut Conn {
        &mut self.slots[index as usize]
    }

    /// Indices of the slots in use.
    pub(crate) fn live_indices(&self) -> Vec<u32> {
        (0..self.slots.len() as u32)
            .filter(|&i| self.slots[i as usize].life != Life::Free)
            .collect()
    }

    /// Checks the slab's bookkeeping.
    pub(crate) fn check_invariants(&self) {
        let in_use = self.slots.iter().filter(|c| c.life != Life::Free).count();
        assert_eq!(in_use, self.live as usize, "live count drifted");
        assert_eq!(self.free.len() + in_use, self.slots.len(), "free list and slots disagree");
        assert!(self.live <= self.max);
        let reserved: u64 = self.slots.iter().map(|c| c.body_reserved).sum();
        assert_eq!(reserved, self.bodies_reserved, "body reservations drifted");
        let reserved: u64 = self.slots.iter().map(|c| c.reply_reserved).sum();
        assert_eq!(reserved, self.replies_reserved, "reply reservations drifted");
        let published = self.replies_gauge.held.load(Ordering::Relaxed);
        assert_eq!(published, self.replies_reserved, "the reply gauge drifted");
    }
}

impl LinkStore for Conns {
    fn link_mut(&mut self, index: u32, slot: usize) -> &mut TimerLink {
        &mut self.slots[index as usize].links[slot]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_reservations_are_bounded_and_given_back() {
        let mut conns = Conns::new(3, 10, u64::MAX);
        let a = conns.open(fd()).expect("a").0;
        let b = conns.open(fd()).expect("b").0;
        assert!(conns.reserve_body(a, 25), "a body alone passes, even past the budget");
        assert!(!conns.reserve_body(b, 1), "25 held: one more byte is refused");
        conns.release_body(a);
        assert!(conns.reserve_body(a, 4) && conns.reserve_body(a, 4), "growing to 4 twice");
        assert_eq!(conns.bodies_reserved(), 4);
        assert!(conns.reserve_body(b, 6), "4 + 6: the max itself");
        assert!(!conns.reserve_body(b, 7), "4 + 7: max + 1");
        assert!(conns.reserve_body(b, 5), "shrinking asks for nothing");
        conns.check_invariants();
        conns.get_mut(b).life = Life::Closing;
        conns.release(b);
        assert_eq!(conns.bodies_reserved(), 4, "a released slot gives its body back");
        conns.check_invariants();
    }

    #[test]
    fn reply_reservations_are_bounded_and_given_back() {
        let mut conns = Conns::new(3, u64::MAX, 10);
        let a = conns.open(fd()).expect("a").0;
        let b = conns.open(fd()).expect("b").0;
        assert!(conns.reserve_reply(a, 25), "a reply alone passes, even past the budget");
        assert!(conns.reserve_reply(a, 5), "and so does a second one on the same connection");
        assert!(!conns.reserve_reply(b, 1), "30 held elsewhere: one more byte is refused");
        conns.release_reply(a);
        assert!(conns.reserve_reply(a, 4), "given back");
        assert!(conns.reserve_reply(b, 6), "4 + 6: the max itself");
        assert!(!conns.reserve_reply(a, 1), "4 + 6 + 1: max + 1");
        assert_eq!(conns.replies_reserved(), 10);
        conns.check_invariants();
        conns.get_mut(b).life = Life::Closing;
        conns.release(b);
        assert_eq!(conns.replies_reserved(), 4, "a released slot gives its replies back");
        conns.check_invariants();
    }

    #[test]
    fn the_reply_gauge_is_spent_when_no_charged_reply_fits() {
        let charged_min = crate::limits::CONN_OUTPUT_BYTES_MAX as u64 + 1;
        let max = charged_min + 10;
        let mut conns = Conns::new(3, u64::MAX, max);
        let gauge = conns.replies_gauge();
        let (a, b) = (conns.open(fd()).expect("a").0, conns.open(fd()).expect("b").0);
        assert!(!gauge.is_spent(), "nothing held");
        for (held, spent) in [(9, false), (10, false), (11, true)] {
            conns.release_reply(a);
            assert!(conns.reserve_reply(a, held));
            assert_eq!(gauge.is_spent(), spent, "{held} held of {max}");
            // The gauge says what reserve_reply would do with the smallest charged reply.
            assert_eq!(conns.reserve_reply(b, charged_min), !spent, "{held} held of {max}");
            conns.release_reply(b);
        }
        conns.release_reply(a);
        assert!(!gauge.is_spent(), "given back");
        let empty = Conns::new(1, u64::MAX, 0).replies_gauge();
        assert!(!empty.is_spent(), "a budget of 0 with nothing held: a reply alone passes");
        conns.check_invariants();
    }

    fn fd() -> Rc<OwnedFd> {
        Rc::new(crate::sys::eventfd().expect("eventfd"))
    }

    #[test]
    fn slots_are_capped_and_reused_with_their_buffers() {
        let mut conns = Conns::new(2, u64::MAX, u64::MAX);
        let (a, gen_a) = conns.open(fd()).expect("a");
        let (b, _) = conns.open(fd()).expect("b");
        assert_eq!(conns.open(fd()), Err(AtCapacity));
        conns.get_mut(a).out.extend_from_slice(b"response");
        let capacity = conns.get(a).out.capacity();
        conns.get_mut(a).life = Life::Closing;
        conns.release(a);
        conns.check_invariants();
        let (again, gen_again) = conns.open(fd()).expect("reused");
        assert_eq!(again, a);
        assert_ne!(gen_again, gen_a, "a new generation for the new connection");
        assert!(conns.get(again).out.is_empty());
        assert_eq!(conns.get(again).out.capacity(), capacity, "buffer kept for reuse");
        assert_eq!(conns.live(), 2);
        assert_eq!(conns.live_indices(), vec![a, b]);
        conns.check_invariants();
    }

    #[test]
    #[should_panic(expected = "send in flight")]
    fn a_slot_with_ops_in_flight_is_not_released() {
        let mut conns = Conns::new(1, u64::MAX, u64::MAX);
        let (a, _) = conns.open(fd()).expect("a");
        let mut ring = crate::ring::Ring::new(crate::ring::RingConfig {
            sq_entries: 4,
            cq_entries: 8,
            recv_buffers: 4,
            recv_buffer_bytes: 512,
        })
        .expect("ring");
        let key = ring.push_nop(0).expect("nop");
        let conn = conns.get_mut(a);
        conn.send = Some(key);
        conn.life = Life::Closing;
        conns.release(a);
    }
}
