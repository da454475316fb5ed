//! One load-generator thread: a mio event loop driving closed-loop connections.
//!
//! A [`Worker`] owns a share of the run's connections. Each `Conn` writes a batch of `depth`
//! identical requests (one pre-built byte slice, so nothing is formatted or allocated per
//! request), reads until every response of the batch has arrived, checks each one (status and
//! body length, through [`ResponseParser`]), then writes the next batch: a closed loop, like
//! wrk. Readiness is edge-triggered; a read that returns less than the free buffer space means
//! the socket is drained, which saves the extra `read` returning `EAGAIN`, so a non-pipelined
//! request costs one `write`, one `read` and a share of one `epoll_wait`. When the plan carries a
//! [`Needle`], every body must also contain it (searched as it streams past, nothing stored).
//!
//! Latency is measured from just before a batch's `write` to the return of the `epoll_wait`
//! that reported its response readable (one clock read per wake-up, shared by every response
//! it delivered). Only batches written after the warm-up count; errors count in every phase.
//! A connection the server closes cleanly between batches is reopened; one closed with
//! requests in flight counts an error and is reopened; one that cannot be reopened stays dead.
//!
//! It does not decide when the run starts, stop other threads or read CPU counters: that is
//! `run`'s job.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::limits::{CONNECT_TIMEOUT_MS_MAX, READ_BUFFER_BYTES};
use crate::response::{Needle, Response, ResponseParser, Step};

/// Errors seen by a run, by kind. Every kind means the server did not do the work asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Errors {
    /// Responses whose status differed from the expected one.
    pub status: u64,
    /// Responses whose body length differed from the expected one.
    pub body_length: u64,
    /// Responses whose body lacked the required byte string (e.g. `"status":"Accepted"`).
    pub body_content: u64,
    /// Bytes that are not a valid response (or a response nobody asked for).
    pub malformed: u64,
    /// Connections closed or reset with requests in flight.
    pub closed: u64,
    /// Connections that could not be opened or reopened.
    pub connect: u64,
    /// Requests sent but never answered when a fixed-count run hit its deadline.
    pub unanswered: u64,
}

impl Errors {
    /// Sum of all kinds.
    pub fn total(&self) -> u64 {
        self.status
            + self.body_length
            + self.body_content
            + self.malformed
            + self.closed
            + self.connect
            + self.unanswered
    }

    /// Adds another thread's counts.
    pub fn add(&mut self, other: &Errors) {
        self.status += other.status;
        self.body_length += other.body_length;
        self.body_content += other.body_content;
        self.malformed += other.malformed;
        self.closed += other.closed;
        self.connect += other.connect;
        self.unanswered += other.unanswered;
    }
}

/// When a worker stops sending.
#[derive(Clone, Copy, Debug)]
pub enum Until {
    /// Stop at this instant; responses still in flight are not counted.
    Time(Instant),
    /// Send exactly this many measured requests, then stop once all are answered, or at the
    /// deadline, whichever comes first.
    Count {
        /// Measured requests this worker sends.
        requests: u64,
        /// Give up waiting at this instant.
        deadline: Instant,
    },
}

/// What every response must be.
#[derive(Clone, Copy, Debug)]
pub struct Expect {
    /// Expected status code.
    pub status: u16,
    /// Expected body length in bytes; `None`: not checked (bodies that carry measurements,
    /// such as a judge's times, vary in length).
    pub body_bytes: Option<u64>,
}

/// Everything a worker needs to run, shared read-only with its siblings.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    /// Where to connect.
    pub addr: SocketAddr,
    /// One request, repeated `depth` times.
    pub batch: &'a [u8],
    /// Length of one request within `batch`.
    pub request_bytes: usize,
    /// Requests per batch.
    pub depth: u32,
    /// Responses to `HEAD` carry no body.
    pub head_requests: bool,
    /// What each response must be.
    pub expect: Expect,
    /// A byte string every body must contain, if any.
    pub needle: Option<&'a Needle>,
}

/// A worker's results.
#[derive(Debug)]
pub struct WorkerStats {
    /// Latency of measured responses, in nanoseconds.
    pub latency_ns: Histogram<u64>,
    /// Measured responses completed (checked, whether they passed or not).
    pub responses: u64,
    /// Errors in every phase.
    pub errors: Errors,
    /// Connections reopened after the server closed them cleanly.
    pub reconnects: u64,
}

/// A fresh latency histogram: 1 ns to 100 s at 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    #[expect(clippy::expect_used, reason = "constant, valid bounds: 1 < 100e9 and 3 sigfigs")]
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

/// One connection's state.
struct Conn {
    stream: Option<TcpStream>,
    buf: Box<[u8]>,
    /// Unparsed bytes are `buf[start..filled]`.
    start: usize,
    filled: usize,
    parser: ResponseParser,
    /// Responses of the current batch not yet received.
    in_flight: u32,
    /// Bytes of the current batch to write and already written.
    batch_bytes: usize,
    written: usize,
    sent_at: Instant,
    measured: bool,
}

