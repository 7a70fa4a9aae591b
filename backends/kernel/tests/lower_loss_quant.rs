//! Loss and quantization lowering vs the reference evaluator.
mod common;
use common::*;
use onnxc_ir::op::LossReduction;
use onnxc_ir::{DType, Op, Tensor};

fn nll_case(xs: &[usize], reduction: LossReduction, ii: Option<i64>, weight: bool, td: DType) {
    let mut g = G::new();
    let x = g.input(DType::F32, xs);
    let mut ts = vec![xs[0]];
    ts.extend_from_slice(&xs[2..]);
    let n: usize = ts.iter().product();
    // Targets in [0, C), with some set to the ignore index.
    let c = xs[1] as f64;
    let vals: Vec<f64> = rand_vals(n, 7, 0.0, c).into_iter().enumerate().map(|(i, v)| match ii {
        Some(ii) if i % 4 == 1 => ii as f64,
        _ => v.floor(),
    }).collect();
    let t = g.input_with(Tensor::from_f64(td, ts, &vals));
    let w = weight.then(|| g.input(DType::F32, &[xs[1]]));
    let y = g.node(Op::NegativeLogLikelihoodLoss { reduction, ignore_index: ii }, vec![Some(x), Some(t), w]);
    g.output(y);
    g.check();
}

#[test]
fn nll_variants() {
    for red in [LossReduction::None, LossReduction::Sum, LossReduction::Mean] {
        nll_case(&[3, 5], red, None, false, DType::I64);
        nll_case(&[3, 5, 2, 3], red, Some(-1), true, DType::I64);
        nll_case(&[2, 4, 3], red, Some(2), false, DType::I32);
        nll_case(&[2, 4, 3], red, Some(9), true, DType::I32);
    }
}

fn quant_case(xs: &[usize], ps: &[usize], axis: i64, block: usize, out: DType, zp: bool) {
    let mut g = G::new();
    let x = g.input(DType::F32, xs);
    let n: usize = ps.iter().product();
    let s = g.input_with(Tensor::from_f64(DType::F32, ps.to_vec(), &rand_vals(n, 3, 0.05, 0.5)));
    let z = zp.then(|| g.input(out, ps));
    let y = g.node(Op::QuantizeLinear { axis, block_size: block, output_dtype: out }, vec![Some(x), Some(s), z]);
    g.output(y);
    let d = g.node(Op::DequantizeLinear { axis, block_size: block, output_dtype: DType::F32 }, vec![Some(y), Some(s), z]);
    g.output(d);
    g.check();
}

#[test]
fn quantize_dequantize_variants() {
    for out in [DType::U8, DType::I8, DType::I16, DType::U16, DType::I32] {
        quant_case(&[2, 3, 4], &[], 1, 0, out, true);
        quant_case(&[2, 3, 4], &[3], 1, 0, out, true);
        quant_case(&[2, 3, 4], &[4], -1, 0, out, false);
        quant_case(&[2, 5, 4], &[2, 3, 4], 1, 2, out, true);
        quant_case(&[6, 4], &[2, 4], 0, 3, out, false);
    }
}

mod rnn {
    use super::common::*;
    use onnxc_ir::infer::{gate_count, num_directions, output_count};
    use onnxc_ir::op::{RnnAttrs, RnnCell, RnnDirection};
    use onnxc_ir::{DType, Op, Tensor};

    /// Builds one recurrent node with every optional input and checks all outputs.
    fn case(a: RnnAttrs, seq: usize, batch: usize, isz: usize, optional: bool) {
        let (d, h, g) = (num_directions(a.direction), a.hidden_size, gate_count(a.cell));
        let mut gr = G::new();
        let xs = if a.batch_major { [batch, seq, isz] } else { [seq, batch, isz] };
        let x = gr.input(DType::F32, &xs);
        let w = gr.input(DType::F32, &[d, g * h, isz]);
        let r = gr.input(DType::F32, &[d, g * h, h]);
        let mut ins = vec![Some(x), Some(w), Some(r)];
        if optional {
            let state = if a.batch_major { [batch, d, h] } else { [d, batch, h] };
            ins.push(Some(gr.input(DType::F32, &[d, 2 * g * h])));
            let lens: Vec<i32> = (0..batch).map(|b| (seq - b % (seq + 1)) as i32).collect();
            ins.push(Some(gr.input_with(Tensor::from_vec(vec![batch], lens))));
            ins.push(Some(gr.input(DType::F32, &state)));
            if a.cell == RnnCell::Lstm {
                ins.push(Some(gr.input(DType::F32, &state)));
                ins.push(Some(gr.input(DType::F32, &[d, 3 * h])));
            }
        }
        let outs = gr.node_n(Op::Recurrent(a), ins, output_count(a.cell));
        for o in outs {
            gr.output(o);
        }
        gr.check();
    }

    fn attrs(cell: RnnCell, direction: RnnDirection, batch_major: bool) -> RnnAttrs {
        RnnAttrs { cell, direction, hidden_size: 3, batch_major, clip: None, linear_before_reset: false }
    }

    #[test]
    fn cells_directions_layouts() {
        for cell in [RnnCell::Rnn, RnnCell::Gru, RnnCell::Lstm] {
            for dir in [RnnDirection::Forward, RnnDirection::Reverse, RnnDirection::Bidirectional] {
                for bm in [false, true] {
                    case(attrs(cell, dir, bm), 4, 3, 2, false);
                    case(attrs(cell, dir, bm), 4, 3, 2, true);
                }
            }
        }
    }

    #[test]
    fn clip_and_linear_before_reset() {
        let mut a = attrs(RnnCell::Gru, RnnDirection::Bidirectional, false);
        a.linear_before_reset = true;
        case(a, 3, 2, 4, true);
        a.clip = Some(0.5);
        case(a, 3, 2, 4, true);
        let mut a = attrs(RnnCell::Lstm, RnnDirection::Forward, true);
        a.clip = Some(0.3);
        case(a, 3, 2, 4, true);
    }
}
