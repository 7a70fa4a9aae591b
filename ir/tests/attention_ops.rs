//! Shape rules and reference semantics of Attention and RotaryEmbedding.

use onnxc_ir::eval::eval_op;
use onnxc_ir::infer::{infer, InputInfo};
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn f(s: &[usize]) -> TensorType {
    TensorType::new(DType::F32, s.to_vec())
}

fn attn(q_num_heads: usize, kv_num_heads: usize, is_causal: bool) -> Op {
    Op::Attention {
        q_num_heads,
        kv_num_heads,
        scale: None,
        is_causal,
        softcap: 0.0,
        qk_matmul_output_mode: 0,
        left_window: -1,
        right_window: -1,
    }
}

fn shapes(op: &Op, tys: &[Option<TensorType>], n: usize) -> Result<Vec<TensorType>, String> {
    let infos: Vec<_> = tys.iter().map(|o| o.as_ref().map(|ty| InputInfo { ty, value: None })).collect();
    infer(op, &infos, n).map_err(|e| e.0)
}

#[test]
fn attention_shapes() {
    let ins = [Some(f(&[2, 4, 72])), Some(f(&[2, 6, 24])), Some(f(&[2, 6, 30])), None, Some(f(&[2, 3, 5, 8])), Some(f(&[2, 3, 5, 10]))];
    let out = shapes(&attn(9, 3, false), &ins, 4).unwrap();
    assert_eq!(out, vec![f(&[2, 4, 90]), f(&[2, 3, 11, 8]), f(&[2, 3, 11, 10]), f(&[2, 9, 4, 11])]);
    let e = shapes(&attn(0, 0, false), &ins[..3], 1).unwrap_err();
    assert!(e.contains("q_num_heads"), "{e}");
    let four = [Some(f(&[1, 4, 2, 8])), Some(f(&[1, 3, 3, 8])), Some(f(&[1, 3, 3, 8]))];
    let e = shapes(&attn(0, 0, false), &four, 1).unwrap_err();
    assert!(e.contains("multiple of kv heads"), "{e}");
    let mut masked = four.to_vec();
    masked[1] = Some(f(&[1, 2, 3, 8]));
    masked[2] = Some(f(&[1, 2, 3, 8]));
    masked.push(Some(f(&[3, 3])));
    let e = shapes(&attn(0, 0, false), &masked, 1).unwrap_err();
    assert!(e.contains("does not broadcast"), "{e}");
}

#[test]
fn attention_values() {
    // Causal: the first query sees only the first key, so it returns V[0].
    let q = Tensor::from_vec(vec![1, 1, 2, 2], vec![1.0f32, 0.0, 0.0, 1.0]);
    let k = Tensor::from_vec(vec![1, 1, 2, 2], vec![1.0f32, 0.0, 0.0, 1.0]);
    let v = Tensor::from_vec(vec![1, 1, 2, 1], vec![3.0f32, 5.0]);
    let dummy = vec![f(&[])];
    let y = eval_op(&attn(0, 0, true), &[Some(&q), Some(&k), Some(&v)], &dummy).unwrap()[0].to_f64_vec();
    let s = 1.0 / 2f64.sqrt();
    let p0 = 1.0 / (1.0 + (s).exp()); // weight of key 0 for query 1
    assert!((y[0] - 3.0).abs() < 1e-6 && (y[1] - (3.0 * p0 + 5.0 * (1.0 - p0))).abs() < 1e-5, "{y:?}");
    // A fully masked row gives zeros.
    let m = Tensor::from_vec(vec![2, 2], vec![false, false, true, true]);
    let y = eval_op(&attn(0, 0, false), &[Some(&q), Some(&k), Some(&v), Some(&m)], &dummy).unwrap()[0].to_f64_vec();
    assert_eq!(y[0], 0.0);
}

#[test]
fn rotary_values() {
    let op = Op::RotaryEmbedding { interleaved: false, rotary_embedding_dim: 0, num_heads: 0 };
    let x = Tensor::from_vec(vec![1, 1, 1, 2], vec![1.0f32, 2.0]);
    let c = Tensor::from_vec(vec![1, 1, 1], vec![0.0f32]);
    let s = Tensor::from_vec(vec![1, 1, 1], vec![1.0f32]);
    let dummy = vec![f(&[])];
    let y = eval_op(&op, &[Some(&x), Some(&c), Some(&s), None], &dummy).unwrap()[0].to_f64_vec();
    assert_eq!(y, vec![-2.0, 1.0]);
    let e = shapes(&op, &[Some(f(&[1, 1, 1, 2])), Some(f(&[1, 1, 2])), Some(f(&[1, 1, 2]))], 1).unwrap_err();
    assert!(e.contains("do not fit"), "{e}");
}
