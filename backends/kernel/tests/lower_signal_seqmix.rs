//! DFT/STFT, LinearAttention, CausalConvWithState and the training
//! optimizers: lowering (KIR interpreter) vs the reference evaluator.
mod common;
use common::*;
use onnxc_ir::op::{LinearAttnRule, OptimizerKind, WindowKind};
use onnxc_ir::{DType, Op, Tensor};

fn dft_case(shape: &[usize], axis: i64, inverse: bool, onesided: bool, len: Option<i64>, d: DType) {
    let mut g = G::new();
    let x = g.input(d, shape);
    let l = len.map(|l| g.konst(Tensor::scalar(l)));
    let y = g.node(Op::Dft { axis, inverse, onesided }, vec![Some(x), l]);
    g.output(y);
    g.check_tol(1e-4, 1e-4);
}

#[test]
fn dft_variants() {
    for d in [DType::F32, DType::F64] {
        dft_case(&[2, 7, 1], 1, false, false, None, d);
        dft_case(&[2, 8, 2], -2, false, false, None, d);
        dft_case(&[3, 8, 4, 2], 1, false, true, None, d);
        dft_case(&[3, 8, 4, 1], 2, false, false, Some(6), d);
        dft_case(&[2, 5, 2], 1, true, false, Some(9), d);
        dft_case(&[2, 5, 3, 2], 1, true, true, None, d);
        dft_case(&[2, 5, 2], 1, true, true, Some(9), d);
    }
    dft_case(&[2, 8, 2], 1, false, false, None, DType::F16);
}

#[test]
fn stft_variants() {
    for (c, window, fl, onesided) in [(1, false, Some(8), true), (2, true, None, false), (1, true, Some(8), false)] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[2, 40, c]);
        let step = g.konst(Tensor::scalar(5i64));
        let w = window.then(|| g.input(DType::F32, &[8]));
        let fl = fl.map(|l| g.konst(Tensor::scalar(l)));
        let y = g.node(Op::Stft { onesided }, vec![Some(x), Some(step), w, fl]);
        g.output(y);
        g.check_tol(1e-4, 1e-4);
    }
}

#[test]
fn constant_signal_ops_lower_to_stores() {
    let mut g = G::new();
    let size = g.konst(Tensor::scalar(10i64));
    let y = g.node(Op::Window { kind: WindowKind::Blackman, periodic: false, dtype: DType::F32 }, vec![Some(size)]);
    g.output(y);
    g.check();
}

fn lin_case(rule: LinearAttnRule, hq: usize, hkv: usize, per_key: bool, beta1: bool, past: bool, d: DType) {
    let (b, t, dk, dv) = (2, 5, 4, 3);
    let mut g = G::new();
    let q = g.input(d, &[b, t, hq * dk]);
    let k = g.input(d, &[b, t, hkv * dk]);
    let v = g.input(d, &[b, t, hkv * dv]);
    let ps = past.then(|| g.input(d, &[b, hkv, dk, dv]));
    let decay = rule.gated().then(|| {
        let n = if per_key { hkv * dk } else { hkv };
        g.input_with(Tensor::from_f64(d, vec![b, t, n], &rand_vals(b * t * n, 9, -0.5, 0.0)))
    });
    let beta = rule.delta().then(|| g.input(d, &[b, t, if beta1 { 1 } else { hkv }]));
    let outs = g.node_n(Op::LinearAttention { q_num_heads: hq, kv_num_heads: hkv, scale: None, rule }, vec![Some(q), Some(k), Some(v), ps, decay, beta], 2);
    g.output(outs[0]);
    g.output(outs[1]);
    g.check_tol(1e-4, 1e-5);
}

#[test]
fn linear_attention_rules() {
    for rule in [LinearAttnRule::Linear, LinearAttnRule::Gated, LinearAttnRule::Delta, LinearAttnRule::GatedDelta] {
        lin_case(rule, 2, 2, true, false, false, DType::F32);
        lin_case(rule, 4, 2, false, true, true, DType::F32);
        lin_case(rule, 3, 1, true, false, true, DType::F64);
    }
}

#[test]
fn linear_attention_f16_state_uses_f32_scratch() {
    let (b, t, h, dk, dv) = (1, 6, 2, 4, 4);
    let mut g = G::new();
    let q = g.input(DType::F16, &[b, t, h * dk]);
    let k = g.input(DType::F16, &[b, t, h * dk]);
    let v = g.input(DType::F16, &[b, t, h * dv]);
    let op = Op::LinearAttention { q_num_heads: h, kv_num_heads: h, scale: Some(0.5), rule: LinearAttnRule::Linear };
    let outs = g.node_n(op, vec![Some(q), Some(k), Some(v)], 3);
    for o in outs {
        g.output(o);
    }
    g.check_tol(1e-3, 1e-3);
}

#[test]
fn causal_conv_variants() {
    for (k, bias, past, silu, d) in [(4, false, false, false, DType::F32), (3, true, true, true, DType::F32), (1, true, false, true, DType::F64), (4, true, true, false, DType::F16)] {
        let (b, c, l) = (2, 3, 5);
        let mut g = G::new();
        let x = g.input(d, &[b, c, l]);
        let w = g.input(d, &[c, 1, k]);
        let bias = bias.then(|| g.input(d, &[c]));
        let past = past.then(|| g.input(d, &[b, c, k - 1]));
        let outs = g.node_n(Op::CausalConvWithState { silu }, vec![Some(x), Some(w), bias, past], 2);
        g.output(outs[0]);
        g.output(outs[1]);
        g.check();
    }
}

#[test]
fn optimizers() {
    let kinds = [
        OptimizerKind::Adagrad { decay_factor: 0.1, epsilon: 1e-6, norm_coefficient: 0.01 },
        OptimizerKind::Adam { alpha: 0.9, beta: 0.99, epsilon: 1e-6, norm_coefficient: 0.01, norm_coefficient_post: 0.02 },
        OptimizerKind::Momentum { alpha: 0.9, beta: 0.5, norm_coefficient: 0.01, nesterov: false },
        OptimizerKind::Momentum { alpha: 0.9, beta: 0.5, norm_coefficient: 0.01, nesterov: true },
    ];
    for kind in kinds {
        for step in [0i64, 3] {
            let mut g = G::new();
            let r = g.input_with(Tensor::scalar(0.1f32));
            let t = g.input_with(Tensor::scalar(step));
            let per = 2 + kind.states();
            let mut ins = vec![Some(r), Some(t)];
            for j in 0..per {
                for shape in [&[3usize][..], &[2, 2][..]] {
                    let v = if j >= 2 { g.input_with(Tensor::from_f64(DType::F32, shape.to_vec(), &rand_vals(shape.iter().product(), 4, 0.0, 1.0))) } else { g.input(DType::F32, shape) };
                    ins.push(Some(v));
                }
            }
            let outs = g.node_n(Op::Optimizer(kind), ins, 2 * (per - 1));
            for o in outs {
                g.output(o);
            }
            g.check();
        }
    }
}
