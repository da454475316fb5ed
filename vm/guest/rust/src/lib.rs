//! Guest SDK for shardbox's RISC-V VM, for `#![no_std]` Rust programs.
//!
//! A shardbox edge tenant is a RISC-V ELF. This crate gives it what a tenant needs and nothing
//! more: the [`host`] calls (memcpy/memset/memmove/memcmp/strlen and the heap, performed by the
//! host at native speed), a [`GlobalAlloc`] on the host heap ([`HostAlloc`]) so `alloc`'s `Vec`,
//! `String` and `BTreeMap` work, Linux [`write`] and [`exit`], [`print!`]/[`println!`], the
//! process entry point ([`entry!`]) and a panic handler.
//!
//! Host calls are `ecall`s: number in `a7`, arguments in `a0..a5`, result in `a0`; the numbers
//! are in TEAM.md and `docs/guest-abi.md` of the shardbox repository. A handler the host calls
//! by name is a `#[unsafe(no_mangle)] pub extern "C" fn`.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! shardbox_guest::entry!(main);
//! fn main() -> i32 {
//!     shardbox_guest::println!("hello");
//!     0
//! }
//! ```
//!
//! Not here: threads, files, time, networking (the VM offers none of them to tenants).
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

use core::alloc::{GlobalAlloc, Layout};
use core::fmt;

/// Raw `ecall`s: Linux system calls and shardbox host calls.
pub mod host {
    /// Linux `write`.
    pub const SYS_WRITE: usize = 64;
    /// Linux `exit_group`.
    pub const SYS_EXIT_GROUP: usize = 94;
    /// `memcpy(dst, src, n) -> dst`.
    pub const MEMCPY: usize = 500;
    /// `memset(dst, byte, n) -> dst`.
    pub const MEMSET: usize = 501;
    /// `memmove(dst, src, n) -> dst`.
    pub const MEMMOVE: usize = 502;
    /// `memcmp(a, b, n) -> int`.
    pub const MEMCMP: usize = 503;
    /// `strlen(s) -> n`.
    pub const STRLEN: usize = 504;
    /// `malloc(size) -> ptr | 0`.
    pub const MALLOC: usize = 510;
    /// `free(ptr)`.
    pub const FREE: usize = 511;
    /// `calloc(n, size) -> ptr | 0`.
    pub const CALLOC: usize = 512;
    /// `realloc(ptr, size) -> ptr | 0`.
    pub const REALLOC: usize = 513;

    /// Performs `ecall` number `n` with three arguments.
    ///
    /// # Safety
    ///
    /// The host reads and writes guest memory through pointer arguments: they must be valid for
    /// what call `n` does with them (as for the C function of the same name).
    #[inline(always)]
    pub unsafe fn ecall3(n: usize, a0: usize, a1: usize, a2: usize) -> usize {
        let ret: usize;
        #[cfg(any(target_arch = "riscv64", target_arch = "riscv32"))]
        // SAFETY: `ecall` transfers to the host, which only touches memory the caller vouched
        // for; no register besides a0 is changed, and memory may be (not `nomem`).
        unsafe {
            core::arch::asm!("ecall", inlateout("a0") a0 => ret, in("a1") a1, in("a2") a2,
                in("a7") n, options(nostack));
        }
        #[cfg(not(any(target_arch = "riscv64", target_arch = "riscv32")))]
        {
            let _ = (n, a0, a1, a2);
            ret = usize::MAX;
        }
        ret
    }

