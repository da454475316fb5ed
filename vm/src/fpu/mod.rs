//! RISC-V F and D arithmetic: every single- and double-precision operation as a pure function
//! on bit patterns, exactly as the unprivileged spec (IEEE 754-2008) defines it.
//!
//! Singles travel as `u32`, doubles as `u64`. Every rounding operation takes a resolved
//! [`Rounding`] mode (the instruction's `rm`, or `frm` when `rm` is DYN: see
//! [`Rounding::resolve`]) and returns the result with the [`Flags`] it raises, which the caller
//! ORs into `fflags`. Results follow RISC-V, not the host: every NaN produced is the canonical
//! NaN (`0x7fc00000` / `0x7ff8000000000000`), tininess is detected after rounding, FMIN/FMAX
//! follow version 2.2 (−0 < +0, one NaN operand yields the other), and the float-to-integer
//! conversions saturate as the FCVT table says.
//!
//! A single held in a 64-bit f-register is NaN-boxed (upper 32 bits all ones): [`box_s`] boxes a
//! result, [`unbox_s`] reads an operand, turning an improperly boxed value into the canonical
//! NaN. FLW/FSW and FMV.X.W/FMV.W.X move raw bits and do not unbox ([`fmv_x_w`], [`fmv_w_x`]).
//!
//! Layout: `format` (the two formats and unpacking), `round` (the only rounding code),
//! `arith` (soft-float add/mul/div/sqrt/fma, correct in every mode), `fast` (round-to-nearest-even
//! on host floats with exactly derived flags, used first when `rm` is RNE), `convert`,
//! `compare`, `classify`, `state` ([`FpState`]: the f-registers and `fcsr` with its CSR
//! accessors) and [`insn`] (decoding and executing the OP-FP and fused instructions on an
//! [`FpState`]). Memory, fetch and traps belong to the interpreter.
//!
//! ```
//! use shardbox_vm::fpu::{self, Flags, Rounding};
//! let (third, flags) = fpu::fdiv_d(1.0f64.to_bits(), 3.0f64.to_bits(), Rounding::Rne);
//! assert_eq!(f64::from_bits(third), 1.0 / 3.0);
//! assert_eq!(flags, Flags::NX);
//! let (up, _) = fpu::fdiv_d(1.0f64.to_bits(), 3.0f64.to_bits(), Rounding::Rup);
//! assert_eq!(up, third + 1);
//! assert_eq!(fpu::unbox_s(0x0000_0000_3f80_0000), fpu::CANONICAL_NAN_S);
//! ```
#![forbid(unsafe_code)]

mod arith;
mod classify;
mod compare;
mod convert;
mod fast;
mod format;
pub mod insn;
mod round;
mod state;

use classify::SignOp;
use compare::Compare;
use convert::IntKind;
use format::{Double, Format, Single};
pub use state::{CSR_FCSR, CSR_FFLAGS, CSR_FRM, FpState};

/// RISC-V's canonical single-precision NaN.
pub const CANONICAL_NAN_S: u32 = 0x7fc0_0000;
/// RISC-V's canonical double-precision NaN.
pub const CANONICAL_NAN_D: u64 = 0x7ff8_0000_0000_0000;
/// The upper half of a NaN-boxed single.
const BOX: u64 = 0xffff_ffff_0000_0000;

/// A static rounding mode, as encoded in `rm` and `frm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Rounding {
    /// Round to nearest, ties to even (0b000).
    Rne = 0,
    /// Round towards zero (0b001).
    Rtz = 1,
    /// Round down, towards −∞ (0b010).
    Rdn = 2,
    /// Round up, towards +∞ (0b011).
    Rup = 3,
    /// Round to nearest, ties to max magnitude (0b100).
    Rmm = 4,
}

impl Rounding {
    /// The `rm` value selecting the dynamic mode held in `frm`.
    pub const DYNAMIC: u32 = 0b111;

