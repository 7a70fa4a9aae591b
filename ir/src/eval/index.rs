//! Reference semantics of the index family (see `infer/index.rs`). Data
//! movement is done on element bytes (`take`), so every dtype works; the
//! scatter reductions, cumulative ops and TopK compare or combine typed values.

use super::util::*;
use crate::dtype::DType;
use crate::error::OpError;
use crate::op::{Op, ScatterReduction};
use crate::op_err;
use crate::tensor::Tensor;

pub(super) fn eval(
    op: &Op,
    inputs: &[Option<&Tensor>],
    _n_out: usize,
) -> Result<Vec<Tensor>, OpError> {
    let one = |t: Tensor| Ok(vec![t]);
    match op {
        Op::GatherElements { axis } => one(gather_elements(*axis, inputs)?),
        Op::GatherND { batch_dims } => one(gather_nd(*batch_dims, inputs)?),
        Op::ScatterElements { axis, reduction } => {
            one(scatter_elements(*axis, *reduction, inputs)?)
        }
        Op::ScatterND { reduction } => one(scatter_nd(*reduction, inputs)?),
        Op::Trilu { upper } => one(trilu(*upper, inputs)?),
        Op::CumSum { exclusive, reverse } => one(cumulative(false, *exclusive, *reverse, inputs)?),
        Op::CumProd { exclusive, reverse } => one(cumulative(true, *exclusive, *reverse, inputs)?),
        Op::TopK {
            axis,
            largest,
            sorted: _,
        } => top_k(*axis, *largest, inputs),
        Op::OneHot { axis } => one(one_hot(*axis, inputs)?),
        Op::EyeLike { k, dtype } => {
            let x = arg(inputs, 0)?;
            let (r, c) = match x.shape() {
                [r, c] => (*r, *c),
                s => return Err(op_err!("EyeLike needs a 2-D input, got {s:?}")),
            };
            let v: Vec<f64> = (0..r * c)
                .map(|i| ((i % c) as i64 - (i / c) as i64 == *k) as u8 as f64)
                .collect();
            one(Tensor::from_f64(*dtype, vec![r, c], &v))
        }
        Op::ReverseSequence {
            batch_axis,
            time_axis,
        } => one(reverse_sequence(*batch_axis, *time_axis, inputs)?),
        Op::DepthToSpace { blocksize, crd } => {
            let x = arg(inputs, 0)?;
            let (idx, shape) = depth_to_space_map(x.shape(), *blocksize, *crd)?;
            one(take(x, &idx, &shape)?)
        }
        Op::SpaceToDepth { blocksize, crd } => {
            let x = arg(inputs, 0)?;
            let (idx, shape) = space_to_depth_map(x.shape(), *blocksize, *crd)?;
            one(take(x, &idx, &shape)?)
        }
        Op::Einsum { equation } => one(einsum(equation, inputs)?),
        other => Err(op_err!("{} is not an index-family op", other.onnx_name())),
    }
}

/// Normalizes an index against `dim` (negative counts from the end).
fn wrap_index(v: i64, dim: usize) -> Result<usize, OpError> {
    let w = if v < 0 { v + dim as i64 } else { v };
    if w < 0 || w >= dim as i64 {
        return Err(op_err!("index {v} out of range for a dimension of {dim}"));
    }
    Ok(w as usize)
}

/// Row-major coordinates of flat index `i` in `shape`.
fn coords(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut c = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        if shape[d] > 0 {
            c[d] = i % shape[d];
            i /= shape[d];
        }
    }
    c
}

