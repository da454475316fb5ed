//! [`ChunkedDecoder`]: an incremental decoder for `Transfer-Encoding: chunked` bodies
//! (RFC 9112 §7.1).
//!
//! Feed it input slices as they arrive; each call to [`ChunkedDecoder::decode`] reports how many
//! input bytes it consumed, the range of those bytes that is body data (so the caller copies data
//! straight out of its receive buffer, or compacts it in place with
//! [`ChunkedDecoder::decode_in_place`]), and whether the body is complete. Framing bytes (sizes,
//! extensions, CRLFs, trailers) are consumed into the decoder's small state, so the caller never
//! keeps unconsumed bytes around except after completion: then `consumed` stops right after the
//! final CRLF and the rest of the input is the next pipelined request.
//!
//! Rules: a size is 1 to 16 hex digits (16 digits hold any `u64`, so a size cannot overflow),
//! optionally followed by whitespace and `;` extensions, which are skipped but count against
//! `chunk_ext_bytes_max` for the whole body. Each chunk's size is checked against
//! `body_bytes_max` as soon as the size is read — before its data arrives — so an oversized body
//! is refused with 413 without reading it. Trailer fields are checked for syntax, counted against
//! `trailer_bytes_max` (431) and discarded. Lines end in CRLF only, as in the head.
//!
//! ```
//! use shardbox_http::{ChunkedDecoder, Limits};
//!
//! let mut dec = ChunkedDecoder::new(&Limits::DEFAULT);
//! let mut body = Vec::new();
//! let mut input: &[u8] = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
//! loop {
//!     let d = dec.decode(input).unwrap();
//!     body.extend_from_slice(&input[d.data.clone()]);
//!     input = &input[d.consumed..];
//!     if d.done { break; }
//! }
//! assert_eq!(body, b"hello world");
//! assert_eq!(input, b"NEXT");
//! ```
//!
//! This module does not allocate and does not decide when the connection closes.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use core::ops::Range;

use crate::error::ParseError;
use crate::limits::{CHUNK_SIZE_DIGITS_MAX, Limits};
use crate::syntax::{is_ows, is_tchar, is_value_byte};

/// What one [`ChunkedDecoder::decode`] call did with its input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes consumed; pass `&input[consumed..]` to the next call.
    pub consumed: usize,
    /// Body data within `input[..consumed]` (possibly empty). Always ends at `consumed`.
    pub data: Range<usize>,
    /// The last chunk and the trailer section have been read; `consumed` ends right after them.
    pub done: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size.
    Size {
        digits: usize,
        size: u64,
    },
    /// After the digits: whitespace, or a `;` extension, until CR.
    Ext {
        size: u64,
    },
    /// Saw CR after the size line, expecting LF.
    SizeLf {
        size: u64,
    },
    /// Inside chunk data.
    Data {
        remaining: u64,
    },
    /// After chunk data, expecting CR then LF.
    DataCr,
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerLine,
    TrailerName,
    TrailerValue,
    TrailerLf,
    /// Saw CR of the final empty line, expecting LF.
    FinalLf,
    Done,
    Failed(ParseError),
}

