//! An independent, naive reference interpreter for RV64IM (+ loads/stores, branches, jumps),
//! written from the spec with no code shared with the VM, and a differential property test:
//! random instruction streams (every register, `x0` included as destination, every edge of
//! shifts and division, misaligned loads and stores, forward branches and jumps) must leave
//! both with the same registers, the same data memory and the same instruction count
//! (STYLE §11, memchr's naive-model pattern). Failing seeds are kept in
//! `vm/tests/proptest-regressions/` and replayed first.

use proptest::prelude::*;

use crate::asm::{self, DATA, DATA_BYTES, EBREAK, b, i, j, r, s, u};

/// The reference machine.
pub struct Ref {
    pub x: [u64; 32],
    pub pc: u64,
    pub mem: Vec<u8>,
    pub retired: u64,
}

fn bits(w: u32, hi: u32, lo: u32) -> u32 {
    (w >> lo) & ((1u64 << (hi - lo + 1)) - 1) as u32
}

fn sext(v: u64, width: u32) -> u64 {
    ((v << (64 - width)) as i64 >> (64 - width)) as u64
}

impl Ref {
    fn set(&mut self, rd: u32, v: u64) {
        if rd != 0 {
            self.x[rd as usize] = v;
        }
    }

    fn load(&self, addr: u64, n: usize) -> u64 {
        let off = (addr - DATA) as usize;
        let mut v = 0u64;
        for k in 0..n {
            v |= u64::from(self.mem[off + k]) << (8 * k);
        }
        v
    }

    fn store(&mut self, addr: u64, n: usize, v: u64) {
        let off = (addr - DATA) as usize;
        for k in 0..n {
            self.mem[off + k] = (v >> (8 * k)) as u8;
        }
    }

    /// Runs `code` from its start until the `ebreak` at its end.
    pub fn run(&mut self, code: &[u32]) {
        self.pc = asm::TEXT;
        loop {
            let w = code[((self.pc - asm::TEXT) / 4) as usize];
            if w == EBREAK {
                return;
            }
            self.retired += 1;
            self.step(w);
        }
    }

