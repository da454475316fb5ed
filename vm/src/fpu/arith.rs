//! The soft-float arithmetic core: add, multiply, divide, square root and fused multiply-add.
//!
//! Each operation resolves NaN, infinity and zero operands by the IEEE 754 / RISC-V rules
//! (every NaN result is the canonical NaN; NV for a signalling NaN operand and for the invalid
//! operations ∞ − ∞, 0 × ∞, 0/0, ∞/∞, √negative), then computes the finite result exactly as an
//! integer significand (`u128`) with a sticky bit, and rounds it once in
//! [`round_pack`](super::round::round_pack). The fused multiply-add keeps the 106-bit product of
//! two doubles exact before the addition, so it rounds once, as the F and D chapters require.
//!
//! These functions are correct in every rounding mode and for every input; `fpu/fast.rs` answers
//! the common round-to-nearest-even cases faster and falls back here.

use super::format::{Class, Format, Unpacked, special, unpack};
use super::round::round_pack;
use super::{Flags, Rounding};

/// A non-zero finite operand or intermediate: `(-1)^neg * sig * 2^exp`, `sig != 0`.
#[derive(Clone, Copy, Debug)]
struct Term {
    neg: bool,
    exp: i32,
    sig: u128,
}

/// Bit position of the leading bit of a normalised [`Term`] in the adder: two bits of headroom
/// leave room for the carry of a sum, and 125 bits below keep far more than the 53 + 2 bits a
/// double needs when the smaller addend's tail collapses into a sticky bit.
const ADD_TOP_BIT: u32 = 125;

/// The canonical NaN result, with NV when `invalid` or when any operand is a signalling NaN.
fn nan_result<F: Format>(invalid: bool, operands: &[Unpacked]) -> (u64, Flags) {
    let signaling = operands.iter().any(|u| matches!(u.class, Class::Nan { signaling: true }));
    let flags = if invalid || signaling { Flags::NV } else { Flags::NONE };
    (F::CANONICAL_NAN, flags)
}

fn any_nan(operands: &[Unpacked]) -> bool {
    operands.iter().any(|u| matches!(u.class, Class::Nan { .. }))
}

/// The exact zero that `x + (-x)` and `(+0) + (-0)` produce: −0 only when rounding down.
fn cancelled_zero<F: Format>(rm: Rounding) -> (u64, Flags) {
    (special::<F>(rm == Rounding::Rdn, false), Flags::NONE)
}

/// Shifts `sig` right by `shift`, ORing any bit shifted out into the result's last bit.
fn shift_right_jam(sig: u128, shift: u32) -> u128 {
    let kept = sig.checked_shr(shift).unwrap_or(0);
    let lost = match 1u128.checked_shl(shift) {
        Some(unit) => sig & (unit - 1) != 0,
        None => sig != 0,
    };
    kept | u128::from(lost)
}

/// Moves the leading bit of `t` to [`ADD_TOP_BIT`], keeping its value.
fn normalize(t: Term) -> Term {
    let shift = t.sig.leading_zeros().saturating_sub(127 - ADD_TOP_BIT);
    Term { neg: t.neg, exp: t.exp - shift.cast_signed(), sig: t.sig << shift }
}

/// Rounds `a + b` for non-zero finite terms whose significands fit in 126 bits.
fn add_terms<F: Format>(a: Term, b: Term, rm: Rounding) -> (u64, Flags) {
    debug_assert!(a.sig.leading_zeros() >= 127 - ADD_TOP_BIT);
    debug_assert!(b.sig.leading_zeros() >= 127 - ADD_TOP_BIT);
    let (a, b) = (normalize(a), normalize(b));
    // Same leading-bit position, so the larger exponent is the larger magnitude (or a tie).
    let (big, small) = if a.exp >= b.exp { (a, b) } else { (b, a) };
    let distance = (big.exp - small.exp).unsigned_abs();
    let small_sig = shift_right_jam(small.sig, distance);
    if big.neg == small.neg {
        // Both below 2^126: the sum fits.
        return round_pack::<F>(big.neg, big.exp, big.sig + small_sig, rm);
    }
    // When `distance > 0`, big >= 2^125 > small: no borrow. At distance 0 nothing was shifted
    // out and the larger significand decides the sign.
    let (neg, diff) = if small_sig > big.sig {
        (small.neg, small_sig - big.sig)
    } else {
        (big.neg, big.sig - small_sig)
    };
    if diff == 0 {
        return cancelled_zero::<F>(rm);
    }
    round_pack::<F>(neg, big.exp, diff, rm)
}

