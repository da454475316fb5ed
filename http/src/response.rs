//! The response writer: appends a response head (and optionally a body) to the caller's
//! `Vec<u8>`.
//!
//! [`ResponseWriter`] writes the status line (precomputed for the common codes), the cached
//! `Date` line, the caller's headers (checked so that no CR, LF or NUL can split the response),
//! then `Content-Length` (formatted on the stack), the `Connection` header the framing needs and
//! the empty line. [`write_json_error`] builds the `{"error":"<reason>"}` answer for 4xx/5xx, and
//! [`CONTINUE_100`] is the interim response for `Expect: 100-continue`.
//!
//! Nothing here allocates except through the caller's `Vec` growing: reuse one per connection and
//! it stops growing after the first responses. The writer does not decide statuses or keep-alive
//! and does not send anything.
//!
//! ```
//! use shardbox_http::{DateCache, ResponseWriter, Version};
//!
//! let date = DateCache::new(0);
//! let mut out = Vec::with_capacity(256);
//! let mut w = ResponseWriter::new(&mut out, 200, Version::Http11, &date);
//! w.header(b"Content-Type", b"text/plain").unwrap();
//! w.finish(true, b"hi");
//! assert_eq!(
//!     out,
//!     b"HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n\
//!       Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
//! );
//! ```

use crate::date::DateCache;
use crate::request::Version;
use crate::syntax::{is_tchar, is_value_byte};

/// The interim response sent before reading the body of an `Expect: 100-continue` request.
pub const CONTINUE_100: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A header the caller asked to write could split the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The name is empty or not a token.
    #[error("invalid response header name")]
    InvalidHeaderName,
    /// The value contains CR, LF, NUL or another control character.
    #[error("invalid response header value")]
    InvalidHeaderValue,
}

/// The status line for `status`, if it is one of the precomputed common codes.
#[must_use]
pub fn status_line(status: u16) -> Option<&'static [u8]> {
    Some(match status {
        100 => b"HTTP/1.1 100 Continue\r\n",
        101 => b"HTTP/1.1 101 Switching Protocols\r\n",
        200 => b"HTTP/1.1 200 OK\r\n",
        201 => b"HTTP/1.1 201 Created\r\n",
        202 => b"HTTP/1.1 202 Accepted\r\n",
        204 => b"HTTP/1.1 204 No Content\r\n",
        206 => b"HTTP/1.1 206 Partial Content\r\n",
        301 => b"HTTP/1.1 301 Moved Permanently\r\n",
        302 => b"HTTP/1.1 302 Found\r\n",
        303 => b"HTTP/1.1 303 See Other\r\n",
        304 => b"HTTP/1.1 304 Not Modified\r\n",
        307 => b"HTTP/1.1 307 Temporary Redirect\r\n",
        308 => b"HTTP/1.1 308 Permanent Redirect\r\n",
        400 => b"HTTP/1.1 400 Bad Request\r\n",
        401 => b"HTTP/1.1 401 Unauthorized\r\n",
        403 => b"HTTP/1.1 403 Forbidden\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        405 => b"HTTP/1.1 405 Method Not Allowed\r\n",
        408 => b"HTTP/1.1 408 Request Timeout\r\n",
        409 => b"HTTP/1.1 409 Conflict\r\n",
        411 => b"HTTP/1.1 411 Length Required\r\n",
        413 => b"HTTP/1.1 413 Content Too Large\r\n",
        414 => b"HTTP/1.1 414 URI Too Long\r\n",
        415 => b"HTTP/1.1 415 Unsupported Media Type\r\n",
        416 => b"HTTP/1.1 416 Range Not Satisfiable\r\n",
        417 => b"HTTP/1.1 417 Expectation Failed\r\n",
        422 => b"HTTP/1.1 422 Unprocessable Content\r\n",
        426 => b"HTTP/1.1 426 Upgrade Required\r\n",
        429 => b"HTTP/1.1 429 Too Many Requests\r\n",
        431 => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        500 => b"HTTP/1.1 500 Internal Server Error\r\n",
        501 => b"HTTP/1.1 501 Not Implemented\r\n",
        502 => b"HTTP/1.1 502 Bad Gateway\r\n",
        503 => b"HTTP/1.1 503 Service Unavailable\r\n",
        504 => b"HTTP/1.1 504 Gateway Timeout\r\n",
        505 => b"HTTP/1.1 505 HTTP Version Not Supported\r\n",
        507 => b"HTTP/1.1 507 Insufficient Storage\r\n",
        508 => b"HTTP/1.1 508 Loop Detected\r\n",
        _ => return None,
    })
}

