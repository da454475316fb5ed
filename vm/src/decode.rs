//! Decoding of 32-bit RV64IMA + Zicsr + Zifencei instructions into [`Op`]s.
//!
//! [`decode32`] takes raw instruction bits and the instruction's length in halfwords (2 for a
//! 32-bit instruction, 1 when it is the expansion of an RVC instruction by [`crate::rvc`]) and
//! returns the pre-decoded [`Op`]. Anything the unprivileged spec leaves reserved or that this VM
//! does not implement decodes to [`Kind::Illegal`] carrying the raw bits.
//!
//! Floating point (LOAD-FP, STORE-FP, OP-FP, FMADD/FMSUB/FNMSUB/FNMADD) is decoded by
//! [`decode_fp`] through [`crate::fpu::insn`], so the F/D encodings have one decoder. FP ops
//! whose destination is the integer register `x0` (`feq`, `fclass`, `fcvt.w.d`, `fmv.x.w`, …)
//! write the sink register: they still accrue `fflags`, so they are not NOPs.
//!
//! Branch and JAL immediates are stored in halfwords, so the interpreter adds them to its
//! instruction index without shifting.

use crate::fpu::insn::{self as fp, FpMemOp, FpOp};
use crate::op::{Kind, Op, SINK};

fn bits(x: u32, hi: u32, lo: u32) -> u32 {
    (x >> lo) & ((1u32 << (hi - lo + 1)) - 1)
}

fn sext(value: u32, width: u32) -> i32 {
    let shift = 32 - width;
    ((value << shift) as i32) >> shift
}

fn imm_i(x: u32) -> i32 {
    (x as i32) >> 20
}

fn imm_s(x: u32) -> i32 {
    sext((bits(x, 31, 25) << 5) | bits(x, 11, 7), 12)
}

fn imm_b(x: u32) -> i32 {
    sext(
        (bits(x, 31, 31) << 12)
            | (bits(x, 7, 7) << 11)
            | (bits(x, 30, 25) << 5)
            | (bits(x, 11, 8) << 1),
        13,
    )
}

fn imm_j(x: u32) -> i32 {
    sext(
        (bits(x, 31, 31) << 20)
            | (bits(x, 19, 12) << 12)
            | (bits(x, 20, 20) << 11)
            | (bits(x, 30, 21) << 1),
        21,
    )
}

fn reg(x: u32, lo: u32) -> u8 {
    bits(x, lo + 4, lo) as u8
}

