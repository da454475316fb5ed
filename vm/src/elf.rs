//! Parsing of static little-endian RISC-V ELF64 executables.
//!
//! [`parse`] checks the header, reads the program headers into [`Segment`]s (with their
//! permissions; a segment both writable and executable is refused) and the symbol table into a
//! name → address map, and returns an [`Elf`] that borrows the file. `ET_EXEC` is loaded at its
//! link addresses; `ET_DYN` without an interpreter (static-pie) is shifted by
//! [`crate::limits::PIE_BASE`] and relocates itself (glibc's `_dl_relocate_static_pie`).
//! Programs that need a dynamic loader (`PT_INTERP`) are refused.
//!
//! Every offset, size and count comes from the file and is checked before use: arithmetic is
//! checked (`clippy::arithmetic_side_effects` is denied here), slices are taken with `get`, and
//! counts are bounded by the limits in [`crate::limits`]. A malformed file is an [`ElfError`],
//! never a panic. It does not map memory or decode code (`crate::program`).
#![deny(clippy::arithmetic_side_effects)]

use std::collections::HashMap;

use crate::limits::{
    ELF_BYTES_MAX, ELF_LOADS_MAX, ELF_PHNUM_MAX, ELF_SHNUM_MAX, PIE_BASE, SYMBOL_NAME_BYTES_MAX,
    SYMBOLS_MAX,
};
use crate::memory::Perms;

const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const SHT_SYMTAB: u32 = 2;
const EM_RISCV: u16 = 243;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

/// A malformed or unsupported ELF file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// The file is larger than the limit.
    #[error("ELF file is {len} bytes, over the {max}-byte limit")]
    TooLarge {
        /// File size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A structure lies (partly) beyond the end of the file.
    #[error("ELF {what} lies outside the file")]
    Truncated {
        /// Which structure.
        what: &'static str,
    },
    /// No `\x7fELF` magic.
    #[error("not an ELF file")]
    BadMagic,
    /// Not 64-bit little-endian RISC-V.
    #[error(
        "not a little-endian ELF64 RISC-V file (class {class}, data {data}, machine {machine})"
    )]
    WrongArch {
        /// EI_CLASS.
        class: u8,
        /// EI_DATA.
        data: u8,
        /// e_machine.
        machine: u16,
    },
    /// Neither `ET_EXEC` nor `ET_DYN`.
    #[error("ELF type {0} is not an executable")]
    NotExecutable(u16),
    /// Needs a dynamic loader.
    #[error("dynamically linked programs are not supported (PT_INTERP); link with -static")]
    Dynamic,
    /// Program header entries of an unexpected size.
    #[error("program header entry size {0} (expected 56)")]
    BadPhentsize(u16),
    /// Too many program or section headers, or load segments.
    #[error("too many {what}: {count} (max {max})")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many the file has.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A segment's file size exceeds its memory size, or its address range overflows.
    #[error("load segment {index} is malformed ({why})")]
    BadSegment {
        /// Program header index.
        index: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// A segment is both writable and executable.
    #[error("load segment {index} is writable and executable (W^X)")]
    WriteExec {
        /// Program header index.
        index: usize,
    },
    /// Two load segments overlap.
    #[error("load segments {a} and {b} overlap")]
    Overlap {
        /// One segment.
        a: usize,
        /// The other.
        b: usize,
    },
    /// No `PT_LOAD` segment.
    #[error("no loadable segment")]
    NoSegments,
    /// The entry point is not in an executable segment.
    #[error("entry point {0:#x} is not in an executable segment")]
    BadEntry(u64),
}

/// One `PT_LOAD` segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Guest address (load bias applied).
    pub vaddr: u64,
    /// Bytes in memory (the part past `data` is zero).
    pub mem_bytes: u64,
    /// Bytes from the file.
    pub data: &'a [u8],
    /// Access rights.
    pub perms: Perms,
}

impl Segment<'_> {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.vaddr.saturating_add(self.mem_bytes)
    }
}

/// A parsed executable (see the module doc).
#[derive(Debug, Clone)]
pub struct Elf<'a> {
    /// Entry point (bias applied).
    pub entry: u64,
    /// Load bias (0 for `ET_EXEC`).
    pub bias: u64,
    /// Load segments, in file order.
    pub segments: Vec<Segment<'a>>,
    /// Guest address of the program headers, if they are loaded (for `AT_PHDR`).
    pub phdr_addr: Option<u64>,
    /// Number of program headers (`AT_PHNUM`).
    pub phnum: u16,
    /// Defined symbols from `.symtab`, name → address (bias applied).
    pub symbols: HashMap<String, u64>,
}

