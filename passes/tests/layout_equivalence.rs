//! Property tests of the layout pass: random CNN-like graphs (convolutions
//! of several shapes, bias/BN/residual adds, activations, channel Concat,
//! max/average/global pooling, outputs taken mid-graph) evaluate to
//! the same outputs before and after the pass (every eligible convolution
//! made channels-last) and after the whole pipeline with it, and a chain of
//! channels-last convolutions has exactly one reorder in and one out.

mod common;

use onnxc_ir::eval::eval_graph;
use onnxc_ir::op::{BinaryOp, UnaryOp, Window};
use onnxc_ir::{Graph, Op, Tensor, ValueId};
use onnxc_passes::layout::{Layout, LayoutMode};
use onnxc_passes::pipeline::{run_passes, Pass, PipelineOptions};
use onnxc_passes::{plan, validate, BnFold, Dce, FuseElementwise, FuseEpilogue};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Conv { k: usize, stride: usize, grow: bool, bias: bool, seed: u64 },
    Relu { a: usize },
    BiasAdd { a: usize, seed: u64, scalar: bool },
    Residual { a: usize, b: usize },
    Concat { a: usize, b: usize },
    MaxPool { a: usize },
    AvgPool { a: usize, include_pad: bool },
    GlobalPool { a: usize, max: bool },
}

fn step() -> impl Strategy<Value = Step> {
    let i = || 0usize..64;
    prop_oneof![
        4 => (0usize..3, 1usize..3, any::<bool>(), any::<bool>(), any::<u64>()).prop_map(|(k, stride, grow, bias, seed)| Step::Conv { k: [1, 3, 2][k], stride, grow, bias, seed }),
        2 => i().prop_map(|a| Step::Relu { a }),
        2 => (i(), any::<u64>(), any::<bool>()).prop_map(|(a, seed, scalar)| Step::BiasAdd { a, seed, scalar }),
        2 => (i(), i()).prop_map(|(a, b)| Step::Residual { a, b }),
        1 => (i(), i()).prop_map(|(a, b)| Step::Concat { a, b }),
        1 => i().prop_map(|a| Step::MaxPool { a }),
        1 => (i(), any::<bool>()).prop_map(|(a, include_pad)| Step::AvgPool { a, include_pad }),
        1 => (i(), any::<bool>()).prop_map(|(a, max)| Step::GlobalPool { a, max }),
    ]
}

fn data(shape: &[usize], seed: u64) -> Tensor {
    let mut s = seed | 1;
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) % 1000) as f32 / 999.0 * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(shape.to_vec(), v)
}

struct Builder {
    g: Graph,
    pool: Vec<ValueId>,
}

impl Builder {
    fn pick(&self, i: usize) -> ValueId {
        self.pool[i % self.pool.len()]
    }
    fn shape(&self, v: ValueId) -> Vec<usize> {
        self.g.ty(v).shape.clone()
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

    fn apply(&mut self, s: &Step) {
        match *s {
            Step::Conv { k, stride, grow, bias, seed } => {
                let x = *self.pool.last().expect("input");
                let xs = self.shape(x);
                let (c, m) = (xs[1], if grow { xs[1] + 3 } else { xs[1] });
                let w = self.konst(data(&[m, c, k, k], seed));
                let b = bias.then(|| self.konst(data(&[m], seed ^ 7)));
                let p = k / 2;
                let window = Window { kernel_shape: vec![k, k], strides: vec![stride; 2], pads: vec![p, p, p + (k + 1) % 2, p], dilations: vec![1, 1] };
                self.node(Op::Conv { window, group: 1 }, vec![Some(x), Some(w), b]);
            }
            Step::Relu { a } => {
                self.node(Op::Unary(UnaryOp::Relu), vec![Some(self.pick(a))]);
            }
            Step::BiasAdd { a, seed, scalar } => {
                let a = self.pick(a);
                let shape = if scalar { vec![] } else { vec![self.shape(a)[1], 1, 1] };
                let b = self.konst(data(&shape, seed));
                self.node(Op::Binary(BinaryOp::Add), vec![Some(b), Some(a)]);
            }
            Step::Residual { a, b } => {
                self.node(Op::Binary(BinaryOp::Add), vec![Some(self.pick(a)), Some(self.pick(b))]);
            }
            Step::Concat { a, b } => {
                self.node(Op::Concat { axis: 1 }, vec![Some(self.pick(a)), Some(self.pick(b))]);
            }
            Step::MaxPool { a } => {
                let window = Window { kernel_shape: vec![2, 2], strides: vec![1, 1], pads: vec![0, 0, 1, 1], dilations: vec![1, 1] };
                self.node(Op::MaxPool { window, ceil_mode: false }, vec![Some(self.pick(a))]);
            }
            Step::AvgPool { a, include_pad } => {
                let window = Window { kernel_shape: vec![3, 2], strides: vec![2, 1], pads: vec![1, 0, 1, 1], dilations: vec![1, 1] };
                self.node(Op::AveragePool { window, ceil_mode: true, count_include_pad: include_pad }, vec![Some(self.pick(a))]);
            }
            Step::GlobalPool { a, max } => {
                self.node(if max { Op::GlobalMaxPool } else { Op::GlobalAveragePool }, vec![Some(self.pick(a))]);
            }
        }
    }
}

fn build(steps: &[Step], outs: &[usize]) -> Option<(Graph, Vec<Tensor>)> {
    let shape = vec![1, 2, 5, 4];
    let mut b = Builder { g: Graph::new(), pool: Vec::new() };
    let t = data(&shape, 99);
    let x = b.g.add_input("x", t.ty().clone());
    b.pool.push(x);
    for s in steps {
        b.apply(s);
    }
    let results: Vec<ValueId> = b.g.nodes.iter().map(|n| n.outputs[0]).collect();
    b.g.outputs.push(*results.last()?);
    for o in outs {
        let v = results[o % results.len()];
        if !b.g.outputs.contains(&v) {
            b.g.outputs.push(v);
        }
    }
    Some((b.g, vec![t]))
}

fn graphs() -> impl Strategy<Value = Option<(Graph, Vec<Tensor>)>> {
    (prop::collection::vec(step(), 1..14), prop::collection::vec(0usize..64, 0..2)).prop_map(|(steps, outs)| build(&steps, &outs))
}

fn close(a: &[Tensor], b: &[Tensor]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} outputs vs {}", a.len(), b.len()));
    }
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        if x.ty() != y.ty() {
            return Err(format!("output {k}: {} vs {}", x.ty(), y.ty()));
        }
        let scale = x.to_f64_vec().iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (p, q) in x.to_f64_vec().iter().zip(y.to_f64_vec()) {
            if (p - q).abs() > 1e-5 * scale {
                return Err(format!("output {k}: {p} vs {q}"));
            }
        }
    }
    Ok(())
}

