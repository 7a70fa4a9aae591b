//! Loss functions: NegativeLogLikelihoodLoss (SoftmaxCrossEntropyLoss is
//! imported as LogSoftmax followed by it).

use super::util::*;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::LossReduction;
use crate::op_err;

pub(super) fn nll(reduction: LossReduction, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 3)?;
    let x = req(inputs, 0, "input")?;
    let t = req(inputs, 1, "target")?;
    dtype(x, "input", is_float, "a float")?;
    dtype(t, "target", |d| matches!(d, DType::I32 | DType::I64), "i32 or i64")?;
    min_rank(x, "input", 2)?;
    let xs = &x.ty.shape;
    let mut want = vec![xs[0]];
    want.extend_from_slice(&xs[2..]);
    if t.ty.shape != want {
        return Err(op_err!(
            "target must have shape {want:?} (input {xs:?} without the class axis), got {:?}",
            t.ty.shape
        ));
    }
    if let Some(w) = opt(inputs, 2) {
        same_dtype(x, "input", w, "weight")?;
        if w.ty.shape != [xs[1]] {
            return Err(op_err!("weight must have shape [{}], got {:?}", xs[1], w.ty.shape));
        }
    }
    let shape = match reduction {
        LossReduction::None => want,
        LossReduction::Sum | LossReduction::Mean => Vec::new(),
    };
    Ok(TensorType::new(x.ty.dtype, shape))
}
