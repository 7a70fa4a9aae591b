//! Parallel loops through the caller's pool (`<p>_run`'s `pool`, a
//! `PoolAbi *`: a C struct whose first field is
//! `void parallel_for(const PoolAbi *pool, size_t n, void (*task)(const void *arg, size_t i), const void *arg)`).
//!
//! A top-level `For { parallel: true }` of a kernel whose estimated work is
//! at least `MIN_WORK` scalar operations is outlined into
//!
//! - `<kernel>.par<i>(buffers..., captured locals..., lo, hi)`: the loop over
//!   `lo..hi` (same step), with the kernel's noalias buffer attributes;
//! - `<kernel>.task<i>(const void *arg, size_t chunk)`: reads the buffers,
//!   captured locals and the iteration space from an argument struct on the
//!   kernel's stack and runs chunk `chunk` of `n` contiguous iteration ranges.
//!
//! The kernel calls `pool->parallel_for(pool, n, task, &arg)` through the
//! struct's function pointer (so the object imports no new symbol) when
//! `pool != NULL` and the trip count is above 1; otherwise it calls
//! `.par<i>` over the whole range on its own thread. Chunking: `n =
//! min(trip, MAX_CHUNKS)` contiguous ranges. The pool's thread count is not
//! part of the ABI, so a fixed count, several per core on usual machines,
//! keeps the per-task overhead (one indirect call) negligible while leaving
//! a dynamically scheduled pool enough pieces to balance uneven chunks.
//! Every iteration computes exactly what the serial loop computes, so
//! results are bit-identical for any pool and any thread count.

use crate::error::{LlvmError, Result};
use crate::kernel::{add_loop_attrs, add_param_attrs, reg_ty, KernelGen};
use inkwell::module::Linkage;
use inkwell::types::{BasicMetadataTypeEnum, BasicTypeEnum};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValueEnum, FunctionValue, IntValue, PointerValue,
};
use inkwell::{AddressSpace, IntPredicate};
use onnxc_kernel::kir::{Expr, Kernel, LocalId, Scalar, Stmt};
use std::collections::BTreeSet;

/// Most chunks one parallel loop is split into.
pub(crate) const MAX_CHUNKS: u64 = 64;
/// Loops estimated below this many scalar operations stay serial: waking
/// threads, and moving half of the data into the other core's cache, costs
/// more than they would save (ShuffleNet ran 15% slower on 2 threads than
/// on 1 with 2^16; with 2^18 they tie and SqueezeNet's 2t gain is kept).
pub(crate) const MIN_WORK: u64 = 1 << 18;

/// `MIN_WORK`, or `ONNXC_PAR_MIN_WORK` (tuning experiments).
fn min_work() -> u64 {
    std::env::var("ONNXC_PAR_MIN_WORK").ok().and_then(|v| v.parse().ok()).unwrap_or(MIN_WORK)
}

/// Indices of the top-level statements of `k` that `define` outlines.
pub(crate) fn outlined_loops(k: &Kernel) -> Vec<usize> {
    k.body
        .iter()
        .enumerate()
        .filter(|&(i, s)| match s {
            Stmt::For {
                parallel: true,
                start,
                end,
                step,
                body,
                ..
            } => {
                let trips = trips(start, end, *step);
                trips != Some(0)
                    && trips != Some(1)
                    && trips.unwrap_or(16).saturating_mul(block_cost(body).max(1)) >= min_work()
                    && private_to_loop(k, i)
            }
            _ => false,
        })
        .map(|(i, _)| i)
        .collect()
}

/// Tasks get copies of the locals, so the loop must not leave a value that
/// the rest of the kernel reads (KIR's `parallel` promises independent
/// iterations, not dead locals; this keeps the check cheap and conservative).
fn private_to_loop(k: &Kernel, i: usize) -> bool {
    let mut written = BTreeSet::new();
    if let Stmt::For { var, body, .. } = &k.body[i] {
        written.insert(*var);
        writes(body, &mut written);
    }
    let mut later = BTreeSet::new();
    for s in &k.body[i + 1..] {
        stmt_locals(s, &mut later);
    }
    written.is_disjoint(&later)
}

fn const_i64(e: &Expr) -> Option<i64> {
    match e {
        Expr::Const(c) if c.ty == Scalar::I64 => Some(c.bits as i64),
        _ => None,
    }
}

