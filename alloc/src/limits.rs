//! Named limits of the `alloc` crate (STYLE.md §9), with their relations asserted at compile time.

/// Upper bound on the pages one [`crate::PagePool`] may ever own (16 GiB of 4 KiB pages): a pool
/// configured above this is a configuration bug.
pub const POOL_PAGES_MAX: usize = 1 << 22;

const _: () = assert!(POOL_PAGES_MAX > 0);
const _: () = assert!(POOL_PAGES_MAX <= (u32::MAX as usize), "page counts fit in u32");
