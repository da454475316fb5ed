//! The shardbox host calls 500..=513: libc string/memory functions done natively, and a
//! host-side allocator whose metadata lives in guest memory.
//!
//! `memcpy`/`memset`/`memmove`/`memcmp`/`strlen` (500..=504) run over guest memory with the
//! same bounds and permission checks as loads and stores; a bad pointer traps exactly as the
//! guest's own loop would (load or store fault at the first bad byte), and every byte moved or
//! scanned costs fuel (`HOSTCALL_BYTES_PER_FUEL` bytes per instruction of fuel, plus a fixed
//! `HOSTCALL_FUEL`). `memcpy` with overlapping ranges behaves as `memmove`.
//!
//! `malloc`/`free`/`calloc`/`realloc` (510..=513) manage the host heap region of the layout.
//! All allocator state is in guest memory, so a fork inherits the template's heap by
//! copy-on-write and nothing on the host side needs copying:
//!
//! ```text
//! heap_start: magic u64 | top u64 | free-list heads [u64; 85] | pad → first block (16-aligned)
//! block:      header { tag u64 = MAGIC | state | class, len u64 } | payload (class size)
//! ```
//!
//! Sizes round up to a class: multiples of 16 up to 1 KiB (64 classes), then powers of two up
//! to 2 GiB. Freed blocks go on their class's list (the link is the payload's first word) and
//! are reused first; otherwise blocks are cut from `top`. Payloads are 16-byte aligned. A
//! `malloc` the page budget cannot cover returns 0 (null), as does one beyond the region.
//! Freeing a pointer the allocator did not hand out, or freeing twice, traps with
//! [`TrapKind::BadFree`]: the header is checked first.

use crate::exec::TrapKind;
use crate::instance::{Instance, Outcome, Step};
use crate::limits::{HEAP_ALLOC_BYTES_MAX, HOSTCALL_FUEL, PAGE_BYTES};
use crate::linux::charge_bytes;
use crate::memory::{MemFault, Perms};

const MAGIC: u64 = 0x5342_4845_4150_3031; // "SBHEAP01"
const TAG_ALLOC: u64 = 0x5342_4100_0000_0000;
const TAG_FREE: u64 = 0x5342_4600_0000_0000;
const TAG_MASK: u64 = 0xffff_ff00_0000_0000;
const SMALL_CLASSES: u64 = 64;
const CLASSES: u64 = SMALL_CLASSES + 21;
const HEADER: u64 = 16;
/// Bytes of allocator metadata at the start of the region (16-aligned).
const META: u64 = (16 + CLASSES * 8 + 15) & !15;

fn class_of(size: u64) -> Option<u64> {
    let size = size.max(1);
    if size <= SMALL_CLASSES * 16 {
        return Some(size.div_ceil(16) - 1);
    }
    if size > HEAP_ALLOC_BYTES_MAX {
        return None;
    }
    let pow = 64 - (size - 1).leading_zeros() as u64; // ceil(log2(size)), ≥ 11
    Some(SMALL_CLASSES + pow - 11)
}

fn class_size(class: u64) -> u64 {
    if class < SMALL_CLASSES { (class + 1) * 16 } else { 1 << (class - SMALL_CLASSES + 11) }
}

/// Why a heap operation stopped the guest.
enum Stop {
    Fault(MemFault, bool),
    BadFree(u64),
    Fuel,
}

impl From<MemFault> for Stop {
    fn from(f: MemFault) -> Self {
        Stop::Fault(f, true)
    }
}

