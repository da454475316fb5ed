//! The guest's mappings: page-aligned address ranges with permissions.
//!
//! [`Regions`] is a sorted list of non-overlapping [`Region`]s. [`Regions::carve`] removes a
//! range (splitting regions it cuts), which `mmap(MAP_FIXED)`, `munmap` and `mprotect` build on.
//! Adjacent regions with equal permissions are not merged: the count stays bounded by
//! [`MAPPINGS_MAX`](crate::limits::MAPPINGS_MAX), checked by the caller before inserting.
//! Pure data, no pages: the memory module decides what backs each page.

/// Permission bits of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Perms(u8);

impl Perms {
    /// No access.
    pub const NONE: Perms = Perms(0);
    /// Readable.
    pub const R: Perms = Perms(1);
    /// Writable.
    pub const W: Perms = Perms(2);
    /// Executable.
    pub const X: Perms = Perms(4);
    /// Readable and writable.
    pub const RW: Perms = Perms(3);
    /// Readable and executable.
    pub const RX: Perms = Perms(5);

    /// Whether every bit of `other` is set.
    pub const fn has(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    /// Union.
    pub const fn with(self, other: Perms) -> Perms {
        Perms(self.0 | other.0)
    }

    /// From Linux `PROT_*` bits (READ 1, WRITE 2, EXEC 4).
    pub const fn from_prot(prot: u64) -> Perms {
        Perms((prot & 7) as u8)
    }
}

/// One mapping: `[start, end)`, page aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Access rights.
    pub perms: Perms,
}

/// A sorted list of non-overlapping regions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regions {
    list: Vec<Region>,
}

impl Regions {
    /// An empty address space.
    pub const fn new() -> Regions {
        Regions { list: Vec::new() }
    }

    /// The regions, sorted by address.
    pub fn list(&self) -> &[Region] {
        &self.list
    }

    /// The region containing `addr`.
    pub fn find(&self, addr: u64) -> Option<Region> {
        find_in(&self.list, addr)
    }

    /// Whether any part of `[start, end)` is mapped.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.list.iter().any(|r| r.start < end && start < r.end)
    }

    /// Whether all of `[start, end)` is mapped.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        while at < end {
            match self.find(at) {
                Some(r) => at = r.end,
                None => return false,
            }
        }
        true
    }

    /// Removes `[start, end)` from every region, splitting those it cuts.
    pub fn carve(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let mut out = Vec::with_capacity(self.list.len().saturating_add(1));
        for r in &self.list {
            if r.end <= start || end <= r.start {
                out.push(*r);
                continue;
            }
            if r.start < start {
                out.push(Region { start: r.start, end: start, perms: r.perms });
            }
            if end < r.end {
                out.push(Region { start: end, end: r.end, perms: r.perms });
            }
        }
        self.list = out;
    }

    /// Inserts a region that overlaps none (carve first).
    pub fn insert(&mut self, region: Region) {
        if region.start >= region.end {
            return;
        }
        let at = self.list.partition_point(|r| r.start < region.start);
        self.list.insert(at, region);
    }

    /// Merges neighbours that touch and have equal permissions.
    pub fn coalesce(&mut self) {
        let mut out: Vec<Region> = Vec::with_capacity(self.list.len());
        for r in &self.list {
            match out.last_mut() {
                Some(last) if last.end == r.start && last.perms == r.perms => last.end = r.end,
                _ => out.push(*r),
            }
        }
        self.list = out;
    }

    /// Gives every mapped part of `[start, end)` the permissions `perms`.
    pub fn protect(&mut self, start: u64, end: u64, perms: Perms) {
        let inside: Vec<Region> = self
            .list
            .iter()
            .filter(|r| r.start < end && start < r.end)
            .map(|r| Region { start: r.start.max(start), end: r.end.min(end), perms })
            .collect();
        self.carve(start, end);
        for r in inside {
            self.insert(r);
        }
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The region of a sorted list containing `addr`.
pub fn find_in(list: &[Region], addr: u64) -> Option<Region> {
    let at = list.partition_point(|r| r.start <= addr);
    let r = *list.get(at.checked_sub(1)?)?;
    (addr < r.end).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64, perms: Perms) -> Region {
        Region { start, end, perms }
    }

    #[test]
    fn carve_splits_and_protect_changes_only_mapped_parts() {
        let mut rs = Regions::new();
        rs.insert(r(0x1000, 0x5000, Perms::RW));
        rs.insert(r(0x8000, 0x9000, Perms::R));
        rs.carve(0x2000, 0x3000);
        assert_eq!(
            rs.list(),
            &[
                r(0x1000, 0x2000, Perms::RW),
                r(0x3000, 0x5000, Perms::RW),
                r(0x8000, 0x9000, Perms::R)
            ]
        );
        assert_eq!(rs.find(0x2000), None);
        assert_eq!(rs.find(0x4fff).map(|x| x.start), Some(0x3000));
        assert_eq!(rs.find(0x5000), None);
        rs.protect(0x4000, 0x8800, Perms::R);
        assert_eq!(rs.find(0x4000).map(|x| x.perms), Some(Perms::R));
        assert_eq!(rs.find(0x3000).map(|x| x.perms), Some(Perms::RW));
        assert_eq!(rs.find(0x6000), None, "protect maps nothing new");
        assert!(rs.covers(0x3000, 0x5000));
        assert!(!rs.covers(0x1000, 0x5000));
        assert!(rs.overlaps(0x0, 0x1001));
        assert!(!rs.overlaps(0x5000, 0x8000));
    }
}
