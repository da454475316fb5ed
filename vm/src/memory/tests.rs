//! Unit tests of guest memory (run under miri too: `cargo miri test -p shardbox-vm memory`).

use super::*;

fn rw(start: u64, end: u64) -> Regions {
    let mut r = Regions::new();
    r.insert(Region { start, end, perms: Perms::RW });
    r
}

#[test]
fn unmapped_reads_trap_and_mapped_untouched_reads_are_zero() {
    let pool = PagePool::new(8);
    let regions = rw(0x1000, 0x3000);
    let mut m = Memory::new(Frozen::empty(), &regions, &pool, 4);
    assert_eq!(m.load_u64(0x1000), Ok(0));
    assert_eq!(m.pages_owned(), 0, "reads take no page");
    assert_eq!(m.load_u8(0x3000), Err(MemFault::Access { addr: 0x3000 }));
    assert_eq!(m.load_u32(0xfff), Err(MemFault::Access { addr: 0xfff }));
    assert_eq!(m.store_u8(0x0, 1), Err(MemFault::Access { addr: 0 }));
    // A store straddling the end of the mapping writes nothing.
    assert_eq!(m.store_u32(0x2ffe, 0xdead_beef), Err(MemFault::Access { addr: 0x3000 }));
    assert_eq!(m.load_u16(0x2ffe), Ok(0));
}

#[test]
fn misaligned_and_page_crossing_accesses() {
    let pool = PagePool::new(8);
    let regions = rw(0x1000, 0x3000);
    let mut m = Memory::new(Frozen::empty(), &regions, &pool, 4);
    m.store_u64(0x1ffd, 0x0807_0605_0403_0201).unwrap();
    assert_eq!(m.load_u64(0x1ffd), Ok(0x0807_0605_0403_0201));
    assert_eq!(m.load_u8(0x2000), Ok(4));
    assert_eq!(m.load_u32(0x1fff), Ok(0x0605_0403));
    assert_eq!(m.pages_owned(), 2);
}

#[test]
fn page_budget_at_max_minus_one_max_and_max_plus_one() {
    let pool = PagePool::new(16);
    let regions = rw(0, 0x10000);
    let max = 3u32;
    let mut m = Memory::new(Frozen::empty(), &regions, &pool, max);
    for i in 0..u64::from(max - 1) {
        m.store_u8(i * 4096, 1).unwrap();
    }
    assert_eq!(m.pages_left(), 1);
    m.store_u8(u64::from(max - 1) * 4096, 1).expect("the max-th page");
    assert_eq!(m.pages_owned(), max);
    let addr = u64::from(max) * 4096;
    assert_eq!(m.store_u8(addr, 1), Err(MemFault::OutOfPages { addr }));
    // Writing pages already owned still works.
    m.store_u8(5, 9).unwrap();
    drop(m);
    assert_eq!(pool.lent(), 0, "dropping returns every page");
    pool.check_invariants();
}

#[test]
fn pool_exhaustion_is_out_of_pages() {
    let pool = PagePool::new(1);
    let regions = rw(0, 0x10000);
    let mut m = Memory::new(Frozen::empty(), &regions, &pool, 100);
    m.store_u8(0, 1).unwrap();
    assert_eq!(m.store_u8(0x1000, 1), Err(MemFault::OutOfPages { addr: 0x1000 }));
}

fn template_with(pool: &PagePool, regions: &Regions, byte: u8) -> (Frozen, Regions) {
    let mut m = Memory::new(Frozen::empty(), regions, pool, 16);
    m.fill(0x1000, byte, 0x2000).unwrap();
    m.freeze()
}

#[test]
fn copy_on_write_is_isolated_between_forks_and_the_template() {
    let pool = PagePool::new(16);
    let regions = rw(0x1000, 0x3000);
    let (frozen, regions) = template_with(&pool, &regions, 7);
    assert_eq!(frozen.pages(), 2);
    assert_eq!(pool.lent(), 0, "frozen pages are disowned");
    let mut a = Memory::new(&frozen, &regions, &pool, 4);
    let mut b = Memory::new(&frozen, &regions, &pool, 4);
    assert_eq!(a.load_u8(0x1800), Ok(7));
    a.store_u8(0x1800, 1).unwrap();
    assert_eq!(a.load_u8(0x1800), Ok(1), "the read TLB sees the copy");
    assert_eq!(a.load_u8(0x1801), Ok(7), "the copy kept the template's bytes");
    assert_eq!(b.load_u8(0x1800), Ok(7), "a sibling does not see it");
    assert_eq!(frozen.get(1).map(|p| p.bytes()[0x800]), Some(7), "nor does the template");
    assert_eq!((a.pages_owned(), b.pages_owned()), (1, 0));
    drop(a);
    drop(b);
    assert_eq!(pool.lent(), 0);
    pool.check_invariants();
}

