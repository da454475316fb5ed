//! The Linux system-call subset: enough of riscv64 Linux for static glibc programs and
//! freestanding code.
//!
//! `serve` handles one `ecall` by number (`a7`), arguments in `a0..a5`, result (or `-errno`)
//! in `a0`. I/O goes to the embedder's [`Host`] (fd 0 read, fd 1/2 write); memory calls work on
//! the instance's mappings within its window (`brk`, anonymous private `mmap`, `munmap`,
//! `mprotect`; never executable); the rest answer what a single-threaded process with no files
//! expects (`getpid` = 1, `ioctl(TCGETS)` = `-ENOTTY`, `rt_sigaction` accepted but signals never
//! delivered, `futex` wake = 0). Anything else below 500 is `-ENOSYS`. A bad pointer argument is
//! `-EFAULT`, as in Linux, never a trap. Bytes moved cost fuel. The full table is in
//! `docs/guest-abi.md`.

use crate::exec::TrapKind;
use crate::instance::{Host, Instance, Outcome, Step};
use crate::limits::{
    HOSTCALL_BYTES_PER_FUEL, IO_BYTES_MAX, IOVECS_MAX, MAPPINGS_MAX, PAGE_BYTES, PATH_BYTES_MAX,
};
use crate::memory::{MemFault, Perms};

/// No such file or directory.
pub const ENOENT: u64 = 2;
/// Bad file descriptor.
pub const EBADF: u64 = 9;
/// Try again.
pub const EAGAIN: u64 = 11;
/// Out of memory.
pub const ENOMEM: u64 = 12;
/// Permission denied.
pub const EACCES: u64 = 13;
/// Bad address.
pub const EFAULT: u64 = 14;
/// Invalid argument.
pub const EINVAL: u64 = 22;
/// Not a typewriter.
pub const ENOTTY: u64 = 25;
/// Illegal seek.
pub const ESPIPE: u64 = 29;
/// Function not implemented.
pub const ENOSYS: u64 = 38;

/// `-e` as a register value.
pub fn errno(e: u64) -> u64 {
    e.wrapping_neg()
}

/// Charges `bytes` worth of fuel; `false` if the fuel does not cover it.
pub(crate) fn charge_bytes(fuel: &mut u64, bytes: u64) -> bool {
    let cost = bytes.div_ceil(HOSTCALL_BYTES_PER_FUEL);
    match fuel.checked_sub(cost) {
        Some(left) => {
            *fuel = left;
            true
        }
        None => false,
    }
}

fn page_up(x: u64) -> Option<u64> {
    Some(x.checked_add(PAGE_BYTES - 1)? & !(PAGE_BYTES - 1))
}

/// Serves Linux call `nr`; `None` if `nr` is not in the Linux range (the embedder's then).
pub(crate) fn serve(
    vm: &mut Instance<'_>,
    nr: u64,
    host: &mut dyn Host,
    fuel: &mut u64,
) -> Option<Step> {
    if nr >= 500 {
        return None;
    }
    let a = |i: u8| vm.arg(i);
    let (a0, a1, a2, a3) = (a(0), a(1), a(2), a(3));
    let pc = vm.cpu.pc;
    let result: Result<u64, u64> = match nr {
        63 => read(vm, host, a0, a1, a2, fuel),
        64 => write(vm, host, a0, a1, a2, fuel),
        66 => writev(vm, host, a0, a1, a2, fuel),
        93 | 94 => return Some(Step::Done(Outcome::Exited(a0 as i32))),
        129..=131 => {
            let sig = if nr == 131 { a2 } else { a1 };
            if sig == 0 {
                Ok(0)
            } else {
                let kind = TrapKind::Signal(u8::try_from(sig).unwrap_or(u8::MAX));
                return Some(Step::Done(Outcome::Trap { kind, pc }));
            }
        }
        214 => Ok(brk(vm, a0)),
        222 => mmap(vm, a0, a1, a2, a(3)),
        215 => munmap(vm, a0, a1),
        226 => mprotect(vm, a0, a1, a2),
        233 | 132 | 124 | 101 | 115 | 99 => Ok(0), // madvise, sigaltstack, sched_yield, sleeps, set_robust_list
        96 | 172 | 178 => Ok(1),                   // set_tid_address, getpid, gettid
        173..=177 => Ok(0),                        // getppid, getuid, geteuid, getgid, getegid
        113 => clock_gettime(vm, host, a0, a1),
        169 => {
            let ns = host.clock_ns(0);
            put(vm, a0, &[ns / 1_000_000_000, (ns % 1_000_000_000) / 1000]).map(|()| 0)
        }
        278 => getrandom(vm, host, a0, a1, fuel),
        160 => uname(vm, a0),
        134 => zero_out(vm, a2, 24), // rt_sigaction: no handler was installed
        135 => zero_out(vm, a2, 8),  // rt_sigprocmask: nothing blocked
        261 => prlimit(vm, a1, a3),
        29 => Err(ENOTTY),
        79 => newfstatat(vm, a0, a1, a2, a3),
        80 => fstat(vm, a0, a1),
        57 => {
            if a0 <= 2 {
                Ok(0)
            } else {
                Err(EBADF)
            }
        }
        62 => Err(ESPIPE),
        56 | 48 | 78 | 439 => Err(ENOENT), // openat, faccessat, readlinkat, faccessat2
        17 => vm.mem.write_bytes(a0, b"/\0").map(|()| 2).map_err(|_| EFAULT),
        165 => zero_out(vm, a1, 144), // getrusage
        153 => zero_out(vm, a0, 32),  // times
        98 => futex(vm, a0, a1, a2),
        258 => hwprobe(vm, a0, a1),
        216 => Err(ENOMEM), // mremap: glibc falls back to copy
        _ => Err(ENOSYS),
    };
    Some(match result {
        Ok(v) => vm.ret(v),
        Err(e) if e == u64::MAX => Step::Done(Outcome::OutOfFuel { pc }),
        Err(e) => vm.ret(errno(e)),
    })
}

