//! A straightforward KIR interpreter: the backend-independent oracle for
//! lowering tests, and the way `math.rs` is tested without a code generator.
//! It implements the semantics documented at the top of `kir.rs` exactly and
//! bounds-checks every access (an out-of-bounds index is an error, not UB).
//!
//! Values are carried as 64-bit patterns plus the static type from the
//! kernel: integers are kept truncated to their width, floats as IEEE bits.

use crate::kir::{BinOp, CmpOp, Expr, Kernel, Scalar, Stmt, UnOp};
use crate::program::{BufRef, Program, Step};

#[derive(Debug, thiserror::Error)]
pub enum InterpError {
    #[error("program expects {expected} inputs, got {got}")]
    InputCount { expected: usize, got: usize },
    #[error("input {index} has {got} bytes, expected {expected}")]
    InputSize { index: usize, expected: usize, got: usize },
    #[error("program expects {expected} outputs, got {got}")]
    OutputCount { expected: usize, got: usize },
    #[error("kernel `{kernel}`: {msg}")]
    Kernel { kernel: String, msg: String },
    #[error("step {step}: {msg}")]
    Step { step: usize, msg: String },
}

/// Memory regions: inputs, outputs, consts, then the workspace.
struct Memory {
    regions: Vec<Vec<u8>>,
    n_in: usize,
    n_out: usize,
    n_const: usize,
}

impl Memory {
    fn region(&self, r: BufRef) -> (usize, usize) {
        match r {
            BufRef::Input(i) => (i, 0),
            BufRef::Output(i) => (self.n_in + i, 0),
            BufRef::Const(i) => (self.n_in + self.n_out + i, 0),
            BufRef::Workspace(off) => (self.n_in + self.n_out + self.n_const, off),
        }
    }
    fn check(&self, r: BufRef) -> Result<(), String> {
        let ok = match r {
            BufRef::Input(i) => i < self.n_in,
            BufRef::Output(i) => i < self.n_out,
            BufRef::Const(i) => i < self.n_const,
            BufRef::Workspace(off) => off <= self.regions[self.n_in + self.n_out + self.n_const].len(),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("buffer {r:?} does not exist"))
        }
    }
}

/// Runs `p` on `inputs` (dense bytes in graph-input order). `outputs` is
/// resized to each output's byte size and filled.
pub fn run_program(p: &Program, inputs: &[&[u8]], outputs: &mut [Vec<u8>]) -> Result<(), InterpError> {
    if inputs.len() != p.inputs.len() {
        return Err(InterpError::InputCount { expected: p.inputs.len(), got: inputs.len() });
    }
    if outputs.len() != p.outputs.len() {
        return Err(InterpError::OutputCount { expected: p.outputs.len(), got: outputs.len() });
    }
    let mut regions = Vec::new();
    for (index, (inp, io)) in inputs.iter().zip(&p.inputs).enumerate() {
        if inp.len() != io.byte_size() {
            return Err(InterpError::InputSize { index, expected: io.byte_size(), got: inp.len() });
        }
        regions.push(inp.to_vec());
    }
    for io in &p.outputs {
        regions.push(vec![0u8; io.byte_size()]);
    }
    for c in &p.consts {
        regions.push(c.to_vec());
    }
    regions.push(vec![0u8; p.workspace_size]);
    let mut mem = Memory { regions, n_in: p.inputs.len(), n_out: p.outputs.len(), n_const: p.consts.len() };
    for (si, step) in p.steps.iter().enumerate() {
        let err = |msg: String| InterpError::Step { step: si, msg };
        match step {
            Step::Copy { dst, src, bytes } => {
                mem.check(*dst).map_err(err)?;
                mem.check(*src).map_err(err)?;
                let (sr, so) = mem.region(*src);
                let data = mem.regions[sr].get(so..so + bytes).map(|s| s.to_vec());
                let data = data.ok_or_else(|| err(format!("copy source {src:?} out of bounds")))?;
                let (dr, doff) = mem.region(*dst);
                let d = mem.regions[dr].get_mut(doff..doff + bytes);
                d.ok_or_else(|| err(format!("copy destination {dst:?} out of bounds")))?.copy_from_slice(&data);
            }
            Step::Call { kernel, args } => {
                let k = p.kernels.get(*kernel).ok_or_else(|| err(format!("no kernel {kernel}")))?;
                if args.len() != k.params.len() {
                    return Err(err(format!("kernel `{}` takes {} params, {} given", k.name, k.params.len(), args.len())));
                }
                let mut bufs = Vec::new();
                for a in args {
                    mem.check(*a).map_err(err)?;
                    bufs.push(mem.region(*a));
                }
                run_kernel_on(k, &mut mem.regions, &bufs)
                    .map_err(|msg| InterpError::Kernel { kernel: k.name.clone(), msg })?;
            }
        }
    }
    for (i, o) in outputs.iter_mut().enumerate() {
        *o = std::mem::take(&mut mem.regions[mem.n_in + i]);
    }
    Ok(())
}

