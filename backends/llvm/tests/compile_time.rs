//! Compile time of a model-sized program: ~100 kernels of the shapes that
//! lowering produces (elementwise chains, matmul and convolution loop nests
//! with padding guards, reductions) plus 64 MB of weights. Prints the time;
//! run with `cargo test -p onnxc-llvm --test compile_time -- --nocapture`.

mod common;

use common::*;
use onnxc_kernel::builder::*;
use onnxc_kernel::kir::{Kernel, Scalar};
use onnxc_kernel::{BufRef, Program, Step, Target};
use onnxc_llvm::{compile, LlvmOptions};
use std::time::Instant;

const F: Scalar = Scalar::F32;
/// Every buffer is a 64x64 f32 matrix (or a 1x64x64 image).
const D: i64 = 64;

fn elementwise(n: usize) -> Kernel {
    let mut b = KernelBuilder::new(format!("ew{n}"));
    let (x, w, y) = (b.input(F), b.input(F), b.output(F));
    b.par_for(0i64, D * D, |b, i| {
        let v = b.let_(load(x, i.clone()) * load(w, i.clone()) + cf(F, 0.5));
        let v = max(v.clone(), cf(F, 0.0)) + min(v.clone(), cf(F, 0.0)) * cf(F, 0.1);
        b.store(
            y,
            i,
            floor(v.clone() * cf(F, 4.0)) / cf(F, 4.0) + sqrt(abs(v)),
        );
    });
    b.finish()
}

fn matmul(n: usize) -> Kernel {
    let mut b = KernelBuilder::new(format!("mm{n}"));
    let (x, w, y) = (b.input(F), b.input(F), b.output(F));
    b.par_for(0i64, D, |b, i| {
        b.par_for(0i64, D, |b, j| {
            let acc = b.var(cf(F, 0.0));
            b.for_loop(0i64, D, |b, k| {
                let v = Expr::Local(acc)
                    + load(x, i.clone() * ci(D) + k.clone()) * load(w, k * ci(D) + j.clone());
                b.assign(acc, v);
            });
            b.store(y, i * ci(D) + j, Expr::Local(acc));
        });
    });
    b.finish()
}

use onnxc_kernel::kir::Expr;

fn conv3x3(n: usize) -> Kernel {
    let mut b = KernelBuilder::new(format!("conv{n}"));
    let (x, w, y) = (b.input(F), b.input(F), b.output(F));
    b.par_for(0i64, D, |b, r| {
        b.par_for(0i64, D, |b, c| {
            let acc = b.var(cf(F, 0.0));
            b.for_loop(0i64, 3i64, |b, kr| {
                b.for_loop(0i64, 3i64, |b, kc| {
                    let (rr, cc) = (
                        b.let_(r.clone() + kr.clone() - ci(1)),
                        b.let_(c.clone() + kc.clone() - ci(1)),
                    );
                    let inside = and(
                        and(ge(rr.clone(), ci(0)), lt(rr.clone(), ci(D))),
                        and(ge(cc.clone(), ci(0)), lt(cc.clone(), ci(D))),
                    );
                    b.if_(inside, |b| {
                        let v =
                            Expr::Local(acc) + load(x, rr * ci(D) + cc) * load(w, kr * ci(3) + kc);
                        b.assign(acc, v);
                    });
                });
            });
            b.store(y, r * ci(D) + c, max(Expr::Local(acc), cf(F, 0.0)));
        });
    });
    b.finish()
}

fn reduce(n: usize) -> Kernel {
    let mut b = KernelBuilder::new(format!("red{n}"));
    let (x, w, y) = (b.input(F), b.input(F), b.output(F));
    b.par_for(0i64, D, |b, i| {
        let m = b.var(cf(F, f64::NEG_INFINITY));
        b.for_loop(0i64, D, |b, j| {
            b.assign(m, max(Expr::Local(m), load(x, i.clone() * ci(D) + j)))
        });
        let s = b.var(cf(F, 0.0));
        b.for_loop(0i64, D, |b, j| {
            b.assign(
                s,
                Expr::Local(s) + (load(x, i.clone() * ci(D) + j) - Expr::Local(m)),
            )
        });
        b.for_loop(0i64, D, |b, j| {
            let at = i.clone() * ci(D) + j;
            b.store(y, at.clone(), load(w, at) / Expr::Local(s));
        });
    });
    b.finish()
}

