//! A naive reference for RISC-V F and D, written straight from the spec with exact rational
//! arithmetic (`num-rational`), sharing no code with `shardbox_vm::fpu`.
//!
//! Every value is decoded to an exact rational, the operation is computed exactly, and the
//! result is rounded by the textbook definition: find the two neighbouring multiples of the
//! result's quantum, pick one per rounding mode, detect overflow against the largest finite
//! value, and detect tininess by rounding again with an unbounded exponent. Square roots use an
//! integer root at a precision (2^-1200) finer than any quantum, which cannot move a rounding
//! boundary. It is slow and obviously correct; the property tests compare the fast code with it.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

pub const NX: u8 = 1;
pub const UF: u8 = 2;
pub const OF: u8 = 4;
pub const DZ: u8 = 8;
pub const NV: u8 = 16;

/// Rounding modes by their `rm` encoding.
pub const RNE: u8 = 0;
pub const RTZ: u8 = 1;
pub const RDN: u8 = 2;
pub const RUP: u8 = 3;
pub const RMM: u8 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fmt {
    pub bits: u32,
    pub frac: u32,
    pub exp_bits: u32,
}

pub const S: Fmt = Fmt { bits: 32, frac: 23, exp_bits: 8 };
pub const D: Fmt = Fmt { bits: 64, frac: 52, exp_bits: 11 };

impl Fmt {
    fn bias(self) -> i64 {
        (1 << (self.exp_bits - 1)) - 1
    }
    fn emin(self) -> i64 {
        1 - self.bias()
    }
    fn emax(self) -> i64 {
        self.bias()
    }
    fn prec(self) -> i64 {
        i64::from(self.frac) + 1
    }
    fn sign(self) -> u64 {
        1 << (self.bits - 1)
    }
    fn field_ones(self) -> u64 {
        (1 << self.exp_bits) - 1
    }
    fn inf(self) -> u64 {
        self.field_ones() << self.frac
    }
    pub fn canonical_nan(self) -> u64 {
        self.inf() | (1 << (self.frac - 1))
    }
    fn signed(self, neg: bool, magnitude: u64) -> u64 {
        if neg { magnitude | self.sign() } else { magnitude }
    }
}

/// A decoded operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Nan {
        signaling: bool,
    },
    Inf {
        neg: bool,
    },
    /// A finite value; `neg` also carries the sign of a zero.
    Num {
        neg: bool,
        mag: BigRational,
    },
}

fn pow2(e: i64) -> BigRational {
    let one = BigInt::one();
    if e >= 0 {
        BigRational::from_integer(one << e.unsigned_abs())
    } else {
        BigRational::new(one.clone(), one << e.unsigned_abs())
    }
}

fn int(v: i128) -> BigRational {
    BigRational::from_integer(BigInt::from(v))
}

pub fn decode(f: Fmt, bits: u64) -> Val {
    let neg = bits & f.sign() != 0;
    let field = (bits >> f.frac) & f.field_ones();
    let fraction = bits & ((1 << f.frac) - 1);
    if field == f.field_ones() {
        return if fraction == 0 {
            Val::Inf { neg }
        } else {
            Val::Nan { signaling: fraction >> (f.frac - 1) == 0 }
        };
    }
    let field = i64::try_from(field).expect("field");
    let mag = if field == 0 {
        int(fraction.into()) * pow2(f.emin() - i64::from(f.frac))
    } else {
        int(((1u64 << f.frac) | fraction).into()) * pow2(field - f.bias() - i64::from(f.frac))
    };
    Val::Num { neg, mag }
}

/// floor(log2(x)) for x > 0.
fn floor_log2(x: &BigRational) -> i64 {
    let n = i64::try_from(x.numer().bits()).expect("bits");
    let d = i64::try_from(x.denom().bits()).expect("bits");
    let mut e = n - d;
    while &pow2(e) > x {
        e -= 1;
    }
    while &pow2(e + 1) <= x {
        e += 1;
    }
    e
}

/// Rounds `mag` (>= 0) to a multiple of 2^q: returns the multiple count and inexactness.
fn round_at(mag: &BigRational, q: i64, neg: bool, rm: u8) -> (BigInt, bool) {
    let scaled = mag / pow2(q);
    let n = scaled.floor().to_integer();
    let rest = scaled - BigRational::from_integer(n.clone());
    if rest.is_zero() {
        return (n, false);
    }
    let half = BigRational::new(BigInt::one(), BigInt::from(2));
    let odd = (&n % BigInt::from(2)).is_one();
    let up = match rm {
        RNE => rest > half || (rest == half && odd),
        RMM => rest >= half,
        RTZ => false,
        RDN => neg,
        RUP => !neg,
        _ => panic!("bad rm {rm}"),
    };
    (if up { n + 1 } else { n }, true)
}