/// Whether a response with this status never has content (RFC 9110 §6.4.1): 1xx, 204, 304.
#[must_use]
pub const fn status_has_no_content(status: u16) -> bool {
    matches!(status, 100..=199 | 204 | 304)
}

/// Writes one response into a caller's buffer. Created with the status line and `Date` already
/// written; add headers, then call [`finish`](Self::finish) or
/// [`finish_head`](Self::finish_head). Dropping it unfinished leaves a partial head in the buffer.
#[derive(Debug)]
pub struct ResponseWriter<'v> {
    out: &'v mut Vec<u8>,
    status: u16,
    version: Version,
}

impl<'v> ResponseWriter<'v> {
    /// Starts a response with `status` (100..=999) to a request of `version`.
    ///
    /// # Panics
    ///
    /// If `status` is not a three-digit code: statuses come from the engine's code, never from
    /// input, so that is a bug.
    pub fn new(out: &'v mut Vec<u8>, status: u16, version: Version, date: &DateCache) -> Self {
        assert!((100..=999).contains(&status), "status {status} is not three digits");
        match status_line(status) {
            Some(line) => out.extend_from_slice(line),
            None => {
                out.extend_from_slice(b"HTTP/1.1 ");
                let mut digits = [0u8; 20];
                out.extend_from_slice(format_u64(u64::from(status), &mut digits));
                out.extend_from_slice(b" \r\n");
            }
        }
        out.extend_from_slice(date.header_line());
        Self { out, status, version }
    }

    /// Adds a header line. `name` must be a token; `value` may hold SP, HTAB, visible ASCII and
    /// bytes ≥ 0x80, nothing else (so it cannot inject a line).
    ///
    /// # Errors
    ///
    /// If the name or the value is invalid; nothing is written then.
    pub fn header(&mut self, name: &[u8], value: &[u8]) -> Result<&mut Self, ResponseError> {
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(ResponseError::InvalidHeaderName);
        }
        if !value.iter().all(|&b| is_value_byte(b)) {
            return Err(ResponseError::InvalidHeaderValue);
        }
        self.out.extend_from_slice(name);
        self.out.extend_from_slice(b": ");
        self.out.extend_from_slice(value);
        self.out.extend_from_slice(b"\r\n");
        Ok(self)
    }

    /// Ends the head with `Content-Length: body.len()` and appends `body`. For 1xx, 204 and 304
    /// neither the length nor the body is written.
    pub fn finish(self, keep_alive: bool, body: &[u8]) {
        let no_content = status_has_no_content(self.status);
        let len = u64::try_from(body.len()).unwrap_or(u64::MAX);
        let out = self.finish_head(keep_alive, if no_content { None } else { Some(len) });
        if !no_content {
            out.extend_from_slice(body);
        }
    }

    /// Ends the head: `Content-Length` if given (the caller writes or sends that many bytes
    /// itself, or none for a HEAD request), `Connection: close` when the connection will close,
    /// `Connection: keep-alive` for an HTTP/1.0 client that keeps it, then the empty line.
    /// Returns the buffer.
    pub fn finish_head(self, keep_alive: bool, content_length: Option<u64>) -> &'v mut Vec<u8> {
        if let Some(len) = content_length {
            let mut digits = [0u8; 20];
            self.out.extend_from_slice(b"Content-Length: ");
            self.out.extend_from_slice(format_u64(len, &mut digits));
            self.out.extend_from_slice(b"\r\n");
        }
        if !keep_alive {
            self.out.extend_from_slice(b"Connection: close\r\n");
        } else if self.version == Version::Http10 {
            self.out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        self.out.extend_from_slice(b"\r\n");
        self.out
    }
}

/// Appends a complete response with `Content-Type: application/json` and the body
/// `{"error":"<reason>"}` (the reason JSON-escaped, see [`push_json_error_body`]). To add
/// headers of your own, or to answer a HEAD request, write the head with a [`ResponseWriter`]
/// and end it with [`ResponseWriter::finish_json_error`] (or `finish_head` with
/// [`json_error_body_len`]) instead.
pub fn write_json_error(
    out: &mut Vec<u8>,
    status: u16,
    version: Version,
    date: &DateCache,
    keep_alive: bool,
    reason: &str,
) {
    let w = ResponseWriter::new(out, status, version, date);
    w.out.extend_from_slice(b"Content-Type: application/json\r\n");
    w.finish_json_error(keep_alive, reason);
}

