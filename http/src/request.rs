//! The parsed request head: [`Request`] and its parts ([`Method`], [`Version`], [`Header`],
//! [`BodyKind`]), plus [`Parsed`], the result of [`crate::parse_request`].
//!
//! Everything borrows the receive buffer (`'b`) and the caller's header storage (`'h`); nothing is
//! copied or allocated. The framing facts the engine needs (body length, keep-alive,
//! `Expect: 100-continue`, WebSocket upgrade) are computed once by the parser and stored as plain
//! fields, so the engine never re-reads headers on the hot path. This module does not parse; see
//! [`crate::parse`](crate::parse_request).

use crate::syntax::trim_ows;

/// The outcome of parsing a buffer that may hold only part of a request head.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    /// The head is complete: `head_len` bytes of the buffer belong to it; the body (if any) and
    /// any pipelined request start at `head_len`.
    Complete {
        /// The parsed head.
        request: T,
        /// Bytes of the buffer that the head occupies (including leading empty lines).
        head_len: usize,
    },
    /// The buffer ends before the head does and nothing seen so far is invalid: read more.
    Partial,
}

/// A request method. The nine methods of RFC 9110 §9 and RFC 5789 are variants; any other token
/// is kept as bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method<'b> {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH`
    Patch,
    /// Any other method token (methods are case-sensitive: `get` lands here).
    Other(&'b [u8]),
}

impl<'b> Method<'b> {
    /// Classifies a method token (already validated as a non-empty token).
    #[inline]
    pub(crate) fn from_token(token: &'b [u8]) -> Self {
        match token {
            b"GET" => Self::Get,
            b"POST" => Self::Post,
            b"HEAD" => Self::Head,
            b"PUT" => Self::Put,
            b"DELETE" => Self::Delete,
            b"OPTIONS" => Self::Options,
            b"PATCH" => Self::Patch,
            b"CONNECT" => Self::Connect,
            b"TRACE" => Self::Trace,
            other => Self::Other(other),
        }
    }

    /// The method as it appeared on the wire.
    #[must_use]
    pub const fn as_bytes(&self) -> &'b [u8] {
        match self {
            Self::Get => b"GET",
            Self::Head => b"HEAD",
            Self::Post => b"POST",
            Self::Put => b"PUT",
            Self::Delete => b"DELETE",
            Self::Connect => b"CONNECT",
            Self::Options => b"OPTIONS",
            Self::Trace => b"TRACE",
            Self::Patch => b"PATCH",
            Self::Other(token) => token,
        }
    }
}

/// The HTTP version of a request. Other versions are rejected with 505.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1`
    Http11,
}

impl Version {
    /// The version as it appears in a start line.
    #[must_use]
    pub const fn as_bytes(self) -> &'static [u8] {
        match self {
            Self::Http10 => b"HTTP/1.0",
            Self::Http11 => b"HTTP/1.1",
        }
    }
}

/// One header field line: the name as sent (original case) and the value without leading and
/// trailing whitespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'b> {
    /// The field name, a non-empty token in its original case.
    pub name: &'b [u8],
    /// The field value, trimmed of SP/HTAB at both ends; may be empty; may hold obs-text bytes.
    pub value: &'b [u8],
}

impl Header<'_> {
    /// An empty header, to initialise storage: `[Header::EMPTY; 64]`.
    pub const EMPTY: Header<'static> = Header { name: b"", value: b"" };
}

/// How the body of a request is framed (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// No body: neither Content-Length nor Transfer-Encoding.
    None,
    /// Exactly this many bytes follow the head (already checked against `body_bytes_max`).
    Length(u64),
    /// `Transfer-Encoding: chunked`: decode with [`crate::ChunkedDecoder`].
    Chunked,
}

/// A parsed request head. Borrows the receive buffer and the header storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'b, 'h> {
    /// The method.
    pub method: Method<'b>,
    /// The request target exactly as sent (visible ASCII, not decoded).
    pub target: &'b [u8],
    /// The protocol version.
    pub version: Version,
    /// Header field lines in order of appearance.
    pub headers: &'h [Header<'b>],
    /// How the body is framed.
    pub body: BodyKind,
    /// Whether the connection may be reused after this request: HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive` (and no `close`).
    pub keep_alive: bool,
    /// `Expect: 100-continue` on an HTTP/1.1 request (ignored in HTTP/1.0, RFC 9110 §10.1.1).
    pub expect_continue: bool,
    /// `Connection: upgrade` together with an `Upgrade` list naming `websocket`.
    pub websocket_upgrade: bool,
}

