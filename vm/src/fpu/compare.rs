//! Comparisons and minimum/maximum: FEQ, FLT, FLE, FMIN, FMAX.
//!
//! FEQ is a quiet comparison (NV only for a signalling NaN operand); FLT and FLE signal (NV for
//! any NaN operand). Any comparison with a NaN is false, and −0 equals +0. FMIN/FMAX follow
//! version 2.2 of the F extension: −0 is less than +0, a single NaN operand yields the other
//! operand, two NaNs yield the canonical NaN, and a signalling NaN operand raises NV.

use super::Flags;
use super::format::{Format, is_nan, is_signaling};
use core::cmp::Ordering;

/// A key whose unsigned order is the numeric order of non-NaN patterns, −0 below +0.
fn key<F: Format>(bits: u64) -> u64 {
    let width_mask = F::SIGN | (F::SIGN - 1);
    let bits = bits & width_mask;
    if bits & F::SIGN != 0 { !bits & width_mask } else { bits | F::SIGN }
}

/// Numeric order of two non-NaN patterns, treating −0 and +0 as equal.
fn numeric_cmp<F: Format>(a: u64, b: u64) -> Ordering {
    let magnitude = F::SIGN - 1;
    if a & magnitude == 0 && b & magnitude == 0 {
        return Ordering::Equal;
    }
    key::<F>(a).cmp(&key::<F>(b))
}

/// Which comparison an FEQ/FLT/FLE performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compare {
    /// FEQ: quiet.
    Eq,
    /// FLT: signalling.
    Lt,
    /// FLE: signalling.
    Le,
}

/// FEQ/FLT/FLE on patterns of format `F`.
pub(crate) fn compare<F: Format>(a: u64, b: u64, op: Compare) -> (bool, Flags) {
    if is_nan::<F>(a) || is_nan::<F>(b) {
        let signals = op != Compare::Eq || is_signaling::<F>(a) || is_signaling::<F>(b);
        return (false, if signals { Flags::NV } else { Flags::NONE });
    }
    let order = numeric_cmp::<F>(a, b);
    let result = match op {
        Compare::Eq => order == Ordering::Equal,
        Compare::Lt => order == Ordering::Less,
        Compare::Le => order != Ordering::Greater,
    };
    (result, Flags::NONE)
}

/// FMIN (`max == false`) or FMAX on patterns of format `F`.
pub(crate) fn min_max<F: Format>(a: u64, b: u64, max: bool) -> (u64, Flags) {
    let flags = if is_signaling::<F>(a) || is_signaling::<F>(b) { Flags::NV } else { Flags::NONE };
    let result = match (is_nan::<F>(a), is_nan::<F>(b)) {
        (true, true) => F::CANONICAL_NAN,
        (true, false) => b,
        (false, true) => a,
        (false, false) => {
            let a_first = key::<F>(a) < key::<F>(b);
            if a_first != max { a } else { b }
        }
    };
    (result, flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpu::format::{Double, Single};

    #[test]
    fn zeros_compare_equal_but_order_in_min_max() {
        let (pz, nz) = (0u64, 0x8000_0000u64);
        assert_eq!(compare::<Single>(pz, nz, Compare::Eq), (true, Flags::NONE));
        assert_eq!(compare::<Single>(nz, pz, Compare::Lt), (false, Flags::NONE));
        assert_eq!(compare::<Single>(pz, nz, Compare::Le), (true, Flags::NONE));
        assert_eq!(min_max::<Single>(pz, nz, false), (nz, Flags::NONE));
        assert_eq!(min_max::<Single>(nz, pz, true), (pz, Flags::NONE));
    }

    #[test]
    fn nan_rules() {
        let qnan = Double::CANONICAL_NAN | 5;
        let snan = 0x7ff0_0000_0000_0001;
        let one = 1.0f64.to_bits();
        assert_eq!(compare::<Double>(qnan, one, Compare::Eq), (false, Flags::NONE));
        assert_eq!(compare::<Double>(snan, one, Compare::Eq), (false, Flags::NV));
        assert_eq!(compare::<Double>(one, qnan, Compare::Lt), (false, Flags::NV));
        assert_eq!(compare::<Double>(one, qnan, Compare::Le), (false, Flags::NV));
        assert_eq!(min_max::<Double>(qnan, one, false), (one, Flags::NONE));
        assert_eq!(min_max::<Double>(one, snan, true), (one, Flags::NV));
        assert_eq!(min_max::<Double>(snan, qnan, true), (Double::CANONICAL_NAN, Flags::NV));
        assert_eq!(min_max::<Double>(qnan, qnan, false), (Double::CANONICAL_NAN, Flags::NONE));
    }

    #[test]
    fn ordering_spans_signs_and_infinities() {
        let values = [
            f64::NEG_INFINITY,
            -f64::MAX,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            5e-324,
            1.0,
            f64::INFINITY,
        ];
        for pair in values.windows(2) {
            if let [lo, hi] = *pair {
                assert_eq!(min_max::<Double>(hi.to_bits(), lo.to_bits(), false).0, lo.to_bits());
                assert_eq!(min_max::<Double>(lo.to_bits(), hi.to_bits(), true).0, hi.to_bits());
                let lt = compare::<Double>(lo.to_bits(), hi.to_bits(), Compare::Lt).0;
                assert_eq!(lt, lo < hi, "{lo} < {hi}");
            }
        }
    }
}
