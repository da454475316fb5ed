//! The semantics of the pure register ops: the ALU, M and `lui`/`auipc`/moves, everything
//! that reads and writes integer registers only and can neither trap nor jump.
//!
//! [`pure`] is their single definition: the interpreter ([`crate::exec`]) calls it with a
//! constant kind from each op's own arm (so after inlining each arm is straight-line code)
//! and twice from the arm of a fused pair ([`crate::fuse::FUSED`]). It does not decode, fetch
//! or account fuel.

use crate::op::{Kind, Op};

/// Runs one pure op (registers only; `kind` is its kind, any other kind does nothing): the
/// single definition of their semantics, for their own arms and for both halves of a fused pair.
/// `pc` is the op's address (only `auipc` reads it).
#[inline(always)]
pub fn pure(x: &mut [u64; 256], op: &Op, kind: Kind, pc: u64) {
    pure_value(x, op, kind, pc);
}

/// [`pure`], returning the value written (0 for a kind that writes nothing).
#[inline(always)]
#[expect(clippy::indexing_slicing, reason = "register indices are u8s into [u64; 256]")]
pub fn pure_value(x: &mut [u64; 256], op: &Op, kind: Kind, pc: u64) -> u64 {
    let a = x[usize::from(op.rs1)];
    pure_from(x, op, kind, pc, a)
}

/// [`pure`] with `a` as the value of `rs1` (a fused pair's second half reading the first
/// half's result without a round trip through the register file). Returns the value written
/// (0 for a kind that writes nothing).
#[inline(always)]
#[expect(clippy::indexing_slicing, reason = "register indices are u8s into [u64; 256]")]
pub fn pure_from(x: &mut [u64; 256], op: &Op, kind: Kind, pc: u64, a: u64) -> u64 {
    let b = x[usize::from(op.rs2)];
    let imm = op.imm as i64 as u64;
    let v = match kind {
        Kind::Li | Kind::CLi => imm,
        Kind::Mv | Kind::CMv => a,
        Kind::Auipc => pc.wrapping_add(imm),
        Kind::Addi | Kind::CAddi => a.wrapping_add(imm),
        Kind::Slti => u64::from((a as i64) < imm as i64),
        Kind::Sltiu => u64::from(a < imm),
        Kind::Xori => a ^ imm,
        Kind::Ori => a | imm,
        Kind::Andi | Kind::CAndi => a & imm,
        Kind::Slli | Kind::CSlli => a << (imm & 63),
        Kind::Srli | Kind::CSrli => a >> (imm & 63),
        Kind::Srai | Kind::CSrai => ((a as i64) >> (imm & 63)) as u64,
        Kind::Addiw | Kind::CAddiw => sext32(a.wrapping_add(imm) as u32),
        Kind::Slliw => sext32((a as u32) << (imm & 31)),
        Kind::Srliw => sext32((a as u32) >> (imm & 31)),
        Kind::Sraiw => ((a as i32) >> (imm & 31)) as i64 as u64,
        Kind::Add | Kind::CAdd => a.wrapping_add(b),
        Kind::Sub | Kind::CSub => a.wrapping_sub(b),
        Kind::Sll => a << (b & 63),
        Kind::Slt => u64::from((a as i64) < (b as i64)),
        Kind::Sltu => u64::from(a < b),
        Kind::Xor | Kind::CXor => a ^ b,
        Kind::Srl => a >> (b & 63),
        Kind::Sra => ((a as i64) >> (b & 63)) as u64,
        Kind::Or | Kind::COr => a | b,
        Kind::And | Kind::CAnd => a & b,
        Kind::Addw | Kind::CAddw => sext32(a.wrapping_add(b) as u32),
        Kind::Subw | Kind::CSubw => sext32(a.wrapping_sub(b) as u32),
        Kind::Sllw => sext32((a as u32) << (b & 31)),
        Kind::Srlw => sext32((a as u32) >> (b & 31)),
        Kind::Sraw => ((a as i32) >> (b & 31)) as i64 as u64,
        Kind::Mul => a.wrapping_mul(b),
        Kind::Mulh => ((i128::from(a as i64) * i128::from(b as i64)) >> 64) as u64,
        Kind::Mulhsu => (i128::from(a as i64).wrapping_mul(i128::from(b)) >> 64) as u64,
        Kind::Mulhu => ((u128::from(a) * u128::from(b)) >> 64) as u64,
        Kind::Div => div(a, b),
        Kind::Divu => a.checked_div(b).unwrap_or(u64::MAX),
        Kind::Rem => rem(a, b),
        Kind::Remu => a.checked_rem(b).unwrap_or(a),
        Kind::Mulw => sext32((a as u32).wrapping_mul(b as u32)),
        Kind::Divw => divw(a as i32, b as i32),
        Kind::Divuw => sext32((a as u32).checked_div(b as u32).unwrap_or(u32::MAX)),
        Kind::Remw => remw(a as i32, b as i32),
        Kind::Remuw => sext32((a as u32).checked_rem(b as u32).unwrap_or(a as u32)),
        _ => return 0,
    };
    x[usize::from(op.rd)] = v;
    v
}

/// Sign-extends the low 32 bits.
#[inline(always)]
pub fn sext32(v: u32) -> u64 {
    v as i32 as i64 as u64
}

fn div(a: u64, b: u64) -> u64 {
    let (a, b) = (a as i64, b as i64);
    if b == 0 { u64::MAX } else { a.wrapping_div(b) as u64 }
}

fn rem(a: u64, b: u64) -> u64 {
    let (a, b) = (a as i64, b as i64);
    if b == 0 { a as u64 } else { a.wrapping_rem(b) as u64 }
}

fn divw(a: i32, b: i32) -> u64 {
    if b == 0 { u64::MAX } else { a.wrapping_div(b) as i64 as u64 }
}

fn remw(a: i32, b: i32) -> u64 {
    if b == 0 { a as i64 as u64 } else { a.wrapping_rem(b) as i64 as u64 }
}
