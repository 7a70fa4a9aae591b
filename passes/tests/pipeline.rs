//! The pipeline driver: IR printing, verification blame, fold size limits.

mod common;

use common::f32s;
use onnxc_ir::op::UnaryOp;
use onnxc_ir::{Graph, Op, Tensor};
use onnxc_passes::pipeline::{ir_after, run_passes, run_with_sink, Pass, PipelineOptions};
use onnxc_passes::{ConstFold, PassError};

/// y = relu(identity(x) + (c * c))
fn sample() -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[2]));
    let c = g.add_const("c", Tensor::from_vec(vec![2], vec![1f32, 2.0]));
    let name = |s: &str| [s.to_string()];
    let i = g.add_node("i", Op::Unary(UnaryOp::Identity), vec![Some(x)], &name("i")).unwrap()[0];
    let cc = g
        .add_node(
            "cc",
            Op::Binary(onnxc_ir::op::BinaryOp::Mul),
            vec![Some(c), Some(c)],
            &name("cc"),
        )
        .unwrap()[0];
    let s = g
        .add_node("s", Op::Binary(onnxc_ir::op::BinaryOp::Add), vec![Some(i), Some(cc)], &name("s"))
        .unwrap()[0];
    let y = g.add_node("y", Op::Unary(UnaryOp::Relu), vec![Some(s)], &name("y")).unwrap()[0];
    g.outputs.push(y);
    g
}

#[test]
fn print_ir_after_all_reports_every_pass_in_order() {
    let mut g = sample();
    let mut seen = Vec::new();
    let opts = PipelineOptions { print_ir_after_all: true, verify: true };
    run_with_sink(&mut g, &opts, &mut |pass, g| seen.push((pass.to_string(), ir_after(pass, g))))
        .unwrap();
    let names: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["identity-elim", "const-fold", "dce", "bn-fold", "layout", "fuse-epilogue", "fuse-elementwise"]);
    assert!(seen[2].1.starts_with("// IR after dce\ngraph("));
    assert!(seen[6].1.starts_with("// IR after fuse-elementwise\ngraph("));
    assert_eq!(g.nodes.len(), 1, "identity and c*c are gone, the Add and Relu fused");
    let quiet = PipelineOptions { print_ir_after_all: false, verify: true };
    let mut calls = 0;
    run_with_sink(&mut sample(), &quiet, &mut |_, _| calls += 1).unwrap();
    assert_eq!(calls, 0);
}

/// A pass that breaks the one-definition invariant.
struct Breaker;
impl Pass for Breaker {
    fn name(&self) -> &'static str {
        "breaker"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        let dup = g.nodes[0].clone();
        g.nodes.push(dup);
        Ok(())
    }
}

#[test]
fn verifier_failures_name_the_pass() {
    let opts = PipelineOptions { print_ir_after_all: false, verify: true };
    let passes: Vec<Box<dyn Pass>> = vec![Box::new(ConstFold::default()), Box::new(Breaker)];
    let err = run_passes(&mut sample(), &passes, &opts, &mut |_, _| {}).unwrap_err();
    assert!(matches!(&err, PassError::Verify { pass, .. } if pass == "breaker"), "{err}");
    assert!(err.to_string().contains("after pass `breaker`"));

    let mut broken_input = sample();
    broken_input.nodes.swap(0, 3);
    let err = run_passes(&mut broken_input, &passes, &opts, &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, PassError::InvalidInput(_)), "{err}");
    assert_eq!(err.pass(), "<input>");

    let off = PipelineOptions { print_ir_after_all: false, verify: false };
    assert!(run_passes(&mut sample(), &passes, &off, &mut |_, _| {}).is_ok());
}

#[test]
fn folding_does_not_materialize_huge_constants_from_tiny_ones() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[1024, 1024]));
    let shape = g.add_const("shape", Tensor::from_vec(vec![2], vec![1024i64, 1024]));
    let op = Op::ConstantOfShape { value: Tensor::from_vec(vec![1], vec![1f32]) };
    let ones = g.add_node("ones", op, vec![Some(shape)], &["ones".into()]).unwrap()[0];
    let op = Op::Binary(onnxc_ir::op::BinaryOp::Add);
    let y = g.add_node("add", op, vec![Some(x), Some(ones)], &["y".into()]).unwrap()[0];
    g.outputs.push(y);
    assert_eq!(ConstFold::default().fold(&mut g.clone()), 0, "4 MiB from 16 bytes stays a node");
    let unlimited = ConstFold { max_growth_bytes: usize::MAX };
    assert_eq!(unlimited.fold(&mut g), 1);
    assert_eq!(g.const_value(ones).unwrap().numel(), 1 << 20);
}