/// Runs one kernel with each parameter bound to its own byte buffer
/// (a convenience for tests of single kernels, e.g. the math functions).
pub fn run_kernel(k: &Kernel, bufs: &mut [Vec<u8>]) -> Result<(), InterpError> {
    if bufs.len() != k.params.len() {
        return Err(InterpError::Kernel { kernel: k.name.clone(), msg: "wrong number of buffers".into() });
    }
    let mut regions = std::mem::take(&mut bufs.to_vec());
    let map: Vec<(usize, usize)> = (0..bufs.len()).map(|i| (i, 0)).collect();
    let r = run_kernel_on(k, &mut regions, &map).map_err(|msg| InterpError::Kernel { kernel: k.name.clone(), msg });
    for (b, r) in bufs.iter_mut().zip(regions) {
        *b = r;
    }
    r
}

fn run_kernel_on(k: &Kernel, regions: &mut [Vec<u8>], bufs: &[(usize, usize)]) -> Result<(), String> {
    // Type-check first: the backends reject ill-typed KIR, so must the oracle.
    check_kernel(k)?;
    let mut st = State { k, regions, bufs, locals: vec![0; k.locals.len()] };
    st.block(&k.body)
}

struct State<'a> {
    k: &'a Kernel,
    regions: &'a mut [Vec<u8>],
    bufs: &'a [(usize, usize)],
    locals: Vec<u64>,
}

impl State<'_> {
    fn block(&mut self, body: &[Stmt]) -> Result<(), String> {
        for s in body {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), String> {
        match s {
            Stmt::For { var, start, end, step, body, .. } => {
                let (s0, e0) = (self.eval(start)? as i64, self.eval(end)? as i64);
                if *step <= 0 {
                    return Err("loop step must be positive".into());
                }
                let mut i = s0;
                while i < e0 {
                    self.locals[var.0 as usize] = i as u64;
                    self.block(body)?;
                    i = i.saturating_add(*step);
                }
            }
            Stmt::Assign { local, value } => {
                let v = self.eval(value)?;
                self.locals[local.0 as usize] = v;
            }
            Stmt::Store { buf, index, value } => {
                let idx = self.eval(index)? as i64;
                let v = self.eval(value)?;
                let p = self.k.params.get(buf.0 as usize).ok_or("store to unknown param")?;
                let (r, off) = self.bufs[buf.0 as usize];
                let w = p.elem.size();
                let at = byte_at(off, idx, w, self.regions[r].len())
                    .ok_or_else(|| format!("store to param {} index {idx} out of bounds", buf.0))?;
                self.regions[r][at..at + w].copy_from_slice(&v.to_le_bytes()[..w]);
            }
            Stmt::If { cond, then_body, else_body } => {
                if self.eval(cond)? != 0 {
                    self.block(then_body)?;
                } else {
                    self.block(else_body)?;
                }
            }
        }
        Ok(())
    }

    fn eval(&self, e: &Expr) -> Result<u64, String> {
        Ok(self.eval_t(e)?.0)
    }

    /// Value bits and static type (carried along so no subtree is re-typed).
    fn eval_t(&self, e: &Expr) -> Result<(u64, Scalar), String> {
        Ok(match e {
            Expr::Const(c) => (c.bits, c.ty),
            // The interpreter is the serial oracle.
            Expr::Pooled => (0, Scalar::Bool),
            Expr::Local(l) => (self.locals[l.0 as usize], self.k.locals[l.0 as usize]),
            Expr::Load { buf, index } => {
                let idx = self.eval(index)? as i64;
                let p = self.k.params.get(buf.0 as usize).ok_or("load from unknown param")?;
                let (r, off) = self.bufs[buf.0 as usize];
                let w = p.elem.size();
                let at = byte_at(off, idx, w, self.regions[r].len())
                    .ok_or_else(|| format!("load from param {} index {idx} out of bounds", buf.0))?;
                let mut b = [0u8; 8];
                b[..w].copy_from_slice(&self.regions[r][at..at + w]);
                (u64::from_le_bytes(b), p.elem)
            }
            Expr::Un(op, a) => {
                let (v, t) = self.eval_t(a)?;
                (un(*op, t, v), t)
            }
            Expr::Bin(op, a, b) => {
                let (x, t) = self.eval_t(a)?;
                (bin(*op, t, x, self.eval(b)?)?, t)
            }
            Expr::Cmp(op, a, b) => {
                let (x, t) = self.eval_t(a)?;
                (cmp(*op, t, x, self.eval(b)?) as u64, Scalar::Bool)
            }
            Expr::Select(c, a, b) => {
                let c = self.eval(c)?;
                let (x, t) = self.eval_t(a)?;
                let y = self.eval(b)?;
                (if c != 0 { x } else { y }, t)
            }
            Expr::Cast(to, a) => {
                let (v, t) = self.eval_t(a)?;
                (cast(t, *to, v), *to)
            }
            Expr::Bitcast(to, a) => (self.eval(a)?, *to),
        })
    }
}

