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
    let w = g.add_const(
        "conv.w",
        Tensor::from_vec(vec![4, 3, 3, 3], (0..108).map(|i| i as f32 * 0.5).collect()),
    );
    let window = Window {
        kernel_shape: vec![3, 3],
        strides: vec![1, 1],
        pads: vec![0; 4],
        dilations: vec![1, 1],
    };
    let c = g
        .add_node(
            "conv \"0\"",
            Op::Conv { window, group: 1 },
            vec![Some(x), Some(w), None],
            &names(&["y"]),
        )
        .unwrap()[0];
    let r = g
        .add_node("", Op::Unary(UnaryOp::Relu), vec![Some(c)], &names(&[""]))
        .unwrap()[0];
    let a = g
        .add_node(
            "lrelu",
            Op::Activation(Activation::LeakyRelu { alpha: 0.1 }),
            vec![Some(r)],
            &names(&["ünï\ncode"]),
        )
        .unwrap()[0];
    let shape = g.add_const("", Tensor::from_vec(vec![2], vec![1i64, -1]));
    let flat = g
        .add_node(
            "reshape",
            Op::Reshape { allowzero: false },
            vec![Some(a), Some(shape)],
            &names(&["flat"]),
        )
        .unwrap()[0];
    let split = g.add_const("split", Tensor::from_vec(vec![2], vec![100i64, 44]));
    let parts = g
        .add_node(
            "split",
            Op::Split {
                axis: 1,
                num_outputs: 2,
            },
            vec![Some(flat), Some(split)],
            &names(&["p0", "p1"]),
        )
        .unwrap();
    let h = g.add_const(
        "h",
        Tensor::from_vec(
            vec![2],
            vec![half::f16::from_f32(1.5), half::f16::from_f32(-2.0)],
        ),
    );
    let b = g.add_const("b", Tensor::from_vec(vec![3], vec![true, false, true]));
    let u = g.add_const("u8", Tensor::from_vec(vec![], vec![7u8]));
    let cmp = g
        .add_node(
            "cmp",
            Op::Binary(BinaryOp::Less),
            vec![Some(parts[1]), Some(parts[1])],
            &names(&["lt"]),
        )
        .unwrap()[0];
    let _ = (h, b, u);
    let m = g
        .add_node(
            "cast",
            Op::Cast { to: DType::BF16 },
            vec![Some(cmp)],
            &names(&["m"]),
        )
        .unwrap()[0];
    let cos = Op::ConstantOfShape {
        value: Tensor::scalar(3i32),
    };
    let cs = g.add_const("cs", Tensor::from_vec(vec![1], vec![5i64]));
    let k = g
        .add_node("cos", cos, vec![Some(cs)], &names(&["k"]))
        .unwrap()[0];
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
}

#[test]
fn round_trip_edge_cases() {
    // Empty graph, no outputs, a zero-element constant, extreme floats in attributes.
    let g = Graph::new();
    assert_eq!(parse(&print(&g)).unwrap(), g);
    let mut g = Graph::new();
    let x = g.add_input("", TensorType::new(DType::F32, vec![0, 2]));
    let e = g.add_const("empty", Tensor::from_vec(vec![0], Vec::<f64>::new()));
    let mut last = x;
    for alpha in [
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN_POSITIVE,
        1e-45,
        -0.0,
        0.1,
    ] {
        last = g
            .add_node(
                "",
                Op::Activation(Activation::Elu { alpha }),
                vec![Some(last)],
                &names(&["e"]),
            )
            .unwrap()[0];
    }
    g.outputs = vec![last, e, x];
    let text = print(&g);
    assert_eq!(parse(&text).unwrap(), g, "\n{text}");
}

#[test]
fn parses_hand_written_text_with_comments() {
    let text = r#"
# a comment line
graph(%0 "x": f32[2,3], %1: i64[]) {   # trailing comment

  %2 "s": i64[2] = const "02000000000000000300000000000000"
  %3: f32[3,2] = Transpose(perm: Some([1, 0]))(%0) "t"
  %4 "y": f32[2,3] = Reshape(allowzero: false)( %3 , %2 )
  return %4, %1
}
"#;
    let g = parse(text).unwrap();
    assert_eq!(g.nodes.len(), 2);
    assert_eq!(g.inputs.len(), 2);
    assert_eq!(g.ty(g.outputs[0]), &TensorType::new(DType::F32, vec![2, 3]));
    assert_eq!(g.nodes[0].name, "t");
    assert_eq!(parse(&print(&g)).unwrap(), g);
}

