//! Conversions: float to integer (with RISC-V's saturation table), integer to float, and
//! between single and double.
//!
//! Float-to-integer rounds in the given mode, then checks the range. An out-of-range result,
//! ±∞ or NaN raises NV alone (never NX) and saturates as the F chapter's FCVT table says: NaN
//! and too-large positives give the maximum, −∞ and too-large negatives give the minimum (0 for
//! the unsigned forms). A negative input that rounds to zero is in range for the unsigned forms
//! (NX, result 0). Results are returned as 64-bit register values; 32-bit results are
//! sign-extended, unsigned ones included, as RV64 requires.
//!
//! Integer-to-float rounds (NX when inexact); single-to-double is exact; double-to-single rounds
//! and may overflow or underflow. A NaN operand converts to the canonical NaN, with NV only when
//! it was signalling.

use super::format::{Class, Format, unpack};
use super::round::{round_pack, shift_round};
use super::{Flags, Rounding};

/// The integer types the FCVT instructions target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntKind {
    /// `.w`: `i32`.
    W,
    /// `.wu`: `u32`.
    Wu,
    /// `.l`: `i64`.
    L,
    /// `.lu`: `u64`.
    Lu,
}

impl IntKind {
    /// The smallest and largest representable values.
    fn range(self) -> (i128, i128) {
        match self {
            IntKind::W => (i32::MIN.into(), i32::MAX.into()),
            IntKind::Wu => (0, u32::MAX.into()),
            IntKind::L => (i64::MIN.into(), i64::MAX.into()),
            IntKind::Lu => (0, u64::MAX.into()),
        }
    }

    /// The x-register value holding `v` (which lies in [`Self::range`]): 32-bit results are
    /// sign-extended from bit 31.
    fn register(self, v: i128) -> u64 {
        match self {
            // Truncation to the low 32 (or 64) bits is the intent; `v` is in range.
            IntKind::W | IntKind::Wu => i64::from(v as u32 as i32) as u64,
            IntKind::L | IntKind::Lu => v as u64,
        }
    }
}

/// FCVT.{W,WU,L,LU}.{S,D}: `a` of format `F` to the integer `kind`, as a register value.
pub(crate) fn to_int<F: Format>(a: u64, kind: IntKind, rm: Rounding) -> (u64, Flags) {
    let (min, max) = kind.range();
    let ua = unpack::<F>(a);
    let invalid = |neg: bool| (kind.register(if neg { min } else { max }), Flags::NV);
    match ua.class {
        Class::Nan { .. } => invalid(false),
        Class::Inf => invalid(ua.neg),
        Class::Zero => (0, Flags::NONE),
        Class::Finite { exp, sig } => {
            let (magnitude, inexact) = if exp >= 0 {
                // sig < 2^53: any exp above 64 is out of every range, and smaller shifts fit.
                if exp > 64 {
                    return invalid(ua.neg);
                }
                (u128::from(sig) << exp, false)
            } else {
                shift_round(u128::from(sig), -exp, ua.neg, rm)
            };
            // magnitude < 2^117: fits an i128 with either sign.
            let magnitude = i128::try_from(magnitude).unwrap_or(i128::MAX);
            let value = if ua.neg { -magnitude } else { magnitude };
            if value < min || value > max {
                return invalid(ua.neg);
            }
            (kind.register(value), if inexact { Flags::NX } else { Flags::NONE })
        }
    }
}

/// FCVT.{S,D}.{W,WU,L,LU}: the integer in register value `x` (its low 32 bits for the `.w`
/// forms) to format `F`.
pub(crate) fn from_int<F: Format>(x: u64, kind: IntKind, rm: Rounding) -> (u64, Flags) {
    // Truncations select the operand's low 32 bits, as the `.w` forms specify.
    let (neg, magnitude) = match kind {
        IntKind::W => {
            let v = x as u32 as i32;
            (v < 0, u64::from(v.unsigned_abs()))
        }
        IntKind::Wu => (false, u64::from(x as u32)),
        IntKind::L => {
            let v = x as i64;
            (v < 0, v.unsigned_abs())
        }
        IntKind::Lu => (false, x),
    };
    if magnitude == 0 {
        return (0, Flags::NONE);
    }
    round_pack::<F>(neg, 0, u128::from(magnitude), rm)
}

