//! The provided-buffer ring: receive buffers the kernel picks from when data arrives.
//!
//! A [`BufRing`] is `count` buffers of `size` bytes each, in one page-aligned mapping, plus the
//! ring of `io_uring_buf` entries through which we hand them to the kernel
//! (`IORING_REGISTER_PBUF_RING`). A multishot recv takes a buffer only when bytes arrive, so
//! ten thousand idle connections hold no receive memory at all.
//!
//! Every buffer is in exactly one of two states, tracked in `lent`:
//!
//! ```text
//!   in the kernel ──(recv CQE names its id: `lend`)──► lent to us as a ProvidedBuf
//!        ▲                                                      │
//!        └──────────────────(`recycle(ProvidedBuf)`)────────────┘
//! ```
//!
//! A [`ProvidedBuf`] is a move-only token: the only way to give a buffer back is to hand the
//! token to [`BufRing::recycle`], so a buffer cannot return twice; `lend` and `recycle` both
//! assert the state they expect (a pair of assertions across the kernel boundary), and
//! [`BufRing::check_invariants`] recounts. The ring does not copy or parse data; the connection
//! code reads [`BufRing::bytes`] and recycles the token in the same loop iteration.

use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::IoUring;
use io_uring::types::BufRingEntry;

use crate::sys::AnonMap;

/// Size of one `io_uring_buf` ring entry.
const ENTRY_BYTES: usize = 16;
const _: () = assert!(std::mem::size_of::<BufRingEntry>() == ENTRY_BYTES);

/// A receive buffer lent to user space by a recv completion. Move-only: recycle it exactly once.
#[derive(Debug)]
#[must_use = "a provided buffer must be recycled, or the ring runs dry"]
pub struct ProvidedBuf {
    bid: u16,
    len: u32,
}

impl ProvidedBuf {
    /// Number of bytes the kernel wrote into the buffer.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the kernel wrote nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer id within its group.
    pub fn id(&self) -> u16 {
        self.bid
    }
}

