//! [`parse_request`]: the request head parser (RFC 9112 §2–§7, RFC 9110 §5, §7.2, §10.1.1).
//!
//! One left-to-right pass over the buffer validates the request line and every header line and
//! records the framing facts (Content-Length, Transfer-Encoding, Connection, Upgrade, Expect,
//! Host) as it goes; the few rules that need the whole head (missing Host, CL with TE, the
//! coding list, 417, 413) run once the empty line is seen.
//!
//! # The incremental contract
//!
//! The parser keeps no state between calls: the engine calls it again with the longer buffer
//! when more bytes arrive. It returns [`Parsed::Partial`] when the buffer ends before the head
//! does *and* nothing seen so far is invalid; it returns an error as soon as a byte breaks a rule,
//! and that error is the same one the whole head would give (checks run in buffer order, and the
//! whole-head checks only run on a complete head). So for any split of a request, every prefix
//! gives `Partial` or the final error, and the full head gives the same result as one call.
//! `tests/it/incremental.rs` checks this for every prefix of the corpus and of generated heads.
//!
//! Only the first `header_bytes_max` bytes are ever examined. If they do not hold a complete head
//! and the buffer is at least that long, the result is 431 — so a slowloris or a giant header is
//! refused once the limit is reached, without buffering more. Cost: re-parsing a growing partial
//! head is quadratic in the worst case (one byte per call), bounded by the head limit.
//!
//! # Strictness
//!
//! Lines must end in CRLF: a bare LF or a bare CR anywhere in the head is 400 (RFC 9112 §2.2
//! allows accepting bare LF; we do not, because a proxy that splits lines differently is the
//! classic request smuggling setup). Other rules stricter than `httparse` are listed in
//! `docs/architecture.md` ("http") and in `tests/it/differential.rs`.
//!
//! This module does not read bodies: see [`crate::ChunkedDecoder`] and [`BodyKind::Length`].
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use crate::error::ParseError;
use crate::limits::Limits;
use crate::request::{BodyKind, Header, Method, Parsed, Request, Version};
use crate::syntax::{is_host_byte, is_tchar, list_members, target_end, value_end};

/// Parses a request head at the start of `buf`, storing header lines in `headers`.
///
/// Returns `Complete { request, head_len }` when the head is complete and valid, `Partial` when
/// more bytes are needed, or the first rule the head breaks. At most
/// `min(limits.headers_count_max, headers.len())` headers are accepted; more is 431.
///
/// ```
/// use shardbox_http::{parse_request, BodyKind, Header, Limits, Method, Parsed};
///
/// let mut headers = [Header::EMPTY; 16];
/// let buf = b"GET /hello?x=1 HTTP/1.1\r\nHost: a\r\n\r\nnext";
/// let Ok(Parsed::Complete { request, head_len }) = parse_request(buf, &mut headers, &Limits::DEFAULT)
/// else { panic!("complete") };
/// assert_eq!(request.method, Method::Get);
/// assert_eq!(request.path(), b"/hello");
/// assert_eq!(request.header("HOST"), Some(&b"a"[..]));
/// assert_eq!(request.body, BodyKind::None);
/// assert!(request.keep_alive);
/// assert_eq!(&buf[head_len..], b"next");
/// ```
///
/// # Errors
///
/// A [`ParseError`] naming the broken rule; [`ParseError::status`] gives the response status.
pub fn parse_request<'b, 'h>(
    buf: &'b [u8],
    headers: &'h mut [Header<'b>],
    limits: &Limits,
) -> Result<Parsed<Request<'b, 'h>>, ParseError> {
    let window = buf.get(..limits.header_bytes_max).unwrap_or(buf);
    let count_max = limits.headers_count_max.min(headers.len());
    let storage = headers.get_mut(..count_max).unwrap_or(&mut []);
    let Some(head) = parse_head(window, storage, limits)? else {
        if buf.len() >= limits.header_bytes_max {
            return Err(ParseError::HeadTooLarge { max: limits.header_bytes_max });
        }
        return Ok(Parsed::Partial);
    };
    let headers: &'h [Header<'b>] = headers;
    let request = Request {
        method: head.method,
        target: head.target,
        version: head.version,
        headers: headers.get(..head.count).unwrap_or(&[]),
        body: head.body,
        keep_alive: head.keep_alive,
        expect_continue: head.expect_continue,
        websocket_upgrade: head.websocket_upgrade,
    };
    Ok(Parsed::Complete { request, head_len: head.len })
}

