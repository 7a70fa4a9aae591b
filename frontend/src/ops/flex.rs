//! ai.onnx.preview FlexAttention, expanded into IR ops: the score_mod and
//! prob_mod subgraphs act on whole [B, Hq, L, S] tensors, so they are
//! inlined between the MatMul/Softmax/MatMul steps (an IR op cannot carry a
//! graph). Grouped K/V heads are repeated with Reshape + Expand.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use crate::import::node_name;
use crate::tensor::{dtype_from_code, tensor_from_proto};
use onnxc_ir::{DType, Op, Tensor, ValueId};
use std::collections::HashMap;

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const DOMAIN: &str = "ai.onnx.preview";
pub(super) const OPS: &[(&str, Importer)] = &[("FlexAttention", flex_attention)];

fn step(ctx: &mut NodeCtx<'_, '_>, what: &str, op: Op, inputs: Vec<Option<ValueId>>) -> Result<ValueId, FrontendError> {
    let name = format!("{}/{what}", ctx.name);
    let outs = ctx.emit_named(&name, op, inputs, std::slice::from_ref(&name))?;
    outs.first().copied().ok_or_else(|| ctx.bad(format!("{what} produced no output")))
}

fn cast_to(ctx: &mut NodeCtx<'_, '_>, what: &str, x: ValueId, to: DType) -> Result<ValueId, FrontendError> {
    if ctx.ty(x).dtype == to {
        return Ok(x);
    }
    step(ctx, what, Op::Cast { to }, vec![Some(x)])
}

/// [B, Hkv, S, D] -> [B, Hkv * group, S, D], each head repeated `group` times.
fn repeat_heads(ctx: &mut NodeCtx<'_, '_>, what: &str, x: ValueId, group: usize) -> Result<ValueId, FrontendError> {
    if group == 1 {
        return Ok(x);
    }
    let s: Vec<i64> = ctx.ty(x).shape.iter().map(|&d| d as i64).collect();
    let five = ctx.const_i64(&format!("{what}_5d"), vec![s[0], s[1], 1, s[2], s[3]]);
    let x5 = step(ctx, &format!("{what}_reshape"), Op::Reshape { allowzero: false }, vec![Some(x), Some(five)])?;
    let big = ctx.const_i64(&format!("{what}_expand_shape"), vec![s[0], s[1], group as i64, s[2], s[3]]);
    let xe = step(ctx, &format!("{what}_expand"), Op::Expand, vec![Some(x5), Some(big)])?;
    let four = ctx.const_i64(&format!("{what}_4d"), vec![s[0], s[1] * group as i64, s[2], s[3]]);
    step(ctx, &format!("{what}_repeat"), Op::Reshape { allowzero: false }, vec![Some(xe), Some(four)])
}

fn flex_attention(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (q, k, v) = (ctx.req(0)?, ctx.req(1)?, ctx.req(2)?);
    let (qs, ks, vs) = (ctx.ty(q).shape.clone(), ctx.ty(k).shape.clone(), ctx.ty(v).shape.clone());
    if qs.len() != 4 || ks.len() != 4 || vs.len() != 4 {
        return Err(ctx.bad(format!("Q, K, V must be rank 4, got {qs:?}, {ks:?}, {vs:?}")));
    }
    if ks[1] == 0 || qs[1] % ks[1] != 0 || vs[1] != ks[1] || vs[2] != ks[2] || ks[3] != qs[3] {
        return Err(ctx.bad(format!("incompatible Q {qs:?}, K {ks:?}, V {vs:?}")));
    }
    let dt = ctx.ty(q).dtype;
    if !dt.is_float() {
        return Err(ctx.bad(format!("Q must be a float, got {dt}")));
    }
    let compute = match ctx.int("softmax_precision")? {
        Some(code) => {
            let code = i32::try_from(code).map_err(|_| ctx.bad_attr("softmax_precision", format!("unknown type {code}")))?;
            dtype_from_code(code, "softmax_precision")?
        }
        None if matches!(dt, DType::F16 | DType::BF16) => DType::F32,
        None => dt,
    };
    let scale = ctx.float("scale")?.map(|s| s as f64).unwrap_or(1.0 / (qs[3] as f64).sqrt());
    let group = qs[1] / ks[1];
    let (q, k) = (cast_to(ctx, "q_cast", q, compute)?, cast_to(ctx, "k_cast", k, compute)?);
    let k = repeat_heads(ctx, "k", k, group)?;
    let kt = step(ctx, "k_transpose", Op::Transpose { perm: Some(vec![0, 1, 3, 2]) }, vec![Some(k)])?;
    let qk = step(ctx, "qk", Op::MatMul, vec![Some(q), Some(kt)])?;
    let sc = ctx.konst("scale", Tensor::from_f64(compute, Vec::<usize>::new(), &[scale]));
    let scores = step(ctx, "scores", Op::Binary(onnxc_ir::op::BinaryOp::Mul), vec![Some(qk), Some(sc)])?;
    let scores = inline(ctx, "score_mod", scores)?;
    let probs = step(ctx, "softmax", Op::Softmax { axis: -1 }, vec![Some(scores)])?;
    let probs = inline(ctx, "prob_mod", probs)?;
    let vd = ctx.ty(v).dtype;
    let v = cast_to(ctx, "v_cast", v, compute)?;
    let v = repeat_heads(ctx, "v", v, group)?;
    let out_name = ctx.out_names.first().cloned().unwrap_or_else(|| format!("{}/Y", ctx.name));
    if compute == vd {
        let name = ctx.name.clone();
        return ctx.emit_named(&name, Op::MatMul, vec![Some(probs), Some(v)], &[out_name]);
    }
    let y = step(ctx, "pv", Op::MatMul, vec![Some(probs), Some(v)])?;
    let name = ctx.name.clone();
    ctx.emit_named(&name, Op::Cast { to: vd }, vec![Some(y)], &[out_name])
}

