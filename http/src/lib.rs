//! Sans-IO HTTP/1.1 for shardbox.
//!
//! This crate turns bytes into requests and responses into bytes. It never reads a socket, never
//! allocates per request and knows nothing of io_uring: the `engine` crate owns sockets, buffers and
//! time, and hands this crate `&[u8]` slices. Keeping it pure lets it be fuzzed, compared against
//! `httparse` and benchmarked without a ring.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing))]
