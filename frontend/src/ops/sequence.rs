//! Sequence ops, resolved at import. A sequence whose length is known at
//! compile time (every sequence built inside a model from tensors is) is
//! just a list of IR values: `Builder::seqs` maps its ONNX name to the list,
//! and the ops that build, edit and read sequences rewrite that list or emit
//! ordinary tensor nodes (Split, Concat, Unsqueeze). SequenceMap inlines its
//! body once per element, like the control-flow ops. An optional holding a
//! sequence is that sequence (Optional/OptionalGetElement/Identity copy the
//! list); an empty optional is a name in `Builder::absent`. Graph inputs and
//! outputs of sequence type are flattened into their elements
//! (`crate::boundary`).

use super::control::inline_tensors;
use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use crate::import::Builder;
use crate::proto::NodeProto;
use onnxc_ir::{Op, Tensor, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

/// Ops that read or produce sequences. The driver routes them to
/// [`import`] before resolving inputs (sequence names are not IR values).
pub(super) const OPS: &[(&str, Importer)] = &[
    ("SequenceEmpty", routed),
    ("SequenceConstruct", routed),
    ("SequenceLength", routed),
    ("SequenceAt", routed),
    ("SequenceInsert", routed),
    ("SequenceErase", routed),
    ("ConcatFromSequence", routed),
    ("SplitToSequence", routed),
    ("SequenceMap", routed),
];

fn routed(ctx: &mut NodeCtx<'_, '_>) -> R {
    Err(ctx.bad("sequence op reached the tensor importer"))
}

/// Whether the driver must hand `n` to [`import`]: a sequence op, or an
/// Identity of a sequence.
pub(crate) fn routes(b: &Builder<'_>, n: &NodeProto) -> bool {
    let op = n.op_type.as_deref().unwrap_or("");
    if !matches!(n.domain.as_deref().unwrap_or(""), "" | "ai.onnx") {
        return false;
    }
    let first = n.input.first().map(String::as_str).unwrap_or("");
    OPS.iter().any(|(o, _)| *o == op)
        || (matches!(op, "Identity" | "Optional" | "OptionalGetElement" | "OptionalHasElement")
            && b.seqs.contains_key(first))
        || (matches!(op, "Identity" | "Optional") && (first.is_empty() || b.absent.contains(first)))
}

/// Imports one sequence op; `name` is its diagnostic name.
pub(crate) fn import(
    b: &mut Builder<'_>,
    n: &NodeProto,
    name: String,
) -> Result<(), FrontendError> {
    let op_type = n.op_type.clone().unwrap_or_default();
    let mut ctx = NodeCtx {
        b,
        node: n,
        name,
        op_type: op_type.clone(),
        inputs: Vec::new(),
        out_names: n.output.clone(),
    };
    // Tensor operands resolve as usual; sequence operands stay names.
    ctx.inputs = n
        .input
        .iter()
        .map(|i| ctx.b.names.get(i).copied())
        .collect();
    let out = n.output.first().cloned().unwrap_or_default();
    match op_type.as_str() {
        "SequenceEmpty" => define_seq(&mut ctx, &out, Vec::new()),
        // An empty optional (or a copy of one) is absent at compile time.
        "Identity" | "Optional" if !ctx.b.seqs.contains_key(n.input.first().map(String::as_str).unwrap_or("")) => {
            ctx.b.absent.insert(out);
            Ok(())
        }
        "OptionalHasElement" => {
            let id = ctx.b.konst(out.clone(), Tensor::scalar(true));
            ctx.b.define(&out, id)
        }
        "Identity" | "Optional" | "OptionalGetElement" => {
            let s = seq(&ctx, 0)?;
            define_seq(&mut ctx, &out, s)
        }
        "SequenceConstruct" => {
            let elems = (0..n.input.len())
                .map(|i| ctx.req(i))
                .collect::<Result<_, _>>()?;
            define_seq(&mut ctx, &out, elems)
        }
        "SequenceLength" => {
            let len = seq(&ctx, 0)?.len() as i64;
            let id = ctx.b.konst(out.clone(), Tensor::scalar(len));
            ctx.b.define(&out, id)
        }
        "SequenceAt" => {
            let s = seq(&ctx, 0)?;
            let i = position(&ctx, 1, s.len(), false)?.unwrap_or(0);
            let id = identity(&mut ctx, s[i])?;
            ctx.b.define(&out, id)
        }
        "SequenceInsert" => {
            let mut s = seq(&ctx, 0)?;
            let t = ctx.req(1)?;
            let at = position(&ctx, 2, s.len(), true)?.unwrap_or(s.len());
            s.insert(at, t);
            define_seq(&mut ctx, &out, s)
        }
        "SequenceErase" => {
            let mut s = seq(&ctx, 0)?;
            if s.is_empty() {
                return Err(ctx.bad("cannot erase from an empty sequence"));
            }
            let at = position(&ctx, 1, s.len(), false)?.unwrap_or(s.len() - 1);
            s.remove(at);
            define_seq(&mut ctx, &out, s)
        }
        "ConcatFromSequence" => concat_from_sequence(&mut ctx, &out),
        "SplitToSequence" => split_to_sequence(&mut ctx, &out),
        "SequenceMap" => sequence_map(&mut ctx),
        _ => Err(ctx.bad("not a sequence op")),
    }
}

fn define_seq(
    ctx: &mut NodeCtx<'_, '_>,
    name: &str,
    elems: Vec<ValueId>,
) -> Result<(), FrontendError> {
    if ctx.b.names.contains_key(name) || ctx.b.seqs.insert(name.to_string(), elems).is_some() {
        return Err(FrontendError::Invalid(format!(
            "value `{name}` is defined more than once"
        )));
    }
    Ok(())
}

/// The elements of sequence operand `i`.
fn seq(ctx: &NodeCtx<'_, '_>, i: usize) -> Result<Vec<ValueId>, FrontendError> {
    let name = ctx.node.input.get(i).map(String::as_str).unwrap_or("");
    ctx.b.seqs.get(name).cloned().ok_or_else(|| {
        ctx.bad(format!(
            "input {i} `{name}` is not a sequence known at compile time"
        ))
    })
}

/// The typed error for operand `i` (holding `v`) that must be a compile-time
/// constant: it names the graph inputs `v` is computed from, so a caller can
/// bind them (`--bind`), as for a shape rule's constant inputs.
fn needs_constant(ctx: &NodeCtx<'_, '_>, i: usize, v: ValueId, what: &str) -> FrontendError {
    let name = ctx.node.input.get(i).cloned().unwrap_or_default();
    let msg = format!("input `{name}` ({what}) must be a constant to compile ahead of time");
    ctx.b.graph.needs_constant_values(&ctx.name, &ctx.op_type, &msg, vec![name], &[v]).into()
}

/// A constant position operand, normalized; `inclusive` allows `len`.
fn position(
    ctx: &NodeCtx<'_, '_>,
    i: usize,
    len: usize,
    inclusive: bool,
) -> Result<Option<usize>, FrontendError> {
    let Some(p) = ctx.input(i) else {
        return Ok(None);
    };
    let v = ctx
        .const_value(p)
        .and_then(|t| t.to_i64_vec().first().copied())
        .ok_or_else(|| needs_constant(ctx, i, p, "position"))?;
    let n = len as i64;
    let idx = if v < 0 { v + n } else { v };
    let hi = if inclusive { n } else { n - 1 };
    if idx < 0 || idx > hi {
        return Err(ctx.bad(format!(
            "position {v} is out of range for a sequence of {len}"
        )));
    }
    Ok(Some(idx as usize))
}

/// An Identity node, so a graph output gets its own value and name.
fn identity(ctx: &mut NodeCtx<'_, '_>, x: ValueId) -> Result<ValueId, FrontendError> {
    let op = Op::Unary(onnxc_ir::op::UnaryOp::Identity);
    Ok(ctx.emit(op, vec![Some(x)])?[0])
}

fn concat_from_sequence(ctx: &mut NodeCtx<'_, '_>, out: &str) -> Result<(), FrontendError> {
    let s = seq(ctx, 0)?;
    if s.is_empty() {
        return Err(ctx.bad("ConcatFromSequence of an empty sequence has no type"));
    }
    let axis = ctx
        .int("axis")?
        .ok_or_else(|| ctx.bad_attr("axis", "required"))?;
    let new_axis = ctx.bool_or("new_axis", false)?;
    let mut parts: Vec<Option<ValueId>> = s.iter().map(|&v| Some(v)).collect();
    if new_axis {
        let axes = ctx.const_i64("axes", vec![axis]);
        for (i, p) in parts.iter_mut().enumerate() {
            let name = format!("{}/unsqueeze{i}", ctx.name);
            *p = Some(
                ctx.emit_named(&name, Op::Unsqueeze, vec![*p, Some(axes)], &[String::new()])?[0],
            );
        }
    }
    let id = ctx.emit(Op::Concat { axis }, parts)?[0];
    ctx.b.define(out, id)
}

fn split_to_sequence(ctx: &mut NodeCtx<'_, '_>, out: &str) -> Result<(), FrontendError> {
    let x = ctx.req(0)?;
    let axis = ctx.int_or("axis", 0)?;
    let keepdims = ctx.bool_or("keepdims", true)?;
    let rank = ctx.ty(x).rank() as i64;
    let a = if axis < 0 { axis + rank } else { axis };
    if !(0..rank).contains(&a) {
        return Err(ctx.bad_attr("axis", format!("{axis} is out of range for rank {rank}")));
    }
    let dim = ctx.ty(x).shape[a as usize] as i64;
    let split = ctx.input(1);
    let sizes: Vec<i64> = match split.map(|s| {
        ctx.const_value(s)
            .map(|t| (t.shape().is_empty(), t.to_i64_vec()))
    }) {
        None => vec![1; dim as usize],
        Some(None) => return Err(needs_constant(ctx, 1, split.expect("present"), "split")),
        Some(Some((true, v))) => {
            let c = v[0].max(1);
            (0..dim)
                .step_by(c as usize)
                .map(|s| c.min(dim - s))
                .collect()
        }
        Some(Some((false, v))) => v,
    };
    let sizes_id = ctx.const_i64("split", sizes.clone());
    let name = ctx.name.clone();
    let names = vec![String::new(); sizes.len()];
    let op = Op::Split {
        axis: a,
        num_outputs: sizes.len(),
    };
    let mut parts = ctx.emit_named(&name, op, vec![Some(x), Some(sizes_id)], &names)?;
    if split.is_none() && !keepdims {
        let axes = ctx.const_i64("axes", vec![a]);
        for (i, p) in parts.iter_mut().enumerate() {
            let name = format!("{}/squeeze{i}", ctx.name);
            *p = ctx.emit_named(
                &name,
                Op::Squeeze,
                vec![Some(*p), Some(axes)],
                &[String::new()],
            )?[0];
        }
    }
    define_seq(ctx, out, parts)
}

/// Applies the body to each element; extra inputs are sequences (taken
/// element-wise) or tensors (passed whole). Every output is a sequence.
fn sequence_map(ctx: &mut NodeCtx<'_, '_>) -> Result<(), FrontendError> {
    let node = ctx.node;
    let body = node
        .attribute
        .iter()
        .find(|a| a.name.as_deref() == Some("body"))
        .and_then(|a| a.g.as_ref())
        .ok_or_else(|| ctx.bad_attr("body", "required graph attribute is missing"))?;
    let len = seq(ctx, 0)?.len();
    let mut operands: Vec<Result<Vec<ValueId>, ValueId>> = Vec::new();
    for i in 0..node.input.len() {
        operands.push(match ctx.input(i) {
            Some(t) => Err(t),
            None => {
                let s = seq(ctx, i)?;
                if s.len() != len {
                    return Err(ctx.bad("input sequences differ in length"));
                }
                Ok(s)
            }
        });
    }
    let mut outs: Vec<Vec<ValueId>> = vec![Vec::with_capacity(len); node.output.len()];
    for e in 0..len {
        let args: Vec<ValueId> = operands
            .iter()
            .map(|o| o.as_ref().map_or_else(|t| *t, |s| s[e]))
            .collect();
        let res = inline_tensors(ctx, body, &format!("elem{e}"), &args)?;
        if res.len() != outs.len() {
            return Err(ctx.bad("the body's outputs do not match the node's"));
        }
        for (o, r) in outs.iter_mut().zip(res) {
            o.push(r);
        }
    }
    for (name, elems) in node.output.iter().zip(outs) {
        define_seq(ctx, name, elems)?;
    }
    Ok(())
}
