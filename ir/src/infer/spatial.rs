//! Shape rules of the sampling family: GridSample, AffineGrid.

use super::util::*;
use super::InputInfo;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::Op;
use crate::op_err;

pub(super) fn infer(op: &Op, inputs: &[Option<InputInfo<'_>>]) -> Result<Vec<TensorType>, OpError> {
    match op {
        Op::GridSample { .. } => Ok(vec![grid_sample(inputs)?]),
        Op::AffineGrid { .. } => Ok(vec![affine_grid(inputs)?]),
        other => Err(op_err!("{} is not a sampling op", other.onnx_name())),
    }
}

fn grid_sample(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let x = req(inputs, 0, "X")?;
    let g = req(inputs, 1, "grid")?;
    let d = dtype(x, "X", is_float, "a float")?;
    dtype(g, "grid", is_float, "a float")?;
    let r = min_rank(x, "X", 3)? - 2;
    rank_eq(g, "grid", r + 2)?;
    let (xs, gs) = (&x.ty.shape, &g.ty.shape);
    if gs[0] != xs[0] || gs[r + 1] != r {
        return Err(op_err!("grid of shape {gs:?} does not match X of shape {xs:?}: want [{}, ..., {r}]", xs[0]));
    }
    let mut out = vec![xs[0], xs[1]];
    out.extend_from_slice(&gs[1..=r]);
    Ok(TensorType::new(d, out))
}

fn affine_grid(inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 2)?;
    let theta = req(inputs, 0, "theta")?;
    let d = dtype(theta, "theta", is_float, "a float")?;
    rank_eq(theta, "theta", 3)?;
    let size = const_ints(req(inputs, 1, "size")?, "size", false)?;
    let r = size.len().saturating_sub(2);
    if !(r == 2 || r == 3) {
        return Err(op_err!("size must have 4 or 5 elements, got {size:?}"));
    }
    let ts = &theta.ty.shape;
    if ts[0] as i64 != size[0] || ts[1] != r || ts[2] != r + 1 {
        return Err(op_err!("theta of shape {ts:?} does not match size {size:?}"));
    }
    let mut out = vec![ts[0]];
    for &v in &size[2..] {
        out.push(usize::try_from(v).map_err(|_| op_err!("negative size {v}"))?);
    }
    out.push(r);
    Ok(TensorType::new(d, out))
}

pub(super) fn bitcast(to: DType, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "input")?;
    if x.ty.dtype.size() != to.size() {
        return Err(op_err!("cannot bitcast {} to {to}: element sizes differ", x.ty.dtype));
    }
    Ok(TensorType::new(to, x.ty.shape.clone()))
}