/// A sentinel "errno" meaning the fuel ran out while moving bytes.
const OUT_OF_FUEL: u64 = u64::MAX;

fn fault(_: MemFault) -> u64 {
    EFAULT
}

fn put(vm: &mut Instance<'_>, addr: u64, words: &[u64]) -> Result<(), u64> {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    vm.mem.write_bytes(addr, &bytes).map_err(fault)
}

fn zero_out(vm: &mut Instance<'_>, addr: u64, len: u64) -> Result<u64, u64> {
    if addr != 0 {
        vm.mem.fill(addr, 0, len).map_err(fault)?;
    }
    Ok(0)
}

fn write(
    vm: &mut Instance<'_>,
    host: &mut dyn Host,
    fd: u64,
    buf: u64,
    n: u64,
    fuel: &mut u64,
) -> Result<u64, u64> {
    if fd != 1 && fd != 2 {
        return Err(EBADF);
    }
    let n = n.min(IO_BYTES_MAX);
    vm.mem.check(buf, n, Perms::R).map_err(fault)?;
    if !charge_bytes(fuel, n) {
        return Err(OUT_OF_FUEL);
    }
    let mut chunk = [0u8; 4096];
    let mut done = 0u64;
    while done < n {
        let len = (n - done).min(chunk.len() as u64) as usize;
        let part = chunk.get_mut(..len).unwrap_or_default();
        vm.mem.read_bytes(buf.wrapping_add(done), part).map_err(fault)?;
        let wrote = host.write(fd as i32, part);
        if wrote < 0 {
            return if done > 0 { Ok(done) } else { Err(wrote.unsigned_abs()) };
        }
        done = done.saturating_add(wrote.unsigned_abs());
        if wrote.unsigned_abs() < len as u64 {
            break;
        }
    }
    Ok(done)
}

fn writev(
    vm: &mut Instance<'_>,
    host: &mut dyn Host,
    fd: u64,
    iov: u64,
    count: u64,
    fuel: &mut u64,
) -> Result<u64, u64> {
    if count > IOVECS_MAX {
        return Err(EINVAL);
    }
    let mut total = 0u64;
    for i in 0..count {
        let at = iov.wrapping_add(i.wrapping_mul(16));
        let base = vm.mem.load_u64(at).map_err(fault)?;
        let len = vm.mem.load_u64(at.wrapping_add(8)).map_err(fault)?;
        let room = IO_BYTES_MAX.saturating_sub(total);
        if room == 0 {
            break;
        }
        let wrote = write(vm, host, fd, base, len.min(room), fuel)?;
        total = total.saturating_add(wrote);
        if wrote < len.min(room) {
            break;
        }
    }
    Ok(total)
}

fn read(
    vm: &mut Instance<'_>,
    host: &mut dyn Host,
    fd: u64,
    buf: u64,
    n: u64,
    fuel: &mut u64,
) -> Result<u64, u64> {
    if fd != 0 {
        return Err(EBADF);
    }
    let n = n.min(IO_BYTES_MAX);
    vm.mem.check(buf, n, Perms::W).map_err(fault)?;
    if !charge_bytes(fuel, n) {
        return Err(OUT_OF_FUEL);
    }
    // One host read into a stack buffer (no heap allocation per call): at most a page per
    // call, a short read as Linux allows; callers loop.
    let mut chunk = [0u8; 4096];
    let len = usize::try_from(n).unwrap_or(usize::MAX).min(chunk.len());
    let part = chunk.get_mut(..len).unwrap_or_default();
    let got = host.read(0, part);
    if got < 0 {
        return Err(got.unsigned_abs());
    }
    let got = usize::try_from(got).unwrap_or(0).min(len);
    vm.mem.write_bytes(buf, part.get(..got).unwrap_or_default()).map_err(fault)?;
    Ok(got as u64)
}

