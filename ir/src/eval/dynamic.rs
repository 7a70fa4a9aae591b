//! Reference semantics of the ops with data-dependent output extents; the
//! results have their actual shapes (the shape rules give upper bounds).

use super::util::*;
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;
use crate::tensor::Tensor;
use std::cmp::Ordering;

pub(super) fn eval(op: &Op, inputs: &[Option<&Tensor>], n_out: usize) -> Result<Vec<Tensor>, OpError> {
    match op {
        Op::NonZero => Ok(vec![nonzero(arg(inputs, 0)?)]),
        Op::Compress { axis } => Ok(vec![compress(*axis, arg(inputs, 0)?, arg(inputs, 1)?)?]),
        Op::Unique { sorted, axis } => unique(*sorted, *axis, arg(inputs, 0)?, n_out),
        Op::NonMaxSuppression { center_point_box } => Ok(vec![nms(*center_point_box, inputs)?]),
        other => Err(op_err!("{} is not a data-dependent op", other.onnx_name())),
    }
}

fn nonzero(x: &Tensor) -> Tensor {
    let v = x.to_f64_vec();
    let shape = x.shape();
    let st = strides(shape);
    let hits: Vec<usize> = (0..v.len()).filter(|&i| v[i] != 0.0).collect();
    let rank = shape.len().max(1);
    let mut out = vec![0i64; rank * hits.len()];
    for (j, &i) in hits.iter().enumerate() {
        for (d, s) in st.iter().enumerate() {
            out[d * hits.len() + j] = ((i / s) % shape[d]) as i64;
        }
    }
    Tensor::from_vec(vec![rank, hits.len()], out)
}

/// `[outer, len, inner]` around `axis` (the whole tensor as `[1, numel, 1]` without one).
fn split3(shape: &[usize], axis: Option<i64>) -> Result<(usize, usize, usize, Option<usize>), OpError> {
    match axis {
        None => Ok((1, shape.iter().product(), 1, None)),
        Some(a) => {
            let a = super::util::axis(a, shape.len())?;
            Ok((shape[..a].iter().product(), shape[a], shape[a + 1..].iter().product(), Some(a)))
        }
    }
}

fn compress(axis: Option<i64>, x: &Tensor, cond: &Tensor) -> Result<Tensor, OpError> {
    let c = cond.to_f64_vec();
    let (outer, len, inner, a) = split3(x.shape(), axis)?;
    let keep: Vec<usize> = (0..len.min(c.len())).filter(|&j| c[j] != 0.0).collect();
    let mut idx = Vec::with_capacity(outer * keep.len() * inner);
    for o in 0..outer {
        for &j in &keep {
            idx.extend((0..inner).map(|i| (o * len + j) * inner + i));
        }
    }
    let shape = match a {
        None => vec![keep.len()],
        Some(a) => {
            let mut s = x.shape().to_vec();
            s[a] = keep.len();
            s
        }
    };
    take(x, &idx, &shape)
}