impl<'b> Request<'b, '_> {
    /// The value of the first header named `name` (ASCII case-insensitive), if any.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        let name = name.as_bytes();
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    }

    /// The values of every header named `name` (ASCII case-insensitive), in order.
    pub fn headers_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'b [u8]> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| h.value)
    }

    /// The path of the target: for origin-form (`/a/b?q`) the part before `?`; for absolute-form
    /// (`http://host/a?q`) the path after the authority (`/` if none); for authority-form
    /// (`CONNECT host:443`) and asterisk-form (`*`) the whole target. Not percent-decoded.
    #[must_use]
    pub fn path(&self) -> &'b [u8] {
        target_path(self.target)
    }

    /// The query of the target (after the first `?`, without it), if it has one. Not decoded.
    #[must_use]
    pub fn query(&self) -> Option<&'b [u8]> {
        let q = self.target.iter().position(|&b| b == b'?')?;
        self.target.get(q.saturating_add(1)..)
    }

    /// `Content-Length` as a number, when the body is framed by it.
    #[must_use]
    pub fn content_length(&self) -> Option<u64> {
        match self.body {
            BodyKind::Length(n) => Some(n),
            BodyKind::None | BodyKind::Chunked => None,
        }
    }

    /// The `Content-Type` value trimmed, if any.
    #[must_use]
    pub fn content_type(&self) -> Option<&'b [u8]> {
        self.header("content-type").map(trim_ows)
    }
}

/// See [`Request::path`].
fn target_path(target: &[u8]) -> &[u8] {
    let before_query = match target.iter().position(|&b| b == b'?') {
        Some(q) => target.get(..q).unwrap_or(target),
        None => target,
    };
    if before_query.first() == Some(&b'/') {
        return before_query;
    }
    // absolute-form: scheme "://" authority path-abempty
    let Some(sep) = before_query.windows(3).position(|w| w == b"://") else {
        return before_query;
    };
    let after_scheme = before_query.get(sep.saturating_add(3)..).unwrap_or(&[]);
    match after_scheme.iter().position(|&b| b == b'/') {
        Some(slash) => after_scheme.get(slash..).unwrap_or(b"/"),
        None => b"/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(target: &[u8]) -> Request<'_, 'static> {
        Request {
            method: Method::Get,
            target,
            version: Version::Http11,
            headers: &[],
            body: BodyKind::None,
            keep_alive: true,
            expect_continue: false,
            websocket_upgrade: false,
        }
    }

    #[test]
    fn path_and_query() {
        let r = req(b"/file/abc?x=1&y");
        assert_eq!(r.path(), b"/file/abc");
        assert_eq!(r.query(), Some(&b"x=1&y"[..]));
        let r = req(b"/run");
        assert_eq!(r.path(), b"/run");
        assert_eq!(r.query(), None);
        let r = req(b"/?");
        assert_eq!(r.path(), b"/");
        assert_eq!(r.query(), Some(&b""[..]));
    }

    #[test]
    fn path_of_absolute_form() {
        assert_eq!(req(b"http://example.com/a/b?q").path(), b"/a/b");
        assert_eq!(req(b"http://example.com").path(), b"/");
        assert_eq!(req(b"http://example.com?q").path(), b"/");
        assert_eq!(req(b"*").path(), b"*");
        assert_eq!(req(b"example.com:443").path(), b"example.com:443");
    }

    #[test]
    fn method_round_trips() {
        for m in [
            &b"GET"[..],
            b"HEAD",
            b"POST",
            b"PUT",
            b"DELETE",
            b"CONNECT",
            b"OPTIONS",
            b"TRACE",
            b"PATCH",
            b"BREW",
            b"get",
        ] {
            assert_eq!(Method::from_token(m).as_bytes(), m);
        }
        assert_eq!(Method::from_token(b"get"), Method::Other(b"get"));
    }

    #[test]
    fn header_lookup_ignores_case() {
        let hs = [
            Header { name: b"Content-Type", value: b"text/plain" },
            Header { name: b"X-A", value: b"1" },
            Header { name: b"x-a", value: b"2" },
        ];
        let mut r = req(b"/");
        r.headers = &hs;
        assert_eq!(r.header("content-type"), Some(&b"text/plain"[..]));
        assert_eq!(r.header("X-A"), Some(&b"1"[..]));
        assert_eq!(r.headers_named("x-A").collect::<Vec<_>>(), vec![&b"1"[..], b"2"]);
        assert_eq!(r.header("missing"), None);
        assert_eq!(r.content_type(), Some(&b"text/plain"[..]));
    }
}
