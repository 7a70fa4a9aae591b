//! Shape rules and reference semantics of the loss and quantization ops.

use onnxc_ir::eval::eval_op;
use onnxc_ir::infer::{infer, quant_layout, InputInfo};
use onnxc_ir::op::LossReduction;
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn ty(d: DType, s: &[usize]) -> TensorType {
    TensorType::new(d, s.to_vec())
}

fn shape_of(op: &Op, tys: &[Option<TensorType>]) -> Result<TensorType, String> {
    let infos: Vec<_> = tys.iter().map(|o| o.as_ref().map(|ty| InputInfo { ty, value: None })).collect();
    infer(op, &infos, 1).map(|mut v| v.remove(0)).map_err(|e| e.0)
}

fn eval1(op: &Op, ins: &[Option<&Tensor>]) -> Tensor {
    let tys: Vec<Option<TensorType>> = ins.iter().map(|t| t.map(|t| t.ty().clone())).collect();
    let out = shape_of(op, &tys).expect("shape rule");
    let r = eval_op(op, ins, &[out.clone()]).expect("eval").remove(0);
    assert_eq!(r.ty(), &out, "evaluator and shape rule disagree");
    r
}

fn nll(reduction: LossReduction, ignore_index: Option<i64>) -> Op {
    Op::NegativeLogLikelihoodLoss { reduction, ignore_index }
}

#[test]
fn nll_shapes() {
    let x = Some(ty(DType::F32, &[3, 5, 2]));
    let t = Some(ty(DType::I64, &[3, 2]));
    let w = Some(ty(DType::F32, &[5]));
    assert_eq!(shape_of(&nll(LossReduction::None, None), &[x.clone(), t.clone()]).unwrap(), ty(DType::F32, &[3, 2]));
    assert_eq!(shape_of(&nll(LossReduction::Mean, None), &[x.clone(), t.clone(), w]).unwrap(), ty(DType::F32, &[]));
    let e = shape_of(&nll(LossReduction::Sum, None), &[x.clone(), Some(ty(DType::I64, &[3, 5]))]).unwrap_err();
    assert!(e.contains("target must have shape [3, 2]"), "{e}");
    let e = shape_of(&nll(LossReduction::Sum, None), &[x.clone(), t.clone(), Some(ty(DType::F32, &[4]))]).unwrap_err();
    assert!(e.contains("weight must have shape [5]"), "{e}");
    assert!(shape_of(&nll(LossReduction::Sum, None), &[x, Some(ty(DType::F32, &[3, 2]))]).is_err());
}

#[test]
fn nll_values() {
    // x[n, c] = -(10 n + c); targets 1, 2 (ignored), 0.
    let x = Tensor::from_vec(vec![3, 3], (0..9).map(|i| -((i / 3 * 10 + i % 3) as f32)).collect::<Vec<_>>());
    let t = Tensor::from_vec(vec![3], vec![1i64, 2, 0]);
    let w = Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0]);
    let none = eval1(&nll(LossReduction::None, Some(2)), &[Some(&x), Some(&t), Some(&w)]);
    assert_eq!(none.to_vec::<f32>(), vec![2.0, 0.0, 20.0]);
    let sum = eval1(&nll(LossReduction::Sum, Some(2)), &[Some(&x), Some(&t), Some(&w)]);
    assert_eq!(sum.to_vec::<f32>(), vec![22.0]);
    // Mean divides by the weights of the targets that count: 2 + 1.
    let mean = eval1(&nll(LossReduction::Mean, Some(2)), &[Some(&x), Some(&t), Some(&w)]);
    assert_eq!(mean.to_vec::<f32>(), vec![22.0 / 3.0]);
    let mean = eval1(&nll(LossReduction::Mean, None), &[Some(&x), Some(&t), None]);
    assert_eq!(mean.to_vec::<f32>(), vec![(1.0 + 12.0 + 20.0) / 3.0]);
    let bad = Tensor::from_vec(vec![3], vec![1i64, 7, 0]);
    let tys = [x.ty().clone()];
    assert!(eval_op(&nll(LossReduction::Sum, None), &[Some(&x), Some(&bad)], &tys[..0]).is_err());
}

fn q(axis: i64, block_size: usize, out: DType) -> Op {
    Op::QuantizeLinear { axis, block_size, output_dtype: out }
}

fn dq(axis: i64, block_size: usize, out: DType) -> Op {
    Op::DequantizeLinear { axis, block_size, output_dtype: out }
}

