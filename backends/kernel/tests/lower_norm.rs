//! Normalization and Swish/SwiGLU lowering vs the reference evaluator.
mod common;
use common::*;
use onnxc_ir::{DType, Op};

/// One node on random inputs of the given shapes (`None` = omitted), all outputs compared.
fn check(op: Op, d: DType, shapes: &[Option<&[usize]>], n_out: usize) {
    let mut g = G::new();
    let ins: Vec<_> = shapes.iter().map(|s| s.map(|s| g.input(d, s))).collect();
    for v in g.node_n(op, ins, n_out) {
        g.output(v);
    }
    g.check_tol(1e-4, 1e-5);
}

#[test]
fn layer_norm_axes_and_stats() {
    let x: &[usize] = &[2, 3, 4, 5];
    for (axis, scale) in [(-1, &[5][..]), (1, &[3, 4, 5][..]), (0, &[2, 3, 4, 5][..]), (2, &[1, 5][..])] {
        let op = Op::LayerNormalization { axis, epsilon: 1e-5 };
        check(op.clone(), DType::F32, &[Some(x), Some(scale), Some(scale)], 3);
        check(op, DType::F32, &[Some(x), Some(scale), None], 1);
    }
    check(Op::LayerNormalization { axis: -1, epsilon: 1e-3 }, DType::F16, &[Some(&[3, 8]), Some(&[8]), Some(&[8])], 1);
    check(Op::LayerNormalization { axis: -1, epsilon: 1e-3 }, DType::F64, &[Some(&[3, 8]), Some(&[8])], 2);
}

#[test]
fn rms_norm() {
    for (axis, scale) in [(-1, &[5][..]), (1, &[3, 4, 5][..]), (0, &[2, 3, 4, 5][..])] {
        let op = Op::RMSNormalization { axis, epsilon: 1e-5 };
        check(op, DType::F32, &[Some(&[2, 3, 4, 5]), Some(scale)], 1);
    }
    check(Op::RMSNormalization { axis: -1, epsilon: 1e-5 }, DType::BF16, &[Some(&[4, 6]), Some(&[6])], 1);
}

#[test]
fn group_and_instance_norm() {
    let x: &[usize] = &[2, 6, 3, 2];
    check(Op::GroupNormalization { num_groups: 3, epsilon: 1e-5 }, DType::F32, &[Some(x), Some(&[6]), Some(&[6])], 1);
    check(Op::GroupNormalization { num_groups: 3, epsilon: 1e-5 }, DType::F32, &[Some(x), Some(&[3]), Some(&[3])], 1);
    check(Op::InstanceNormalization { epsilon: 1e-5 }, DType::F32, &[Some(x), Some(&[6]), Some(&[6])], 1);
    check(Op::InstanceNormalization { epsilon: 1e-5 }, DType::F64, &[Some(&[1, 2, 5]), Some(&[2]), Some(&[2])], 1);
}

#[test]
fn lp_and_mvn() {
    for (axis, p) in [(0, 1), (1, 2), (-1, 1), (2, 2)] {
        check(Op::LpNormalization { axis, p }, DType::F32, &[Some(&[2, 3, 4])], 1);
    }
    check(Op::MeanVarianceNormalization { axes: vec![0, 2, 3] }, DType::F32, &[Some(&[3, 3, 3, 1])], 1);
    check(Op::MeanVarianceNormalization { axes: vec![1] }, DType::F32, &[Some(&[2, 5, 3])], 1);
}

#[test]
fn swish_swiglu() {
    for d in [DType::F32, DType::F16, DType::F64] {
        check(Op::Swish { alpha: 1.0 }, d, &[Some(&[3, 5])], 1);
        check(Op::Swish { alpha: 0.5 }, d, &[Some(&[7])], 1);
        check(Op::SwiGLU { alpha: 1.702 }, d, &[Some(&[2, 4]), Some(&[2, 4])], 1);
    }
}
