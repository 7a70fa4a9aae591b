//! Differential test against the KIR interpreter (`onnxc_kernel::interp`):
//! the math expansions of `math.rs` exercise long chains of every float
//! and integer operation, and both implementations must agree bit for bit
//! (NaN payloads aside).

mod common;

use common::*;
use onnxc_kernel::builder::{ci, load, KernelBuilder};
use onnxc_kernel::kir::Scalar;
use onnxc_kernel::math;
use onnxc_kernel::{BufRef, Step};
use std::time::Instant;

type MathFn = fn(&mut KernelBuilder, onnxc_kernel::kir::Expr) -> onnxc_kernel::kir::Expr;

const FUNCS: [(&str, MathFn); 12] = [
    ("exp", math::exp),
    ("log", math::log),
    ("log1p", math::log1p),
    ("tanh", math::tanh),
    ("sigmoid", math::sigmoid),
    ("softplus", math::softplus),
    ("erf", math::erf),
    ("sin", math::sin),
    ("cos", math::cos),
    ("atan", math::atan),
    ("asinh", math::asinh),
    ("cosh", math::cosh),
];

fn inputs(n: usize) -> Vec<f64> {
    let specials = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1e-310,
        88.7,
        -103.9,
        709.0,
        1e30,
    ];
    let mut v: Vec<f64> = specials.to_vec();
    v.extend((0..n - specials.len()).map(|i| (i as f64 - (n / 2) as f64) * 0.173));
    v
}

fn bits(ty: Scalar, raw: &[u8]) -> Vec<u64> {
    // Canonicalise NaNs: their payloads are not part of KIR's semantics.
    let nan = |x: u64| match ty {
        Scalar::F32 if f32::from_bits(x as u32).is_nan() => u64::MAX,
        Scalar::F64 if f64::from_bits(x).is_nan() => u64::MAX,
        _ => x,
    };
    elems(ty, raw).into_iter().map(nan).collect()
}

#[test]
fn math_expansions_match_the_interpreter() {
    let n = 256;
    let mut kernels = Vec::new();
    let mut out_io = Vec::new();
    let mut steps = Vec::new();
    for (ti, ty) in [Scalar::F32, Scalar::F64].into_iter().enumerate() {
        for (name, f) in FUNCS {
            let mut b = KernelBuilder::new(format!("{name}_{ty}"));
            let x = b.input(ty);
            let y = b.output(ty);
            b.for_loop(ci(0), ci(n as i64), |b, i| {
                let r = f(b, load(x, i.clone()));
                b.store(y, i, r);
            });
            let k = kernels.len();
            kernels.push(b.finish());
            out_io.push(io(&format!("o{k}"), ty, n));
            steps.push(Step::Call {
                kernel: k,
                args: vec![BufRef::Input(ti), BufRef::Output(k)],
            });
        }
    }
    let p = program(
        "mathdiff",
        vec![io("x32", Scalar::F32, n), io("x64", Scalar::F64, n)],
        out_io,
        kernels,
        steps,
    );
    let xs = inputs(n);
    let x32: Vec<u64> = xs.iter().map(|&x| (x as f32).to_bits() as u64).collect();
    let x64: Vec<u64> = xs.iter().map(|&x| x.to_bits()).collect();
    let ins = [elem_bytes(Scalar::F32, &x32), elem_bytes(Scalar::F64, &x64)];
    let refs: Vec<&[u8]> = ins.iter().map(|v| v.as_slice()).collect();

    let start = Instant::now();
    let lib = Lib::build(&p);
    eprintln!(
        "compiled {} math kernels in {:?}",
        p.kernels.len(),
        start.elapsed()
    );
    let sizes: Vec<usize> = p.outputs.iter().map(|o| o.byte_size()).collect();
    let got = lib.run(&refs, &sizes);
    let mut want: Vec<Vec<u8>> = sizes.iter().map(|&s| vec![0; s]).collect();
    onnxc_kernel::interp::run_program(&p, &refs, &mut want).expect("interpreter");

    let mut failures = Vec::new();
    for (k, kern) in p.kernels.iter().enumerate() {
        let ty = if k < FUNCS.len() {
            Scalar::F32
        } else {
            Scalar::F64
        };
        let (g, w) = (bits(ty, &got[k]), bits(ty, &want[k]));
        for (e, (a, b)) in g.iter().zip(&w).enumerate() {
            if a != b {
                failures.push(format!(
                    "{} at x = {}: compiled {a:#x}, interpreter {b:#x}",
                    kern.name, xs[e]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}
