//! Accuracy of `math.rs` against Rust's std, via the KIR interpreter.

use onnxc_kernel::builder::*;
use onnxc_kernel::interp::run_kernel;
use onnxc_kernel::kir::{Expr, Scalar};
use onnxc_kernel::math;

type F = fn(&mut KernelBuilder, Expr) -> Expr;

fn run_f64(f: F, xs: &[f64]) -> Vec<f64> {
    let mut b = KernelBuilder::new("t");
    let x = b.input(Scalar::F64);
    let y = b.output(Scalar::F64);
    b.for_loop(0, xs.len() as i64, |b, i| {
        let v = b.let_(load(x, i.clone()));
        let r = f(b, v);
        b.store(y, i, r);
    });
    let k = b.finish();
    let mut bufs = vec![xs.iter().flat_map(|v| v.to_le_bytes()).collect(), vec![0u8; xs.len() * 8]];
    run_kernel(&k, &mut bufs).unwrap();
    bufs[1].chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}

fn run_f32(f: F, xs: &[f32]) -> Vec<f32> {
    let mut b = KernelBuilder::new("t");
    let x = b.input(Scalar::F32);
    let y = b.output(Scalar::F32);
    b.for_loop(0, xs.len() as i64, |b, i| {
        let v = b.let_(load(x, i.clone()));
        let r = f(b, v);
        b.store(y, i, r);
    });
    let k = b.finish();
    let mut bufs = vec![xs.iter().flat_map(|v| v.to_le_bytes()).collect(), vec![0u8; xs.len() * 4]];
    run_kernel(&k, &mut bufs).unwrap();
    bufs[1].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// Relative error with an absolute floor `tiny` (for results near zero).
fn rel(got: f64, want: f64, tiny: f64) -> f64 {
    if want.is_nan() {
        return if got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if want.is_infinite() || got.is_infinite() {
        return if got == want { 0.0 } else { f64::INFINITY };
    }
    (got - want).abs() / want.abs().max(tiny)
}

fn grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..=n).map(|i| lo + (hi - lo) * i as f64 / n as f64).collect()
}

fn specials() -> Vec<f64> {
    vec![0.0, -0.0, 1.0, -1.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e-300, -1e-300, 1e-8, -1e-8, 0.5, -0.5]
}

fn check(name: &str, f: F, std: fn(f64) -> f64, xs: &[f64], tol64: f64, tol32: f64, tiny: f64) {
    let mut xs = xs.to_vec();
    xs.extend(specials());
    let got = run_f64(f, &xs);
    let mut worst = (0.0, 0.0);
    for (x, g) in xs.iter().zip(&got) {
        let e = rel(*g, std(*x), tiny);
        if e > worst.0 {
            worst = (e, *x);
        }
    }
    assert!(worst.0 <= tol64, "{name} f64: rel error {:e} at x = {:e} (got {}, want {})", worst.0, worst.1, run_f64(f, &[worst.1])[0], std(worst.1));
    let xs32: Vec<f32> = xs.iter().map(|v| *v as f32).collect();
    let got = run_f32(f, &xs32);
    let mut worst = (0.0, 0.0f32);
    for (x, g) in xs32.iter().zip(&got) {
        let want = std(*x as f64) as f32;
        let e = rel(*g as f64, want as f64, tiny.max(1e-37));
        if e > worst.0 {
            worst = (e, *x);
        }
    }
    assert!(worst.0 <= tol32, "{name} f32: rel error {:e} at x = {:e}", worst.0, worst.1);
}

fn wide() -> Vec<f64> {
    let mut v = grid(-10.0, 10.0, 4001);
    v.extend(grid(-1.0, 1.0, 2001));
    v.extend((-300..300).map(|e| 1.37f64.powi(e)));
    v.extend((-300..300).map(|e| -(1.37f64.powi(e))));
    v
}

#[test]
fn exp_log() {
    let mut xs = grid(-745.0, 709.0, 20001);
    xs.extend(grid(-2.0, 2.0, 2001));
    check("exp", math::exp, f64::exp, &xs, 1e-14, 3e-7, 1e-300);
    let mut xs: Vec<f64> = (-1070..1023).map(|e| 1.93f64.powf(e as f64 / 1.3)).collect();
    xs.extend(grid(0.0, 4.0, 4001));
    xs.extend([f64::MIN_POSITIVE / 3.0, 5e-324, -1.0, -5.0]);
    check("log", math::log, f64::ln, &xs, 1e-14, 3e-7, 1e-300);
    check("log1p", math::log1p, f64::ln_1p, &wide(), 1e-14, 3e-7, 1e-300);
}

