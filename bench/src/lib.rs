//! Load generation and side-by-side comparisons for shardbox.
//!
//! This crate depends on nothing internal: it measures what a user sees, through HTTP on loopback.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
