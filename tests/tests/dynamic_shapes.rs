//! Data-dependent output shapes through the C ABI: compiled NonZero,
//! Compress, Unique and TopK (run-time K) against the reference evaluator on
//! several inputs (in process and through the generic C driver, which reads
//! `<p>_output_dims`), and the compile error for a consumer of such a value.

use onnxc_ir::{DType, Graph, Op, Tensor, TensorType};
use onnxc_tests::native;

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("out{i}")).collect()
}

fn compile(g: &Graph) -> onnxc::Artifacts {
    onnxc::compile_graph(g.clone(), &onnxc::CompileOptions { name: "dyn".into(), ..Default::default() }).unwrap()
}

/// Runs the compiled graph on each input set and compares every output
/// (actual shape and bytes) with `eval_graph`.
fn check_against_eval(g: &Graph, cases: &[Vec<Tensor>]) {
    let art = compile(g);
    assert!(art.program.outputs.iter().any(|o| o.dynamic.is_some()), "an output is data-dependent");
    for inputs in cases {
        let want = onnxc_ir::eval::eval_graph(g, inputs).unwrap();
        let got = native::run_compiled(&art, inputs).unwrap();
        for (w, o) in want.iter().zip(&got) {
            assert_eq!(o.ty(), w.ty(), "inputs {inputs:?}");
            assert_eq!(o.bytes(), w.bytes(), "inputs {inputs:?}");
        }
    }
}

fn f32s(shape: &[usize], seed: u32, zero_every: u32) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n as u32)
        .map(|i| {
            let h = (i.wrapping_mul(2654435761).wrapping_add(seed.wrapping_mul(40503))) >> 7;
            if h % zero_every == 0 { 0.0 } else { (h % 7) as f32 - 3.0 }
        })
        .collect();
    Tensor::from_vec(shape.to_vec(), v)
}

#[test]
fn nonzero_matches_eval() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![3, 4]));
    let y = g.add_node("nz", Op::NonZero, vec![Some(x)], &names(1)).unwrap();
    g.outputs = y;
    let cases: Vec<Vec<Tensor>> = vec![
        vec![f32s(&[3, 4], 1, 2)],
        vec![f32s(&[3, 4], 2, 3)],
        vec![Tensor::from_vec(vec![3, 4], vec![0.0f32; 12])],
        vec![Tensor::from_vec(vec![3, 4], vec![1.0f32; 12])],
    ];
    check_against_eval(&g, &cases);
}

#[test]
fn compress_with_runtime_condition_matches_eval() {
    for axis in [None, Some(1), Some(-1)] {
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::new(DType::F32, vec![2, 4, 3]));
        let c = g.add_input("c", TensorType::new(DType::Bool, vec![3]));
        let y = g.add_node("cmp", Op::Compress { axis }, vec![Some(x), Some(c)], &names(1)).unwrap();
        g.outputs = y;
        let cases: Vec<Vec<Tensor>> = [[true, false, true], [false, false, false], [true, true, true], [false, true, false]]
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let c = Tensor::from_vec(vec![3], m.iter().map(|&b| b as u8).collect::<Vec<u8>>());
                let c = Tensor::from_bytes(TensorType::new(DType::Bool, vec![3]), c.bytes().clone()).unwrap();
                vec![f32s(&[2, 4, 3], i as u32, 5), c]
            })
            .collect();
        check_against_eval(&g, &cases);
    }
}

#[test]
fn unique_all_outputs_match_eval() {
    for (sorted, axis) in [(true, None), (false, None), (true, Some(0)), (false, Some(1))] {
        let mut g = Graph::new();
        let x = g.add_input("x", TensorType::new(DType::I64, vec![4, 3]));
        let y = g.add_node("u", Op::Unique { sorted, axis }, vec![Some(x)], &names(4)).unwrap();
        g.outputs = y;
        let cases: Vec<Vec<Tensor>> = [
            vec![3i64, 1, 3, 1, 2, 2, 3, 1, 3, 0, 0, 0],
            vec![5i64; 12],
            vec![1i64, 2, 3, 1, 2, 3, 4, 5, 6, 1, 2, 3],
        ]
        .into_iter()
        .map(|v| vec![Tensor::from_vec(vec![4, 3], v)])
        .collect();
        check_against_eval(&g, &cases);
    }
}

