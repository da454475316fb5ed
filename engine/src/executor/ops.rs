//! Futures for ring operations: sleep, read and write on a raw fd, and a timeout combinator.
//!
//! Each future is an [`Op`]: lazy (nothing is submitted before the first poll), one executor op
//! slot while in flight, and owner of its buffer until the CQE (see the module doc of
//! [`crate::executor`] for what happens when it is dropped early). Failures to submit are typed:
//! [`OpError::Full`] when the executor's op slots are all busy, [`OpError::Push`] when the ring
//! itself is full; in both cases the buffer comes back with the error.

use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::OwnedFd;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{ExecOpState, Handle, Reactor};
use crate::ring::{Completion, Expiry, PushError, errno};
use crate::tag::{self, Kind};

/// Why an executor op failed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Every executor op slot of this shard is in flight.
    #[error("executor op slots full ({max} in flight)")]
    Full {
        /// The limit.
        max: u32,
    },
    /// The ring refused the op (full CQ or a failed flush of a full SQ).
    #[error(transparent)]
    Push(#[from] PushError),
    /// The kernel completed the op with an error.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// What an op asks the ring to do.
#[derive(Debug)]
enum Request {
    Read { fd: Rc<OwnedFd>, buf: Vec<u8> },
    Write { fd: Rc<OwnedFd>, buf: Vec<u8>, offset: usize },
    Timeout(Expiry),
    Nop,
}

impl Request {
    fn into_buf(self) -> Vec<u8> {
        match self {
            Request::Read { buf, .. } | Request::Write { buf, .. } => buf,
            Request::Timeout(_) | Request::Nop => Vec::new(),
        }
    }
}

#[derive(Debug)]
enum State {
    Init(Request),
    Submitted { index: u32, generation: u32 },
    Finished,
}

/// One ring operation as a future. Resolves to its [`Completion`] (buffer included), or to an
/// error and the buffer if it could not be submitted.
#[derive(Debug)]
#[must_use = "an op does nothing until polled"]
pub struct Op {
    reactor: Rc<Reactor>,
    state: State,
}

impl Op {
    fn new(handle: &Handle, request: Request) -> Op {
        Op { reactor: Rc::clone(&handle.0), state: State::Init(request) }
    }

    fn submit(
        &mut self,
        request: Request,
        cx: &Context<'_>,
    ) -> Poll<Result<Completion, (OpError, Vec<u8>)>> {
        let (index, generation) = match self.reactor.claim_op() {
            Ok(claimed) => claimed,
            Err(error) => {
                self.state = State::Finished;
                return Poll::Ready(Err((error, request.into_buf())));
            }
        };
        let tag = tag::encode(Kind::Exec, index, generation);
        let pushed = {
            let mut ring = self.reactor.ring.borrow_mut();
            match request {
                Request::Read { fd, buf } => ring.push_read(&fd, buf, tag),
                Request::Write { fd, buf, offset } => ring.push_write(&fd, buf, offset, tag),
                Request::Timeout(expiry) => {
                    ring.push_timeout(expiry, tag).map_err(|e| (e, Vec::new()))
                }
                Request::Nop => ring.push_nop(tag).map_err(|e| (e, Vec::new())),
            }
        };
        match pushed {
            Ok(key) => {
                let mut ops = self.reactor.ops.borrow_mut();
                let op = &mut ops[index as usize];
                op.ring_key = Some(key);
                op.state = ExecOpState::Pending(Some(cx.waker().clone()));
                self.state = State::Submitted { index, generation };
                Poll::Pending
            }
            Err((error, buf)) => {
                self.reactor.release_op(index);
                self.state = State::Finished;
                Poll::Ready(Err((OpError::Push(error), buf)))
            }
        }
    }
}

impl Future for Op {
    type Output = Result<Completion, (OpError, Vec<u8>)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match std::mem::replace(&mut this.state, State::Finished) {
            State::Init(request) => this.submit(request, cx),
            State::Submitted { index, generation } => {
                let done = {
                    let mut ops = this.reactor.ops.borrow_mut();
                    let op = &mut ops[index as usize];
                    assert_eq!(op.generation, generation, "op slot reused under its future");
                    match std::mem::take(&mut op.state) {
                        ExecOpState::Done(completion) => Some(completion),
                        ExecOpState::Pending(_) => {
                            op.state = ExecOpState::Pending(Some(cx.waker().clone()));
                            None
                        }
                        state @ (ExecOpState::Free | ExecOpState::Orphaned) => {
                            panic!("polled op in state {state:?}")
                        }
                    }
                };
                match done {
                    Some(completion) => {
                        this.reactor.release_op(index);
                        Poll::Ready(Ok(completion))
                    }
                    None => {
                        this.state = State::Submitted { index, generation };
                        Poll::Pending
                    }
                }
            }
            State::Finished => panic!("op polled after completion"),
        }
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        if let State::Submitted { index, generation } = self.state {
            self.reactor.orphan_op(index, generation);
        }
    }
}

