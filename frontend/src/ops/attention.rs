//! Attention (opset 23-25) and RotaryEmbedding (opset 23). 4-D inputs carry their head counts in their
//! shapes; 3-D inputs need `q_num_heads`/`kv_num_heads`.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::{Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[("Attention", attention), ("RotaryEmbedding", rotary)];

fn attention(ctx: &mut NodeCtx<'_, '_>) -> R {
    let heads = |ctx: &NodeCtx<'_, '_>, name: &str| -> Result<usize, FrontendError> {
        let v = ctx.int_or(name, 0)?;
        usize::try_from(v).map_err(|_| ctx.bad_attr(name, format!("must be positive, got {v}")))
    };
    let q_num_heads = heads(ctx, "q_num_heads")?;
    let kv_num_heads = heads(ctx, "kv_num_heads")?;
    let mode = ctx.int_or("qk_matmul_output_mode", 0)?;
    let qk_matmul_output_mode = u8::try_from(mode)
        .ok()
        .filter(|m| *m <= 3)
        .ok_or_else(|| ctx.bad_attr("qk_matmul_output_mode", format!("must be 0 to 3, got {mode}")))?;
    let window = |ctx: &NodeCtx<'_, '_>, name: &str| -> Result<i64, FrontendError> {
        match ctx.int_or(name, -1)? {
            v if v >= -1 => Ok(v),
            v => Err(ctx.bad_attr(name, format!("must be -1 or nonnegative, got {v}"))),
        }
    };
    let op = Op::Attention {
        q_num_heads,
        kv_num_heads,
        scale: ctx.float("scale")?,
        is_causal: ctx.bool_or("is_causal", false)?,
        softcap: ctx.float_or("softcap", 0.0)?,
        qk_matmul_output_mode,
        left_window: window(ctx, "left_window_size")?,
        right_window: window(ctx, "right_window_size")?,
    };
    // Omitted outputs before a used one still need distinct names.
    for (i, n) in ctx.out_names.iter_mut().enumerate() {
        if n.is_empty() {
            *n = format!("{}/unused_output_{i}", ctx.name);
        }
    }
    let ins: Vec<Option<ValueId>> = (0..7).map(|i| ctx.input(i)).collect();
    ctx.emit(op, ins)
}

fn rotary(ctx: &mut NodeCtx<'_, '_>) -> R {
    let nonneg = |ctx: &NodeCtx<'_, '_>, name: &str| -> Result<usize, FrontendError> {
        let v = ctx.int_or(name, 0)?;
        usize::try_from(v).map_err(|_| ctx.bad_attr(name, format!("must be nonnegative, got {v}")))
    };
    let op = Op::RotaryEmbedding {
        interleaved: ctx.bool_or("interleaved", false)?,
        rotary_embedding_dim: nonneg(ctx, "rotary_embedding_dim")?,
        num_heads: nonneg(ctx, "num_heads")?,
    };
    let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?), Some(ctx.req(2)?), ctx.input(3)];
    ctx.emit(op, ins)
}
