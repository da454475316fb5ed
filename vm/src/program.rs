//! A loaded program and its start-up image: [`Program`], [`Config`], [`Layout`].
//!
//! [`Program::load`] parses an ELF ([`crate::elf`]), checks it against the budgets in
//! [`Config`] (ELF size, pages of initial data, code span), pre-decodes its executable segments
//! once ([`crate::code`]) and plans the address space ([`Layout`]):
//!
//! ```text
//! 0 ─ ELF segments ─ brk heap (grows up, ≤ brk_bytes) ─ host heap (malloc, heap_bytes)
//!   ─ … mmap area (allocated top-down) … ─ 1 MiB gap ─ stack (stack_bytes) ─ STACK_TOP ─ 4 GiB
//! ```
//!
//! [`Program::boot`] builds a fresh [`Instance`] of it: maps the segments with their
//! permissions, writes their bytes, maps the stack and the host heap, and writes the Linux
//! initial stack (argc, argv, envp, auxv with `AT_PHDR`, `AT_PHNUM`, `AT_PAGESZ` = 4096,
//! `AT_ENTRY`, `AT_RANDOM`, `AT_HWCAP` = IMAFDC, …). The program then runs from its entry point.
//! It does not run anything itself ([`crate::instance`]).

use std::collections::HashMap;

use shardbox_alloc::PagePool;

use crate::code::{Code, ExecRange};
use crate::cpu::{Cpu, reg};
use crate::elf::{self, ElfError};
use crate::instance::{Host, Instance, Os};
use crate::limits::{
    ARGS_BYTES_MAX, ARGS_COUNT_MAX, BRK_BYTES_DEFAULT, BRK_BYTES_MAX, CODE_BYTES_MAX,
    HEAP_BYTES_DEFAULT, HEAP_BYTES_MAX, PAGE_BYTES, PAGES_DEFAULT, STACK_BYTES_DEFAULT,
    STACK_BYTES_MAX, STACK_GAP_BYTES, STACK_TOP, TEMPLATE_PAGES_DEFAULT,
};
use crate::memory::{Frozen, MemFault, Memory, Perms, Regions};

/// Budgets and sizes of a program's address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Pages an instance may own (fresh + copy-on-write), per call sequence.
    pub pages_max: u32,
    /// Pages a template may own after load and init (also the budget of `vm run`).
    pub template_pages_max: u32,
    /// Stack size in bytes.
    pub stack_bytes: u64,
    /// Largest `brk` heap in bytes.
    pub brk_bytes: u64,
    /// Size of the host-call heap (`malloc` 510..513) in bytes.
    pub heap_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            pages_max: PAGES_DEFAULT,
            template_pages_max: TEMPLATE_PAGES_DEFAULT,
            stack_bytes: STACK_BYTES_DEFAULT,
            brk_bytes: BRK_BYTES_DEFAULT,
            heap_bytes: HEAP_BYTES_DEFAULT,
        }
    }
}

/// Why a program could not be loaded or started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The ELF file is malformed or unsupported.
    #[error(transparent)]
    Elf(#[from] ElfError),
    /// A size in the configuration is beyond its hard limit.
    #[error("{what} of {value} bytes is over the limit of {max}")]
    Config {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// The executable code spans more than `CODE_BYTES_MAX`.
    #[error("executable code spans {span} bytes, over the limit of {max}")]
    CodeTooLarge {
        /// Lowest to highest executable byte.
        span: u64,
        /// The limit.
        max: u64,
    },
    /// Segments, brk, heap, mmap area and stack do not fit in the address window.
    #[error("the program's segments end at {end:#x}, too high to fit heap, mmap area and stack")]
    Layout {
        /// End of the highest segment.
        end: u64,
    },
    /// The initial data needs more pages than the template budget.
    #[error("the program's initial data needs {pages} pages, over the budget of {max}")]
    Pages {
        /// Pages needed.
        pages: u64,
        /// The budget.
        max: u32,
    },
    /// argv + envp are too many or too large.
    #[error("arguments and environment too large ({bytes} bytes, {count} strings)")]
    Args {
        /// Bytes of strings and pointers.
        bytes: usize,
        /// argv + envp entries.
        count: usize,
    },
    /// Writing the image failed (the page pool ran out).
    #[error("building the initial image failed: {0}")]
    Memory(MemFault),
}

/// Where things are in the address space (see the module doc). Page aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// First byte of the `brk` heap (end of the highest segment).
    pub brk_start: u64,
    /// Limit of the `brk` heap.
    pub brk_max: u64,
    /// Host-call heap `[heap_start, heap_end)`.
    pub heap_start: u64,
    /// End of the host-call heap.
    pub heap_end: u64,
    /// Lowest address `mmap` may return.
    pub mmap_min: u64,
    /// One past the highest address `mmap` may return.
    pub mmap_max: u64,
    /// Lowest stack address.
    pub stack_start: u64,
}

#[derive(Debug, Clone)]
struct SegmentImage {
    vaddr: u64,
    mem_bytes: u64,
    data: Vec<u8>,
    perms: Perms,
}

