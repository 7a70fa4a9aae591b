//! Det, TensorScatter, CenterCropPad, Col2Im: lowering vs the reference
//! evaluator, and the evaluator vs hand-computed values.
mod common;
use common::*;
use onnxc_ir::eval::eval_op;
use onnxc_ir::{DType, Op, Tensor};

fn eval1(op: &Op, ins: &[&Tensor]) -> Tensor {
    let ins: Vec<Option<&Tensor>> = ins.iter().map(|t| Some(*t)).collect();
    eval_op(op, &ins, &[]).unwrap().remove(0)
}

#[test]
fn det_matches_eval_and_hand_values() {
    for m in 1..=5 {
        let mut g = G::new();
        let x = g.input(DType::F32, &[3, m, m]);
        let y = g.node(Op::Det, vec![Some(x)]);
        g.output(y);
        g.check_tol(1e-4, 1e-4);
    }
    let x = Tensor::from_vec(&[2, 2, 2][..], vec![1f64, 2., 3., 4., 0., 1., 1., 0.]);
    assert_eq!(eval1(&Op::Det, &[&x]).to_vec::<f64>(), vec![-2.0, -1.0]);
    let x = Tensor::from_vec(&[3, 3][..], vec![2f64, 0., 1., 1., 3., 2., 1., 1., 2.]);
    assert!((eval1(&Op::Det, &[&x]).to_vec::<f64>()[0] - 6.0).abs() < 1e-12);
}

#[test]
fn tensor_scatter_linear_and_circular() {
    for circular in [false, true] {
        let mut g = G::new();
        let p = g.input(DType::F32, &[2, 3, 4, 5]);
        let u = g.input(DType::F32, &[2, 3, 3, 5]);
        let w = g.input_with(Tensor::from_vec(&[2][..], vec![1i64, 3]));
        let y = g.node(Op::TensorScatter { axis: -2, circular }, vec![Some(p), Some(u), Some(w)]);
        g.output(y);
        g.check();
    }
    let past = Tensor::from_vec(&[1, 4][..], vec![0i32, 0, 0, 0]);
    let upd = Tensor::from_vec(&[1, 2][..], vec![7i32, 8]);
    let wi = Tensor::from_vec(&[1][..], vec![3i64]);
    let op = Op::TensorScatter { axis: 1, circular: true };
    assert_eq!(eval1(&op, &[&past, &upd, &wi]).to_vec::<i32>(), vec![8, 0, 0, 7]);
}

#[test]
fn center_crop_pad_crops_and_pads() {
    let mut g = G::new();
    let x = g.input(DType::I32, &[5, 4, 3]);
    let s = g.ints(&[3, 7]);
    let y = g.node(Op::CenterCropPad { axes: Some(vec![0, -2]) }, vec![Some(x), Some(s)]);
    g.output(y);
    g.check();
    let x = Tensor::from_vec(&[4][..], vec![1i32, 2, 3, 4]);
    let s = Tensor::from_vec(&[1][..], vec![2i64]);
    assert_eq!(eval1(&Op::CenterCropPad { axes: None }, &[&x, &s]).to_vec::<i32>(), vec![2, 3]);
    let s = Tensor::from_vec(&[1][..], vec![7i64]);
    assert_eq!(eval1(&Op::CenterCropPad { axes: None }, &[&x, &s]).to_vec::<i32>(), vec![0, 1, 2, 3, 4, 0, 0]);
}

#[test]
fn col2im_matches_eval_and_sums_overlaps() {
    let mut g = G::new();
    // 2 channels, 2x2 blocks, 5x4 image, stride 2x1, dilation 1x2, pads 1.
    let op = Op::Col2Im { dilations: vec![1, 2], pads: vec![1, 1, 1, 1], strides: vec![2, 1] };
    // blocks: h: (5+2-2)/2+1 = 3, w: (4+2-3)/1+1 = 4.
    let x = g.input(DType::F32, &[1, 8, 12]);
    let (img, blk) = (g.ints(&[5, 4]), g.ints(&[2, 2]));
    let y = g.node(op, vec![Some(x), Some(img), Some(blk)]);
    g.output(y);
    g.check();
    // 1-D: blocks of 2 with stride 1 over 3 pixels; the middle one is covered twice.
    let x = Tensor::from_vec(&[1, 2, 2][..], vec![1f32, 10., 100., 1000.]);
    let (img, blk) = (Tensor::from_vec(&[1][..], vec![3i64]), Tensor::from_vec(&[1][..], vec![2i64]));
    let op = Op::Col2Im { dilations: vec![], pads: vec![], strides: vec![] };
    assert_eq!(eval1(&op, &[&x, &img, &blk]).to_vec::<f32>(), vec![1.0, 110.0, 1000.0]);
}