/// A complete, valid head before it is tied to the header storage's lifetime.
struct Head<'b> {
    method: Method<'b>,
    target: &'b [u8],
    version: Version,
    count: usize,
    body: BodyKind,
    keep_alive: bool,
    expect_continue: bool,
    websocket_upgrade: bool,
    len: usize,
}

/// What the header lines said about framing, gathered in one pass.
#[derive(Default)]
struct Facts {
    host_seen: bool,
    content_length: Option<u64>,
    te_seen: bool,
    te_chunked_count: u8,
    te_last_is_chunked: bool,
    te_unknown: bool,
    conn_close: bool,
    conn_keep_alive: bool,
    conn_upgrade: bool,
    upgrade_websocket: bool,
    expect_continue: bool,
    expect_other: bool,
}

/// `Ok(None)` means partial. `storage` is already cut to the header count limit.
#[inline]
fn parse_head<'b>(
    window: &'b [u8],
    storage: &mut [Header<'b>],
    limits: &Limits,
) -> Result<Option<Head<'b>>, ParseError> {
    let mut rest = window;

    // RFC 9112 §2.2: ignore empty lines before the request line (only CRLF ones).
    loop {
        match rest {
            [b'\r', b'\n', tail @ ..] => rest = tail,
            [] | [b'\r'] => return Ok(None),
            [b'\r' | b'\n', ..] => return Err(ParseError::InvalidLineEnding),
            _ => break,
        }
    }

    // method SP
    let method = match rest {
        [b'G', b'E', b'T', b' ', tail @ ..] => {
            rest = tail;
            Method::Get
        }
        [b'P', b'O', b'S', b'T', b' ', tail @ ..] => {
            rest = tail;
            Method::Post
        }
        _ => {
            let Some(end) = rest.iter().position(|&b| !is_tchar(b)) else { return Ok(None) };
            let Some((token, tail)) = rest.split_at_checked(end) else { return Ok(None) };
            rest = match tail {
                [b' ', tail @ ..] if !token.is_empty() => tail,
                [b'\r' | b'\n', ..] if !token.is_empty() => {
                    return Err(ParseError::InvalidRequestLine);
                }
                _ => return Err(ParseError::InvalidMethod),
            };
            Method::from_token(token)
        }
    };

    // request-target SP
    let max = limits.target_bytes_max;
    let Some(end) = target_end(rest) else {
        if rest.len() > max {
            return Err(ParseError::TargetTooLong { max });
        }
        return Ok(None);
    };
    if end > max {
        return Err(ParseError::TargetTooLong { max });
    }
    let Some((target, tail)) = rest.split_at_checked(end) else { return Ok(None) };
    rest = match tail {
        [b' ', tail @ ..] if !target.is_empty() => tail,
        [b' ' | b'\r' | b'\n', ..] => return Err(ParseError::InvalidRequestLine),
        _ => return Err(ParseError::InvalidTarget),
    };

    // HTTP-version CRLF
    let version = match rest {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'1', b'\r', b'\n', tail @ ..] => {
            rest = tail;
            Version::Http11
        }
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'0', b'\r', b'\n', tail @ ..] => {
            rest = tail;
            Version::Http10
        }
        _ => match parse_version_slow(rest)? {
            Some((version, tail)) => {
                rest = tail;
                version
            }
            None => return Ok(None),
        },
    };

    // field lines, then the empty line
    let mut facts = Facts::default();
    let mut slots = storage.iter_mut();
    let mut count = 0usize;
    loop {
        match rest {
            [b'\r', b'\n', tail @ ..] => {
                rest = tail;
                break;
            }
            [] | [b'\r'] => return Ok(None),
            [b'\r' | b'\n', ..] => return Err(ParseError::InvalidLineEnding),
            [b' ' | b'\t', ..] => return Err(ParseError::ObsFold),
            _ => {}
        }
        let Some(slot) = slots.next() else {
            return Err(ParseError::TooManyHeaders { max: count });
        };

        let Some(name_end) = rest.iter().position(|&b| !is_tchar(b)) else { return Ok(None) };
        let Some((name, tail)) = rest.split_at_checked(name_end) else { return Ok(None) };
        let tail = match tail {
            [b':', tail @ ..] if !name.is_empty() => tail,
            [b' ' | b'\t', ..] if !name.is_empty() => return Err(ParseError::SpaceBeforeColon),
            _ => return Err(ParseError::InvalidHeaderName),
        };

        let Some(end) = value_end(tail) else { return Ok(None) };
        let Some((value, after)) = tail.split_at_checked(end) else { return Ok(None) };
        rest = match after {
            [b'\r', b'\n', tail @ ..] => tail,
            [b'\r'] => return Ok(None),
            [b'\r' | b'\n', ..] => return Err(ParseError::InvalidLineEnding),
            _ => return Err(ParseError::InvalidHeaderValue),
        };
        // Only SP and HTAB can be at either end: other whitespace is not a value byte.
        let value = value.trim_ascii();

        *slot = Header { name, value };
        count = count.saturating_add(1);
        note_header(&mut facts, name, value)?;
    }

    let head_len = window.len().saturating_sub(rest.len());
    finish(facts, method, target, version, count, head_len, limits).map(Some)
}

