//! Property tests: random small graphs evaluate to the same outputs with the
//! reference evaluator before and after each pass (and the whole pipeline),
//! every result passes the verifier, and the memory plan of the optimized
//! graph validates.

mod common;

use onnxc_ir::eval::eval_graph;
use onnxc_ir::op::{BinaryOp, UnaryOp};
use onnxc_ir::{DType, Graph, Op, Tensor, ValueId};
use onnxc_passes::pipeline::{default_passes, run_passes, Pass, PipelineOptions};
use onnxc_passes::{plan, validate, ConstFold, Dce, IdentityElim};
use proptest::prelude::*;

const UNARY: [UnaryOp; 8] = [
    UnaryOp::Neg,
    UnaryOp::Abs,
    UnaryOp::Relu,
    UnaryOp::Exp,
    UnaryOp::Sigmoid,
    UnaryOp::Tanh,
    UnaryOp::Floor,
    UnaryOp::Sqrt,
];
const BINARY: [BinaryOp; 7] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Max,
    BinaryOp::Min,
    BinaryOp::Pow,
];
const SHAPES: [&[usize]; 9] =
    [&[], &[1], &[3], &[2, 3], &[1, 3], &[2, 1], &[4, 3], &[3, 4], &[2, 3, 4]];

/// One step of building a random graph; operands are indices into the pool
/// of values built so far (taken modulo its length).
#[derive(Clone, Debug)]
enum Step {
    Const { like: usize, shape: usize, seed: u64 },
    Unary { op: usize, a: usize },
    Binary { op: usize, a: usize, b: usize },
    MatMul { a: usize, n: usize },
    Reshape { a: usize, mode: u8 },
    Transpose { a: usize, seed: u64 },
    Concat { a: usize, b: usize, axis: usize },
    Identity { a: usize, dropout: bool },
    ShapeOf { a: usize, size: bool },
}

fn step() -> impl Strategy<Value = Step> {
    let i = || 0usize..64;
    prop_oneof![
        1 => (i(), 0..SHAPES.len() * 2, any::<u64>()).prop_map(|(like, shape, seed)| Step::Const { like, shape, seed }),
        1 => (0..UNARY.len(), i()).prop_map(|(op, a)| Step::Unary { op, a }),
        3 => (0..BINARY.len(), i(), i()).prop_map(|(op, a, b)| Step::Binary { op, a, b }),
        1 => (i(), 1usize..4).prop_map(|(a, n)| Step::MatMul { a, n }),
        1 => (i(), 0u8..4).prop_map(|(a, mode)| Step::Reshape { a, mode }),
        1 => (i(), any::<u64>()).prop_map(|(a, seed)| Step::Transpose { a, seed }),
        1 => (i(), i(), 0usize..3).prop_map(|(a, b, axis)| Step::Concat { a, b, axis }),
        1 => (i(), any::<bool>()).prop_map(|(a, dropout)| Step::Identity { a, dropout }),
        1 => (i(), any::<bool>()).prop_map(|(a, size)| Step::ShapeOf { a, size }),
    ]
}

/// Small deterministic values (multiples of 0.5 in [-3, 3]) so that results
/// stay mostly finite and exactly comparable.
fn data(shape: &[usize], seed: u64) -> Tensor {
    let mut s = seed | 1;
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) % 13) as f32 * 0.5 - 3.0
        })
        .collect();
    Tensor::from_vec(shape.to_vec(), v)
}

fn i64s(v: Vec<i64>) -> Tensor {
    Tensor::from_vec(vec![v.len()], v)
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
    /// Adds the node if its shape rule accepts it; returns its first output.
    fn node(&mut self, op: Op, inputs: Vec<Option<ValueId>>) -> Option<ValueId> {
        let k = self.g.nodes.len();
        let outs = self.g.add_node(format!("n{k}"), op, inputs, &[format!("v{k}")]).ok()?;
        self.pool.push(outs[0]);
        Some(outs[0])
    }

    fn apply(&mut self, s: &Step) {
        match *s {
            Step::Const { like, shape, seed } => {
                let sh = match SHAPES.get(shape) {
                    Some(sh) => sh.to_vec(),
                    None => self.shape(self.pick(like)),
                };
                let c = self.konst(data(&sh, seed));
                self.pool.push(c);
            }
            Step::Unary { op, a } => {
                self.node(Op::Unary(UNARY[op]), vec![Some(self.pick(a))]);
            }
            Step::Binary { op, a, b } => {
                self.node(Op::Binary(BINARY[op]), vec![Some(self.pick(a)), Some(self.pick(b))]);
            }
            Step::MatMul { a, n } => {
                let a = self.pick(a);
                let k = self.shape(a).last().copied().unwrap_or(1);
                let w = self.konst(data(&[k, n], k as u64 * 31 + n as u64));
                self.node(Op::MatMul, vec![Some(a), Some(w)]);
            }
            Step::Reshape { a, mode } => {
                let a = self.pick(a);
                let dims: Vec<i64> = self.shape(a).iter().map(|&d| d as i64).collect();
                let target = match mode {
                    0 => vec![-1],
                    1 => dims.iter().rev().copied().collect(),
                    2 => [vec![1], dims].concat(),
                    _ => vec![dims.iter().product(), 1],
                };
                let s = self.konst(i64s(target));
                self.node(Op::Reshape { allowzero: false }, vec![Some(a), Some(s)]);
            }
            Step::Transpose { a, seed } => {
                let a = self.pick(a);
                let r = self.shape(a).len();
                let mut perm: Vec<usize> = (0..r).collect();
                let mut s = seed;
                for i in (1..r).rev() {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                    perm.swap(i, (s >> 33) as usize % (i + 1));
                }
                let perm = (seed % 3 != 0).then_some(perm);
                self.node(Op::Transpose { perm }, vec![Some(a)]);
            }
            Step::Concat { a, b, axis } => {
                let (a, b) = (self.pick(a), self.pick(b));
                let axis = axis as i64 % self.shape(a).len().max(1) as i64;
                if self.node(Op::Concat { axis }, vec![Some(a), Some(b)]).is_none() {
                    self.node(Op::Concat { axis }, vec![Some(a), Some(a)]);
                }
            }
            Step::Identity { a, dropout } => {
                let op = if dropout { Op::Dropout } else { Op::Unary(UnaryOp::Identity) };
                self.node(op, vec![Some(self.pick(a))]);
            }
            Step::ShapeOf { a, size } => {
                let op = if size { Op::Size } else { Op::Shape { start: 0, end: None } };
                if let Some(s) = self.node(op, vec![Some(self.pick(a))]) {
                    self.node(Op::Cast { to: DType::F32 }, vec![Some(s)]);
                }
            }
        }
    }
}

