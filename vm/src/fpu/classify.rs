//! FCLASS and the sign-injection instructions FSGNJ, FSGNJN, FSGNJX: pure bit operations that
//! never raise a flag and never canonicalise a NaN.

use super::format::{Class, Format, unpack};

/// The FCLASS result: exactly one of bits 0..=9 set (−∞, −normal, −subnormal, −0, +0,
/// +subnormal, +normal, +∞, signalling NaN, quiet NaN).
pub(crate) fn fclass<F: Format>(a: u64) -> u64 {
    let u = unpack::<F>(a);
    let index = match u.class {
        Class::Nan { signaling: true } => 8,
        Class::Nan { signaling: false } => 9,
        Class::Inf => 0,
        Class::Finite { sig, .. } if sig >> F::FRAC_BITS != 0 => 1,
        Class::Finite { .. } => 2,
        Class::Zero => 3,
    };
    // Negative classes count up from bit 0, positive ones down from bit 7.
    let index = match (index, u.neg) {
        (8 | 9, _) | (_, true) => index,
        (_, false) => 7 - index,
    };
    1 << index
}

/// Which sign-injection instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignOp {
    /// FSGNJ: the sign of `b`.
    Inject,
    /// FSGNJN: the opposite of `b`'s sign.
    Negate,
    /// FSGNJX: the XOR of both signs.
    Xor,
}

/// FSGNJ/FSGNJN/FSGNJX: `a` with a sign derived from `b`.
pub(crate) fn sign_inject<F: Format>(a: u64, b: u64, op: SignOp) -> u64 {
    let magnitude = a & (F::SIGN - 1);
    let sign = match op {
        SignOp::Inject => b & F::SIGN,
        SignOp::Negate => !b & F::SIGN,
        SignOp::Xor => (a ^ b) & F::SIGN,
    };
    magnitude | sign
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpu::format::{Double, Single};

    #[test]
    fn fclass_each_class() {
        let cases: [(u64, u64); 10] = [
            (0xff80_0000, 1 << 0),
            (0xbf80_0000, 1 << 1),
            (0x8000_0001, 1 << 2),
            (0x8000_0000, 1 << 3),
            (0x0000_0000, 1 << 4),
            (0x007f_ffff, 1 << 5),
            (0x7f7f_ffff, 1 << 6),
            (0x7f80_0000, 1 << 7),
            (0xff80_0001, 1 << 8),
            (0xffc0_0000, 1 << 9),
        ];
        for (bits, want) in cases {
            assert_eq!(fclass::<Single>(bits), want, "{bits:#x}");
        }
        assert_eq!(fclass::<Double>(0x0010_0000_0000_0000), 1 << 6);
        assert_eq!(fclass::<Double>(0x000f_ffff_ffff_ffff), 1 << 5);
    }

    #[test]
    fn sign_injection_keeps_nan_payloads() {
        let snan = 0x7f80_0001;
        assert_eq!(sign_inject::<Single>(snan, 0x8000_0000, SignOp::Inject), 0xff80_0001);
        assert_eq!(sign_inject::<Single>(snan, 0x8000_0000, SignOp::Negate), snan);
        assert_eq!(sign_inject::<Single>(0xbf80_0000, 0x8000_0000, SignOp::Xor), 0x3f80_0000);
        assert_eq!(sign_inject::<Double>(1, 1 << 63, SignOp::Xor), (1 << 63) | 1);
    }
}