/// A load-generator thread's event loop over its connections.
pub struct Worker<'a> {
    plan: Plan<'a>,
    poll: Poll,
    conns: Vec<Conn>,
    stats: WorkerStats,
    /// Measured requests this worker may still send (count mode).
    budget: u64,
}

impl<'a> Worker<'a> {
    /// Opens `connections` connections to `plan.addr`. Failures are counted, not fatal.
    pub fn connect(plan: Plan<'a>, connections: u32) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut worker = Self {
            plan,
            poll,
            conns: Vec::with_capacity(connections as usize),
            stats: WorkerStats {
                latency_ns: new_histogram(),
                responses: 0,
                errors: Errors::default(),
                reconnects: 0,
            },
            budget: 0,
        };
        let now = Instant::now();
        for index in 0..connections as usize {
            let stream = open(plan.addr);
            let mut conn = Conn {
                stream: None,
                buf: vec![0u8; READ_BUFFER_BYTES].into_boxed_slice(),
                start: 0,
                filled: 0,
                parser: ResponseParser::with_needle(plan.head_requests, plan.needle.cloned()),
                in_flight: 0,
                batch_bytes: 0,
                written: 0,
                sent_at: now,
                measured: false,
            };
            match stream {
                Ok(mut stream) => {
                    worker.poll.registry().register(
                        &mut stream,
                        Token(index),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    conn.stream = Some(stream);
                }
                Err(_) => worker.stats.errors.connect += 1,
            }
            worker.conns.push(conn);
        }
        Ok(worker)
    }

    /// Runs from now: warm-up until `measure_from`, then measures until `until`.
    pub fn run(mut self, measure_from: Instant, until: Until) -> io::Result<WorkerStats> {
        if let Until::Count { requests, .. } = until {
            self.budget = requests;
        }
        let mut events = Events::with_capacity(self.conns.len().max(1));
        let now = Instant::now();
        for index in 0..self.conns.len() {
            self.send_batch(index, now, now >= measure_from, until);
        }
        loop {
            let now = Instant::now();
            let stop_at = match until {
                Until::Time(end) => end,
                Until::Count { deadline, .. } => deadline,
            };
            if now >= stop_at {
                break;
            }
            if let Until::Count { .. } = until
                && self.budget == 0
                && now >= measure_from
                && self.conns.iter().all(|c| c.in_flight == 0 || c.stream.is_none())
            {
                break;
            }
            let timeout = (stop_at - now).min(Duration::from_millis(50));
            let timeout =
                if now < measure_from { timeout.min(measure_from - now) } else { timeout };
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            let measuring = now >= measure_from;
            for event in events.iter() {
                let index = event.token().0;
                if event.is_writable() {
                    self.write_more(index);
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.read_ready(index, now);
                }
                // A batch completed (or the connection was reopened): start the next one.
                self.send_batch(index, Instant::now(), measuring, until);
            }
        }
        if let Until::Count { .. } = until {
            let unanswered: u64 = self
                .conns
                .iter()
                .filter(|c| c.measured && c.stream.is_some())
                .map(|c| u64::from(c.in_flight))
                .sum();
            self.stats.errors.unanswered += unanswered + self.budget;
        }
        Ok(self.stats)
    }

    /// Starts the next batch on an idle connection, if the plan allows one.
    fn send_batch(&mut self, index: usize, now: Instant, measuring: bool, until: Until) {
        let Some(conn) = self.conns.get_mut(index) else { return };
        if conn.stream.is_none() || conn.in_flight != 0 {
            return;
        }
        let mut requests = self.plan.depth;
        if let Until::Count { .. } = until
            && measuring
        {
            let take = self.budget.min(u64::from(requests));
            if take == 0 {
                return;
            }
            self.budget -= take;
            requests = u32::try_from(take).unwrap_or(requests);
        }
        conn.in_flight = requests;
        conn.batch_bytes = self.plan.request_bytes * requests as usize;
        conn.written = 0;
        conn.sent_at = now;
        conn.measured = measuring;
        self.write_more(index);
    }

