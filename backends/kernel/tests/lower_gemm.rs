//! The packed GEMM kernel (MatMul, Gemm, Conv as implicit GEMM) on shapes
//! that hit every edge: sizes below, at and above the register tile, K above
//! the K block (partial sums kept in the output), constant and run-time
//! operands, batches, groups, padding, strides and dilations.

mod common;
use common::*;
use onnxc_ir::op::Window;
use onnxc_ir::{DType, Op};

fn matmul(sa: &[usize], sb: &[usize], const_b: bool) {
    let mut g = G::new();
    let a = g.input(DType::F32, sa);
    let b = if const_b { g.konst(rand_tensor(DType::F32, sb, 77)) } else { g.input(DType::F32, sb) };
    let y = g.node(Op::MatMul, vec![Some(a), Some(b)]);
    g.output(y);
    g.check_tol(1e-4, 1e-4);
}

#[test]
fn matmul_edges() {
    for &(m, n, k) in &[(1, 1, 1), (1, 17, 5), (5, 15, 3), (6, 16, 8), (7, 33, 300), (13, 16, 257), (12, 48, 64), (2, 3, 600)] {
        for const_b in [false, true] {
            matmul(&[m, k], &[k, n], const_b);
        }
    }
}

#[test]
fn matmul_batched_and_vectors() {
    matmul(&[2, 3, 7, 5], &[5, 18], true);
    matmul(&[2, 1, 7, 5], &[3, 5, 18], false);
    matmul(&[9], &[9, 20], true);
    matmul(&[4, 9], &[9], false);
}

fn gemm(m: usize, n: usize, k: usize, ta: bool, tb: bool, alpha: f32, beta: f32, c: Option<&[usize]>) {
    let mut g = G::new();
    let a = g.input(DType::F32, &if ta { [k, m] } else { [m, k] });
    let b = g.konst(rand_tensor(DType::F32, &if tb { [n, k] } else { [k, n] }, 5));
    let c = c.map(|s| g.input(DType::F32, s));
    let y = g.node(Op::Gemm { alpha, beta, trans_a: ta, trans_b: tb }, vec![Some(a), Some(b), c]);
    g.output(y);
    g.check_tol(1e-4, 1e-4);
}

#[test]
fn gemm_variants() {
    gemm(1, 40, 30, false, true, 1.0, 1.0, Some(&[40]));
    gemm(7, 17, 9, true, false, 0.5, 2.0, Some(&[7, 17]));
    gemm(7, 17, 9, true, true, 1.0, 1.0, Some(&[7, 1]));
    gemm(6, 32, 270, false, false, 1.5, 1.0, None);
    gemm(3, 5, 4, false, true, 1.0, 1.0, Some(&[1, 5]));
}

fn win(k: &[usize], s: &[usize], p: &[usize], d: &[usize]) -> Window {
    Window { kernel_shape: k.to_vec(), strides: s.to_vec(), pads: p.to_vec(), dilations: d.to_vec() }
}

fn conv(xs: &[usize], ws: &[usize], w: Window, group: usize, bias: bool) {
    let mut g = G::new();
    let x = g.input(DType::F32, xs);
    let wt = g.konst(rand_tensor(DType::F32, ws, 9));
    let b = if bias { Some(g.konst(rand_tensor(DType::F32, &[ws[0]], 10))) } else { None };
    let y = g.node(Op::Conv { window: w, group }, vec![Some(x), Some(wt), b]);
    g.output(y);
    g.check_tol(1e-4, 1e-4);
}

