//! Attention and RotaryEmbedding lowering vs the reference evaluator.
mod common;
use common::*;
use onnxc_ir::{DType, Op, Tensor};

fn attn(q_num_heads: usize, kv_num_heads: usize) -> Op {
    Op::Attention {
        q_num_heads,
        kv_num_heads,
        scale: None,
        is_causal: false,
        softcap: 0.0,
        qk_matmul_output_mode: 0,
        left_window: -1,
        right_window: -1,
    }
}

fn with(op: Op, f: impl FnOnce(&mut Op)) -> Op {
    let mut op = op;
    f(&mut op);
    op
}

/// Q, K, V of the given shapes plus extra optional inputs (mask, past_key,
/// past_value, nonpad); every output compared.
fn check(op: Op, d: DType, qkv: [&[usize]; 3], extra: Vec<Option<Tensor>>, n_out: usize) {
    let mut g = G::new();
    let mut ins: Vec<_> = qkv.iter().map(|s| Some(g.input(d, s))).collect();
    for t in extra {
        ins.push(t.map(|t| g.input_with(t)));
    }
    for v in g.node_n(op, ins, n_out) {
        g.output(v);
    }
    g.check_tol(1e-4, 1e-5);
}

#[test]
fn attention_4d_variants() {
    let qkv: [&[usize]; 3] = [&[2, 3, 4, 8], &[2, 3, 6, 8], &[2, 3, 6, 5]];
    check(attn(0, 0), DType::F32, qkv, vec![], 1);
    let causal = with(attn(0, 0), |o| if let Op::Attention { is_causal, scale, .. } = o { *is_causal = true; *scale = Some(0.3) });
    check(causal, DType::F32, qkv, vec![], 1);
    for mode in 0..4u8 {
        let op = with(attn(0, 0), |o| if let Op::Attention { qk_matmul_output_mode, softcap, .. } = o { *qk_matmul_output_mode = mode; *softcap = 2.0 });
        let mask = rand_tensor(DType::F32, &[4, 6], 7);
        check(op, DType::F32, qkv, vec![Some(mask)], 4);
    }
    // A bool mask shorter than the keys, with a fully masked row.
    let bools = Tensor::from_vec(vec![4, 3], vec![true, false, true, false, false, false, true, true, true, false, true, false]);
    check(attn(0, 0), DType::F32, qkv, vec![Some(bools)], 1);
    check(attn(0, 0), DType::F16, qkv, vec![], 1);
}

#[test]
fn attention_gqa_cache_window() {
    let qkv: [&[usize]; 3] = [&[2, 4, 3, 8], &[2, 2, 2, 8], &[2, 2, 2, 8]];
    let past = vec![None, Some(rand_tensor(DType::F32, &[2, 2, 5, 8], 3)), Some(rand_tensor(DType::F32, &[2, 2, 5, 8], 4))];
    let op = with(attn(0, 0), |o| if let Op::Attention { is_causal, left_window, .. } = o { *is_causal = true; *left_window = 3 });
    check(op, DType::F32, qkv, past, 3);
    let nonpad = Tensor::from_vec(vec![2], vec![3i64, 1]);
    let op = with(attn(0, 0), |o| if let Op::Attention { is_causal, .. } = o { *is_causal = true });
    check(op, DType::F32, [&[2, 4, 2, 8], &[2, 2, 4, 8], &[2, 2, 4, 8]], vec![None, None, None, Some(nonpad)], 1);
}

#[test]
fn attention_3d() {
    check(attn(3, 1), DType::F32, [&[2, 4, 24], &[2, 5, 8], &[2, 5, 6]], vec![], 1);
    let past = vec![None, Some(rand_tensor(DType::F32, &[2, 1, 2, 8], 3)), Some(rand_tensor(DType::F32, &[2, 1, 2, 6], 4))];
    check(attn(3, 1), DType::F32, [&[2, 4, 24], &[2, 5, 8], &[2, 5, 6]], past, 3);
}

#[test]
fn rotary() {
    for interleaved in [false, true] {
        for rot in [0, 4] {
            let op = Op::RotaryEmbedding { interleaved, rotary_embedding_dim: rot, num_heads: 0 };
            let half = if rot == 0 { 4 } else { rot / 2 };
            let mut g = G::new();
            let x = g.input(DType::F32, &[2, 3, 4, 8]);
            let c = g.input(DType::F32, &[10, half]);
            let s = g.input(DType::F32, &[10, half]);
            let pos = g.input_with(Tensor::from_vec(vec![2, 4], vec![0i64, 1, 2, 3, 9, 5, 0, 7]));
            let y = g.node(op, vec![Some(x), Some(c), Some(s), Some(pos)]);
            g.output(y);
            g.check();
        }
    }
    let op = Op::RotaryEmbedding { interleaved: false, rotary_embedding_dim: 0, num_heads: 2 };
    let mut g = G::new();
    let x = g.input(DType::F32, &[2, 3, 8]);
    let c = g.input(DType::F32, &[2, 3, 2]);
    let s = g.input(DType::F32, &[2, 3, 2]);
    let y = g.node(op, vec![Some(x), Some(c), Some(s), None]);
    g.output(y);
    g.check();
}
