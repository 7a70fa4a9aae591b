//! Channels-last convolution (`Op::ConvNhwc`) on the packed GEMM: shapes
//! around the register tile, K above the K block (a kernel tap's channel run
//! split between blocks), strides, padding, dilation, batches, 1-D, both
//! tile shapes (vectorizing and scalar backends), and fused epilogues with
//! per-channel (last-axis) and full operands.

mod common;
use common::*;
use onnxc_ir::fused::PostOp;
use onnxc_ir::op::{BinaryOp, UnaryOp, Window};
use onnxc_ir::{DType, Op};
use onnxc_kernel::target::Codegen;

fn win(k: &[usize], s: &[usize], p: &[usize], d: &[usize]) -> Window {
    Window { kernel_shape: k.to_vec(), strides: s.to_vec(), pads: p.to_vec(), dilations: d.to_vec() }
}

fn check_codegen(g: &G, codegen: Codegen) {
    let p = g.check_codegen(codegen);
    assert!(p.kernels.iter().any(|k| k.name.ends_with("conv_nhwc_gemm")));
}

/// `xs` is channels-last, `ws` ONNX's `[M, C, k...]`.
fn conv(xs: &[usize], ws: &[usize], w: Window, bias: bool) {
    let mut g = G::new();
    let x = g.input(DType::F32, xs);
    let wt = g.konst(rand_tensor(DType::F32, ws, 9));
    let b = if bias { Some(g.konst(rand_tensor(DType::F32, &[ws[0]], 10))) } else { None };
    let y = g.node(Op::ConvNhwc { window: w, group: 1 }, vec![Some(x), Some(wt), b]);
    g.output(y);
    check_codegen(&g, Codegen::Vectorizing);
    check_codegen(&g, Codegen::Scalar);
}

#[test]
fn conv_nhwc_shapes() {
    conv(&[1, 7, 7, 3], &[4, 3, 3, 3], win(&[3, 3], &[1, 1], &[0, 0, 0, 0], &[1, 1]), true);
    conv(&[2, 8, 9, 3], &[7, 3, 3, 3], win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), false);
    conv(&[1, 9, 9, 4], &[6, 4, 3, 2], win(&[3, 2], &[1, 2], &[2, 1, 0, 1], &[2, 1]), true);
    conv(&[1, 11, 2], &[3, 2, 4], win(&[4], &[3], &[2, 1], &[1]), true);
    conv(&[1, 5, 5, 5], &[17, 5, 1, 1], win(&[1, 1], &[1, 1], &[0, 0, 0, 0], &[1, 1]), true);
    conv(&[1, 7, 7, 40], &[33, 40, 1, 1], win(&[1, 1], &[2, 2], &[0, 0, 0, 0], &[1, 1]), false);
    // 1×1 unpadded: rows read in place (no A packing), K above the K block, batches.
    conv(&[2, 3, 5, 300], &[33, 300, 1, 1], win(&[1, 1], &[1, 1], &[0, 0, 0, 0], &[1, 1]), true);
    conv(&[2, 6, 5, 7], &[64, 7, 1, 1], win(&[1, 1], &[2, 1], &[0, 0, 0, 0], &[1, 1]), false);
    // K = 270 and 300: KC blocks end inside a tap's channel run.
    conv(&[1, 6, 6, 30], &[9, 30, 3, 3], win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), true);
    conv(&[1, 4, 5, 100], &[40, 100, 1, 3], win(&[1, 3], &[1, 1], &[0, 1, 0, 1], &[1, 1]), true);
    conv(&[1, 2, 12, 30], &[3, 30, 7, 7], win(&[7, 7], &[2, 2], &[3, 3, 3, 3], &[1, 1]), true);
    // Channel counts with a divisor in 16..=512 read rows in place from a
    // zero-bordered copy: asymmetric and end-only pads, strides, dilation.
    conv(&[1, 9, 9, 16], &[6, 16, 3, 2], win(&[3, 2], &[1, 2], &[2, 1, 0, 1], &[2, 1]), true);
    conv(&[2, 7, 6, 32], &[40, 32, 3, 3], win(&[3, 3], &[1, 1], &[0, 0, 1, 1], &[1, 1]), false);
    conv(&[1, 8, 8, 48], &[7, 48, 3, 3], win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), true);
    conv(&[1, 11, 20], &[5, 20, 3], win(&[3], &[1], &[1, 2], &[2]), true);
}

#[test]
fn conv_nhwc_fused_epilogue() {
    let mut g = G::new();
    let x = g.input(DType::F32, &[1, 5, 6, 16]);
    let w = g.konst(rand_tensor(DType::F32, &[12, 16, 3, 3], 3));
    let b = g.konst(rand_tensor(DType::F32, &[12], 4));
    let chan = g.konst(rand_tensor(DType::F32, &[1, 1, 1, 12], 5));
    let res = g.input(DType::F32, &[1, 5, 6, 12]);
    let post = vec![
        PostOp::Binary { op: BinaryOp::Mul, input: 3, swap: false },
        PostOp::Binary { op: BinaryOp::Add, input: 4, swap: true },
        PostOp::Unary(UnaryOp::Relu),
    ];
    let base = Op::ConvNhwc { window: win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), group: 1 };
    let y = g.node(Op::Fused { base: Box::new(base), base_inputs: 3, post }, vec![Some(x), Some(w), Some(b), Some(chan), Some(res)]);
    g.output(y);
    check_codegen(&g, Codegen::Vectorizing);
    check_codegen(&g, Codegen::Scalar);
}

fn pool(xs: &[usize], op: Op) {
    let mut g = G::new();
    let x = g.input(DType::F32, xs);
    let y = g.node(Op::PoolNhwc { pool: Box::new(op) }, vec![Some(x)]);
    g.output(y);
    g.check();
}

/// Channels-last pooling (`Op::PoolNhwc`): padding, strides, dilation,
/// ceil mode, average with and without the pads counted, global pools.
#[test]
fn pool_nhwc_kinds() {
    let w = |k: &[usize], s: &[usize], p: &[usize], d: &[usize]| win(k, s, p, d);
    pool(&[1, 7, 6, 5], Op::MaxPool { window: w(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), ceil_mode: false });
    pool(&[2, 8, 9, 3], Op::MaxPool { window: w(&[2, 3], &[2, 1], &[0, 1, 1, 0], &[2, 1]), ceil_mode: true });
    for include in [false, true] {
        pool(&[1, 7, 7, 17], Op::AveragePool { window: w(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), ceil_mode: true, count_include_pad: include });
        pool(&[2, 6, 5, 4], Op::AveragePool { window: w(&[2, 2], &[1, 2], &[0, 1, 1, 0], &[1, 1]), ceil_mode: false, count_include_pad: include });
    }
    pool(&[2, 5, 4, 33], Op::GlobalAveragePool);
    pool(&[1, 3, 3, 8], Op::GlobalMaxPool);
}
