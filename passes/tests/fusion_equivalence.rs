//! Property tests of the fusion passes: random small CNN-like (4-D, Conv)
//! and MLP-like (2-D, Gemm/MatMul) graphs with BatchNormalization, bias and
//! residual adds, activations, Clip, Where and elementwise chains evaluate
//! (reference evaluator) to the same outputs before and after BN folding,
//! epilogue fusion, elementwise fusion and the whole pipeline, within 1e-5
//! relative (BN folding reassociates), and the optimized graph's memory
//! plan validates.

mod common;

use onnxc_ir::eval::eval_graph;
use onnxc_ir::op::{Activation, BinaryOp, UnaryOp, VariadicOp, Window};
use onnxc_ir::{DType, Graph, Op, Tensor, ValueId};
use onnxc_passes::pipeline::{default_passes, run_passes, Pass, PipelineOptions};
use onnxc_passes::{plan, validate, BnFold, Dce, FuseElementwise, FuseEpilogue};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    /// Conv (4-D) or Gemm/MatMul (2-D) with constant weights, then maybe BN.
    Linear { kind: u8, bias: bool, bn: bool, seed: u64 },
    Act { which: usize, a: usize },
    BiasAdd { a: usize, swap: bool, seed: u64, full: bool },
    Binary { op: usize, a: usize, b: usize },
    Sum { a: usize, b: usize },
    Clip { a: usize, hi: bool },
    Where { a: usize, b: usize },
}

fn step() -> impl Strategy<Value = Step> {
    let i = || 0usize..64;
    prop_oneof![
        3 => (0u8..3, any::<bool>(), any::<bool>(), any::<u64>()).prop_map(|(kind, bias, bn, seed)| Step::Linear { kind, bias, bn, seed }),
        3 => (0usize..ACTS, i()).prop_map(|(which, a)| Step::Act { which, a }),
        2 => (i(), any::<bool>(), any::<u64>(), any::<bool>()).prop_map(|(a, swap, seed, full)| Step::BiasAdd { a, swap, seed, full }),
        2 => (0usize..5, i(), i()).prop_map(|(op, a, b)| Step::Binary { op, a, b }),
        1 => (i(), i()).prop_map(|(a, b)| Step::Sum { a, b }),
        1 => (i(), any::<bool>()).prop_map(|(a, hi)| Step::Clip { a, hi }),
        1 => (i(), i()).prop_map(|(a, b)| Step::Where { a, b }),
    ]
}

const ACTS: usize = 9;
fn act(which: usize) -> Op {
    match which {
        0 => Op::Unary(UnaryOp::Relu),
        1 => Op::Unary(UnaryOp::Sigmoid),
        2 => Op::Unary(UnaryOp::Tanh),
        3 => Op::Unary(UnaryOp::HardSwish),
        4 => Op::Activation(Activation::LeakyRelu { alpha: 0.1 }),
        5 => Op::Activation(Activation::HardSigmoid { alpha: 0.2, beta: 0.5 }),
        6 => Op::Activation(Activation::Gelu { tanh_approx: false }),
        7 => Op::Unary(UnaryOp::Neg),
        _ => Op::Unary(UnaryOp::Abs),
    }
}

/// Values in [-1, 1] (positive in [0.25, 1.25] with `positive`).
fn data(shape: &[usize], seed: u64, positive: bool) -> Tensor {
    let mut s = seed | 1;
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = ((s >> 33) % 1000) as f32 / 999.0;
            if positive { u + 0.25 } else { u * 2.0 - 1.0 }
        })
        .collect();
    Tensor::from_vec(shape.to_vec(), v)
}

struct Builder {
    g: Graph,
    pool: Vec<ValueId>,
    shape: Vec<usize>,
}

impl Builder {
    fn pick(&self, i: usize) -> ValueId {
        self.pool[i % self.pool.len()]
    }
    fn konst(&mut self, t: Tensor) -> ValueId {
        let k = self.g.values.len();
        self.g.add_const(format!("c{k}"), t)
    }
    fn node(&mut self, op: Op, inputs: Vec<Option<ValueId>>) -> Option<ValueId> {
        let k = self.g.nodes.len();
        let outs = self.g.add_node(format!("n{k}"), op, inputs, &[format!("v{k}")]).ok()?;
        self.pool.push(outs[0]);
        Some(outs[0])
    }
    fn channels(&self) -> usize {
        self.shape[1]
    }

