//! Graph → `Program`: every value gets a buffer (input, output, constant or
//! workspace offset from the memory plan), then every node becomes one or
//! more KIR kernels plus `Step::Call`s, in graph order. One module per op
//! family; this file holds the buffer assignment and the shared helpers
//! (dtype mapping, broadcasting strides, loop nests).

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
mod spatial;
mod seqmix;
mod signal;
mod training;
pub(crate) mod epilogue;
mod fused;
mod misc;
mod dynamic;
mod gemm_kernel;
mod conv_kernel;
mod gemm_ops;
mod roi;
mod tree;
mod depthwise;
mod softmax_fast;
mod winograd;
mod conv_nhwc;
mod pool_nhwc;

use crate::builder::*;
use crate::kir::{Const, Expr, Kernel, ParamId, Scalar};
use crate::math;
use crate::program::{BufRef, DynamicDim, IoTensor, Program, Step, ALIGN};
use bytes::Bytes;
use onnxc_ir::{DType, Graph, Node, Op, Tensor, TensorType, ValueId};
use onnxc_passes::MemoryPlan;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum LowerError {
    #[error("node `{node}` ({op}): not supported by the compiler: {msg}")]
    Unsupported { node: String, op: String, msg: String },
    #[error("node `{node}` ({op}): {msg}")]
    Invalid { node: String, op: String, msg: String },
    #[error("value `{0}` has no buffer: it is not a graph input, constant, graph output or planned workspace value")]
    NoBuffer(String),
    /// A node input that decides shapes or indexing is not a constant; the
    /// driver names the graph inputs `value` is computed from
    /// (`onnxc_ir::slice::graph_input_deps`) so the user can bind them.
    #[error("node `{node}` ({op}): {msg}")]
    NeedsConstant { node: String, op: String, msg: String, input: String, value: ValueId },
}

/// Lowers `g` (already planned by `plan`) into a `Program` named `name`
/// for the machine the compiler runs on.
pub fn lower_graph(g: &Graph, plan: &MemoryPlan, name: &str) -> Result<Program, LowerError> {
    lower_graph_for(g, plan, name, &crate::Target::host())
}

/// Like `lower_graph`, with kernels (GEMM register tiles) sized for `target`
/// and an auto-vectorizing backend (LLVM).
pub fn lower_graph_for(g: &Graph, plan: &MemoryPlan, name: &str, target: &crate::Target) -> Result<Program, LowerError> {
    lower_graph_for_codegen(g, plan, name, target, crate::target::Codegen::Vectorizing)
}

/// Like `lower_graph_for`, with kernels sized for how the backend generates
/// code (`Codegen::Scalar` for Cranelift: small scalar register tiles).
pub fn lower_graph_for_codegen(
    g: &Graph,
    plan: &MemoryPlan,
    name: &str,
    target: &crate::Target,
    codegen: crate::target::Codegen,
) -> Result<Program, LowerError> {
    onnxc_ir::dynamic::check_consumers(g).map_err(|e| match e {
        onnxc_ir::IrError::Node { node, op, msg } => LowerError::Invalid { node, op, msg },
        other => LowerError::Invalid { node: String::new(), op: String::new(), msg: other.to_string() },
    })?;
    let mut cx = Cx {
        g,
        plan,
        bufs: HashMap::new(),
        consts: Vec::new(),
        kernels: Vec::new(),
        steps: Vec::new(),
        node: None,
        node_idx: 0,
        extra: Extra::reserve(g, plan),
        tile: gemm_kernel::Tile::for_target(target, codegen),
        scratch: 0,
        scratch_cursor: 0,
    };
    let io = |v: &ValueId| IoTensor::fixed(g.display_name(*v), g.ty(*v).dtype, g.ty(*v).shape.clone());
    for (i, v) in g.inputs.iter().enumerate() {
        cx.bufs.entry(*v).or_insert(BufRef::Input(i));
    }
    // Node outputs that are graph outputs are written in place; any other
    // output (an input, a constant, or a value listed twice) is copied at the end.
    let mut late_copies = Vec::new();
    for (i, v) in g.outputs.iter().enumerate() {
        if cx.bufs.contains_key(v) || g.const_value(*v).is_some() {
            late_copies.push((i, *v));
        } else {
            cx.bufs.insert(*v, BufRef::Output(i));
        }
    }
    for (idx, n) in g.nodes.iter().enumerate() {
        cx.node = Some(n);
        cx.node_idx = idx;
        cx.scratch_cursor = 0;
        lower_node(&mut cx, n)?;
        // An elementwise consumer of a data-dependent value shares its extent.
        if onnxc_ir::dynamic::passes_through(&n.op) {
            if let (Some(off), Some(o)) = (n.input(0).and_then(|i| cx.extra.extents.get(&i).copied()), n.outputs.first()) {
                cx.extra.extents.insert(*o, off);
            }
        }
    }
    cx.node = None;
    for (i, v) in late_copies {
        let src = cx.buf(v)?;
        let bytes = byte_size(g.ty(v));
        cx.steps.push(Step::Copy { dst: BufRef::Output(i), src, bytes });
    }
    let dynamic = onnxc_ir::dynamic::dynamic_values(g);
    let outputs = g
        .outputs
        .iter()
        .map(|v| {
            let mut t = io(v);
            if let (Some(&axis), Some(&offset)) = (dynamic.get(v), cx.extra.extents.get(v)) {
                t.dynamic = Some(DynamicDim { axis, offset });
            }
            t
        })
        .collect();
    let workspace_size = if cx.extra.size > 0 || cx.scratch > 0 { cx.scratch_base() + cx.scratch } else { plan.size };
    Ok(Program {
        name: name.to_string(),
        inputs: g.inputs.iter().map(io).collect(),
        outputs,
        consts: cx.consts,
        workspace_size,
        kernels: cx.kernels,
        steps: cx.steps,
    })
}

