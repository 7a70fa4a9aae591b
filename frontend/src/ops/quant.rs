//! Quantization ops. QuantizeLinear and DequantizeLinear map onto IR ops
//! (the output dtype resolved here); the rest expand into existing ops with
//! the ONNX reference's arithmetic:
//! - DynamicQuantizeLinear: its ONNX function body (ReduceMin/Max, Div, Clip, Round).
//! - MatMulInteger: zero points subtracted in i32, i32 MatMul.
//! - ConvInteger / QLinearConv: zero points subtracted in f64 and an f64
//!   Conv (exact for 8-bit data); QLinearConv/QLinearMatMul then multiply by
//!   `x_scale * w_scale / y_scale` in f64 and requantize with scale 1.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::{BinaryOp, ReduceOp, UnaryOp, VariadicOp};
use onnxc_ir::{DType, Op, Tensor, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("QuantizeLinear", quantize),
    ("DequantizeLinear", dequantize),
    ("DynamicQuantizeLinear", dynamic_quantize),
    ("MatMulInteger", matmul_integer),
    ("QLinearMatMul", qlinear_matmul),
    ("ConvInteger", conv_integer),
    ("QLinearConv", qlinear_conv),
];

/// `output_dtype` attribute (0 or absent: none).
fn output_dtype(ctx: &NodeCtx<'_, '_>) -> Result<Option<DType>, FrontendError> {
    match ctx.int("output_dtype")? {
        None | Some(0) => Ok(None),
        Some(code) => i32::try_from(code).ok().and_then(DType::from_onnx_code).map(Some).ok_or_else(|| {
            ctx.bad_attr("output_dtype", format!("unsupported dtype code {code}"))
        }),
    }
}

fn axis_block(ctx: &NodeCtx<'_, '_>) -> Result<(i64, usize), FrontendError> {
    let axis = ctx.int_or("axis", 1)?;
    let b = ctx.int_or("block_size", 0)?;
    let b = usize::try_from(b).map_err(|_| ctx.bad_attr("block_size", format!("must be >= 0, got {b}")))?;
    Ok((axis, b))
}

fn quantize(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (axis, block_size) = axis_block(ctx)?;
    let attr = output_dtype(ctx)?;
    let x = ctx.req(0)?;
    let s = ctx.req(1)?;
    let z = ctx.input(2);
    let out = match (z.map(|z| ctx.ty(z).dtype), attr) {
        (Some(zd), Some(a)) if zd != a => {
            return Err(ctx.bad_attr("output_dtype", format!("{a} disagrees with the zero point's {zd}")))
        }
        (Some(d), _) | (None, Some(d)) => d,
        (None, None) => DType::U8,
    };
    if ctx.int_or("saturate", 1)? == 0 && out.is_small_float() {
        return Err(ctx.bad_attr("saturate", "0 is not supported (only the default saturating conversion)"));
    }
    ctx.emit(Op::QuantizeLinear { axis, block_size, output_dtype: out }, vec![Some(x), Some(s), z])
}

fn dequantize(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (axis, block_size) = axis_block(ctx)?;
    let (x, s) = (ctx.req(0)?, ctx.req(1)?);
    let out = output_dtype(ctx)?.unwrap_or(ctx.ty(s).dtype);
    ctx.emit(Op::DequantizeLinear { axis, block_size, output_dtype: out }, vec![Some(x), Some(s), ctx.input(2)])
}

/// Emits helper node `tag` of this node's expansion; returns its output.
fn node(ctx: &mut NodeCtx<'_, '_>, tag: &str, op: Op, inputs: Vec<Option<ValueId>>) -> Result<ValueId, FrontendError> {
    let name = format!("{}/{tag}", ctx.name);
    let outs = ctx.emit_named(&name, op, inputs, std::slice::from_ref(&name))?;
    outs.first().copied().ok_or_else(|| ctx.bad(format!("expansion step `{tag}` produced no output")))
}

fn bin(ctx: &mut NodeCtx<'_, '_>, tag: &str, op: BinaryOp, a: ValueId, b: ValueId) -> Result<ValueId, FrontendError> {
    node(ctx, tag, Op::Binary(op), vec![Some(a), Some(b)])
}

