//! An ergonomic way to write KIR kernels.
//!
//! ```ignore
//! let mut b = KernelBuilder::new("k0_relu");
//! let x = b.input(Scalar::F32);
//! let y = b.output(Scalar::F32);
//! b.par_for(0, n, |b, i| {
//!     let v = b.let_(load(x, i.clone()));
//!     b.store(y, i, max(v, cf(Scalar::F32, 0.0)));
//! });
//! let kernel = b.finish();
//! ```
//!
//! Expressions are plain `Expr` values built with the free functions below
//! (or `+ - * /` and unary `-`). `let_` binds an expression to a fresh local
//! so that helpers (notably `math.rs`) can reuse a value without duplicating
//! its expression tree.

use crate::kir::{BinOp, CmpOp, Const, Expr, Kernel, LocalId, Param, ParamId, Scalar, Stmt, UnOp};

pub struct KernelBuilder {
    name: String,
    params: Vec<Param>,
    locals: Vec<Scalar>,
    /// Open statement blocks; the last one receives new statements.
    blocks: Vec<Vec<Stmt>>,
    contract: bool,
}

impl KernelBuilder {
    pub fn new(name: impl Into<String>) -> KernelBuilder {
        KernelBuilder { name: name.into(), params: Vec::new(), locals: Vec::new(), blocks: vec![Vec::new()], contract: false }
    }

    pub fn param(&mut self, elem: Scalar, writable: bool) -> ParamId {
        self.params.push(Param { elem, writable });
        ParamId(self.params.len() as u32 - 1)
    }
    /// A read-only buffer parameter.
    pub fn input(&mut self, elem: Scalar) -> ParamId {
        self.param(elem, false)
    }
    /// A written buffer parameter.
    pub fn output(&mut self, elem: Scalar) -> ParamId {
        self.param(elem, true)
    }

    pub fn local(&mut self, ty: Scalar) -> LocalId {
        self.locals.push(ty);
        LocalId(self.locals.len() as u32 - 1)
    }

    /// Type of `e` under this kernel's params and locals.
    pub fn ty(&self, e: &Expr) -> Scalar {
        match e {
            Expr::Const(c) => c.ty,
            Expr::Local(l) => self.locals[l.0 as usize],
            Expr::Load { buf, .. } => self.params[buf.0 as usize].elem,
            Expr::Un(_, a) | Expr::Bin(_, a, _) => self.ty(a),
            Expr::Cmp(..) | Expr::Pooled => Scalar::Bool,
            Expr::Select(_, a, _) => self.ty(a),
            Expr::Cast(t, _) | Expr::Bitcast(t, _) => *t,
        }
    }

    fn push(&mut self, s: Stmt) {
        self.blocks.last_mut().expect("a block is always open").push(s);
    }

    /// Binds `value` to a fresh local and returns it as an expression.
    /// Constants and locals are returned as they are (nothing to save).
    pub fn let_(&mut self, value: Expr) -> Expr {
        if matches!(value, Expr::Const(_) | Expr::Local(_)) {
            return value;
        }
        let l = self.local(self.ty(&value));
        self.push(Stmt::Assign { local: l, value });
        Expr::Local(l)
    }

    /// A fresh mutable local initialised to `init`.
    pub fn var(&mut self, init: Expr) -> LocalId {
        let l = self.local(self.ty(&init));
        self.push(Stmt::Assign { local: l, value: init });
        l
    }

    pub fn assign(&mut self, local: LocalId, value: Expr) {
        self.push(Stmt::Assign { local, value });
    }

    pub fn store(&mut self, buf: ParamId, index: impl Into<Expr>, value: Expr) {
        self.push(Stmt::Store { buf, index: index.into(), value });
    }

    fn block(&mut self, f: impl FnOnce(&mut Self)) -> Vec<Stmt> {
        self.blocks.push(Vec::new());
        f(self);
        self.blocks.pop().expect("block opened above")
    }

