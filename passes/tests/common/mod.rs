//! Helpers shared by the integration tests.
#![allow(dead_code)]

use onnxc_ir::op::UnaryOp;
use onnxc_ir::{DType, Graph, Node, Op, TensorType, ValueId};

pub fn f32s(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

/// Appends a node with the given output types without running a shape rule,
/// for tests of passes that only look at the graph's structure.
pub fn raw_node(g: &mut Graph, op: Op, inputs: &[ValueId], out_tys: &[TensorType]) -> Vec<ValueId> {
    let k = g.nodes.len();
    let outputs: Vec<ValueId> = out_tys
        .iter()
        .enumerate()
        .map(|(i, t)| g.add_value(format!("n{k}_{i}"), t.clone()))
        .collect();
    g.nodes.push(Node {
        name: format!("n{k}"),
        op,
        inputs: inputs.iter().map(|i| Some(*i)).collect(),
        outputs: outputs.clone(),
    });
    outputs
}

pub fn relu() -> Op {
    Op::Unary(UnaryOp::Relu)
}

/// Proptest settings for this crate's tests: no regression files are
/// written into the source tree (integration tests have no lib.rs for
/// proptest to anchor them to); failures print the minimal input instead.
pub fn proptest_config() -> proptest::test_runner::Config {
    proptest::test_runner::Config { failure_persistence: None, ..Default::default() }
}
