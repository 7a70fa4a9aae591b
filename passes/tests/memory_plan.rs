//! Memory plan tests on structurally built graphs (the plan only looks at
//! types and the use/def structure, not at op semantics).

mod common;

use common::{f32s, raw_node, relu};
use onnxc_ir::op::BinaryOp;
use onnxc_ir::{Graph, Op, ValueId};
use onnxc_passes::memory_plan::ALIGN;
use onnxc_passes::{plan, validate};
use proptest::prelude::*;

/// x -> softmax -> softmax -> ... (n nodes) -> output, every value `elems`
/// f32s. Softmax is not elementwise, so nothing is computed in place.
fn chain(n: usize, elems: usize) -> Graph {
    chain_of(softmax(), n, elems)
}

fn softmax() -> Op {
    Op::Softmax { axis: 0 }
}

fn chain_of(op: Op, n: usize, elems: usize) -> Graph {
    let mut g = Graph::new();
    let mut v = g.add_input("x", f32s(&[elems]));
    for _ in 0..n {
        v = raw_node(&mut g, op.clone(), &[v], &[f32s(&[elems])])[0];
    }
    g.outputs.push(v);
    g
}

#[test]
fn elementwise_chain_runs_in_place() {
    let g = chain_of(relu(), 10, 100);
    let p = plan(&g);
    validate(&g, &p).unwrap();
    assert_eq!(p.offsets.len(), 9);
    assert_eq!(p.size, 448, "every relu overwrites its input");
    // A broadcast input or one that is read later is not overwritten.
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[4, 16]));
    let a = raw_node(&mut g, relu(), &[x], &[f32s(&[4, 16])])[0];
    let s = raw_node(&mut g, relu(), &[x], &[f32s(&[16])])[0];
    let b = raw_node(&mut g, Op::Binary(BinaryOp::Add), &[s, a], &[f32s(&[4, 16])])[0];
    let c = raw_node(&mut g, relu(), &[b], &[f32s(&[4, 16])])[0];
    let d = raw_node(&mut g, Op::Binary(BinaryOp::Mul), &[c, b], &[f32s(&[4, 16])])[0];
    g.outputs.push(d);
    let p = plan(&g);
    validate(&g, &p).unwrap();
    assert_eq!(p.offsets[&b], p.offsets[&a], "b overwrites a, not the broadcast s");
    assert_ne!(p.offsets[&c], p.offsets[&b], "b is read after c");
    let mut bad = p.clone();
    bad.offsets.insert(c, p.offsets[&b]);
    assert!(validate(&g, &bad).unwrap_err().contains("overlap"));
}

#[test]
fn chain_reuses_two_buffers() {
    let g = chain(10, 100);
    let p = plan(&g);
    validate(&g, &p).unwrap();
    // 9 intermediates of 400 bytes (448 reserved): two alternating slots suffice.
    assert_eq!(p.offsets.len(), 9);
    assert_eq!(p.size, 2 * 448);
    let sum: usize = p.offsets.keys().map(|id| g.ty(*id).byte_size().unwrap()).sum();
    assert!(p.size < sum);
    let distinct: std::collections::HashSet<usize> = p.offsets.values().copied().collect();
    assert_eq!(distinct.len(), 2, "reuse happens on a chain");
}

#[test]
fn outputs_never_alias_inputs_of_their_node() {
    // a = f(x); b = f(a); c = g(a, b); output f(c), none of them elementwise
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[16]));
    let a = raw_node(&mut g, softmax(), &[x], &[f32s(&[16])])[0];
    let b = raw_node(&mut g, softmax(), &[a], &[f32s(&[16])])[0];
    let c = raw_node(&mut g, Op::MatMul, &[a, b], &[f32s(&[16])])[0];
    let y = raw_node(&mut g, softmax(), &[c], &[f32s(&[16])])[0];
    g.outputs.push(y);
    let p = plan(&g);
    validate(&g, &p).unwrap();
    let (oa, ob, oc) = (p.offsets[&a], p.offsets[&b], p.offsets[&c]);
    assert!(oa != ob && oc != oa && oc != ob);
    assert!(!p.offsets.contains_key(&y) && !p.offsets.contains_key(&x));
}