fn byte_at(off: usize, idx: i64, w: usize, len: usize) -> Option<usize> {
    let at = off.checked_add(usize::try_from(idx).ok()?.checked_mul(w)?)?;
    (at + w <= len).then_some(at)
}

fn bits_of(t: Scalar) -> u32 {
    if t == Scalar::Bool {
        8
    } else {
        t.size() as u32 * 8
    }
}

/// Truncates `v` to the width of `t`.
fn wrap(t: Scalar, v: u64) -> u64 {
    match bits_of(t) {
        64 => v,
        n => v & ((1u64 << n) - 1),
    }
}

/// The value as i128: sign-extended for signed types, zero-extended otherwise.
fn to_int(t: Scalar, v: u64) -> i128 {
    let n = bits_of(t);
    if t.is_signed() {
        ((v << (64 - n)) as i64 >> (64 - n)) as i128
    } else {
        v as i128
    }
}

fn to_f(t: Scalar, v: u64) -> f64 {
    if t == Scalar::F32 {
        f32::from_bits(v as u32) as f64
    } else {
        f64::from_bits(v)
    }
}

fn from_f(t: Scalar, v: f64) -> u64 {
    if t == Scalar::F32 {
        (v as f32).to_bits() as u64
    } else {
        v.to_bits()
    }
}

fn un(op: UnOp, t: Scalar, v: u64) -> u64 {
    if t.is_float() {
        // f32 ops done in f64 then rounded are exact for these (all correctly rounded).
        let x = to_f(t, v);
        let r = match op {
            UnOp::Neg => -x,
            UnOp::Abs => x.abs(),
            UnOp::Sqrt => x.sqrt(),
            UnOp::Floor => x.floor(),
            UnOp::Ceil => x.ceil(),
            UnOp::Trunc => x.trunc(),
            UnOp::RoundEven => x.round_ties_even(),
            UnOp::Not => return wrap(t, !v),
        };
        return from_f(t, r);
    }
    if t == Scalar::Bool {
        return match op {
            UnOp::Not => (v == 0) as u64,
            _ => v,
        };
    }
    let x = to_int(t, v) as i64;
    wrap(
        t,
        match op {
            UnOp::Neg => x.wrapping_neg() as u64,
            UnOp::Abs if t.is_signed() => x.wrapping_abs() as u64,
            UnOp::Not => !(x as u64),
            _ => v,
        },
    )
}

