//! A running guest: [`Instance`], what it returns ([`Outcome`]) and what it needs from the
//! embedder ([`Host`]).
//!
//! An instance is registers ([`Cpu`]) + memory ([`Memory`], copy-on-write over a template or
//! owning everything when booted directly) + a few operating-system words ([`Os`]: `brk`, the
//! host heap bounds, the stack pointer calls start from) + a borrow of its [`Program`]. It runs
//! with [`Instance::run`] (continue from `pc`: a program from its entry point) or
//! [`Instance::call`] (call a guest function: arguments in `a0..a7`, `ra` = the exit sentinel,
//! `sp` reset), always with a fuel budget, and returns an [`Outcome`]: never a panic.
//!
//! `ecall`s are served here: Linux system calls by [`crate::linux`], shardbox host calls
//! 500..=513 by [`crate::hostcall`], everything else by [`Host::hostcall`]. All guest I/O goes
//! through the [`Host`]: the VM itself never touches a file descriptor. Dropping an instance
//! returns its pages to the pool.

use crate::code::Code;
use crate::cpu::{Cpu, reg};
use crate::exec::{self, Exit, TrapKind};
use crate::memory::{Frozen, Memory, Regions};
use crate::program::{Layout, Program};

/// How a run or call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A call returned to the exit sentinel: the value of `a0`.
    Returned(u64),
    /// The guest called `exit`/`exit_group` with this status (a process reports `status & 0xff`).
    Exited(i32),
    /// The guest trapped at `pc`.
    Trap {
        /// Why.
        kind: TrapKind,
        /// The instruction concerned.
        pc: u64,
    },
    /// The fuel (instruction budget) ran out; the next block would have started at `pc`.
    OutOfFuel {
        /// Where execution stopped.
        pc: u64,
    },
    /// A write needed a page beyond the page budget (fresh or copy-on-write), at `pc`.
    OutOfMemory {
        /// The instruction (or `ecall`) concerned.
        pc: u64,
    },
}

/// What an embedder's host call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostResult {
    /// Resume the guest with this value in `a0`.
    Return(u64),
    /// No such call: the guest gets `-ENOSYS`.
    Unknown,
    /// End the run now with [`Outcome::Returned`] of this value.
    Stop(u64),
}

/// A guest as an embedder's host call sees it: registers and memory.
#[derive(Debug)]
pub struct Guest<'a, 't> {
    /// The registers (`a0..a5` = `x[10..16]` are the arguments).
    pub cpu: &'a mut Cpu,
    /// Guest memory, bounds- and permission-checked.
    pub mem: &'a mut Memory<'t>,
}

/// What the VM needs from its embedder. Every method has a default: output is discarded,
/// input is empty, clocks read the host's, random bytes come from a fixed-seed generator
/// (deterministic), unknown host calls fail with `-ENOSYS`.
pub trait Host {
    /// `write(fd, bytes)` for fd 1 (stdout) and 2 (stderr): bytes written or `-errno`.
    fn write(&mut self, fd: i32, bytes: &[u8]) -> i64 {
        let _ = fd;
        i64::try_from(bytes.len()).unwrap_or(i64::MAX)
    }

    /// `read(0, buf)`: bytes read (0 = end of input) or `-errno`.
    fn read(&mut self, fd: i32, buf: &mut [u8]) -> i64 {
        let _ = (fd, buf);
        0
    }

    /// The time of Linux clock `clock` (0 realtime, 1 monotonic, …) in nanoseconds.
    fn clock_ns(&mut self, clock: u32) -> u64 {
        use std::time::{SystemTime, UNIX_EPOCH};
        let _ = clock;
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(0))
    }

    /// Fills `buf` with random bytes (`getrandom`, `AT_RANDOM`).
    ///
    /// The default is stateless and so returns the same bytes on every call; a host that
    /// serves more than one request should keep a [`SeededRandom`] (as [`Captured`] does) or
    /// read the operating system's generator.
    fn random(&mut self, buf: &mut [u8]) {
        SeededRandom::default().fill(buf);
    }

    /// An `ecall` the VM does not implement itself (520..=599 are reserved for the embedder).
    fn hostcall(&mut self, nr: u64, guest: &mut Guest<'_, '_>) -> HostResult {
        let _ = (nr, guest);
        HostResult::Unknown
    }
}

