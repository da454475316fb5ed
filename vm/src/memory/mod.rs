//! Guest memory: a bounded address window of 4 KiB pages, copy-on-write over a template.
//!
//! [`Memory`] is one instance's view. A page of the window is, in order of precedence:
//! an entry of the instance's `Overlay` (a page it owns, or "hidden" = zeros), else the
//! template's [`Frozen`] page, else zeros. Whether an address may be touched at all is decided
//! by the [`Regions`] (mappings with permissions): an access outside every mapping, or against
//! its permissions, is a [`MemFault`]. Reading a mapped page that no one wrote returns zeros
//! from a shared static zero page (no allocation); the first write to a page takes one from the
//! shard's [`PagePool`] (a zeroed page, or a copy of the template's) and counts against the
//! instance's page budget (`pages_max`): both fresh and copy-on-write pages count.
//!
//! ```text
//!   load/store ──► TLB (16 read + 16 write entries, direct-mapped by page number)
//!                   │ hit: host pointer + offset, one compare and an add
//!                   ▼ miss
//!               regions (permissions) ──► overlay (own pages) ──► template pages ──► zero page
//!                                              ▲ first write: take from the pool, copy, count
//! ```
//!
//! The TLB only caches pointers to pages that stay put while cached: template pages (borrowed
//! for `'t`), the instance's own pages (freed only after a flush) and the zero page. Any change
//! of mappings or permissions flushes it. Forking is O(1): a new `Memory` borrows the template's
//! table and mapping list (copied only when the instance first changes its mappings) and starts
//! with an empty overlay and an empty TLB.
//!
//! Misaligned accesses are allowed and behave as the equivalent sequence of byte accesses
//! (deterministic; an access crossing into a page it may not touch faults as a whole, before any
//! byte is written). This module holds the VM's `unsafe` (raw page pointers), behind a safe API.

mod overlay;
pub mod regions;

use std::borrow::Cow;

use shardbox_alloc::{PAGE_BYTES, Page, PagePool};

pub use overlay::Frozen;
use overlay::{Overlay, Slot};
pub use regions::{Perms, Region, Regions};

/// Bytes per page, as `u64`.
const PAGE: u64 = PAGE_BYTES as u64;
const TLB_ENTRIES: usize = 16;
const NO_PAGE: u64 = u64::MAX;

#[repr(C, align(4096))]
struct ZeroPage([u8; PAGE_BYTES]);
static ZERO: ZeroPage = ZeroPage([0; PAGE_BYTES]);

/// Why a memory access failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemFault {
    /// The address is not mapped, or the mapping forbids the access.
    #[error("access fault at {addr:#x}")]
    Access {
        /// The first byte that could not be accessed.
        addr: u64,
    },
    /// The instance's page budget (or the shard's pool) has no page left for a write.
    #[error("out of pages writing {addr:#x}")]
    OutOfPages {
        /// The address written.
        addr: u64,
    },
}

#[derive(Clone, Copy)]
struct Entry {
    vpn: u64,
    /// INVARIANT: when `vpn != NO_PAGE`, points at a live page of `PAGE_BYTES` bytes: the static
    /// zero page, a template page borrowed for `'t`, or a page the overlay owns (written only
    /// through the write TLB). Cleared before any of those pages is freed or replaced.
    ptr: *mut u8,
}

const EMPTY: Entry = Entry { vpn: NO_PAGE, ptr: std::ptr::null_mut() };

/// The TLB slot of page `vpn`.
#[inline(always)]
fn tlb_slot(vpn: u64) -> usize {
    (vpn as usize) % TLB_ENTRIES
}

/// One instance's guest memory (see the module doc).
pub struct Memory<'t> {
    rtlb: [Entry; TLB_ENTRIES],
    wtlb: [Entry; TLB_ENTRIES],
    base: &'t Frozen,
    own: Overlay,
    regions: Cow<'t, Regions>,
    pool: &'t PagePool,
    pages_max: u32,
}

impl std::fmt::Debug for Memory<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("owned", &self.own.owned())
            .field("pages_max", &self.pages_max)
            .field("regions", &self.regions.len())
            .finish()
    }
}

