//! Integration tests of `shardbox_http`, by concern.

mod chunked;
mod corpus;
mod differential;
mod incremental;
mod limits;
mod multipart;
mod rules;
mod support;
