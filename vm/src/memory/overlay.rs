//! The pages one instance owns, and the template's page table.
//!
//! [`Frozen`] is a template's page table: a two-level radix table (1024 leaves of 1024 pages,
//! 4 GiB) of boxed pages, immutable once built and shared by every fork.
//!
//! [`Overlay`] is an instance's own pages: a map from page number to a page it owns
//! (copy-on-write copies and fresh pages), or to "hidden" (a template page that a later `mmap`
//! replaced with zeros). Its first 8 entries live inline (a linear scan on a TLB miss), so a
//! fork that writes a few pages never allocates; past that they move to an open-addressing hash
//! table that grows by doubling. Owned pages are held as raw pointers from [`Box::into_raw`]
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
/// Entries kept inline, before the first heap allocation: most requests write a few pages
/// (stack, a global, a heap block), so their forks never allocate here.
const INLINE: usize = 8;

/// An instance's own pages (see the module doc).
///
/// Two tiers: up to [`INLINE`] entries in `inline` (unsorted, `inline_len` used) while the hash
/// table is unallocated; on the next new entry they all move to the hash table, which is then
/// the only tier.
///
/// INVARIANT: every value of a live entry (`inline[..inline_len]`, or `vals[i]` with
/// `keys[i] != EMPTY_KEY`) is null (hidden) or a pointer from `Box::<Page>::into_raw` owned by
/// this overlay; `inline_len == 0` whenever `keys` is allocated; `keys.len() == vals.len()` is
/// zero or a power of two; `len * 2 <= keys.len()`; `owned` counts the non-null values.
#[derive(Debug)]
pub struct Overlay {
    inline: [(u32, *mut Page); INLINE],
    inline_len: usize,
    keys: Vec<u32>,
    vals: Vec<*mut Page>,
    len: usize,
    owned: u32,
}

impl Default for Overlay {
    fn default() -> Self {
        Overlay {
            inline: [(EMPTY_KEY, std::ptr::null_mut()); INLINE],
            inline_len: 0,
            keys: Vec::new(),
            vals: Vec::new(),
            len: 0,
            owned: 0,
        }
    }
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

    fn inline_live(&self) -> &[(u32, *mut Page)] {
        self.inline.get(..self.inline_len).unwrap_or_default()
    }

    /// What the overlay holds for page `vpn`.
    #[inline]
    pub fn get(&self, vpn: u32) -> Slot {
        let value = if self.keys.is_empty() {
            self.inline_live().iter().find(|(k, _)| *k == vpn).map(|(_, v)| *v)
        } else {
            self.find(vpn).and_then(|i| self.vals.get(i)).copied()
        };
        match value {
            None => Slot::Absent,
            Some(p) if p.is_null() => Slot::Hidden,
            Some(p) => Slot::Owned(p),
        }
    }

    /// Pages owned (hidden entries not counted).
    pub fn owned(&self) -> u32 {
        self.owned
    }

    /// Sets page `vpn` to `page` (owned, from `Box::into_raw`) or hidden (null). The previous
    /// owned page, if any, is returned for the caller to give back.
    pub fn set(&mut self, vpn: u32, page: *mut Page) -> Option<*mut Page> {
        if self.keys.is_empty() {
            let live = self.inline_len;
            if let Some((_, v)) =
                self.inline.get_mut(..live).unwrap_or_default().iter_mut().find(|(k, _)| *k == vpn)
            {
                let old = std::mem::replace(v, page);
                return self.account(old, page);
            }
            if let Some(slot) = self.inline.get_mut(live) {
                *slot = (vpn, page);
                self.inline_len = live.saturating_add(1);
                return self.account(std::ptr::null_mut(), page);
            }
            // The inline tier is full: move it to the hash table.
            let spilled =
                std::mem::replace(&mut self.inline, [(EMPTY_KEY, std::ptr::null_mut()); INLINE]);
            self.inline_len = 0;
            self.grow();
            for (k, v) in spilled {
                self.insert_new(k, v);
            }
            self.insert_new(vpn, page);
            return self.account(std::ptr::null_mut(), page);
        }
        if let Some(i) = self.find(vpn) {
            let old = std::mem::replace(self.vals.get_mut(i)?, page);
            return self.account(old, page);
        }
        if self.len.saturating_mul(2) >= self.keys.len() {
            self.grow();
        }
        self.insert_new(vpn, page);
        self.account(std::ptr::null_mut(), page)
    }

    /// Updates `owned` for a value replaced by another; returns the old owned page.
    fn account(&mut self, old: *mut Page, new: *mut Page) -> Option<*mut Page> {
        if !new.is_null() {
            self.owned = self.owned.saturating_add(1);
        }
        if old.is_null() {
            return None;
        }
        self.owned = self.owned.saturating_sub(1);
        Some(old)
    }

    /// Puts a key known to be absent into the hash table (which has room).
    fn insert_new(&mut self, vpn: u32, page: *mut Page) {
        let mut i = self.bucket(vpn);
        while self.keys.get(i).is_some_and(|&k| k != EMPTY_KEY) {
            i = (i + 1) & (self.keys.len() - 1);
        }
        if let (Some(k), Some(v)) = (self.keys.get_mut(i), self.vals.get_mut(i)) {
            *k = vpn;
            *v = page;
            self.len = self.len.saturating_add(1);
        }
    }