/// For each element of `indices`, the flat position in `data` it addresses
/// along `axis` (GatherElements and ScatterElements).
fn element_positions(data: &[usize], axis: usize, ind: &Tensor) -> Result<Vec<usize>, OpError> {
    let st = strides(data);
    let iv = ints(ind, "indices")?;
    let mut out = Vec::with_capacity(iv.len());
    for (n, &v) in iv.iter().enumerate() {
        let c = coords(n, ind.shape());
        let mut p = 0;
        for d in 0..data.len() {
            let cd = if d == axis {
                wrap_index(v, data[d])?
            } else {
                c[d]
            };
            if cd >= data[d] {
                return Err(op_err!(
                    "indices shape {:?} exceeds data {data:?}",
                    ind.shape()
                ));
            }
            p += cd * st[d];
        }
        out.push(p);
    }
    Ok(out)
}

fn gather_elements(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let (x, ind) = (arg(inputs, 0)?, arg(inputs, 1)?);
    let a = super::util::axis(axis, x.shape().len())?;
    let pos = element_positions(x.shape(), a, ind)?;
    take(x, &pos, ind.shape())
}

/// For each index tuple of `indices` (last dim `k`), the flat offset of the
/// addressed slice of `data` and the slice length (GatherND and ScatterND).
fn nd_offsets(data: &[usize], b: usize, ind: &Tensor) -> Result<(Vec<usize>, usize), OpError> {
    let is = ind.shape();
    let k = *is
        .last()
        .ok_or_else(|| op_err!("indices must have rank >= 1"))?;
    let st = strides(data);
    let slice: usize = data[b + k..].iter().product();
    let iv = ints(ind, "indices")?;
    let per_batch: usize = is[b..is.len() - 1].iter().product();
    let mut out = Vec::new();
    for (t, tuple) in iv.chunks(k.max(1)).enumerate() {
        let batch = t.checked_div(per_batch).unwrap_or(0);
        let mut off = 0;
        let bc = coords(batch, &data[..b]);
        for d in 0..b {
            off += bc[d] * st[d];
        }
        for (j, &v) in tuple.iter().enumerate() {
            off += wrap_index(v, data[b + j])? * st[b + j];
        }
        out.push(off);
    }
    Ok((out, slice))
}

fn gather_nd(b: usize, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let (x, ind) = (arg(inputs, 0)?, arg(inputs, 1)?);
    let (offs, slice) = nd_offsets(x.shape(), b, ind)?;
    let idx: Vec<usize> = offs.iter().flat_map(|&o| o..o + slice).collect();
    let is = ind.shape();
    let k = is[is.len() - 1];
    let mut shape = is[..is.len() - 1].to_vec();
    shape.extend_from_slice(&x.shape()[b + k..]);
    take(x, &idx, &shape)
}

fn combine<T: Num>(red: ScatterReduction, old: T, new: T) -> T {
    match red {
        ScatterReduction::None => new,
        ScatterReduction::Add => old.add(new),
        ScatterReduction::Mul => old.mul(new),
        ScatterReduction::Max => old.max_nan(new),
        ScatterReduction::Min => old.min_nan(new),
    }
}

/// Copies `data` and applies `updates[i]` at `pos[i]`, in order.
fn scatter(
    data: &Tensor,
    pos: &[usize],
    updates: &Tensor,
    red: ScatterReduction,
) -> Result<Tensor, OpError> {
    if data.dtype() == DType::Bool || red == ScatterReduction::None {
        // Plain replacement is a byte copy, valid for every dtype.
        let w = data.dtype().size();
        let mut out = data.bytes().to_vec();
        let ub = updates.bytes();
        for (i, &p) in pos.iter().enumerate() {
            out[p * w..(p + 1) * w].copy_from_slice(&ub[i * w..(i + 1) * w]);
        }
        if red != ScatterReduction::None {
            return Err(op_err!("reduction {red:?} is not defined for bool"));
        }
        return tensor_from_bytes(data.dtype(), data.shape(), out);
    }
    let d = num_dispatch2!(Data::of(data), Data::of(updates), dv, uv => {
        let mut dv = dv;
        for (i, &p) in pos.iter().enumerate() {
            dv[p] = combine(red, dv[p], uv[i]);
        }
        Ok(Num::wrap(dv))
    })?;
    d.into_tensor(data.dtype(), data.shape())
}

