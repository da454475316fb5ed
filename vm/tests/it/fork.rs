//! Templates and forks with the SDK's handler guests: handlers called by name in forks, fork
//! isolation (a write in one fork is invisible to the template and its siblings), pages returned
//! on drop, the page budget on copy-on-write pages, host-heap guests.

use std::path::Path;

use shardbox_vm::{Captured, Config, NullHost, Outcome, PagePool, Template, TemplateError};

fn elf(name: &str) -> Vec<u8> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/prebuilt").join(format!("{name}.elf"));
    std::fs::read(path).expect("prebuilt ELF")
}

fn template(name: &str) -> Template {
    let mut host = Captured::default();
    let t = Template::new(
        &elf(name),
        &Config::default(),
        &[name.as_bytes()],
        &[],
        100_000_000,
        &mut host,
    )
    .expect("template init succeeds");
    assert_eq!(host.stdout, b"sum of squares: 285\n", "{name}: init ran handle(10) once");
    t
}

#[test]
fn handlers_are_called_by_name_in_forks() {
    for name in ["c-handler", "rust-handler"] {
        let t = template(name);
        let pool = PagePool::new(1024);
        let handle = t.symbol("handle").expect("handle exported");
        for n in [0i64, 1, 10, 1024, 5000, -3] {
            let mut fork = t.fork(&pool);
            let mut host = Captured::default();
            let want: u64 = (0..n.clamp(0, 1024) as u64).map(|i| i * i).sum();
            assert_eq!(
                fork.call(handle, &[n as u64], 10_000_000, &mut host),
                Outcome::Returned(want),
                "{name} {n}"
            );
            assert_eq!(host.stdout, format!("sum of squares: {want}\n").into_bytes());
        }
        // The Rust example's `add` is removed by the linker (nothing references it).
        if let Some(add) = t.symbol("add") {
            let mut fork = t.fork(&pool);
            assert_eq!(fork.call(add, &[40, 2], 1000, &mut NullHost), Outcome::Returned(42));
            assert_eq!(fork.call(add, &[u64::MAX, 2], 1000, &mut NullHost), Outcome::Returned(1));
        }
        assert_eq!(pool.lent(), 0, "{name}: forks return their pages");
        pool.check_invariants();
    }
}

#[test]
fn forks_are_isolated_from_the_template_and_each_other() {
    let t = template("c-handler");
    let pool = PagePool::new(1024);
    let handle = t.symbol("handle").expect("handle");
    let mut a = t.fork(&pool);
    let mut b = t.fork(&pool);
    // Find the squares table through the guest's own global: handle(3) = 0 + 1 + 4.
    assert_eq!(a.call(handle, &[3], 1_000_000, &mut NullHost), Outcome::Returned(5));
    // Scribble over every writable page of fork a's heap via host memset on the heap region.
    let heap = a.os().layout.heap_start;
    a.memory().fill(heap, 0xff, 16384).expect("heap is writable");
    assert_ne!(
        a.call(handle, &[3], 1_000_000, &mut NullHost),
        Outcome::Returned(5),
        "a sees its write"
    );
    assert_eq!(b.call(handle, &[3], 1_000_000, &mut NullHost), Outcome::Returned(5), "b does not");
    drop(a);
    let mut c = t.fork(&pool);
    assert_eq!(
        c.call(handle, &[3], 1_000_000, &mut NullHost),
        Outcome::Returned(5),
        "nor the template"
    );
}

#[test]
fn page_budget_applies_to_copy_on_write_pages() {
    let mut config = Config::default();
    let t_elf = elf("c-handler");
    let mut host = Captured::default();
    config.pages_max = 0;
    let t = Template::new(&t_elf, &config, &[b"x"], &[], 100_000_000, &mut host).expect("init");
    let pool = PagePool::new(64);
    let mut fork = t.fork(&pool);
    // handle() writes its stack frame: with a budget of 0 pages the first store is refused.
    let out = fork.call(t.symbol("handle").expect("handle"), &[3], 1_000_000, &mut NullHost);
    assert!(matches!(out, Outcome::OutOfMemory { .. }), "{out:?}");
    // add() touches no memory and still runs.
    assert_eq!(
        fork.call(t.symbol("add").expect("add"), &[1, 2], 100, &mut NullHost),
        Outcome::Returned(3)
    );
}

#[test]
fn init_failures_are_typed() {
    let mut host = Captured::default();
    let err = Template::new(&elf("c-handler"), &Config::default(), &[b"x"], &[], 100, &mut host)
        .unwrap_err();
    assert!(matches!(err, TemplateError::Init(Outcome::OutOfFuel { .. })), "{err:?}");
    let err =
        Template::new(b"not an elf", &Config::default(), &[], &[], 100, &mut host).unwrap_err();
    assert!(matches!(err, TemplateError::Load(_)), "{err:?}");
}

