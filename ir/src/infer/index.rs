//! Shape rules of the index family: GatherElements/GatherND, the scatters,
//! Trilu, CumSum/CumProd, TopK, OneHot, EyeLike, ReverseSequence and
//! DepthToSpace/SpaceToDepth.

use super::util::*;
use super::InputInfo;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;

pub(super) fn infer(
    op: &Op,
    inputs: &[Option<InputInfo<'_>>],
    num_outputs: usize,
) -> Result<Vec<TensorType>, OpError> {
    let one = |t: TensorType| Ok(vec![t]);
    match op {
        Op::GatherElements { axis } => one(gather_elements(*axis, inputs)?),
        Op::GatherND { batch_dims } => one(gather_nd(*batch_dims, inputs)?),
        Op::ScatterElements { axis, .. } => one(scatter_elements(*axis, inputs)?),
        Op::ScatterND { .. } => one(scatter_nd(inputs)?),
        Op::Trilu { .. } => {
            arity(inputs, 1, 2)?;
            let x = req(inputs, 0, "input")?;
            min_rank(x, "input", 2)?;
            if let Some(k) = opt(inputs, 1) {
                scalar_like(k, "k")?;
                dtype(k, "k", |d| d == DType::I64, "i64")?;
            }
            one(x.ty.clone())
        }
        Op::CumSum { .. } | Op::CumProd { .. } => {
            arity(inputs, 2, 2)?;
            let x = req(inputs, 0, "x")?;
            dtype(x, "x", is_numeric, "numeric")?;
            let a = req(inputs, 1, "axis")?;
            scalar_like(a, "axis")?;
            dtype(
                a,
                "axis",
                |d| matches!(d, DType::I32 | DType::I64),
                "i32 or i64",
            )?;
            // A runtime axis is allowed: the lowering dispatches on it.
            if a.value.is_some() {
                let ax = const_ints(a, "axis", true)?;
                super::norm_axis(ax[0], x.ty.rank())?;
            }
            one(x.ty.clone())
        }
        Op::TopK { axis, .. } => top_k(*axis, inputs, num_outputs),
        Op::OneHot { axis } => one(one_hot(*axis, inputs)?),
        Op::EyeLike { dtype, .. } => {
            arity(inputs, 1, 1)?;
            let x = req(inputs, 0, "input")?;
            rank_eq(x, "input", 2)?;
            one(TensorType::new(*dtype, x.ty.shape.clone()))
        }
        Op::ReverseSequence {
            batch_axis,
            time_axis,
        } => {
            arity(inputs, 2, 2)?;
            let x = req(inputs, 0, "input")?;
            min_rank(x, "input", 2)?;
            let l = req(inputs, 1, "sequence_lens")?;
            dtype(l, "sequence_lens", is_int, "an integer")?;
            let r = x.ty.rank();
            if *batch_axis >= r || *time_axis >= r || batch_axis == time_axis {
                return Err(op_err!(
                    "batch_axis {batch_axis} and time_axis {time_axis} must be distinct axes of rank {r}"
                ));
            }
            if l.ty.shape != [x.ty.shape[*batch_axis]] {
                return Err(op_err!(
                    "sequence_lens must have shape [{}], got {:?}",
                    x.ty.shape[*batch_axis],
                    l.ty.shape
                ));
            }
            one(x.ty.clone())
        }
        Op::DepthToSpace { blocksize, .. } => one(depth_space(*blocksize, true, inputs)?),
        Op::SpaceToDepth { blocksize, .. } => one(depth_space(*blocksize, false, inputs)?),
        Op::Einsum { equation } => {
            let xs: Vec<InputInfo<'_>> = (0..inputs.len())
                .map(|i| req(inputs, i, "Inputs"))
                .collect::<Result<_, _>>()?;
            let first = xs
                .first()
                .ok_or_else(|| op_err!("expected at least 1 input"))?;
            dtype(*first, "Inputs", is_numeric, "numeric")?;
            for x in &xs[1..] {
                same_dtype(*first, "Inputs", *x, "Inputs")?;
            }
            let shapes: Vec<&[usize]> = xs.iter().map(|x| x.ty.shape.as_slice()).collect();
            let pl = crate::eval::index::einsum_plan(equation, &shapes)?;
            let out: Vec<usize> = pl.output.iter().map(|&l| pl.sizes[l]).collect();
            one(TensorType::new(first.ty.dtype, out))
        }
        other => Err(op_err!("{} is not an index-family op", other.onnx_name())),
    }
}

fn gather_elements(axis: i64, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "data")?;
    let i = req(inputs, 1, "indices")?;
    dtype(
        i,
        "indices",
        |d| matches!(d, DType::I32 | DType::I64),
        "i32 or i64",
    )?;
    let r = min_rank(x, "data", 1)?;
    rank_eq(i, "indices", r)?;
    super::norm_axis(axis, r)?;
    Ok(TensorType::new(x.ty.dtype, i.ty.shape.clone()))
}

fn gather_nd(b: usize, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "data")?;
    let i = req(inputs, 1, "indices")?;
    dtype(i, "indices", |d| d == DType::I64, "i64")?;
    let (xs, is) = (&x.ty.shape, &i.ty.shape);
    if is.is_empty() || xs.len() <= b || is.len() <= b || xs[..b] != is[..b] {
        return Err(op_err!(
            "data {xs:?} and indices {is:?} must share {b} leading batch dims"
        ));
    }
    let k = is[is.len() - 1];
    if k < 1 || b + k > xs.len() {
        return Err(op_err!(
            "indices' last dim {k} must be in 1..={} for data {xs:?}",
            xs.len() - b
        ));
    }
    let mut out = is[..is.len() - 1].to_vec();
    out.extend_from_slice(&xs[b + k..]);
    Ok(TensorType::new(x.ty.dtype, out))
}