#[test]
fn conv_implicit_gemm() {
    conv(&[1, 3, 7, 7], &[4, 3, 3, 3], win(&[3, 3], &[1, 1], &[0, 0, 0, 0], &[1, 1]), 1, true);
    conv(&[2, 3, 8, 9], &[7, 3, 3, 3], win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]), 1, false);
    conv(&[1, 4, 9, 9], &[6, 2, 3, 2], win(&[3, 2], &[1, 2], &[2, 1, 0, 1], &[2, 1]), 2, true);
    conv(&[1, 2, 11], &[3, 2, 4], win(&[4], &[3], &[2, 1], &[1]), 1, true);
    conv(&[1, 5, 5, 5], &[17, 5, 1, 1], win(&[1, 1], &[1, 1], &[0, 0, 0, 0], &[1, 1]), 1, true); // direct 1x1
    conv(&[1, 30, 6, 6], &[9, 30, 3, 3], win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), 1, true); // K = 270 > KC
    conv(&[1, 8, 6, 6], &[8, 2, 3, 3], win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), 4, false); // grouped
    // More output positions than one N block (im2col packed in several blocks, a partial last one).
    conv(&[1, 3, 19, 21], &[5, 3, 3, 3], win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), 1, true);
    conv(&[1, 3, 40, 41], &[7, 3, 3, 3], win(&[3, 3], &[2, 2], &[1, 0, 1, 1], &[1, 1]), 1, false);
    // Padding zeros stored as fixed runs (pads up to 8 per side) and as loops (wider).
    conv(&[1, 2, 12, 30], &[3, 2, 7, 7], win(&[7, 7], &[2, 2], &[3, 3, 3, 3], &[1, 1]), 1, true);
    conv(&[1, 2, 5, 6], &[3, 2, 3, 11], win(&[3, 11], &[1, 1], &[1, 10, 1, 9], &[1, 1]), 1, false);
}

#[test]
fn packed_kernels_are_used() {
    let mut g = G::new();
    let x = g.input(DType::F32, &[1, 3, 8, 8]);
    let w = g.konst(rand_tensor(DType::F32, &[4, 3, 3, 3], 3));
    let c = g.node(Op::Conv { window: win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), group: 1 }, vec![Some(x), Some(w), None]);
    let b = g.konst(rand_tensor(DType::F32, &[8, 5], 4));
    let y = g.node(Op::MatMul, vec![Some(c), Some(b)]);
    g.output(y);
    let plan = onnxc_passes::plan(&g.g);
    let p = onnxc_kernel::lower::lower_graph(&g.g, &plan, "t").unwrap();
    let names: Vec<&str> = p.kernels.iter().map(|k| k.name.as_str()).collect();
    assert!(names.iter().any(|n| n.ends_with("conv_gemm")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("matmul_gemm")), "{names:?}");
    // Packing scratch lives after the planned values.
    assert!(p.workspace_size > plan.size);
}


#[test]
fn scalar_backend_tiles() {
    use onnxc_kernel::target::Codegen;
    // MatMul sizes around the small scalar tile, K above the K block.
    for &(m, n, k, const_b) in &[(1, 1, 1, true), (5, 7, 3, false), (9, 13, 300, true), (4, 3, 8, false)] {
        let mut g = G::new();
        let a = g.input(DType::F32, &[m, k]);
        let b = if const_b { g.konst(rand_tensor(DType::F32, &[k, n], 7)) } else { g.input(DType::F32, &[k, n]) };
        let y = g.node(Op::MatMul, vec![Some(a), Some(b)]);
        g.output(y);
        g.check_codegen(Codegen::Scalar);
    }
    let mut g = G::new();
    let x = g.input(DType::F32, &[1, 5, 7, 6]);
    let w = g.konst(rand_tensor(DType::F32, &[7, 5, 3, 3], 3));
    let y = g.node(Op::Conv { window: win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]), group: 1 }, vec![Some(x), Some(w), None]);
    g.output(y);
    g.check_codegen(Codegen::Scalar);
    g.check_codegen(Codegen::Vectorizing);
    let mut g = G::new();
    let x = g.input(DType::F32, &[1, 4, 9, 13]);
    let w = g.konst(rand_tensor(DType::F32, &[5, 4, 3, 3], 3));
    let y = g.node(Op::Conv { window: win(&[3, 3], &[1, 1], &[0, 1, 1, 0], &[1, 1]), group: 1 }, vec![Some(x), Some(w), None]);
    g.output(y);
    g.check_codegen(Codegen::Scalar);
    g.check_codegen(Codegen::Vectorizing);
}