fn scatter_elements(
    axis: i64,
    red: ScatterReduction,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, OpError> {
    let (x, ind, upd) = (arg(inputs, 0)?, arg(inputs, 1)?, arg(inputs, 2)?);
    let a = super::util::axis(axis, x.shape().len())?;
    let pos = element_positions(x.shape(), a, ind)?;
    scatter(x, &pos, upd, red)
}

fn scatter_nd(red: ScatterReduction, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let (x, ind, upd) = (arg(inputs, 0)?, arg(inputs, 1)?, arg(inputs, 2)?);
    let (offs, slice) = nd_offsets(x.shape(), 0, ind)?;
    let pos: Vec<usize> = offs.iter().flat_map(|&o| o..o + slice).collect();
    scatter(x, &pos, upd, red)
}

fn trilu(upper: bool, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let x = arg(inputs, 0)?;
    let k = match opt(inputs, 1) {
        Some(t) => *ints(t, "k")?.first().ok_or_else(|| op_err!("k is empty"))?,
        None => 0,
    };
    let s = x.shape();
    let (r, c) = (s[s.len() - 2], s[s.len() - 1]);
    let w = x.dtype().size();
    let mut out = x.bytes().to_vec();
    for e in 0..x.numel() {
        let (i, j) = ((e / c.max(1)) % r.max(1), e % c.max(1));
        let diff = j as i64 - i as i64;
        let keep = if upper { diff >= k } else { diff <= k };
        if !keep {
            out[e * w..(e + 1) * w].fill(0);
        }
    }
    tensor_from_bytes(x.dtype(), s, out)
}

fn cumulative(
    prod: bool,
    exclusive: bool,
    reverse: bool,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, OpError> {
    let x = arg(inputs, 0)?;
    let ax = *ints(arg(inputs, 1)?, "axis")?
        .first()
        .ok_or_else(|| op_err!("axis is empty"))?;
    let a = super::util::axis(ax, x.shape().len())?;
    let s = x.shape();
    let (n, inner) = (s[a], s[a + 1..].iter().product::<usize>());
    let outer: usize = s[..a].iter().product();
    fn run<T: Num>(
        v: &[T],
        prod: bool,
        ex: bool,
        rev: bool,
        o: usize,
        n: usize,
        inner: usize,
    ) -> Vec<T> {
        let mut out = vec![T::zero(); v.len()];
        for b in 0..o {
            for t in 0..inner {
                let mut acc = if prod { T::one() } else { T::zero() };
                for step in 0..n {
                    let j = if rev { n - 1 - step } else { step };
                    let p = (b * n + j) * inner + t;
                    let next = if prod { acc.mul(v[p]) } else { acc.add(v[p]) };
                    out[p] = if ex { acc } else { next };
                    acc = next;
                }
            }
        }
        out
    }
    let d = num_dispatch!(Data::of(x), v => Ok(Num::wrap(run(&v, prod, exclusive, reverse, outer, n, inner))))?;
    d.into_tensor(x.dtype(), s)
}

/// Indices of the top `k` of `v` (stable: equal values keep index order).
fn top_indices<T: Num>(v: &[T], k: usize, largest: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| {
        let o = v[a].partial_cmp(&v[b]).unwrap_or(std::cmp::Ordering::Equal);
        let o = if largest { o.reverse() } else { o };
        o.then(a.cmp(&b))
    });
    idx.truncate(k);
    idx
}

fn top_k(axis: i64, largest: bool, inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, OpError> {
    let x = arg(inputs, 0)?;
    let k = *ints(arg(inputs, 1)?, "K")?
        .first()
        .ok_or_else(|| op_err!("K is empty"))?;
    let s = x.shape();
    let a = super::util::axis(axis, s.len())?;
    let k = usize::try_from(k)
        .ok()
        .filter(|&k| k <= s[a])
        .ok_or_else(|| op_err!("K {k} out of range"))?;
    let (n, inner) = (s[a], s[a + 1..].iter().product::<usize>());
    let outer: usize = s[..a].iter().product();
    let data = Data::of(x);
    let mut pos = Vec::with_capacity(outer * k * inner);
    let mut which = Vec::with_capacity(outer * k * inner);
    let mut out_sh = s.to_vec();
    out_sh[a] = k;
    let mut sel = vec![Vec::new(); outer * inner];
    for b in 0..outer {
        for t in 0..inner {
            let lane: Vec<usize> = (0..n).map(|j| (b * n + j) * inner + t).collect();
            let pick = num_dispatch!(&data, v => {
                let vals: Vec<_> = lane.iter().map(|&p| v[p]).collect();
                Ok(top_indices(&vals, k, largest))
            })?;
            sel[b * inner + t] = pick;
        }
    }
    for (b, lanes) in sel.chunks(inner.max(1)).enumerate().take(outer) {
        for j in 0..k {
            for (t, lane) in lanes.iter().enumerate() {
                let q = lane[j];
                pos.push((b * n + q) * inner + t);
                which.push(q as i64);
            }
        }
    }
    Ok(vec![
        take(x, &pos, &out_sh)?,
        Tensor::from_vec(out_sh, which),
    ])
}

fn one_hot(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let (ind, dt, vals) = (arg(inputs, 0)?, arg(inputs, 1)?, arg(inputs, 2)?);
    let depth = dt
        .to_f64_vec()
        .first()
        .copied()
        .ok_or_else(|| op_err!("depth is empty"))? as i64;
    let r = ind.shape().len() + 1;
    let a = super::util::axis(axis, r)?;
    let mut shape = ind.shape().to_vec();
    shape.insert(a, depth.max(0) as usize);
    let iv = ind.to_f64_vec();
    let inner: usize = ind.shape()[a..].iter().product();
    let n: usize = shape.iter().product();
    let d = depth.max(0) as usize;
    let mut pick = Vec::with_capacity(n);
    for e in 0..n {
        // Output element (outer, j, in) reads indices[outer, in].
        let (outer, rest) = (e / (d * inner).max(1), e % (d * inner).max(1));
        let (j, t) = (rest / inner.max(1), rest % inner.max(1));
        let mut v = iv[outer * inner + t] as i64;
        if v < 0 {
            v += depth;
        }
        pick.push((v == j as i64) as usize);
    }
    take(vals, &pick, &shape)
}

fn reverse_sequence(b: usize, t: usize, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let (x, lens) = (arg(inputs, 0)?, arg(inputs, 1)?);
    let lv = ints(lens, "sequence_lens")?;
    let s = x.shape();
    let st = strides(s);
    let mut idx = Vec::with_capacity(x.numel());
    for e in 0..x.numel() {
        let c = coords(e, s);
        let l = lv.get(c[b]).copied().unwrap_or(0).clamp(0, s[t] as i64) as usize;
        let ti = if c[t] < l { l - 1 - c[t] } else { c[t] };
        idx.push(e - c[t] * st[t] + ti * st[t]);
    }
    take(x, &idx, s)
}

/// Output-to-input element map of a reshape to `dims6`, permute by `perm`,
/// reshape; returns the map and the final shape.
fn permute_map(dims6: &[usize], perm: &[usize]) -> Vec<usize> {
    let st = strides(dims6);
    let dims: Vec<usize> = perm.iter().map(|&p| dims6[p]).collect();
    let step: Vec<isize> = perm.iter().map(|&p| st[p] as isize).collect();
    index_map(&dims, &step, 0)
}

pub(crate) fn depth_to_space_map(
    s: &[usize],
    bs: usize,
    crd: bool,
) -> Result<(Vec<usize>, Vec<usize>), OpError> {
    let [n, c, h, w] = *s else {
        return Err(op_err!("DepthToSpace needs a 4-D input, got {s:?}"));
    };
    let c2 = c / (bs * bs).max(1);
    let (dims, perm) = if crd {
        (vec![n, c2, bs, bs, h, w], [0, 1, 4, 2, 5, 3])
    } else {
        (vec![n, bs, bs, c2, h, w], [0, 3, 4, 1, 5, 2])
    };
    Ok((permute_map(&dims, &perm), vec![n, c2, h * bs, w * bs]))
}

pub(crate) fn space_to_depth_map(
    s: &[usize],
    bs: usize,
    crd: bool,
) -> Result<(Vec<usize>, Vec<usize>), OpError> {
    let [n, c, h, w] = *s else {
        return Err(op_err!("SpaceToDepth needs a 4-D input, got {s:?}"));
    };
    let (h2, w2) = (h / bs.max(1), w / bs.max(1));
    let dims = vec![n, c, h2, bs, w2, bs];
    let perm = if crd {
        [0, 1, 3, 5, 2, 4]
    } else {
        [0, 3, 5, 1, 2, 4]
    };
    Ok((permute_map(&dims, &perm), vec![n, c * bs * bs, h2, w2]))
}

/// A parsed einsum over concrete shapes: every label's extent, each
/// operand's label per axis, and the output's labels; labels absent from the
/// output are summed over. `...` dims become labels of their own (right
/// aligned across operands); a size-1 dim broadcasts against its label.
#[derive(Clone, Debug, PartialEq)]
pub struct EinsumPlan {
    pub sizes: Vec<usize>,
    pub operands: Vec<Vec<usize>>,
    pub output: Vec<usize>,
}

impl EinsumPlan {
    /// Labels summed over (in label order).
    pub fn summed(&self) -> Vec<usize> {
        (0..self.sizes.len())
            .filter(|l| !self.output.contains(l))
            .collect()
    }
    /// Element strides of operand `k` (of `shape`) per label.
    pub fn label_strides(&self, k: usize, shape: &[usize]) -> Vec<i64> {
        let st = strides(shape);
        let mut out = vec![0i64; self.sizes.len()];
        for (j, &l) in self.operands[k].iter().enumerate() {
            if !(shape[j] == 1 && self.sizes[l] != 1) {
                out[l] += st[j] as i64;
            }
        }
        out
    }
}

pub fn einsum_plan(equation: &str, shapes: &[&[usize]]) -> Result<EinsumPlan, OpError> {
    let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != shapes.len() {
        return Err(op_err!(
            "equation `{equation}` has {} operands, got {} inputs",
            terms.len(),
            shapes.len()
        ));
    }
    let letter = |c: char| -> Result<usize, OpError> {
        match c {
            'a'..='z' => Ok(c as usize - 'a' as usize),
            'A'..='Z' => Ok(26 + c as usize - 'A' as usize),
            _ => Err(op_err!("invalid character `{c}` in equation `{equation}`")),
        }
    };
    let count = |t: &str| t.chars().filter(|&c| c != '.').count();
    let mut ell = 0;
    for (t, s) in terms.iter().zip(shapes) {
        if t.contains("...") {
            ell = ell.max(
                s.len()
                    .checked_sub(count(t))
                    .ok_or_else(|| op_err!("term `{t}` exceeds rank {}", s.len()))?,
            );
        }
    }
    let parse = |t: &str, e: usize| -> Result<Vec<usize>, OpError> {
        let (pre, post) = match t.split_once("...") {
            Some((a, b)) => (a, Some(b)),
            None => (t, None),
        };
        let mut v: Vec<usize> = pre.chars().map(letter).collect::<Result<_, _>>()?;
        if let Some(post) = post {
            v.extend((ell - e..ell).map(|i| 52 + i));
            v.extend(post.chars().map(letter).collect::<Result<Vec<_>, _>>()?);
        }
        Ok(v)
    };
    let mut ops = Vec::new();
    for (t, s) in terms.iter().zip(shapes) {
        let e = if t.contains("...") {
            s.len() - count(t)
        } else {
            0
        };
        let v = parse(t, e)?;
        if v.len() != s.len() {
            return Err(op_err!("term `{t}` does not match operand shape {s:?}"));
        }
        ops.push(v);
    }
    let output = match rhs {
        Some(r) => parse(r, if r.contains("...") { ell } else { 0 })?,
        None => {
            let mut v: Vec<usize> = (0..ell).map(|i| 52 + i).collect();
            let all: Vec<usize> = ops.iter().flatten().copied().filter(|&l| l < 52).collect();
            let mut once: Vec<usize> = all
                .iter()
                .copied()
                .filter(|l| all.iter().filter(|m| *m == l).count() == 1)
                .collect();
            once.sort_unstable();
            v.extend(once);
            v
        }
    };
    // Compact the used label ids to 0..n and take each label's extent.
    let mut ids: Vec<usize> = ops.iter().flatten().copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut sizes = vec![1usize; ids.len()];
    let mut seen = vec![false; ids.len()];
    let pos = |l: usize| {
        ids.binary_search(&l)
            .map_err(|_| op_err!("output label not in any operand of `{equation}`"))
    };
    for (v, s) in ops.iter_mut().zip(shapes) {
        for (j, l) in v.iter_mut().enumerate() {
            let p = pos(*l)?;
            let d = s[j];
            if !seen[p] || sizes[p] == 1 {
                sizes[p] = d;
            } else if d != 1 && d != sizes[p] {
                return Err(op_err!(
                    "label extents {} and {d} disagree in `{equation}`",
                    sizes[p]
                ));
            }
            seen[p] = true;
            *l = p;
        }
    }
    let output = output.into_iter().map(pos).collect::<Result<Vec<_>, _>>()?;
    Ok(EinsumPlan {
        sizes,
        operands: ops,
        output,
    })
}

fn einsum(equation: &str, inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let xs: Vec<&Tensor> = inputs
        .iter()
        .map(|t| t.ok_or_else(|| op_err!("missing operand")))
        .collect::<Result<_, _>>()?;
    let shapes: Vec<&[usize]> = xs.iter().map(|t| t.shape()).collect();
    let pl = einsum_plan(equation, &shapes)?;
    let vals: Vec<Vec<f64>> = xs.iter().map(|t| t.to_f64_vec()).collect();
    let st: Vec<Vec<i64>> = (0..xs.len())
        .map(|k| pl.label_strides(k, shapes[k]))
        .collect();
    let out_shape: Vec<usize> = pl.output.iter().map(|&l| pl.sizes[l]).collect();
    let summed = pl.summed();
    let sum_shape: Vec<usize> = summed.iter().map(|&l| pl.sizes[l]).collect();
    let (no, ns) = (
        out_shape.iter().product::<usize>(),
        sum_shape.iter().product::<usize>(),
    );
    let mut out = vec![0.0; no];
    let mut lab = vec![0usize; pl.sizes.len()];
    for (o, slot) in out.iter_mut().enumerate() {
        for (j, c) in coords(o, &out_shape).into_iter().enumerate() {
            lab[pl.output[j]] = c;
        }
        for s in 0..ns {
            for (j, c) in coords(s, &sum_shape).into_iter().enumerate() {
                lab[summed[j]] = c;
            }
            let mut prod = 1.0;
            for k in 0..xs.len() {
                let off: i64 = lab.iter().zip(&st[k]).map(|(&c, &s)| c as i64 * s).sum();
                prod *= vals[k][off as usize];
            }
            *slot += prod;
        }
    }
    Ok(Tensor::from_f64(xs[0].dtype(), out_shape, &out))
}