/// Parses `text` and returns the error's line and message.
fn parse_err(text: &str) -> (usize, String) {
    match parse(text) {
        Err(IrError::Parse { line, msg }) => (line, msg),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn malformed_text_is_rejected() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 1, "empty input"),
        ("grap() {\n return\n}", 1, "expected `graph"),
        ("graph(%0: f32[2]) {\n  return %0\n", 2, "missing closing"),
        ("graph(%0: f32[2]) {\n}", 2, "missing `return`"),
        ("graph(%0: f32[2]) {\n  return %0\n}\nextra", 4, "after the closing"),
        ("graph(%0: f33[2]) {\n  return %0\n}", 1, "unknown dtype `f33`"),
        ("graph(%0: f32[2,]) {\n  return %0\n}", 1, "expected a number"),
        ("graph(%0: f32[2]) {\n  %1: f32[2] = Unary(Relu)(%0) \"unterminated\n  return %1\n}", 2, "unterminated string"),
        ("graph(%0: f32[2]) {\n  %1: f32[2] = Unary(Rleu)(%0)\n  return %1\n}", 2, "invalid op"),
        ("graph(%0: f32[2]) {\n  %1: f32[3] = Unary(Relu)(%0)\n  return %1\n}", 2, "printed as f32[3] but the op infers f32[2]"),
        ("graph(%0: f32[2]) {\n  %1: f32[2] = Unary(Relu)(%2)\n  %2: f32[2] = Unary(Relu)(%0)\n  return %1\n}", 2, "reads %2 before it is defined"),
        ("graph(%0: f32[2]) {\n  %0: f32[2] = Unary(Relu)(%0)\n  return %0\n}", 2, "declared twice"),
        ("graph(%0: f32[2]) {\n  %5: f32[2] = Unary(Relu)(%0)\n  return %5\n}", 2, "ids must be dense"),
        ("graph(%0: f32[2]) {\n  %1: f32[2] = const \"0000\"\n  return %1\n}", 2, "has 2 bytes, expected 8"),
        ("graph(%0: f32[2]) {\n  %1: f32[1] = const \"zz000000\"\n  return %1\n}", 2, "invalid constant hex"),
        ("graph(%0: f32[2]) {\n  %1: f32[2] = Binary(Add)(%0)\n  return %1\n}", 2, "expected 2 inputs, got 1"),
        ("graph(%0: f32[2]) {\n  return %3\n}", 2, "never defined"),
        ("graph(%0: f32[2]) {\n  return %0\n  %1: f32[2] = Unary(Relu)(%0)\n}", 3, "after `return`"),
        ("graph(%0: f32[2]) {\n  %1: f32[2] = Unary(Relu)(%0) junk\n  return %1\n}", 2, "unexpected `junk`"),
        ("graph(%0: f32[2]) {\n  %1: f32[2] = Unary(Relu)(%0\n  return %1\n}", 2, "expected `,`, found end of line"),
        ("graph(%0: f32[2]) {\n  %1: f32[2] = Unary(Relu\n  return %1\n}", 2, "unclosed"),
        ("graph(%0: f32[2]) {\n  %1: f32[2], %2: f32[2] = const \"00\"\n  return %1\n}", 2, "exactly one value"),
        ("graph(%99999999999: f32[2]) {\n  return\n}", 1, "too large"),
    ];
    for (text, line, want) in cases {
        let (l, msg) = parse_err(text);
        assert!(
            msg.contains(want),
            "{text:?}: message {msg:?} lacks {want:?}"
        );
        assert_eq!(l, *line, "{text:?}: {msg}");
    }
}

/// The printed form is pinned by a golden file so format changes are deliberate.
/// Regenerate with `UPDATE_GOLDEN=1 cargo test -p onnxc-ir --test text_roundtrip`.
#[test]
fn golden_small_graph() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![1, 2, 4, 4]));
    let w = g.add_const("w", Tensor::from_vec(vec![2, 1, 1, 1], vec![1.0f32, -2.0]));
    let window = Window {
        kernel_shape: vec![1, 1],
        strides: vec![1, 1],
        pads: vec![0; 4],
        dilations: vec![1, 1],
    };
    let c = g
        .add_node(
            "conv",
            Op::Conv { window, group: 2 },
            vec![Some(x), Some(w), None],
            &names(&["c"]),
        )
        .unwrap();
    let axes = g.add_const("axes", Tensor::from_vec(vec![2], vec![2i64, 3]));
    let red = Op::Reduce {
        op: onnxc_ir::op::ReduceOp::Mean,
        keepdims: false,
        noop_with_empty_axes: false,
    };
    let m = g
        .add_node(
            "gap",
            red,
            vec![Some(c[0]), Some(axes)],
            &names(&["pooled"]),
        )
        .unwrap();
    let r = g
        .add_node(
            "",
            Op::Softmax { axis: -1 },
            vec![Some(m[0])],
            &names(&["probs"]),
        )
        .unwrap();
    g.outputs = r;
    let text = print(&g);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/small.ir");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, want);
    assert_eq!(parse(&want).unwrap(), g);
}
