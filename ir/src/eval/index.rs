//! Reference semantics of the index family.

use super::util::*;
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;
use crate::tensor::Tensor;

pub(super) fn eval(op: &Op, inputs: &[Option<&Tensor>], n_out: usize) -> Result<Vec<Tensor>, OpError> {
    let _ = (inputs, n_out);
    Err(op_err!("{} is not supported yet", op.onnx_name()))
}
