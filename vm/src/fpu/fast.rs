//! Fast paths for round-to-nearest-even on the host's IEEE 754 arithmetic, in safe Rust.
//!
//! Each function either returns the exact RISC-V result and flags, or `None` to send the caller
//! to the soft-float core in `fpu/arith.rs`. The host computes the correctly rounded RNE result
//! (Rust's `+ - * / sqrt`, `mul_add` and `f64 as f32` are IEEE 754 operations with RNE, no
//! flush-to-zero); what the host does not give us is the flags. They are derived here, only
//! where that is provably exact:
//!
//! - *Operands and result* must be finite and non-NaN, so NV, DZ and OF cannot arise (NaN
//!   payloads, which the host does not canonicalise, never reach a result).
//! - *UF* cannot arise when the result's magnitude exceeds the smallest normal (monotone
//!   rounding: the exact value is then above `2^EMIN` too); results at or below it, which might
//!   be tiny, go to the soft path. Sums are the exception: a sum below `2^EMIN` is always exact,
//!   so addition never underflows.
//! - *NX* is the only remaining flag: whether the exact value equals the rounded one. It is
//!   decided by an error-free transformation: Knuth's TwoSum for addition (its error term is
//!   exact whenever no intermediate overflows; an overflow makes it non-finite, which we reject),
//!   the FMA residual `a*b - p`, `a - q*b`, `a - s*s` for the other double operations (exact
//!   when no product underflows: the guards below on the operand magnitude ensure it), and exact
//!   `f64` products for single precision (24 × 24 bits fit in 53).
//!
//! Single-precision division, square root and FMA are computed in `f64` and then rounded to
//! `f32`. For division and square root this double rounding is harmless because 53 ≥ 2·24 + 2
//! (Figueroa). For FMA the `f64` sum rounds once, so the one unsafe case is an `f64` sum that
//! lands exactly on an `f32` tie while its TwoSum error is non-zero: that case goes to the soft
//! path. Double-precision FMA takes the host's fused result `r` and decides exactness by
//! comparing two exact two-term expansions: TwoProduct gives `a*b = u1 + u2` and TwoSum gives
//! `r - c = d + e`, each with its first term the rounded value, so (a uniqueness argument) the
//! values are equal, i.e. the FMA was exact, iff `u1 == d && u2 == e`.
//!
//! All of this assumes the host's default floating-point environment (round to nearest even,
//! no flush-to-zero or denormals-are-zero), which Rust guarantees and nothing in shardbox
//! changes; the property tests, run in the same environment, would catch a host that differs.
//!
//! The alternative, reading the x86 MXCSR flags around each operation with inline assembly,
//! would cover the directed modes too but needs `unsafe`, is x86-only, and `ldmxcsr` costs more
//! than the few extra flops used here; the directed modes are rare in practice.

use super::Flags;

/// 2^-969: a double product at least this large has an exactly representable FMA residual.
const RESIDUAL_PRODUCT_LOW: f64 = f64::from_bits(0x0360_0000_0000_0000);
/// 2^-968: a dividend or radicand at least this large gives exact residuals for `/` and sqrt.
const RESIDUAL_OPERAND_LOW: f64 = f64::from_bits(0x0370_0000_0000_0000);

const _: () = assert!(RESIDUAL_PRODUCT_LOW.to_bits() >> 52 == 1023 - 969);
const _: () = assert!(RESIDUAL_OPERAND_LOW.to_bits() >> 52 == 1023 - 968);

fn nx(inexact: bool) -> Flags {
    if inexact { Flags::NX } else { Flags::NONE }
}

/// Knuth's TwoSum: the rounded sum `s` and its exact error `x + y - s`, or `None` if any step
/// overflowed (the error term is then not finite).
macro_rules! two_sum {
    ($x:expr, $y:expr) => {{
        let (x, y) = ($x, $y);
        let s = x + y;
        let bb = s - x;
        let err = (x - (s - bb)) + (y - bb);
        if s.is_finite() && err.is_finite() { Some((s, err)) } else { None }
    }};
}

/// FADD.D/FSUB.D under RNE.
pub(crate) fn add_d(a: u64, b: u64) -> Option<(u64, Flags)> {
    let (x, y) = (f64::from_bits(a), f64::from_bits(b));
    if !x.is_finite() || !y.is_finite() {
        return None;
    }
    let (s, err) = two_sum!(x, y)?;
    Some((s.to_bits(), nx(err != 0.0)))
}

/// FADD.S/FSUB.S under RNE.
pub(crate) fn add_s(a: u32, b: u32) -> Option<(u32, Flags)> {
    let (x, y) = (f32::from_bits(a), f32::from_bits(b));
    if !x.is_finite() || !y.is_finite() {
        return None;
    }
    let (s, err) = two_sum!(x, y)?;
    Some((s.to_bits(), nx(err != 0.0)))
}

