//! Elementwise families: unary, activations, binary (numpy broadcasting),
//! variadic, Clip, Where and Cast.

use super::util::*;
use super::{broadcast_shapes, InputInfo};
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::{Activation, BinaryOp, UnaryOp, VariadicOp};
use crate::op_err;

fn is_signed_or_float(d: DType) -> bool {
    d.is_signed_int() || d.is_float()
}

pub(super) fn unary(u: UnaryOp, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    use UnaryOp::*;
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "X")?;
    let (ok, what): (fn(DType) -> bool, &str) = match u {
        Abs | Sign | Erf => (is_numeric, "numeric"),
        Neg | Relu => (is_signed_or_float, "a signed integer or float"),
        Not => (is_bool, "bool"),
        BitwiseNot => (is_int, "an integer"),
        Identity => (is_any, "any type"),
        IsNaN | Exp | Log | Sqrt | Reciprocal | Floor | Ceil | Round | Sin | Cos | Tan | Asin
        | Acos | Atan | Sinh | Cosh | Asinh | Acosh | Atanh | Sigmoid | Tanh | Softsign
        | Softplus | HardSwish | Mish => (is_float, "a float"),
    };
    dtype(x, "X", ok, what)?;
    let out = if u == IsNaN { DType::Bool } else { x.ty.dtype };
    Ok(TensorType::new(out, x.ty.shape.clone()))
}

pub(super) fn activation(a: &Activation, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "X")?;
    match a {
        Activation::Shrink { .. } => dtype(x, "X", is_numeric, "numeric")?,
        _ => dtype(x, "X", is_float, "a float")?,
    };
    let out = if matches!(a, Activation::IsInf { .. }) {
        DType::Bool
    } else {
        x.ty.dtype
    };
    Ok(TensorType::new(out, x.ty.shape.clone()))
}

pub(super) fn binary(b: BinaryOp, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    use BinaryOp::*;
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "A")?;
    let y = req(inputs, 1, "B")?;
    // Pow's exponent may have its own numeric type (ONNX's T1); every other
    // binary op wants both operands of one dtype.
    if b == Pow {
        dtype(y, "B", is_numeric, "numeric")?;
    } else {
        same_dtype(x, "A", y, "B")?;
    }
    let (ok, what): (fn(DType) -> bool, &str) = match b {
        Add
        | Sub
        | Mul
        | Div
        | Pow
        | Max
        | Min
        | Less
        | LessOrEqual
        | Greater
        | GreaterOrEqual
        | Mod { .. } => (is_numeric, "numeric"),
        And | Or | Xor => (is_bool, "bool"),
        Equal => (is_any, "any type"),
        BitShiftLeft | BitShiftRight => (is_int, "an integer"),
        BitwiseAnd | BitwiseOr | BitwiseXor => (is_int, "an integer"),
        PRelu => (is_signed_or_float, "a signed integer or float"),
    };
    dtype(x, "A", ok, what)?;
    let shape = broadcast_shapes(&x.ty.shape, &y.ty.shape)?;
    if b == PRelu && shape != x.ty.shape {
        return Err(op_err!(
            "slope of shape {:?} must broadcast to X's shape {:?}",
            y.ty.shape,
            x.ty.shape
        ));
    }
    let out = if b.returns_bool() {
        DType::Bool
    } else {
        x.ty.dtype
    };
    Ok(TensorType::new(out, shape))
}

