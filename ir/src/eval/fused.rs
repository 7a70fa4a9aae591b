//! `Op::Fused` (base op, then its epilogue) and `Op::FusedElementwise`,
//! evaluated step by step with the evaluators of the ops they name.

use super::eval_op;
use super::util::arg;
use crate::error::OpError;
use crate::fused::{ElemArg, ElemInstr, PostOp};
use crate::op::Op;
use crate::op_err;
use crate::tensor::Tensor;

type Out = Result<Vec<Tensor>, OpError>;

/// One elementwise step on tensors; the result's type is inferred by the
/// step's own evaluator.
fn step(op: &Op, args: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let ty = args[0].map(|t| t.ty().clone()).into_iter().collect::<Vec<_>>();
    eval_op(op, args, &ty)?.into_iter().next().ok_or_else(|| op_err!("elementwise step produced nothing"))
}

pub(super) fn fused(base: &Op, base_inputs: usize, post: &[PostOp], inputs: &[Option<&Tensor>]) -> Out {
    if base_inputs > inputs.len() {
        return Err(op_err!("fused op has {} inputs, its base op reads {base_inputs}", inputs.len()));
    }
    let first = arg(inputs, 0)?;
    let mut acc = eval_op(base, &inputs[..base_inputs], &[first.ty().clone()])?
        .into_iter()
        .next()
        .ok_or_else(|| op_err!("base op produced nothing"))?;
    for p in post {
        for i in p.operands() {
            arg(inputs, i)?;
        }
        let (op, args) = p.as_op(&acc, |i| inputs[i].unwrap());
        acc = step(&op, &args)?;
    }
    Ok(vec![acc])
}

pub(super) fn elementwise(program: &[ElemInstr], inputs: &[Option<&Tensor>]) -> Out {
    let mut regs: Vec<Tensor> = Vec::with_capacity(program.len());
    for (k, ins) in program.iter().enumerate() {
        let mut args = Vec::with_capacity(ins.args.len());
        for a in &ins.args {
            args.push(match a {
                None => None,
                Some(ElemArg::Input(i)) => Some(arg(inputs, *i)?),
                Some(ElemArg::Reg(r)) if *r < k => Some(&regs[*r]),
                Some(ElemArg::Reg(r)) => return Err(op_err!("instruction {k} reads register {r} early")),
            });
        }
        let t = step(&ins.f.op(), &args)?;
        regs.push(t);
    }
    regs.pop().map(|t| vec![t]).ok_or_else(|| op_err!("empty elementwise program"))
}
