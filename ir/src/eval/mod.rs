//! Reference evaluator: straightforward, obviously-correct semantics of every
//! op, used for constant folding, `onnxc run --interpret` and as a test oracle.
//!
//! Semantics follow the newest ONNX opset and the ONNX reference
//! implementation (numpy): NaN propagates through Max/Min, integer ops are
//! exact and wrap in their own type, f16/bf16 compute in f32. Where ONNX
//! leaves a result undefined: integer `x / 0` and `x % 0` give 0 (numpy),
//! shift counts outside [0, width) give 0 (-1 for a negative value
//! shifted right; numpy), and out-of-range
//! float-to-int casts saturate with NaN to 0, as the kernel IR's `Cast`
//! (`kir.rs`) does, so folded constants and compiled code agree.
//!
//! Layout: `util` (typed views of tensors, numeric traits, broadcasting
//! and gather helpers), then one file per op family.

mod elementwise;
pub mod index;
mod loss;
mod quant;
mod rnn;
pub mod resize;
mod nn;
mod layout;
mod norm;
mod attention;
mod pool;
mod reduce;
mod shape;
pub(crate) mod util;
pub mod spatial;
mod seqmix;
pub mod signal;
pub mod training;
mod fused;
pub mod tfidf;
mod dynamic;
pub mod tree;

use crate::dtype::TensorType;
use crate::error::{IrError, OpError};
use crate::graph::{Graph, Node, ValueId};
use crate::op::Op;
use crate::tensor::Tensor;

