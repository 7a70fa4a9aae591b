//! Scalar math expanded into KIR, so generated objects need no libm (KIR has
//! no calls). Every helper takes an `F32` or `F64` expression, emits its
//! temporaries as `Assign`s into fresh locals (so no expression is
//! duplicated), and returns an expression for the result.
//!
//! Methods: Cody-Waite range reduction plus truncated Taylor/atanh series or
//! Chebyshev fits (erf), evaluated by Horner's rule. `exp`, `log`, `tanh`,
//! `sigmoid`, `softplus` and `erf` compute in the input's own type (so f32
//! loops vectorize at full width); the others compute in f64 and round
//! (cheap insurance: the f32 result is then correctly rounded almost
//! always). The f32 ulp bounds are in `tests/vmath.rs`.
//!
//! Accuracy (checked by `tests/math.rs` against Rust's std over dense grids):
//! - f32: max relative error about 2e-7 (a few ulp) for exp, log, tanh,
//!   sigmoid, softplus; about 1e-7 for the f64-computed functions.
//! - f64: max relative error about 1e-14 (erf about 1e-13), except where the
//!   function is ill-conditioned (sin/cos/tan near their zeros for
//!   |x| > 1e6, where the 3-part Cody-Waite reduction runs out of bits
//!   (and gives garbage in [-1, 1] beyond 2^50); sinh/cosh for |x| > 100
//!   (~1e-13, from e^{|x|-ln2});
//!   pow with |y·log x| near 700, relative error up to ~1e-13).
//!
//! Special values (±0, ±inf, NaN, domain errors -> NaN) follow C99 Annex F.

// The fdlibm/Cephes constants are kept exactly as published.
#![allow(clippy::excessive_precision)]

use crate::builder::*;
use crate::kir::{Expr, Scalar};

type B = KernelBuilder;

fn ty(b: &B, x: &Expr) -> Scalar {
    let t = b.ty(x);
    debug_assert!(t.is_float(), "math helpers take f32/f64, got {t}");
    t
}

/// `c0 + x*(c1 + x*(c2 + ...))`, coefficients in ascending order.
fn horner(t: Scalar, x: &Expr, coeffs: &[f64]) -> Expr {
    let mut acc = cf(t, *coeffs.last().unwrap_or(&0.0));
    for c in coeffs.iter().rev().skip(1) {
        acc = add(mul(acc, x.clone()), cf(t, *c));
    }
    acc
}

/// Runs `f` in f64, converting an f32 argument there and the result back.
fn in_f64(b: &mut B, x: Expr, f: impl FnOnce(&mut B, Expr) -> Expr) -> Expr {
    if ty(b, &x) == Scalar::F32 {
        let x = b.let_(cast(Scalar::F64, x));
        let r = f(b, x);
        cast(Scalar::F32, r)
    } else {
        let x = b.let_(x);
        f(b, x)
    }
}

/// Logical and / or on Bool expressions, spelled as selects so backends need
/// no Bool bitwise ops.
pub fn band(a: Expr, c: Expr) -> Expr {
    select(a, c, cbool(false))
}
pub fn bor(a: Expr, c: Expr) -> Expr {
    select(a, cbool(true), c)
}
pub fn is_nan(x: Expr) -> Expr {
    ne(x.clone(), x)
}
/// `|x|` with the sign of `s` (s = -0 counts as negative).
pub fn copysign(b: &mut B, mag: Expr, s: Expr) -> Expr {
    let t = ty(b, &mag);
    let it = int_of(t);
    let m = b.let_(abs(mag));
    let neg = lt(bitcast(it, s), cint(it, 0));
    select(neg, crate::builder::neg(m.clone()), m)
}
/// (-1)^k, for alternating series.
fn sgn(k: usize) -> f64 {
    if k.is_multiple_of(2) {
        1.0
    } else {
        -1.0
    }
}
fn int_of(t: Scalar) -> Scalar {
    if t == Scalar::F32 {
        Scalar::I32
    } else {
        Scalar::I64
    }
}
fn inf(t: Scalar) -> Expr {
    cf(t, f64::INFINITY)
}

