//! Connection I/O of a shard: recv and send completions, task responses (`deliver`), file
//! bodies, the end-of-iteration flush, deadlines, lingering and closing.
//!
//! File bodies (`GET /file/{id}`) are sent by `file_body.rs`; `flush` starts their reads.
//!
//! Each function takes a connection index and moves that connection's state machine
//! (`crate::conn::Conn`) one step, pushing ring ops as needed; `crate::pipeline` handles the
//! request bytes themselves. The loop that calls these is in the parent module.

use std::os::fd::OwnedFd;
use std::rc::Rc;

use super::{Delivery, Shard};
use crate::conn::{FileSend, Life, Phase, SLOT_READ, SLOT_WRITE, class};
use crate::limits;
use crate::metrics::TimeoutKind;
use crate::ring::{Completion, Expiry, errno};
use crate::router::Response;
use crate::sys;
use crate::tag::{self, Kind};
use crate::timer::TimerLists;

/// The 503 reason that replaces a deferred reply past `-shard-replies-bytes-max`.
const REPLIES_FULL: &str =
    "server busy: replies not yet read by their clients fill this shard's budget; retry";

impl Shard {
    pub(super) fn on_recv(&mut self, index: u32, generation: u32, mut completion: Completion) {
        let conn = self.conns.get_mut(index);
        assert!(
            tag::same_generation(conn.generation, generation),
            "recv completion for a reused slot"
        );
        if !completion.more {
            conn.recv = None;
        }
        let result = completion.result;
        if let Some(provided) = completion.provided.take() {
            self.metrics.bytes_received.add(provided.len() as u64);
            let reactor = Rc::clone(&self.reactor);
            {
                let ring = reactor.ring.borrow();
                self.input(index, ring.bufs.bytes(&provided));
            }
            reactor.ring.borrow_mut().bufs.recycle(provided);
            let conn = self.conns.get_mut(index);
            if conn.recv.is_none() && conn.life != Life::Closing {
                conn.needs_recv = true;
            }
            self.mark_dirty(index);
        } else if result == 0 {
            self.on_peer_eof(index);
        } else if result == -errno::ENOBUFS {
            self.metrics.recv_rearms.inc();
            self.conns.get_mut(index).needs_recv = true;
            self.mark_dirty(index);
        } else if result == -errno::ECANCELED {
            // We cancelled it: closing, or pausing reads while output drains.
        } else if result < 0 {
            self.close(index);
        }
        if self.conns.get(index).life == Life::Closing {
            self.try_finish_close(index);
        }
    }

    pub(super) fn on_peer_eof(&mut self, index: u32) {
        let conn = self.conns.get_mut(index);
        conn.peer_eof = true;
        conn.needs_recv = false;
        match conn.life {
            Life::Lingering => self.close(index),
            Life::Open => {
                // A request cut short is dropped; answers already due are still sent (a client
                // may shut down its write side after a full request and wait for the response).
                let waiting = matches!(conn.phase, Phase::Deferred { .. })
                    || !conn.nothing_queued()
                    || conn.send.is_some()
                    || conn.file.is_some()
                    || (!conn.inbuf.is_empty() && conn.can_parse());
                if waiting {
                    conn.close_after_flush = true;
                    if !matches!(conn.phase, Phase::Deferred { .. }) {
                        conn.phase = Phase::Idle;
                    }
                    self.mark_dirty(index);
                } else {
                    self.close(index);
                }
            }
            Life::Closing | Life::Free => {}
        }
    }