fn cast(ctx: &mut NodeCtx<'_, '_>, tag: &str, x: ValueId, to: DType) -> Result<ValueId, FrontendError> {
    if ctx.ty(x).dtype == to {
        return Ok(x);
    }
    node(ctx, tag, Op::Cast { to }, vec![Some(x)])
}

/// `Cast(x, to) - Cast(zp, to)`, with a 1-D zero point reshaped to `zp_shape` first.
fn centered(
    ctx: &mut NodeCtx<'_, '_>,
    tag: &str,
    x: ValueId,
    zp: Option<ValueId>,
    to: DType,
    zp_shape: Option<Vec<i64>>,
) -> Result<ValueId, FrontendError> {
    let xc = cast(ctx, &format!("{tag}_cast"), x, to)?;
    let Some(mut z) = zp else { return Ok(xc) };
    if let Some(shape) = zp_shape.filter(|_| ctx.ty(z).shape.iter().product::<usize>() > 1) {
        let sh = ctx.const_i64(&format!("{tag}_zp_shape"), shape);
        z = node(ctx, &format!("{tag}_zp_reshape"), Op::Reshape { allowzero: false }, vec![Some(z), Some(sh)])?;
    }
    let zc = cast(ctx, &format!("{tag}_zp_cast"), z, to)?;
    bin(ctx, &format!("{tag}_sub"), BinaryOp::Sub, xc, zc)
}

fn dynamic_quantize(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    let d = ctx.ty(x).dtype;
    let qmin = ctx.konst("qmin", Tensor::from_f64(d, Vec::<usize>::new(), &[0.0]));
    let qmax = ctx.konst("qmax", Tensor::from_f64(d, Vec::<usize>::new(), &[255.0]));
    let red = |op| Op::Reduce { op, keepdims: false, noop_with_empty_axes: false };
    let mn = node(ctx, "min", red(ReduceOp::Min), vec![Some(x)])?;
    let mn = node(ctx, "min_adj", Op::Variadic(VariadicOp::Min), vec![Some(mn), Some(qmin)])?;
    let mx = node(ctx, "max", red(ReduceOp::Max), vec![Some(x)])?;
    let mx = node(ctx, "max_adj", Op::Variadic(VariadicOp::Max), vec![Some(mx), Some(qmin)])?;
    let range = bin(ctx, "range", BinaryOp::Sub, mx, mn)?;
    let qrange = bin(ctx, "qrange", BinaryOp::Sub, qmax, qmin)?;
    let scale = bin(ctx, "scale", BinaryOp::Div, range, qrange)?;
    let ms = bin(ctx, "min_scaled", BinaryOp::Div, mn, scale)?;
    let zp = bin(ctx, "zp_fp", BinaryOp::Sub, qmin, ms)?;
    let zp = node(ctx, "zp_clip", Op::Clip, vec![Some(zp), Some(qmin), Some(qmax)])?;
    let zp = node(ctx, "zp_round", Op::Unary(UnaryOp::Round), vec![Some(zp)])?;
    let zp = node(ctx, "zp", Op::Cast { to: DType::U8 }, vec![Some(zp)])?;
    let q = Op::QuantizeLinear { axis: 1, block_size: 0, output_dtype: DType::U8 };
    let y = node(ctx, "y", q, vec![Some(x), Some(scale), Some(zp)])?;
    Ok(vec![y, scale, zp])
}

fn matmul_integer(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (a, b) = (ctx.req(0)?, ctx.req(1)?);
    // A per-row a_zero_point [M] applies along A's rows: make it [M, 1].
    let m = ctx.ty(a).shape.iter().rev().nth(1).map(|&m| m as i64);
    let ac = centered(ctx, "a", a, ctx.input(2), DType::I32, m.map(|m| vec![m, 1]))?;
    let bc = centered(ctx, "b", b, ctx.input(3), DType::I32, None)?;
    ctx.emit(Op::MatMul, vec![Some(ac), Some(bc)])
}