    /// The static mode encoded by `bits`, or `None` for the reserved values 5..=7.
    pub fn from_bits(bits: u32) -> Option<Rounding> {
        match bits {
            0 => Some(Rounding::Rne),
            1 => Some(Rounding::Rtz),
            2 => Some(Rounding::Rdn),
            3 => Some(Rounding::Rup),
            4 => Some(Rounding::Rmm),
            _ => None,
        }
    }

    /// The mode an instruction with field `rm` uses when `frm` holds `frm`: `rm` itself, or
    /// `frm` when `rm` is [`Rounding::DYNAMIC`]. `None` means the instruction is illegal
    /// (reserved `rm`, or DYN with a reserved `frm`).
    pub fn resolve(rm: u32, frm: u32) -> Option<Rounding> {
        if rm == Self::DYNAMIC { Self::from_bits(frm) } else { Self::from_bits(rm) }
    }
}

/// Accrued exception flags, laid out as in `fflags`: NV (bit 4), DZ, OF, UF, NX (bit 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// No flag.
    pub const NONE: Flags = Flags(0);
    /// Inexact.
    pub const NX: Flags = Flags(1);
    /// Underflow.
    pub const UF: Flags = Flags(1 << 1);
    /// Overflow.
    pub const OF: Flags = Flags(1 << 2);
    /// Divide by zero.
    pub const DZ: Flags = Flags(1 << 3);
    /// Invalid operation.
    pub const NV: Flags = Flags(1 << 4);

    /// The `fflags` bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The flags of an `fflags` value (bits above 4 ignored).
    pub const fn from_bits(bits: u8) -> Flags {
        Flags(bits & 0x1f)
    }

    /// Whether every flag in `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

// ---- NaN boxing and moves -------------------------------------------------------------------

/// NaN-boxes a single for an f-register.
pub const fn box_s(a: u32) -> u64 {
    BOX | a as u64
}

/// The single an f-register holds: its low half when properly NaN-boxed, else the canonical NaN.
pub const fn unbox_s(reg: u64) -> u32 {
    if reg & BOX == BOX { reg as u32 } else { CANONICAL_NAN_S }
}

/// FMV.X.W: the f-register's low 32 bits, sign-extended, with no NaN-box check.
pub const fn fmv_x_w(reg: u64) -> u64 {
    reg as u32 as i32 as i64 as u64
}

/// FMV.W.X: the x-register's low 32 bits, NaN-boxed.
pub const fn fmv_w_x(x: u64) -> u64 {
    box_s(x as u32)
}

/// FMV.X.D: the raw bits.
pub const fn fmv_x_d(reg: u64) -> u64 {
    reg
}

/// FMV.D.X: the raw bits.
pub const fn fmv_d_x(x: u64) -> u64 {
    x
}

// ---- Single precision -----------------------------------------------------------------------

fn narrow((bits, flags): (u64, Flags)) -> (u32, Flags) {
    // Single-format results occupy the low 32 bits.
    (bits as u32, flags)
}

/// FADD.S.
pub fn fadd_s(a: u32, b: u32, rm: Rounding) -> (u32, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::add_s(a, b)
    {
        return r;
    }
    narrow(arith::add::<Single>(a.into(), b.into(), false, rm))
}

/// FSUB.S.
pub fn fsub_s(a: u32, b: u32, rm: Rounding) -> (u32, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::add_s(a, b ^ 0x8000_0000)
    {
        return r;
    }
    narrow(arith::add::<Single>(a.into(), b.into(), true, rm))
}

/// FMUL.S.
pub fn fmul_s(a: u32, b: u32, rm: Rounding) -> (u32, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::mul_s(a, b)
    {
        return r;
    }
    narrow(arith::mul::<Single>(a.into(), b.into(), rm))
}

/// FDIV.S.
pub fn fdiv_s(a: u32, b: u32, rm: Rounding) -> (u32, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::div_s(a, b)
    {
        return r;
    }
    narrow(arith::div::<Single>(a.into(), b.into(), rm))
}

