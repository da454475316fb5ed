//! Memory for shardbox shards: request arenas, per-shard page pools and memfd-backed blobs.
//!
//! Everything here is owned by one shard and never shared on the hot path.
//!
//! - [`page_pool`]: 4 KiB guest pages for the RISC-V VM, handed out and taken back in O(1),
//!   scrubbed to zero on return so no page in the pool ever holds a tenant's data.
//! - [`blob`]: sealed memfd-backed file contents.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing))]
#![forbid(unsafe_code)]

pub mod blob;
pub mod limits;
pub mod page_pool;

pub use page_pool::{PAGE_BYTES, Page, PagePool, PoolExhausted};