macro_rules! access {
    ($load:ident, $store:ident, $t:ty) => {
        /// Loads a little-endian value (any alignment).
        #[inline(always)]
        pub fn $load(&mut self, addr: u64) -> Result<$t, MemFault> {
            const N: u64 = std::mem::size_of::<$t>() as u64;
            let vpn = addr >> 12;
            let off = addr & (PAGE - 1);
            if let Some(e) = self.rtlb.get(tlb_slot(vpn))
                && e.vpn == vpn
                && off <= PAGE - N
            {
                // SAFETY: the entry is valid for `vpn` (Entry INVARIANT: a live page of
                // PAGE_BYTES bytes) and `off + N <= PAGE_BYTES` was just checked.
                return Ok(unsafe {
                    e.ptr.wrapping_add(off as usize).cast::<$t>().read_unaligned()
                });
            }
            let mut bytes = [0u8; N as usize];
            self.read_slow(addr, &mut bytes)?;
            Ok(<$t>::from_le_bytes(bytes))
        }

        /// Stores a little-endian value (any alignment).
        #[inline(always)]
        pub fn $store(&mut self, addr: u64, value: $t) -> Result<(), MemFault> {
            const N: u64 = std::mem::size_of::<$t>() as u64;
            let vpn = addr >> 12;
            let off = addr & (PAGE - 1);
            if let Some(e) = self.wtlb.get(tlb_slot(vpn))
                && e.vpn == vpn
                && off <= PAGE - N
            {
                // SAFETY: write entries point at pages this overlay owns (Entry INVARIANT),
                // which nothing else references mutably, and `off + N <= PAGE_BYTES`.
                unsafe { e.ptr.wrapping_add(off as usize).cast::<$t>().write_unaligned(value) };
                return Ok(());
            }
            self.write_slow(addr, &value.to_le_bytes())
        }
    };
}

impl<'t> Memory<'t> {
    /// A view of `base` with mappings `regions`, owning nothing yet, taking pages from `pool`,
    /// at most `pages_max` of them.
    pub fn new(base: &'t Frozen, regions: &'t Regions, pool: &'t PagePool, pages_max: u32) -> Self {
        Memory {
            rtlb: [EMPTY; TLB_ENTRIES],
            wtlb: [EMPTY; TLB_ENTRIES],
            base,
            own: Overlay::default(),
            regions: Cow::Borrowed(regions),
            pool,
            pages_max,
        }
    }

    access!(load_u8, store_u8, u8);
    access!(load_u16, store_u16, u16);
    access!(load_u32, store_u32, u32);
    access!(load_u64, store_u64, u64);

    /// Pages this instance owns (fresh and copy-on-write).
    pub fn pages_owned(&self) -> u32 {
        self.own.owned()
    }

    /// The page budget.
    pub fn pages_max(&self) -> u32 {
        self.pages_max
    }

    /// Pages still available under the budget.
    pub fn pages_left(&self) -> u32 {
        self.pages_max.saturating_sub(self.own.owned())
    }

    /// The mappings.
    pub fn regions(&self) -> &Regions {
        &self.regions
    }

    fn flush(&mut self) {
        self.rtlb = [EMPTY; TLB_ENTRIES];
        self.wtlb = [EMPTY; TLB_ENTRIES];
    }

    /// A pointer to page `vpn` for reading, through the TLB.
    fn read_page(&mut self, addr: u64) -> Result<*const u8, MemFault> {
        let vpn = addr >> 12;
        if let Some(e) = self.rtlb.get(tlb_slot(vpn))
            && e.vpn == vpn
        {
            return Ok(e.ptr);
        }
        let r = self.regions.find(addr).ok_or(MemFault::Access { addr })?;
        if !r.perms.has(Perms::R) {
            return Err(MemFault::Access { addr });
        }
        let ptr: *const u8 = match self.own.get(vpn as u32) {
            Slot::Owned(p) => p.cast::<u8>(),
            Slot::Hidden => ZERO.0.as_ptr(),
            Slot::Absent => match self.base.get(vpn) {
                Some(page) => page.bytes().as_ptr(),
                None => ZERO.0.as_ptr(),
            },
        };
        if let Some(e) = self.rtlb.get_mut(tlb_slot(vpn)) {
            *e = Entry { vpn, ptr: ptr.cast_mut() };
        }
        Ok(ptr)
    }

