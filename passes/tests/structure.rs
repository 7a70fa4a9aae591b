//! DCE and identity removal on structurally built graphs: what is removed,
//! what is kept, how users are rewired. (Semantic equivalence is checked by
//! the property tests in `equivalence.rs`.)

mod common;

use common::{f32s, raw_node, relu};
use onnxc_ir::op::UnaryOp;
use onnxc_ir::{DType, Graph, Op, Tensor, TensorType, ValueId};
use onnxc_passes::dce::eliminate_dead_code;
use onnxc_passes::identity::remove_identities;

fn identity() -> Op {
    Op::Unary(UnaryOp::Identity)
}

#[test]
fn dce_removes_dead_chains_and_compacts_the_arena() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[4]));
    let w = g.add_const("w", Tensor::from_vec(vec![4], vec![1f32; 4]));
    let _unused = g.add_input("u", f32s(&[4]));
    let dead1 = raw_node(&mut g, relu(), &[w], &[f32s(&[4])])[0];
    let _dead2 = raw_node(&mut g, relu(), &[dead1], &[f32s(&[4])]);
    let live = raw_node(&mut g, relu(), &[x], &[f32s(&[4])])[0];
    g.outputs.push(live);
    assert_eq!(eliminate_dead_code(&mut g), 2);
    assert_eq!(g.nodes.len(), 1);
    // x, u, and the live result remain, renumbered in order.
    assert_eq!(g.values.len(), 3);
    assert_eq!(g.inputs, vec![x, ValueId(1)], "inputs are ABI and stay");
    assert_eq!(g.value(ValueId(1)).name, "u");
    assert_eq!(g.outputs, vec![ValueId(2)]);
    assert_eq!(g.nodes[0].inputs, vec![Some(x)]);
    assert_eq!(g.nodes[0].outputs, vec![ValueId(2)]);
    assert!(g.values.iter().all(|v| v.konst.is_none()), "dead weights are released");
}

#[test]
fn dce_keeps_multi_output_nodes_with_one_live_output() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[4]));
    let w = g.add_const("w", Tensor::from_vec(vec![4], vec![1f32; 4]));
    let outs = raw_node(&mut g, relu(), &[x, w], &[f32s(&[2]), f32s(&[2])]);
    g.outputs.push(outs[1]);
    assert_eq!(eliminate_dead_code(&mut g), 0);
    assert_eq!(g.values.len(), 4, "an unread output of a live node stays");
    assert!(g.const_value(w).is_some());
}

#[test]
fn identity_chains_collapse_onto_their_source() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[4]));
    let a = raw_node(&mut g, relu(), &[x], &[f32s(&[4])])[0];
    let i1 = raw_node(&mut g, identity(), &[a], &[f32s(&[4])])[0];
    let i2 = raw_node(&mut g, Op::Dropout, &[i1], &[f32s(&[4])])[0];
    let b = raw_node(&mut g, relu(), &[i2], &[f32s(&[4])])[0];
    g.outputs.push(b);
    assert_eq!(remove_identities(&mut g), 2);
    assert_eq!(g.nodes.len(), 2);
    assert_eq!(g.nodes[1].inputs, vec![Some(a)]);
}

#[test]
fn identity_feeding_an_output_hands_over_the_name() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[4]));
    let a = raw_node(&mut g, relu(), &[x], &[f32s(&[4])])[0];
    let y = raw_node(&mut g, identity(), &[a], &[f32s(&[4])])[0];
    g.value_mut(y).name = "y".into();
    g.outputs.push(y);
    assert_eq!(remove_identities(&mut g), 1);
    assert_eq!(g.outputs, vec![a]);
    assert_eq!(g.value(a).name, "y");
}

#[test]
fn identity_copies_into_outputs_are_kept() {
    // Output = Identity(input), Identity(const), and two outputs of one value.
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[4]));
    let c = g.add_const("c", Tensor::from_vec(vec![4], vec![2f32; 4]));
    let a = raw_node(&mut g, relu(), &[x], &[f32s(&[4])])[0];
    let from_input = raw_node(&mut g, identity(), &[x], &[f32s(&[4])])[0];
    let from_const = raw_node(&mut g, identity(), &[c], &[f32s(&[4])])[0];
    let first = raw_node(&mut g, identity(), &[a], &[f32s(&[4])])[0];
    let second = raw_node(&mut g, identity(), &[a], &[f32s(&[4])])[0];
    g.outputs = vec![from_input, from_const, first, second];
    assert_eq!(remove_identities(&mut g), 1);
    assert_eq!(g.outputs, vec![from_input, from_const, a, second]);
    assert_eq!(g.nodes.len(), 4);
}

#[test]
fn training_dropout_stays_and_inference_mask_becomes_constant() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32s(&[4]));
    let on = g.add_const("t", Tensor::scalar(true));
    let off = g.add_const("f", Tensor::scalar(false));
    let mask_ty = TensorType::new(DType::Bool, vec![4]);
    let drop = |g: &mut Graph, mode| {
        let outs = raw_node(g, Op::Dropout, &[x], &[f32s(&[4]), mask_ty.clone()]);
        g.nodes.last_mut().unwrap().inputs = vec![Some(x), None, Some(mode)];
        outs
    };
    let train = drop(&mut g, on);
    let infer = drop(&mut g, off);
    g.outputs = vec![train[0], infer[1]];
    assert_eq!(remove_identities(&mut g), 1);
    assert_eq!(g.nodes.len(), 1);
    assert_eq!(g.const_value(infer[1]).unwrap().to_vec::<bool>(), vec![true; 4]);
}
