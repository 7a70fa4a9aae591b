//! If, Scan and Loop end to end: ONNX model → import (bodies inlined) →
//! compiled object, checked against hand-computed results and against the
//! reference evaluator on the imported graph.

#[path = "../../frontend/tests/common/mod.rs"]
mod common;

use common::*;
use onnxc_frontend::proto::{
    attribute_proto::AttributeType, AttributeProto, GraphProto, ModelProto,
};
use onnxc_ir::Tensor;

const BOOL: i32 = 9;

fn a_graph(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Graph as i32),
        g: Some(g),
        ..Default::default()
    }
}

fn body(
    name: &str,
    inputs: Vec<onnxc_frontend::proto::ValueInfoProto>,
    nodes: Vec<onnxc_frontend::proto::NodeProto>,
    outputs: &[&str],
) -> GraphProto {
    GraphProto {
        name: Some(name.into()),
        node: nodes,
        input: inputs,
        output: outputs.iter().map(|o| out(o)).collect(),
        ..Default::default()
    }
}

/// Compiles the model and runs it natively; also evaluates the imported
/// graph with the reference evaluator and checks both agree.
fn compile_and_run(m: &ModelProto, inputs: &[Tensor]) -> Vec<Tensor> {
    let graph = import(m).unwrap_or_else(|e| panic!("import: {e}")).graph;
    let reference = onnxc_ir::eval::eval_graph(&graph, inputs).expect("reference evaluation");
    let art = onnxc::compile_graph(graph, &onnxc::CompileOptions::default())
        .unwrap_or_else(|e| panic!("compile: {e}"));
    let got = onnxc_tests::native::run_compiled(&art, inputs).expect("run");
    assert_eq!(got, reference, "compiled and reference results differ");
    got
}

fn f32s(t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>()
}

/// `y = c ? x + x : -x`, with `x` captured from the outer scope.
fn if_model() -> ModelProto {
    let then_g = body(
        "then",
        vec![],
        vec![node("Add", &["x", "x"], &["y_then"], vec![])],
        &["y_then"],
    );
    let else_g = body(
        "else",
        vec![],
        vec![node("Neg", &["x"], &["y_else"], vec![])],
        &["y_else"],
    );
    let n = node(
        "If",
        &["c"],
        &["y"],
        vec![
            a_graph("then_branch", then_g),
            a_graph("else_branch", else_g),
        ],
    );
    model(
        13,
        vec![n],
        vec![fixed("c", BOOL, &[]), fixed("x", F32, &[3])],
        vec![out("y")],
        vec![],
    )
}

#[test]
fn if_with_a_runtime_condition_takes_either_branch() {
    let m = if_model();
    let x = Tensor::from_vec(vec![3], vec![1f32, -2.0, 3.5]);
    let yes = compile_and_run(&m, &[Tensor::scalar(true), x.clone()]);
    assert_eq!(f32s(&yes[0]), vec![2.0, -4.0, 7.0]);
    let no = compile_and_run(&m, &[Tensor::scalar(false), x]);
    assert_eq!(f32s(&no[0]), vec![-1.0, 2.0, -3.5]);
}

#[test]
fn if_with_a_constant_condition_imports_only_the_taken_branch() {
    let mut m = if_model();
    let g = m.graph.as_mut().unwrap();
    g.input.retain(|i| i.name.as_deref() != Some("c"));
    g.initializer.push(raw("c", BOOL, &[], vec![0]));
    // The untaken branch would not type-check: it must never be imported.
    let bad = node("Reshape", &["x", "x"], &["y_then"], vec![]);
    g.node[0].attribute[0].g.as_mut().unwrap().node = vec![bad];
    let x = Tensor::from_vec(vec![3], vec![1f32, 2.0, 3.0]);
    let y = compile_and_run(&m, &[x]);
    assert_eq!(f32s(&y[0]), vec![-1.0, -2.0, -3.0]);
}

#[test]
fn if_branches_of_different_types_need_a_constant_condition() {
    let mut m = if_model();
    let g = m.graph.as_mut().unwrap();
    let then_g = g.node[0].attribute[0].g.as_mut().unwrap();
    then_g.node.push(node(
        "Concat",
        &["y_then", "y_then"],
        &["y2"],
        vec![a_int("axis", 0)],
    ));
    then_g.output = vec![out("y2")];
    let err = import(&m).unwrap_err().to_string();
    assert!(err.contains("same static type"), "{err}");
}