/// Rounds the exact value `(-1)^neg * mag`, `mag > 0`, to format `f`.
pub fn round(f: Fmt, neg: bool, mag: &BigRational, rm: u8) -> (u64, u8) {
    assert!(mag.is_positive());
    let p = f.prec();
    let e = floor_log2(mag);
    let mut q = e.max(f.emin()) - (p - 1);
    let (mut m, inexact) = round_at(mag, q, neg, rm);
    if m == BigInt::one() << p {
        m = BigInt::one() << (p - 1);
        q += 1;
    }
    let value = BigRational::from_integer(m.clone()) * pow2(q);
    let max_finite = int((1i128 << p) - 1) * pow2(f.emax() - (p - 1));
    if value > max_finite {
        let to_inf = match rm {
            RNE | RMM => true,
            RTZ => false,
            RDN => neg,
            _ => !neg,
        };
        let magnitude = if to_inf { f.inf() } else { f.inf() - 1 };
        return (f.signed(neg, magnitude), OF | NX);
    }
    // Tininess after rounding: round to `p` bits with an unbounded exponent.
    let (mu, _) = round_at(mag, e - (p - 1), neg, rm);
    let tiny = BigRational::from_integer(mu) * pow2(e - (p - 1)) < pow2(f.emin());
    let mut flags = 0;
    if inexact {
        flags |= NX;
        if tiny {
            flags |= UF;
        }
    }
    let m = m.to_u64().expect("significand");
    let bits = if m < 1 << (p - 1) {
        assert_eq!(q, f.emin() - (p - 1));
        m
    } else {
        let field = u64::try_from(q + (p - 1) + f.bias()).expect("field");
        (field << f.frac) | (m - (1 << (p - 1)))
    };
    (f.signed(neg, bits), flags)
}

/// The result of an exact value that may be zero; `zero_neg` is the sign of an exact zero.
fn finish(f: Fmt, exact: &BigRational, zero_neg: bool, rm: u8) -> (u64, u8) {
    if exact.is_zero() {
        (f.signed(zero_neg, 0), 0)
    } else {
        round(f, exact.is_negative(), &exact.abs(), rm)
    }
}

fn signed(neg: bool, mag: &BigRational) -> BigRational {
    if neg { -mag.clone() } else { mag.clone() }
}

fn snan(vals: &[&Val]) -> bool {
    vals.iter().any(|v| matches!(v, Val::Nan { signaling: true }))
}

fn is_nan(v: &Val) -> bool {
    matches!(v, Val::Nan { .. })
}

fn nan(f: Fmt, invalid: bool) -> (u64, u8) {
    (f.canonical_nan(), if invalid { NV } else { 0 })
}

pub fn add(f: Fmt, a: u64, b: u64, subtract: bool, rm: u8) -> (u64, u8) {
    let (va, mut vb) = (decode(f, a), decode(f, b));
    if is_nan(&va) || is_nan(&vb) {
        return nan(f, snan(&[&va, &vb]));
    }
    if subtract {
        vb = match vb {
            Val::Inf { neg } => Val::Inf { neg: !neg },
            Val::Num { neg, mag } => Val::Num { neg: !neg, mag },
            nan @ Val::Nan { .. } => nan,
        };
    }
    match (&va, &vb) {
        (Val::Inf { neg: x }, Val::Inf { neg: y }) if x != y => nan(f, true),
        (Val::Inf { neg }, _) | (_, Val::Inf { neg }) => (f.signed(*neg, f.inf()), 0),
        (Val::Num { neg: na, mag: ma }, Val::Num { neg: nb, mag: mb }) => {
            let sum = signed(*na, ma) + signed(*nb, mb);
            let both_zero_same_sign = ma.is_zero() && mb.is_zero() && na == nb;
            let zero_neg = if both_zero_same_sign { *na } else { rm == RDN };
            finish(f, &sum, zero_neg, rm)
        }
        _ => unreachable!(),
    }
}