/// FSQRT.S.
pub fn fsqrt_s(a: u32, rm: Rounding) -> (u32, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::sqrt_s(a)
    {
        return r;
    }
    narrow(arith::sqrt::<Single>(a.into(), rm))
}

fn fma_s(a: u32, b: u32, c: u32, neg_prod: bool, neg_add: bool, rm: Rounding) -> (u32, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::fma_s(a, b, c, neg_prod, neg_add)
    {
        return r;
    }
    narrow(arith::fma::<Single>(a.into(), b.into(), c.into(), neg_prod, neg_add, rm))
}

/// FMADD.S: `a*b + c`, rounded once.
pub fn fmadd_s(a: u32, b: u32, c: u32, rm: Rounding) -> (u32, Flags) {
    fma_s(a, b, c, false, false, rm)
}

/// FMSUB.S: `a*b - c`, rounded once.
pub fn fmsub_s(a: u32, b: u32, c: u32, rm: Rounding) -> (u32, Flags) {
    fma_s(a, b, c, false, true, rm)
}

/// FNMSUB.S: `-(a*b) + c`, rounded once.
pub fn fnmsub_s(a: u32, b: u32, c: u32, rm: Rounding) -> (u32, Flags) {
    fma_s(a, b, c, true, false, rm)
}

/// FNMADD.S: `-(a*b) - c`, rounded once.
pub fn fnmadd_s(a: u32, b: u32, c: u32, rm: Rounding) -> (u32, Flags) {
    fma_s(a, b, c, true, true, rm)
}

/// FMIN.S.
pub fn fmin_s(a: u32, b: u32) -> (u32, Flags) {
    narrow(compare::min_max::<Single>(a.into(), b.into(), false))
}

/// FMAX.S.
pub fn fmax_s(a: u32, b: u32) -> (u32, Flags) {
    narrow(compare::min_max::<Single>(a.into(), b.into(), true))
}

/// FSGNJ.S.
pub fn fsgnj_s(a: u32, b: u32) -> u32 {
    classify::sign_inject::<Single>(a.into(), b.into(), SignOp::Inject) as u32
}

/// FSGNJN.S.
pub fn fsgnjn_s(a: u32, b: u32) -> u32 {
    classify::sign_inject::<Single>(a.into(), b.into(), SignOp::Negate) as u32
}

/// FSGNJX.S.
pub fn fsgnjx_s(a: u32, b: u32) -> u32 {
    classify::sign_inject::<Single>(a.into(), b.into(), SignOp::Xor) as u32
}

/// FEQ.S: quiet.
pub fn feq_s(a: u32, b: u32) -> (bool, Flags) {
    compare::compare::<Single>(a.into(), b.into(), Compare::Eq)
}

/// FLT.S: signalling.
pub fn flt_s(a: u32, b: u32) -> (bool, Flags) {
    compare::compare::<Single>(a.into(), b.into(), Compare::Lt)
}

/// FLE.S: signalling.
pub fn fle_s(a: u32, b: u32) -> (bool, Flags) {
    compare::compare::<Single>(a.into(), b.into(), Compare::Le)
}

/// FCLASS.S: a mask with one of bits 0..=9 set.
pub fn fclass_s(a: u32) -> u64 {
    classify::fclass::<Single>(a.into())
}

/// FCVT.W.S: to `i32`, sign-extended.
pub fn fcvt_w_s(a: u32, rm: Rounding) -> (u64, Flags) {
    convert::to_int::<Single>(a.into(), IntKind::W, rm)
}

/// FCVT.WU.S: to `u32`, sign-extended from bit 31.
pub fn fcvt_wu_s(a: u32, rm: Rounding) -> (u64, Flags) {
    convert::to_int::<Single>(a.into(), IntKind::Wu, rm)
}

