//! Parallel loops through `<p>_run`'s pool: outlined loops must give the
//! same bits with any pool (NULL, 1..3 threads) as the KIR interpreter, and
//! the pool must actually be used.

mod common;

use common::*;
use onnxc_kernel::builder::*;
use onnxc_kernel::kir::{Kernel, Scalar, Stmt};
use onnxc_runtime::{Pool, PoolAbi, TaskFn};
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A pool that counts `parallel_for` calls and tasks, then runs them on `inner`.
#[repr(C)]
struct Counting {
    abi: PoolAbi,
    calls: AtomicUsize,
    tasks: AtomicUsize,
    inner: Pool,
}

unsafe extern "C" fn counting_pf(pool: *const PoolAbi, n: usize, task: TaskFn, arg: *const c_void) {
    // SAFETY: only installed in a `Counting`, whose first field is the PoolAbi.
    let c = unsafe { &*(pool as *const Counting) };
    c.calls.fetch_add(1, Ordering::Relaxed);
    c.tasks.fetch_add(n, Ordering::Relaxed);
    // SAFETY: forwarded contract.
    unsafe { c.inner.parallel_for(n, task, arg) }
}

impl Counting {
    fn new(threads: usize) -> Counting {
        Counting {
            abi: PoolAbi {
                parallel_for: counting_pf,
            },
            calls: AtomicUsize::new(0),
            tasks: AtomicUsize::new(0),
            inner: Pool::new(threads),
        }
    }
    fn ptr(&self) -> *const u8 {
        self as *const Counting as *const u8
    }
}

const ROWS: i64 = 1000;
const COLS: i64 = 100;

/// Row 0 serially, then a parallel loop from row 1 with `step` that writes
/// rows `i..i+step` from captured locals, then a statement after the loop.
fn kernel(step: i64) -> Kernel {
    let mut b = KernelBuilder::new("rows");
    let x = b.input(Scalar::F32);
    let y = b.output(Scalar::F32);
    let f = |v| cf(Scalar::F32, v);
    b.for_loop(0, COLS, |b, j| b.store(y, j, f(-1.0)));
    let c = b.var(f(0.5));
    let cols = b.var(ci(COLS));
    b.par_for(1, ROWS, |b, i| {
        b.for_loop(0, step, |b, r| {
            let row = b.let_(add(i.clone(), r));
            b.if_(lt(row.clone(), ci(ROWS)), |b| {
                b.for_loop(0, Expr::Local(cols), |b, j| {
                    let at = add(mul(row.clone(), Expr::Local(cols)), j);
                    let v = add(
                        mul(load(x, at.clone()), Expr::Local(c)),
                        cast(Scalar::F32, row.clone()),
                    );
                    b.store(y, at, v);
                });
            });
        });
    });
    b.store(y, 1, Expr::Local(c));
    let mut k = b.finish();
    for s in &mut k.body {
        if let Stmt::For {
            parallel: true,
            step: st,
            ..
        } = s
        {
            *st = step;
        }
    }
    k
}

use onnxc_kernel::kir::Expr;

#[test]
fn outlined_loop_matches_interpreter_with_any_pool() {
    let n = (ROWS * COLS) as usize;
    let xs: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let input = bytes_of(&xs);
    for step in [1, 3] {
        let p = one_output_per_kernel(
            "rows",
            vec![io("x", Scalar::F32, n)],
            vec![(kernel(step), io("y", Scalar::F32, n))],
        );
        let want = interpret(&p, &[&input]);
        let lib = build(&p, &host_target());
        assert_eq!(lib.run(&p, &[&input]), want, "NULL pool, step {step}");
        for threads in [1, 2, 3] {
            let pool = Counting::new(threads);
            let got = lib.run_with_pool(&p, &[&input], pool.ptr());
            assert_eq!(got, want, "{threads} threads, step {step}");
            assert_eq!(
                pool.calls.load(Ordering::Relaxed),
                1,
                "the loop goes to the pool"
            );
            let trips = (ROWS - 1 + step - 1) / step;
            assert_eq!(pool.tasks.load(Ordering::Relaxed) as i64, trips.min(64));
        }
    }
}