/// A parsed, checked and pre-decoded program (see the module doc).
#[derive(Debug)]
pub struct Program {
    code: Code,
    entry: u64,
    symbols: HashMap<String, u64>,
    phdr_addr: u64,
    phnum: u16,
    layout: Layout,
    config: Config,
    segments: Vec<SegmentImage>,
}

fn page_up(x: u64) -> u64 {
    x.saturating_add(PAGE_BYTES - 1) & !(PAGE_BYTES - 1)
}

fn page_down(x: u64) -> u64 {
    x & !(PAGE_BYTES - 1)
}

impl Program {
    /// Parses and checks `bytes` (see the module doc).
    pub fn load(bytes: &[u8], config: &Config) -> Result<Program, LoadError> {
        let checks = [
            ("stack_bytes", config.stack_bytes, STACK_BYTES_MAX),
            ("brk_bytes", config.brk_bytes, BRK_BYTES_MAX),
            ("heap_bytes", config.heap_bytes, HEAP_BYTES_MAX),
        ];
        for (what, value, max) in checks {
            if value > max {
                return Err(LoadError::Config { what, value, max });
            }
        }
        let elf = elf::parse(bytes)?;
        let exec: Vec<&elf::Segment<'_>> =
            elf.segments.iter().filter(|s| s.perms.has(Perms::X)).collect();
        let lo = exec.iter().map(|s| s.vaddr).min().unwrap_or(0);
        let hi = exec.iter().map(|s| s.end()).max().unwrap_or(0);
        let span = hi.saturating_sub(lo);
        if span > CODE_BYTES_MAX {
            return Err(LoadError::CodeTooLarge { span, max: CODE_BYTES_MAX });
        }
        // Initial data pages (bss is zero until written and costs nothing until then).
        let pages: u64 = elf
            .segments
            .iter()
            .filter(|s| !s.data.is_empty())
            .map(|s| {
                (page_up(s.vaddr.saturating_add(s.data.len() as u64)) - page_down(s.vaddr))
                    / PAGE_BYTES
            })
            .sum();
        if pages > u64::from(config.template_pages_max) {
            return Err(LoadError::Pages { pages, max: config.template_pages_max });
        }
        let end = page_up(elf.segments.iter().map(|s| s.end()).max().unwrap_or(0));
        let stack_start = STACK_TOP.saturating_sub(page_up(config.stack_bytes));
        let brk_max = end.saturating_add(page_up(config.brk_bytes));
        let heap_start = brk_max;
        let heap_end = heap_start.saturating_add(page_up(config.heap_bytes));
        let mmap_max = stack_start.saturating_sub(STACK_GAP_BYTES);
        if end >= STACK_TOP || heap_end >= mmap_max {
            return Err(LoadError::Layout { end });
        }
        let layout = Layout {
            brk_start: end,
            brk_max,
            heap_start,
            heap_end,
            mmap_min: heap_end,
            mmap_max,
            stack_start,
        };
        // Executable file bytes plus two bytes of the zero fill, so a last instruction that
        // straddles the end of the file decodes. The rest of the zero fill is not decoded: a jump
        // there is a fetch fault (hardware would fault on the zeros too, as an illegal
        // instruction), and a small file cannot make the loader decode megabytes of zeros.
        let mut exec_images: Vec<(u64, Vec<u8>)> = Vec::new();
        for s in &exec {
            let mut bytes = s.data.to_vec();
            let fill = usize::try_from(s.mem_bytes)
                .unwrap_or(usize::MAX)
                .min(s.data.len().saturating_add(2));
            bytes.resize(fill.max(s.data.len()), 0);
            exec_images.push((s.vaddr, bytes));
        }
        let ranges: Vec<ExecRange<'_>> =
            exec_images.iter().map(|(vaddr, bytes)| ExecRange { vaddr: *vaddr, bytes }).collect();
        let code = Code::build(&ranges);
        let segments = elf
            .segments
            .iter()
            .map(|s| SegmentImage {
                vaddr: s.vaddr,
                mem_bytes: s.mem_bytes,
                data: s.data.to_vec(),
                perms: s.perms,
            })
            .collect();
        Ok(Program {
            code,
            entry: elf.entry,
            symbols: elf.symbols,
            phdr_addr: elf.phdr_addr.unwrap_or(0),
            phnum: elf.phnum,
            layout,
            config: *config,
            segments,
        })
    }

    /// The pre-decoded code.
    pub fn code(&self) -> &Code {
        &self.code
    }

