//! Integration tests of `shardbox_http`, by concern.

mod rules;
mod support;