#[test]
fn quant_layouts() {
    let l = quant_layout(&[2, 3, 4], &[], 1, 0).unwrap();
    assert_eq!((l.outer, l.len, l.inner, l.strides), (24, 1, 1, [0, 0, 0]));
    let l = quant_layout(&[2, 3, 4], &[3], 1, 0).unwrap();
    assert_eq!(l.param_index(1, 2, 3), 2);
    let l = quant_layout(&[2, 6, 4], &[2, 3, 4], 1, 2).unwrap();
    assert_eq!(l.param_index(1, 5, 3), 12 + 2 * 4 + 3);
    // The last block may be partial: ceil(5 / 2) = 3 blocks.
    assert!(quant_layout(&[5, 2], &[3, 2], 0, 2).is_ok());
    let e = quant_layout(&[2, 3, 4], &[4], 1, 0).unwrap_err().0;
    assert!(e.contains("must have shape [3]"), "{e}");
    assert!(quant_layout(&[2, 6], &[2, 2], 1, 2).is_err());
}

#[test]
fn quant_shapes() {
    let x = Some(ty(DType::F32, &[2, 3]));
    let s = Some(ty(DType::F32, &[3]));
    let z = Some(ty(DType::I8, &[3]));
    assert_eq!(shape_of(&q(1, 0, DType::I8), &[x.clone(), s.clone(), z.clone()]).unwrap(), ty(DType::I8, &[2, 3]));
    let e = shape_of(&q(1, 0, DType::U8), &[x.clone(), s.clone(), z]).unwrap_err();
    assert!(e.contains("must be u8"), "{e}");
    assert!(shape_of(&q(1, 0, DType::F32), &[x.clone(), s.clone()]).is_err());
    let xi = Some(ty(DType::U8, &[2, 3]));
    assert_eq!(shape_of(&dq(1, 0, DType::F16), &[xi, s.clone()]).unwrap(), ty(DType::F16, &[2, 3]));
    assert!(shape_of(&dq(1, 0, DType::F32), &[x, s]).is_err());
}

#[test]
fn quantize_rounds_half_even_and_saturates() {
    let x = Tensor::from_vec(vec![6], vec![0.0f32, 2.0, 3.0, 1000.0, -1000.0, -5.0]);
    let s = Tensor::scalar(2.0f32);
    let z = Tensor::scalar(128u8);
    let y = eval1(&q(1, 0, DType::U8), &[Some(&x), Some(&s), Some(&z)]);
    // 1/2 -> 0 and 3/2 -> 2 (half to even); -5/2 = -2.5 -> -2.
    assert_eq!(y.to_vec::<u8>(), vec![128, 129, 130, 255, 0, 126]);
    let y = eval1(&q(1, 0, DType::I16), &[Some(&x), Some(&s)]);
    assert_eq!(y.to_vec::<i16>(), vec![0, 1, 2, 500, -500, -2]);
}

#[test]
fn dequantize_per_axis_and_blocked() {
    let x = Tensor::from_vec(vec![2, 2], vec![10u8, 20, 30, 40]);
    let s = Tensor::from_vec(vec![2], vec![0.5f32, 2.0]);
    let z = Tensor::from_vec(vec![2], vec![10u8, 0]);
    let y = eval1(&dq(1, 0, DType::F32), &[Some(&x), Some(&s), Some(&z)]);
    assert_eq!(y.to_vec::<f32>(), vec![0.0, 40.0, 10.0, 80.0]);
    let y = eval1(&dq(0, 0, DType::F32), &[Some(&x), Some(&s), Some(&z)]);
    assert_eq!(y.to_vec::<f32>(), vec![0.0, 5.0, 60.0, 80.0]);
    // Blocks of 2 along axis 1 of a [1, 4] tensor.
    let x = Tensor::from_vec(vec![1, 4], vec![1i8, 2, 3, -4]);
    let s = Tensor::from_vec(vec![1, 2], vec![1.0f32, 10.0]);
    let y = eval1(&dq(1, 2, DType::F32), &[Some(&x), Some(&s)]);
    assert_eq!(y.to_vec::<f32>(), vec![1.0, 2.0, 30.0, -40.0]);
}

mod rnn {
    use super::*;
    use onnxc_ir::op::{RnnAttrs, RnnCell, RnnDirection};

    fn attrs(cell: RnnCell, direction: RnnDirection, batch_major: bool) -> RnnAttrs {
        RnnAttrs { cell, direction, hidden_size: 2, batch_major, clip: None, linear_before_reset: false }
    }

    fn shapes(a: RnnAttrs, tys: &[Option<TensorType>], n: usize) -> Result<Vec<TensorType>, String> {
        let infos: Vec<_> = tys.iter().map(|o| o.as_ref().map(|ty| InputInfo { ty, value: None })).collect();
        infer(&Op::Recurrent(a), &infos, n).map_err(|e| e.0)
    }

