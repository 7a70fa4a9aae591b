//! Shape-manipulating ops. Attributes that later opsets turned into inputs
//! (Squeeze/Unsqueeze axes, Slice starts/ends/axes, Split sizes, Pad pads and
//! value) become constant inputs, so the IR only has the newest form.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::PadMode;
use onnxc_ir::{Op, Tensor, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("Reshape", reshape),
    ("Flatten", flatten),
    ("Transpose", transpose),
    ("Squeeze", squeeze),
    ("Unsqueeze", unsqueeze),
    ("Concat", concat),
    ("Shape", shape),
    ("Size", size),
    ("Gather", gather),
    ("ConstantOfShape", constant_of_shape),
    ("Slice", slice),
    ("Expand", expand),
    ("Split", split),
    ("Pad", pad),
    ("Tile", tile),
    ("Range", range),
];

/// The first `n` inputs, all required.
fn required(ctx: &NodeCtx<'_, '_>, n: usize) -> Result<Vec<Option<ValueId>>, FrontendError> {
    (0..n).map(|i| ctx.req(i).map(Some)).collect()
}

fn reshape(ctx: &mut NodeCtx<'_, '_>) -> R {
    let allowzero = ctx.bool_or("allowzero", false)?;
    let inputs = required(ctx, 2)?;
    ctx.emit(Op::Reshape { allowzero }, inputs)
}

fn flatten(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int_or("axis", 1)?;
    let inputs = required(ctx, 1)?;
    ctx.emit(Op::Flatten { axis }, inputs)
}

fn transpose(ctx: &mut NodeCtx<'_, '_>) -> R {
    let perm = ctx.usizes("perm")?;
    let inputs = required(ctx, 1)?;
    ctx.emit(Op::Transpose { perm }, inputs)
}

/// Squeeze-1/11's optional `axes` attribute becomes the optional axes input.
fn squeeze(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    let axes = if ctx.opset() >= 13 {
        ctx.input(1).map(|a| rank1_axes(ctx, a))
    } else {
        ctx.ints("axes")?.map(|a| ctx.const_i64("axes", a))
    };
    ctx.emit(Op::Squeeze, vec![Some(x), axes])
}

/// A constant scalar `axes` (which ONNX function bodies such as AffineGrid's
/// use, and onnxruntime accepts) as the 1-D tensor the IR requires.
fn rank1_axes(ctx: &mut NodeCtx<'_, '_>, axes: ValueId) -> ValueId {
    match ctx.const_value(axes) {
        Some(t) if t.shape().is_empty() => {
            let v = t.to_i64_vec();
            ctx.const_i64("axes", v)
        }
        _ => axes,
    }
}

/// Unsqueeze-1/11's required `axes` attribute becomes the axes input.
fn unsqueeze(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    let axes = if ctx.opset() >= 13 {
        let a = ctx.req(1)?;
        rank1_axes(ctx, a)
    } else {
        let a =
            ctx.ints("axes")?.ok_or_else(|| ctx.bad_attr("axes", "required before opset 13"))?;
        ctx.const_i64("axes", a)
    };
    ctx.emit(Op::Unsqueeze, vec![Some(x), Some(axes)])
}

fn concat(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int("axis")?.ok_or_else(|| ctx.bad_attr("axis", "required"))?;
    if ctx.inputs.is_empty() || ctx.inputs.iter().any(|i| i.is_none()) {
        return Err(ctx.bad("expects one or more inputs, none omitted"));
    }
    let inputs = ctx.inputs.clone();
    ctx.emit(Op::Concat { axis }, inputs)
}

fn shape(ctx: &mut NodeCtx<'_, '_>) -> R {
    let start = ctx.int_or("start", 0)?;
    let end = ctx.int("end")?;
    let inputs = required(ctx, 1)?;
    ctx.emit(Op::Shape { start, end }, inputs)
}

fn size(ctx: &mut NodeCtx<'_, '_>) -> R {
    let inputs = required(ctx, 1)?;
    ctx.emit(Op::Size, inputs)
}