/// Broadcasts every input against the first and checks they share its dtype.
fn broadcast_all(inputs: &[(InputInfo<'_>, &str)]) -> Result<Vec<usize>, OpError> {
    let (first, first_name) = inputs[0];
    let mut shape = first.ty.shape.clone();
    for &(x, name) in &inputs[1..] {
        same_dtype(first, first_name, x, name)?;
        shape = broadcast_shapes(&shape, &x.ty.shape)?;
    }
    Ok(shape)
}

pub(super) fn variadic(v: VariadicOp, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    if inputs.is_empty() {
        return Err(op_err!("expected at least 1 input, got 0"));
    }
    let names: Vec<String> = (0..inputs.len()).map(|i| format!("data_{i}")).collect();
    let xs = names
        .iter()
        .enumerate()
        .map(|(i, n)| Ok((req(inputs, i, n)?, n.as_str())))
        .collect::<Result<Vec<_>, OpError>>()?;
    match v {
        VariadicOp::Mean => dtype(xs[0].0, "data_0", is_float, "a float")?,
        _ => dtype(xs[0].0, "data_0", is_numeric, "numeric")?,
    };
    let shape = broadcast_all(&xs)?;
    Ok(TensorType::new(xs[0].0.ty.dtype, shape))
}

pub(super) fn clip(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 3)?;
    let x = req(inputs, 0, "input")?;
    dtype(x, "input", is_numeric, "numeric")?;
    for (i, name) in [(1, "min"), (2, "max")] {
        if let Some(m) = opt(inputs, i) {
            same_dtype(x, "input", m, name)?;
            scalar_like(m, name)?;
        }
    }
    Ok(x.ty.clone())
}

pub(super) fn where_(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 3, 3)?;
    let c = req(inputs, 0, "condition")?;
    let x = req(inputs, 1, "X")?;
    let y = req(inputs, 2, "Y")?;
    dtype(c, "condition", is_bool, "bool")?;
    same_dtype(x, "X", y, "Y")?;
    let shape = broadcast_shapes(&c.ty.shape, &broadcast_shapes(&x.ty.shape, &y.ty.shape)?)?;
    Ok(TensorType::new(x.ty.dtype, shape))
}

pub(super) fn cast(to: DType, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "input")?;
    Ok(TensorType::new(to, x.ty.shape.clone()))
}

#[cfg(test)]
mod tests {
    use super::super::{infer, InputInfo};
    use crate::dtype::{DType, TensorType};
    use crate::op::{Activation, BinaryOp, Op, UnaryOp, VariadicOp};

    fn t(d: DType, s: &[usize]) -> TensorType {
        TensorType::new(d, s.to_vec())
    }

    fn run(op: Op, tys: &[TensorType]) -> Result<TensorType, String> {
        let infos: Vec<_> = tys
            .iter()
            .map(|ty| Some(InputInfo { ty, value: None }))
            .collect();
        infer(&op, &infos, 1)
            .map(|mut v| v.remove(0))
            .map_err(|e| e.0)
    }

    #[test]
    fn unary_keeps_type_and_checks_dtype() {
        let x = t(DType::F32, &[2, 3]);
        assert_eq!(
            run(Op::Unary(UnaryOp::Exp), std::slice::from_ref(&x)).unwrap(),
            x
        );
        assert_eq!(
            run(Op::Unary(UnaryOp::IsNaN), std::slice::from_ref(&x)).unwrap(),
            t(DType::Bool, &[2, 3])
        );
        let e = run(Op::Unary(UnaryOp::Exp), &[t(DType::I32, &[2])]).unwrap_err();
        assert!(e.contains("must be a float, got i32"), "{e}");
        let e = run(Op::Unary(UnaryOp::Not), &[x]).unwrap_err();
        assert!(e.contains("must be bool"), "{e}");
        assert!(run(Op::Unary(UnaryOp::Abs), &[])
            .unwrap_err()
            .contains("expected 1 inputs, got 0"));
    }

    #[test]
    fn activation_is_inf_returns_bool() {
        let op = Op::Activation(Activation::IsInf {
            detect_positive: true,
            detect_negative: true,
        });
        assert_eq!(
            run(op, &[t(DType::F16, &[4])]).unwrap(),
            t(DType::Bool, &[4])
        );
        let op = Op::Activation(Activation::LeakyRelu { alpha: 0.1 });
        assert!(run(op, &[t(DType::I64, &[4])]).is_err());
    }

    #[test]
    fn binary_broadcasts() {
        let a = t(DType::F32, &[2, 1, 4]);
        let b = t(DType::F32, &[3, 1]);
        assert_eq!(
            run(Op::Binary(BinaryOp::Add), &[a.clone(), b.clone()]).unwrap(),
            t(DType::F32, &[2, 3, 4])
        );
        assert_eq!(
            run(Op::Binary(BinaryOp::Less), &[a, b]).unwrap(),
            t(DType::Bool, &[2, 3, 4])
        );
        let e = run(
            Op::Binary(BinaryOp::Add),
            &[t(DType::F32, &[2, 3]), t(DType::F32, &[4])],
        )
        .unwrap_err();
        assert!(e.contains("cannot be broadcast"), "{e}");
        let e = run(
            Op::Binary(BinaryOp::Mul),
            &[t(DType::F32, &[2]), t(DType::I64, &[2])],
        )
        .unwrap_err();
        assert!(e.contains("same dtype, got f32 and i64"), "{e}");
    }