fn trips(start: &Expr, end: &Expr, step: i64) -> Option<u64> {
    let (s, e) = (const_i64(start)?, const_i64(end)?);
    if step <= 0 {
        return None;
    }
    Some(if e > s {
        (e as i128 - s as i128 + step as i128 - 1) as u64 / step as u64
    } else {
        0
    })
}

fn block_cost(b: &[Stmt]) -> u64 {
    b.iter().map(stmt_cost).fold(0, u64::saturating_add)
}

fn stmt_cost(s: &Stmt) -> u64 {
    match s {
        Stmt::For {
            start,
            end,
            step,
            body,
            ..
        } => trips(start, end, *step)
            .unwrap_or(16)
            .saturating_mul(block_cost(body).max(1)),
        Stmt::Assign { value, .. } => expr_size(value),
        Stmt::Store { index, value, .. } => 1 + expr_size(index) + expr_size(value),
        Stmt::If {
            cond,
            then_body,
            else_body,
        } => expr_size(cond).saturating_add(block_cost(then_body).max(block_cost(else_body))),
    }
}

fn expr_size(e: &Expr) -> u64 {
    match e {
        Expr::Const(_) | Expr::Local(_) | Expr::Pooled => 1,
        Expr::Load { index, .. } => 1 + expr_size(index),
        Expr::Un(_, a) | Expr::Cast(_, a) | Expr::Bitcast(_, a) => 1 + expr_size(a),
        Expr::Bin(_, a, b) | Expr::Cmp(_, a, b) => 1 + expr_size(a) + expr_size(b),
        Expr::Select(c, a, b) => 1 + expr_size(c) + expr_size(a) + expr_size(b),
    }
}

fn expr_locals(e: &Expr, out: &mut BTreeSet<LocalId>) {
    match e {
        Expr::Const(_) | Expr::Pooled => {}
        Expr::Local(l) => {
            out.insert(*l);
        }
        Expr::Load { index, .. } => expr_locals(index, out),
        Expr::Un(_, a) | Expr::Cast(_, a) | Expr::Bitcast(_, a) => expr_locals(a, out),
        Expr::Bin(_, a, b) | Expr::Cmp(_, a, b) => {
            expr_locals(a, out);
            expr_locals(b, out);
        }
        Expr::Select(c, a, b) => {
            expr_locals(c, out);
            expr_locals(a, out);
            expr_locals(b, out);
        }
    }
}

/// Every local a statement reads or writes.
fn stmt_locals(s: &Stmt, out: &mut BTreeSet<LocalId>) {
    match s {
        Stmt::For {
            var,
            start,
            end,
            body,
            ..
        } => {
            out.insert(*var);
            expr_locals(start, out);
            expr_locals(end, out);
            body.iter().for_each(|s| stmt_locals(s, out));
        }
        Stmt::Assign { local, value } => {
            out.insert(*local);
            expr_locals(value, out);
        }
        Stmt::Store { index, value, .. } => {
            expr_locals(index, out);
            expr_locals(value, out);
        }
        Stmt::If {
            cond,
            then_body,
            else_body,
        } => {
            expr_locals(cond, out);
            then_body
                .iter()
                .chain(else_body)
                .for_each(|s| stmt_locals(s, out));
        }
    }
}

fn writes(b: &[Stmt], out: &mut BTreeSet<LocalId>) {
    for s in b {
        match s {
            Stmt::For { var, body, .. } => {
                out.insert(*var);
                writes(body, out);
            }
            Stmt::Assign { local, .. } => {
                out.insert(*local);
            }
            Stmt::Store { .. } => {}
            Stmt::If {
                then_body,
                else_body,
                ..
            } => {
                writes(then_body, out);
                writes(else_body, out);
            }
        }
    }
}

