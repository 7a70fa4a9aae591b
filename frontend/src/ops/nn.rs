//! Neural-network ops: Conv, pooling, normalization, Gemm/MatMul, the
//! softmax family and Dropout. Window attributes get their defaults here and
//! `auto_pad` becomes explicit pads, since input shapes are static.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::Window;
use onnxc_ir::{Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("Conv", conv),
    ("BatchNormalization", batch_norm),
    ("MaxPool", pool),
    ("AveragePool", pool),
    ("GlobalAveragePool", global_pool),
    ("GlobalMaxPool", global_pool),
    ("LRN", lrn),
    ("Gemm", gemm),
    ("MatMul", matmul),
    ("Softmax", softmax),
    ("LogSoftmax", softmax),
    ("Hardmax", softmax),
    ("Dropout", dropout),
];

/// Reads kernel/strides/dilations/pads/auto_pad. `weight_kernel` is Conv's
/// kernel extent from its weight, used when `kernel_shape` is absent.
pub(super) fn window(
    ctx: &NodeCtx<'_, '_>,
    x: ValueId,
    weight_kernel: Option<Vec<usize>>,
) -> Result<Window, FrontendError> {
    let in_shape = ctx.ty(x).shape.clone();
    if in_shape.len() < 3 {
        return Err(ctx.bad(format!("input must have rank 3 or more, got shape {in_shape:?}")));
    }
    let n = in_shape.len() - 2;
    let kernel_shape = match (ctx.usizes("kernel_shape")?, weight_kernel) {
        (Some(k), Some(w)) if k != w => {
            return Err(
                ctx.bad_attr("kernel_shape", format!("{k:?} does not match the weight's {w:?}"))
            )
        }
        (Some(k), _) | (None, Some(k)) => k,
        (None, None) => return Err(ctx.bad_attr("kernel_shape", "required")),
    };
    let positive = |attr: &str, v: Option<Vec<usize>>| -> Result<Vec<usize>, FrontendError> {
        let v = v.unwrap_or_else(|| vec![1; n]);
        if v.len() != n || v.contains(&0) {
            return Err(ctx.bad_attr(attr, format!("expected {n} positive values, got {v:?}")));
        }
        Ok(v)
    };
    let kernel_shape = positive("kernel_shape", Some(kernel_shape))?;
    let strides = positive("strides", ctx.usizes("strides")?)?;
    let dilations = positive("dilations", ctx.usizes("dilations")?)?;
    let auto_pad = ctx.string("auto_pad")?.unwrap_or_default();
    let pads = match auto_pad.as_str() {
        "" | "NOTSET" => {
            let p = ctx.usizes("pads")?.unwrap_or_else(|| vec![0; 2 * n]);
            if p.len() != 2 * n {
                return Err(ctx.bad_attr("pads", format!("expected {} values, got {p:?}", 2 * n)));
            }
            p
        }
        "VALID" => vec![0; 2 * n],
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut p = vec![0; 2 * n];
            for i in 0..n {
                let total =
                    same_pad_total(in_shape[2 + i], kernel_shape[i], strides[i], dilations[i])
                        .ok_or_else(|| ctx.bad_attr("auto_pad", "window size overflows"))?;
                // SAME_UPPER puts the odd pad at the end, SAME_LOWER at the start.
                let small = total / 2;
                let (begin, end) = if auto_pad == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                p[i] = begin;
                p[i + n] = end;
            }
            p
        }
        other => return Err(ctx.bad_attr("auto_pad", format!("unknown value `{other}`"))),
    };
    Ok(Window { kernel_shape, strides, pads, dilations })
}

/// Total padding that makes the output extent `ceil(input / stride)`.
fn same_pad_total(input: usize, k: usize, s: usize, d: usize) -> Option<usize> {
    let out = input.div_ceil(s);
    let eff = k.checked_sub(1)?.checked_mul(d)?.checked_add(1)?;
    let need = out.checked_sub(1)?.checked_mul(s)?.checked_add(eff)?;
    Some(need.saturating_sub(input))
}

