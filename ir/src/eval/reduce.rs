//! Reductions (all `ReduceOp` kinds) and ArgMax/ArgMin.

use super::util::{arg, axis, index_map, ints, num_dispatch, opt, strides, Data, Num};
use crate::error::OpError;
use crate::op::ReduceOp;
use crate::op_err;
use crate::tensor::Tensor;

type Out = Result<Vec<Tensor>, OpError>;
type Args<'a, 'b> = &'a [Option<&'b Tensor>];

pub(crate) fn reduce(
    op: ReduceOp,
    keepdims: bool,
    noop_with_empty_axes: bool,
    inputs: Args,
) -> Out {
    let x = arg(inputs, 0)?;
    let sh = x.shape();
    let axes_in = match opt(inputs, 1) {
        Some(t) => ints(t, "Reduce axes")?,
        None => Vec::new(),
    };
    if axes_in.is_empty() && noop_with_empty_axes {
        return Ok(vec![x.clone()]);
    }
    let mut red = vec![axes_in.is_empty(); sh.len()];
    for &a in &axes_in {
        let a = axis(a, sh.len())?;
        if std::mem::replace(&mut red[a], true) {
            return Err(op_err!("Reduce axes {axes_in:?} repeat an axis"));
        }
    }
    let kept: Vec<usize> = sh
        .iter()
        .zip(&red)
        .map(|(&d, &r)| if r { 1 } else { d })
        .collect();
    let ks = strides(&kept);
    // Output slot of every input element, in input order.
    let step: Vec<isize> = ks
        .iter()
        .zip(&red)
        .map(|(&s, &r)| if r { 0 } else { s as isize })
        .collect();
    let slot = index_map(sh, &step, 0);
    let n_out: usize = kept.iter().product();
    let count: usize = sh
        .iter()
        .zip(&red)
        .filter(|(_, &r)| r)
        .map(|(&d, _)| d)
        .product();
    let d = match (Data::of(x), op) {
        // ReduceMax/Min accept bool since opset 20: any / all.
        (Data::Bool(v), ReduceOp::Max) => Data::Bool(fold(&v, &slot, n_out, false, |a, e| a || e)),
        (Data::Bool(v), ReduceOp::Min) => Data::Bool(fold(&v, &slot, n_out, true, |a, e| a && e)),
        (d, _) => num_dispatch!(d, v => Ok(Num::wrap(reduce_t(op, &v, &slot, n_out, count))))?,
    };
    let shape: Vec<usize> = if keepdims {
        kept
    } else {
        sh.iter()
            .zip(&red)
            .filter(|(_, &r)| !r)
            .map(|(&d, _)| d)
            .collect()
    };
    Ok(vec![d.into_tensor(x.dtype(), &shape)?])
}

/// Accumulates `v[i]` into `slot[i]` with `f`, starting from `init`.
fn fold<T: Copy, A: Copy>(
    v: &[T],
    slot: &[usize],
    n: usize,
    init: A,
    f: impl Fn(A, T) -> A,
) -> Vec<A> {
    let mut acc = vec![init; n];
    for (&e, &s) in v.iter().zip(slot) {
        acc[s] = f(acc[s], e);
    }
    acc
}

fn reduce_t<T: Num>(op: ReduceOp, v: &[T], slot: &[usize], n: usize, count: usize) -> Vec<T> {
    use ReduceOp::*;
    let sum = |g: fn(T) -> T| fold(v, slot, n, T::zero(), |a, e| a.add(g(e)));
    let via_f64 =
        |acc: Vec<f64>, g: fn(f64) -> f64| acc.into_iter().map(|a| T::cast_f64(g(a))).collect();
    match op {
        Sum => sum(|e| e),
        L1 => sum(T::abs),
        SumSquare => sum(|e| e.mul(e)),
        Prod => fold(v, slot, n, T::one(), |a, e| a.mul(e)),
        Max => fold(v, slot, n, T::lowest(), |a, e| a.max_nan(e)),
        Min => fold(v, slot, n, T::highest(), |a, e| a.min_nan(e)),
        Mean => {
            let c = T::cast_i128(count as i128);
            // Integer means truncate like the reference's float mean cast back.
            sum(|e| e)
                .into_iter()
                .map(|s| if T::FLOAT || count > 0 { s.div(c) } else { s })
                .collect()
        }
        // These need float math for every input type; f64 keeps integer
        // inputs as exact as the reference's float64 numpy math.
        L2 => via_f64(
            fold(v, slot, n, 0.0, |a, e| a + e.as_f64() * e.as_f64()),
            f64::sqrt,
        ),
        LogSum => via_f64(fold(v, slot, n, 0.0, |a, e| a + e.as_f64()), f64::ln),
        LogSumExp => {
            let max = fold(v, slot, n, f64::NEG_INFINITY, |a, e| a.max(e.as_f64()));
            let nan = fold(v, slot, n, false, |a, e| a || e.is_nan());
            let mut s = vec![0.0f64; n];
            for (&e, &i) in v.iter().zip(slot) {
                s[i] += (e.as_f64() - max[i]).exp();
            }
            (0..n)
                .map(|i| {
                    // An infinite maximum would give inf - inf = NaN above.
                    let r = if max[i].is_infinite() {
                        max[i]
                    } else {
                        max[i] + s[i].ln()
                    };
                    T::cast_f64(if nan[i] { f64::NAN } else { r })
                })
                .collect()
        }
    }
}

pub(crate) fn arg_extreme(
    max: bool,
    ax: i64,
    keepdims: bool,
    select_last: bool,
    inputs: Args,
) -> Out {
    let x = arg(inputs, 0)?;
    let sh = x.shape();
    let a = axis(ax, sh.len())?;
    let (outer, d, inner) = (
        sh[..a].iter().product::<usize>(),
        sh[a],
        sh[a + 1..].iter().product::<usize>(),
    );
    if d == 0 {
        return Err(op_err!("ArgMax/ArgMin over an empty axis"));
    }
    let r: Result<Vec<i64>, OpError> = num_dispatch!(Data::of(x), v => {
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                out.push(arg_line(max, select_last, (0..d).map(|j| v[(o * d + j) * inner + i])) as i64);
            }
        }
        Ok(out)
    });
    let mut shape = sh.to_vec();
    if keepdims {
        shape[a] = 1;
    } else {
        shape.remove(a);
    }
    Ok(vec![Tensor::from_vec(shape, r?)])
}

/// Position of the extreme of a line. Like numpy, NaN counts as the
/// extreme (the first NaN, or the last with `select_last`).
fn arg_line<T: Num>(max: bool, select_last: bool, mut line: impl Iterator<Item = T>) -> usize {
    let Some(mut best) = line.next() else {
        return 0;
    };
    let mut at = 0;
    for (j, e) in line.enumerate() {
        let better = if best.is_nan() {
            select_last && e.is_nan()
        } else if e.is_nan() {
            true
        } else if max {
            e > best || (select_last && e == best)
        } else {
            e < best || (select_last && e == best)
        };
        if better {
            best = e;
            at = j + 1;
        }
    }
    at
}