/// FCVT.L.S: to `i64`.
pub fn fcvt_l_s(a: u32, rm: Rounding) -> (u64, Flags) {
    convert::to_int::<Single>(a.into(), IntKind::L, rm)
}

/// FCVT.LU.S: to `u64`.
pub fn fcvt_lu_s(a: u32, rm: Rounding) -> (u64, Flags) {
    convert::to_int::<Single>(a.into(), IntKind::Lu, rm)
}

/// FCVT.S.W: from the `i32` in the low half of `x`.
pub fn fcvt_s_w(x: u64, rm: Rounding) -> (u32, Flags) {
    narrow(convert::from_int::<Single>(x, IntKind::W, rm))
}

/// FCVT.S.WU: from the `u32` in the low half of `x`.
pub fn fcvt_s_wu(x: u64, rm: Rounding) -> (u32, Flags) {
    narrow(convert::from_int::<Single>(x, IntKind::Wu, rm))
}

/// FCVT.S.L: from the `i64` `x`.
pub fn fcvt_s_l(x: u64, rm: Rounding) -> (u32, Flags) {
    narrow(convert::from_int::<Single>(x, IntKind::L, rm))
}

/// FCVT.S.LU: from the `u64` `x`.
pub fn fcvt_s_lu(x: u64, rm: Rounding) -> (u32, Flags) {
    narrow(convert::from_int::<Single>(x, IntKind::Lu, rm))
}

/// FCVT.S.D: double to single, rounded.
pub fn fcvt_s_d(a: u64, rm: Rounding) -> (u32, Flags) {
    narrow(convert::convert::<Double, Single>(a, rm))
}

/// FCVT.D.S: single to double, exact (the mode is accepted, as the encoding has an `rm` field).
pub fn fcvt_d_s(a: u32, rm: Rounding) -> (u64, Flags) {
    convert::convert::<Single, Double>(a.into(), rm)
}

// ---- Double precision -----------------------------------------------------------------------

/// FADD.D.
pub fn fadd_d(a: u64, b: u64, rm: Rounding) -> (u64, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::add_d(a, b)
    {
        return r;
    }
    arith::add::<Double>(a, b, false, rm)
}

/// FSUB.D.
pub fn fsub_d(a: u64, b: u64, rm: Rounding) -> (u64, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::add_d(a, b ^ Double::SIGN)
    {
        return r;
    }
    arith::add::<Double>(a, b, true, rm)
}

/// FMUL.D.
pub fn fmul_d(a: u64, b: u64, rm: Rounding) -> (u64, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::mul_d(a, b)
    {
        return r;
    }
    arith::mul::<Double>(a, b, rm)
}

/// FDIV.D.
pub fn fdiv_d(a: u64, b: u64, rm: Rounding) -> (u64, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::div_d(a, b)
    {
        return r;
    }
    arith::div::<Double>(a, b, rm)
}

/// FSQRT.D.
pub fn fsqrt_d(a: u64, rm: Rounding) -> (u64, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::sqrt_d(a)
    {
        return r;
    }
    arith::sqrt::<Double>(a, rm)
}

fn fma_d(a: u64, b: u64, c: u64, neg_prod: bool, neg_add: bool, rm: Rounding) -> (u64, Flags) {
    if rm == Rounding::Rne
        && let Some(r) = fast::fma_d(a, b, c, neg_prod, neg_add)
    {
        return r;
    }
    arith::fma::<Double>(a, b, c, neg_prod, neg_add, rm)
}

/// FMADD.D: `a*b + c`, rounded once.
pub fn fmadd_d(a: u64, b: u64, c: u64, rm: Rounding) -> (u64, Flags) {
    fma_d(a, b, c, false, false, rm)
}

/// FMSUB.D: `a*b - c`, rounded once.
pub fn fmsub_d(a: u64, b: u64, c: u64, rm: Rounding) -> (u64, Flags) {
    fma_d(a, b, c, false, true, rm)
}

