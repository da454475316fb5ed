//! Interpreter throughput for A/B comparisons on a busy machine: each kernel of
//! `vm/guest/tests/kernels.c` is called many times with a short input (about 1 ms a call, well
//! under a scheduler time slice), and the fastest call gives the MIPS figure (a call that was
//! not preempted), printed with the median. Every call checks its checksum and exact
//! instruction count against an untimed reference call (`support::Reference`, shared with the
//! `vm` bench).
//!
//! ```sh
//! cargo bench -p shardbox-vm --bench kernels_min            # 400 calls per kernel
//! cargo bench -p shardbox-vm --bench kernels_min -- 1000    # more calls
//! ```
//!
//! Run the two builds being compared alternately, several rounds (copy each build's binary out
//! of `target/release/deps/kernels_min-*`). Under `cargo test --benches` each kernel runs 3
//! calls, to keep the benchmark compiling and correct.

use std::hint::black_box;
use std::time::Instant;

use shardbox_vm::{NullHost, PagePool};

mod support;

use support::Reference;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let calls: usize =
        args.iter().skip(1).find_map(|a| a.parse().ok()).unwrap_or(if bench { 400 } else { 3 });
    let t = support::kernels();
    let pool = PagePool::new(1 << 12);
    for (name, n) in [("count", 100_000u64), ("memwalk", 20_000), ("muldiv", 20_000), ("fib", 15)] {
        let addr = t.symbol(name).expect("kernel");
        let reference = Reference::of(&t, &pool, name, addr, n);
        let insns = reference.insns;
        let mut ns: Vec<u128> = (0..calls)
            .map(|_| {
                let mut vm = t.fork(&pool);
                let start = Instant::now();
                let out = vm.call(addr, &[black_box(n)], u64::MAX, &mut NullHost);
                let elapsed = start.elapsed().as_nanos().max(1);
                reference.check(name, out, &vm);
                elapsed
            })
            .collect();
        ns.sort_unstable();
        let mips = |t: u128| insns as f64 * 1e3 / t as f64;
        println!(
            "{name:8} {insns:>8} insns  fastest {:6.0} MIPS  median {:6.0} MIPS  ({calls} calls)",
            mips(ns[0]),
            mips(ns[ns.len() / 2])
        );
    }
}
