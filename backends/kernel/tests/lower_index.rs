//! Index-family lowering vs the reference evaluator.
mod common;
use common::*;
use onnxc_ir::op::ScatterReduction;
use onnxc_ir::{DType, Op, Tensor};

fn idx(shape: &[usize], v: Vec<i64>) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v)
}

#[test]
fn trilu_runtime_and_constant_k() {
    for upper in [false, true] {
        for k in [-2i64, 0, 1, 7] {
            let mut g = G::new();
            let x = g.input(DType::F32, &[2, 3, 4]);
            let kv = g.input_with(Tensor::scalar(k));
            let y = g.node(Op::Trilu { upper }, vec![Some(x), Some(kv)]);
            g.output(y);
            g.check();
        }
        let mut g = G::new();
        let x = g.input(DType::I32, &[5, 3]);
        let y = g.node(Op::Trilu { upper }, vec![Some(x), None]);
        g.output(y);
        g.check();
    }
}

#[test]
fn cumulative_every_axis_and_flag() {
    for prod in [false, true] {
        for (exclusive, reverse) in [(false, false), (true, false), (false, true), (true, true)] {
            for axis in [0i64, 1, -1] {
                for d in [DType::F32, DType::I32, DType::F16] {
                    let op = if prod { Op::CumProd { exclusive, reverse } } else { Op::CumSum { exclusive, reverse } };
                    let mut g = G::new();
                    let x = g.input(d, &[3, 4]);
                    // A runtime axis (the kernel dispatches on it) ...
                    let a = g.input_with(Tensor::scalar(axis as i32));
                    let y = g.node(op.clone(), vec![Some(x), Some(a)]);
                    g.output(y);
                    // ... and a constant one.
                    let c = g.konst(Tensor::scalar(axis));
                    let y2 = g.node(op, vec![Some(x), Some(c)]);
                    g.output(y2);
                    g.check_tol(1e-3, 1e-3);
                }
            }
        }
    }
}

#[test]
fn gather_and_scatter_elements() {
    for axis in [0i64, 1, -1] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[3, 4]);
        let i = g.input_with(idx(&[2, 4], vec![0, -1, 2, 1, 2, 0, -3, 1]));
        let y = g.node(Op::GatherElements { axis }, vec![Some(x), Some(i)]);
        g.output(y);
        g.check();
    }
    for red in [ScatterReduction::None, ScatterReduction::Add, ScatterReduction::Mul, ScatterReduction::Max, ScatterReduction::Min] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[3, 3]);
        let i = g.input_with(idx(&[2, 3], vec![1, 0, 2, 1, -1, 2]));
        let u = g.input(DType::F32, &[2, 3]);
        let y = g.node(Op::ScatterElements { axis: 0, reduction: red }, vec![Some(x), Some(i), Some(u)]);
        g.output(y);
        g.check();
    }
}

#[test]
fn gather_and_scatter_nd() {
    let mut g = G::new();
    let x = g.input(DType::I32, &[2, 3, 4]);
    let i = g.input_with(idx(&[2, 2], vec![0, 2, 1, -1]));
    let y = g.node(Op::GatherND { batch_dims: 0 }, vec![Some(x), Some(i)]);
    g.output(y);
    let ib = g.input_with(idx(&[2, 1], vec![2, 0]));
    let yb = g.node(Op::GatherND { batch_dims: 1 }, vec![Some(x), Some(ib)]);
    g.output(yb);
    g.check();
    for red in [ScatterReduction::None, ScatterReduction::Add, ScatterReduction::Max] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[4, 3]);
        let i = g.input_with(idx(&[3, 1], vec![1, 3, 1]));
        let u = g.input(DType::F32, &[3, 3]);
        let y = g.node(Op::ScatterND { reduction: red }, vec![Some(x), Some(i), Some(u)]);
        g.output(y);
        g.check();
    }
}

#[test]
fn top_k_ranks_with_ties() {
    for largest in [true, false] {
        for axis in [0i64, -1] {
            let mut g = G::new();
            let x = g.input_with(Tensor::from_vec(vec![3, 4], vec![1.0f32, 3.0, 3.0, 2.0, 0.0, -1.0, 5.0, 5.0, 2.0, 2.0, 2.0, 2.0]));
            let k = g.ints(&[2]);
            let ys = g.node_n(Op::TopK { axis, largest, sorted: true }, vec![Some(x), Some(k)], 2);
            g.output(ys[0]);
            g.output(ys[1]);
            g.check();
        }
    }
}

#[test]
fn permutations_and_constants() {
    for crd in [false, true] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[1, 8, 2, 3]);
        let y = g.node(Op::DepthToSpace { blocksize: 2, crd }, vec![Some(x)]);
        g.output(y);
        let z = g.node(Op::SpaceToDepth { blocksize: 2, crd }, vec![Some(y)]);
        g.output(z);
        g.check();
    }
    let mut g = G::new();
    let x = g.input(DType::F32, &[3, 4]);
    let y = g.node(Op::EyeLike { k: 1, dtype: DType::I32 }, vec![Some(x)]);
    g.output(y);
    g.check();
}

#[test]
fn one_hot_and_reverse_sequence() {
    for axis in [0i64, 1, -1] {
        let mut g = G::new();
        let i = g.input_with(Tensor::from_vec(vec![2, 2], vec![1.0f32, -1.0, 9.0, 0.0]));
        let depth = g.konst(Tensor::scalar(3i64));
        let v = g.input_with(Tensor::from_vec(vec![2], vec![-2i32, 5]));
        let y = g.node(Op::OneHot { axis }, vec![Some(i), Some(depth), Some(v)]);
        g.output(y);
        g.check();
    }
    for (b, t) in [(0usize, 1usize), (1, 0)] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[4, 4, 2]);
        let l = g.input_with(idx(&[4], vec![1, 4, 0, 2]));
        let y = g.node(Op::ReverseSequence { batch_axis: b, time_axis: t }, vec![Some(x), Some(l)]);
        g.output(y);
        g.check();
    }
}

#[test]
fn einsum_equations() {
    let cases: &[(&str, &[&[usize]])] = &[
        ("ij,jk->ik", &[&[2, 3], &[3, 4]]),
        ("bij,bjk->bik", &[&[2, 2, 3], &[2, 3, 2]]),
        ("...ii->...i", &[&[2, 3, 3]]),
        ("ij->ji", &[&[3, 4]]),
        ("i,i", &[&[5], &[5]]),
        ("ij", &[&[2, 3]]),
        ("ij->", &[&[2, 3]]),
    ];
    for (eq, shapes) in cases {
        let mut g = G::new();
        let xs: Vec<_> = shapes.iter().map(|s| Some(g.input(DType::F32, s))).collect();
        let y = g.node(Op::Einsum { equation: eq.to_string() }, xs);
        g.output(y);
        g.check();
    }
}
