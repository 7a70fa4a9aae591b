//! Reference semantics of the channels-last ops (`Op::ConvNhwc`): transpose
//! to channels-first, apply the ONNX op, transpose back.

use crate::error::OpError;
use crate::layout::{to_first, to_last};
use crate::dtype::TensorType;
use crate::layout::permute;
use crate::op::{Op, Window};
use crate::op_err;
use crate::tensor::Tensor;

type Out = Result<Vec<Tensor>, OpError>;
type Args<'a, 'b> = &'a [Option<&'b Tensor>];

pub(super) fn pool_nhwc(pool: &Op, inputs: Args, out_types: &[TensorType]) -> Out {
    let x = inputs.first().copied().flatten().ok_or_else(|| op_err!("PoolNhwc needs X"))?;
    let r = x.shape().len();
    let xt = super::shape::transpose(Some(&to_first(r)), &[Some(x)])?.remove(0);
    let ty: Vec<TensorType> = out_types.iter().map(|t| TensorType { dtype: t.dtype, shape: permute(&t.shape, &to_first(r)) }).collect();
    let y = super::eval_op(pool, &[Some(&xt)], &ty)?.remove(0);
    super::shape::transpose(Some(&to_last(r)), &[Some(&y)])
}

pub(super) fn conv_nhwc(w: &Window, group: usize, inputs: Args) -> Out {
    let x = inputs.first().copied().flatten().ok_or_else(|| op_err!("ConvNhwc needs X"))?;
    let r = x.shape().len();
    let xt = super::shape::transpose(Some(&to_first(r)), &[Some(x)])?.remove(0);
    let mut ins: Vec<Option<&Tensor>> = inputs.to_vec();
    ins[0] = Some(&xt);
    let y = super::nn::conv(w, group, &ins)?.remove(0);
    super::shape::transpose(Some(&to_last(r)), &[Some(&y)])
}
