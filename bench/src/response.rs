//! Incremental HTTP/1.1 response parser: the check behind every counted request.
//!
//! [`ResponseParser`] consumes the bytes a connection reads, in whatever pieces they arrive, and
//! yields one [`Response`] (status code, body length, whether the server will close) per complete
//! response. The head (status line and headers) is parsed with `httparse` once it is complete;
//! the body is framed by `Content-Length`, by `Transfer-Encoding: chunked` (chunk-size lines,
//! extensions and trailers are walked byte by byte, chunk data is skipped in bulk), or by the
//! end of the connection when the server gave neither. Bodies are counted, never stored, so the
//! parser allocates nothing.
//!
//! The caller owns the buffer: [`ResponseParser::parse`] returns how many bytes it consumed.
//! While a head is incomplete it consumes nothing, and the caller keeps those bytes and appends
//! the next read to them; a head that grows past [`RESPONSE_HEAD_BYTES_MAX`] is an error.
//! Interim `1xx` responses are skipped; `204`, `304` and answers to `HEAD` have no body.
//!
//! A parser may carry a [`Needle`] (see `needle`): a byte string searched for in every body as
//! it streams past, so a match split across reads or chunks is found and no body is stored. [`Response::contains`] then says whether the body had it; this is how a run
//! tells a judge's `"status":"Accepted"` from a `200` that carries a failed run.
//!
//! It does not judge the response: comparing the status, body length and needle with what the
//! run expects is the connection's job (see `load`).
//!
//! ```
//! use shardbox_bench::response::{ResponseParser, Step};
//! let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
//! let mut parser = ResponseParser::new(false);
//! let (used, step) = parser.parse(wire).unwrap();
//! assert_eq!(used, wire.len() - 5); // the head
//! assert!(matches!(step, Step::NeedMore));
//! let (used, step) = parser.parse(&wire[used..]).unwrap();
//! assert_eq!(used, 5);
//! let Step::Done(response) = step else { panic!("complete") };
//! assert_eq!((response.status, response.body_bytes), (200, 5));
//! ```

use std::mem::MaybeUninit;

use crate::limits::{
    CHUNK_LINE_BYTES_MAX, RESPONSE_BODY_BYTES_MAX, RESPONSE_HEAD_BYTES_MAX, RESPONSE_HEADERS_MAX,
    TRAILER_BYTES_MAX,
};
pub use crate::needle::{Needle, NeedleError};

/// One complete response, as counted by the load generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code of the final (non-`1xx`) response.
    pub status: u16,
    /// Body length in bytes after removing chunked framing.
    pub body_bytes: u64,
    /// The server announced it closes the connection after this response (or ended the body by
    /// closing it).
    pub close: bool,
    /// Whether the body contained the parser's [`Needle`]; `None` when it has none.
    pub contains: Option<bool>,
}

/// What a call to [`ResponseParser::parse`] achieved besides consuming bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The response is not complete yet: call again with more bytes.
    NeedMore,
    /// A response is complete; the parser is ready for the next one.
    Done(Response),
}

/// Why the bytes are not a valid response. Each is counted as an error by the run.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ResponseError {
    /// `httparse` rejected the head.
    #[error("malformed response head: {0}")]
    Head(httparse::Error),
    /// The head is longer than the limit.
    #[error("response head exceeds {max} bytes")]
    HeadTooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// `Content-Length` is not a decimal number, or appears twice with different values.
    #[error("invalid Content-Length")]
    ContentLength,
    /// The body is larger than the limit.
    #[error("response body of {len} bytes exceeds {max}")]
    BodyTooLarge {
        /// The announced or accumulated length.
        len: u64,
        /// The limit in bytes.
        max: u64,
    },
    /// A transfer coding other than a final `chunked`.
    #[error("unsupported Transfer-Encoding")]
    TransferEncoding,
    /// A chunk-size line is not hex digits optionally followed by extensions.
    #[error("malformed chunk-size line")]
    ChunkSize,
    /// A chunk-size line is longer than the limit.
    #[error("chunk-size line exceeds {max} bytes")]
    ChunkLineTooLong {
        /// The limit in bytes.
        max: usize,
    },
    /// Chunk data is not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    ChunkCrlf,
    /// The trailer section is longer than the limit.
    #[error("chunked trailers exceed {max} bytes")]
    TrailersTooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// The connection ended in the middle of a response.
    #[error("connection closed in the middle of a response")]
    Truncated,
}

