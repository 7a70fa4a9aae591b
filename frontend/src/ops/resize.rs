//! Resize and Upsample. Resize-10 and Upsample-7/9 become Resize-19 with
//! asymmetric coordinates and floor rounding (what they specify); Upsample-7's
//! `scales` attribute becomes the constant scales input. ConvTranspose's
//! `auto_pad` and `output_shape` become explicit pads and output padding.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::{AspectPolicy, CoordMode, NearestMode, ResizeAttrs, ResizeMode, Window};
use onnxc_ir::{Op, Tensor, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("Resize", resize),
    ("Upsample", upsample),
    ("ConvTranspose", conv_transpose),
    ("LpPool", lp_pool),
];

fn mode(ctx: &NodeCtx<'_, '_>) -> Result<ResizeMode, FrontendError> {
    Ok(match ctx.string("mode")?.as_deref().unwrap_or("nearest") {
        "nearest" => ResizeMode::Nearest,
        "linear" | "bilinear" => ResizeMode::Linear,
        "cubic" => ResizeMode::Cubic,
        other => return Err(ctx.bad_attr("mode", format!("unknown value `{other}`"))),
    })
}

/// The attributes of Resize-10 and Upsample, which had only `mode`.
fn legacy(ctx: &NodeCtx<'_, '_>) -> Result<ResizeAttrs, FrontendError> {
    Ok(ResizeAttrs {
        mode: mode(ctx)?,
        coord: CoordMode::Asymmetric,
        nearest: NearestMode::Floor,
        cubic_coeff_a: -0.75,
        exclude_outside: false,
        extrapolation_value: 0.0,
        antialias: false,
        aspect: AspectPolicy::Stretch,
        axes: None,
    })
}

fn resize(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    if ctx.opset() < 11 {
        let a = legacy(ctx)?;
        let scales = ctx.req(1)?;
        return ctx.emit(Op::Resize(a), vec![Some(x), None, Some(scales), None]);
    }
    let coord =
        match ctx.string("coordinate_transformation_mode")?.as_deref().unwrap_or("half_pixel") {
            "half_pixel" => CoordMode::HalfPixel,
            "half_pixel_symmetric" => CoordMode::HalfPixelSymmetric,
            "pytorch_half_pixel" => CoordMode::PytorchHalfPixel,
            "align_corners" => CoordMode::AlignCorners,
            "asymmetric" => CoordMode::Asymmetric,
            "tf_crop_and_resize" => CoordMode::TfCropAndResize,
            other => {
                return Err(ctx.bad_attr(
                    "coordinate_transformation_mode",
                    format!("unknown value `{other}`"),
                ))
            }
        };
    let nearest = match ctx.string("nearest_mode")?.as_deref().unwrap_or("round_prefer_floor") {
        "round_prefer_floor" => NearestMode::RoundPreferFloor,
        "round_prefer_ceil" => NearestMode::RoundPreferCeil,
        "floor" => NearestMode::Floor,
        "ceil" => NearestMode::Ceil,
        other => return Err(ctx.bad_attr("nearest_mode", format!("unknown value `{other}`"))),
    };
    let aspect = match ctx.string("keep_aspect_ratio_policy")?.as_deref().unwrap_or("stretch") {
        "stretch" => AspectPolicy::Stretch,
        "not_larger" => AspectPolicy::NotLarger,
        "not_smaller" => AspectPolicy::NotSmaller,
        other => {
            return Err(ctx.bad_attr("keep_aspect_ratio_policy", format!("unknown value `{other}`")))
        }
    };
    let a = ResizeAttrs {
        mode: mode(ctx)?,
        coord,
        nearest,
        cubic_coeff_a: ctx.float_or("cubic_coeff_a", -0.75)?,
        exclude_outside: ctx.bool_or("exclude_outside", false)?,
        extrapolation_value: ctx.float_or("extrapolation_value", 0.0)?,
        antialias: ctx.bool_or("antialias", false)?,
        aspect,
        axes: ctx.ints("axes")?,
    };
    if a.antialias && a.mode == ResizeMode::Nearest {
        return Err(ctx.bad_attr("antialias", "not defined for mode nearest"));
    }
    ctx.emit(Op::Resize(a), vec![Some(x), ctx.input(1), ctx.input(2), ctx.input(3)])
}

fn upsample(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    let a = legacy(ctx)?;
    let scales = if ctx.opset() < 9 {
        let s = ctx.floats("scales")?.ok_or_else(|| ctx.bad_attr("scales", "required"))?;
        let n = s.len();
        ctx.konst("scales", Tensor::from_vec(vec![n], s))
    } else {
        ctx.req(1)?
    };
    ctx.emit(Op::Resize(a), vec![Some(x), None, Some(scales), None])
}