    /// Host `memcpy`.
    ///
    /// # Safety
    ///
    /// As `core::ptr::copy_nonoverlapping(src, dst, n)`.
    #[inline]
    pub unsafe fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { ecall3(MEMCPY, dst as usize, src as usize, n) as *mut u8 }
    }

    /// Host `memset`.
    ///
    /// # Safety
    ///
    /// `dst` must be valid for `n` bytes of writes.
    #[inline]
    pub unsafe fn memset(dst: *mut u8, byte: u8, n: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { ecall3(MEMSET, dst as usize, byte.into(), n) as *mut u8 }
    }

    /// Host `memmove`.
    ///
    /// # Safety
    ///
    /// As `core::ptr::copy(src, dst, n)`.
    #[inline]
    pub unsafe fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { ecall3(MEMMOVE, dst as usize, src as usize, n) as *mut u8 }
    }

    /// Host `memcmp`: negative, zero or positive.
    ///
    /// # Safety
    ///
    /// `a` and `b` must be valid for `n` bytes of reads.
    #[inline]
    pub unsafe fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { ecall3(MEMCMP, a as usize, b as usize, n) as i32 }
    }

    /// Host `strlen`.
    ///
    /// # Safety
    ///
    /// `s` must point to a NUL-terminated string.
    #[inline]
    pub unsafe fn strlen(s: *const u8) -> usize {
        // SAFETY: forwarded from the caller's contract.
        unsafe { ecall3(STRLEN, s as usize, 0, 0) }
    }

    /// Host `malloc`: null when the page budget cannot cover `size`.
    pub fn malloc(size: usize) -> *mut u8 {
        // SAFETY: malloc reads no guest memory.
        unsafe { ecall3(MALLOC, size, 0, 0) as *mut u8 }
    }

    /// Host `calloc`: zeroed, null on failure or overflow of `n * size`.
    pub fn calloc(n: usize, size: usize) -> *mut u8 {
        // SAFETY: calloc reads no guest memory.
        unsafe { ecall3(CALLOC, n, size, 0) as *mut u8 }
    }

    /// Host `free`.
    ///
    /// # Safety
    ///
    /// `p` is null or came from [`malloc`]/[`calloc`]/[`realloc`] and was not freed.
    #[inline]
    pub unsafe fn free(p: *mut u8) {
        // SAFETY: forwarded from the caller's contract.
        unsafe { ecall3(FREE, p as usize, 0, 0) };
    }

    /// Host `realloc`.
    ///
    /// # Safety
    ///
    /// As [`free`] for `p`.
    #[inline]
    pub unsafe fn realloc(p: *mut u8, size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { ecall3(REALLOC, p as usize, size, 0) as *mut u8 }
    }
}

/// Floating-point helpers `core` lacks without `std`: square root and fused multiply-add as
/// single instructions, and access to the rounding mode (`frm`) and accrued flags (`fflags`).
#[cfg(target_arch = "riscv64")]
pub mod float {
    use core::arch::asm;

    /// `fsqrt.d`, rounded in the current mode.
    #[inline]
    pub fn sqrt(x: f64) -> f64 {
        let r: f64;
        // SAFETY: a pure FP instruction; it only updates fflags.
        unsafe { asm!("fsqrt.d {0}, {1}", out(freg) r, in(freg) x, options(pure, nomem, nostack)) };
        r
    }

    /// `fsqrt.s`.
    #[inline]
    pub fn sqrtf(x: f32) -> f32 {
        let r: f32;
        // SAFETY: a pure FP instruction; it only updates fflags.
        unsafe { asm!("fsqrt.s {0}, {1}", out(freg) r, in(freg) x, options(pure, nomem, nostack)) };
        r
    }

    /// `fmadd.d`: `a * b + c` rounded once.
    #[inline]
    pub fn fma(a: f64, b: f64, c: f64) -> f64 {
        let r: f64;
        // SAFETY: a pure FP instruction; it only updates fflags.
        unsafe {
            asm!("fmadd.d {0}, {1}, {2}, {3}", out(freg) r, in(freg) a, in(freg) b, in(freg) c,
                options(pure, nomem, nostack));
        }
        r
    }

    /// The rounding modes of `frm`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[repr(u32)]
    pub enum Rounding {
        /// To nearest, ties to even (the default).
        NearestEven = 0,
        /// Towards zero.
        TowardZero = 1,
        /// Towards −∞.
        Down = 2,
        /// Towards +∞.
        Up = 3,
        /// To nearest, ties away from zero.
        NearestMaxMagnitude = 4,
    }

    /// Sets `frm`: FP instructions executed afterwards round in `mode`. LLVM assumes the
    /// default mode and may move or constant-fold FP operations across this call: pass their
    /// operands and results through `core::hint::black_box` (see `examples/fp.rs`).
    #[inline]
    pub fn set_rounding(mode: Rounding) {
        // SAFETY: writes only frm.
        unsafe { asm!("fsrm {0}", in(reg) mode as u32, options(nostack)) };
    }

    /// The accrued flags: NV (16), DZ (8), OF (4), UF (2), NX (1).
    #[inline]
    pub fn flags() -> u32 {
        let f: u32;
        // SAFETY: reads only fflags.
        unsafe { asm!("frflags {0}", out(reg) f, options(nostack)) };
        f
    }

    /// Clears the accrued flags.
    #[inline]
    pub fn clear_flags() {
        // SAFETY: writes only fflags.
        unsafe { asm!("fsflags zero", options(nostack)) };
    }
}

/// Writes `bytes` to file descriptor `fd` (1 = stdout, 2 = stderr); bytes written or a negative
/// errno.
pub fn write(fd: i32, bytes: &[u8]) -> isize {
    // SAFETY: the host reads `bytes.len()` bytes from a live slice.
    unsafe {
        host::ecall3(host::SYS_WRITE, fd as usize, bytes.as_ptr() as usize, bytes.len()) as isize
    }
}

/// Ends the program with exit `code`.
pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group reads no guest memory.
        unsafe { host::ecall3(host::SYS_EXIT_GROUP, code as usize, 0, 0) };
    }
}

