//! Index ops: GatherElements/GatherND, Scatter (opset 9/10, imported as
//! ScatterElements), ScatterElements/ScatterND, Trilu, CumSum/CumProd, TopK,
//! OneHot, EyeLike, ReverseSequence, DepthToSpace/SpaceToDepth.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::ScatterReduction;
use onnxc_ir::{DType, Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("GatherElements", gather_elements),
    ("GatherND", gather_nd),
    ("Scatter", scatter_elements),
    ("ScatterElements", scatter_elements),
    ("ScatterND", scatter_nd),
    ("Trilu", trilu),
    ("CumSum", cumulative),
    ("CumProd", cumulative),
    ("TopK", top_k),
    ("OneHot", one_hot),
    ("EyeLike", eye_like),
    ("ReverseSequence", reverse_sequence),
    ("DepthToSpace", depth_to_space),
    ("SpaceToDepth", depth_to_space),
    ("Einsum", einsum),
];

fn required(ctx: &NodeCtx<'_, '_>, n: usize) -> Result<Vec<Option<ValueId>>, FrontendError> {
    (0..n).map(|i| ctx.req(i).map(Some)).collect()
}

fn gather_elements(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int_or("axis", 0)?;
    let inputs = required(ctx, 2)?;
    ctx.emit(Op::GatherElements { axis }, inputs)
}

fn gather_nd(ctx: &mut NodeCtx<'_, '_>) -> R {
    let b = ctx.int_or("batch_dims", 0)?;
    let batch_dims =
        usize::try_from(b).map_err(|_| ctx.bad_attr("batch_dims", format!("negative: {b}")))?;
    let inputs = required(ctx, 2)?;
    ctx.emit(Op::GatherND { batch_dims }, inputs)
}

fn reduction(ctx: &NodeCtx<'_, '_>) -> Result<ScatterReduction, FrontendError> {
    Ok(match ctx.string("reduction")?.as_deref().unwrap_or("none") {
        "none" => ScatterReduction::None,
        "add" => ScatterReduction::Add,
        "mul" => ScatterReduction::Mul,
        "max" => ScatterReduction::Max,
        "min" => ScatterReduction::Min,
        other => return Err(ctx.bad_attr("reduction", format!("unknown value `{other}`"))),
    })
}

fn scatter_elements(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int_or("axis", 0)?;
    let reduction = reduction(ctx)?;
    let inputs = required(ctx, 3)?;
    ctx.emit(Op::ScatterElements { axis, reduction }, inputs)
}

fn scatter_nd(ctx: &mut NodeCtx<'_, '_>) -> R {
    let reduction = reduction(ctx)?;
    let inputs = required(ctx, 3)?;
    ctx.emit(Op::ScatterND { reduction }, inputs)
}

fn trilu(ctx: &mut NodeCtx<'_, '_>) -> R {
    let upper = ctx.bool_or("upper", true)?;
    let x = ctx.req(0)?;
    ctx.emit(Op::Trilu { upper }, vec![Some(x), ctx.input(1)])
}

fn cumulative(ctx: &mut NodeCtx<'_, '_>) -> R {
    let exclusive = ctx.bool_or("exclusive", false)?;
    let reverse = ctx.bool_or("reverse", false)?;
    let op = if ctx.op_type == "CumSum" {
        Op::CumSum { exclusive, reverse }
    } else {
        Op::CumProd { exclusive, reverse }
    };
    let inputs = required(ctx, 2)?;
    ctx.emit(op, inputs)
}

/// TopK-1's `k` attribute becomes the K input.
fn top_k(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int_or("axis", -1)?;
    let largest = ctx.bool_or("largest", true)?;
    let sorted = ctx.bool_or("sorted", true)?;
    let x = ctx.req(0)?;
    let k = if ctx.opset() < 10 {
        let k = ctx.int("k")?.ok_or_else(|| ctx.bad_attr("k", "required"))?;
        ctx.const_i64("k", vec![k])
    } else {
        ctx.req(1)?
    };
    ctx.emit(Op::TopK { axis, largest, sorted }, vec![Some(x), Some(k)])
}

fn one_hot(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int_or("axis", -1)?;
    let inputs = required(ctx, 3)?;
    ctx.emit(Op::OneHot { axis }, inputs)
}

fn eye_like(ctx: &mut NodeCtx<'_, '_>) -> R {
    let k = ctx.int_or("k", 0)?;
    let x = ctx.req(0)?;
    let dtype = match ctx.int("dtype")? {
        None => ctx.ty(x).dtype,
        Some(c) => DType::from_onnx_code(c as i32)
            .ok_or_else(|| ctx.bad_attr("dtype", format!("unsupported dtype code {c}")))?,
    };
    ctx.emit(Op::EyeLike { k, dtype }, vec![Some(x)])
}

fn reverse_sequence(ctx: &mut NodeCtx<'_, '_>) -> R {
    let ax = |name: &str, default: i64| -> Result<usize, FrontendError> {
        let v = ctx.int_or(name, default)?;
        usize::try_from(v).map_err(|_| ctx.bad_attr(name, format!("must be 0 or 1, got {v}")))
    };
    let (batch_axis, time_axis) = (ax("batch_axis", 1)?, ax("time_axis", 0)?);
    let inputs = required(ctx, 2)?;
    ctx.emit(Op::ReverseSequence { batch_axis, time_axis }, inputs)
}

fn depth_to_space(ctx: &mut NodeCtx<'_, '_>) -> R {
    let bs = ctx.int("blocksize")?.ok_or_else(|| ctx.bad_attr("blocksize", "required"))?;
    let blocksize = usize::try_from(bs)
        .ok()
        .filter(|&b| b > 0)
        .ok_or_else(|| ctx.bad_attr("blocksize", format!("must be positive, got {bs}")))?;
    let crd = match ctx.string("mode")?.as_deref().unwrap_or("DCR") {
        "DCR" => false,
        "CRD" => true,
        other => return Err(ctx.bad_attr("mode", format!("unknown value `{other}`"))),
    };
    let inputs = required(ctx, 1)?;
    let op = if ctx.op_type == "DepthToSpace" {
        Op::DepthToSpace { blocksize, crd }
    } else {
        Op::SpaceToDepth { blocksize, crd }
    };
    ctx.emit(op, inputs)
}

fn einsum(ctx: &mut NodeCtx<'_, '_>) -> R {
    let equation = ctx.string("equation")?.ok_or_else(|| ctx.bad_attr("equation", "required"))?;
    let inputs =
        (0..ctx.inputs.len()).map(|i| ctx.req(i).map(Some)).collect::<Result<Vec<_>, _>>()?;
    ctx.emit(Op::Einsum { equation }, inputs)
}
