//! Normalization ops, Swish/SwiGLU and CastLike (which becomes a Cast to
//! the second input's dtype, so it needs no op of its own).

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::{Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("CastLike", cast_like),
    ("LayerNormalization", layer_norm),
    ("RMSNormalization", rms_norm),
    ("GroupNormalization", group_norm),
    ("InstanceNormalization", instance_norm),
    ("LpNormalization", lp_norm),
    ("MeanVarianceNormalization", mvn),
    ("Swish", swish),
    ("SwiGLU", swish),
];

fn cast_like(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (x, like) = (ctx.req(0)?, ctx.req(1)?);
    let to = ctx.ty(like).dtype;
    let op = super::elementwise::cast_op(ctx, to)?;
    ctx.emit(op, vec![Some(x)])
}

/// Only float32 statistics are defined (the stash type of every opset's
/// reference); the computation itself runs in f32 or f64 anyway.
fn check_stash(ctx: &NodeCtx<'_, '_>) -> Result<(), FrontendError> {
    match ctx.int_or("stash_type", 1)? {
        1 => Ok(()),
        v => Err(ctx.bad_attr("stash_type", format!("only 1 (float32) is supported, got {v}"))),
    }
}

fn layer_norm(ctx: &mut NodeCtx<'_, '_>) -> R {
    check_stash(ctx)?;
    let axis = ctx.int_or("axis", -1)?;
    let epsilon = ctx.float_or("epsilon", 1e-5)?;
    let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?), ctx.input(2)];
    ctx.emit(Op::LayerNormalization { axis, epsilon }, ins)
}

fn rms_norm(ctx: &mut NodeCtx<'_, '_>) -> R {
    check_stash(ctx)?;
    let axis = ctx.int_or("axis", -1)?;
    let epsilon = ctx.float_or("epsilon", 1e-5)?;
    let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?)];
    ctx.emit(Op::RMSNormalization { axis, epsilon }, ins)
}

/// GroupNormalization-18 (per-group scale/bias) and -21 (per-channel) both
/// map onto one op; the shape rule tells them apart by the scale's length.
fn group_norm(ctx: &mut NodeCtx<'_, '_>) -> R {
    check_stash(ctx)?;
    let g = ctx.int("num_groups")?.ok_or_else(|| ctx.bad_attr("num_groups", "required"))?;
    let num_groups = usize::try_from(g)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| ctx.bad_attr("num_groups", format!("must be positive, got {g}")))?;
    let epsilon = ctx.float_or("epsilon", 1e-5)?;
    let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?), Some(ctx.req(2)?)];
    ctx.emit(Op::GroupNormalization { num_groups, epsilon }, ins)
}

fn instance_norm(ctx: &mut NodeCtx<'_, '_>) -> R {
    let epsilon = ctx.float_or("epsilon", 1e-5)?;
    let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?), Some(ctx.req(2)?)];
    ctx.emit(Op::InstanceNormalization { epsilon }, ins)
}

fn lp_norm(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int_or("axis", -1)?;
    let p = match ctx.int_or("p", 2)? {
        1 => 1,
        2 => 2,
        v => return Err(ctx.bad_attr("p", format!("must be 1 or 2, got {v}"))),
    };
    let x = ctx.req(0)?;
    ctx.emit(Op::LpNormalization { axis, p }, vec![Some(x)])
}

fn mvn(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axes = ctx.ints("axes")?.unwrap_or_else(|| vec![0, 2, 3]);
    let x = ctx.req(0)?;
    ctx.emit(Op::MeanVarianceNormalization { axes }, vec![Some(x)])
}

fn swish(ctx: &mut NodeCtx<'_, '_>) -> R {
    let alpha = ctx.float_or("alpha", 1.0)?;
    if ctx.op_type == "SwiGLU" {
        let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?)];
        return ctx.emit(Op::SwiGLU { alpha }, ins);
    }
    let x = ctx.req(0)?;
    ctx.emit(Op::Swish { alpha }, vec![Some(x)])
}
