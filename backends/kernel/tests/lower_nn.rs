//! NN-op lowering vs the reference evaluator.
mod common;
use common::*;
use onnxc_ir::op::Window;
use onnxc_ir::{DType, Op};

fn win(k: &[usize], s: &[usize], p: &[usize], d: &[usize]) -> Window {
    Window { kernel_shape: k.to_vec(), strides: s.to_vec(), pads: p.to_vec(), dilations: d.to_vec() }
}

fn conv(xs: &[usize], ws: &[usize], w: Window, group: usize, bias: bool) {
    let mut g = G::new();
    let x = g.input(DType::F32, xs);
    let wt = g.input(DType::F32, ws);
    let b = if bias { Some(g.input(DType::F32, &[ws[0]])) } else { None };
    let y = g.node(Op::Conv { window: w, group }, vec![Some(x), Some(wt), b]);
    g.output(y);
    g.check();
}

#[test]
fn conv_variants() {
    conv(&[1, 3, 7, 7], &[4, 3, 3, 3], win(&[3, 3], &[1, 1], &[0, 0, 0, 0], &[1, 1]), 1, true);
    conv(&[2, 3, 8, 9], &[4, 3, 3, 3], win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), 1, false);
    conv(&[1, 4, 9, 9], &[6, 2, 3, 2], win(&[3, 2], &[1, 2], &[2, 1, 0, 1], &[2, 1]), 2, true);
    conv(&[1, 4, 6, 6], &[4, 1, 3, 3], win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), 4, true); // depthwise
    conv(&[1, 2, 11], &[3, 2, 4], win(&[4], &[3], &[2, 1], &[1]), 1, true); // 1-D
    conv(&[1, 2, 4, 5, 5], &[2, 2, 2, 3, 3], win(&[2, 3, 3], &[1, 2, 1], &[0, 1, 1, 1, 0, 1], &[1, 1, 2]), 1, true); // 3-D
    conv(&[1, 2, 5, 5], &[2, 2, 1, 1], win(&[1, 1], &[1, 1], &[0, 0, 0, 0], &[1, 1]), 1, false); // 1x1
}

#[test]
fn batchnorm() {
    for d in [DType::F32, DType::F64] {
        let mut g = G::new();
        let x = g.input(d, &[2, 3, 4, 5]);
        let ps: Vec<_> = (0..4).map(|_| g.input(d, &[3])).collect();
        let var = g.node(Op::Unary(onnxc_ir::op::UnaryOp::Abs), vec![Some(ps[3])]);
        let y = g.node(Op::BatchNormalization { epsilon: 1e-5 }, vec![Some(x), Some(ps[0]), Some(ps[1]), Some(ps[2]), Some(var)]);
        g.output(y);
        g.check();
    }
}

#[test]
fn pools() {
    let cases = [
        (vec![1, 2, 7, 7], win(&[3, 3], &[2, 2], &[0, 0, 0, 0], &[1, 1]), false),
        (vec![1, 2, 7, 7], win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), false),
        (vec![2, 2, 8, 8], win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), true),
        (vec![1, 3, 6, 7], win(&[2, 3], &[2, 2], &[0, 1, 1, 0], &[1, 1]), true),
        (vec![1, 1, 9], win(&[3], &[2], &[1, 1], &[1]), false),
        (vec![1, 1, 9, 9], win(&[2, 2], &[1, 1], &[0, 0, 0, 0], &[2, 2]), false),
    ];
    for (shape, w, ceil_mode) in cases {
        for include in [false, true] {
            let mut g = G::new();
            let x = g.input(DType::F32, &shape);
            let y = g.node(Op::AveragePool { window: w.clone(), ceil_mode, count_include_pad: include }, vec![Some(x)]);
            g.output(y);
            g.check();
        }
        let mut g = G::new();
        let x = g.input(DType::F32, &shape);
        let y = g.node(Op::MaxPool { window: w.clone(), ceil_mode }, vec![Some(x)]);
        g.output(y);
        g.check();
        let mut g = G::new();
        let x = g.input(DType::F32, &shape);
        let ys = g.node_n(Op::MaxPool { window: w.clone(), ceil_mode }, vec![Some(x)], 2);
        g.output(ys[0]);
        g.output(ys[1]);
        g.check();
    }
    let mut g = G::new();
    let x = g.input(DType::F32, &[2, 3, 5, 4]);
    let a = g.node(Op::GlobalAveragePool, vec![Some(x)]);
    let m = g.node(Op::GlobalMaxPool, vec![Some(x)]);
    g.output(a);
    g.output(m);
    g.check();
}