/// The version when the fast path did not match: `Ok(None)` if partial, 505 for other
/// well-formed versions, 400 otherwise. Bytes are checked as they arrive (`HTTP/`, then digits
/// and dots), so garbage is refused before its line ends, like every other part of the head.
#[cold]
fn parse_version_slow(rest: &[u8]) -> Result<Option<(Version, &[u8])>, ParseError> {
    let Some(end) = rest.iter().enumerate().position(|(i, &b)| match b"HTTP/".get(i) {
        Some(&expected) => b != expected,
        None => !(b.is_ascii_digit() || b == b'.'),
    }) else {
        return Ok(None);
    };
    let Some((version, tail)) = rest.split_at_checked(end) else { return Ok(None) };
    let tail = match tail {
        [b'\r', b'\n', tail @ ..] => tail,
        [b'\r'] => return Ok(None),
        [b'\r' | b'\n', ..] => return Err(ParseError::InvalidLineEnding),
        _ => return Err(ParseError::InvalidRequestLine),
    };
    match version {
        b"HTTP/1.1" => return Ok(Some((Version::Http11, tail))),
        b"HTTP/1.0" => return Ok(Some((Version::Http10, tail))),
        _ => {}
    }
    // HTTP-version = "HTTP" "/" DIGIT "." DIGIT; accept any digits so "HTTP/2" is a 505.
    let well_formed = version.strip_prefix(b"HTTP/").is_some_and(|v| {
        let mut parts = v.split(|&b| b == b'.');
        let major = parts.next().unwrap_or_default();
        let minor = parts.next().unwrap_or(b"0");
        parts.next().is_none() && !major.is_empty() && !minor.is_empty()
    });
    if well_formed {
        Err(ParseError::VersionNotSupported)
    } else {
        Err(ParseError::InvalidRequestLine)
    }
}