/// FMUL.D under RNE.
pub(crate) fn mul_d(a: u64, b: u64) -> Option<(u64, Flags)> {
    let (x, y) = (f64::from_bits(a), f64::from_bits(b));
    let zero_or_normal = |v: f64| v == 0.0 || v.is_normal();
    if !zero_or_normal(x) || !zero_or_normal(y) {
        return None;
    }
    let p = x * y;
    if x == 0.0 || y == 0.0 {
        return Some((p.to_bits(), Flags::NONE));
    }
    if !p.is_finite() || p.abs() < RESIDUAL_PRODUCT_LOW {
        return None;
    }
    let residual = x.mul_add(y, -p);
    Some((p.to_bits(), nx(residual != 0.0)))
}

/// FMUL.S under RNE: the `f64` product of two singles is exact.
pub(crate) fn mul_s(a: u32, b: u32) -> Option<(u32, Flags)> {
    let (x, y) = (f32::from_bits(a), f32::from_bits(b));
    if !x.is_finite() || !y.is_finite() {
        return None;
    }
    let exact = f64::from(x) * f64::from(y);
    single_from_exact(exact)
}

/// Rounds an exact `f64` value to single under RNE, or `None` if the result might overflow or
/// underflow.
fn single_from_exact(exact: f64) -> Option<(u32, Flags)> {
    // Rust's f64 -> f32 `as` conversion rounds to nearest, ties to even.
    let r = exact as f32;
    if exact == 0.0 {
        return Some((r.to_bits(), Flags::NONE));
    }
    if !r.is_finite() || r.abs() <= f32::MIN_POSITIVE {
        return None;
    }
    Some((r.to_bits(), nx(f64::from(r) != exact)))
}

/// FDIV.D under RNE.
pub(crate) fn div_d(a: u64, b: u64) -> Option<(u64, Flags)> {
    let (x, y) = (f64::from_bits(a), f64::from_bits(b));
    if !y.is_normal() {
        return None;
    }
    if x == 0.0 {
        return Some(((x / y).to_bits(), Flags::NONE));
    }
    if !x.is_normal() || x.abs() < RESIDUAL_OPERAND_LOW {
        return None;
    }
    let q = x / y;
    if !q.is_normal() || q.abs() == f64::MIN_POSITIVE {
        return None;
    }
    let residual = (-q).mul_add(y, x);
    Some((q.to_bits(), nx(residual != 0.0)))
}

/// FDIV.S under RNE.
pub(crate) fn div_s(a: u32, b: u32) -> Option<(u32, Flags)> {
    let (x, y) = (f32::from_bits(a), f32::from_bits(b));
    if !x.is_finite() || !y.is_finite() || y == 0.0 {
        return None;
    }
    let (x, y) = (f64::from(x), f64::from(y));
    let r = (x / y) as f32;
    if x == 0.0 {
        return Some((r.to_bits(), Flags::NONE));
    }
    if !r.is_finite() || r.abs() <= f32::MIN_POSITIVE {
        return None;
    }
    // r * y is exact in f64 (24 + 24 bits): r is the exact quotient iff it gives back x.
    Some((r.to_bits(), nx(f64::from(r) * y != x)))
}

/// FSQRT.D under RNE.
pub(crate) fn sqrt_d(a: u64) -> Option<(u64, Flags)> {
    let x = f64::from_bits(a);
    if x == 0.0 {
        return Some((a, Flags::NONE));
    }
    if !x.is_normal() || x < RESIDUAL_OPERAND_LOW {
        return None;
    }
    let s = x.sqrt();
    let residual = (-s).mul_add(s, x);
    Some((s.to_bits(), nx(residual != 0.0)))
}

/// FSQRT.S under RNE: the root of a positive single is always a normal single.
pub(crate) fn sqrt_s(a: u32) -> Option<(u32, Flags)> {
    let x = f32::from_bits(a);
    if x == 0.0 {
        return Some((a, Flags::NONE));
    }
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    let x = f64::from(x);
    let s = x.sqrt() as f32;
    let square = f64::from(s) * f64::from(s);
    Some((s.to_bits(), nx(square != x)))
}

