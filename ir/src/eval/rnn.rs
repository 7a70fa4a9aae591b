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

/// Weights of one op and the gate arithmetic of one step.
struct Cell<'a> {
    a: &'a RnnAttrs,
    isz: usize,
    w: &'a [f64],
    r: &'a [f64],
    bias: Option<&'a [f64]>,
    peep: Option<&'a [f64]>,
}

impl Cell<'_> {
    fn clip(&self, v: f64) -> f64 {
        self.a.clip.map_or(v, |c| v.clamp(-(c as f64), c as f64))
    }

    /// Pre-activation of gate `gi`, unit `j` of direction `d`: `x·W + hv·R`
    /// plus the input bias and (`rb`) the recurrent bias.
    fn pre(&self, d: usize, gi: usize, j: usize, x: &[f64], hv: &[f64], rb: bool) -> f64 {
        let (h, gh) = (self.a.hidden_size, gate_count(self.a.cell) * self.a.hidden_size);
        let row = d * gh + gi * h + j;
        let mut acc: f64 = x.iter().zip(&self.w[row * self.isz..]).map(|(a, b)| a * b).sum();
        acc += hv.iter().zip(&self.r[row * h..]).map(|(a, b)| a * b).sum::<f64>();
        if let Some(bv) = self.bias {
            acc += bv[d * 2 * gh + gi * h + j];
            if rb {
                acc += bv[d * 2 * gh + gh + gi * h + j];
            }
        }
        acc
    }

    /// One time step: the new hidden state from input row `x` and the
    /// previous state `hp`; updates the cell state `cp` (LSTM) or the
    /// scratch `r ⊙ H_{t-1}` (GRU).
    fn step(&self, d: usize, x: &[f64], hp: &[f64], cp: &mut [f64], scratch: &mut [f64]) -> Vec<f64> {
        let h = self.a.hidden_size;
        let none: &[f64] = &[];
        match self.a.cell {
            RnnCell::Rnn => (0..h).map(|j| self.clip(self.pre(d, 0, j, x, hp, true)).tanh()).collect(),
            RnnCell::Gru => {
                let rg: Vec<f64> = (0..h).map(|k| sigmoid(self.clip(self.pre(d, 1, k, x, hp, true)))).collect();
                for k in 0..h {
                    scratch[k] = rg[k] * hp[k];
                }
                (0..h)
                    .map(|j| {
                        let z = sigmoid(self.clip(self.pre(d, 0, j, x, hp, true)));
                        let ht = if self.a.linear_before_reset {
                            // R_h·H_{t-1} + Rb_h: the full recurrent term minus the input bias Wb_h.
                            let rec = self.pre(d, 2, j, none, hp, true) - self.pre(d, 2, j, none, none, false);
                            self.clip(self.pre(d, 2, j, x, none, false) + rg[j] * rec).tanh()
                        } else {
                            self.clip(self.pre(d, 2, j, x, scratch, true)).tanh()
                        };
                        (1.0 - z) * ht + z * hp[j]
                    })
                    .collect()
            }
            RnnCell::Lstm => {
                let pv = |k: usize, j: usize| self.peep.map_or(0.0, |p| p[d * 3 * h + k * h + j]);
                (0..h)
                    .map(|j| {
                        let i = sigmoid(self.clip(self.pre(d, 0, j, x, hp, true) + pv(0, j) * cp[j]));
                        let f = sigmoid(self.clip(self.pre(d, 2, j, x, hp, true) + pv(2, j) * cp[j]));
                        let c = self.clip(self.pre(d, 3, j, x, hp, true)).tanh();
                        let cn = f * cp[j] + i * c;
                        let o = sigmoid(self.clip(self.pre(d, 1, j, x, hp, true) + pv(1, j) * cn));
                        cp[j] = cn;
                        o * cn.tanh()
                    })
                    .collect()
            }
        }
    }
}

pub(super) fn recurrent(a: &RnnAttrs, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let get = |i: usize| inputs.get(i).copied().flatten();
    let req = |i: usize, name: &str| get(i).ok_or_else(|| op_err!("required input `{name}` is missing"));
    let x = req(0, "X")?;
    let (w, r) = (req(1, "W")?.to_f64_vec(), req(2, "R")?.to_f64_vec());
    let xs = x.shape();
    if xs.len() != 3 {
        return Err(op_err!("X must have rank 3, got {xs:?}"));
    }
    let (seq, batch) = if a.batch_major { (xs[1], xs[0]) } else { (xs[0], xs[1]) };
    let dm = Dims { seq, batch, isz: xs[2], d: num_directions(a.direction), h: a.hidden_size, batch_major: a.batch_major };
    let h = dm.h;
    let opt_vec = |i: usize| get(i).map(|t| t.to_f64_vec());
    let (bias, init_h, init_c, peep) = (opt_vec(3), opt_vec(5), opt_vec(6), opt_vec(7));
    let lens = get(4).map(|t| t.to_i64_vec());
    // The shape rule has checked all this; re-checking keeps direct calls from panicking.
    let gh = gate_count(a.cell) * h;
    let sizes = [
        (Some(w.len()), dm.d * gh * dm.isz, "W"),
        (Some(r.len()), dm.d * gh * h, "R"),
        (bias.as_ref().map(Vec::len), dm.d * 2 * gh, "B"),
        (lens.as_ref().map(Vec::len), batch, "sequence_lens"),
        (init_h.as_ref().map(Vec::len), dm.d * batch * h, "initial_h"),
        (init_c.as_ref().map(Vec::len), dm.d * batch * h, "initial_c"),
        (peep.as_ref().map(Vec::len), dm.d * 3 * h, "P"),
    ];
    for (got, want, name) in sizes {
        if got.is_some_and(|g| g != want) {
            return Err(op_err!("input `{name}` has {} elements, want {want}", got.unwrap_or(0)));
        }
    }
    let cell = Cell { a, isz: dm.isz, w: &w, r: &r, bias: bias.as_deref(), peep: peep.as_deref() };
    let xv = x.to_f64_vec();
    let mut y = vec![0.0; seq * dm.d * batch * h];
    let mut yh = vec![0.0; dm.d * batch * h];
    let mut yc = vec![0.0; dm.d * batch * h];
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
                hp = cell.step(d, &xv[xo..xo + dm.isz], &hp, &mut cp, &mut scratch);
                let yo = dm.y(t, d, b);
                y[yo..yo + h].copy_from_slice(&hp);
            }
            yh[so..so + h].copy_from_slice(&hp);
            yc[so..so + h].copy_from_slice(if a.cell == RnnCell::Gru { &scratch } else { &cp });
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
