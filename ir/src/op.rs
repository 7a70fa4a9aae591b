//! The operator set of the graph IR. One enum variant (or one family enum) per
//! ONNX op, with attributes as typed fields. The frontend normalizes every
//! opset version onto these definitions (e.g. Squeeze-1's `axes` attribute
//! becomes Squeeze-13's constant `axes` input), so the rest of the compiler
//! sees one form per op.
//!
//! Optional inputs are `None` in `Node::inputs`; the input order is always
//! ONNX's for the newest opset.

use crate::dtype::DType;
use crate::tensor::Tensor;
pub use crate::fused::{ElemArg, ElemFn, ElemInstr, PostOp};
use serde::{Deserialize, Serialize};

/// Elementwise ops with one input and no attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnaryOp {
    Abs,
    Neg,
    Exp,
    Log,
    Sqrt,
    Reciprocal,
    Floor,
    Ceil,
    /// Round half to even.
    Round,
    Sign,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
    Erf,
    Relu,
    Sigmoid,
    Tanh,
    Softsign,
    Softplus,
    HardSwish,
    Mish,
    Not,
    BitwiseNot,
    IsNaN,
    Identity,
}

/// Elementwise ops with one input and scalar attributes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    LeakyRelu { alpha: f32 },
    Elu { alpha: f32 },
    Selu { alpha: f32, gamma: f32 },
    Celu { alpha: f32 },
    HardSigmoid { alpha: f32, beta: f32 },
    ThresholdedRelu { alpha: f32 },
    Shrink { bias: f32, lambd: f32 },
    /// `tanh_approx` is Gelu's `approximate="tanh"`.
    Gelu { tanh_approx: bool },
    IsInf { detect_positive: bool, detect_negative: bool },
}

/// Elementwise ops with two inputs and numpy broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    /// `fmod = true` is C fmod (sign of dividend); false is Python's mod (sign of divisor).
    Mod { fmod: bool },
    Max,
    Min,
    And,
    Or,
    Xor,
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    BitShiftLeft,
    BitShiftRight,
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
    PRelu,
}

impl BinaryOp {
    /// Comparison and logical ops produce bool.
    pub fn returns_bool(self) -> bool {
        use BinaryOp::*;
        matches!(self, And | Or | Xor | Equal | Less | LessOrEqual | Greater | GreaterOrEqual)
    }
}

/// Variadic elementwise ops (Sum, Max, Min, Mean) with broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VariadicOp {
    Sum,
    Max,
    Min,
    Mean,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReduceOp {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare,
}

/// Spatial attributes shared by Conv and the pooling ops. `pads` is
/// `[x1_begin, x2_begin, ..., x1_end, x2_end, ...]` as in ONNX; the frontend
/// resolves `auto_pad` into explicit pads once input shapes are known.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Window {
    pub kernel_shape: Vec<usize>,
    pub strides: Vec<usize>,
    pub pads: Vec<usize>,
    pub dilations: Vec<usize>,
}