/// `a + b`, or `a - b` when `negate_b`.
pub(crate) fn add<F: Format>(a: u64, b: u64, negate_b: bool, rm: Rounding) -> (u64, Flags) {
    let ua = unpack::<F>(a);
    let mut ub = unpack::<F>(b);
    ub.neg ^= negate_b;
    if any_nan(&[ua, ub]) {
        return nan_result::<F>(false, &[ua, ub]);
    }
    match (ua.class, ub.class) {
        (Class::Inf, Class::Inf) if ua.neg != ub.neg => nan_result::<F>(true, &[]),
        (Class::Inf, _) => (special::<F>(ua.neg, true), Flags::NONE),
        (_, Class::Inf) => (special::<F>(ub.neg, true), Flags::NONE),
        (Class::Zero, Class::Zero) if ua.neg == ub.neg => {
            (special::<F>(ua.neg, false), Flags::NONE)
        }
        (Class::Zero, Class::Zero) => cancelled_zero::<F>(rm),
        (Class::Zero, Class::Finite { exp, sig }) => {
            round_pack::<F>(ub.neg, exp, u128::from(sig), rm)
        }
        (Class::Finite { exp, sig }, Class::Zero) => {
            round_pack::<F>(ua.neg, exp, u128::from(sig), rm)
        }
        (Class::Finite { exp: ea, sig: sa }, Class::Finite { exp: eb, sig: sb }) => add_terms::<F>(
            Term { neg: ua.neg, exp: ea, sig: u128::from(sa) },
            Term { neg: ub.neg, exp: eb, sig: u128::from(sb) },
            rm,
        ),
        (Class::Nan { .. }, _) | (_, Class::Nan { .. }) => nan_result::<F>(false, &[ua, ub]),
    }
}

/// `a * b`.
pub(crate) fn mul<F: Format>(a: u64, b: u64, rm: Rounding) -> (u64, Flags) {
    let (ua, ub) = (unpack::<F>(a), unpack::<F>(b));
    let neg = ua.neg != ub.neg;
    match (ua.class, ub.class) {
        (Class::Nan { .. }, _) | (_, Class::Nan { .. }) => nan_result::<F>(false, &[ua, ub]),
        (Class::Inf, Class::Zero) | (Class::Zero, Class::Inf) => nan_result::<F>(true, &[]),
        (Class::Inf, _) | (_, Class::Inf) => (special::<F>(neg, true), Flags::NONE),
        (Class::Zero, _) | (_, Class::Zero) => (special::<F>(neg, false), Flags::NONE),
        (Class::Finite { exp: ea, sig: sa }, Class::Finite { exp: eb, sig: sb }) => {
            round_pack::<F>(neg, ea + eb, u128::from(sa) * u128::from(sb), rm)
        }
    }
}

/// `a / b`.
pub(crate) fn div<F: Format>(a: u64, b: u64, rm: Rounding) -> (u64, Flags) {
    let (ua, ub) = (unpack::<F>(a), unpack::<F>(b));
    let neg = ua.neg != ub.neg;
    match (ua.class, ub.class) {
        (Class::Nan { .. }, _) | (_, Class::Nan { .. }) => nan_result::<F>(false, &[ua, ub]),
        (Class::Inf, Class::Inf) | (Class::Zero, Class::Zero) => nan_result::<F>(true, &[]),
        (Class::Inf, _) => (special::<F>(neg, true), Flags::NONE),
        (_, Class::Inf) | (Class::Zero, _) => (special::<F>(neg, false), Flags::NONE),
        (Class::Finite { .. }, Class::Zero) => (special::<F>(neg, true), Flags::DZ),
        (Class::Finite { exp: ea, sig: sa }, Class::Finite { exp: eb, sig: sb }) => {
            // Dividend's leading bit at 125, divisor's at 63: the quotient has at least 62
            // bits, far more than 53 + 2, and the remainder becomes a sticky bit.
            let dividend = normalize(Term { neg, exp: ea, sig: u128::from(sa) });
            let shift = sb.leading_zeros();
            let divisor = u128::from(sb << shift);
            let quotient = dividend.sig / divisor;
            let sticky = !dividend.sig.is_multiple_of(divisor);
            let exp = dividend.exp - eb + shift.cast_signed();
            round_pack::<F>(neg, exp, quotient | u128::from(sticky), rm)
        }
    }
}

