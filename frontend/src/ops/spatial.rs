//! The sampling family (GridSample-16/20, AffineGrid-20) and BitCast.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::{GridPadding, ResizeMode};
use onnxc_ir::{DType, Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("BitCast", bitcast),
    ("GridSample", grid_sample),
    ("AffineGrid", affine_grid),
    ("Det", det),
    ("TensorScatter", tensor_scatter),
    ("CenterCropPad", center_crop_pad),
    ("Col2Im", col2im),
    ("TfIdfVectorizer", tfidf),
    ("RoiAlign", roi_align),
    ("DeformConv", deform_conv),
    ("MaxUnpool", max_unpool),
];

fn bitcast(ctx: &mut NodeCtx<'_, '_>) -> R {
    let code = ctx.int("to")?.ok_or_else(|| ctx.bad_attr("to", "required"))?;
    let to = i32::try_from(code)
        .ok()
        .and_then(DType::from_onnx_code)
        .ok_or_else(|| ctx.bad_attr("to", format!("element type code {code} is not supported")))?;
    let x = ctx.req(0)?;
    ctx.emit(Op::BitCast { to }, vec![Some(x)])
}

fn grid_sample(ctx: &mut NodeCtx<'_, '_>) -> R {
    // Opset 16 spells the modes bilinear/bicubic; 20 renamed them.
    let mode = match ctx.string("mode")?.as_deref().unwrap_or("linear") {
        "nearest" => ResizeMode::Nearest,
        "linear" | "bilinear" => ResizeMode::Linear,
        "cubic" | "bicubic" => ResizeMode::Cubic,
        other => return Err(ctx.bad_attr("mode", format!("unknown value `{other}`"))),
    };
    let padding = match ctx.string("padding_mode")?.as_deref().unwrap_or("zeros") {
        "zeros" => GridPadding::Zeros,
        "border" => GridPadding::Border,
        "reflection" => GridPadding::Reflection,
        other => return Err(ctx.bad_attr("padding_mode", format!("unknown value `{other}`"))),
    };
    let align_corners = ctx.bool_or("align_corners", false)?;
    let (x, g) = (ctx.req(0)?, ctx.req(1)?);
    ctx.emit(Op::GridSample { mode, padding, align_corners }, vec![Some(x), Some(g)])
}

fn affine_grid(ctx: &mut NodeCtx<'_, '_>) -> R {
    let align_corners = ctx.bool_or("align_corners", false)?;
    let (t, s) = (ctx.req(0)?, ctx.req(1)?);
    ctx.emit(Op::AffineGrid { align_corners }, vec![Some(t), Some(s)])
}

fn det(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    ctx.emit(Op::Det, vec![Some(x)])
}

fn tensor_scatter(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = ctx.int_or("axis", -2)?;
    let circular = match ctx.string("mode")?.as_deref().unwrap_or("linear") {
        "linear" => false,
        "circular" => true,
        other => return Err(ctx.bad_attr("mode", format!("unknown value `{other}`"))),
    };
    let (p, u) = (ctx.req(0)?, ctx.req(1)?);
    ctx.emit(Op::TensorScatter { axis, circular }, vec![Some(p), Some(u), ctx.input(2)])
}

fn center_crop_pad(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axes = ctx.ints("axes")?;
    let (x, s) = (ctx.req(0)?, ctx.req(1)?);
    ctx.emit(Op::CenterCropPad { axes }, vec![Some(x), Some(s)])
}

fn col2im(ctx: &mut NodeCtx<'_, '_>) -> R {
    let dilations = ctx.usizes("dilations")?.unwrap_or_default();
    let pads = ctx.usizes("pads")?.unwrap_or_default();
    let strides = ctx.usizes("strides")?.unwrap_or_default();
    let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?), Some(ctx.req(2)?)];
    ctx.emit(Op::Col2Im { dilations, pads, strides }, ins)
}

fn tfidf(ctx: &mut NodeCtx<'_, '_>) -> R {
    use onnxc_ir::op::{TfIdfAttrs, TfIdfMode};
    if ctx.node.attribute.iter().any(|a| a.name.as_deref() == Some("pool_strings")) {
        return Err(ctx.bad_attr("pool_strings", "string pools are not supported"));
    }
    let mode = match ctx.string("mode")?.as_deref().unwrap_or("") {
        "TF" => TfIdfMode::Tf,
        "IDF" => TfIdfMode::Idf,
        "TFIDF" => TfIdfMode::TfIdf,
        other => return Err(ctx.bad_attr("mode", format!("unknown value `{other}`"))),
    };
    let len = |ctx: &NodeCtx<'_, '_>, name: &str| -> Result<usize, FrontendError> {
        let v = ctx.int(name)?.ok_or_else(|| ctx.bad_attr(name, "required"))?;
        usize::try_from(v).map_err(|_| ctx.bad_attr(name, format!("negative value {v}")))
    };
    let attrs = TfIdfAttrs {
        mode,
        min_gram_length: len(ctx, "min_gram_length")?,
        max_gram_length: len(ctx, "max_gram_length")?,
        max_skip_count: len(ctx, "max_skip_count")?,
        ngram_counts: ctx.ints("ngram_counts")?.unwrap_or_default(),
        ngram_indexes: ctx.ints("ngram_indexes")?.unwrap_or_default(),
        pool_int64s: ctx.ints("pool_int64s")?.unwrap_or_default(),
        weights: ctx.floats("weights")?.unwrap_or_default(),
    };
    let x = ctx.req(0)?;
    ctx.emit(Op::TfIdfVectorizer(attrs), vec![Some(x)])
}

