//! Floating point in a no_std Rust tenant (rv64gc, hard-float ABI): arithmetic, square root,
//! fused multiply-add, rounding modes and flags, saturating casts, core's float formatting.
#![no_std]
#![no_main]

use core::hint::black_box;
use shardbox_guest::float::{self, Rounding};
use shardbox_guest::println;

shardbox_guest::entry!(main);

fn main() -> i32 {
    let mut pi = 0.0f64;
    for k in 0..2000 {
        let term = 4.0 / f64::from(2 * k + 1);
        pi += if k % 2 == 1 { -term } else { term };
    }
    let root = float::sqrt(black_box(2.0));
    let third = black_box(1.0f64) / 3.0;
    let residual = float::fma(third, 3.0, -1.0);
    let single = black_box(1.0f32) / 3.0;
    println!("leibniz pi = {pi:.9} ({:#018x})", pi.to_bits());
    println!("sqrt 2 = {root} ({:#018x})", root.to_bits());
    println!("fma residual = {residual:e}");
    println!("single 1/3 = {single} ({:#010x})", single.to_bits());
    for mode in [Rounding::NearestEven, Rounding::TowardZero, Rounding::Down, Rounding::Up] {
        // LLVM assumes the default rounding mode, so operands and result pass through
        // black_box: the division cannot move across the mode switches.
        float::set_rounding(mode);
        let q = black_box(black_box(-1.0f64) / black_box(3.0));
        float::set_rounding(Rounding::NearestEven);
        println!("{mode:?}: -1/3 = {:#018x}", q.to_bits());
    }
    float::clear_flags();
    let huge = black_box(1e300f64) * black_box(1e300);
    println!("overflow: {huge} flags {}", float::flags());
    let big = black_box(1e300f64);
    println!("saturating casts: {} {} {}", big as i32, (-big) as u64, black_box(f64::NAN) as i64);
    0
}
