//! Optional-typed ops on plain tensors. The IR has no optional values: an
//! optional input that is present is a tensor, an omitted one is `None`, so
//! whether an optional holds an element is always known at compile time.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::UnaryOp;
use onnxc_ir::{Op, Tensor, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("Optional", optional),
    ("OptionalHasElement", has_element),
    ("OptionalGetElement", get_element),
];

/// `Optional(x)` wraps a tensor; an empty optional (no input) has no tensor
/// type the IR could give it.
fn optional(ctx: &mut NodeCtx<'_, '_>) -> R {
    match ctx.input(0) {
        Some(x) => ctx.emit(Op::Unary(UnaryOp::Identity), vec![Some(x)]),
        None => Err(ctx.bad("an empty optional has no tensor value; it is not supported")),
    }
}

fn has_element(ctx: &mut NodeCtx<'_, '_>) -> R {
    let name = ctx.out_names.first().cloned().unwrap_or_default();
    let present = ctx.input(0).is_some();
    Ok(vec![ctx.b.konst(name, Tensor::scalar(present))])
}

fn get_element(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    ctx.emit(Op::Unary(UnaryOp::Identity), vec![Some(x)])
}
