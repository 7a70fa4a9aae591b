//! ai.onnx.ml TreeEnsemble: every tree walked from its root to a leaf.

use super::util::*;
use crate::error::OpError;
use crate::op::{TreeAggregate, TreeEnsembleAttrs, TreeNode};
use crate::op_err;
use crate::tensor::Tensor;

/// Whether `x` takes the node's true branch.
pub fn tree_test(n: &TreeNode, x: f64) -> bool {
    let hit = match n.mode {
        0 => x <= n.split,
        1 => x < n.split,
        2 => x >= n.split,
        3 => x > n.split,
        4 => x == n.split,
        5 => x != n.split,
        _ => n.members.contains(&x),
    };
    hit || (n.missing_true && x.is_nan())
}

/// Checks every index, and that walks terminate (depth below the node count).
pub fn check_trees(a: &TreeEnsembleAttrs, features: usize) -> Result<(), OpError> {
    let leaf = |i: usize| -> Result<(), OpError> {
        match a.leaf_targets.get(i) {
            Some(&t) if t < a.n_targets && i < a.leaf_weights.len() => Ok(()),
            _ => Err(op_err!("leaf {i} is out of range or targets beyond n_targets {}", a.n_targets)),
        }
    };
    for n in &a.nodes {
        if n.feature >= features || n.mode > 6 {
            return Err(op_err!("node reads feature {} of {features} (mode {})", n.feature, n.mode));
        }
        for (id, is_leaf) in [(n.true_id, n.true_leaf), (n.false_id, n.false_leaf)] {
            if is_leaf { leaf(id)? } else if id >= a.nodes.len() { return Err(op_err!("node id {id} out of range")) }
        }
    }
    for &(r, is_leaf) in &a.roots {
        if is_leaf { leaf(r)? } else if r >= a.nodes.len() { return Err(op_err!("root {r} out of range")) }
        if !is_leaf && depth(a, r, 0)? > a.nodes.len() {
            return Err(op_err!("tree at {r} has a cycle"));
        }
    }
    Ok(())
}

fn depth(a: &TreeEnsembleAttrs, i: usize, d: usize) -> Result<usize, OpError> {
    if d > a.nodes.len() {
        return Ok(d); // a cycle; reported by the caller
    }
    let n = &a.nodes[i];
    let t = if n.true_leaf { d + 1 } else { depth(a, n.true_id, d + 1)? };
    let f = if n.false_leaf { d + 1 } else { depth(a, n.false_id, d + 1)? };
    Ok(t.max(f))
}

pub(super) fn eval(a: &TreeEnsembleAttrs, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = arg(inputs, 0)?;
    let [rows, f] = *x.shape() else { return Err(op_err!("X must be [N, F]")) };
    check_trees(a, f)?;
    let xv = x.to_f64_vec();
    let init = match a.aggregate {
        TreeAggregate::Min => f64::INFINITY,
        TreeAggregate::Max => f64::NEG_INFINITY,
        _ => 0.0,
    };
    let mut out = vec![init; rows * a.n_targets];
    for r in 0..rows {
        let row = &xv[r * f..(r + 1) * f];
        for &(root, is_leaf) in &a.roots {
            let (mut i, mut leaf) = (root, is_leaf);
            while !leaf {
                let n = &a.nodes[i];
                (i, leaf) = if tree_test(n, row[n.feature]) { (n.true_id, n.true_leaf) } else { (n.false_id, n.false_leaf) };
            }
            let (t, w) = (a.leaf_targets[i], a.leaf_weights[i]);
            let o = &mut out[r * a.n_targets + t];
            *o = match a.aggregate {
                TreeAggregate::Sum => *o + w,
                TreeAggregate::Average => *o + w / a.roots.len() as f64,
                TreeAggregate::Min => o.min(w),
                TreeAggregate::Max => o.max(w),
            };
        }
    }
    Ok(vec![Tensor::from_f64(x.dtype(), vec![rows, a.n_targets], &out)])
}