/// Where the parser is inside the current response.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Waiting for a complete head.
    Head,
    /// Counting a body of known length; `remaining` bytes still to come.
    Body { remaining: u64 },
    /// Inside a chunked body.
    Chunked(Chunk),
    /// Body runs until the server closes the connection.
    UntilClose,
}

/// Position inside a chunked body.
#[derive(Clone, Copy, Debug)]
enum Chunk {
    /// Reading hex digits of a chunk size; `line_bytes` seen so far on this line.
    Size { size: u64, digits: u32, line_bytes: usize },
    /// After `;`: skipping a chunk extension up to the line end.
    Extension { size: u64, line_bytes: usize },
    /// Saw `\r` ending a size line.
    SizeLf { size: u64 },
    /// Skipping chunk data.
    Data { remaining: u64 },
    /// Expecting `\r` after chunk data.
    DataCr,
    /// Expecting `\n` after chunk data.
    DataLf,
    /// After the last chunk: trailer lines until an empty line. `at_line_start` is true when
    /// the previous byte ended a line; `cr` when the previous byte was `\r`.
    Trailers { bytes: usize, at_line_start: bool, cr: bool },
}

/// Incremental parser for a stream of HTTP/1.1 responses on one connection.
#[derive(Debug)]
pub struct ResponseParser {
    state: State,
    /// The request method was `HEAD`: responses carry no body whatever their headers say.
    head_requests: bool,
    /// Status of the response being parsed.
    status: u16,
    /// Body bytes counted so far for the response being parsed.
    body_bytes: u64,
    /// The response being parsed announced `Connection: close` (or HTTP/1.0 without keep-alive).
    close: bool,
    /// What to look for in every body, if anything.
    needle: Option<Needle>,
    /// Bytes of the needle matched so far in the current body (its length once found).
    matched: usize,
}

impl ResponseParser {
    /// A parser for responses to requests of one kind; `head_requests` says they answer `HEAD`.
    pub fn new(head_requests: bool) -> Self {
        Self::with_needle(head_requests, None)
    }

    /// Like [`ResponseParser::new`], also searching every body for `needle`.
    pub fn with_needle(head_requests: bool, needle: Option<Needle>) -> Self {
        Self {
            state: State::Head,
            head_requests,
            status: 0,
            body_bytes: 0,
            close: false,
            needle,
            matched: 0,
        }
    }

    /// Feeds body bytes to the needle search.
    fn observe(&mut self, body: &[u8]) {
        if let Some(needle) = &self.needle
            && self.matched < needle.bytes().len()
        {
            self.matched = needle.advance(self.matched, body);
        }
    }