fn lower_node(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        // A run-time K gives a data-dependent extent.
        Op::TopK { .. } if n.input(1).is_some_and(|k| cx.konst(k).is_none()) => dynamic::top_k(cx, n),
        Op::Unary(_) | Op::Activation(_) | Op::Binary(_) | Op::Variadic(_) | Op::Clip | Op::Where | Op::Cast { .. } | Op::CastNoSaturate { .. } => {
            elementwise::lower(cx, n)
        }
        Op::Conv { .. }
        | Op::BatchNormalization { .. }
        | Op::MaxPool { .. }
        | Op::AveragePool { .. }
        | Op::GlobalAveragePool
        | Op::GlobalMaxPool
        | Op::Lrn { .. }
        | Op::Gemm { .. }
        | Op::MatMul
        | Op::Softmax { .. }
        | Op::LogSoftmax { .. }
        | Op::Hardmax { .. }
        | Op::Dropout => nn::lower(cx, n),
        Op::Reduce { .. } | Op::ArgMax { .. } | Op::ArgMin { .. } => reduce::lower(cx, n),
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
        | Op::Einsum { .. } => index::lower(cx, n),
        Op::Resize(_) | Op::ConvTranspose { .. } | Op::LpPool { .. } => resize::lower(cx, n),
        Op::LayerNormalization { .. }
        | Op::RMSNormalization { .. }
        | Op::GroupNormalization { .. }
        | Op::InstanceNormalization { .. }
        | Op::LpNormalization { .. }
        | Op::MeanVarianceNormalization { .. }
        | Op::Swish { .. }
        | Op::SwiGLU { .. } => norm::lower(cx, n),
        Op::Attention { .. } => attention::lower(cx, n),
        Op::RotaryEmbedding { .. } => attention::rotary(cx, n),
        Op::NegativeLogLikelihoodLoss { .. } => loss::lower(cx, n),
        Op::Recurrent(_) => rnn::lower(cx, n),
        Op::QuantizeLinear { .. } | Op::DequantizeLinear { .. } => quant::lower(cx, n),
        Op::BitCast { .. } | Op::GridSample { .. } | Op::AffineGrid { .. } => spatial::lower(cx, n),
        Op::LinearAttention { .. } | Op::CausalConvWithState { .. } => seqmix::lower(cx, n),
        Op::Dft { .. } | Op::Stft { .. } | Op::Window { .. } | Op::MelWeightMatrix { .. } => signal::lower(cx, n),
        Op::Optimizer(_) => training::lower(cx, n),
        Op::Fused { .. } | Op::FusedElementwise { .. } => fused::lower(cx, n),
        Op::NonZero | Op::Compress { .. } | Op::Unique { .. } | Op::NonMaxSuppression { .. } => dynamic::lower(cx, n),
        Op::Det | Op::TensorScatter { .. } | Op::CenterCropPad { .. } | Op::Col2Im { .. } | Op::TfIdfVectorizer(_) | Op::RoiAlign { .. } | Op::DeformConv { .. } | Op::MaxUnpool { .. } => misc::lower(cx, n),
        Op::TreeEnsemble(a) => tree::lower(cx, n, a),
        Op::ConvNhwc { window, group } => conv_nhwc::lower(cx, n, window, *group),
        Op::PoolNhwc { pool } => pool_nhwc::lower(cx, n, pool),
        _ => shape::lower(cx, n),
    }
}