/// Serves host call `nr` (500..=513).
pub(crate) fn serve(vm: &mut Instance<'_>, nr: u64, fuel: &mut u64) -> Step {
    let pc = vm.cpu.pc;
    if *fuel < HOSTCALL_FUEL {
        return Step::Done(Outcome::OutOfFuel { pc });
    }
    *fuel -= HOSTCALL_FUEL;
    let (a0, a1, a2) = (vm.arg(0), vm.arg(1), vm.arg(2));
    let result = match nr {
        500 | 502 => bytes(fuel, a2)
            .and_then(|()| vm.mem.check(a1, a2, Perms::R).map_err(|f| Stop::Fault(f, false)))
            .and_then(|()| vm.mem.copy_within(a0, a1, a2).map_err(rw))
            .map(|()| a0),
        501 => bytes(fuel, a2)
            .and_then(|()| vm.mem.fill(a0, a1 as u8, a2).map_err(Stop::from))
            .map(|()| a0),
        503 => bytes(fuel, a2.saturating_mul(2))
            .and_then(|()| vm.mem.compare(a0, a1, a2).map_err(|f| Stop::Fault(f, false)))
            .map(|c| c as i64 as u64),
        504 => strlen(vm, fuel, a0),
        510 => malloc(vm, a0),
        511 => free(vm, a0).map(|()| 0),
        512 => calloc(vm, fuel, a0, a1),
        513 => realloc(vm, fuel, a0, a1),
        _ => return vm.ret(crate::linux::errno(crate::linux::ENOSYS)),
    };
    match result {
        Ok(v) => vm.ret(v),
        Err(Stop::Fuel) => Step::Done(Outcome::OutOfFuel { pc }),
        Err(Stop::BadFree(addr)) => Step::Done(Outcome::Trap { kind: TrapKind::BadFree(addr), pc }),
        Err(Stop::Fault(MemFault::OutOfPages { .. }, _)) => Step::Done(Outcome::OutOfMemory { pc }),
        Err(Stop::Fault(MemFault::Access { addr }, write)) => {
            let kind = if write { TrapKind::StoreFault(addr) } else { TrapKind::LoadFault(addr) };
            Step::Done(Outcome::Trap { kind, pc })
        }
    }
}

/// A copy's fault once the source was checked readable: the destination's.
fn rw(f: MemFault) -> Stop {
    Stop::Fault(f, true)
}

fn bytes(fuel: &mut u64, n: u64) -> Result<(), Stop> {
    if charge_bytes(fuel, n) { Ok(()) } else { Err(Stop::Fuel) }
}

fn strlen(vm: &mut Instance<'_>, fuel: &mut u64, s: u64) -> Result<u64, Stop> {
    // Scan at most what the fuel pays for: running out mid-string is out of fuel.
    let max = fuel.saturating_mul(crate::limits::HOSTCALL_BYTES_PER_FUEL);
    match vm.mem.strlen(s, max).map_err(|f| Stop::Fault(f, false))? {
        Some(n) => bytes(fuel, n.saturating_add(1)).map(|()| n),
        None => Err(Stop::Fuel),
    }
}

struct Heap {
    start: u64,
    end: u64,
}

impl Heap {
    fn of(vm: &Instance<'_>) -> Heap {
        Heap { start: vm.os.layout.heap_start, end: vm.os.layout.heap_end }
    }

    fn head(&self, class: u64) -> u64 {
        self.start + 16 + class * 8
    }

    /// Initialises the metadata on first use; returns `top`.
    fn top(&self, vm: &mut Instance<'_>) -> Result<u64, Stop> {
        if vm.mem.load_u64(self.start)? != MAGIC {
            vm.mem.store_u64(self.start, MAGIC)?;
            vm.mem.store_u64(self.start + 8, self.start + META)?;
        }
        Ok(vm.mem.load_u64(self.start + 8)?)
    }
}

fn malloc(vm: &mut Instance<'_>, size: u64) -> Result<u64, Stop> {
    let Some(class) = class_of(size) else { return Ok(0) };
    let heap = Heap::of(vm);
    if heap.end <= heap.start {
        return Ok(0);
    }
    let top = heap.top(vm)?;
    let head = vm.mem.load_u64(heap.head(class))?;
    if head != 0 {
        let hdr = head.wrapping_sub(HEADER);
        if head < heap.start + META + HEADER
            || head >= heap.end
            || vm.mem.load_u64(hdr)? != TAG_FREE | class
        {
            // The guest overwrote the allocator's state.
            return Err(Stop::BadFree(head));
        }
        let next = vm.mem.load_u64(head)?;
        vm.mem.store_u64(heap.head(class), next)?;
        vm.mem.store_u64(hdr, TAG_ALLOC | class)?;
        vm.mem.store_u64(hdr + 8, size)?;
        return Ok(head);
    }
    let need = HEADER + class_size(class);
    let Some(new_top) = top.checked_add(need).filter(|&t| t <= heap.end) else { return Ok(0) };
    // Pages this block brings into use (its header page may already be in use).
    let first_new = top.div_ceil(PAGE_BYTES);
    let last = new_top.div_ceil(PAGE_BYTES);
    if last.saturating_sub(first_new) > u64::from(vm.mem.pages_left()) {
        return Ok(0);
    }
    vm.mem.store_u64(top, TAG_ALLOC | class)?;
    vm.mem.store_u64(top + 8, size)?;
    vm.mem.store_u64(heap.start + 8, new_top)?;
    Ok(top + HEADER)
}

