//! Epilogue fusion: bias adds, activations, Clip and residual adds that
//! follow a Conv, Gemm or MatMul (through a chain of single-reader values)
//! become the post-op list of one `Op::Fused` node, so the lowering applies
//! them to each output value right before its store instead of re-reading
//! the whole tensor once per op.
//!
//! A step joins only if the result keeps the base op's output type (the
//! fused op's shape rule checks each step with the step op's own rule), so
//! bias and residual operands broadcast *to* the output, never beyond it.
//! Only f32/f64 outputs are fused: f16 results would otherwise skip the
//! rounding between ops that the unfused graph performs.

use crate::dce::eliminate_dead_code;
use crate::error::PassError;
use crate::pipeline::Pass;
use onnxc_ir::fused::PostOp;
use onnxc_ir::op::{BinaryOp, UnaryOp, VariadicOp};
use onnxc_ir::{DType, Graph, Node, Op, ValueId};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug, Default)]
pub struct FuseEpilogue;

impl Pass for FuseEpilogue {
    fn name(&self) -> &'static str {
        "fuse-epilogue"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        if fuse_epilogues(g) > 0 {
            eliminate_dead_code(g);
        }
        Ok(())
    }
}

/// The base op's form inside a `Fused` node: `(base op, all base inputs
/// padded to the op's arity, post ops so far)`.
fn as_fused(n: &Node) -> Option<(Op, Vec<Option<ValueId>>, Vec<PostOp>)> {
    let arity = match &n.op {
        Op::Fused { base_inputs, post, base } => return Some(((**base).clone(), n.inputs.clone(), post.clone())).filter(|_| *base_inputs <= n.inputs.len()),
        Op::Conv { .. } | Op::Gemm { .. } | Op::ConvNhwc { .. } => 3,
        Op::MatMul => 2,
        _ => return None,
    };
    let mut inputs = n.inputs.clone();
    if inputs.len() > arity {
        return None;
    }
    inputs.resize(arity, None);
    Some((n.op.clone(), inputs, Vec::new()))
}

/// The epilogue step of consumer `c` applied to `acc`, with the operands it
/// adds to the fused node (as `(value, is_min_or_max_slot)` in order).
fn step_of(c: &Node, acc: ValueId) -> Option<(PostOp, Vec<Option<ValueId>>)> {
    let ins: Vec<Option<ValueId>> = c.inputs.clone();
    let at = ins.iter().position(|i| *i == Some(acc))?;
    if ins.iter().filter(|i| **i == Some(acc)).count() != 1 {
        return None;
    }
    let binary = |op: BinaryOp| -> Option<(PostOp, Vec<Option<ValueId>>)> {
        if ins.len() != 2 {
            return None;
        }
        let other = ins[1 - at]?;
        Some((PostOp::Binary { op, input: usize::MAX, swap: at == 1 }, vec![Some(other)]))
    };
    match &c.op {
        Op::Unary(UnaryOp::Identity | UnaryOp::Not | UnaryOp::BitwiseNot | UnaryOp::IsNaN) => None,
        Op::Unary(u) if at == 0 => Some((PostOp::Unary(*u), vec![])),
        Op::Activation(a) if at == 0 => Some((PostOp::Activation(*a), vec![])),
        Op::Binary(op) => binary(*op),
        Op::Variadic(VariadicOp::Sum) => binary(BinaryOp::Add),
        Op::Variadic(VariadicOp::Max) => binary(BinaryOp::Max),
        Op::Variadic(VariadicOp::Min) => binary(BinaryOp::Min),
        Op::Clip if at == 0 => {
            let (lo, hi) = (c.input(1), c.input(2));
            Some((PostOp::Clip { min: lo.map(|_| usize::MAX), max: hi.map(|_| usize::MAX) }, vec![lo, hi]))
        }
        _ => None,
    }
}

/// Index of `v` among `inputs` at or after `from`, appending it if absent.
fn operand_index(inputs: &mut Vec<Option<ValueId>>, from: usize, v: ValueId) -> usize {
    match inputs[from..].iter().position(|i| *i == Some(v)) {
        Some(k) => from + k,
        None => {
            inputs.push(Some(v));
            inputs.len() - 1
        }
    }
}

/// `step` with its placeholder operand indices resolved against `inputs`.
fn resolve(step: PostOp, extra: &[Option<ValueId>], inputs: &mut Vec<Option<ValueId>>, base: usize) -> PostOp {
    let mut idx = extra.iter().map(|v| v.map(|v| operand_index(inputs, base, v)));
    match step {
        PostOp::Binary { op, swap, .. } => PostOp::Binary { op, input: idx.next().flatten().unwrap_or(usize::MAX), swap },
        PostOp::Clip { .. } => PostOp::Clip { min: idx.next().flatten(), max: idx.next().flatten() },
        s => s,
    }
}

/// Fuses every qualifying chain; returns the number of steps fused.
pub fn fuse_epilogues(g: &mut Graph) -> usize {
    let uses = g.use_counts();
    let graph_outputs: HashSet<ValueId> = g.outputs.iter().copied().collect();
    let nodes = std::mem::take(&mut g.nodes);
    let mut out: Vec<Option<Node>> = Vec::with_capacity(nodes.len());
    // Output value -> position in `out` of a node that can take an epilogue.
    let mut open: HashMap<ValueId, usize> = HashMap::new();
    let mut fused = 0;
    for c in nodes {
        if let Some(node) = try_fuse(g, &c, &out, &open, &uses, &graph_outputs) {
            let acc = node.1;
            out[open[&acc]] = None;
            open.remove(&acc);
            open.insert(node.0.outputs[0], out.len());
            out.push(Some(node.0));
            fused += 1;
            continue;
        }
        let ok = c.outputs.len() == 1 && matches!(g.ty(c.outputs[0]).dtype, DType::F32 | DType::F64);
        if ok && as_fused(&c).is_some() {
            open.insert(c.outputs[0], out.len());
        }
        out.push(Some(c));
    }
    g.nodes = out.into_iter().flatten().collect();
    fused
}

/// The fused node replacing consumer `c` and the producer output it
/// absorbs, if `c` extends an open producer's epilogue.
fn try_fuse(
    g: &Graph,
    c: &Node,
    out: &[Option<Node>],
    open: &HashMap<ValueId, usize>,
    uses: &HashMap<ValueId, usize>,
    graph_outputs: &HashSet<ValueId>,
) -> Option<(Node, ValueId)> {
    if c.outputs.len() != 1 {
        return None;
    }
    let acc = c.inputs.iter().flatten().find(|v| open.contains_key(v) && uses.get(v) == Some(&1) && !graph_outputs.contains(v))?;
    let p = out[open[acc]].as_ref()?;
    let (step, extra) = step_of(c, *acc)?;
    let (base, mut inputs, mut post) = as_fused(p)?;
    let base_inputs = match &p.op {
        Op::Fused { base_inputs, .. } => *base_inputs,
        _ => inputs.len(),
    };
    post.push(resolve(step, &extra, &mut inputs, base_inputs));
    let op = Op::Fused { base: Box::new(base), base_inputs, post };
    // The fused op's shape rule checks every step keeps the output type.
    let ty = g.infer_node(&op, &inputs, 1).ok()?;
    if ty[0] != *g.ty(c.outputs[0]) {
        return None;
    }
    Some((Node { name: p.name.clone(), op, inputs, outputs: c.outputs.clone() }, *acc))
}
