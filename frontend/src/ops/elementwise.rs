//! Elementwise ops: unary, activations with attributes, binary with
//! broadcasting, variadic, Clip, Where, Cast.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::op::{Activation, BinaryOp, UnaryOp, VariadicOp};
use onnxc_ir::{DType, Op, Tensor, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[
    ("Abs", unary),
    ("Neg", unary),
    ("Exp", unary),
    ("Log", unary),
    ("Sqrt", unary),
    ("Reciprocal", unary),
    ("Floor", unary),
    ("Ceil", unary),
    ("Round", unary),
    ("Sign", unary),
    ("Sin", unary),
    ("Cos", unary),
    ("Tan", unary),
    ("Asin", unary),
    ("Acos", unary),
    ("Atan", unary),
    ("Sinh", unary),
    ("Cosh", unary),
    ("Asinh", unary),
    ("Acosh", unary),
    ("Atanh", unary),
    ("Erf", unary),
    ("Relu", unary),
    ("Sigmoid", unary),
    ("Tanh", unary),
    ("Softsign", unary),
    ("Softplus", unary),
    ("HardSwish", unary),
    ("Mish", unary),
    ("Not", unary),
    ("BitwiseNot", unary),
    ("IsNaN", unary),
    ("Identity", unary),
    ("LeakyRelu", activation),
    ("Elu", activation),
    ("Selu", activation),
    ("Celu", activation),
    ("HardSigmoid", activation),
    ("ThresholdedRelu", activation),
    ("Shrink", activation),
    ("Gelu", activation),
    ("IsInf", activation),
    ("Add", binary),
    ("Sub", binary),
    ("Mul", binary),
    ("Div", binary),
    ("Pow", binary),
    ("Mod", binary),
    ("And", binary),
    ("Or", binary),
    ("Xor", binary),
    ("Equal", binary),
    ("Less", binary),
    ("LessOrEqual", binary),
    ("Greater", binary),
    ("GreaterOrEqual", binary),
    ("BitShift", binary),
    ("BitwiseAnd", binary),
    ("BitwiseOr", binary),
    ("BitwiseXor", binary),
    ("PRelu", binary),
    ("Sum", variadic),
    ("Mean", variadic),
    ("Max", variadic),
    ("Min", variadic),
    ("Clip", clip),
    ("Where", where_),
    ("Cast", cast),
];

fn unary(ctx: &mut NodeCtx<'_, '_>) -> R {
    use UnaryOp::*;
    let op = match ctx.op_type.as_str() {
        "Abs" => Abs,
        "Neg" => Neg,
        "Exp" => Exp,
        "Log" => Log,
        "Sqrt" => Sqrt,
        "Reciprocal" => Reciprocal,
        "Floor" => Floor,
        "Ceil" => Ceil,
        "Round" => Round,
        "Sign" => Sign,
        "Sin" => Sin,
        "Cos" => Cos,
        "Tan" => Tan,
        "Asin" => Asin,
        "Acos" => Acos,
        "Atan" => Atan,
        "Sinh" => Sinh,
        "Cosh" => Cosh,
        "Asinh" => Asinh,
        "Acosh" => Acosh,
        "Atanh" => Atanh,
        "Erf" => Erf,
        "Relu" => Relu,
        "Sigmoid" => Sigmoid,
        "Tanh" => Tanh,
        "Softsign" => Softsign,
        "Softplus" => Softplus,
        "HardSwish" => HardSwish,
        "Mish" => Mish,
        "Not" => Not,
        "BitwiseNot" => BitwiseNot,
        "IsNaN" => IsNaN,
        "Identity" => Identity,
        _ => return Err(ctx.bad("not a unary op")),
    };
    let x = ctx.req(0)?;
    ctx.emit(Op::Unary(op), vec![Some(x)])
}

fn activation(ctx: &mut NodeCtx<'_, '_>) -> R {
    use Activation::*;
    let op = match ctx.op_type.as_str() {
        "LeakyRelu" => LeakyRelu { alpha: ctx.float_or("alpha", 0.01)? },
        "Elu" => Elu { alpha: ctx.float_or("alpha", 1.0)? },
        "Selu" => Selu {
            alpha: ctx.float_or("alpha", 1.673_263_2)?,
            gamma: ctx.float_or("gamma", 1.050_701)?,
        },
        "Celu" => Celu { alpha: ctx.float_or("alpha", 1.0)? },
        "HardSigmoid" => {
            HardSigmoid { alpha: ctx.float_or("alpha", 0.2)?, beta: ctx.float_or("beta", 0.5)? }
        }
        "ThresholdedRelu" => ThresholdedRelu { alpha: ctx.float_or("alpha", 1.0)? },
        "Shrink" => Shrink { bias: ctx.float_or("bias", 0.0)?, lambd: ctx.float_or("lambd", 0.5)? },
        "Gelu" => match ctx.string("approximate")?.as_deref().unwrap_or("none") {
            "none" => Gelu { tanh_approx: false },
            "tanh" => Gelu { tanh_approx: true },
            other => return Err(ctx.bad_attr("approximate", format!("unknown value `{other}`"))),
        },
        "IsInf" => IsInf {
            detect_positive: ctx.bool_or("detect_positive", true)?,
            detect_negative: ctx.bool_or("detect_negative", true)?,
        },
        _ => return Err(ctx.bad("not an activation")),
    };
    let x = ctx.req(0)?;
    ctx.emit(Op::Activation(op), vec![Some(x)])
}

fn binary(ctx: &mut NodeCtx<'_, '_>) -> R {
    use BinaryOp::*;
    let op = match ctx.op_type.as_str() {
        "Add" => Add,
        "Sub" => Sub,
        "Mul" => Mul,
        "Div" => Div,
        "Pow" => Pow,
        "Mod" => Mod { fmod: ctx.bool_or("fmod", false)? },
        "And" => And,
        "Or" => Or,
        "Xor" => Xor,
        "Equal" => Equal,
        "Less" => Less,
        "LessOrEqual" => LessOrEqual,
        "Greater" => Greater,
        "GreaterOrEqual" => GreaterOrEqual,
        "BitShift" => match ctx.string("direction")?.as_deref() {
            Some("LEFT") => BitShiftLeft,
            Some("RIGHT") => BitShiftRight,
            other => {
                return Err(
                    ctx.bad_attr("direction", format!("expected LEFT or RIGHT, got {other:?}"))
                )
            }
        },
        "BitwiseAnd" => BitwiseAnd,
        "BitwiseOr" => BitwiseOr,
        "BitwiseXor" => BitwiseXor,
        "PRelu" => PRelu,
        _ => return Err(ctx.bad("not a binary op")),
    };
    if ctx.inputs.len() != 2 {
        return Err(ctx.bad(format!("expects 2 inputs, got {}", ctx.inputs.len())));
    }
    let (a, b) = (ctx.req(0)?, ctx.req(1)?);
    ctx.emit(Op::Binary(op), vec![Some(a), Some(b)])
}

/// Sum/Mean/Max/Min are variadic in every opset (Max/Min with two inputs too).
fn variadic(ctx: &mut NodeCtx<'_, '_>) -> R {
    let op = match ctx.op_type.as_str() {
        "Sum" => VariadicOp::Sum,
        "Mean" => VariadicOp::Mean,
        "Max" => VariadicOp::Max,
        "Min" => VariadicOp::Min,
        _ => return Err(ctx.bad("not a variadic op")),
    };
    if ctx.inputs.is_empty() || ctx.inputs.iter().any(|i| i.is_none()) {
        return Err(ctx.bad("expects one or more inputs, none omitted"));
    }
    let inputs = ctx.inputs.clone();
    ctx.emit(Op::Variadic(op), inputs)
}

/// Clip-6's `min`/`max` attributes become scalar inputs of x's dtype.
fn clip(ctx: &mut NodeCtx<'_, '_>) -> R {
    let x = ctx.req(0)?;
    if ctx.opset() >= 11 {
        let mut inputs = ctx.inputs_from(0);
        inputs.truncate(3);
        return ctx.emit(Op::Clip, inputs);
    }
    let dtype = ctx.ty(x).dtype;
    let bound = |ctx: &mut NodeCtx<'_, '_>, attr: &str| -> Result<Option<ValueId>, FrontendError> {
        Ok(ctx
            .float(attr)?
            .map(|v| ctx.konst(attr, Tensor::from_f64(dtype, Vec::new(), &[v as f64]))))
    };
    let min = bound(ctx, "min")?;
    let max = bound(ctx, "max")?;
    ctx.emit(Op::Clip, vec![Some(x), min, max])
}

fn where_(ctx: &mut NodeCtx<'_, '_>) -> R {
    let (c, x, y) = (ctx.req(0)?, ctx.req(1)?, ctx.req(2)?);
    ctx.emit(Op::Where, vec![Some(c), Some(x), Some(y)])
}

fn cast(ctx: &mut NodeCtx<'_, '_>) -> R {
    let code = ctx.int("to")?.ok_or_else(|| ctx.bad_attr("to", "required"))?;
    let to = i32::try_from(code)
        .ok()
        .and_then(DType::from_onnx_code)
        .ok_or_else(|| ctx.bad_attr("to", format!("element type code {code} is not supported")))?;
    let x = ctx.req(0)?;
    let op = cast_op(ctx, to)?;
    ctx.emit(op, vec![Some(x)])
}

/// `Cast` or `CastNoSaturate` from the `saturate` attribute (opset 19+,
/// default 1; it only affects float8 targets). E8M0's `round_mode` must be
/// the default "up" (the only mode the conversions implement).
pub(super) fn cast_op(ctx: &NodeCtx<'_, '_>, to: DType) -> Result<Op, FrontendError> {
    if let Some(mode) = ctx.string("round_mode")? {
        if to == DType::F8E8M0 && mode != "up" {
            return Err(ctx.bad_attr("round_mode", format!("`{mode}` is not supported for float8e8m0 (only \"up\")")));
        }
    }
    Ok(match ctx.int_or("saturate", 1)? {
        0 if to.is_small_float() => Op::CastNoSaturate { to },
        _ => Op::Cast { to },
    })
}