/// Why a buffer ring could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BufRingError {
    /// The count is zero, not a power of two, or above the kernel's 32768.
    #[error("buffer count {count} must be a power of two in 1..=32768")]
    Count {
        /// The rejected count.
        count: u32,
    },
    /// The buffer size is zero or the total does not fit in memory.
    #[error("buffer size {size} bytes x {count} buffers is not a valid allocation")]
    Size {
        /// The rejected size.
        size: u32,
        /// The count.
        count: u32,
    },
    /// mmap failed.
    #[error("mapping the buffer ring: {0}")]
    Map(#[source] io::Error),
    /// `IORING_REGISTER_PBUF_RING` failed.
    #[error("registering the buffer ring: {0}")]
    Register(#[source] io::Error),
}

/// A registered ring of provided receive buffers (one buffer group).
#[derive(Debug)]
pub struct BufRing {
    /// `count` entries of 16 bytes; the kernel reads entries between its head and our tail, and
    /// the tail itself lives in the last two bytes of entry 0.
    entries: AnonMap,
    /// `count * size` bytes of buffer memory; buffer `bid` is `[bid * size, (bid + 1) * size)`.
    data: AnonMap,
    count: u16,
    size: u32,
    group: u16,
    /// Our next tail value (wrapping u16, as the kernel's).
    tail: u16,
    /// `lent[bid]`: the buffer is with user space (true) or with the kernel (false).
    lent: Vec<bool>,
    lent_count: u32,
}

impl BufRing {
    /// Maps `count` buffers of `size` bytes for buffer group `group`. Not yet registered: see
    /// `BufRing::register`.
    pub fn new(count: u32, size: u32, group: u16) -> Result<BufRing, BufRingError> {
        if count == 0 || !count.is_power_of_two() || count > 32_768 {
            return Err(BufRingError::Count { count });
        }
        let count16 = u16::try_from(count).map_err(|_| BufRingError::Count { count })?;
        let data_bytes = (count as usize)
            .checked_mul(size as usize)
            .filter(|&bytes| bytes > 0)
            .ok_or(BufRingError::Size { size, count })?;
        let entries = AnonMap::new(count as usize * ENTRY_BYTES).map_err(BufRingError::Map)?;
        let data = AnonMap::new(data_bytes).map_err(BufRingError::Map)?;
        let mut ring = BufRing {
            entries,
            data,
            count: count16,
            size,
            group,
            tail: 0,
            lent: vec![true; count as usize],
            lent_count: count,
        };
        // Hand every buffer to the kernel: each starts out "lent" to us and is recycled once.
        for bid in 0..count16 {
            ring.recycle(ProvidedBuf { bid, len: 0 });
        }
        Ok(ring)
    }

    /// Registers the ring with `uring` as buffer group `self.group()`.
    ///
    /// The caller (`Ring`) keeps `self` alive until the io_uring instance is dropped and quiet:
    /// `Ring` declares its `uring` field before its `bufs` field and waits for every op before
    /// dropping either.
    pub(super) fn register(&self, uring: &IoUring) -> Result<(), BufRingError> {
        let addr = self.entries.as_ptr() as u64;
        // SAFETY: `entries` is a live, page-aligned mapping of `count` entries, and it stays
        // mapped until `self` drops, which `Ring` orders after the io_uring instance is dropped
        // (see `Ring`'s field order and its Drop impl).
        unsafe { uring.submitter().register_buf_ring_with_flags(addr, self.count, self.group, 0) }
            .map_err(BufRingError::Register)
    }

    /// The buffer group id recv operations name.
    pub fn group(&self) -> u16 {
        self.group
    }

    /// Bytes per buffer.
    pub fn buffer_bytes(&self) -> usize {
        self.size as usize
    }

    /// Number of buffers in the ring.
    pub fn count(&self) -> u32 {
        u32::from(self.count)
    }

    /// Number of buffers lent to user space right now.
    pub fn lent(&self) -> u32 {
        self.lent_count
    }

    /// Records that a completion handed buffer `bid` to us with `len` bytes in it.
    ///
    /// Panics if the kernel named a buffer it does not have: that would mean two owners.
    pub(super) fn lend(&mut self, bid: u16, len: u32) -> ProvidedBuf {
        let state = self.lent.get_mut(usize::from(bid));
        assert!(state.is_some(), "kernel returned buffer id {bid} outside the ring");
        if let Some(state) = state {
            assert!(!*state, "kernel returned buffer {bid} that is already lent to user space");
            *state = true;
        }
        self.lent_count += 1;
        assert!(len <= self.size, "kernel wrote {len} bytes into a {} byte buffer", self.size);
        ProvidedBuf { bid, len }
    }

    /// The bytes a completion delivered in `buf`.
    pub fn bytes(&self, buf: &ProvidedBuf) -> &[u8] {
        let offset = usize::from(buf.bid) * self.size as usize;
        let len = buf.len().min(self.size as usize);
        assert!(self.lent.get(usize::from(buf.bid)).copied().unwrap_or(false));
        // SAFETY: `bid < count` (checked by `lend`, the only constructor outside `new`), so
        // `offset` is inside the `data` mapping.
        let start = unsafe { self.data.as_ptr().add(offset) };
        // SAFETY: `[start, start + len)` lies inside `data` (len <= size). The buffer is lent to
        // user space (asserted above): the kernel does not write it until `recycle` returns it,
        // and `recycle` needs the token by value, which this shared borrow of it prevents.
        unsafe { std::slice::from_raw_parts(start, len) }
    }

    /// Gives a buffer back to the kernel.
    pub fn recycle(&mut self, buf: ProvidedBuf) {
        let bid = buf.bid;
        let state = self.lent.get_mut(usize::from(bid));
        assert!(state.is_some(), "recycling buffer id {bid} outside the ring");
        if let Some(state) = state {
            assert!(*state, "recycling buffer {bid} that the kernel already has");
            *state = false;
        }
        self.lent_count -= 1;
        let index = usize::from(self.tail & (self.count - 1));
        let addr = self.data.as_ptr() as u64 + u64::from(bid) * u64::from(self.size);
        let base = self.entries.as_ptr().cast::<BufRingEntry>();
        // SAFETY: `index < count`, so the entry lies inside the `entries` mapping.
        let entry = unsafe { base.add(index) };
        // SAFETY: the entry is in our live mapping and 16-byte aligned. The kernel only reads
        // entries in [head, tail); this one is at our tail, so the kernel is not reading it.
        // Only the addr/len/bid fields are written, never the tail that shares entry 0's last
        // two bytes.
        let entry = unsafe { &mut *entry };
        entry.set_addr(addr);
        entry.set_len(self.size);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: `base` points to entry 0 of our live mapping, which is what `tail` expects.
        let tail = unsafe { BufRingEntry::tail(base) };
        // SAFETY: the tail field is inside entry 0 of our live mapping and 2-byte aligned
        // (entries are 16-byte aligned and the field sits at offset 14), so viewing it as an
        // AtomicU16 is valid; the kernel only reads it. The release store publishes the entry
        // written above before the kernel can see the new tail.
        let tail = unsafe { &*tail.cast::<AtomicU16>() };
        tail.store(self.tail, Ordering::Release);
    }

    /// Recounts the lent buffers and checks the count the ring keeps.
    pub fn check_invariants(&self) {
        let lent = self.lent.iter().filter(|&&lent| lent).count();
        assert_eq!(lent, self.lent_count as usize, "lent buffer count drifted");
        assert!(self.lent_count <= u32::from(self.count));
        assert_eq!(self.lent.len(), usize::from(self.count));
    }
}

#[cfg(test)]
impl ProvidedBuf {
    /// A token for a buffer the kernel was never asked about: only tests build one, to check
    /// that a double return is caught.
    pub(crate) fn forged_for_test(bid: u16) -> ProvidedBuf {
        ProvidedBuf { bid, len: 0 }
    }
}
