//! Fused ops (`Op::Fused` epilogues on Conv/Gemm/MatMul and
//! `Op::FusedElementwise`) lowered and interpreted vs the reference
//! evaluator, built both by hand and by the fusion passes.
mod common;
use common::*;
use onnxc_ir::fused::{ElemArg, ElemFn, ElemInstr, PostOp};
use onnxc_ir::op::{Activation, BinaryOp, UnaryOp, Window};
use onnxc_ir::{DType, Op, Tensor};
use onnxc_passes::pipeline::{default_passes, run_passes, PipelineOptions};

fn window(k: usize, pad: usize) -> Window {
    Window { kernel_shape: vec![k, k], strides: vec![1, 1], pads: vec![pad; 4], dilations: vec![1, 1] }
}

fn post_all(first: usize) -> Vec<PostOp> {
    vec![
        PostOp::Binary { op: BinaryOp::Add, input: first, swap: true },
        PostOp::Activation(Activation::LeakyRelu { alpha: 0.1 }),
        PostOp::Binary { op: BinaryOp::Mul, input: first + 1, swap: false },
        PostOp::Clip { min: Some(first + 2), max: None },
        PostOp::Unary(UnaryOp::Tanh),
        PostOp::Activation(Activation::Gelu { tanh_approx: false }),
    ]
}

#[test]
fn conv_epilogue() {
    for bias in [false, true] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[2, 3, 5, 5]);
        let w = g.input(DType::F32, &[4, 3, 3, 3]);
        let b = bias.then(|| g.input(DType::F32, &[4]));
        let chan = g.input(DType::F32, &[1, 4, 1, 1]);
        let resid = g.input(DType::F32, &[2, 4, 5, 5]);
        let lo = g.input(DType::F32, &[]);
        let op = Op::Fused { base: Box::new(Op::Conv { window: window(3, 1), group: 1 }), base_inputs: 3, post: post_all(3) };
        let y = g.node(op, vec![Some(x), Some(w), b, Some(chan), Some(resid), Some(lo)]);
        g.output(y);
        g.check();
    }
}

#[test]
fn gemm_and_matmul_epilogues() {
    let mut g = G::new();
    let a = g.input(DType::F32, &[3, 4]);
    let b = g.input(DType::F32, &[5, 4]);
    let c = g.input(DType::F32, &[5]);
    let row = g.input(DType::F32, &[3, 1]);
    let full = g.input(DType::F32, &[3, 5]);
    let lo = g.input(DType::F32, &[1]);
    let gemm = Op::Gemm { alpha: 0.5, beta: 2.0, trans_a: false, trans_b: true };
    let y = g.node(Op::Fused { base: Box::new(gemm), base_inputs: 3, post: post_all(3) }, vec![Some(a), Some(b), Some(c), Some(row), Some(full), Some(lo)]);
    g.output(y);
    let m1 = g.input(DType::F32, &[2, 3, 4]);
    let m2 = g.input(DType::F32, &[4, 6]);
    let bias = g.input(DType::F32, &[6]);
    let res = g.input(DType::F32, &[2, 3, 6]);
    let post = vec![
        PostOp::Binary { op: BinaryOp::Add, input: 2, swap: false },
        PostOp::Unary(UnaryOp::Relu),
        PostOp::Binary { op: BinaryOp::Sub, input: 3, swap: true },
        PostOp::Unary(UnaryOp::Sigmoid),
    ];
    let z = g.node(Op::Fused { base: Box::new(Op::MatMul), base_inputs: 2, post }, vec![Some(m1), Some(m2), Some(bias), Some(res)]);
    g.output(z);
    g.check();
}

#[test]
fn fused_elementwise_program() {
    let mut g = G::new();
    let x = g.input(DType::F32, &[2, 3, 4]);
    let s = g.input(DType::F32, &[4]);
    let c = g.input(DType::Bool, &[3, 1]);
    let lo = g.input(DType::F32, &[]);
    let i = |k| Some(ElemArg::Input(k));
    let r = |k| Some(ElemArg::Reg(k));
    let program = vec![
        ElemInstr { f: ElemFn::Binary(BinaryOp::Mul), args: vec![i(0), i(1)] },
        ElemInstr { f: ElemFn::Unary(UnaryOp::Exp), args: vec![r(0)] },
        ElemInstr { f: ElemFn::Clip, args: vec![r(1), i(3), None] },
        ElemInstr { f: ElemFn::Where, args: vec![i(2), r(2), r(0)] },
        ElemInstr { f: ElemFn::Activation(Activation::HardSigmoid { alpha: 0.2, beta: 0.5 }), args: vec![r(3)] },
        ElemInstr { f: ElemFn::Binary(BinaryOp::Add), args: vec![r(4), r(0)] },
    ];
    let y = g.node(Op::FusedElementwise { program }, vec![Some(x), Some(s), Some(c), Some(lo)]);
    g.output(y);
    g.check();
}