    pub(super) fn on_send(&mut self, index: u32, generation: u32, completion: Completion) {
        let conn = self.conns.get_mut(index);
        assert!(
            tag::same_generation(conn.generation, generation),
            "send completion for a reused slot"
        );
        conn.send = None;
        let mut buf = completion.buf;
        if completion.result <= 0 || conn.life == Life::Closing {
            if completion.result < 0 && completion.result != -errno::ECANCELED {
                self.metrics.send_errors.inc();
            }
            self.give_buffer(buf);
            if self.conns.get(index).life == Life::Closing {
                self.try_finish_close(index);
            } else {
                self.close(index);
            }
            return;
        }
        let sent = completion.result as usize;
        self.metrics.bytes_sent.add(sent as u64);
        let conn = self.conns.get_mut(index);
        let done = conn.send_offset + sent;
        if done < buf.len() {
            // Short send (socket buffer full): send the rest; progress restarts the write timer.
            let fd = conn.fd.clone();
            conn.send_offset = done;
            if let Some(fd) = fd {
                let tag = tag::encode(Kind::Send, index, generation);
                let pushed = self.reactor.ring.borrow_mut().push_send(&fd, buf, done, tag);
                match pushed {
                    Ok(key) => {
                        self.conns.get_mut(index).send = Some(key);
                        self.timers.arm(&mut self.conns, index, class::WRITE, self.now_ns);
                        return;
                    }
                    Err((_, back)) => {
                        self.metrics.ring_full.inc();
                        buf = back;
                    }
                }
            }
            self.give_buffer(buf);
            self.close(index);
            return;
        }
        let (count, since) = (conn.sending_count, conn.sending_since_ns);
        conn.sending_count = 0;
        if count > 0 {
            self.metrics.observe_latency(self.now_ns.saturating_sub(since), u64::from(count));
        }
        buf.clear();
        let conn = self.conns.get_mut(index);
        if conn.file.as_ref().is_some_and(|file| file.offset >= file.end) {
            conn.file = None; // the file body's last chunk is out: close the descriptor
        }
        if conn.file.is_none() && buf.capacity() > limits::POOLED_BUFFER_BYTES_MAX {
            // A large response (a `/run` with big outputs) or a file body's chunks grew the
            // buffer: do not keep that on a connection that may now idle (up to the idle
            // timeout) — every idle connection would pin its largest answer.
            buf = Vec::new();
        }
        if conn.out.capacity() == 0 {
            conn.out = buf;
        } else {
            self.give_buffer(buf);
        }
        if self.conns.get(index).nothing_queued() {
            self.conns.release_reply(index); // every reply queued on it is sent
        }
        self.timers.disarm(&mut self.conns, index, SLOT_WRITE);
        self.resume(index);
        self.mark_dirty(index);
    }

    /// Writes a task's response to its connection and resumes the requests behind it.
    pub(super) fn deliver(&mut self) {
        if self.deliveries.borrow().is_empty() {
            return;
        }
        let deliveries = std::mem::take(&mut *self.deliveries.borrow_mut());
        for Delivery { index, generation, mut response } in deliveries {
            let conn = self.conns.get_mut(index);
            if conn.generation != generation || conn.life != Life::Open {
                continue;
            }
            let Phase::Deferred { version, keep_alive, head_only, .. } = conn.phase else {
                continue;
            };
            conn.phase = Phase::Idle;
            let keep_alive = keep_alive && !self.shutting_down;
            // A large reply counts against the shard's reply budget until it is sent; past
            // the budget it is replaced by a 503 (small ones cost no more than the inline
            // output every connection may queue).
            let size = if head_only || response.file.is_some() { 0 } else { response.body_len() };
            let large = size > limits::CONN_OUTPUT_BYTES_MAX as u64;
            if large && !self.conns.reserve_reply(index, size) {
                response = Response::json_error(503, REPLIES_FULL);
                response.headers.push(("Retry-After", "1".to_owned()));
            }
            let status = response.status;
            if large
                && let Some(framed) =
                    crate::response::frame_in_place(&mut response, &self.date, version, keep_alive)
            {
                // Sent from the buffer it was encoded in once `out` is empty (`flush`). Nothing
                // is parsed while a reply waits, so no second deferred reply can meet it here.
                let conn = self.conns.get_mut(index);
                assert!(conn.reply.is_none(), "slot {index} already has a reply waiting");
                conn.reply = Some(framed);
                self.metrics.response(status);
                self.queued_response(index, keep_alive);
                self.resume(index);
                self.mark_dirty(index);
                continue;
            }
            self.ensure_out(index);
            let conn = self.conns.get_mut(index);
            crate::response::write_response(
                &mut conn.out,
                &self.date,
                version,
                keep_alive,
                head_only,
                &response,
            );
            // A file body is sent after the head, a chunk at a time (`conn_io`); parsing
            // waits until it is done. HEAD drops the descriptor here.
            if let Some(file) = response.file.take()
                && !head_only
                && file.len > 0
            {
                conn.file = Some(FileSend { fd: Rc::new(file.fd), offset: 0, end: file.len });
            }
            self.metrics.response(response.status);
            self.queued_response(index, keep_alive);
            self.resume(index);
            self.mark_dirty(index);
        }
    }

