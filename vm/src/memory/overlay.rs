//! The pages one instance owns, and the template's page table.
//!
//! [`Frozen`] is a template's page table: a two-level radix table (1024 leaves of 1024 pages,
//! 4 GiB) of boxed pages, immutable once built and shared by every fork.
//!
//! [`Overlay`] is an instance's own pages: an open-addressing hash table from page number to a
//! page it owns (copy-on-write copies and fresh pages), or to "hidden" (a template page that a
//! later `mmap` replaced with zeros). It starts empty and unallocated, so a fork costs nothing
//! here; it grows by doubling. Owned pages are held as raw pointers from [`Box::into_raw`]
//! (never as `Box`es, which would be retagged on every move and invalidate the pointers the TLB
//! holds) and go back to the [`PagePool`] when removed or when the overlay is released.

use shardbox_alloc::{Page, PagePool};

const LEAF_PAGES: usize = 1024;
const LEAVES: usize = 1024;

type Leaf = [Option<Box<Page>>; LEAF_PAGES];

/// A template's pages (see the module doc).
#[derive(Default)]
pub struct Frozen {
    leaves: Vec<Option<Box<Leaf>>>,
    pages: usize,
}

impl std::fmt::Debug for Frozen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frozen").field("pages", &self.pages).finish()
    }
}

impl Frozen {
    /// A table with no pages, for memory that has no template (a program being loaded).
    pub fn empty() -> &'static Frozen {
        static EMPTY: Frozen = Frozen { leaves: Vec::new(), pages: 0 };
        &EMPTY
    }

    /// The page numbered `vpn`.
    #[inline]
    pub fn get(&self, vpn: u64) -> Option<&Page> {
        let vpn = usize::try_from(vpn).ok()?;
        let leaf = self.leaves.get(vpn / LEAF_PAGES)?.as_ref()?;
        leaf.get(vpn % LEAF_PAGES)?.as_deref()
    }

    /// Stores `page` as page `vpn` (below 2^20), replacing any page there.
    pub fn insert(&mut self, vpn: u32, page: Box<Page>) {
        let vpn = vpn as usize;
        let (hi, lo) = (vpn / LEAF_PAGES, vpn % LEAF_PAGES);
        if hi >= LEAVES {
            return;
        }
        if self.leaves.len() <= hi {
            self.leaves.resize_with(hi.saturating_add(1), || None);
        }
        let Some(slot) = self.leaves.get_mut(hi) else { return };
        let leaf = slot.get_or_insert_with(|| Box::new([const { None }; LEAF_PAGES]));
        if let Some(p) = leaf.get_mut(lo) {
            if p.is_none() {
                self.pages = self.pages.saturating_add(1);
            }
            *p = Some(page);
        }
    }

    /// Number of pages.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Page numbers of every page in `[lo, hi)`, in order.
    pub fn vpns_in(&self, lo: u64, hi: u64) -> Vec<u64> {
        let mut out = Vec::new();
        for (l, leaf) in self.leaves.iter().enumerate() {
            let Some(leaf) = leaf else { continue };
            let first = (l * LEAF_PAGES) as u64;
            if first.saturating_add(LEAF_PAGES as u64) <= lo || first >= hi {
                continue;
            }
            for (i, p) in leaf.iter().enumerate() {
                let vpn = first.saturating_add(i as u64);
                if p.is_some() && vpn >= lo && vpn < hi {
                    out.push(vpn);
                }
            }
        }
        out
    }
}

const EMPTY_KEY: u32 = u32::MAX;

/// An instance's own pages (see the module doc).
///
/// INVARIANT: `vals[i]` is null (hidden) or a pointer from `Box::<Page>::into_raw` owned by this
/// overlay, for every `i` with `keys[i] != EMPTY_KEY`; `keys.len() == vals.len()` is zero or a
/// power of two; `len * 2 <= keys.len()`.
#[derive(Debug, Default)]
pub struct Overlay {
    keys: Vec<u32>,
    vals: Vec<*mut Page>,
    len: usize,
    owned: u32,
}

/// What an overlay says about a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Not in the overlay: the template's page (or zeros) shows through.
    Absent,
    /// Replaced by zeros (a fresh mapping over a template page).
    Hidden,
    /// Owned by the instance.
    Owned(*mut Page),
}

impl Overlay {
    fn bucket(&self, vpn: u32) -> usize {
        let mask = self.keys.len().wrapping_sub(1);
        (vpn.wrapping_mul(0x9e37_79b1) as usize) & mask
    }