    fn loop_(
        &mut self,
        start: Expr,
        end: Expr,
        step: i64,
        parallel: bool,
        f: impl FnOnce(&mut Self, Expr),
    ) {
        let var = self.local(Scalar::I64);
        let body = self.block(|b| f(b, Expr::Local(var)));
        self.push(Stmt::For { var, start, end, step, parallel, body });
    }

    /// `for i in start..end { f(i) }`.
    pub fn for_loop(&mut self, start: impl Into<Expr>, end: impl Into<Expr>, f: impl FnOnce(&mut Self, Expr)) {
        self.loop_(start.into(), end.into(), 1, false, f)
    }

    /// Like `for_loop`, with iterations marked independent.
    pub fn par_for(&mut self, start: impl Into<Expr>, end: impl Into<Expr>, f: impl FnOnce(&mut Self, Expr)) {
        self.loop_(start.into(), end.into(), 1, true, f)
    }

    /// `for i in (start..end).step_by(step)`; `step` must be positive.
    pub fn for_step(
        &mut self,
        start: impl Into<Expr>,
        end: impl Into<Expr>,
        step: i64,
        f: impl FnOnce(&mut Self, Expr),
    ) {
        self.loop_(start.into(), end.into(), step.max(1), false, f)
    }

    pub fn if_(&mut self, cond: Expr, then: impl FnOnce(&mut Self)) {
        let then_body = self.block(then);
        self.push(Stmt::If { cond, then_body, else_body: Vec::new() });
    }

    pub fn if_else(&mut self, cond: Expr, then: impl FnOnce(&mut Self), els: impl FnOnce(&mut Self)) {
        let then_body = self.block(then);
        let else_body = self.block(els);
        self.push(Stmt::If { cond, then_body, else_body });
    }

    /// Lets backends fuse float multiply-adds (`Kernel::contract`).
    pub fn allow_contract(&mut self) {
        self.contract = true;
    }

    pub fn finish(mut self) -> Kernel {
        let body = self.blocks.pop().unwrap_or_default();
        Kernel { name: self.name, params: self.params, locals: self.locals, body, contract: self.contract }
    }
}

// ---- expression helpers -------------------------------------------------

/// An I64 constant (what indices and loop bounds use).
pub fn ci(v: i64) -> Expr {
    Expr::Const(Const::i64(v))
}
/// A constant of type `ty` from an f64 (floats round, ints truncate).
pub fn cf(ty: Scalar, v: f64) -> Expr {
    Expr::Const(Const::from_f64(ty, v))
}
/// An integer constant of integer type `ty`.
pub fn cint(ty: Scalar, v: i64) -> Expr {
    Expr::Const(Const::int(ty, v))
}
pub fn cbool(v: bool) -> Expr {
    Expr::Const(Const::bool(v))
}
pub fn load(buf: ParamId, index: impl Into<Expr>) -> Expr {
    Expr::Load { buf, index: Box::new(index.into()) }
}

fn as_i64(e: &Expr) -> Option<i64> {
    match e {
        Expr::Const(c) if c.ty == Scalar::I64 => Some(c.bits as i64),
        _ => None,
    }
}

fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    // Fold trivial I64 index arithmetic so generated kernels stay readable.
    match (op, as_i64(&a), as_i64(&b)) {
        (BinOp::Add, Some(x), Some(y)) => return ci(x.wrapping_add(y)),
        (BinOp::Sub, Some(x), Some(y)) => return ci(x.wrapping_sub(y)),
        (BinOp::Mul, Some(x), Some(y)) => return ci(x.wrapping_mul(y)),
        (BinOp::Add, Some(0), _) => return b,
        (BinOp::Add | BinOp::Sub, _, Some(0)) => return a,
        (BinOp::Mul, Some(1), _) => return b,
        (BinOp::Mul | BinOp::Div, _, Some(1)) => return a,
        (BinOp::Mul, Some(0), _) | (BinOp::Mul, _, Some(0)) => return ci(0),
        _ => {}
    }
    Expr::Bin(op, Box::new(a), Box::new(b))
}

