//! Loss ops. SoftmaxCrossEntropyLoss is LogSoftmax over the class axis
//! followed by NegativeLogLikelihoodLoss; its optional `log_prob` output is
//! the LogSoftmax result.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::LossReduction;
use onnxc_ir::{Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] =
    &[("NegativeLogLikelihoodLoss", nll), ("SoftmaxCrossEntropyLoss", sce)];

fn loss_op(ctx: &NodeCtx<'_, '_>) -> Result<Op, FrontendError> {
    let reduction = match ctx.string("reduction")?.as_deref().unwrap_or("mean") {
        "none" => LossReduction::None,
        "sum" => LossReduction::Sum,
        "mean" => LossReduction::Mean,
        other => {
            return Err(ctx.bad_attr("reduction", format!("expected none, sum or mean, got `{other}`")))
        }
    };
    Ok(Op::NegativeLogLikelihoodLoss { reduction, ignore_index: ctx.int("ignore_index")? })
}

fn nll(ctx: &mut NodeCtx<'_, '_>) -> R {
    let op = loss_op(ctx)?;
    let (x, t) = (ctx.req(0)?, ctx.req(1)?);
    ctx.emit(op, vec![Some(x), Some(t), ctx.input(2)])
}

fn sce(ctx: &mut NodeCtx<'_, '_>) -> R {
    let op = loss_op(ctx)?;
    let (x, t) = (ctx.req(0)?, ctx.req(1)?);
    let name = ctx.name.clone();
    let outs = ctx.out_names.clone();
    let lp_name = outs.get(1).cloned().unwrap_or_else(|| format!("{name}/log_prob"));
    let lp = ctx.emit_named(&format!("{name}/log_softmax"), Op::LogSoftmax { axis: 1 }, vec![Some(x)], &[lp_name])?;
    let loss_name = outs.first().cloned().unwrap_or_else(|| format!("{name}/loss"));
    let loss = ctx.emit_named(&name, op, vec![lp.first().copied(), Some(t), ctx.input(2)], &[loss_name])?;
    let mut r = loss;
    if outs.len() > 1 {
        r.extend(lp);
    }
    Ok(r)
}
