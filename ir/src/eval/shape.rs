//! Data-movement ops. They never look at element values (except Range and
//! the integer inputs that carry shapes), so they work on element bytes and
//! serve every dtype with one code path.

use super::util::{
    arg, axis, bcast_map, bcast_shapes, checked_numel, dim, index_map, ints, opt, strides, take,
    tensor_from_bytes, Data,
};
use crate::dtype::DType;
use crate::error::OpError;
use crate::op::PadMode;
use crate::op_err;
use crate::tensor::Tensor;

type Out = Result<Vec<Tensor>, OpError>;
type Args<'a, 'b> = &'a [Option<&'b Tensor>];

/// Normalizes an axis in `[-rank, rank]` (Flatten's split point).
fn axis_incl(a: i64, rank: usize) -> Result<usize, OpError> {
    let v = if a < 0 { a + rank as i64 } else { a };
    if !(0..=rank as i64).contains(&v) {
        return Err(op_err!("axis {a} out of range for rank {rank}"));
    }
    Ok(v as usize)
}

fn reshaped(t: &Tensor, shape: Vec<usize>) -> Result<Tensor, OpError> {
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if n != Some(t.numel()) {
        return Err(op_err!("cannot reshape {:?} to {shape:?}", t.shape()));
    }
    Ok(t.reshaped(shape))
}

pub(crate) fn reshape(allowzero: bool, inputs: Args) -> Out {
    let (x, s) = (arg(inputs, 0)?, ints(arg(inputs, 1)?, "Reshape shape")?);
    let mut out = Vec::with_capacity(s.len());
    let mut infer_at = None;
    for (i, &d) in s.iter().enumerate() {
        out.push(match d {
            -1 if infer_at.is_none() => {
                infer_at = Some(i);
                1
            }
            -1 => return Err(op_err!("Reshape shape {s:?} has more than one -1")),
            0 if !allowzero => *x
                .shape()
                .get(i)
                .ok_or_else(|| op_err!("Reshape: 0 at {i} beyond the input rank"))?,
            d => dim(d, "Reshape dim")?,
        });
    }
    if let Some(i) = infer_at {
        let known: usize = out.iter().product();
        if known == 0 || x.numel() % known != 0 {
            return Err(op_err!("cannot reshape {:?} to {s:?}", x.shape()));
        }
        out[i] = x.numel() / known;
    }
    Ok(vec![reshaped(x, out)?])
}

pub(crate) fn flatten(ax: i64, inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let a = axis_incl(ax, x.shape().len())?;
    let outer = x.shape()[..a].iter().product();
    let inner = x.shape()[a..].iter().product();
    Ok(vec![reshaped(x, vec![outer, inner])?])
}

pub(crate) fn transpose(perm: Option<&[usize]>, inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let r = x.shape().len();
    let perm: Vec<usize> = perm
        .map(|p| p.to_vec())
        .unwrap_or_else(|| (0..r).rev().collect());
    let mut seen = vec![false; r];
    for &p in &perm {
        if p >= r || std::mem::replace(&mut seen[p], true) {
            return Err(op_err!(
                "Transpose perm {perm:?} is not a permutation of 0..{r}"
            ));
        }
    }
    if perm.len() != r {
        return Err(op_err!("Transpose perm {perm:?} does not match rank {r}"));
    }
    let st = strides(x.shape());
    let dims: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let step: Vec<isize> = perm.iter().map(|&p| st[p] as isize).collect();
    Ok(vec![take(x, &index_map(&dims, &step, 0), &dims)?])
}

/// Sorted, de-duplicated axes from an axes input, normalized against `rank`.
fn axes_of(t: &Tensor, rank: usize, what: &str) -> Result<Vec<usize>, OpError> {
    let mut a = ints(t, what)?
        .into_iter()
        .map(|v| axis(v, rank))
        .collect::<Result<Vec<_>, _>>()?;
    let n = a.len();
    a.sort_unstable();
    a.dedup();
    if a.len() != n {
        return Err(op_err!("{what} has repeated axes"));
    }
    Ok(a)
}

