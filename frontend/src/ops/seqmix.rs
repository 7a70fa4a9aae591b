//! LinearAttention and CausalConvWithState (opset 27).

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::LinearAttnRule;
use onnxc_ir::{DType, Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[("LinearAttention", linear_attention), ("CausalConvWithState", causal_conv)];

/// Omitted outputs before a used one still need distinct names.
fn name_unused_outputs(ctx: &mut NodeCtx<'_, '_>) {
    let node = ctx.name.clone();
    for (i, n) in ctx.out_names.iter_mut().enumerate() {
        if n.is_empty() {
            *n = format!("{node}/unused_output_{i}");
        }
    }
}

fn linear_attention(ctx: &mut NodeCtx<'_, '_>) -> R {
    let heads = |ctx: &NodeCtx<'_, '_>, name: &str| -> Result<usize, FrontendError> {
        let v = ctx.int(name)?.ok_or_else(|| ctx.bad_attr(name, "is required"))?;
        usize::try_from(v).ok().filter(|&h| h > 0).ok_or_else(|| ctx.bad_attr(name, format!("must be positive, got {v}")))
    };
    let rule = match ctx.string("update_rule")?.as_deref().unwrap_or("gated_delta") {
        "linear" => LinearAttnRule::Linear,
        "gated" => LinearAttnRule::Gated,
        "delta" => LinearAttnRule::Delta,
        "gated_delta" => LinearAttnRule::GatedDelta,
        other => return Err(ctx.bad_attr("update_rule", format!("expected linear, gated, delta or gated_delta, got `{other}`"))),
    };
    let scale = ctx.float("scale")?.filter(|s| *s != 0.0);
    let op = Op::LinearAttention { q_num_heads: heads(ctx, "q_num_heads")?, kv_num_heads: heads(ctx, "kv_num_heads")?, scale, rule };
    // present_state is the lowering's state buffer even when unused, and
    // f16/bf16 states get an f32 copy to accumulate in.
    let state = ctx.input(3).unwrap_or(ctx.req(0)?);
    let want = if matches!(ctx.ty(state).dtype, DType::F16 | DType::BF16) { 3 } else { 2 };
    if ctx.out_names.len() < want {
        ctx.out_names.resize(want, String::new());
    }
    name_unused_outputs(ctx);
    let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?), Some(ctx.req(2)?), ctx.input(3), ctx.input(4), ctx.input(5)];
    ctx.emit(op, ins)
}

fn causal_conv(ctx: &mut NodeCtx<'_, '_>) -> R {
    let silu = match ctx.string("activation")?.as_deref().unwrap_or("none") {
        "none" => false,
        "silu" | "swish" => true,
        other => return Err(ctx.bad_attr("activation", format!("expected none, silu or swish, got `{other}`"))),
    };
    name_unused_outputs(ctx);
    let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?), ctx.input(2), ctx.input(3)];
    ctx.emit(Op::CausalConvWithState { silu }, ins)
}