fn gather(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int_or("axis", 0)?;
    let inputs = required(ctx, 2)?;
    ctx.emit(Op::Gather { axis }, inputs)
}

fn constant_of_shape(ctx: &mut NodeCtx<'_, '_>) -> R {
    let value = ctx.tensor("value")?.unwrap_or_else(|| Tensor::scalar(0f32));
    if value.numel() != 1 {
        return Err(
            ctx.bad_attr("value", format!("must hold one element, has type {}", value.ty()))
        );
    }
    let inputs = required(ctx, 1)?;
    ctx.emit(Op::ConstantOfShape { value }, inputs)
}

/// Slice-1's starts/ends/axes attributes become inputs (steps stay absent).
fn slice(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    if ctx.opset() >= 10 {
        let (starts, ends) = (ctx.req(1)?, ctx.req(2)?);
        let inputs = vec![Some(x), Some(starts), Some(ends), ctx.input(3), ctx.input(4)];
        return ctx.emit(Op::Slice, inputs);
    }
    let starts = ctx.ints("starts")?.ok_or_else(|| ctx.bad_attr("starts", "required"))?;
    let ends = ctx.ints("ends")?.ok_or_else(|| ctx.bad_attr("ends", "required"))?;
    let axes = ctx.ints("axes")?;
    let starts = ctx.const_i64("starts", starts);
    let ends = ctx.const_i64("ends", ends);
    let axes = axes.map(|a| ctx.const_i64("axes", a));
    ctx.emit(Op::Slice, vec![Some(x), Some(starts), Some(ends), axes, None])
}

fn expand(ctx: &mut NodeCtx<'_, '_>) -> R {
    let inputs = required(ctx, 2)?;
    ctx.emit(Op::Expand, inputs)
}

/// Split-2/11's `split` attribute becomes the split input. Every declared
/// output counts (even unnamed ones), since the count decides the sizes.
fn split(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int_or("axis", 0)?;
    let x = ctx.req(0)?;
    let num_outputs = ctx.node.output.len();
    if let Some(n) = ctx.int("num_outputs")? {
        if n != num_outputs as i64 {
            return Err(
                ctx.bad_attr("num_outputs", format!("{n}, but the node has {num_outputs} outputs"))
            );
        }
    }
    let sizes = if ctx.opset() >= 13 {
        ctx.input(1)
    } else {
        ctx.ints("split")?.map(|s| ctx.const_i64("split", s))
    };
    let outs = ctx.node.output.clone();
    let name = ctx.name.clone();
    ctx.emit_named(&name, Op::Split { axis, num_outputs }, vec![Some(x), sizes], &outs)
}

/// Pad-2's `pads`/`value` attributes become the pads and constant_value inputs.
fn pad(ctx: &mut NodeCtx<'_, '_>) -> R {
    let mode = match ctx.string("mode")?.as_deref().unwrap_or("constant") {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => PadMode::Wrap,
        other => return Err(ctx.bad_attr("mode", format!("unknown value `{other}`"))),
    };
    let x = ctx.req(0)?;
    if ctx.opset() >= 11 {
        let pads = ctx.req(1)?;
        return ctx.emit(Op::Pad { mode }, vec![Some(x), Some(pads), ctx.input(2), ctx.input(3)]);
    }
    let pads = ctx.ints("pads")?.ok_or_else(|| ctx.bad_attr("pads", "required before opset 11"))?;
    let pads = ctx.const_i64("pads", pads);
    let value = ctx.float_or("value", 0.0)?;
    let dtype = ctx.ty(x).dtype;
    let value = ctx.konst("value", Tensor::from_f64(dtype, Vec::new(), &[value as f64]));
    ctx.emit(Op::Pad { mode }, vec![Some(x), Some(pads), Some(value), None])
}

fn tile(ctx: &mut NodeCtx<'_, '_>) -> R {
    let inputs = required(ctx, 2)?;
    ctx.emit(Op::Tile, inputs)
}

fn range(ctx: &mut NodeCtx<'_, '_>) -> R {
    let inputs = required(ctx, 3)?;
    ctx.emit(Op::Range, inputs)
}
