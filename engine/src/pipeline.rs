//! Requests on one connection, in order: parse in place, frame the body, route, answer.
//!
//! [`Shard::input`] takes the bytes of one recv completion. When nothing is buffered, requests
//! are parsed straight out of the provided buffer (no copy); only an incomplete tail is copied
//! into the connection's `inbuf`. Each complete request is routed and its handler called; an
//! inline answer is appended to the connection's `out`, so every response produced by one recv
//! leaves in one send (pipelining for free). A deferred answer ([`Reply::Later`]) puts the
//! connection in `Phase::Deferred`: parsing stops, later requests wait in `inbuf`, and the
//! task's response is written in order when it arrives (`Shard::deliver`).
//!
//! Bodies: a `Content-Length` body is handed to the handler as a slice once all of it is in;
//! a chunked body is decoded incrementally into the connection's `body` buffer. Both are bounded
//! by `body_bytes_max` (413). Parse errors get their status and `{"error":"<reason>"}`, then the
//! connection closes after lingering.
//!
//! Nothing here touches the ring: it only changes connection state and marks the connection
//! dirty; the shard's flush submits what is needed. (The provided buffer being parsed is borrowed
//! from the ring meanwhile.)

use std::rc::Rc;

use shardbox_http::{
    BodyKind, CONTINUE_100, ChunkedDecoder, Header, Method, ParseError, Parsed, Request, Version,
    parse_request,
};

use crate::conn::{BodyFraming, Life, Phase};
use crate::limits::{self, HEADERS_FAST_STORAGE, HEADERS_STORAGE};
use crate::metrics::TimeoutKind;
use crate::response::write_json_error;
use crate::router::{Access, Exchange, Reply};
use crate::shard::{Delivery, Shard};

/// What parsing one request did.
enum Step {
    /// A request was answered (or deferred); it took this many bytes.
    Done(usize),
    /// The request is incomplete: keep the bytes and wait for more.
    More,
    /// The connection will close: drop the remaining input.
    Discard,
}

/// Parses a head with small header storage on the stack, retrying with the full storage only
/// when a request has more headers than the small one holds.
macro_rules! with_parsed {
    ($limits:expr, $buf:expr, |$parsed:ident| $body:expr) => {{
        let mut small = [Header::EMPTY; HEADERS_FAST_STORAGE];
        match parse_request($buf, &mut small, &$limits) {
            Err(ParseError::TooManyHeaders { max }) if max < $limits.headers_count_max => {
                let mut big = [Header::EMPTY; HEADERS_STORAGE];
                let $parsed = parse_request($buf, &mut big, &$limits);
                $body
            }
            $parsed => $body,
        }
    }};
}

