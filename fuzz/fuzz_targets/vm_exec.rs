//! Fuzz target: `shardbox_vm::props::check_exec` (any bytes as RISC-V code, booted and called in
//! forks under small fuel and page budgets: the host never crashes, budgets hold, forks stay
//! isolated, pages go back to the pool).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shardbox_vm::props::check_exec(data);
});