#[test]
fn tiny_loops_stay_serial() {
    let mut b = KernelBuilder::new("tiny");
    let x = b.input(Scalar::F32);
    let y = b.output(Scalar::F32);
    b.par_for(0, 8, |b, i| b.store(y, i.clone(), load(x, i)));
    let p = one_output_per_kernel(
        "tiny",
        vec![io("x", Scalar::F32, 8)],
        vec![(b.finish(), io("y", Scalar::F32, 8))],
    );
    let input = bytes_of(&[1f32, 2., 3., 4., 5., 6., 7., 8.]);
    let lib = build(&p, &host_target());
    let pool = Counting::new(2);
    assert_eq!(
        lib.run_with_pool(&p, &[&input], pool.ptr()),
        vec![input.clone()]
    );
    assert_eq!(pool.calls.load(Ordering::Relaxed), 0);
}

/// A lowered graph (fused elementwise chain and a softmax, both parallel
/// over a batch-1 tensor's channels) gives the same bits on 2 threads.
#[test]
fn lowered_graph_is_bit_identical_on_two_threads() {
    let text = r#"graph(%0 "x": f32[1,64,32,32], %1 "y": f32[1,64,32,32]) {
  %2 "a": f32[1,64,32,32] = Binary(Add)(%0, %1)
  %3 "e": f32[1,64,32,32] = Unary(Exp)(%2)
  %4 "s": f32[1,64,32,32] = Softmax(axis: -1)(%3)
  return %4
}"#;
    let mut g = onnxc_ir::text::parse(text).unwrap();
    onnxc_passes::pipeline::run(&mut g, &Default::default()).unwrap();
    let plan = onnxc_passes::plan(&g);
    let p = onnxc_kernel::lower::lower_graph(&g, &plan, "par").unwrap();
    let n = 64 * 32 * 32;
    let a = bytes_of(
        &(0..n)
            .map(|i| ((i % 97) as f32 - 40.0) * 0.05)
            .collect::<Vec<_>>(),
    );
    let b = bytes_of(&(0..n).map(|i| ((i % 13) as f32) * 0.01).collect::<Vec<_>>());
    let lib = build(&p, &host_target());
    let serial = lib.run(&p, &[&a, &b]);
    let pool = Counting::new(2);
    let par = lib.run_with_pool(&p, &[&a, &b], pool.ptr());
    assert!(
        pool.calls.load(Ordering::Relaxed) >= 1,
        "no kernel used the pool"
    );
    assert_eq!(serial, par);
}

/// The C pool of `tests/c/onnxc_pool.h`, through the generic driver
/// `tests/c/run_model.c -t N`: same bytes as the NULL pool.
#[test]
fn c_driver_pool_gives_the_same_bytes() {
    let n = (ROWS * COLS) as usize;
    let p = one_output_per_kernel(
        "rows",
        vec![io("x", Scalar::F32, n)],
        vec![(kernel(3), io("y", Scalar::F32, n))],
    );
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("rows.o");
    let header = dir.path().join("rows.h");
    let out = onnxc_llvm::compile(&p, &host_target(), &Default::default()).unwrap();
    std::fs::write(&obj, &out.object).unwrap();
    std::fs::write(&header, onnxc_kernel::cabi::c_header(&p)).unwrap();
    let driver = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/c/run_model.c");
    let exe = dir.path().join("run");
    let st = std::process::Command::new("cc")
        .args(["-O1", "-std=c11", "-DPREFIX=rows", "-include"])
        .arg(&header)
        .arg(&driver)
        .arg(&obj)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("cc runs");
    assert!(st.success(), "building the C driver failed");
    let xs: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
    let input = dir.path().join("x.bin");
    std::fs::write(&input, bytes_of(&xs)).unwrap();
    let run = |threads: &str| {
        let y = dir.path().join(format!("y{threads}.bin"));
        let st = std::process::Command::new(&exe)
            .args(["-r", "3", "-t", threads])
            .arg(&input)
            .arg(&y)
            .status()
            .unwrap();
        assert!(st.success(), "driver with -t {threads}");
        std::fs::read(y).unwrap()
    };
    let serial = run("1");
    assert_eq!(serial, interpret(&p, &[&bytes_of(&xs)])[0]);
    for t in ["2", "4"] {
        assert_eq!(run(t), serial, "-t {t}");
    }
}