    /// Doubles the hash table (at least 16 slots) and re-inserts its entries.
    fn grow(&mut self) {
        let cap = (self.keys.len() * 2).max(16);
        let keys = std::mem::replace(&mut self.keys, vec![EMPTY_KEY; cap]);
        let vals = std::mem::replace(&mut self.vals, vec![std::ptr::null_mut(); cap]);
        self.len = 0;
        for (k, v) in keys.into_iter().zip(vals) {
            if k != EMPTY_KEY {
                self.insert_new(k, v);
            }
        }
    }

    /// Every entry: page number and owned page (null = hidden).
    pub fn entries(&self) -> impl Iterator<Item = (u32, *mut Page)> + '_ {
        let table = self
            .keys
            .iter()
            .zip(&self.vals)
            .filter(|(k, _)| **k != EMPTY_KEY)
            .map(|(k, v)| (*k, *v));
        self.inline_live().iter().copied().chain(table)
    }

    /// Empties both tiers without giving anything back (the caller took the entries).
    fn clear(&mut self) {
        self.inline_len = 0;
        self.keys = Vec::new();
        self.vals = Vec::new();
        self.len = 0;
        self.owned = 0;
    }

    /// Removes every entry in `[lo, hi)` and returns the owned pages among them.
    pub fn remove_range(&mut self, lo: u64, hi: u64) -> Vec<*mut Page> {
        let inside = |k: u32| u64::from(k) >= lo && u64::from(k) < hi;
        if !self.entries().any(|(k, _)| inside(k)) {
            return Vec::new();
        }
        let all: Vec<(u32, *mut Page)> = self.entries().collect();
        self.clear();
        let mut freed = Vec::new();
        for (k, v) in all {
            if !inside(k) {
                self.set(k, v);
            } else if !v.is_null() {
                freed.push(v);
            }
        }
        freed
    }

    /// Empties the overlay and returns every owned page with its number.
    pub fn drain(&mut self) -> Vec<(u32, *mut Page)> {
        let out: Vec<(u32, *mut Page)> = self.entries().filter(|(_, v)| !v.is_null()).collect();
        self.clear();
        out
    }

    /// Gives every owned page back to `pool` and empties the overlay.
    /// No allocation: the request path's drop goes through here.
    pub fn release(&mut self, pool: &PagePool) {
        for (_, p) in self.entries().filter(|(_, p)| !p.is_null()) {
            // SAFETY: `p` came from `Box::into_raw` and the overlay owned it (INVARIANT above);
            // `clear` below forgets every entry, so it is released exactly once. The memory
            // module flushes every TLB entry pointing at it first, or (in its `Drop`) is being
            // destroyed with its TLB.
            let page = unsafe { Box::from_raw(p) };
            pool.put(page);
        }
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(pool: &PagePool) -> *mut Page {
        Box::into_raw(pool.take().unwrap())
    }

    #[test]
    fn inline_tier_spills_to_the_table_and_keeps_every_entry() {
        let pool = PagePool::new(64);
        let mut o = Overlay::default();
        let mut pages = Vec::new();
        for vpn in 0..(INLINE as u32 + 5) {
            let p = page(&pool);
            pages.push(p);
            assert_eq!(o.set(vpn * 7, p), None);
            assert_eq!(o.keys.is_empty(), vpn < INLINE as u32, "spills at entry {}", INLINE + 1);
            assert_eq!(o.owned(), vpn + 1);
        }
        for (vpn, p) in (0..).zip(&pages) {
            assert_eq!(o.get(vpn * 7), Slot::Owned(*p));
        }
        assert_eq!(o.get(1), Slot::Absent);
        // Hiding an owned page gives it back and stops counting it.
        assert_eq!(o.set(0, std::ptr::null_mut()), Some(pages[0]));
        assert_eq!(o.get(0), Slot::Hidden);
        assert_eq!(o.owned(), INLINE as u32 + 4);
        // SAFETY: `set` handed the page back; it came from `Box::into_raw` in `page`.
        pool.put(unsafe { Box::from_raw(pages[0]) });
        o.release(&pool);
        assert_eq!(pool.lent(), 0);
        assert_eq!(o.entries().count(), 0);
        pool.check_invariants();
    }

    #[test]
    fn remove_range_works_in_both_tiers() {
        let pool = PagePool::new(64);
        for n in [3u32, 20] {
            let mut o = Overlay::default();
            for vpn in 0..n {
                o.set(vpn, page(&pool));
            }
            o.set(1000, std::ptr::null_mut());
            let freed = o.remove_range(1, 3);
            assert_eq!(freed.len(), 2, "{n}");
            for p in freed {
                // SAFETY: `remove_range` gave the page up; it came from `Box::into_raw`.
                pool.put(unsafe { Box::from_raw(p) });
            }
            assert_eq!(o.get(1), Slot::Absent);
            assert_eq!(o.get(2), Slot::Absent);
            assert!(matches!(o.get(0), Slot::Owned(_)));
            assert_eq!(o.get(1000), Slot::Hidden);
            assert_eq!(o.owned(), n - 2);
            o.release(&pool);
            assert_eq!(pool.lent(), 0, "{n}");
        }
    }
}