pub(crate) fn squeeze(inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let sh = x.shape();
    // An empty axes tensor means "all unit dims", as with no axes at all.
    let axes = match opt(inputs, 1) {
        Some(t) if t.numel() > 0 => axes_of(t, sh.len(), "Squeeze axes")?,
        _ => (0..sh.len()).filter(|&i| sh[i] == 1).collect(),
    };
    if let Some(&a) = axes.iter().find(|&&a| sh[a] != 1) {
        return Err(op_err!("Squeeze: dim {a} of {sh:?} is not 1"));
    }
    let out = (0..sh.len())
        .filter(|i| !axes.contains(i))
        .map(|i| sh[i])
        .collect();
    Ok(vec![reshaped(x, out)?])
}

pub(crate) fn unsqueeze(inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let t = arg(inputs, 1)?;
    let r = x.shape().len() + t.numel();
    let axes = axes_of(t, r, "Unsqueeze axes")?;
    let mut src = x.shape().iter();
    let out = (0..r)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                *src.next().unwrap_or(&1)
            }
        })
        .collect();
    Ok(vec![reshaped(x, out)?])
}

pub(crate) fn concat(ax: i64, inputs: Args) -> Out {
    let ts: Vec<&Tensor> = inputs.iter().flatten().copied().collect();
    let first = *ts
        .first()
        .ok_or_else(|| op_err!("Concat needs at least one input"))?;
    let r = first.shape().len();
    let a = axis(ax, r)?;
    let mut out = first.shape().to_vec();
    out[a] = 0;
    for t in &ts {
        let ok = t.dtype() == first.dtype()
            && t.shape().len() == r
            && (0..r).all(|i| i == a || t.shape()[i] == first.shape()[i]);
        if !ok {
            return Err(op_err!(
                "Concat inputs {} and {} do not match",
                first.ty(),
                t.ty()
            ));
        }
        out[a] += t.shape()[a];
    }
    let w = first.dtype().size();
    let outer: usize = out[..a].iter().product();
    let inner: usize = out[a + 1..].iter().product::<usize>() * w;
    let mut bytes = Vec::with_capacity(out.iter().product::<usize>() * w);
    for o in 0..outer {
        for t in &ts {
            let chunk = t.shape()[a] * inner;
            bytes.extend_from_slice(&t.bytes()[o * chunk..(o + 1) * chunk]);
        }
    }
    Ok(vec![tensor_from_bytes(first.dtype(), &out, bytes)?])
}

/// Clamps a Shape start/end to `[0, rank]` after adding `rank` to negatives.
fn clamp_rank(v: i64, r: usize) -> usize {
    let v = if v < 0 { v + r as i64 } else { v };
    v.clamp(0, r as i64) as usize
}

pub(crate) fn shape(start: i64, end: Option<i64>, inputs: Args) -> Out {
    let sh = arg(inputs, 0)?.shape();
    let r = sh.len();
    let (s, e) = (clamp_rank(start, r), clamp_rank(end.unwrap_or(r as i64), r));
    let dims: Vec<i64> = sh[s..e.max(s)].iter().map(|&d| d as i64).collect();
    Ok(vec![Tensor::from_vec([dims.len()], dims)])
}

pub(crate) fn size(inputs: Args) -> Out {
    Ok(vec![Tensor::scalar(arg(inputs, 0)?.numel() as i64)])
}

pub(crate) fn gather(ax: i64, inputs: Args) -> Out {
    let (x, it) = (arg(inputs, 0)?, arg(inputs, 1)?);
    let sh = x.shape();
    let a = axis(ax, sh.len())?;
    let n = sh[a] as i64;
    let idx = ints(it, "Gather indices")?
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + n } else { i };
            if (0..n).contains(&j) {
                Ok(j as usize)
            } else {
                Err(op_err!("Gather index {i} out of range for dim {n}"))
            }
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let out: Vec<usize> = sh[..a]
        .iter()
        .chain(it.shape())
        .chain(&sh[a + 1..])
        .copied()
        .collect();
    let w = x.dtype().size();
    let outer: usize = sh[..a].iter().product();
    let inner: usize = sh[a + 1..].iter().product::<usize>() * w;
    let mut bytes = Vec::with_capacity(out.iter().product::<usize>() * w);
    for o in 0..outer {
        for &i in &idx {
            let s = (o * sh[a] + i) * inner;
            bytes.extend_from_slice(&x.bytes()[s..s + inner]);
        }
    }
    Ok(vec![tensor_from_bytes(x.dtype(), &out, bytes)?])
}