fn conv(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (x, w) = (ctx.req(0)?, ctx.req(1)?);
    let w_shape = &ctx.ty(w).shape;
    let weight_kernel = (w_shape.len() >= 3).then(|| w_shape[2..].to_vec());
    let window = window(ctx, x, weight_kernel)?;
    let group = ctx.int_or("group", 1)?;
    let group = usize::try_from(group)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| ctx.bad_attr("group", format!("must be positive, got {group}")))?;
    ctx.emit(Op::Conv { window, group }, vec![Some(x), Some(w), ctx.input(2)])
}

fn batch_norm(ctx: &mut NodeCtx<'_, '_>) -> R {
    if ctx.opset() >= 14 && ctx.bool_or("training_mode", false)? {
        return super::spatial::batch_norm_training(ctx);
    }
    if ctx.out_names.len() > 1 {
        return Err(
            ctx.bad("training-mode outputs (running/saved mean and variance) are not supported")
        );
    }
    if ctx.bool_or("training_mode", false)? {
        return Err(ctx.bad_attr("training_mode", "training mode is not supported"));
    }
    // BatchNormalization-7's spatial=0 takes per-element statistics.
    if ctx.opset() < 9 && !ctx.bool_or("spatial", true)? {
        return Err(ctx.bad_attr("spatial", "spatial=0 is not supported"));
    }
    let epsilon = ctx.float_or("epsilon", 1e-5)?;
    let inputs = (0..5).map(|i| ctx.req(i).map(Some)).collect::<Result<Vec<_>, _>>()?;
    ctx.emit(Op::BatchNormalization { epsilon }, inputs)
}

fn pool(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    let window = window(ctx, x, None)?;
    let ceil_mode = ctx.bool_or("ceil_mode", false)?;
    let op = if ctx.op_type == "MaxPool" {
        if ctx.out_names.len() > 1 && ctx.int_or("storage_order", 0)? == 1 {
            return super::spatial::max_pool_column_major(ctx, Op::MaxPool { window, ceil_mode });
        }
        Op::MaxPool { window, ceil_mode }
    } else {
        let count_include_pad = ctx.bool_or("count_include_pad", false)?;
        Op::AveragePool { window, ceil_mode, count_include_pad }
    };
    ctx.emit(op, vec![Some(x)])
}

fn global_pool(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    let op = if ctx.op_type == "GlobalMaxPool" { Op::GlobalMaxPool } else { Op::GlobalAveragePool };
    ctx.emit(op, vec![Some(x)])
}

fn lrn(ctx: &mut NodeCtx<'_, '_>) -> R {
    let size = ctx.int("size")?.ok_or_else(|| ctx.bad_attr("size", "required"))?;
    let size = usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .ok_or_else(|| ctx.bad_attr("size", format!("must be positive, got {size}")))?;
    let op = Op::Lrn {
        size,
        alpha: ctx.float_or("alpha", 1e-4)?,
        beta: ctx.float_or("beta", 0.75)?,
        bias: ctx.float_or("bias", 1.0)?,
    };
    let x = ctx.req(0)?;
    ctx.emit(op, vec![Some(x)])
}

fn gemm(ctx: &mut NodeCtx<'_, '_>) -> R {
    let op = Op::Gemm {
        alpha: ctx.float_or("alpha", 1.0)?,
        beta: ctx.float_or("beta", 1.0)?,
        trans_a: ctx.bool_or("transA", false)?,
        trans_b: ctx.bool_or("transB", false)?,
    };
    let (a, b) = (ctx.req(0)?, ctx.req(1)?);
    ctx.emit(op, vec![Some(a), Some(b), ctx.input(2)])
}

fn matmul(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (a, b) = (ctx.req(0)?, ctx.req(1)?);
    ctx.emit(Op::MatMul, vec![Some(a), Some(b)])
}

