//! RNN / GRU / LSTM: one kernel, parallel over (direction, batch entry),
//! with a serial loop over time steps. The hidden state lives in the Y_h
//! output (the step's new state goes to its Y row, then is copied back),
//! LSTM's cell state in Y_c (updated in place: each unit only reads its own
//! previous cell value), and GRU's `r ⊙ H_{t-1}` in the third output. Same
//! equations as `ir/src/eval/rnn.rs`.

use super::*;
use onnxc_ir::infer::{gate_count, num_directions};
use onnxc_ir::op::{RnnAttrs, RnnCell, RnnDirection};

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::Recurrent(a) => recurrent(cx, n, a),
        _ => Err(cx.invalid("not a recurrent op")),
    }
}

/// Kernel parameters and sizes shared by the step helpers.
struct K {
    dt: DType,
    t: Scalar,
    isz: i64,
    h: i64,
    gh: i64,
    clip: Option<f32>,
    px: ParamId,
    pw: ParamId,
    pr: ParamId,
    pb: Option<ParamId>,
}

/// Which parts a gate pre-activation sums.
struct Pre<'a> {
    gate: i64,
    x: bool,
    hsrc: Option<(ParamId, &'a Expr)>,
    wb: bool,
    rb: bool,
}

impl K {
    fn ld(&self, b: &mut KernelBuilder, p: ParamId, i: Expr) -> Expr {
        let v = load_val(b, self.dt, p, i);
        b.let_(v)
    }

    /// Unclipped pre-activation of gate `p.gate`, unit `j`, direction `d`, input row at `xo`.
    fn pre(&self, b: &mut KernelBuilder, p: Pre, d: &Expr, j: &Expr, xo: &Expr) -> Expr {
        let row = b.let_(add(add(mul(d.clone(), ci(self.gh)), ci(p.gate * self.h)), j.clone()));
        let mut init = cf(self.t, 0.0);
        if let Some(pb) = self.pb {
            let base = b.let_(add(mul(d.clone(), ci(2 * self.gh)), sub(row.clone(), mul(d.clone(), ci(self.gh)))));
            if p.wb {
                init = add(init, self.ld(b, pb, base.clone()));
            }
            if p.rb {
                init = add(init, self.ld(b, pb, add(base, ci(self.gh))));
            }
        }
        let acc = b.var(init);
        if p.x {
            b.for_loop(0, self.isz, |b, i| {
                let xv = self.ld(b, self.px, add(xo.clone(), i.clone()));
                let wv = self.ld(b, self.pw, add(mul(row.clone(), ci(self.isz)), i));
                b.assign(acc, add(Expr::Local(acc), mul(xv, wv)));
            });
        }
        if let Some((hb, base)) = p.hsrc {
            b.for_loop(0, self.h, |b, k| {
                let hv = self.ld(b, hb, add(base.clone(), k.clone()));
                let rv = self.ld(b, self.pr, add(mul(row.clone(), ci(self.h)), k));
                b.assign(acc, add(Expr::Local(acc), mul(hv, rv)));
            });
        }
        Expr::Local(acc)
    }

    fn clip(&self, b: &mut KernelBuilder, v: Expr) -> Expr {
        let v = match self.clip {
            Some(c) => min(max(v, cf(self.t, -(c as f64))), cf(self.t, c as f64)),
            None => v,
        };
        b.let_(v)
    }

    fn sig(&self, b: &mut KernelBuilder, v: Expr) -> Expr {
        let v = self.clip(b, v);
        let s = math::sigmoid(b, v);
        b.let_(s)
    }

    fn tanh(&self, b: &mut KernelBuilder, v: Expr) -> Expr {
        let v = self.clip(b, v);
        let s = math::tanh(b, v);
        b.let_(s)
    }
}