fn roi_align(ctx: &mut NodeCtx<'_, '_>) -> R {
    // Opset 10 had no coordinate_transformation_mode and behaved as output_half_pixel.
    let default = if ctx.opset() >= 16 { "half_pixel" } else { "output_half_pixel" };
    let half_pixel = match ctx.string("coordinate_transformation_mode")?.as_deref().unwrap_or(default) {
        "half_pixel" => true,
        "output_half_pixel" => false,
        other => return Err(ctx.bad_attr("coordinate_transformation_mode", format!("unknown value `{other}`"))),
    };
    let max = match ctx.string("mode")?.as_deref().unwrap_or("avg") {
        "avg" => false,
        "max" => true,
        other => return Err(ctx.bad_attr("mode", format!("unknown value `{other}`"))),
    };
    let size = |ctx: &NodeCtx<'_, '_>, name: &str, d: i64| -> Result<usize, FrontendError> {
        let v = ctx.int_or(name, d)?;
        usize::try_from(v).map_err(|_| ctx.bad_attr(name, format!("negative value {v}")))
    };
    let op = Op::RoiAlign {
        half_pixel,
        max,
        output_height: size(ctx, "output_height", 1)?,
        output_width: size(ctx, "output_width", 1)?,
        sampling_ratio: size(ctx, "sampling_ratio", 0)?,
        spatial_scale: ctx.float_or("spatial_scale", 1.0)?,
    };
    let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?), Some(ctx.req(2)?)];
    ctx.emit(op, ins)
}

fn deform_conv(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (x, w, off) = (ctx.req(0)?, ctx.req(1)?, ctx.req(2)?);
    let w_shape = &ctx.ty(w).shape;
    let weight_kernel = (w_shape.len() >= 3).then(|| w_shape[2..].to_vec());
    let window = super::nn::window(ctx, x, weight_kernel)?;
    let positive = |ctx: &NodeCtx<'_, '_>, name: &str| -> Result<usize, FrontendError> {
        let v = ctx.int_or(name, 1)?;
        usize::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| ctx.bad_attr(name, format!("must be positive, got {v}")))
    };
    let (group, offset_group) = (positive(ctx, "group")?, positive(ctx, "offset_group")?);
    ctx.emit(Op::DeformConv { window, group, offset_group }, vec![Some(x), Some(w), Some(off), ctx.input(3), ctx.input(4)])
}