/// Factorial-based Taylor coefficients `sign^k / (start + step*k)!`-style
/// tables are built here rather than typed in, so they are exact to the ulp.
fn series(n: usize, f: impl Fn(usize) -> f64) -> Vec<f64> {
    (0..n).map(f).collect()
}
fn fact(n: usize) -> f64 {
    (1..=n).map(|k| k as f64).product()
}

/// e^x. Reduction x = n·ln2 + r, |r| <= ln2/2; e^r by Taylor (degree 7 for
/// f32, 13 for f64); 2^n applied in two halves so subnormal results work.
///
/// n is rounded with the shifter trick (adding 1.5·2^mantissa_bits leaves n
/// in the low mantissa bits) and read back as an integer by a bitcast: no
/// float -> int conversion, whose saturating KIR semantics LLVM can only
/// scalarize, so the whole function vectorizes.
pub fn exp(b: &mut B, x: Expr) -> Expr {
    let t = ty(b, &x);
    let it = int_of(t);
    let f32_ = t == Scalar::F32;
    let (lo, hi) = if f32_ { (-104.0, 89.0) } else { (-746.0, 710.0) };
    // Clamping keeps 2^n in range; the clamped ends still over/underflow.
    let xc = b.let_(min(max(x, cf(t, lo)), cf(t, hi)));
    let shifter = if f32_ { 12582912.0 } else { 6755399441055744.0 };
    let sh = b.let_(add(mul(xc.clone(), cf(t, std::f64::consts::LOG2_E)), cf(t, shifter)));
    let n = b.let_(sub(sh.clone(), cf(t, shifter)));
    let (c1, c2) = if f32_ { (0.693359375, -2.12194440e-4) } else { (6.93145751953125e-1, 1.42860682030941723212e-6) };
    let r = b.let_(sub(sub(xc, mul(n.clone(), cf(t, c1))), mul(n, cf(t, c2))));
    let deg = if f32_ { 7 } else { 13 };
    let p = b.let_(horner(t, &r, &series(deg + 1, |k| 1.0 / fact(k))));
    let shifter_bits = if f32_ { (shifter as f32).to_bits() as i64 } else { shifter.to_bits() as i64 };
    let ni = b.let_(sub(bitcast(it, sh), cint(it, shifter_bits)));
    let n1 = b.let_(shr(ni.clone(), cint(it, 1)));
    let n2 = sub(ni, n1.clone());
    let (bias, mant) = if f32_ { (127, 23) } else { (1023, 52) };
    let pow2 = |e: Expr| bitcast(t, shl(add(e, cint(it, bias)), cint(it, mant)));
    mul(mul(p, pow2(n1)), pow2(n2))
}

/// Natural log. x = m·2^e with m in [√½, √2); log m = 2·atanh(s),
/// s = (m-1)/(m+1), by its odd series (5 terms f32, 11 terms f64).
pub fn log(b: &mut B, x: Expr) -> Expr {
    let t = ty(b, &x);
    let it = int_of(t);
    let f32_ = t == Scalar::F32;
    let x = b.let_(x);
    let (min_normal, k) = if f32_ { (f32::MIN_POSITIVE as f64, 25) } else { (f64::MIN_POSITIVE, 54) };
    // Subnormals are scaled into the normal range first so the exponent field is exact.
    let small = b.let_(lt(x.clone(), cf(t, min_normal)));
    let xs = select(small.clone(), mul(x.clone(), cf(t, (k as f64).exp2())), x.clone());
    let bits = b.let_(bitcast(it, xs));
    let (mant, bias, mmask, one) = if f32_ {
        (23, 127, 0x7f_ffff_i64, 0x3f80_0000_i64)
    } else {
        (52, 1023, 0x000f_ffff_ffff_ffff_i64, 0x3ff0_0000_0000_0000_i64)
    };
    let ef = and(shr(bits.clone(), cint(it, mant)), cint(it, if f32_ { 0xff } else { 0x7ff }));
    let e = b.var(sub(sub(ef, cint(it, bias)), select(small, cint(it, k), cint(it, 0))));
    let m = b.var(bitcast(t, or(and(bits, cint(it, mmask)), cint(it, one))));
    let big = b.let_(gt(Expr::Local(m), cf(t, std::f64::consts::SQRT_2)));
    b.assign(m, select(big.clone(), mul(Expr::Local(m), cf(t, 0.5)), Expr::Local(m)));
    b.assign(e, add(Expr::Local(e), select(big, cint(it, 1), cint(it, 0))));
    let f = b.let_(sub(Expr::Local(m), cf(t, 1.0)));
    let s = b.let_(div(f.clone(), add(f, cf(t, 2.0))));
    let z = b.let_(mul(s.clone(), s.clone()));
    let terms = if f32_ { 5 } else { 11 };
    let lnm = b.let_(mul(s, horner(t, &z, &series(terms, |k| 2.0 / (2 * k + 1) as f64))));
    let ef = b.let_(cast(t, Expr::Local(e)));
    let (hi, lo) = if f32_ { (0.693359375, -2.12194440e-4) } else { (6.93147180369123816490e-01, 1.90821492927058770002e-10) };
    let r = add(mul(ef.clone(), cf(t, hi)), add(lnm, mul(ef, cf(t, lo))));
    let r = select(eq(x.clone(), inf(t)), inf(t), r);
    let r = select(ge(x.clone(), cf(t, 0.0)), r, cf(t, f64::NAN));
    select(eq(x, cf(t, 0.0)), cf(t, f64::NEG_INFINITY), r)
}