/// `kernels` kernels chained through the workspace, each reading one weight.
fn big_program(kernels: usize, weight_bytes: usize) -> Program {
    let buf = (D * D * 4) as usize;
    let n_consts = kernels;
    let per_const = (weight_bytes / n_consts).max(buf) / 64 * 64;
    // Pseudo-random weights: uniform ones would be folded into the code.
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut noise = |len: usize| -> bytes::Bytes {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8 & 0x3f
            })
            .collect::<Vec<u8>>()
            .into()
    };
    let consts: Vec<bytes::Bytes> = (0..n_consts).map(|_| noise(per_const)).collect();
    let mut ks = Vec::new();
    let mut steps = Vec::new();
    for n in 0..kernels {
        ks.push(match n % 4 {
            0 => elementwise(n),
            1 => matmul(n),
            2 => conv3x3(n),
            _ => reduce(n),
        });
        let src = if n == 0 {
            BufRef::Input(0)
        } else {
            BufRef::Workspace(((n - 1) % 2) * buf)
        };
        let dst = if n + 1 == kernels {
            BufRef::Output(0)
        } else {
            BufRef::Workspace((n % 2) * buf)
        };
        steps.push(Step::Call {
            kernel: n,
            args: vec![src, BufRef::Const(n), dst],
        });
    }
    Program {
        name: "big".into(),
        inputs: vec![io("x", F, (D * D) as usize)],
        outputs: vec![io("y", F, (D * D) as usize)],
        consts,
        workspace_size: 2 * buf,
        kernels: ks,
        steps,
    }
}

fn time(p: &Program, t: &Target) -> f64 {
    let start = Instant::now();
    let out = compile(p, t, &LlvmOptions::default()).unwrap();
    let s = start.elapsed().as_secs_f64();
    println!(
        "{} kernels, {} MB consts, {}: {s:.2} s, object {} KB",
        p.kernels.len(),
        p.consts.iter().map(|c| c.len()).sum::<usize>() >> 20,
        t.triple,
        out.object.len() >> 10
    );
    s
}

#[test]
fn a_hundred_kernels_compile_in_reasonable_time() {
    let p = big_program(100, 64 << 20);
    let mut rv = Target::parse("riscv64gc-unknown-linux-gnu").unwrap();
    rv.features = vec!["+v".into()];
    let mut avx = Target::parse("x86_64").unwrap();
    avx.features = vec!["+avx2,+fma".into()];
    for t in [Target::host(), avx, Target::parse("aarch64").unwrap(), rv] {
        // Generous bound: the point is the printed figure; this catches blow-ups.
        assert!(time(&p, &t) < 120.0);
    }
}

#[test]
fn big_program_matches_the_interpreter() {
    let p = big_program(12, 0);
    let x: Vec<f32> = (0..D * D)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    let x = bytes_of(&x);
    let want = interpret(&p, &[&x]);
    let got = build(&p, &Target::host()).run(&p, &[&x]);
    let (w, g) = (elems(&want[0], 4), elems(&got[0], 4));
    for (i, (a, b)) in w.iter().zip(&g).enumerate() {
        assert!(
            a == b || (is_nan(F, *a) && is_nan(F, *b)),
            "y[{i}]: interp {a:#x}, llvm {b:#x}"
        );
    }
}

#[test]
fn a_small_program_compiles_fast() {
    let p = big_program(1, 0);
    let t = Target::host();
    time(&p, &t);
    // The second compile reuses the target capability probe.
    assert!(time(&p, &t) < 5.0);
}