    fn linear(&mut self, kind: u8, bias: bool, bn: bool, seed: u64) {
        let x = *self.pool.last().expect("inputs");
        let c = self.channels();
        let b = bias.then(|| self.konst(data(&[c], seed ^ 5, false)));
        let y = if self.shape.len() == 4 {
            let k = if kind == 0 { 1 } else { 3 };
            let w = self.konst(data(&[c, c, k, k], seed, false));
            let p = k / 2;
            let window = Window { kernel_shape: vec![k, k], strides: vec![1, 1], pads: vec![p; 4], dilations: vec![1, 1] };
            self.node(Op::Conv { window, group: 1 }, vec![Some(x), Some(w), b])
        } else if kind == 2 {
            let w = self.konst(data(&[c, c], seed, false));
            self.node(Op::MatMul, vec![Some(x), Some(w)])
        } else {
            let w = self.konst(data(&[c, c], seed, false));
            let op = Op::Gemm { alpha: 0.5, beta: 2.0, trans_a: false, trans_b: kind == 1 };
            self.node(op, vec![Some(x), Some(w), b])
        };
        if let (Some(y), true) = (y, bn) {
            let p: Vec<Option<ValueId>> = (0..4).map(|k| Some(self.konst(data(&[c], seed + k, k == 0 || k == 3)))).collect();
            self.node(Op::BatchNormalization { epsilon: 1e-5 }, [vec![Some(y)], p].concat());
        }
    }

    fn apply(&mut self, s: &Step) {
        match *s {
            Step::Linear { kind, bias, bn, seed } => self.linear(kind, bias, bn, seed),
            Step::Act { which, a } => {
                self.node(act(which), vec![Some(self.pick(a))]);
            }
            Step::BiasAdd { a, swap, seed, full } => {
                let c = self.channels();
                let shape = match (self.shape.len(), full) {
                    (4, false) => vec![c, 1, 1],
                    (_, false) => vec![c],
                    _ => self.shape.clone(),
                };
                let b = self.konst(data(&shape, seed, false));
                let a = self.pick(a);
                let ins = if swap { vec![Some(b), Some(a)] } else { vec![Some(a), Some(b)] };
                self.node(Op::Binary(BinaryOp::Add), ins);
            }
            Step::Binary { op, a, b } => {
                let op = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Max, BinaryOp::Min][op];
                self.node(Op::Binary(op), vec![Some(self.pick(a)), Some(self.pick(b))]);
            }
            Step::Sum { a, b } => {
                self.node(Op::Variadic(VariadicOp::Sum), vec![Some(self.pick(a)), Some(self.pick(b))]);
            }
            Step::Clip { a, hi } => {
                let lo = self.konst(Tensor::scalar(-0.5f32));
                let hi = hi.then(|| self.konst(Tensor::scalar(0.75f32)));
                self.node(Op::Clip, vec![Some(self.pick(a)), Some(lo), hi]);
            }
            Step::Where { a, b } => {
                let (a, b) = (self.pick(a), self.pick(b));
                let k = self.g.nodes.len();
                let Ok(c) = self.g.add_node(format!("n{k}"), Op::Binary(BinaryOp::Greater), vec![Some(a), Some(b)], &[format!("v{k}")]) else { return };
                self.node(Op::Where, vec![Some(c[0]), Some(a), Some(b)]);
            }
        }
    }
}

fn build(four_d: bool, steps: &[Step], outs: &[usize]) -> Option<(Graph, Vec<Tensor>)> {
    let shape = if four_d { vec![1, 3, 3, 4] } else { vec![3, 4] };
    let mut b = Builder { g: Graph::new(), pool: Vec::new(), shape: shape.clone() };
    let t = data(&shape, 99, false);
    let x = b.g.add_input("x", t.ty().clone());
    b.pool.push(x);
    for s in steps {
        b.apply(s);
    }
    let results: Vec<ValueId> = b.g.nodes.iter().map(|n| n.outputs[0]).collect();
    let last = *results.last()?;
    b.g.outputs.push(last);
    for o in outs {
        let v = results[o % results.len()];
        if !b.g.outputs.contains(&v) {
            b.g.outputs.push(v);
        }
    }
    Some((b.g, vec![t]))
}

