//! Depthwise convolution and pooling on the direct window kernels
//! (`lower/depthwise.rs`): interior/border splits on random shapes with
//! padding (symmetric or not), strides 1-3, dilation, odd sizes, rank 1,
//! channel multipliers, fused epilogues, ceil_mode, count_include_pad, all
//! against the reference evaluator.

mod common;
use common::*;
use onnxc_ir::fused::PostOp;
use onnxc_ir::op::{BinaryOp, UnaryOp, Window};
use onnxc_ir::{DType, Op};

fn win(k: &[usize], s: &[usize], p: &[usize], d: &[usize]) -> Window {
    Window { kernel_shape: k.to_vec(), strides: s.to_vec(), pads: p.to_vec(), dilations: d.to_vec() }
}

fn kernel_names(g: &G) -> Vec<String> {
    let plan = onnxc_passes::plan(&g.g);
    let p = onnxc_kernel::lower::lower_graph(&g.g, &plan, "t").unwrap();
    p.kernels.iter().map(|k| k.name.clone()).collect()
}

fn dwconv(d: DType, xs: &[usize], mult: usize, w: Window, bias: bool, fused: bool) {
    let mut g = G::new();
    let c = xs[1];
    let x = g.input(d, xs);
    let mut ws = vec![c * mult, 1];
    ws.extend(&w.kernel_shape);
    let wt = g.konst(rand_tensor(d, &ws, 9));
    let b = if bias { Some(g.konst(rand_tensor(d, &[c * mult], 10))) } else { None };
    let op = Op::Conv { window: w.clone(), group: c };
    let y = if fused {
        // Per-channel scale, full residual, ReLU: operands broadcast differently.
        let y0 = g.node(op.clone(), vec![Some(x), Some(wt), b]);
        let oshape = g.g.values[y0.0 as usize].ty.shape.clone();
        let mut chan = vec![1, c * mult];
        chan.resize(oshape.len(), 1);
        let chan = g.input(d, &chan);
        let resid = g.input(d, &oshape);
        let post = vec![
            PostOp::Binary { op: BinaryOp::Mul, input: 3, swap: false },
            PostOp::Binary { op: BinaryOp::Add, input: 4, swap: true },
            PostOp::Unary(UnaryOp::Relu),
        ];
        g.node(Op::Fused { base: Box::new(op), base_inputs: 3, post }, vec![Some(x), Some(wt), b, Some(chan), Some(resid)])
    } else {
        g.node(op, vec![Some(x), Some(wt), b])
    };
    g.output(y);
    let names = kernel_names(&g);
    assert!(names.iter().any(|n| n.ends_with("dwconv")), "{names:?}");
    g.check_tol(1e-4, 1e-5);
}

#[test]
fn depthwise_shapes() {
    let f = DType::F32;
    // ShuffleNet/MobileNet 3x3, stride 1 and 2, pad 1, even and odd sizes.
    dwconv(f, &[1, 4, 8, 8], 1, win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), true, false);
    dwconv(f, &[1, 3, 9, 7], 1, win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), true, false);
    dwconv(f, &[2, 5, 10, 11], 1, win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), false, false);
    // Asymmetric padding, no padding, stride 3, dilation, 5x5, non-square kernels.
    dwconv(f, &[1, 2, 13, 12], 1, win(&[3, 3], &[1, 1], &[0, 2, 1, 0], &[1, 1]), true, false);
    dwconv(f, &[1, 3, 11, 11], 1, win(&[3, 3], &[1, 1], &[0, 0, 0, 0], &[1, 1]), true, false);
    dwconv(f, &[1, 2, 17, 16], 1, win(&[5, 5], &[3, 3], &[2, 2, 2, 2], &[1, 1]), true, false);
    dwconv(f, &[1, 3, 12, 14], 1, win(&[3, 3], &[1, 2], &[2, 2, 2, 2], &[2, 2]), false, false);
    dwconv(f, &[1, 2, 9, 10], 1, win(&[1, 5], &[1, 1], &[0, 2, 0, 2], &[1, 1]), true, false);
    // Kernel as large as the input: every position is border.
    dwconv(f, &[1, 2, 3, 3], 1, win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), true, false);
    dwconv(f, &[1, 2, 4, 5], 1, win(&[5, 5], &[1, 1], &[2, 2, 2, 2], &[1, 1]), true, false);
    // Channel multiplier 2 and 3.
    dwconv(f, &[1, 3, 7, 8], 2, win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), true, false);
    dwconv(f, &[2, 2, 6, 6], 3, win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), false, false);
    // Rank 1.
    dwconv(f, &[2, 3, 15], 1, win(&[3], &[2], &[1, 1], &[1]), true, false);
    dwconv(f, &[1, 4, 20], 2, win(&[5], &[1], &[4, 1], &[2]), true, false);
    // Interior rows of 16+ columns: whole 16-column runs and an overlapping tail.
    dwconv(f, &[1, 2, 5, 40], 1, win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), true, true);
    dwconv(f, &[1, 2, 5, 37], 1, win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), true, false);
    dwconv(f, &[1, 2, 6, 75], 1, win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), false, false);
    dwconv(f, &[1, 2, 7, 70], 1, win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), true, false);
    // f64.
    dwconv(DType::F64, &[1, 3, 9, 9], 1, win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), true, false);
}