fn scatter_elements(axis: i64, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 3, 3)?;
    let x = req(inputs, 0, "data")?;
    let i = req(inputs, 1, "indices")?;
    let u = req(inputs, 2, "updates")?;
    dtype(
        i,
        "indices",
        |d| matches!(d, DType::I32 | DType::I64),
        "i32 or i64",
    )?;
    same_dtype(x, "data", u, "updates")?;
    let r = min_rank(x, "data", 1)?;
    rank_eq(i, "indices", r)?;
    if i.ty.shape != u.ty.shape {
        return Err(op_err!(
            "indices {:?} and updates {:?} must have the same shape",
            i.ty.shape,
            u.ty.shape
        ));
    }
    super::norm_axis(axis, r)?;
    Ok(x.ty.clone())
}

fn scatter_nd(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 3, 3)?;
    let x = req(inputs, 0, "data")?;
    let i = req(inputs, 1, "indices")?;
    let u = req(inputs, 2, "updates")?;
    dtype(i, "indices", |d| d == DType::I64, "i64")?;
    same_dtype(x, "data", u, "updates")?;
    let (xs, is) = (&x.ty.shape, &i.ty.shape);
    let k = *is
        .last()
        .ok_or_else(|| op_err!("indices must have rank >= 1"))?;
    if k < 1 || k > xs.len() {
        return Err(op_err!("indices' last dim {k} must be in 1..={}", xs.len()));
    }
    let mut want = is[..is.len() - 1].to_vec();
    want.extend_from_slice(&xs[k..]);
    if u.ty.shape != want {
        return Err(op_err!(
            "updates must have shape {want:?}, got {:?}",
            u.ty.shape
        ));
    }
    Ok(x.ty.clone())
}

fn top_k(axis: i64, inputs: Inputs<'_, '_>, n_out: usize) -> Result<Vec<TensorType>, OpError> {
    arity(inputs, 2, 2)?;
    if n_out == 0 || n_out > 2 {
        return Err(op_err!(
            "expected 1 or 2 outputs (Values, Indices), got {n_out}"
        ));
    }
    let x = req(inputs, 0, "X")?;
    dtype(x, "X", is_numeric, "numeric")?;
    let r = min_rank(x, "X", 1)?;
    let a = super::norm_axis(axis, r)?;
    let kin = req(inputs, 1, "K")?;
    if kin.value.is_none() {
        // A run-time K: the outputs are typed with the bound (the axis
        // length) and have a data-dependent extent (see `crate::dynamic`).
        dtype(kin, "K", |d| d == DType::I64, "i64")?;
        if kin.ty.numel() != 1 {
            return Err(op_err!("K must hold one value, got shape {:?}", kin.ty.shape));
        }
        let s = x.ty.shape.clone();
        let mut out = vec![TensorType::new(x.ty.dtype, s.clone()), TensorType::new(DType::I64, s)];
        out.truncate(n_out);
        return Ok(out);
    }
    let kv = const_ints(kin, "K", false)?;
    let k = match kv.as_slice() {
        [k] if *k >= 0 && (*k as usize) <= x.ty.shape[a] => *k as usize,
        _ => {
            return Err(op_err!(
                "K must be one value in 0..={}, got {kv:?}",
                x.ty.shape[a]
            ))
        }
    };
    let mut s = x.ty.shape.clone();
    s[a] = k;
    let mut out = vec![
        TensorType::new(x.ty.dtype, s.clone()),
        TensorType::new(DType::I64, s),
    ];
    out.truncate(n_out);
    Ok(out)
}

fn one_hot(axis: i64, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 3, 3)?;
    let i = req(inputs, 0, "indices")?;
    dtype(i, "indices", is_numeric, "numeric")?;
    let d = req(inputs, 1, "depth")?;
    scalar_like(d, "depth")?;
    let dv = d
        .value
        .ok_or_else(|| OpError::needs_constant("depth"))?;
    let depth = dv.to_f64_vec()[0];
    if !(depth >= 1.0 && depth < (1u64 << 32) as f64) {
        return Err(op_err!("depth must be a positive size, got {depth}"));
    }
    let v = req(inputs, 2, "values")?;
    if v.ty.numel() != 2 || v.ty.rank() != 1 {
        return Err(op_err!("values must have shape [2], got {:?}", v.ty.shape));
    }
    let r = i.ty.rank() + 1;
    let a = super::norm_axis(axis, r)?;
    let mut s = i.ty.shape.clone();
    s.insert(a, depth as usize);
    Ok(TensorType::new(v.ty.dtype, s))
}

fn depth_space(bs: usize, to_space: bool, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "input")?;
    rank_eq(x, "input", 4)?;
    if bs == 0 {
        return Err(op_err!("blocksize must be positive"));
    }
    let s = &x.ty.shape;
    let b2 = checked_mul(bs, bs)?;
    let out = if to_space {
        if s[1] % b2 != 0 {
            return Err(op_err!(
                "channels {} not divisible by blocksize^2 {b2}",
                s[1]
            ));
        }
        vec![
            s[0],
            s[1] / b2,
            checked_mul(s[2], bs)?,
            checked_mul(s[3], bs)?,
        ]
    } else {
        if s[2] % bs != 0 || s[3] % bs != 0 {
            return Err(op_err!(
                "spatial dims {:?} not divisible by blocksize {bs}",
                &s[2..]
            ));
        }
        vec![s[0], checked_mul(s[1], b2)?, s[2] / bs, s[3] / bs]
    };
    Ok(TensorType::new(x.ty.dtype, out))
}
