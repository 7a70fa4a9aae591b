//! Known-value checks of DFT, windows, LinearAttention, CausalConvWithState
//! and the optimizers (the conformance suite has few cases of each).

use onnxc_ir::eval::eval_op;
use onnxc_ir::infer::{infer, InputInfo};
use onnxc_ir::op::{LinearAttnRule, OptimizerKind, WindowKind};
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn run(op: &Op, ins: &[Option<&Tensor>], n: usize) -> Vec<Tensor> {
    let infos: Vec<_> = ins.iter().map(|t| t.map(|t| InputInfo { ty: t.ty(), value: Some(t) })).collect();
    let tys = infer(op, &infos, n).unwrap_or_else(|e| panic!("infer: {}", e.0));
    let out = eval_op(op, ins, &tys).unwrap_or_else(|e| panic!("eval: {}", e.0));
    for (o, t) in out.iter().zip(&tys) {
        assert_eq!(o.ty(), t);
    }
    out
}

fn close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() <= tol, "element {i}: got {a}, want {b}\n{got:?}");
    }
}

#[test]
fn dft_of_a_cosine_has_two_peaks() {
    let x: Vec<f64> = (0..8).map(|n| (2.0 * std::f64::consts::PI * 2.0 * n as f64 / 8.0).cos()).collect();
    let t = Tensor::from_f64(DType::F64, vec![1, 8, 1], &x);
    let y = run(&Op::Dft { axis: 1, inverse: false, onesided: false }, &[Some(&t)], 1);
    assert_eq!(y[0].shape(), &[1, 8, 2]);
    let mut want = vec![0.0; 16];
    want[4] = 4.0;
    want[12] = 4.0;
    close(&y[0].to_f64_vec(), &want, 1e-12);
    // One-sided: bins 0..=4 only.
    let y = run(&Op::Dft { axis: 1, inverse: false, onesided: true }, &[Some(&t)], 1);
    assert_eq!(y[0].shape(), &[1, 5, 2]);
}

#[test]
fn irfft_inverts_rfft() {
    for n in [7usize, 8] {
        let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin() + 0.1 * i as f64).collect();
        let t = Tensor::from_f64(DType::F64, vec![n, 1], &x);
        let spec = run(&Op::Dft { axis: 0, inverse: false, onesided: true }, &[Some(&t)], 1);
        let len = Tensor::scalar(n as i64);
        let back = run(&Op::Dft { axis: 0, inverse: true, onesided: true }, &[Some(&spec[0]), Some(&len)], 1);
        assert_eq!(back[0].shape(), &[n, 1]);
        close(&back[0].to_f64_vec(), &x, 1e-12);
    }
}

#[test]
fn dft_rejects_the_complex_axis() {
    let t = Tensor::from_f64(DType::F32, vec![4, 2], &[0.0; 8]);
    let infos = [Some(InputInfo { ty: t.ty(), value: None })];
    assert!(infer(&Op::Dft { axis: -1, inverse: false, onesided: false }, &infos, 1).is_err());
}

#[test]
fn window_values() {
    let size = Tensor::scalar(4i64);
    let hann = run(&Op::Window { kind: WindowKind::Hann, periodic: true, dtype: DType::F32 }, &[Some(&size)], 1);
    close(&hann[0].to_f64_vec(), &[0.0, 0.5, 1.0, 0.5], 1e-7);
    let size = Tensor::scalar(5i64);
    let ham = run(&Op::Window { kind: WindowKind::Hamming, periodic: false, dtype: DType::F64 }, &[Some(&size)], 1);
    let a = 25.0 / 46.0;
    close(&ham[0].to_f64_vec(), &[2.0 * a - 1.0, a, 1.0, a, 2.0 * a - 1.0], 1e-12);
}

#[test]
fn stft_requires_constant_step() {
    let x = TensorType::new(DType::F32, vec![1, 16, 1]);
    let step = TensorType::new(DType::I64, vec![]);
    let infos = [Some(InputInfo { ty: &x, value: None }), Some(InputInfo { ty: &step, value: None })];
    let e = infer(&Op::Stft { onesided: true }, &infos, 1).unwrap_err();
    assert!(e.0.contains("constant"), "{}", e.0);
}

#[test]
fn linear_attention_single_token_is_an_outer_product_read() {
    let (dk, dv) = (2, 3);
    let q = Tensor::from_f64(DType::F64, vec![1, 1, dk], &[1.0, 2.0]);
    let k = Tensor::from_f64(DType::F64, vec![1, 1, dk], &[0.5, -1.0]);
    let v = Tensor::from_f64(DType::F64, vec![1, 1, dv], &[1.0, 2.0, 3.0]);
    let op = Op::LinearAttention { q_num_heads: 1, kv_num_heads: 1, scale: Some(2.0), rule: LinearAttnRule::Linear };
    let out = run(&op, &[Some(&q), Some(&k), Some(&v)], 2);
    // o = scale * (q . k) v = 2 * (-1.5) * v
    close(&out[0].to_f64_vec(), &[-3.0, -6.0, -9.0], 1e-12);
    close(&out[1].to_f64_vec(), &[0.5, 1.0, 1.5, -1.0, -2.0, -3.0], 1e-12);
    // The delta rule with beta = 1 on an empty state writes the same state.
    let beta = Tensor::from_f64(DType::F64, vec![1, 1, 1], &[1.0]);
    let op = Op::LinearAttention { q_num_heads: 1, kv_num_heads: 1, scale: Some(2.0), rule: LinearAttnRule::Delta };
    let out2 = run(&op, &[Some(&q), Some(&k), Some(&v), None, None, Some(&beta)], 2);
    close(&out2[1].to_f64_vec(), &out[1].to_f64_vec(), 1e-12);
}