#[test]
fn host_heap_guests_run() {
    for name in ["c-malloc_heavy", "rust-alloc_heavy"] {
        let mut host = Captured::default();
        let (out, stats) = shardbox_vm::run_program(
            &elf(name),
            &Config::default(),
            &[name.as_bytes()],
            &[],
            1_000_000_000,
            &mut host,
        )
        .expect("loads");
        assert_eq!(
            out,
            Outcome::Exited(0),
            "{name}: stdout {:?}",
            String::from_utf8_lossy(&host.stdout)
        );
        assert!(String::from_utf8_lossy(&host.stdout).contains("ok"), "{name}");
        assert!(stats.instret > 1000);
    }
}

/// Counts, per thread, heap allocations of guest pages (4 KiB-aligned): once the pool is warm,
/// guest pages must come from the pool, never from the allocator (and so never from `mmap`).
mod page_allocs {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub struct Counting;

    thread_local! {
        static BIG: Cell<u64> = const { Cell::new(0) };
        static ALL: Cell<u64> = const { Cell::new(0) };
    }

    // SAFETY: forwards every call to `System` unchanged; only counts.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.align() >= 4096 {
                let _ = BIG.try_with(|c| c.set(c.get() + 1));
            }
            let _ = ALL.try_with(|c| c.set(c.get() + 1));
            // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: `ptr` came from `alloc` above, i.e. from `System`, with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// Page allocations made by this thread so far.
    pub fn big() -> u64 {
        BIG.with(Cell::get)
    }

    /// Heap allocations of any size made by this thread so far.
    pub fn all() -> u64 {
        ALL.with(Cell::get)
    }
}

#[global_allocator]
static ALLOC: page_allocs::Counting = page_allocs::Counting;

#[test]
fn warm_forks_take_every_page_from_the_pool() {
    let t = Template::new(
        &elf("t-kernels"),
        &Config::default(),
        &[b"k"],
        &[],
        100_000_000,
        &mut NullHost,
    )
    .expect("init");
    let pool = PagePool::new(1024);
    let calls = [("touch", 3u64, 1u32), ("heap", 20, 0), ("memwalk", 70_000, 128)];
    let run = |pool: &PagePool| {
        for (name, arg, pages) in calls {
            let mut fork = t.fork(pool);
            let out = fork.call(t.symbol(name).expect("kernel"), &[arg], 10_000_000, &mut NullHost);
            assert!(matches!(out, Outcome::Returned(_)), "{name}: {out:?}");
            assert!(fork.pages_owned() >= pages, "{name} owned {} pages", fork.pages_owned());
        }
    };
    run(&pool); // warm-up: the pool allocates the pages it will recycle
    let owned = pool.free() + pool.lent();
    assert!(owned >= 128, "the warm-up took pages ({owned})");
    let big = page_allocs::big();
    for _ in 0..50 {
        run(&pool);
    }
    assert_eq!(pool.lent(), 0, "every fork gave its pages back");
    assert_eq!(pool.free(), owned, "no new page was allocated after warm-up");
    assert_eq!(page_allocs::big(), big, "no page came from the heap on the request path");
    pool.check_invariants();
}

#[test]
fn a_warm_fork_that_writes_a_few_pages_allocates_nothing() {
    let t = Template::new(
        &elf("t-kernels"),
        &Config::default(),
        &[b"k"],
        &[],
        100_000_000,
        &mut NullHost,
    )
    .expect("init");
    let pool = PagePool::new(64);
    let (touch, heap) = (t.symbol("touch").expect("touch"), t.symbol("heap").expect("heap"));
    let request = |pool: &PagePool| {
        let mut fork = t.fork(pool);
        assert!(matches!(fork.call(touch, &[1], 10_000, &mut NullHost), Outcome::Returned(_)));
        // Host-call malloc/memset/memcpy/free: heap metadata and blocks, a few more pages.
        assert_eq!(
            fork.call(heap, &[3], 100_000, &mut NullHost),
            Outcome::Returned(3) /* 0 + 1 + 2 */
        );
        assert!((2..=8).contains(&fork.pages_owned()), "{} pages", fork.pages_owned());
    };
    request(&pool); // warm-up
    let before = page_allocs::all();
    for _ in 0..100 {
        request(&pool);
    }
    assert_eq!(page_allocs::all(), before, "fork + calls + drop made heap allocations");
    assert_eq!(pool.lent(), 0);
}