#[test]
fn tfidf_modes_and_weights() {
    use onnxc_ir::op::{TfIdfAttrs, TfIdfMode};
    let attrs = |mode, weights: Vec<f32>| TfIdfAttrs {
        mode,
        min_gram_length: 1,
        max_gram_length: 2,
        max_skip_count: 1,
        ngram_counts: vec![0, 2],
        ngram_indexes: vec![0, 1, 2],
        pool_int64s: vec![1, 2, 1, 2],
        weights,
    };
    let x = Tensor::from_vec(&[2, 5][..], vec![1i32, 2, 1, 2, 9, 1, 3, 2, 2, 2]);
    // Row 0: "1" twice, "2" twice, bigram (1,2) adjacent at 0 and 2.
    // Row 1: "1" once, "2" three times, (1,2) only with one skipped item.
    let tf = eval1(&Op::TfIdfVectorizer(attrs(TfIdfMode::Tf, vec![])), &[&x]);
    assert_eq!(tf.to_vec::<f32>(), vec![2., 2., 2., 1., 3., 1.]);
    let idf = eval1(&Op::TfIdfVectorizer(attrs(TfIdfMode::Idf, vec![0.5, 2., 4.])), &[&x]);
    assert_eq!(idf.to_vec::<f32>(), vec![0.5, 2., 4., 0.5, 2., 4.]);
    let tfidf = eval1(&Op::TfIdfVectorizer(attrs(TfIdfMode::TfIdf, vec![0.5, 2., 4.])), &[&x]);
    assert_eq!(tfidf.to_vec::<f32>(), vec![1., 4., 8., 0.5, 6., 4.]);
    for (mode, w) in [(TfIdfMode::Tf, vec![]), (TfIdfMode::Idf, vec![]), (TfIdfMode::TfIdf, vec![0.5, 2., 4.])] {
        let mut g = G::new();
        let xi = g.input_with(x.clone());
        let y = g.node(Op::TfIdfVectorizer(attrs(mode, w)), vec![Some(xi)]);
        g.output(y);
        g.check();
    }
}

#[test]
fn roi_align_adaptive_grid_and_modes() {
    for (half_pixel, max, sampling_ratio) in [(true, false, 0), (false, true, 0), (true, true, 2), (false, false, 3)] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[2, 3, 6, 7]);
        // ROIs partly outside the image and of sub-pixel size.
        let rois = Tensor::from_vec(&[4, 4][..], vec![0f32, 0., 5., 5., -2., 1., 3.5, 8., 2., 2., 2.3, 2.2, 4., 0., 9., 6.]);
        let rois = g.input_with(rois);
        let bi = g.input_with(Tensor::from_vec(&[4][..], vec![0i64, 1, 1, 0]));
        let op = Op::RoiAlign { half_pixel, max, output_height: 3, output_width: 2, sampling_ratio, spatial_scale: 0.75 };
        let y = g.node(op, vec![Some(x), Some(rois), Some(bi)]);
        g.output(y);
        g.check();
    }
    // A 1x1 output over the whole 2x2 image with one centered sample is the mean.
    let x = Tensor::from_vec(&[1, 1, 2, 2][..], vec![0f32, 1., 2., 3.]);
    let rois = Tensor::from_vec(&[1, 4][..], vec![0f32, 0., 2., 2.]);
    let bi = Tensor::from_vec(&[1][..], vec![0i64]);
    let op = Op::RoiAlign { half_pixel: true, max: false, output_height: 1, output_width: 1, sampling_ratio: 1, spatial_scale: 1.0 };
    assert_eq!(eval1(&op, &[&x, &rois, &bi]).to_vec::<f32>(), vec![1.5]);
}

