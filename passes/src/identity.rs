//! Removes `Identity` and inference-mode `Dropout` nodes by making their
//! users read the node's input directly.
//!
//! A node whose output is a graph output is removed only if its input is
//! another node's result: that result then becomes the graph output (taking
//! the output's ONNX name, which the C header exposes). If the input is a
//! graph input, a constant or already a graph output, the node stays, since
//! the output still needs its own buffer and a copy into it.

use crate::error::PassError;
use crate::pipeline::Pass;
use onnxc_ir::op::UnaryOp;
use onnxc_ir::{DType, Graph, Node, Op, Tensor, ValueId};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug, Default)]
pub struct IdentityElim;

impl Pass for IdentityElim {
    fn name(&self) -> &'static str {
        "identity-elim"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        remove_identities(g);
        Ok(())
    }
}

/// Removes the nodes and returns how many were removed.
pub fn remove_identities(g: &mut Graph) -> usize {
    let nodes = std::mem::take(&mut g.nodes);
    let before = nodes.len();
    // Values that are (or are about to become) graph outputs.
    let mut out_set: HashSet<ValueId> = g.outputs.iter().copied().collect();
    let defined_by_node: HashSet<ValueId> = nodes.iter().flat_map(|n| n.outputs.clone()).collect();
    // Removed output -> the value that replaces it (already resolved, so
    // chains of identities collapse to their first input).
    let mut subst: HashMap<ValueId, ValueId> = HashMap::new();
    let mut kept = Vec::with_capacity(before);
    for mut n in nodes {
        for i in n.inputs.iter_mut().flatten() {
            if let Some(r) = subst.get(i) {
                *i = *r;
            }
        }
        let Some((x, y)) = passthrough(g, &n) else {
            kept.push(n);
            continue;
        };
        if out_set.contains(&y) {
            if !defined_by_node.contains(&x) || out_set.contains(&x) {
                kept.push(n);
                continue;
            }
            out_set.insert(x);
            let name = g.value(y).name.clone();
            g.value_mut(x).name = name;
        }
        if n.outputs.len() > 1 {
            define_dropout_mask(g, &n);
        }
        subst.insert(y, x);
    }
    for o in &mut g.outputs {
        if let Some(r) = subst.get(o) {
            *o = *r;
        }
    }
    g.nodes = kept;
    before - g.nodes.len()
}

/// `(input, output)` of a node that just passes its input through, with
/// matching types, or `None` if the node must stay.
fn passthrough(g: &Graph, n: &Node) -> Option<(ValueId, ValueId)> {
    let removable = match n.op {
        Op::Unary(UnaryOp::Identity) => n.outputs.len() == 1,
        // training_mode absent or constant false: output = data. The mask
        // output, if any, is all true and becomes a constant.
        Op::Dropout => {
            let inference = n.input(2).is_none_or(|t| is_const_false(g, t));
            let mask_ok = n.outputs.get(1).is_none_or(|m| g.ty(*m).dtype == DType::Bool);
            inference && mask_ok && n.outputs.len() <= 2
        }
        _ => false,
    };
    let (x, y) = (n.input(0)?, *n.outputs.first()?);
    (removable && g.ty(x) == g.ty(y)).then_some((x, y))
}

/// Inference-mode Dropout's mask is all true; defining it as a constant keeps
/// any reader valid once the node is gone.
fn define_dropout_mask(g: &mut Graph, n: &Node) {
    let mask = n.outputs[1];
    let ty = g.ty(mask).clone();
    let ones = vec![1.0; ty.numel()];
    g.value_mut(mask).konst = Some(Tensor::from_f64(DType::Bool, ty.shape, &ones));
}

/// A one-element boolean constant that is false.
fn is_const_false(g: &Graph, id: ValueId) -> bool {
    g.const_value(id)
        .is_some_and(|t| t.dtype() == DType::Bool && t.numel() == 1 && t.to_f64_vec()[0] == 0.0)
}
