//! Linux containers for the judge workload, and the go-judge request model.
//!
//! The code here is blocking Linux calls meant to run outside a shard's event loop, or pure logic.
//! It has no async runtime dependency; the `engine` crate decides where and when it runs.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing))]
