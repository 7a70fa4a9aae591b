//! Reference evaluator: whole graphs (built by hand, without shape inference).

use onnxc_ir::eval::eval_graph;
use onnxc_ir::op::{BinaryOp, UnaryOp};
use onnxc_ir::{DType, Graph, Node, Op, Tensor, TensorType};

fn node(
    g: &mut Graph,
    op: Op,
    inputs: Vec<Option<onnxc_ir::ValueId>>,
    ty: TensorType,
) -> onnxc_ir::ValueId {
    let out = g.add_value("", ty);
    g.nodes.push(Node {
        name: format!("n{}", g.nodes.len()),
        op,
        inputs,
        outputs: vec![out],
    });
    out
}

fn graph() -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, [1, 2]));
    let w = g.add_const("w", Tensor::from_vec([2, 2], vec![1f32, 2., 3., 4.]));
    let m = node(
        &mut g,
        Op::MatMul,
        vec![Some(x), Some(w)],
        TensorType::new(DType::F32, [1, 2]),
    );
    let b = g.add_const("b", Tensor::from_vec([2], vec![-10f32, 0.]));
    let a = node(
        &mut g,
        Op::Binary(BinaryOp::Add),
        vec![Some(m), Some(b)],
        TensorType::new(DType::F32, [1, 2]),
    );
    let r = node(
        &mut g,
        Op::Unary(UnaryOp::Relu),
        vec![Some(a)],
        TensorType::new(DType::F32, [1, 2]),
    );
    g.outputs.push(r);
    g
}

#[test]
fn evaluates_in_order() {
    let g = graph();
    let out = eval_graph(&g, &[Tensor::from_vec([1, 2], vec![1f32, 1.])]).unwrap();
    assert_eq!(out[0].to_vec::<f32>(), vec![0., 6.]);
}

#[test]
fn reports_bad_inputs_and_node_errors() {
    let g = graph();
    assert!(eval_graph(&g, &[]).is_err());
    assert!(eval_graph(&g, &[Tensor::from_vec([2], vec![1f32, 1.])]).is_err());
    let mut bad = graph();
    bad.nodes[1].op = Op::Binary(BinaryOp::And);
    let err = eval_graph(&bad, &[Tensor::from_vec([1, 2], vec![1f32, 1.])])
        .unwrap_err()
        .to_string();
    assert!(err.contains("n1"), "{err}");
    let mut unordered = graph();
    unordered.nodes.swap(0, 2);
    assert!(eval_graph(&unordered, &[Tensor::from_vec([1, 2], vec![1f32, 1.])]).is_err());
}

#[test]
fn rejects_outputs_that_contradict_declared_types() {
    let mut g = graph();
    let relu_out = g.nodes[2].outputs[0];
    g.value_mut(relu_out).ty = TensorType::new(DType::F32, [2, 1]);
    let err = eval_graph(&g, &[Tensor::from_vec([1, 2], vec![1f32, 1.])]).unwrap_err();
    assert!(err.to_string().contains("declared type"), "{err}");
}

#[test]
fn values_read_by_several_nodes_stay_alive() {
    let mut g = Graph::new();
    let ty = TensorType::new(DType::I64, [2]);
    let x = g.add_input("x", ty.clone());
    let y = node(&mut g, Op::Unary(UnaryOp::Neg), vec![Some(x)], ty.clone());
    let z = node(
        &mut g,
        Op::Binary(BinaryOp::Add),
        vec![Some(y), Some(y)],
        ty.clone(),
    );
    let _dead = node(&mut g, Op::Unary(UnaryOp::Abs), vec![Some(z)], ty.clone());
    let w = node(
        &mut g,
        Op::Binary(BinaryOp::Mul),
        vec![Some(z), Some(y)],
        ty.clone(),
    );
    g.outputs.extend([w, y]);
    let out = eval_graph(&g, &[Tensor::from_vec([2], vec![3i64, -4])]).unwrap();
    assert_eq!(out[0].to_vec::<i64>(), vec![18, 32]);
    assert_eq!(out[1].to_vec::<i64>(), vec![-3, 4]);
}