/// Decodes one 32-bit instruction (see the module doc). `len` is 2, or 1 for an RVC expansion.
pub fn decode32(x: u32, len: u8) -> Op {
    let illegal = Op { kind: Kind::Illegal, imm: x as i32, ..Op::bare(Kind::Illegal, len) };
    if x & 3 != 3 {
        return illegal;
    }
    let rd = reg(x, 7);
    let rs1 = reg(x, 15);
    let rs2 = reg(x, 20);
    let f3 = bits(x, 14, 12);
    let f7 = bits(x, 31, 25);
    let op = |kind: Kind, imm: i32| Op { kind, rd, rs1, rs2, imm, blk: 1, len, rs3: 0 };
    // Pure ops writing x0 have no effect; ops with side effects write the sink instead.
    let pure = |kind: Kind, imm: i32| {
        if rd == 0 { Op::bare(Kind::Nop, len) } else { op(kind, imm) }
    };
    let effect = |kind: Kind, imm: i32| {
        let mut o = op(kind, imm);
        if rd == 0 {
            o.rd = SINK;
        }
        o
    };
    match bits(x, 6, 0) {
        0x37 => pure(Kind::Li, (x & 0xffff_f000) as i32),
        0x17 => pure(Kind::Auipc, (x & 0xffff_f000) as i32),
        0x6f => effect(Kind::Jal, imm_j(x) >> 1),
        0x67 if f3 == 0 => effect(Kind::Jalr, imm_i(x)),
        0x63 => {
            let kind = match f3 {
                0 => Kind::Beq,
                1 => Kind::Bne,
                4 => Kind::Blt,
                5 => Kind::Bge,
                6 => Kind::Bltu,
                7 => Kind::Bgeu,
                _ => return illegal,
            };
            Op { kind, rd: 0, rs1, rs2, imm: imm_b(x) >> 1, blk: 1, len, rs3: 0 }
        }
        0x03 => {
            let kind = match f3 {
                0 => Kind::Lb,
                1 => Kind::Lh,
                2 => Kind::Lw,
                3 => Kind::Ld,
                4 => Kind::Lbu,
                5 => Kind::Lhu,
                6 => Kind::Lwu,
                _ => return illegal,
            };
            effect(kind, imm_i(x))
        }
        0x23 => {
            let kind = match f3 {
                0 => Kind::Sb,
                1 => Kind::Sh,
                2 => Kind::Sw,
                3 => Kind::Sd,
                _ => return illegal,
            };
            Op { kind, rd: 0, rs1, rs2, imm: imm_s(x), blk: 1, len, rs3: 0 }
        }
        0x13 => {
            let imm = imm_i(x);
            let shamt = bits(x, 25, 20) as i32;
            let f6 = bits(x, 31, 26);
            match f3 {
                0 if rs1 == 0 => pure(Kind::Li, imm),
                0 if imm == 0 => pure(Kind::Mv, 0),
                0 => pure(Kind::Addi, imm),
                2 => pure(Kind::Slti, imm),
                3 => pure(Kind::Sltiu, imm),
                4 => pure(Kind::Xori, imm),
                6 => pure(Kind::Ori, imm),
                7 => pure(Kind::Andi, imm),
                1 if f6 == 0 => pure(Kind::Slli, shamt),
                5 if f6 == 0 => pure(Kind::Srli, shamt),
                5 if f6 == 0x10 => pure(Kind::Srai, shamt),
                _ => illegal,
            }
        }
        0x1b => {
            let shamt = bits(x, 24, 20) as i32;
            match (f3, f7) {
                (0, _) => pure(Kind::Addiw, imm_i(x)),
                (1, 0) => pure(Kind::Slliw, shamt),
                (5, 0) => pure(Kind::Srliw, shamt),
                (5, 0x20) => pure(Kind::Sraiw, shamt),
                _ => illegal,
            }
        }
        0x33 => {
            let kind = match (f7, f3) {
                (0, 0) => Kind::Add,
                (0x20, 0) => Kind::Sub,
                (0, 1) => Kind::Sll,
                (0, 2) => Kind::Slt,
                (0, 3) => Kind::Sltu,
                (0, 4) => Kind::Xor,
                (0, 5) => Kind::Srl,
                (0x20, 5) => Kind::Sra,
                (0, 6) => Kind::Or,
                (0, 7) => Kind::And,
                (1, 0) => Kind::Mul,
                (1, 1) => Kind::Mulh,
                (1, 2) => Kind::Mulhsu,
                (1, 3) => Kind::Mulhu,
                (1, 4) => Kind::Div,
                (1, 5) => Kind::Divu,
                (1, 6) => Kind::Rem,
                (1, 7) => Kind::Remu,
                _ => return illegal,
            };
            pure(kind, 0)
        }
        0x3b => {
            let kind = match (f7, f3) {
                (0, 0) => Kind::Addw,
                (0x20, 0) => Kind::Subw,
                (0, 1) => Kind::Sllw,
                (0, 5) => Kind::Srlw,
                (0x20, 5) => Kind::Sraw,
                (1, 0) => Kind::Mulw,
                (1, 4) => Kind::Divw,
                (1, 5) => Kind::Divuw,
                (1, 6) => Kind::Remw,
                (1, 7) => Kind::Remuw,
                _ => return illegal,
            };
            pure(kind, 0)
        }
        // MISC-MEM: FENCE (f3 0, incl. FENCE.TSO/PAUSE) and FENCE.I (f3 1) are no-ops here:
        // one hart, and code is never writable (W^X), so there is nothing to order or flush.
        0x0f if f3 == 0 || f3 == 1 => Op::bare(Kind::Nop, len),
        0x73 => decode_system(x, len, rd, rs1, f3).unwrap_or(illegal),
        0x2f => decode_amo(x, len, rd, rs1, rs2, f3).unwrap_or(illegal),
        0x07 | 0x27 | 0x43 | 0x47 | 0x4b | 0x4f | 0x53 => decode_fp(x, len),
        _ => illegal,
    }
}

fn decode_system(x: u32, len: u8, rd: u8, rs1: u8, f3: u32) -> Option<Op> {
    let csr = bits(x, 31, 20) as i32;
    let kind = match f3 {
        0 => {
            // ECALL / EBREAK need rd = rs1 = 0; everything else (xRET, WFI, SFENCE) is
            // privileged and illegal in user mode.
            if rd != 0 || rs1 != 0 {
                return None;
            }
            return match x >> 20 {
                0 => Some(Op::bare(Kind::Ecall, len)),
                1 => Some(Op::bare(Kind::Ebreak, len)),
                _ => None,
            };
        }
        1 => Kind::Csrrw,
        2 => Kind::Csrrs,
        3 => Kind::Csrrc,
        5 => Kind::Csrrwi,
        6 => Kind::Csrrsi,
        7 => Kind::Csrrci,
        _ => return None,
    };
    let rd = if rd == 0 { SINK } else { rd };
    Some(Op { kind, rd, rs1, rs2: 0, imm: csr, blk: 1, len, rs3: 0 })
}

