//! The graph: values and nodes in arenas, addressed by ids.
//!
//! Invariants (checked by `verify`):
//! - `nodes` is in topological order: a node's inputs are graph inputs,
//!   constants, or outputs of earlier nodes.
//! - every value has a static `TensorType`; a node's output types are exactly
//!   what its op's shape rule infers from its inputs.
//! - each value is defined once: a graph input, a constant, or one node output.

use crate::dtype::TensorType;
use crate::error::{IrError, OpError};
use crate::infer::{infer, InputInfo};
use crate::op::Op;
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

impl fmt::Display for ValueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// The ONNX name (kept for diagnostics and the C header); may be empty.
    pub name: String,
    pub ty: TensorType,
    /// Set for constants (initializers, folded values).
    pub konst: Option<Tensor>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub op: Op,
    /// `None` marks an omitted optional input.
    pub inputs: Vec<Option<ValueId>>,
    pub outputs: Vec<ValueId>,
}

impl Node {
    /// The `i`th input, if present.
    pub fn input(&self, i: usize) -> Option<ValueId> {
        self.inputs.get(i).copied().flatten()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub values: Vec<Value>,
    pub nodes: Vec<Node>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.0 as usize]
    }

    pub fn value_mut(&mut self, id: ValueId) -> &mut Value {
        &mut self.values[id.0 as usize]
    }

    pub fn ty(&self, id: ValueId) -> &TensorType {
        &self.value(id).ty
    }

    pub fn const_value(&self, id: ValueId) -> Option<&Tensor> {
        self.value(id).konst.as_ref()
    }

    fn push_value(&mut self, v: Value) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(v);
        id
    }

    pub fn add_input(&mut self, name: impl Into<String>, ty: TensorType) -> ValueId {
        let id = self.push_value(Value { name: name.into(), ty, konst: None });
        self.inputs.push(id);
        id
    }

    pub fn add_const(&mut self, name: impl Into<String>, t: Tensor) -> ValueId {
        self.push_value(Value { name: name.into(), ty: t.ty().clone(), konst: Some(t) })
    }

    /// A value with a given type and no definition yet; used by passes and the
    /// text parser that define it right after.
    pub fn add_value(&mut self, name: impl Into<String>, ty: TensorType) -> ValueId {
        self.push_value(Value { name: name.into(), ty, konst: None })
    }

    /// Infers the output types of `op` on `inputs` and appends the node.
    /// `output_names` gives the number of outputs and their ONNX names.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        output_names: &[String],
    ) -> Result<Vec<ValueId>, IrError> {
        let name = name.into();
        let types = self.infer_node(&op, &inputs, output_names.len()).map_err(|e| {
            if e.needed_constant().is_some() {
                self.needs_constant_error(&name, &op, &inputs, output_names.len(), &e)
            } else {
                IrError::Node { node: name.clone(), op: op.onnx_name(), msg: e.0 }
            }
        })?;
        let outputs: Vec<ValueId> = types
            .into_iter()
            .zip(output_names)
            .map(|(ty, n)| self.push_value(Value { name: n.clone(), ty, konst: None }))
            .collect();
        self.nodes.push(Node { name, op, inputs, outputs: outputs.clone() });
        Ok(outputs)
    }

    /// Runs the op's shape rule on the current types and constants of `inputs`.
    pub fn infer_node(
        &self,
        op: &Op,
        inputs: &[Option<ValueId>],
        num_outputs: usize,
    ) -> Result<Vec<TensorType>, OpError> {
        let infos: Vec<Option<InputInfo<'_>>> = inputs
            .iter()
            .map(|i| i.map(|id| InputInfo { ty: self.ty(id), value: self.const_value(id) }))
            .collect();
        infer(op, &infos, num_outputs)
    }

    /// How many times each value is read by a node or a graph output.
    pub fn use_counts(&self) -> HashMap<ValueId, usize> {
        let mut uses = HashMap::new();
        for n in &self.nodes {
            for i in n.inputs.iter().flatten() {
                *uses.entry(*i).or_insert(0) += 1;
            }
        }
        for o in &self.outputs {
            *uses.entry(*o).or_insert(0) += 1;
        }
        uses
    }

    /// Display name of a value: its ONNX name, or its id.
    pub fn display_name(&self, id: ValueId) -> String {
        let n = &self.value(id).name;
        if n.is_empty() {
            id.to_string()
        } else {
            n.clone()
        }
    }

    /// Number of weights (elements of constants read by nodes).
    pub fn parameter_count(&self) -> usize {
        let uses = self.use_counts();
        self.values
            .iter()
            .enumerate()
            .filter(|(i, v)| v.konst.is_some() && uses.contains_key(&ValueId(*i as u32)))
            .map(|(_, v)| v.ty.numel())
            .sum()
    }
}
