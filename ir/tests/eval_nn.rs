//! Reference evaluator: Conv, Gemm/MatMul, pooling, normalization, softmax.

use onnxc_ir::eval::eval_op;
use onnxc_ir::op::Window;
use onnxc_ir::tensor::Element;
use onnxc_ir::{DType, Op, Tensor, TensorType};

fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
    Tensor::from_vec(shape, v)
}

fn run_n(op: Op, inputs: &[Option<&Tensor>], n_out: usize) -> Result<Vec<Tensor>, String> {
    let dummy = vec![TensorType::new(DType::F32, vec![]); n_out];
    eval_op(&op, inputs, &dummy).map_err(|e| e.0)
}

fn run1(op: Op, inputs: &[&Tensor]) -> Tensor {
    let ins: Vec<Option<&Tensor>> = inputs.iter().map(|t| Some(*t)).collect();
    run_n(op, &ins, 1).unwrap().remove(0)
}

/// Deterministic pseudo-random values in [-1, 1).
fn rand(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn assert_close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "at {i}: {x} vs {y}");
    }
}

fn win(k: &[usize], s: &[usize], p: &[usize], d: &[usize]) -> Window {
    Window {
        kernel_shape: k.to_vec(),
        strides: s.to_vec(),
        pads: p.to_vec(),
        dilations: d.to_vec(),
    }
}

/// The textbook 7-nested-loop 2-D convolution.
#[allow(clippy::too_many_arguments)]
fn naive_conv(
    x: &[f32],
    xs: [usize; 4],
    w: &[f32],
    ws: [usize; 4],
    b: &[f32],
    win: &Window,
    group: usize,
) -> (Vec<f32>, [usize; 4]) {
    let [n, c, h, wd] = xs;
    let [m, cg, kh, kw] = ws;
    let oh = (h + win.pads[0] + win.pads[2] - win.dilations[0] * (kh - 1) - 1) / win.strides[0] + 1;
    let ow =
        (wd + win.pads[1] + win.pads[3] - win.dilations[1] * (kw - 1) - 1) / win.strides[1] + 1;
    let mg = m / group;
    let mut out = vec![0f32; n * m * oh * ow];
    for bi in 0..n {
        for oc in 0..m {
            let g = oc / mg;
            for y in 0..oh {
                for xo in 0..ow {
                    let mut acc = b[oc];
                    for ic in 0..cg {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (y * win.strides[0] + ky * win.dilations[0]) as isize
                                    - win.pads[0] as isize;
                                let ix = (xo * win.strides[1] + kx * win.dilations[1]) as isize
                                    - win.pads[1] as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let cin = g * cg + ic;
                                acc += x[((bi * c + cin) * h + iy as usize) * wd + ix as usize]
                                    * w[((oc * cg + ic) * kh + ky) * kw + kx];
                            }
                        }
                    }
                    out[((bi * m + oc) * oh + y) * ow + xo] = acc;
                }
            }
        }
    }
    let _ = c;
    (out, [n, m, oh, ow])
}

#[test]
fn conv_matches_naive_reference() {
    let cases: &[([usize; 4], [usize; 4], usize, Window)] = &[
        (
            [1, 3, 7, 8],
            [4, 3, 3, 3],
            1,
            win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]),
        ),
        (
            [2, 4, 9, 9],
            [6, 2, 3, 2],
            2,
            win(&[3, 2], &[2, 1], &[1, 0, 2, 1], &[1, 2]),
        ),
        (
            [1, 6, 5, 5],
            [6, 1, 3, 3],
            6,
            win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]),
        ),
        (
            [1, 5, 6, 6],
            [7, 5, 1, 1],
            1,
            win(&[1, 1], &[1, 1], &[0, 0, 0, 0], &[1, 1]),
        ),
        (
            [1, 3, 11, 10],
            [5, 3, 5, 4],
            1,
            win(&[5, 4], &[3, 2], &[2, 2, 2, 0], &[2, 1]),
        ),
    ];
    for (i, (xs, ws, group, w)) in cases.iter().enumerate() {
        let xv = rand(xs.iter().product(), i as u64);
        let wv = rand(ws.iter().product(), 100 + i as u64);
        let bv = rand(ws[0], 200 + i as u64);
        let (want, shape) = naive_conv(&xv, *xs, &wv, *ws, &bv, w, *group);
        let (x, wt, b) = (t(xs, xv), t(ws, wv), t(&[ws[0]], bv));
        let got = run1(
            Op::Conv {
                window: w.clone(),
                group: *group,
            },
            &[&x, &wt, &b],
        );
        assert_eq!(got.shape(), &shape, "case {i}");
        assert_close(&got.to_vec::<f32>(), &want, 1e-5);
    }
}

