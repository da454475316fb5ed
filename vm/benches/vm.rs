//! VM benchmarks (criterion): fork + call + destroy, a call into a live instance, interpreter
//! throughput on CoreMark-like kernels (tight loop, memory walk, calls, mul/div, host calls) and
//! on static glibc programs. Every benchmark checks that the guest did the work: its return
//! value, exit status, output or instruction count (the kernels against `support::Reference`,
//! shared with `kernels_min`).
//!
//! ```sh
//! cargo bench -p shardbox-vm --bench vm                       # full run
//! cargo bench -p shardbox-vm --bench vm -- --quick kernels    # one group, short
//! ```
//!
//! Interpreter groups set `Throughput::Elements(instructions retired)`, so criterion's
//! "thrpt" column reads in guest instructions per second (`Melem/s` = MIPS).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shardbox_vm::{Captured, Config, NullHost, Outcome, PagePool, run_program};

mod support;

use support::{Reference, elf, kernels};

fn fork_call(c: &mut Criterion) {
    let t = kernels();
    let pool = PagePool::new(1 << 12);
    pool.prefill(64);
    let empty = t.symbol("empty").expect("empty");
    let touch = t.symbol("touch").expect("touch");
    let mut g = c.benchmark_group("fork");
    g.bench_function("fork+call+destroy empty", |b| {
        b.iter(|| {
            let mut vm = t.fork(&pool);
            let out = vm.call(empty, &[black_box(41)], 1000, &mut NullHost);
            assert_eq!(out, Outcome::Returned(42));
        })
    });
    g.bench_function("fork+call+destroy touch (1 CoW page)", |b| {
        b.iter(|| {
            let mut vm = t.fork(&pool);
            let out = vm.call(touch, &[black_box(3)], 1000, &mut NullHost);
            assert_eq!(out, Outcome::Returned(3));
            assert_eq!(vm.pages_owned(), 1);
        })
    });
    let mut live = t.fork(&pool);
    g.bench_function("call empty (live instance)", |b| {
        b.iter(|| {
            let out = live.call(empty, &[black_box(1)], 1000, &mut NullHost);
            assert_eq!(out, Outcome::Returned(2));
        })
    });
    g.finish();
    drop(live);
    assert_eq!(pool.lent(), 0, "every fork gave its pages back");
}

fn kernel_bench(c: &mut Criterion) {
    let t = kernels();
    let pool = PagePool::new(1 << 12);
    let mut g = c.benchmark_group("kernels");
    let cases = [
        ("count", 1_000_000u64),
        ("memwalk", 200_000),
        ("muldiv", 200_000),
        ("fib", 20),
        ("heap", 10_000),
    ];
    for (name, n) in cases {
        let addr = t.symbol(name).expect("kernel");
        // One untimed run gives the checksum and the instruction count every timed run must match.
        let reference = Reference::of(&t, &pool, name, addr, n);
        g.throughput(Throughput::Elements(reference.insns));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut vm = t.fork(&pool);
                let out = vm.call(addr, &[black_box(n)], u64::MAX, &mut NullHost);
                reference.check(name, out, &vm);
            })
        });
    }
    g.finish();
}

fn glibc(c: &mut Criterion) {
    let mut g = c.benchmark_group("glibc");
    g.sample_size(10);
    // Static glibc programs (420-460 KB), loaded, booted and run to exit. diff-startup is almost
    // all load (decode of ~400 KB of text) and glibc start-up; diff-kernels (FP kernels) and
    // diff-mem (malloc churn, string functions) are long enough to read as interpreter speed.
    let cases: [(&str, &[&[u8]]); 3] = [
        ("diff-startup", &[b"diff-startup", b"one", b"two"]),
        ("diff-kernels", &[b"diff-kernels"]),
        ("diff-mem", &[b"diff-mem"]),
    ];
    for (name, args) in cases {
        let bytes = elf(name);
        let expected = Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/expected");
        let want = std::fs::read(expected.join(format!("{name}.stdout"))).expect("expected output");
        let run = || {
            let mut host = Captured::default();
            let (out, stats) =
                run_program(&bytes, &Config::default(), args, &[], u64::MAX, &mut host)
                    .expect("load");
            assert!(matches!(out, Outcome::Exited(_)), "{name}: {out:?}");
            assert_eq!(host.stdout, want, "{name}");
            stats.instret
        };
        let insns = run();
        g.throughput(Throughput::Elements(insns));
        g.bench_function(format!("{name} load+run"), |b| b.iter(|| assert_eq!(run(), insns)));
    }
    g.finish();
}

criterion_group!(benches, fork_call, kernel_bench, glibc);
criterion_main!(benches);