/// `floor(sqrt(v))` for `v < 2^126`, and whether it is inexact.
///
/// A host `f64` root gives about 52 correct bits of the (at most 63-bit) root; one integer
/// Newton step makes it exact or off by one, and the final adjustments make it the floor. Only
/// integer arithmetic decides the result, so the host's rounding cannot make it wrong.
fn isqrt(v: u128) -> (u128, bool) {
    debug_assert!(v < 1 << 126);
    if v == 0 {
        return (0, false);
    }
    // The estimate is at least 1 for v >= 1, so the division is defined.
    let mut root = ((v as f64).sqrt() as u128).max(1);
    root = (root + v / root) >> 1;
    // root < 2^63 + 2^12, so these squares cannot overflow.
    while root * root > v {
        root -= 1;
    }
    while (root + 1) * (root + 1) <= v {
        root += 1;
    }
    (root, root * root != v)
}

/// `sqrt(a)`.
pub(crate) fn sqrt<F: Format>(a: u64, rm: Rounding) -> (u64, Flags) {
    let ua = unpack::<F>(a);
    match ua.class {
        Class::Nan { .. } => nan_result::<F>(false, &[ua]),
        Class::Zero => (special::<F>(ua.neg, false), Flags::NONE),
        _ if ua.neg => nan_result::<F>(true, &[]),
        Class::Inf => (F::INF, Flags::NONE),
        Class::Finite { exp, sig } => {
            // Make the exponent even, then scale by an even power so the root has at least 62
            // bits; its remainder becomes the sticky bit.
            let (exp, sig) =
                if exp & 1 != 0 { (exp - 1, u128::from(sig) << 1) } else { (exp, u128::from(sig)) };
            let shift = (sig.leading_zeros() - 2) & !1;
            let (root, inexact) = isqrt(sig << shift);
            let root_exp = (exp - shift.cast_signed()) / 2;
            round_pack::<F>(false, root_exp, root | u128::from(inexact), rm)
        }
    }
}