pub(crate) fn byte_size(t: &TensorType) -> usize {
    t.byte_size().unwrap_or(0)
}

/// Buffer element type of a dtype (f16/bf16 live in `U16` buffers, the
/// small floats and U4/U2 in `U8`, I4/I2 in `I8`: one byte per element).
pub(crate) fn scalar(d: DType) -> Scalar {
    match d {
        d if d.is_small_float() => Scalar::U8,
        DType::I4 | DType::I2 => Scalar::I8,
        DType::U4 | DType::U2 => Scalar::U8,
        DType::F32 => Scalar::F32,
        DType::F64 => Scalar::F64,
        DType::F16 | DType::BF16 | DType::U16 => Scalar::U16,
        DType::U8 => Scalar::U8,
        DType::I8 => Scalar::I8,
        DType::I16 => Scalar::I16,
        DType::I32 => Scalar::I32,
        DType::I64 => Scalar::I64,
        DType::U32 => Scalar::U32,
        DType::U64 => Scalar::U64,
        DType::Bool => Scalar::Bool,
        _ => Scalar::U8,
    }
}

/// Type arithmetic is done in: f16/bf16 and the small floats compute in
/// f32, the 4-/2-bit ints in i32 (so a float-to-int4 cast truncates and
/// saturates at i32, then wraps, like the reference evaluator).
pub(crate) fn compute_ty(d: DType) -> Scalar {
    match d {
        DType::F16 | DType::BF16 => Scalar::F32,
        d if d.is_small_float() => Scalar::F32,
        d if d.is_sub_byte_int() => Scalar::I32,
        d => scalar(d),
    }
}

/// `buf[idx]` converted to `compute_ty(d)`.
pub(crate) fn load_val(b: &mut KernelBuilder, d: DType, buf: ParamId, idx: Expr) -> Expr {
    match d {
        DType::F16 => math::f16_to_f32(b, load(buf, idx)),
        DType::BF16 => math::bf16_to_f32(b, load(buf, idx)),
        d if d.is_small_float() => crate::minifloat::to_f32(b, d, load(buf, idx)),
        d if d.is_sub_byte_int() => crate::minifloat::int_to_i32(d, load(buf, idx)),
        _ => load(buf, idx),
    }
}

/// Converts a `compute_ty(d)` value to `d`'s buffer representation (float8
/// overflow saturates: ONNX Cast's default).
pub(crate) fn to_storage(b: &mut KernelBuilder, d: DType, v: Expr) -> Expr {
    to_storage_sat(b, d, v, true)
}

/// `to_storage` with Cast's `saturate` attribute (it matters for float8 only).
pub(crate) fn to_storage_sat(b: &mut KernelBuilder, d: DType, v: Expr, saturate: bool) -> Expr {
    match d {
        DType::F16 => math::f32_to_f16(b, v),
        DType::BF16 => math::f32_to_bf16(b, v),
        d if d.is_small_float() => crate::minifloat::from_f32(b, d, v, saturate),
        d if d.is_sub_byte_int() => crate::minifloat::int_from_i32(d, v, scalar(d)),
        _ => v,
    }
}

/// Stores a `compute_ty(d)` value into a buffer of dtype `d`.
pub(crate) fn store_val(b: &mut KernelBuilder, d: DType, buf: ParamId, idx: Expr, v: Expr) {
    let v = to_storage(b, d, v);
    b.store(buf, idx, v);
}