#[test]
fn cow_counts_against_the_budget() {
    let pool = PagePool::new(16);
    let regions = rw(0x1000, 0x3000);
    let (frozen, regions) = template_with(&pool, &regions, 7);
    let mut m = Memory::new(&frozen, &regions, &pool, 1);
    m.store_u8(0x1000, 1).unwrap();
    assert_eq!(m.store_u8(0x2000, 1), Err(MemFault::OutOfPages { addr: 0x2000 }));
    assert_eq!(m.load_u8(0x2000), Ok(7));
}

#[test]
fn fresh_mapping_over_template_pages_reads_zero() {
    let pool = PagePool::new(16);
    let regions = rw(0x1000, 0x3000);
    let (frozen, regions) = template_with(&pool, &regions, 7);
    let mut m = Memory::new(&frozen, &regions, &pool, 4);
    m.store_u8(0x1000, 1).unwrap();
    m.map(0x1000, 0x3000, Perms::RW);
    assert_eq!(m.load_u8(0x1000), Ok(0));
    assert_eq!(m.load_u8(0x2000), Ok(0));
    assert_eq!(m.pages_owned(), 0);
    m.store_u8(0x2000, 3).unwrap();
    assert_eq!(m.load_u8(0x2000), Ok(3));
    m.unmap(0x2000, 0x3000);
    assert_eq!(m.load_u8(0x2000), Err(MemFault::Access { addr: 0x2000 }));
    m.protect(0x1000, 0x2000, Perms::R);
    assert_eq!(m.store_u8(0x1000, 1), Err(MemFault::Access { addr: 0x1000 }));
    assert_eq!(
        regions.find(0x2000).map(|r| r.perms),
        Some(Perms::RW),
        "template mappings unchanged"
    );
}

#[test]
fn bulk_operations() {
    let pool = PagePool::new(16);
    let regions = rw(0x1000, 0x5000);
    let mut m = Memory::new(Frozen::empty(), &regions, &pool, 8);
    let data: Vec<u8> = (0..6000u32).map(|i| (i % 251) as u8).collect();
    m.write_bytes(0x1100, &data).unwrap();
    let mut back = vec![0; 6000];
    m.read_bytes(0x1100, &mut back).unwrap();
    assert_eq!(back, data);
    // Overlapping moves both ways, across pages.
    m.copy_within(0x1100 + 100, 0x1100, 5000).unwrap();
    m.read_bytes(0x1100 + 100, &mut back[..5000]).unwrap();
    assert_eq!(&back[..5000], &data[..5000]);
    m.write_bytes(0x1100, &data).unwrap();
    m.copy_within(0x1100, 0x1100 + 100, 5000).unwrap();
    m.read_bytes(0x1100, &mut back[..5000]).unwrap();
    assert_eq!(&back[..5000], &data[100..5100]);
    m.fill(0x1f00, 1, 0xf0).unwrap();
    m.fill(0x1ff0, 0, 1).unwrap();
    assert_eq!(m.strlen(0x1f00, 4096), Ok(Some(0xf0)));
    assert_eq!(m.strlen(0x1f00, 10), Ok(None));
    assert_eq!(m.compare(0x1100, 0x1100, 3000), Ok(0));
    m.store_u8(0x2000, 200).unwrap();
    m.store_u8(0x3000, 100).unwrap();
    assert_eq!(m.compare(0x2000, 0x3000, 10), Ok(100));
    assert_eq!(m.compare(0x3000, 0x2000, 10), Ok(-100));
    assert_eq!(m.read_bytes(0x4fff, &mut [0; 2]), Err(MemFault::Access { addr: 0x5000 }));
    m.fill(0x4ff0, 1, 16).unwrap();
    assert_eq!(m.strlen(0x4ff0, 100), Err(MemFault::Access { addr: 0x5000 }));
}