pub fn mul(f: Fmt, a: u64, b: u64, rm: u8) -> (u64, u8) {
    let (va, vb) = (decode(f, a), decode(f, b));
    if is_nan(&va) || is_nan(&vb) {
        return nan(f, snan(&[&va, &vb]));
    }
    match (&va, &vb) {
        (Val::Inf { neg: x }, Val::Num { neg: y, mag })
        | (Val::Num { neg: y, mag }, Val::Inf { neg: x }) => {
            if mag.is_zero() {
                nan(f, true)
            } else {
                (f.signed(x != y, f.inf()), 0)
            }
        }
        (Val::Inf { neg: x }, Val::Inf { neg: y }) => (f.signed(x != y, f.inf()), 0),
        (Val::Num { neg: x, mag: ma }, Val::Num { neg: y, mag: mb }) => {
            finish(f, &signed(x != y, &(ma * mb)), x != y, rm)
        }
        _ => unreachable!(),
    }
}

pub fn div(f: Fmt, a: u64, b: u64, rm: u8) -> (u64, u8) {
    let (va, vb) = (decode(f, a), decode(f, b));
    if is_nan(&va) || is_nan(&vb) {
        return nan(f, snan(&[&va, &vb]));
    }
    match (&va, &vb) {
        (Val::Inf { .. }, Val::Inf { .. }) => nan(f, true),
        (Val::Inf { neg: x }, Val::Num { neg: y, .. }) => (f.signed(x != y, f.inf()), 0),
        (Val::Num { neg: x, .. }, Val::Inf { neg: y }) => (f.signed(x != y, 0), 0),
        (Val::Num { neg: x, mag: ma }, Val::Num { neg: y, mag: mb }) => {
            if mb.is_zero() {
                if ma.is_zero() { nan(f, true) } else { (f.signed(x != y, f.inf()), DZ) }
            } else {
                finish(f, &signed(x != y, &(ma / mb)), x != y, rm)
            }
        }
        _ => unreachable!(),
    }
}

pub fn sqrt(f: Fmt, a: u64, rm: u8) -> (u64, u8) {
    match decode(f, a) {
        Val::Nan { signaling } => nan(f, signaling),
        Val::Inf { neg: true } => nan(f, true),
        Val::Inf { neg: false } => (f.inf(), 0),
        Val::Num { neg, mag } if mag.is_zero() => (f.signed(neg, 0), 0),
        Val::Num { neg: true, .. } => nan(f, true),
        Val::Num { neg: false, mag } => {
            // r = floor(sqrt(mag) * 2^K); sqrt(mag) lies in [r, r + 1) * 2^-K.
            const K: i64 = 1200;
            let big = mag * pow2(2 * K);
            let scaled = big.floor().to_integer();
            let r = scaled.sqrt();
            let exact = &r * &r == scaled && big.is_integer();
            let proxy = if exact {
                BigRational::from_integer(r) * pow2(-K)
            } else {
                // Strictly inside (r, r + 1) * 2^-K: no rounding boundary lies there.
                (BigRational::from_integer(r) + BigRational::new(BigInt::one(), BigInt::from(2)))
                    * pow2(-K)
            };
            round(f, false, &proxy, rm)
        }
    }
}

pub fn fma(f: Fmt, a: u64, b: u64, c: u64, neg_prod: bool, neg_c: bool, rm: u8) -> (u64, u8) {
    let (va, vb, vc) = (decode(f, a), decode(f, b), decode(f, c));
    let is_zero = |v: &Val| matches!(v, Val::Num { mag, .. } if mag.is_zero());
    let is_inf = |v: &Val| matches!(v, Val::Inf { .. });
    let inf_zero = (is_inf(&va) && is_zero(&vb)) || (is_zero(&va) && is_inf(&vb));
    if is_nan(&va) || is_nan(&vb) || is_nan(&vc) {
        return nan(f, inf_zero || snan(&[&va, &vb, &vc]));
    }
    if inf_zero {
        return nan(f, true);
    }
    let sign_of = |v: &Val| match v {
        Val::Inf { neg } | Val::Num { neg, .. } => *neg,
        Val::Nan { .. } => false,
    };
    let prod_neg = sign_of(&va) ^ sign_of(&vb) ^ neg_prod;
    let c_neg = sign_of(&vc) ^ neg_c;
    if is_inf(&va) || is_inf(&vb) {
        if is_inf(&vc) && c_neg != prod_neg {
            return nan(f, true);
        }
        return (f.signed(prod_neg, f.inf()), 0);
    }
    if is_inf(&vc) {
        return (f.signed(c_neg, f.inf()), 0);
    }
    let mag = |v: &Val| match v {
        Val::Num { mag, .. } => mag.clone(),
        _ => unreachable!(),
    };
    let product = mag(&va) * mag(&vb);
    let addend = mag(&vc);
    let exact = signed(prod_neg, &product) + signed(c_neg, &addend);
    let zero_neg = if product.is_zero() && addend.is_zero() && prod_neg == c_neg {
        prod_neg
    } else {
        rm == RDN
    };
    finish(f, &exact, zero_neg, rm)
}