pub(super) fn misc(op: &Op, inputs: Inputs<'_, '_>) -> Result<Vec<TensorType>, OpError> {
    match op {
        Op::Det => {
            arity(inputs, 1, 1)?;
            let x = req(inputs, 0, "X")?;
            let d = dtype(x, "X", is_float, "a float")?;
            let r = min_rank(x, "X", 2)?;
            let s = &x.ty.shape;
            if s[r - 1] != s[r - 2] {
                return Err(op_err!("X must hold square matrices, got shape {s:?}"));
            }
            Ok(vec![TensorType::new(d, s[..r - 2].to_vec())])
        }
        Op::TensorScatter { axis, .. } => {
            arity(inputs, 2, 3)?;
            let (p, u) = (req(inputs, 0, "past_cache")?, req(inputs, 1, "update")?);
            same_dtype(p, "past_cache", u, "update")?;
            let r = min_rank(p, "past_cache", 2)?;
            rank_eq(u, "update", r)?;
            let a = tensor_scatter_axis(*axis, r)?;
            let (ps, us) = (&p.ty.shape, &u.ty.shape);
            if (0..r).any(|i| if i == a { us[i] > ps[i] } else { us[i] != ps[i] }) {
                return Err(op_err!("update of shape {us:?} does not fit past_cache of shape {ps:?} on axis {a}"));
            }
            if let Some(w) = opt(inputs, 2) {
                dtype(w, "write_indices", |d| d == DType::I64, "i64")?;
                if w.ty.shape != [ps[0]] {
                    return Err(op_err!("write_indices must have shape [{}], got {:?}", ps[0], w.ty.shape));
                }
            }
            Ok(vec![p.ty.clone()])
        }
        Op::CenterCropPad { axes } => {
            arity(inputs, 2, 2)?;
            let x = req(inputs, 0, "input_data")?;
            let shape = const_ints(req(inputs, 1, "shape")?, "shape", true)?;
            Ok(vec![TensorType::new(x.ty.dtype, center_crop_pad_shape(&x.ty.shape, &shape, axes.as_deref())?.0)])
        }
        Op::Col2Im { dilations, pads, strides } => {
            arity(inputs, 3, 3)?;
            let x = req(inputs, 0, "input")?;
            rank_eq(x, "input", 3)?;
            let img = const_ints(req(inputs, 1, "image_shape")?, "image_shape", false)?;
            let block = const_ints(req(inputs, 2, "block_shape")?, "block_shape", false)?;
            let g = col2im_geometry(&x.ty.shape, &img, &block, dilations, pads, strides)?;
            let mut out = vec![x.ty.shape[0], g.channels];
            out.extend_from_slice(&g.image);
            Ok(vec![TensorType::new(x.ty.dtype, out)])
        }
        other => Err(op_err!("{} is not handled here", other.onnx_name())),
    }
}

/// TensorScatter's axis, which may not be the batch axis.
pub fn tensor_scatter_axis(axis: i64, rank: usize) -> Result<usize, OpError> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    if a < 1 || a >= rank as i64 {
        return Err(op_err!("axis {axis} must name a non-batch axis of rank {rank}"));
    }
    Ok(a as usize)
}

/// CenterCropPad's output shape and, per axis, `src - dst` index offsets.
pub fn center_crop_pad_shape(xs: &[usize], shape: &[i64], axes: Option<&[i64]>) -> Result<(Vec<usize>, Vec<i64>), OpError> {
    let r = xs.len();
    let axes: Vec<usize> = match axes {
        None => (0..r).collect(),
        Some(a) => a
            .iter()
            .map(|&v| {
                let w = if v < 0 { v + r as i64 } else { v };
                usize::try_from(w).ok().filter(|&w| w < r).ok_or_else(|| op_err!("axis {v} out of range for rank {r}"))
            })
            .collect::<Result<_, _>>()?,
    };
    if axes.len() != shape.len() {
        return Err(op_err!("shape has {} elements for {} axes", shape.len(), axes.len()));
    }
    let mut out = xs.to_vec();
    let mut off = vec![0i64; r];
    for (&a, &s) in axes.iter().zip(shape) {
        let s = usize::try_from(s).map_err(|_| op_err!("negative size {s}"))?;
        // Cropping starts (dim - s) / 2 in; padding puts (s - dim) / 2 before.
        off[a] = if s <= xs[a] { ((xs[a] - s) / 2) as i64 } else { -(((s - xs[a]) / 2) as i64) };
        out[a] = s;
    }
    Ok((out, off))
}

/// Resolved Col2Im geometry.
pub struct Col2ImGeometry {
    pub channels: usize,
    pub image: Vec<usize>,
    pub block: Vec<usize>,
    pub dilations: Vec<usize>,
    /// Begin pads.
    pub pads: Vec<usize>,
    pub strides: Vec<usize>,
    /// Number of block positions along each axis.
    pub blocks: Vec<usize>,
}

