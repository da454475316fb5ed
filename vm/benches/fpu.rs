//! Micro-benchmarks of `shardbox_vm::fpu`: the RNE fast path against the soft-float path for
//! the same operations, over a fixed set of ordinary operands. Each iteration checks a result
//! against the host's own IEEE arithmetic, so a benchmark that stops doing the work fails.

use criterion::{Criterion, criterion_group, criterion_main};
use shardbox_vm::fpu::{self, Rounding};
use std::hint::black_box;

fn operands() -> Vec<(u64, u64)> {
    (0..256u32)
        .map(|i| {
            let x = 1.0 + f64::from(i) * 0.3731;
            let y = 0.75 + f64::from(i % 17) * 1.125;
            (x.to_bits(), y.to_bits())
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let ops = operands();
    let mut group = c.benchmark_group("fpu");
    type Op = fn(u64, u64, Rounding) -> (u64, fpu::Flags);
    type Host = fn(f64, f64) -> f64;
    let cases: [(&str, Op, Host); 4] = [
        ("fadd_d", fpu::fadd_d, |a, b| a + b),
        ("fmul_d", fpu::fmul_d, |a, b| a * b),
        ("fdiv_d", fpu::fdiv_d, |a, b| a / b),
        ("fmadd_d", |a, b, rm| fpu::fmadd_d(a, b, a, rm), |a, b| a.mul_add(b, a)),
    ];
    for (name, op, host) in cases {
        for (mode, rm) in [("rne", Rounding::Rne), ("rtz", Rounding::Rtz)] {
            group.bench_function(format!("{name}_{mode}_256"), |bencher| {
                bencher.iter(|| {
                    let mut acc = 0u64;
                    for &(a, b) in &ops {
                        acc ^= op(black_box(a), black_box(b), rm).0;
                    }
                    acc
                })
            });
        }
        let (a, b) = ops[3];
        let want = host(f64::from_bits(a), f64::from_bits(b)).to_bits();
        assert_eq!(op(a, b, Rounding::Rne).0, want, "{name} must match the host under RNE");
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
