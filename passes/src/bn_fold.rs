//! Folds inference-mode BatchNormalization into the Conv, Gemm or 2-D
//! MatMul that produces its input, when that op's weights (and bias) are
//! constants and the BatchNormalization is its output's only reader:
//! `y = a·(W∗x + b) + (B − a·mean)` with `a = scale / sqrt(var + eps)` per
//! channel becomes a Conv/Gemm with weights `a·W` and bias `a·b + B − a·mean`.
//! A MatMul becomes a Gemm so it can take the bias. Folding is done in f64
//! and rounded once to the weights' dtype.
//!
//! Any other f32/f64 BatchNormalization with constant parameters becomes
//! `Mul(x, a) → Add(·, shift)` with per-channel constants, which the fusion
//! passes then merge with neighbouring elementwise ops (BN → Relu becomes
//! one loop).

use crate::dce::eliminate_dead_code;
use crate::error::PassError;
use crate::pipeline::Pass;
use onnxc_ir::op::BinaryOp;
use onnxc_ir::{DType, Graph, Node, Op, Tensor, ValueId};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, Default)]
pub struct BnFold;

impl Pass for BnFold {
    fn name(&self) -> &'static str {
        "bn-fold"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        if fold_batch_norms(g) + batch_norms_to_affine(g) > 0 {
            eliminate_dead_code(g);
        }
        Ok(())
    }
}

/// Per-channel `(a, shift)` of a BatchNormalization with constant
/// parameters: `y = a·x + shift`.
fn bn_affine(g: &Graph, bn: &Node, eps: f32) -> Option<(Vec<f64>, Vec<f64>)> {
    let p: Vec<Vec<f64>> = (1..5).map(|i| Some(g.const_value(bn.input(i)?)?.to_f64_vec())).collect::<Option<_>>()?;
    let c = p[0].len();
    if p.iter().any(|v| v.len() != c) {
        return None;
    }
    let a: Vec<f64> = (0..c).map(|i| p[0][i] / (p[3][i] + eps as f64).sqrt()).collect();
    let shift = (0..c).map(|i| p[1][i] - a[i] * p[2][i]).collect();
    Some((a, shift))
}

/// `w` with every element multiplied by `a[channel]`, where the channel is
/// the index along `axis`.
fn scale_axis(w: &Tensor, axis: usize, a: &[f64]) -> Tensor {
    let shape = w.shape();
    let inner: usize = shape[axis + 1..].iter().product();
    let n = shape[axis];
    let v: Vec<f64> = w.to_f64_vec().iter().enumerate().map(|(i, x)| x * a[(i / inner) % n]).collect();
    Tensor::from_f64(w.dtype(), shape.to_vec(), &v)
}

/// The new weights, bias and op of `prod` with `(a, shift)` folded in, or
/// `None` if it does not qualify.
fn fold(g: &Graph, prod: &Node, a: &[f64], shift: &[f64]) -> Option<(Op, Tensor, Tensor)> {
    let c = a.len();
    let wt = g.const_value(prod.input(1)?)?;
    let dtype = wt.dtype();
    let old_bias = |n: usize| -> Option<Vec<f64>> {
        match prod.input(2) {
            None => Some(vec![0.0; n]),
            Some(b) => {
                let b = g.const_value(b)?;
                let v = b.to_f64_vec();
                // Only biases that are per channel (or one scalar) fold.
                match v.len() {
                    1 => Some(vec![v[0]; n]),
                    l if l == n && b.shape().iter().rev().skip(1).all(|d| *d == 1) => Some(v),
                    _ => None,
                }
            }
        }
    };
    let bias = |b: Vec<f64>, beta: f64| -> Tensor {
        let v: Vec<f64> = (0..c).map(|i| a[i] * beta * b[i] + shift[i]).collect();
        Tensor::from_f64(dtype, vec![c], &v)
    };
    match &prod.op {
        Op::Conv { .. } if wt.shape().first() == Some(&c) => {
            let b = old_bias(c)?;
            Some((prod.op.clone(), scale_axis(wt, 0, a), bias(b, 1.0)))
        }
        Op::Gemm { alpha, beta, trans_a, trans_b } if wt.shape().len() == 2 => {
            let axis = if *trans_b { 0 } else { 1 };
            if wt.shape()[axis] != c {
                return None;
            }
            let b = old_bias(c)?;
            let op = Op::Gemm { alpha: *alpha, beta: 1.0, trans_a: *trans_a, trans_b: *trans_b };
            Some((op, scale_axis(wt, axis, a), bias(b, *beta as f64)))
        }
        Op::MatMul if wt.shape().len() == 2 && wt.shape()[1] == c && g.ty(prod.input(0)?).shape.len() == 2 => {
            let op = Op::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false };
            Some((op, scale_axis(wt, 1, a), bias(vec![0.0; c], 1.0)))
        }
        _ => None,
    }
}

