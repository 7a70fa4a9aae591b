//! ai.onnx.ml ops that are expansions into default-domain ops.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::BinaryOp;
use onnxc_ir::{Op, Tensor, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[("Binarizer", binarizer), ("ArrayFeatureExtractor", array_feature_extractor)];

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