/// FCVT.S.D and FCVT.D.S: `a` of format `From` rounded to format `To`.
pub(crate) fn convert<From: Format, To: Format>(a: u64, rm: Rounding) -> (u64, Flags) {
    let ua = unpack::<From>(a);
    let sign = if ua.neg { To::SIGN } else { 0 };
    match ua.class {
        Class::Nan { signaling } => {
            (To::CANONICAL_NAN, if signaling { Flags::NV } else { Flags::NONE })
        }
        Class::Inf => (sign | To::INF, Flags::NONE),
        Class::Zero => (sign, Flags::NONE),
        Class::Finite { exp, sig } => round_pack::<To>(ua.neg, exp, u128::from(sig), rm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpu::format::{Double, Single};

    #[test]
    fn register_values_sign_extend_32_bit_results() {
        assert_eq!(IntKind::Wu.register(u32::MAX.into()), u64::MAX);
        assert_eq!(IntKind::W.register(-1), u64::MAX);
        assert_eq!(IntKind::Wu.register(0x7fff_ffff), 0x7fff_ffff);
        assert_eq!(IntKind::Lu.register(u64::MAX.into()), u64::MAX);
    }

    #[test]
    fn to_int_rounds_then_checks_range() {
        let rne = Rounding::Rne;
        // 2^31 - 0.5 rounds to 2^31: out of range for W, in range for WU.
        let x = (2f64.powi(31) - 0.5).to_bits();
        assert_eq!(to_int::<Double>(x, IntKind::W, rne), (0x7fff_ffff, Flags::NV));
        assert_eq!(to_int::<Double>(x, IntKind::Wu, rne), (0xffff_ffff_8000_0000, Flags::NX));
        assert_eq!(to_int::<Double>(x, IntKind::W, Rounding::Rtz), (0x7fff_ffff, Flags::NX));
        // -0.5 rounds to -0 under RNE: unsigned 0 with NX; RDN gives -1: NV, 0.
        let h = (-0.5f64).to_bits();
        assert_eq!(to_int::<Double>(h, IntKind::Wu, rne), (0, Flags::NX));
        assert_eq!(to_int::<Double>(h, IntKind::Lu, Rounding::Rdn), (0, Flags::NV));
        assert_eq!(to_int::<Double>(h, IntKind::L, Rounding::Rdn), (u64::MAX, Flags::NX));
        assert_eq!(to_int::<Double>(h, IntKind::L, Rounding::Rmm), (u64::MAX, Flags::NX));
        // -2^63 is exactly the minimum of L.
        let m = (-(2f64.powi(63))).to_bits();
        assert_eq!(to_int::<Double>(m, IntKind::L, rne), (1 << 63, Flags::NONE));
        assert_eq!(to_int::<Single>(0x7f7f_ffff, IntKind::Lu, rne), (u64::MAX, Flags::NV));
    }

    #[test]
    fn from_int_rounds_large_values() {
        // 2^24 + 1 is not a single: ties to even 2^24.
        let (bits, flags) = from_int::<Single>((1 << 24) + 1, IntKind::W, Rounding::Rne);
        assert_eq!((bits, flags), (0x4b80_0000, Flags::NX));
        // The .w forms read only the low 32 bits: 0xffff_ffff is -1 for W, 2^32 - 1 for WU.
        let x = 0x1234_5678_ffff_ffff;
        assert_eq!(from_int::<Double>(x, IntKind::W, Rounding::Rne).0, (-1.0f64).to_bits());
        assert_eq!(from_int::<Double>(x, IntKind::Wu, Rounding::Rne).0, 4_294_967_295f64.to_bits());
        assert_eq!(
            from_int::<Double>(1 << 63, IntKind::L, Rounding::Rne).0,
            (-(2f64.powi(63))).to_bits()
        );
        assert_eq!(
            from_int::<Double>(u64::MAX, IntKind::Lu, Rounding::Rtz).0,
            0x43ef_ffff_ffff_ffff
        );
    }

    #[test]
    fn single_double_conversions() {
        let rne = Rounding::Rne;
        assert_eq!(convert::<Single, Double>(1, rne), (2f64.powi(-149).to_bits(), Flags::NONE));
        assert_eq!(convert::<Single, Double>(0x7f80_0001, rne), (Double::CANONICAL_NAN, Flags::NV));
        assert_eq!(
            convert::<Double, Single>(Double::MAX_FINITE, rne),
            (0x7f80_0000, Flags::OF | Flags::NX)
        );
        assert_eq!(
            convert::<Double, Single>(Double::MAX_FINITE, Rounding::Rtz),
            (0x7f7f_ffff, Flags::OF | Flags::NX)
        );
        assert_eq!(convert::<Double, Single>(1, Rounding::Rup), (1, Flags::UF | Flags::NX));
        assert_eq!(
            convert::<Double, Single>(0xfff8_0000_0000_0000, rne),
            (Single::CANONICAL_NAN, Flags::NONE)
        );
    }
}