/// Emits top-level statement `idx` (an outlined parallel loop) at `g`'s position.
pub(crate) fn emit<'a, 'ctx>(
    g: &mut KernelGen<'a, 'ctx>,
    idx: usize,
    pool: PointerValue<'ctx>,
) -> Result<()> {
    let (cx, k) = (g.cx, g.k);
    let Stmt::For {
        var,
        start,
        end,
        step,
        body,
        ..
    } = &k.body[idx]
    else {
        return Err(g.bad("outlined statement is not a loop"));
    };
    let ctx = cx.ctx;
    let ptr = ctx.ptr_type(AddressSpace::default());
    let i64t = ctx.i64_type();
    let mut used = BTreeSet::new();
    body.iter().for_each(|s| stmt_locals(s, &mut used));
    used.remove(var);
    let captured: Vec<LocalId> = used.into_iter().collect();
    let cap_tys: Vec<BasicTypeEnum> = captured
        .iter()
        .map(|l| reg_ty(ctx, k.local_ty(*l)))
        .collect();
    let name = g.f.get_name().to_string_lossy().into_owned();
    let np = k.params.len();

    // `.par<i>(buffers..., captured..., lo, hi)`
    let mut ptys: Vec<BasicMetadataTypeEnum> = vec![ptr.into(); np];
    ptys.extend(cap_tys.iter().map(|&t| BasicMetadataTypeEnum::from(t)));
    ptys.extend([BasicMetadataTypeEnum::from(i64t); 2]);
    let par_fn = cx.module.add_function(
        &format!("{name}.par{idx}"),
        ctx.void_type().fn_type(&ptys, false),
        Some(Linkage::Internal),
    );
    add_loop_attrs(cx, par_fn, true);
    add_param_attrs(cx, par_fn, k);
    {
        let mut pg = KernelGen::new(cx, k, par_fn)?;
        let arg = |i: usize| {
            par_fn
                .get_nth_param(i as u32)
                .ok_or_else(|| LlvmError::InvalidProgram("outlined loop lost a param".into()))
        };
        for (j, l) in captured.iter().enumerate() {
            let (slot, _) = pg.local(*l)?;
            pg.b.build_store(slot, arg(np + j)?)?;
        }
        let lo = arg(np + captured.len())?.into_int_value();
        let hi = arg(np + captured.len() + 1)?.into_int_value();
        pg.for_range(*var, lo, hi, *step, body)?;
        pg.b.build_return(None)?;
    }

    // The argument struct: buffers, captured locals, start, step, trip, chunks.
    let mut fields: Vec<BasicTypeEnum> = vec![ptr.into(); np];
    fields.extend(cap_tys.iter().copied());
    fields.extend([BasicTypeEnum::from(i64t); 4]);
    let arg_ty = ctx.struct_type(&fields, false);
    let task_fn = define_task(
        g,
        &format!("{name}.task{idx}"),
        arg_ty,
        par_fn,
        np + captured.len(),
    )?;

    // The kernel: trip count, then the pool or a direct call.
    let s = g.index(start)?;
    let e = g.index(end)?;
    let b = &g.b;
    let diff = b.build_int_sub(e, s, "")?;
    let steps = b.build_int_add(diff, i64t.const_int(*step as u64 - 1, false), "")?;
    let trip = b.build_int_signed_div(steps, i64t.const_int(*step as u64, false), "")?;
    let positive = b.build_int_compare(IntPredicate::SGT, diff, i64t.const_zero(), "")?;
    let trip = b
        .build_select(positive, trip, i64t.const_zero(), "")?
        .into_int_value();
    let mut cap_vals: Vec<BasicValueEnum> = Vec::new();
    for l in &captured {
        let (slot, t) = g.local(*l)?;
        cap_vals.push(g.b.build_load(reg_ty(ctx, t), slot, "")?);
    }
    let b = &g.b;
    let has_pool = b.build_is_not_null(pool, "")?;
    let many = b.build_int_compare(IntPredicate::SGT, trip, i64t.const_int(1, false), "")?;
    let go_par = b.build_and(has_pool, many, "")?;
    let par_bb = ctx.append_basic_block(g.f, "pool");
    let ser_bb = ctx.append_basic_block(g.f, "serial");
    let join = ctx.append_basic_block(g.f, "endpar");
    b.build_conditional_branch(go_par, par_bb, ser_bb)?;

    b.position_at_end(par_bb);
    let arg = g.alloca_b.build_alloca(arg_ty, "task_arg")?;
    let vals: Vec<BasicValueEnum> = g
        .params()
        .iter()
        .map(|&p| p.into())
        .chain(cap_vals.iter().copied())
        .collect();
    let max = i64t.const_int(MAX_CHUNKS, false);
    let few = b.build_int_compare(IntPredicate::SLT, trip, max, "")?;
    let chunks = b.build_select(few, trip, max, "")?.into_int_value();
    let tail: [IntValue; 4] = [s, i64t.const_int(*step as u64, false), trip, chunks];
    for (j, v) in vals
        .iter()
        .copied()
        .chain(tail.iter().map(|&v| v.into()))
        .enumerate()
    {
        let slot = b.build_struct_gep(arg_ty, arg, j as u32, "")?;
        b.build_store(slot, v)?;
    }
    // `pool->parallel_for` is the struct's first field.
    let pf = b
        .build_load(ptr, pool, "parallel_for")?
        .into_pointer_value();
    let pf_ty = ctx
        .void_type()
        .fn_type(&[ptr.into(), i64t.into(), ptr.into(), ptr.into()], false);
    let task_ptr = task_fn.as_global_value().as_pointer_value();
    b.build_indirect_call(
        pf_ty,
        pf,
        &[pool.into(), chunks.into(), task_ptr.into(), arg.into()],
        "",
    )?;
    b.build_unconditional_branch(join)?;

    b.position_at_end(ser_bb);
    let args: Vec<BasicMetadataValueEnum> = vals
        .iter()
        .map(|&v| v.into())
        .chain([s.into(), e.into()])
        .collect();
    b.build_call(par_fn, &args, "")?;
    b.build_unconditional_branch(join)?;
    b.position_at_end(join);
    Ok(())
}

