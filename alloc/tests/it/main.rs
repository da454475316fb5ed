//! Integration tests of shardbox-alloc.
mod page_pool;