/// Constant-time comparison (the auth token must not leak through timing).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Shard {
    /// Handles the bytes of one recv completion on connection `index`.
    pub(crate) fn input(&mut self, index: u32, data: &[u8]) {
        let conn = self.conns.get_mut(index);
        if conn.life != Life::Open || conn.close_after_flush {
            return; // lingering, closing, or closing after its last response: discard
        }
        if conn.inbuf.is_empty() && matches!(conn.phase, Phase::Idle) && conn.can_parse() {
            let consumed = self.process(index, data);
            let rest = data.get(consumed..).unwrap_or(&[]);
            if !rest.is_empty() {
                self.stash(index, rest);
            }
        } else {
            self.stash(index, data);
            self.resume(index);
        }
    }

    /// Keeps bytes that cannot be answered yet; asks to pause reading when too much waits.
    fn stash(&mut self, index: u32, bytes: &[u8]) {
        let conn = self.conns.get_mut(index);
        if conn.life != Life::Open || conn.close_after_flush {
            return;
        }
        conn.inbuf.extend_from_slice(bytes);
        if !conn.can_parse()
            && conn.inbuf.len() > limits::CONN_INPUT_PAUSE_BYTES
            && !conn.recv_paused
        {
            conn.wants_pause = true;
        }
    }

    /// Parses what waits in `inbuf` if the connection can take more requests; re-arms a paused
    /// recv.
    pub(crate) fn resume(&mut self, index: u32) {
        let conn = self.conns.get_mut(index);
        if conn.life != Life::Open {
            return;
        }
        if conn.recv_paused && conn.can_parse() {
            conn.recv_paused = false;
            conn.needs_recv = true;
            self.mark_dirty(index);
        }
        let conn = self.conns.get_mut(index);
        if conn.inbuf.is_empty() || !conn.can_parse() {
            return;
        }
        let mut buf = std::mem::take(&mut conn.inbuf);
        let consumed = self.process(index, &buf);
        let conn = self.conns.get_mut(index);
        if conn.life != Life::Open || conn.close_after_flush {
            buf.clear();
        } else {
            buf.drain(..consumed.min(buf.len()));
            // A large body grew the buffer: give the memory back now rather than when the
            // connection closes, or every idle keep-alive connection (and every one waiting
            // for a deferred handler) pins up to twice `body_bytes_max`.
            if buf.capacity() > limits::POOLED_BUFFER_BYTES_MAX
                && buf.len() <= limits::POOLED_BUFFER_BYTES_MAX
            {
                let mut small = Vec::with_capacity(buf.len().max(limits::CONN_BUFFER_BYTES));
                small.extend_from_slice(&buf);
                buf = small;
            }
        }
        conn.inbuf = buf;
    }

    /// Answers every complete request at the start of `buf`; returns the bytes consumed.
    fn process(&mut self, index: u32, buf: &[u8]) -> usize {
        let mut pos = 0;
        while pos < buf.len() && self.conns.get(index).can_parse() {
            let rest = &buf[pos..];
            let step = if matches!(self.conns.get(index).phase, Phase::Body { .. }) {
                assert_eq!(pos, 0, "a request with a partial body must start the buffer");
                self.continue_body(index, rest)
            } else {
                self.parse_next(index, rest)
            };
            match step {
                Step::Done(consumed) => pos += consumed,
                Step::More => break,
                Step::Discard => return buf.len(),
            }
        }
        pos
    }

    fn parse_next(&mut self, index: u32, rest: &[u8]) -> Step {
        let limits = self.settings.limits;
        with_parsed!(limits, rest, |parsed| self.on_head(index, rest, parsed))
    }

    fn on_head(
        &mut self,
        index: u32,
        rest: &[u8],
        parsed: Result<Parsed<Request<'_, '_>>, ParseError>,
    ) -> Step {
        let (request, head_len) = match parsed {
            Ok(Parsed::Complete { request, head_len }) => (request, head_len),
            Ok(Parsed::Partial) => {
                self.conns.get_mut(index).phase = Phase::Head;
                return Step::More;
            }
            Err(error) => {
                self.fail(index, error.status(), error.reason(), Version::Http11);
                return Step::Discard;
            }
        };
        let after = &rest[head_len..];
        match request.body {
            BodyKind::None => self.dispatch(index, &request, &[], head_len),
            BodyKind::Length(length) => match usize::try_from(length) {
                Ok(length) if after.len() >= length => {
                    self.dispatch(index, &request, &after[..length], head_len + length)
                }
                _ => {
                    if !self.conns.reserve_body(index, length) {
                        return self.bodies_over_budget(index, request.version);
                    }
                    let conn = self.conns.get_mut(index);
                    conn.phase = Phase::Body { head_len, framing: BodyFraming::Length(length) };
                    conn.body_since_ns = self.now_ns;
                    self.maybe_continue(index, &request);
                    Step::More
                }
            },
            BodyKind::Chunked => {
                let mut decoder = ChunkedDecoder::new(&self.settings.limits);
                self.conns.get_mut(index).body.clear();
                match self.decode_chunks(index, &mut decoder, after, 0) {
                    Ok((raw, true)) => {
                        let body = std::mem::take(&mut self.conns.get_mut(index).body);
                        let step = self.dispatch(index, &request, &body, head_len + raw);
                        self.put_body_back(index, body);
                        step
                    }
                    Ok((raw, false)) => {
                        if !self.conns.reserve_body(index, raw as u64) {
                            return self.bodies_over_budget(index, request.version);
                        }
                        let framing = BodyFraming::Chunked { decoder, raw };
                        let conn = self.conns.get_mut(index);
                        conn.phase = Phase::Body { head_len, framing };
                        conn.body_since_ns = self.now_ns;
                        self.maybe_continue(index, &request);
                        Step::More
                    }
                    Err(error) => {
                        self.fail(index, error.status(), error.reason(), request.version);
                        Step::Discard
                    }
                }
            }
        }
    }

    fn put_body_back(&mut self, index: u32, mut body: Vec<u8>) {
        body.clear();
        let conn = self.conns.get_mut(index);
        // Kept for the next chunked body unless it grew large (see `resume`).
        if conn.body.capacity() == 0 && body.capacity() <= limits::POOLED_BUFFER_BYTES_MAX {
            conn.body = body;
        }
    }

    /// Decodes chunked framing from `input`, appending data to the connection's `body`.
    /// `raw_before` is how much was consumed by earlier calls. Returns the total consumed and
    /// whether the body is complete.
    fn decode_chunks(
        &mut self,
        index: u32,
        decoder: &mut ChunkedDecoder,
        input: &[u8],
        raw_before: usize,
    ) -> Result<(usize, bool), ParseError> {
        let conn = self.conns.get_mut(index);
        let mut pos = 0;
        loop {
            let decoded = decoder.decode(&input[pos..])?;
            let start = pos + decoded.data.start;
            let end = pos + decoded.data.end;
            conn.body.extend_from_slice(&input[start..end]);
            pos += decoded.consumed;
            if decoded.done {
                return Ok((raw_before + pos, true));
            }
            if decoded.consumed == 0 || pos >= input.len() {
                break;
            }
        }
        let raw = raw_before + pos;
        // Framing can outweigh data (one-byte chunks): bound the raw bytes kept, too.
        let raw_max = self.settings.limits.body_bytes_max.saturating_mul(2).saturating_add(65_536);
        if raw as u64 > raw_max {
            return Err(ParseError::BodyTooLarge {
                len: raw as u64,
                max: self.settings.limits.body_bytes_max,
            });
        }
        Ok((raw, false))
    }

    /// Continues the request whose head is at the start of `rest` and whose body is arriving.
    fn continue_body(&mut self, index: u32, rest: &[u8]) -> Step {
        let phase = std::mem::replace(&mut self.conns.get_mut(index).phase, Phase::Idle);
        let Phase::Body { head_len, framing } = phase else { unreachable!("checked by process") };
        let (framing, total) = match framing {
            BodyFraming::Length(length) => {
                let needed = usize::try_from(length).ok().and_then(|n| n.checked_add(head_len));
                match needed {
                    Some(total) if rest.len() >= total => {
                        (BodyFraming::Length(length), Some(total))
                    }
                    _ => (BodyFraming::Length(length), None),
                }
            }
            BodyFraming::Chunked { mut decoder, raw } => {
                let input = &rest[head_len + raw..];
                match self.decode_chunks(index, &mut decoder, input, raw) {
                    Ok((raw, true)) => {
                        (BodyFraming::Chunked { decoder, raw }, Some(head_len + raw))
                    }
                    Ok((raw, false)) => {
                        if !self.conns.reserve_body(index, raw as u64) {
                            return self.bodies_over_budget(index, Version::Http11);
                        }
                        (BodyFraming::Chunked { decoder, raw }, None)
                    }
                    Err(error) => {
                        self.fail(index, error.status(), error.reason(), Version::Http11);
                        return Step::Discard;
                    }
                }
            }
        };
        let Some(total) = total else {
            let received = match &framing {
                BodyFraming::Length(_) => rest.len().saturating_sub(head_len),
                BodyFraming::Chunked { raw, .. } => *raw,
            };
            let settings = &self.settings;
            let conn = self.conns.get_mut(index);
            if crate::timer::body_too_slow(
                conn.body_since_ns,
                self.now_ns,
                received as u64,
                settings.body_timeout_ns,
                settings.body_bytes_per_sec_min,
            ) {
                self.metrics.timeout(TimeoutKind::Body);
                self.fail(index, 408, "request body too slow", Version::Http11);
                return Step::Discard;
            }
            conn.phase = Phase::Body { head_len, framing };
            return Step::More;
        };
        let limits = self.settings.limits;
        let head = &rest[..head_len];
        with_parsed!(limits, head, |parsed| match parsed {
            Ok(Parsed::Complete { request, .. }) => match framing {
                BodyFraming::Length(_) =>
                    self.dispatch(index, &request, &rest[head_len..total], total),
                BodyFraming::Chunked { .. } => {
                    let body = std::mem::take(&mut self.conns.get_mut(index).body);
                    let step = self.dispatch(index, &request, &body, total);
                    self.put_body_back(index, body);
                    step
                }
            },
            // The same bytes parsed as complete before: this cannot happen.
            other => {
                tracing::error!(?other, "a request head parsed differently the second time");
                self.fail(index, 500, "internal error", Version::Http11);
                Step::Discard
            }
        })
    }

    /// Sends `100 Continue` once for a request that expects it and whose body is not in yet.
    fn maybe_continue(&mut self, index: u32, request: &Request<'_, '_>) {
        if request.expect_continue && !self.conns.get(index).continue_sent {
            self.ensure_out(index);
            let conn = self.conns.get_mut(index);
            conn.out.extend_from_slice(CONTINUE_100);
            conn.continue_sent = true;
            self.mark_dirty(index);
        }
    }

    /// Gives the connection an output buffer if it has none.
    pub(crate) fn ensure_out(&mut self, index: u32) {
        if self.conns.get(index).out.capacity() == 0 {
            let buf = self
                .out_pool
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(limits::CONN_BUFFER_BYTES));
            self.conns.get_mut(index).out = buf;
        }
    }

    /// Books a response just appended to `out`.
    pub(crate) fn queued_response(&mut self, index: u32, keep_alive: bool) {
        let now = self.now_ns;
        let conn = self.conns.get_mut(index);
        conn.out_count += 1;
        if conn.out_count == 1 {
            conn.out_since_ns = now;
        }
        conn.continue_sent = false;
        if !keep_alive {
            conn.close_after_flush = true;
        }
        self.mark_dirty(index);
    }

    /// Refuses a body that would take the shard's bodies in progress past their budget
    /// ([`crate::conn::Conns::reserve_body`]): 503, then close.
    fn bodies_over_budget(&mut self, index: u32, version: Version) -> Step {
        self.fail(index, 503, "too many request bodies in progress; retry later", version);
        Step::Discard
    }

    /// Answers with an error and closes after lingering: the connection's framing is lost.
    pub(crate) fn fail(&mut self, index: u32, status: u16, reason: &str, version: Version) {
        if self.conns.get(index).close_after_flush {
            return; // already answering with a close
        }
        if self.conns.get(index).file.is_some() {
            // A file body is being sent: an answer cannot be put in the middle of it.
            return self.close(index);
        }
        self.ensure_out(index);
        let conn = self.conns.get_mut(index);
        write_json_error(&mut conn.out, &self.date, version, false, false, status, reason, None);
        conn.linger = true;
        conn.phase = Phase::Idle;
        conn.inbuf.clear();
        self.conns.release_body(index);
        self.metrics.response(status);
        self.queued_response(index, false);
    }

    /// Routes one complete request and answers it (or hands it to a task).
    fn dispatch(
        &mut self,
        index: u32,
        request: &Request<'_, '_>,
        body: &[u8],
        consumed: usize,
    ) -> Step {
        self.conns.get_mut(index).phase = Phase::Idle;
        // The body is complete: from here a handler's copy (and its own bounds) holds it.
        self.conns.release_body(index);
        let keep_alive = request.keep_alive && !self.shutting_down;
        self.ensure_out(index);
        let route = self.router.find(request.path());
        let (handler, head_only, path_rest) = match route {
            None => {
                return self.answer_error(
                    index,
                    request,
                    keep_alive,
                    404,
                    "not found",
                    None,
                    consumed,
                );
            }
            Some((route, path_rest)) => {
                if route.access() == Access::Token
                    && let Some(bearer) = &self.settings.bearer
                    && !request
                        .header("authorization")
                        .is_some_and(|value| same_bytes(value, bearer))
                {
                    return self.answer_error(
                        index,
                        request,
                        keep_alive,
                        401,
                        "unauthorized",
                        None,
                        consumed,
                    );
                }
                match route.handler(request.method) {
                    Some((handler, head_only)) => (Rc::clone(handler), head_only, path_rest),
                    None => {
                        let conn = self.conns.get_mut(index);
                        let allow = Some(route.allow());
                        write_json_error(
                            &mut conn.out,
                            &self.date,
                            request.version,
                            keep_alive,
                            request.method == Method::Head,
                            405,
                            "method not allowed",
                            allow,
                        );
                        self.metrics.response(405);
                        self.queued_response(index, keep_alive);
                        return if keep_alive { Step::Done(consumed) } else { Step::Discard };
                    }
                }
            }
        };
        let conn = self.conns.get_mut(index);
        let mut exchange = Exchange {
            request,
            body,
            path_rest,
            shard: &self.info,
            out: &mut conn.out,
            date: &self.date,
            keep_alive,
            head_only,
            status: None,
        };
        let reply = handler(&mut exchange);
        let (status, keep_alive) = (exchange.status, exchange.keep_alive);
        match reply {
            Reply::Done => {
                let Some(status) = status else {
                    tracing::error!(path = %String::from_utf8_lossy(request.path()), "handler returned without answering");
                    return self.answer_error(
                        index,
                        request,
                        false,
                        500,
                        "internal error",
                        None,
                        consumed,
                    );
                };
                self.metrics.response(status);
                self.queued_response(index, keep_alive);
                if keep_alive { Step::Done(consumed) } else { Step::Discard }
            }
            Reply::Later(future) => {
                assert!(status.is_none(), "a handler both answered and deferred");
                let generation = self.conns.get(index).generation;
                let deliveries = Rc::clone(&self.deliveries);
                let task = async move {
                    let response = future.await;
                    deliveries.borrow_mut().push(Delivery { index, generation, response });
                };
                match self.reactor.spawn(task) {
                    Ok(task) => {
                        self.metrics.tasks_spawned.inc();
                        let version = request.version;
                        self.conns.get_mut(index).phase =
                            Phase::Deferred { task, version, keep_alive, head_only };
                        Step::Done(consumed)
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot start a task for a request");
                        self.answer_error(
                            index,
                            request,
                            keep_alive,
                            503,
                            "server busy",
                            None,
                            consumed,
                        )
                    }
                }
            }
        }
    }

    #[expect(clippy::too_many_arguments, reason = "one private helper of dispatch")]
    fn answer_error(
        &mut self,
        index: u32,
        request: &Request<'_, '_>,
        keep_alive: bool,
        status: u16,
        reason: &str,
        allow: Option<&str>,
        consumed: usize,
    ) -> Step {
        self.ensure_out(index);
        let conn = self.conns.get_mut(index);
        let head_only = request.method == Method::Head;
        let version = request.version;
        write_json_error(
            &mut conn.out,
            &self.date,
            version,
            keep_alive,
            head_only,
            status,
            reason,
            allow,
        );
        self.metrics.response(status);
        self.queued_response(index, keep_alive);
        if keep_alive { Step::Done(consumed) } else { Step::Discard }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(same_bytes(b"Bearer abc", b"Bearer abc"));
        assert!(!same_bytes(b"Bearer abd", b"Bearer abc"));
        assert!(!same_bytes(b"Bearer ab", b"Bearer abc"));
    }
}