/// log(1 + u), accurate for small u (Goldberg's correction).
pub fn log1p(b: &mut B, u: Expr) -> Expr {
    let t = ty(b, &u);
    let u = b.let_(u);
    let w = b.let_(add(cf(t, 1.0), u.clone()));
    let l = log(b, w.clone());
    let l = b.let_(l);
    let r = mul(l, div(u.clone(), sub(w.clone(), cf(t, 1.0))));
    let r = select(eq(w, cf(t, 1.0)), u.clone(), r);
    select(eq(u, inf(t)), inf(t), r)
}

/// tanh. |x| < 0.625 (f32; 0.1 for f64): odd polynomial; otherwise
/// 1 - 2/(e^{2|x|} + 1) with the sign restored.
pub fn tanh(b: &mut B, x: Expr) -> Expr {
    let t = ty(b, &x);
    let x = b.let_(x);
    let ax = b.let_(abs(x.clone()));
    let e = exp(b, mul(ax.clone(), cf(t, 2.0)));
    let e = b.let_(e);
    let big = sub(cf(t, 1.0), div(cf(t, 2.0), add(e, cf(t, 1.0))));
    let big = copysign(b, big, x.clone());
    let z = b.let_(mul(x.clone(), x.clone()));
    let (thr, poly) = if t == Scalar::F32 {
        // Cephes tanhf minimax coefficients.
        (0.625, vec![1.0, -3.33332819422e-1, 1.33314422036e-1, -5.37397155531e-2, 2.06390887954e-2, -5.70498872745e-3])
    } else {
        let c = [1.0, -1.0 / 3.0, 2.0 / 15.0, -17.0 / 315.0, 62.0 / 2835.0, -1382.0 / 155925.0, 21844.0 / 6081075.0, -929569.0 / 638512875.0];
        (0.1, c.to_vec())
    };
    let small = mul(x, horner(t, &z, &poly));
    select(lt(ax, cf(t, thr)), small, big)
}

/// 1 / (1 + e^{-x}) for x >= 0, e^x / (1 + e^x) below: e^{-|x|} never
/// overflows, so large negative x keep their tiny (subnormal) results and
/// full relative accuracy.
pub fn sigmoid(b: &mut B, x: Expr) -> Expr {
    let t = ty(b, &x);
    let x = b.let_(x);
    let e = exp(b, neg(abs(x.clone())));
    let e = b.let_(e);
    let r = b.let_(div(cf(t, 1.0), add(cf(t, 1.0), e.clone())));
    select(ge(x, cf(t, 0.0)), r.clone(), mul(e, r))
}

/// log(1 + e^x), as max(x, 0) + log1p(e^{-|x|}) so it never overflows.
pub fn softplus(b: &mut B, x: Expr) -> Expr {
    let t = ty(b, &x);
    let x = b.let_(x);
    let e = exp(b, neg(abs(x.clone())));
    let l = log1p(b, e);
    let l = b.let_(l);
    add(max(x, cf(t, 0.0)), l)
}

