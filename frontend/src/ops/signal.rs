//! DFT (opset 17 and 20), STFT, the window generators and MelWeightMatrix.
//! DFT-20's `axis` input must be a constant; it becomes the op's attribute.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use crate::tensor::dtype_from_code;
use onnxc_ir::op::WindowKind;
use onnxc_ir::{DType, Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("DFT", dft),
    ("STFT", stft),
    ("HannWindow", hann),
    ("HammingWindow", hamming),
    ("BlackmanWindow", blackman),
    ("MelWeightMatrix", mel),
];

fn dft(ctx: &mut NodeCtx<'_, '_>) -> R {
    let axis = if ctx.opset() >= 20 {
        match ctx.input(2) {
            None => -2,
            Some(a) => {
                let t = ctx.const_value(a).ok_or_else(|| ctx.needs_constant(2, "axis", None))?;
                match t.to_i64_vec().as_slice() {
                    [v] => *v,
                    v => return Err(ctx.bad(format!("input `axis` must hold one value, got {v:?}"))),
                }
            }
        }
    } else {
        ctx.int_or("axis", 1)?
    };
    let op = Op::Dft { axis, inverse: ctx.bool_or("inverse", false)?, onesided: ctx.bool_or("onesided", false)? };
    let ins = vec![Some(ctx.req(0)?), ctx.input(1)];
    ctx.emit(op, ins)
}

fn stft(ctx: &mut NodeCtx<'_, '_>) -> R {
    let op = Op::Stft { onesided: ctx.bool_or("onesided", true)? };
    let ins = vec![Some(ctx.req(0)?), Some(ctx.req(1)?), ctx.input(2), ctx.input(3)];
    ctx.emit(op, ins)
}

fn output_dtype(ctx: &NodeCtx<'_, '_>) -> Result<DType, FrontendError> {
    let code = ctx.int_or("output_datatype", 1)?;
    let code = i32::try_from(code).map_err(|_| ctx.bad_attr("output_datatype", format!("unknown type {code}")))?;
    dtype_from_code(code, "output_datatype")
}

fn window(ctx: &mut NodeCtx<'_, '_>, kind: WindowKind) -> R {
    let op = Op::Window { kind, periodic: ctx.bool_or("periodic", true)?, dtype: output_dtype(ctx)? };
    let ins = vec![Some(ctx.req(0)?)];
    ctx.emit(op, ins)
}

fn hann(ctx: &mut NodeCtx<'_, '_>) -> R {
    window(ctx, WindowKind::Hann)
}

fn hamming(ctx: &mut NodeCtx<'_, '_>) -> R {
    window(ctx, WindowKind::Hamming)
}

fn blackman(ctx: &mut NodeCtx<'_, '_>) -> R {
    window(ctx, WindowKind::Blackman)
}

fn mel(ctx: &mut NodeCtx<'_, '_>) -> R {
    let op = Op::MelWeightMatrix { dtype: output_dtype(ctx)? };
    let ins = (0..5).map(|i| ctx.req(i).map(Some)).collect::<Result<Vec<_>, _>>()?;
    ctx.emit(op, ins)
}
