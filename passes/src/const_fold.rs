//! Constant folding: every node whose inputs are all constants is evaluated
//! at compile time with the reference evaluator, and so are `Shape` and
//! `Size`, whose results follow from the (always static) input types.
//!
//! A folded node's output values keep their ids and become constants (their
//! `konst` is set) while the node is dropped, so each value is still defined
//! exactly once, users need no rewiring, and graph outputs that fold stay
//! graph outputs. Nodes are visited in topological order and a folded value is
//! a constant for every later node, so whole chains fold in one sweep.

use crate::error::PassError;
use crate::pipeline::Pass;
use onnxc_ir::eval::eval_op;
use onnxc_ir::{Graph, Node, Op, Tensor, TensorType};

/// Folded results at most this large are always materialized. Beyond it a
/// node is folded only if its results are no larger than its inputs, so that
/// `Expand`/`Tile`/`ConstantOfShape` of a tiny constant do not bloat the
/// object file's read-only data with what a kernel computes cheaply.
pub const DEFAULT_MAX_GROWTH_BYTES: usize = 1 << 20;

#[derive(Clone, Debug)]
pub struct ConstFold {
    pub max_growth_bytes: usize,
}

impl Default for ConstFold {
    fn default() -> Self {
        ConstFold { max_growth_bytes: DEFAULT_MAX_GROWTH_BYTES }
    }
}

impl Pass for ConstFold {
    fn name(&self) -> &'static str {
        "const-fold"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        self.fold(g);
        Ok(())
    }
}

impl ConstFold {
    /// Folds what it can and returns the number of nodes folded. Nodes the
    /// evaluator cannot handle (or rejects) are left in place: folding is an
    /// optimization, and the kernel for the op reports any real problem.
    pub fn fold(&self, g: &mut Graph) -> usize {
        let nodes = std::mem::take(&mut g.nodes);
        let before = nodes.len();
        let mut kept = Vec::with_capacity(before);
        for n in nodes {
            match self.try_fold(g, &n) {
                Some(results) => {
                    for (o, t) in n.outputs.iter().zip(results) {
                        g.value_mut(*o).konst = Some(t);
                    }
                }
                None => kept.push(n),
            }
        }
        g.nodes = kept;
        before - g.nodes.len()
    }

    /// The node's results if it can be folded, with types checked against
    /// its output values (a mismatch would break the verifier's invariants).
    fn try_fold(&self, g: &Graph, n: &Node) -> Option<Vec<Tensor>> {
        let results = match static_shape_result(g, n) {
            Some(t) => vec![t],
            None => {
                let args: Option<Vec<Option<&Tensor>>> = n
                    .inputs
                    .iter()
                    .map(|i| match i {
                        None => Some(None),
                        Some(id) => g.const_value(*id).map(Some),
                    })
                    .collect();
                let args = args?;
                let types: Vec<TensorType> = n.outputs.iter().map(|o| g.ty(*o).clone()).collect();
                if !self.size_ok(&args, &types) {
                    return None;
                }
                eval_op(&n.op, &args, &types).ok()?
            }
        };
        let types_match = results.len() == n.outputs.len()
            && results.iter().zip(&n.outputs).all(|(t, o)| t.ty() == g.ty(*o));
        types_match.then_some(results)
    }

    fn size_ok(&self, args: &[Option<&Tensor>], out_types: &[TensorType]) -> bool {
        let bytes = |t: &TensorType| t.byte_size().unwrap_or(usize::MAX);
        let out: usize = out_types.iter().map(bytes).fold(0, usize::saturating_add);
        let inp: usize = args.iter().flatten().map(|t| t.bytes().len()).sum();
        out <= self.max_growth_bytes.max(inp)
    }
}

/// `Shape` and `Size` of a non-constant input, computed from its static type.
/// (With a constant input the evaluator handles them like any other op.)
fn static_shape_result(g: &Graph, n: &Node) -> Option<Tensor> {
    let x = n.input(0)?;
    if g.const_value(x).is_some() {
        return None;
    }
    let dims = &g.ty(x).shape;
    match &n.op {
        Op::Shape { start, end } => {
            let (s, e) = shape_range(dims.len(), *start, *end);
            let v: Vec<i64> = dims[s..e].iter().map(|&d| d as i64).collect();
            Some(Tensor::from_vec(vec![v.len()], v))
        }
        Op::Size => Some(Tensor::scalar(g.ty(x).numel() as i64)),
        _ => None,
    }
}

/// ONNX Shape-15 `start`/`end`: negative values count from the back, then
/// both are clamped to `[0, rank]`; an empty range yields an empty shape.
fn shape_range(rank: usize, start: i64, end: Option<i64>) -> (usize, usize) {
    let r = rank as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let s = clamp(start);
    let e = end.map_or(rank, clamp);
    (s, e.max(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_range_follows_onnx_clamping() {
        assert_eq!(shape_range(4, 0, None), (0, 4));
        assert_eq!(shape_range(4, -1, None), (3, 4));
        assert_eq!(shape_range(4, 1, Some(-1)), (1, 3));
        assert_eq!(shape_range(4, -10, Some(10)), (0, 4));
        assert_eq!(shape_range(4, 3, Some(1)), (3, 3));
    }
}