/// erfc(x)·e^{x²} on [1,2), [2,4), [4,6]: Chebyshev fits (monomials in
/// x - centre), accurate enough that erf = 1 - erfc is within ~1e-14.
const ERFCX_1_2: [f64; 14] = [
    0.32158541645431904, -0.16362291773256266, 0.07615103985495587, -0.03293090529915785, 0.013377340986437043,
    -0.005145957565473493, 0.0018861340775280684, -0.0006619297356414312, 0.00022331905151121923,
    -7.266213612797902e-05, 2.2811207966724522e-05, -6.958239408477761e-06, 2.2194925552541593e-06,
    -6.40459229432244e-07,
];
const ERFCX_2_4: [f64; 14] = [
    0.17900115118149426, -0.05437226000734037, 0.01588437114969581, -0.004479431012138428, 0.0012230392144440055,
    -0.0003241256115167547, 8.355317342535607e-05, -2.0989147393882935e-05, 5.1491708437332205e-06,
    -1.2341352318284547e-06, 2.853197418760062e-07, -6.547833979726793e-08, 1.7758032092577964e-08,
    -3.950749545421935e-09,
];
const ERFCX_4_6: [f64; 7] = [
    0.11070463660433918, -0.021332880224821934, 0.004040724881106986, -0.0007521777362718342,
    0.00013792377823191473, -2.6373805194484438e-05, 4.726303785169705e-06,
];

/// erf(x)/x as a polynomial in x² on [0, 1] (f32 least-squares fit,
/// relative weights, Chebyshev nodes).
const ERF32_SMALL: [f64; 7] = [
    1.1283791665100522, -0.37612628843325147, 0.11283612428244273, -0.026854808537187438,
    0.005190053577755954, -0.0008024354127889351, 7.898210204193196e-05,
];
/// erfc(x)·e^{x²} on [1, 4] as a polynomial in x - 2.5 (same kind of fit).
const ERFCX32: [f64; 11] = [
    0.210806374636871, -0.0743475578592219, 0.024937805288076115, -0.00799960919918422,
    0.0024674454259288117, -0.0007385663963721963, 0.00021110837664564704, -5.38454228420093e-05,
    1.531716195304566e-05, -6.334183257068964e-06, 1.4981338399400398e-06,
];

/// erf in f32 (f32 arithmetic, so it vectorizes at full width): |x| < 1:
/// x·P(x²); otherwise 1 - e^{-u²}·erfcx(u), u = min(|x|, 4) (erf rounds to
/// 1 from 3.92 on). Max error 3 ulp (`tests/vmath.rs`).
fn erf32(b: &mut B, x: Expr) -> Expr {
    let t = Scalar::F32;
    let x = b.let_(x);
    let ax = b.let_(abs(x.clone()));
    let z = b.let_(mul(x.clone(), x.clone()));
    let small = b.let_(mul(x.clone(), horner(t, &z, &ERF32_SMALL)));
    let u = b.let_(min(ax.clone(), cf(t, 4.0)));
    let e = exp(b, neg(mul(u.clone(), u.clone())));
    let e = b.let_(e);
    let q = horner(t, &sub(u, cf(t, 2.5)), &ERFCX32);
    let big = sub(cf(t, 1.0), mul(e, q));
    let big = copysign(b, big, x);
    select(lt(ax, cf(t, 1.0)), small, big)
}

