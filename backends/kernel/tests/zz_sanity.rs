mod common;
use common::*;
use onnxc_ir::{DType, Op};
#[test]
fn sanity() {
    let mut g = G::new();
    let x = g.input(DType::F32, &[1, 2, 5, 5]);
    let w = g.input(DType::F32, &[3, 2, 3, 3]);
    let y = g.node(Op::Conv { window: onnxc_ir::op::Window { kernel_shape: vec![3, 3], strides: vec![1, 1], pads: vec![1, 1, 1, 1], dilations: vec![1, 1] }, group: 1 }, vec![Some(x), Some(w), None]);
    g.output(y);
    let plan = onnxc_passes::plan(&g.g);
    let p = onnxc_kernel::lower::lower_graph(&g.g, &plan, "t").unwrap();
    eprintln!("{:#?}", p.kernels[0].body.len());
    let ins: Vec<&[u8]> = g.inputs.iter().map(|t| &t.bytes()[..]).collect();
    let mut outs = vec![Vec::new(); 1];
    onnxc_kernel::interp::run_program(&p, &ins, &mut outs).unwrap();
    let want = onnxc_ir::eval::eval_graph(&g.g, &g.inputs).unwrap();
    eprintln!("{:?}", &want[0].to_f64_vec()[..6]);
    eprintln!("{:?}", &outs[0][..24]);
}
