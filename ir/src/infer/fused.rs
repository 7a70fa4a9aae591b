//! `Op::Fused` and `Op::FusedElementwise`: every step is checked with the
//! shape rule of the elementwise op it names.

use super::{infer, InputInfo};
use crate::dtype::TensorType;
use crate::error::OpError;
use crate::fused::{ElemArg, ElemInstr, PostOp};
use crate::op::Op;

fn operand<'a>(inputs: &[Option<InputInfo<'a>>], i: usize) -> Result<InputInfo<'a>, OpError> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| OpError::new(format!("fused operand input {i} is missing")))
}

/// Output type of `Fused`: the base op's; each epilogue step must keep it.
pub(super) fn fused(base: &Op, base_inputs: usize, post: &[PostOp], inputs: &[Option<InputInfo<'_>>]) -> Result<TensorType, OpError> {
    if matches!(base, Op::Fused { .. } | Op::FusedElementwise { .. }) || base_inputs > inputs.len() {
        return Err(OpError::new("bad base op of a fused op"));
    }
    let ty = infer(base, &inputs[..base_inputs], 1)?.remove(0);
    for p in post {
        for i in p.operands() {
            if i < base_inputs {
                return Err(OpError::new(format!("epilogue operand {i} is a base op input")));
            }
            operand(inputs, i)?;
        }
        let (op, args) = p.as_op(InputInfo { ty: &ty, value: None }, |i| inputs[i].unwrap());
        let out = infer(&op, &args, 1)?.remove(0);
        if out != ty {
            return Err(OpError::new(format!("epilogue step {p:?} turns {ty} into {out}")));
        }
    }
    Ok(ty)
}

/// Types of every register of an elementwise program; the last is the
/// node's output.
pub fn program_types(program: &[ElemInstr], inputs: &[Option<InputInfo<'_>>]) -> Result<Vec<TensorType>, OpError> {
    if program.is_empty() {
        return Err(OpError::new("empty elementwise program"));
    }
    let mut regs: Vec<TensorType> = Vec::with_capacity(program.len());
    for (k, ins) in program.iter().enumerate() {
        let mut args = Vec::with_capacity(ins.args.len());
        for a in &ins.args {
            args.push(match a {
                None => None,
                Some(ElemArg::Input(i)) => Some(operand(inputs, *i)?),
                Some(ElemArg::Reg(r)) if *r < k => Some(InputInfo { ty: &regs[*r], value: None }),
                Some(ElemArg::Reg(r)) => return Err(OpError::new(format!("instruction {k} reads register {r} before it is computed"))),
            });
        }
        let ty = infer(&ins.f.op(), &args, 1).map_err(|e| OpError::new(format!("instruction {k}: {}", e.0)))?.remove(0);
        regs.push(ty);
    }
    Ok(regs)
}
