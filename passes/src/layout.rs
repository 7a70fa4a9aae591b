//! Layout pass: runs convolutions whose channels-first GEMM wastes work in
//! channels-last form (`Op::ConvNhwc`), with as few reorders as possible.
//!
//! Why: the channels-first convolution is a GEMM with `M = out-channels`
//! on the register tile's short side (6) and `N = H·W` on its wide side
//! (32 with AVX-512). Small feature maps fill the wide side badly (14×14 =
//! 196 columns pad to 224, 7×7 = 49 to 64); channels-last swaps the roles
//! (`M = H·W`, `N = out-channels`, channel counts are multiples of 32).
//! `choose` is the per-conv cost rule.
//!
//! How: one forward walk in topological order. A chosen Conv reads the
//! channels-last form of its input (a `Transpose` inserted once per value,
//! or the form an earlier node already produced) and produces only a
//! channels-last value; its channels-first value is *pending*. Layout-
//! agnostic consumers (elementwise ops, BatchNormalization's Mul/Add after
//! bn-fold, Concat over channels, pooling as `Op::PoolNhwc`) whose operands
//! all have a channels-last form (constants are permuted at compile time)
//! run channels-last too and keep their own result pending. Any other reader of a pending value gets
//! it through a `Transpose` back, inserted right before its first such
//! reader (and defining the original value, so no reader is renamed). A run
//! of convolutions and the ops between them thus has one reorder in and one
//! out. Runs before epilogue fusion, which then fuses `ConvNhwc` like `Conv`.
//!
//! `ONNXC_LAYOUT=nchw` disables the pass, `ONNXC_LAYOUT=nhwc` converts every
//! eligible convolution (for measurements).

use crate::dce::eliminate_dead_code;
use crate::error::PassError;
use crate::pipeline::Pass;
use onnxc_ir::layout::{permute, to_first, to_last, winograd_tile};
use onnxc_ir::op::Window;
use onnxc_ir::{eval, DType, Graph, Node, Op, Tensor, TensorType, ValueId};
use std::collections::{HashMap, HashSet};

/// Which convolutions become channels-last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutMode {
    /// None: the pass does nothing.
    Nchw,
    /// Where `choose`'s cost rule says it saves work.
    Auto,
    /// Every eligible convolution (f32, 2-D, group 1, constant weights).
    Nhwc,
}

#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub mode: LayoutMode,
}

impl Default for Layout {
    fn default() -> Self {
        let mode = match std::env::var("ONNXC_LAYOUT").as_deref() {
            Ok("nchw") => LayoutMode::Nchw,
            Ok("nhwc") => LayoutMode::Nhwc,
            _ => LayoutMode::Auto,
        };
        Layout { mode }
    }
}

impl Pass for Layout {
    fn name(&self) -> &'static str {
        "layout"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        if self.mode != LayoutMode::Nchw && to_channels_last(g, self.mode) > 0 {
            eliminate_dead_code(g);
        }
        Ok(())
    }
}

/// Register tile of the packed GEMM on the widest target (AVX-512): rows × columns.
const TILE: (usize, usize) = (6, 32);
/// Smallest Winograd tile for which a conv stays channels-first (keeping
/// the F(2×2) layers too measured the same on ResNet-50, Inception and
/// VGG-19, and slower on DenseNet-121).
const WINOGRAD_KEEP: usize = 4;

fn round_up(x: usize, m: usize) -> usize {
    x.div_ceil(m) * m
}

/// Fraction of the tile FMAs doing useful work for an `m × n` product.
fn efficiency(m: usize, n: usize) -> f64 {
    (m * n) as f64 / (round_up(m, TILE.0) * round_up(n, TILE.1)) as f64
}