/// A [`Handle::timeout`] that expired before its future finished.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("timed out")]
pub struct Elapsed;

fn byte_result(
    result: Result<Completion, (OpError, Vec<u8>)>,
) -> (Result<usize, OpError>, Vec<u8>) {
    match result {
        Ok(completion) => {
            let bytes = completion.bytes().map_err(OpError::Io);
            (bytes, completion.buf)
        }
        Err((error, buf)) => (Err(error), buf),
    }
}

impl Handle {
    /// Reads from `fd` into the spare capacity of `buf`; returns the bytes read and `buf`
    /// (its length grown by them).
    pub async fn read(&self, fd: &Rc<OwnedFd>, buf: Vec<u8>) -> (Result<usize, OpError>, Vec<u8>) {
        byte_result(Op::new(self, Request::Read { fd: Rc::clone(fd), buf }).await)
    }

    /// Writes `buf[offset..]` to `fd` once (it may write less); returns the bytes written and
    /// `buf`.
    pub async fn write(
        &self,
        fd: &Rc<OwnedFd>,
        buf: Vec<u8>,
        offset: usize,
    ) -> (Result<usize, OpError>, Vec<u8>) {
        byte_result(Op::new(self, Request::Write { fd: Rc::clone(fd), buf, offset }).await)
    }

    /// Writes all of `buf` to `fd`, looping over short writes.
    pub async fn write_all(
        &self,
        fd: &Rc<OwnedFd>,
        buf: Vec<u8>,
    ) -> (Result<(), OpError>, Vec<u8>) {
        let mut buf = buf;
        let mut offset = 0;
        while offset < buf.len() {
            let (result, back) = self.write(fd, buf, offset).await;
            buf = back;
            match result {
                Ok(0) => {
                    let error = io::Error::new(io::ErrorKind::WriteZero, "write returned 0");
                    return (Err(OpError::Io(error)), buf);
                }
                Ok(n) => offset += n,
                Err(error) => return (Err(error), buf),
            }
        }
        (Ok(()), buf)
    }

    /// Completes after `duration` (a ring timeout).
    pub async fn sleep(&self, duration: Duration) -> Result<(), OpError> {
        self.sleep_expiry(Expiry::After(duration)).await
    }

    /// Completes at the CLOCK_MONOTONIC time `deadline_ns` (see `sys::monotonic_ns`).
    pub async fn sleep_until(&self, deadline_ns: u64) -> Result<(), OpError> {
        self.sleep_expiry(Expiry::AtMonotonicNs(deadline_ns)).await
    }

    async fn sleep_expiry(&self, expiry: Expiry) -> Result<(), OpError> {
        match Op::new(self, Request::Timeout(expiry)).await {
            Ok(completion) if completion.result == -errno::ETIME || completion.result == 0 => {
                Ok(())
            }
            Ok(completion) => Err(OpError::Io(io::Error::from_raw_os_error(-completion.result))),
            Err((error, _)) => Err(error),
        }
    }

    /// A no-op through the ring (yields to the loop once).
    pub async fn nop(&self) -> Result<(), OpError> {
        Op::new(self, Request::Nop).await.map(drop).map_err(|(error, _)| error)
    }

    /// Runs `future` but gives up after `duration`. A failure to arm the timer is reported as
    /// `Err(Err(op_error))`; expiry as `Err(Ok(Elapsed))`.
    pub async fn timeout<F: Future>(
        &self,
        duration: Duration,
        future: F,
    ) -> Result<F::Output, Result<Elapsed, OpError>> {
        let mut future = pin!(future);
        let mut sleep = pin!(self.sleep(duration));
        poll_fn(|cx| {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Ok(output));
            }
            match sleep.as_mut().poll(cx) {
                Poll::Ready(Ok(())) => Poll::Ready(Err(Ok(Elapsed))),
                Poll::Ready(Err(error)) => Poll::Ready(Err(Err(error))),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}
