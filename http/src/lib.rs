//! Sans-IO HTTP/1.1 for shardbox.
//!
//! This crate turns bytes into requests and responses into bytes. It never reads a socket, never
//! allocates per request and knows nothing of io_uring: the `engine` crate owns sockets, buffers and
//! time, and hands this crate `&[u8]` slices. Keeping it pure lets it be fuzzed, compared against
//! `httparse` and benchmarked without a ring.
//!
//! # Overview
//!
//! - [`parse_request`] parses a request head from the start of a receive buffer into a
//!   [`Request`] that borrows the buffer and caller-supplied [`Header`] storage. It returns
//!   [`Parsed::Partial`] until the head is complete; every rule it enforces is a [`ParseError`]
//!   variant with its HTTP status. The [`Limits`] it enforces live in [`limits`].
//! - [`ChunkedDecoder`] decodes a `Transfer-Encoding: chunked` body incrementally, reporting data
//!   ranges inside the caller's buffer.
//! - [`ResponseWriter`] appends a response head (and body) to a caller's `Vec<u8>`, with the
//!   `Date` line from a [`DateCache`]; [`write_json_error`] writes `{"error":"<reason>"}` (the
//!   one JSON error writer of shardbox: [`ResponseWriter::finish_json_error`] and
//!   [`push_json_error_body`] are its parts, for a head with more headers or an owned body).
//! - [`Multipart`] iterates the parts of a complete `multipart/form-data` body ([`boundary`]
//!   reads the boundary from the Content-Type).
//! - [`percent_decode`] and [`query_param`] help route `/file/{id}` and read query strings.
//!
//! ```
//! use shardbox_http::{parse_request, DateCache, Header, Limits, Parsed, ResponseWriter};
//!
//! let mut storage = [Header::EMPTY; 32];
//! let date = DateCache::new(0);
//! let mut out = Vec::new();
//! match parse_request(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &mut storage, &Limits::DEFAULT) {
//!     Ok(Parsed::Complete { request, head_len }) => {
//!         ResponseWriter::new(&mut out, 200, request.version, &date)
//!             .finish(request.keep_alive, b"hello");
//!     }
//!     Ok(Parsed::Partial) => { /* read more */ }
//!     Err(e) => shardbox_http::write_json_error(
//!         &mut out, e.status(), shardbox_http::Version::Http11, &date, false, e.reason()),
//! }
//! assert!(out.ends_with(b"\r\n\r\nhello"));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing))]

mod chunked;
mod date;
mod error;
pub mod limits;
mod multipart;
mod parse;
mod request;
mod response;
mod syntax;
mod target;

pub use chunked::{ChunkedDecoder, Decoded};
pub use date::{DateCache, IMF_FIXDATE_LEN};
pub use error::ParseError;
pub use limits::Limits;
pub use multipart::{Multipart, MultipartError, ParamForm, ParamValue, Part, boundary};
pub use parse::parse_request;
pub use request::{BodyKind, Header, Method, Parsed, Request, Version};
pub use response::{
    CONTINUE_100, ResponseError, ResponseWriter, json_error_body_len, push_json_error_body,
    status_has_no_content, status_line, write_json_error,
};
pub use target::{PercentDecodeError, form_decode, percent_decode, query_pairs, query_param};

#[cfg(feature = "props")]
#[doc(hidden)]
pub mod props;
