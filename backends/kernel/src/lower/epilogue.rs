//! Epilogues of fused ops (`Op::Fused`): the elementwise steps applied to
//! each output value of a Conv/Gemm/MatMul right before its final store.
//!
//! Contract for kernel writers: call `Epilogue::declare` after declaring the
//! kernel's own params (it adds one input param per epilogue operand), map
//! every final value with `Epilogue::apply` before storing it, append the
//! buffers from `Epilogue::push_args` after the kernel's own arguments, and
//! call `Epilogue::check` once the kernel is built. For an unfused node the
//! epilogue is empty and `apply` returns `acc` unchanged.
//!
//! The steps are lowered with the same helpers as the standalone
//! elementwise ops (`elementwise::{unary, activation, binary, clip}`), so a
//! fused and an unfused graph compute the same values.

use super::elementwise::{activation, binary, clip, unary};
use super::*;
use onnxc_ir::fused::{ElemFn, PostOp};
use std::cell::RefCell;

/// Where the value being finished lives in the output tensor.
pub(crate) enum OutIndex<'a> {
    /// Row-major flat element index into the output.
    Flat(Expr),
    /// One index per output axis (for kernels that keep a multi-index).
    #[allow(dead_code)]
    Multi(&'a [Expr]),
}

struct Operand {
    input: usize,
    value: ValueId,
    param: ParamId,
    dtype: DType,
    /// Strides of the operand broadcast to the output shape.
    strides: Vec<i64>,
}

pub(crate) struct Epilogue {
    post: Vec<PostOp>,
    operands: Vec<Operand>,
    out_strides: Vec<i64>,
    out_shape: Vec<usize>,
    out_dtype: DType,
    err: RefCell<Option<String>>,
}

/// Applies one elementwise function to operands given as (value, compute
/// type); shared by epilogues and `Op::FusedElementwise`.
pub(crate) fn apply_fn(b: &mut KernelBuilder, f: &ElemFn, args: &[Option<(Expr, Scalar)>]) -> Result<Expr, String> {
    let get = |i: usize| args.get(i).cloned().flatten().ok_or_else(|| format!("{f:?}: operand {i} missing"));
    let (x, t) = get(0)?;
    match f {
        ElemFn::Unary(u) => unary(b, *u, t, x),
        ElemFn::Activation(a) => activation(b, *a, t, x),
        ElemFn::Binary(op) => {
            let (y, ty_) = get(1)?;
            binary(b, *op, t, ty_, x, y)
        }
        ElemFn::Clip => Ok(clip(x, get(1).ok().map(|v| v.0), get(2).ok().map(|v| v.0))),
        ElemFn::Where => Ok(select(x, get(1)?.0, get(2)?.0)),
    }
}

impl Epilogue {
    /// The epilogue of node `n` (empty unless `n` is `Op::Fused`), declaring
    /// one input param of `b` per operand.
    pub(crate) fn declare(cx: &Cx, b: &mut KernelBuilder, n: &Node) -> Result<Epilogue, LowerError> {
        let out = cx.output(n, 0)?;
        let oty = cx.ty(out);
        let post = match &n.op {
            Op::Fused { post, .. } => post.clone(),
            _ => Vec::new(),
        };
        let mut operands: Vec<Operand> = Vec::new();
        for i in post.iter().flat_map(|p| p.operands()) {
            if operands.iter().any(|o| o.input == i) {
                continue;
            }
            let value = cx.input(n, i)?;
            let ty = cx.ty(value);
            let param = b.input(scalar(ty.dtype));
            let strides = bcast_strides(&ty.shape, &oty.shape);
            operands.push(Operand { input: i, value, param, dtype: ty.dtype, strides });
        }
        Ok(Epilogue {
            post,
            operands,
            out_strides: strides(&oty.shape),
            out_shape: oty.shape.clone(),
            out_dtype: oty.dtype,
            err: RefCell::new(None),
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.post.is_empty()
    }

    /// Index of operand `o`'s element for the output element `at`.
    fn operand_index(&self, o: &Operand, at: &OutIndex) -> Expr {
        match at {
            OutIndex::Multi(vars) => lin(vars, &o.strides),
            OutIndex::Flat(flat) if o.strides == self.out_strides => flat.clone(),
            OutIndex::Flat(flat) => {
                let mut idx = ci(0);
                for (d, s) in o.strides.iter().enumerate() {
                    if *s == 0 {
                        continue;
                    }
                    let q = div(flat.clone(), ci(self.out_strides[d]));
                    let coord = if d == 0 { q } else { rem(q, ci(self.out_shape[d] as i64)) };
                    idx = add(idx, mul(coord, ci(*s)));
                }
                idx
            }
        }
    }

    /// The final value of the output element `at` whose base-op result is
    /// `acc` (in the output dtype's compute type).
    pub(crate) fn apply(&self, b: &mut KernelBuilder, acc: Expr, at: OutIndex) -> Expr {
        if self.post.is_empty() {
            return acc;
        }
        let t = compute_ty(self.out_dtype);
        let mut acc = b.let_(acc);
        let mut loaded: Vec<Option<(Expr, Scalar)>> = vec![None; self.operands.len()];
        for p in &self.post {
            let mut input = |b: &mut KernelBuilder, i: usize| {
                let k = self.operands.iter().position(|o| o.input == i).expect("declared operand");
                if loaded[k].is_none() {
                    let o = &self.operands[k];
                    let v = load_val(b, o.dtype, o.param, self.operand_index(o, &at));
                    loaded[k] = Some((b.let_(v), compute_ty(o.dtype)));
                }
                loaded[k].clone()
            };
            let (f, args): (ElemFn, Vec<Option<(Expr, Scalar)>>) = match p {
                PostOp::Unary(u) => (ElemFn::Unary(*u), vec![Some((acc.clone(), t))]),
                PostOp::Activation(a) => (ElemFn::Activation(*a), vec![Some((acc.clone(), t))]),
                PostOp::Binary { op, input: i, swap } => {
                    let y = input(b, *i);
                    let a = Some((acc.clone(), t));
                    (ElemFn::Binary(*op), if *swap { vec![y, a] } else { vec![a, y] })
                }
                PostOp::Clip { min, max } => {
                    let lo = min.and_then(|i| input(b, i));
                    let hi = max.and_then(|i| input(b, i));
                    (ElemFn::Clip, vec![Some((acc.clone(), t)), lo, hi])
                }
            };
            match apply_fn(b, &f, &args) {
                Ok(v) => {
                    let v = convert(b, v, self.out_dtype);
                    acc = b.let_(v);
                }
                Err(e) => {
                    self.err.borrow_mut().get_or_insert(e);
                }
            }
        }
        acc
    }

    /// Appends the operand buffers, in `declare`'s param order.
    pub(crate) fn push_args(&self, cx: &mut Cx, args: &mut Vec<BufRef>) -> Result<(), LowerError> {
        for o in &self.operands {
            args.push(cx.buf(o.value)?);
        }
        Ok(())
    }

    /// Fails if some step could not be lowered (e.g. a float-only
    /// activation on an integer output).
    pub(crate) fn check(&self, cx: &Cx) -> Result<(), LowerError> {
        match self.err.borrow().as_ref() {
            Some(e) => Err(cx.unsupported(format!("epilogue: {e}"))),
            None => Ok(()),
        }
    }
}