/// Whether Conv node `n` runs channels-last: f32, 2-D, group 1, constant
/// weights, and (in `Auto`) the input channels have a divisor in 16..=512
/// (then the channels-last kernel reads its GEMM rows in place, without an
/// im2col copy: faster than the channels-first kernel for every kernel size
/// measured, about equal for 1×1) and the channels-last GEMM tile wastes at
/// most a little more work than the channels-first one (few output channels
/// fill the wide side badly).
fn choose(g: &Graph, n: &Node, mode: LayoutMode) -> bool {
    let Op::Conv { window, group: 1 } = &n.op else { return false };
    let (Some(x), Some(w)) = (n.input(0), n.input(1)) else { return false };
    let y = n.outputs[0];
    let f32s = [Some(x), Some(w), n.input(2), Some(y)].iter().flatten().all(|v| g.ty(*v).dtype == DType::F32);
    let (xs, ys) = (&g.ty(x).shape, &g.ty(y).shape);
    if !f32s || xs.len() != 4 || g.const_value(w).is_none() || !plain_window(window) || n.outputs.len() != 1 {
        return false;
    }
    if mode == LayoutMode::Nhwc {
        return true;
    }
    let (cin, cout, npos) = (xs[1], ys[1], ys[2] * ys[3]);
    // A 3×3 stride-1 conv that the channels-first Winograd kernel runs as
    // F(4×4) stays channels-first (CPU ms per run, 1 thread: VGG-19 181 ->
    // 130, Inception v2 21.3 -> 19.1), unless it has few output channels
    // (DenseNet-121's 128 -> 32 growth convs: 33.1 channels-first, 30.0
    // channels-last, where 32 channels are exactly the tile's width).
    let three = window.kernel_shape == [3, 3] && window.strides == [1, 1] && window.dilations == [1, 1];
    let wino = three && cout >= 64 && winograd_tile(cin as i64, cout as i64, ys[2] as i64, ys[3] as i64, TILE.1 as i64).is_some_and(|m| m >= WINOGRAD_KEEP);
    let rows_in_place = (16..=512).any(|d| cin % d == 0);
    !wino && rows_in_place && efficiency(npos, cout) >= 0.9 * efficiency(cout, npos)
}

fn plain_window(w: &Window) -> bool {
    w.kernel_shape.len() == 2 && w.strides.len() == 2 && w.dilations.len() == 2 && w.pads.len() == 4
}

/// The walk's state: channels-last forms of values and the values whose
/// channels-first form is not yet defined.
struct Walk {
    out: Vec<Node>,
    last: HashMap<ValueId, ValueId>,
    pending: HashSet<ValueId>,
    consts: HashMap<ValueId, ValueId>,
}

/// Rewrites `g`; returns the number of convolutions made channels-last.
pub fn to_channels_last(g: &mut Graph, mode: LayoutMode) -> usize {
    let nodes = std::mem::take(&mut g.nodes);
    let mut w = Walk { out: Vec::with_capacity(nodes.len()), last: HashMap::new(), pending: HashSet::new(), consts: HashMap::new() };
    let mut converted = 0;
    for n in nodes {
        if choose(g, &n, mode) {
            conv(g, &mut w, n);
            converted += 1;
        } else if let Some(node) = agnostic(g, &mut w, &n) {
            w.pending.insert(n.outputs[0]);
            w.last.insert(n.outputs[0], node.outputs[0]);
            w.out.push(node);
        } else {
            for v in n.inputs.iter().flatten() {
                materialize(g, &mut w, *v);
            }
            w.out.push(n);
        }
    }
    for v in g.outputs.clone() {
        materialize(g, &mut w, v);
    }
    g.nodes = w.out;
    converted
}

fn conv(g: &mut Graph, w: &mut Walk, n: Node) {
    let x = n.inputs[0].expect("chosen convs have X");
    let xl = last_form(g, w, x);
    let Op::Conv { window, group } = n.op else { unreachable!("chosen convs are Conv") };
    let y = n.outputs[0];
    let yl = fresh(g, y, "nhwc");
    let mut inputs = n.inputs.clone();
    inputs[0] = Some(xl);
    w.out.push(Node { name: n.name, op: Op::ConvNhwc { window, group }, inputs, outputs: vec![yl] });
    w.pending.insert(y);
    w.last.insert(y, yl);
}

/// A new value of `v`'s type in channels-last order.
fn fresh(g: &mut Graph, v: ValueId, tag: &str) -> ValueId {
    let ty = g.ty(v).clone();
    let shape = permute(&ty.shape, &to_last(ty.shape.len()));
    let name = format!("{}.{tag}", g.display_name(v));
    g.add_value(name, TensorType { dtype: ty.dtype, shape })
}