fn unique(sorted: bool, axis: Option<i64>, x: &Tensor, n_out: usize) -> Result<Vec<Tensor>, OpError> {
    let v = x.to_f64_vec();
    let (outer, len, inner, a) = split3(x.shape(), axis)?;
    let slice = |j: usize| (0..outer).flat_map(move |o| (0..inner).map(move |i| (o * len + j) * inner + i));
    // Lexicographic order of slices, element order (outer, inner).
    let cmp = |p: usize, q: usize| -> Ordering {
        slice(p).zip(slice(q)).map(|(i, k)| v[i].partial_cmp(&v[k]).unwrap_or(Ordering::Equal)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
    };
    let mut firsts: Vec<usize> = Vec::new();
    let mut first_of = vec![0usize; len];
    for j in 0..len {
        match firsts.iter().find(|&&f| cmp(f, j) == Ordering::Equal) {
            Some(&f) => first_of[j] = f,
            None => {
                first_of[j] = j;
                firsts.push(j);
            }
        }
    }
    if sorted {
        firsts.sort_by(|&p, &q| cmp(p, q).then(p.cmp(&q)));
    }
    let u = firsts.len();
    let slot = |f: usize| firsts.iter().position(|&g| g == f).unwrap_or(0) as i64;
    let mut idx = Vec::with_capacity(outer * u * inner);
    for o in 0..outer {
        for &f in &firsts {
            idx.extend((0..inner).map(|i| (o * len + f) * inner + i));
        }
    }
    let y_shape = match a {
        None => vec![u],
        Some(a) => {
            let mut s = x.shape().to_vec();
            s[a] = u;
            s
        }
    };
    let counts: Vec<i64> = firsts.iter().map(|&f| first_of.iter().filter(|&&g| g == f).count() as i64).collect();
    let mut out = vec![
        take(x, &idx, &y_shape)?,
        Tensor::from_vec(vec![u], firsts.iter().map(|&f| f as i64).collect::<Vec<_>>()),
        Tensor::from_vec(vec![len], first_of.iter().map(|&f| slot(f)).collect::<Vec<_>>()),
        Tensor::from_vec(vec![u], counts),
    ];
    out.truncate(n_out.max(1));
    Ok(out)
}

/// Corner coordinates `(x_min, y_min, x_max, y_max)` of a box.
fn corners(b: &[f32], center: bool) -> (f32, f32, f32, f32) {
    if center {
        let (hw, hh) = (b[2] / 2.0, b[3] / 2.0);
        (b[0] - hw, b[1] - hh, b[0] + hw, b[1] + hh)
    } else {
        (b[1].min(b[3]), b[0].min(b[2]), b[1].max(b[3]), b[0].max(b[2]))
    }
}

/// ONNX's suppression test: IoU strictly above the threshold, in f32 as
/// the reference computes it (the threshold-boundary case depends on it).
pub(crate) fn suppresses(a: &[f32], b: &[f32], center: bool, iou: f32) -> bool {
    let (ax0, ay0, ax1, ay1) = corners(a, center);
    let (bx0, by0, bx1, by1) = corners(b, center);
    let (ix0, ix1, iy0, iy1) = (ax0.max(bx0), ax1.min(bx1), ay0.max(by0), ay1.min(by1));
    if ix1 <= ix0 || iy1 <= iy0 {
        return false;
    }
    let inter = (ix1 - ix0) * (iy1 - iy0);
    let (area_a, area_b) = ((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0));
    let union = area_a + area_b - inter;
    if inter <= 0.0 || area_a <= 0.0 || area_b <= 0.0 || union <= 0.0 {
        return false;
    }
    inter / union > iou
}

fn nms(center: bool, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let boxes = arg(inputs, 0)?;
    let scores = arg(inputs, 1)?;
    let (bv, sv) = (boxes.to_vec::<f32>(), scores.to_vec::<f32>());
    let (nb, nc, n) = match scores.shape() {
        [b, c, n] => (*b, *c, *n),
        s => return Err(op_err!("scores must be 3-D, got {s:?}")),
    };
    let max_out = opt(inputs, 2).and_then(|t| t.to_i64_vec().first().copied()).unwrap_or(0).max(0) as usize;
    let iou = opt(inputs, 3).and_then(|t| t.to_vec::<f32>().first().copied()).unwrap_or(0.0);
    let thresh = opt(inputs, 4).and_then(|t| t.to_vec::<f32>().first().copied());
    let mut out: Vec<i64> = Vec::new();
    for b in 0..nb {
        let bx = |i: usize| &bv[(b * n + i) * 4..(b * n + i) * 4 + 4];
        for c in 0..nc {
            let s = &sv[(b * nc + c) * n..(b * nc + c + 1) * n];
            let mut cand: Vec<usize> = (0..n).filter(|&i| thresh.is_none_or(|t| s[i] > t)).collect();
            // Highest score first; ties keep the lower index first.
            cand.sort_by(|&p, &q| s[q].partial_cmp(&s[p]).unwrap_or(Ordering::Equal).then(p.cmp(&q)));
            let mut sel: Vec<usize> = Vec::new();
            for i in cand {
                if sel.len() >= max_out {
                    break;
                }
                if !sel.iter().any(|&j| suppresses(bx(i), bx(j), center, iou)) {
                    sel.push(i);
                    out.extend([b as i64, c as i64, i as i64]);
                }
            }
        }
    }
    Ok(Tensor::from_vec(vec![out.len() / 3, 3], out))
}