fn bin(op: BinOp, t: Scalar, a: u64, b: u64) -> Result<u64, String> {
    if t.is_float() {
        let (x, y) = (to_f(t, a), to_f(t, b));
        if t == Scalar::F32 {
            // Compute in f32 so rounding matches a native f32 backend.
            let (x, y) = (x as f32, y as f32);
            let r = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                BinOp::Min => nan_min(x as f64, y as f64) as f32,
                BinOp::Max => nan_max(x as f64, y as f64) as f32,
                _ => return Err(format!("{op:?} on f32")),
            };
            return Ok(r.to_bits() as u64);
        }
        let r = match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div => x / y,
            BinOp::Min => nan_min(x, y),
            BinOp::Max => nan_max(x, y),
            _ => return Err(format!("{op:?} on f64")),
        };
        return Ok(r.to_bits());
    }
    let (x, y) = (to_int(t, a), to_int(t, b));
    let n = bits_of(t);
    let r: i128 = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => (x as i64).wrapping_mul(y as i64) as i128,
        BinOp::Div | BinOp::Rem => {
            if y == 0 {
                return Err(format!("integer {op:?} by zero"));
            }
            // i128 avoids the MIN / -1 overflow; wrap() truncates afterwards.
            if op == BinOp::Div {
                x / y
            } else {
                x % y
            }
        }
        BinOp::Min => x.min(y),
        BinOp::Max => x.max(y),
        BinOp::And => x & y,
        BinOp::Or => x | y,
        BinOp::Xor => x ^ y,
        BinOp::Shl => return Ok(wrap(t, a << (b as u32 % n))),
        BinOp::Shr => {
            let s = b as u32 % n;
            return Ok(if t.is_signed() { wrap(t, (to_int(t, a) >> s) as u64) } else { a >> s });
        }
    };
    Ok(wrap(t, r as u64))
}

fn nan_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        x.min(y)
    }
}
fn nan_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        f64::NAN
    } else {
        x.max(y)
    }
}

fn cmp(op: CmpOp, t: Scalar, a: u64, b: u64) -> bool {
    if t.is_float() {
        let (x, y) = (to_f(t, a), to_f(t, b));
        return match op {
            CmpOp::Eq => x == y,
            CmpOp::Ne => x != y,
            CmpOp::Lt => x < y,
            CmpOp::Le => x <= y,
            CmpOp::Gt => x > y,
            CmpOp::Ge => x >= y,
        };
    }
    let (x, y) = (to_int(t, a), to_int(t, b));
    match op {
        CmpOp::Eq => x == y,
        CmpOp::Ne => x != y,
        CmpOp::Lt => x < y,
        CmpOp::Le => x <= y,
        CmpOp::Gt => x > y,
        CmpOp::Ge => x >= y,
    }
}

fn cast(from: Scalar, to: Scalar, v: u64) -> u64 {
    if to == Scalar::Bool {
        return if from.is_float() { (to_f(from, v) != 0.0) as u64 } else { (v != 0) as u64 };
    }
    if from.is_float() {
        let x = to_f(from, v);
        // Rust `as` float->int saturates and maps NaN to 0, as KIR requires.
        return match to {
            Scalar::F32 => (x as f32).to_bits() as u64,
            Scalar::F64 => x.to_bits(),
            Scalar::I8 => wrap(to, x as i8 as u64),
            Scalar::I16 => wrap(to, x as i16 as u64),
            Scalar::I32 => wrap(to, x as i32 as u64),
            Scalar::I64 => x as i64 as u64,
            Scalar::U8 => x as u8 as u64,
            Scalar::U16 => x as u16 as u64,
            Scalar::U32 => x as u32 as u64,
            Scalar::U64 => x as u64,
            Scalar::Bool => unreachable!("handled above"),
        };
    }
    let i = to_int(from, v);
    match to {
        // Direct int->f32 conversion rounds once (no double rounding via f64).
        Scalar::F32 => (if from.is_signed() { i as i64 as f32 } else { i as u64 as f32 }).to_bits() as u64,
        Scalar::F64 => (if from.is_signed() { i as i64 as f64 } else { i as u64 as f64 }).to_bits(),
        _ => wrap(to, i as u64),
    }
}