/// `acc * (sa * sb / sy)` in f64, requantized onto `y_zero_point`'s type.
fn requantize(
    ctx: &mut NodeCtx<'_, '_>,
    acc: ValueId,
    sa: ValueId,
    sb: ValueId,
    sy: ValueId,
    zy: Option<ValueId>,
    fallback: DType,
) -> R {
    let prod = bin(ctx, "scale_prod", BinaryOp::Mul, sa, sb)?;
    let factor = bin(ctx, "scale_factor", BinaryOp::Div, prod, sy)?;
    let factor = cast(ctx, "scale_f64", factor, DType::F64)?;
    let acc = cast(ctx, "acc_f64", acc, DType::F64)?;
    let v = bin(ctx, "scaled", BinaryOp::Mul, acc, factor)?;
    // Scale 1 shaped like the zero point, which the per-tensor rule requires.
    let shape = zy.map_or(Vec::new(), |z| ctx.ty(z).shape.clone());
    let one = ctx.konst("one", Tensor::from_f64(DType::F64, shape, &[1.0]));
    let out = zy.map_or(fallback, |z| ctx.ty(z).dtype);
    let q = Op::QuantizeLinear { axis: 1, block_size: 0, output_dtype: out };
    ctx.emit(q, vec![Some(v), Some(one), zy])
}

fn qlinear_matmul(ctx: &mut NodeCtx<'_, '_>) -> R {
    let a = ctx.req(0)?;
    let b = ctx.req(3)?;
    let (sa, sb, sy) = (ctx.req(1)?, ctx.req(4)?, ctx.req(6)?);
    let m = ctx.ty(a).shape.iter().rev().nth(1).map(|&m| m as i64);
    let ac = centered(ctx, "a", a, ctx.input(2), DType::I32, m.map(|m| vec![m, 1]))?;
    let bc = centered(ctx, "b", b, ctx.input(5), DType::I32, None)?;
    let acc = node(ctx, "matmul", Op::MatMul, vec![Some(ac), Some(bc)])?;
    let fallback = ctx.ty(a).dtype;
    requantize(ctx, acc, sa, sb, sy, ctx.input(7), fallback)
}

/// The f64 Conv of centered x and w (w's zero point per output channel).
fn int_conv(
    ctx: &mut NodeCtx<'_, '_>,
    x: ValueId,
    xz: Option<ValueId>,
    w: ValueId,
    wz: Option<ValueId>,
    bias: Option<ValueId>,
) -> Result<ValueId, FrontendError> {
    let w_shape = ctx.ty(w).shape.clone();
    let weight_kernel = (w_shape.len() >= 3).then(|| w_shape[2..].to_vec());
    let window = super::nn::window(ctx, x, weight_kernel)?;
    let group = ctx.int_or("group", 1)?;
    let group = usize::try_from(group)
        .ok()
        .filter(|&g| g > 0)
        .ok_or_else(|| ctx.bad_attr("group", format!("must be positive, got {group}")))?;
    let mut zshape = vec![1i64; w_shape.len()];
    zshape[0] = w_shape.first().copied().unwrap_or(1) as i64;
    let xc = centered(ctx, "x", x, xz, DType::F64, None)?;
    let wc = centered(ctx, "w", w, wz, DType::F64, Some(zshape))?;
    let bias = match bias {
        Some(bv) => Some(cast(ctx, "bias_f64", bv, DType::F64)?),
        None => None,
    };
    node(ctx, "conv", Op::Conv { window, group }, vec![Some(xc), Some(wc), bias])
}

fn conv_integer(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (x, w) = (ctx.req(0)?, ctx.req(1)?);
    let acc = int_conv(ctx, x, ctx.input(2), w, ctx.input(3), None)?;
    ctx.emit(Op::Cast { to: DType::I32 }, vec![Some(acc)])
}

fn qlinear_conv(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (x, sx, w, sw, sy) = (ctx.req(0)?, ctx.req(1)?, ctx.req(3)?, ctx.req(4)?, ctx.req(6)?);
    let acc = int_conv(ctx, x, ctx.input(2), w, ctx.input(5), ctx.input(8))?;
    // A per-channel w_scale [M] scales output channel axis 1.
    let mut sw = sw;
    if ctx.ty(sw).shape.iter().product::<usize>() > 1 {
        let r = ctx.ty(acc).shape.len();
        let mut shape = vec![1i64; r];
        shape[1] = -1;
        let sh = ctx.const_i64("w_scale_shape", shape);
        sw = node(ctx, "w_scale_reshape", Op::Reshape { allowzero: false }, vec![Some(sw), Some(sh)])?;
    }
    let fallback = ctx.ty(x).dtype;
    requantize(ctx, acc, sx, sw, sy, ctx.input(7), fallback)
}