/// `void task(const void *arg, size_t chunk)`: loads the argument struct and
/// runs chunk `chunk` of the iteration space through `par_fn`.
fn define_task<'ctx>(
    g: &KernelGen<'_, 'ctx>,
    name: &str,
    arg_ty: inkwell::types::StructType<'ctx>,
    par_fn: FunctionValue<'ctx>,
    nvals: usize,
) -> Result<FunctionValue<'ctx>> {
    let ctx = g.cx.ctx;
    let ptr = ctx.ptr_type(AddressSpace::default());
    let i64t = ctx.i64_type();
    let f = g.cx.module.add_function(
        name,
        ctx.void_type().fn_type(&[ptr.into(), i64t.into()], false),
        Some(Linkage::Internal),
    );
    add_loop_attrs(g.cx, f, true);
    let b = ctx.create_builder();
    b.position_at_end(ctx.append_basic_block(f, "entry"));
    let (Some(arg), Some(chunk)) = (f.get_nth_param(0), f.get_nth_param(1)) else {
        return Err(LlvmError::InvalidProgram(
            "task function lost its params".into(),
        ));
    };
    let (arg, chunk) = (arg.into_pointer_value(), chunk.into_int_value());
    let field = |j: usize| -> Result<BasicValueEnum<'ctx>> {
        let ty = arg_ty
            .get_field_type_at_index(j as u32)
            .ok_or_else(|| LlvmError::InvalidProgram("task argument field missing".into()))?;
        let slot = b.build_struct_gep(arg_ty, arg, j as u32, "")?;
        Ok(b.build_load(ty, slot, "")?)
    };
    let mut args: Vec<BasicMetadataValueEnum> = Vec::with_capacity(nvals + 2);
    for j in 0..nvals {
        args.push(field(j)?.into());
    }
    let start = field(nvals)?.into_int_value();
    let step = field(nvals + 1)?.into_int_value();
    let trip = field(nvals + 2)?.into_int_value();
    let chunks = field(nvals + 3)?.into_int_value();
    // Chunk c runs iterations [c·trip/n, (c+1)·trip/n): contiguous, sizes within one.
    let bound = |c: IntValue<'ctx>| -> Result<IntValue<'ctx>> {
        let it = b.build_int_unsigned_div(b.build_int_nuw_mul(c, trip, "")?, chunks, "")?;
        Ok(b.build_int_add(start, b.build_int_mul(it, step, "")?, "")?)
    };
    let lo = bound(chunk)?;
    let hi = bound(b.build_int_nuw_add(chunk, i64t.const_int(1, false), "")?)?;
    args.extend([BasicMetadataValueEnum::from(lo), hi.into()]);
    b.build_call(par_fn, &args, "")?;
    b.build_return(None)?;
    Ok(f)
}
