//! Opset normalization of the index and resize families: Upsample-7/9,
//! Resize-10, Scatter-10 and TopK-1 map onto the newest forms, and
//! ConvTranspose's auto_pad/output_shape become explicit pads.

mod common;
use common::*;
use onnxc_ir::op::{CoordMode, NearestMode, ResizeMode, ScatterReduction};
use onnxc_ir::Op;

fn import_one(
    opset: i64,
    n: onnxc_frontend::proto::NodeProto,
    x_dims: &[i64],
    inits: Vec<onnxc_frontend::proto::TensorProto>,
) -> onnxc_frontend::Model {
    let y = n.output[0].clone();
    let m = model(opset, vec![n], vec![fixed("x", F32, x_dims)], vec![out(&y)], inits);
    import(&m).unwrap_or_else(|e| panic!("import failed: {e}"))
}

#[test]
fn upsample_7_and_9_become_resize() {
    let up7 = node(
        "Upsample",
        &["x"],
        &["y"],
        vec![a_floats("scales", &[1.0, 1.0, 2.0, 2.0]), a_str("mode", "nearest")],
    );
    let g7 = import_one(7, up7, &[1, 1, 2, 2], vec![]).graph;
    let scales = raw_f32("s", &[4], &[1.0, 1.0, 2.0, 2.0]);
    let up9 = node("Upsample", &["x", "s"], &["y"], vec![a_str("mode", "nearest")]);
    let g9 = import_one(9, up9, &[1, 1, 2, 2], vec![scales]).graph;
    for g in [&g7, &g9] {
        let n = &g.nodes[0];
        let Op::Resize(a) = &n.op else { panic!("expected Resize, got {:?}", n.op) };
        assert_eq!(
            (a.mode, a.coord, a.nearest),
            (ResizeMode::Nearest, CoordMode::Asymmetric, NearestMode::Floor)
        );
        assert_eq!(g.ty(n.outputs[0]).shape, vec![1, 1, 4, 4]);
    }
}

#[test]
fn resize_19_reads_its_attributes() {
    let sizes = i64s("z", &[3, 3]);
    let n = node(
        "Resize",
        &["x", "", "", "z"],
        &["y"],
        vec![
            a_str("mode", "cubic"),
            a_ints("axes", &[2, 3]),
            a_str("coordinate_transformation_mode", "align_corners"),
            a_float("cubic_coeff_a", -0.5),
        ],
    );
    let g = import_one(19, n, &[1, 1, 2, 2], vec![sizes]).graph;
    let Op::Resize(a) = &g.nodes[0].op else { panic!("expected Resize") };
    assert_eq!(
        (a.mode, a.coord, a.cubic_coeff_a),
        (ResizeMode::Cubic, CoordMode::AlignCorners, -0.5)
    );
    assert_eq!(a.axes, Some(vec![2, 3]));
    let bad = node("Resize", &["x", "", "", "z"], &["y"], vec![a_str("mode", "bogus")]);
    let m = model(
        19,
        vec![bad],
        vec![fixed("x", F32, &[1, 1, 2, 2])],
        vec![out("y")],
        vec![i64s("z", &[3, 3])],
    );
    assert!(import(&m).is_err());
}

#[test]
fn scatter_10_is_scatter_elements_and_topk_1_k_becomes_input() {
    let n = node("Scatter", &["x", "i", "u"], &["y"], vec![a_int("axis", 1)]);
    let m = model(
        10,
        vec![n],
        vec![fixed("x", F32, &[2, 3]), fixed("i", I64, &[2, 1]), fixed("u", F32, &[2, 1])],
        vec![out("y")],
        vec![],
    );
    let g = import(&m).unwrap().graph;
    assert_eq!(g.nodes[0].op, Op::ScatterElements { axis: 1, reduction: ScatterReduction::None });

    let n = node("TopK", &["x"], &["v", "i"], vec![a_int("k", 2)]);
    let m = model(7, vec![n], vec![fixed("x", F32, &[3, 4])], vec![out("v"), out("i")], vec![]);
    let g = import(&m).unwrap().graph;
    assert_eq!(g.ty(g.nodes[0].outputs[0]).shape, vec![3, 2]);
}

#[test]
fn conv_transpose_output_shape_and_same_padding() {
    let w = raw_f32("w", &[1, 1, 3, 3], &[0.0; 9]);
    let n = node(
        "ConvTranspose",
        &["x", "w"],
        &["y"],
        vec![a_ints("strides", &[3, 2]), a_ints("output_shape", &[10, 8])],
    );
    let g = import_one(22, n, &[1, 1, 3, 3], vec![w.clone()]).graph;
    assert_eq!(g.ty(g.nodes[0].outputs[0]).shape, vec![1, 1, 10, 8]);
    let n = node(
        "ConvTranspose",
        &["x", "w"],
        &["y"],
        vec![a_ints("strides", &[2, 2]), a_str("auto_pad", "SAME_UPPER")],
    );
    let g = import_one(22, n, &[1, 1, 3, 3], vec![w]).graph;
    let Op::ConvTranspose { window, .. } = &g.nodes[0].op else { panic!("expected ConvTranspose") };
    assert_eq!(window.pads, vec![0, 0, 1, 1]);
    assert_eq!(g.ty(g.nodes[0].outputs[0]).shape, vec![1, 1, 6, 6]);
}