fn decode_amo(x: u32, len: u8, rd: u8, rs1: u8, rs2: u8, f3: u32) -> Option<Op> {
    let f5 = bits(x, 31, 27);
    let word = match f3 {
        2 => true,
        3 => false,
        _ => return None,
    };
    // aq/rl (bits 26:25) are accepted and have no effect with one hart.
    let kind = match (f5, word) {
        (0x02, true) if rs2 == 0 => Kind::LrW,
        (0x02, false) if rs2 == 0 => Kind::LrD,
        (0x03, true) => Kind::ScW,
        (0x03, false) => Kind::ScD,
        (0x01, true) => Kind::AmoswapW,
        (0x01, false) => Kind::AmoswapD,
        (0x00, true) => Kind::AmoaddW,
        (0x00, false) => Kind::AmoaddD,
        (0x04, true) => Kind::AmoxorW,
        (0x04, false) => Kind::AmoxorD,
        (0x0c, true) => Kind::AmoandW,
        (0x0c, false) => Kind::AmoandD,
        (0x08, true) => Kind::AmoorW,
        (0x08, false) => Kind::AmoorD,
        (0x10, true) => Kind::AmominW,
        (0x10, false) => Kind::AmominD,
        (0x14, true) => Kind::AmomaxW,
        (0x14, false) => Kind::AmomaxD,
        (0x18, true) => Kind::AmominuW,
        (0x18, false) => Kind::AmominuD,
        (0x1c, true) => Kind::AmomaxuW,
        (0x1c, false) => Kind::AmomaxuD,
        _ => return None,
    };
    let rd = if rd == 0 { SINK } else { rd };
    Some(Op { kind, rd, rs1, rs2, imm: 0, blk: 1, len, rs3: 0 })
}

/// Floating-point opcodes (LOAD-FP 0x07, STORE-FP 0x27, FMADD 0x43, FMSUB 0x47, FNMSUB 0x4b,
/// FNMADD 0x4f, OP-FP 0x53), decoded by [`crate::fpu::insn`].
pub fn decode_fp(x: u32, len: u8) -> Op {
    let illegal = Op { kind: Kind::Illegal, imm: x as i32, ..Op::bare(Kind::Illegal, len) };
    if let Some(m) = fp::decode_mem(x) {
        let (kind, rd, rs2) = match m.op {
            FpMemOp::Flw => (Kind::Flw, m.reg, 0),
            FpMemOp::Fld => (Kind::Fld, m.reg, 0),
            FpMemOp::Fsw => (Kind::Fsw, 0, m.reg),
            FpMemOp::Fsd => (Kind::Fsd, 0, m.reg),
        };
        return Op { kind, rd, rs1: m.base, rs2, imm: m.offset, blk: 1, len, rs3: 0 };
    }
    let Some(insn) = fp::decode(x) else { return illegal };
    let rd = if writes_x(insn.op) && insn.rd == 0 { SINK } else { insn.rd };
    let imm = i32::from(insn.op as u8) | (i32::from(insn.rm) << 8);
    Op { kind: Kind::Fp, rd, rs1: insn.rs1, rs2: insn.rs2, imm, blk: 1, len, rs3: insn.rs3 }
}

/// Whether an F/D operation's destination is an integer register.
pub fn writes_x(op: FpOp) -> bool {
    use FpOp::*;
    matches!(
        op,
        FeqS | FltS
            | FleS
            | FclassS
            | FmvXW
            | FcvtWS
            | FcvtWuS
            | FcvtLS
            | FcvtLuS
            | FeqD
            | FltD
            | FleD
            | FclassD
            | FmvXD
            | FcvtWD
            | FcvtWuD
            | FcvtLD
            | FcvtLuD
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediates() {
        // addi x1, x2, -1
        let o = decode32(0xfff1_0093, 2);
        assert_eq!((o.kind, o.rd, o.rs1, o.imm), (Kind::Addi, 1, 2, -1));
        // beq x0, x0, -4 → -2 halfwords
        assert_eq!(decode32(0xfe00_0ee3, 2).imm, -2);
        // jal x0, -8
        let o = decode32(0xff9f_f06f, 2);
        assert_eq!((o.kind, o.rd, o.imm), (Kind::Jal, SINK, -4));
        // sd x5, -16(x2)
        let o = decode32(0xfe51_3823, 2);
        assert_eq!((o.kind, o.rs1, o.rs2, o.imm), (Kind::Sd, 2, 5, -16));
    }

    #[test]
    fn x0_destinations() {
        assert_eq!(decode32(0x0000_0013, 2).kind, Kind::Nop); // nop
        assert_eq!(decode32(0x0020_803b, 2).kind, Kind::Nop); // addw x0, x1, x2
        assert_eq!(decode32(0x0001_3003, 2).rd, SINK); // ld x0, 0(x2)
    }
}
