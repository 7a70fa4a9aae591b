//! ai.onnx.ml ops that are expansions into default-domain ops.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::BinaryOp;
use onnxc_ir::{Op, Tensor, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[("Binarizer", binarizer), ("ArrayFeatureExtractor", array_feature_extractor), ("TreeEnsemble", tree_ensemble)];

/// `Y = X > threshold` as X's type (1 or 0).
fn binarizer(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    let d = ctx.ty(x).dtype;
    if d == onnxc_ir::DType::Bool {
        return Err(ctx.bad("X must be numeric"));
    }
    let thr = ctx.float_or("threshold", 0.0)? as f64;
    let t = ctx.konst("threshold", Tensor::from_f64(d, Vec::<usize>::new(), &[thr]));
    let name = format!("{}/greater", ctx.name);
    let gt = ctx.emit_named(&name, Op::Binary(BinaryOp::Greater), vec![Some(x), Some(t)], &[name.clone()])?;
    ctx.emit(Op::Cast { to: d }, vec![gt.first().copied()])
}

/// Selects entries of X's last axis: a Gather on axis -1.
fn array_feature_extractor(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (x, y) = (ctx.req(0)?, ctx.req(1)?);
    if ctx.ty(x).rank() < 2 {
        return Err(ctx.bad("X of rank 1 (output [1, k]) is not supported"));
    }
    ctx.emit(Op::Gather { axis: -1 }, vec![Some(x), Some(y)])
}

/// TreeEnsemble-5 with post_transform NONE.
fn tree_ensemble(ctx: &mut NodeCtx<'_, '_>) -> R {
    use onnxc_ir::op::{TreeAggregate, TreeEnsembleAttrs, TreeNode};
    if ctx.int_or("post_transform", 0)? != 0 {
        return Err(ctx.bad_attr("post_transform", "only NONE (0) is supported"));
    }
    let aggregate = match ctx.int_or("aggregate_function", 1)? {
        0 => TreeAggregate::Average,
        1 => TreeAggregate::Sum,
        2 => TreeAggregate::Min,
        3 => TreeAggregate::Max,
        v => return Err(ctx.bad_attr("aggregate_function", format!("unknown value {v}"))),
    };
    let floats = |ctx: &NodeCtx<'_, '_>, name: &str| -> Result<Vec<f64>, FrontendError> {
        Ok(ctx.tensor(name)?.map(|t| t.to_f64_vec()).unwrap_or_default())
    };
    let idx = |ctx: &NodeCtx<'_, '_>, name: &str| -> Result<Vec<usize>, FrontendError> {
        Ok(ctx.usizes(name)?.unwrap_or_default())
    };
    let splits = floats(ctx, "nodes_splits")?;
    let modes = ctx.tensor("nodes_modes")?.map(|t| t.to_i64_vec()).unwrap_or_default();
    let features = idx(ctx, "nodes_featureids")?;
    let (tid, fid) = (idx(ctx, "nodes_truenodeids")?, idx(ctx, "nodes_falsenodeids")?);
    let (tl, fl) = (idx(ctx, "nodes_trueleafs")?, idx(ctx, "nodes_falseleafs")?);
    let missing = idx(ctx, "nodes_missing_value_tracks_true")?;
    let members = floats(ctx, "membership_values")?;
    let count = splits.len();
    if [modes.len(), features.len(), tid.len(), fid.len(), tl.len(), fl.len()].iter().any(|&l| l != count) {
        return Err(ctx.bad("the nodes_* attributes differ in length"));
    }
    // Membership sets are listed in node order, each ended by a NaN.
    let mut sets = members.split(|v| v.is_nan());
    let mut nodes = Vec::with_capacity(count);
    for i in 0..count {
        let mode = u8::try_from(modes[i]).ok().filter(|&m| m <= 6).ok_or_else(|| ctx.bad_attr("nodes_modes", format!("unknown mode {}", modes[i])))?;
        let members = if mode == 6 {
            sets.next().ok_or_else(|| ctx.bad_attr("membership_values", "too few sets"))?.to_vec()
        } else {
            Vec::new()
        };
        let split = if mode == 6 { 0.0 } else { splits[i] };
        nodes.push(TreeNode {
            mode,
            feature: features[i],
            split,
            members,
            missing_true: missing.get(i).is_some_and(|&m| m != 0),
            true_id: tid[i],
            true_leaf: tl[i] != 0,
            false_id: fid[i],
            false_leaf: fl[i] != 0,
        });
    }
    // A root whose branches name the same leaf is itself leaf `root` (as
    // the reference reads it).
    let roots = idx(ctx, "tree_roots")?
        .into_iter()
        .map(|r| {
            let n = nodes.get(r).ok_or_else(|| ctx.bad_attr("tree_roots", format!("root {r} out of range")))?;
            let leaf = n.true_leaf && n.false_leaf && n.true_id == n.false_id;
            Ok((r, leaf))
        })
        .collect::<Result<Vec<_>, FrontendError>>()?;
    let n_targets = ctx.int("n_targets")?.and_then(|v| usize::try_from(v).ok()).ok_or_else(|| ctx.bad_attr("n_targets", "required"))?;
    let attrs = TreeEnsembleAttrs { aggregate, n_targets, nodes, roots, leaf_targets: idx(ctx, "leaf_targetids")?, leaf_weights: floats(ctx, "leaf_weights")? };
    let x = ctx.req(0)?;
    ctx.emit(Op::TreeEnsemble(attrs), vec![Some(x)])
}
