//! Memory for shardbox shards: request arenas, per-shard page pools and memfd-backed blobs.
//!
//! Everything here is owned by one shard and never shared on the hot path.
#![deny(missing_docs)]

pub mod blob;
