//! Rounding an exact value to a format: the one place where precision is lost.
//!
//! Every soft-float operation computes its result exactly, or as an exact integer significand
//! with a *sticky* bit ORed into a position far below the rounding point, then calls
//! [`round_pack`]. It rounds in any of the five RISC-V modes and raises NX, UF (tininess
//! detected *after* rounding, RISC-V's choice), and OF (with the ±∞ or ±max-finite result each
//! mode prescribes). [`shift_round`] is the integer primitive, also used to round to an integer
//! by the float-to-integer conversions. Neither handles NaN, infinity or zero inputs: callers
//! resolve those first.

use super::format::Format;
use super::{Flags, Rounding};
use core::cmp::Ordering;

/// Shifts `sig` right by `shift` bits (left when `shift <= 0`), rounding the bits shifted out
/// according to `rm` for a value of sign `neg`. Returns the rounded integer and whether any
/// non-zero bit was shifted out. The rounded integer can be one more than `sig >> shift` (a
/// carry); callers keep `sig` small enough that this never overflows.
pub(crate) fn shift_round(sig: u128, shift: i32, neg: bool, rm: Rounding) -> (u128, bool) {
    if shift <= 0 {
        let left = shift.unsigned_abs();
        debug_assert!(left < 128 && sig.leading_zeros() >= left, "callers never shift out bits");
        return (sig.checked_shl(left).unwrap_or(0), false);
    }
    let right = shift.unsigned_abs();
    let kept = sig.checked_shr(right).unwrap_or(0);
    let dropped = match 1u128.checked_shl(right) {
        Some(unit) => sig & (unit - 1),
        None => sig,
    };
    if dropped == 0 {
        return (kept, false);
    }
    // `right >= 1` here, so `right - 1` does not wrap.
    let half = match 1u128.checked_shl(right - 1) {
        Some(half) => dropped.cmp(&half),
        None => Ordering::Less,
    };
    let up = match rm {
        Rounding::Rne => half == Ordering::Greater || (half == Ordering::Equal && kept & 1 == 1),
        Rounding::Rmm => half != Ordering::Less,
        Rounding::Rtz => false,
        Rounding::Rdn => neg,
        Rounding::Rup => !neg,
    };
    // `kept < 2^127` because `right >= 1`: adding one cannot overflow.
    (kept + u128::from(up), true)
}

/// The result of an overflow in mode `rm`: ±∞ for the round-to-nearest modes and when rounding
/// away from zero, else ±max-finite; always OF and NX.
pub(crate) fn overflow<F: Format>(neg: bool, rm: Rounding) -> (u64, Flags) {
    let to_inf = match rm {
        Rounding::Rne | Rounding::Rmm => true,
        Rounding::Rtz => false,
        Rounding::Rdn => neg,
        Rounding::Rup => !neg,
    };
    let sign = if neg { F::SIGN } else { 0 };
    let magnitude = if to_inf { F::INF } else { F::MAX_FINITE };
    (sign | magnitude, Flags::OF | Flags::NX)
}