/// erf. f32: `erf32`. f64: |x| < 1: Taylor series (17 terms); otherwise
/// 1 - e^{-x²}·erfcx(|x|) with the fits above; |x| >= 6 gives ±1.
pub fn erf(b: &mut B, x: Expr) -> Expr {
    if ty(b, &x) == Scalar::F32 {
        return erf32(b, x);
    }
    in_f64(b, x, |b, x| {
        let t = Scalar::F64;
        let ax = b.let_(abs(x.clone()));
        let z = b.let_(mul(x.clone(), x.clone()));
        let c = series(17, |n| {
            sgn(n) * std::f64::consts::FRAC_2_SQRT_PI / (fact(n) * (2 * n + 1) as f64)
        });
        let small = b.let_(mul(x.clone(), horner(t, &z, &c)));
        let u = b.let_(min(ax.clone(), cf(t, 6.0)));
        let e = exp(b, neg(mul(u.clone(), u.clone())));
        let e = b.let_(e);
        let p1 = horner(t, &sub(u.clone(), cf(t, 1.5)), &ERFCX_1_2);
        let p2 = horner(t, &sub(u.clone(), cf(t, 3.0)), &ERFCX_2_4);
        let p3 = horner(t, &sub(u.clone(), cf(t, 5.0)), &ERFCX_4_6);
        let q = select(lt(u.clone(), cf(t, 2.0)), p1, select(lt(u, cf(t, 4.0)), p2, p3));
        let big = sub(cf(t, 1.0), mul(e, q));
        let big = copysign(b, big, x);
        select(lt(ax, cf(t, 1.0)), small, big)
    })
}

/// Reduces x by multiples of π/2 (3-part Cody-Waite); returns (r, q) with
/// x ≈ q·π/2 + r, |r| <= π/4, q an I64 local.
fn reduce_pio2(b: &mut B, x: Expr) -> (Expr, Expr) {
    let t = Scalar::F64;
    let n = b.let_(round_even(mul(x.clone(), cf(t, std::f64::consts::FRAC_2_PI))));
    let r = sub(x, mul(n.clone(), cf(t, 1.57079632673412561417e+00)));
    let r = sub(r, mul(n.clone(), cf(t, 6.07710050630396597660e-11)));
    let r = b.let_(sub(r, mul(n.clone(), cf(t, 2.02226624879595063154e-21))));
    let q = b.let_(and(cast(Scalar::I64, n), ci(3)));
    (r, q)
}

/// (sin r, cos r) for |r| <= π/4 by Taylor series through r^17 / r^16.
fn sincos_poly(b: &mut B, r: &Expr) -> (Expr, Expr) {
    let t = Scalar::F64;
    let z = b.let_(mul(r.clone(), r.clone()));
    let sc = series(9, |k| sgn(k) / fact(2 * k + 1));
    let cc = series(9, |k| sgn(k) / fact(2 * k));
    let s = b.let_(mul(r.clone(), horner(t, &z, &sc)));
    let c = b.let_(horner(t, &z, &cc));
    (s, c)
}

fn quadrant(q: &Expr, vals: [Expr; 4]) -> Expr {
    let [v0, v1, v2, v3] = vals;
    select(
        eq(q.clone(), ci(0)),
        v0,
        select(eq(q.clone(), ci(1)), v1, select(eq(q.clone(), ci(2)), v2, v3)),
    )
}

/// Beyond ~2^50 the reduction has no bits left; clamping at least keeps
/// such results inside [-1, 1].
fn clamp1(v: Expr) -> Expr {
    min(max(v, cf(Scalar::F64, -1.0)), cf(Scalar::F64, 1.0))
}

pub fn sin(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, |b, x| {
        let (r, q) = reduce_pio2(b, x);
        let (s, c) = sincos_poly(b, &r);
        clamp1(quadrant(&q, [s.clone(), c.clone(), neg(s), neg(c)]))
    })
}

pub fn cos(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, |b, x| {
        let (r, q) = reduce_pio2(b, x);
        let (s, c) = sincos_poly(b, &r);
        clamp1(quadrant(&q, [c.clone(), neg(s.clone()), neg(c), s]))
    })
}

pub fn tan(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, |b, x| {
        let (r, q) = reduce_pio2(b, x);
        let (s, c) = sincos_poly(b, &r);
        let odd = eq(and(q, ci(1)), ci(1));
        select(odd, neg(div(c.clone(), s.clone())), div(s, c))
    })
}

