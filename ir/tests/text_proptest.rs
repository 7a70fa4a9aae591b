//! Property test: `parse(print(g)) == g` for random valid graphs.

use bytes::Bytes;
use onnxc_ir::op::{Activation, BinaryOp, UnaryOp};
use onnxc_ir::text::{parse, print};
use onnxc_ir::{DType, Graph, Op, Tensor, TensorType, ValueId};
use proptest::prelude::*;

fn arb_type() -> impl Strategy<Value = TensorType> {
    (0..DType::ALL.len(), prop::collection::vec(0usize..4, 0..4))
        .prop_map(|(d, shape)| TensorType::new(DType::ALL[d], shape))
}

fn arb_const() -> impl Strategy<Value = Tensor> {
    arb_type().prop_flat_map(|ty| {
        let n = ty.byte_size().unwrap();
        prop::collection::vec(any::<u8>(), n)
            .prop_map(move |b| Tensor::from_bytes(ty.clone(), Bytes::from(b)).unwrap())
    })
}

/// Finite floats and infinities: NaN would make `==` fail on any graph.
fn arb_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<f32>().prop_filter("not NaN", |f| !f.is_nan()),
        Just(f32::INFINITY),
        Just(-0.0f32)
    ]
}

/// One step of graph construction; picks operands by index modulo the values so far.
#[derive(Debug, Clone)]
enum Step {
    Const(String, Tensor),
    Undef(String, TensorType),
    Node {
        kind: u8,
        a: usize,
        b: usize,
        name: String,
        out: String,
        alpha: f32,
        to: usize,
    },
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (any::<String>(), arb_const()).prop_map(|(n, t)| Step::Const(n, t)),
        1 => (any::<String>(), arb_type()).prop_map(|(n, t)| Step::Undef(n, t)),
        5 => (
            0u8..8,
            any::<usize>(),
            any::<usize>(),
            any::<String>(),
            any::<String>(),
            arb_f32(),
            0..DType::ALL.len()
        )
            .prop_map(|(kind, a, b, name, out, alpha, to)| Step::Node {
                kind,
                a,
                b,
                name,
                out,
                alpha,
                to
            }),
    ]
}

fn build(inputs: Vec<(String, TensorType)>, steps: Vec<Step>, outs: Vec<usize>) -> Graph {
    let mut g = Graph::new();
    // Values that some statement defines; `undef` ones cannot be read.
    let mut usable: Vec<ValueId> = inputs.into_iter().map(|(n, t)| g.add_input(n, t)).collect();
    for s in steps {
        match s {
            Step::Const(n, t) => usable.push(g.add_const(n, t)),
            Step::Undef(n, t) => {
                g.add_value(n, t);
            }
            Step::Node {
                kind,
                a,
                b,
                name,
                out,
                alpha,
                to,
            } if !usable.is_empty() => {
                let (a, b) = (usable[a % usable.len()], usable[b % usable.len()]);
                let (op, ins) = match kind {
                    0 => (Op::Unary(UnaryOp::Identity), vec![Some(a)]),
                    1 => (Op::Cast { to: DType::ALL[to] }, vec![Some(a)]),
                    2 => (Op::Binary(BinaryOp::Equal), vec![Some(a), Some(a)]),
                    3 => (Op::Binary(BinaryOp::Add), vec![Some(a), Some(b)]),
                    4 => (Op::Transpose { perm: None }, vec![Some(a)]),
                    5 => (
                        Op::Shape {
                            start: alpha as i64 % 3,
                            end: None,
                        },
                        vec![Some(a)],
                    ),
                    6 => (
                        Op::Activation(Activation::Selu {
                            alpha,
                            gamma: -alpha,
                        }),
                        vec![Some(a)],
                    ),
                    _ => (Op::Clip, vec![Some(a), None, Some(b)]),
                };
                // Ill-typed picks (say Add on bools) simply add nothing.
                if let Ok(o) = g.add_node(name, op, ins, &[out]) {
                    usable.extend(o);
                }
            }
            Step::Node { .. } => {}
        }
    }
    if !usable.is_empty() {
        g.outputs = outs.into_iter().map(|i| usable[i % usable.len()]).collect();
    }
    g
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn print_parse_round_trip(
        inputs in prop::collection::vec((any::<String>(), arb_type()), 0..3),
        steps in prop::collection::vec(arb_step(), 0..10),
        outs in prop::collection::vec(any::<usize>(), 0..3),
    ) {
        let g = build(inputs, steps, outs);
        let text = print(&g);
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&back, &g, "{}", text);
        prop_assert_eq!(print(&back), text);
    }
}