fn get<'a>(bytes: &'a [u8], off: u64, len: u64, what: &'static str) -> Result<&'a [u8], ElfError> {
    let start = usize::try_from(off).map_err(|_| ElfError::Truncated { what })?;
    let len = usize::try_from(len).map_err(|_| ElfError::Truncated { what })?;
    let end = start.checked_add(len).ok_or(ElfError::Truncated { what })?;
    bytes.get(start..end).ok_or(ElfError::Truncated { what })
}

fn le<const N: usize>(bytes: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = off.checked_add(N).and_then(|end| bytes.get(off..end)) {
        out.copy_from_slice(src);
    }
    out
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(le(b, off))
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(le(b, off))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(le(b, off))
}

/// Parses `bytes` (see the module doc).
pub fn parse(bytes: &[u8]) -> Result<Elf<'_>, ElfError> {
    if bytes.len() > ELF_BYTES_MAX {
        return Err(ElfError::TooLarge { len: bytes.len(), max: ELF_BYTES_MAX });
    }
    let header = get(bytes, 0, 64, "header")?;
    if header.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(ElfError::BadMagic);
    }
    let (class, data, machine) = (le::<1>(header, 4)[0], le::<1>(header, 5)[0], u16_at(header, 18));
    if class != 2 || data != 1 || machine != EM_RISCV {
        return Err(ElfError::WrongArch { class, data, machine });
    }
    let kind = u16_at(header, 16);
    let bias = match kind {
        ET_EXEC => 0,
        ET_DYN => PIE_BASE,
        other => return Err(ElfError::NotExecutable(other)),
    };
    let entry = u64_at(header, 24).checked_add(bias).ok_or(ElfError::BadEntry(u64::MAX))?;
    let (phoff, shoff) = (u64_at(header, 32), u64_at(header, 40));
    let (phentsize, phnum) = (u16_at(header, 54), u16_at(header, 56));
    let (shentsize, shnum) = (u16_at(header, 58), u16_at(header, 60));
    if usize::from(phnum) > ELF_PHNUM_MAX {
        return Err(ElfError::TooMany {
            what: "program headers",
            count: phnum.into(),
            max: ELF_PHNUM_MAX,
        });
    }
    if phentsize != 56 {
        return Err(ElfError::BadPhentsize(phentsize));
    }
    let table = get(bytes, phoff, u64::from(phnum).saturating_mul(56), "program headers")?;
    let mut segments = Vec::new();
    let mut phdr_addr = None;
    let mut first_load_off_vaddr = None;
    for (index, ph) in table.chunks_exact(56).enumerate() {
        let p_type = u32_at(ph, 0);
        let flags = u32_at(ph, 4);
        let (offset, vaddr, filesz, memsz) =
            (u64_at(ph, 8), u64_at(ph, 16), u64_at(ph, 32), u64_at(ph, 40));
        match p_type {
            PT_INTERP => return Err(ElfError::Dynamic),
            PT_PHDR => phdr_addr = vaddr.checked_add(bias),
            PT_LOAD => {
                if filesz > memsz {
                    return Err(ElfError::BadSegment {
                        index,
                        why: "file size exceeds memory size",
                    });
                }
                let vaddr = vaddr
                    .checked_add(bias)
                    .ok_or(ElfError::BadSegment { index, why: "address overflows" })?;
                vaddr
                    .checked_add(memsz)
                    .ok_or(ElfError::BadSegment { index, why: "address overflows" })?;
                if flags & PF_W != 0 && flags & PF_X != 0 {
                    return Err(ElfError::WriteExec { index });
                }
                let data = get(bytes, offset, filesz, "segment data")?;
                let mut perms = Perms::NONE;
                if flags & PF_R != 0 {
                    perms = perms.with(Perms::R);
                }
                if flags & PF_W != 0 {
                    perms = perms.with(Perms::W);
                }
                if flags & PF_X != 0 {
                    perms = perms.with(Perms::X);
                }
                if first_load_off_vaddr.is_none() && offset == 0 {
                    first_load_off_vaddr = Some(vaddr);
                }
                segments.push(Segment { vaddr, mem_bytes: memsz, data, perms });
            }
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(ElfError::NoSegments);
    }
    if segments.len() > ELF_LOADS_MAX {
        return Err(ElfError::TooMany {
            what: "load segments",
            count: segments.len(),
            max: ELF_LOADS_MAX,
        });
    }
    // Overlap at page granularity is allowed only between segments that agree on W^X; byte
    // overlap is never allowed.
    for (a, sa) in segments.iter().enumerate() {
        for (b, sb) in segments.iter().enumerate().skip(a.saturating_add(1)) {
            if sa.vaddr < sb.end() && sb.vaddr < sa.end() {
                return Err(ElfError::Overlap { a, b });
            }
            let page = |x: u64| x >> 12;
            let share = page(sa.vaddr) <= page(sb.end().saturating_sub(1))
                && page(sb.vaddr) <= page(sa.end().saturating_sub(1));
            let wx = (sa.perms.has(Perms::W) && sb.perms.has(Perms::X))
                || (sa.perms.has(Perms::X) && sb.perms.has(Perms::W));
            if share && wx {
                return Err(ElfError::WriteExec { index: b });
            }
        }
    }
    if !segments.iter().any(|s| s.perms.has(Perms::X) && s.vaddr <= entry && entry < s.end()) {
        return Err(ElfError::BadEntry(entry));
    }
    // AT_PHDR without PT_PHDR: the headers are loaded if the first segment maps offset 0.
    if phdr_addr.is_none()
        && let Some(base) = first_load_off_vaddr
    {
        phdr_addr = base.checked_add(phoff);
    }
    let symbols = symbols(bytes, shoff, shentsize, shnum, bias)?;
    Ok(Elf { entry, bias, segments, phdr_addr, phnum, symbols })
}