    /// A pointer to page `vpn` for writing, taking (and counting) a page on first write.
    fn write_page(&mut self, addr: u64) -> Result<*mut u8, MemFault> {
        let vpn = addr >> 12;
        if let Some(e) = self.wtlb.get(tlb_slot(vpn))
            && e.vpn == vpn
        {
            return Ok(e.ptr);
        }
        let r = self.regions.find(addr).ok_or(MemFault::Access { addr })?;
        if !r.perms.has(Perms::W) {
            return Err(MemFault::Access { addr });
        }
        let key = vpn as u32;
        let slot = self.own.get(key);
        let ptr = match slot {
            Slot::Owned(p) => p.cast::<u8>(),
            Slot::Hidden | Slot::Absent => {
                if self.own.owned() >= self.pages_max {
                    return Err(MemFault::OutOfPages { addr });
                }
                let mut page = self.pool.take().map_err(|_| MemFault::OutOfPages { addr })?;
                if slot == Slot::Absent
                    && let Some(src) = self.base.get(vpn)
                {
                    page.bytes_mut().copy_from_slice(src.bytes());
                }
                let p = Box::into_raw(page);
                // A page absent or hidden owns nothing to give back.
                let _ = self.own.set(key, p);
                p.cast::<u8>()
            }
        };
        if let Some(e) = self.wtlb.get_mut(tlb_slot(vpn)) {
            *e = Entry { vpn, ptr };
        }
        // The read entry may point at the template's copy: point it at ours.
        if let Some(e) = self.rtlb.get_mut(tlb_slot(vpn)) {
            *e = Entry { vpn, ptr };
        }
        Ok(ptr)
    }

    /// A load the TLB missed: refills the entry and copies from the page, or takes the
    /// general path when the access crosses a page.
    #[inline(never)]
    fn read_slow(&mut self, addr: u64, out: &mut [u8]) -> Result<(), MemFault> {
        let off = addr & (PAGE - 1);
        if off.saturating_add(out.len() as u64) > PAGE {
            return self.read_bytes(addr, out);
        }
        let page = self.read_page(addr)?;
        // SAFETY: `page` is a live page (Entry INVARIANT) and `off + out.len() <= PAGE_BYTES`
        // was just checked.
        let src = unsafe { std::slice::from_raw_parts(page.wrapping_add(off as usize), out.len()) };
        out.copy_from_slice(src);
        Ok(())
    }

