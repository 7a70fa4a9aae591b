//! Shape rules of the resize family.

use super::util::*;
use super::InputInfo;
use crate::dtype::TensorType;
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;

pub(super) fn infer(op: &Op, inputs: &[Option<InputInfo<'_>>], num_outputs: usize) -> Result<Vec<TensorType>, OpError> {
    let _ = (inputs, num_outputs);
    Err(op_err!("{} is not supported yet", op.onnx_name()))
}