/// Alignment the host heap guarantees for every allocation.
pub const HOST_ALIGN_BYTES: usize = 16;

/// A [`GlobalAlloc`] on the host heap. Alignments above [`HOST_ALIGN_BYTES`] over-allocate and
/// keep the host pointer just below the aligned block.
///
/// ```ignore
/// #[global_allocator]
/// static HEAP: shardbox_guest::HostAlloc = shardbox_guest::HostAlloc;
/// ```
pub struct HostAlloc;

// SAFETY: every block comes from the host heap with at least `layout.align()` alignment and
// `layout.size()` bytes; `dealloc` returns exactly the pointer the host gave.
unsafe impl GlobalAlloc for HostAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= HOST_ALIGN_BYTES {
            return host::malloc(layout.size());
        }
        let Some(total) = layout.size().checked_add(layout.align()) else {
            return core::ptr::null_mut();
        };
        let raw = host::malloc(total);
        if raw.is_null() {
            return raw;
        }
        // At least one word of room below the aligned address, since align > 16 > 8.
        let aligned = (raw as usize + layout.align()) & !(layout.align() - 1);
        let slot = (aligned - core::mem::size_of::<usize>()) as *mut usize;
        // SAFETY: `slot` lies inside the block, after `raw`, and is word-aligned.
        unsafe { slot.write(raw as usize) };
        aligned as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let raw = if layout.align() <= HOST_ALIGN_BYTES {
            ptr
        } else {
            // SAFETY: `alloc` stored the host pointer in the word below `ptr`.
            unsafe { *((ptr as usize - core::mem::size_of::<usize>()) as *const usize) as *mut u8 }
        };
        // SAFETY: `raw` came from the host heap and is freed once.
        unsafe { host::free(raw) };
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= HOST_ALIGN_BYTES {
            return host::calloc(1, layout.size());
        }
        // SAFETY: forwarded; the block is then zeroed over its full size.
        unsafe {
            let p = self.alloc(layout);
            if !p.is_null() {
                host::memset(p, 0, layout.size());
            }
            p
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= HOST_ALIGN_BYTES {
            // SAFETY: `ptr` came from the host heap.
            return unsafe { host::realloc(ptr, new_size) };
        }
        // SAFETY: standard move-to-new-block fallback; both blocks are live while copying.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let p = self.alloc(new_layout);
            if !p.is_null() {
                host::memcpy(p, ptr, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            p
        }
    }
}

/// A [`fmt::Write`] to a file descriptor, unbuffered.
pub struct Fd(pub i32);

impl fmt::Write for Fd {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s.as_bytes();
        while !rest.is_empty() {
            let n = write(self.0, rest);
            if n <= 0 {
                return Err(fmt::Error);
            }
            rest = rest.get(n as usize..).unwrap_or(&[]);
        }
        Ok(())
    }
}

/// Prints to stdout.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::Fd(1), format_args!($($arg)*));
    }};
}

/// Prints a line to stdout.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        $crate::print!($($arg)*);
        $crate::print!("\n");
    }};
}

/// Defines the process entry point `_start`: sets `gp`, calls `$main() -> i32`, exits with its
/// result. Use once, in a `#![no_main]` binary.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn __shardbox_main() -> i32 {
            $main()
        }
        core::arch::global_asm!(
            ".section .text._start,\"ax\",@progbits",
            ".globl _start",
            "_start:",
            ".option push",
            ".option norelax",
            "lla gp, __global_pointer$",
            ".option pop",
            "andi sp, sp, -16",
            "call __shardbox_main",
            "li a7, 94",
            "ecall",
            "1: j 1b",
            ".text",
        );
    };
}

#[cfg(feature = "libc-symbols")]
mod libc_symbols {
    //! C symbols the compiler calls for copies and zeroing, backed by host calls.

    /// # Safety
    ///
    /// As C `memcpy`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { crate::host::memcpy(dst, src, n) }
    }

    /// # Safety
    ///
    /// As C `memmove`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { crate::host::memmove(dst, src, n) }
    }

    /// # Safety
    ///
    /// As C `memset`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memset(dst: *mut u8, byte: i32, n: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { crate::host::memset(dst, byte as u8, n) }
    }

    /// # Safety
    ///
    /// As C `memcmp`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { crate::host::memcmp(a, b, n) }
    }

    /// # Safety
    ///
    /// As C `bcmp`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: forwarded from the caller's contract.
        unsafe { crate::host::memcmp(a, b, n) }
    }
}

#[cfg(all(feature = "panic-handler", not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let _ = fmt::Write::write_fmt(&mut Fd(2), format_args!("panic: {info}\n"));
    exit(101)
}