    /// Returns an output buffer to the shard's pool.
    pub(crate) fn give_buffer(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() > 0
            && buf.capacity() <= limits::POOLED_BUFFER_BYTES_MAX
            && self.out_pool.len() < limits::BUFFER_POOL_COUNT_MAX
        {
            buf.clear();
            self.out_pool.push(buf);
        }
    }

    /// Queues a connection for the end-of-iteration flush.
    pub(crate) fn mark_dirty(&mut self, index: u32) {
        let conn = self.conns.get_mut(index);
        if !conn.dirty {
            conn.dirty = true;
            self.dirty.push(index);
        }
    }

    /// Sends what each dirty connection has queued, re-arms or pauses its recv, and closes it
    /// if it asked to close once flushed.
    pub(super) fn flush_dirty(&mut self) {
        while let Some(index) = self.dirty.pop() {
            self.conns.get_mut(index).dirty = false;
            self.flush(index);
        }
    }

    pub(super) fn flush(&mut self, index: u32) {
        let generation = self.conns.get(index).generation;
        let conn = self.conns.get_mut(index);
        if conn.life == Life::Free || conn.life == Life::Closing {
            return;
        }
        let Some(fd) = conn.fd.clone() else { return };
        if conn.wants_pause {
            conn.wants_pause = false;
            if let Some(recv) = conn.recv {
                if self.reactor.ring.borrow_mut().push_cancel(recv, tag::IGNORE).is_ok() {
                    self.conns.get_mut(index).recv_paused = true;
                } else {
                    self.metrics.ring_full.inc();
                }
            }
        }
        let conn = self.conns.get_mut(index);
        // A reply framed in its own buffer goes out once everything before it has: it becomes
        // `out` as is, sent from where its head starts.
        let mut start = 0;
        if conn.send.is_none()
            && conn.out.is_empty()
            && let Some((reply, at)) = conn.reply.take()
        {
            let old = std::mem::replace(&mut conn.out, reply);
            start = at;
            self.give_buffer(old);
        }
        let conn = self.conns.get_mut(index);
        if conn.send.is_none() && conn.out.len() > start {
            let buf = std::mem::take(&mut conn.out);
            // A small response to a connection that stays open leaves during the next enter:
            // the wait need not count its completion (one enter per request, not two), and
            // its latency is booked now, since its completion may be drained only with the
            // next event.
            // Not for the head of a file body: its completion starts the body, so the wait
            // must return for it (declared inline, it would wait for another event, up to
            // `INLINE_WAIT_BOUND`).
            let inline = buf.len() <= limits::INLINE_SEND_BYTES_MAX
                && !conn.close_after_flush
                && conn.file.is_none();
            let (count, since) = (conn.out_count, conn.out_since_ns);
            conn.sending_count = if inline { 0 } else { count };
            conn.sending_since_ns = since;
            conn.out_count = 0;
            conn.send_offset = start;
            let tag = tag::encode(Kind::Send, index, generation);
            let mut ring = self.reactor.ring.borrow_mut();
            let pushed = ring.push_send(&fd, buf, start, tag);
            if inline && pushed.is_ok() {
                ring.expect_inline();
            }
            drop(ring);
            match pushed {
                Ok(key) => {
                    if inline {
                        let elapsed = self.now_ns.saturating_sub(since);
                        self.metrics.observe_latency(elapsed, u64::from(count));
                    }
                    self.conns.get_mut(index).send = Some(key);
                    self.timers.arm(&mut self.conns, index, class::WRITE, self.now_ns);
                    // Room in `out` again: parse what waits behind the full pipeline.
                    self.resume(index);
                }
                Err((_, buf)) => {
                    self.metrics.ring_full.inc();
                    self.give_buffer(buf);
                    self.close(index);
                    return;
                }
            }
        }
        let conn = self.conns.get(index);
        if conn.send.is_none()
            && conn.out.is_empty()
            && conn.file.is_some()
            && !self.read_file_chunk(index)
        {
            return;
        }
        let conn = self.conns.get_mut(index);
        let reading_wanted =
            conn.life == Life::Lingering || (conn.can_parse() || conn.close_after_flush);
        if conn.needs_recv
            && conn.recv.is_none()
            && !conn.peer_eof
            && !conn.recv_paused
            && reading_wanted
        {
            conn.needs_recv = false;
            let tag = tag::encode(Kind::Recv, index, generation);
            let pushed = self.reactor.ring.borrow_mut().push_recv_multi(&fd, tag);
            match pushed {
                Ok(key) => self.conns.get_mut(index).recv = Some(key),
                Err(_) => {
                    self.metrics.ring_full.inc();
                    return self.close(index);
                }
            }
        }
        let conn = self.conns.get(index);
        if conn.close_after_flush
            && conn.send.is_none()
            && conn.nothing_queued()
            && conn.file.is_none()
            && conn.life == Life::Open
        {
            if matches!(conn.phase, Phase::Deferred { .. }) {
                return;
            }
            if conn.linger && !conn.peer_eof {
                self.start_linger(index, &fd);
            } else {
                self.close(index);
            }
            return;
        }
        self.update_read_timer(index);
    }

