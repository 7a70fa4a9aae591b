//! Shape and dtype rules, one module per op family. `infer` is the single
//! entry point used by `Graph::add_node`, the verifier and the passes.
//!
//! Rules follow the newest ONNX opset. Every rule validates arity, dtypes and
//! ranks and reports problems as `OpError`s naming the input and what was
//! expected; nothing here may panic on a malformed graph, since graphs come
//! from untrusted model files.

mod elementwise;
mod index;
mod loss;
mod quant;
mod rnn;
mod resize;
mod nn;
mod norm;
mod attention;
mod reduce;
mod shape;
mod util;
mod spatial;
mod seqmix;
mod signal;
mod training;
mod fused;
mod layout;
pub use fused::program_types;
mod dynamic;

use crate::dtype::TensorType;
use crate::error::OpError;
use crate::op::Op;
use crate::tensor::Tensor;

/// Slice start/length along one axis under ONNX's clamping rules; shared with
/// the evaluator and the lowering so they agree with the inferred shapes.
pub use shape::slice_range;
pub use spatial::{max_unpool_inferred, center_crop_pad_shape, col2im_geometry, tensor_scatter_axis, Col2ImGeometry};

pub use norm::{norm_plan, NormKind, NormPlan};
pub use attention::{attn_plan, rotary_plan, AttnMask, AttnPlan, RotaryPlan, Strides4};

pub use quant::{is_quant_int, is_quant_type, quant_layout, quant_range, QuantLayout};
pub use rnn::{gate_count, num_directions, output_count};
pub use seqmix::{causal_conv_dims, lin_attn_plan, LinAttnPlan};
pub use signal::{dft_plan, stft_plan, DftPlan, StftPlan};
pub use training::optimizer_count;

/// What a shape rule knows about one input: its type and, for constants, its value
/// (Reshape's `shape`, Slice's `starts`, ... must be constant to compile ahead of time).
#[derive(Clone, Copy, Debug)]
pub struct InputInfo<'a> {
    pub ty: &'a TensorType,
    pub value: Option<&'a Tensor>,
}

/// Largest tensor the compiler accepts. Anything bigger is almost certainly a
/// corrupt or hostile model, and refusing it here keeps later stages from
/// attempting absurd allocations or overflowing offset arithmetic.
pub const MAX_TENSOR_BYTES: usize = 1 << 40;

