//! Round trips and error reporting of the textual IR.

use onnxc_ir::op::{Activation, BinaryOp, UnaryOp, Window};
use onnxc_ir::text::{parse, print};
use onnxc_ir::{DType, Graph, IrError, Op, Tensor, TensorType};

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A graph with several op kinds, omitted optional inputs, multi-output
/// nodes, odd names and constants of several dtypes.
fn sample() -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![1, 3, 8, 8]));
    let w = g.add_const("conv.w", Tensor::from_vec(vec![4, 3, 3, 3], (0..108).map(|i| i as f32 * 0.5).collect()));
    let window = Window { kernel_shape: vec![3, 3], strides: vec![1, 1], pads: vec![0; 4], dilations: vec![1, 1] };
    let c = g.add_node("conv \"0\"", Op::Conv { window, group: 1 }, vec![Some(x), Some(w), None], &names(&["y"])).unwrap()[0];
    let r = g.add_node("", Op::Unary(UnaryOp::Relu), vec![Some(c)], &names(&[""])).unwrap()[0];
    let a = g.add_node("lrelu", Op::Activation(Activation::LeakyRelu { alpha: 0.1 }), vec![Some(r)], &names(&["ünï\ncode"])).unwrap()[0];
    let shape = g.add_const("", Tensor::from_vec(vec![2], vec![1i64, -1]));
    let flat = g.add_node("reshape", Op::Reshape { allowzero: false }, vec![Some(a), Some(shape)], &names(&["flat"])).unwrap()[0];
    let split = g.add_const("split", Tensor::from_vec(vec![2], vec![100i64, 44]));
    let parts = g
        .add_node("split", Op::Split { axis: 1, num_outputs: 2 }, vec![Some(flat), Some(split)], &names(&["p0", "p1"]))
        .unwrap();
    let h = g.add_const("h", Tensor::from_vec(vec![2], vec![half::f16::from_f32(1.5), half::f16::from_f32(-2.0)]));
    let b = g.add_const("b", Tensor::from_vec(vec![3], vec![true, false, true]));
    let u = g.add_const("u8", Tensor::from_vec(vec![], vec![7u8]));
    let cmp = g.add_node("cmp", Op::Binary(BinaryOp::Less), vec![Some(parts[1]), Some(parts[1])], &names(&["lt"])).unwrap()[0];
    let _ = (h, b, u);
    let m = g.add_node("cast", Op::Cast { to: DType::BF16 }, vec![Some(cmp)], &names(&["m"])).unwrap()[0];
    let cos = Op::ConstantOfShape { value: Tensor::scalar(3i32) };
    let cs = g.add_const("cs", Tensor::from_vec(vec![1], vec![5i64]));
    let k = g.add_node("cos", cos, vec![Some(cs)], &names(&["k"])).unwrap()[0];
    g.add_value("dangling", TensorType::new(DType::F64, vec![2]));
    g.outputs = vec![m, parts[0], k];
    g
}

#[test]
fn round_trip_sample() {
    let g = sample();
    let text = print(&g);
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, g, "\n{text}");
    assert_eq!(print(&back), text);
    println!("{text}");
}