#[test]
fn conv_1d_and_f64_and_errors() {
    let x = t(&[1, 1, 5], vec![1f64, 2., 3., 4., 5.]);
    let w = t(&[1, 1, 2], vec![1f64, -1.]);
    let r = run1(
        Op::Conv {
            window: win(&[2], &[1], &[0, 1], &[1]),
            group: 1,
        },
        &[&x, &w],
    );
    assert_eq!(r.shape(), &[1, 1, 5]);
    assert_eq!(r.to_vec::<f64>(), vec![-1., -1., -1., -1., 5.]);
    let xi = t(&[1, 1, 2], vec![1i32, 2]);
    let wi = t(&[1, 1, 1], vec![1i32]);
    assert!(run_n(
        Op::Conv {
            window: win(&[1], &[1], &[0, 0], &[1]),
            group: 1
        },
        &[Some(&xi), Some(&wi)],
        1
    )
    .is_err());
    let w3 = t(&[1, 2, 2], vec![1f64; 4]);
    assert!(run_n(
        Op::Conv {
            window: win(&[2], &[1], &[0, 0], &[1]),
            group: 1
        },
        &[Some(&x), Some(&w3)],
        1
    )
    .is_err());
}

#[test]
fn matmul_batch_broadcast_and_vectors() {
    let a = t(&[2, 1, 2, 3], (0..12).map(|v| v as f32).collect());
    let b = t(&[3, 3, 2], (0..18).map(|v| v as f32).collect());
    let r = run1(Op::MatMul, &[&a, &b]);
    assert_eq!(r.shape(), &[2, 3, 2, 2]);
    let (av, bv, rv) = (a.to_vec::<f32>(), b.to_vec::<f32>(), r.to_vec::<f32>());
    for i0 in 0..2 {
        for i1 in 0..3 {
            for m in 0..2 {
                for n in 0..2 {
                    let want: f32 = (0..3)
                        .map(|k| av[i0 * 6 + m * 3 + k] * bv[i1 * 6 + k * 2 + n])
                        .sum();
                    assert_eq!(rv[((i0 * 3 + i1) * 2 + m) * 2 + n], want);
                }
            }
        }
    }
    let v = t(&[3], vec![1i64, 2, 3]);
    let m = t(&[3, 2], vec![1i64, 2, 3, 4, 5, 6]);
    let r = run1(Op::MatMul, &[&v, &m]);
    assert_eq!(r.shape(), &[2]);
    assert_eq!(r.to_vec::<i64>(), vec![22, 28]);
    let r = run1(Op::MatMul, &[&v, &v]);
    assert_eq!(r.shape(), &[] as &[usize]);
    assert_eq!(r.to_vec::<i64>(), vec![14]);
    assert!(run_n(Op::MatMul, &[Some(&m), Some(&m)], 1).is_err());
}

#[test]
fn matmul_large_matches_naive() {
    let (m, k, n) = (50, 300, 290);
    let (av, bv) = (rand(m * k, 1), rand(k * n, 2));
    let r = run1(
        Op::MatMul,
        &[&t(&[m, k], av.clone()), &t(&[k, n], bv.clone())],
    )
    .to_vec::<f32>();
    let want: Vec<f32> = (0..m * n)
        .map(|i| {
            (0..k)
                .map(|kk| av[i / n * k + kk] * bv[kk * n + i % n])
                .sum()
        })
        .collect();
    assert_close(&r, &want, 1e-4);
}

#[test]
fn gemm_transposes_and_bias() {
    let a = t(&[3, 2], vec![1f32, 4., 2., 5., 3., 6.]); // A^T = [[1,2,3],[4,5,6]]
    let b = t(&[2, 3], vec![1f32, 0., 1., 0., 1., 1.]); // B^T = [[1,0],[0,1],[1,1]]
    let c = t(&[2], vec![1f32, 2.]);
    let op = Op::Gemm {
        alpha: 2.0,
        beta: 0.5,
        trans_a: true,
        trans_b: true,
    };
    let r = run1(op, &[&a, &b, &c]);
    assert_eq!(r.shape(), &[2, 2]);
    assert_eq!(
        r.to_vec::<f32>(),
        vec![2. * 4. + 0.5, 2. * 5. + 1., 2. * 10. + 0.5, 2. * 11. + 1.]
    );
    let ai = t(&[1, 2], vec![3i64, 4]);
    let bi = t(&[2, 1], vec![5i64, 6]);
    let ci = t(&[1, 1], vec![(1i64 << 60) + 1]);
    let op = Op::Gemm {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: false,
    };
    assert_eq!(
        run1(op.clone(), &[&ai, &bi, &ci]).to_vec::<i64>(),
        vec![(1i64 << 60) + 40]
    );
    let bad = t(&[3, 3], vec![0i64; 9]);
    assert!(run_n(op, &[Some(&ai), Some(&bi), Some(&bad)], 1).is_err());
}