/// Converts `v` (of KIR type `from`) to `compute_ty(to)` with KIR cast rules.
pub(crate) fn convert(b: &KernelBuilder, v: Expr, to: DType) -> Expr {
    let t = compute_ty(to);
    if b.ty(&v) == t {
        v
    } else {
        cast(t, v)
    }
}

/// Row-major strides (in elements) of `shape`.
pub(crate) fn strides(shape: &[usize]) -> Vec<i64> {
    let mut s = vec![1i64; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1] as i64;
    }
    s
}

/// Strides of an input of shape `inp` broadcast to `out` (0 on broadcast axes).
pub(crate) fn bcast_strides(inp: &[usize], out: &[usize]) -> Vec<i64> {
    let s = strides(inp);
    let off = out.len() - inp.len().min(out.len());
    (0..out.len())
        .map(|i| {
            if i < off {
                0
            } else {
                let j = i - off;
                if inp[j] == 1 && out[i] != 1 {
                    0
                } else {
                    s[j]
                }
            }
        })
        .collect()
}

/// Merges adjacent axes that every operand walks contiguously, so that
/// e.g. same-shape elementwise ops become a single flat loop.
pub(crate) fn coalesce(shape: &[usize], ops: &[Vec<i64>]) -> (Vec<usize>, Vec<Vec<i64>>) {
    let mut sh: Vec<usize> = Vec::new();
    let mut st: Vec<Vec<i64>> = vec![Vec::new(); ops.len()];
    for d in 0..shape.len() {
        if shape[d] == 1 {
            continue; // size-1 axes contribute nothing to any index
        }
        let merge = !sh.is_empty()
            && ops.iter().enumerate().all(|(k, s)| st[k].last().copied() == Some(s[d] * shape[d] as i64));
        if merge {
            let last = sh.len() - 1;
            sh[last] *= shape[d];
            for (k, s) in ops.iter().enumerate() {
                *st[k].last_mut().expect("merged axis exists") = s[d];
            }
        } else {
            sh.push(shape[d]);
            for (k, s) in ops.iter().enumerate() {
                st[k].push(s[d]);
            }
        }
    }
    (sh, st)
}

/// `sum(vars[i] * strides[i])`.
pub(crate) fn lin(vars: &[Expr], strides: &[i64]) -> Expr {
    vars.iter().zip(strides).fold(ci(0), |acc, (v, s)| add(acc, mul(v.clone(), ci(*s))))
}

/// Nested loops over `dims` (outermost marked parallel when `par`); `f`
/// receives the loop variables, outermost first. With `par`, leading
/// extent-1 dims get no loop (their variable is 0), so the parallel loop is
/// the first one that can be split (batch 1 tensors are the common case).
pub(crate) fn nest(b: &mut KernelBuilder, dims: &[usize], par: bool, f: &mut dyn FnMut(&mut KernelBuilder, &[Expr])) {
    fn go(b: &mut KernelBuilder, dims: &[usize], vars: &mut Vec<Expr>, par: bool, f: &mut dyn FnMut(&mut KernelBuilder, &[Expr])) {
        if vars.len() == dims.len() {
            f(b, vars);
            return;
        }
        let d = dims[vars.len()] as i64;
        if par && d == 1 {
            vars.push(ci(0));
            go(b, dims, vars, par, f);
            vars.pop();
            return;
        }
        let body = |b: &mut KernelBuilder, i: Expr| {
            vars.push(i);
            go(b, dims, vars, false, f);
            vars.pop();
        };
        if par {
            b.par_for(0, d, body)
        } else {
            b.for_loop(0, d, body)
        }
    }
    go(b, dims, &mut Vec::new(), par, f)
}

/// Lowering state; `node` is the node being lowered (for error messages).
pub(crate) struct Cx<'a> {
    pub g: &'a Graph,
    plan: &'a MemoryPlan,
    bufs: HashMap<ValueId, BufRef>,
    consts: Vec<Bytes>,
    kernels: Vec<Kernel>,
    steps: Vec<Step>,
    node: Option<&'a Node>,
    node_idx: usize,
    /// Extents of data-dependent values, right after the plan.
    extra: Extra,
    /// GEMM register tile and cache blocks for the target.
    tile: gemm_kernel::Tile,
    /// Bytes of per-node scratch (packed GEMM blocks, sort keys) after
    /// `extra`; steps run one after another, so every node reuses the region.
    scratch: usize,
    /// Scratch bytes handed out to the node being lowered.
    scratch_cursor: usize,
}

