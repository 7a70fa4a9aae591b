//! Lowering of the one-byte dtypes (float8, float4, E8M0, 4-/2-bit ints):
//! casts both ways (saturating and not), quantize/dequantize, elementwise
//! arithmetic computed in f32/i32, and byte-moving ops, all compared with
//! the reference evaluator through the KIR interpreter.

mod common;
use common::*;
use onnxc_ir::op::BinaryOp;
use onnxc_ir::{DType, Op, Tensor};

const SMALL: [DType; 10] = [
    DType::F8E4M3FN,
    DType::F8E4M3FNUZ,
    DType::F8E5M2,
    DType::F8E5M2FNUZ,
    DType::F4E2M1,
    DType::F8E8M0,
    DType::I4,
    DType::U4,
    DType::I2,
    DType::U2,
];

/// f32 inputs over a wide range (overflow of every float8 type, ties, NaN, inf).
fn wide_f32() -> Tensor {
    let mut v = rand_vals(60, 5, -70000.0, 70000.0);
    v.extend(rand_vals(60, 6, -8.0, 8.0));
    v.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1e-9, -1e-9, 464.0, 57344.0, 61440.0, 0.25, 5.0]);
    Tensor::from_f64(DType::F32, vec![v.len()], &v)
}

#[test]
fn casts_to_and_from_small_types() {
    let others = [DType::F32, DType::F16, DType::F64, DType::I8, DType::U8, DType::I32];
    for d in SMALL {
        for o in others {
            let mut g = G::new();
            let x = g.input(o, &[4, 6]);
            let y = g.node(Op::Cast { to: d }, vec![Some(x)]);
            let z = g.node(Op::Cast { to: o }, vec![Some(y)]);
            g.output(y);
            g.output(z);
            g.check();
        }
        for saturate in [true, false] {
            let mut g = G::new();
            let x = g.input_with(wide_f32());
            let op = if saturate { Op::Cast { to: d } } else { Op::CastNoSaturate { to: d } };
            let y = g.node(op, vec![Some(x)]);
            g.output(y);
            g.check();
        }
    }
}

#[test]
fn quantize_and_dequantize() {
    for d in [DType::F8E4M3FN, DType::F8E5M2, DType::F8E4M3FNUZ, DType::F4E2M1, DType::I4, DType::U4, DType::I2, DType::U2] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[3, 8]);
        let s = g.konst(Tensor::from_vec(vec![3], vec![0.5f32, 0.25, 2.0]));
        let zp = g.konst(Tensor::from_f64(d, vec![3], &[0.0, 1.0, 0.0]));
        let q = g.node(Op::QuantizeLinear { axis: 0, block_size: 0, output_dtype: d }, vec![Some(x), Some(s), Some(zp)]);
        let r = g.node(Op::DequantizeLinear { axis: 0, block_size: 0, output_dtype: DType::F32 }, vec![Some(q), Some(s), Some(zp)]);
        g.output(q);
        g.output(r);
        g.check();
    }
}

#[test]
fn arithmetic_and_data_movement() {
    for d in SMALL {
        let mut g = G::new();
        let a = g.input(d, &[2, 3, 4]);
        let b = g.input(d, &[3, 1]);
        let sum = g.node(Op::Binary(BinaryOp::Add), vec![Some(a), Some(b)]);
        let perm = g.node(Op::Transpose { perm: Some(vec![2, 0, 1]) }, vec![Some(a)]);
        g.output(sum);
        g.output(perm);
        g.check();
    }
}

/// Ops that either work on the small types like on f16 or refuse them with
/// an error; never a silently different answer from the evaluator.
#[test]
fn other_ops_agree_with_the_evaluator() {
    use onnxc_ir::op::ReduceOp;
    use onnxc_kernel::lower::lower_graph;
    for d in [DType::F8E4M3FN, DType::F8E5M2FNUZ, DType::F4E2M1, DType::I4, DType::U2] {
        let mut builds: Vec<(&str, Box<dyn Fn(&mut G)>)> = Vec::new();
        builds.push(("reduce_max", Box::new(move |g: &mut G| {
            let x = g.input(d, &[3, 4]);
            let ax = g.ints(&[1]);
            let y = g.node(Op::Reduce { op: ReduceOp::Max, keepdims: false, noop_with_empty_axes: false }, vec![Some(x), Some(ax)]);
            g.output(y);
        })));
        builds.push(("reduce_sum", Box::new(move |g: &mut G| {
            let x = g.input(d, &[3, 4]);
            let ax = g.ints(&[0]);
            let y = g.node(Op::Reduce { op: ReduceOp::Sum, keepdims: true, noop_with_empty_axes: false }, vec![Some(x), Some(ax)]);
            g.output(y);
        })));
        builds.push(("gather_concat", Box::new(move |g: &mut G| {
            let x = g.input(d, &[4, 3]);
            let i = g.ints(&[3, 0, -1]);
            let y = g.node(Op::Gather { axis: 0 }, vec![Some(x), Some(i)]);
            let z = g.node(Op::Concat { axis: 1 }, vec![Some(y), Some(y)]);
            g.output(z);
        })));
        builds.push(("where_max", Box::new(move |g: &mut G| {
            let c = g.input(DType::Bool, &[2, 3]);
            let a = g.input(d, &[2, 3]);
            let b = g.input(d, &[3]);
            let w = g.node(Op::Where, vec![Some(c), Some(a), Some(b)]);
            let m = g.node(Op::Variadic(onnxc_ir::op::VariadicOp::Max), vec![Some(w), Some(b)]);
            g.output(m);
        })));
        for (name, build) in builds {
            let mut g = G::new();
            build(&mut g);
            let plan = onnxc_passes::plan(&g.g);
            match lower_graph(&g.g, &plan, "t") {
                Ok(_) => g.check(),
                Err(e) => eprintln!("{name} on {d}: refused: {e}"),
            }
        }
    }
}
