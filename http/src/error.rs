//! [`ParseError`]: every way a request head or a chunked body can be rejected.
//!
//! One variant per rule, each with the HTTP status the engine answers with
//! ([`ParseError::status`]) and a short stable reason ([`ParseError::reason`]) that becomes the
//! JSON error body `{"error":"<reason>"}`. The `Display` text may carry details (limits, values);
//! the reason never does, so clients can match on it. After any of these errors the connection's
//! framing is unknown: the engine answers and closes.
//!
//! Multipart bodies have their own error type, [`crate::MultipartError`], because they are parsed
//! after the request is framed and a bad upload does not poison the connection.

/// Why a request head or chunked body was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A line ends in a bare LF, or a CR is not followed by LF (smuggling risk: be strict).
    #[error("line ending is not CRLF")]
    InvalidLineEnding,
    /// The method is empty or contains a byte that is not a token character.
    #[error("invalid method token")]
    InvalidMethod,
    /// The request target is empty or contains a byte outside visible ASCII.
    #[error("invalid request target")]
    InvalidTarget,
    /// The request line does not have the shape `method SP target SP HTTP/x.y CRLF`.
    #[error("malformed request line")]
    InvalidRequestLine,
    /// The request target is longer than `target_bytes_max`.
    #[error("request target longer than {max} bytes")]
    TargetTooLong {
        /// The limit.
        max: usize,
    },
    /// A well-formed HTTP version other than 1.0 and 1.1.
    #[error("HTTP version not supported")]
    VersionNotSupported,
    /// A header name is empty, contains a non-token byte, or the line has no colon.
    #[error("invalid header name")]
    InvalidHeaderName,
    /// Whitespace between a header name and its colon (RFC 9112 §5.1: must be rejected).
    #[error("whitespace before colon in header")]
    SpaceBeforeColon,
    /// A header value contains a control character.
    #[error("invalid header value")]
    InvalidHeaderValue,
    /// A header line starts with whitespace: obsolete line folding (RFC 9112 §5.2).
    #[error("obsolete line folding")]
    ObsFold,
    /// The head is longer than `header_bytes_max`.
    #[error("request head longer than {max} bytes")]
    HeadTooLarge {
        /// The limit.
        max: usize,
    },
    /// More header lines than `headers_count_max` (or than the caller's storage holds).
    #[error("more than {max} header fields")]
    TooManyHeaders {
        /// The effective limit.
        max: usize,
    },
    /// HTTP/1.1 request without a Host header (RFC 9112 §3.2).
    #[error("missing Host header")]
    MissingHost,
    /// More than one Host header line (RFC 9112 §3.2).
    #[error("more than one Host header")]
    DuplicateHost,
    /// A Host value that is not `host[:port]`.
    #[error("invalid Host header")]
    InvalidHost,
    /// A Content-Length value that is not a decimal `u64`.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// Several Content-Length lines with different values.
    #[error("conflicting Content-Length headers")]
    ConflictingContentLength,
    /// Both Content-Length and Transfer-Encoding (a request smuggling classic).
    #[error("both Content-Length and Transfer-Encoding")]
    ContentLengthWithTransferEncoding,
    /// Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1).
    #[error("Transfer-Encoding in an HTTP/1.0 request")]
    TransferEncodingInHttp10,
    /// A Transfer-Encoding list with an empty or malformed member.
    #[error("invalid Transfer-Encoding")]
    InvalidTransferEncoding,
    /// `chunked` is not the last transfer coding, or appears twice (RFC 9112 §6.3).
    #[error("chunked is not the final transfer coding")]
    ChunkedNotLast,
    /// A transfer coding other than `chunked` (RFC 9112 §6.1: 501).
    #[error("unsupported transfer coding")]
    UnsupportedTransferCoding,
    /// An Expect value other than `100-continue`.
    #[error("unsupported expectation")]
    ExpectationFailed,
    /// The body is larger than `body_bytes_max`.
    #[error("body of {len} bytes exceeds {max} bytes")]
    BodyTooLarge {
        /// The declared length, or the decoded length so far including the chunk that crossed.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A chunk size that is empty or not hexadecimal.
    #[error("invalid chunk size")]
    InvalidChunkSize,
    /// A chunk size with more than 16 hex digits (it could not fit in 64 bits).
    #[error("chunk size too large")]
    ChunkSizeOverflow,
    /// A chunk extension with a control character.
    #[error("invalid chunk extension")]
    InvalidChunkExtension,
    /// Chunk extensions of one body longer than `chunk_ext_bytes_max` in total.
    #[error("chunk extensions longer than {max} bytes")]
    ChunkExtensionTooLong {
        /// The limit.
        max: usize,
    },
    /// Chunk data not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    InvalidChunkData,
    /// A malformed trailer field line.
    #[error("invalid trailer field")]
    InvalidTrailer,
    /// A trailer section longer than `trailer_bytes_max`.
    #[error("trailer section longer than {max} bytes")]
    TrailerTooLarge {
        /// The limit.
        max: usize,
    },
}