fn lp_pool(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    let window = super::nn::window(ctx, x, None)?;
    let p = ctx.int_or("p", 2)?;
    if p <= 0 {
        return Err(ctx.bad_attr("p", format!("must be positive, got {p}")));
    }
    let ceil_mode = ctx.bool_or("ceil_mode", false)?;
    ctx.emit(Op::LpPool { window, p, ceil_mode }, vec![Some(x)])
}

/// Reads ConvTranspose's attributes and resolves `auto_pad`/`output_shape`
/// as the ONNX reference does: the output is `output_shape` when given,
/// with the padding split per `auto_pad` (SAME_UPPER puts the odd unit at
/// the end) or the explicit pads at the start.
fn conv_transpose(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (x, w) = (ctx.req(0)?, ctx.req(1)?);
    let (xs, ws) = (ctx.ty(x).shape.clone(), ctx.ty(w).shape.clone());
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(ctx.bad(format!("X {xs:?} and W {ws:?} must have the same rank >= 3")));
    }
    let r = xs.len() - 2;
    let list = |name: &str, default: usize, len: usize| -> Result<Vec<usize>, FrontendError> {
        let v = ctx.usizes(name)?.unwrap_or_else(|| vec![default; len]);
        if v.len() != len {
            return Err(ctx.bad_attr(name, format!("expected {len} values, got {v:?}")));
        }
        Ok(v)
    };
    let kernel_shape = match ctx.usizes("kernel_shape")? {
        Some(_) => list("kernel_shape", 1, r)?,
        None => ws[2..].to_vec(),
    };
    let strides = list("strides", 1, r)?;
    let dilations = list("dilations", 1, r)?;
    let mut op = list("output_padding", 0, r)?;
    if strides.contains(&0) || dilations.contains(&0) || kernel_shape.contains(&0) {
        return Err(ctx.bad("strides, dilations and kernel_shape must be positive"));
    }
    let auto_pad = ctx.string("auto_pad")?.unwrap_or_default();
    let same = matches!(auto_pad.as_str(), "SAME_UPPER" | "SAME_LOWER");
    let explicit = ctx.usizes("pads")?;
    let out_shape = ctx.usizes("output_shape")?.map(|v| v[v.len().saturating_sub(r)..].to_vec());
    // Checked: absurd attributes must be an error, not an overflow panic.
    let full = |i: usize| -> Option<usize> {
        strides[i]
            .checked_mul(xs[2 + i].saturating_sub(1))?
            .checked_add(op[i])?
            .checked_add((kernel_shape[i] - 1).checked_mul(dilations[i])?)?
            .checked_add(1)
    };
    let full_v: Vec<usize> = (0..r)
        .map(full)
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| ctx.bad("output size overflows (absurd strides, dilations or kernel_shape)"))?;
    let full_i = |i: usize| full_v[i];
    let mut pads = vec![0usize; 2 * r];
    if same && explicit.is_none() {
        let target: Vec<usize> =
            out_shape.clone().unwrap_or_else(|| (0..r).map(|i| xs[2 + i] * strides[i]).collect());
        for i in 0..r {
            let total = full_i(i) as i64 - target[i] as i64;
            let (small, big) = (total.div_euclid(2), total - total.div_euclid(2));
            let (b, e) = if auto_pad == "SAME_UPPER" { (small, big) } else { (big, small) };
            if b < 0 || e < 0 {
                return Err(
                    ctx.bad_attr("output_shape", "larger than the full transposed convolution")
                );
            }
            pads[i] = b as usize;
            pads[i + r] = e as usize;
        }
    } else {
        if let Some(p) = explicit {
            if p.len() != 2 * r {
                return Err(ctx.bad_attr("pads", format!("expected {} values, got {p:?}", 2 * r)));
            }
            pads = p;
        }
        if let Some(t) = &out_shape {
            // The output is exactly `output_shape`: trim or extend the end.
            for i in 0..r {
                let base = full_i(i) as i64 - pads[i] as i64;
                let want = t[i] as i64;
                if base >= want {
                    pads[i + r] = (base - want) as usize;
                } else {
                    pads[i + r] = 0;
                    op[i] += (want - base) as usize;
                }
            }
        }
    }
    let group = ctx.int_or("group", 1)?;
    let group = usize::try_from(group)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| ctx.bad_attr("group", format!("must be positive, got {group}")))?;
    let window = Window { kernel_shape, strides, pads, dilations };
    ctx.emit(
        Op::ConvTranspose { window, group, output_padding: op },
        vec![Some(x), Some(w), ctx.input(2)],
    )
}
