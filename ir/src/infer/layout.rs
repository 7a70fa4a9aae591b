//! Shape rules of the channels-last ops (`Op::ConvNhwc`): the channels-first
//! rule applied to the transposed input, its result transposed back.

use super::util::*;
use crate::dtype::TensorType;
use crate::error::OpError;
use crate::infer::InputInfo;
use crate::layout::{permute, to_first, to_last};
use crate::op::{Op, Window};
use crate::op_err;

/// Whether `op` has a channels-last form (`Op::PoolNhwc`).
pub fn is_nhwc_pool(op: &Op) -> bool {
    matches!(op, Op::MaxPool { .. } | Op::AveragePool { .. } | Op::GlobalAveragePool | Op::GlobalMaxPool)
}

pub(super) fn pool_nhwc(pool: &Op, inputs: Inputs<'_, '_>, num_outputs: usize) -> Result<TensorType, OpError> {
    if !is_nhwc_pool(pool) || num_outputs != 1 || inputs.len() != 1 {
        return Err(op_err!("PoolNhwc: {} with {num_outputs} outputs has no channels-last form", pool.onnx_name()));
    }
    let x = inputs[0].as_ref().ok_or_else(|| op_err!("PoolNhwc needs X"))?;
    let r = x.ty.shape.len();
    if r < 3 {
        return Err(op_err!("PoolNhwc: X must have rank 3 or more, got {:?}", x.ty.shape));
    }
    let xt = TensorType { dtype: x.ty.dtype, shape: permute(&x.ty.shape, &to_first(r)) };
    let y = super::infer(pool, &[Some(InputInfo { ty: &xt, value: None })], 1)?.remove(0);
    Ok(TensorType { dtype: y.dtype, shape: permute(&y.shape, &to_last(r)) })
}

pub(super) fn conv_nhwc(w: &Window, group: usize, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    let x = inputs.first().and_then(|i| i.as_ref()).ok_or_else(|| op_err!("ConvNhwc needs X"))?;
    let r = x.ty.shape.len();
    if r < 3 {
        return Err(op_err!("ConvNhwc: X must have rank 3 or more, got {:?}", x.ty.shape));
    }
    let xt = TensorType { dtype: x.ty.dtype, shape: permute(&x.ty.shape, &to_first(r)) };
    let mut ins: Vec<Option<InputInfo<'_>>> = inputs.to_vec();
    ins[0] = Some(InputInfo { ty: &xt, value: None });
    let y = super::nn::conv(w, group, &ins)?;
    Ok(TensorType { dtype: y.dtype, shape: permute(&y.shape, &to_last(r)) })
}