    #[test]
    fn binary_dtype_rules() {
        let b = t(DType::Bool, &[3]);
        assert_eq!(
            run(Op::Binary(BinaryOp::And), &[b.clone(), b.clone()]).unwrap(),
            b
        );
        assert!(run(Op::Binary(BinaryOp::Add), &[b.clone(), b.clone()]).is_err());
        assert_eq!(
            run(Op::Binary(BinaryOp::Equal), &[b.clone(), b.clone()]).unwrap(),
            b
        );
        let u = t(DType::U8, &[3]);
        assert!(run(Op::Binary(BinaryOp::BitShiftLeft), &[u.clone(), u]).is_ok());
        let i = t(DType::I8, &[3]);
        assert!(run(Op::Binary(BinaryOp::BitShiftLeft), &[i.clone(), i]).is_ok());
        let f = t(DType::F32, &[3]);
        assert!(run(Op::Binary(BinaryOp::BitShiftLeft), &[f.clone(), f.clone()]).is_err());
        assert!(run(
            Op::Binary(BinaryOp::Mod { fmod: false }),
            &[f.clone(), f.clone()]
        )
        .is_ok());
        assert!(run(
            Op::Binary(BinaryOp::Mod { fmod: true }),
            &[f.clone(), f.clone()]
        )
        .is_ok());
        // Pow's exponent may differ in type.
        assert_eq!(
            run(Op::Binary(BinaryOp::Pow), &[f.clone(), t(DType::I64, &[])]).unwrap(),
            f
        );
    }

    #[test]
    fn prelu_slope_is_unidirectional() {
        let x = t(DType::F32, &[1, 3, 4, 4]);
        let ok = run(
            Op::Binary(BinaryOp::PRelu),
            &[x.clone(), t(DType::F32, &[3, 1, 1])],
        );
        assert_eq!(ok.unwrap(), x);
        assert!(run(
            Op::Binary(BinaryOp::PRelu),
            &[t(DType::F32, &[3]), t(DType::F32, &[2, 3])]
        )
        .is_err());
    }

    #[test]
    fn variadic_where_clip_cast() {
        let f = |s: &[usize]| t(DType::F32, s);
        let out = run(
            Op::Variadic(VariadicOp::Sum),
            &[f(&[3, 1]), f(&[4]), f(&[])],
        )
        .unwrap();
        assert_eq!(out, f(&[3, 4]));
        assert!(run(Op::Variadic(VariadicOp::Max), &[]).is_err());
        assert!(run(Op::Variadic(VariadicOp::Mean), &[t(DType::I32, &[1])]).is_err());
        let w = run(Op::Where, &[t(DType::Bool, &[2, 1]), f(&[3]), f(&[1])]).unwrap();
        assert_eq!(w, f(&[2, 3]));
        let e = run(Op::Where, &[f(&[2]), f(&[2]), f(&[2])]).unwrap_err();
        assert!(e.contains("`condition` must be bool"), "{e}");
        assert_eq!(run(Op::Clip, &[f(&[5]), f(&[]), f(&[1])]).unwrap(), f(&[5]));
        assert!(run(Op::Clip, &[f(&[5]), f(&[2])])
            .unwrap_err()
            .contains("scalar"));
        let infos = [
            Some(InputInfo {
                ty: &f(&[5]),
                value: None,
            }),
            None,
            None,
        ];
        assert!(infer(&Op::Clip, &infos, 1).is_ok());
        let c = run(Op::Cast { to: DType::I8 }, &[f(&[2, 2])]).unwrap();
        assert_eq!(c, t(DType::I8, &[2, 2]));
    }

    #[test]
    fn wrong_output_count_is_an_error() {
        let x = t(DType::F32, &[2]);
        let infos = [Some(InputInfo {
            ty: &x,
            value: None,
        })];
        let e = infer(&Op::Unary(UnaryOp::Relu), &infos, 2).unwrap_err();
        assert!(e.0.contains("expected 1 output, got 2"), "{e}");
    }
}
