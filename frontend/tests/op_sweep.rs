//! Every supported op with odd inputs and attributes (wrong dtypes, huge or
//! negative values, missing inputs): import must return, never panic.

mod common;
use common::*;
use onnxc_frontend::proto::{AttributeProto, TensorProto};
use onnxc_frontend::{supported_ops, ImportOptions};

fn attr_variants() -> Vec<Vec<AttributeProto>> {
    let names = [
        "axis",
        "axes",
        "perm",
        "kernel_shape",
        "strides",
        "pads",
        "dilations",
        "group",
        "split",
        "starts",
        "ends",
        "keepdims",
        "size",
        "to",
        "start",
        "end",
        "num_outputs",
        "epsilon",
    ];
    let mut v = vec![vec![]];
    for vals in [&[i64::MAX][..], &[-1], &[0], &[1 << 40, 3], &[2, 2, 2, 2, 2, 2, 2, 2]] {
        v.push(
            names
                .iter()
                .map(|n| a_int(n, vals[0]))
                .chain([a_str("auto_pad", "SAME_LOWER")])
                .collect(),
        );
        v.push(names.iter().map(|n| a_ints(n, vals)).collect());
    }
    v.push(vec![a_str("mode", "reflect"), a_str("direction", "LEFT"), a_float("value", f32::NAN)]);
    v
}

fn input_sets() -> Vec<(Vec<&'static str>, Vec<TensorProto>)> {
    let big = i64s("big", &[i64::MAX, -1, 1 << 40]);
    let neg = i64s("neg", &[-5]);
    let zero = i64s("zero", &[0]);
    let w = raw_f32("w", &[2, 3, 1, 1], &[0.5; 6]);
    let scalar = raw_f32("s", &[], &[2.0]);
    let inits = vec![big, neg, zero, w, scalar];
    let sets: Vec<Vec<&str>> = vec![
        vec![],
        vec!["x"],
        vec!["x", "x"],
        vec!["x", "big"],
        vec!["x", "neg", "zero"],
        vec!["big", "big", "big"],
        vec!["zero", "zero", "neg"],
        vec!["x", "w", "s"],
        vec!["i", "neg", "big", "zero", "neg"],
        vec!["s", "s", "s", "s", "s"],
        vec!["x", "", "big"],
        vec!["b", "x", "i"],
    ];
    sets.into_iter().map(|s| (s, inits.clone())).collect()
}

#[test]
fn every_op_survives_odd_inputs() {
    let mut panics = Vec::new();
    let mut imported = 0;
    for op in supported_ops() {
        for attrs in attr_variants() {
            for (inputs, inits) in input_sets() {
                for opset in [7, 11, 13, 18] {
                    let outs: &[&str] = if op == "Split" { &["y", "z"] } else { &["y"] };
                    let m = model(
                        opset,
                        vec![node(op, &inputs, outs, attrs.clone())],
                        vec![
                            fixed("x", F32, &[1, 2, 3, 4]),
                            fixed("i", I64, &[3]),
                            fixed("b", 9, &[1, 2, 3, 4]),
                        ],
                        vec![out("y")],
                        inits.clone(),
                    );
                    let data = encode(&m);
                    let r = std::panic::catch_unwind(|| {
                        onnxc_frontend::import_bytes(data, None, &ImportOptions::default())
                    });
                    match r {
                        Ok(Ok(_)) => imported += 1,
                        Ok(Err(_)) => {}
                        Err(_) => panics.push(format!(
                            "{op} opset {opset} inputs {inputs:?} attrs {:?}",
                            attrs
                                .iter()
                                .map(|a| a.name.clone().unwrap_or_default())
                                .collect::<Vec<_>>()
                        )),
                    }
                }
            }
        }
    }
    println!("{imported} odd models imported");
    assert!(
        panics.is_empty(),
        "{} panics, e.g. {:#?}",
        panics.len(),
        &panics[..panics.len().min(20)]
    );
}
