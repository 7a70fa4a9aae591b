//! ai.onnx.preview.training optimizers (Adagrad, Adam, Momentum): inputs
//! R (learning rate), T (step count), then n tensors of each of X, G and
//! the optimizer's states; outputs the n new X, then the n new values of
//! each state, each typed like its input.

use super::util::*;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::OptimizerKind;
use crate::op_err;

/// The number of optimized tensors for `inputs` input slots.
pub fn optimizer_count(kind: OptimizerKind, inputs: usize) -> Result<usize, OpError> {
    let per = 2 + kind.states();
    if inputs < 2 + per || !(inputs - 2).is_multiple_of(per) {
        return Err(op_err!("expected R, T and a multiple of {per} tensors, got {inputs} inputs"));
    }
    Ok((inputs - 2) / per)
}

pub(super) fn optimizer(kind: OptimizerKind, inputs: Inputs<'_, '_>, num_outputs: usize) -> Result<Vec<TensorType>, OpError> {
    let n = optimizer_count(kind, inputs.len())?;
    let s = kind.states();
    if num_outputs != n * (1 + s) {
        return Err(op_err!("expected {} outputs, got {num_outputs}", n * (1 + s)));
    }
    let r = req(inputs, 0, "R")?;
    dtype(r, "R", is_float, "a float")?;
    scalar_like(r, "R")?;
    let t = req(inputs, 1, "T")?;
    dtype(t, "T", |d| d == DType::I64, "int64")?;
    scalar_like(t, "T")?;
    let mut xs = Vec::with_capacity(n);
    for i in 0..n {
        let x = req(inputs, 2 + i, "X")?;
        dtype(x, "X", is_float, "a float")?;
        for j in 1..2 + s {
            let y = req(inputs, 2 + j * n + i, "G/state")?;
            same_dtype(x, "X", y, "G/state")?;
            if y.ty.shape != x.ty.shape {
                return Err(op_err!("tensor {i}: shapes {:?} and {:?} differ", x.ty.shape, y.ty.shape));
            }
        }
        xs.push(x.ty.clone());
    }
    Ok((0..1 + s).flat_map(|_| xs.iter().cloned()).collect())
}
