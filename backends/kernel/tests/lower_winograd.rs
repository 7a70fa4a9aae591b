//! Winograd F(2×2,3×3) and F(4×4,3×3) convolution (`lower/winograd.rs`)
//! against the reference evaluator: padding 0/1/2 and asymmetric, odd and
//! tiny sizes (partial last tile row and column), channel counts off the
//! register tile, batches, several tile-row blocks, bias, fused epilogues.
//! One test function: the variant is chosen through environment variables,
//! which must not change while another test lowers.

mod common;
use common::*;
use onnxc_ir::fused::PostOp;
use onnxc_ir::op::{BinaryOp, UnaryOp, Window};
use onnxc_ir::{DType, Op};

fn win(p: [usize; 4]) -> Window {
    Window { kernel_shape: vec![3, 3], strides: vec![1, 1], pads: p.to_vec(), dilations: vec![1, 1] }
}

fn kernel_names(g: &G) -> Vec<String> {
    let plan = onnxc_passes::plan(&g.g);
    let p = onnxc_kernel::lower::lower_graph(&g.g, &plan, "t").unwrap();
    p.kernels.iter().map(|k| k.name.clone()).collect()
}

fn conv(xs: [usize; 4], k: usize, p: [usize; 4], bias: bool, fused: bool) -> G {
    let mut g = G::new();
    let x = g.input(DType::F32, &xs);
    let w = g.konst(rand_tensor(DType::F32, &[k, xs[1], 3, 3], 9));
    let b = bias.then(|| g.konst(rand_tensor(DType::F32, &[k], 10)));
    let op = Op::Conv { window: win(p), group: 1 };
    let y = if fused {
        let oh = xs[2] + p[0] + p[2] - 2;
        let ow = xs[3] + p[1] + p[3] - 2;
        let resid = g.input(DType::F32, &[xs[0], k, oh, ow]);
        let chan = g.input(DType::F32, &[1, k, 1, 1]);
        let post = vec![
            PostOp::Binary { op: BinaryOp::Add, input: 3, swap: false },
            PostOp::Unary(UnaryOp::Relu),
            PostOp::Binary { op: BinaryOp::Mul, input: 4, swap: true },
        ];
        g.node(Op::Fused { base: Box::new(op), base_inputs: 3, post }, vec![Some(x), Some(w), b, Some(resid), Some(chan)])
    } else {
        g.node(op, vec![Some(x), Some(w), b])
    };
    g.output(y);
    g
}

/// Largest error over the largest output magnitude, lowered and interpreted
/// vs the reference evaluator.
fn scaled_error(g: &G) -> f64 {
    let plan = onnxc_passes::plan(&g.g);
    let p = onnxc_kernel::lower::lower_graph(&g.g, &plan, "t").unwrap();
    let ins: Vec<&[u8]> = g.inputs.iter().map(|t| &t.bytes()[..]).collect();
    let mut outs = vec![Vec::new(); p.outputs.len()];
    onnxc_kernel::interp::run_program(&p, &ins, &mut outs).unwrap();
    let want = onnxc_ir::eval::eval_graph(&g.g, &g.inputs).unwrap().remove(0);
    let got = onnxc_ir::Tensor::from_bytes(want.ty().clone(), outs.remove(0).into()).unwrap().to_f64_vec();
    let want = want.to_f64_vec();
    let scale = want.iter().fold(0f64, |a, v| a.max(v.abs()));
    let err = got.iter().zip(&want).fold(0f64, |a, (x, y)| if x.is_finite() { a.max((x - y).abs()) } else { f64::INFINITY });
    err / scale.max(1e-30)
}

#[test]
fn winograd_matches_direct_conv() {
    let cases: &[([usize; 4], usize, [usize; 4], bool, bool)] = &[
        ([1, 3, 8, 8], 4, [1, 1, 1, 1], true, false),
        ([1, 5, 7, 9], 7, [0, 0, 0, 0], false, false),
        ([1, 6, 9, 5], 13, [2, 2, 2, 2], true, false),
        ([2, 17, 11, 13], 9, [1, 0, 2, 1], true, false),
        ([1, 4, 3, 3], 5, [1, 1, 1, 1], false, false),
        ([1, 4, 3, 4], 5, [0, 0, 0, 0], true, false),
        ([1, 20, 10, 12], 19, [1, 1, 1, 1], true, true),
        ([2, 7, 6, 7], 3, [1, 1, 1, 1], false, true),
    ];
    let mut worst = [0f64; 2];
    for mode in ["force2", "force4"] {
        std::env::set_var("ONNXC_WINOGRAD", mode);
        for budget in [None, Some("1")] {
            match budget {
                Some(v) => std::env::set_var("ONNXC_WINOGRAD_BUDGET", v), // one tile row per block
                None => std::env::remove_var("ONNXC_WINOGRAD_BUDGET"),
            }
            for &(xs, k, p, bias, fused) in cases {
                let g = conv(xs, k, p, bias, fused);
                let names = kernel_names(&g);
                assert!(names.iter().any(|n| n.ends_with("conv_winograd")), "{mode} {xs:?}: {names:?}");
                worst[(mode == "force4") as usize] = worst[(mode == "force4") as usize].max(scaled_error(&g));
            }
        }
    }
    // Blocks of 2 tile rows and a 1-row remainder block (odd tile-row count).
    for (mode, tiles) in [("force2", "12"), ("force4", "6")] {
        std::env::set_var("ONNXC_WINOGRAD", mode);
        std::env::set_var("ONNXC_WINOGRAD_TILES", tiles);
        let g = conv([1, 6, 17, 11], 5, [1, 1, 1, 1], true, true);
        worst[(mode == "force4") as usize] = worst[(mode == "force4") as usize].max(scaled_error(&g));
    }
    std::env::remove_var("ONNXC_WINOGRAD_TILES");
    // Winograd's error grows with the terms it cancels, not with the
    // result: bound it relative to the largest output.
    eprintln!("max |error| / max |y|: F(2x2) {:.2e}, F(4x4) {:.2e}", worst[0], worst[1]);
    assert!(worst[0] < 1e-5 && worst[1] < 1e-5, "{worst:?}");
    std::env::remove_var("ONNXC_WINOGRAD_BUDGET");
    // Off: the implicit GEMM; default: the cost rule declines tiny layers.
    std::env::set_var("ONNXC_WINOGRAD", "0");
    assert!(!kernel_names(&conv([1, 20, 10, 12], 19, [1; 4], true, false)).iter().any(|n| n.ends_with("conv_winograd")));
    std::env::remove_var("ONNXC_WINOGRAD");
    assert!(!kernel_names(&conv([1, 3, 8, 8], 4, [1; 4], true, false)).iter().any(|n| n.ends_with("conv_winograd")));
    // Not 3×3 stride 1: declined.
    let mut g = G::new();
    let x = g.input(DType::F32, &[1, 32, 16, 16]);
    let w = g.konst(rand_tensor(DType::F32, &[32, 32, 3, 3], 9));
    let op = Op::Conv { window: Window { kernel_shape: vec![3, 3], strides: vec![2, 2], pads: vec![1; 4], dilations: vec![1, 1] }, group: 1 };
    let y = g.node(op, vec![Some(x), Some(w), None]);
    g.output(y);
    assert!(!kernel_names(&g).iter().any(|n| n.ends_with("conv_winograd")));
}
