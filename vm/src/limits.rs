//! Named limits of the VM (STYLE.md §9), in one place, with their relations asserted at compile
//! time. Per-tenant budgets (pages, fuel) are configuration ([`crate::program::Config`] for pages, the fuel argument of each call); these are the
//! hard ceilings every configuration and every input is checked against.

/// Largest guest address window: addresses at or above the window trap. 4 GiB keeps page numbers
/// in `u32` and the page table at most 1 Mi entries.
pub const WINDOW_BYTES_MAX: u64 = 1 << 32;
/// Smallest guest address window.
pub const WINDOW_BYTES_MIN: u64 = 1 << 20;
/// Largest ELF file accepted by the loader.
pub const ELF_BYTES_MAX: usize = 64 << 20;
/// Most program headers in an ELF file.
pub const ELF_PHNUM_MAX: usize = 64;
/// Most section headers in an ELF file.
pub const ELF_SHNUM_MAX: usize = 1 << 16;
/// Most `PT_LOAD` segments.
pub const ELF_LOADS_MAX: usize = 16;
/// Most symbols kept from `.symtab`.
pub const SYMBOLS_MAX: usize = 1 << 17;
/// Longest symbol name kept (longer names are skipped, not truncated).
pub const SYMBOL_NAME_BYTES_MAX: usize = 1024;
/// Largest span of executable segments (lowest to highest executable address). Only their file
/// bytes are decoded (the zero fill is not), but the op table spans the whole range at 6 bytes
/// per code byte: this bounds it at 96 MiB.
pub const CODE_BYTES_MAX: u64 = 16 << 20;
/// Longest straight-line block: fuel is charged per block, so this bounds how early a call can
/// stop with `OutOfFuel` before its budget is fully used.
pub const BLOCK_INSNS_MAX: u16 = 256;
/// Default page budget of an instance (fresh + copy-on-write pages): 64 MiB.
pub const PAGES_DEFAULT: u32 = 16 << 10;
/// Default page budget of a template's load and init: 256 MiB.
pub const TEMPLATE_PAGES_DEFAULT: u32 = 64 << 10;
/// Default stack size.
pub const STACK_BYTES_DEFAULT: u64 = 8 << 20;
/// Default `brk` heap size.
pub const BRK_BYTES_DEFAULT: u64 = 256 << 20;
/// Default host-call heap size.
pub const HEAP_BYTES_DEFAULT: u64 = 256 << 20;
/// Most distinct mappings (ELF segments, stack, heap, `mmap` areas) in one address space.
pub const MAPPINGS_MAX: usize = 1024;
/// Most guest pages one instance may own (fresh + copy-on-write), whatever its budget says.
pub const GUEST_PAGES_MAX: u32 = 1 << 20;
/// Largest initial stack (argv, envp, auxv and strings) the loader will build.
pub const ARGS_BYTES_MAX: usize = 256 << 10;
/// Most argv + envp entries.
pub const ARGS_COUNT_MAX: usize = 4096;
/// Largest guest stack.
pub const STACK_BYTES_MAX: u64 = 256 << 20;
/// Most bytes one `read`/`write`/`writev`/`getrandom` call moves (larger requests are shortened,
/// as Linux does for `MAX_RW_COUNT`).
pub const IO_BYTES_MAX: u64 = 1 << 20;
/// Most iovecs in one `writev`.
pub const IOVECS_MAX: u64 = 1024;
/// Largest single `malloc` through the host-call allocator.
pub const HEAP_ALLOC_BYTES_MAX: u64 = 1 << 31;

/// Where a static-pie (`ET_DYN`) program is loaded.
pub const PIE_BASE: u64 = 0x40_0000;
/// One past the highest guest address: the window is `[0, WINDOW_END)`.
pub const WINDOW_END: u64 = WINDOW_BYTES_MAX;
/// Top of the initial stack (its last page is left unmapped as a guard against the window end).
pub const STACK_TOP: u64 = WINDOW_END - (64 << 10);
/// Gap between the stack's lowest address and the highest `mmap` address.
pub const STACK_GAP_BYTES: u64 = 1 << 20;
/// Largest `brk` heap.
pub const BRK_BYTES_MAX: u64 = 1 << 30;
/// Largest host-call (`malloc`) heap region.
pub const HEAP_BYTES_MAX: u64 = 1 << 31;
/// Most fuel charged for one host call's fixed cost (per-byte costs come on top).
pub const HOSTCALL_FUEL: u64 = 16;
/// Bytes a host call moves per unit of fuel (memcpy and friends).
pub const HOSTCALL_BYTES_PER_FUEL: u64 = 16;
/// Longest path or string the Linux layer reads from the guest.
pub const PATH_BYTES_MAX: u64 = 4096;

/// Bytes in one guest page.
pub const PAGE_BYTES: u64 = shardbox_alloc::PAGE_BYTES as u64;

const _: () = assert!(WINDOW_BYTES_MIN <= WINDOW_BYTES_MAX);
const _: () = assert!(WINDOW_BYTES_MAX / PAGE_BYTES <= u32::MAX as u64);
const _: () = assert!(CODE_BYTES_MAX < WINDOW_BYTES_MAX);
const _: () = assert!(CODE_BYTES_MAX / 2 < i32::MAX as u64, "halfword indices fit in i32");
const _: () = assert!(BLOCK_INSNS_MAX >= 2);
const _: () = assert!(STACK_BYTES_MAX < WINDOW_BYTES_MAX);
const _: () = assert!((ARGS_BYTES_MAX as u64) < STACK_BYTES_MAX);
const _: () = assert!(GUEST_PAGES_MAX as u64 <= WINDOW_BYTES_MAX / PAGE_BYTES);
const _: () = assert!(STACK_TOP.is_multiple_of(PAGE_BYTES));
const _: () = assert!(STACK_BYTES_MAX + STACK_GAP_BYTES < STACK_TOP);
const _: () = assert!(PIE_BASE.is_multiple_of(PAGE_BYTES) && PIE_BASE < WINDOW_END);
const _: () = assert!(HEAP_ALLOC_BYTES_MAX <= HEAP_BYTES_MAX);
const _: () = assert!(HOSTCALL_BYTES_PER_FUEL > 0);