    /// After an error response: shut down the write side and read until the client closes (or
    /// the linger timeout), so the client reads the response instead of a reset.
    pub(super) fn start_linger(&mut self, index: u32, fd: &Rc<OwnedFd>) {
        let generation = self.conns.get(index).generation;
        let pushed = self
            .reactor
            .ring
            .borrow_mut()
            .push_shutdown_write(fd, tag::encode(Kind::Shutdown, index, generation));
        if pushed.is_err() {
            self.metrics.ring_full.inc();
            return self.close(index);
        }
        let conn = self.conns.get_mut(index);
        conn.life = Life::Lingering;
        conn.inbuf.clear();
        if conn.recv.is_none() {
            let tag = tag::encode(Kind::Recv, index, generation);
            let pushed = self.reactor.ring.borrow_mut().push_recv_multi(fd, tag);
            match pushed {
                Ok(key) => self.conns.get_mut(index).recv = Some(key),
                Err(_) => return self.close(index),
            }
        }
        self.timers.arm(&mut self.conns, index, class::LINGER, self.now_ns);
    }

    /// Picks the read-side deadline that matches where the connection is.
    pub(crate) fn update_read_timer(&mut self, index: u32) {
        let conn = self.conns.get(index);
        if conn.life != Life::Open {
            return;
        }
        let armed = TimerLists::armed_class(&mut self.conns, index, SLOT_READ);
        let conn = self.conns.get(index);
        let want = match conn.phase {
            Phase::Deferred { .. } => None,
            Phase::Body { .. } => Some(class::BODY),
            Phase::Head => Some(class::HEADER),
            // Complete requests waiting for output room: the write timer governs.
            Phase::Idle if !conn.inbuf.is_empty() && !conn.can_parse() => None,
            Phase::Idle if !conn.inbuf.is_empty() => Some(class::HEADER),
            // While a response is being sent the write deadline covers the connection; the idle
            // one starts when the send completes (one timer update per request, not two).
            Phase::Idle if conn.send.is_some() => return,
            Phase::Idle => Some(class::IDLE),
        };
        match want {
            None => self.timers.disarm(&mut self.conns, index, SLOT_READ),
            // The header deadline runs from the first byte of the request: never pushed back.
            Some(class::HEADER) if armed == Some(class::HEADER) => {}
            Some(class) => self.timers.arm(&mut self.conns, index, class, self.now_ns),
        }
    }

    pub(super) fn expire_timers(&mut self) {
        if self.shutting_down && self.now_ns >= self.shutdown_deadline_ns && !self.forced {
            tracing::warn!(
                shard = self.index,
                "shutdown timeout: closing the remaining connections"
            );
            self.force_close_all();
        }
        while let Some((index, class)) = self.timers.pop_expired(&mut self.conns, self.now_ns) {
            self.on_deadline(index, class);
        }
    }