/// A small CNN block through the default pipeline (BN folding, epilogue and
/// elementwise fusion), then lowered: same results as the unoptimized graph.
#[test]
fn pipeline_fuses_and_lowers() {
    let mut g = G::new();
    let x = g.input(DType::F32, &[1, 3, 6, 6]);
    let w = g.konst(rand_tensor(DType::F32, &[4, 3, 3, 3], 11));
    let bn: Vec<_> = (0..4).map(|k| {
        let t = rand_tensor(DType::F32, &[4], 20 + k);
        let t = if k == 3 { Tensor::from_f64(DType::F32, vec![4], &t.to_f64_vec().iter().map(|v| v.abs() + 0.1).collect::<Vec<_>>()) } else { t };
        g.konst(t)
    }).collect();
    let conv = g.node(Op::Conv { window: window(3, 1), group: 1 }, vec![Some(x), Some(w), None]);
    let y = g.node(Op::BatchNormalization { epsilon: 1e-5 }, vec![Some(conv), Some(bn[0]), Some(bn[1]), Some(bn[2]), Some(bn[3])]);
    let y = g.node(Op::Unary(UnaryOp::Relu), vec![Some(y)]);
    let sc = g.node(Op::Unary(UnaryOp::Neg), vec![Some(x)]);
    let w2 = g.konst(rand_tensor(DType::F32, &[4, 3, 1, 1], 12));
    let sc = g.node(Op::Conv { window: window(1, 0), group: 1 }, vec![Some(sc), Some(w2), None]);
    let y = g.node(Op::Binary(BinaryOp::Add), vec![Some(y), Some(sc)]);
    let e = g.node(Op::Unary(UnaryOp::Exp), vec![Some(x)]);
    let e = g.node(Op::Binary(BinaryOp::Mul), vec![Some(e), Some(x)]);
    let e = g.node(Op::Unary(UnaryOp::Sigmoid), vec![Some(e)]);
    g.output(y);
    g.output(e);
    let before = eval(&g);
    let opts = PipelineOptions { print_ir_after_all: false, verify: true };
    run_passes(&mut g.g, &default_passes(), &opts, &mut |_, _| {}).unwrap();
    let kinds: Vec<String> = g.g.nodes.iter().map(|n| n.op.onnx_name()).collect();
    assert_eq!(kinds, ["Neg", "Conv", "Fused", "FusedElementwise"], "{kinds:?}");
    for (k, (a, b)) in eval(&g).iter().zip(&before).enumerate() {
        compare(k, a, b, 1e-5, 1e-5);
    }
    g.check();
}

fn eval(g: &G) -> Vec<Tensor> {
    onnxc_ir::eval::eval_graph(&g.g, &g.inputs).unwrap()
}

/// Elementwise kernels that write over an input that dies there (the memory
/// plan's in-place reuse) compute the same as with separate buffers.
#[test]
fn in_place_elementwise_chain() {
    let mut g = G::new();
    let x = g.input(DType::F32, &[3, 8]);
    let s = g.input(DType::F32, &[8]);
    let a = g.node(Op::Unary(UnaryOp::Neg), vec![Some(x)]);
    let b = g.node(Op::Binary(BinaryOp::Sub), vec![Some(s), Some(a)]);
    let c = g.node(Op::Unary(UnaryOp::Exp), vec![Some(b)]);
    let d = g.node(Op::Binary(BinaryOp::Mul), vec![Some(c), Some(c)]);
    let e = g.node(Op::Unary(UnaryOp::Sigmoid), vec![Some(d)]);
    g.output(e);
    let p = onnxc_passes::plan(&g.g);
    let offs: std::collections::HashSet<usize> = p.offsets.values().copied().collect();
    assert_eq!(offs.len(), 1, "{p:?}");
    g.check();
}