impl ResponseWriter<'_> {
    /// Ends the head with the `Content-Length` of `{"error":"<reason>"}` and appends that body
    /// ([`push_json_error_body`]); the caller has written `Content-Type: application/json` and
    /// any other header. For 1xx, 204 and 304 neither the length nor the body is written, as
    /// with [`finish`](Self::finish).
    pub fn finish_json_error(self, keep_alive: bool, reason: &str) {
        if status_has_no_content(self.status) {
            self.finish_head(keep_alive, None);
            return;
        }
        let len = u64::try_from(json_error_body_len(reason)).unwrap_or(u64::MAX);
        let out = self.finish_head(keep_alive, Some(len));
        push_json_error_body(out, reason);
    }
}

/// The length in bytes of `{"error":"<reason>"}` once `reason` is escaped
/// ([`push_json_error_body`] appends exactly that many).
#[must_use]
pub fn json_error_body_len(reason: &str) -> usize {
    let escaped_len = reason.bytes().map(json_escaped_len).fold(0usize, usize::saturating_add);
    escaped_len.saturating_add(JSON_ERROR_OPEN.len() + JSON_ERROR_CLOSE.len())
}

/// Appends the body `{"error":"<reason>"}` to `out`, with `reason` escaped as a JSON string:
/// `"`, `\`, LF, CR and TAB as two-character escapes, the other control characters below
/// 0x20 as `\u00XX`, every other byte as it is (so UTF-8 stays UTF-8).
pub fn push_json_error_body(out: &mut Vec<u8>, reason: &str) {
    out.reserve(json_error_body_len(reason));
    out.extend_from_slice(JSON_ERROR_OPEN);
    for b in reason.bytes() {
        push_json_escaped(out, b);
    }
    out.extend_from_slice(JSON_ERROR_CLOSE);
}

const JSON_ERROR_OPEN: &[u8] = br#"{"error":""#;
const JSON_ERROR_CLOSE: &[u8] = br#""}"#;

fn json_escaped_len(b: u8) -> usize {
    match b {
        b'"' | b'\\' | b'\n' | b'\r' | b'\t' => 2,
        0..=0x1f => 6,
        _ => 1,
    }
}

fn push_json_escaped(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0..=0x1f => {
            let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hi, lo]);
        }
        _ => out.push(b),
    }
}