    pub(super) fn on_deadline(&mut self, index: u32, timer: u8) {
        let conn = self.conns.get(index);
        match timer {
            class::IDLE => {
                if conn.send.is_some() || !conn.nothing_queued() || conn.file.is_some() {
                    self.timers.arm(&mut self.conns, index, class::IDLE, self.now_ns);
                } else {
                    self.metrics.timeout(TimeoutKind::Idle);
                    self.close(index);
                }
            }
            class::HEADER | class::BODY => {
                let kind =
                    if timer == class::HEADER { TimeoutKind::Header } else { TimeoutKind::Body };
                self.metrics.timeout(kind);
                self.fail(index, 408, "request timeout", shardbox_http::Version::Http11);
                self.mark_dirty(index);
            }
            class::WRITE => {
                self.metrics.timeout(TimeoutKind::Write);
                self.close(index);
            }
            _ => self.close(index),
        }
    }

    /// Arms (or moves earlier) the one ring timeout for the earliest deadline.
    pub(super) fn arm_timer(&mut self) {
        let mut next = self.timers.next_deadline(&mut self.conns);
        if self.shutting_down && !self.forced {
            next =
                Some(next.map_or(self.shutdown_deadline_ns, |n| n.min(self.shutdown_deadline_ns)));
        }
        let Some(next) = next else { return };
        let slack = limits::TIMER_SLACK.as_nanos() as u64;
        let mut ring = self.reactor.ring.borrow_mut();
        match self.timer {
            None => match ring
                .push_timeout(Expiry::AtMonotonicNs(next), tag::encode(Kind::Timer, 0, 0))
            {
                Ok(key) => self.timer = Some((key, next)),
                Err(_) => self.metrics.ring_full.inc(),
            },
            Some((key, armed)) if next.saturating_add(slack) < armed => {
                if ring.push_timeout_update(key, Expiry::AtMonotonicNs(next), tag::IGNORE).is_ok() {
                    self.timer = Some((key, next));
                }
            }
            Some(_) => {}
        }
    }

    /// Starts closing a connection now: cancels its ops; the slot is freed when they complete.
    pub(crate) fn close(&mut self, index: u32) {
        let conn = self.conns.get_mut(index);
        if conn.life == Life::Closing || conn.life == Life::Free {
            return;
        }
        conn.life = Life::Closing;
        let task = match conn.phase {
            Phase::Deferred { task, .. } => Some(task),
            _ => None,
        };
        conn.phase = Phase::Idle;
        let (recv, send) = (conn.recv, conn.send);
        self.timers.disarm(&mut self.conns, index, SLOT_READ);
        self.timers.disarm(&mut self.conns, index, SLOT_WRITE);
        if let Some(task) = task {
            self.reactor.abort(task);
        }
        let mut ring = self.reactor.ring.borrow_mut();
        for key in [recv, send].into_iter().flatten() {
            if ring.push_cancel(key, tag::IGNORE).is_err() {
                self.metrics.ring_full.inc();
                // The op still completes on its own when the fd is shut down below.
            }
        }
        drop(ring);
        if let Some(fd) = &self.conns.get(index).fd
            && (recv.is_some() || send.is_some())
        {
            // Belt and braces: a shut-down socket completes any op still waiting on it.
            let _ = sys::shutdown_socket(sys::borrow(fd));
        }
        self.try_finish_close(index);
    }

    /// Frees a closing slot once its recv and send have completed.
    pub(crate) fn try_finish_close(&mut self, index: u32) {
        let conn = self.conns.get_mut(index);
        if conn.life != Life::Closing || conn.recv.is_some() || conn.send.is_some() {
            return;
        }
        if let Some(fd) = conn.fd.take() {
            // Close through the ring when nothing else holds the fd; otherwise the last holder
            // (a shutdown op) closes it when it completes.
            if let Ok(fd) = Rc::try_unwrap(fd) {
                let _ = self.reactor.ring.borrow_mut().push_close(fd, tag::IGNORE);
            }
        }
        self.conns.release(index);
        self.metrics.conns_closed.inc();
    }
}