/// Hex of f32 values, for a `const` in the textual IR.
fn hex_f32(n: usize, f: impl Fn(usize) -> f32) -> String {
    (0..n)
        .flat_map(|i| f(i).to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The packed GEMM kernels split their block loops into chunks with their
/// own scratch (`gemm_kernel::emit_part`): a convolution split over output
/// positions (28×28), one split over output channels (7×7 positions), a
/// MatMul with two run-time operands and a Gemm with constant weights and a
/// fused Relu give the same bits with a NULL pool and with 1, 2 and 3
/// threads, and they do use the pool.
#[test]
fn gemm_and_conv_chunks_are_bit_identical_on_any_pool() {
    let w1 = hex_f32(64 * 32 * 9, |i| ((i % 23) as f32 - 11.0) * 0.01);
    let w2 = hex_f32(256 * 64 * 9, |i| ((i % 19) as f32 - 9.0) * 0.003);
    let w3 = hex_f32(256 * 512, |i| ((i % 29) as f32 - 14.0) * 0.002);
    let win = "(kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1])";
    let text = format!(
        r#"graph(%0 "x": f32[1,32,28,28], %1 "z": f32[1,64,7,7], %2 "a": f32[256,384], %3 "b": f32[384,256]) {{
  %4 "w1": f32[64,32,3,3] = const "{w1}"
  %5 "w2": f32[256,64,3,3] = const "{w2}"
  %6 "w3": f32[256,512] = const "{w3}"
  %7 "c1": f32[1,64,28,28] = Conv(window: {win}, group: 1)(%0, %4, _)
  %8 "c2": f32[1,256,7,7] = Conv(window: {win}, group: 1)(%1, %5, _)
  %9 "mm": f32[256,256] = MatMul(%2, %3)
  %10 "g": f32[256,512] = Gemm(alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false)(%9, %6, _)
  %11 "r": f32[256,512] = Unary(Relu)(%10)
  return %7, %8, %11
}}"#
    );
    let mut g = onnxc_ir::text::parse(&text).unwrap();
    onnxc_passes::pipeline::run(&mut g, &Default::default()).unwrap();
    let plan = onnxc_passes::plan(&g);
    let p = onnxc_kernel::lower::lower_graph(&g, &plan, "gemms").unwrap();
    let gen = |n: usize, s: usize| bytes_of(&(0..n).map(|i| (((i * s) % 101) as f32 - 50.0) * 0.02).collect::<Vec<_>>());
    let ins = [gen(32 * 28 * 28, 7), gen(64 * 49, 3), gen(256 * 384, 5), gen(384 * 256, 11)];
    let ins: Vec<&[u8]> = ins.iter().map(|v| v.as_slice()).collect();
    let lib = build(&p, &host_target());
    let serial = lib.run(&p, &ins);
    for threads in [1, 2, 3] {
        let pool = Counting::new(threads);
        assert_eq!(lib.run_with_pool(&p, &ins, pool.ptr()), serial, "{threads} threads");
        // Conv 28×28, conv 7×7, MatMul, Gemm (+ Relu).
        assert!(pool.calls.load(Ordering::Relaxed) >= 4, "the GEMM kernels use the pool");
    }
}

/// `tests/c/onnxc_pool.h` under stress (`tests/c/pool_stress.c`).
#[test]
fn c_pool_runs_every_task_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/c/pool_stress.c");
    let exe = dir.path().join("stress");
    let st = std::process::Command::new("cc").args(["-O1", "-std=c11"]).arg(&c).arg("-o").arg(&exe).status().expect("cc runs");
    assert!(st.success(), "building the pool stress test failed");
    let out = std::process::Command::new(&exe).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