/// Softmax/LogSoftmax/Hardmax. Before opset 13 they coerced the input to 2D
/// at `axis` (default 1): unless `axis` is already the last one, that is
/// expressed as Flatten → op(axis 1) → Reshape back.
fn softmax(ctx: &mut NodeCtx<'_, '_>) -> R {
    let make = |op_type: &str, axis: i64| match op_type {
        "Softmax" => Op::Softmax { axis },
        "LogSoftmax" => Op::LogSoftmax { axis },
        _ => Op::Hardmax { axis },
    };
    let x = ctx.req(0)?;
    if ctx.opset() >= 13 {
        let axis = ctx.int_or("axis", -1)?;
        return ctx.emit(make(&ctx.op_type, axis), vec![Some(x)]);
    }
    let shape = ctx.ty(x).shape.clone();
    let rank = shape.len() as i64;
    let axis = ctx.int_or("axis", 1)?;
    let a = if axis < 0 { axis + rank } else { axis };
    if !(0..=rank).contains(&a) {
        return Err(ctx.bad_attr("axis", format!("{axis} is out of range for rank {rank}")));
    }
    if rank == 0 || a == rank - 1 {
        return ctx.emit(make(&ctx.op_type, -1), vec![Some(x)]);
    }
    let name = ctx.name.clone();
    let flat = ctx.emit_named(
        &format!("{name}/flatten"),
        Op::Flatten { axis: a },
        vec![Some(x)],
        &[format!("{name}/flat")],
    )?;
    let op = make(&ctx.op_type, 1);
    let y = ctx.emit_named(
        &format!("{name}/2d"),
        op,
        vec![flat.first().copied()],
        &[format!("{name}/flat_out")],
    )?;
    let dims = ctx.const_i64("shape", shape.iter().map(|&d| d as i64).collect());
    let outs = ctx.out_names.clone();
    ctx.emit_named(
        &format!("{name}/reshape"),
        Op::Reshape { allowzero: false },
        vec![y.first().copied(), Some(dims)],
        &outs,
    )
}

/// Inference-mode Dropout (identity). Training mode is random unless the
/// ratio is 0; ratio is irrelevant at inference.
fn dropout(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    if ctx.opset() < 12 {
        return ctx.emit(Op::Dropout, vec![Some(x)]);
    }
    if let Some(t) = ctx.input(2) {
        match ctx.const_value(t).map(|v| v.to_f64_vec()) {
            Some(v) if v.iter().all(|&b| b == 0.0) => {}
            Some(_) => return training_dropout(ctx, x),
            // The shape rule reports it as a value to bind at compile time.
            None => {}
        }
    }
    let mut inputs = ctx.inputs_from(0);
    inputs.truncate(3);
    ctx.emit(Op::Dropout, inputs)
}

/// Training-mode Dropout with a constant ratio of 0 keeps everything: the
/// identity, and an all-true mask. Any other ratio draws random numbers.
fn training_dropout(ctx: &mut NodeCtx<'_, '_>, x: onnxc_ir::ValueId) -> R {
    let ratio = match ctx.input(1) {
        None => None,
        Some(r) => match ctx.const_value(r) {
            Some(v) => Some(v.to_f64_vec()),
            None => {
                let msg = "input `ratio` must be a constant to compile training-mode Dropout ahead of time";
                return Err(ctx.needs_constant(1, "ratio", Some(msg)));
            }
        },
    };
    if !ratio.is_some_and(|r| r.iter().all(|&v| v == 0.0)) {
        return Err(ctx.bad("training_mode=true with a nonzero ratio is random: not supported"));
    }
    let (name, outs) = (ctx.name.clone(), ctx.out_names.clone());
    let y = ctx.emit_named(&name, Op::Unary(onnxc_ir::op::UnaryOp::Identity), vec![Some(x)], &outs[..1])?;
    let mut res = vec![y[0]];
    if let Some(mask_name) = outs.get(1) {
        let shape = ctx.ty(x).shape.clone();
        let n = shape.iter().product::<usize>();
        let mask = onnxc_ir::Tensor::from_vec(shape, vec![true; n]);
        res.push(ctx.b.graph.add_const(mask_name.clone(), mask));
    }
    Ok(res)
}
