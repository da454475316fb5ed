//! The two IEEE 754 binary formats of RISC-V F and D, and how their bit patterns unpack.
//!
//! [`Format`] carries the constants of a format (field widths, bias, canonical NaN, largest
//! finite value); [`Single`] and [`Double`] implement it, so every operation in the soft-float
//! core is written once, generically, and monomorphised twice. Both formats travel as `u64`
//! bit patterns inside this module tree (a single occupies the low 32 bits); the public API in
//! `fpu/mod.rs` narrows singles back to `u32`.
//!
//! [`unpack`] turns a bit pattern into a sign and a [`Class`]: zero, a finite non-zero value
//! `sig * 2^exp` (subnormals and normals alike, the significand an integer), infinity, or NaN
//! (quiet or signalling). Nothing here rounds or raises flags.

/// Constants of one IEEE 754 binary interchange format.
pub(crate) trait Format {
    /// Width of the bit pattern: 32 or 64.
    const BITS: u32;
    /// Explicit fraction bits: 23 or 52.
    const FRAC_BITS: u32;
    /// Exponent field bits: 8 or 11.
    const EXP_BITS: u32;
    /// Exponent bias: 127 or 1023.
    const BIAS: i32;

    /// Precision in bits, counting the hidden bit: 24 or 53.
    const PREC: u32 = Self::FRAC_BITS + 1;
    /// Exponent of the smallest normal number.
    const EMIN: i32 = 1 - Self::BIAS;
    /// Exponent of the largest finite number.
    const EMAX: i32 = Self::BIAS;
    /// The sign bit.
    const SIGN: u64 = 1 << (Self::BITS - 1);
    /// The exponent field, all ones.
    const EXP_MASK: u64 = ((1 << Self::EXP_BITS) - 1) << Self::FRAC_BITS;
    /// The fraction field, all ones.
    const FRAC_MASK: u64 = (1 << Self::FRAC_BITS) - 1;
    /// The most significant fraction bit: set in a quiet NaN, clear in a signalling one.
    const QUIET_BIT: u64 = 1 << (Self::FRAC_BITS - 1);
    /// RISC-V's canonical NaN: positive, quiet, zero payload.
    const CANONICAL_NAN: u64 = Self::EXP_MASK | Self::QUIET_BIT;
    /// Positive infinity.
    const INF: u64 = Self::EXP_MASK;
    /// The largest finite positive number.
    const MAX_FINITE: u64 = Self::EXP_MASK - 1;
}

/// IEEE 754 binary32, RISC-V's `.s`.
pub(crate) enum Single {}

/// IEEE 754 binary64, RISC-V's `.d`.
pub(crate) enum Double {}

impl Format for Single {
    const BITS: u32 = 32;
    const FRAC_BITS: u32 = 23;
    const EXP_BITS: u32 = 8;
    const BIAS: i32 = 127;
}

impl Format for Double {
    const BITS: u32 = 64;
    const FRAC_BITS: u32 = 52;
    const EXP_BITS: u32 = 11;
    const BIAS: i32 = 1023;
}

const _: () = assert!(Single::CANONICAL_NAN == 0x7fc0_0000);
const _: () = assert!(Double::CANONICAL_NAN == 0x7ff8_0000_0000_0000);
const _: () = assert!(Single::MAX_FINITE == 0x7f7f_ffff);
const _: () = assert!(Double::MAX_FINITE == 0x7fef_ffff_ffff_ffff);
const _: () = assert!(Single::EMIN == -126 && Double::EMIN == -1022);

/// What a bit pattern denotes, apart from its sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// ±0.
    Zero,
    /// A non-zero finite value `sig * 2^exp`, `sig != 0` (normal or subnormal).
    Finite {
        /// Exponent of the significand's last bit.
        exp: i32,
        /// The significand as an integer, hidden bit included for normals.
        sig: u64,
    },
    /// ±∞.
    Inf,
    /// Not a number.
    Nan {
        /// Whether the NaN is signalling (quiet bit clear).
        signaling: bool,
    },
}

/// A bit pattern split into sign and [`Class`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Unpacked {
    /// The sign bit.
    pub neg: bool,
    /// What the rest of the bits denote.
    pub class: Class,
}

/// Splits the `F` bit pattern `bits` (upper bits beyond `F::BITS` ignored).
pub(crate) fn unpack<F: Format>(bits: u64) -> Unpacked {
    let neg = bits & F::SIGN != 0;
    let field = (bits & F::EXP_MASK) >> F::FRAC_BITS;
    let frac = bits & F::FRAC_MASK;
    let bias_prec = F::BIAS + F::FRAC_BITS.cast_signed();
    let class = if field == F::EXP_MASK >> F::FRAC_BITS {
        if frac == 0 { Class::Inf } else { Class::Nan { signaling: frac & F::QUIET_BIT == 0 } }
    } else if field == 0 {
        if frac == 0 { Class::Zero } else { Class::Finite { exp: 1 - bias_prec, sig: frac } }
    } else {
        // `field` is at most 2^11 - 2: the conversion is exact.
        let field = i32::try_from(field).unwrap_or(0);
        Class::Finite { exp: field - bias_prec, sig: frac | (1 << F::FRAC_BITS) }
    };
    Unpacked { neg, class }
}

/// Whether `bits` is a signalling NaN of format `F`.
pub(crate) fn is_signaling<F: Format>(bits: u64) -> bool {
    matches!(unpack::<F>(bits).class, Class::Nan { signaling: true })
}

/// Whether `bits` is any NaN of format `F`.
pub(crate) fn is_nan<F: Format>(bits: u64) -> bool {
    bits & F::EXP_MASK == F::EXP_MASK && bits & F::FRAC_MASK != 0
}

/// The pattern of `±∞` or `±0`, chosen by `inf`.
pub(crate) fn special<F: Format>(neg: bool, inf: bool) -> u64 {
    let sign = if neg { F::SIGN } else { 0 };
    if inf { sign | F::INF } else { sign }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpack_covers_every_class() {
        assert_eq!(unpack::<Single>(0).class, Class::Zero);
        assert!(unpack::<Single>(0x8000_0000).neg);
        assert_eq!(unpack::<Single>(0x3f80_0000).class, Class::Finite { exp: -23, sig: 1 << 23 });
        assert_eq!(unpack::<Single>(1).class, Class::Finite { exp: -149, sig: 1 });
        assert_eq!(unpack::<Double>(1).class, Class::Finite { exp: -1074, sig: 1 });
        assert_eq!(
            unpack::<Double>(Double::MAX_FINITE).class,
            Class::Finite { exp: 1023 - 52, sig: (1 << 53) - 1 }
        );
        assert_eq!(unpack::<Single>(0xff80_0000).class, Class::Inf);
        assert_eq!(unpack::<Single>(0x7fc0_0000).class, Class::Nan { signaling: false });
        assert_eq!(unpack::<Single>(0x7f80_0001).class, Class::Nan { signaling: true });
        assert!(is_signaling::<Double>(0x7ff0_0000_0000_0001));
        assert!(!is_signaling::<Double>(Double::CANONICAL_NAN));
        assert!(is_nan::<Double>(0xfff8_0000_0000_0000));
        assert!(!is_nan::<Double>(Double::INF));
    }
}