/// Workspace beyond the memory plan holding the i64 extent of each
/// data-dependent value; it must survive the run for `<p>_output_dims`, so
/// it is reserved before lowering and never reused.
struct Extra {
    /// Byte offset where it starts (the plan's size, aligned).
    base: usize,
    /// Reserved bytes (8 per data-dependent value, aligned).
    size: usize,
    /// Bytes handed out so far.
    used: usize,
    /// Byte offset of the i64 extent of each data-dependent value.
    extents: HashMap<ValueId, usize>,
}

impl Extra {
    fn reserve(g: &Graph, plan: &MemoryPlan) -> Extra {
        let n = onnxc_ir::dynamic::dynamic_values(g).len();
        let size = if n == 0 { 0 } else { (8 * n).next_multiple_of(ALIGN) };
        Extra { base: plan.size.next_multiple_of(ALIGN), size, used: 0, extents: HashMap::new() }
    }
}

impl<'a> Cx<'a> {
    fn node_name(&self) -> (String, String) {
        match self.node {
            Some(n) => (n.name.clone(), n.op.onnx_name()),
            None => (String::new(), String::new()),
        }
    }
    pub fn unsupported(&self, msg: impl Into<String>) -> LowerError {
        let (node, op) = self.node_name();
        LowerError::Unsupported { node, op, msg: msg.into() }
    }
    pub fn invalid(&self, msg: impl Into<String>) -> LowerError {
        let (node, op) = self.node_name();
        LowerError::Invalid { node, op, msg: msg.into() }
    }
    /// Input `input` (its ONNX name, or `#i`) holding `value` must be a constant.
    pub fn needs_constant(&self, input: &str, value: ValueId) -> LowerError {
        let (node, op) = self.node_name();
        let msg = format!("input `{input}` must be a constant to compile ahead of time");
        LowerError::NeedsConstant { node, op, msg, input: input.to_string(), value }
    }