/// Rounds `(-1)^neg * sig * 2^exp` to format `F` in mode `rm` and packs it, with the flags the
/// rounding raises. `sig == 0` gives a zero of sign `neg` and no flags.
///
/// `exp` may lie far outside the format's range (the product of two subnormals, a quotient of
/// extremes): values too small round to zero or the smallest subnormal, values too large
/// overflow.
pub(crate) fn round_pack<F: Format>(neg: bool, exp: i32, sig: u128, rm: Rounding) -> (u64, Flags) {
    let sign = if neg { F::SIGN } else { 0 };
    if sig == 0 {
        return (sign, Flags::NONE);
    }
    let prec = F::PREC.cast_signed();
    // Bit length of `sig`, 1..=128.
    let len = 128 - sig.leading_zeros().cast_signed();
    // Exponent of the leading bit: the value lies in [2^top, 2^(top + 1)).
    let top = exp + len - 1;
    // Exponent of the result's last place: `prec` bits below a normal leading bit, or the
    // fixed subnormal quantum.
    let mut quantum = top.max(F::EMIN) - (prec - 1);
    let (mut m, inexact) = shift_round(sig, quantum - exp, neg, rm);
    if m >> prec != 0 {
        // Rounding carried into a new leading bit: m was 2^prec - 1 and is now 2^prec.
        m >>= 1;
        quantum += 1;
    }
    let normal = m >> (prec - 1) != 0;
    if normal && quantum + prec - 1 > F::EMAX {
        return overflow::<F>(neg, rm);
    }
    let mut flags = if inexact { Flags::NX } else { Flags::NONE };
    if inexact && top < F::EMIN {
        // Tininess after rounding: the value is tiny unless rounding it to `prec` bits with an
        // unbounded exponent reaches 2^EMIN, which only a value in [2^(EMIN-1), 2^EMIN) can.
        let tiny = top < F::EMIN - 1 || {
            let (wide, _) = shift_round(sig, top - (prec - 1) - exp, neg, rm);
            wide >> prec == 0
        };
        if tiny {
            flags |= Flags::UF;
        }
    }
    // `quantum >= EMIN - (prec - 1)`; the difference is the biased exponent minus one for a
    // normal (the hidden bit of `m` adds the one back) and zero for a subnormal, whose carry
    // into the hidden bit correctly yields the smallest normal.
    let field = u64::from((quantum - (F::EMIN - (prec - 1))).unsigned_abs());
    let bits = (field << (prec - 1)) + u64::try_from(m).unwrap_or(0);
    (sign | bits, flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpu::format::{Double, Single};

    #[test]
    fn shift_round_ties_in_every_mode() {
        // 0b101.1 = 5.5: a tie between 5 and 6.
        let cases = [
            (Rounding::Rne, false, 6),
            (Rounding::Rmm, false, 6),
            (Rounding::Rtz, false, 5),
            (Rounding::Rdn, false, 5),
            (Rounding::Rup, false, 6),
            (Rounding::Rdn, true, 6),
            (Rounding::Rup, true, 5),
        ];
        for (rm, neg, want) in cases {
            assert_eq!(shift_round(0b1011, 1, neg, rm), (want, true), "{rm:?} neg={neg}");
        }
        // 4.5 ties to even 4 under RNE, away to 5 under RMM.
        assert_eq!(shift_round(0b1001, 1, false, Rounding::Rne), (4, true));
        assert_eq!(shift_round(0b1001, 1, false, Rounding::Rmm), (5, true));
        // Exact shifts raise nothing; huge shifts keep only stickiness.
        assert_eq!(shift_round(0b1000, 3, false, Rounding::Rup), (1, false));
        assert_eq!(shift_round(1, 500, false, Rounding::Rup), (1, true));
        assert_eq!(shift_round(1, 500, false, Rounding::Rne), (0, true));
        assert_eq!(shift_round(1 << 127, 128, false, Rounding::Rne), (0, true));
        assert_eq!(shift_round((1 << 127) | 1, 128, false, Rounding::Rne), (1, true));
        assert_eq!(shift_round(3, -4, false, Rounding::Rne), (48, false));
    }

    #[test]
    fn round_pack_normal_subnormal_and_overflow() {
        assert_eq!(round_pack::<Single>(false, 0, 1, Rounding::Rne), (0x3f80_0000, Flags::NONE));
        assert_eq!(round_pack::<Single>(true, -149, 1, Rounding::Rne), (0x8000_0001, Flags::NONE));
        // 2^-150 is a tie between 0 and the smallest subnormal: even is zero.
        assert_eq!(round_pack::<Single>(false, -150, 1, Rounding::Rne), (0, Flags::UF | Flags::NX));
        assert_eq!(round_pack::<Single>(false, -150, 1, Rounding::Rup), (1, Flags::UF | Flags::NX));
        // 2^128 overflows.
        assert_eq!(
            round_pack::<Single>(false, 128, 1, Rounding::Rne),
            (0x7f80_0000, Flags::OF | Flags::NX)
        );
        assert_eq!(
            round_pack::<Single>(false, 128, 1, Rounding::Rtz),
            (0x7f7f_ffff, Flags::OF | Flags::NX)
        );
        assert_eq!(
            round_pack::<Double>(true, 1024, 1, Rounding::Rup),
            (0xffef_ffff_ffff_ffff, Flags::OF | Flags::NX)
        );
        assert_eq!(
            round_pack::<Double>(true, 1024, 1, Rounding::Rdn),
            (0xfff0_0000_0000_0000, Flags::OF | Flags::NX)
        );
    }

    #[test]
    fn tininess_is_detected_after_rounding() {
        // v = 2^-126 * (1 - d). The subnormal rounding reaches the smallest normal for
        // d <= 2^-24, but v is tiny (UF) unless rounding to 24 bits with an unbounded exponent
        // reaches 2^-126 too, which needs d <= 2^-25.
        // d = 2^-25: not tiny, NX only.
        let sig = (1u128 << 25) - 1;
        assert_eq!(round_pack::<Single>(false, -151, sig, Rounding::Rne), (0x0080_0000, Flags::NX));
        // d = 3 * 2^-26: tiny, although the result is the smallest normal.
        let sig = (1u128 << 26) - 3;
        assert_eq!(
            round_pack::<Single>(false, -152, sig, Rounding::Rne),
            (0x0080_0000, Flags::UF | Flags::NX)
        );
        // d = 2^-24: exact in 24 bits, so tiny; the subnormal rounding ties to even 2^-126.
        let sig = (1u128 << 24) - 1;
        assert_eq!(
            round_pack::<Single>(false, -150, sig, Rounding::Rne),
            (0x0080_0000, Flags::UF | Flags::NX)
        );
        // Under RTZ nothing rounds up: the largest subnormal, tiny.
        assert_eq!(
            round_pack::<Single>(false, -151, (1u128 << 25) - 1, Rounding::Rtz),
            (0x007f_ffff, Flags::UF | Flags::NX)
        );
        // An exact subnormal is tiny but exact: no UF.
        assert_eq!(round_pack::<Double>(false, -1074, 3, Rounding::Rne), (3, Flags::NONE));
    }
}
