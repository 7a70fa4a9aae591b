//! Typed pieces of the fused ops the fusion passes build (`Op::Fused`,
//! `Op::FusedElementwise`). Their semantics are not defined here: every step
//! names an existing elementwise op, and the shape rule, the evaluator and
//! the lowering apply that op's own definition.

use crate::op::{Activation, BinaryOp, Op, UnaryOp};
use serde::{Deserialize, Serialize};

/// One step of an epilogue, applied to every output element `acc` of the
/// base op of `Op::Fused`. Input indices are node input indices; those
/// operands broadcast to the base op's output shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PostOp {
    Unary(UnaryOp),
    Activation(Activation),
    /// `acc = op(acc, inputs[input])`, or `op(inputs[input], acc)` when `swap`.
    Binary { op: BinaryOp, input: usize, swap: bool },
    /// `Clip(acc, min, max)` with optional bound inputs.
    Clip { min: Option<usize>, max: Option<usize> },
}

impl PostOp {
    /// The elementwise op this step applies and its operands, with `acc`
    /// standing for the running value.
    pub fn as_op<T: Copy>(&self, acc: T, input: impl Fn(usize) -> T) -> (Op, Vec<Option<T>>) {
        match self {
            PostOp::Unary(u) => (Op::Unary(*u), vec![Some(acc)]),
            PostOp::Activation(a) => (Op::Activation(*a), vec![Some(acc)]),
            PostOp::Binary { op, input: i, swap } => {
                let x = input(*i);
                let args = if *swap { vec![Some(x), Some(acc)] } else { vec![Some(acc), Some(x)] };
                (Op::Binary(*op), args)
            }
            PostOp::Clip { min, max } => (Op::Clip, vec![Some(acc), min.map(&input), max.map(&input)]),
        }
    }

    /// Node input indices this step reads.
    pub fn operands(&self) -> Vec<usize> {
        match self {
            PostOp::Unary(_) | PostOp::Activation(_) => vec![],
            PostOp::Binary { input, .. } => vec![*input],
            PostOp::Clip { min, max } => min.iter().chain(max).copied().collect(),
        }
    }
}

/// An operand of an `ElemInstr`: a node input or an earlier instruction's
/// result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ElemArg {
    Input(usize),
    Reg(usize),
}

/// The elementwise ops a fused program may use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ElemFn {
    Unary(UnaryOp),
    Activation(Activation),
    Binary(BinaryOp),
    Clip,
    Where,
}

impl ElemFn {
    pub fn op(&self) -> Op {
        match self {
            ElemFn::Unary(u) => Op::Unary(*u),
            ElemFn::Activation(a) => Op::Activation(*a),
            ElemFn::Binary(b) => Op::Binary(*b),
            ElemFn::Clip => Op::Clip,
            ElemFn::Where => Op::Where,
        }
    }

    /// The fusable form of an op, if it is one of the supported ones.
    pub fn from_op(op: &Op) -> Option<ElemFn> {
        Some(match op {
            Op::Unary(UnaryOp::Identity) => return None,
            Op::Unary(u) => ElemFn::Unary(*u),
            Op::Activation(a) => ElemFn::Activation(*a),
            Op::Binary(b) => ElemFn::Binary(*b),
            Op::Clip => ElemFn::Clip,
            Op::Where => ElemFn::Where,
            _ => return None,
        })
    }
}

/// One instruction of `Op::FusedElementwise`: register `i` (its position in
/// the program) is `f(args)`; absent optional operands (Clip bounds) are
/// `None`. The node's output is the last register, computed for every
/// element of the output with all operands broadcast to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElemInstr {
    pub f: ElemFn,
    pub args: Vec<Option<ElemArg>>,
}