/// The channels-last form of `v`, transposing it (once) if it has none.
fn last_form(g: &mut Graph, w: &mut Walk, v: ValueId) -> ValueId {
    if let Some(l) = w.last.get(&v) {
        return *l;
    }
    let l = fresh(g, v, "nhwc");
    let perm = to_last(g.ty(v).shape.len());
    w.out.push(Node { name: format!("{}.to_nhwc", g.display_name(v)), op: Op::Transpose { perm: Some(perm) }, inputs: vec![Some(v)], outputs: vec![l] });
    w.last.insert(v, l);
    l
}

/// Defines a pending value's channels-first form from its channels-last one.
fn materialize(g: &Graph, w: &mut Walk, v: ValueId) {
    if !w.pending.remove(&v) {
        return;
    }
    let l = w.last[&v];
    let perm = to_first(g.ty(v).shape.len());
    w.out.push(Node { name: format!("{}.to_nchw", g.display_name(v)), op: Op::Transpose { perm: Some(perm) }, inputs: vec![Some(l)], outputs: vec![v] });
}

/// The channels-last form of a layout-agnostic node `n` reading at least
/// one pending value, if all its operands have one.
fn agnostic(g: &mut Graph, w: &mut Walk, n: &Node) -> Option<Node> {
    if n.outputs.len() != 1 || !n.inputs.iter().flatten().any(|v| w.pending.contains(v)) {
        return None;
    }
    let y = n.outputs[0];
    let rank = g.ty(y).shape.len();
    let op = match &n.op {
        Op::Unary(_) | Op::Activation(_) | Op::Binary(_) | Op::Variadic(_) | Op::Clip | Op::Cast { .. } => n.op.clone(),
        // Channels are axis 1 of the channels-first form, the last one here.
        Op::Concat { axis } if (*axis == 1 || *axis == 1 - rank as i64) => Op::Concat { axis: rank as i64 - 1 },
        // Pooling has a channels-last kernel (float, one output).
        Op::MaxPool { .. } | Op::AveragePool { .. } | Op::GlobalAveragePool | Op::GlobalMaxPool if g.ty(y).dtype.is_float() => {
            Op::PoolNhwc { pool: Box::new(n.op.clone()) }
        }
        _ => return None,
    };
    if rank != 4 {
        return None;
    }
    let mut inputs = Vec::with_capacity(n.inputs.len());
    for v in &n.inputs {
        inputs.push(match v {
            None => None,
            Some(v) => Some(operand(g, w, *v, rank, matches!(op, Op::Concat { .. }))?),
        });
    }
    let ty = g.infer_node(&op, &inputs, 1).ok()?.pop()?;
    if ty.shape != permute(&g.ty(y).shape, &to_last(rank)) {
        return None;
    }
    let yl = fresh(g, y, "nhwc");
    Some(Node { name: n.name.clone(), op, inputs, outputs: vec![yl] })
}

/// An operand of a channels-last node: the channels-last form of a value
/// that has one, a scalar, or a constant permuted at compile time
/// (broadcast-shaped constants gain leading 1s first).
fn operand(g: &mut Graph, w: &mut Walk, v: ValueId, rank: usize, concat: bool) -> Option<ValueId> {
    if let Some(l) = w.last.get(&v) {
        return Some(*l);
    }
    let shape = g.ty(v).shape.clone();
    if shape.is_empty() && !concat {
        return Some(v);
    }
    if let Some(l) = w.consts.get(&v) {
        return Some(*l);
    }
    let t = g.const_value(v)?;
    if shape.len() > rank || (concat && shape.len() != rank) {
        return None;
    }
    let mut full = vec![1; rank - shape.len()];
    full.extend(&shape);
    let perm = to_last(rank);
    let out_ty = TensorType { dtype: t.dtype(), shape: permute(&full, &perm) };
    let pt = eval::eval_op(&Op::Transpose { perm: Some(perm) }, &[Some(&t.reshaped(full))], &[out_ty]).ok()?.pop()?;
    let name = format!("{}.nhwc", g.display_name(v));
    let l = g.add_const(name, pt);
    w.consts.insert(v, l);
    Some(l)
}

/// Used by tests: the channels-first result of a value is unchanged.
#[doc(hidden)]
pub fn permuted(t: &Tensor, perm: &[usize]) -> Option<Tensor> {
    let ty = TensorType { dtype: t.dtype(), shape: permute(t.shape(), perm) };
    eval::eval_op(&Op::Transpose { perm: Some(perm.to_vec()) }, &[Some(t)], &[ty]).ok()?.pop()
}
