//! TreeEnsemble: the trees are known at compile time, so each becomes
//! nested if/else code (no node tables); leaves update per-target
//! accumulators held in locals.

use super::*;
use crate::kir::LocalId;
use onnxc_ir::op::{TreeAggregate, TreeEnsembleAttrs};

/// Largest number of tree nodes expanded into code.
const MAX_NODES: usize = 1 << 16;

fn size(a: &TreeEnsembleAttrs, i: usize, leaf: bool) -> usize {
    if leaf {
        return 1;
    }
    let n = &a.nodes[i];
    1 + size(a, n.true_id, n.true_leaf) + size(a, n.false_id, n.false_leaf)
}

struct Env<'a> {
    a: &'a TreeEnsembleAttrs,
    px: ParamId,
    d: DType,
    row: Expr,
    acc: Vec<LocalId>,
}

fn emit(b: &mut KernelBuilder, e: &Env, i: usize, leaf: bool) {
    let c64 = |v: f64| cf(Scalar::F64, v);
    if leaf {
        let (t, w) = (e.a.leaf_targets[i], e.a.leaf_weights[i]);
        let acc = Expr::Local(e.acc[t]);
        let v = match e.a.aggregate {
            TreeAggregate::Sum => add(acc, c64(w)),
            TreeAggregate::Average => add(acc, c64(w / e.a.roots.len() as f64)),
            TreeAggregate::Min => min(acc, c64(w)),
            TreeAggregate::Max => max(acc, c64(w)),
        };
        b.assign(e.acc[t], v);
        return;
    }
    let n = &e.a.nodes[i];
    let xv = load_val(b, e.d, e.px, add(e.row.clone(), ci(n.feature as i64)));
    let x = b.let_(cast(Scalar::F64, xv));
    let s = c64(n.split);
    let mut hit = match n.mode {
        0 => le(x.clone(), s),
        1 => lt(x.clone(), s),
        2 => ge(x.clone(), s),
        3 => gt(x.clone(), s),
        4 => eq(x.clone(), s),
        5 => ne(x.clone(), s),
        _ => n.members.iter().fold(cbool(false), |h, &m| math::bor(h, eq(x.clone(), c64(m)))),
    };
    if n.missing_true {
        hit = math::bor(hit, math::is_nan(x));
    }
    let hit = b.let_(hit);
    b.if_else(hit, |b| emit(b, e, n.true_id, n.true_leaf), |b| emit(b, e, n.false_id, n.false_leaf));
}

pub(super) fn lower(cx: &mut Cx, n: &Node, a: &TreeEnsembleAttrs) -> Result<(), LowerError> {
    let (x, y) = (cx.input(n, 0)?, cx.output(n, 0)?);
    let xs = cx.ty(x).shape.clone();
    let d = cx.ty(x).dtype;
    onnxc_ir::eval::tree::check_trees(a, xs[1]).map_err(|e| cx.invalid(e.0))?;
    let total: usize = a.roots.iter().map(|&(r, l)| size(a, r, l)).sum();
    if total > MAX_NODES {
        return Err(cx.unsupported(format!("{total} tree nodes (at most {MAX_NODES} are expanded)")));
    }
    if cx.ty(y).numel() == 0 {
        return Ok(());
    }
    let init = match a.aggregate {
        TreeAggregate::Min => f64::INFINITY,
        TreeAggregate::Max => f64::NEG_INFINITY,
        _ => 0.0,
    };
    let t = compute_ty(d);
    let mut b = cx.builder("treeensemble");
    let (px, py) = (b.input(scalar(d)), b.output(scalar(d)));
    let (f, nt) = (xs[1] as i64, a.n_targets as i64);
    b.par_for(0, xs[0] as i64, |b, r| {
        let row = b.let_(mul(r.clone(), ci(f)));
        let acc: Vec<LocalId> = (0..a.n_targets).map(|_| b.var(cf(Scalar::F64, init))).collect();
        let e = Env { a, px, d, row, acc };
        for &(root, leaf) in &a.roots {
            emit(b, &e, root, leaf);
        }
        for (k, &l) in e.acc.iter().enumerate() {
            let v = b.let_(cast(t, Expr::Local(l)));
            store_val(b, d, py, add(mul(r.clone(), ci(nt)), ci(k as i64)), v);
        }
    });
    let args = vec![cx.buf(x)?, cx.buf(y)?];
    cx.emit(b.finish(), args);
    Ok(())
}
