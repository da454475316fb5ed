//! Every limit the HTTP layer enforces, in one place.
//!
//! The constants are the defaults; [`Limits`] carries the values the engine actually uses (it
//! starts from [`Limits::DEFAULT`] and may override any field from its configuration). Each limit
//! is checked before the bytes it guards are spent, and exceeding it is a typed error with a
//! fixed status (see [`crate::ParseError::status`] and [`crate::MultipartError::status`]):
//!
//! | limit | default | exceeded → |
//! |---|---|---|
//! | `header_bytes_max` | 16 KiB | 431 ([`crate::ParseError::HeadTooLarge`]) |
//! | `headers_count_max` | 100 | 431 ([`crate::ParseError::TooManyHeaders`]) |
//! | `target_bytes_max` | 8 KiB | 414 ([`crate::ParseError::TargetTooLong`]) |
//! | `body_bytes_max` | 64 MiB | 413 ([`crate::ParseError::BodyTooLarge`]) |
//! | `chunk_ext_bytes_max` | 4 KiB per body | 400 ([`crate::ParseError::ChunkExtensionTooLong`]) |
//! | `trailer_bytes_max` | 8 KiB | 431 ([`crate::ParseError::TrailerTooLarge`]) |
//! | `multipart_parts_count_max` | 64 | 413 ([`crate::MultipartError::TooManyParts`]) |
//! | `multipart_part_header_bytes_max` | 8 KiB | 413 ([`crate::MultipartError::PartHeadTooLarge`]) |
//!
//! This module holds no logic beyond the compile-time relations between the defaults.

/// Largest request head (request line, header lines and the empty line, plus any empty lines
/// skipped before the request line), in bytes.
pub const HEADER_BYTES_MAX: usize = 16 * 1024;
/// Most header field lines in one request head.
pub const HEADERS_COUNT_MAX: usize = 100;
/// Longest request target (the second word of the request line), in bytes.
pub const TARGET_BYTES_MAX: usize = 8 * 1024;
/// Largest request body (declared by `Content-Length`, or decoded from chunks), in bytes.
pub const BODY_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Most chunk-extension bytes (everything between a chunk size and its CRLF) in one body.
pub const CHUNK_EXT_BYTES_MAX: usize = 4 * 1024;
/// Largest trailer section of a chunked body (field lines and the final CRLF), in bytes.
pub const TRAILER_BYTES_MAX: usize = 8 * 1024;
/// Hex digits in one chunk size: 16 digits hold any `u64`, so a size can never overflow.
pub const CHUNK_SIZE_DIGITS_MAX: usize = 16;
/// Most parts in one multipart/form-data body.
pub const MULTIPART_PARTS_COUNT_MAX: usize = 64;
/// Largest header block of one multipart part (field lines and the empty line), in bytes.
pub const MULTIPART_PART_HEADER_BYTES_MAX: usize = 8 * 1024;
/// Longest multipart boundary, in bytes (RFC 2046 §5.1.1 allows 1 to 70).
pub const MULTIPART_BOUNDARY_BYTES_MAX: usize = 70;

// The request line must fit in the head with room for the method, version and a Host line.
const _: () = assert!(TARGET_BYTES_MAX < HEADER_BYTES_MAX);
// Every header line takes at least 4 bytes (`a:\r\n`), so the count limit is reachable.
const _: () = assert!(HEADERS_COUNT_MAX * 4 < HEADER_BYTES_MAX);
// A trailer section is a header section at the end of the body: it gets no more room than a head.
const _: () = assert!(TRAILER_BYTES_MAX <= HEADER_BYTES_MAX);
const _: () = assert!(MULTIPART_PART_HEADER_BYTES_MAX <= HEADER_BYTES_MAX);
// 16 hex digits are exactly 64 bits.
const _: () = assert!(CHUNK_SIZE_DIGITS_MAX * 4 == u64::BITS as usize);
const _: () = assert!(MULTIPART_BOUNDARY_BYTES_MAX == 70);
const _: () = assert!(MULTIPART_PARTS_COUNT_MAX > 0);

/// The limits one parser call enforces. Copy it per shard; it is read-only on the hot path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// See [`HEADER_BYTES_MAX`].
    pub header_bytes_max: usize,
    /// See [`HEADERS_COUNT_MAX`]. The caller's header storage also caps the count.
    pub headers_count_max: usize,
    /// See [`TARGET_BYTES_MAX`].
    pub target_bytes_max: usize,
    /// See [`BODY_BYTES_MAX`].
    pub body_bytes_max: u64,
    /// See [`CHUNK_EXT_BYTES_MAX`].
    pub chunk_ext_bytes_max: usize,
    /// See [`TRAILER_BYTES_MAX`].
    pub trailer_bytes_max: usize,
    /// See [`MULTIPART_PARTS_COUNT_MAX`].
    pub multipart_parts_count_max: usize,
    /// See [`MULTIPART_PART_HEADER_BYTES_MAX`].
    pub multipart_part_header_bytes_max: usize,
}

impl Limits {
    /// The defaults above.
    pub const DEFAULT: Limits = Limits {
        header_bytes_max: HEADER_BYTES_MAX,
        headers_count_max: HEADERS_COUNT_MAX,
        target_bytes_max: TARGET_BYTES_MAX,
        body_bytes_max: BODY_BYTES_MAX,
        chunk_ext_bytes_max: CHUNK_EXT_BYTES_MAX,
        trailer_bytes_max: TRAILER_BYTES_MAX,
        multipart_parts_count_max: MULTIPART_PARTS_COUNT_MAX,
        multipart_part_header_bytes_max: MULTIPART_PART_HEADER_BYTES_MAX,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_constants() {
        let l = Limits::default();
        assert_eq!(l, Limits::DEFAULT);
        assert_eq!(l.header_bytes_max, 16 * 1024);
        assert_eq!(l.headers_count_max, HEADERS_COUNT_MAX);
        assert_eq!(l.body_bytes_max, BODY_BYTES_MAX);
    }
}
