//! Dense f32 sweep of the vectorizable math (exp, log, tanh, sigmoid, erf,
//! softplus) through the KIR interpreter, against f64 references: every
//! 2^14-th bit pattern of the whole f32 range (both signs, subnormals, inf,
//! NaN payloads) plus edges. Errors are in ulp of the f32 result
//! (the spacing of f32 at the reference value; 2^-149 for subnormals).
//!
//! Measured maxima (bounds asserted below in parentheses):
//! exp 1.10 ulp (1.5), log 1.95 (2), tanh 1.21 (1.5), sigmoid 2.26 (2.5),
//! erf 2.14 (2.5), softplus 3.55 (4). The compiled code may fuse multiply-adds
//! (`Kernel::contract`), which rounds less and stays within the same bounds
//! in practice; conformance and the onnxruntime comparison check it.

use onnxc_kernel::builder::*;
use onnxc_kernel::interp::run_kernel;
use onnxc_kernel::kir::{Expr, Scalar};
use onnxc_kernel::math;

type F = fn(&mut KernelBuilder, Expr) -> Expr;

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

fn sweep() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..1u64 << 18).map(|k| f32::from_bits((k << 14) as u32)).collect();
    xs.extend([
        0.0, -0.0, f32::MIN_POSITIVE, -f32::MIN_POSITIVE, 1e-45, -1e-45, f32::MAX, f32::MIN, f32::INFINITY,
        f32::NEG_INFINITY, f32::NAN, 88.72, 88.73, -87.33, -103.97, -103.98, -104.0, -150.0, 89.0, 0.625, -0.625,
        1.0, -1.0, 3.92, 4.0, 9.0, 10.0, -10.0, 20.0, -20.0,
    ]);
    // A dense grid where the functions vary most.
    xs.extend((-20_000..=20_000).map(|i| i as f32 * 1e-3));
    xs
}

/// Error of `got` in f32 ulps at `want`; None when the special values disagree.
fn ulps(got: f32, want: f64) -> Option<f64> {
    if want.is_nan() {
        return got.is_nan().then_some(0.0);
    }
    let w32 = want as f32;
    if w32.is_infinite() || got.is_infinite() {
        // Overflow must give inf (with the right sign), not a large finite value.
        return (got == w32).then_some(0.0);
    }
    let mag = want.abs().max(f32::MIN_POSITIVE as f64);
    let ulp = 2f64.powi(mag.log2().floor() as i32 - 23);
    Some((got as f64 - want).abs() / ulp)
}

fn max_ulps(name: &str, f: F, reference: fn(f64) -> f64) -> f64 {
    let xs = sweep();
    let got = run_f32(f, &xs);
    let mut worst = (0.0, 0.0f32);
    for (x, g) in xs.iter().zip(&got) {
        let want = reference(*x as f64);
        match ulps(*g, want) {
            Some(e) if e <= worst.0 => {}
            Some(e) => worst = (e, *x),
            None => panic!("{name}({x:e}) = {g:e}, want {want:e}"),
        }
    }
    eprintln!("{name}: max {:.2} ulp at x = {:e}", worst.0, worst.1);
    worst.0
}

fn erf_ref(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    if ax < 2.5 {
        let (mut term, mut sum, mut n) = (ax, ax, 0.0);
        while term.abs() > 1e-30 * sum.abs().max(1e-300) && n < 200.0 {
            n += 1.0;
            term *= -ax * ax / n;
            sum += term / (2.0 * n + 1.0);
        }
        return (sum * std::f64::consts::FRAC_2_SQRT_PI).copysign(x);
    }
    let mut f = 0.0;
    for k in (1..200).rev() {
        f = (k as f64 / 2.0) / (ax + f);
    }
    let erfc = (-ax * ax).exp() / std::f64::consts::PI.sqrt() / (ax + f);
    (1.0 - erfc).copysign(x)
}

fn sigmoid_ref(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus_ref(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

#[test]
fn exp_log_f32_sweep() {
    assert!(max_ulps("exp", math::exp, f64::exp) <= 1.5);
    assert!(max_ulps("log", math::log, f64::ln) <= 2.0);
}

#[test]
fn activations_f32_sweep() {
    assert!(max_ulps("tanh", math::tanh, f64::tanh) <= 1.5);
    assert!(max_ulps("sigmoid", math::sigmoid, sigmoid_ref) <= 2.5);
    assert!(max_ulps("softplus", math::softplus, softplus_ref) <= 4.0);
}

#[test]
fn erf_f32_sweep() {
    assert!(max_ulps("erf", math::erf, erf_ref) <= 2.5);
}

#[test]
fn special_values() {
    let xs = [f32::NEG_INFINITY, f32::INFINITY, f32::NAN, -0.0, 0.0, 100.0, -200.0];
    let e = run_f32(math::exp, &xs);
    assert_eq!(&e[..2], &[0.0, f32::INFINITY]);
    assert!(e[2].is_nan());
    assert_eq!(&e[3..], &[1.0, 1.0, f32::INFINITY, 0.0]);
    let t = run_f32(math::tanh, &xs);
    assert_eq!(&t[..2], &[-1.0, 1.0]);
    assert!(t[2].is_nan());
    assert!(t[3] == 0.0 && t[3].is_sign_negative());
    assert_eq!(&t[4..], &[0.0, 1.0, -1.0]);
    let s = run_f32(math::sigmoid, &xs);
    assert_eq!(&s[..2], &[0.0, 1.0]);
    assert!(s[2].is_nan());
    assert_eq!(&s[3..], &[0.5, 0.5, 1.0, 0.0]);
    let r = run_f32(math::erf, &xs);
    assert_eq!(&r[..2], &[-1.0, 1.0]);
    assert!(r[2].is_nan());
    assert!(r[3] == 0.0 && r[3].is_sign_negative());
    assert_eq!(&r[4..], &[0.0, 1.0, -1.0]);
}
