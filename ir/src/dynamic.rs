//! Values whose extent is data-dependent (NonZero, Compress, Unique,
//! NonMaxSuppression, TopK with a run-time K).
//!
//! Such a value keeps a static `TensorType`: its shape is the UPPER BOUND of
//! the actual shape, which differs from it along exactly one axis (the
//! "dynamic axis"). The memory plan and the kernels size its buffer by the
//! bound; the lowering writes the actual extent at run time where the C ABI
//! can report it (`<p>_output_dims`), and the data is stored dense row-major
//! for the actual dims. Which outputs are dynamic is a property of the
//! producing op (and, for TopK, of whether K is a constant), so the graph
//! needs no extra marking and passes keep working unchanged.
//!
//! Ahead of time nothing can consume such a value except a graph output or
//! a one-input elementwise op (`passes_through`: Unary, Activation, Cast),
//! whose output has the same bound, dynamic axis and extent (the kernel
//! just runs over the whole bound buffer). `check_consumers` rejects any
//! other reader, naming it.

use crate::dtype::TensorType;
use crate::error::IrError;
use crate::graph::{Graph, ValueId};
use crate::infer::InputInfo;
use crate::op::Op;
use std::collections::HashMap;

fn norm(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

/// The axis of output `out` of `op` whose extent is only known at run time,
/// or `None` when the output's type is its exact shape.
pub fn dynamic_axis(op: &Op, inputs: &[Option<InputInfo<'_>>], out: usize) -> Option<usize> {
    let x_rank = || inputs.first().copied().flatten().map(|x| x.ty.rank());
    match op {
        Op::NonZero => (out == 0).then_some(1),
        Op::Compress { axis } => match (out, axis) {
            (0, None) => Some(0),
            (0, Some(a)) => norm(*a, x_rank()?),
            _ => None,
        },
        Op::Unique { axis, .. } => match (out, axis) {
            (0, None) | (1, _) | (3, _) => Some(0),
            (0, Some(a)) => norm(*a, x_rank()?),
            _ => None,
        },
        Op::NonMaxSuppression { .. } => (out == 0).then_some(0),
        Op::TopK { axis, .. } => {
            let k_const = inputs.get(1).copied().flatten().is_some_and(|k| k.value.is_some());
            if k_const || out > 1 {
                None
            } else {
                norm(*axis, x_rank()?)
            }
        }
        _ => None,
    }
}

/// One-input elementwise ops: their output shares the input's data-dependent
/// extent (same bound, same dense layout), so they may consume such values.
pub fn passes_through(op: &Op) -> bool {
    matches!(op, Op::Unary(_) | Op::Activation(_) | Op::Cast { .. })
}

/// Every value of `g` with a data-dependent extent, with its dynamic axis.
pub fn dynamic_values(g: &Graph) -> HashMap<ValueId, usize> {
    let mut out = HashMap::new();
    for n in &g.nodes {
        if passes_through(&n.op) {
            if let (Some(a), Some(o)) = (n.input(0).and_then(|i| out.get(&i).copied()), n.outputs.first()) {
                out.insert(*o, a);
            }
            continue;
        }
        if !may_be_dynamic(&n.op) {
            continue;
        }
        let infos: Vec<Option<InputInfo<'_>>> = n
            .inputs
            .iter()
            .map(|i| i.map(|id| InputInfo { ty: g.ty(id), value: g.const_value(id) }))
            .collect();
        for (k, o) in n.outputs.iter().enumerate() {
            if let Some(a) = dynamic_axis(&n.op, &infos, k) {
                out.insert(*o, a);
            }
        }
    }
    out
}

/// Ops that can produce data-dependent extents (a cheap pre-filter).
pub fn may_be_dynamic(op: &Op) -> bool {
    matches!(
        op,
        Op::NonZero | Op::Compress { .. } | Op::Unique { .. } | Op::NonMaxSuppression { .. } | Op::TopK { .. }
    )
}

/// Rejects every node that reads a data-dependent value: only graph outputs
/// may have shapes that are known at run time only.
pub fn check_consumers(g: &Graph) -> Result<(), IrError> {
    let dynamic = dynamic_values(g);
    if dynamic.is_empty() {
        return Ok(());
    }
    for n in g.nodes.iter().filter(|n| !passes_through(&n.op)) {
        if let Some(v) = n.inputs.iter().flatten().find(|v| dynamic.contains_key(v)) {
            return Err(consumer_error(&g.display_name(*v), &n.name, &n.op.onnx_name()));
        }
    }
    Ok(())
}

/// The error for `node` (`op`) reading the data-dependent value `value`.
pub fn consumer_error(value: &str, node: &str, op: &str) -> IrError {
    IrError::Node {
        node: node.to_string(),
        op: op.to_string(),
        msg: format!(
            "data-dependent shape of `{value}` cannot feed `{node}` ({op}) ahead of time; \
             only graph outputs and one-input elementwise ops may read values with data-dependent shapes"
        ),
    }
}

/// Whether `actual` is an instance of the bound type `bound` whose extent
/// may differ (be smaller) only along `axis`.
pub fn fits_bound(actual: &TensorType, bound: &TensorType, axis: usize) -> bool {
    actual.dtype == bound.dtype
        && actual.rank() == bound.rank()
        && actual.shape.iter().zip(&bound.shape).enumerate().all(|(i, (a, b))| a == b || (i == axis && a <= b))
}