    pub fn ty(&self, v: ValueId) -> &'a TensorType {
        self.g.ty(v)
    }
    /// The node's `i`th input, which must be present.
    pub fn input(&self, n: &Node, i: usize) -> Result<ValueId, LowerError> {
        n.input(i).ok_or_else(|| self.invalid(format!("missing input {i}")))
    }
    pub fn output(&self, n: &Node, i: usize) -> Result<ValueId, LowerError> {
        n.outputs.get(i).copied().ok_or_else(|| self.invalid(format!("missing output {i}")))
    }
    pub fn konst(&self, v: ValueId) -> Option<&'a Tensor> {
        self.g.const_value(v)
    }
    /// Constant integer input `i` (shape-carrying inputs must be constants).
    pub fn const_ints(&self, n: &Node, i: usize) -> Result<Option<Vec<i64>>, LowerError> {
        match n.input(i) {
            None => Ok(None),
            Some(v) => match self.konst(v) {
                Some(t) => Ok(Some(t.to_i64_vec())),
                None => Err(self.needs_constant(&format!("#{i}"), v)),
            },
        }
    }

    /// The buffer holding `v`, registering constants on first use.
    pub fn buf(&mut self, v: ValueId) -> Result<BufRef, LowerError> {
        if let Some(b) = self.bufs.get(&v) {
            return Ok(*b);
        }
        let b = if let Some(t) = self.g.const_value(v) {
            self.consts.push(t.bytes().clone());
            BufRef::Const(self.consts.len() - 1)
        } else if let Some(off) = self.plan.offsets.get(&v) {
            BufRef::Workspace(*off)
        } else if byte_size(self.g.ty(v)) == 0 {
            // Empty tensors need no storage; the plan may skip them.
            BufRef::Workspace(0)
        } else {
            return Err(LowerError::NoBuffer(self.g.display_name(v)));
        };
        self.bufs.insert(v, b);
        Ok(b)
    }

    /// A builder for this node's next kernel, with a unique C-identifier name.
    pub fn builder(&self, kind: &str) -> KernelBuilder {
        KernelBuilder::new(format!("k{}_{}_{}", self.node_idx, self.kernels.len(), kind))
    }

    /// Adds `k` and a call to it with `args` (one per kernel parameter).
    pub fn emit(&mut self, k: Kernel, args: Vec<BufRef>) {
        self.kernels.push(k);
        self.steps.push(Step::Call { kernel: self.kernels.len() - 1, args });
    }

    /// Copies all of `src` into `dst` (same byte size); nothing if they alias.
    pub fn copy_value(&mut self, dst: ValueId, src: ValueId) -> Result<(), LowerError> {
        let (d, s) = (self.buf(dst)?, self.buf(src)?);
        let bytes = byte_size(self.ty(dst));
        if d != s && bytes > 0 {
            self.steps.push(Step::Copy { dst: d, src: s, bytes });
        }
        Ok(())
    }


    /// The i64 slot where node `n` writes the actual extent shared by its
    /// data-dependent outputs (`onnxc_ir::dynamic`).
    pub fn extent_slot(&mut self, n: &Node) -> BufRef {
        let off = self.extra.base + self.extra.used;
        self.extra.used += 8;
        debug_assert!(self.extra.used <= self.extra.size, "extent slots are reserved per dynamic value");
        for o in &n.outputs {
            self.extra.extents.insert(*o, off);
        }
        BufRef::Workspace(off)
    }

    /// A read-only constant buffer holding `bytes` (lookup tables built at compile time).
    pub fn const_buf(&mut self, bytes: Bytes) -> BufRef {
        self.consts.push(bytes);
        BufRef::Const(self.consts.len() - 1)
    }

    /// A workspace region of at least `bytes` bytes that lives only during
    /// this node's kernels; each call of one node gets its own region, and
    /// every node reuses the same space.
    pub fn scratch(&mut self, bytes: usize) -> BufRef {
        let off = self.scratch_base() + self.scratch_cursor;
        self.scratch_cursor += bytes.max(1).next_multiple_of(ALIGN);
        self.scratch = self.scratch.max(self.scratch_cursor);
        BufRef::Workspace(off)
    }

    /// Byte offset of the per-node scratch region: after the plan and the extents.
    fn scratch_base(&self) -> usize {
        self.extra.base + self.extra.size
    }

    /// Writes constant bytes into `dst` (Shape/Size and the like).
    pub fn store_const(&mut self, dst: ValueId, bytes: Bytes) -> Result<(), LowerError> {
        let d = self.buf(dst)?;
        let n = bytes.len();
        if n == 0 {
            return Ok(());
        }
        self.consts.push(bytes);
        self.steps.push(Step::Copy { dst: d, src: BufRef::Const(self.consts.len() - 1), bytes: n });
        Ok(())
    }
}

/// A KIR constant holding one element of `t` (element `i`), in `t`'s
/// buffer representation (f16 stays as its bits).
pub(crate) fn elem_const(t: &Tensor, i: usize) -> Expr {
    let w = t.dtype().size();
    let mut b = [0u8; 8];
    b[..w].copy_from_slice(&t.bytes()[i * w..(i + 1) * w]);
    Expr::Const(Const { ty: scalar(t.dtype()), bits: u64::from_le_bytes(b) })
}

/// The lowest (for max) or highest (for min) value of a compute type.
pub(crate) fn extreme(t: Scalar, lowest: bool) -> Expr {
    let c = match (t, lowest) {
        (Scalar::F32 | Scalar::F64, true) => return cf(t, f64::NEG_INFINITY),
        (Scalar::F32 | Scalar::F64, false) => return cf(t, f64::INFINITY),
        (Scalar::Bool, l) => return cbool(!l),
        (Scalar::U64, true) => 0u64,
        (Scalar::U64, false) => u64::MAX,
        (t, true) if t.is_signed() => (-1i64 << (t.size() * 8 - 1)) as u64,
        (t, false) if t.is_signed() => (1u64 << (t.size() * 8 - 1)) - 1,
        (_, true) => 0,
        (t, false) => (1u64 << (t.size() * 8)) - 1,
    };
    let bits = if t.size() == 8 { c } else { c & ((1u64 << (t.size() * 8)) - 1) };
    Expr::Const(Const { ty: t, bits })
}