/// A deterministic random-byte stream (splitmix64) that continues across calls, so successive
/// `getrandom` calls see different bytes while a run stays reproducible. Not cryptographic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeededRandom {
    state: u64,
}

impl SeededRandom {
    /// The seed every [`Default`] stream starts from.
    const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

    /// A stream starting from `seed`.
    pub fn new(seed: u64) -> SeededRandom {
        SeededRandom { state: seed }
    }

    /// Fills `buf` with the next bytes of the stream.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            *b = (z ^ (z >> 31)) as u8;
        }
    }
}

impl Default for SeededRandom {
    fn default() -> SeededRandom {
        SeededRandom::new(SeededRandom::SEED)
    }
}

/// A [`Host`] with every default: discards output, empty input, and the stateless default
/// `random` (the same bytes on every call: it is zero-sized and `Copy`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullHost;

impl Host for NullHost {}

/// A [`Host`] that captures stdout and stderr and serves stdin from a buffer (tests, tools).
#[derive(Debug, Default, Clone)]
pub struct Captured {
    /// Bytes written to fd 1.
    pub stdout: Vec<u8>,
    /// Bytes written to fd 2.
    pub stderr: Vec<u8>,
    /// Bytes `read(0)` will return.
    pub stdin: Vec<u8>,
    stdin_at: usize,
    /// Where `random` continues from (fixed seed: runs are reproducible).
    rng: SeededRandom,
}

impl Captured {
    /// A host whose stdin holds `stdin`.
    pub fn with_stdin(stdin: &[u8]) -> Captured {
        Captured { stdin: stdin.to_vec(), ..Captured::default() }
    }
}

impl Host for Captured {
    fn write(&mut self, fd: i32, bytes: &[u8]) -> i64 {
        match fd {
            1 => self.stdout.extend_from_slice(bytes),
            2 => self.stderr.extend_from_slice(bytes),
            _ => return -9,
        }
        i64::try_from(bytes.len()).unwrap_or(i64::MAX)
    }

    fn read(&mut self, _fd: i32, buf: &mut [u8]) -> i64 {
        let rest = self.stdin.get(self.stdin_at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.stdin_at = self.stdin_at.saturating_add(n);
        i64::try_from(n).unwrap_or(0)
    }

    fn random(&mut self, buf: &mut [u8]) {
        self.rng.fill(buf);
    }
}

/// The operating-system state of an instance (copied on fork).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Os {
    /// Current program break.
    pub brk: u64,
    /// The address-space plan.
    pub layout: Layout,
    /// The stack pointer calls start from (the initial `sp`).
    pub call_sp: u64,
}

impl Os {
    /// The state at boot.
    pub fn new(layout: &Layout, sp: u64) -> Os {
        Os { brk: layout.brk_start, layout: *layout, call_sp: sp & !15 }
    }
}

/// What serving an `ecall` decided.
pub(crate) enum Step {
    /// Resume after the `ecall` (with `a0` already set).
    Resume,
    /// End with this outcome.
    Done(Outcome),
}

/// A running guest (see the module doc).
pub struct Instance<'t> {
    pub(crate) cpu: Cpu,
    pub(crate) mem: Memory<'t>,
    pub(crate) program: &'t Program,
    pub(crate) os: Os,
}

impl std::fmt::Debug for Instance<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("pc", &self.cpu.pc).field("mem", &self.mem).finish()
    }
}

impl<'t> Instance<'t> {
    pub(crate) fn from_parts(cpu: Cpu, mem: Memory<'t>, program: &'t Program, os: Os) -> Self {
        Instance { cpu, mem, program, os }
    }

    /// The registers.
    pub fn cpu(&self) -> &Cpu {
        &self.cpu
    }

    /// The registers, writable.
    pub fn cpu_mut(&mut self) -> &mut Cpu {
        &mut self.cpu
    }