/// FMIN (`max == false`) / FMAX, version 2.2.
pub fn min_max(f: Fmt, a: u64, b: u64, max: bool) -> (u64, u8) {
    let (va, vb) = (decode(f, a), decode(f, b));
    let flags = if snan(&[&va, &vb]) { NV } else { 0 };
    let result = match (&va, &vb) {
        (Val::Nan { .. }, Val::Nan { .. }) => f.canonical_nan(),
        (Val::Nan { .. }, _) => b,
        (_, Val::Nan { .. }) => a,
        _ => {
            let (x, y) = (ordered(&va), ordered(&vb));
            // Equal values are ±0 pairs or identical patterns: −0 is the smaller.
            let a_smaller = x < y || (x == y && a & f.sign() != 0);
            if a_smaller != max { a } else { b }
        }
    };
    (result, flags)
}

/// A value in the extended reals, for ordering (infinities as ±2^5000).
fn ordered(v: &Val) -> BigRational {
    match v {
        Val::Inf { neg } => signed(*neg, &pow2(5000)),
        Val::Num { neg, mag } => signed(*neg, mag),
        Val::Nan { .. } => unreachable!(),
    }
}

/// FEQ (0), FLT (1), FLE (2).
pub fn compare(f: Fmt, a: u64, b: u64, op: u8) -> (bool, u8) {
    let (va, vb) = (decode(f, a), decode(f, b));
    if is_nan(&va) || is_nan(&vb) {
        let signals = op != 0 || snan(&[&va, &vb]);
        return (false, if signals { NV } else { 0 });
    }
    let (x, y) = (ordered(&va), ordered(&vb));
    let r = match op {
        0 => x == y,
        1 => x < y,
        _ => x <= y,
    };
    (r, 0)
}

/// FCVT to an integer of `width` bits, `signed` or not; returns the 64-bit register value.
pub fn to_int(f: Fmt, a: u64, width: u32, is_signed: bool, rm: u8) -> (u64, u8) {
    let (min, max): (i128, i128) = if is_signed {
        (-(1i128 << (width - 1)), (1i128 << (width - 1)) - 1)
    } else {
        (0, (1i128 << width) - 1)
    };
    let reg =
        |v: i128| -> u64 { if width == 32 { i64::from(v as u32 as i32) as u64 } else { v as u64 } };
    match decode(f, a) {
        Val::Nan { .. } | Val::Inf { neg: false } => (reg(max), NV),
        Val::Inf { neg: true } => (reg(min), NV),
        Val::Num { neg, mag } => {
            let (n, inexact) = round_at(&mag, 0, neg, rm);
            let n = if neg { -n } else { n };
            let (lo, hi) = (BigInt::from(min), BigInt::from(max));
            if n < lo {
                (reg(min), NV)
            } else if n > hi {
                (reg(max), NV)
            } else {
                (reg(n.to_i128().expect("in range")), if inexact { NX } else { 0 })
            }
        }
    }
}

/// FCVT from the integer `v` to format `f`.
pub fn from_int(f: Fmt, v: i128, rm: u8) -> (u64, u8) {
    finish(f, &int(v), false, rm)
}

/// FCVT.S.D / FCVT.D.S.
pub fn convert(from: Fmt, to: Fmt, a: u64, rm: u8) -> (u64, u8) {
    match decode(from, a) {
        Val::Nan { signaling } => nan(to, signaling),
        Val::Inf { neg } => (to.signed(neg, to.inf()), 0),
        Val::Num { neg, mag } if mag.is_zero() => (to.signed(neg, 0), 0),
        Val::Num { neg, mag } => round(to, neg, &mag, rm),
    }
}

/// FCLASS.
pub fn fclass(f: Fmt, a: u64) -> u64 {
    let v = decode(f, a);
    let min_normal = pow2(f.emin());
    let bit = match &v {
        Val::Inf { neg: true } => 0,
        Val::Num { neg: true, mag } if *mag >= min_normal => 1,
        Val::Num { neg: true, mag } if !mag.is_zero() => 2,
        Val::Num { neg: true, .. } => 3,
        Val::Num { neg: false, mag } if mag.is_zero() => 4,
        Val::Num { neg: false, mag } if *mag < min_normal => 5,
        Val::Num { neg: false, .. } => 6,
        Val::Inf { neg: false } => 7,
        Val::Nan { signaling: true } => 8,
        Val::Nan { signaling: false } => 9,
    };
    1 << bit
}