/// atan in f64: |x| > 1 uses π/2 - atan(1/|x|); t > tan(π/8) uses
/// π/4 + atan((t-1)/(t+1)); then the odd Taylor series (22 terms).
fn atan64(b: &mut B, x: Expr) -> Expr {
    let t = Scalar::F64;
    let x = b.let_(x);
    let ax = b.let_(abs(x.clone()));
    let inv = b.let_(gt(ax.clone(), cf(t, 1.0)));
    let u = b.let_(select(inv.clone(), div(cf(t, 1.0), ax.clone()), ax));
    let mid = b.let_(gt(u.clone(), cf(t, 0.414_213_562_373_095_1)));
    let v = b.let_(select(mid.clone(), div(sub(u.clone(), cf(t, 1.0)), add(u.clone(), cf(t, 1.0))), u));
    let z = b.let_(mul(v.clone(), v.clone()));
    let c = series(22, |k| sgn(k) / (2 * k + 1) as f64);
    let p = b.let_(mul(v, horner(t, &z, &c)));
    let p = b.let_(select(mid, add(cf(t, std::f64::consts::FRAC_PI_4), p.clone()), p));
    let p = select(inv, sub(cf(t, std::f64::consts::FRAC_PI_2), p.clone()), p);
    copysign(b, p, x)
}

pub fn atan(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, atan64)
}

/// asin x = atan(x / √((1-x)(1+x))).
pub fn asin(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, |b, x| {
        let t = Scalar::F64;
        let d = sqrt(mul(sub(cf(t, 1.0), x.clone()), add(cf(t, 1.0), x.clone())));
        atan64(b, div(x, d))
    })
}

/// acos x = 2·atan(√((1-x)/(1+x))).
pub fn acos(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, |b, x| {
        let t = Scalar::F64;
        let q = sqrt(div(sub(cf(t, 1.0), x.clone()), add(cf(t, 1.0), x)));
        let a = atan64(b, q);
        mul(cf(t, 2.0), a)
    })
}

/// sinh: Taylor (11 terms) for |x| < 1, else h - 1/(4h) with h = e^{|x|-ln2}
/// (so it overflows only where sinh itself does).
pub fn sinh(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, |b, x| {
        let t = Scalar::F64;
        let ax = b.let_(abs(x.clone()));
        let h = exp(b, sub(ax.clone(), cf(t, std::f64::consts::LN_2)));
        let h = b.let_(h);
        let big = sub(h.clone(), div(cf(t, 0.25), h));
        let big = copysign(b, big, x.clone());
        let z = b.let_(mul(x.clone(), x.clone()));
        let small = mul(x, horner(t, &z, &series(11, |k| 1.0 / fact(2 * k + 1))));
        select(lt(ax, cf(t, 1.0)), small, big)
    })
}

pub fn cosh(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, |b, x| {
        let t = Scalar::F64;
        let h = exp(b, sub(abs(x), cf(t, std::f64::consts::LN_2)));
        let h = b.let_(h);
        add(h.clone(), div(cf(t, 0.25), h))
    })
}

/// asinh x = sign·log1p(|x| + x²/(1 + √(1+x²))); log(2|x|) for |x| > 1e8.
pub fn asinh(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, |b, x| {
        let t = Scalar::F64;
        let ax = b.let_(abs(x.clone()));
        let z = b.let_(mul(ax.clone(), ax.clone()));
        let u = add(ax.clone(), div(z.clone(), add(cf(t, 1.0), sqrt(add(cf(t, 1.0), z)))));
        let small = log1p(b, u);
        let small = b.let_(small);
        let lg = log(b, ax.clone());
        let big = add(lg, cf(t, std::f64::consts::LN_2));
        let r = select(gt(ax, cf(t, 1e8)), big, small);
        copysign(b, r, x)
    })
}

/// acosh x = log1p(t + √(2t + t²)), t = x - 1; log(2x) for x > 1e8; NaN below 1.
pub fn acosh(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, |b, x| {
        let t = Scalar::F64;
        let u = b.let_(sub(x.clone(), cf(t, 1.0)));
        let v = add(u.clone(), sqrt(add(mul(u.clone(), cf(t, 2.0)), mul(u.clone(), u))));
        let small = log1p(b, v);
        let small = b.let_(small);
        let lg = log(b, x.clone());
        let big = add(lg, cf(t, std::f64::consts::LN_2));
        let r = select(gt(x.clone(), cf(t, 1e8)), big, small);
        select(ge(x, cf(t, 1.0)), r, cf(t, f64::NAN))
    })
}