/// Builds the graph; `None` if no node was built (nothing to transform).
fn build(shapes: (usize, usize), steps: &[Step], outs: &[usize]) -> Option<(Graph, Vec<Tensor>)> {
    let mut b = Builder { g: Graph::new(), pool: Vec::new() };
    let mut inputs = Vec::new();
    for (k, s) in [shapes.0, shapes.1].into_iter().enumerate() {
        let t = data(SHAPES[s], k as u64 + 7);
        let x = b.g.add_input(format!("x{k}"), t.ty().clone());
        b.pool.push(x);
        inputs.push(t);
    }
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
    Some((b.g, inputs))
}

/// Bitwise equality, except that any two NaNs match.
fn same(a: &[Tensor], b: &[Tensor]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("{} outputs vs {}", a.len(), b.len()));
    }
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        let eq = x.ty() == y.ty()
            && (x.bytes() == y.bytes()
                || x.to_f64_vec()
                    .iter()
                    .zip(y.to_f64_vec())
                    .all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan())));
        if !eq {
            return Err(format!("output {k}: {x:?} vs {y:?}"));
        }
    }
    Ok(())
}

fn check_passes(
    g: &Graph,
    inputs: &[Tensor],
    passes: Vec<Box<dyn Pass>>,
) -> Result<Graph, TestCaseError> {
    let want =
        eval_graph(g, inputs).map_err(|e| TestCaseError::fail(format!("eval before: {e}")))?;
    let mut h = g.clone();
    let opts = PipelineOptions { print_ir_after_all: false, verify: true };
    run_passes(&mut h, &passes, &opts, &mut |_, _| {})
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let got =
        eval_graph(&h, inputs).map_err(|e| TestCaseError::fail(format!("eval after: {e}")))?;
    same(&want, &got).map_err(TestCaseError::fail)?;
    Ok(h)
}

fn graphs() -> impl Strategy<Value = Option<(Graph, Vec<Tensor>)>> {
    (
        (0..SHAPES.len(), 0..SHAPES.len()),
        prop::collection::vec(step(), 1..24),
        prop::collection::vec(0usize..64, 0..3),
    )
        .prop_map(|(shapes, steps, outs)| build(shapes, &steps, &outs))
}

proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 128, ..common::proptest_config() })]

    #[test]
    fn identity_elim_preserves_semantics(case in graphs()) {
        let Some((g, inputs)) = case else { return Ok(()) };
        let h = check_passes(&g, &inputs, vec![Box::new(IdentityElim)])?;
        let outputs_from_nodes = h.outputs.iter().all(|o| h.nodes.iter().any(|n| n.outputs.contains(o)));
        for n in &h.nodes {
            if matches!(n.op, Op::Unary(UnaryOp::Identity) | Op::Dropout) {
                // Only copies into graph outputs may stay.
                prop_assert!(h.outputs.contains(&n.outputs[0]), "{:?} left", n.op);
            }
        }
        prop_assert!(outputs_from_nodes);
    }

    #[test]
    fn const_fold_preserves_semantics(case in graphs()) {
        let Some((g, inputs)) = case else { return Ok(()) };
        let h = check_passes(&g, &inputs, vec![Box::new(ConstFold::default())])?;
        for n in &h.nodes {
            let all_const = n.inputs.iter().flatten().all(|i| h.const_value(*i).is_some());
            prop_assert!(!all_const && !matches!(n.op, Op::Shape { .. } | Op::Size), "{} not folded", n.name);
        }
    }

    #[test]
    fn dce_preserves_semantics(case in graphs()) {
        let Some((g, inputs)) = case else { return Ok(()) };
        let h = check_passes(&g, &inputs, vec![Box::new(Dce)])?;
        let uses = h.use_counts();
        for n in &h.nodes {
            prop_assert!(n.outputs.iter().any(|o| uses.contains_key(o)), "{} is dead", n.name);
        }
        prop_assert_eq!(h.inputs.len(), g.inputs.len());
    }

    #[test]
    fn pipeline_preserves_semantics_and_plans_validly(case in graphs()) {
        let Some((g, inputs)) = case else { return Ok(()) };
        let h = check_passes(&g, &inputs, default_passes())?;
        prop_assert!(h.nodes.len() <= g.nodes.len());
        let p = plan(&h);
        prop_assert_eq!(validate(&h, &p), Ok(()));
        let p0 = plan(&g);
        prop_assert_eq!(validate(&g, &p0), Ok(()));
    }
}
