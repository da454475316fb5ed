//! Zero allocations per `/hello` request after warm-up, counted by a global allocator.
//!
//! The allocator counts only on threads that opt in: the test runs the server (one shard, on
//! the thread that calls `Server::run`) on a thread that switches counting on first, so the
//! client and the other tests running in parallel do not disturb the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::harness::{TestServer, test_config};

struct Counting;

static SHARD_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        SHARD_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to the system allocator unchanged; counting touches only a
// const-initialised thread-local and an atomic, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const WARM_UP: usize = 2_000;
const MEASURED: usize = 20_000;

#[test]
fn hello_allocates_nothing_per_request_after_warm_up() {
    let server = TestServer::start_with(test_config(), || COUNTED.with(|c| c.set(true)));
    let mut client = server.connect();
    let request = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut response = [0u8; 4096];
    let mut roundtrip = |client: &mut crate::harness::Client| {
        use std::io::{Read, Write};
        client.stream.write_all(request).expect("write");
        // Responses are small and arrive whole; read until the body's last byte.
        let mut got = 0;
        while !response[..got].ends_with(b"Hello, World!") {
            let n = client.stream.read(&mut response[got..]).expect("read");
            assert!(n > 0, "closed");
            got += n;
        }
    };
    for _ in 0..WARM_UP {
        roundtrip(&mut client);
    }
    let before = SHARD_ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..MEASURED {
        roundtrip(&mut client);
    }
    let allocations = SHARD_ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(before > 0, "the counter sees the shard's start-up allocations");
    assert_eq!(
        allocations, 0,
        "{allocations} allocations on the shard for {MEASURED} keep-alive /hello requests"
    );

    // Pipelined too: 16 requests per write.
    let batch = request.repeat(16);
    let before = SHARD_ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..500 {
        use std::io::Write;
        client.stream.write_all(&batch).expect("write");
        for _ in 0..16 {
            assert_eq!(client.read_reply().expect("reply").status, 200);
        }
    }
    let allocations = SHARD_ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(allocations, 0, "{allocations} allocations for 8000 pipelined /hello requests");
    server.stop().expect("clean stop");
}