    /// The entry point.
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// The address of symbol `name` from the ELF symbol table.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.symbols.get(name).copied()
    }

    /// The address-space plan.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The configuration it was loaded with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Drops the copy of the segments' bytes (a template keeps them in its pages instead).
    pub(crate) fn forget_image(&mut self) {
        self.segments = Vec::new();
    }

    /// Builds a fresh instance ready to run from the entry point (see the module doc), owning
    /// pages from `pool`, at most `config.template_pages_max`. `host` provides `AT_RANDOM`.
    pub fn boot<'t>(
        &'t self,
        pool: &'t PagePool,
        argv: &[&[u8]],
        envp: &[&[u8]],
        host: &mut dyn Host,
    ) -> Result<Instance<'t>, LoadError> {
        static NO_REGIONS: Regions = Regions::new();
        let mut mem =
            Memory::new(Frozen::empty(), &NO_REGIONS, pool, self.config.template_pages_max);
        for s in &self.segments {
            let (start, end) = (page_down(s.vaddr), page_up(s.vaddr.saturating_add(s.mem_bytes)));
            mem.map(start, end, Perms::RW);
        }
        for s in &self.segments {
            mem.write_bytes(s.vaddr, &s.data).map_err(LoadError::Memory)?;
        }
        let span =
            |s: &SegmentImage| (page_down(s.vaddr), page_up(s.vaddr.saturating_add(s.mem_bytes)));
        for s in &self.segments {
            let (start, end) = span(s);
            mem.protect(start, end, s.perms);
        }
        // A page two segments share gets the union of their rights (W^X checked by the parser).
        for (i, a) in self.segments.iter().enumerate() {
            for b in self.segments.iter().skip(i.saturating_add(1)) {
                let ((a0, a1), (b0, b1)) = (span(a), span(b));
                let (lo, hi) = (a0.max(b0), a1.min(b1));
                if lo < hi {
                    mem.protect(lo, hi, a.perms.with(b.perms));
                }
            }
        }
        let l = &self.layout;
        mem.map(l.stack_start, STACK_TOP, Perms::RW);
        mem.map(l.heap_start, l.heap_end, Perms::RW);
        let mut cpu = Cpu::default();
        let sp = self.write_stack(&mut mem, argv, envp, host)?;
        cpu.set(reg::SP, sp);
        cpu.pc = self.entry;
        let os = Os::new(l, sp);
        Ok(Instance::from_parts(cpu, mem, self, os))
    }

    /// Writes argc/argv/envp/auxv below `STACK_TOP`; returns the initial `sp`.
    fn write_stack(
        &self,
        mem: &mut Memory<'_>,
        argv: &[&[u8]],
        envp: &[&[u8]],
        host: &mut dyn Host,
    ) -> Result<u64, LoadError> {
        let count = argv.len().saturating_add(envp.len());
        let strings: usize = argv.iter().chain(envp).map(|s| s.len().saturating_add(1)).sum();
        let bytes = strings.saturating_add(count.saturating_add(64).saturating_mul(8));
        if count > ARGS_COUNT_MAX || bytes > ARGS_BYTES_MAX {
            return Err(LoadError::Args { bytes, count });
        }
        let fault = LoadError::Memory;
        let mut at = STACK_TOP;
        let mut push = |mem: &mut Memory<'_>, data: &[u8]| -> Result<u64, LoadError> {
            at = at.saturating_sub(data.len() as u64);
            mem.write_bytes(at, data).map_err(fault)?;
            Ok(at)
        };
        let platform = push(mem, b"riscv64\0")?;
        let mut random = [0u8; 16];
        host.random(&mut random);
        let random_at = push(mem, &random)?;
        let mut string_ptrs = Vec::with_capacity(count);
        for s in argv.iter().chain(envp) {
            push(mem, &[0])?;
            string_ptrs.push(push(mem, s)?);
        }
        let (argv_ptrs, envp_ptrs) = string_ptrs.split_at(argv.len().min(string_ptrs.len()));
        // I=8 M=12 A=0 F=5 D=3 C=2: bit (letter - 'a').
        let hwcap: u64 = (1 << 8) | (1 << 12) | 1 | (1 << 5) | (1 << 3) | (1 << 2);
        let auxv: [(u64, u64); 15] = [
            (3, self.phdr_addr),        // AT_PHDR
            (4, 56),                    // AT_PHENT
            (5, u64::from(self.phnum)), // AT_PHNUM
            (6, PAGE_BYTES),            // AT_PAGESZ
            (7, 0),                     // AT_BASE
            (8, 0),                     // AT_FLAGS
            (9, self.entry),            // AT_ENTRY
            (11, 0),                    // AT_UID
            (12, 0),                    // AT_EUID
            (13, 0),                    // AT_GID
            (14, 0),                    // AT_EGID
            (16, hwcap),                // AT_HWCAP
            (17, 100),                  // AT_CLKTCK
            (23, 0),                    // AT_SECURE
            (25, random_at),            // AT_RANDOM
        ];
        let mut words: Vec<u64> = Vec::with_capacity(count.saturating_add(40));
        words.push(argv_ptrs.len() as u64);
        words.extend_from_slice(argv_ptrs);
        words.push(0);
        words.extend_from_slice(envp_ptrs);
        words.push(0);
        for (k, v) in auxv {
            words.push(k);
            words.push(v);
        }
        words.extend_from_slice(&[15, platform, 0, 0]); // AT_PLATFORM, AT_NULL
        let table_bytes = (words.len() as u64).saturating_mul(8);
        let sp = at.saturating_sub(table_bytes) & !15;
        let raw: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        mem.write_bytes(sp, &raw).map_err(LoadError::Memory)?;
        Ok(sp)
    }
}
