//! RNN / GRU / LSTM with ONNX's equations (default activations: sigmoid for
//! gates, tanh otherwise), optional clip, sequence_lens (steps past a batch
//! entry's length are not run and its Y rows stay 0) and both layouts.
//! Computes in f64.

use crate::error::OpError;
use crate::infer::{gate_count, num_directions, output_count};
use crate::op::{RnnAttrs, RnnCell, RnnDirection};
use crate::op_err;
use crate::tensor::Tensor;

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// Index helpers for the layout-dependent tensors.
struct Dims {
    seq: usize,
    batch: usize,
    isz: usize,
    d: usize,
    h: usize,
    batch_major: bool,
}

impl Dims {
    fn x(&self, t: usize, b: usize) -> usize {
        if self.batch_major { (b * self.seq + t) * self.isz } else { (t * self.batch + b) * self.isz }
    }
    fn y(&self, t: usize, d: usize, b: usize) -> usize {
        if self.batch_major { ((b * self.seq + t) * self.d + d) * self.h } else { ((t * self.d + d) * self.batch + b) * self.h }
    }
    fn state(&self, d: usize, b: usize) -> usize {
        if self.batch_major { (b * self.d + d) * self.h } else { (d * self.batch + b) * self.h }
    }
}

pub(super) fn recurrent(a: &RnnAttrs, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let get = |i: usize| inputs.get(i).copied().flatten();
    let x = get(0).ok_or_else(|| op_err!("required input `X` is missing"))?;
    let w = get(1).ok_or_else(|| op_err!("required input `W` is missing"))?.to_f64_vec();
    let r = get(2).ok_or_else(|| op_err!("required input `R` is missing"))?.to_f64_vec();
    let xs = x.shape();
    if xs.len() != 3 {
        return Err(op_err!("X must have rank 3, got {xs:?}"));
    }
    let (seq, batch) = if a.batch_major { (xs[1], xs[0]) } else { (xs[0], xs[1]) };
    let dm = Dims { seq, batch, isz: xs[2], d: num_directions(a.direction), h: a.hidden_size, batch_major: a.batch_major };
    let (h, g) = (dm.h, gate_count(a.cell));
    let gh = g * h;
    let bias = get(3).map(|t| t.to_f64_vec());
    let lens = get(4).map(|t| t.to_i64_vec());
    let init_h = get(5).map(|t| t.to_f64_vec());
    let init_c = get(6).map(|t| t.to_f64_vec());
    let peep = get(7).map(|t| t.to_f64_vec());
    let xv = x.to_f64_vec();
    let mut y = vec![0.0; seq * dm.d * batch * h];
    let mut yh = vec![0.0; dm.d * batch * h];
    let mut yc = vec![0.0; dm.d * batch * h];
    let clip = |v: f64| a.clip.map_or(v, |c| v.clamp(-(c as f64), c as f64));
    for d in 0..dm.d {
        let rev = a.direction == RnnDirection::Reverse || (a.direction == RnnDirection::Bidirectional && d == 1);
        for b in 0..batch {
            let so = dm.state(d, b);
            let mut hp: Vec<f64> = init_h.as_ref().map_or(vec![0.0; h], |v| v[so..so + h].to_vec());
            let mut cp: Vec<f64> = init_c.as_ref().map_or(vec![0.0; h], |v| v[so..so + h].to_vec());
            let mut scratch = vec![0.0; h];
            let len = lens.as_ref().map_or(seq, |l| l[b].clamp(0, seq as i64) as usize);
            for s in 0..len {
                let t = if rev { len - 1 - s } else { s };
                let xo = dm.x(t, b);
                // Pre-activation of gate `gi`, unit `j`, with the recurrent term over `hv`.
                let pre = |gi: usize, j: usize, hv: &[f64], with_rb: bool| -> f64 {
                    let row = d * gh + gi * h + j;
                    let mut acc = 0.0;
                    for i in 0..dm.isz {
                        acc += xv[xo + i] * w[row * dm.isz + i];
                    }
                    for (k, hk) in hv.iter().enumerate() {
                        acc += hk * r[row * h + k];
                    }
                    if let Some(bv) = &bias {
                        acc += bv[d * 2 * gh + gi * h + j];
                        if with_rb {
                            acc += bv[d * 2 * gh + gh + gi * h + j];
                        }
                    }
                    acc
                };
                let mut hn = vec![0.0; h];
                match a.cell {
                    RnnCell::Rnn => {
                        for j in 0..h {
                            hn[j] = clip(pre(0, j, &hp, true)).tanh();
                        }
                    }
                    RnnCell::Gru => {
                        let rg: Vec<f64> = (0..h).map(|k| sigmoid(clip(pre(1, k, &hp, true)))).collect();
                        for k in 0..h {
                            scratch[k] = rg[k] * hp[k];
                        }
                        for j in 0..h {
                            let z = sigmoid(clip(pre(0, j, &hp, true)));
                            let ht = if a.linear_before_reset {
                                let row = d * gh + 2 * h + j;
                                let mut rec: f64 = (0..h).map(|k| hp[k] * r[row * h + k]).sum();
                                rec += bias.as_ref().map_or(0.0, |bv| bv[d * 2 * gh + gh + 2 * h + j]);
                                let xpart = pre(2, j, &[], false);
                                clip(xpart + rg[j] * rec).tanh()
                            } else {
                                clip(pre(2, j, &scratch, true)).tanh()
                            };
                            hn[j] = (1.0 - z) * ht + z * hp[j];
                        }
                    }
                    RnnCell::Lstm => {
                        let pv = |k: usize, j: usize| peep.as_ref().map_or(0.0, |p| p[d * 3 * h + k * h + j]);
                        for j in 0..h {
                            let i = sigmoid(clip(pre(0, j, &hp, true) + pv(0, j) * cp[j]));
                            let f = sigmoid(clip(pre(2, j, &hp, true) + pv(2, j) * cp[j]));
                            let c = clip(pre(3, j, &hp, true)).tanh();
                            let cn = f * cp[j] + i * c;
                            let o = sigmoid(clip(pre(1, j, &hp, true) + pv(1, j) * cn));
                            cp[j] = cn;
                            hn[j] = o * cn.tanh();
                        }
                    }
                }
                let yo = dm.y(t, d, b);
                y[yo..yo + h].copy_from_slice(&hn);
                hp = hn;
            }
            yh[so..so + h].copy_from_slice(&hp);
            let third = if a.cell == RnnCell::Gru { &scratch } else { &cp };
            yc[so..so + h].copy_from_slice(third);
        }
    }
    let dt = x.dtype();
    let ys = if a.batch_major { vec![batch, seq, dm.d, h] } else { vec![seq, dm.d, batch, h] };
    let ss = if a.batch_major { vec![batch, dm.d, h] } else { vec![dm.d, batch, h] };
    let mut out = vec![Tensor::from_f64(dt, ys, &y), Tensor::from_f64(dt, ss.clone(), &yh)];
    if output_count(a.cell) == 3 {
        out.push(Tensor::from_f64(dt, ss, &yc));
    }
    Ok(out)
}