#[test]
fn linear_attention_checks_rule_inputs() {
    let q = TensorType::new(DType::F32, vec![1, 2, 4]);
    let i = Some(InputInfo { ty: &q, value: None });
    let op = Op::LinearAttention { q_num_heads: 1, kv_num_heads: 1, scale: None, rule: LinearAttnRule::GatedDelta };
    let e = infer(&op, &[i, i, i], 2).unwrap_err();
    assert!(e.0.contains("decay"), "{}", e.0);
}

#[test]
fn causal_conv_kernel_one_is_a_scale_and_shift() {
    let x = Tensor::from_f64(DType::F32, vec![1, 2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let w = Tensor::from_f64(DType::F32, vec![2, 1, 1], &[2.0, -1.0]);
    let b = Tensor::from_f64(DType::F32, vec![2], &[0.5, 1.0]);
    let out = run(&Op::CausalConvWithState { silu: false }, &[Some(&x), Some(&w), Some(&b)], 2);
    close(&out[0].to_f64_vec(), &[2.5, 4.5, 6.5, -3.0, -4.0, -5.0], 1e-6);
    assert_eq!(out[1].shape(), &[1, 2, 0]);
}

#[test]
fn causal_conv_state_carries_across_calls() {
    // Running [a, b] in one call equals running a, then b with a's state.
    let k = 3;
    let xs: Vec<f64> = (0..8).map(|i| i as f64 * 0.5 - 1.0).collect();
    let w = Tensor::from_f64(DType::F64, vec![1, 1, k], &[0.2, -0.4, 0.7]);
    let op = Op::CausalConvWithState { silu: true };
    let whole = run(&op, &[Some(&Tensor::from_f64(DType::F64, vec![1, 1, 8], &xs)), Some(&w)], 2);
    let a = run(&op, &[Some(&Tensor::from_f64(DType::F64, vec![1, 1, 5], &xs[..5])), Some(&w)], 2);
    let b = run(&op, &[Some(&Tensor::from_f64(DType::F64, vec![1, 1, 3], &xs[5..])), Some(&w), None, Some(&a[1])], 2);
    let mut joined = a[0].to_f64_vec();
    joined.extend(b[0].to_f64_vec());
    close(&joined, &whole[0].to_f64_vec(), 1e-12);
    close(&b[1].to_f64_vec(), &whole[1].to_f64_vec(), 1e-12);
}

#[test]
fn momentum_first_step_ignores_beta() {
    let kind = OptimizerKind::Momentum { alpha: 0.9, beta: 0.1, norm_coefficient: 0.0, nesterov: false };
    let r = Tensor::scalar(0.5f32);
    let t = Tensor::scalar(0i64);
    let x = Tensor::from_f64(DType::F32, vec![2], &[1.0, 2.0]);
    let g = Tensor::from_f64(DType::F32, vec![2], &[1.0, -1.0]);
    let v = Tensor::from_f64(DType::F32, vec![2], &[0.0, 1.0]);
    let out = run(&Op::Optimizer(kind), &[Some(&r), Some(&t), Some(&x), Some(&g), Some(&v)], 2);
    // v' = 0.9 v + g; x' = x - 0.5 v'
    close(&out[1].to_f64_vec(), &[1.0, -0.1], 1e-6);
    close(&out[0].to_f64_vec(), &[0.5, 2.05], 1e-6);
}

#[test]
fn new_ops_round_trip_through_text() {
    use onnxc_ir::text::{parse, print};
    use onnxc_ir::Graph;
    let mut g = Graph::new();
    let q = g.add_input("q", TensorType::new(DType::F32, vec![1, 2, 8]));
    let op = Op::LinearAttention { q_num_heads: 2, kv_num_heads: 1, scale: Some(0.25), rule: LinearAttnRule::GatedDelta };
    let kv = g.add_input("kv", TensorType::new(DType::F32, vec![1, 2, 4]));
    let dec = g.add_input("decay", TensorType::new(DType::F32, vec![1, 2, 1]));
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    g.add_node("la", op, vec![Some(q), Some(kv), Some(kv), None, Some(dec), Some(dec)], &names(&["y", "s"])).unwrap();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![1, 8, 2]));
    let len = g.add_const("len", Tensor::scalar(8i64));
    let d = g.add_node("dft", Op::Dft { axis: -2, inverse: true, onesided: false }, vec![Some(x), Some(len)], &names(&["d"])).unwrap();
    let size = g.add_const("size", Tensor::scalar(8i64));
    let w = g.add_node("win", Op::Window { kind: WindowKind::Hamming, periodic: false, dtype: DType::F32 }, vec![Some(size)], &names(&["w"])).unwrap();
    let r = g.add_input("r", TensorType::new(DType::F32, vec![]));
    let t = g.add_input("t", TensorType::new(DType::I64, vec![]));
    let kind = OptimizerKind::Adam { alpha: 0.9, beta: 0.99, epsilon: 1e-6, norm_coefficient: 0.0, norm_coefficient_post: 0.0 };
    let opt = g.add_node("adam", Op::Optimizer(kind), vec![Some(r), Some(t), Some(w[0]), Some(w[0]), Some(w[0]), Some(w[0])], &names(&["x2", "v2", "h2"])).unwrap();
    g.outputs = vec![d[0], opt[0]];
    let text = print(&g);
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(print(&back), text);
}