/// Scan-9 over axis 1 of `x: [2, 3]` with a running sum as state; the scan
/// output (state * slice) is stacked in reverse along output axis 0.
#[test]
fn scan_carries_state_and_stacks_slices() {
    let b = body(
        "step",
        vec![fixed("s_in", F32, &[2]), fixed("xt", F32, &[2])],
        vec![
            node("Add", &["s_in", "xt"], &["s_out"], vec![]),
            node("Mul", &["s_out", "xt"], &["y_t"], vec![]),
        ],
        &["s_out", "y_t"],
    );
    let n = node(
        "Scan",
        &["s0", "x"],
        &["s", "y"],
        vec![
            a_graph("body", b),
            a_int("num_scan_inputs", 1),
            a_ints("scan_input_axes", &[1]),
            a_ints("scan_output_directions", &[1]),
        ],
    );
    let m = model(
        11,
        vec![n],
        vec![fixed("s0", F32, &[2]), fixed("x", F32, &[2, 3])],
        vec![out("s"), out("y")],
        vec![],
    );
    let s0 = [0.5f32, -1.0];
    let x = [1f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let got = compile_and_run(
        &m,
        &[
            Tensor::from_vec(vec![2], s0.to_vec()),
            Tensor::from_vec(vec![2, 3], x.to_vec()),
        ],
    );
    let mut s = s0;
    let mut rows = Vec::new();
    for t in 0..3 {
        let xt = [x[t], x[3 + t]];
        s = [s[0] + xt[0], s[1] + xt[1]];
        rows.push(vec![s[0] * xt[0], s[1] * xt[1]]);
    }
    rows.reverse();
    assert_eq!(f32s(&got[0]), s.to_vec());
    assert_eq!(got[1].shape(), &[3, 2]);
    assert_eq!(f32s(&got[1]), rows.concat());
}

/// `for i in 0..4 while cond: y += i; cond = y < limit` with a run-time
/// initial condition and limit: the unrolled iterations are predicated.
#[test]
fn loop_with_a_runtime_condition_stops_early() {
    let b = body(
        "step",
        vec![
            fixed("i", I64, &[]),
            fixed("c_in", BOOL, &[]),
            fixed("y_in", F32, &[1]),
        ],
        vec![
            node("Cast", &["i"], &["i_f"], vec![a_int("to", 1)]),
            node("Add", &["y_in", "i_f"], &["y_out"], vec![]),
            node("Less", &["y_out", "limit"], &["c_out"], vec![]),
        ],
        &["c_out", "y_out"],
    );
    let n = node("Loop", &["m", "c0", "y0"], &["y"], vec![a_graph("body", b)]);
    let inputs = vec![
        fixed("c0", BOOL, &[]),
        fixed("y0", F32, &[1]),
        fixed("limit", F32, &[1]),
    ];
    let mut m = model(13, vec![n], inputs, vec![out("y")], vec![i64s("m", &[4])]);
    // A scalar trip count, as ONNX specifies.
    m.graph.as_mut().unwrap().initializer[0].dims.clear();
    for (c0, limit, want) in [
        (true, 100f32, 6f32),
        (true, 1.5, 3.0),
        (true, 0.5, 1.0),
        (false, 100.0, 0.0),
    ] {
        let got = compile_and_run(
            &m,
            &[
                Tensor::scalar(c0),
                Tensor::from_vec(vec![1], vec![0f32]),
                Tensor::from_vec(vec![1], vec![limit]),
            ],
        );
        assert_eq!(f32s(&got[0]), vec![want], "c0={c0} limit={limit}");
    }
}

/// A constant trip count without a condition: scan outputs are stacked.
#[test]
fn loop_with_a_constant_trip_count_stacks_scan_outputs() {
    let b = body(
        "step",
        vec![
            fixed("i", I64, &[]),
            fixed("c_in", BOOL, &[]),
            fixed("y_in", F32, &[2]),
        ],
        vec![
            node("Identity", &["c_in"], &["c_out"], vec![]),
            node("Add", &["y_in", "y_in"], &["y_out"], vec![]),
            node("Identity", &["y_out"], &["scan_out"], vec![]),
        ],
        &["c_out", "y_out", "scan_out"],
    );
    let n = node(
        "Loop",
        &["m", "", "y0"],
        &["y", "ys"],
        vec![a_graph("body", b)],
    );
    let mut m = model(
        13,
        vec![n],
        vec![fixed("y0", F32, &[2])],
        vec![out("y"), out("ys")],
        vec![i64s("m", &[3])],
    );
    m.graph.as_mut().unwrap().initializer[0].dims.clear();
    let got = compile_and_run(&m, &[Tensor::from_vec(vec![2], vec![1f32, -1.0])]);
    assert_eq!(f32s(&got[0]), vec![8.0, -8.0]);
    assert_eq!(got[1].shape(), &[3, 2]);
    assert_eq!(f32s(&got[1]), vec![2.0, -2.0, 4.0, -4.0, 8.0, -8.0]);
}

#[test]
fn loop_with_a_runtime_trip_count_is_a_clear_error() {
    let b = body(
        "step",
        vec![
            fixed("i", I64, &[]),
            fixed("c_in", BOOL, &[]),
            fixed("y_in", F32, &[1]),
        ],
        vec![
            node("Identity", &["c_in"], &["c_out"], vec![]),
            node("Identity", &["y_in"], &["y_out"], vec![]),
        ],
        &["c_out", "y_out"],
    );
    let n = node("Loop", &["m", "", "y0"], &["y"], vec![a_graph("body", b)]);
    let m = model(
        13,
        vec![n],
        vec![fixed("m", I64, &[]), fixed("y0", F32, &[1])],
        vec![out("y")],
        vec![],
    );
    let err = import(&m).unwrap_err().to_string();
    assert!(
        err.contains("trip count") && err.contains("run time"),
        "{err}"
    );
}

/// Scan-8: a leading batch axis on every input, each batch entry scanned
/// independently; the body holds an If on a run-time condition computed
/// from the slice (nested control flow).
#[test]
fn scan8_batches_and_nested_if() {
    let then_g = body(
        "then",
        vec![],
        vec![node("Add", &["s_in", "xt"], &["a"], vec![])],
        &["a"],
    );
    let else_g = body(
        "else",
        vec![],
        vec![node("Sub", &["s_in", "xt"], &["b"], vec![])],
        &["b"],
    );
    let b = body(
        "step",
        vec![fixed("s_in", F32, &[1]), fixed("xt", F32, &[1])],
        vec![
            node("Greater", &["xt", "zero"], &["pos"], vec![]),
            node(
                "If",
                &["pos"],
                &["s_out"],
                vec![
                    a_graph("then_branch", then_g),
                    a_graph("else_branch", else_g),
                ],
            ),
            node("Identity", &["s_out"], &["y_t"], vec![]),
        ],
        &["s_out", "y_t"],
    );
    let n = node(
        "Scan",
        &["", "s0", "x"],
        &["s", "y"],
        vec![a_graph("body", b), a_int("num_scan_inputs", 1)],
    );
    let inputs = vec![fixed("s0", F32, &[2, 1]), fixed("x", F32, &[2, 3, 1])];
    let m = model(
        8,
        vec![n],
        inputs,
        vec![out("s"), out("y")],
        vec![raw_f32("zero", &[1], &[0.0])],
    );
    let x = [1f32, -2.0, 3.0, -4.0, 5.0, -6.0];
    let got = compile_and_run(
        &m,
        &[
            Tensor::from_vec(vec![2, 1], vec![10f32, 20.0]),
            Tensor::from_vec(vec![2, 3, 1], x.to_vec()),
        ],
    );
    // Batch 0: 10 +1 → 11, +(-2 ≤ 0: subtract) → 13, +3 → 16; batch 1: 20 - -4 = 24, +5 = 29, - -6 = 35.
    assert_eq!(f32s(&got[0]), vec![16.0, 35.0]);
    assert_eq!(got[1].shape(), &[2, 3, 1]);
    assert_eq!(f32s(&got[1]), vec![11.0, 13.0, 16.0, 24.0, 29.0, 35.0]);
}

#[test]
fn unsqueeze_accepts_constant_scalar_axes() {
    let n = node("Unsqueeze", &["x", "axis"], &["y"], vec![]);
    let m = model(
        13,
        vec![n],
        vec![fixed("x", F32, &[2])],
        vec![out("y")],
        vec![{
            let mut t = i64s("axis", &[1]);
            t.dims.clear();
            t
        }],
    );
    let got = compile_and_run(&m, &[Tensor::from_vec(vec![2], vec![1f32, 2.0])]);
    assert_eq!(got[0].shape(), &[2, 1]);
}

/// No trip count: a while loop whose condition folds (it depends only on
/// the iteration number) is unrolled until it turns false.
#[test]
fn while_loop_with_a_foldable_condition_is_unrolled() {
    let b = body(
        "step",
        vec![
            fixed("i", I64, &[]),
            fixed("c_in", BOOL, &[]),
            fixed("y_in", F32, &[1]),
        ],
        vec![
            node("Less", &["i", "two"], &["c_out"], vec![]),
            node("Add", &["y_in", "one"], &["y_out"], vec![]),
        ],
        &["c_out", "y_out"],
    );
    let n = node("Loop", &["", "", "y0"], &["y"], vec![a_graph("body", b)]);
    let mut two = i64s("two", &[2]);
    two.dims.clear();
    let inits = vec![two, raw_f32("one", &[1], &[1.0])];
    let m = model(
        13,
        vec![n.clone()],
        vec![fixed("y0", F32, &[1])],
        vec![out("y")],
        inits,
    );
    let got = compile_and_run(&m, &[Tensor::from_vec(vec![1], vec![0.5f32])]);
    assert_eq!(f32s(&got[0]), vec![3.5]);

    // The same loop stopped by a run-time condition has no static bound.
    let mut m = m;
    let g = m.graph.as_mut().unwrap();
    g.node[0].input[1] = "c0".into();
    g.input.push(fixed("c0", BOOL, &[]));
    let err = import(&m).unwrap_err().to_string();
    assert!(err.contains("no static bound"), "{err}");
}

/// Weights inside a body (an initializer and a Constant node) are shared by
/// all unrolled iterations, not copied per iteration.
#[test]
fn unrolled_bodies_share_their_constants() {
    let mut b = body(
        "step",
        vec![fixed("s_in", F32, &[2]), fixed("xt", F32, &[2])],
        vec![
            node(
                "Constant",
                &[],
                &["k"],
                vec![a_tensor("value", raw_f32("", &[2], &[0.5, 0.25]))],
            ),
            node("Mul", &["xt", "w"], &["xw"], vec![]),
            node("Mul", &["xw", "k"], &["xwk"], vec![]),
            node("Add", &["s_in", "xwk"], &["s_out"], vec![]),
        ],
        &["s_out"],
    );
    b.initializer.push(raw_f32("w", &[2], &[2.0, 4.0]));
    let n = node(
        "Scan",
        &["s0", "x"],
        &["s"],
        vec![a_graph("body", b), a_int("num_scan_inputs", 1)],
    );
    let m = model(
        11,
        vec![n],
        vec![fixed("s0", F32, &[2]), fixed("x", F32, &[5, 2])],
        vec![out("s")],
        vec![],
    );
    let g = import(&m).unwrap().graph;
    let named = |name: &str| {
        g.values
            .iter()
            .filter(|v| v.konst.is_some() && v.name == name)
            .count()
    };
    assert_eq!((named("w"), named("k")), (1, 1));
    let x: Vec<f32> = (0..10).map(|i| i as f32).collect();
    let got = compile_and_run(
        &m,
        &[
            Tensor::from_vec(vec![2], vec![0f32, 0.0]),
            Tensor::from_vec(vec![5, 2], x),
        ],
    );
    // Column sums 20 and 25, times w * k = 1.
    assert_eq!(f32s(&got[0]), vec![20.0, 25.0]);
}

/// Sequences built and consumed inside the model are lists of tensors at
/// compile time: split, map (inlined body), insert, erase, length, at, concat.
#[test]
fn sequences_inside_a_model_compile_to_tensor_ops() {
    let sq = body(
        "square",
        vec![fixed("e", F32, &[2])],
        vec![node("Mul", &["e", "e"], &["e2"], vec![])],
        &["e2"],
    );
    let nodes = vec![
        node(
            "SplitToSequence",
            &["x"],
            &["s"],
            vec![a_int("axis", 0), a_int("keepdims", 0)],
        ),
        node("SequenceMap", &["s"], &["sq"], vec![a_graph("body", sq)]),
        node("SequenceInsert", &["sq", "z", "zero"], &["si"], vec![]),
        node("SequenceErase", &["si"], &["se"], vec![]),
        node("Identity", &["se"], &["se2"], vec![]),
        node("SequenceLength", &["se2"], &["n"], vec![]),
        node("SequenceAt", &["se2", "minus_one"], &["last"], vec![]),
        node(
            "ConcatFromSequence",
            &["se2"],
            &["c"],
            vec![a_int("axis", 0), a_int("new_axis", 1)],
        ),
    ];
    let mut zero = i64s("zero", &[0]);
    zero.dims.clear();
    let mut minus_one = i64s("minus_one", &[-1]);
    minus_one.dims.clear();
    let inputs = vec![fixed("x", F32, &[4, 2]), fixed("z", F32, &[2])];
    let m = model(
        17,
        nodes,
        inputs,
        vec![out("n"), out("last"), out("c")],
        vec![zero, minus_one],
    );
    let x: Vec<f32> = (1..=8).map(|i| i as f32).collect();
    let got = compile_and_run(
        &m,
        &[
            Tensor::from_vec(vec![4, 2], x),
            Tensor::from_vec(vec![2], vec![-1f32, -2.0]),
        ],
    );
    assert_eq!(got[0].to_vec::<i64>(), vec![4]);
    assert_eq!(f32s(&got[1]), vec![25.0, 36.0]);
    assert_eq!(got[2].shape(), &[4, 2]);
    assert_eq!(
        f32s(&got[2]),
        vec![-1.0, -2.0, 1.0, 4.0, 9.0, 16.0, 25.0, 36.0]
    );

    // A sequence graph output is flattened into one output per element
    // (`se.0`, `se.1`, ...; see frontend/src/boundary.rs).
    let mut m = m;
    m.graph.as_mut().unwrap().output.push(out("se"));
    let model = import(&m).expect("a sequence output is flattened");
    let g = &model.graph;
    let names: Vec<String> = g.outputs.iter().map(|v| g.display_name(*v)).collect();
    assert!(names.iter().any(|n| n == "se.0"), "{names:?}");
}

/// The exported form of `out = []; for i in range(3): out.append(x * i)`:
/// a Loop carrying a sequence, then ConcatFromSequence; plus an If on a
/// run-time condition whose branches give sequences of equal length.
#[test]
fn loops_and_ifs_carry_sequences() {
    let b = body(
        "step",
        vec![
            fixed("i", I64, &[]),
            fixed("c_in", BOOL, &[]),
            vi("acc_in", F32, &[]),
        ],
        vec![
            node("Identity", &["c_in"], &["c_out"], vec![]),
            node("Cast", &["i"], &["i_f"], vec![a_int("to", 1)]),
            node("Mul", &["x", "i_f"], &["xi"], vec![]),
            node("SequenceInsert", &["acc_in", "xi"], &["acc_out"], vec![]),
        ],
        &["c_out", "acc_out"],
    );
    let then_g = body(
        "then",
        vec![],
        vec![node("Identity", &["acc"], &["s_then"], vec![])],
        &["s_then"],
    );
    let rev = vec![
        node("SequenceAt", &["acc", "two"], &["a2"], vec![]),
        node("SequenceAt", &["acc", "one"], &["a1"], vec![]),
        node("SequenceAt", &["acc", "zero"], &["a0"], vec![]),
        node(
            "SequenceConstruct",
            &["a2", "a1", "a0"],
            &["s_else"],
            vec![],
        ),
    ];
    let else_g = body("else", vec![], rev, &["s_else"]);
    let nodes = vec![
        node("SequenceEmpty", &[], &["empty"], vec![a_int("dtype", 1)]),
        node(
            "Loop",
            &["m", "", "empty"],
            &["acc"],
            vec![a_graph("body", b)],
        ),
        node(
            "If",
            &["c"],
            &["picked"],
            vec![
                a_graph("then_branch", then_g),
                a_graph("else_branch", else_g),
            ],
        ),
        node(
            "ConcatFromSequence",
            &["picked"],
            &["y"],
            vec![a_int("axis", 0)],
        ),
    ];
    let scalar = |name: &str, v: i64| {
        let mut t = i64s(name, &[v]);
        t.dims.clear();
        t
    };
    let inits = vec![
        scalar("m", 3),
        scalar("zero", 0),
        scalar("one", 1),
        scalar("two", 2),
    ];
    let m = model(
        17,
        nodes,
        vec![fixed("x", F32, &[2]), fixed("c", BOOL, &[])],
        vec![out("y")],
        inits,
    );
    let x = Tensor::from_vec(vec![2], vec![1f32, 10.0]);
    let fwd = compile_and_run(&m, &[x.clone(), Tensor::scalar(true)]);
    assert_eq!(f32s(&fwd[0]), vec![0.0, 0.0, 1.0, 10.0, 2.0, 20.0]);
    let back = compile_and_run(&m, &[x, Tensor::scalar(false)]);
    assert_eq!(f32s(&back[0]), vec![2.0, 20.0, 1.0, 10.0, 0.0, 0.0]);
}