#[test]
fn depthwise_epilogue() {
    let f = DType::F32;
    dwconv(f, &[1, 4, 8, 8], 1, win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), true, true);
    dwconv(f, &[2, 3, 9, 7], 2, win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), false, true);
    dwconv(f, &[1, 3, 15], 1, win(&[3], &[1], &[1, 1], &[1]), true, true);
}

#[test]
fn depthwise_random_shapes() {
    let vals = rand_vals(1000, 1234, 0.0, 1.0);
    let mut it = vals.iter().copied();
    let mut pick = |lo: usize, hi: usize| lo + ((it.next().unwrap() * (hi - lo + 1) as f64) as usize).min(hi - lo);
    for _ in 0..30 {
        let (k0, k1) = (pick(1, 5), pick(1, 5));
        let (s0, s1) = (pick(1, 3), pick(1, 3));
        let (d0, d1) = (pick(1, 2), pick(1, 2));
        let pads = [pick(0, k0 - 1), pick(0, k1 - 1), pick(0, k0 - 1), pick(0, k1 - 1)];
        let h = (k0 - 1) * d0 + 1 + pick(0, 12);
        let w = (k1 - 1) * d1 + 1 + pick(0, 12);
        let (c, mult) = (pick(2, 5), pick(1, 2));
        let (bias, fused) = (pick(0, 1) == 1, pick(0, 1) == 1);
        dwconv(DType::F32, &[1, c, h, w], mult, win(&[k0, k1], &[s0, s1], &pads, &[d0, d1]), bias, fused);
    }
}

fn pool(xs: &[usize], w: Window, max: bool, ceil_mode: bool, include_pad: bool) {
    let mut g = G::new();
    let x = g.input(DType::F32, xs);
    let op = if max { Op::MaxPool { window: w, ceil_mode } } else { Op::AveragePool { window: w, ceil_mode, count_include_pad: include_pad } };
    let y = g.node(op, vec![Some(x)]);
    g.output(y);
    let names = kernel_names(&g);
    assert!(names.iter().any(|n| n.ends_with("pool")), "{names:?}");
    g.check_tol(1e-5, 1e-6);
}

#[test]
fn pools() {
    for max in [true, false] {
        // SqueezeNet / Inception / ShuffleNet windows.
        pool(&[1, 3, 13, 13], win(&[3, 3], &[2, 2], &[0, 0, 0, 0], &[1, 1]), max, false, false);
        pool(&[1, 3, 14, 14], win(&[3, 3], &[2, 2], &[0, 0, 0, 0], &[1, 1]), max, true, false);
        pool(&[1, 2, 9, 10], win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), max, false, false);
        pool(&[1, 2, 9, 10], win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), max, false, true);
        pool(&[2, 2, 11, 12], win(&[3, 3], &[2, 2], &[0, 0, 1, 1], &[1, 1]), max, false, true);
        pool(&[1, 2, 8, 8], win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), max, true, true);
        pool(&[1, 2, 7, 7], win(&[7, 7], &[1, 1], &[0, 0, 0, 0], &[1, 1]), max, false, false);
        pool(&[1, 2, 7, 7], win(&[7, 7], &[1, 1], &[0, 0, 1, 1], &[1, 1]), max, false, true);
        pool(&[1, 2, 10, 9], win(&[2, 3], &[2, 1], &[1, 0, 0, 2], &[2, 1]), max, true, false);
        pool(&[1, 3, 17], win(&[4], &[3], &[2, 1], &[1]), max, true, true);
        pool(&[1, 2, 7, 75], win(&[3, 3], &[2, 2], &[0, 0, 0, 0], &[1, 1]), max, false, false);
        pool(&[1, 2, 6, 41], win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), max, false, false);
    }
}

#[test]
fn global_pools() {
    for inner in [&[7usize, 7][..], &[13, 13], &[4, 4], &[3, 5], &[33]] {
        for max in [true, false] {
            let mut g = G::new();
            let mut xs = vec![2, 3];
            xs.extend(inner);
            let x = g.input(DType::F32, &xs);
            let y = g.node(if max { Op::GlobalMaxPool } else { Op::GlobalAveragePool }, vec![Some(x)]);
            g.output(y);
            g.check_tol(1e-5, 1e-6);
        }
    }
}
