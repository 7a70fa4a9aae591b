//! Reductions and ArgMax/ArgMin. The `axes` attribute of older opsets
//! (ReduceSum before 13, the others before 18) becomes the axes input.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::ReduceOp;
use onnxc_ir::{Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("ReduceSum", reduce),
    ("ReduceMean", reduce),
    ("ReduceMax", reduce),
    ("ReduceMin", reduce),
    ("ReduceProd", reduce),
    ("ReduceL1", reduce),
    ("ReduceL2", reduce),
    ("ReduceLogSum", reduce),
    ("ReduceLogSumExp", reduce),
    ("ReduceSumSquare", reduce),
    ("ArgMax", arg),
    ("ArgMin", arg),
];

fn reduce(ctx: &mut NodeCtx<'_, '_>) -> R {
    let op = match ctx.op_type.as_str() {
        "ReduceSum" => ReduceOp::Sum,
        "ReduceMean" => ReduceOp::Mean,
        "ReduceMax" => ReduceOp::Max,
        "ReduceMin" => ReduceOp::Min,
        "ReduceProd" => ReduceOp::Prod,
        "ReduceL1" => ReduceOp::L1,
        "ReduceL2" => ReduceOp::L2,
        "ReduceLogSum" => ReduceOp::LogSum,
        "ReduceLogSumExp" => ReduceOp::LogSumExp,
        "ReduceSumSquare" => ReduceOp::SumSquare,
        _ => return Err(ctx.bad("not a reduction")),
    };
    let axes_are_input = if op == ReduceOp::Sum { ctx.opset() >= 13 } else { ctx.opset() >= 18 };
    let keepdims = ctx.bool_or("keepdims", true)?;
    let noop_with_empty_axes = ctx.bool_or("noop_with_empty_axes", false)?;
    let x = ctx.req(0)?;
    let axes = if axes_are_input {
        ctx.input(1)
    } else {
        // An absent (or empty) attribute meant "all axes", as an absent input does.
        ctx.ints("axes")?.filter(|a| !a.is_empty()).map(|a| ctx.const_i64("axes", a))
    };
    ctx.emit(Op::Reduce { op, keepdims, noop_with_empty_axes }, vec![Some(x), axes])
}

fn arg(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int_or("axis", 0)?;
    let keepdims = ctx.bool_or("keepdims", true)?;
    let select_last_index = ctx.bool_or("select_last_index", false)?;
    let x = ctx.req(0)?;
    let op = if ctx.op_type == "ArgMax" {
        Op::ArgMax { axis, keepdims, select_last_index }
    } else {
        Op::ArgMin { axis, keepdims, select_last_index }
    };
    ctx.emit(op, vec![Some(x)])
}