/// Formats `n` in decimal into the end of `buf`, returning the digits.
fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    for slot in buf.iter_mut().rev() {
        // n % 10 < 10 fits in u8.
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        start -= 1;
        if n == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or(b"0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> DateCache {
        DateCache::new(784_111_777)
    }

    #[test]
    fn formats_numbers() {
        let mut b = [0u8; 20];
        assert_eq!(format_u64(0, &mut b), b"0");
        assert_eq!(format_u64(7, &mut b), b"7");
        assert_eq!(format_u64(10, &mut b), b"10");
        assert_eq!(format_u64(1234567890, &mut b), b"1234567890");
        assert_eq!(format_u64(u64::MAX, &mut b), b"18446744073709551615");
    }

    #[test]
    fn keep_alive_and_close() {
        let mut out = Vec::new();
        ResponseWriter::new(&mut out, 404, Version::Http11, &date()).finish(false, b"");
        assert_eq!(
            out,
            b"HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        out.clear();
        ResponseWriter::new(&mut out, 200, Version::Http10, &date()).finish(true, b"x");
        assert!(out.ends_with(b"Content-Length: 1\r\nConnection: keep-alive\r\n\r\nx"));
    }

    #[test]
    fn unknown_status_gets_digits_and_empty_reason() {
        let mut out = Vec::new();
        ResponseWriter::new(&mut out, 599, Version::Http11, &date()).finish(true, b"");
        assert!(out.starts_with(b"HTTP/1.1 599 \r\nDate: "));
    }

    #[test]
    #[should_panic(expected = "three digits")]
    fn status_out_of_range_is_a_bug() {
        let mut out = Vec::new();
        ResponseWriter::new(&mut out, 1000, Version::Http11, &date());
    }

    #[test]
    fn precomputed_lines_are_well_formed() {
        for s in 100..=999u16 {
            if let Some(line) = status_line(s) {
                assert!(line.starts_with(format!("HTTP/1.1 {s} ").as_bytes()));
                assert!(line.ends_with(b"\r\n"));
                assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            }
        }
    }

    #[test]
    fn no_content_statuses_have_no_length_or_body() {
        let mut out = Vec::new();
        ResponseWriter::new(&mut out, 204, Version::Http11, &date()).finish(true, b"ignored");
        assert!(out.ends_with(b"GMT\r\n\r\n"));
        out.clear();
        let mut w = ResponseWriter::new(&mut out, 101, Version::Http11, &date());
        w.header(b"Upgrade", b"websocket").unwrap().header(b"Connection", b"Upgrade").unwrap();
        w.finish_head(true, None);
        assert!(out.ends_with(b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
    }

    #[test]
    fn headers_cannot_split_the_response() {
        let mut out = Vec::new();
        let mut w = ResponseWriter::new(&mut out, 200, Version::Http11, &date());
        assert_eq!(
            w.header(b"X", b"a\r\nSet-Cookie: x").unwrap_err(),
            ResponseError::InvalidHeaderValue
        );
        assert_eq!(w.header(b"X", b"a\nb").unwrap_err(), ResponseError::InvalidHeaderValue);
        assert_eq!(w.header(b"X", b"a\0b").unwrap_err(), ResponseError::InvalidHeaderValue);
        assert_eq!(w.header(b"X Y", b"a").unwrap_err(), ResponseError::InvalidHeaderName);
        assert_eq!(w.header(b"", b"a").unwrap_err(), ResponseError::InvalidHeaderName);
        w.header(b"Content-Disposition", "attachment; filename=\"é\"".as_bytes()).unwrap();
        w.finish(true, b"");
        assert!(!out.windows(10).any(|w| w == b"Set-Cookie"));
    }

    #[test]
    fn json_error_body() {
        let mut out = Vec::new();
        write_json_error(&mut out, 400, Version::Http11, &date(), false, "bad \"x\"\n\x01");
        let body = br#"{"error":"bad \"x\"\n\u0001"}"#;
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(text.contains("Content-Type: application/json\r\n"));
        assert!(text.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.ends_with(std::str::from_utf8(body).unwrap()));
    }

    #[test]
    fn json_error_escapes_every_control_byte_and_counts_exactly() {
        let cases: [(&str, &[u8]); 6] = [
            ("not found", br#"{"error":"not found"}"#),
            ("quote \" and \\ slash", br#"{"error":"quote \" and \\ slash"}"#),
            ("tab\there\r\n", br#"{"error":"tab\there\r\n"}"#),
            ("ctl\u{1}\u{1f}x\u{7f}", b"{\"error\":\"ctl\\u0001\\u001fx\x7f\"}"),
            ("caf\u{e9} \u{2713}", "{\"error\":\"caf\u{e9} \u{2713}\"}".as_bytes()),
            ("", br#"{"error":""}"#),
        ];
        for (reason, expected) in cases {
            let mut body = b"kept".to_vec();
            push_json_error_body(&mut body, reason);
            assert_eq!(&body[4..], expected, "{reason:?}");
            assert_eq!(json_error_body_len(reason), expected.len(), "{reason:?}");
        }
        for byte in 0u8..0x20 {
            let reason = char::from(byte).to_string();
            let mut body = Vec::new();
            push_json_error_body(&mut body, &reason);
            assert!(body.iter().all(|&b| b >= 0x20), "{byte:#x} escaped");
            assert_eq!(body.len(), json_error_body_len(&reason));
            let text = std::str::from_utf8(&body).unwrap();
            let inner = &text[r#"{"error":""#.len()..text.len() - 2];
            let unescaped = match inner {
                "\\n" => "\n".to_owned(),
                "\\r" => "\r".to_owned(),
                "\\t" => "\t".to_owned(),
                other => {
                    let hex = other.strip_prefix("\\u00").expect("\\u00XX");
                    char::from(u8::from_str_radix(hex, 16).unwrap()).to_string()
                }
            };
            assert_eq!(unescaped, reason);
        }
    }

    #[test]
    fn finish_json_error_after_the_callers_headers() {
        let mut out = Vec::new();
        let mut w = ResponseWriter::new(&mut out, 405, Version::Http11, &date());
        w.header(b"Content-Type", b"application/json").unwrap();
        w.header(b"Allow", b"GET, HEAD").unwrap();
        w.finish_json_error(true, "method not allowed");
        let mut whole = Vec::new();
        write_json_error(&mut whole, 405, Version::Http11, &date(), true, "method not allowed");
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\r\nAllow: GET, HEAD\r\nContent-Length: 30\r\n\r\n"), "{text}");
        assert_eq!(text.replace("Allow: GET, HEAD\r\n", "").as_bytes(), whole, "same bytes");
        let mut out = Vec::new();
        ResponseWriter::new(&mut out, 204, Version::Http11, &date()).finish_json_error(true, "x");
        assert!(out.ends_with(b"GMT\r\n\r\n"), "no body for a no-content status");
    }

    #[test]
    fn continue_is_interim() {
        assert_eq!(CONTINUE_100, b"HTTP/1.1 100 Continue\r\n\r\n");
    }
}
