//! Property tests: every F/D operation of `shardbox_vm::fpu` against the naive rational oracle
//! in `fpu_oracle.rs`, over structured random operands (specials, boundaries, few-bit
//! significands that produce exact ties) and all five rounding modes. Results and flags must
//! match bit for bit. Failing seeds are kept in `fpu_prop.txt` beside this file and replayed
//! first on every run.

use crate::fpu_oracle::{self as oracle, D, Fmt, S};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use shardbox_vm::fpu::{self, Flags, Rounding};

fn config() -> Config {
    Config {
        cases: 1500,
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

fn rounding() -> impl Strategy<Value = (Rounding, u8)> {
    (0u8..5).prop_map(|rm| (Rounding::from_bits(rm.into()).expect("0..5 is valid"), rm))
}

/// Bit patterns of format `f` that hit the interesting cases often.
fn operand(f: Fmt) -> BoxedStrategy<u64> {
    let width_mask = if f.bits == 64 { u64::MAX } else { (1u64 << f.bits) - 1 };
    let frac_mask = (1u64 << f.frac) - 1;
    let field_max = (1u64 << f.exp_bits) - 1;
    let bias = field_max >> 1;
    let sign = 1u64 << (f.bits - 1);
    let specials: Vec<u64> = vec![
        0,
        1,
        frac_mask,
        frac_mask + 1,
        1 << f.frac | 1,
        bias << f.frac,
        (bias << f.frac) | 1,
        (field_max - 1) << f.frac | frac_mask,
        field_max << f.frac,
        f.canonical_nan(),
        (field_max << f.frac) | 1,
        (field_max << f.frac) | (frac_mask >> 1),
        f.canonical_nan() | 0x55,
    ];
    let specials_with_sign = (proptest::sample::select(specials), any::<bool>())
        .prop_map(move |(bits, neg)| if neg { bits | sign } else { bits });
    // Exponent fields near the ends and the middle, significands with trailing zeros.
    let structured = (
        any::<bool>(),
        prop_oneof![0..4u64, bias - 30..bias + 30, field_max - 4..field_max + 1, 0..field_max + 1],
        any::<u64>(),
        0..=f.frac,
    )
        .prop_map(move |(neg, field, frac, zeros)| {
            let frac = (frac & frac_mask) >> zeros << zeros;
            let bits = (field << f.frac) | frac;
            if neg { bits | sign } else { bits }
        });
    prop_oneof![
        2 => specials_with_sign,
        5 => structured,
        3 => any::<u64>().prop_map(move |b| b & width_mask),
    ]
    .boxed()
}

fn flags(f: Flags) -> u8 {
    f.bits()
}

fn s(bits: u64) -> u32 {
    u32::try_from(bits).expect("single operand")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn single_arithmetic((rm, r) in rounding(), a in operand(S), b in operand(S), c in operand(S)) {
        let (a32, b32, c32) = (s(a), s(b), s(c));
        let got = |(v, f): (u32, Flags)| (u64::from(v), flags(f));
        prop_assert_eq!(got(fpu::fadd_s(a32, b32, rm)), oracle::add(S, a, b, false, r), "fadd.s");
        prop_assert_eq!(got(fpu::fsub_s(a32, b32, rm)), oracle::add(S, a, b, true, r), "fsub.s");
        prop_assert_eq!(got(fpu::fmul_s(a32, b32, rm)), oracle::mul(S, a, b, r), "fmul.s");
        prop_assert_eq!(got(fpu::fdiv_s(a32, b32, rm)), oracle::div(S, a, b, r), "fdiv.s");
        prop_assert_eq!(got(fpu::fsqrt_s(a32, rm)), oracle::sqrt(S, a, r), "fsqrt.s");
        prop_assert_eq!(got(fpu::fmadd_s(a32, b32, c32, rm)), oracle::fma(S, a, b, c, false, false, r), "fmadd.s");
        prop_assert_eq!(got(fpu::fmsub_s(a32, b32, c32, rm)), oracle::fma(S, a, b, c, false, true, r), "fmsub.s");
        prop_assert_eq!(got(fpu::fnmsub_s(a32, b32, c32, rm)), oracle::fma(S, a, b, c, true, false, r), "fnmsub.s");
        prop_assert_eq!(got(fpu::fnmadd_s(a32, b32, c32, rm)), oracle::fma(S, a, b, c, true, true, r), "fnmadd.s");
    }

    #[test]
    fn double_arithmetic((rm, r) in rounding(), a in operand(D), b in operand(D), c in operand(D)) {
        let got = |(v, f): (u64, Flags)| (v, flags(f));
        prop_assert_eq!(got(fpu::fadd_d(a, b, rm)), oracle::add(D, a, b, false, r), "fadd.d");
        prop_assert_eq!(got(fpu::fsub_d(a, b, rm)), oracle::add(D, a, b, true, r), "fsub.d");
        prop_assert_eq!(got(fpu::fmul_d(a, b, rm)), oracle::mul(D, a, b, r), "fmul.d");
        prop_assert_eq!(got(fpu::fdiv_d(a, b, rm)), oracle::div(D, a, b, r), "fdiv.d");
        prop_assert_eq!(got(fpu::fsqrt_d(a, rm)), oracle::sqrt(D, a, r), "fsqrt.d");
        prop_assert_eq!(got(fpu::fmadd_d(a, b, c, rm)), oracle::fma(D, a, b, c, false, false, r), "fmadd.d");
        prop_assert_eq!(got(fpu::fmsub_d(a, b, c, rm)), oracle::fma(D, a, b, c, false, true, r), "fmsub.d");
        prop_assert_eq!(got(fpu::fnmsub_d(a, b, c, rm)), oracle::fma(D, a, b, c, true, false, r), "fnmsub.d");
        prop_assert_eq!(got(fpu::fnmadd_d(a, b, c, rm)), oracle::fma(D, a, b, c, true, true, r), "fnmadd.d");
    }

    /// The RNE fast paths see mostly ordinary operands: products and sums of nearby values.
    #[test]
    fn nearest_even_ordinary_operands(x in -1e6f64..1e6, y in -1e6f64..1e6, z in -1e3f64..1e3) {
        let (a, b, c) = (x.to_bits(), y.to_bits(), z.to_bits());
        let rne = Rounding::Rne;
        let got = |(v, f): (u64, Flags)| (v, flags(f));
        prop_assert_eq!(got(fpu::fadd_d(a, b, rne)), oracle::add(D, a, b, false, 0));
        prop_assert_eq!(got(fpu::fmul_d(a, b, rne)), oracle::mul(D, a, b, 0));
        prop_assert_eq!(got(fpu::fdiv_d(a, b, rne)), oracle::div(D, a, b, 0));
        prop_assert_eq!(got(fpu::fsqrt_d(a, rne)), oracle::sqrt(D, a, 0));
        prop_assert_eq!(got(fpu::fmadd_d(a, b, c, rne)), oracle::fma(D, a, b, c, false, false, 0));
        // Near-total cancellation: the result is the product's rounding error (exact), or
        // that error plus a small addend.
        let cancel = (-(x * y)).to_bits();
        prop_assert_eq!(got(fpu::fmadd_d(a, b, cancel, rne)), oracle::fma(D, a, b, cancel, false, false, 0));
        let near = (-(x * y) + z * 1e-12).to_bits();
        prop_assert_eq!(got(fpu::fmsub_d(a, b, near, rne)), oracle::fma(D, a, b, near, false, true, 0));
        let (a, b, c) = ((x as f32).to_bits(), (y as f32).to_bits(), (z as f32).to_bits());
        let (a64, b64, c64) = (a.into(), b.into(), c.into());
        let got = |(v, f): (u32, Flags)| (u64::from(v), flags(f));
        prop_assert_eq!(got(fpu::fadd_s(a, b, rne)), oracle::add(S, a64, b64, false, 0));
        prop_assert_eq!(got(fpu::fmul_s(a, b, rne)), oracle::mul(S, a64, b64, 0));
        prop_assert_eq!(got(fpu::fdiv_s(a, b, rne)), oracle::div(S, a64, b64, 0));
        prop_assert_eq!(got(fpu::fsqrt_s(a, rne)), oracle::sqrt(S, a64, 0));
        prop_assert_eq!(got(fpu::fmadd_s(a, b, c, rne)), oracle::fma(S, a64, b64, c64, false, false, 0));
    }

    #[test]
    fn compare_min_max_class(a in operand(D), b in operand(D), sa in operand(S), sb in operand(S)) {
        let f = |(v, fl): (bool, Flags)| (v, flags(fl));
        prop_assert_eq!(f(fpu::feq_d(a, b)), oracle::compare(D, a, b, 0));
        prop_assert_eq!(f(fpu::flt_d(a, b)), oracle::compare(D, a, b, 1));
        prop_assert_eq!(f(fpu::fle_d(a, b)), oracle::compare(D, a, b, 2));
        prop_assert_eq!((fpu::fmin_d(a, b).0, flags(fpu::fmin_d(a, b).1)), oracle::min_max(D, a, b, false));
        prop_assert_eq!((fpu::fmax_d(a, b).0, flags(fpu::fmax_d(a, b).1)), oracle::min_max(D, a, b, true));
        prop_assert_eq!(fpu::fclass_d(a), oracle::fclass(D, a));
        let (x, y) = (s(sa), s(sb));
        prop_assert_eq!(f(fpu::feq_s(x, y)), oracle::compare(S, sa, sb, 0));
        prop_assert_eq!(f(fpu::flt_s(x, y)), oracle::compare(S, sa, sb, 1));
        prop_assert_eq!(f(fpu::fle_s(x, y)), oracle::compare(S, sa, sb, 2));
        let (m, fl) = fpu::fmin_s(x, y);
        prop_assert_eq!((u64::from(m), flags(fl)), oracle::min_max(S, sa, sb, false));
        let (m, fl) = fpu::fmax_s(x, y);
        prop_assert_eq!((u64::from(m), flags(fl)), oracle::min_max(S, sa, sb, true));
        prop_assert_eq!(fpu::fclass_s(x), oracle::fclass(S, sa));
    }

    #[test]
    fn conversions((rm, r) in rounding(), a in operand(D), sa in operand(S), x in any::<u64>(), small in -1e20f64..1e20) {
        let f = |(v, fl): (u64, Flags)| (v, flags(fl));
        let fs = |(v, fl): (u32, Flags)| (u64::from(v), flags(fl));
        for d in [a, small.to_bits(), (small.round() + 0.5).to_bits(), (small / 1e10).to_bits()] {
            prop_assert_eq!(f(fpu::fcvt_w_d(d, rm)), oracle::to_int(D, d, 32, true, r), "fcvt.w.d {:#x}", d);
            prop_assert_eq!(f(fpu::fcvt_wu_d(d, rm)), oracle::to_int(D, d, 32, false, r), "fcvt.wu.d {:#x}", d);
            prop_assert_eq!(f(fpu::fcvt_l_d(d, rm)), oracle::to_int(D, d, 64, true, r), "fcvt.l.d {:#x}", d);
            prop_assert_eq!(f(fpu::fcvt_lu_d(d, rm)), oracle::to_int(D, d, 64, false, r), "fcvt.lu.d {:#x}", d);
            prop_assert_eq!(fs(fpu::fcvt_s_d(d, rm)), oracle::convert(D, S, d, r), "fcvt.s.d {:#x}", d);
        }
        let x32 = s(sa);
        prop_assert_eq!(f(fpu::fcvt_w_s(x32, rm)), oracle::to_int(S, sa, 32, true, r));
        prop_assert_eq!(f(fpu::fcvt_wu_s(x32, rm)), oracle::to_int(S, sa, 32, false, r));
        prop_assert_eq!(f(fpu::fcvt_l_s(x32, rm)), oracle::to_int(S, sa, 64, true, r));
        prop_assert_eq!(f(fpu::fcvt_lu_s(x32, rm)), oracle::to_int(S, sa, 64, false, r));
        prop_assert_eq!(f(fpu::fcvt_d_s(x32, rm)), oracle::convert(S, D, sa, r));
        // Integer to float: the .w forms read the low 32 bits.
        let w = i128::from(x as u32 as i32);
        let wu = i128::from(x as u32);
        let l = i128::from(x as i64);
        let lu = i128::from(x);
        prop_assert_eq!(fs(fpu::fcvt_s_w(x, rm)), oracle::from_int(S, w, r));
        prop_assert_eq!(fs(fpu::fcvt_s_wu(x, rm)), oracle::from_int(S, wu, r));
        prop_assert_eq!(fs(fpu::fcvt_s_l(x, rm)), oracle::from_int(S, l, r));
        prop_assert_eq!(fs(fpu::fcvt_s_lu(x, rm)), oracle::from_int(S, lu, r));
        prop_assert_eq!(f(fpu::fcvt_d_w(x, rm)), oracle::from_int(D, w, r));
        prop_assert_eq!(f(fpu::fcvt_d_wu(x, rm)), oracle::from_int(D, wu, r));
        prop_assert_eq!(f(fpu::fcvt_d_l(x, rm)), oracle::from_int(D, l, r));
        prop_assert_eq!(f(fpu::fcvt_d_lu(x, rm)), oracle::from_int(D, lu, r));
    }
}