/// `n` copies of the one-element `value`.
fn filled(value: &Tensor, shape: &[usize]) -> Result<Tensor, OpError> {
    if value.numel() != 1 {
        return Err(op_err!(
            "fill value must have one element, has {}",
            value.numel()
        ));
    }
    let n = checked_numel(shape)?;
    tensor_from_bytes(value.dtype(), shape, value.bytes().repeat(n))
}

pub(crate) fn constant_of_shape(value: &Tensor, inputs: Args) -> Out {
    let s = ints(arg(inputs, 0)?, "ConstantOfShape shape")?;
    let shape = s
        .iter()
        .map(|&d| dim(d, "ConstantOfShape dim"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(vec![filled(value, &shape)?])
}

/// ONNX Slice's clamping of one axis: (first index, element count).
fn slice_axis(d: usize, start: i64, end: i64, step: i64) -> (i64, usize) {
    let d = d as i64;
    let adj = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    let (s, e) = if step > 0 {
        (adj(start).clamp(0, d), adj(end).clamp(0, d))
    } else {
        (adj(start).clamp(0, d - 1), adj(end).clamp(-1, d - 1))
    };
    let span = if step > 0 { e - s } else { s - e };
    let n = (span.max(0) as u64).div_ceil(step.unsigned_abs());
    (s, n as usize)
}

pub(crate) fn slice(inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let sh = x.shape();
    let starts = ints(arg(inputs, 1)?, "Slice starts")?;
    let ends = ints(arg(inputs, 2)?, "Slice ends")?;
    let axes: Vec<i64> = match opt(inputs, 3) {
        Some(t) => ints(t, "Slice axes")?,
        None => (0..starts.len() as i64).collect(),
    };
    let steps = match opt(inputs, 4) {
        Some(t) => ints(t, "Slice steps")?,
        None => vec![1; starts.len()],
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(op_err!("Slice starts/ends/axes/steps lengths differ"));
    }
    let st = strides(sh);
    let mut dims = sh.to_vec();
    let mut step: Vec<isize> = st.iter().map(|&s| s as isize).collect();
    let mut base = 0isize;
    let mut seen = vec![false; sh.len()];
    for i in 0..starts.len() {
        let a = axis(axes[i], sh.len())?;
        if std::mem::replace(&mut seen[a], true) {
            return Err(op_err!("Slice axis {} repeated", axes[i]));
        }
        if steps[i] == 0 {
            return Err(op_err!("Slice step must not be 0"));
        }
        let (s, n) = slice_axis(sh[a], starts[i], ends[i], steps[i]);
        dims[a] = n;
        // With two or more elements |step| < dim, so this cannot overflow.
        step[a] = if n > 1 {
            (st[a] as isize) * steps[i] as isize
        } else {
            0
        };
        if n > 0 {
            base += s as isize * st[a] as isize;
        }
    }
    let idx = if dims.contains(&0) {
        Vec::new()
    } else {
        index_map(&dims, &step, base)
    };
    Ok(vec![take(x, &idx, &dims)?])
}

pub(crate) fn expand(inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let s = ints(arg(inputs, 1)?, "Expand shape")?;
    let s = s
        .iter()
        .map(|&d| dim(d, "Expand dim"))
        .collect::<Result<Vec<_>, _>>()?;
    let out = bcast_shapes(&[x.shape(), &s])?;
    checked_numel(&out)?;
    Ok(vec![take(x, &bcast_map(x.shape(), &out), &out)?])
}

pub(crate) fn split(ax: i64, num_outputs: usize, inputs: Args, n_out: usize) -> Out {
    let x = arg(inputs, 0)?;
    let sh = x.shape();
    let a = axis(ax, sh.len())?;
    let d = sh[a];
    let sizes: Vec<usize> = match opt(inputs, 1) {
        Some(t) => ints(t, "Split sizes")?
            .into_iter()
            .map(|v| dim(v, "Split size"))
            .collect::<Result<_, _>>()?,
        None => {
            let n = if num_outputs > 0 { num_outputs } else { n_out };
            let chunk = d.div_ceil(n.max(1));
            let mut v = vec![chunk; n];
            if let Some(last) = v.last_mut() {
                *last = d
                    .checked_sub(chunk * (n - 1))
                    .ok_or_else(|| op_err!("cannot split {d} into {n} parts"))?;
            }
            v
        }
    };
    if sizes.iter().try_fold(0usize, |a, &v| a.checked_add(v)) != Some(d) {
        return Err(op_err!("Split sizes {sizes:?} do not sum to dim {d}"));
    }
    let w = x.dtype().size();
    let outer: usize = sh[..a].iter().product();
    let inner: usize = sh[a + 1..].iter().product::<usize>() * w;
    let mut outs = Vec::with_capacity(sizes.len());
    let mut off = 0;
    for &n in &sizes {
        let mut bytes = Vec::with_capacity(outer * n * inner);
        for o in 0..outer {
            let s = (o * d + off) * inner;
            bytes.extend_from_slice(&x.bytes()[s..s + n * inner]);
        }
        let mut shape = sh.to_vec();
        shape[a] = n;
        outs.push(tensor_from_bytes(x.dtype(), &shape, bytes)?);
        off += n;
    }
    Ok(outs)
}

/// Marks an output element with no source (Pad's constant fill).
const FILL: usize = usize::MAX;

/// Gathers `x` where output coordinate `o` along axis `a` reads input
/// coordinate `maps[a][o]` (`FILL`: the fill value instead).
fn take_axes(x: &Tensor, maps: &[Vec<usize>], fill: Option<&[u8]>) -> Result<Tensor, OpError> {
    let st = strides(x.shape());
    let dims: Vec<usize> = maps.iter().map(|m| m.len()).collect();
    checked_numel(&dims)?;
    let mut idx = vec![0usize];
    for (m, &s) in maps.iter().zip(&st) {
        let mut next = Vec::with_capacity(idx.len() * m.len());
        for &b in &idx {
            next.extend(m.iter().map(|&c| {
                if b == FILL || c == FILL {
                    FILL
                } else {
                    b + c * s
                }
            }));
        }
        idx = next;
    }
    let w = x.dtype().size();
    let mut bytes = Vec::with_capacity(idx.len() * w);
    for i in idx {
        match (i, fill) {
            (FILL, Some(f)) => bytes.extend_from_slice(f),
            (FILL, None) => return Err(op_err!("internal: no fill value")),
            (i, _) => bytes.extend_from_slice(&x.bytes()[i * w..(i + 1) * w]),
        }
    }
    tensor_from_bytes(x.dtype(), &dims, bytes)
}

pub(crate) fn pad(mode: PadMode, inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let sh = x.shape();
    let r = sh.len();
    let pads = ints(arg(inputs, 1)?, "Pad pads")?;
    let axes: Vec<usize> = match opt(inputs, 3) {
        Some(t) => ints(t, "Pad axes")?
            .into_iter()
            .map(|a| axis(a, r))
            .collect::<Result<_, _>>()?,
        None => (0..r).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(op_err!(
            "Pad has {} pads for {} axes",
            pads.len(),
            axes.len()
        ));
    }
    let fill = match opt(inputs, 2) {
        Some(c) if c.numel() == 1 && c.dtype() == x.dtype() => c.bytes().to_vec(),
        Some(c) if c.numel() == 0 => vec![0; x.dtype().size()],
        Some(c) => {
            return Err(op_err!(
                "Pad constant_value must be a {} scalar, got {}",
                x.dtype(),
                c.ty()
            ))
        }
        None => vec![0; x.dtype().size()],
    };
    let mut maps: Vec<Vec<usize>> = sh.iter().map(|&d| (0..d).collect()).collect();
    for (k, &a) in axes.iter().enumerate() {
        // i128: pads are arbitrary i64 values and must not overflow.
        let (pb, pe) = (pads[k] as i128, pads[k + axes.len()] as i128);
        let d = sh[a] as i128;
        let n = d + pb + pe;
        if n < 0 {
            return Err(op_err!("Pad pads {pads:?} crop axis {a} below zero"));
        }
        checked_numel(&[usize::try_from(n).unwrap_or(usize::MAX)])?;
        maps[a] = (0..n)
            .map(|o| pad_source(mode, o - pb, d))
            .collect::<Result<_, _>>()?;
    }
    Ok(vec![take_axes(x, &maps, Some(&fill))?])
}

/// The input coordinate an output coordinate reads (`i` before mode rules).
fn pad_source(mode: PadMode, i: i128, d: i128) -> Result<usize, OpError> {
    if (0..d).contains(&i) {
        return Ok(i as usize);
    }
    if mode == PadMode::Constant {
        return Ok(FILL);
    }
    if d == 0 {
        return Err(op_err!("{mode:?} padding of an empty axis"));
    }
    Ok(match mode {
        PadMode::Edge => i.clamp(0, d - 1) as usize,
        PadMode::Wrap => i.rem_euclid(d) as usize,
        _ if d == 1 => 0,
        _ => {
            let p = 2 * (d - 1);
            let m = i.rem_euclid(p);
            (if m >= d { p - m } else { m }) as usize
        }
    })
}

pub(crate) fn tile(inputs: Args) -> Out {
    let x = arg(inputs, 0)?;
    let reps = ints(arg(inputs, 1)?, "Tile repeats")?;
    if reps.len() != x.shape().len() {
        return Err(op_err!(
            "Tile has {} repeats for rank {}",
            reps.len(),
            x.shape().len()
        ));
    }
    let mut maps = Vec::with_capacity(reps.len());
    for (&d, &r) in x.shape().iter().zip(&reps) {
        let n = d
            .checked_mul(dim(r, "Tile repeat")?)
            .ok_or_else(|| op_err!("Tile output too large"))?;
        checked_numel(&[n])?;
        maps.push((0..n).map(|o| o % d.max(1)).collect());
    }
    Ok(vec![take_axes(x, &maps, None)?])
}

pub(crate) fn range(inputs: Args) -> Out {
    let (s, l, d) = (arg(inputs, 0)?, arg(inputs, 1)?, arg(inputs, 2)?);
    let dt = s.dtype();
    if l.dtype() != dt || d.dtype() != dt || s.numel() != 1 || l.numel() != 1 || d.numel() != 1 {
        return Err(op_err!(
            "Range needs three scalars of one type, got {}, {}, {}",
            s.ty(),
            l.ty(),
            d.ty()
        ));
    }
    if dt.is_float() {
        let v = |t: &Tensor| Data::of(t).cast::<f64>()[0];
        let (s, l, d) = (v(s), v(l), v(d));
        let n = ((l - s) / d).ceil().max(0.0);
        if !n.is_finite() {
            return Err(op_err!("Range({s}, {l}, {d}) has no finite length"));
        }
        let n = checked_numel(&[n as usize])?;
        // Each element as `start + i * delta` in the tensor's own precision.
        let vals: Vec<f64> = match dt {
            DType::F64 => (0..n).map(|i| s + i as f64 * d).collect(),
            _ => (0..n)
                .map(|i| (s as f32 + i as f32 * d as f32) as f64)
                .collect(),
        };
        return Ok(vec![Tensor::from_f64(dt, [n], &vals)]);
    }
    let v = |t: &Tensor| Data::of(t).cast::<i64>()[0] as i128;
    let (s0, l0, d0) = (v(s), v(l), v(d));
    if d0 == 0 {
        return Err(op_err!("Range delta must not be 0"));
    }
    let span = if d0 > 0 { l0 - s0 } else { s0 - l0 };
    let n = (span.max(0) as u128).div_ceil(d0.unsigned_abs());
    let n = checked_numel(&[usize::try_from(n).map_err(|_| op_err!("Range too long"))?])?;
    let vals: Vec<i128> = (0..n as i128).map(|i| s0 + i * d0).collect();
    let t = Tensor::from_vec([n], vals.iter().map(|&x| x as i64).collect::<Vec<i64>>());
    // Every value fits the input type, so narrowing through i64 is exact.
    super::elementwise::cast(dt, true, &[Some(&t)]).map(|mut v| vec![v.remove(0)])
}