/// atanh x = sign·½·log1p(2|x| / (1 - |x|)).
pub fn atanh(b: &mut B, x: Expr) -> Expr {
    in_f64(b, x, |b, x| {
        let t = Scalar::F64;
        let ax = b.let_(abs(x.clone()));
        let l = log1p(b, div(mul(ax.clone(), cf(t, 2.0)), sub(cf(t, 1.0), ax)));
        copysign(b, mul(l, cf(t, 0.5)), x)
    })
}

/// C99 pow: e^{y·log|x|} with the sign for odd integer y, NaN for a negative
/// base with a non-integer finite exponent, and Annex F's special cases
/// (pow(x, ±0) = 1, pow(1, y) = 1, pow(-1, ±inf) = 1, zeros and infinities).
pub fn pow(b: &mut B, x: Expr, y: Expr) -> Expr {
    let t0 = ty(b, &x);
    let (x, y) = if t0 == Scalar::F32 {
        (b.let_(cast(Scalar::F64, x)), b.let_(cast(Scalar::F64, y)))
    } else {
        (b.let_(x), b.let_(y))
    };
    let t = Scalar::F64;
    let ax = b.let_(abs(x.clone()));
    let l = log(b, ax.clone());
    let l = b.let_(l);
    let r = exp(b, mul(y.clone(), l));
    let r = b.let_(r);
    let is_int = b.let_(eq(y.clone(), trunc(y.clone())));
    let h = b.let_(mul(y.clone(), cf(t, 0.5)));
    let odd = b.let_(band(is_int.clone(), ne(h.clone(), trunc(h))));
    let sign_neg = lt(bitcast(Scalar::I64, x.clone()), ci(0));
    let r = b.let_(select(band(sign_neg, odd), neg(r.clone()), r));
    let y_inf = eq(abs(y.clone()), inf(t));
    let nan_case = band(
        band(lt(x.clone(), cf(t, 0.0)), gt(x.clone(), cf(t, f64::NEG_INFINITY))),
        band(not(is_int), not(y_inf.clone())),
    );
    let r = select(nan_case, cf(t, f64::NAN), r);
    let one = bor(eq(y, cf(t, 0.0)), bor(eq(x, cf(t, 1.0)), band(eq(ax, cf(t, 1.0)), y_inf)));
    let r = select(one, cf(t, 1.0), r);
    if t0 == Scalar::F32 {
        cast(Scalar::F32, r)
    } else {
        r
    }
}

/// C fmod (result has the dividend's sign). q = trunc(x/y), then the
/// remainder x - q·y is formed exactly with a Dekker product and corrected
/// by ±|y| when the rounded quotient was off by one. Exact whenever
/// |x/y| < 2^52 (always for f32 operands, computed in f64);
/// fmod(x, ±inf) = x for finite x, and NaN for y = 0 or infinite x.
pub fn fmod(b: &mut B, x: Expr, y: Expr) -> Expr {
    let t0 = ty(b, &x);
    let (x, y) = if t0 == Scalar::F32 {
        (b.let_(cast(Scalar::F64, x)), b.let_(cast(Scalar::F64, y)))
    } else {
        (b.let_(x), b.let_(y))
    };
    let t = Scalar::F64;
    let q = b.let_(trunc(div(x.clone(), y.clone())));
    let (ph, pl) = two_product(b, q, y.clone());
    let r = b.let_(sub(sub(x.clone(), ph), pl));
    let ay = b.let_(abs(y.clone()));
    let step = copysign(b, ay.clone(), x.clone());
    let step = b.let_(step);
    let r = b.let_(select(lt(mul(r.clone(), x.clone()), cf(t, 0.0)), add(r.clone(), step.clone()), r));
    let r = b.let_(select(ge(abs(r.clone()), ay.clone()), sub(r.clone(), step), r));
    let keep_x = band(eq(ay, inf(t)), lt(abs(x.clone()), inf(t)));
    let r = select(keep_x, x, r);
    if t0 == Scalar::F32 {
        cast(Scalar::F32, r)
    } else {
        r
    }
}