    /// True when no response is partly parsed: a clean point for the connection to end.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head)
    }

    /// Consumes a prefix of `buf` and says whether a response completed.
    ///
    /// Returns `(consumed, step)`. At most one response completes per call: call again with
    /// the rest of the buffer while it makes progress. `(0, NeedMore)` means the bytes are a
    /// partial head, to be kept and completed by the next read.
    pub fn parse(&mut self, buf: &[u8]) -> Result<(usize, Step), ResponseError> {
        match self.state {
            State::Head => self.parse_head(buf),
            State::Body { remaining } => {
                let take = remaining.min(buf.len() as u64);
                let remaining = remaining - take;
                self.body_bytes += take;
                let used = usize::try_from(take).unwrap_or(buf.len());
                self.observe(buf.get(..used).unwrap_or_default());
                if remaining == 0 {
                    Ok((used, self.finish()))
                } else {
                    self.state = State::Body { remaining };
                    Ok((used, Step::NeedMore))
                }
            }
            State::Chunked(chunk) => self.parse_chunked(chunk, buf),
            State::UntilClose => {
                self.add_body(buf.len() as u64)?;
                self.observe(buf);
                Ok((buf.len(), Step::NeedMore))
            }
        }
    }

    /// The connection reached end of file: completes a body framed by the close, or reports a
    /// response cut short. `Ok(None)` when no response was in progress.
    pub fn eof(&mut self) -> Result<Option<Response>, ResponseError> {
        match self.state {
            State::Head => Ok(None),
            State::UntilClose => {
                self.close = true;
                match self.finish() {
                    Step::Done(response) => Ok(Some(response)),
                    Step::NeedMore => Err(ResponseError::Truncated),
                }
            }
            State::Body { .. } | State::Chunked(_) => {
                self.state = State::Head;
                Err(ResponseError::Truncated)
            }
        }
    }

    fn finish(&mut self) -> Step {
        let contains = self.needle.as_ref().map(|n| self.matched == n.bytes().len());
        let response = Response {
            status: self.status,
            body_bytes: self.body_bytes,
            close: self.close,
            contains,
        };
        self.state = State::Head;
        self.status = 0;
        self.body_bytes = 0;
        self.close = false;
        self.matched = 0;
        Step::Done(response)
    }

    fn add_body(&mut self, len: u64) -> Result<(), ResponseError> {
        let total = self.body_bytes.saturating_add(len);
        if total > RESPONSE_BODY_BYTES_MAX {
            return Err(ResponseError::BodyTooLarge { len: total, max: RESPONSE_BODY_BYTES_MAX });
        }
        self.body_bytes = total;
        Ok(())
    }

    fn parse_head(&mut self, buf: &[u8]) -> Result<(usize, Step), ResponseError> {
        let mut storage =
            [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; RESPONSE_HEADERS_MAX];
        let mut response = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default()
            .parse_response_with_uninit_headers(&mut response, buf, &mut storage)
            .map_err(ResponseError::Head)?;
        let head_len = match parsed {
            httparse::Status::Complete(len) => len,
            httparse::Status::Partial => {
                if buf.len() > RESPONSE_HEAD_BYTES_MAX {
                    return Err(ResponseError::HeadTooLarge { max: RESPONSE_HEAD_BYTES_MAX });
                }
                return Ok((0, Step::NeedMore));
            }
        };
        if head_len > RESPONSE_HEAD_BYTES_MAX {
            return Err(ResponseError::HeadTooLarge { max: RESPONSE_HEAD_BYTES_MAX });
        }
        let status = response.code.unwrap_or(0);
        let version = response.version.unwrap_or(1);
        let mut content_length: Option<u64> = None;
        let mut chunked = false;
        let mut close = version == 0;
        for header in response.headers.iter() {
            let name = header.name.as_bytes();
            if name.eq_ignore_ascii_case(b"content-length") {
                let len = parse_decimal(header.value).ok_or(ResponseError::ContentLength)?;
                if content_length.is_some_and(|seen| seen != len) {
                    return Err(ResponseError::ContentLength);
                }
                content_length = Some(len);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = is_final_chunked(header.value)?;
            } else if name.eq_ignore_ascii_case(b"connection") {
                for token in header.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        close = false;
                    }
                }
            }
        }
        if (100..200).contains(&status) {
            // Interim response (e.g. 100 Continue): skip it, the final one follows.
            return Ok((head_len, Step::NeedMore));
        }
        self.status = status;
        self.close = close;
        self.body_bytes = 0;
        self.matched = 0;
        let no_body = self.head_requests || status == 204 || status == 304;
        if no_body {
            return Ok((head_len, self.finish()));
        }
        if chunked {
            self.state = State::Chunked(Chunk::Size { size: 0, digits: 0, line_bytes: 0 });
            return Ok((head_len, Step::NeedMore));
        }
        match content_length {
            Some(len) if len > RESPONSE_BODY_BYTES_MAX => {
                Err(ResponseError::BodyTooLarge { len, max: RESPONSE_BODY_BYTES_MAX })
            }
            Some(0) => Ok((head_len, self.finish())),
            Some(len) => {
                self.state = State::Body { remaining: len };
                Ok((head_len, Step::NeedMore))
            }
            None => {
                self.close = true;
                self.state = State::UntilClose;
                Ok((head_len, Step::NeedMore))
            }
        }
    }

    fn parse_chunked(
        &mut self,
        mut chunk: Chunk,
        buf: &[u8],
    ) -> Result<(usize, Step), ResponseError> {
        let mut at = 0usize;
        while let Some(rest) = buf.get(at..)
            && let Some(&byte) = rest.first()
        {
            match chunk {
                Chunk::Data { remaining } => {
                    let take = remaining.min(rest.len() as u64);
                    self.add_body(take)?;
                    let take_len = usize::try_from(take).unwrap_or(rest.len());
                    self.observe(rest.get(..take_len).unwrap_or_default());
                    at += take_len;
                    let remaining = remaining - take;
                    chunk = if remaining == 0 { Chunk::DataCr } else { Chunk::Data { remaining } };
                    continue;
                }
                Chunk::Size { size, digits, line_bytes } => {
                    let line_bytes = chunk_line(line_bytes)?;
                    chunk = match byte {
                        b'\r' if digits > 0 => Chunk::SizeLf { size },
                        b';' | b' ' | b'\t' if digits > 0 => Chunk::Extension { size, line_bytes },
                        _ => {
                            let digit = hex_digit(byte).ok_or(ResponseError::ChunkSize)?;
                            let size = size
                                .checked_mul(16)
                                .and_then(|s| s.checked_add(digit))
                                .ok_or(ResponseError::ChunkSize)?;
                            if size > RESPONSE_BODY_BYTES_MAX {
                                return Err(ResponseError::BodyTooLarge {
                                    len: size,
                                    max: RESPONSE_BODY_BYTES_MAX,
                                });
                            }
                            Chunk::Size { size, digits: digits + 1, line_bytes }
                        }
                    };
                }
                Chunk::Extension { size, line_bytes } => {
                    let line_bytes = chunk_line(line_bytes)?;
                    chunk = match byte {
                        b'\r' => Chunk::SizeLf { size },
                        b'\n' => return Err(ResponseError::ChunkSize),
                        _ => Chunk::Extension { size, line_bytes },
                    };
                }
                Chunk::SizeLf { size } => {
                    if byte != b'\n' {
                        return Err(ResponseError::ChunkSize);
                    }
                    chunk = if size == 0 {
                        Chunk::Trailers { bytes: 0, at_line_start: true, cr: false }
                    } else {
                        Chunk::Data { remaining: size }
                    };
                }
                Chunk::DataCr => {
                    if byte != b'\r' {
                        return Err(ResponseError::ChunkCrlf);
                    }
                    chunk = Chunk::DataLf;
                }
                Chunk::DataLf => {
                    if byte != b'\n' {
                        return Err(ResponseError::ChunkCrlf);
                    }
                    chunk = Chunk::Size { size: 0, digits: 0, line_bytes: 0 };
                }
                Chunk::Trailers { bytes, at_line_start, cr } => {
                    let bytes = bytes + 1;
                    if bytes > TRAILER_BYTES_MAX {
                        return Err(ResponseError::TrailersTooLarge { max: TRAILER_BYTES_MAX });
                    }
                    match byte {
                        b'\n' if at_line_start => {
                            // Empty line (CRLF or bare LF at a line start): end of the message.
                            at += 1;
                            return Ok((at, self.finish()));
                        }
                        b'\n' => {
                            chunk = Chunk::Trailers { bytes, at_line_start: true, cr: false };
                        }
                        b'\r' => chunk = Chunk::Trailers { bytes, at_line_start, cr: true },
                        _ => {
                            if cr {
                                return Err(ResponseError::ChunkCrlf);
                            }
                            chunk = Chunk::Trailers { bytes, at_line_start: false, cr: false };
                        }
                    }
                }
            }
            at += 1;
        }
        self.state = State::Chunked(chunk);
        Ok((at, Step::NeedMore))
    }
}