pub fn col2im_geometry(
    xs: &[usize],
    img: &[i64],
    block: &[i64],
    dilations: &[usize],
    pads: &[usize],
    strides: &[usize],
) -> Result<Col2ImGeometry, OpError> {
    let r = img.len();
    let pos = |v: &[i64], what: &str| -> Result<Vec<usize>, OpError> {
        v.iter().map(|&x| usize::try_from(x).ok().filter(|&x| x > 0).ok_or_else(|| op_err!("{what} must be positive, got {v:?}"))).collect()
    };
    let image = pos(img, "image_shape")?;
    let block = pos(block, "block_shape")?;
    let or = |v: &[usize], n: usize, d: usize, what: &str| -> Result<Vec<usize>, OpError> {
        if v.is_empty() {
            Ok(vec![d; n])
        } else if v.len() == n {
            Ok(v.to_vec())
        } else {
            Err(op_err!("{what} has {} values, want {n}", v.len()))
        }
    };
    if block.len() != r || xs.len() != 3 {
        return Err(op_err!("block_shape {block:?} and image_shape {img:?} must have the same length"));
    }
    let dil = or(dilations, r, 1, "dilations")?;
    let pads_all = or(pads, 2 * r, 0, "pads")?;
    let st = or(strides, r, 1, "strides")?;
    if st.contains(&0) || dil.contains(&0) {
        return Err(op_err!("strides and dilations must be positive"));
    }
    let k: usize = block.iter().product();
    if xs[1] % k != 0 {
        return Err(op_err!("input channels {} are not a multiple of the block size {k}", xs[1]));
    }
    let mut blocks = Vec::with_capacity(r);
    for i in 0..r {
        let eff = dil[i] * (block[i] - 1) + 1;
        let padded = image[i] + pads_all[i] + pads_all[i + r];
        if padded < eff {
            return Err(op_err!("block {block:?} does not fit image {image:?}"));
        }
        blocks.push((padded - eff) / st[i] + 1);
    }
    if blocks.iter().product::<usize>() != xs[2] {
        return Err(op_err!("input has {} blocks, the geometry gives {blocks:?}", xs[2]));
    }
    Ok(Col2ImGeometry { channels: xs[1] / k, image, block, dilations: dil, pads: pads_all[..r].to_vec(), strides: st, blocks })
}

pub(super) fn tfidf(a: &crate::op::TfIdfAttrs, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "X")?;
    dtype(x, "X", |d| d == DType::I32 || d == DType::I64, "i32 or i64")?;
    let (_, size) = crate::eval::tfidf::tfidf_grams(a)?;
    match x.ty.shape.as_slice() {
        [_] => Ok(TensorType::new(DType::F32, vec![size])),
        [b, _] => Ok(TensorType::new(DType::F32, vec![*b, size])),
        s => Err(op_err!("X must be [C] or [B, C], got {s:?}")),
    }
}

pub(super) fn roi_align(op: &Op, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    let Op::RoiAlign { output_height, output_width, .. } = op else {
        return Err(op_err!("not RoiAlign"));
    };
    arity(inputs, 3, 3)?;
    let x = req(inputs, 0, "X")?;
    let rois = req(inputs, 1, "rois")?;
    let bi = req(inputs, 2, "batch_indices")?;
    let d = dtype(x, "X", is_float, "a float")?;
    same_dtype(x, "X", rois, "rois")?;
    dtype(bi, "batch_indices", |d| d == DType::I64 || d == DType::I32, "i32 or i64")?;
    rank_eq(x, "X", 4)?;
    rank_eq(rois, "rois", 2)?;
    rank_eq(bi, "batch_indices", 1)?;
    let r = rois.ty.shape[0];
    if rois.ty.shape[1] != 4 || bi.ty.shape[0] != r {
        return Err(op_err!("rois {:?} and batch_indices {:?} must be [R, 4] and [R]", rois.ty.shape, bi.ty.shape));
    }
    Ok(TensorType::new(d, vec![r, x.ty.shape[1], *output_height, *output_width]))
}

