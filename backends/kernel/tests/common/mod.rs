//! Shared harness: build a small graph, lower it, run it in the KIR
//! interpreter and compare with the reference evaluator.
#![allow(dead_code)]

use onnxc_ir::{DType, Graph, Op, Tensor, TensorType, ValueId};
use onnxc_kernel::interp::run_program;
use onnxc_kernel::lower::lower_graph;

/// Deterministic pseudo-random values in [lo, hi).
pub fn rand_vals(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

pub fn rand_tensor(d: DType, shape: &[usize], seed: u64) -> Tensor {
    let n = shape.iter().product();
    let (lo, hi) = match d {
        DType::Bool => (0.0, 2.0),
        DType::U8 | DType::U16 | DType::U32 | DType::U64 => (0.0, 20.0),
        d if d.is_int() => (-20.0, 20.0),
        _ => (-3.0, 3.0),
    };
    let v: Vec<f64> = rand_vals(n, seed, lo, hi);
    let v: Vec<f64> = if d.is_float() { v } else { v.into_iter().map(f64::floor).collect() };
    Tensor::from_f64(d, shape.to_vec(), &v)
}

pub struct G {
    pub g: Graph,
    pub inputs: Vec<Tensor>,
    seed: u64,
}

impl G {
    pub fn new() -> G {
        G { g: Graph::new(), inputs: Vec::new(), seed: 1 }
    }
    /// A graph input filled with random data.
    pub fn input(&mut self, d: DType, shape: &[usize]) -> ValueId {
        self.seed += 1;
        self.input_with(rand_tensor(d, shape, self.seed))
    }
    /// A graph input with the given data.
    pub fn input_with(&mut self, t: Tensor) -> ValueId {
        let id = self.g.add_input(format!("in{}", self.inputs.len()), t.ty().clone());
        self.inputs.push(t);
        id
    }
    pub fn konst(&mut self, t: Tensor) -> ValueId {
        let n = self.g.values.len();
        self.g.add_const(format!("c{n}"), t)
    }
    pub fn ints(&mut self, v: &[i64]) -> ValueId {
        self.konst(Tensor::from_vec(vec![v.len()], v.to_vec()))
    }
    pub fn node(&mut self, op: Op, inputs: Vec<Option<ValueId>>) -> ValueId {
        self.node_n(op, inputs, 1)[0]
    }
    pub fn node_n(&mut self, op: Op, inputs: Vec<Option<ValueId>>, n: usize) -> Vec<ValueId> {
        let k = self.g.nodes.len();
        let names: Vec<String> = (0..n).map(|i| format!("n{k}_o{i}")).collect();
        self.g.add_node(format!("n{k}"), op, inputs, &names).unwrap_or_else(|e| panic!("add_node: {e}"))
    }
    pub fn output(&mut self, v: ValueId) {
        self.g.outputs.push(v);
    }
    /// Lowers, interprets and compares every output with `eval_graph`.
    pub fn check(&self) {
        self.check_tol(1e-4, 1e-5)
    }
    pub fn check_tol(&self, rtol: f64, atol: f64) {
        let plan = onnxc_passes::plan(&self.g);
        let p = lower_graph(&self.g, &plan, "t").unwrap_or_else(|e| panic!("lower: {e}"));
        self.run_and_compare(&p, rtol, atol);
    }
    /// Lowers for `codegen` on the host (the GEMM tile depends on it),
    /// interprets, compares with rtol = atol = 1e-4, and returns the program.
    pub fn check_codegen(&self, codegen: onnxc_kernel::target::Codegen) -> onnxc_kernel::program::Program {
        let plan = onnxc_passes::plan(&self.g);
        let p = onnxc_kernel::lower::lower_graph_for_codegen(&self.g, &plan, "t", &onnxc_kernel::Target::host(), codegen)
            .unwrap_or_else(|e| panic!("lower: {e}"));
        self.run_and_compare(&p, 1e-4, 1e-4);
        p
    }
    fn run_and_compare(&self, p: &onnxc_kernel::program::Program, rtol: f64, atol: f64) {
        let ins: Vec<&[u8]> = self.inputs.iter().map(|t| &t.bytes()[..]).collect();
        let mut outs = vec![Vec::new(); p.outputs.len()];
        run_program(p, &ins, &mut outs).unwrap_or_else(|e| panic!("interp: {e}"));
        let want = onnxc_ir::eval::eval_graph(&self.g, &self.inputs).unwrap_or_else(|e| panic!("eval: {e}"));
        assert_eq!(outs.len(), want.len());
        for (i, (o, w)) in outs.into_iter().zip(want).enumerate() {
            let got = Tensor::from_bytes(w.ty().clone(), o.into()).expect("output size");
            compare(i, &got, &w, rtol, atol);
        }
    }
}

pub fn compare(i: usize, got: &Tensor, want: &Tensor, rtol: f64, atol: f64) {
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    assert_eq!(g.len(), w.len(), "output {i}: element count");
    let half = matches!(want.dtype(), DType::F16 | DType::BF16);
    let (rtol, atol) = if half { (rtol.max(1e-2), atol.max(1e-2)) } else { (rtol, atol) };
    for (k, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= atol + rtol * b.abs();
        assert!(ok, "output {i} ({}) element {k}: got {a}, want {b}\n got {:?}\nwant {:?}", want.ty(), &g[..g.len().min(16)], &w[..w.len().min(16)]);
    }
}

pub fn tt(d: DType, s: &[usize]) -> TensorType {
    TensorType::new(d, s.to_vec())
}
