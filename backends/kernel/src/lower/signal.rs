//! DFT and STFT as direct O(N^2) sums with a compile-time twiddle table
//! (cos and sin of 2*pi*m/N, indexed by k*n mod N, so angles never lose
//! precision for long transforms). Windows and MelWeightMatrix depend only
//! on constant inputs: their values are computed at compile time by the
//! reference evaluator and stored.

use super::*;
use onnxc_ir::infer::{dft_plan, stft_plan};

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::Dft { .. } => dft(cx, n),
        Op::Stft { onesided } => stft(cx, n, *onesided),
        Op::Window { .. } | Op::MelWeightMatrix { .. } => constant(cx, n),
        _ => Err(cx.invalid("not a signal op")),
    }
}

/// The node's value from its constant inputs.
fn constant(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let mut args = Vec::new();
    for (k, i) in n.inputs.iter().enumerate() {
        match i {
            Some(v) => args.push(Some(cx.konst(*v).ok_or_else(|| cx.needs_constant(&format!("#{k}"), *v))?)),
            None => args.push(None),
        }
    }
    let y = cx.output(n, 0)?;
    let tys = vec![cx.ty(y).clone()];
    let out = onnxc_ir::eval::eval_op(&n.op, &args, &tys).map_err(|e| cx.invalid(e.0))?;
    let t = out.into_iter().next().ok_or_else(|| cx.invalid("no value"))?;
    cx.store_const(y, t.bytes().clone())
}

/// [cos(2*pi*m/len); sin(2*pi*m/len)] for m < len, in compute type `t`.
fn twiddles(cx: &mut Cx, len: usize, t: Scalar) -> BufRef {
    let mut bytes = Vec::with_capacity(2 * len * t.size());
    for f in [f64::cos, f64::sin] {
        for m in 0..len {
            let v = f(2.0 * std::f64::consts::PI * m as f64 / len as f64);
            if t == Scalar::F64 {
                bytes.extend_from_slice(&v.to_le_bytes());
            } else {
                bytes.extend_from_slice(&(v as f32).to_le_bytes());
            }
        }
    }
    cx.const_buf(Bytes::from(bytes))
}

fn scalar_input(cx: &Cx, n: &Node, i: usize) -> Result<Option<i64>, LowerError> {
    Ok(cx.const_ints(n, i)?.and_then(|v| v.first().copied()))
}

fn dft(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    let x = cx.input(n, 0)?;
    let d = cx.ty(x).dtype;
    if !d.is_float() {
        return Err(cx.unsupported(format!("dtype {d} (expected a float)")));
    }
    let p = dft_plan(&n.op, &cx.ty(x).shape, scalar_input(cx, n, 1)?).map_err(|e| cx.invalid(e.0))?;
    let t = compute_ty(d);
    let tw = twiddles(cx, p.len, t);
    let mut b = cx.builder("dft");
    let (px, ptw, py) = (b.input(scalar(d)), b.input(t), b.output(scalar(d)));
    let args = vec![cx.buf(x)?, tw, cx.buf(cx.output(n, 0)?)?];
    let c = if p.complex_in { 2 } else { 1 };
    let oc = if p.irfft { 1 } else { 2 };
    let sign = if p.inverse { 1.0 } else { -1.0 };
    let norm = if p.inverse { 1.0 / p.len as f64 } else { 1.0 };
    let (len, n_in, inner, n_out) = (p.len as i64, p.n_in as i64, p.inner as i64, p.n_out as i64);
    let nyquist = if p.len % 2 == 0 { len / 2 } else { -1 };
    nest(&mut b, &[p.outer, p.n_out, p.inner], true, &mut |b, iv| {
        let (o, u, i) = (&iv[0], &iv[1], &iv[2]);
        let (re, im) = (b.var(cf(t, 0.0)), b.var(cf(t, 0.0)));
        b.for_loop(0, p.terms as i64, |b, j| {
            let m = b.let_(rem(mul(u.clone(), j.clone()), ci(len)));
            let cs = load(ptw, m.clone());
            let cs = b.let_(cs);
            let sn = b.let_(mul(load(ptw, add(m, ci(len))), cf(t, sign)));
            let at = b.let_(mul(add(mul(add(mul(o.clone(), ci(n_in)), j.clone()), ci(inner)), i.clone()), ci(c)));
            let xr = load_val(b, d, px, at.clone());
            let xr = b.let_(xr);
            let xi = if c == 2 { load_val(b, d, px, add(at, ci(1))) } else { cf(t, 0.0) };
            let xi = b.let_(xi);
            let r = sub(mul(xr.clone(), cs.clone()), mul(xi.clone(), sn.clone()));
            if p.irfft {
                let w = select(or(eq(j.clone(), ci(0)), eq(j, ci(nyquist))), cf(t, 1.0), cf(t, 2.0));
                b.assign(re, add(Expr::Local(re), mul(w, r)));
            } else {
                b.assign(re, add(Expr::Local(re), r));
                b.assign(im, add(Expr::Local(im), add(mul(xr, sn), mul(xi, cs))));
            }
        });
        let at = b.let_(mul(add(mul(add(mul(o.clone(), ci(n_out)), u.clone()), ci(inner)), i.clone()), ci(oc)));
        store_val(b, d, py, at.clone(), mul(Expr::Local(re), cf(t, norm)));
        if oc == 2 {
            store_val(b, d, py, add(at, ci(1)), mul(Expr::Local(im), cf(t, norm)));
        }
    });
    cx.emit(b.finish(), args);
    Ok(())
}