#[test]
fn lrn() {
    for size in [1, 2, 3, 5] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[2, 6, 3, 3]);
        let y = g.node(Op::Lrn { size, alpha: 1e-4 * 3.0, beta: 0.75, bias: 1.0 }, vec![Some(x)]);
        g.output(y);
        g.check();
    }
}

#[test]
fn gemm() {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        for cshape in [None, Some(vec![5]), Some(vec![4, 5]), Some(vec![4, 1]), Some(vec![])] {
            let mut g = G::new();
            let a = g.input(DType::F32, if ta { &[3, 4] } else { &[4, 3] });
            let b = g.input(DType::F32, if tb { &[5, 3] } else { &[3, 5] });
            let c = cshape.map(|s| g.input(DType::F32, &s));
            let y = g.node(Op::Gemm { alpha: 0.5, beta: 2.0, trans_a: ta, trans_b: tb }, vec![Some(a), Some(b), c]);
            g.output(y);
            g.check();
        }
    }
}

#[test]
fn matmul() {
    let cases: [(&[usize], &[usize]); 7] = [
        (&[3, 4], &[4, 5]),
        (&[4], &[4, 5]),
        (&[3, 4], &[4]),
        (&[4], &[4]),
        (&[2, 3, 4], &[4, 5]),
        (&[2, 1, 3, 4], &[3, 4, 2]),
        (&[1, 3, 4], &[2, 4, 5]),
    ];
    for (sa, sb) in cases {
        for d in [DType::F32, DType::I32, DType::F16, DType::F64] {
            let mut g = G::new();
            let a = g.input(d, sa);
            let b = g.input(d, sb);
            let y = g.node(Op::MatMul, vec![Some(a), Some(b)]);
            g.output(y);
            g.check();
        }
    }
}

#[test]
fn softmax_family() {
    for axis in [-1, 0, 1, 2] {
        for op in [Op::Softmax { axis }, Op::LogSoftmax { axis }, Op::Hardmax { axis }] {
            for d in [DType::F32, DType::F16] {
                let mut g = G::new();
                let x = g.input(d, &[2, 3, 4]);
                let y = g.node(op.clone(), vec![Some(x)]);
                g.output(y);
                g.check();
            }
        }
    }
}

#[test]
fn half_and_int_pools() {
    let w = win(&[2, 2], &[2, 2], &[0, 0, 0, 0], &[1, 1]);
    for d in [DType::F16, DType::I8, DType::U8] {
        let mut g = G::new();
        let x = g.input(d, &[1, 2, 4, 4]);
        let y = g.node(Op::MaxPool { window: w.clone(), ceil_mode: false }, vec![Some(x)]);
        g.output(y);
        g.check();
    }
    let mut g = G::new();
    let x = g.input(DType::F16, &[1, 2, 4, 4]);
    let y = g.node(Op::AveragePool { window: w, ceil_mode: false, count_include_pad: false }, vec![Some(x)]);
    let z = g.node(Op::GlobalAveragePool, vec![Some(x)]);
    g.output(y);
    g.output(z);
    g.check();
}

#[test]
fn dropout() {
    let mut g = G::new();
    let x = g.input(DType::F32, &[2, 3]);
    let ys = g.node_n(Op::Dropout, vec![Some(x)], 2);
    g.output(ys[0]);
    g.output(ys[1]);
    g.check();
}