#[test]
fn hyperbolic_and_activations() {
    check("tanh", math::tanh, f64::tanh, &wide(), 1e-14, 3e-7, 1e-300);
    check("sigmoid", math::sigmoid, |x| 1.0 / (1.0 + (-x).exp()), &wide(), 1e-14, 3e-7, 1e-300);
    check("softplus", math::softplus, |x| if x > 30.0 { x } else { x.exp().ln_1p() }, &wide(), 1e-14, 3e-7, 1e-300);
    check("sinh", math::sinh, f64::sinh, &wide(), 1e-13, 2e-7, 1e-300);
    check("cosh", math::cosh, f64::cosh, &wide(), 1e-13, 2e-7, 1e-300);
    check("asinh", math::asinh, f64::asinh, &wide(), 1e-14, 2e-7, 1e-300);
    check("acosh", math::acosh, f64::acosh, &wide(), 1e-14, 2e-7, 1e-300);
    check("atanh", math::atanh, f64::atanh, &wide(), 3e-14, 2e-7, 1e-300);
}

fn erf_ref(x: f64) -> f64 {
    // High-accuracy reference: Taylor for small |x|, continued fraction for erfc otherwise.
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    if ax < 2.5 {
        let (mut term, mut sum, mut n) = (ax, ax, 0.0);
        while term.abs() > 1e-30 * sum.abs().max(1e-300) {
            n += 1.0;
            term *= -ax * ax / n;
            sum += term / (2.0 * n + 1.0);
            if n > 200.0 {
                break;
            }
        }
        let r = sum * std::f64::consts::FRAC_2_SQRT_PI;
        return r.copysign(x);
    }
    // Lentz continued fraction for erfc.
    let mut f = 0.0;
    for k in (1..200).rev() {
        f = (k as f64 / 2.0) / (ax + f);
    }
    let erfc = (-ax * ax).exp() / std::f64::consts::PI.sqrt() / (ax + f);
    (1.0 - erfc).copysign(x)
}

#[test]
fn erf() {
    check("erf", math::erf, erf_ref, &wide(), 1e-13, 2e-7, 1e-300);
}

#[test]
fn trig() {
    // The reduction is accurate up to |x| ~ 1e6 (see math.rs).
    let mut xs: Vec<f64> = wide().into_iter().filter(|x| x.abs() < 1e6).collect();
    xs.extend(grid(-1000.0, 1000.0, 20001));
    // Near zeros of sin/cos the relative error is ill-conditioned; floor it.
    check("sin", math::sin, f64::sin, &xs, 1e-13, 3e-7, 1e-9);
    check("cos", math::cos, f64::cos, &xs, 1e-13, 3e-7, 1e-9);
    check("tan", math::tan, f64::tan, &xs, 1e-13, 3e-7, 1e-9);
    check("atan", math::atan, f64::atan, &wide(), 1e-14, 2e-7, 1e-300);
    check("asin", math::asin, f64::asin, &wide(), 1e-14, 2e-7, 1e-300);
    check("acos", math::acos, f64::acos, &wide(), 1e-14, 2e-7, 1e-300);
}

fn run_bin64(f: fn(&mut KernelBuilder, Expr, Expr) -> Expr, pairs: &[(f64, f64)]) -> Vec<f64> {
    let mut b = KernelBuilder::new("t");
    let x = b.input(Scalar::F64);
    let y = b.input(Scalar::F64);
    let o = b.output(Scalar::F64);
    b.for_loop(0, pairs.len() as i64, |b, i| {
        let r = f(b, load(x, i.clone()), load(y, i.clone()));
        b.store(o, i, r);
    });
    let k = b.finish();
    let mut bufs = vec![
        pairs.iter().flat_map(|p| p.0.to_le_bytes()).collect(),
        pairs.iter().flat_map(|p| p.1.to_le_bytes()).collect(),
        vec![0u8; pairs.len() * 8],
    ];
    run_kernel(&k, &mut bufs).unwrap();
    bufs[2].chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}

fn pair_grid() -> Vec<(f64, f64)> {
    let vals = [
        0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 2.5, -2.5, 10.0, -7.25, 1e-3, 123.456, f64::INFINITY,
        f64::NEG_INFINITY, f64::NAN, 1e300, -1e-300,
    ];
    let mut v = Vec::new();
    for a in vals {
        for b in vals {
            v.push((a, b));
        }
    }
    v
}