/// Counts one more byte of a chunk-size line against its limit.
fn chunk_line(line_bytes: usize) -> Result<usize, ResponseError> {
    let line_bytes = line_bytes + 1;
    if line_bytes > CHUNK_LINE_BYTES_MAX {
        return Err(ResponseError::ChunkLineTooLong { max: CHUNK_LINE_BYTES_MAX });
    }
    Ok(line_bytes)
}

fn hex_digit(byte: u8) -> Option<u64> {
    char::from(byte).to_digit(16).map(u64::from)
}

/// Parses a `Content-Length` value: ASCII digits only, optional surrounding whitespace.
fn parse_decimal(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        let digit = char::from(b).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A `Transfer-Encoding` value is supported when its last coding is `chunked` and it has no
/// other coding (we send no `TE`, so a compliant server applies nothing else).
fn is_final_chunked(value: &[u8]) -> Result<bool, ResponseError> {
    let mut codings = value.split(|&b| b == b',').map(<[u8]>::trim_ascii);
    match (codings.next(), codings.next()) {
        (Some(only), None) if only.eq_ignore_ascii_case(b"chunked") => Ok(true),
        (Some(only), None) if only.eq_ignore_ascii_case(b"identity") => Ok(false),
        _ => Err(ResponseError::TransferEncoding),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_rejects_signs_and_overflow() {
        assert_eq!(parse_decimal(b" 42 "), Some(42));
        assert_eq!(parse_decimal(b"+1"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"99999999999999999999999"), None);
    }

    #[test]
    fn transfer_encoding_accepts_only_chunked_or_identity() {
        assert_eq!(is_final_chunked(b"Chunked"), Ok(true));
        assert_eq!(is_final_chunked(b"identity"), Ok(false));
        assert_eq!(is_final_chunked(b"gzip, chunked"), Err(ResponseError::TransferEncoding));
    }
}