    /// Guest memory.
    pub fn memory(&mut self) -> &mut Memory<'t> {
        &mut self.mem
    }

    /// Instructions retired so far (this instance and, for a fork, its template's init).
    pub fn instret(&self) -> u64 {
        self.cpu.instret
    }

    /// Pages this instance owns (fresh and copy-on-write).
    pub fn pages_owned(&self) -> u32 {
        self.mem.pages_owned()
    }

    /// The operating-system words.
    pub fn os(&self) -> &Os {
        &self.os
    }

    fn code(&self) -> &'t Code {
        self.program.code()
    }

    /// Runs from the current `pc` with at most `fuel` instructions (see the module doc).
    pub fn run(&mut self, fuel: u64, host: &mut dyn Host) -> Outcome {
        let mut left = fuel;
        let code = self.code();
        loop {
            let exit = exec::run(&mut self.cpu, &mut self.mem, code, &mut left);
            let pc = self.cpu.pc;
            match exit {
                Exit::Ecall => match self.ecall(host, &mut left) {
                    Step::Resume => self.cpu.pc = pc.wrapping_add(4),
                    Step::Done(outcome) => return outcome,
                },
                Exit::Stop => return Outcome::Returned(self.cpu.get(reg::A0)),
                Exit::Trap(kind) => return Outcome::Trap { kind, pc },
                Exit::OutOfFuel => return Outcome::OutOfFuel { pc },
                Exit::OutOfPages => return Outcome::OutOfMemory { pc },
            }
        }
    }

    /// Calls the guest function at `addr` with up to 8 integer arguments, at most `fuel`
    /// instructions. The function returns through the exit sentinel; `sp` starts at the
    /// initial stack pointer, so nothing a previous call left on the stack is relied on.
    pub fn call(&mut self, addr: u64, args: &[u64], fuel: u64, host: &mut dyn Host) -> Outcome {
        for (i, r) in self.cpu.x.iter_mut().skip(usize::from(reg::A0)).take(8).enumerate() {
            *r = args.get(i).copied().unwrap_or(0);
        }
        self.cpu.set(reg::RA, self.code().exit_pc());
        self.cpu.set(reg::SP, self.os.call_sp);
        self.cpu.pc = addr;
        self.cpu.reservation = None;
        self.run(fuel, host)
    }

    /// Serves the `ecall` at `pc` (number in `a7`).
    fn ecall(&mut self, host: &mut dyn Host, fuel: &mut u64) -> Step {
        let nr = self.cpu.get(reg::A7);
        match nr {
            500..=513 => crate::hostcall::serve(self, nr, fuel),
            520..=599 => self.embedder(nr, host),
            _ => match crate::linux::serve(self, nr, host, fuel) {
                Some(step) => step,
                None => self.embedder(nr, host),
            },
        }
    }

    fn embedder(&mut self, nr: u64, host: &mut dyn Host) -> Step {
        let mut guest = Guest { cpu: &mut self.cpu, mem: &mut self.mem };
        match host.hostcall(nr, &mut guest) {
            HostResult::Return(v) => self.ret(v),
            HostResult::Unknown => self.ret(crate::linux::errno(crate::linux::ENOSYS)),
            HostResult::Stop(v) => Step::Done(Outcome::Returned(v)),
        }
    }

    /// Sets `a0` and resumes.
    pub(crate) fn ret(&mut self, value: u64) -> Step {
        self.cpu.set(reg::A0, value);
        Step::Resume
    }

    /// Argument `i` of the current `ecall` (`a0..a5`).
    pub(crate) fn arg(&self, i: u8) -> u64 {
        self.cpu.x.get(usize::from(reg::A0).saturating_add(usize::from(i))).copied().unwrap_or(0)
    }

    /// Ends the instance, handing back its memory as a template's (pages, mappings), its
    /// registers and OS words.
    pub(crate) fn freeze(self) -> (Frozen, Regions, Cpu, Os) {
        let (frozen, regions) = self.mem.freeze();
        (frozen, regions, self.cpu, self.os)
    }
}