    /// Writes what remains of the current batch; stops at `WouldBlock` (the writable edge
    /// resumes it).
    fn write_more(&mut self, index: usize) {
        let Some(conn) = self.conns.get_mut(index) else { return };
        let Some(stream) = conn.stream.as_mut() else { return };
        while conn.written < conn.batch_bytes {
            let Some(pending) = self.plan.batch.get(conn.written..conn.batch_bytes) else { return };
            match stream.write(pending) {
                Ok(0) => {
                    self.fail_conn(index);
                    return;
                }
                Ok(n) => conn.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.fail_conn(index);
                    return;
                }
            }
        }
    }

    /// Reads and parses everything available on a connection.
    fn read_ready(&mut self, index: usize, now: Instant) {
        loop {
            let Some(conn) = self.conns.get_mut(index) else { return };
            let Some(stream) = conn.stream.as_mut() else { return };
            let Some(space) = conn.buf.get_mut(conn.filled..) else { return };
            let room = space.len();
            let n = match stream.read(space) {
                Ok(0) => {
                    self.eof(index, now);
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.fail_conn(index);
                    return;
                }
            };
            conn.filled += n;
            if !self.parse_buffer(index, now) {
                return;
            }
            if n < room {
                return;
            }
        }
    }

    /// Parses complete responses out of the buffer. Returns false when the connection failed.
    fn parse_buffer(&mut self, index: usize, now: Instant) -> bool {
        let expect = self.plan.expect;
        loop {
            let Some(conn) = self.conns.get_mut(index) else { return false };
            let Some(pending) = conn.buf.get(conn.start..conn.filled) else { return false };
            if pending.is_empty() {
                conn.start = 0;
                conn.filled = 0;
                return true;
            }
            match conn.parser.parse(pending) {
                Ok((used, step)) => {
                    conn.start += used;
                    match step {
                        Step::Done(response) => {
                            if !self.complete(index, response, expect, now) {
                                return false;
                            }
                        }
                        Step::NeedMore if used == 0 => {
                            // Partial head: move it to the front so the next read completes it.
                            let (start, filled) = (conn.start, conn.filled);
                            conn.buf.copy_within(start..filled, 0);
                            conn.filled = filled - start;
                            conn.start = 0;
                            return true;
                        }
                        Step::NeedMore => {}
                    }
                }
                Err(_) => {
                    self.stats.errors.malformed += 1;
                    self.fail_conn(index);
                    return false;
                }
            }
        }
    }

    /// Accounts one complete response. Returns false when the connection was closed.
    fn complete(&mut self, index: usize, response: Response, expect: Expect, now: Instant) -> bool {
        let Some(conn) = self.conns.get_mut(index) else { return false };
        if conn.in_flight == 0 {
            // A response nobody asked for.
            self.stats.errors.malformed += 1;
            self.fail_conn(index);
            return false;
        }
        conn.in_flight -= 1;
        if response.status != expect.status {
            self.stats.errors.status += 1;
        } else if expect.body_bytes.is_some_and(|len| response.body_bytes != len) {
            self.stats.errors.body_length += 1;
        } else if response.contains == Some(false) {
            self.stats.errors.body_content += 1;
        }
        if conn.measured {
            self.stats.responses += 1;
            let ns = u64::try_from(now.saturating_duration_since(conn.sent_at).as_nanos())
                .unwrap_or(u64::MAX);
            self.stats.latency_ns.saturating_record(ns.max(1));
        }
        if response.close {
            if conn.in_flight > 0 {
                self.stats.errors.closed += 1;
            }
            self.reopen(index);
            return false;
        }
        true
    }

    /// The server closed the connection.
    fn eof(&mut self, index: usize, now: Instant) {
        let expect = self.plan.expect;
        let Some(conn) = self.conns.get_mut(index) else { return };
        match conn.parser.eof() {
            Ok(Some(response)) => {
                // A body framed by the close; `complete` reopens the connection.
                self.complete(index, response, expect, now);
            }
            Ok(None) => {
                if conn.in_flight > 0 {
                    self.stats.errors.closed += 1;
                }
                self.reopen(index);
            }
            Err(_) => {
                self.stats.errors.closed += 1;
                self.reopen(index);
            }
        }
    }

    /// Drops a connection after an error and tries to open a new one.
    fn fail_conn(&mut self, index: usize) {
        if let Some(conn) = self.conns.get(index)
            && conn.in_flight > 0
        {
            self.stats.errors.closed += 1;
        }
        self.reopen(index);
    }

    /// Replaces a connection with a fresh one; requests in flight on the old one are dropped
    /// (a fixed-count run gives their budget back so the count stays exact).
    fn reopen(&mut self, index: usize) {
        let Some(conn) = self.conns.get_mut(index) else { return };
        if let Some(mut old) = conn.stream.take() {
            let _ = self.poll.registry().deregister(&mut old);
        }
        if conn.measured {
            self.budget += u64::from(conn.in_flight);
        }
        conn.in_flight = 0;
        conn.start = 0;
        conn.filled = 0;
        conn.batch_bytes = 0;
        conn.written = 0;
        conn.parser =
            ResponseParser::with_needle(self.plan.head_requests, self.plan.needle.cloned());
        match open(self.plan.addr) {
            Ok(mut stream) => {
                let registered = self.poll.registry().register(
                    &mut stream,
                    Token(index),
                    Interest::READABLE | Interest::WRITABLE,
                );
                if registered.is_ok() {
                    conn.stream = Some(stream);
                    self.stats.reconnects += 1;
                } else {
                    self.stats.errors.connect += 1;
                }
            }
            Err(_) => self.stats.errors.connect += 1,
        }
    }
}

/// Opens one non-blocking, `TCP_NODELAY` connection (blocking connect, bounded in time).
fn open(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream =
        StdTcpStream::connect_timeout(&addr, Duration::from_millis(CONNECT_TIMEOUT_MS_MAX))?;
    stream.set_nodelay(true)?;
    stream.set_nonblocking(true)?;
    Ok(TcpStream::from_std(stream))
}
