//! The vectorizable Softmax/LogSoftmax (`lower/softmax_fast.rs`: last axis,
//! f32/f64, rows of at least 32) vs the reference evaluator: 16- and
//! 64-lane partials, tails, and rows holding inf/NaN.
mod common;
use common::*;
use onnxc_ir::{DType, Op, Tensor};

#[test]
fn long_rows() {
    for shape in [&[3usize, 40][..], &[2, 300], &[1, 1000], &[2, 2, 256], &[5, 32]] {
        for op in [Op::Softmax { axis: -1 }, Op::LogSoftmax { axis: -1 }] {
            for d in [DType::F32, DType::F64] {
                let mut g = G::new();
                let x = g.input(d, shape);
                let y = g.node(op.clone(), vec![Some(x)]);
                g.output(y);
                g.check();
            }
        }
    }
}

#[test]
fn special_rows() {
    // Row 0: a NaN (all NaN out); row 1: one +inf (NaN, as in the
    // reference); row 2: -inf entries (exactly 0 / -inf); row 3: huge spread.
    let len = 200;
    let mut v = rand_vals(4 * len, 9, -3.0, 3.0);
    v[17] = f64::NAN;
    v[len + 100] = f64::INFINITY;
    v[2 * len + 5] = f64::NEG_INFINITY;
    v[2 * len + 150] = f64::NEG_INFINITY;
    v[3 * len + 3] = 80.0;
    v[3 * len + 190] = -80.0;
    let t = Tensor::from_vec(vec![4, len], v.iter().map(|x| *x as f32).collect::<Vec<f32>>());
    for op in [Op::Softmax { axis: 1 }, Op::LogSoftmax { axis: 1 }] {
        let mut g = G::new();
        let x = g.input_with(t.clone());
        let y = g.node(op, vec![Some(x)]);
        g.output(y);
        g.check();
    }
}