/// Incremental decoder of one chunked body. Create one per body; it holds no buffer.
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    body_bytes_max: u64,
    chunk_ext_bytes_max: usize,
    trailer_bytes_max: usize,
    /// Data bytes announced by the chunk sizes read so far (≤ `body_bytes_max`).
    body_len: u64,
    ext_len: usize,
    trailer_len: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a body, enforcing `limits`' body, extension and trailer limits.
    #[must_use]
    pub fn new(limits: &Limits) -> Self {
        Self {
            state: State::Size { digits: 0, size: 0 },
            body_bytes_max: limits.body_bytes_max,
            chunk_ext_bytes_max: limits.chunk_ext_bytes_max,
            trailer_bytes_max: limits.trailer_bytes_max,
            body_len: 0,
            ext_len: 0,
            trailer_len: 0,
        }
    }

    /// Whether the whole body (last chunk and trailers) has been decoded.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes announced by the chunk sizes read so far (the decoded length once done).
    #[must_use]
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// Decodes from the start of `input`: consumes framing bytes until it reaches chunk data (then
    /// returns that data's range), the end of the input, or the end of the body.
    ///
    /// Call again with `&input[consumed..]` while `consumed < input.len()` and not `done`; when
    /// all input is consumed, wait for more. After `done`, calls consume nothing.
    ///
    /// # Errors
    ///
    /// The first framing rule the input breaks; the decoder then keeps returning that error.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, ParseError> {
        let mut pos = 0usize;
        loop {
            match self.state {
                State::Done => return Ok(Decoded { consumed: pos, data: pos..pos, done: true }),
                State::Failed(e) => return Err(e),
                State::Data { remaining } => {
                    let avail = input.len().saturating_sub(pos);
                    let n = usize::try_from(remaining).map_or(avail, |r| r.min(avail));
                    if n == 0 {
                        return Ok(Decoded { consumed: pos, data: pos..pos, done: false });
                    }
                    let left = remaining.saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
                    self.state =
                        if left == 0 { State::DataCr } else { State::Data { remaining: left } };
                    let end = pos.saturating_add(n);
                    return Ok(Decoded { consumed: end, data: pos..end, done: false });
                }
                _ => {
                    let Some(&b) = input.get(pos) else {
                        return Ok(Decoded { consumed: pos, data: pos..pos, done: false });
                    };
                    pos = pos.saturating_add(1);
                    if let Err(e) = self.step(b) {
                        self.state = State::Failed(e);
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Decodes `buf` in place: moves the body data found in it to the front of `buf`.
    ///
    /// Returns `(consumed, written, done)`: `buf[..written]` is body data, `buf[consumed..]` is
    /// untouched input (the next request, once done). Framing between them is garbage.
    ///
    /// # Errors
    ///
    /// As [`ChunkedDecoder::decode`].
    pub fn decode_in_place(&mut self, buf: &mut [u8]) -> Result<(usize, usize, bool), ParseError> {
        let mut consumed = 0usize;
        let mut written = 0usize;
        loop {
            let d = self.decode(buf.get(consumed..).unwrap_or(&[]))?;
            let data = d.data.start.saturating_add(consumed)..d.data.end.saturating_add(consumed);
            let len = data.len();
            buf.copy_within(data, written);
            written = written.saturating_add(len);
            consumed = consumed.saturating_add(d.consumed);
            if d.done || d.consumed == 0 || consumed >= buf.len() {
                return Ok((consumed, written, d.done));
            }
        }
    }

    /// Advances the framing state machine by one byte.
    fn step(&mut self, b: u8) -> Result<(), ParseError> {
        self.state = match self.state {
            State::Size { digits, size } => {
                if let Some(v) = hex_value(b) {
                    if digits >= CHUNK_SIZE_DIGITS_MAX {
                        return Err(ParseError::ChunkSizeOverflow);
                    }
                    // Cannot overflow: at most 16 digits of 4 bits.
                    State::Size { digits: digits.saturating_add(1), size: (size << 4) | v }
                } else if digits == 0 {
                    return Err(ParseError::InvalidChunkSize);
                } else {
                    self.announce(size)?;
                    match b {
                        b'\r' => State::SizeLf { size },
                        b';' | b' ' | b'\t' => {
                            self.count_ext()?;
                            State::Ext { size }
                        }
                        b'\n' => return Err(ParseError::InvalidLineEnding),
                        _ => return Err(ParseError::InvalidChunkSize),
                    }
                }
            }
            State::Ext { size } => match b {
                b'\r' => State::SizeLf { size },
                b'\n' => return Err(ParseError::InvalidLineEnding),
                b if is_value_byte(b) => {
                    self.count_ext()?;
                    State::Ext { size }
                }
                _ => return Err(ParseError::InvalidChunkExtension),
            },
            State::SizeLf { size } => match b {
                b'\n' if size == 0 => State::TrailerLine,
                b'\n' => State::Data { remaining: size },
                _ => return Err(ParseError::InvalidLineEnding),
            },
            State::DataCr => match b {
                b'\r' => State::DataLf,
                _ => return Err(ParseError::InvalidChunkData),
            },
            State::DataLf => match b {
                b'\n' => State::Size { digits: 0, size: 0 },
                _ => return Err(ParseError::InvalidLineEnding),
            },
            State::TrailerLine => {
                self.count_trailer()?;
                match b {
                    b'\r' => State::FinalLf,
                    b if is_tchar(b) => State::TrailerName,
                    b'\n' => return Err(ParseError::InvalidLineEnding),
                    _ => return Err(ParseError::InvalidTrailer),
                }
            }
            State::TrailerName => {
                self.count_trailer()?;
                match b {
                    b':' => State::TrailerValue,
                    b if is_tchar(b) => State::TrailerName,
                    _ => return Err(ParseError::InvalidTrailer),
                }
            }
            State::TrailerValue => {
                self.count_trailer()?;
                match b {
                    b'\r' => State::TrailerLf,
                    b'\n' => return Err(ParseError::InvalidLineEnding),
                    b if is_value_byte(b) || is_ows(b) => State::TrailerValue,
                    _ => return Err(ParseError::InvalidTrailer),
                }
            }
            State::TrailerLf => {
                self.count_trailer()?;
                match b {
                    b'\n' => State::TrailerLine,
                    _ => return Err(ParseError::InvalidLineEnding),
                }
            }
            State::FinalLf => {
                self.count_trailer()?;
                match b {
                    b'\n' => State::Done,
                    _ => return Err(ParseError::InvalidLineEnding),
                }
            }
            // `decode` handles these without calling `step`.
            State::Data { .. } | State::Done | State::Failed(_) => self.state,
        };
        Ok(())
    }

    /// Adds a chunk's size to the body length, refusing it before its data is read if the body
    /// would exceed `body_bytes_max`.
    fn announce(&mut self, size: u64) -> Result<(), ParseError> {
        let len = self.body_len.saturating_add(size);
        if len > self.body_bytes_max {
            return Err(ParseError::BodyTooLarge { len, max: self.body_bytes_max });
        }
        self.body_len = len;
        Ok(())
    }

    fn count_ext(&mut self) -> Result<(), ParseError> {
        self.ext_len = self.ext_len.saturating_add(1);
        if self.ext_len > self.chunk_ext_bytes_max {
            return Err(ParseError::ChunkExtensionTooLong { max: self.chunk_ext_bytes_max });
        }
        Ok(())
    }

    fn count_trailer(&mut self) -> Result<(), ParseError> {
        self.trailer_len = self.trailer_len.saturating_add(1);
        if self.trailer_len > self.trailer_bytes_max {
            return Err(ParseError::TrailerTooLarge { max: self.trailer_bytes_max });
        }
        Ok(())
    }
}

/// The value of a hex digit.
#[inline]
fn hex_value(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` split at `splits`, returning the body and the unconsumed rest.
    fn run(input: &[u8], chunk: usize) -> Result<(Vec<u8>, Vec<u8>), ParseError> {
        let mut dec = ChunkedDecoder::new(&Limits::DEFAULT);
        let mut body = Vec::new();
        let mut offered = 0usize;
        let mut pending: Vec<u8> = Vec::new();
        loop {
            if pending.is_empty() || !dec.is_done() {
                let take = chunk.min(input.len() - offered);
                pending.extend_from_slice(&input[offered..offered + take]);
                offered += take;
            }
            let d = dec.decode(&pending)?;
            body.extend_from_slice(&pending[d.data.clone()]);
            pending.drain(..d.consumed);
            if d.done {
                pending.extend_from_slice(&input[offered..]);
                return Ok((body, pending));
            }
            if offered == input.len() && pending.is_empty() {
                return Err(ParseError::InvalidChunkData); // ran out: test helper's "incomplete"
            }
        }
    }

    #[test]
    fn decodes_with_any_split() {
        let input =
            b"5\r\nhello\r\n6;a=b;c=\"d\"\r\n world\r\nA \r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nrest";
        for chunk in 1..input.len() + 1 {
            let (body, rest) = run(input, chunk).unwrap();
            assert_eq!(body, b"hello world0123456789", "chunk {chunk}");
            assert_eq!(rest, b"rest");
        }
    }

    #[test]
    fn zero_length_body() {
        let (body, rest) = run(b"0\r\n\r\n", 100).unwrap();
        assert!(body.is_empty());
        assert!(rest.is_empty());
    }

    #[test]
    fn hex_digits_any_case_and_leading_zeros() {
        let (body, _) = run(b"00000000000000A\r\n0123456789\r\n0\r\n\r\n", 100).unwrap();
        assert_eq!(body.len(), 10);
        let (body, _) = run(b"a\r\n0123456789\r\n0\r\n\r\n", 3).unwrap();
        assert_eq!(body.len(), 10);
    }

    #[test]
    fn size_errors() {
        let e = |mut s: &[u8]| {
            let mut dec = ChunkedDecoder::new(&Limits::DEFAULT);
            loop {
                match dec.decode(s) {
                    Ok(d) if d.consumed > 0 && !d.done => s = &s[d.consumed..],
                    Ok(d) => panic!("no error: {d:?}"),
                    Err(e) => return e,
                }
            }
        };
        assert_eq!(e(b"\r\n"), ParseError::InvalidChunkSize);
        assert_eq!(e(b"g\r\n"), ParseError::InvalidChunkSize);
        assert_eq!(e(b"-1\r\n"), ParseError::InvalidChunkSize);
        assert_eq!(e(b"0x5\r\n"), ParseError::InvalidChunkSize);
        assert_eq!(e(b"5\n"), ParseError::InvalidLineEnding);
        assert_eq!(e(b"5\rx"), ParseError::InvalidLineEnding);
        assert_eq!(e(b"5;\x01\r\n"), ParseError::InvalidChunkExtension);
        assert_eq!(e(b"5;a\nb"), ParseError::InvalidLineEnding);
        assert_eq!(e(b"00000000000000000\r\n"), ParseError::ChunkSizeOverflow);
        assert_eq!(
            e(b"ffffffffffffffff\r\n"),
            ParseError::BodyTooLarge { len: u64::MAX, max: crate::limits::BODY_BYTES_MAX }
        );
        assert_eq!(e(b"1\r\nab"), ParseError::InvalidChunkData);
        assert_eq!(e(b"1\r\na\rb"), ParseError::InvalidLineEnding);
        assert_eq!(e(b"0\r\n x: 1\r\n\r\n"), ParseError::InvalidTrailer);
        assert_eq!(e(b"0\r\nx : 1\r\n\r\n"), ParseError::InvalidTrailer);
        assert_eq!(e(b"0\r\nx: \x00\r\n\r\n"), ParseError::InvalidTrailer);
        assert_eq!(e(b"0\r\nx: 1\n\r\n"), ParseError::InvalidLineEnding);
        assert_eq!(e(b"0\r\n\n"), ParseError::InvalidLineEnding);
        assert_eq!(e(b"0\r\n\rx"), ParseError::InvalidLineEnding);
    }

    #[test]
    fn errors_are_sticky() {
        let mut dec = ChunkedDecoder::new(&Limits::DEFAULT);
        assert_eq!(dec.decode(b"z"), Err(ParseError::InvalidChunkSize));
        assert_eq!(dec.decode(b"0\r\n\r\n"), Err(ParseError::InvalidChunkSize));
    }

    #[test]
    fn done_consumes_nothing_more() {
        let mut dec = ChunkedDecoder::new(&Limits::DEFAULT);
        let d = dec.decode(b"0\r\n\r\nGET").unwrap();
        assert_eq!(d, Decoded { consumed: 5, data: 5..5, done: true });
        assert!(dec.is_done());
        assert_eq!(dec.decode(b"GET").unwrap(), Decoded { consumed: 0, data: 0..0, done: true });
    }

    #[test]
    fn in_place() {
        let mut buf = *b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET";
        let mut dec = ChunkedDecoder::new(&Limits::DEFAULT);
        let (consumed, written, done) = dec.decode_in_place(&mut buf).unwrap();
        assert!(done);
        assert_eq!(&buf[..written], b"abcde");
        assert_eq!(&buf[consumed..], b"GET");
        assert_eq!(dec.body_len(), 5);
    }

    #[test]
    fn in_place_partial() {
        let mut dec = ChunkedDecoder::new(&Limits::DEFAULT);
        let mut buf = *b"5\r\nab";
        assert_eq!(dec.decode_in_place(&mut buf).unwrap(), (5, 2, false));
        assert_eq!(&buf[..2], b"ab");
        let mut buf = *b"cde\r\n0\r\n\r\n";
        assert_eq!(dec.decode_in_place(&mut buf).unwrap(), (buf.len(), 3, true));
        assert_eq!(&buf[..3], b"cde");
    }
}