    fn find(&self, vpn: u32) -> Option<usize> {
        if self.keys.is_empty() {
            return None;
        }
        let mut i = self.bucket(vpn);
        loop {
            match self.keys.get(i) {
                Some(&k) if k == vpn => return Some(i),
                Some(&EMPTY_KEY) | None => return None,
                Some(_) => i = (i + 1) & (self.keys.len() - 1),
            }
        }
    }

    /// What the overlay holds for page `vpn`.
    #[inline]
    pub fn get(&self, vpn: u32) -> Slot {
        match self.find(vpn).and_then(|i| self.vals.get(i)) {
            None => Slot::Absent,
            Some(p) if p.is_null() => Slot::Hidden,
            Some(&p) => Slot::Owned(p),
        }
    }

    /// Pages owned (hidden entries not counted).
    pub fn owned(&self) -> u32 {
        self.owned
    }

    /// Sets page `vpn` to `page` (owned, from `Box::into_raw`) or hidden (null). The previous
    /// owned page, if any, is returned for the caller to give back.
    pub fn set(&mut self, vpn: u32, page: *mut Page) -> Option<*mut Page> {
        if let Some(i) = self.find(vpn) {
            let old = std::mem::replace(self.vals.get_mut(i)?, page);
            if !page.is_null() {
                self.owned = self.owned.saturating_add(1);
            }
            if !old.is_null() {
                self.owned = self.owned.saturating_sub(1);
                return Some(old);
            }
            return None;
        }
        if self.len.saturating_mul(2) >= self.keys.len() {
            self.grow();
        }
        let mut i = self.bucket(vpn);
        while self.keys.get(i).is_some_and(|&k| k != EMPTY_KEY) {
            i = (i + 1) & (self.keys.len() - 1);
        }
        if let (Some(k), Some(v)) = (self.keys.get_mut(i), self.vals.get_mut(i)) {
            *k = vpn;
            *v = page;
            self.len = self.len.saturating_add(1);
            if !page.is_null() {
                self.owned = self.owned.saturating_add(1);
            }
        }
        None
    }

    fn grow(&mut self) {
        let cap = (self.keys.len() * 2).max(16);
        let keys = std::mem::replace(&mut self.keys, vec![EMPTY_KEY; cap]);
        let vals = std::mem::replace(&mut self.vals, vec![std::ptr::null_mut(); cap]);
        self.len = 0;
        self.owned = 0;
        for (k, v) in keys.into_iter().zip(vals) {
            if k != EMPTY_KEY {
                self.set(k, v);
            }
        }
    }

    /// Every entry: page number and owned page (null = hidden).
    pub fn entries(&self) -> impl Iterator<Item = (u32, *mut Page)> + '_ {
        self.keys.iter().zip(&self.vals).filter(|(k, _)| **k != EMPTY_KEY).map(|(k, v)| (*k, *v))
    }

    /// Removes every entry in `[lo, hi)` and returns the owned pages among them.
    pub fn remove_range(&mut self, lo: u64, hi: u64) -> Vec<*mut Page> {
        let doomed: Vec<u32> = self
            .entries()
            .map(|(k, _)| k)
            .filter(|&k| u64::from(k) >= lo && u64::from(k) < hi)
            .collect();
        if doomed.is_empty() {
            return Vec::new();
        }
        let mut freed = Vec::new();
        let keep: Vec<(u32, *mut Page)> =
            self.entries().filter(|(k, _)| !doomed.contains(k)).collect();
        for (k, v) in self.entries() {
            if doomed.contains(&k) && !v.is_null() {
                freed.push(v);
            }
        }
        let cap = self.keys.len();
        self.keys = vec![EMPTY_KEY; cap];
        self.vals = vec![std::ptr::null_mut(); cap];
        self.len = 0;
        self.owned = 0;
        for (k, v) in keep {
            self.set(k, v);
        }
        freed
    }

    /// Empties the overlay and returns every owned page with its number.
    pub fn drain(&mut self) -> Vec<(u32, *mut Page)> {
        let out: Vec<(u32, *mut Page)> = self.entries().filter(|(_, v)| !v.is_null()).collect();
        self.keys = Vec::new();
        self.vals = Vec::new();
        self.len = 0;
        self.owned = 0;
        out
    }

    /// Gives every owned page back to `pool` and empties the overlay.
    pub fn release(&mut self, pool: &PagePool) {
        for (_, p) in self.drain() {
            // SAFETY: `p` came from `Box::into_raw` and the overlay owned it (INVARIANT above);
            // `drain` removed it, so it is released exactly once. The memory module flushes every
            // TLB entry pointing at it first, or (in its `Drop`) is being destroyed with its TLB.
            let page = unsafe { Box::from_raw(p) };
            pool.put(page);
        }
    }
}
