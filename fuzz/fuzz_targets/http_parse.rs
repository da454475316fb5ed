//! Fuzz target: `shardbox_http::props::check_parse` (properties, not just "no crash").
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shardbox_http::props::check_parse(data);
});
