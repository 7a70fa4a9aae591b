//! Resize-family lowering vs the reference evaluator.
mod common;
use common::*;
use onnxc_ir::op::{AspectPolicy, CoordMode, NearestMode, ResizeAttrs, ResizeMode, Window};
use onnxc_ir::{DType, Op, Tensor};

fn attrs(mode: ResizeMode, coord: CoordMode) -> ResizeAttrs {
    ResizeAttrs {
        mode,
        coord,
        nearest: NearestMode::RoundPreferFloor,
        cubic_coeff_a: -0.75,
        exclude_outside: false,
        extrapolation_value: 0.0,
        antialias: false,
        aspect: AspectPolicy::Stretch,
        axes: None,
    }
}

fn resize(a: ResizeAttrs, d: DType, roi: Option<Vec<f32>>, scales: Option<Vec<f32>>, sizes: Option<Vec<i64>>) {
    let mut g = G::new();
    let x = g.input(d, &[1, 2, 4, 5]);
    let r = roi.map(|v| g.konst(Tensor::from_vec(vec![v.len()], v)));
    let s = scales.map(|v| g.konst(Tensor::from_vec(vec![v.len()], v)));
    let z = sizes.map(|v| g.ints(&v));
    let y = g.node(Op::Resize(a), vec![Some(x), r, s, z]);
    g.output(y);
    g.check_tol(1e-4, 1e-4);
}

#[test]
fn resize_modes_and_coordinates() {
    let coords = [
        CoordMode::HalfPixel,
        CoordMode::HalfPixelSymmetric,
        CoordMode::PytorchHalfPixel,
        CoordMode::AlignCorners,
        CoordMode::Asymmetric,
    ];
    for mode in [ResizeMode::Nearest, ResizeMode::Linear, ResizeMode::Cubic] {
        for coord in coords {
            for sc in [vec![1.0, 1.0, 1.7, 0.6], vec![1.0, 1.0, 0.5, 2.0]] {
                resize(attrs(mode, coord), DType::F32, None, Some(sc), None);
            }
            resize(attrs(mode, coord), DType::F32, None, None, Some(vec![1, 2, 3, 9]));
        }
    }
}

#[test]
fn resize_options() {
    let mut a = attrs(ResizeMode::Cubic, CoordMode::HalfPixel);
    a.exclude_outside = true;
    a.cubic_coeff_a = -0.5;
    resize(a, DType::F32, None, Some(vec![1.0, 1.0, 0.8, 1.5]), None);
    for mode in [ResizeMode::Linear, ResizeMode::Cubic] {
        let mut a = attrs(mode, CoordMode::HalfPixel);
        a.antialias = true;
        resize(a, DType::F32, None, Some(vec![1.0, 1.0, 0.5, 0.6]), None);
    }
    let mut a = attrs(ResizeMode::Linear, CoordMode::TfCropAndResize);
    a.extrapolation_value = 10.0;
    a.axes = Some(vec![3, 2]);
    resize(a, DType::F32, Some(vec![0.2, 0.4, 1.2, 0.9]), None, Some(vec![4, 3]));
    for aspect in [AspectPolicy::NotLarger, AspectPolicy::NotSmaller] {
        for nearest in [NearestMode::Ceil, NearestMode::Floor, NearestMode::RoundPreferCeil] {
            let mut a = attrs(ResizeMode::Nearest, CoordMode::Asymmetric);
            a.aspect = aspect;
            a.nearest = nearest;
            a.axes = Some(vec![2, 3]);
            resize(a, DType::I32, None, None, Some(vec![7, 8]));
        }
    }
    resize(attrs(ResizeMode::Linear, CoordMode::HalfPixel), DType::F16, None, Some(vec![1.0, 1.0, 2.0, 2.0]), None);
}

fn win(k: &[usize], s: &[usize], p: &[usize], d: &[usize]) -> Window {
    Window { kernel_shape: k.to_vec(), strides: s.to_vec(), pads: p.to_vec(), dilations: d.to_vec() }
}

#[test]
fn conv_transpose_variants() {
    let cases = [
        (vec![1, 2, 3, 3], vec![2, 3, 3, 3], win(&[3, 3], &[1, 1], &[0; 4], &[1, 1]), 1, vec![0, 0]),
        (vec![1, 2, 3, 4], vec![2, 2, 3, 2], win(&[3, 2], &[3, 2], &[1, 0, 1, 1], &[1, 1]), 1, vec![1, 1]),
        (vec![2, 4, 3, 3], vec![4, 1, 2, 2], win(&[2, 2], &[2, 2], &[0; 4], &[2, 1]), 2, vec![0, 0]),
        (vec![1, 1, 5], vec![1, 2, 3], win(&[3], &[2], &[1, 0], &[1]), 1, vec![0]),
    ];
    for (xs, ws, w, group, op) in cases {
        for bias in [false, true] {
            let mut g = G::new();
            let x = g.input(DType::F32, &xs);
            let wt = g.input(DType::F32, &ws);
            let b = bias.then(|| g.input(DType::F32, &[ws[1] * group]));
            let y = g.node(Op::ConvTranspose { window: w.clone(), group, output_padding: op.clone() }, vec![Some(x), Some(wt), b]);
            g.output(y);
            g.check();
        }
    }
}

#[test]
fn lp_pool_variants() {
    for p in [1i64, 2, 3] {
        for (w, ceil_mode) in [
            (win(&[2, 2], &[1, 1], &[0; 4], &[1, 1]), false),
            (win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), true),
            (win(&[2, 2], &[1, 1], &[0; 4], &[2, 2]), false),
        ] {
            let mut g = G::new();
            let x = g.input(DType::F32, &[1, 2, 6, 6]);
            let y = g.node(Op::LpPool { window: w, p, ceil_mode }, vec![Some(x)]);
            g.output(y);
            g.check_tol(1e-4, 1e-4);
        }
    }
}