#[test]
fn pools() {
    let x = t(&[1, 1, 3, 3], (1..=9).map(|v| v as f32).collect());
    let w = win(&[2, 2], &[2, 2], &[0, 0, 0, 0], &[1, 1]);
    let r = run1(
        Op::MaxPool {
            window: w.clone(),
            ceil_mode: false,
        },
        &[&x],
    );
    assert_eq!(
        (r.shape(), r.to_vec::<f32>()),
        (&[1usize, 1, 1, 1][..], vec![5.])
    );
    let r = run_n(
        Op::MaxPool {
            window: w.clone(),
            ceil_mode: true,
        },
        &[Some(&x)],
        2,
    )
    .unwrap();
    assert_eq!(r[0].shape(), &[1, 1, 2, 2]);
    assert_eq!(r[0].to_vec::<f32>(), vec![5., 6., 8., 9.]);
    assert_eq!(r[1].to_vec::<i64>(), vec![4, 5, 7, 8]);
    let r = run1(
        Op::AveragePool {
            window: w.clone(),
            ceil_mode: true,
            count_include_pad: false,
        },
        &[&x],
    );
    assert_eq!(r.to_vec::<f32>(), vec![3., 4.5, 7.5, 9.]);
    let wp = win(&[3, 3], &[1, 1], &[1, 1, 1, 1], &[1, 1]);
    let r = run1(
        Op::AveragePool {
            window: wp.clone(),
            ceil_mode: false,
            count_include_pad: true,
        },
        &[&x],
    );
    assert_eq!(r.to_vec::<f32>()[0], 12. / 9.);
    let r = run1(
        Op::AveragePool {
            window: wp.clone(),
            ceil_mode: false,
            count_include_pad: false,
        },
        &[&x],
    );
    assert_eq!(r.to_vec::<f32>()[0], 3.);
    assert_eq!(r.to_vec::<f32>()[4], 5.);
    let xi = t(&[1, 1, 4], vec![1u8, 9, 3, 2]);
    let r = run1(
        Op::MaxPool {
            window: win(&[2], &[1], &[0, 0], &[2]),
            ceil_mode: false,
        },
        &[&xi],
    );
    assert_eq!(r.to_vec::<u8>(), vec![3, 9]);
    let g = run1(Op::GlobalAveragePool, &[&x]);
    assert_eq!(
        (g.shape(), g.to_vec::<f32>()),
        (&[1usize, 1, 1, 1][..], vec![5.])
    );
    let g = run1(Op::GlobalMaxPool, &[&x]);
    assert_eq!(g.to_vec::<f32>(), vec![9.]);
    assert!(run_n(Op::GlobalMaxPool, &[Some(&t(&[2], vec![1f32, 2.]))], 1).is_err());
}

#[test]
fn batch_norm_lrn_softmax_dropout() {
    let x = t(&[1, 2, 2], vec![1f32, 2., 3., 4.]);
    let p = |v: Vec<f32>| t(&[2], v);
    let (s, b, m, v) = (
        p(vec![1., 2.]),
        p(vec![0., 1.]),
        p(vec![1., 3.]),
        p(vec![4., 1.]),
    );
    let r = run1(
        Op::BatchNormalization { epsilon: 0.0 },
        &[&x, &s, &b, &m, &v],
    );
    assert_eq!(r.to_vec::<f32>(), vec![0., 0.5, 1., 3.]);

    let xl = t(&[1, 3, 1], vec![1f32, 2., 3.]);
    let r = run1(
        Op::Lrn {
            size: 3,
            alpha: 3.0,
            beta: 1.0,
            bias: 1.0,
        },
        &[&xl],
    )
    .to_vec::<f32>();
    assert_close(&r, &[1. / 6., 2. / 15., 3. / 14.], 1e-6);

    let xs = t(&[2, 3], vec![1f32, 2., 3., 0., 0., f32::NEG_INFINITY]);
    let r = run1(Op::Softmax { axis: -1 }, &[&xs]).to_vec::<f32>();
    let e: f32 = 1. + 1f32.exp() + 2f32.exp();
    assert_close(
        &r,
        &[1. / e, 1f32.exp() / e, 2f32.exp() / e, 0.5, 0.5, 0.],
        1e-6,
    );
    let r = run1(Op::LogSoftmax { axis: 0 }, &[&xs]).to_vec::<f32>();
    assert_close(
        &r[..2],
        &[
            (1f32.exp() / (1. + 1f32.exp())).ln(),
            (2f32.exp() / (1. + 2f32.exp())).ln(),
        ],
        1e-6,
    );
    let xh = t(&[2, 2], vec![3f32, 3., 1., 2.]);
    assert_eq!(
        run1(Op::Hardmax { axis: 1 }, &[&xh]).to_vec::<f32>(),
        vec![1., 0., 0., 1.]
    );

    let r = run_n(Op::Dropout, &[Some(&x)], 2).unwrap();
    assert_eq!(r[0], x);
    assert_eq!(r[1].to_vec::<bool>(), vec![true; 4]);
    let yes = t(&[], vec![true]);
    assert!(run_n(Op::Dropout, &[Some(&x), None, Some(&yes)], 1).is_err());
}

