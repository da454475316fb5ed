//! The smallest Rust tenant: print a line, exit 0.
#![no_std]
#![no_main]

shardbox_guest::entry!(main);

fn main() -> i32 {
    shardbox_guest::println!("hello from a shardbox Rust guest");
    0
}
