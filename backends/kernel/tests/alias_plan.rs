//! The memory plan's alias groups (`onnxc_passes::alias`: concat parts
//! written in place, reshapes over their input, elementwise outputs over a
//! dying input) checked end to end: random graphs are lowered with the plan,
//! run by the KIR interpreter (which reads and writes the planned workspace
//! offsets) and compared with the reference evaluator. A part placed in the
//! wrong bytes, or overwritten while still needed, shows up as a wrong value.
mod common;
use common::*;
use onnxc_ir::op::{BinaryOp, UnaryOp};
use onnxc_ir::{DType, Op, ValueId};
use proptest::prelude::*;

/// One node: a kind and picks among the values defined so far.
type Spec = (u8, usize, usize, usize);

fn build(spec: &[Spec], out_pick: usize) -> G {
    let mut g = G::new();
    // Values with their channel count; every value is [1, c, 3].
    let mut vals: Vec<(ValueId, usize)> = vec![(g.input(DType::F32, &[1, 2, 3]), 2), (g.input(DType::F32, &[1, 3, 3]), 3)];
    for &(kind, a, b, c) in spec {
        let (x, cx) = vals[a % vals.len()];
        let (y, cy) = vals[b % vals.len()];
        let v = match kind % 6 {
            0 => (g.node(Op::Unary(UnaryOp::Relu), vec![Some(x)]), cx),
            1 if cx == cy => (g.node(Op::Binary(BinaryOp::Add), vec![Some(x), Some(y)]), cx),
            1 => (g.node(Op::Unary(UnaryOp::Neg), vec![Some(y)]), cy),
            2 if cx + cy <= 24 => {
                // Sometimes three parts, sometimes a part twice.
                let (z, cz) = vals[c % vals.len()];
                let parts = if c % 3 == 0 && cx + cy + cz <= 24 { vec![x, y, z] } else { vec![x, y] };
                let ch = parts.iter().map(|p| vals.iter().find(|v| v.0 == *p).unwrap().1).sum();
                (g.node(Op::Concat { axis: 1 }, parts.into_iter().map(Some).collect()), ch)
            }
            2 | 3 => {
                let s = g.ints(&[1, cx as i64, 3]);
                (g.node(Op::Reshape { allowzero: false }, vec![Some(x), Some(s)]), cx)
            }
            4 => (g.node(Op::Softmax { axis: 2 }, vec![Some(x)]), cx),
            _ => (g.node(Op::Unary(UnaryOp::Neg), vec![Some(x)]), cx),
        };
        vals.push(v);
    }
    let last = vals.last().unwrap().0;
    g.output(last);
    let other = vals[2 + out_pick % (vals.len() - 2).max(1)].0;
    if vals.len() > 2 && other != last {
        g.output(other);
    }
    g
}

#[test]
fn densenet_chain_is_one_buffer() {
    // z1 = concat(a, b); c = softmax(z1); z2 = concat(z1, c): z1 lives inside z2.
    let mut g = G::new();
    let x = g.input(DType::F32, &[1, 4, 3]);
    let a = g.node(Op::Unary(UnaryOp::Relu), vec![Some(x)]);
    let b = g.node(Op::Softmax { axis: 2 }, vec![Some(x)]);
    let z1 = g.node(Op::Concat { axis: 1 }, vec![Some(a), Some(b)]);
    let c = g.node(Op::Softmax { axis: 2 }, vec![Some(z1)]);
    let z2 = g.node(Op::Concat { axis: 1 }, vec![Some(z1), Some(c)]);
    let y = g.node(Op::Softmax { axis: 1 }, vec![Some(z2)]);
    g.output(y);
    let p = onnxc_passes::plan(&g.g);
    onnxc_passes::validate(&g.g, &p).unwrap();
    let o = |v: ValueId| p.offsets[&v];
    assert_eq!((o(a), o(b), o(z1)), (o(z2), o(z2) + 48, o(z2)));
    assert_eq!(o(c), o(z2) + 96);
    g.check();
}

#[test]
fn batched_concat_and_shared_parts_are_copied() {
    // Batch 2: parts are not contiguous in the output.
    let mut g = G::new();
    let x = g.input(DType::F32, &[2, 4, 3]);
    let a = g.node(Op::Unary(UnaryOp::Relu), vec![Some(x)]);
    let b = g.node(Op::Unary(UnaryOp::Neg), vec![Some(x)]);
    let z = g.node(Op::Concat { axis: 1 }, vec![Some(a), Some(b)]);
    // `a` in a second concat: it already lives elsewhere, so it is copied.
    let w = g.node(Op::Concat { axis: 0 }, vec![Some(a), Some(b)]);
    let z = g.node(Op::Softmax { axis: 1 }, vec![Some(z)]);
    let w = g.node(Op::Softmax { axis: 1 }, vec![Some(w)]);
    g.output(z);
    g.output(w);
    let p = onnxc_passes::plan(&g.g);
    onnxc_passes::validate(&g.g, &p).unwrap();
    assert_ne!(p.offsets[&a], p.offsets[&g.g.nodes[2].outputs[0]]);
    g.check();
}

#[test]
fn in_place_never_overwrites_a_live_concat() {
    // r = relu(a) would overwrite a in place, but a is a part of z, read later.
    let mut g = G::new();
    let x = g.input(DType::F32, &[1, 2, 3]);
    let a = g.node(Op::Softmax { axis: 2 }, vec![Some(x)]);
    let b = g.node(Op::Unary(UnaryOp::Neg), vec![Some(x)]);
    let z = g.node(Op::Concat { axis: 1 }, vec![Some(a), Some(b)]);
    let r = g.node(Op::Unary(UnaryOp::Relu), vec![Some(a)]);
    let s = g.node(Op::Softmax { axis: 2 }, vec![Some(z)]);
    g.output(r);
    g.output(s);
    let p = onnxc_passes::plan(&g.g);
    onnxc_passes::validate(&g.g, &p).unwrap();
    g.check();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..Default::default() })]

    #[test]
    fn random_graphs_run_correctly_with_aliases(
        spec in prop::collection::vec((0u8..6, 0usize..100, 0usize..100, 0usize..100), 1..14),
        out_pick in 0usize..100,
    ) {
        let g = build(&spec, out_pick);
        let p = onnxc_passes::plan(&g.g);
        prop_assert_eq!(onnxc_passes::validate(&g.g, &p), Ok(()));
        g.check();
    }
}