pub(super) fn deform_conv(window: &crate::op::Window, group: usize, og: usize, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 3, 5)?;
    let x = req(inputs, 0, "X")?;
    let w = req(inputs, 1, "W")?;
    let off = req(inputs, 2, "offset")?;
    let d = dtype(x, "X", is_float, "a float")?;
    same_dtype(x, "X", w, "W")?;
    same_dtype(x, "X", off, "offset")?;
    rank_eq(x, "X", 4)?;
    rank_eq(w, "W", 4)?;
    rank_eq(off, "offset", 4)?;
    let (xs, ws, os) = (&x.ty.shape, &w.ty.shape, &off.ty.shape);
    if window.spatial_rank() != 2 || ws[2..] != window.kernel_shape[..] {
        return Err(op_err!("kernel_shape {:?} does not match W of shape {ws:?}", window.kernel_shape));
    }
    let k = ws[2] * ws[3];
    if group == 0 || og == 0 || xs[1] != ws[1] * group || ws[0] % group != 0 || xs[1] % og != 0 {
        return Err(op_err!("X {xs:?}, W {ws:?}, group {group}, offset_group {og} are inconsistent"));
    }
    let (oh, ow) = (window.out_dim(0, xs[2], false), window.out_dim(1, xs[3], false));
    if *os != [xs[0], og * k * 2, oh, ow] {
        return Err(op_err!("offset must have shape {:?}, got {os:?}", [xs[0], og * k * 2, oh, ow]));
    }
    if let Some(b) = opt(inputs, 3) {
        same_dtype(x, "X", b, "B")?;
        if b.ty.shape != [ws[0]] {
            return Err(op_err!("B must have shape [{}], got {:?}", ws[0], b.ty.shape));
        }
    }
    if let Some(m) = opt(inputs, 4) {
        same_dtype(x, "X", m, "mask")?;
        if m.ty.shape != [xs[0], og * k, oh, ow] {
            return Err(op_err!("mask must have shape {:?}, got {:?}", [xs[0], og * k, oh, ow], m.ty.shape));
        }
    }
    Ok(TensorType::new(d, vec![xs[0], ws[0], oh, ow]))
}

/// MaxUnpool's inferred (unpadded) shape.
pub fn max_unpool_inferred(window: &crate::op::Window, xs: &[usize]) -> Result<Vec<usize>, OpError> {
    let r = window.spatial_rank();
    if xs.len() != r + 2 || r == 0 {
        return Err(op_err!("X of shape {xs:?} does not match a {r}-D kernel"));
    }
    let mut out = xs[..2].to_vec();
    for i in 0..r {
        let full = xs[i + 2].saturating_sub(1) * window.strides[i] + window.kernel_shape[i];
        let pads = window.pads[i] + window.pads[i + r];
        out.push(full.checked_sub(pads).ok_or_else(|| op_err!("pads {:?} exceed the unpooled size", window.pads))?);
    }
    Ok(out)
}

pub(super) fn max_unpool(window: &crate::op::Window, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 2, 3)?;
    let x = req(inputs, 0, "X")?;
    let i = req(inputs, 1, "I")?;
    dtype(i, "I", |d| d == DType::I64, "i64")?;
    if i.ty.shape != x.ty.shape {
        return Err(op_err!("I must have X's shape {:?}, got {:?}", x.ty.shape, i.ty.shape));
    }
    let inferred = max_unpool_inferred(window, &x.ty.shape)?;
    let shape = match opt(inputs, 2) {
        None => inferred,
        Some(s) => {
            let v = const_ints(s, "output_shape", false)?;
            let v: Vec<usize> = v.iter().map(|&d| usize::try_from(d).map_err(|_| op_err!("negative output_shape {v:?}"))).collect::<Result<_, _>>()?;
            if v.len() != inferred.len() || v.iter().zip(&inferred).any(|(a, b)| a < b) {
                return Err(op_err!("output_shape {v:?} is smaller than the unpooled shape {inferred:?}"));
            }
            v
        }
    };
    Ok(TensorType::new(x.ty.dtype, shape))
}

pub(super) fn tree_ensemble(a: &crate::op::TreeEnsembleAttrs, inputs: Inputs<'_, '_>) -> Result<TensorType, OpError> {
    arity(inputs, 1, 1)?;
    let x = req(inputs, 0, "X")?;
    let d = dtype(x, "X", is_float, "a float")?;
    rank_eq(x, "X", 2)?;
    crate::eval::tree::check_trees(a, x.ty.shape[1])?;
    Ok(TensorType::new(d, vec![x.ty.shape[0], a.n_targets]))
}