/// Records what one header line says about framing; rejects what is wrong in the line alone.
#[inline]
fn note_header(facts: &mut Facts, name: &[u8], value: &[u8]) -> Result<(), ParseError> {
    match name.len() {
        4 if name.eq_ignore_ascii_case(b"host") => {
            if facts.host_seen {
                return Err(ParseError::DuplicateHost);
            }
            if !value.iter().all(|&b| is_host_byte(b)) {
                return Err(ParseError::InvalidHost);
            }
            facts.host_seen = true;
        }
        6 if name.eq_ignore_ascii_case(b"expect") => {
            if value.eq_ignore_ascii_case(b"100-continue") {
                facts.expect_continue = true;
            } else {
                facts.expect_other = true;
            }
        }
        7 if name.eq_ignore_ascii_case(b"upgrade") => {
            for m in list_members(value) {
                facts.upgrade_websocket |= m.eq_ignore_ascii_case(b"websocket");
            }
        }
        10 if name.eq_ignore_ascii_case(b"connection") => {
            for m in list_members(value) {
                facts.conn_close |= m.eq_ignore_ascii_case(b"close");
                facts.conn_keep_alive |= m.eq_ignore_ascii_case(b"keep-alive");
                facts.conn_upgrade |= m.eq_ignore_ascii_case(b"upgrade");
            }
        }
        14 if name.eq_ignore_ascii_case(b"content-length") => {
            let n = parse_content_length(value)?;
            match facts.content_length {
                Some(prev) if prev != n => return Err(ParseError::ConflictingContentLength),
                _ => facts.content_length = Some(n),
            }
        }
        17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
            facts.te_seen = true;
            for coding in list_members(value) {
                if coding.is_empty() || !coding.iter().all(|&b| is_tchar(b)) {
                    return Err(ParseError::InvalidTransferEncoding);
                }
                let chunked = coding.eq_ignore_ascii_case(b"chunked");
                if chunked {
                    facts.te_chunked_count = facts.te_chunked_count.saturating_add(1);
                } else {
                    facts.te_unknown = true;
                }
                facts.te_last_is_chunked = chunked;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `1*DIGIT` as a `u64`. Lists (`5, 5`), signs and empty values are rejected.
fn parse_content_length(value: &[u8]) -> Result<u64, ParseError> {
    if value.is_empty() {
        return Err(ParseError::InvalidContentLength);
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return Err(ParseError::InvalidContentLength);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b.wrapping_sub(b'0'))))
            .ok_or(ParseError::InvalidContentLength)?;
    }
    Ok(n)
}

