//! Shape and dtype rules, one module per op family. `infer` is the single
//! entry point used by `Graph::add_node`, the verifier and the passes.

use crate::dtype::TensorType;
use crate::error::OpError;
use crate::op::Op;
use crate::tensor::Tensor;

/// What a shape rule knows about one input: its type and, for constants, its value
/// (Reshape's `shape`, Slice's `starts`, ... must be constant to compile ahead of time).
#[derive(Clone, Copy, Debug)]
pub struct InputInfo<'a> {
    pub ty: &'a TensorType,
    pub value: Option<&'a Tensor>,
}

/// Output types of `op` applied to `inputs` (`None` = omitted optional input).
pub fn infer(
    op: &Op,
    inputs: &[Option<InputInfo<'_>>],
    num_outputs: usize,
) -> Result<Vec<TensorType>, OpError> {
    let _ = (inputs, num_outputs);
    Err(OpError::new(format!("no shape rule for {}", op.onnx_name())))
}

/// Numpy multidirectional broadcasting of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, OpError> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for i in 0..r {
        let da = if i + a.len() >= r { a[i + a.len() - r] } else { 1 };
        let db = if i + b.len() >= r { b[i + b.len() - r] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(OpError::new(format!(
                    "shapes {a:?} and {b:?} cannot be broadcast together"
                )))
            }
        };
    }
    Ok(out)
}

/// Normalizes a possibly negative axis against `rank`.
pub fn norm_axis(axis: i64, rank: usize) -> Result<usize, OpError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r.max(1) {
        return Err(OpError::new(format!("axis {axis} out of range for rank {rank}")));
    }
    Ok(a as usize)
}