impl ParseError {
    /// The HTTP status code to answer with.
    #[must_use]
    pub const fn status(&self) -> u16 {
        match self {
            Self::InvalidLineEnding
            | Self::InvalidMethod
            | Self::InvalidTarget
            | Self::InvalidRequestLine
            | Self::InvalidHeaderName
            | Self::SpaceBeforeColon
            | Self::InvalidHeaderValue
            | Self::ObsFold
            | Self::MissingHost
            | Self::DuplicateHost
            | Self::InvalidHost
            | Self::InvalidContentLength
            | Self::ConflictingContentLength
            | Self::ContentLengthWithTransferEncoding
            | Self::TransferEncodingInHttp10
            | Self::InvalidTransferEncoding
            | Self::ChunkedNotLast
            | Self::InvalidChunkSize
            | Self::ChunkSizeOverflow
            | Self::InvalidChunkExtension
            | Self::ChunkExtensionTooLong { .. }
            | Self::InvalidChunkData
            | Self::InvalidTrailer => 400,
            Self::BodyTooLarge { .. } => 413,
            Self::TargetTooLong { .. } => 414,
            Self::ExpectationFailed => 417,
            Self::HeadTooLarge { .. }
            | Self::TooManyHeaders { .. }
            | Self::TrailerTooLarge { .. } => 431,
            Self::UnsupportedTransferCoding => 501,
            Self::VersionNotSupported => 505,
        }
    }

    /// A short, stable, lower-case reason without details, for `{"error":"<reason>"}`.
    /// It contains no `"` or `\`, so it can be written into JSON as is.
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::InvalidLineEnding => "invalid line ending",
            Self::InvalidMethod => "invalid method",
            Self::InvalidTarget => "invalid request target",
            Self::InvalidRequestLine => "invalid request line",
            Self::TargetTooLong { .. } => "request target too long",
            Self::VersionNotSupported => "http version not supported",
            Self::InvalidHeaderName => "invalid header name",
            Self::SpaceBeforeColon => "whitespace before colon",
            Self::InvalidHeaderValue => "invalid header value",
            Self::ObsFold => "obsolete line folding",
            Self::HeadTooLarge { .. } => "request header too large",
            Self::TooManyHeaders { .. } => "too many headers",
            Self::MissingHost => "missing host header",
            Self::DuplicateHost => "duplicate host header",
            Self::InvalidHost => "invalid host header",
            Self::InvalidContentLength => "invalid content-length",
            Self::ConflictingContentLength => "conflicting content-length",
            Self::ContentLengthWithTransferEncoding => "content-length with transfer-encoding",
            Self::TransferEncodingInHttp10 => "transfer-encoding in http/1.0",
            Self::InvalidTransferEncoding => "invalid transfer-encoding",
            Self::ChunkedNotLast => "chunked is not the final transfer coding",
            Self::UnsupportedTransferCoding => "unsupported transfer coding",
            Self::ExpectationFailed => "expectation failed",
            Self::BodyTooLarge { .. } => "body too large",
            Self::InvalidChunkSize => "invalid chunk size",
            Self::ChunkSizeOverflow => "chunk size too large",
            Self::InvalidChunkExtension => "invalid chunk extension",
            Self::ChunkExtensionTooLong { .. } => "chunk extension too long",
            Self::InvalidChunkData => "invalid chunk data",
            Self::InvalidTrailer => "invalid trailer",
            Self::TrailerTooLarge { .. } => "trailer too large",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ParseError; 31] = [
        ParseError::InvalidLineEnding,
        ParseError::InvalidMethod,
        ParseError::InvalidTarget,
        ParseError::InvalidRequestLine,
        ParseError::TargetTooLong { max: 1 },
        ParseError::VersionNotSupported,
        ParseError::InvalidHeaderName,
        ParseError::SpaceBeforeColon,
        ParseError::InvalidHeaderValue,
        ParseError::ObsFold,
        ParseError::HeadTooLarge { max: 1 },
        ParseError::TooManyHeaders { max: 1 },
        ParseError::MissingHost,
        ParseError::DuplicateHost,
        ParseError::InvalidHost,
        ParseError::InvalidContentLength,
        ParseError::ConflictingContentLength,
        ParseError::ContentLengthWithTransferEncoding,
        ParseError::TransferEncodingInHttp10,
        ParseError::InvalidTransferEncoding,
        ParseError::ChunkedNotLast,
        ParseError::UnsupportedTransferCoding,
        ParseError::ExpectationFailed,
        ParseError::BodyTooLarge { len: 2, max: 1 },
        ParseError::InvalidChunkSize,
        ParseError::ChunkSizeOverflow,
        ParseError::InvalidChunkExtension,
        ParseError::ChunkExtensionTooLong { max: 1 },
        ParseError::InvalidChunkData,
        ParseError::InvalidTrailer,
        ParseError::TrailerTooLarge { max: 1 },
    ];

    #[test]
    fn reasons_are_unique_and_json_safe() {
        for (i, a) in ALL.iter().enumerate() {
            let r = a.reason();
            assert!(!r.is_empty());
            assert!(r.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'));
            for b in &ALL[i + 1..] {
                assert_ne!(r, b.reason(), "{a:?} and {b:?} share a reason");
            }
        }
    }

    #[test]
    fn statuses_are_client_or_server_errors() {
        for e in ALL {
            assert!(matches!(e.status(), 400..=599), "{e:?}");
        }
        assert_eq!(ParseError::BodyTooLarge { len: 2, max: 1 }.status(), 413);
        assert_eq!(ParseError::TargetTooLong { max: 1 }.status(), 414);
        assert_eq!(ParseError::ExpectationFailed.status(), 417);
        assert_eq!(ParseError::HeadTooLarge { max: 1 }.status(), 431);
        assert_eq!(ParseError::UnsupportedTransferCoding.status(), 501);
        assert_eq!(ParseError::VersionNotSupported.status(), 505);
        assert_eq!(ParseError::MissingHost.status(), 400);
    }

    #[test]
    fn display_carries_details() {
        let e = ParseError::BodyTooLarge { len: 10, max: 5 };
        assert_eq!(e.to_string(), "body of 10 bytes exceeds 5 bytes");
    }
}