/// Throughput check for the folding/oracle hot path; run with
/// `cargo test -p onnxc-ir --test eval_nn -- --ignored --nocapture`.
#[test]
#[ignore]
fn conv_speed() {
    let layers: &[(usize, usize, usize, usize, usize)] = &[
        (64, 64, 56, 3, 1),
        (256, 64, 56, 1, 0),
        (512, 512, 7, 3, 1),
        (3, 64, 224, 7, 3),
    ];
    for &(c, m, hw, k, p) in layers {
        let s = if k == 7 { 2 } else { 1 };
        let x = t(&[1, c, hw, hw], rand(c * hw * hw, 1));
        let w = t(&[m, c, k, k], rand(m * c * k * k, 2));
        let op = Op::Conv {
            window: win(&[k, k], &[s, s], &[p, p, p, p], &[1, 1]),
            group: 1,
        };
        let t0 = std::time::Instant::now();
        let r = run1(op, &[&x, &w]);
        let dt = t0.elapsed().as_secs_f64();
        let flop = 2.0 * (r.numel() * c * k * k) as f64;
        println!(
            "conv c={c} m={m} hw={hw} k={k}: {:.1} ms, {:.2} GFLOP/s",
            dt * 1e3,
            flop / dt / 1e9
        );
    }
}

/// Every convolution of ResNet-50 (v1.5, batch 1, 4.1 GMAC) on random data:
/// the cost of folding or oracle-evaluating the whole network's convs.
#[test]
#[ignore]
fn resnet50_convs_speed() {
    let conv = |x: &Tensor, m: usize, k: usize, s: usize, seed: u64| {
        let c = x.shape()[1];
        let w = t(&[m, c, k, k], rand(m * c * k * k, seed));
        let p = k / 2;
        run1(
            Op::Conv {
                window: win(&[k, k], &[s, s], &[p, p, p, p], &[1, 1]),
                group: 1,
            },
            &[x, &w],
        )
    };
    let t0 = std::time::Instant::now();
    let x = t(&[1, 3, 224, 224], rand(3 * 224 * 224, 0));
    let mut x = conv(&x, 64, 7, 2, 1);
    x = run1(
        Op::MaxPool {
            window: win(&[3, 3], &[2, 2], &[1, 1, 1, 1], &[1, 1]),
            ceil_mode: false,
        },
        &[&x],
    );
    let mut seed = 2;
    for (stage, &(mid, blocks)) in [(64, 3), (128, 4), (256, 6), (512, 3)].iter().enumerate() {
        for b in 0..blocks {
            let s = if b == 0 && stage > 0 { 2 } else { 1 };
            seed += 4;
            if b == 0 {
                conv(&x, mid * 4, 1, s, seed); // projection shortcut
            }
            let y = conv(&x, mid, 1, 1, seed + 1);
            let y = conv(&y, mid, 3, s, seed + 2);
            x = conv(&y, mid * 4, 1, 1, seed + 3);
        }
    }
    assert_eq!(x.shape(), &[1, 2048, 7, 7]);
    println!(
        "ResNet-50 convolutions: {:.2} s",
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn absurd_windows_are_errors() {
    let x = t(&[1, 1, 4, 4], vec![0f32; 16]);
    let w = t(&[1, 1, 1, 1], vec![1f32]);
    let huge = win(&[1, 1], &[1, 1], &[usize::MAX, 0, 0, 0], &[1, 1]);
    assert!(run_n(
        Op::Conv {
            window: huge.clone(),
            group: 1
        },
        &[Some(&x), Some(&w)],
        1
    )
    .is_err());
    assert!(run_n(
        Op::MaxPool {
            window: huge,
            ceil_mode: false
        },
        &[Some(&x)],
        1
    )
    .is_err());
    let zero = win(&[1, 1], &[0, 1], &[0, 0, 0, 0], &[1, 1]);
    assert!(run_n(
        Op::Conv {
            window: zero,
            group: 1
        },
        &[Some(&x), Some(&w)],
        1
    )
    .is_err());
    assert!(run_n(
        Op::Conv {
            window: win(&[1, 1], &[1, 1], &[0; 4], &[1, 1]),
            group: 0
        },
        &[Some(&x), Some(&w)],
        1
    )
    .is_err());
}