    #[test]
    fn recurrent_shapes() {
        let f = |s: &[usize]| Some(ty(DType::F32, s));
        // seq 5, batch 3, input 4, hidden 2, bidirectional LSTM.
        let a = attrs(RnnCell::Lstm, RnnDirection::Bidirectional, false);
        let out = shapes(a, &[f(&[5, 3, 4]), f(&[2, 8, 4]), f(&[2, 8, 2])], 3).unwrap();
        assert_eq!(out, vec![ty(DType::F32, &[5, 2, 3, 2]), ty(DType::F32, &[2, 3, 2]), ty(DType::F32, &[2, 3, 2])]);
        let a = attrs(RnnCell::Rnn, RnnDirection::Forward, true);
        let out = shapes(a, &[f(&[3, 5, 4]), f(&[1, 2, 4]), f(&[1, 2, 2])], 2).unwrap();
        assert_eq!(out, vec![ty(DType::F32, &[3, 5, 1, 2]), ty(DType::F32, &[3, 1, 2])]);
        let e = shapes(a, &[f(&[3, 5, 4]), f(&[1, 6, 4]), f(&[1, 2, 2])], 2).unwrap_err();
        assert!(e.contains("`W` must have shape [1, 2, 4]"), "{e}");
        let e = shapes(a, &[f(&[3, 5, 4]), f(&[1, 2, 4]), f(&[1, 2, 2])], 3).unwrap_err();
        assert!(e.contains("expected 2 outputs"), "{e}");
        let lens = Some(ty(DType::I64, &[3]));
        let e = shapes(a, &[f(&[3, 5, 4]), f(&[1, 2, 4]), f(&[1, 2, 2]), None, lens], 2).unwrap_err();
        assert!(e.contains("sequence_lens"), "{e}");
    }

    #[test]
    fn rnn_values_and_sequence_lens() {
        // hidden 1, input 1: H_t = tanh(x_t * w + H_{t-1} * r).
        let mut a = attrs(RnnCell::Rnn, RnnDirection::Forward, false);
        a.hidden_size = 1;
        let x = Tensor::from_vec(vec![2, 2, 1], vec![1.0f32, 2.0, 0.5, -1.0]);
        let w = Tensor::from_vec(vec![1, 1, 1], vec![0.5f32]);
        let r = Tensor::from_vec(vec![1, 1, 1], vec![2.0f32]);
        let lens = Tensor::from_vec(vec![2], vec![2i32, 1]);
        let ins = [Some(&x), Some(&w), Some(&r), None, Some(&lens)];
        let tys: Vec<TensorType> = shapes(a, &[Some(x.ty().clone()), Some(w.ty().clone()), Some(r.ty().clone()), None, Some(lens.ty().clone())], 2).unwrap();
        let out = eval_op(&Op::Recurrent(a), &ins, &tys).unwrap();
        let h0 = 0.5f64.tanh();
        let h1 = (0.25 + 2.0 * h0).tanh();
        let b1 = 1.0f64.tanh();
        let y = out[0].to_vec::<f32>();
        let want = [h0, b1, h1, 0.0];
        for (g, w) in y.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-6, "{y:?} vs {want:?}");
        }
        // Batch entry 1 stops after one step: its Y_h is that step's state.
        let yh = out[1].to_vec::<f32>();
        assert!((yh[0] as f64 - h1).abs() < 1e-6 && (yh[1] as f64 - b1).abs() < 1e-6, "{yh:?}");
    }
}

#[test]
fn text_form_round_trips() {
    use onnxc_ir::op::{RnnAttrs, RnnCell, RnnDirection};
    use onnxc_ir::{text, Graph};
    let mut g = Graph::new();
    let x = g.add_input("x", ty(DType::F32, &[4, 2, 3]));
    let t = g.add_input("t", ty(DType::I64, &[4, 3]));
    let s = g.add_const("s", Tensor::scalar(0.5f32));
    let l = g.add_node("l", nll(LossReduction::Mean, Some(-1)), vec![Some(x), Some(t)], &["l".into()]).unwrap();
    let qv = g.add_node("q", q(1, 0, DType::I8), vec![Some(x), Some(s)], &["q".into()]).unwrap();
    let a = RnnAttrs { cell: RnnCell::Lstm, direction: RnnDirection::Reverse, hidden_size: 2, batch_major: false, clip: Some(1.5), linear_before_reset: false };
    let w = g.add_input("w", ty(DType::F32, &[1, 8, 3]));
    let r = g.add_input("r", ty(DType::F32, &[1, 8, 2]));
    let outs: Vec<String> = ["y", "yh", "yc"].iter().map(|s| s.to_string()).collect();
    let ys = g.add_node("lstm", Op::Recurrent(a), vec![Some(x), Some(w), Some(r)], &outs).unwrap();
    g.outputs = vec![l[0], qv[0], ys[1]];
    let printed = text::print(&g);
    let back = text::parse(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
    assert_eq!(text::print(&back), printed);
}