/// Output types of `op` applied to `inputs` (`None` = omitted optional input).
pub fn infer(
    op: &Op,
    inputs: &[Option<InputInfo<'_>>],
    num_outputs: usize,
) -> Result<Vec<TensorType>, OpError> {
    let out = dispatch(op, inputs, num_outputs)?;
    if out.len() != num_outputs {
        return Err(OpError::new(format!(
            "the node has {num_outputs} outputs, but the op produces {}",
            out.len()
        )));
    }
    for ty in &out {
        util::check_size(ty)?;
    }
    Ok(out)
}

fn dispatch(
    op: &Op,
    inputs: &[Option<InputInfo<'_>>],
    num_outputs: usize,
) -> Result<Vec<TensorType>, OpError> {
    // Ops with several (or optional) outputs check the count themselves;
    // everything else produces exactly one.
    let multi = matches!(op, Op::Recurrent(_) | Op::Dropout | Op::MaxPool { .. } | Op::Split { .. } | Op::TopK { .. } | Op::LayerNormalization { .. } | Op::Attention { .. } | Op::LinearAttention { .. } | Op::CausalConvWithState { .. } | Op::Optimizer(_) | Op::Unique { .. });
    if !multi && num_outputs != 1 {
        return Err(OpError::new(format!(
            "expected 1 output, got {num_outputs}"
        )));
    }
    use elementwise as ew;
    let one = |t: TensorType| Ok(vec![t]);
    match op {
        Op::Unary(u) => one(ew::unary(*u, inputs)?),
        Op::Activation(a) => one(ew::activation(a, inputs)?),
        Op::Binary(b) => one(ew::binary(*b, inputs)?),
        Op::Variadic(v) => one(ew::variadic(*v, inputs)?),
        Op::Clip => one(ew::clip(inputs)?),
        Op::Where => one(ew::where_(inputs)?),
        Op::Cast { to } | Op::CastNoSaturate { to } => one(ew::cast(*to, inputs)?),

        Op::Conv { window, group } => one(nn::conv(window, *group, inputs)?),
        Op::BatchNormalization { .. } => one(nn::batch_norm(inputs)?),
        Op::MaxPool { window, ceil_mode } => nn::max_pool(window, *ceil_mode, inputs, num_outputs),
        Op::AveragePool {
            window, ceil_mode, ..
        } => one(nn::average_pool(window, *ceil_mode, inputs)?),
        Op::GlobalAveragePool | Op::GlobalMaxPool => one(nn::global_pool(inputs)?),
        Op::Lrn { size, .. } => one(nn::lrn(*size, inputs)?),
        Op::Gemm {
            trans_a, trans_b, ..
        } => one(nn::gemm(*trans_a, *trans_b, inputs)?),
        Op::MatMul => one(nn::matmul(inputs)?),
        Op::Softmax { axis } | Op::LogSoftmax { axis } | Op::Hardmax { axis } => {
            one(nn::softmax(*axis, inputs)?)
        }
        Op::Dropout => nn::dropout(inputs, num_outputs),

        Op::Reshape { allowzero } => one(shape::reshape(*allowzero, inputs)?),
        Op::Flatten { axis } => one(shape::flatten(*axis, inputs)?),
        Op::Transpose { perm } => one(shape::transpose(perm.as_deref(), inputs)?),
        Op::Squeeze => one(shape::squeeze(inputs)?),
        Op::Unsqueeze => one(shape::unsqueeze(inputs)?),
        Op::Concat { axis } => one(shape::concat(*axis, inputs)?),
        Op::Shape { start, end } => one(shape::shape(*start, *end, inputs)?),
        Op::Size => one(shape::size(inputs)?),
        Op::Gather { axis } => one(shape::gather(*axis, inputs)?),
        Op::ConstantOfShape { value } => one(shape::constant_of_shape(value, inputs)?),
        Op::Slice => one(shape::slice(inputs)?),
        Op::Expand => one(shape::expand(inputs)?),
        Op::Split {
            axis,
            num_outputs: n,
        } => shape::split(*axis, *n, inputs, num_outputs),
        Op::Pad { mode } => one(shape::pad(*mode, inputs)?),
        Op::Tile => one(shape::tile(inputs)?),
        Op::Range => one(shape::range(inputs)?),
        Op::NegativeLogLikelihoodLoss { reduction, .. } => one(loss::nll(*reduction, inputs)?),
        Op::Recurrent(a) => rnn::recurrent(a, inputs, num_outputs),
        Op::QuantizeLinear { axis, block_size, output_dtype } => {
            one(quant::quantize(*axis, *block_size, *output_dtype, inputs)?)
        }
        Op::DequantizeLinear { axis, block_size, output_dtype } => {
            one(quant::dequantize(*axis, *block_size, *output_dtype, inputs)?)
        }
        Op::LayerNormalization { .. }
        | Op::RMSNormalization { .. }
        | Op::GroupNormalization { .. }
        | Op::InstanceNormalization { .. }
        | Op::LpNormalization { .. }
        | Op::MeanVarianceNormalization { .. } => norm::norm(op, inputs, num_outputs),
        Op::Swish { .. } | Op::SwiGLU { .. } => one(norm::gated(op, inputs)?),
        Op::Attention { .. } => attention::attention(op, inputs, num_outputs),
        Op::RotaryEmbedding { .. } => one(attention::rotary(op, inputs)?),
        Op::GatherElements { .. }
        | Op::GatherND { .. }
        | Op::ScatterElements { .. }
        | Op::ScatterND { .. }
        | Op::Trilu { .. }
        | Op::CumSum { .. }
        | Op::CumProd { .. }
        | Op::TopK { .. }
        | Op::OneHot { .. }
        | Op::EyeLike { .. }
        | Op::ReverseSequence { .. }
        | Op::DepthToSpace { .. }
        | Op::SpaceToDepth { .. }
        | Op::Einsum { .. } => index::infer(op, inputs, num_outputs),
        Op::Resize(_) | Op::ConvTranspose { .. } | Op::LpPool { .. } => resize::infer(op, inputs, num_outputs),

        Op::Reduce {
            op,
            keepdims,
            noop_with_empty_axes,
        } => one(reduce::reduce(
            *op,
            *keepdims,
            *noop_with_empty_axes,
            inputs,
        )?),
        Op::ArgMax { axis, keepdims, .. } | Op::ArgMin { axis, keepdims, .. } => {
            one(reduce::arg(*axis, *keepdims, inputs)?)
        }
        Op::BitCast { to } => one(spatial::bitcast(*to, inputs)?),
        Op::GridSample { .. } | Op::AffineGrid { .. } => spatial::infer(op, inputs),
        Op::LinearAttention { .. } => seqmix::linear_attention(op, inputs, num_outputs),
        Op::CausalConvWithState { .. } => seqmix::causal_conv(inputs, num_outputs),
        Op::Dft { .. } => one(signal::dft(op, inputs)?),
        Op::Stft { .. } => one(signal::stft(op, inputs)?),
        Op::Window { .. } => one(signal::window(op, inputs)?),
        Op::MelWeightMatrix { .. } => one(signal::mel(op, inputs)?),
        Op::Optimizer(k) => training::optimizer(*k, inputs, num_outputs),
        Op::Fused { base, base_inputs, post } => one(fused::fused(base, *base_inputs, post, inputs)?),
        Op::FusedElementwise { program } => one(fused::program_types(program, inputs)?.pop().ok_or_else(|| OpError::new("empty program"))?),
        Op::Det | Op::TensorScatter { .. } | Op::CenterCropPad { .. } | Op::Col2Im { .. } => spatial::misc(op, inputs),
        Op::TfIdfVectorizer(a) => one(spatial::tfidf(a, inputs)?),
        Op::NonZero | Op::Compress { .. } | Op::Unique { .. } | Op::NonMaxSuppression { .. } => {
            dynamic::infer(op, inputs, num_outputs)
        }
        Op::RoiAlign { .. } => one(spatial::roi_align(op, inputs)?),
        Op::DeformConv { window, group, offset_group } => one(spatial::deform_conv(window, *group, *offset_group, inputs)?),
        Op::MaxUnpool { window } => one(spatial::max_unpool(window, inputs)?),
        Op::TreeEnsemble(a) => one(spatial::tree_ensemble(a, inputs)?),
        Op::ConvNhwc { window, group } => one(layout::conv_nhwc(window, *group, inputs)?),
        Op::PoolNhwc { pool } => one(layout::pool_nhwc(pool, inputs, num_outputs)?),
    }
}

/// Numpy multidirectional broadcasting of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, OpError> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for i in 0..r {
        let da = if i + a.len() >= r {
            a[i + a.len() - r]
        } else {
            1
        };
        let db = if i + b.len() >= r {
            b[i + b.len() - r]
        } else {
            1
        };
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
        return Err(OpError::new(format!(
            "axis {axis} out of range for rank {rank}"
        )));
    }
    Ok(a as usize)
}