/// BatchNormalization-14/15 in training mode, expanded into existing ops:
/// batch statistics (biased variance) normalize X, and the running
/// statistics blend in with `momentum`.
pub(super) fn batch_norm_training(ctx: &mut NodeCtx<'_, '_>) -> R {
    use onnxc_ir::op::{BinaryOp, ReduceOp};
    use onnxc_ir::Tensor;
    let epsilon = ctx.float_or("epsilon", 1e-5)?;
    let momentum = ctx.float_or("momentum", 0.9)? as f64;
    let ins = (0..5).map(|i| ctx.req(i)).collect::<Result<Vec<_>, _>>()?;
    let (x, scale, bias, mean_in, var_in) = (ins[0], ins[1], ins[2], ins[3], ins[4]);
    let ty = ctx.ty(x).clone();
    if ty.rank() < 2 || !ty.dtype.is_float() {
        return Err(ctx.bad(format!("X must be a float tensor of rank >= 2, got {ty}")));
    }
    let c = ty.shape[1];
    let name = ctx.name.clone();
    let mut k = 0;
    let mut emit = |ctx: &mut NodeCtx<'_, '_>, op: Op, ins: Vec<ValueId>, out: Option<usize>| -> Result<ValueId, FrontendError> {
        k += 1;
        let out_name = match out.and_then(|i| ctx.out_names.get(i).cloned()) {
            Some(n) => n,
            None => format!("{name}/t{k}"),
        };
        let node = format!("{name}/n{k}");
        Ok(ctx.emit_named(&node, op, ins.into_iter().map(Some).collect(), &[out_name])?[0])
    };
    let axes: Vec<i64> = std::iter::once(0).chain(2..ty.rank() as i64).collect();
    let axes = ctx.const_i64("axes", axes);
    let reduce = Op::Reduce { op: ReduceOp::Mean, keepdims: true, noop_with_empty_axes: false };
    let mean_k = emit(ctx, reduce.clone(), vec![x, axes], None)?;
    let diff = emit(ctx, Op::Binary(BinaryOp::Sub), vec![x, mean_k], None)?;
    let sq = emit(ctx, Op::Binary(BinaryOp::Mul), vec![diff, diff], None)?;
    let var_k = emit(ctx, reduce, vec![sq, axes], None)?;
    let shape_c = ctx.const_i64("shape_c", vec![c as i64]);
    let mean = emit(ctx, Op::Reshape { allowzero: false }, vec![mean_k, shape_c], None)?;
    let var = emit(ctx, Op::Reshape { allowzero: false }, vec![var_k, shape_c], None)?;
    let y = emit(ctx, Op::BatchNormalization { epsilon }, vec![x, scale, bias, mean, var], Some(0))?;
    let mut outs = vec![y];
    let m = ctx.konst("momentum", Tensor::from_f64(ty.dtype, Vec::<usize>::new(), &[momentum]));
    let m1 = ctx.konst("one_minus_momentum", Tensor::from_f64(ty.dtype, Vec::<usize>::new(), &[1.0 - momentum]));
    for (i, (running, batch)) in [(mean_in, mean), (var_in, var)].into_iter().enumerate() {
        if ctx.out_names.len() <= i + 1 {
            break;
        }
        let a = emit(ctx, Op::Binary(BinaryOp::Mul), vec![running, m], None)?;
        let b = emit(ctx, Op::Binary(BinaryOp::Mul), vec![batch, m1], None)?;
        outs.push(emit(ctx, Op::Binary(BinaryOp::Add), vec![a, b], Some(i + 1))?);
    }
    Ok(outs)
}

fn max_unpool(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (x, i) = (ctx.req(0)?, ctx.req(1)?);
    let window = super::nn::window(ctx, x, None)?;
    ctx.emit(Op::MaxUnpool { window }, vec![Some(x), Some(i), ctx.input(2)])
}

/// MaxPool with storage_order = 1: the row-major indices MaxPool computes,
/// converted to column-major within each [H, W] plane:
/// `base + w * H + h` where `idx = base + h * W + w`.
pub(super) fn max_pool_column_major(ctx: &mut NodeCtx<'_, '_>, op: Op) -> R {
    use onnxc_ir::op::BinaryOp::{Add, Div, Mod, Mul, Sub};
    use onnxc_ir::Tensor;
    let x = ctx.req(0)?;
    let xs = ctx.ty(x).shape.clone();
    if xs.len() != 4 {
        return Err(ctx.bad_attr("storage_order", "column-major indices need a 2-D pool"));
    }
    let (h, w) = (xs[2] as i64, xs[3] as i64);
    let name = ctx.name.clone();
    let y_name = ctx.out_names[0].clone();
    let raw = format!("{name}/row_major_indices");
    let outs = ctx.emit_named(&name, op, vec![Some(x)], &[y_name, raw])?;
    let (y, idx) = (outs[0], outs[1]);
    let mut k = 0;
    let mut bin = |ctx: &mut NodeCtx<'_, '_>, op: onnxc_ir::op::BinaryOp, a: ValueId, b: ValueId, out: Option<String>| -> Result<ValueId, FrontendError> {
        k += 1;
        let out = out.unwrap_or_else(|| format!("{name}/idx{k}"));
        Ok(ctx.emit_named(&format!("{name}/idx{k}"), Op::Binary(op), vec![Some(a), Some(b)], &[out])?[0])
    };
    let c = |ctx: &mut NodeCtx<'_, '_>, s: &str, v: i64| ctx.konst(s, Tensor::scalar(v));
    let (hw, wc, hc) = (c(ctx, "hw", h * w), c(ctx, "w", w), c(ctx, "h", h));
    let p = bin(ctx, Mod { fmod: false }, idx, hw, None)?;
    let base = bin(ctx, Sub, idx, p, None)?;
    let row = bin(ctx, Div, p, wc, None)?;
    let col = bin(ctx, Mod { fmod: false }, p, wc, None)?;
    let col_h = bin(ctx, Mul, col, hc, None)?;
    let off = bin(ctx, Add, col_h, row, None)?;
    let idx_name = ctx.out_names[1].clone();
    let out = bin(ctx, Add, base, off, Some(idx_name))?;
    Ok(vec![y, out])
}
