//! QuantizeLinear / DequantizeLinear: one flat loop nest over
//! `[outer, len, inner]` (see `onnxc_ir::infer::QuantLayout`), with the same
//! arithmetic as the reference evaluator (`ir/src/eval/quant.rs`).

use super::*;
use onnxc_ir::infer::{quant_layout, quant_range};

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::QuantizeLinear { axis, block_size, output_dtype } => quant(cx, n, *axis, *block_size, *output_dtype, false),
        Op::DequantizeLinear { axis, block_size, output_dtype } => quant(cx, n, *axis, *block_size, *output_dtype, true),
        _ => Err(cx.invalid("not a quantization op")),
    }
}

fn quant(cx: &mut Cx, n: &Node, axis: i64, block: usize, out: DType, dequant: bool) -> Result<(), LowerError> {
    let (x, s, y) = (cx.input(n, 0)?, cx.input(n, 1)?, cx.output(n, 0)?);
    let z = n.input(2);
    let (xd, sd) = (cx.ty(x).dtype, cx.ty(s).dtype);
    let l = quant_layout(&cx.ty(x).shape, &cx.ty(s).shape, axis, block).map_err(|e| cx.invalid(e.0))?;
    // Divide/multiply in f32 like the reference, unless f64 is involved.
    let wide = sd == DType::F64 || (if dequant { out } else { xd }) == DType::F64;
    let (t, td) = if wide { (Scalar::F64, DType::F64) } else { (Scalar::F32, DType::F32) };
    let range = match (dequant, quant_range(out)) {
        (true, _) => None,
        (false, Some(r)) => Some(r),
        (false, None) if out.is_small_float() => None,
        (false, None) => return Err(cx.unsupported(format!("quantized dtype {out}"))),
    };
    // The reference ignores float8 zero points, and float4's when dequantizing.
    let zd = z.map(|z| cx.ty(z).dtype);
    let z = z.filter(|_| if dequant { !xd.is_small_float() } else { !out.is_small_float() || out == DType::F4E2M1 });
    let mut b = cx.builder(if dequant { "dequantize" } else { "quantize" });
    let px = b.input(scalar(xd));
    let ps = b.input(scalar(sd));
    let pz = z.map(|z| b.input(scalar(cx.ty(z).dtype)));
    let py = b.output(scalar(out));
    let [s0, s1, s2] = l.strides.map(|v| v as i64);
    let (len, inner, blk) = (l.len as i64, l.inner as i64, l.block as i64);
    b.par_for(0, l.outer as i64, |b, o| {
        b.for_loop(0, len, |b, a| {
            let pa = b.let_(add(mul(o.clone(), ci(s0)), mul(div(a.clone(), ci(blk)), ci(s1))));
            let xa = b.let_(mul(add(mul(o.clone(), ci(len)), a), ci(inner)));
            b.for_loop(0, inner, |b, i| {
                let pi = b.let_(add(pa.clone(), mul(i.clone(), ci(s2))));
                let xi = b.let_(add(xa.clone(), i));
                let sv = load_val(b, sd, ps, pi.clone());
                let sv = convert(b, sv, td);
                let zv = pz.zip(zd).map(|(pz, zd)| load_val(b, zd, pz, pi));
                if !dequant && out.is_small_float() {
                    let xv = load_val(b, xd, px, xi.clone());
                    let xv = convert(b, xv, td);
                    let q = div(xv, sv);
                    let q = match zv {
                        Some(zv) => add(q, cast(t, zv)),
                        None => q,
                    };
                    let q = convert(b, q, out);
                    store_val(b, out, py, xi, q);
                } else if let Some((lo, hi)) = range {
                    let xv = load_val(b, xd, px, xi.clone());
                    let xv = convert(b, xv, td);
                    let q = cast_if(b, Scalar::F64, round_even(div(xv, sv)));
                    let q = match zv {
                        Some(zv) => add(q, cast(Scalar::F64, zv)),
                        None => q,
                    };
                    let q = min(max(q, cf(Scalar::F64, lo)), cf(Scalar::F64, hi));
                    let q = convert(b, q, out);
                    store_val(b, out, py, xi, q);
                } else {
                    let xv = load_val(b, xd, px, xi.clone());
                    let xv = cast_if(b, t, xv);
                    let dx = match zv {
                        Some(zv) => sub(xv, cast(t, zv)),
                        None => xv,
                    };
                    let v = convert(b, mul(dx, sv), out);
                    store_val(b, out, py, xi, v);
                }
            });
        });
    });
    let mut args = vec![cx.buf(x)?, cx.buf(s)?];
    if let Some(z) = z {
        args.push(cx.buf(z)?);
    }
    args.push(cx.buf(y)?);
    cx.emit(b.finish(), args);
    Ok(())
}

fn cast_if(b: &KernelBuilder, t: Scalar, v: Expr) -> Expr {
    if b.ty(&v) == t {
        v
    } else {
        cast(t, v)
    }
}