pub fn add(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Add, a, b)
}
pub fn sub(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Sub, a, b)
}
pub fn mul(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Mul, a, b)
}
pub fn div(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Div, a, b)
}
pub fn rem(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Rem, a, b)
}
pub fn min(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Min, a, b)
}
pub fn max(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Max, a, b)
}
pub fn and(a: Expr, b: Expr) -> Expr {
    bin(BinOp::And, a, b)
}
pub fn or(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Or, a, b)
}
pub fn xor(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Xor, a, b)
}
pub fn shl(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Shl, a, b)
}
pub fn shr(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Shr, a, b)
}

fn un(op: UnOp, a: Expr) -> Expr {
    Expr::Un(op, Box::new(a))
}
pub fn neg(a: Expr) -> Expr {
    un(UnOp::Neg, a)
}
pub fn abs(a: Expr) -> Expr {
    un(UnOp::Abs, a)
}
pub fn sqrt(a: Expr) -> Expr {
    un(UnOp::Sqrt, a)
}
pub fn floor(a: Expr) -> Expr {
    un(UnOp::Floor, a)
}
pub fn ceil(a: Expr) -> Expr {
    un(UnOp::Ceil, a)
}
pub fn trunc(a: Expr) -> Expr {
    un(UnOp::Trunc, a)
}
pub fn round_even(a: Expr) -> Expr {
    un(UnOp::RoundEven, a)
}
pub fn not(a: Expr) -> Expr {
    un(UnOp::Not, a)
}

fn cmp(op: CmpOp, a: Expr, b: Expr) -> Expr {
    Expr::Cmp(op, Box::new(a), Box::new(b))
}
pub fn eq(a: Expr, b: Expr) -> Expr {
    cmp(CmpOp::Eq, a, b)
}
pub fn ne(a: Expr, b: Expr) -> Expr {
    cmp(CmpOp::Ne, a, b)
}
pub fn lt(a: Expr, b: Expr) -> Expr {
    cmp(CmpOp::Lt, a, b)
}
pub fn le(a: Expr, b: Expr) -> Expr {
    cmp(CmpOp::Le, a, b)
}
pub fn gt(a: Expr, b: Expr) -> Expr {
    cmp(CmpOp::Gt, a, b)
}
pub fn ge(a: Expr, b: Expr) -> Expr {
    cmp(CmpOp::Ge, a, b)
}

/// `c ? a : b` (both arms are evaluated).
pub fn select(c: Expr, a: Expr, b: Expr) -> Expr {
    Expr::Select(Box::new(c), Box::new(a), Box::new(b))
}
pub fn cast(ty: Scalar, a: Expr) -> Expr {
    Expr::Cast(ty, Box::new(a))
}
pub fn bitcast(ty: Scalar, a: Expr) -> Expr {
    Expr::Bitcast(ty, Box::new(a))
}

impl From<i64> for Expr {
    fn from(v: i64) -> Expr {
        ci(v)
    }
}
/// Integer literals are I64 (loop bounds and indices).
impl From<i32> for Expr {
    fn from(v: i32) -> Expr {
        ci(v as i64)
    }
}
impl From<usize> for Expr {
    fn from(v: usize) -> Expr {
        ci(v as i64)
    }
}
impl From<LocalId> for Expr {
    fn from(l: LocalId) -> Expr {
        Expr::Local(l)
    }
}

impl std::ops::Add for Expr {
    type Output = Expr;
    fn add(self, o: Expr) -> Expr {
        add(self, o)
    }
}
impl std::ops::Sub for Expr {
    type Output = Expr;
    fn sub(self, o: Expr) -> Expr {
        sub(self, o)
    }
}
impl std::ops::Mul for Expr {
    type Output = Expr;
    fn mul(self, o: Expr) -> Expr {
        mul(self, o)
    }
}
impl std::ops::Div for Expr {
    type Output = Expr;
    fn div(self, o: Expr) -> Expr {
        div(self, o)
    }
}
impl std::ops::Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        neg(self)
    }
}