/// Checks that `k` is well typed under the rules in `kir.rs`: operands of
/// binary ops and comparisons agree, indices and loop bounds are `I64`,
/// select conditions are `Bool`, stores match the buffer's element type and
/// target writable params, bitcasts keep the width, float-only ops get floats.
pub fn check_kernel(k: &Kernel) -> Result<(), String> {
    let c = Checker { k };
    c.block(&k.body)
}

struct Checker<'a> {
    k: &'a Kernel,
}

impl Checker<'_> {
    fn local(&self, l: crate::kir::LocalId) -> Result<Scalar, String> {
        self.k.locals.get(l.0 as usize).copied().ok_or_else(|| format!("unknown local {}", l.0))
    }
    fn param(&self, p: crate::kir::ParamId) -> Result<crate::kir::Param, String> {
        self.k.params.get(p.0 as usize).copied().ok_or_else(|| format!("unknown param {}", p.0))
    }
    fn want(&self, e: &Expr, t: Scalar, what: &str) -> Result<(), String> {
        let got = self.expr(e)?;
        if got != t {
            return Err(format!("{what} has type {got}, expected {t}: {e:?}"));
        }
        Ok(())
    }
    fn block(&self, body: &[Stmt]) -> Result<(), String> {
        for s in body {
            match s {
                Stmt::For { var, start, end, step, body, .. } => {
                    if self.local(*var)? != Scalar::I64 || *step <= 0 {
                        return Err("loop variable must be an I64 local with a positive step".into());
                    }
                    self.want(start, Scalar::I64, "loop start")?;
                    self.want(end, Scalar::I64, "loop end")?;
                    self.block(body)?;
                }
                Stmt::Assign { local, value } => self.want(value, self.local(*local)?, "assigned value")?,
                Stmt::Store { buf, index, value } => {
                    let p = self.param(*buf)?;
                    if !p.writable {
                        return Err(format!("store to read-only param {}", buf.0));
                    }
                    self.want(index, Scalar::I64, "store index")?;
                    self.want(value, p.elem, "stored value")?;
                }
                Stmt::If { cond, then_body, else_body } => {
                    self.want(cond, Scalar::Bool, "if condition")?;
                    self.block(then_body)?;
                    self.block(else_body)?;
                }
            }
        }
        Ok(())
    }
    fn expr(&self, e: &Expr) -> Result<Scalar, String> {
        Ok(match e {
            Expr::Const(c) => c.ty,
            Expr::Pooled => Scalar::Bool,
            Expr::Local(l) => self.local(*l)?,
            Expr::Load { buf, index } => {
                self.want(index, Scalar::I64, "load index")?;
                self.param(*buf)?.elem
            }
            Expr::Un(op, a) => {
                let t = self.expr(a)?;
                let ok = match op {
                    UnOp::Neg | UnOp::Abs => t != Scalar::Bool,
                    UnOp::Not => !t.is_float(),
                    _ => t.is_float(),
                };
                if !ok {
                    return Err(format!("{op:?} on {t}"));
                }
                t
            }
            Expr::Bin(op, a, b) => {
                let t = self.expr(a)?;
                self.want(b, t, "right operand")?;
                let ok = match op {
                    BinOp::Rem => t.is_int(),
                    BinOp::Shl | BinOp::Shr => t.is_int(),
                    BinOp::And | BinOp::Or | BinOp::Xor => !t.is_float(),
                    _ => t != Scalar::Bool,
                };
                if !ok {
                    return Err(format!("{op:?} on {t}"));
                }
                t
            }
            Expr::Cmp(_, a, b) => {
                let t = self.expr(a)?;
                self.want(b, t, "compared operand")?;
                Scalar::Bool
            }
            Expr::Select(c, a, b) => {
                self.want(c, Scalar::Bool, "select condition")?;
                let t = self.expr(a)?;
                self.want(b, t, "select arm")?;
                t
            }
            Expr::Cast(t, a) => {
                self.expr(a)?;
                *t
            }
            Expr::Bitcast(t, a) => {
                let f = self.expr(a)?;
                if f.size() != t.size() || f == Scalar::Bool || *t == Scalar::Bool {
                    return Err(format!("bitcast {f} -> {t}"));
                }
                *t
            }
        })
    }
}
