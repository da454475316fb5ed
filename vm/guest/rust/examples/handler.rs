//! A tenant with handlers the host calls by name (`handle`, `add`): init in `main` builds a
//! table on the host heap; each request runs `handle(n)` in a fork of the initialised template.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::cell::UnsafeCell;

#[global_allocator]
static HEAP: shardbox_guest::HostAlloc = shardbox_guest::HostAlloc;

shardbox_guest::entry!(main);

/// The table built by init. The guest is single-threaded.
struct Table(UnsafeCell<Vec<u64>>);
// SAFETY: a guest has exactly one thread.
unsafe impl Sync for Table {}
static SQUARES: Table = Table(UnsafeCell::new(Vec::new()));

/// Sum of the squares of 0..n (n clamped to the table), printed and returned.
#[unsafe(no_mangle)]
pub extern "C" fn handle(n: i64) -> i64 {
    // SAFETY: single-threaded guest; no other reference to the table is live.
    let squares = unsafe { &*SQUARES.0.get() };
    let n = usize::try_from(n).unwrap_or(0).min(squares.len());
    let sum: u64 = squares.iter().take(n).sum();
    shardbox_guest::println!("sum of squares: {sum}");
    sum as i64
}

/// `a + b`, wrapping.
#[unsafe(no_mangle)]
pub extern "C" fn add(a: i64, b: i64) -> i64 {
    a.wrapping_add(b)
}

fn main() -> i32 {
    // SAFETY: single-threaded guest; init runs before any handler.
    let squares = unsafe { &mut *SQUARES.0.get() };
    squares.extend((0..1024u64).map(|i| i * i));
    if handle(10) == 285 { 0 } else { 2 }
}