/// The rules that need the whole head, in a fixed order (400s, then 501, 417, 413).
fn finish<'b>(
    facts: Facts,
    method: Method<'b>,
    target: &'b [u8],
    version: Version,
    count: usize,
    len: usize,
    limits: &Limits,
) -> Result<Head<'b>, ParseError> {
    if version == Version::Http11 && !facts.host_seen {
        return Err(ParseError::MissingHost);
    }
    let body = if facts.te_seen {
        if version == Version::Http10 {
            return Err(ParseError::TransferEncodingInHttp10);
        }
        if facts.content_length.is_some() {
            return Err(ParseError::ContentLengthWithTransferEncoding);
        }
        if facts.te_chunked_count != 1 || !facts.te_last_is_chunked {
            return Err(ParseError::ChunkedNotLast);
        }
        if facts.te_unknown {
            return Err(ParseError::UnsupportedTransferCoding);
        }
        BodyKind::Chunked
    } else if let Some(n) = facts.content_length {
        BodyKind::Length(n)
    } else {
        BodyKind::None
    };
    if facts.expect_other {
        return Err(ParseError::ExpectationFailed);
    }
    if let BodyKind::Length(n) = body
        && n > limits.body_bytes_max
    {
        return Err(ParseError::BodyTooLarge { len: n, max: limits.body_bytes_max });
    }
    let keep_alive = match version {
        Version::Http11 => !facts.conn_close,
        Version::Http10 => facts.conn_keep_alive && !facts.conn_close,
    };
    Ok(Head {
        method,
        target,
        version,
        count,
        body,
        keep_alive,
        expect_continue: facts.expect_continue && version == Version::Http11,
        websocket_upgrade: version == Version::Http11
            && facts.conn_upgrade
            && facts.upgrade_websocket,
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> Result<Parsed<Request<'_, '_>>, ParseError> {
        let headers = Box::leak(Box::new([Header::EMPTY; 100]));
        parse_request(buf, headers, &Limits::DEFAULT)
    }

    fn complete(buf: &[u8]) -> (Request<'_, '_>, usize) {
        match parse(buf) {
            Ok(Parsed::Complete { request, head_len }) => (request, head_len),
            other => {
                panic!("expected complete, got {other:?} for {:?}", String::from_utf8_lossy(buf))
            }
        }
    }

    fn err(buf: &[u8]) -> ParseError {
        match parse(buf) {
            Err(e) => e,
            other => panic!("expected error, got {other:?} for {:?}", String::from_utf8_lossy(buf)),
        }
    }

    #[test]
    fn simple_get() {
        let buf =
            b"GET /hello HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n";
        let (r, n) = complete(buf);
        assert_eq!(n, buf.len());
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.target, b"/hello");
        assert_eq!(r.version, Version::Http11);
        assert_eq!(r.headers.len(), 3);
        assert_eq!(r.headers[0], Header { name: b"Host", value: b"example.com" });
        assert_eq!(r.body, BodyKind::None);
        assert!(r.keep_alive);
        assert!(!r.expect_continue);
        assert!(!r.websocket_upgrade);
    }

    #[test]
    fn values_are_trimmed_and_names_keep_case() {
        let (r, _) = complete(
            b"GET / HTTP/1.1\r\nhOsT:\t a \t\r\nX-Y: a b \r\nX-Empty:\r\nX-Sp:   \r\n\r\n",
        );
        assert_eq!(r.headers[0], Header { name: b"hOsT", value: b"a" });
        assert_eq!(r.headers[1], Header { name: b"X-Y", value: b"a b" });
        assert_eq!(r.headers[2].value, b"");
        assert_eq!(r.headers[3].value, b"");
    }

    #[test]
    fn other_methods() {
        let (r, _) = complete(b"PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.method, Method::Other(b"PROPFIND"));
        let (r, _) = complete(b"DELETE /file/x HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.method, Method::Delete);
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let buf = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let (r, n) = complete(buf);
        assert_eq!(n, buf.len());
        assert_eq!(r.target, b"/");
        assert_eq!(parse(b"\r\n\r"), Ok(Parsed::Partial));
        assert_eq!(err(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::InvalidLineEnding);
    }

    #[test]
    fn bare_lf_and_cr_are_rejected() {
        assert_eq!(err(b"GET / HTTP/1.1\nHost: a\r\n\r\n"), ParseError::InvalidLineEnding);
        assert_eq!(err(b"GET / HTTP/1.1\r\nHost: a\n\r\n"), ParseError::InvalidLineEnding);
        assert_eq!(err(b"GET / HTTP/1.1\r\nHost: a\r\n\n"), ParseError::InvalidLineEnding);
        assert_eq!(err(b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"), ParseError::InvalidLineEnding);
        assert_eq!(err(b"GET / HTTP/1.1\rHost: a\r\n\r\n"), ParseError::InvalidLineEnding);
        assert_eq!(err(b"GET / HTTP/1.1\r\nHost: a\r\n\rX"), ParseError::InvalidLineEnding);
    }

    #[test]
    fn request_line_errors() {
        assert_eq!(err(b" GET / HTTP/1.1\r\n\r\n"), ParseError::InvalidMethod);
        assert_eq!(err(b"G(T / HTTP/1.1\r\n\r\n"), ParseError::InvalidMethod);
        assert_eq!(err(b"GET\r\n\r\n"), ParseError::InvalidRequestLine);
        assert_eq!(err(b"GET  / HTTP/1.1\r\n\r\n"), ParseError::InvalidRequestLine);
        assert_eq!(err(b"GET /\r\n\r\n"), ParseError::InvalidRequestLine);
        assert_eq!(err(b"GET /a\x7f HTTP/1.1\r\n\r\n"), ParseError::InvalidTarget);
        assert_eq!(err("GET /é HTTP/1.1\r\n\r\n".as_bytes()), ParseError::InvalidTarget);
        assert_eq!(err(b"GET / HTTP/1.1 \r\n\r\n"), ParseError::InvalidRequestLine);
        assert_eq!(err(b"GET / http/1.1\r\n\r\n"), ParseError::InvalidRequestLine);
        assert_eq!(err(b"GET / HTTP/1.x\r\n\r\n"), ParseError::InvalidRequestLine);
        assert_eq!(err(b"GET / HTTP/2.0\r\n\r\n"), ParseError::VersionNotSupported);
        assert_eq!(err(b"GET / HTTP/2\r\n\r\n"), ParseError::VersionNotSupported);
        assert_eq!(err(b"GET / HTTP/0.9\r\n\r\n"), ParseError::VersionNotSupported);
        assert_eq!(err(b"GET / HTTP/1.1\n\r\n"), ParseError::InvalidLineEnding);
    }

    #[test]
    fn header_syntax_errors() {
        let h = |line: &str| {
            err(format!("GET / HTTP/1.1\r\nHost: a\r\n{line}\r\n\r\n").into_bytes().leak())
        };
        assert_eq!(h("X-A : 1"), ParseError::SpaceBeforeColon);
        assert_eq!(h("X-A\t: 1"), ParseError::SpaceBeforeColon);
        assert_eq!(h(": 1"), ParseError::InvalidHeaderName);
        assert_eq!(h("X-A"), ParseError::InvalidHeaderName);
        assert_eq!(h("X(A): 1"), ParseError::InvalidHeaderName);
        assert_eq!(h("X-A: a\x00b"), ParseError::InvalidHeaderValue);
        assert_eq!(h("X-A: a\x7fb"), ParseError::InvalidHeaderValue);
        assert_eq!(h("X-A: 1\r\n continued"), ParseError::ObsFold);
        assert_eq!(err(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"), ParseError::ObsFold);
        let (r, _) = complete(b"GET / HTTP/1.1\r\nHost: a\r\nX: \x80\xff\t\r\n\r\n");
        assert_eq!(r.headers[1].value, b"\x80\xff");
    }

    #[test]
    fn partial_heads() {
        let buf = b"GET /hello HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
        for i in 0..buf.len() {
            assert_eq!(parse(&buf[..i]), Ok(Parsed::Partial), "prefix {i}");
        }
        assert!(matches!(parse(buf), Ok(Parsed::Complete { .. })));
    }

    #[test]
    fn garbage_is_rejected_before_the_head_ends() {
        // A TLS ClientHello on the plain port: rejected at the first byte.
        assert_eq!(parse(b"\x16\x03\x01\x02\x00"), Err(ParseError::InvalidMethod));
        assert_eq!(parse(b"GET /\x00"), Err(ParseError::InvalidTarget));
        // Regression (fuzz http_parse): the version is checked before its line ends.
        assert_eq!(parse(b"GET / HTT\x8cP/0.1 tHs\r"), Err(ParseError::InvalidRequestLine));
        assert_eq!(parse(b"GET / HTTP/1.1 "), Err(ParseError::InvalidRequestLine));
        assert_eq!(parse(b"GET / HTTP/2.0"), Ok(Parsed::Partial));
    }

    #[test]
    fn header_storage_caps_the_count() {
        let mut hs = [Header::EMPTY; 1];
        let ok = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(matches!(
            parse_request(ok, &mut hs, &Limits::DEFAULT),
            Ok(Parsed::Complete { .. })
        ));
        let two = b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\r\n";
        assert_eq!(
            parse_request(two, &mut hs, &Limits::DEFAULT),
            Err(ParseError::TooManyHeaders { max: 1 })
        );
    }
}
