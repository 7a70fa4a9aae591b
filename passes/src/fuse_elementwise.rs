//! Elementwise chain fusion: a tree of elementwise ops (unary, activation,
//! binary with broadcasting, Clip, Where) whose intermediate results each
//! have one reader becomes one `Op::FusedElementwise` node, lowered to one
//! loop that never stores the intermediates.
//!
//! A producer is absorbed only if its result has as many elements as the
//! consumer's (so fusing never recomputes a small tensor once per element
//! of a broadcast) and only for f32/f64 results: f16 intermediates would
//! otherwise skip the rounding the unfused graph performs.

use crate::dce::eliminate_dead_code;
use crate::error::PassError;
use crate::pipeline::Pass;
use onnxc_ir::fused::{ElemArg, ElemFn, ElemInstr};
use onnxc_ir::op::{BinaryOp, VariadicOp};
use onnxc_ir::{DType, Graph, Node, Op, ValueId};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug, Default)]
pub struct FuseElementwise;

impl Pass for FuseElementwise {
    fn name(&self) -> &'static str {
        "fuse-elementwise"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        if fuse_elementwise(g) > 0 {
            eliminate_dead_code(g);
        }
        Ok(())
    }
}

/// A node as a program over its own inputs, if it is fusable.
fn program_of(n: &Node) -> Option<Vec<ElemInstr>> {
    if n.outputs.len() != 1 {
        return None;
    }
    if let Op::FusedElementwise { program } = &n.op {
        return Some(program.clone());
    }
    let f = match &n.op {
        Op::Variadic(VariadicOp::Sum) if n.inputs.len() == 2 => ElemFn::Binary(BinaryOp::Add),
        Op::Variadic(VariadicOp::Max) if n.inputs.len() == 2 => ElemFn::Binary(BinaryOp::Max),
        Op::Variadic(VariadicOp::Min) if n.inputs.len() == 2 => ElemFn::Binary(BinaryOp::Min),
        op => ElemFn::from_op(op)?,
    };
    let args = n.inputs.iter().enumerate().map(|(i, v)| v.map(|_| ElemArg::Input(i))).collect();
    Some(vec![ElemInstr { f, args }])
}

/// Consumer `c` (program `cp`) with producer `p` (program `pp`) inlined for
/// its input `j`: the producer's instructions come first.
fn merge(p: &Node, pp: &[ElemInstr], c: &Node, cp: &[ElemInstr], j: usize) -> (Vec<ElemInstr>, Vec<Option<ValueId>>) {
    let mut inputs: Vec<Option<ValueId>> = Vec::new();
    let index = |v: ValueId, inputs: &mut Vec<Option<ValueId>>| match inputs.iter().position(|i| *i == Some(v)) {
        Some(k) => k,
        None => {
            inputs.push(Some(v));
            inputs.len() - 1
        }
    };
    // Consumer inputs other than `j` keep their order, then the producer's.
    let cmap: Vec<Option<usize>> = c.inputs.iter().enumerate().map(|(i, v)| if i == j { None } else { v.map(|v| index(v, &mut inputs)) }).collect();
    let pmap: Vec<Option<usize>> = p.inputs.iter().map(|v| v.map(|v| index(v, &mut inputs))).collect();
    let off = pp.len();
    let mut program: Vec<ElemInstr> = pp
        .iter()
        .map(|ins| ElemInstr {
            f: ins.f.clone(),
            args: ins.args.iter().map(|a| a.map(|a| match a {
                ElemArg::Input(i) => ElemArg::Input(pmap[i].unwrap_or(usize::MAX)),
                r => r,
            })).collect(),
        })
        .collect();
    program.extend(cp.iter().map(|ins| ElemInstr {
        f: ins.f.clone(),
        args: ins.args.iter().map(|a| a.map(|a| match a {
            ElemArg::Input(i) if i == j => ElemArg::Reg(off - 1),
            ElemArg::Input(i) => ElemArg::Input(cmap[i].unwrap_or(usize::MAX)),
            ElemArg::Reg(r) => ElemArg::Reg(r + off),
        })).collect(),
    }));
    (program, inputs)
}

fn float(g: &Graph, v: ValueId) -> bool {
    matches!(g.ty(v).dtype, DType::F32 | DType::F64)
}

/// Fuses every qualifying producer into its reader; returns how many.
pub fn fuse_elementwise(g: &mut Graph) -> usize {
    let uses = g.use_counts();
    let graph_outputs: HashSet<ValueId> = g.outputs.iter().copied().collect();
    let nodes = std::mem::take(&mut g.nodes);
    let mut out: Vec<Option<Node>> = Vec::with_capacity(nodes.len());
    let mut open: HashMap<ValueId, usize> = HashMap::new();
    let mut fused = 0;
    for mut c in nodes {
        let Some(mut cp) = program_of(&c).filter(|_| float(g, c.outputs[0])) else {
            out.push(Some(c));
            continue;
        };
        // Absorb producers one input at a time; the merged node replaces `c`.
        while let Some(j) = c.inputs.iter().position(|v| {
            v.is_some_and(|v| open.contains_key(&v) && uses.get(&v) == Some(&1) && !graph_outputs.contains(&v) && g.ty(v).numel() == g.ty(c.outputs[0]).numel())
        }) {
            let v = c.inputs[j].unwrap_or(ValueId(u32::MAX));
            let k = open.remove(&v).unwrap_or(usize::MAX);
            let Some(p) = out.get_mut(k).and_then(Option::take) else { break };
            let pp = program_of(&p).unwrap_or_default();
            let (program, inputs) = merge(&p, &pp, &c, &cp, j);
            let op = Op::FusedElementwise { program: program.clone() };
            if g.infer_node(&op, &inputs, 1).ok().as_deref() != Some(std::slice::from_ref(g.ty(c.outputs[0]))) {
                // Not expected (the pieces were valid), but never break the graph.
                out[k] = Some(p);
                break;
            }
            cp = program;
            c = Node { name: c.name.clone(), op, inputs, outputs: c.outputs.clone() };
            fused += 1;
        }
        open.insert(c.outputs[0], out.len());
        out.push(Some(c));
    }
    g.nodes = out.into_iter().flatten().collect();
    fused
}
