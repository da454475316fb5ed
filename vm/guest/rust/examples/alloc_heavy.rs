//! Exercises the host heap through `alloc`: vectors that grow, strings, a BTreeMap, boxes with
//! large alignment. Prints "alloc: ok" and exits 0 when every check holds.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

#[global_allocator]
static HEAP: shardbox_guest::HostAlloc = shardbox_guest::HostAlloc;

shardbox_guest::entry!(main);

#[repr(align(4096))]
struct Page([u8; 4096]);

fn main() -> i32 {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut vecs: Vec<Vec<u32>> = Vec::new();
    for round in 0..2000u32 {
        let len = (next() % 512) as usize;
        vecs.push((0..len as u32).map(|i| i ^ round).collect());
        if next() % 3 == 0 {
            let victim = (next() as usize) % vecs.len();
            vecs.swap_remove(victim);
        }
    }
    let total: usize = vecs.iter().map(Vec::len).sum();
    let mut map = BTreeMap::new();
    for i in 0..5000u64 {
        map.insert(next() % 10_000, i);
    }
    let mut text = String::new();
    for (k, v) in map.iter().take(3) {
        let _ = write!(text, "{k}:{v} ");
    }
    let page = Box::new(Page([7; 4096]));
    if !(page.as_ref() as *const Page as usize).is_multiple_of(4096) || page.0[4095] != 7 {
        return 1;
    }
    let zeroed: Vec<u64> = alloc::vec![0; 10_000];
    if zeroed.iter().any(|&z| z != 0) {
        return 2;
    }
    shardbox_guest::println!(
        "alloc: ok ({} vectors, {} elements, {} keys, {})",
        vecs.len(),
        total,
        map.len(),
        text.trim_end()
    );
    0
}
