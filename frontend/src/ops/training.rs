//! ai.onnx.preview.training: Adagrad, Adam and Momentum onto `Op::Optimizer`.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::OptimizerKind;
use onnxc_ir::{Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const DOMAIN: &str = "ai.onnx.preview.training";
pub(super) const OPS: &[(&str, Importer)] = &[("Adagrad", adagrad), ("Adam", adam), ("Momentum", momentum)];

fn emit(ctx: &mut NodeCtx<'_, '_>, kind: OptimizerKind) -> R {
    let ins = ctx.inputs.clone();
    ctx.emit(Op::Optimizer(kind), ins)
}

fn adagrad(ctx: &mut NodeCtx<'_, '_>) -> R {
    let kind = OptimizerKind::Adagrad {
        decay_factor: ctx.float_or("decay_factor", 0.0)?,
        epsilon: ctx.float_or("epsilon", 1e-6)?,
        norm_coefficient: ctx.float_or("norm_coefficient", 0.0)?,
    };
    emit(ctx, kind)
}

fn adam(ctx: &mut NodeCtx<'_, '_>) -> R {
    let kind = OptimizerKind::Adam {
        alpha: ctx.float_or("alpha", 0.9)?,
        beta: ctx.float_or("beta", 0.999)?,
        epsilon: ctx.float_or("epsilon", 1e-6)?,
        norm_coefficient: ctx.float_or("norm_coefficient", 0.0)?,
        norm_coefficient_post: ctx.float_or("norm_coefficient_post", 0.0)?,
    };
    emit(ctx, kind)
}

fn momentum(ctx: &mut NodeCtx<'_, '_>) -> R {
    let req = |ctx: &NodeCtx<'_, '_>, n: &str| ctx.float(n)?.ok_or_else(|| ctx.bad_attr(n, "is required"));
    let nesterov = match ctx.string("mode")?.as_deref() {
        Some("standard") => false,
        Some("nesterov") => true,
        Some(other) => return Err(ctx.bad_attr("mode", format!("expected standard or nesterov, got `{other}`"))),
        None => return Err(ctx.bad_attr("mode", "is required")),
    };
    let kind = OptimizerKind::Momentum {
        alpha: req(ctx, "alpha")?,
        beta: req(ctx, "beta")?,
        norm_coefficient: req(ctx, "norm_coefficient")?,
        nesterov,
    };
    emit(ctx, kind)
}