/// Dekker's exact product of two f64s: a·b = hi + lo (Veltkamp splitting).
fn two_product(b: &mut B, x: Expr, y: Expr) -> (Expr, Expr) {
    let t = Scalar::F64;
    let split = |b: &mut B, a: Expr| {
        let c = b.let_(mul(a.clone(), cf(t, 134217729.0)));
        let hi = b.let_(sub(c.clone(), sub(c, a.clone())));
        let lo = b.let_(sub(a, hi.clone()));
        (hi, lo)
    };
    let p = b.let_(mul(x.clone(), y.clone()));
    let (xh, xl) = split(b, x);
    let (yh, yl) = split(b, y);
    let e = sub(mul(xh.clone(), yh.clone()), p.clone());
    let e = add(e, mul(xh, yl.clone()));
    let e = add(e, mul(xl.clone(), yh));
    let e = b.let_(add(e, mul(xl, yl)));
    (p, e)
}

/// IEEE half bits (a `U16` expression) to f32: exact, incl. subnormals, inf, NaN.
pub fn f16_to_f32(b: &mut B, h: Expr) -> Expr {
    let u = Scalar::U32;
    let h = b.let_(cast(u, h));
    let sign = b.let_(shl(and(h.clone(), cint(u, 0x8000)), cint(u, 16)));
    let e = b.let_(and(shr(h.clone(), cint(u, 10)), cint(u, 0x1f)));
    let m = b.let_(and(h, cint(u, 0x3ff)));
    let normal = or(shl(add(e.clone(), cint(u, 112)), cint(u, 23)), shl(m.clone(), cint(u, 13)));
    let special = or(cint(u, 0x7f80_0000), shl(m.clone(), cint(u, 13)));
    // Subnormal halves are m·2^-24, exact in f32.
    let sub_ = bitcast(u, mul(cast(Scalar::F32, m), cf(Scalar::F32, 2f64.powi(-24))));
    let bits = select(eq(e.clone(), cint(u, 0)), sub_, select(eq(e, cint(u, 31)), special, normal));
    bitcast(Scalar::F32, or(bits, sign))
}

/// f32 to IEEE half bits (`U16`), round to nearest even; overflow gives inf,
/// NaN gives a quiet NaN (F. Giesen's branch-free algorithm).
pub fn f32_to_f16(b: &mut B, x: Expr) -> Expr {
    let u = Scalar::U32;
    let bits = b.let_(bitcast(u, x));
    let sign = b.let_(and(shr(bits.clone(), cint(u, 16)), cint(u, 0x8000)));
    let a = b.let_(and(bits, cint(u, 0x7fff_ffff)));
    let inf_nan = select(gt(a.clone(), cint(u, 0x7f80_0000)), cint(u, 0x7e00), cint(u, 0x7c00));
    // Below 2^-14 the result is subnormal: adding 0.5 lets the FPU round.
    let magic = 126i64 << 23;
    let f = add(bitcast(Scalar::F32, a.clone()), bitcast(Scalar::F32, cint(u, magic)));
    let subn = sub(bitcast(u, f), cint(u, magic));
    let odd = and(shr(a.clone(), cint(u, 13)), cint(u, 1));
    let adj = ((15i64 - 127) << 23) as u32 as i64 + 0xfff;
    let norm = shr(add(add(a.clone(), cint(u, adj)), odd), cint(u, 13));
    let o = select(
        ge(a.clone(), cint(u, 143 << 23)),
        inf_nan,
        select(lt(a, cint(u, 113 << 23)), subn, norm),
    );
    cast(Scalar::U16, or(o, sign))
}

/// bfloat16 bits (`U16`) to f32: exact.
pub fn bf16_to_f32(_b: &mut B, h: Expr) -> Expr {
    bitcast(Scalar::F32, shl(cast(Scalar::U32, h), cint(Scalar::U32, 16)))
}

/// f32 to bfloat16 bits (`U16`), round to nearest even, NaN stays quiet NaN.
pub fn f32_to_bf16(b: &mut B, x: Expr) -> Expr {
    let u = Scalar::U32;
    let x = b.let_(x);
    let bits = b.let_(bitcast(u, x.clone()));
    let lsb = and(shr(bits.clone(), cint(u, 16)), cint(u, 1));
    let r = shr(add(add(bits.clone(), cint(u, 0x7fff)), lsb), cint(u, 16));
    let nan = or(shr(bits, cint(u, 16)), cint(u, 0x40));
    cast(Scalar::U16, select(is_nan(x), nan, r))
}
