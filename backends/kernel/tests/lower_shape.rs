//! Data-movement lowering vs the reference evaluator.
mod common;
use common::*;
use onnxc_ir::op::PadMode;
use onnxc_ir::{DType, Op, Tensor};

fn unary_graph(d: DType, shape: &[usize], f: impl FnOnce(&mut G, onnxc_ir::ValueId) -> Vec<onnxc_ir::ValueId>) {
    let mut g = G::new();
    let x = g.input(d, shape);
    for y in f(&mut g, x) {
        g.output(y);
    }
    g.check();
}

#[test]
fn reshapes_are_copies() {
    unary_graph(DType::F32, &[2, 3, 4], |g, x| {
        let s = g.ints(&[4, -1]);
        let r = g.node(Op::Reshape { allowzero: false }, vec![Some(x), Some(s)]);
        let f = g.node(Op::Flatten { axis: 2 }, vec![Some(r)]);
        let a = g.ints(&[0]);
        let u = g.node(Op::Unsqueeze, vec![Some(f), Some(a)]);
        let sq = g.node(Op::Squeeze, vec![Some(u), Some(a)]);
        vec![sq, r]
    });
}

#[test]
fn transpose_and_expand() {
    for d in [DType::F32, DType::F16, DType::Bool, DType::I64] {
        unary_graph(d, &[2, 3, 4], |g, x| {
            let t1 = g.node(Op::Transpose { perm: Some(vec![1, 2, 0]) }, vec![Some(x)]);
            let t2 = g.node(Op::Transpose { perm: None }, vec![Some(x)]);
            let s = g.ints(&[2, 2, 3, 4]);
            let e = g.node(Op::Expand, vec![Some(x), Some(s)]);
            vec![t1, t2, e]
        });
    }
}

#[test]
fn concat_split() {
    for axis in [0i64, 1, -1] {
        let mut g = G::new();
        let a = g.input(DType::F32, &[2, 3, 4]);
        let shape_b: Vec<usize> = (0..3).map(|i| if i as i64 == axis.rem_euclid(3) { 2 } else { [2, 3, 4][i] }).collect();
        let b = g.input(DType::F32, &shape_b);
        let c = g.node(Op::Concat { axis }, vec![Some(a), Some(b)]);
        let parts = g.node_n(Op::Split { axis, num_outputs: 2 }, vec![Some(c)], 2);
        g.output(c);
        for p in parts {
            g.output(p);
        }
        g.check();
    }
    let mut g = G::new();
    let a = g.input(DType::I32, &[7, 2]);
    let sizes = g.ints(&[1, 4, 2]);
    let parts = g.node_n(Op::Split { axis: 0, num_outputs: 3 }, vec![Some(a), Some(sizes)], 3);
    for p in parts {
        g.output(p);
    }
    g.check();
}

#[test]
fn slices() {
    type Case<'a> = (&'a [i64], &'a [i64], Option<&'a [i64]>, Option<&'a [i64]>);
    let cases: [Case; 5] = [
        (&[0, 1], &[2, 3], None, None),
        (&[1], &[100], Some(&[2]), None),
        (&[-1, 4], &[-100, 0], Some(&[1, 2]), Some(&[-1, -2])),
        (&[0, 0, 0], &[3, 5, 6], Some(&[0, 1, 2]), Some(&[2, 2, 3])),
        (&[2], &[-1], Some(&[-1]), None),
    ];
    for (s, e, a, st) in cases {
        unary_graph(DType::F32, &[3, 5, 6], |g, x| {
            let s = g.ints(s);
            let e = g.ints(e);
            let a = a.map(|a| g.ints(a));
            let st = st.map(|st| g.ints(st));
            vec![g.node(Op::Slice, vec![Some(x), Some(s), Some(e), a, st])]
        });
    }
}

