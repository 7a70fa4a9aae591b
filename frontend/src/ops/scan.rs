//! Scan: unrolled over its static length. Iteration `t` reads slice `t` of
//! each scan input with a constant-index Gather, the body is inlined (see
//! `control.rs`) with the previous iteration's state, and the scan outputs
//! are stacked with Unsqueeze + Concat. Scan-8's batch axis becomes one
//! independent unrolled scan per batch entry.

use super::control::{check_unroll, graph_attr, inline_tensors, name_outputs};
use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use crate::proto::GraphProto;
use onnxc_ir::{Op, Tensor, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[("Scan", scan)];

/// Scan attributes after defaults, for one call of [`scan_core`].
struct ScanAttrs {
    in_axes: Vec<i64>,
    in_reverse: Vec<bool>,
    out_axes: Vec<i64>,
    out_reverse: Vec<bool>,
}

fn scan(ctx: &mut NodeCtx<'_, '_>) -> R {
    let first_new = ctx.b.graph.values.len();
    let body = graph_attr(ctx, "body")?;
    let m = ctx
        .int("num_scan_inputs")?
        .ok_or_else(|| ctx.bad_attr("num_scan_inputs", "required"))?;
    let m = usize::try_from(m).map_err(|_| ctx.bad_attr("num_scan_inputs", "negative"))?;
    let skip = usize::from(ctx.opset() < 9); // Scan-8's optional sequence_lens
    let inputs: Vec<ValueId> = (skip..ctx.inputs.len())
        .map(|i| ctx.req(i))
        .collect::<Result<_, _>>()?;
    let n = inputs
        .len()
        .checked_sub(m)
        .ok_or_else(|| ctx.bad("fewer inputs than num_scan_inputs"))?;
    let k = body
        .output
        .len()
        .checked_sub(n)
        .ok_or_else(|| ctx.bad("body has too few outputs"))?;
    let dirs = |ctx: &NodeCtx<'_, '_>,
                name: &str,
                len: usize|
     -> Result<Vec<bool>, FrontendError> {
        let v = ctx.ints(name)?.unwrap_or_else(|| vec![0; len]);
        if v.len() != len || v.iter().any(|d| !matches!(d, 0 | 1)) {
            return Err(ctx.bad_attr(name, format!("expected {len} values of 0 or 1, got {v:?}")));
        }
        Ok(v.into_iter().map(|d| d == 1).collect())
    };
    let axes = |ctx: &NodeCtx<'_, '_>, name: &str, len: usize| -> Result<Vec<i64>, FrontendError> {
        let v = ctx.ints(name)?.unwrap_or_else(|| vec![0; len]);
        if v.len() != len {
            return Err(ctx.bad_attr(name, format!("expected {len} values, got {v:?}")));
        }
        Ok(v)
    };
    let (states, scans) = inputs.split_at(n);
    let outs = if ctx.opset() < 9 {
        let attrs = ScanAttrs {
            in_axes: vec![0; m],
            in_reverse: dirs(ctx, "directions", m)?,
            out_axes: vec![0; k],
            out_reverse: vec![false; k],
        };
        scan8(ctx, body, states, scans, &attrs)?
    } else {
        let attrs = ScanAttrs {
            in_axes: axes(ctx, "scan_input_axes", m)?,
            in_reverse: dirs(ctx, "scan_input_directions", m)?,
            out_axes: axes(ctx, "scan_output_axes", k)?,
            out_reverse: dirs(ctx, "scan_output_directions", k)?,
        };
        scan_core(ctx, body, states, scans, &attrs, "")?
    };
    name_outputs(ctx, first_new, &outs);
    Ok(outs)
}

/// Scan-8: every input has a leading batch axis; each batch entry is an
/// independent scan over axis 1, and the results are stacked again.
fn scan8(
    ctx: &mut NodeCtx<'_, '_>,
    body: &GraphProto,
    states: &[ValueId],
    scans: &[ValueId],
    attrs: &ScanAttrs,
) -> R {
    let all: Vec<ValueId> = states.iter().chain(scans).copied().collect();
    let batch = all
        .first()
        .map(|&v| ctx.ty(v).shape.first().copied().unwrap_or(0))
        .unwrap_or(0);
    if batch == 0 || all.iter().any(|&v| ctx.ty(v).shape.first() != Some(&batch)) {
        return Err(ctx.bad("every Scan-8 input needs the same non-zero batch dim"));
    }
    if let Some(lens) = ctx.input(0) {
        let full = scans.first().and_then(|&x| ctx.ty(x).shape.get(1).copied());
        let ok = ctx
            .const_value(lens)
            .is_some_and(|t| t.to_i64_vec().iter().all(|&l| Some(l as usize) == full));
        if !ok {
            return Err(ctx.bad(
                "sequence_lens shorter than the scan axis (or not constant) are not supported",
            ));
        }
    }
    let mut per_batch: Vec<Vec<ValueId>> = Vec::with_capacity(batch);
    for bi in 0..batch {
        let pick: Vec<ValueId> = all
            .iter()
            .map(|&v| take(ctx, v, bi, 0))
            .collect::<Result<_, _>>()?;
        let (s, x) = pick.split_at(states.len());
        per_batch.push(scan_core(ctx, body, s, x, attrs, &format!("batch{bi}/"))?);
    }
    let width = per_batch[0].len();
    (0..width)
        .map(|j| {
            let pieces: Vec<ValueId> = per_batch.iter().map(|o| o[j]).collect();
            stack(ctx, &pieces, 0)
        })
        .collect()
}

/// `x[.., i, ..]` along `axis` (which disappears), by a constant-index Gather.
fn take(
    ctx: &mut NodeCtx<'_, '_>,
    x: ValueId,
    i: usize,
    axis: i64,
) -> Result<ValueId, FrontendError> {
    let idx = ctx.konst(&format!("index{i}"), Tensor::scalar(i as i64));
    let name = format!("{}/take{i}", ctx.name);
    Ok(ctx.emit_named(
        &name,
        Op::Gather { axis },
        vec![Some(x), Some(idx)],
        &[String::new()],
    )?[0])
}

/// Stacks equally typed values along a new `axis` (negative counts from the
/// end of the result's rank).
pub(super) fn stack(
    ctx: &mut NodeCtx<'_, '_>,
    pieces: &[ValueId],
    axis: i64,
) -> Result<ValueId, FrontendError> {
    let axes = ctx.const_i64("stack_axes", vec![axis]);
    let mut unsq = Vec::with_capacity(pieces.len());
    for (i, &p) in pieces.iter().enumerate() {
        let name = format!("{}/unsqueeze{i}", ctx.name);
        unsq.push(Some(
            ctx.emit_named(
                &name,
                Op::Unsqueeze,
                vec![Some(p), Some(axes)],
                &[String::new()],
            )?[0],
        ));
    }
    if unsq.len() == 1 {
        return Ok(unsq[0].unwrap_or(pieces[0]));
    }
    let name = format!("{}/stack", ctx.name);
    Ok(ctx.emit_named(&name, Op::Concat { axis }, unsq, &[String::new()])?[0])
}

fn scan_core(
    ctx: &mut NodeCtx<'_, '_>,
    body: &GraphProto,
    states: &[ValueId],
    scans: &[ValueId],
    attrs: &ScanAttrs,
    tag: &str,
) -> R {
    let mut len = None;
    let mut in_axes = Vec::with_capacity(scans.len());
    for (&x, &a) in scans.iter().zip(&attrs.in_axes) {
        let rank = ctx.ty(x).rank() as i64;
        let axis = if a < 0 { a + rank } else { a };
        if !(0..rank).contains(&axis) {
            return Err(ctx.bad(format!(
                "scan input axis {a} is out of range for rank {rank}"
            )));
        }
        let d = ctx.ty(x).shape[axis as usize];
        if len.is_some_and(|l| l != d) {
            return Err(ctx.bad("scan inputs disagree on the sequence length"));
        }
        len = Some(d);
        in_axes.push(axis);
    }
    let len = len.ok_or_else(|| ctx.bad("Scan needs at least one scan input"))?;
    if len == 0 {
        return Err(ctx.bad("a zero-length Scan is not supported"));
    }
    check_unroll(ctx, body, len)?;
    let mut state: Vec<ValueId> = states.to_vec();
    let mut per_iter: Vec<Vec<ValueId>> = Vec::with_capacity(len);
    for t in 0..len {
        let mut args = state.clone();
        for (j, &x) in scans.iter().enumerate() {
            let i = if attrs.in_reverse[j] { len - 1 - t } else { t };
            args.push(take(ctx, x, i, in_axes[j])?);
        }
        let outs = inline_tensors(ctx, body, &format!("{tag}iter{t}"), &args)?;
        state = outs[..states.len()].to_vec();
        per_iter.push(outs[states.len()..].to_vec());
    }
    let mut result = state;
    for (j, (&axis, &rev)) in attrs.out_axes.iter().zip(&attrs.out_reverse).enumerate() {
        let mut pieces: Vec<ValueId> = per_iter.iter().map(|o| o[j]).collect();
        if rev {
            pieces.reverse();
        }
        let rank = ctx.ty(pieces[0]).rank() as i64 + 1;
        let axis = if axis < 0 { axis + rank } else { axis };
        if !(0..rank).contains(&axis) {
            return Err(ctx.bad(format!(
                "scan output axis {axis} is out of range for rank {rank}"
            )));
        }
        result.push(stack(ctx, &pieces, axis)?);
    }
    Ok(result)
}
