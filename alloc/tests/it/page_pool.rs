//! Page pool: capacity at max-1/max/max+1, scrubbing, invariants.
use shardbox_alloc::{PagePool, PoolExhausted, limits::POOL_PAGES_MAX};

#[test]
fn capacity_boundaries() {
    let max = 4;
    let pool = PagePool::new(max);
    let mut held = Vec::new();
    for _ in 0..max - 1 {
        held.push(pool.take().unwrap());
    }
    assert_eq!(pool.lent(), max - 1);
    held.push(pool.take().expect("the max-th page is allowed"));
    assert_eq!(pool.take().unwrap_err(), PoolExhausted { pages_max: max });
    assert_eq!(pool.lent(), max);
    pool.put(held.pop().unwrap());
    assert!(pool.take().is_ok(), "a returned page can be lent again");
    for p in held {
        pool.put(p);
    }
    pool.check_invariants();
}

#[test]
fn prefill_is_bounded_and_zero() {
    let pool = PagePool::new(3);
    pool.prefill(10);
    assert_eq!(pool.free(), 3);
    pool.check_invariants();
    let a = pool.take().unwrap();
    assert_eq!(pool.free(), 2);
    pool.put(a);
}

#[test]
fn dirty_pages_never_leak_through_the_pool() {
    let pool = PagePool::new(8);
    let mut pages: Vec<_> = (0..8).map(|_| pool.take().unwrap()).collect();
    for (i, p) in pages.iter_mut().enumerate() {
        p.bytes_mut().fill(i as u8 + 1);
    }
    for p in pages {
        pool.put(p);
    }
    pool.check_invariants();
    for _ in 0..8 {
        let p = pool.take().unwrap();
        assert!(p.is_zero());
        std::mem::drop(p); // dropping instead of putting back is allowed (the page is freed)
    }
}

#[test]
fn capacity_is_clamped() {
    let pool = PagePool::new(usize::MAX);
    assert_eq!(pool.pages_max(), POOL_PAGES_MAX);
}

#[test]
#[should_panic(expected = "not lent")]
fn put_without_take_is_a_bug() {
    let pool = PagePool::new(1);
    pool.put(shardbox_alloc::Page::new_zeroed());
}
