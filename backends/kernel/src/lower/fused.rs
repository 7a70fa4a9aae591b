//! Fused ops: `Op::FusedElementwise` becomes one elementwise loop that
//! computes the whole program per output element (registers are locals,
//! never stored); `Op::Fused` dispatches to its base op's lowering, which
//! applies the epilogue (`epilogue.rs`) at its final store.

use super::epilogue::apply_fn;
use super::*;
use onnxc_ir::fused::ElemArg;
use onnxc_ir::infer::{program_types, InputInfo};

pub(super) fn lower(cx: &mut Cx, n: &Node) -> Result<(), LowerError> {
    match &n.op {
        Op::Fused { base, .. } => match base.as_ref() {
            Op::Conv { .. } | Op::Gemm { .. } | Op::MatMul => nn::lower_base(cx, n, base),
            Op::ConvNhwc { window, group } if matches!(n.op, Op::Fused { base_inputs: 3, .. }) => super::conv_nhwc::lower(cx, n, window, *group),
            other => Err(cx.unsupported(format!("fused epilogue on {}", other.onnx_name()))),
        },
        Op::FusedElementwise { program } => elementwise_program(cx, n, program),
        _ => Err(cx.invalid("not a fused op")),
    }
}

fn elementwise_program(cx: &mut Cx, n: &Node, program: &[onnxc_ir::fused::ElemInstr]) -> Result<(), LowerError> {
    let ins: Vec<ValueId> = n
        .inputs
        .iter()
        .map(|i| i.ok_or_else(|| cx.invalid("fused elementwise inputs are all present")))
        .collect::<Result<_, _>>()?;
    let infos: Vec<Option<InputInfo>> = ins.iter().map(|v| Some(InputInfo { ty: cx.ty(*v), value: cx.konst(*v) })).collect();
    let regs = program_types(program, &infos).map_err(|e| cx.invalid(e.0))?;
    let in_ty: Vec<Scalar> = ins.iter().map(|v| compute_ty(cx.ty(*v).dtype)).collect();
    let reg_ty: Vec<Scalar> = regs.iter().map(|t| compute_ty(t.dtype)).collect();
    super::elementwise::map(cx, n, &ins, "fused", &|b, vals| {
        let mut out: Vec<Expr> = Vec::with_capacity(program.len());
        for ins in program {
            let args: Vec<Option<(Expr, Scalar)>> = ins
                .args
                .iter()
                .map(|a| {
                    a.map(|a| match a {
                        ElemArg::Input(i) => (vals[i].clone(), in_ty[i]),
                        ElemArg::Reg(r) => (out[r].clone(), reg_ty[r]),
                    })
                })
                .collect();
            let v = apply_fn(b, &ins.f, &args)?;
            out.push(b.let_(v));
        }
        out.pop().ok_or_else(|| "empty program".to_string())
    })
}
