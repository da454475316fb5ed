//! Fuzz target: `shardbox_vm::props::check_elf` (any bytes as an ELF: a typed error or a program
//! that boots and runs within its budgets; never a panic).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    shardbox_vm::props::check_elf(data);
});