fn nhwc() -> Box<dyn Pass> {
    Box::new(Layout { mode: LayoutMode::Nhwc })
}

fn check(g: &Graph, inputs: &[Tensor], passes: Vec<Box<dyn Pass>>) -> Result<Graph, TestCaseError> {
    let want = eval_graph(g, inputs).map_err(|e| TestCaseError::fail(format!("eval before: {e}")))?;
    let mut h = g.clone();
    let opts = PipelineOptions { print_ir_after_all: false, verify: true };
    run_passes(&mut h, &passes, &opts, &mut |_, _| {}).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let got = eval_graph(&h, inputs).map_err(|e| TestCaseError::fail(format!("eval after: {e}")))?;
    close(&want, &got).map_err(TestCaseError::fail)?;
    prop_assert_eq!(validate(&h, &plan(&h)), Ok(()));
    Ok(h)
}

fn count(g: &Graph, f: impl Fn(&Op) -> bool) -> usize {
    g.nodes.iter().filter(|n| f(&n.op)).count()
}

proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 192, ..common::proptest_config() })]

    #[test]
    fn layout_preserves_semantics(case in graphs()) {
        let Some((g, inputs)) = case else { return Ok(()) };
        let h = check(&g, &inputs, vec![nhwc(), Box::new(Dce)])?;
        prop_assert_eq!(count(&h, |o| matches!(o, Op::Conv { .. })), 0, "every conv is eligible");
        // At most one reorder per channels-first value read by a
        // channels-last op and one per channels-last value read channels-first.
        let reorders = count(&h, |o| matches!(o, Op::Transpose { .. }));
        prop_assert!(reorders <= 2 * g.nodes.len() + 1, "{} reorders", reorders);
    }

    #[test]
    fn layout_then_fusion_preserves_semantics(case in graphs()) {
        let Some((g, inputs)) = case else { return Ok(()) };
        check(&g, &inputs, vec![Box::new(BnFold), nhwc(), Box::new(FuseEpilogue), Box::new(FuseElementwise), Box::new(Dce)])?;
    }
}

/// Conv → Add(bias) → Relu → Conv → residual Add → Relu → Conv: one
/// reorder in and one out, however long the run.
#[test]
fn conv_chain_has_two_reorders() {
    let steps = [
        Step::Conv { k: 3, stride: 1, grow: true, bias: true, seed: 1 },
        Step::BiasAdd { a: 1, seed: 2, scalar: false },
        Step::Relu { a: 2 },
        Step::Conv { k: 1, stride: 1, grow: false, bias: false, seed: 3 },
        Step::Residual { a: 4, b: 3 },
        Step::Relu { a: 5 },
        Step::Conv { k: 3, stride: 2, grow: true, bias: true, seed: 4 },
    ];
    let (g, inputs) = build(&steps, &[]).unwrap();
    let h = check(&g, &inputs, vec![nhwc(), Box::new(Dce)]).unwrap();
    assert_eq!(count(&h, |o| matches!(o, Op::Transpose { .. })), 2, "{}", onnxc_ir::text::print(&h));
    assert_eq!(count(&h, |o| matches!(o, Op::ConvNhwc { .. })), 3);
}