#[test]
fn top_k_with_runtime_k_matches_eval() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![2, 5]));
    let k = g.add_input("k", TensorType::new(DType::I64, vec![1]));
    let op = Op::TopK { axis: 1, largest: true, sorted: true };
    let y = g.add_node("t", op, vec![Some(x), Some(k)], &names(2)).unwrap();
    g.outputs = y;
    let cases: Vec<Vec<Tensor>> =
        (0..=5).map(|k| vec![f32s(&[2, 5], k as u32, 100), Tensor::from_vec(vec![1], vec![k as i64])]).collect();
    check_against_eval(&g, &cases);
}

#[test]
fn c_driver_reads_output_dims() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![2, 3]));
    let y = g.add_node("nz", Op::NonZero, vec![Some(x)], &names(1)).unwrap();
    g.outputs = y;
    let art = compile(&g);
    assert!(art.header.contains("static inline int dyn_output_dims(const void *workspace, size_t output_index, int64_t *dims)"));
    let dir = tempfile::tempdir().unwrap();
    let (obj, header, exe) = (dir.path().join("dyn.o"), dir.path().join("dyn.h"), dir.path().join("run_dyn"));
    std::fs::write(&obj, &art.object).unwrap();
    std::fs::write(&header, &art.header).unwrap();
    native::build_driver("dyn", &header, &[&obj], &exe).unwrap();
    let input = Tensor::from_vec(vec![2, 3], vec![0.0f32, 1.0, 0.0, 2.0, 0.0, 3.0]);
    let run = native::run_driver(&exe, std::slice::from_ref(&input), &art.program.outputs, dir.path(), 1).unwrap();
    let want = Tensor::from_vec(vec![2, 3], vec![0i64, 1, 1, 1, 0, 2]);
    assert_eq!(run.outputs[0].ty(), want.ty());
    assert_eq!(run.outputs[0].bytes(), want.bytes());
}

#[test]
fn consumers_of_data_dependent_values_are_rejected() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![4]));
    let c = g.add_input("c", TensorType::new(DType::Bool, vec![4]));
    let y = g.add_node("cmp", Op::Compress { axis: None }, vec![Some(x), Some(c)], &names(1)).unwrap();
    let add = Op::Binary(onnxc_ir::op::BinaryOp::Add);
    let z = g.add_node("add", add, vec![Some(y[0]), Some(y[0])], &["z".to_string()]).unwrap();
    g.outputs = z;
    let err = onnxc::compile_graph(g, &onnxc::CompileOptions::default()).err().unwrap().to_string();
    assert!(err.contains("data-dependent shape of `out0` cannot feed `add` (Add)"), "{err}");
}

#[test]
fn one_input_elementwise_ops_pass_the_extent_through() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![2, 3]));
    let c = g.add_input("c", TensorType::new(DType::Bool, vec![3]));
    let y = g.add_node("cmp", Op::Compress { axis: Some(1) }, vec![Some(x), Some(c)], &names(1)).unwrap();
    let z = g.add_node("neg", Op::Unary(onnxc_ir::op::UnaryOp::Neg), vec![Some(y[0])], &["z".to_string()]).unwrap();
    let w = g.add_node("cast", Op::Cast { to: DType::I32 }, vec![Some(z[0])], &["w".to_string()]).unwrap();
    g.outputs = vec![w[0], y[0]];
    let cases: Vec<Vec<Tensor>> = [[true, false, true], [false, false, false], [false, true, true]]
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let bytes: Vec<u8> = m.iter().map(|&b| b as u8).collect();
            let c = Tensor::from_bytes(TensorType::new(DType::Bool, vec![3]), bytes.into()).unwrap();
            vec![f32s(&[2, 3], i as u32, 4), c]
        })
        .collect();
    check_against_eval(&g, &cases);
}

#[test]
fn rust_api_exposes_actual_dims() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![6]));
    let y = g.add_node("nz", Op::NonZero, vec![Some(x)], &names(1)).unwrap();
    g.outputs = y;
    let art = compile(&g);
    let m = onnxc_kernel::rust_api::rust_module(&art.program, &Default::default());
    assert!(m.contains("pub fn out0_dims(workspace: &[u8]) -> [usize; 2]"), "{m}");
    assert!(m.contains("pub fn out0_view<'a>(&self, out: &'a Outputs)"), "{m}");
}