/// FNMSUB.D: `-(a*b) + c`, rounded once.
pub fn fnmsub_d(a: u64, b: u64, c: u64, rm: Rounding) -> (u64, Flags) {
    fma_d(a, b, c, true, false, rm)
}

/// FNMADD.D: `-(a*b) - c`, rounded once.
pub fn fnmadd_d(a: u64, b: u64, c: u64, rm: Rounding) -> (u64, Flags) {
    fma_d(a, b, c, true, true, rm)
}

/// FMIN.D.
pub fn fmin_d(a: u64, b: u64) -> (u64, Flags) {
    compare::min_max::<Double>(a, b, false)
}

/// FMAX.D.
pub fn fmax_d(a: u64, b: u64) -> (u64, Flags) {
    compare::min_max::<Double>(a, b, true)
}

/// FSGNJ.D.
pub fn fsgnj_d(a: u64, b: u64) -> u64 {
    classify::sign_inject::<Double>(a, b, SignOp::Inject)
}

/// FSGNJN.D.
pub fn fsgnjn_d(a: u64, b: u64) -> u64 {
    classify::sign_inject::<Double>(a, b, SignOp::Negate)
}

/// FSGNJX.D.
pub fn fsgnjx_d(a: u64, b: u64) -> u64 {
    classify::sign_inject::<Double>(a, b, SignOp::Xor)
}

/// FEQ.D: quiet.
pub fn feq_d(a: u64, b: u64) -> (bool, Flags) {
    compare::compare::<Double>(a, b, Compare::Eq)
}

/// FLT.D: signalling.
pub fn flt_d(a: u64, b: u64) -> (bool, Flags) {
    compare::compare::<Double>(a, b, Compare::Lt)
}

/// FLE.D: signalling.
pub fn fle_d(a: u64, b: u64) -> (bool, Flags) {
    compare::compare::<Double>(a, b, Compare::Le)
}

/// FCLASS.D: a mask with one of bits 0..=9 set.
pub fn fclass_d(a: u64) -> u64 {
    classify::fclass::<Double>(a)
}

/// FCVT.W.D: to `i32`, sign-extended.
pub fn fcvt_w_d(a: u64, rm: Rounding) -> (u64, Flags) {
    convert::to_int::<Double>(a, IntKind::W, rm)
}

/// FCVT.WU.D: to `u32`, sign-extended from bit 31.
pub fn fcvt_wu_d(a: u64, rm: Rounding) -> (u64, Flags) {
    convert::to_int::<Double>(a, IntKind::Wu, rm)
}

/// FCVT.L.D: to `i64`.
pub fn fcvt_l_d(a: u64, rm: Rounding) -> (u64, Flags) {
    convert::to_int::<Double>(a, IntKind::L, rm)
}

/// FCVT.LU.D: to `u64`.
pub fn fcvt_lu_d(a: u64, rm: Rounding) -> (u64, Flags) {
    convert::to_int::<Double>(a, IntKind::Lu, rm)
}

/// FCVT.D.W: from the `i32` in the low half of `x` (always exact).
pub fn fcvt_d_w(x: u64, rm: Rounding) -> (u64, Flags) {
    convert::from_int::<Double>(x, IntKind::W, rm)
}

/// FCVT.D.WU: from the `u32` in the low half of `x` (always exact).
pub fn fcvt_d_wu(x: u64, rm: Rounding) -> (u64, Flags) {
    convert::from_int::<Double>(x, IntKind::Wu, rm)
}

/// FCVT.D.L: from the `i64` `x`.
pub fn fcvt_d_l(x: u64, rm: Rounding) -> (u64, Flags) {
    convert::from_int::<Double>(x, IntKind::L, rm)
}

/// FCVT.D.LU: from the `u64` `x`.
pub fn fcvt_d_lu(x: u64, rm: Rounding) -> (u64, Flags) {
    convert::from_int::<Double>(x, IntKind::Lu, rm)
}

#[cfg(test)]
mod tests;