/// Imports the graph attribute `attr` (one input, one output) applied to
/// `input`; the input itself if the attribute is absent. Subgraph names
/// shadow outer ones; everything it defines is prefixed with the node name.
fn inline(ctx: &mut NodeCtx<'_, '_>, attr: &str, input: ValueId) -> Result<ValueId, FrontendError> {
    let node = ctx.node;
    let Some(g) = node.attribute.iter().find(|a| a.name.as_deref() == Some(attr)).and_then(|a| a.g.as_ref()) else {
        return Ok(input);
    };
    let prefix = format!("{}/{attr}", ctx.name);
    let mut local: HashMap<String, ValueId> = HashMap::new();
    for t in &g.initializer {
        let name = t.name.clone().unwrap_or_default();
        let tensor = tensor_from_proto(t, ctx.b.base_dir)?;
        local.insert(name.clone(), ctx.b.konst(format!("{prefix}/{name}"), tensor));
    }
    let (Some(gi), [go]) = (g.input.iter().find(|i| !local.contains_key(i.name.as_deref().unwrap_or(""))), g.output.as_slice()) else {
        return Err(ctx.bad_attr(attr, "the subgraph must have one input and one output"));
    };
    local.insert(gi.name.clone().unwrap_or_default(), input);
    for (i, n) in g.node.iter().enumerate() {
        let op_type = n.op_type.clone().unwrap_or_default();
        if !super::is_supported(n.domain.as_deref().unwrap_or(""), &op_type) {
            return Err(ctx.bad_attr(attr, format!("unsupported op `{op_type}` in the subgraph")));
        }
        let mut inputs = Vec::with_capacity(n.input.len());
        for name in &n.input {
            if name.is_empty() {
                inputs.push(None);
                continue;
            }
            let id = local.get(name).or_else(|| ctx.b.names.get(name)).copied();
            inputs.push(Some(id.ok_or_else(|| FrontendError::MissingInput { node: format!("{prefix}/{}", node_name(n, i)), name: name.clone() })?));
        }
        let used = n.output.iter().rposition(|o| !o.is_empty()).map_or(0, |p| p + 1);
        let out_names: Vec<String> = n.output[..used].iter().map(|o| if o.is_empty() { String::new() } else { format!("{prefix}/{o}") }).collect();
        let outs = {
            let mut sub = super::NodeCtx { b: &mut *ctx.b, node: n, name: format!("{prefix}/{}", node_name(n, i)), op_type, inputs, out_names };
            super::import(&mut sub)?
        };
        for (o, id) in n.output[..used].iter().zip(outs) {
            if !o.is_empty() {
                local.insert(o.clone(), id);
            }
        }
    }
    let out = go.name.clone().unwrap_or_default();
    local.get(&out).or_else(|| ctx.b.names.get(&out)).copied().ok_or_else(|| ctx.bad_attr(attr, format!("subgraph output `{out}` is never defined")))
}