#[test]
fn unused_outputs_and_empty_tensors_get_space() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[8]));
    let parts = raw_node(&mut g, relu(), &[x], &[f32s(&[4]), f32s(&[0]), f32s(&[4])]);
    let y = raw_node(&mut g, relu(), &[parts[0]], &[f32s(&[4])])[0];
    g.outputs.push(y);
    let p = plan(&g);
    validate(&g, &p).unwrap();
    assert_eq!(p.offsets.len(), 3);
    let offs: std::collections::HashSet<usize> = parts.iter().map(|v| p.offsets[v]).collect();
    assert_eq!(offs.len(), 3, "outputs of one node are disjoint");
}

#[test]
fn freed_neighbours_coalesce_for_a_larger_value() {
    // Two small values die, then a value of twice their size reuses both.
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[16]));
    let a = raw_node(&mut g, softmax(), &[x], &[f32s(&[16])])[0];
    let b = raw_node(&mut g, softmax(), &[x], &[f32s(&[16])])[0];
    let c = raw_node(&mut g, Op::MatMul, &[a, b], &[f32s(&[16])])[0];
    let d = raw_node(&mut g, softmax(), &[c], &[f32s(&[32])])[0];
    let y = raw_node(&mut g, softmax(), &[d], &[f32s(&[32])])[0];
    g.outputs.push(y);
    let p = plan(&g);
    validate(&g, &p).unwrap();
    assert_eq!(p.offsets[&a], 0);
    assert_eq!(p.offsets[&b], 64);
    assert_eq!(p.offsets[&c], 128);
    assert_eq!(p.offsets[&d], 0, "a and b's ranges merged into one");
    assert_eq!(p.size, 192);
}

#[test]
fn validate_rejects_overlap_and_misalignment() {
    let g = chain(3, 16);
    let mut p = plan(&g);
    validate(&g, &p).unwrap();
    let ids: Vec<ValueId> = g.nodes[..2].iter().map(|n| n.outputs[0]).collect();
    let mut bad = p.clone();
    bad.offsets.insert(ids[1], bad.offsets[&ids[0]]);
    assert!(validate(&g, &bad).unwrap_err().contains("overlap"));
    p.offsets.insert(ids[1], 8);
    assert!(validate(&g, &p).is_err());
}

/// A random DAG: node k reads one to three earlier values and defines one or
/// two values of random sizes; a few values become graph outputs.
fn random_graph(spec: &[(Vec<usize>, Vec<usize>)], outs: &[usize]) -> Graph {
    let mut g = Graph::new();
    let mut vals = vec![g.add_input("x", f32s(&[3])), g.add_input("y", f32s(&[70]))];
    for (reads, sizes) in spec {
        let ins: Vec<ValueId> = reads.iter().map(|r| vals[r % vals.len()]).collect();
        let tys: Vec<_> = sizes.iter().map(|s| f32s(&[*s])).collect();
        vals.extend(raw_node(&mut g, relu(), &ins, &tys));
    }
    for o in outs {
        let v = vals[2 + o % (vals.len() - 2)];
        if !g.outputs.contains(&v) {
            g.outputs.push(v);
        }
    }
    g
}

fn spec_strategy() -> impl Strategy<Value = Vec<(Vec<usize>, Vec<usize>)>> {
    let node =
        (prop::collection::vec(0usize..1000, 1..4), prop::collection::vec(0usize..300, 1..3));
    prop::collection::vec(node, 1..40)
}

proptest! {
    #![proptest_config(common::proptest_config())]

    #[test]
    fn random_plans_validate(spec in spec_strategy(), outs in prop::collection::vec(0usize..1000, 1..4)) {
        let g = random_graph(&spec, &outs);
        let p = plan(&g);
        prop_assert_eq!(validate(&g, &p), Ok(()));
        let reserved: usize = p.offsets.keys()
            .map(|id| g.ty(*id).byte_size().unwrap().max(1).div_ceil(ALIGN) * ALIGN)
            .sum();
        prop_assert!(p.size <= reserved);
    }

    #[test]
    fn long_chains_need_far_less_than_the_sum(n in 4usize..60, elems in 1usize..500) {
        let g = chain(n, elems);
        let p = plan(&g);
        prop_assert_eq!(validate(&g, &p), Ok(()));
        let slot = (elems * 4).div_ceil(ALIGN) * ALIGN;
        prop_assert!(p.size <= 2 * slot);
        prop_assert!(p.size < (n - 1) * slot);
    }
}