fn graphs() -> impl Strategy<Value = Option<(Graph, Vec<Tensor>)>> {
    (any::<bool>(), prop::collection::vec(step(), 1..16), prop::collection::vec(0usize..64, 0..2))
        .prop_map(|(four_d, steps, outs)| build(four_d, &steps, &outs))
}

fn close(a: &[Tensor], b: &[Tensor]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} outputs vs {}", a.len(), b.len()));
    }
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        if x.ty() != y.ty() {
            return Err(format!("output {k}: {} vs {}", x.ty(), y.ty()));
        }
        // Relative to the tensor's largest magnitude: BN folding rounds
        // differently, and a later cancellation can leave a small element
        // with an error that is relative to its (larger) terms.
        let scale = x.to_f64_vec().iter().fold(1.0f64, |m, v| if v.is_finite() { m.max(v.abs()) } else { m });
        for (p, q) in x.to_f64_vec().iter().zip(y.to_f64_vec()) {
            let ok = (p.is_nan() && q.is_nan()) || p.to_bits() == q.to_bits() || (p - q).abs() <= 1e-5 * scale;
            if !ok {
                return Err(format!("output {k}: {p} vs {q}"));
            }
        }
    }
    Ok(())
}

fn check(g: &Graph, inputs: &[Tensor], passes: Vec<Box<dyn Pass>>) -> Result<Graph, TestCaseError> {
    let want = eval_graph(g, inputs).map_err(|e| TestCaseError::fail(format!("eval before: {e}")))?;
    let mut h = g.clone();
    let opts = PipelineOptions { print_ir_after_all: false, verify: true };
    run_passes(&mut h, &passes, &opts, &mut |_, _| {}).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let got = eval_graph(&h, inputs).map_err(|e| TestCaseError::fail(format!("eval after: {e}")))?;
    close(&want, &got).map_err(TestCaseError::fail)?;
    let p = plan(&h);
    prop_assert_eq!(validate(&h, &p), Ok(()));
    Ok(h)
}

proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 192, ..common::proptest_config() })]

    #[test]
    fn bn_fold_preserves_semantics(case in graphs()) {
        let Some((g, inputs)) = case else { return Ok(()) };
        check(&g, &inputs, vec![Box::new(BnFold), Box::new(Dce)])?;
    }

    #[test]
    fn epilogue_fusion_preserves_semantics(case in graphs()) {
        let Some((g, inputs)) = case else { return Ok(()) };
        // DCE first, as in the pipeline: readers that are dead still count.
        let h = check(&g, &inputs, vec![Box::new(Dce), Box::new(FuseEpilogue)])?;
        // Nothing fusable is left behind: no single-reader Conv output feeds a Relu.
        let uses = h.use_counts();
        for (i, n) in h.nodes.iter().enumerate() {
            if matches!(n.op, Op::Unary(UnaryOp::Relu)) {
                let x = n.inputs[0].unwrap();
                let from_conv = h.nodes[..i].iter().any(|p| p.outputs[0] == x && matches!(p.op, Op::Conv { .. } | Op::Fused { .. }));
                prop_assert!(!(from_conv && uses[&x] == 1 && !h.outputs.contains(&x)), "Relu after {} not fused", x);
            }
        }
    }

    #[test]
    fn elementwise_fusion_preserves_semantics(case in graphs()) {
        let Some((g, inputs)) = case else { return Ok(()) };
        check(&g, &inputs, vec![Box::new(FuseElementwise)])?;
    }

    #[test]
    fn fusion_pipeline_preserves_semantics(case in graphs()) {
        let Some((g, inputs)) = case else { return Ok(()) };
        let h = check(&g, &inputs, default_passes())?;
        prop_assert!(h.nodes.len() <= g.nodes.len());
        prop_assert!(!h.nodes.iter().any(|n| matches!(n.op, Op::BatchNormalization { .. })
            && h.nodes.iter().any(|p| p.outputs[0] == n.inputs[0].unwrap() && matches!(p.op, Op::Conv { .. }))
            && h.use_counts()[&n.inputs[0].unwrap()] == 1), "BN after a single-reader Conv left");
        let _ = DType::F32;
    }
}