    #[expect(clippy::manual_checked_ops, reason = "the reference spells out the spec's cases")]
    fn step(&mut self, w: u32) {
        let (rd, rs1, rs2) = (bits(w, 11, 7), bits(w, 19, 15), bits(w, 24, 20));
        let (a, bv) = (self.x[rs1 as usize], self.x[rs2 as usize]);
        let f3 = bits(w, 14, 12);
        let f7 = bits(w, 31, 25);
        let imm_i = sext(u64::from(w >> 20), 12);
        let mut next = self.pc + 4;
        match w & 0x7f {
            0x37 => self.set(rd, sext(u64::from(w & 0xffff_f000), 32)),
            0x17 => self.set(rd, self.pc.wrapping_add(sext(u64::from(w & 0xffff_f000), 32))),
            0x6f => {
                let imm = (bits(w, 31, 31) << 20)
                    | (bits(w, 19, 12) << 12)
                    | (bits(w, 20, 20) << 11)
                    | (bits(w, 30, 21) << 1);
                self.set(rd, self.pc + 4);
                next = self.pc.wrapping_add(sext(u64::from(imm), 21));
            }
            0x63 => {
                let imm = (bits(w, 31, 31) << 12)
                    | (bits(w, 7, 7) << 11)
                    | (bits(w, 30, 25) << 5)
                    | (bits(w, 11, 8) << 1);
                let take = match f3 {
                    0 => a == bv,
                    1 => a != bv,
                    4 => (a as i64) < (bv as i64),
                    5 => (a as i64) >= (bv as i64),
                    6 => a < bv,
                    _ => a >= bv,
                };
                if take {
                    next = self.pc.wrapping_add(sext(u64::from(imm), 13));
                }
            }
            0x03 => {
                let addr = a.wrapping_add(imm_i);
                let v = match f3 {
                    0 => sext(self.load(addr, 1), 8),
                    1 => sext(self.load(addr, 2), 16),
                    2 => sext(self.load(addr, 4), 32),
                    3 => self.load(addr, 8),
                    4 => self.load(addr, 1),
                    5 => self.load(addr, 2),
                    _ => self.load(addr, 4),
                };
                self.set(rd, v);
            }
            0x23 => {
                let imm = sext(u64::from((bits(w, 31, 25) << 5) | bits(w, 11, 7)), 12);
                self.store(a.wrapping_add(imm), 1 << f3, bv);
            }
            0x13 => {
                let sh = u64::from(bits(w, 25, 20));
                let v = match f3 {
                    0 => a.wrapping_add(imm_i),
                    2 => u64::from((a as i64) < (imm_i as i64)),
                    3 => u64::from(a < imm_i),
                    4 => a ^ imm_i,
                    6 => a | imm_i,
                    7 => a & imm_i,
                    1 => a << sh,
                    _ if bits(w, 30, 30) == 1 => ((a as i64) >> sh) as u64,
                    _ => a >> sh,
                };
                self.set(rd, v);
            }
            0x1b => {
                let sh = bits(w, 24, 20);
                let a32 = a as u32;
                let v = match f3 {
                    0 => u64::from(a32.wrapping_add(imm_i as u32)),
                    1 => u64::from(a32 << sh),
                    _ if bits(w, 30, 30) == 1 => ((a32 as i32) >> sh) as u32 as u64,
                    _ => u64::from(a32 >> sh),
                };
                self.set(rd, sext(v, 32));
            }
            0x33 => {
                let (sa, sb) = (a as i64, bv as i64);
                let v = match (f7, f3) {
                    (0, 0) => a.wrapping_add(bv),
                    (0x20, 0) => a.wrapping_sub(bv),
                    (0, 1) => a << (bv & 63),
                    (0, 2) => u64::from(sa < sb),
                    (0, 3) => u64::from(a < bv),
                    (0, 4) => a ^ bv,
                    (0, 5) => a >> (bv & 63),
                    (0x20, 5) => (sa >> (bv & 63)) as u64,
                    (0, 6) => a | bv,
                    (0, 7) => a & bv,
                    (1, 0) => a.wrapping_mul(bv),
                    (1, 1) => ((i128::from(sa) * i128::from(sb)) >> 64) as u64,
                    (1, 2) => ((i128::from(sa) * i128::from(bv)) >> 64) as u64,
                    (1, 3) => ((u128::from(a) * u128::from(bv)) >> 64) as u64,
                    (1, 4) => {
                        if sb == 0 {
                            u64::MAX
                        } else if sa == i64::MIN && sb == -1 {
                            a
                        } else {
                            (sa / sb) as u64
                        }
                    }
                    (1, 5) => {
                        if bv == 0 {
                            u64::MAX
                        } else {
                            a / bv
                        }
                    }
                    (1, 6) => {
                        if sb == 0 {
                            a
                        } else if sa == i64::MIN && sb == -1 {
                            0
                        } else {
                            (sa % sb) as u64
                        }
                    }
                    _ => {
                        if bv == 0 {
                            a
                        } else {
                            a % bv
                        }
                    }
                };
                self.set(rd, v);
            }
            _ => {
                // 0x3b
                let (a32, b32) = (a as u32, bv as u32);
                let (sa, sb) = (a32 as i32, b32 as i32);
                let v: u32 = match (f7, f3) {
                    (0, 0) => a32.wrapping_add(b32),
                    (0x20, 0) => a32.wrapping_sub(b32),
                    (0, 1) => a32 << (b32 & 31),
                    (0, 5) => a32 >> (b32 & 31),
                    (0x20, 5) => (sa >> (b32 & 31)) as u32,
                    (1, 0) => a32.wrapping_mul(b32),
                    (1, 4) => {
                        if sb == 0 {
                            u32::MAX
                        } else if sa == i32::MIN && sb == -1 {
                            a32
                        } else {
                            (sa / sb) as u32
                        }
                    }
                    (1, 5) => {
                        if b32 == 0 {
                            u32::MAX
                        } else {
                            a32 / b32
                        }
                    }
                    (1, 6) => {
                        if sb == 0 {
                            a32
                        } else if sa == i32::MIN && sb == -1 {
                            0
                        } else {
                            (sa % sb) as u32
                        }
                    }
                    _ => {
                        if b32 == 0 {
                            a32
                        } else {
                            a32 % b32
                        }
                    }
                };
                self.set(rd, sext(u64::from(v), 32));
            }
        }
        self.pc = next;
    }
}

/// A destination register from a random number: x5 holds the data pointer and is never one;
/// x0 is picked often.
fn dest(n: u32) -> u32 {
    match n % 40 {
        0..=7 => 0,
        k => match (k % 31) + 1 {
            5 => 6,
            d => d,
        },
    }
}

/// An immediate that hits the edges often.
fn imm12(n: u32) -> i32 {
    match n % 8 {
        0 => 0,
        1 => -1,
        2 => 1,
        3 => 2047,
        4 => -2048,
        _ => (n >> 3) as i32 % 2048 * if n & 0x8000_0000 != 0 { -1 } else { 1 },
    }
}