fn recurrent(cx: &mut Cx, n: &Node, a: &RnnAttrs) -> Result<(), LowerError> {
    let (x, w, r) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.input(n, 2)?);
    let lstm = a.cell == RnnCell::Lstm;
    let opt = |i: usize| n.input(i);
    let (bias, lens, ih) = (opt(3), opt(4), opt(5));
    let (ic, peep) = if lstm { (opt(6), opt(7)) } else { (None, None) };
    let (y, yh) = (cx.output(n, 0)?, cx.output(n, 1)?);
    let yc = n.outputs.get(2).copied();
    let dt = cx.ty(x).dtype;
    let xs = cx.ty(x).shape.clone();
    if !dt.is_float() || xs.len() != 3 || (a.cell != RnnCell::Rnn && yc.is_none()) {
        return Err(cx.invalid(format!("bad X {} or output count {}", cx.ty(x), n.outputs.len())));
    }
    let (seq, batch) = if a.batch_major { (xs[1] as i64, xs[0] as i64) } else { (xs[0] as i64, xs[1] as i64) };
    let (nd, h) = (num_directions(a.direction) as i64, a.hidden_size as i64);
    let mut b = cx.builder("rnn");
    let st = scalar(dt);
    let (px, pw, pr) = (b.input(st), b.input(st), b.input(st));
    let pb = bias.map(|_| b.input(st));
    let pl = lens.map(|_| b.input(Scalar::I32));
    let pih = ih.map(|_| b.input(st));
    let pic = ic.map(|_| b.input(st));
    let pp = peep.map(|_| b.input(st));
    let (py, pyh) = (b.output(st), b.output(st));
    let pyc = yc.map(|_| b.output(st));
    let k = K { dt, t: compute_ty(dt), isz: xs[2] as i64, h, gh: gate_count(a.cell) as i64 * h, clip: a.clip, px, pw, pr, pb };
    let bm = a.batch_major;
    let x_at = move |t: Expr, bb: Expr| if bm { mul(add(mul(bb, ci(seq)), t), ci(k.isz)) } else { mul(add(mul(t, ci(batch)), bb), ci(k.isz)) };
    let y_at = move |t: Expr, d: Expr, bb: Expr| {
        if bm { mul(add(mul(add(mul(bb, ci(seq)), t), ci(nd)), d), ci(h)) } else { mul(add(mul(add(mul(t, ci(nd)), d), ci(batch)), bb), ci(h)) }
    };
    let s_at = move |d: Expr, bb: Expr| if bm { mul(add(mul(bb, ci(nd)), d), ci(h)) } else { mul(add(mul(d, ci(batch)), bb), ci(h)) };
    b.par_for(0, nd * batch, |b, db| {
        let d = b.let_(div(db.clone(), ci(batch)));
        let bb = b.let_(rem(db, ci(batch)));
        let so = b.let_(s_at(d.clone(), bb.clone()));
        let y_row = |t: Expr| y_at(t, d.clone(), bb.clone());
        init_state(b, &k, seq, &so, &y_row, [py, pyh], [pih, pyc, pic]);
        let len = match pl {
            Some(pl) => min(max(cast(Scalar::I64, load(pl, bb.clone())), ci(0)), ci(seq)),
            None => ci(seq),
        };
        let len = b.let_(len);
        let rev = match a.direction {
            RnnDirection::Forward => cbool(false),
            RnnDirection::Reverse => cbool(true),
            RnnDirection::Bidirectional => eq(d.clone(), ci(1)),
        };
        let rev = b.let_(rev);
        b.for_loop(0, len.clone(), |b, s| {
            let t = b.let_(select(rev.clone(), sub(sub(len.clone(), ci(1)), s.clone()), s));
            let xo = b.let_(x_at(t.clone(), bb.clone()));
            let yo = b.let_(y_at(t, d.clone(), bb.clone()));
            let c = StepCx { k: &k, d: &d, xo: &xo, yo: &yo, so: &so, py, pyh, pyc, pp };
            match a.cell {
                RnnCell::Rnn => rnn_step(b, &c),
                RnnCell::Gru => gru_step(b, &c, a.linear_before_reset),
                RnnCell::Lstm => lstm_step(b, &c),
            }
            // The new state becomes the current one.
            b.for_loop(0, h, |b, j| {
                let v = load(py, add(yo.clone(), j.clone()));
                b.store(pyh, add(so.clone(), j), v);
            });
        });
    });
    let mut args = vec![cx.buf(x)?, cx.buf(w)?, cx.buf(r)?];
    for v in [bias, lens, ih, ic, peep].into_iter().flatten() {
        args.push(cx.buf(v)?);
    }
    args.push(cx.buf(y)?);
    args.push(cx.buf(yh)?);
    if let Some(v) = yc {
        args.push(cx.buf(v)?);
    }
    cx.emit(b.finish(), args);
    Ok(())
}

/// Sets Y_h (and the third state output) to the initial state or 0 and
/// zeroes this (direction, batch entry)'s Y rows, which steps past its
/// sequence length never write.
fn init_state(b: &mut KernelBuilder, k: &K, seq: i64, so: &Expr, y_row: &dyn Fn(Expr) -> Expr, out: [ParamId; 2], st: [Option<ParamId>; 3]) {
    let ([py, pyh], [pih, pyc, pic]) = (out, st);
    let zero = cf(k.t, 0.0);
    b.for_loop(0, k.h, |b, j| {
        let i = b.let_(add(so.clone(), j));
        let v = match pih { Some(p) => load(p, i.clone()), None => to_storage(b, k.dt, zero.clone()) };
        b.store(pyh, i.clone(), v);
        if let Some(pyc) = pyc {
            let v = match pic { Some(p) => load(p, i.clone()), None => to_storage(b, k.dt, zero.clone()) };
            b.store(pyc, i, v);
        }
    });
    b.for_loop(0, seq, |b, t| {
        let yo = b.let_(y_row(t));
        b.for_loop(0, k.h, |b, j| {
            let z = to_storage(b, k.dt, zero.clone());
            b.store(py, add(yo.clone(), j), z)
        });
    });
}