/// Folds every qualifying BatchNormalization; returns how many were folded.
// Indexed loop: the body adds constants to `g` while walking its nodes.
#[allow(clippy::needless_range_loop)]
pub fn fold_batch_norms(g: &mut Graph) -> usize {
    let uses = g.use_counts();
    let mut producer: HashMap<ValueId, usize> = HashMap::new();
    let mut removed = vec![false; g.nodes.len()];
    let mut count = 0;
    for j in 0..g.nodes.len() {
        for o in &g.nodes[j].outputs {
            producer.insert(*o, j);
        }
        let bn = &g.nodes[j];
        let Op::BatchNormalization { epsilon } = bn.op else { continue };
        let Some(x) = bn.input(0) else { continue };
        let y = bn.outputs[0];
        let float = matches!(g.ty(y).dtype, DType::F32 | DType::F64);
        let single = bn.outputs.len() == 1 && uses.get(&x) == Some(&1) && g.ty(x).shape.len() >= 2;
        let Some(&p) = producer.get(&x) else { continue };
        if !float || !single || g.nodes[p].outputs.len() != 1 {
            continue;
        }
        let Some((a, shift)) = bn_affine(g, bn, epsilon) else { continue };
        let Some((op, w, b)) = fold(g, &g.nodes[p], &a, &shift) else { continue };
        if w.dtype() != g.ty(y).dtype {
            continue;
        }
        let name = g.display_name(y);
        let wv = g.add_const(format!("{name}.w"), w);
        let bv = g.add_const(format!("{name}.b"), b);
        let prod = &mut g.nodes[p];
        prod.op = op;
        prod.inputs.truncate(2);
        prod.inputs[1] = Some(wv);
        prod.inputs.push(Some(bv));
        prod.outputs[0] = y;
        producer.insert(y, p);
        removed[j] = true;
        count += 1;
    }
    let mut k = 0;
    g.nodes.retain(|_| {
        k += 1;
        !removed[k - 1]
    });
    count
}

/// Rewrites the remaining foldable-parameter BatchNormalizations as
/// `Mul` + `Add` with per-channel constants; returns how many.
pub fn batch_norms_to_affine(g: &mut Graph) -> usize {
    let nodes = std::mem::take(&mut g.nodes);
    let mut out = Vec::with_capacity(nodes.len());
    let mut count = 0;
    for n in nodes {
        let Some((mul, add)) = affine_nodes(g, &n) else {
            out.push(n);
            continue;
        };
        out.push(mul);
        out.push(add);
        count += 1;
    }
    g.nodes = out;
    count
}

fn affine_nodes(g: &mut Graph, bn: &Node) -> Option<(Node, Node)> {
    let Op::BatchNormalization { epsilon } = bn.op else { return None };
    let (x, y) = (bn.input(0)?, *bn.outputs.first()?);
    let ty = g.ty(y).clone();
    if bn.outputs.len() != 1 || !matches!(ty.dtype, DType::F32 | DType::F64) || ty.shape.len() < 2 {
        return None;
    }
    let (a, shift) = bn_affine(g, bn, epsilon)?;
    if a.len() != ty.shape[1] {
        return None;
    }
    // [C, 1, ..., 1]: broadcasts along axis 1 of x.
    let mut shape = vec![a.len()];
    shape.resize(ty.shape.len() - 1, 1);
    let name = g.display_name(y);
    let av = g.add_const(format!("{name}.scale"), Tensor::from_f64(ty.dtype, shape.clone(), &a));
    let sv = g.add_const(format!("{name}.shift"), Tensor::from_f64(ty.dtype, shape, &shift));
    let t = g.add_value(format!("{name}.scaled"), ty);
    let mul = Node { name: format!("{name}.scale"), op: Op::Binary(BinaryOp::Mul), inputs: vec![Some(x), Some(av)], outputs: vec![t] };
    let add = Node { name: bn.name.clone(), op: Op::Binary(BinaryOp::Add), inputs: vec![Some(t), Some(sv)], outputs: vec![y] };
    Some((mul, add))
}
