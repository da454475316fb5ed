//! A shard: one thread, one ring, one listener, its connections, timers and executor.
//!
//! The loop, once per iteration:
//!
//! ```text
//!   submit + wait (one io_uring_enter) ─► drain CQEs ─► dispatch each by tag:
//!       accept → open a connection (or 503 at the cap) and arm its multishot recv
//!       recv   → parse every complete request in place, answer inline into `out`
//!       send   → give the buffer back, re-send the rest, close if asked
//!       file read → send the chunk just read (a file body, after its head)
//!       timer / wake / signal / executor op
//!   ─► run ready tasks ─► write their responses ─► expire deadlines
//!   ─► flush: one send per connection that has output, (re)arm recvs, pauses
//!   ─► re-arm the single ring timeout for the earliest deadline
//! ```
//!
//! Nothing here blocks, allocates per request, or takes a lock. Batching comes from the loop
//! shape: every response produced in one iteration for a connection leaves in one send, and all
//! sends of the iteration are submitted with the next wait. That wait does not count the small
//! sends, which complete inline, and after a busy turn it asks for several completions at once
//! (bounded; see `crate::ring` `wait.rs`, `-wait-batch` and `limits::WAIT_BATCH_COMPLETIONS_*`).
//!
//! Shutdown (SIGTERM/SIGINT on shard 0's signalfd, or a `ShutdownHandle`): stop accepting,
//! close connections with nothing in flight, let the others finish the request they are in
//! (their responses carry `Connection: close`), then leave the loop once no connection is left
//! and every op has completed; after `shutdown_timeout`, or on a second signal, close the rest.

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use shardbox_http::{DateCache, Limits};

use crate::conn::{Conns, Life, Phase, class};
use crate::executor::Reactor;
use crate::limits;
use crate::metrics::ShardMetrics;
use crate::ring::{Completion, Expiry, OpKey, PushError, errno};
use crate::router::{Response, Router, ShardInfo};
use crate::server::ServerShared;
use crate::sys;
use crate::tag::{self, Kind};
use crate::timer::TimerLists;

mod conn_io;
mod file_body;

