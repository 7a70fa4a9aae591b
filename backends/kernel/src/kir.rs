//! The loop-level kernel IR ("KIR"): what every graph op lowers to, once, and
//! what every backend (Cranelift, LLVM) translates to machine code. It is
//! deliberately small: counted loops, scalar locals, loads and stores on
//! typed buffer parameters, and scalar arithmetic. Transcendental functions
//! (exp, tanh, erf, ...) are not primitives: `math.rs` expands them into
//! these operations so generated objects need no libm.
//!
//! Semantics every backend must implement exactly:
//! - Buffer indices are in elements (not bytes) and are `I64`.
//! - Integer arithmetic wraps (two's complement). `Div`/`Rem` on integers
//!   truncate toward zero; a zero divisor is undefined behaviour, so lowering
//!   guards it where ONNX defines a result. `Rem` on floats is not allowed.
//! - `Shr` is arithmetic on signed types, logical on unsigned ones; shift
//!   amounts are taken modulo the bit width.
//! - Float `Min`/`Max` return NaN if either operand is NaN.
//! - Comparisons yield `Bool`; float comparisons are ordered (false on NaN)
//!   except `Ne`, which is true on NaN.
//! - `Cast` float -> int truncates toward zero and saturates (NaN -> 0);
//!   int -> float rounds to nearest; int -> int truncates or extends by the
//!   source's signedness; `Bool` -> number gives 0/1; number -> `Bool` is `!= 0`.
//! - `Bitcast` reinterprets bits between types of the same width.
//! - `Bool` is one byte in memory (0 or 1).

use std::fmt;

/// Scalar types of KIR values and buffer elements. f16/bf16 tensors are
/// `U16` buffers; lowering converts them with `math::f16_to_f32` and friends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scalar {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
}

impl Scalar {
    /// Every scalar type, in declaration order.
    pub const ALL: [Scalar; 11] = [
        Scalar::Bool,
        Scalar::I8,
        Scalar::I16,
        Scalar::I32,
        Scalar::I64,
        Scalar::U8,
        Scalar::U16,
        Scalar::U32,
        Scalar::U64,
        Scalar::F32,
        Scalar::F64,
    ];

    pub fn size(self) -> usize {
        match self {
            Scalar::Bool | Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::I64 | Scalar::U64 | Scalar::F64 => 8,
        }
    }
    pub fn is_float(self) -> bool {
        matches!(self, Scalar::F32 | Scalar::F64)
    }
    pub fn is_signed(self) -> bool {
        matches!(self, Scalar::I8 | Scalar::I16 | Scalar::I32 | Scalar::I64)
    }
    pub fn is_int(self) -> bool {
        !self.is_float() && self != Scalar::Bool
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);

/// A constant scalar; the payload is the value's bit pattern zero-extended to
/// 64 bits (floats as their IEEE bits, f32 in the low 32 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Const {
    pub ty: Scalar,
    pub bits: u64,
}

impl Const {
    pub fn f32(v: f32) -> Const {
        Const { ty: Scalar::F32, bits: v.to_bits() as u64 }
    }
    pub fn f64(v: f64) -> Const {
        Const { ty: Scalar::F64, bits: v.to_bits() }
    }
    pub fn i64(v: i64) -> Const {
        Const { ty: Scalar::I64, bits: v as u64 }
    }
    pub fn bool(v: bool) -> Const {
        Const { ty: Scalar::Bool, bits: v as u64 }
    }
    /// An integer constant of any integer type, truncated to its width.
    pub fn int(ty: Scalar, v: i64) -> Const {
        let bits = if ty.size() == 8 { v as u64 } else { (v as u64) & ((1u64 << (ty.size() * 8)) - 1) };
        Const { ty, bits }
    }
    /// `v` converted to `ty` (floats round, ints truncate toward zero).
    pub fn from_f64(ty: Scalar, v: f64) -> Const {
        match ty {
            Scalar::F32 => Const::f32(v as f32),
            Scalar::F64 => Const::f64(v),
            Scalar::Bool => Const::bool(v != 0.0),
            Scalar::U64 => Const { ty, bits: v as u64 },
            _ => Const::int(ty, v as i64),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    /// Float or signed-int absolute value (wrapping on MIN).
    Abs,
    Sqrt,
    Floor,
    Ceil,
    Trunc,
    /// Round half to even.
    RoundEven,
    /// Bitwise not on ints; logical not on Bool.
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Min,
    Max,
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Const(Const),
    Local(LocalId),
    /// `buf[index]`; `index` is I64.
    Load { buf: ParamId, index: Box<Expr> },
    Un(UnOp, Box<Expr>),
    /// Both operands have the same type (Shl/Shr too).
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// `cond ? a : b`, `cond` is Bool; both arms are evaluated.
    Select(Box<Expr>, Box<Expr>, Box<Expr>),
    Cast(Scalar, Box<Expr>),
    Bitcast(Scalar, Box<Expr>),
    /// Bool: whether this kernel's parallel loops may run on several threads
    /// (LLVM with a non-NULL pool); false in the interpreter, in Cranelift,
    /// with a NULL pool and inside a parallel loop. Lets a kernel choose a
    /// split into chunks only where threads can use it (a GEMM's chunks each
    /// re-pack a shared operand, which a serial run would pay for nothing);
    /// both choices must compute the same bits.
    Pooled,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `for var in (start..end).step_by(step)`; `var` is an I64 local,
    /// `start`/`end` are I64 and evaluated once, `step > 0`. `parallel` marks
    /// iterations as independent (a hint for threading).
    For { var: LocalId, start: Expr, end: Expr, step: i64, parallel: bool, body: Vec<Stmt> },
    Assign { local: LocalId, value: Expr },
    /// `buf[index] = value`; `value` has the buffer's element type.
    Store { buf: ParamId, index: Expr, value: Expr },
    If { cond: Expr, then_body: Vec<Stmt>, else_body: Vec<Stmt> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    pub elem: Scalar,
    /// Written by the kernel (a read-only param may still alias nothing written).
    pub writable: bool,
}

/// One kernel: a function `void name(T0 *p0, T1 *p1, ...)` with the C calling
/// convention. Parameters never alias each other unless both are read-only.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    pub name: String,
    pub params: Vec<Param>,
    pub locals: Vec<Scalar>,
    pub body: Vec<Stmt>,
    /// A float `a * b` feeding an `Add`/`Sub` may be computed as one fused
    /// multiply-add (a single rounding) instead of the exact two-step result.
    /// Set by the GEMM/convolution kernels, whose contract is a tolerance, not
    /// bits; the interpreter and Cranelift keep the two roundings.
    pub contract: bool,
}

impl Kernel {
    pub fn local_ty(&self, l: LocalId) -> Scalar {
        self.locals[l.0 as usize]
    }

    /// Type of an expression. Panics on ill-typed KIR, which `check` rejects first.
    pub fn type_of(&self, e: &Expr) -> Scalar {
        match e {
            Expr::Const(c) => c.ty,
            Expr::Local(l) => self.local_ty(*l),
            Expr::Load { buf, .. } => self.params[buf.0 as usize].elem,
            Expr::Un(_, a) | Expr::Bin(_, a, _) => self.type_of(a),
            Expr::Cmp(..) | Expr::Pooled => Scalar::Bool,
            Expr::Select(_, a, _) => self.type_of(a),
            Expr::Cast(t, _) | Expr::Bitcast(t, _) => *t,
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = format!("{self:?}");
        f.write_str(&s.to_lowercase())
    }
}