#[test]
fn deform_conv_groups_strides_and_zero_offsets() {
    use onnxc_ir::op::Window;
    let window = Window { kernel_shape: vec![3, 2], strides: vec![2, 1], pads: vec![1, 0, 1, 1], dilations: vec![1, 2] };
    // X [1, 4, 7, 6] -> out dims: h (7+2-3)/2+1 = 4, w (6+1-3)/1+1 = 5.
    for (with_bias, with_mask) in [(false, false), (true, true)] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[1, 4, 7, 6]);
        let w = g.input(DType::F32, &[6, 2, 3, 2]);
        let off = g.input(DType::F32, &[1, 2 * 6 * 2, 4, 5]);
        let b = with_bias.then(|| g.input(DType::F32, &[6]));
        let m = with_mask.then(|| g.input(DType::F32, &[1, 2 * 6, 4, 5]));
        let op = Op::DeformConv { window: window.clone(), group: 2, offset_group: 2 };
        let y = g.node(op, vec![Some(x), Some(w), Some(off), b, m]);
        g.output(y);
        g.check_tol(1e-4, 1e-4);
    }
    // Zero offsets make it an ordinary convolution.
    let x = rand_tensor(DType::F64, &[1, 2, 5, 5], 3);
    let w = rand_tensor(DType::F64, &[3, 2, 3, 3], 4);
    let win = Window { kernel_shape: vec![3, 3], strides: vec![1, 1], pads: vec![1, 1, 1, 1], dilations: vec![1, 1] };
    let off = Tensor::from_f64(DType::F64, vec![1, 18, 5, 5], &[0.0; 450]);
    let got = eval1(&Op::DeformConv { window: win.clone(), group: 1, offset_group: 1 }, &[&x, &w, &off]);
    let want = eval_op(&Op::Conv { window: win, group: 1 }, &[Some(&x), Some(&w), None], &[]).unwrap().remove(0);
    compare(0, &got, &want, 1e-9, 1e-9);
}

#[test]
fn max_unpool_scatters_into_padded_output() {
    use onnxc_ir::op::Window;
    let window = Window { kernel_shape: vec![2, 2], strides: vec![2, 2], pads: vec![0, 0, 0, 0], dilations: vec![1, 1] };
    let op = Op::MaxUnpool { window };
    // Inferred output 4x4; output_shape 5x5 puts it at the origin.
    let x = Tensor::from_vec(&[1, 1, 2, 2][..], vec![1f32, 2., 3., 4.]);
    let i = Tensor::from_vec(&[1, 1, 2, 2][..], vec![5i64, 7, 13, 15]);
    let s = Tensor::from_vec(&[4][..], vec![1i64, 1, 5, 5]);
    let y = eval_op(&op, &[Some(&x), Some(&i), Some(&s)], &[]).unwrap().remove(0);
    let mut want = vec![0f32; 25];
    want[6] = 1.;
    want[8] = 2.;
    want[16] = 3.;
    want[18] = 4.;
    assert_eq!(y.to_vec::<f32>(), want);
    let mut g = G::new();
    let xv = g.input_with(x);
    let iv = g.input_with(i);
    let sv = g.ints(&[1, 1, 5, 5]);
    let y = g.node(op, vec![Some(xv), Some(iv), Some(sv)]);
    g.output(y);
    g.check();
}

#[test]
fn tree_ensemble_aggregates_and_missing_values() {
    use onnxc_ir::op::{TreeAggregate, TreeEnsembleAttrs, TreeNode};
    let node = |mode, feature, split, t: (usize, bool), f: (usize, bool)| TreeNode {
        mode,
        feature,
        split,
        members: if mode == 6 { vec![1.0, 4.0] } else { vec![] },
        missing_true: mode == 0,
        true_id: t.0,
        true_leaf: t.1,
        false_id: f.0,
        false_leaf: f.1,
    };
    // Tree 0: x0 <= 0.5 ? leaf0 : (x1 in {1, 4} ? leaf1 : leaf2). Tree 1: x1 > 2 ? leaf3 : leaf0.
    let nodes = vec![node(0, 0, 0.5, (0, true), (1, false)), node(6, 1, 0.0, (1, true), (2, true)), node(3, 1, 2.0, (3, true), (0, true))];
    let x = Tensor::from_vec(&[4, 2][..], vec![0.0f32, 1.0, 1.0, 4.0, 1.0, 3.0, f32::NAN, 0.0]);
    for aggregate in [TreeAggregate::Sum, TreeAggregate::Average, TreeAggregate::Min, TreeAggregate::Max] {
        let attrs = TreeEnsembleAttrs {
            aggregate,
            n_targets: 2,
            nodes: nodes.clone(),
            roots: vec![(0, false), (2, false)],
            leaf_targets: vec![0, 1, 1, 0],
            leaf_weights: vec![1.0, 10.0, 100.0, 1000.0],
        };
        if aggregate == TreeAggregate::Sum {
            // Rows: (leaf0, leaf0), (leaf1, leaf3), (leaf2, leaf3), NaN -> (leaf0, leaf0).
            let y = eval1(&Op::TreeEnsemble(attrs.clone()), &[&x]);
            assert_eq!(y.to_vec::<f32>(), vec![2., 0., 1000., 10., 1000., 100., 2., 0.]);
        }
        let mut g = G::new();
        let xi = g.input_with(x.clone());
        let y = g.node(Op::TreeEnsemble(attrs), vec![Some(xi)]);
        g.output(y);
        g.check();
    }
}