/// Evaluates one op. `out_types` are the node's inferred output types; the
/// evaluator computes shapes itself and only reads how many outputs the node
/// has (MaxPool indices, Dropout mask, Split).
pub fn eval_op(
    op: &Op,
    inputs: &[Option<&Tensor>],
    out_types: &[TensorType],
) -> Result<Vec<Tensor>, OpError> {
    let n_out = out_types.len().max(1);
    match op {
        Op::Unary(u) => elementwise::unary(*u, inputs),
        Op::Activation(a) => elementwise::activation(a, inputs),
        Op::Binary(b) => elementwise::binary(*b, inputs),
        Op::Variadic(v) => elementwise::variadic(*v, inputs),
        Op::Clip => elementwise::clip(inputs),
        Op::Where => elementwise::where_(inputs),
        Op::Cast { to } => elementwise::cast(*to, true, inputs),
        Op::CastNoSaturate { to } => elementwise::cast(*to, false, inputs),
        Op::Conv { window, group } => nn::conv(window, *group, inputs),
        Op::BatchNormalization { epsilon } => nn::batch_norm(*epsilon, inputs),
        Op::MaxPool { window, ceil_mode } => pool::max_pool(window, *ceil_mode, inputs, n_out),
        Op::AveragePool {
            window,
            ceil_mode,
            count_include_pad,
        } => pool::avg_pool(window, *ceil_mode, *count_include_pad, inputs),
        Op::GlobalAveragePool => pool::global_pool(false, inputs),
        Op::GlobalMaxPool => pool::global_pool(true, inputs),
        Op::Lrn {
            size,
            alpha,
            beta,
            bias,
        } => pool::lrn(*size, *alpha, *beta, *bias, inputs),
        Op::Gemm {
            alpha,
            beta,
            trans_a,
            trans_b,
        } => nn::gemm(*alpha, *beta, *trans_a, *trans_b, inputs),
        Op::MatMul => nn::matmul(inputs),
        Op::Softmax { axis } => nn::softmax(*axis, nn::SoftKind::Softmax, inputs),
        Op::LogSoftmax { axis } => nn::softmax(*axis, nn::SoftKind::LogSoftmax, inputs),
        Op::Hardmax { axis } => nn::softmax(*axis, nn::SoftKind::Hardmax, inputs),
        Op::Dropout => nn::dropout(inputs, n_out),
        Op::Reshape { allowzero } => shape::reshape(*allowzero, inputs),
        Op::Flatten { axis } => shape::flatten(*axis, inputs),
        Op::Transpose { perm } => shape::transpose(perm.as_deref(), inputs),
        Op::Squeeze => shape::squeeze(inputs),
        Op::Unsqueeze => shape::unsqueeze(inputs),
        Op::Concat { axis } => shape::concat(*axis, inputs),
        Op::Shape { start, end } => shape::shape(*start, *end, inputs),
        Op::Size => shape::size(inputs),
        Op::Gather { axis } => shape::gather(*axis, inputs),
        Op::ConstantOfShape { value } => shape::constant_of_shape(value, inputs),
        Op::Slice => shape::slice(inputs),
        Op::Expand => shape::expand(inputs),
        Op::Split { axis, num_outputs } => shape::split(*axis, *num_outputs, inputs, n_out),
        Op::Pad { mode } => shape::pad(*mode, inputs),
        Op::Tile => shape::tile(inputs),
        Op::Range => shape::range(inputs),
        Op::NegativeLogLikelihoodLoss { reduction, ignore_index } => loss::nll(*reduction, *ignore_index, inputs),
        Op::Recurrent(a) => rnn::recurrent(a, inputs),
        Op::QuantizeLinear { axis, block_size, output_dtype } => quant::quantize(*axis, *block_size, *output_dtype, inputs),
        Op::DequantizeLinear { axis, block_size, output_dtype } => quant::dequantize(*axis, *block_size, *output_dtype, inputs),
        Op::LayerNormalization { .. }
        | Op::RMSNormalization { .. }
        | Op::GroupNormalization { .. }
        | Op::InstanceNormalization { .. }
        | Op::LpNormalization { .. }
        | Op::MeanVarianceNormalization { .. } => norm::normalize(op, inputs, n_out),
        Op::Swish { alpha } | Op::SwiGLU { alpha } => norm::gated(*alpha, inputs),
        Op::Attention { .. } => attention::attention(op, inputs, n_out),
        Op::RotaryEmbedding { .. } => attention::rotary(op, inputs),
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
        | Op::Einsum { .. } => index::eval(op, inputs, n_out),
        Op::Resize(_) | Op::ConvTranspose { .. } | Op::LpPool { .. } => resize::eval(op, inputs, n_out),
        Op::Reduce {
            op,
            keepdims,
            noop_with_empty_axes,
        } => reduce::reduce(*op, *keepdims, *noop_with_empty_axes, inputs),
        Op::ArgMax {
            axis,
            keepdims,
            select_last_index,
        } => reduce::arg_extreme(true, *axis, *keepdims, *select_last_index, inputs),
        Op::ArgMin {
            axis,
            keepdims,
            select_last_index,
        } => reduce::arg_extreme(false, *axis, *keepdims, *select_last_index, inputs),
        Op::BitCast { .. } | Op::GridSample { .. } | Op::AffineGrid { .. } => spatial::eval(op, inputs),
        Op::LinearAttention { .. } => seqmix::linear_attention(op, inputs, n_out),
        Op::CausalConvWithState { .. } => seqmix::causal_conv(op, inputs, n_out),
        Op::Dft { .. } => signal::dft(op, inputs),
        Op::Stft { .. } => signal::stft(op, inputs),
        Op::Window { .. } => signal::window(op, inputs),
        Op::MelWeightMatrix { .. } => signal::mel(op, inputs),
        Op::Optimizer(k) => training::optimizer(*k, inputs),
        Op::Fused { base, base_inputs, post } => fused::fused(base, *base_inputs, post, inputs),
        Op::FusedElementwise { program } => fused::elementwise(program, inputs),
        Op::Det | Op::TensorScatter { .. } | Op::CenterCropPad { .. } | Op::Col2Im { .. } => spatial::misc(op, inputs),
        Op::TfIdfVectorizer(a) => tfidf::eval(a, inputs),
        Op::NonZero | Op::Compress { .. } | Op::Unique { .. } | Op::NonMaxSuppression { .. } => {
            dynamic::eval(op, inputs, n_out)
        }
        Op::RoiAlign { .. } => spatial::roi_align(op, inputs),
        Op::DeformConv { window, group, offset_group } => spatial::deform_conv(window, *group, *offset_group, inputs),
        Op::MaxUnpool { window } => spatial::max_unpool(window, inputs),
        Op::TreeEnsemble(a) => tree::eval(a, inputs),
        Op::ConvNhwc { window, group } => layout::conv_nhwc(window, *group, inputs),
        Op::PoolNhwc { pool } => layout::pool_nhwc(pool, inputs, out_types),
    }
}