#[test]
fn tile_pad() {
    unary_graph(DType::F32, &[2, 3], |g, x| {
        let r = g.ints(&[2, 3]);
        vec![g.node(Op::Tile, vec![Some(x), Some(r)])]
    });
    for mode in [PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap] {
        unary_graph(DType::F32, &[3, 4], |g, x| {
            let p = g.ints(&[1, 2, 2, 1]);
            let cv = g.konst(Tensor::scalar(1.5f32));
            let cv = if mode == PadMode::Constant { Some(cv) } else { None };
            let y1 = g.node(Op::Pad { mode }, vec![Some(x), Some(p), cv]);
            let p2 = g.ints(&[0, 2]);
            let axes = g.ints(&[-1]);
            let y2 = g.node(Op::Pad { mode }, vec![Some(x), Some(p2), None, Some(axes)]);
            vec![y1, y2]
        });
    }
    // Negative pads crop.
    unary_graph(DType::F32, &[3, 4], |g, x| {
        let p = g.ints(&[-1, 1, 0, -2]);
        vec![g.node(Op::Pad { mode: PadMode::Constant }, vec![Some(x), Some(p)])]
    });
}

#[test]
fn gather() {
    for axis in [0i64, 1, -1] {
        let mut g = G::new();
        let x = g.input(DType::F32, &[3, 4, 2]);
        let ind = g.konst(Tensor::from_vec(vec![2, 2], vec![0i64, -1, 1, 1]));
        let y = g.node(Op::Gather { axis }, vec![Some(x), Some(ind)]);
        let ind32 = g.input_with(Tensor::from_vec(vec![3], vec![1i32, 0, -2]));
        let y2 = g.node(Op::Gather { axis }, vec![Some(x), Some(ind32)]);
        let s = g.konst(Tensor::scalar(1i64));
        let y3 = g.node(Op::Gather { axis }, vec![Some(x), Some(s)]);
        g.output(y);
        g.output(y2);
        g.output(y3);
        g.check();
    }
}

#[test]
fn constants_shape_size_range() {
    let mut g = G::new();
    let x = g.input(DType::F32, &[2, 3, 5]);
    let s = g.node(Op::Shape { start: 0, end: None }, vec![Some(x)]);
    let s2 = g.node(Op::Shape { start: -2, end: Some(-1) }, vec![Some(x)]);
    let n = g.node(Op::Size, vec![Some(x)]);
    let shp = g.ints(&[2, 3]);
    let c = g.node(Op::ConstantOfShape { value: Tensor::from_vec(vec![1], vec![7i32]) }, vec![Some(shp)]);
    let c2 = g.node(Op::ConstantOfShape { value: Tensor::from_f64(DType::F16, vec![1], &[0.5]) }, vec![Some(shp)]);
    let (a, b, d) = (g.konst(Tensor::scalar(1.0f32)), g.konst(Tensor::scalar(4.0f32)), g.konst(Tensor::scalar(0.75f32)));
    let r = g.node(Op::Range, vec![Some(a), Some(b), Some(d)]);
    let (a, b, d) = (g.konst(Tensor::scalar(10i64)), g.konst(Tensor::scalar(-3i64)), g.konst(Tensor::scalar(-4i64)));
    let r2 = g.node(Op::Range, vec![Some(a), Some(b), Some(d)]);
    for v in [s, s2, n, c, c2, r, r2] {
        g.output(v);
    }
    g.check();
}

#[test]
fn range_in_half_precision() {
    for d in [DType::F16, DType::BF16] {
        let mut g = G::new();
        let k = |g: &mut G, v: f64| g.konst(Tensor::from_f64(d, Vec::<usize>::new(), &[v]));
        let (a, b, dl) = (k(&mut g, 1.0), k(&mut g, 9.5), k(&mut g, 0.75));
        let r = g.node(Op::Range, vec![Some(a), Some(b), Some(dl)]);
        g.output(r);
        g.check();
    }
}

#[test]
fn outputs_aliasing_inputs_and_constants() {
    let mut g = G::new();
    let x = g.input(DType::F32, &[2, 2]);
    let k = g.konst(Tensor::from_vec(vec![2], vec![1.0f32, 2.0]));
    let y = g.node(Op::Unary(onnxc_ir::op::UnaryOp::Relu), vec![Some(x)]);
    for v in [x, k, y, y] {
        g.output(v);
    }
    g.check();
}
