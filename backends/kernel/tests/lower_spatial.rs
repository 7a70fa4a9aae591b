//! Sampling-family lowering (GridSample, AffineGrid, BitCast) vs the
//! reference evaluator, over every mode/padding combination, plus
//! hand-computed reference values.
mod common;
use common::*;
use onnxc_ir::eval::eval_op;
use onnxc_ir::op::{GridPadding, ResizeMode};
use onnxc_ir::{DType, Op, Tensor};

#[test]
fn grid_sample_all_modes_match_eval() {
    for r in [2usize, 3] {
        for mode in [ResizeMode::Nearest, ResizeMode::Linear, ResizeMode::Cubic] {
            if r == 3 && mode == ResizeMode::Cubic {
                continue; // bicubic is 2-D only in ONNX
            }
            for padding in [GridPadding::Zeros, GridPadding::Border, GridPadding::Reflection] {
                for align_corners in [false, true] {
                    let mut g = G::new();
                    let xs: Vec<usize> = [2, 2, 4, 3, 5][..r + 2].to_vec();
                    let x = g.input(DType::F32, &xs);
                    let mut gs = vec![2usize, 3, 4, 2][..r + 1].to_vec();
                    gs.push(r);
                    // Coordinates beyond [-1, 1] exercise the padding modes.
                    let n: usize = gs.iter().product();
                    let grid = Tensor::from_f64(DType::F32, gs.clone(), &rand_vals(n, 7 + r as u64, -1.7, 1.7));
                    let grid = g.input_with(grid);
                    let y = g.node(Op::GridSample { mode, padding, align_corners }, vec![Some(x), Some(grid)]);
                    g.output(y);
                    g.check();
                }
            }
        }
    }
}

#[test]
fn grid_sample_hand_computed() {
    // X = [[0, 1], [2, 3]]; bilinear at the center is the mean, and a
    // point left of the image with zeros padding fades to half of column 0.
    let x = Tensor::from_vec(&[1, 1, 2, 2][..], vec![0f32, 1., 2., 3.]);
    let grid = Tensor::from_vec(&[1, 1, 2, 2][..], vec![0f32, 0., -1., -1.]);
    let op = Op::GridSample { mode: ResizeMode::Linear, padding: GridPadding::Zeros, align_corners: false };
    let y = eval_op(&op, &[Some(&x), Some(&grid)], &[tt(DType::F32, &[1, 1, 1, 2])]).unwrap();
    // (-1, -1) maps to pixel (-0.5, -0.5): a quarter of X[0, 0] = 0.
    assert_eq!(y[0].to_vec::<f32>(), vec![1.5, 0.0]);
    let op = Op::GridSample { mode: ResizeMode::Nearest, padding: GridPadding::Border, align_corners: true };
    let grid = Tensor::from_vec(&[1, 1, 2, 2][..], vec![3f32, -3., 0.4, 0.6]);
    let y = eval_op(&op, &[Some(&x), Some(&grid)], &[tt(DType::F32, &[1, 1, 1, 2])]).unwrap();
    assert_eq!(y[0].to_vec::<f32>(), vec![1.0, 3.0]);
}

#[test]
fn affine_grid_matches_eval_and_identity() {
    for (r, size) in [(2usize, vec![2i64, 3, 4, 5]), (3, vec![1, 1, 2, 3, 4])] {
        for align_corners in [false, true] {
            let mut g = G::new();
            let th = g.input(DType::F32, &[size[0] as usize, r, r + 1]);
            let s = g.ints(&size);
            let y = g.node(Op::AffineGrid { align_corners }, vec![Some(th), Some(s)]);
            g.output(y);
            g.check();
        }
    }
    // The identity transform reproduces the base grid.
    let th = Tensor::from_vec(&[1, 2, 3][..], vec![1f32, 0., 0., 0., 1., 0.]);
    let size = Tensor::from_vec(&[4][..], vec![1i64, 1, 1, 2]);
    let y = eval_op(&Op::AffineGrid { align_corners: false }, &[Some(&th), Some(&size)], &[]).unwrap();
    assert_eq!(y[0].shape(), &[1, 1, 2, 2]);
    assert_eq!(y[0].to_vec::<f32>(), vec![-0.5, 0.0, 0.5, 0.0]);
}

#[test]
fn bitcast_reinterprets_bits() {
    let mut g = G::new();
    let x = g.input_with(Tensor::from_vec(&[3][..], vec![1.0f32, -2.5, 0.0]));
    let y = g.node(Op::BitCast { to: DType::I32 }, vec![Some(x)]);
    g.output(y);
    g.check();
    let t = Tensor::from_vec(&[2][..], vec![1.0f32, -0.0]);
    let y = eval_op(&Op::BitCast { to: DType::U32 }, &[Some(&t)], &[]).unwrap();
    assert_eq!(y[0].to_vec::<u32>(), vec![0x3f80_0000, 0x8000_0000]);
    let mut g = G::new();
    let x = g.input_with(Tensor::from_vec(&[3][..], vec![0u8, 1, 7]));
    let y = g.node(Op::BitCast { to: DType::Bool }, vec![Some(x)]);
    g.output(y);
    g.check();
}