fn getrandom(
    vm: &mut Instance<'_>,
    host: &mut dyn Host,
    buf: u64,
    n: u64,
    fuel: &mut u64,
) -> Result<u64, u64> {
    let n = n.min(IO_BYTES_MAX);
    vm.mem.check(buf, n, Perms::W).map_err(fault)?;
    if !charge_bytes(fuel, n) {
        return Err(OUT_OF_FUEL);
    }
    // Filled through a stack buffer, one host call per 4 KiB: no heap allocation per call.
    let mut chunk = [0u8; 4096];
    let mut done = 0u64;
    while done < n {
        let len = usize::try_from(n - done).unwrap_or(usize::MAX).min(chunk.len());
        let part = chunk.get_mut(..len).unwrap_or_default();
        host.random(part);
        vm.mem.write_bytes(buf.wrapping_add(done), part).map_err(fault)?;
        done = done.saturating_add(len as u64);
    }
    Ok(n)
}

fn clock_gettime(
    vm: &mut Instance<'_>,
    host: &mut dyn Host,
    clock: u64,
    tp: u64,
) -> Result<u64, u64> {
    if clock > 11 {
        return Err(EINVAL);
    }
    let ns = host.clock_ns(clock as u32);
    put(vm, tp, &[ns / 1_000_000_000, ns % 1_000_000_000])?;
    Ok(0)
}

fn uname(vm: &mut Instance<'_>, buf: u64) -> Result<u64, u64> {
    let mut out = [0u8; 65 * 6];
    let fields: [&[u8]; 6] =
        [b"Linux", b"shardbox", b"6.1.0", b"#1 shardbox", b"riscv64", b"(none)"];
    for (i, f) in fields.iter().enumerate() {
        if let Some(dst) = out.get_mut(i * 65..i * 65 + f.len()) {
            dst.copy_from_slice(f);
        }
    }
    vm.mem.write_bytes(buf, &out).map_err(fault)?;
    Ok(0)
}

fn prlimit(vm: &mut Instance<'_>, resource: u64, old: u64) -> Result<u64, u64> {
    if old != 0 {
        let limit = match resource {
            3 => vm.program.config().stack_bytes, // RLIMIT_STACK
            7 => 1024,                            // RLIMIT_NOFILE
            _ => u64::MAX,                        // RLIM_INFINITY
        };
        put(vm, old, &[limit, limit])?;
    }
    Ok(0)
}

fn stat_chardev(vm: &mut Instance<'_>, buf: u64) -> Result<u64, u64> {
    let mut st = [0u8; 128];
    // st_mode = S_IFCHR | 0620 at offset 16; st_blksize = 4096 at offset 56 (asm-generic stat).
    st[16..20].copy_from_slice(&0o20620u32.to_le_bytes());
    st[20..24].copy_from_slice(&1u32.to_le_bytes());
    st[56..60].copy_from_slice(&4096u32.to_le_bytes());
    vm.mem.write_bytes(buf, &st).map_err(fault)?;
    Ok(0)
}

fn fstat(vm: &mut Instance<'_>, fd: u64, buf: u64) -> Result<u64, u64> {
    if fd > 2 {
        return Err(EBADF);
    }
    stat_chardev(vm, buf)
}

fn newfstatat(
    vm: &mut Instance<'_>,
    dirfd: u64,
    path: u64,
    buf: u64,
    flags: u64,
) -> Result<u64, u64> {
    const AT_EMPTY_PATH: u64 = 0x1000;
    let len = vm.mem.strlen(path, PATH_BYTES_MAX).map_err(fault)?;
    if len == Some(0) && flags & AT_EMPTY_PATH != 0 {
        return fstat(vm, dirfd, buf);
    }
    Err(ENOENT)
}

fn futex(vm: &mut Instance<'_>, addr: u64, op: u64, val: u64) -> Result<u64, u64> {
    match op & 0x7f {
        0 | 9 => {
            // WAIT: single-threaded, so nobody could wake us; report the value changed.
            // (Waiting on an unchanged value would never end: EAGAIN either way.)
            let _ = (vm.mem.load_u32(addr).map_err(fault)?, val);
            Err(EAGAIN)
        }
        1 | 10 => Ok(0),
        _ => Err(ENOSYS),
    }
}

