//! Which graph inputs a value is computed from (a backward slice), and the
//! [`IrError::NeedsConstant`] error built on it: when a shape-carrying input
//! (Reshape's `shape`, a Reduce's `axes`, ...) is only known at run time, the
//! user learns which graph inputs to bind at compile time to make it constant.

use crate::error::{IrError, OpError};
use crate::graph::{Graph, ValueId};
use crate::infer::{infer, InputInfo};
use crate::op::Op;
use crate::tensor::Tensor;
use std::collections::{HashMap, HashSet};

/// Shape-carrying inputs are small; larger candidates are not probed (probing
/// materializes a zero tensor of the input's type).
const PROBE_MAX_ELEMENTS: usize = 1 << 16;

/// The graph inputs (in graph-input order) whose values flow into any of
/// `roots`. Constants stop the walk, and so do Shape and Size, whose values
/// depend only on their input's static type.
pub fn graph_input_deps(g: &Graph, roots: &[ValueId]) -> Vec<ValueId> {
    let producer: HashMap<ValueId, usize> = g
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.outputs.iter().map(move |o| (*o, i)))
        .collect();
    let mut seen = HashSet::new();
    let mut stack: Vec<ValueId> = roots.to_vec();
    while let Some(v) = stack.pop() {
        if !seen.insert(v) || g.const_value(v).is_some() {
            continue;
        }
        if let Some(&i) = producer.get(&v) {
            let n = &g.nodes[i];
            if !matches!(n.op, Op::Shape { .. } | Op::Size) {
                stack.extend(n.inputs.iter().flatten().copied());
            }
        }
    }
    g.inputs.iter().copied().filter(|i| seen.contains(i) && g.const_value(*i).is_none()).collect()
}

impl Graph {
    /// The `NeedsConstant` error for node `node` whose shape rule failed with
    /// `err` (a [`crate::error::OpErrorKind::NeedsConstant`] error). Finds
    /// which inputs the rule needs as constants by probing: an input is the
    /// one named in the error when giving it a (zero) constant value moves the
    /// rule past that complaint. Repeats for the next complaint, so a Slice
    /// with run-time `starts` and `ends` names both.
    pub fn needs_constant_error(
        &self,
        node: &str,
        op: &Op,
        inputs: &[Option<ValueId>],
        num_outputs: usize,
        err: &OpError,
    ) -> IrError {
        let mut fakes: Vec<Option<Tensor>> = vec![None; inputs.len()];
        let mut names: Vec<String> = Vec::new();
        let mut values: Vec<ValueId> = Vec::new();
        let mut current = err.clone();
        while let Some(want) = current.needed_constant().map(str::to_string) {
            if names.contains(&want) {
                break;
            }
            let mut found = None;
            for (j, id) in inputs.iter().enumerate() {
                let Some(id) = *id else { continue };
                if fakes[j].is_some() || self.const_value(id).is_some() {
                    continue;
                }
                if self.ty(id).numel() > PROBE_MAX_ELEMENTS {
                    continue;
                }
                fakes[j] = Some(Tensor::zeros(self.ty(id).clone()));
                let next = self.infer_with(op, inputs, &fakes, num_outputs).err();
                if next.as_ref().and_then(|e| e.needed_constant()) != Some(want.as_str()) {
                    found = Some((id, next));
                    break;
                }
                fakes[j] = None;
            }
            names.push(want);
            match found {
                Some((id, next)) => {
                    values.push(id);
                    match next {
                        Some(e) => current = e,
                        None => break,
                    }
                }
                None => break,
            }
        }
        self.needs_constant_values(node, &op.onnx_name(), &err.0, names, &values)
    }

    /// The `NeedsConstant` error for node inputs `names` (ONNX input names)
    /// holding `values`, which must be constants; for importers that know
    /// which values they need (a shape rule's error goes through
    /// [`Graph::needs_constant_error`]).
    pub fn needs_constant_values(
        &self,
        node: &str,
        op: &str,
        msg: &str,
        names: Vec<String>,
        values: &[ValueId],
    ) -> IrError {
        let deps = graph_input_deps(self, values);
        IrError::NeedsConstant {
            node: node.to_string(),
            op: op.to_string(),
            msg: msg.to_string(),
            inputs: names,
            graph_inputs: deps.iter().map(|d| self.display_name(*d)).collect(),
        }
    }

    /// Runs the shape rule with some inputs replaced by constant values.
    fn infer_with(
        &self,
        op: &Op,
        inputs: &[Option<ValueId>],
        fakes: &[Option<Tensor>],
        num_outputs: usize,
    ) -> Result<Vec<crate::dtype::TensorType>, OpError> {
        let infos: Vec<Option<InputInfo<'_>>> = inputs
            .iter()
            .zip(fakes)
            .map(|(i, f)| {
                i.map(|id| InputInfo {
                    ty: self.ty(id),
                    value: f.as_ref().or_else(|| self.const_value(id)),
                })
            })
            .collect();
        infer(op, &infos, num_outputs)
    }
}