fn stft(cx: &mut Cx, n: &Node, onesided: bool) -> Result<(), LowerError> {
    let x = cx.input(n, 0)?;
    let d = cx.ty(x).dtype;
    if !d.is_float() {
        return Err(cx.unsupported(format!("dtype {d} (expected a float)")));
    }
    let step = scalar_input(cx, n, 1)?.ok_or_else(|| cx.invalid("frame_step is missing"))?;
    let window = n.input(2);
    let wshape = window.map(|w| cx.ty(w).shape.clone());
    let p = stft_plan(onesided, &cx.ty(x).shape, step, wshape.as_deref(), scalar_input(cx, n, 3)?).map_err(|e| cx.invalid(e.0))?;
    let t = compute_ty(d);
    let tw = twiddles(cx, p.len, t);
    let mut b = cx.builder("stft");
    let (px, ptw) = (b.input(scalar(d)), b.input(t));
    let mut args = vec![cx.buf(x)?, tw];
    let pwin = match window {
        Some(w) => {
            args.push(cx.buf(w)?);
            Some(b.input(scalar(d)))
        }
        None => None,
    };
    let py = b.output(scalar(d));
    args.push(cx.buf(cx.output(n, 0)?)?);
    let c = if p.complex_in { 2 } else { 1 };
    let (len, sl) = (p.len as i64, p.signal_len as i64);
    // Frames never run past the signal: frames = 1 + (S - len) / step and terms <= len.
    let terms = p.window_len.min(p.len) as i64;
    nest(&mut b, &[p.batch, p.frames, p.bins], true, &mut |b, iv| {
        let (bb, f, k) = (&iv[0], &iv[1], &iv[2]);
        let (re, im) = (b.var(cf(t, 0.0)), b.var(cf(t, 0.0)));
        b.for_loop(0, terms, |b, j| {
            let m = b.let_(rem(mul(k.clone(), j.clone()), ci(len)));
            let cs = load(ptw, m.clone());
            let cs = b.let_(cs);
            let sn = b.let_(neg(load(ptw, add(m, ci(len)))));
            let s = add(mul(f.clone(), ci(p.step as i64)), j.clone());
            let at = b.let_(mul(add(mul(bb.clone(), ci(sl)), s), ci(c)));
            let w = match pwin {
                Some(pw) => load_val(b, d, pw, j.clone()),
                None => cf(t, 1.0),
            };
            let w = b.let_(w);
            let xr = load_val(b, d, px, at.clone());
            let xr = b.let_(mul(xr, w.clone()));
            let xi = if c == 2 { mul(load_val(b, d, px, add(at, ci(1))), w) } else { cf(t, 0.0) };
            let xi = b.let_(xi);
            b.assign(re, add(Expr::Local(re), sub(mul(xr.clone(), cs.clone()), mul(xi.clone(), sn.clone()))));
            b.assign(im, add(Expr::Local(im), add(mul(xr, sn), mul(xi, cs))));
        });
        let at = b.let_(mul(lin(&[bb.clone(), f.clone(), k.clone()], &[(p.frames * p.bins) as i64, p.bins as i64, 1]), ci(2)));
        store_val(b, d, py, at.clone(), Expr::Local(re));
        store_val(b, d, py, add(at, ci(1)), Expr::Local(im));
    });
    cx.emit(b.finish(), args);
    Ok(())
}