fn hwprobe(vm: &mut Instance<'_>, pairs: u64, count: u64) -> Result<u64, u64> {
    for i in 0..count.min(64) {
        let at = pairs.wrapping_add(i.wrapping_mul(16));
        let key = vm.mem.load_u64(at).map_err(fault)?;
        let value = match key {
            0..=2 => Some(0),
            3 => Some(1), // BASE_BEHAVIOR: IMA
            4 => Some(3), // IMA_EXT_0: F and D, C
            5 => Some(0), // CPUPERF_0: unknown
            _ => None,
        };
        match value {
            Some(v) => vm.mem.store_u64(at.wrapping_add(8), v).map_err(fault)?,
            None => {
                vm.mem.store_u64(at, u64::MAX).map_err(fault)?;
                vm.mem.store_u64(at.wrapping_add(8), 0).map_err(fault)?;
            }
        }
    }
    Ok(0)
}

fn brk(vm: &mut Instance<'_>, want: u64) -> u64 {
    let l = vm.os.layout;
    let cur = vm.os.brk;
    if want < l.brk_start || want > l.brk_max {
        return cur;
    }
    let (Some(old_end), Some(new_end)) = (page_up(cur), page_up(want)) else { return cur };
    if new_end > old_end {
        vm.mem.map(old_end, new_end, Perms::RW);
    } else if new_end < old_end {
        vm.mem.unmap(new_end, old_end);
    }
    vm.os.brk = want;
    want
}

fn touches_code(vm: &Instance<'_>, start: u64, end: u64) -> bool {
    vm.mem.regions().list().iter().any(|r| r.start < end && start < r.end && r.perms.has(Perms::X))
}

fn mmap(vm: &mut Instance<'_>, addr: u64, len: u64, prot: u64, flags: u64) -> Result<u64, u64> {
    const MAP_SHARED: u64 = 0x01;
    const MAP_FIXED: u64 = 0x10;
    const MAP_ANONYMOUS: u64 = 0x20;
    const MAP_FIXED_NOREPLACE: u64 = 0x100000;
    if flags & MAP_ANONYMOUS == 0 {
        return Err(EACCES); // no files
    }
    if flags & MAP_SHARED != 0 && flags & 0x02 != 0 {
        return Err(EINVAL);
    }
    if prot & 4 != 0 {
        return Err(EACCES); // W^X: no executable memory after load
    }
    let len = page_up(len).filter(|&l| l > 0).ok_or(EINVAL)?;
    if vm.mem.regions().len() >= MAPPINGS_MAX {
        return Err(ENOMEM);
    }
    let l = vm.os.layout;
    let start = if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
        if !addr.is_multiple_of(PAGE_BYTES) {
            return Err(EINVAL);
        }
        let end = addr.checked_add(len).ok_or(ENOMEM)?;
        if end > crate::limits::WINDOW_END || touches_code(vm, addr, end) {
            return Err(ENOMEM);
        }
        if flags & MAP_FIXED == 0 && vm.mem.regions().overlaps(addr, end) {
            return Err(17); // EEXIST
        }
        addr
    } else {
        find_gap(vm, len, l.mmap_min, l.mmap_max).ok_or(ENOMEM)?
    };
    vm.mem.map(start, start.saturating_add(len), Perms::from_prot(prot));
    Ok(start)
}

/// The highest `len` bytes free in `[min, max)`.
fn find_gap(vm: &Instance<'_>, len: u64, min: u64, max: u64) -> Option<u64> {
    let mut top = max;
    for r in vm.mem.regions().list().iter().rev() {
        if r.start >= top {
            continue;
        }
        if r.end < top
            && let Some(start) = top.checked_sub(len)
            && start >= r.end.max(min)
        {
            return Some(start);
        }
        top = r.start;
        if top <= min {
            return None;
        }
    }
    top.checked_sub(len).filter(|&s| s >= min)
}

fn munmap(vm: &mut Instance<'_>, addr: u64, len: u64) -> Result<u64, u64> {
    let len = page_up(len).filter(|&l| l > 0).ok_or(EINVAL)?;
    let end = addr.checked_add(len).ok_or(EINVAL)?;
    if !addr.is_multiple_of(PAGE_BYTES)
        || end > crate::limits::WINDOW_END
        || touches_code(vm, addr, end)
    {
        return Err(EINVAL);
    }
    vm.mem.unmap(addr, end);
    Ok(0)
}

fn mprotect(vm: &mut Instance<'_>, addr: u64, len: u64, prot: u64) -> Result<u64, u64> {
    let len = page_up(len).ok_or(EINVAL)?;
    let end = addr.checked_add(len).ok_or(EINVAL)?;
    if !addr.is_multiple_of(PAGE_BYTES) {
        return Err(EINVAL);
    }
    if prot & 4 != 0 || touches_code(vm, addr, end) {
        return Err(EACCES);
    }
    if !vm.mem.regions().covers(addr, end) {
        return Err(ENOMEM);
    }
    if vm.mem.regions().len().saturating_add(2) > MAPPINGS_MAX {
        return Err(ENOMEM);
    }
    vm.mem.protect(addr, end, Perms::from_prot(prot));
    Ok(0)
}
