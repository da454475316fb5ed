//! Integration tests of `shardbox_http`, by concern.

mod chunked;
mod corpus;
mod differential;
mod incremental;
mod limits;
mod rules;
mod support;