/// The canned answer to a connection beyond the cap (static: no allocation, no Date needed for
/// a 5xx).
pub(crate) const SHED_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: application/json\r\nContent-Length: 32\r\nConnection: close\r\n\r\n\
{\"error\":\"too many connections\"}";

/// Why a shard stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// Building the ring failed.
    #[error("shard {shard}: {source}")]
    Ring {
        /// Shard number.
        shard: usize,
        /// Cause.
        #[source]
        source: crate::ring::RingError,
    },
    /// Creating the reactor (eventfds) failed.
    #[error("shard {shard}: creating the executor: {source}")]
    Reactor {
        /// Shard number.
        shard: usize,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A startup op could not be pushed.
    #[error("shard {shard}: arming {what}: {source}")]
    Arm {
        /// Shard number.
        shard: usize,
        /// Which op.
        what: &'static str,
        /// Cause.
        #[source]
        source: PushError,
    },
    /// `io_uring_enter` failed.
    #[error("shard {shard}: io_uring_enter: {source}")]
    Enter {
        /// Shard number.
        shard: usize,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// A response a task finished, waiting to be written to its connection.
pub(crate) struct Delivery {
    pub(crate) index: u32,
    pub(crate) generation: u32,
    pub(crate) response: Response,
}

/// Settings a shard reads on the hot path.
#[derive(Debug, Clone)]
pub(crate) struct ShardSettings {
    pub(crate) limits: Limits,
    /// `Bearer <token>` as sent in `Authorization`, if auth is on.
    pub(crate) bearer: Option<Vec<u8>>,
    pub(crate) shutdown_timeout_ns: u64,
    /// `-body-timeout` and `-body-rate-min`, for `timer::body_too_slow`.
    pub(crate) body_timeout_ns: u64,
    pub(crate) body_bytes_per_sec_min: u64,
    /// Completions a busy shard's wait asks for (`-wait-batch`; 1: never), and their bound.
    pub(crate) wait_batch_completions: u32,
    pub(crate) wait_batch_bound: std::time::Duration,
}

/// Everything a shard thread starts from.
pub(crate) struct ShardStart {
    pub(crate) index: usize,
    pub(crate) listener: OwnedFd,
    pub(crate) wake_fd: OwnedFd,
    pub(crate) signal_fd: Option<OwnedFd>,
    pub(crate) shared: Arc<ServerShared>,
    pub(crate) metrics: Arc<ShardMetrics>,
}

/// One shard's state. Fields are crate-visible for `crate::pipeline`.
pub(crate) struct Shard {
    pub(crate) index: usize,
    pub(crate) reactor: Rc<Reactor>,
    pub(crate) conns: Conns,
    pub(crate) timers: TimerLists,
    pub(crate) router: Router,
    pub(crate) info: ShardInfo,
    pub(crate) metrics: Arc<ShardMetrics>,
    pub(crate) settings: ShardSettings,
    pub(crate) date: DateCache,
    date_refresh_ns: u64,
    pub(crate) now_ns: u64,
    pub(crate) dirty: Vec<u32>,
    pub(crate) deliveries: Rc<RefCell<Vec<Delivery>>>,
    pub(crate) out_pool: Vec<Vec<u8>>,
    shared: Arc<ServerShared>,
    /// The listener; dropped at shutdown so it closes once the accept op lets go of it.
    listener: Option<Rc<OwnedFd>>,
    accept: Option<OpKey>,
    accept_retry: bool,
    signal_fd: Option<Rc<OwnedFd>>,
    signal_armed: bool,
    wake_armed: bool,
    timer: Option<(OpKey, u64)>,
    shed_in_flight: u32,
    pub(crate) shutting_down: bool,
    shutdown_deadline_ns: u64,
    forced: bool,
}

impl Shard {
    /// Builds the shard on the calling thread (its ring must be created by the thread that
    /// submits to it).
    pub(crate) fn new(start: ShardStart) -> Result<Shard, ShardError> {
        let ShardStart { index, listener, wake_fd, signal_fd, shared, metrics } = start;
        metrics.set_thread_id(sys::thread_id());
        let config = &shared.config;
        let ring_config = crate::ring::RingConfig {
            // CQ = 4..8x SQ: a loop iteration submits far fewer ops than are in flight.
            sq_entries: limits::SQ_ENTRIES.min(config.cq_entries() / 4).max(8),
            cq_entries: config.cq_entries(),
            recv_buffers: config.recv_buffers,
            recv_buffer_bytes: config.recv_buffer_bytes,
        };
        let ring = crate::ring::Ring::new(ring_config)
            .map_err(|source| ShardError::Ring { shard: index, source })?;
        let reactor = Reactor::with_wake_fd(
            ring,
            limits::EXECUTOR_OPS_MAX,
            limits::EXECUTOR_TASKS_MAX,
            wake_fd,
        )
        .map_err(|source| ShardError::Reactor { shard: index, source })?;
        let conns = Conns::new(
            config.shard_conns_max,
            config.shard_bodies_bytes_max,
            config.shard_replies_bytes_max,
        );
        let info = ShardInfo {
            index,
            shards: config.parallelism,
            metrics: shared.metrics.clone(),
            handle: reactor.handle(),
            replies: conns.replies_gauge(),
        };
        let router = (config.routes)(&info);
        let timers = TimerLists::new(&crate::conn::timer_classes(
            config.idle_timeout,
            config.header_timeout,
            config.body_timeout,
            config.write_timeout,
        ));
        let settings = ShardSettings {
            limits: config.http_limits(),
            bearer: config.auth_token.as_ref().map(|token| format!("Bearer {token}").into_bytes()),
            shutdown_timeout_ns: u64::try_from(config.shutdown_timeout.as_nanos())
                .unwrap_or(u64::MAX),
            wait_batch_completions: config.wait_batch_completions,
            wait_batch_bound: config.wait_batch_bound,
            body_timeout_ns: u64::try_from(config.body_timeout.as_nanos()).unwrap_or(u64::MAX),
            body_bytes_per_sec_min: config.body_bytes_per_sec_min,
        };
        let now_ns = sys::monotonic_ns();
        Ok(Shard {
            index,
            reactor,
            conns,
            timers,
            router,
            info,
            metrics,
            settings,
            date: DateCache::new(sys::unix_time_secs()),
            date_refresh_ns: 0,
            now_ns,
            dirty: Vec::with_capacity(1024),
            deliveries: Rc::new(RefCell::new(Vec::new())),
            out_pool: Vec::new(),
            listener: Some(Rc::new(listener)),
            accept: None,
            accept_retry: false,
            signal_fd: signal_fd.map(Rc::new),
            signal_armed: false,
            wake_armed: false,
            timer: None,
            shed_in_flight: 0,
            shutting_down: false,
            shutdown_deadline_ns: u64::MAX,
            forced: false,
            shared,
        })
    }

    fn arm_error(&self, what: &'static str) -> impl FnOnce(PushError) -> ShardError {
        let shard = self.index;
        move |source| ShardError::Arm { shard, what, source }
    }

    /// Runs the loop until shutdown completes.
    pub(crate) fn run(mut self) -> Result<(), ShardError> {
        self.arm_accept().map_err(self.arm_error("accept"))?;
        self.reactor.arm_wake(Vec::with_capacity(8)).map_err(self.arm_error("wake read"))?;
        self.wake_armed = true;
        self.arm_signal().map_err(self.arm_error("signal read"))?;
        if self.shared.shutdown.load(Ordering::Acquire) {
            self.begin_shutdown();
        }
        let mut completions = Vec::with_capacity(limits::DRAIN_BATCH_MAX);
        let mut turns = 0u64;
        // Completions last turn, turns that could batch, turns left before batching again.
        let (mut handled, mut busy_turns, mut batch_backoff) = (0usize, 0u64, 0u32);
        let batch = self.settings.wait_batch_completions;
        loop {
            let busy = self.reactor.has_ready() || !self.deliveries.borrow().is_empty();
            let wait = usize::from(!busy);
            let mut ring = self.reactor.ring.borrow_mut();
            // A busy shard sleeps until several requests are in (bounded), not per request;
            // not while tasks are alive (a judge run, a deferred reply): their wake-up is one
            // completion and must not wait for a batch to fill. `-wait-batch 1`: never.
            batch_backoff = batch_backoff.saturating_sub(1);
            let busy_turn = handled >= limits::WAIT_BATCH_AFTER_COMPLETIONS;
            busy_turns += u64::from(busy_turn);
            let batching = batch > 1 && batch_backoff == 0 && self.reactor.tasks_alive() == 0;
            if busy_turn && batching {
                ring.batch_next_wait(batch, self.settings.wait_batch_bound);
            }
            let entered = ring.submit_and_wait(wait);
            if ring.take_batch_short() {
                batch_backoff = limits::WAIT_BATCH_BACKOFF_TURNS;
            }
            drop(ring);
            entered.map_err(|source| ShardError::Enter { shard: self.index, source })?;
            turns += 1;
            handled = 0;
            self.now_ns = sys::monotonic_ns();
            self.refresh_date();
            loop {
                completions.clear();
                let moved = self.reactor.ring.borrow_mut().drain(&mut completions);
                handled += moved;
                for completion in completions.drain(..) {
                    self.on_completion(completion);
                }
                if moved < limits::DRAIN_BATCH_MAX {
                    break;
                }
            }
            if self.reactor.has_ready() {
                self.reactor.run_ready();
            }
            self.deliver();
            self.expire_timers();
            self.flush_dirty();
            if self.shutting_down && self.shutdown_complete() {
                break;
            }
            self.arm_timer();
            self.publish_loop_stats(turns, busy_turns);
        }
        self.publish_loop_stats(turns, busy_turns);
        self.teardown();
        Ok(())
    }

    /// Copies the loop's and the ring's counts into this shard's metrics (plain stores: this
    /// thread is their only writer).
    fn publish_loop_stats(&self, turns: u64, busy_turns: u64) {
        let stats = self.reactor.ring.borrow().stats();
        self.metrics.loop_turns.set(turns);
        self.metrics.busy_turns.set(busy_turns);
        self.metrics.ring_batched_waits.set(stats.batched_waits);
        self.metrics.ring_batches_short.set(stats.batches_short);
        self.metrics.ring_inline_waits_bounded.set(stats.inline_waits_bounded);
        self.metrics.ring_enters.set(stats.enters);
        self.metrics.ring_sleeps.set(stats.sleeps);
        self.metrics.ring_completions.set(stats.completions);
    }

    fn refresh_date(&mut self) {
        if self.now_ns < self.date_refresh_ns {
            return;
        }
        let (secs, nanos) = sys::unix_time();
        self.date.update(secs);
        // Look again just after the next second starts.
        self.date_refresh_ns = self.now_ns + (1_000_000_000 - u64::from(nanos.min(999_999_999)));
    }

    fn arm_accept(&mut self) -> Result<(), PushError> {
        let Some(listener) = &self.listener else { return Ok(()) };
        let key = self
            .reactor
            .ring
            .borrow_mut()
            .push_accept_multi(listener, tag::encode(Kind::Accept, 0, 0))?;
        self.accept = Some(key);
        Ok(())
    }

    fn arm_signal(&mut self) -> Result<(), PushError> {
        let Some(fd) = &self.signal_fd else { return Ok(()) };
        let buf = Vec::with_capacity(sys::SIGNALFD_SIGINFO_BYTES);
        let tag = tag::encode(Kind::Signal, 0, 0);
        self.reactor.ring.borrow_mut().push_read(fd, buf, tag).map_err(|(error, _)| error)?;
        self.signal_armed = true;
        Ok(())
    }

    fn on_completion(&mut self, mut completion: Completion) {
        let (kind, index, generation) = tag::decode(completion.tag);
        match kind {
            Some(Kind::Recv) => return self.on_recv(index, generation, completion),
            Some(Kind::Send) => return self.on_send(index, generation, completion),
            Some(Kind::FileRead) => return self.on_file_read(index, generation, completion),
            Some(Kind::Exec) => return self.reactor.dispatch_exec(completion),
            Some(Kind::Accept) => self.on_accept(&mut completion),
            Some(Kind::Timer) => {
                if self.timer.is_some_and(|(key, _)| key == completion.key) {
                    self.timer = None;
                }
            }
            Some(Kind::Wake) => self.on_wake(std::mem::take(&mut completion.buf)),
            Some(Kind::Signal) => self.on_signal(&completion),
            Some(Kind::Shed) => self.shed_in_flight -= 1,
            Some(Kind::AcceptRetry) => {
                self.accept_retry = false;
                if !self.shutting_down && self.accept.is_none() && self.arm_accept().is_err() {
                    self.retry_accept_later();
                }
            }
            Some(Kind::Ignore | Kind::Shutdown | Kind::Cancel) => {}
            None => tracing::error!(tag = completion.tag, "completion with an unknown tag"),
        }
        if let Some(provided) = completion.provided.take() {
            self.reactor.ring.borrow_mut().bufs.recycle(provided);
        }
    }

    fn on_wake(&mut self, buf: Vec<u8>) {
        self.wake_armed = false;
        if self.shared.force.load(Ordering::Acquire) && !self.forced {
            self.begin_shutdown();
            self.force_close_all();
        } else if self.shared.shutdown.load(Ordering::Acquire) && !self.shutting_down {
            self.begin_shutdown();
        }
        match self.reactor.arm_wake(buf) {
            Ok(()) => self.wake_armed = true,
            Err(error) => {
                tracing::error!(shard = self.index, %error, "re-arming the wake read failed")
            }
        }
    }

    fn on_signal(&mut self, completion: &Completion) {
        self.signal_armed = false;
        if completion.result < 0 {
            tracing::error!(
                shard = self.index,
                errno = -completion.result,
                "reading the signalfd failed"
            );
            return;
        }
        let signo = sys::signalfd_signo(&completion.buf).unwrap_or(0);
        let name = sys::signal_name(signo);
        if self.shared.shutdown.load(Ordering::Acquire) {
            tracing::warn!(signal = name, "second signal: closing every connection now");
            self.shared.force_shutdown();
        } else {
            tracing::info!(signal = name, "shutting down gracefully");
            self.shared.request_shutdown();
        }
        if let Err(error) = self.arm_signal() {
            tracing::error!(%error, "re-arming the signal read failed");
        }
    }

    fn on_accept(&mut self, completion: &mut Completion) {
        if !completion.more {
            self.accept = None;
        }
        if let Some(fd) = completion.accepted.take() {
            self.open_conn(fd);
        } else if completion.result < 0 && completion.result != -errno::ECANCELED {
            let errno = -completion.result;
            if errno == errno::EMFILE || errno == errno::ENFILE {
                tracing::warn!(shard = self.index, errno, "out of file descriptors: accept paused");
            } else {
                tracing::error!(shard = self.index, errno, "accept failed");
            }
        }
        if self.accept.is_none() && !self.shutting_down && !self.accept_retry {
            // Multishot accept ended (error or descriptor shortage): retry shortly rather than
            // spinning on the same error.
            if completion.result >= 0 {
                if self.arm_accept().is_err() {
                    self.retry_accept_later();
                }
            } else {
                self.retry_accept_later();
            }
        }
    }

    fn retry_accept_later(&mut self) {
        let expiry = Expiry::After(std::time::Duration::from_millis(100));
        if self
            .reactor
            .ring
            .borrow_mut()
            .push_timeout(expiry, tag::encode(Kind::AcceptRetry, 0, 0))
            .is_ok()
        {
            self.accept_retry = true;
        } else {
            self.metrics.ring_full.inc();
        }
    }

    fn open_conn(&mut self, fd: OwnedFd) {
        self.metrics.conns_accepted.inc();
        let fd = Rc::new(fd);
        if self.shutting_down {
            self.metrics.conns_closed.inc();
            return;
        }
        let Ok((index, generation)) = self.conns.open(Rc::clone(&fd)) else {
            return self.shed(fd);
        };
        let tag = tag::encode(Kind::Recv, index, generation);
        let pushed = self.reactor.ring.borrow_mut().push_recv_multi(&fd, tag);
        match pushed {
            Ok(key) => self.conns.get_mut(index).recv = Some(key),
            Err(_) => {
                self.metrics.ring_full.inc();
                self.conns.get_mut(index).needs_recv = true;
                self.mark_dirty(index);
            }
        }
        self.timers.arm(&mut self.conns, index, class::IDLE, self.now_ns);
    }

    /// Answers 503 and closes: the connection cap is reached.
    fn shed(&mut self, fd: Rc<OwnedFd>) {
        self.metrics.conns_shed.inc();
        self.metrics.response(503);
        self.metrics.conns_closed.inc();
        if self.shed_in_flight >= limits::SHED_IN_FLIGHT_MAX {
            return; // dropping the fd closes it: too many refusals in flight already
        }
        let tag = tag::encode(Kind::Shed, 0, 0);
        if self.reactor.ring.borrow_mut().push_send_static(&fd, SHED_RESPONSE, tag).is_ok() {
            // The send op holds the fd; it is closed when the send completes.
            self.shed_in_flight += 1;
        } else {
            self.metrics.ring_full.inc();
        }
    }

    fn begin_shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        self.shutdown_deadline_ns = self.now_ns.saturating_add(self.settings.shutdown_timeout_ns);
        self.listener = None;
        if let Some(accept) = self.accept
            && self.reactor.ring.borrow_mut().push_cancel(accept, tag::IGNORE).is_err()
        {
            self.metrics.ring_full.inc();
        }
        for index in self.conns.live_indices() {
            let conn = self.conns.get_mut(index);
            if conn.life != Life::Open {
                continue;
            }
            match conn.phase {
                // A request in progress finishes: its response carries `Connection: close`
                // because `shutting_down` turns keep-alive off, and the connection closes after.
                Phase::Body { .. } | Phase::Deferred { .. } => {}
                // Not in flight yet: a partial head.
                Phase::Head => self.close(index),
                Phase::Idle if conn.is_quiet() => self.close(index),
                Phase::Idle => {
                    conn.close_after_flush = true;
                    self.mark_dirty(index);
                }
            }
        }
        tracing::debug!(shard = self.index, open = self.conns.live(), "shard draining");
    }

    fn force_close_all(&mut self) {
        self.forced = true;
        for index in self.conns.live_indices() {
            self.close(index);
        }
    }

    fn quiet_enough_to_stop(&self) -> bool {
        self.conns.live() == 0
            && self.accept.is_none()
            && self.shed_in_flight == 0
            && !self.accept_retry
    }

    fn shutdown_complete(&mut self) -> bool {
        if !self.quiet_enough_to_stop() {
            return false;
        }
        self.conns.check_invariants();
        true
    }

    fn teardown(&mut self) {
        self.reactor.abort_all();
        let mut ring = self.reactor.ring.borrow_mut();
        let quiet = ring.cancel_all_and_wait(100);
        if !quiet {
            tracing::error!(
                shard = self.index,
                in_flight = ring.in_flight(),
                "ops still in flight at exit"
            );
        }
        ring.bufs.check_invariants();
        tracing::debug!(shard = self.index, "shard stopped");
    }
}
