//! A per-shard pool of 4 KiB pages for guest memory.
//!
//! [`PagePool`] owns up to `pages_max` heap-allocated [`Page`]s. [`PagePool::take`] hands one out
//! and [`PagePool::put`] takes it back, both O(1) (a free list in a `Vec`). Pages are allocated
//! lazily the first time the free list is empty and then recycled forever: after warm-up the
//! per-request path does no allocation, no `mmap`, no `munmap`, no `madvise`.
//!
//! **Zeroing rule (paired assertion, STYLE.md §10).** A page is scrubbed to zero when it comes
//! back ([`PagePool::put`]), so a page sitting in the pool never holds a tenant's bytes; when it
//! goes out again ([`PagePool::take`]) debug builds assert it is still zero, and
//! [`PagePool::check_invariants`] checks every free page in all builds.
//!
//! The pool is `!Sync` and uses interior mutability (`RefCell`), so a VM instance can hold a
//! shared `&PagePool` for its whole life and return its pages on drop. It is meant to live in one
//! shard; pools are never shared between threads.
//!
//! It does not decide what a page is used for: the VM's memory module (`shardbox_vm::memory`)
//! maps pages into guest address space and enforces per-instance budgets.
//!
//! ```
//! use shardbox_alloc::PagePool;
//! let pool = PagePool::new(2);
//! let mut page = pool.take().expect("pool has room");
//! page.bytes_mut()[0] = 7;
//! pool.put(page);
//! assert_eq!(pool.take().expect("recycled").bytes()[0], 0);
//! ```

use std::cell::RefCell;

use crate::limits::POOL_PAGES_MAX;

/// Bytes in one guest page.
pub const PAGE_BYTES: usize = 4096;

/// One 4 KiB page, 4 KiB aligned.
#[repr(C, align(4096))]
pub struct Page([u8; PAGE_BYTES]);

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page").field("zero", &self.is_zero()).finish()
    }
}

impl Page {
    /// A new zeroed page on the heap (not from a pool).
    pub fn new_zeroed() -> Box<Page> {
        Box::new(Page([0; PAGE_BYTES]))
    }

    /// The page's bytes.
    pub fn bytes(&self) -> &[u8; PAGE_BYTES] {
        &self.0
    }

    /// The page's bytes, writable.
    pub fn bytes_mut(&mut self) -> &mut [u8; PAGE_BYTES] {
        &mut self.0
    }

    /// Whether every byte is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|b| *b == 0)
    }
}

/// The pool already lent out `pages_max` pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("page pool exhausted: all {pages_max} pages are lent out")]
pub struct PoolExhausted {
    /// The pool's capacity.
    pub pages_max: usize,
}

struct State {
    /// Pages ready to lend. INVARIANT: every page here is all zero.
    free: Vec<Box<Page>>,
    /// Pages currently lent out. INVARIANT: `free.len() + lent <= pages_max`.
    lent: usize,
}

/// A bounded, recycling pool of zeroed 4 KiB pages (see the module doc).
pub struct PagePool {
    state: RefCell<State>,
    pages_max: usize,
}

impl PagePool {
    /// A pool that will own at most `pages_max` pages (clamped to
    /// [`crate::limits::POOL_PAGES_MAX`]). No page is allocated yet.
    pub fn new(pages_max: usize) -> PagePool {
        let pages_max = pages_max.min(POOL_PAGES_MAX);
        PagePool { state: RefCell::new(State { free: Vec::new(), lent: 0 }), pages_max }
    }

    /// Allocates up to `pages` free pages now (bounded by the capacity), so that the first
    /// requests do not pay for allocation.
    pub fn prefill(&self, pages: usize) {
        let mut st = self.state.borrow_mut();
        let room = self.pages_max.saturating_sub(st.free.len().saturating_add(st.lent));
        let n = pages.min(room);
        st.free.reserve(n);
        for _ in 0..n {
            st.free.push(Page::new_zeroed());
        }
    }

    /// Lends out a zeroed page. O(1): pops the free list, or allocates a new page while the pool
    /// owns fewer than `pages_max`.
    pub fn take(&self) -> Result<Box<Page>, PoolExhausted> {
        let mut st = self.state.borrow_mut();
        let page = match st.free.pop() {
            Some(page) => page,
            None if st.lent < self.pages_max => Page::new_zeroed(),
            None => return Err(PoolExhausted { pages_max: self.pages_max }),
        };
        st.lent = st.lent.saturating_add(1);
        // Paired with the scrub in `put` (STYLE.md §10); full check in `check_invariants`.
        debug_assert!(page.is_zero(), "a page in the pool held data");
        Ok(page)
    }

    /// Takes a page back, scrubbing it to zero first. O(1) plus the 4 KiB scrub.
    pub fn put(&self, mut page: Box<Page>) {
        page.0.fill(0);
        let mut st = self.state.borrow_mut();
        assert!(st.lent > 0, "put a page that was not lent by this pool");
        st.lent = st.lent.saturating_sub(1);
        st.free.push(page);
    }

    /// Ends the loan of `page` without taking it back: the caller keeps it for good (a VM
    /// template freezing the pages its init wrote). The pool may then lend a replacement.
    pub fn disown(&self, page: Box<Page>) -> Box<Page> {
        let mut st = self.state.borrow_mut();
        assert!(st.lent > 0, "disowned a page that was not lent by this pool");
        st.lent = st.lent.saturating_sub(1);
        page
    }

    /// Pages currently lent out.
    pub fn lent(&self) -> usize {
        self.state.borrow().lent
    }

    /// Pages ready to lend without allocating.
    pub fn free(&self) -> usize {
        self.state.borrow().free.len()
    }

    /// The most pages this pool will ever own.
    pub fn pages_max(&self) -> usize {
        self.pages_max
    }

    /// Asserts the pool's invariants: every free page is zero and no more than `pages_max` pages
    /// exist. Costs a scan of every free page; for tests and fuzzing.
    pub fn check_invariants(&self) {
        let st = self.state.borrow();
        assert!(st.free.len().saturating_add(st.lent) <= self.pages_max, "pool over capacity");
        for (i, page) in st.free.iter().enumerate() {
            assert!(page.is_zero(), "free page {i} is not zero");
        }
    }
}

impl std::fmt::Debug for PagePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.state.borrow();
        f.debug_struct("PagePool")
            .field("free", &st.free.len())
            .field("lent", &st.lent)
            .field("pages_max", &self.pages_max)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_aligned_and_sized() {
        assert_eq!(std::mem::size_of::<Page>(), PAGE_BYTES);
        let p = Page::new_zeroed();
        assert_eq!((&*p as *const Page as usize) % PAGE_BYTES, 0);
    }

    #[test]
    fn take_put_recycles_and_scrubs() {
        let pool = PagePool::new(1);
        let mut p = pool.take().unwrap();
        p.bytes_mut().fill(0xAB);
        let addr = &*p as *const Page;
        pool.put(p);
        pool.check_invariants();
        let q = pool.take().unwrap();
        assert_eq!(&*q as *const Page, addr, "the same page is recycled");
        assert!(q.is_zero());
        pool.put(q);
    }

    #[test]
    fn disown_frees_a_slot() {
        let pool = PagePool::new(1);
        let mut kept = pool.disown(pool.take().unwrap());
        kept.bytes_mut()[1] = 1;
        assert_eq!(pool.lent(), 0);
        let again = pool.take().unwrap();
        assert!(again.is_zero());
        assert!(pool.take().is_err());
        pool.put(again);
        pool.check_invariants();
    }
}