/// Reads `.symtab` (if any) into a map of defined symbols.
fn symbols(
    bytes: &[u8],
    shoff: u64,
    shentsize: u16,
    shnum: u16,
    bias: u64,
) -> Result<HashMap<String, u64>, ElfError> {
    let mut out = HashMap::new();
    if shoff == 0 || shnum == 0 {
        return Ok(out);
    }
    if usize::from(shnum) > ELF_SHNUM_MAX {
        return Err(ElfError::TooMany {
            what: "section headers",
            count: shnum.into(),
            max: ELF_SHNUM_MAX,
        });
    }
    if shentsize != 64 {
        return Err(ElfError::Truncated { what: "section headers (entry size)" });
    }
    let table = get(bytes, shoff, u64::from(shnum).saturating_mul(64), "section headers")?;
    let section = |i: u32| -> Option<&[u8]> {
        let start = usize::try_from(i).ok()?.checked_mul(64)?;
        table.get(start..start.checked_add(64)?)
    };
    for sh in table.chunks_exact(64) {
        if u32_at(sh, 4) != SHT_SYMTAB {
            continue;
        }
        let (off, size, link, entsize) =
            (u64_at(sh, 24), u64_at(sh, 32), u32_at(sh, 40), u64_at(sh, 56));
        if entsize != 24 {
            return Err(ElfError::Truncated { what: "symbol table (entry size)" });
        }
        let syms = get(bytes, off, size, "symbol table")?;
        let strtab_sh = section(link).ok_or(ElfError::Truncated { what: "string table header" })?;
        let strtab = get(bytes, u64_at(strtab_sh, 24), u64_at(strtab_sh, 32), "string table")?;
        for sym in syms.chunks_exact(24) {
            let (name_off, shndx, value) = (u32_at(sym, 0), u16_at(sym, 6), u64_at(sym, 8));
            if shndx == 0 || name_off == 0 {
                continue;
            }
            let Some(tail) = usize::try_from(name_off).ok().and_then(|o| strtab.get(o..)) else {
                continue;
            };
            let Some(len) =
                tail.iter().take(SYMBOL_NAME_BYTES_MAX.saturating_add(1)).position(|&b| b == 0)
            else {
                continue;
            };
            let Some(Ok(name)) = tail.get(..len).map(std::str::from_utf8) else { continue };
            if out.len() >= SYMBOLS_MAX {
                return Err(ElfError::TooMany {
                    what: "symbols",
                    count: out.len().saturating_add(1),
                    max: SYMBOLS_MAX,
                });
            }
            // Absolute symbols (SHN_ABS) are not shifted by the bias.
            let addr = if shndx == 0xfff1 { value } else { value.wrapping_add(bias) };
            // Global definitions win over local ones of the same name.
            let global = le::<1>(sym, 4)[0] >> 4 != 0;
            if global || !out.contains_key(name) {
                out.insert(name.to_owned(), addr);
            }
        }
    }
    Ok(out)
}