/// Per-step context: Y row `yo` receives the new state, `so` indexes Y_h/Y_c.
struct StepCx<'a> {
    k: &'a K,
    d: &'a Expr,
    xo: &'a Expr,
    yo: &'a Expr,
    so: &'a Expr,
    py: ParamId,
    pyh: ParamId,
    pyc: Option<ParamId>,
    pp: Option<ParamId>,
}

fn full(gate: i64, hsrc: (ParamId, &Expr)) -> Pre<'_> {
    Pre { gate, x: true, hsrc: Some(hsrc), wb: true, rb: true }
}

fn rnn_step(b: &mut KernelBuilder, c: &StepCx) {
    let k = c.k;
    b.for_loop(0, k.h, |b, j| {
        let p = k.pre(b, full(0, (c.pyh, c.so)), c.d, &j, c.xo);
        let hn = k.tanh(b, p);
        store_val(b, k.dt, c.py, add(c.yo.clone(), j), hn);
    });
}

fn gru_step(b: &mut KernelBuilder, c: &StepCx, linear_before_reset: bool) {
    let k = c.k;
    let Some(ps) = c.pyc else { return };
    b.for_loop(0, k.h, |b, j| {
        let p = k.pre(b, full(1, (c.pyh, c.so)), c.d, &j, c.xo);
        let rg = k.sig(b, p);
        let i = b.let_(add(c.so.clone(), j));
        let hp = k.ld(b, c.pyh, i.clone());
        store_val(b, k.dt, ps, i, mul(rg, hp));
    });
    b.for_loop(0, k.h, |b, j| {
        let p = k.pre(b, full(0, (c.pyh, c.so)), c.d, &j, c.xo);
        let z = k.sig(b, p);
        let ht = if linear_before_reset {
            let p = k.pre(b, full(1, (c.pyh, c.so)), c.d, &j, c.xo);
            let rg = k.sig(b, p);
            let rec = k.pre(b, Pre { gate: 2, x: false, hsrc: Some((c.pyh, c.so)), wb: false, rb: true }, c.d, &j, c.xo);
            let xp = k.pre(b, Pre { gate: 2, x: true, hsrc: None, wb: true, rb: false }, c.d, &j, c.xo);
            k.tanh(b, add(xp, mul(rg, rec)))
        } else {
            let p = k.pre(b, full(2, (ps, c.so)), c.d, &j, c.xo);
            k.tanh(b, p)
        };
        let hp = k.ld(b, c.pyh, add(c.so.clone(), j.clone()));
        let hn = add(mul(sub(cf(k.t, 1.0), z.clone()), ht), mul(z, hp));
        store_val(b, k.dt, c.py, add(c.yo.clone(), j), hn);
    });
}

fn lstm_step(b: &mut KernelBuilder, c: &StepCx) {
    let k = c.k;
    let Some(pc) = c.pyc else { return };
    b.for_loop(0, k.h, |b, j| {
        let ci_ = b.let_(add(c.so.clone(), j.clone()));
        let cp = k.ld(b, pc, ci_.clone());
        // Peephole weights are [P_i, P_o, P_f] per direction.
        let peep = |b: &mut KernelBuilder, g: i64, v: Expr| -> Expr {
            match c.pp {
                Some(pp) => {
                    let pv = k.ld(b, pp, add(add(mul(c.d.clone(), ci(3 * k.h)), ci(g * k.h)), j.clone()));
                    mul(pv, v)
                }
                None => cf(k.t, 0.0),
            }
        };
        let p = k.pre(b, full(0, (c.pyh, c.so)), c.d, &j, c.xo);
        let pi = peep(b, 0, cp.clone());
        let i = k.sig(b, add(p, pi));
        let p = k.pre(b, full(2, (c.pyh, c.so)), c.d, &j, c.xo);
        let pf = peep(b, 2, cp.clone());
        let f = k.sig(b, add(p, pf));
        let p = k.pre(b, full(3, (c.pyh, c.so)), c.d, &j, c.xo);
        let g = k.tanh(b, p);
        let cn = b.let_(add(mul(f, cp), mul(i, g)));
        let p = k.pre(b, full(1, (c.pyh, c.so)), c.d, &j, c.xo);
        let po = peep(b, 1, cn.clone());
        let o = k.sig(b, add(p, po));
        store_val(b, k.dt, pc, ci_, cn.clone());
        let th = math::tanh(b, cn);
        store_val(b, k.dt, c.py, add(c.yo.clone(), j), mul(o, th));
    });
}