/// The four fused multiply-adds: `(±a*b) ± c` with one rounding. `negate_product` gives
/// FNMSUB/FNMADD, `negate_addend` gives FMSUB/FNMADD.
pub(crate) fn fma<F: Format>(
    a: u64,
    b: u64,
    c: u64,
    negate_product: bool,
    negate_addend: bool,
    rm: Rounding,
) -> (u64, Flags) {
    let (ua, ub) = (unpack::<F>(a), unpack::<F>(b));
    let mut uc = unpack::<F>(c);
    uc.neg ^= negate_addend;
    let prod_neg = ua.neg ^ ub.neg ^ negate_product;
    let inf_times_zero =
        matches!((ua.class, ub.class), (Class::Inf, Class::Zero) | (Class::Zero, Class::Inf));
    // RISC-V: ∞ × 0 raises NV even when the addend is a quiet NaN.
    if any_nan(&[ua, ub, uc]) {
        return nan_result::<F>(inf_times_zero, &[ua, ub, uc]);
    }
    if inf_times_zero {
        return nan_result::<F>(true, &[]);
    }
    let product_inf = ua.class == Class::Inf || ub.class == Class::Inf;
    if product_inf {
        if uc.class == Class::Inf && uc.neg != prod_neg {
            return nan_result::<F>(true, &[]);
        }
        return (special::<F>(prod_neg, true), Flags::NONE);
    }
    if uc.class == Class::Inf {
        return (special::<F>(uc.neg, true), Flags::NONE);
    }
    let product = match (ua.class, ub.class) {
        (Class::Finite { exp: ea, sig: sa }, Class::Finite { exp: eb, sig: sb }) => {
            Some(Term { neg: prod_neg, exp: ea + eb, sig: u128::from(sa) * u128::from(sb) })
        }
        _ => None,
    };
    match (product, uc.class) {
        (None, Class::Zero) if prod_neg == uc.neg => (special::<F>(prod_neg, false), Flags::NONE),
        (None, Class::Zero) => cancelled_zero::<F>(rm),
        (None, Class::Finite { exp, sig }) => round_pack::<F>(uc.neg, exp, u128::from(sig), rm),
        (Some(p), Class::Zero) => round_pack::<F>(p.neg, p.exp, p.sig, rm),
        (Some(p), Class::Finite { exp, sig }) => {
            add_terms::<F>(p, Term { neg: uc.neg, exp, sig: u128::from(sig) }, rm)
        }
        (_, Class::Inf | Class::Nan { .. }) => nan_result::<F>(false, &[ua, ub, uc]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpu::format::{Double, Single};

    const RNE: Rounding = Rounding::Rne;

    #[test]
    fn isqrt_is_exact_floor() {
        assert_eq!(isqrt(0), (0, false));
        assert_eq!(isqrt(1), (1, false));
        assert_eq!(isqrt(15), (3, true));
        assert_eq!(isqrt(16), (4, false));
        for big in [(1u128 << 126) - 1, (1 << 124) + 12_345, 3 << 100, 1 << 125, 99_999_999_999] {
            let (r, inexact) = isqrt(big);
            assert_eq!(inexact, r * r != big);
            assert!(r * r <= big && (r + 1) * (r + 1) > big, "{big}");
        }
        let square = ((1u128 << 62) + 7) * ((1u128 << 62) + 7);
        assert_eq!(isqrt(square), ((1 << 62) + 7, false));
    }

    #[test]
    fn add_cancels_to_plus_zero_except_rdn() {
        let one = 0x3f80_0000;
        let minus_one = 0xbf80_0000;
        assert_eq!(add::<Single>(one, minus_one, false, RNE), (0, Flags::NONE));
        assert_eq!(add::<Single>(one, one, true, Rounding::Rdn), (0x8000_0000, Flags::NONE));
        assert_eq!(add::<Single>(0x8000_0000, 0x8000_0000, false, RNE), (0x8000_0000, Flags::NONE));
    }

    #[test]
    fn add_far_apart_only_rounds() {
        // 1 + 2^-60 in every mode: the tail is sticky.
        let one = 1.0f64.to_bits();
        let tiny = 2f64.powi(-60).to_bits();
        assert_eq!(add::<Double>(one, tiny, false, RNE), (one, Flags::NX));
        assert_eq!(add::<Double>(one, tiny, false, Rounding::Rup), (one + 1, Flags::NX));
        assert_eq!(add::<Double>(one, tiny, true, Rounding::Rdn), (one - 1, Flags::NX));
        assert_eq!(add::<Double>(one, tiny, true, Rounding::Rtz), (one - 1, Flags::NX));
        assert_eq!(add::<Double>(one, tiny, true, RNE), (one, Flags::NX));
    }

    #[test]
    fn fma_is_fused() {
        // (1 + 2^-30)^2 - (1 + 2^-29) = 2^-60 exactly; unfused it would round to 0.
        let x = (1.0f64 + 2f64.powi(-30)).to_bits();
        let c = (1.0f64 + 2f64.powi(-29)).to_bits();
        assert_eq!(
            fma::<Double>(x, x, c, false, true, RNE),
            (2f64.powi(-60).to_bits(), Flags::NONE)
        );
    }

    #[test]
    fn division_and_sqrt_round_in_each_mode() {
        let one = 1.0f32.to_bits();
        let three = 3.0f32.to_bits();
        assert_eq!(div::<Single>(one.into(), three.into(), RNE), (0x3eaa_aaab, Flags::NX));
        assert_eq!(
            div::<Single>(one.into(), three.into(), Rounding::Rtz),
            (0x3eaa_aaaa, Flags::NX)
        );
        assert_eq!(sqrt::<Double>(4.0f64.to_bits(), RNE), (2.0f64.to_bits(), Flags::NONE));
        assert_eq!(sqrt::<Double>(2.0f64.to_bits(), RNE), (2f64.sqrt().to_bits(), Flags::NX));
        assert_eq!(
            sqrt::<Double>(2.0f64.to_bits(), Rounding::Rdn),
            (2f64.sqrt().to_bits() - 1, Flags::NX)
        );
        // The smallest subnormal has an exact-exponent root: 2^-1074 -> 2^-537.
        assert_eq!(sqrt::<Double>(1, RNE), (2f64.powi(-537).to_bits(), Flags::NONE));
    }
}
