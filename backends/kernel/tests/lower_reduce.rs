//! Reductions vs the reference evaluator.
mod common;
use common::*;
use onnxc_ir::op::ReduceOp;
use onnxc_ir::{DType, Op};

#[test]
fn reductions() {
    use ReduceOp::*;
    let axes_cases: [Option<&[i64]>; 5] = [None, Some(&[1]), Some(&[0, 2]), Some(&[-1]), Some(&[0, 1, 2])];
    for op in [Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare] {
        for axes in axes_cases {
            for keepdims in [true, false] {
                let mut g = G::new();
                let x = g.input(DType::F32, &[3, 4, 5]);
                let x = if op == LogSum {
                    g.node(Op::Unary(onnxc_ir::op::UnaryOp::Abs), vec![Some(x)])
                } else {
                    x
                };
                let a = axes.map(|a| g.ints(a));
                let y = g.node(Op::Reduce { op, keepdims, noop_with_empty_axes: false }, vec![Some(x), a]);
                g.output(y);
                g.check_tol(1e-4, 1e-4);
            }
        }
    }
    for op in [Sum, Max, Min, Prod] {
        let mut g = G::new();
        let x = g.input(DType::I32, &[3, 4]);
        let a = g.ints(&[1]);
        let y = g.node(Op::Reduce { op, keepdims: false, noop_with_empty_axes: false }, vec![Some(x), Some(a)]);
        g.output(y);
        g.check();
    }
}

#[test]
fn bool_max_min() {
    for op in [ReduceOp::Max, ReduceOp::Min] {
        for axes in [&[1i64][..], &[0, 1]] {
            let mut g = G::new();
            let x = g.input(DType::Bool, &[4, 6]);
            let a = g.ints(axes);
            let y = g.node(Op::Reduce { op, keepdims: true, noop_with_empty_axes: false }, vec![Some(x), Some(a)]);
            g.output(y);
            g.check();
        }
    }
}

#[test]
fn argmax_argmin() {
    for axis in [0i64, 1, -1] {
        for keepdims in [true, false] {
            for last in [false, true] {
                let mut g = G::new();
                // Small integers make ties likely, exercising select_last_index.
                let x = g.input(DType::I32, &[3, 4, 5]);
                let x = g.node(Op::Cast { to: DType::F32 }, vec![Some(x)]);
                let a = g.node(Op::ArgMax { axis, keepdims, select_last_index: last }, vec![Some(x)]);
                let b = g.node(Op::ArgMin { axis, keepdims, select_last_index: last }, vec![Some(x)]);
                g.output(a);
                g.output(b);
                g.check();
            }
        }
    }
}