/// Checks that `p` is a live block; returns its class and requested length.
fn live(vm: &mut Instance<'_>, heap: &Heap, p: u64) -> Result<(u64, u64), Stop> {
    if !p.is_multiple_of(16) || p < heap.start + META + HEADER || p >= heap.end {
        return Err(Stop::BadFree(p));
    }
    let tag = vm.mem.load_u64(p - HEADER).map_err(|_| Stop::BadFree(p))?;
    let class = tag & !TAG_MASK;
    if tag & TAG_MASK != TAG_ALLOC || class >= CLASSES {
        return Err(Stop::BadFree(p));
    }
    let len = vm.mem.load_u64(p - 8)?;
    Ok((class, len))
}

fn free(vm: &mut Instance<'_>, p: u64) -> Result<(), Stop> {
    if p == 0 {
        return Ok(());
    }
    let heap = Heap::of(vm);
    let (class, _) = live(vm, &heap, p)?;
    let head = vm.mem.load_u64(heap.head(class))?;
    vm.mem.store_u64(p, head)?;
    vm.mem.store_u64(p - HEADER, TAG_FREE | class)?;
    vm.mem.store_u64(heap.head(class), p)?;
    Ok(())
}

fn calloc(vm: &mut Instance<'_>, fuel: &mut u64, n: u64, size: u64) -> Result<u64, Stop> {
    let Some(total) = n.checked_mul(size) else { return Ok(0) };
    let p = malloc(vm, total)?;
    if p != 0 {
        bytes(fuel, total)?;
        vm.mem.fill(p, 0, total)?;
    }
    Ok(p)
}

fn realloc(vm: &mut Instance<'_>, fuel: &mut u64, p: u64, size: u64) -> Result<u64, Stop> {
    if p == 0 {
        return malloc(vm, size);
    }
    let heap = Heap::of(vm);
    let (class, len) = live(vm, &heap, p)?;
    if size == 0 {
        free(vm, p)?;
        return Ok(0);
    }
    if class_of(size) == Some(class) {
        vm.mem.store_u64(p - 8, size)?;
        return Ok(p);
    }
    let q = malloc(vm, size)?;
    if q == 0 {
        return Ok(0);
    }
    let keep = len.min(size);
    bytes(fuel, keep)?;
    vm.mem.copy_within(q, p, keep)?;
    free(vm, p)?;
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_every_size_once() {
        assert_eq!(class_of(0), Some(0));
        assert_eq!(class_of(16), Some(0));
        assert_eq!(class_of(17), Some(1));
        assert_eq!(class_of(1024), Some(63));
        assert_eq!(class_of(1025), Some(64));
        assert_eq!(class_size(64), 2048);
        assert_eq!(class_of(HEAP_ALLOC_BYTES_MAX), Some(CLASSES - 1));
        assert_eq!(class_of(HEAP_ALLOC_BYTES_MAX + 1), None);
        for size in [1u64, 15, 16, 100, 1000, 1024, 1025, 4096, 5000, 1 << 20, 3 << 20] {
            let c = class_of(size).unwrap();
            assert!(class_size(c) >= size, "{size}");
            assert!(class_size(c).is_multiple_of(16));
            if c > 0 {
                assert!(class_size(c - 1) < size, "{size}: smallest class that fits");
            }
        }
        assert_eq!(META % 16, 0);
    }
}