    /// A store the TLB missed: refills the entry (taking a page on first write) and copies, or
    /// takes the general path when the access crosses a page.
    #[inline(never)]
    fn write_slow(&mut self, addr: u64, bytes: &[u8]) -> Result<(), MemFault> {
        let off = addr & (PAGE - 1);
        if off.saturating_add(bytes.len() as u64) > PAGE {
            return self.write_bytes(addr, bytes);
        }
        let page = self.write_page(addr)?;
        // SAFETY: `page` is a page this overlay owns (write entries only), the access stays
        // inside it (checked above), and `bytes` (host memory) cannot alias guest pages.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                page.wrapping_add(off as usize),
                bytes.len(),
            )
        };
        Ok(())
    }

    /// Splits `[addr, addr + len)` into page-bounded chunks: `(address, length)`.
    fn chunks(addr: u64, len: usize) -> impl Iterator<Item = (u64, usize)> {
        let mut at = addr;
        let mut left = len;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            let room = (PAGE - (at & (PAGE - 1))) as usize;
            let n = room.min(left);
            let chunk = (at, n);
            at = at.wrapping_add(n as u64);
            left -= n;
            Some(chunk)
        })
    }

    /// Checks that every page of `[addr, addr + len)` may be accessed with `perms`.
    pub fn check(&self, addr: u64, len: u64, perms: Perms) -> Result<(), MemFault> {
        if len == 0 {
            return Ok(());
        }
        let end = addr.checked_add(len).ok_or(MemFault::Access { addr })?;
        let mut at = addr;
        while at < end {
            match self.regions.find(at) {
                Some(r) if r.perms.has(perms) => at = r.end,
                _ => return Err(MemFault::Access { addr: at }),
            }
        }
        Ok(())
    }

    /// Copies guest `[addr, addr + out.len())` into `out`.
    pub fn read_bytes(&mut self, addr: u64, out: &mut [u8]) -> Result<(), MemFault> {
        self.check(addr, out.len() as u64, Perms::R)?;
        let mut done = 0usize;
        for (at, n) in Self::chunks(addr, out.len()) {
            let src = self.read_page(at)?;
            let dst =
                out.get_mut(done..done.saturating_add(n)).ok_or(MemFault::Access { addr: at })?;
            // SAFETY: `src` is a live page (Entry INVARIANT) and the chunk stays inside it
            // (`chunks` never crosses a page boundary); `dst` has exactly `n` bytes.
            let page = unsafe {
                std::slice::from_raw_parts(src.wrapping_add((at & (PAGE - 1)) as usize), n)
            };
            dst.copy_from_slice(page);
            done = done.saturating_add(n);
        }
        Ok(())
    }

    /// Copies `bytes` to guest `[addr, addr + bytes.len())`. Checks the whole range first, so
    /// a fault writes nothing (running out of pages midway can leave a prefix written).
    pub fn write_bytes(&mut self, addr: u64, bytes: &[u8]) -> Result<(), MemFault> {
        self.check(addr, bytes.len() as u64, Perms::W)?;
        let mut done = 0usize;
        for (at, n) in Self::chunks(addr, bytes.len()) {
            let dst = self.write_page(at)?;
            let src =
                bytes.get(done..done.saturating_add(n)).ok_or(MemFault::Access { addr: at })?;
            // SAFETY: `dst` is a page this overlay owns (write entries only), the chunk stays
            // inside it, and `src` (host memory) cannot alias guest pages.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    src.as_ptr(),
                    dst.wrapping_add((at & (PAGE - 1)) as usize),
                    n,
                )
            };
            done = done.saturating_add(n);
        }
        Ok(())
    }

    /// Fills `[addr, addr + len)` with `byte`.
    pub fn fill(&mut self, addr: u64, byte: u8, len: u64) -> Result<(), MemFault> {
        self.check(addr, len, Perms::W)?;
        let len = usize::try_from(len).map_err(|_| MemFault::Access { addr })?;
        for (at, n) in Self::chunks(addr, len) {
            let dst = self.write_page(at)?;
            // SAFETY: as in `write_bytes`: an owned page, the chunk inside it.
            unsafe { std::ptr::write_bytes(dst.wrapping_add((at & (PAGE - 1)) as usize), byte, n) };
        }
        Ok(())
    }

    /// `memmove` inside guest memory: copies `len` bytes from `src` to `dst`, overlapping or not.
    pub fn copy_within(&mut self, dst: u64, src: u64, len: u64) -> Result<(), MemFault> {
        self.check(src, len, Perms::R)?;
        self.check(dst, len, Perms::W)?;
        let backwards = dst > src && dst < src.saturating_add(len);
        let mut left = len;
        while left > 0 {
            // The next chunk: from the front, or from the back when copying backwards.
            let (s, d, n) = if backwards {
                let s_end = src.wrapping_add(left);
                let d_end = dst.wrapping_add(left);
                let room_s = ((s_end - 1) & (PAGE - 1)) + 1;
                let room_d = ((d_end - 1) & (PAGE - 1)) + 1;
                let n = room_s.min(room_d).min(left);
                (s_end - n, d_end - n, n)
            } else {
                let done = len - left;
                let (s, d) = (src.wrapping_add(done), dst.wrapping_add(done));
                let n = (PAGE - (s & (PAGE - 1))).min(PAGE - (d & (PAGE - 1))).min(left);
                (s, d, n)
            };
            // Write pointer first: a copy-on-write of the source page must be seen by the read.
            let dp = self.write_page(d)?;
            let sp = self.read_page(s)?;
            // SAFETY: both pointers are live pages (Entry INVARIANT), each chunk stays inside
            // its page, and `ptr::copy` allows the two ranges to overlap (same page).
            unsafe {
                std::ptr::copy(
                    sp.wrapping_add((s & (PAGE - 1)) as usize),
                    dp.wrapping_add((d & (PAGE - 1)) as usize),
                    n as usize,
                )
            };
            left -= n;
        }
        Ok(())
    }

    /// Compares `len` bytes at `a` and `b` like C `memcmp` (sign of the first difference).
    pub fn compare(&mut self, a: u64, b: u64, len: u64) -> Result<i32, MemFault> {
        self.check(a, len, Perms::R)?;
        self.check(b, len, Perms::R)?;
        let mut done = 0u64;
        let (mut x, mut y) = ([0u8; 256], [0u8; 256]);
        while done < len {
            let n = (len - done).min(256) as usize;
            let (xs, ys) = (x.get_mut(..n).unwrap_or_default(), y.get_mut(..n).unwrap_or_default());
            self.read_bytes(a.wrapping_add(done), xs)?;
            self.read_bytes(b.wrapping_add(done), ys)?;
            if let Some((p, q)) = xs.iter().zip(ys.iter()).find(|(p, q)| p != q) {
                return Ok(i32::from(*p) - i32::from(*q));
            }
            done += n as u64;
        }
        Ok(0)
    }

    /// Length of the NUL-terminated string at `addr`, scanning at most `max` bytes: `None` when
    /// no NUL comes first.
    pub fn strlen(&mut self, addr: u64, max: u64) -> Result<Option<u64>, MemFault> {
        let mut at = addr;
        let mut n = 0u64;
        while n < max {
            let r = self.regions.find(at).ok_or(MemFault::Access { addr: at })?;
            if !r.perms.has(Perms::R) {
                return Err(MemFault::Access { addr: at });
            }
            let page = self.read_page(at)?;
            let off = (at & (PAGE - 1)) as usize;
            let room = (PAGE as usize - off).min(usize::try_from(max - n).unwrap_or(usize::MAX));
            // SAFETY: a live page (Entry INVARIANT); `off + room <= PAGE_BYTES`.
            let bytes = unsafe { std::slice::from_raw_parts(page.wrapping_add(off), room) };
            if let Some(i) = bytes.iter().position(|&b| b == 0) {
                return Ok(Some(n + i as u64));
            }
            n += room as u64;
            at = at.wrapping_add(room as u64);
        }
        Ok(None)
    }

    fn regions_mut(&mut self) -> &mut Regions {
        self.regions.to_mut()
    }

    /// Maps `[start, end)` (page aligned) with `perms`, replacing whatever was there with zeros
    /// (Linux `mmap(MAP_FIXED | MAP_ANONYMOUS)`). The caller bounds the region count.
    pub fn map(&mut self, start: u64, end: u64, perms: Perms) {
        self.flush();
        self.drop_pages(start, end, true);
        let regions = self.regions_mut();
        regions.carve(start, end);
        regions.insert(Region { start, end, perms });
        regions.coalesce();
    }

    /// Unmaps `[start, end)` (page aligned), freeing the pages the instance owned there.
    pub fn unmap(&mut self, start: u64, end: u64) {
        self.flush();
        self.drop_pages(start, end, false);
        self.regions_mut().carve(start, end);
    }

    /// Changes the permissions of the mapped parts of `[start, end)`.
    pub fn protect(&mut self, start: u64, end: u64, perms: Perms) {
        self.flush();
        let regions = self.regions_mut();
        regions.protect(start, end, perms);
        regions.coalesce();
    }

    /// Frees own pages in `[start, end)`; with `hide`, template pages there become zeros.
    fn drop_pages(&mut self, start: u64, end: u64, hide: bool) {
        let (lo, hi) = (start / PAGE, end.div_ceil(PAGE));
        for p in self.own.remove_range(lo, hi) {
            // SAFETY: the overlay owned `p` (from `Box::into_raw`) and just gave it up; the TLB
            // was flushed by the caller, so no entry points at it.
            let page = unsafe { Box::from_raw(p) };
            self.pool.put(page);
        }
        if hide {
            for vpn in self.base.vpns_in(lo, hi) {
                let _ = self.own.set(vpn as u32, std::ptr::null_mut());
            }
        }
    }

    /// Ends this view and returns its state as a template's: every page visible (own pages, and
    /// template pages not hidden) in a new table, plus the mappings. Own pages are disowned from
    /// the pool (the template keeps them for good); template pages are copied.
    pub fn freeze(mut self) -> (Frozen, Regions) {
        self.flush();
        let mut frozen = Frozen::default();
        let mut own = std::mem::take(&mut self.own);
        let mut hidden = Vec::new();
        for (vpn, p) in own.entries() {
            if p.is_null() {
                hidden.push(vpn);
            }
        }
        for (vpn, p) in own.drain() {
            // SAFETY: the overlay owned `p` and `drain` gave it up; the TLB is flushed.
            let page = unsafe { Box::from_raw(p) };
            frozen.insert(vpn, self.pool.disown(page));
        }
        for vpn in self.base.vpns_in(0, u64::MAX) {
            let key = vpn as u32;
            if frozen.get(vpn).is_none()
                && !hidden.contains(&key)
                && let Some(src) = self.base.get(vpn)
            {
                let mut copy = Page::new_zeroed();
                copy.bytes_mut().copy_from_slice(src.bytes());
                frozen.insert(key, copy);
            }
        }
        let regions = std::mem::take(self.regions.to_mut());
        (frozen, regions)
    }
}

impl Drop for Memory<'_> {
    fn drop(&mut self) {
        // No flush: the TLB is dropped with `self` and nothing can read it after this point
        // (saves clearing 512 bytes on every fork's drop).
        self.own.release(self.pool);
    }
}

#[cfg(test)]
mod tests;