/// Evaluates the whole graph on `inputs` (in graph-input order).
pub fn eval_graph(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, IrError> {
    let mut env = bind_inputs(g, inputs)?;
    // Remaining reads of every value: intermediates are dropped after their
    // last read, so peak memory stays near the live set of a big network.
    let mut uses = g.use_counts();
    let dynamic = crate::dynamic::dynamic_values(g);
    for n in &g.nodes {
        let outs = eval_node(g, n, &env, &dynamic)?;
        for (o, t) in n.outputs.iter().zip(outs) {
            if uses.contains_key(o) {
                env[o.0 as usize] = Some(t);
            }
        }
        for id in n.inputs.iter().flatten() {
            if let Some(c) = uses.get_mut(id) {
                *c -= 1;
                if *c == 0 {
                    env[id.0 as usize] = None;
                }
            }
        }
    }
    g.outputs
        .iter()
        .map(|o| env[o.0 as usize].clone().ok_or_else(|| undefined(g, *o)))
        .collect()
}

fn undefined(g: &Graph, id: ValueId) -> IrError {
    IrError::Other(format!(
        "value `{}` is used before it is defined",
        g.display_name(id)
    ))
}

/// The value environment: constants, then the checked graph inputs.
fn bind_inputs(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Option<Tensor>>, IrError> {
    let mut env: Vec<Option<Tensor>> = g.values.iter().map(|v| v.konst.clone()).collect();
    if inputs.len() != g.inputs.len() {
        return Err(IrError::Other(format!(
            "graph has {} inputs, {} given",
            g.inputs.len(),
            inputs.len()
        )));
    }
    for (id, t) in g.inputs.iter().zip(inputs) {
        if t.ty() != g.ty(*id) {
            return Err(IrError::Other(format!(
                "input `{}` expects {}, got {}",
                g.display_name(*id),
                g.ty(*id),
                t.ty()
            )));
        }
        env[id.0 as usize] = Some(t.clone());
    }
    Ok(env)
}

/// Evaluates one node and checks its results against the declared types.
/// `dynamic`: the values with data-dependent extents (typed with their bound).
fn eval_node(
    g: &Graph,
    n: &Node,
    env: &[Option<Tensor>],
    dynamic: &std::collections::HashMap<ValueId, usize>,
) -> Result<Vec<Tensor>, IrError> {
    let mut args: Vec<Option<&Tensor>> = Vec::with_capacity(n.inputs.len());
    for i in &n.inputs {
        args.push(match i {
            Some(id) => Some(
                env[id.0 as usize]
                    .as_ref()
                    .ok_or_else(|| undefined(g, *id))?,
            ),
            None => None,
        });
    }
    let types: Vec<TensorType> = n.outputs.iter().map(|o| g.ty(*o).clone()).collect();
    let node_err = |msg: String| IrError::Node {
        node: n.name.clone(),
        op: n.op.onnx_name(),
        msg,
    };
    let outs = eval_op(&n.op, &args, &types).map_err(|e| node_err(e.0))?;
    if outs.len() < n.outputs.len() {
        return Err(node_err(format!(
            "evaluator produced {} outputs",
            outs.len()
        )));
    }
    for (o, t) in n.outputs.iter().zip(&outs) {
        // Data-dependent outputs are typed with their upper bound.
        if dynamic.get(o).is_some_and(|&a| crate::dynamic::fits_bound(t.ty(), g.ty(*o), a)) {
            continue;
        }
        // A mismatch means the shape rule and the evaluator disagree;
        // failing here beats propagating a wrongly typed value.
        if t.ty() != g.ty(*o) {
            return Err(node_err(format!(
                "evaluated output `{}` is {}, but its declared type is {}",
                g.display_name(*o),
                t.ty(),
                g.ty(*o)
            )));
        }
    }
    Ok(outs)
}