#[test]
fn pow_special_cases() {
    let pairs = pair_grid();
    let got = run_bin64(math::pow, &pairs);
    for ((x, y), g) in pairs.iter().zip(got) {
        let want = x.powf(*y);
        let e = rel(g, want, 1e-300);
        assert!(e < 1e-13, "pow({x}, {y}) = {g}, want {want}");
        if want == 0.0 {
            assert_eq!(g.is_sign_negative(), want.is_sign_negative(), "pow({x}, {y}) sign");
        }
    }
}

#[test]
fn fmod_cases() {
    let pairs = pair_grid();
    let got = run_bin64(math::fmod, &pairs);
    for ((x, y), g) in pairs.iter().zip(got) {
        let want = x % y;
        if (x / y).abs() > 1e15 && x.is_finite() && y.is_finite() && *y != 0.0 {
            continue; // beyond the documented exact range
        }
        assert!(rel(g, want, 1e-300) < 1e-12, "fmod({x}, {y}) = {g}, want {want}");
    }
}

fn conv_kernel(f: fn(&mut KernelBuilder, Expr) -> Expr, from: Scalar, to: Scalar, input: Vec<u8>, n: usize) -> Vec<u8> {
    let mut b = KernelBuilder::new("t");
    let x = b.input(from);
    let y = b.output(to);
    b.for_loop(0, n as i64, |b, i| {
        let r = f(b, load(x, i.clone()));
        b.store(y, i, r);
    });
    let k = b.finish();
    let mut bufs = vec![input, vec![0u8; n * to.size()]];
    run_kernel(&k, &mut bufs).unwrap();
    bufs.pop().unwrap()
}

#[test]
fn half_conversions_exhaustive() {
    let all: Vec<u16> = (0..=u16::MAX).collect();
    let bytes: Vec<u8> = all.iter().flat_map(|v| v.to_le_bytes()).collect();
    let out = conv_kernel(math::f16_to_f32, Scalar::U16, Scalar::F32, bytes.clone(), all.len());
    for (h, c) in all.iter().zip(out.chunks_exact(4)) {
        let got = f32::from_le_bytes(c.try_into().unwrap());
        let want = half::f16::from_bits(*h).to_f32();
        assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "f16 {h:#x}");
    }
    let out = conv_kernel(math::bf16_to_f32, Scalar::U16, Scalar::F32, bytes, all.len());
    for (h, c) in all.iter().zip(out.chunks_exact(4)) {
        let got = f32::from_le_bytes(c.try_into().unwrap());
        let want = half::bf16::from_bits(*h).to_f32();
        assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "bf16 {h:#x}");
    }
    // f32 -> half: every 9973rd bit pattern plus tie and boundary cases.
    let mut xs: Vec<u32> = (0..u32::MAX / 9973).map(|i| i * 9973).collect();
    for h in 0..=u16::MAX {
        let f = half::f16::from_bits(h).to_f32().to_bits();
        xs.extend([f, f + 0x1000, f.wrapping_sub(0x1000), f + 1, f.wrapping_sub(1), f + 0xfff]);
    }
    let bytes: Vec<u8> = xs.iter().flat_map(|v| v.to_le_bytes()).collect();
    let out = conv_kernel(math::f32_to_f16, Scalar::F32, Scalar::U16, bytes.clone(), xs.len());
    for (x, c) in xs.iter().zip(out.chunks_exact(2)) {
        let got = u16::from_le_bytes(c.try_into().unwrap());
        let f = f32::from_bits(*x);
        let want = half::f16::from_f32(f);
        assert!(got == want.to_bits() || (f.is_nan() && half::f16::from_bits(got).is_nan()), "f32->f16 {f:e}: {got:#x} vs {:#x}", want.to_bits());
    }
    let out = conv_kernel(math::f32_to_bf16, Scalar::F32, Scalar::U16, bytes, xs.len());
    for (x, c) in xs.iter().zip(out.chunks_exact(2)) {
        let got = u16::from_le_bytes(c.try_into().unwrap());
        let f = f32::from_bits(*x);
        let want = half::bf16::from_f32(f);
        assert!(got == want.to_bits() || (f.is_nan() && half::bf16::from_bits(got).is_nan()), "f32->bf16 {f:e}");
    }
}
