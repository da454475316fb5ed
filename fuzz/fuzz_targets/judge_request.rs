//! Fuzz target: `shardbox_sandbox::props::check_request` and `check_json_string` (properties,
//! not just "no crash"): any `POST /run` body parses or is refused, accepted requests hold the
//! orchestration's invariants, and any bytes encode to a JSON string that parses back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shardbox_sandbox::props::check_request(data);
    shardbox_sandbox::props::check_json_string(data);
});
