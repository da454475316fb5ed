//! A tiny assembler and ELF writer for tests: instruction encoders (independent of the VM's
//! decoder), an ELF64 builder with a text and a data segment, and a runner that boots it.

use shardbox_vm::{Captured, Config, Instance, Outcome, PagePool, Program};

/// Where test code is loaded.
pub const TEXT: u64 = 0x10000;
/// Where test data is loaded (one RW segment of `DATA_BYTES`).
pub const DATA: u64 = 0x20000;
/// Size of the data segment.
pub const DATA_BYTES: u64 = 0x2000;

pub fn r(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}
pub fn i(imm: i32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}
pub fn s(imm: i32, rs2: u32, rs1: u32, f3: u32, op: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | op
}
pub fn b(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 12) & 1) << 31)
        | (((imm >> 5) & 0x3f) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (f3 << 12)
        | (((imm >> 1) & 0xf) << 8)
        | (((imm >> 11) & 1) << 7)
        | 0x63
}
pub fn u(imm20: u32, rd: u32, op: u32) -> u32 {
    (imm20 << 12) | (rd << 7) | op
}
pub fn j(imm: i32, rd: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 20) & 1) << 31)
        | (((imm >> 1) & 0x3ff) << 21)
        | (((imm >> 11) & 1) << 20)
        | (((imm >> 12) & 0xff) << 12)
        | (rd << 7)
        | 0x6f
}
pub fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
    i(imm, rs1, 0, rd, 0x13)
}
pub const ECALL: u32 = 0x0000_0073;
pub const EBREAK: u32 = 0x0010_0073;

/// Little-endian bytes of 32-bit words.
pub fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// An ELF64 RISC-V executable: `text` at [`TEXT`] (R+X), `data` at [`DATA`] (R+W,
/// `DATA_BYTES` in memory), entry at `TEXT`, no section headers.
pub fn elf(text: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 64 + 2 * 56];
    let text_off = out.len() as u64;
    out.extend_from_slice(text);
    while !out.len().is_multiple_of(16) {
        out.push(0);
    }
    let data_off = out.len() as u64;
    out.extend_from_slice(data);
    let h = &mut out[..64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2;
    h[5] = 1;
    h[6] = 1;
    h[16..18].copy_from_slice(&2u16.to_le_bytes());
    h[18..20].copy_from_slice(&243u16.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[24..32].copy_from_slice(&TEXT.to_le_bytes());
    h[32..40].copy_from_slice(&64u64.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes());
    h[54..56].copy_from_slice(&56u16.to_le_bytes());
    h[56..58].copy_from_slice(&2u16.to_le_bytes());
    let ph = |out: &mut Vec<u8>,
              at: usize,
              flags: u32,
              off: u64,
              vaddr: u64,
              filesz: u64,
              memsz: u64| {
        let p = &mut out[at..at + 56];
        p[..4].copy_from_slice(&1u32.to_le_bytes());
        p[4..8].copy_from_slice(&flags.to_le_bytes());
        p[8..16].copy_from_slice(&off.to_le_bytes());
        p[16..24].copy_from_slice(&vaddr.to_le_bytes());
        p[24..32].copy_from_slice(&vaddr.to_le_bytes());
        p[32..40].copy_from_slice(&filesz.to_le_bytes());
        p[40..48].copy_from_slice(&memsz.to_le_bytes());
        p[48..56].copy_from_slice(&0x1000u64.to_le_bytes());
    };
    ph(&mut out, 64, 5, text_off, TEXT, text.len() as u64, text.len().max(4) as u64);
    ph(&mut out, 120, 6, data_off, DATA, data.len() as u64, DATA_BYTES);
    out
}

/// Loads `elf` and boots it; `f` gets the instance (set registers, run, inspect).
pub fn with_vm<T>(elf: &[u8], f: impl FnOnce(&mut Instance<'_>) -> T) -> T {
    let program = Program::load(elf, &Config::default()).expect("test ELF loads");
    let pool = PagePool::new(4096);
    let mut host = Captured::default();
    let mut vm = program.boot(&pool, &[b"t"], &[], &mut host).expect("boots");
    f(&mut vm)
}

/// Runs `code` (words) with `x[1..]` preset from `regs` (index, value) until it ends; returns
/// the outcome and the final integer registers.
pub fn run_words(code: &[u32], regs: &[(usize, u64)], fuel: u64) -> (Outcome, [u64; 32]) {
    let image = elf(&words(code), &[]);
    with_vm(&image, |vm| {
        for &(i, v) in regs {
            vm.cpu_mut().x[i] = v;
        }
        let out = vm.run(fuel, &mut Captured::default());
        let mut x = [0u64; 32];
        x.copy_from_slice(&vm.cpu().x[..32]);
        (out, x)
    })
}