/// FMADD.S and friends under RNE: `(±a*b) ± c` with the product exact in `f64`.
pub(crate) fn fma_s(
    a: u32,
    b: u32,
    c: u32,
    negate_product: bool,
    negate_addend: bool,
) -> Option<(u32, Flags)> {
    let (x, y, z) = (f32::from_bits(a), f32::from_bits(b), f32::from_bits(c));
    if !x.is_finite() || !y.is_finite() || !z.is_finite() {
        return None;
    }
    let p = f64::from(x) * f64::from(y);
    let p = if negate_product { -p } else { p };
    let z = f64::from(z);
    let z = if negate_addend { -z } else { z };
    // The sum of an exact product of singles and a single never underflows in f64, and an
    // exact zero gets the IEEE sign of zero from the host.
    let (s, err) = two_sum!(p, z)?;
    let sum_inexact = err != 0.0;
    let r = s as f32;
    if s == 0.0 {
        return Some((r.to_bits(), Flags::NONE));
    }
    if !r.is_finite() || r.abs() <= f32::MIN_POSITIVE {
        return None;
    }
    // An f32 tie (the 29 bits below single precision are exactly 100…0) reached by an inexact
    // f64 sum may round the wrong way: let the soft path decide.
    let below = s.to_bits() & ((1 << 29) - 1);
    if sum_inexact && below == 1 << 28 {
        return None;
    }
    Some((r.to_bits(), nx(sum_inexact || f64::from(r) != s)))
}

/// FMADD.D and friends under RNE: `(±a*b) ± c`.
pub(crate) fn fma_d(
    a: u64,
    b: u64,
    c: u64,
    negate_product: bool,
    negate_addend: bool,
) -> Option<(u64, Flags)> {
    let (x, y, z) = (f64::from_bits(a), f64::from_bits(b), f64::from_bits(c));
    let x = if negate_product { -x } else { x };
    let z = if negate_addend { -z } else { z };
    if !x.is_finite() || !y.is_finite() || !z.is_finite() {
        return None;
    }
    let r = x.mul_add(y, z);
    if x == 0.0 || y == 0.0 {
        // The product is an exact zero: the result is z (or a signed zero), exactly.
        return Some((r.to_bits(), Flags::NONE));
    }
    // TwoProduct: a*b = u1 + u2 exactly, given normal factors and no underflow of u2.
    if !x.is_normal() || !y.is_normal() {
        return None;
    }
    let u1 = x * y;
    if !u1.is_finite() || u1.abs() < RESIDUAL_PRODUCT_LOW || !r.is_finite() {
        return None;
    }
    let u2 = x.mul_add(y, -u1);
    // TwoSum: r - z = d + e exactly.
    let (d, e) = two_sum!(r, -z)?;
    let exact = d == u1 && e == u2;
    if r == 0.0 && exact {
        return Some((r.to_bits(), Flags::NONE));
    }
    // Results that might be tiny (UF) go to the soft path.
    if r.abs() <= f64::MIN_POSITIVE {
        return None;
    }
    Some((r.to_bits(), nx(!exact)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_send_hard_cases_to_the_soft_path() {
        assert_eq!(add_d(f64::INFINITY.to_bits(), 0), None);
        assert_eq!(add_d(f64::MAX.to_bits(), f64::MAX.to_bits()), None);
        assert_eq!(mul_d(1e-200f64.to_bits(), 1e-200f64.to_bits()), None);
        assert_eq!(mul_d(1, 1.0f64.to_bits()), None);
        assert_eq!(div_d(1.0f64.to_bits(), 0), None);
        assert_eq!(sqrt_d((-1.0f64).to_bits()), None);
        assert_eq!(sqrt_s((-1.0f32).to_bits()), None);
        assert_eq!(mul_s(f32::MIN_POSITIVE.to_bits(), 0.5f32.to_bits()), None);
    }

    #[test]
    fn exactness_decides_nx() {
        assert_eq!(
            add_d(1.0f64.to_bits(), 2.0f64.to_bits()),
            Some((3.0f64.to_bits(), Flags::NONE))
        );
        assert_eq!(
            add_d(1.0f64.to_bits(), 1e-30f64.to_bits()),
            Some((1.0f64.to_bits(), Flags::NX))
        );
        assert_eq!(mul_d(3.0f64.to_bits(), 0.1f64.to_bits()).map(|r| r.1), Some(Flags::NX));
        assert_eq!(div_d(1.0f64.to_bits(), 4.0f64.to_bits()).map(|r| r.1), Some(Flags::NONE));
        assert_eq!(div_s(1.0f32.to_bits(), 3.0f32.to_bits()).map(|r| r.1), Some(Flags::NX));
        assert_eq!(sqrt_d(2.0f64.to_bits()).map(|r| r.1), Some(Flags::NX));
        assert_eq!(sqrt_s(9.0f32.to_bits()), Some((3.0f32.to_bits(), Flags::NONE)));
        assert_eq!(add_d(1.0f64.to_bits(), (-1.0f64).to_bits()), Some((0, Flags::NONE)));
    }
}