/// Instruction `at` of a program of `len` from random words `w` (branch/jump targets stay
/// inside the program, loads and stores inside the data segment).
fn make(at: usize, len: usize, w: [u32; 5]) -> u32 {
    const OPS: [(u32, u32); 18] = [
        (0, 0),
        (0x20, 0),
        (0, 1),
        (0, 2),
        (0, 3),
        (0, 4),
        (0, 5),
        (0x20, 5),
        (0, 6),
        (0, 7),
        (1, 0),
        (1, 1),
        (1, 2),
        (1, 3),
        (1, 4),
        (1, 5),
        (1, 6),
        (1, 7),
    ];
    const OPS32: [(u32, u32); 10] =
        [(0, 0), (0x20, 0), (0, 1), (0, 5), (0x20, 5), (1, 0), (1, 4), (1, 5), (1, 6), (1, 7)];
    let [kind, a, c, d, e] = w;
    let (rd, rs1, rs2) = (dest(a), c % 32, d % 32);
    let left = (len - at) as u32; // up to and including the final ebreak
    let off = (e % (DATA_BYTES as u32 - 8).min(2047)) as i32;
    match kind % 24 {
        0..=4 => {
            let (f7, f3) = OPS[(e % 18) as usize];
            r(f7, rs2, rs1, f3, rd, 0x33)
        }
        5..=7 => {
            let (f7, f3) = OPS32[(e % 10) as usize];
            r(f7, rs2, rs1, f3, rd, 0x3b)
        }
        8..=10 => i(imm12(e), rs1, [0, 2, 3, 4, 6, 7][(d % 6) as usize], rd, 0x13),
        11 | 12 => {
            let (f3, hi) = [(1, 0), (5, 0), (5, 0x400)][(d % 3) as usize];
            i((e % 64) as i32 | hi, rs1, f3, rd, 0x13)
        }
        13 | 14 => match d % 4 {
            0 => i(imm12(e), rs1, 0, rd, 0x1b),
            k => {
                let (f3, hi) = [(1, 0), (5, 0), (5, 0x400)][(k - 1) as usize];
                i((e % 32) as i32 | hi, rs1, f3, rd, 0x1b)
            }
        },
        15 => u(e & 0xfffff, rd, if d & 1 == 0 { 0x37 } else { 0x17 }),
        16..=18 => i(off, 5, d % 7, rd, 0x03),
        19..=21 => s(off, rs2, 5, d % 4, 0x23),
        22 => b(4 * (1 + e % left) as i32, rs2, rs1, [0, 1, 4, 5, 6, 7][(d % 6) as usize]),
        _ => j(4 * (1 + e % left) as i32, rd),
    }
}

fn program() -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<[u32; 5]>(), 1..48).prop_map(|words| {
        let n = words.len();
        let mut code: Vec<u32> =
            words.into_iter().enumerate().map(|(at, w)| make(at, n, w)).collect();
        code.push(EBREAK);
        code
    })
}

fn regs() -> impl Strategy<Value = [u64; 32]> {
    const EDGES: [u64; 7] =
        [0, u64::MAX, i64::MIN as u64, i64::MAX as u64, 0x8000_0000, 0xffff_ffff, 1];
    prop::collection::vec(any::<u64>(), 64).prop_map(|v| {
        let mut out = [0u64; 32];
        for (k, slot) in out.iter_mut().enumerate() {
            let (pick, raw) = (v[2 * k], v[2 * k + 1]);
            *slot = if pick % 2 == 0 { EDGES[(pick / 2 % 7) as usize] } else { raw };
        }
        out
    })
}

/// The VM and the reference agree on registers, memory and the number of instructions.
pub fn agree(code: &[u32], init: [u64; 32], data: &[u8]) -> Result<(), TestCaseError> {
    let mut x = init;
    x[0] = 0;
    x[5] = DATA;
    let mut reference = Ref { x, pc: asm::TEXT, mem: vec![0; DATA_BYTES as usize], retired: 0 };
    reference.mem[..data.len()].copy_from_slice(data);
    reference.run(code);
    let image = asm::elf(&asm::words(code), data);
    asm::with_vm(&image, |vm| {
        vm.cpu_mut().x[..32].copy_from_slice(&x);
        let out = vm.run(10_000, &mut shardbox_vm::NullHost);
        let end = asm::TEXT + 4 * (code.len() as u64 - 1);
        prop_assert_eq!(
            out,
            shardbox_vm::Outcome::Trap { kind: shardbox_vm::TrapKind::Breakpoint, pc: end }
        );
        prop_assert_eq!(&vm.cpu().x[..32], &reference.x[..]);
        prop_assert_eq!(vm.instret(), reference.retired);
        let mut mem = vec![0u8; DATA_BYTES as usize];
        vm.memory().read_bytes(DATA, &mut mem).expect("data readable");
        prop_assert!(mem == reference.mem, "data memory differs");
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn vm_matches_the_reference(code in program(), init in regs(), data in prop::collection::vec(any::<u8>(), 0..256)) {
        agree(&code, init, &data)?;
    }
}

#[test]
fn reference_smoke() {
    let code = [asm::addi(1, 0, 5), EBREAK];
    agree(&code, [0; 32], &[1, 2, 3]).unwrap();
}