impl Window {
    pub fn spatial_rank(&self) -> usize {
        self.kernel_shape.len()
    }
    /// Output extent along spatial axis `i` for input extent `n`.
    pub fn out_dim(&self, i: usize, n: usize, ceil_mode: bool) -> usize {
        let r = self.spatial_rank();
        let eff = self.dilations[i] * (self.kernel_shape[i] - 1) + 1;
        let padded = n + self.pads[i] + self.pads[i + r];
        if padded < eff {
            return 0;
        }
        let span = padded - eff;
        let s = self.strides[i];
        if ceil_mode {
            let mut o = span.div_ceil(s) + 1;
            // The last window must start inside the (left-padded) input.
            if (o - 1) * s >= n + self.pads[i] {
                o -= 1;
            }
            o
        } else {
            span / s + 1
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    Unary(UnaryOp),
    Activation(Activation),
    Binary(BinaryOp),
    Variadic(VariadicOp),
    /// inputs: x, min?, max? (Clip-6's attributes become constant inputs).
    Clip,
    /// inputs: cond, x, y.
    Where,
    Cast { to: DType },

    /// inputs: X, W, B?.
    Conv { window: Window, group: usize },
    /// Inference form. inputs: X, scale, B, mean, var.
    BatchNormalization { epsilon: f32 },
    /// outputs: Y, Indices? (Indices unsupported by the compiled path).
    MaxPool { window: Window, ceil_mode: bool },
    AveragePool { window: Window, ceil_mode: bool, count_include_pad: bool },
    GlobalAveragePool,
    GlobalMaxPool,
    Lrn { size: usize, alpha: f32, beta: f32, bias: f32 },
    /// inputs: A, B, C?.
    Gemm { alpha: f32, beta: f32, trans_a: bool, trans_b: bool },
    MatMul,
    Softmax { axis: i64 },
    LogSoftmax { axis: i64 },
    Hardmax { axis: i64 },
    /// Inference: identity. inputs: data, ratio?, training_mode?; outputs: output, mask?.
    Dropout,

    /// inputs: data, shape.
    Reshape { allowzero: bool },
    Flatten { axis: i64 },
    /// `perm = None` reverses the axes.
    Transpose { perm: Option<Vec<usize>> },
    /// inputs: data, axes? (i64).
    Squeeze,
    /// inputs: data, axes (i64).
    Unsqueeze,
    Concat { axis: i64 },
    Shape { start: i64, end: Option<i64> },
    Size,
    Gather { axis: i64 },
    /// input: shape (i64). `value` is a one-element tensor (default f32 0).
    ConstantOfShape { value: Tensor },
    /// inputs: data, starts, ends, axes?, steps?.
    Slice,
    /// inputs: input, shape.
    Expand,
    /// inputs: input, split?; `num_outputs` is the node's output count.
    Split { axis: i64, num_outputs: usize },
    /// inputs: data, pads, constant_value?, axes?.
    Pad { mode: PadMode },
    /// inputs: data, axes? (Reduce-18 form; older axes attributes become inputs).
    Reduce { op: ReduceOp, keepdims: bool, noop_with_empty_axes: bool },
    ArgMax { axis: i64, keepdims: bool, select_last_index: bool },
    ArgMin { axis: i64, keepdims: bool, select_last_index: bool },
    /// inputs: input, repeats.
    Tile,
    /// inputs: start, limit, delta.
    Range,

    /// Normalizations (see `infer::NormPlan`). inputs: X, Scale, B?;
    /// outputs: Y, Mean?, InvStdDev? (float32 stash type only).
    LayerNormalization { axis: i64, epsilon: f32 },
    /// inputs: X, scale.
    RMSNormalization { axis: i64, epsilon: f32 },
    /// inputs: X, scale, bias: per channel [C] or (opset 18) per group.
    GroupNormalization { num_groups: usize, epsilon: f32 },
    /// inputs: input, scale, B.
    InstanceNormalization { epsilon: f32 },
    /// `p` is 1 or 2.
    LpNormalization { axis: i64, p: u8 },
    MeanVarianceNormalization { axes: Vec<i64> },
    /// `x * sigmoid(alpha * x)`.
    Swish { alpha: f32 },
    /// inputs: A, B (same shape): `A * sigmoid(alpha * A) * B`.
    SwiGLU { alpha: f32 },
    /// inputs: Q, K, V, attn_mask?, past_key?, past_value?, nonpad_kv_seqlen?;
    /// outputs: Y, present_key?, present_value?, qk_matmul_output? (see
    /// `infer::AttnPlan`). Head counts are 0 for 4-D inputs (taken from the
    /// shapes); a window size of -1 is unbounded; `softcap` <= 0 is off.
    Attention {
        q_num_heads: usize,
        kv_num_heads: usize,
        scale: Option<f32>,
        is_causal: bool,
        softcap: f32,
        qk_matmul_output_mode: u8,
        left_window: i64,
        right_window: i64,
    },
    /// inputs: X, cos_cache, sin_cache, position_ids? (see `infer::RotaryPlan`);
    /// `rotary_embedding_dim` 0 rotates whole heads; `num_heads` is for 3-D X.
    RotaryEmbedding { interleaved: bool, rotary_embedding_dim: usize, num_heads: usize },

    /// inputs: data, indices (i32/i64, same rank as data).
    GatherElements { axis: i64 },
    /// inputs: data, indices (i64; the last dim indexes data's leading axes after the batch axes).
    GatherND { batch_dims: usize },
    /// inputs: data, indices, updates (Scatter-9/11 import as this).
    ScatterElements { axis: i64, reduction: ScatterReduction },
    /// inputs: data, indices (i64), updates.
    ScatterND { reduction: ScatterReduction },
    /// inputs: input, k? (i64 scalar constant).
    Trilu { upper: bool },
    /// inputs: x, axis (i32/i64 scalar constant).
    CumSum { exclusive: bool, reverse: bool },
    CumProd { exclusive: bool, reverse: bool },
    /// inputs: X, K (constant i64 [1]); outputs: Values, Indices (i64).
    TopK { axis: i64, largest: bool, sorted: bool },
    /// inputs: indices, depth (constant), values ([off, on]).
    OneHot { axis: i64 },
    /// input: x (only its shape is read); `dtype` is the output's.
    EyeLike { k: i64, dtype: DType },
    /// inputs: input, sequence_lens (i64 [batch]).
    ReverseSequence { batch_axis: usize, time_axis: usize },
    /// `crd` is mode="CRD" (otherwise DCR).
    DepthToSpace { blocksize: usize, crd: bool },
    SpaceToDepth { blocksize: usize, crd: bool },
    /// inputs: the operands (numpy einsum semantics, `...` allowed).
    Einsum { equation: String },

    /// inputs: X, roi?, scales?, sizes? (constants; Upsample-7/9 become this).
    Resize(ResizeAttrs),
    /// inputs: X, W, B?. `pads` are explicit (the frontend resolves
    /// `auto_pad` and `output_shape`); `output_padding` adds to the end.
    ConvTranspose { window: Window, group: usize, output_padding: Vec<usize> },
    LpPool { window: Window, p: i64, ceil_mode: bool },

    /// inputs: input [N, C, d...] (float), target [N, d...] (i32/i64), weight? [C].
    /// SoftmaxCrossEntropyLoss imports as LogSoftmax(axis 1) followed by this.
    NegativeLogLikelihoodLoss { reduction: LossReduction, ignore_index: Option<i64> },
    /// inputs: x (float), y_scale, y_zero_point? (of `output_dtype`). Scale and
    /// zero point are per tensor, per `axis` (1-D) or blocked (`block_size` > 0).
    QuantizeLinear { axis: i64, block_size: usize, output_dtype: DType },
    /// inputs: x (int), x_scale, x_zero_point?; `output_dtype` is a float.
    DequantizeLinear { axis: i64, block_size: usize, output_dtype: DType },
    /// RNN / GRU / LSTM. inputs: X, W, R, B?, sequence_lens? (i32), initial_h?,
    /// and for LSTM initial_c?, P?. outputs: Y, Y_h, and (GRU, LSTM) a third
    /// state output shaped like Y_h: LSTM's Y_c; for GRU the last `r ⊙ H_{t-1}`
    /// (scratch for the lowering). See `infer::rnn`.
    Recurrent(RnnAttrs),

    /// Reinterprets every element's bits as `to` (same element size; Bool is a byte).
    BitCast { to: DType },
    /// inputs: X [N, C, D1..Dr] (float), grid [N, O1..Or, r] whose last axis
    /// holds normalized coordinates in reverse axis order (x = last axis).
    /// `Linear`/`Cubic` are GridSample-16's bilinear/bicubic.
    GridSample { mode: ResizeMode, padding: GridPadding, align_corners: bool },
    /// inputs: theta [N, r, r+1], size (constant i64 [N, C, D1..Dr]), r = 2 or 3;
    /// output: grid [N, D1..Dr, r].
    AffineGrid { align_corners: bool },
    /// inputs: query, key, value ([B, T, H*D]), past_state? ([B, Hkv, dk, dv]),
    /// decay? ([B, T, Hkv] or [B, T, Hkv*dk], log space), beta? ([B, T, Hkv or 1]);
    /// outputs: output [B, T, Hq*dv], present_state, and optionally the state
    /// in f32 (scratch for f16/bf16 states). `scale` None is 1/sqrt(dk).
    LinearAttention { q_num_heads: usize, kv_num_heads: usize, scale: Option<f32>, rule: LinearAttnRule },
    /// inputs: input [B, C, L], weight [C, 1, K], bias? [C], past_state? [B, C, K-1];
    /// outputs: output [B, C, L], present_state [B, C, K-1].
    CausalConvWithState { silu: bool },
    /// inputs: input [..., N, 1 or 2], dft_length? (constant). `axis` indexes
    /// the input's dims (the last, complex, dim excluded).
    Dft { axis: i64, inverse: bool, onesided: bool },
    /// inputs: signal [B, S, 1 or 2], frame_step (constant), window? [W],
    /// frame_length? (constant); output [B, frames, bins, 2].
    Stft { onesided: bool },
    /// input: size (constant scalar); output 1-D of `dtype`.
    Window { kind: WindowKind, periodic: bool, dtype: DType },
    /// inputs: num_mel_bins, dft_length, sample_rate, lower_edge_hertz,
    /// upper_edge_hertz (all constants); output [dft_length/2+1, num_mel_bins].
    MelWeightMatrix { dtype: DType },
    /// ai.onnx.preview.training optimizers. inputs: R, T, then n tensors
    /// each of X, G and the state(s); outputs: the n new X, then the n of
    /// each new state (see `infer::training`).
    Optimizer(OptimizerKind),
    /// A Conv/Gemm/MatMul (`base`, reading the first `base_inputs` node
    /// inputs) followed by an elementwise epilogue applied to each output
    /// element; the output type is the base op's. Built by `fuse-epilogue`.
    Fused { base: Box<Op>, base_inputs: usize, post: Vec<PostOp> },
    /// A tree of elementwise ops computed in one loop; intermediates are
    /// never stored. Built by `fuse-elementwise`.
    FusedElementwise { program: Vec<ElemInstr> },
    /// `Cast` with `saturate = 0` (opset 19+): float8 overflow gives inf/NaN
    /// instead of the largest finite value (`Cast` saturates, ONNX's default;
    /// for non-float8 targets the two are the same op).
    CastNoSaturate { to: DType },
    /// inputs: X [..., M, M] (float); output: the determinants [...].
    Det,
    /// inputs: past_cache, update (same shape but a shorter `axis`),
    /// write_indices? (i64 [batch], default 0); output: the updated cache.
    TensorScatter { axis: i64, circular: bool },
    /// inputs: input, shape (constant i64, one per axis); `axes = None` is all axes.
    CenterCropPad { axes: Option<Vec<i64>> },
    /// inputs: input [N, C*prod(block), L], image_shape, block_shape
    /// (constant i64). Empty attribute vectors mean ONNX's defaults.
    Col2Im { dilations: Vec<usize>, pads: Vec<usize>, strides: Vec<usize> },
    /// input: X (i32/i64, [C] or [B, C]); output f32 [output_size] or [B, output_size].
    TfIdfVectorizer(TfIdfAttrs),
    /// Ops with data-dependent output extents (see `crate::dynamic`): each
    /// output is typed with its static upper bound; the actual extent along
    /// one axis is known only after a run.
    /// input: X; output: i64 [rank, bound numel].
    NonZero,
    /// inputs: input, condition (bool, 1-D); `axis = None` flattens the input.
    Compress { axis: Option<i64> },
    /// outputs: Y, indices?, inverse_indices?, counts?; `axis = None` flattens.
    Unique { sorted: bool, axis: Option<i64> },
    /// inputs: boxes [B, N, 4], scores [B, C, N], max_output_boxes_per_class?,
    /// iou_threshold?, score_threshold?; output: i64 [bound, 3].
    NonMaxSuppression { center_point_box: bool },
    /// inputs: X [N, C, H, W] (float), rois [R, 4] (x1, y1, x2, y2), batch_indices
    /// (i64 [R]); output [R, C, output_height, output_width]. `half_pixel` is
    /// coordinate_transformation_mode="half_pixel"; `max` is mode="max".
    RoiAlign {
        half_pixel: bool,
        max: bool,
        output_height: usize,
        output_width: usize,
        sampling_ratio: usize,
        spatial_scale: f32,
    },
    /// 2-D deformable convolution. inputs: X [N, C, H, W], W [OC, C/group, kH, kW],
    /// offset [N, offset_group*kH*kW*2, oH, oW], B? [OC], mask? [N, offset_group*kH*kW, oH, oW].
    DeformConv { window: Window, group: usize, offset_group: usize },
    /// inputs: X [N, C, d...], I (i64 flat indices into the inferred output,
    /// as MaxPool produces), output_shape? (constant i64; the inferred
    /// result sits at its origin).
    MaxUnpool { window: Window },
    /// ai.onnx.ml TreeEnsemble-5 (post_transform NONE). input: X [N, F]
    /// (float); output [N, n_targets] of X's type.
    TreeEnsemble(TreeEnsembleAttrs),
    /// Conv on channels-last tensors (built by the `layout` pass): inputs X
    /// [N, d..., C], W [M, C/group, k...] (ONNX's weight layout), B? [M];
    /// output [N, o..., M]. Exactly `Conv` with X and Y transposed.
    ConvNhwc { window: Window, group: usize },
    /// A pooling op (`MaxPool` with one output, `AveragePool`,
    /// `GlobalAveragePool`, `GlobalMaxPool`) on channels-last tensors: input
    /// [N, d..., C], output [N, o..., C] (built by the `layout` pass).
    PoolNhwc { pool: Box<Op> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LinearAttnRule {
    Linear,
    Gated,
    Delta,
    GatedDelta,
}

impl LinearAttnRule {
    pub fn gated(self) -> bool {
        matches!(self, LinearAttnRule::Gated | LinearAttnRule::GatedDelta)
    }
    pub fn delta(self) -> bool {
        matches!(self, LinearAttnRule::Delta | LinearAttnRule::GatedDelta)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WindowKind {
    Hann,
    Hamming,
    Blackman,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    Adagrad { decay_factor: f32, epsilon: f32, norm_coefficient: f32 },
    Adam { alpha: f32, beta: f32, epsilon: f32, norm_coefficient: f32, norm_coefficient_post: f32 },
    Momentum { alpha: f32, beta: f32, norm_coefficient: f32, nesterov: bool },
}

impl OptimizerKind {
    /// State tensors per optimized tensor (Adagrad: H; Adam: V, H; Momentum: V).
    pub fn states(self) -> usize {
        match self {
            OptimizerKind::Adam { .. } => 2,
            _ => 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TreeAggregate {
    Average,
    Sum,
    Min,
    Max,
}

/// A branch node: `x[feature] <mode> split` (or membership in `members`);
/// NaN goes the true way when `missing_true`. Children index nodes, or
/// leaves when the `*_leaf` flag is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeNode {
    /// 0 LEQ, 1 LT, 2 GTE, 3 GT, 4 EQ, 5 NEQ, 6 MEMBER.
    pub mode: u8,
    pub feature: usize,
    pub split: f64,
    pub members: Vec<f64>,
    pub missing_true: bool,
    pub true_id: usize,
    pub true_leaf: bool,
    pub false_id: usize,
    pub false_leaf: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeEnsembleAttrs {
    pub aggregate: TreeAggregate,
    pub n_targets: usize,
    pub nodes: Vec<TreeNode>,
    /// (node index, is a leaf) of every tree's root.
    pub roots: Vec<(usize, bool)>,
    pub leaf_targets: Vec<usize>,
    pub leaf_weights: Vec<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TfIdfMode {
    Tf,
    Idf,
    TfIdf,
}

/// TfIdfVectorizer's attributes (integer pools only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TfIdfAttrs {
    pub mode: TfIdfMode,
    pub min_gram_length: usize,
    pub max_gram_length: usize,
    pub max_skip_count: usize,
    pub ngram_counts: Vec<i64>,
    pub ngram_indexes: Vec<i64>,
    pub pool_int64s: Vec<i64>,
    pub weights: Vec<f32>,
}

/// GridSample's `padding_mode`: what out-of-range coordinates read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GridPadding {
    Zeros,
    Border,
    Reflection,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScatterReduction {
    None,
    Add,
    Mul,
    Max,
    Min,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResizeMode {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CoordMode {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfCropAndResize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NearestMode {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AspectPolicy {
    Stretch,
    NotLarger,
    NotSmaller,
}

/// Resize-19's attributes; `axes = None` means all axes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResizeAttrs {
    pub mode: ResizeMode,
    pub coord: CoordMode,
    pub nearest: NearestMode,
    pub cubic_coeff_a: f32,
    pub exclude_outside: bool,
    pub extrapolation_value: f32,
    pub antialias: bool,
    pub aspect: AspectPolicy,
    pub axes: Option<Vec<i64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RnnCell {
    Rnn,
    Gru,
    Lstm,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RnnDirection {
    Forward,
    Reverse,
    Bidirectional,
}

/// Attributes of `Op::Recurrent`; activations are ONNX's defaults.
/// `batch_major` is `layout = 1`; `linear_before_reset` is GRU's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RnnAttrs {
    pub cell: RnnCell,
    pub direction: RnnDirection,
    pub hidden_size: usize,
    pub batch_major: bool,
    pub clip: Option<f32>,
    pub linear_before_reset: bool,
}

/// The `reduction` attribute of loss ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LossReduction {
    None,
    Sum,
    Mean,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PadMode {
    Constant,
    Reflect,
    Edge,
    Wrap,
}

impl Op {
    /// The ONNX op type this op came from, for diagnostics and histograms.
    pub fn onnx_name(&self) -> String {
        match self {
            Op::Unary(u) => format!("{u:?}"),
            Op::Activation(a) => {
                let s = format!("{a:?}");
                s.split([' ', '{']).next().unwrap_or("").to_string()
            }
            Op::Binary(BinaryOp::Mod { .. }) => "Mod".into(),
            Op::Binary(BinaryOp::BitShiftLeft | BinaryOp::BitShiftRight) => "BitShift".into(),
            Op::Binary(b) => format!("{b:?}"),
            Op::Variadic(v) => format!("{v:?}"),
            Op::Reduce { op, .. } => format!("Reduce{op:?}"),
            Op::Lrn { .. } => "LRN".into(),
            Op::Dft { .. } => "DFT".into(),
            Op::Stft { .. } => "STFT".into(),
            Op::Window { kind, .. } => format!("{kind:?}Window"),
            Op::Optimizer(k) => {
                let s = format!("{k:?}");
                s.split([' ', '{']).next().unwrap_or("").to_string()
            }
            Op::CastNoSaturate { .. } => "Cast".into(),
            other => {
                let s = format!("{other:?}");
                s.split([' ', '{', '(']).next().unwrap_or("").to_string()
            }
        }
    }
}
