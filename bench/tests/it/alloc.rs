//! The load generator allocates nothing per request: a run of 20 000 requests makes no more
//! allocations than a run of 200 (beyond a small constant).
//!
//! Allocations are counted by a global allocator. Other tests of this binary run in parallel
//! threads and allocate too, so the measurement runs in a child process: the test re-executes
//! this binary with only `alloc::child` selected, where the only other allocating code is the
//! test server (which allocates per connection, never per request).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use shardbox_bench::request::Target;
use shardbox_bench::run::{RunConfig, Stop, run};

use crate::server::{Behaviour, TestServer};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting calls to `alloc` and `realloc`.
pub struct Counting;

// SAFETY: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc`
// contract; the counter is a relaxed atomic that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's `layout` obligations are passed through to `System`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with `layout`; the caller guarantees `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

const CHILD_ENV: &str = "SHARDBOX_BENCH_ALLOC_CHILD";

/// Allocations made by one counted run of `requests` requests (server included).
fn allocations_for(requests: u64, depth: u32) -> u64 {
    let server = TestServer::start(Behaviour::Hello);
    let mut config = RunConfig::new(Target::parse(&server.url("/hello")).unwrap());
    config.connections = 4;
    config.depth = depth;
    config.warmup = Duration::ZERO;
    config.stop = Stop::Requests { count: requests, deadline: Duration::from_secs(60) };
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let report = run(&config).unwrap();
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(report.requests, requests);
    assert_eq!(report.errors.total(), 0);
    drop(server);
    after - before
}

/// Runs inside the child process only (it is ignored otherwise).
#[test]
#[ignore = "run by no_allocation_per_request in a child process"]
fn child() {
    assert!(std::env::var_os(CHILD_ENV).is_some(), "run through no_allocation_per_request");
    for depth in [1, 16] {
        allocations_for(200, depth); // warm up lazily initialised statics
        let small = allocations_for(200, depth);
        let large = allocations_for(20_000, depth);
        println!("ALLOCATIONS depth={depth} small={small} large={large}");
    }
}

#[test]
fn no_allocation_per_request() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "alloc::child", "--ignored", "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    // libtest may print "test alloc::child ... " on the same line before the first one.
    let lines: Vec<&str> =
        stdout.lines().filter_map(|l| l.find("ALLOCATIONS").and_then(|at| l.get(at..))).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for line in lines {
        let field = |name: &str| -> u64 {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap()
        };
        let (small, large) = (field("small="), field("large="));
        // 100× the requests; the same connections, threads and buffers. A per-request
        // allocation would add at least 19 800 here.
        assert!(large <= small + 10, "{line}");
        println!("{line}");
    }
}
