//! Ops with data-dependent output extents: NonZero, Compress, Unique,
//! NonMaxSuppression (see `onnxc_ir::dynamic`; TopK with a run-time K is in
//! `index.rs`).

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::{Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("NonZero", non_zero),
    ("Compress", compress),
    ("Unique", unique),
    ("NonMaxSuppression", nms),
];

fn non_zero(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    ctx.emit(Op::NonZero, vec![Some(x)])
}

fn compress(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int("axis")?;
    let (x, c) = (ctx.req(0)?, ctx.req(1)?);
    ctx.emit(Op::Compress { axis }, vec![Some(x), Some(c)])
}

fn unique(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int("axis")?;
    let sorted = ctx.bool_or("sorted", true)?;
    let x = ctx.req(0)?;
    ctx.emit(Op::Unique { sorted, axis }, vec![Some(x)])
}

fn nms(ctx: &mut NodeCtx<'_, '_>) -> R {
    let center_point_box = match ctx.int_or("center_point_box", 0)? {
        0 => false,
        1 => true,
        v => return Err(ctx.bad_attr("center_point_box", format!("must be 0 or 1, got {v}"))),
    };
    let mut inputs = ctx.inputs_from(0);
    inputs.truncate(5);
    ctx.emit(Op::NonMaxSuppression { center_point_box }, inputs)
}
