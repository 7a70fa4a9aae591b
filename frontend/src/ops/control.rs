//! Control flow: If, Scan and Loop. Their bodies are compiled, not
//! interpreted: each body is imported inline into the enclosing graph, with
//! the body's inputs bound to IR values and outer-scope names visible, so the
//! ordinary shape rules, eager folding, passes and lowering apply to it.
//!
//! - **If** with a condition known at compile time imports only the chosen
//!   branch (the other one may not even type-check, as in the AffineGrid
//!   function body). A run-time condition imports both branches and selects
//!   each output with `Where` (if-conversion); the branches must then give
//!   the same static types.
//! - **Scan** (`scan.rs`) has a static length (the scan axis of its inputs), so it is
//!   unrolled: iteration `t` reads slice `t` with a constant-index Gather and
//!   the scan outputs are stacked with Unsqueeze + Concat. The loop-carried
//!   state is simply the previous iteration's value.
//! - **Loop** needs a compile-time trip count (the static bound that sizes
//!   its scan outputs; without one it is a while loop, unrolled while its
//!   condition folds) and is unrolled likewise. A condition that becomes
//!   known-false stops the unrolling; a run-time condition predicates the
//!   remaining iterations (`state = Where(running, new, old)`), which is
//!   exact for the carried state but leaves scan outputs with a data-dependent
//!   length, so those are rejected.
//! - If and Loop may carry compile-time sequences (`Val::S`, see
//!   `sequence.rs`).

use super::scan::stack;
use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use crate::import::{import_node, unsupported_nodes, Builder};
use crate::proto::{type_proto, GraphProto, NodeProto};
use crate::tensor::{dtype_from_code, tensor_from_proto};
use onnxc_ir::{DType, Op, Tensor, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

/// If and Loop may carry sequences, so the driver routes them to [`import`]
/// (which defines their outputs itself). Scan (tensor-only) is in `scan.rs`.
pub(super) const OPS: &[(&str, Importer)] = &[("If", routed), ("Loop", routed)];

fn routed(ctx: &mut NodeCtx<'_, '_>) -> R {
    Err(ctx.bad("control-flow op reached the tensor importer"))
}

/// A value flowing through a body: a tensor, or a compile-time sequence.
#[derive(Clone, Debug)]
pub(super) enum Val {
    T(ValueId),
    S(Vec<ValueId>),
    /// An optional that is absent at compile time (`Builder::absent`).
    A,
}

pub(crate) fn routes(n: &NodeProto) -> bool {
    matches!(n.domain.as_deref().unwrap_or(""), "" | "ai.onnx")
        && matches!(n.op_type.as_deref(), Some("If" | "Loop"))
}

/// Imports an If or Loop node and defines its outputs (tensors or sequences).
pub(crate) fn import(
    b: &mut Builder<'_>,
    n: &NodeProto,
    name: String,
) -> Result<(), FrontendError> {
    let used = n
        .output
        .iter()
        .rposition(|o| !o.is_empty())
        .map_or(0, |p| p + 1);
    let op_type = n.op_type.clone().unwrap_or_default();
    let inputs = n.input.iter().map(|i| b.names.get(i).copied()).collect();
    let out_names = n.output[..used].to_vec();
    let mut ctx = NodeCtx {
        b,
        node: n,
        name,
        op_type,
        inputs,
        out_names,
    };
    let first_new = ctx.b.graph.values.len();
    let outs = if ctx.op_type == "If" {
        if_(&mut ctx)?
    } else {
        loop_(&mut ctx)?
    };
    if outs.len() < ctx.out_names.len() {
        return Err(ctx.bad(format!(
            "gives {} outputs, the model uses {}",
            outs.len(),
            ctx.out_names.len()
        )));
    }
    for (name, v) in ctx.out_names.clone().into_iter().zip(outs) {
        match v {
            _ if name.is_empty() => {}
            Val::T(id) => {
                if id.0 as usize >= first_new {
                    ctx.b.graph.value_mut(id).name = name.clone();
                }
                ctx.b.define(&name, id)?;
            }
            Val::S(elems) => {
                if ctx.b.names.contains_key(&name)
                    || ctx.b.seqs.insert(name.clone(), elems).is_some()
                {
                    return Err(FrontendError::Invalid(format!(
                        "value `{name}` is defined more than once"
                    )));
                }
            }
            Val::A => {
                ctx.b.absent.insert(name);
            }
        }
    }
    Ok(())
}

/// Operand `i` of the node as a value: a tensor, or a known sequence.
fn operand(ctx: &NodeCtx<'_, '_>, i: usize) -> Result<Val, FrontendError> {
    if let Some(id) = ctx.input(i) {
        return Ok(Val::T(id));
    }
    let name = ctx.node.input.get(i).map(String::as_str).unwrap_or("");
    match ctx.b.seqs.get(name) {
        Some(s) => Ok(Val::S(s.clone())),
        None if ctx.b.absent.contains(name) => Ok(Val::A),
        None => Err(ctx.bad(format!("input {i} `{name}` is missing"))),
    }
}

fn tensor(ctx: &NodeCtx<'_, '_>, v: &Val, what: &str) -> Result<ValueId, FrontendError> {
    match v {
        Val::T(id) => Ok(*id),
        Val::S(_) => Err(ctx.bad(format!("{what} must be a tensor, got a sequence"))),
        Val::A => Err(ctx.bad(format!("{what} must be a tensor, got an absent optional"))),
    }
}

/// [`inline_body`] for bodies that take and give tensors only.
pub(super) fn inline_tensors(
    ctx: &mut NodeCtx<'_, '_>,
    body: &GraphProto,
    tag: &str,
    args: &[ValueId],
) -> R {
    let args: Vec<Val> = args.iter().map(|&a| Val::T(a)).collect();
    let outs = inline_body(ctx, body, tag, &args)?;
    outs.iter()
        .map(|v| tensor(ctx, v, "a body output"))
        .collect()
}

/// Unrolling multiplies the body; past this many imported nodes the model
/// needs a real run-time loop, which this compiler does not emit.
const MAX_UNROLLED_NODES: usize = 1 << 18;
/// The same bound for the whole graph while bodies are being inlined.
const MAX_GRAPH_NODES: usize = 1 << 21;

pub(super) fn graph_attr<'b>(
    ctx: &NodeCtx<'b, '_>,
    name: &str,
) -> Result<&'b GraphProto, FrontendError> {
    let node = ctx.node;
    node.attribute
        .iter()
        .find(|a| a.name.as_deref() == Some(name))
        .and_then(|a| a.g.as_ref())
        .ok_or_else(|| ctx.bad_attr(name, "required graph attribute is missing"))
}

/// Imports `body` inline with its inputs bound to `args`; returns the values
/// of its outputs. Names defined inside the body do not leak out.
pub(super) fn inline_body(
    ctx: &mut NodeCtx<'_, '_>,
    body: &GraphProto,
    tag: &str,
    args: &[Val],
) -> Result<Vec<Val>, FrontendError> {
    if body.input.len() != args.len() {
        return Err(ctx.bad(format!(
            "body `{tag}` declares {} inputs, the op binds {}",
            body.input.len(),
            args.len()
        )));
    }
    // Nested unrolling multiplies: bound the whole graph, not just one level.
    if ctx.b.graph.nodes.len() > MAX_GRAPH_NODES {
        return Err(ctx.bad(format!(
            "unrolling control flow grew the graph past {MAX_GRAPH_NODES} nodes"
        )));
    }
    let bad = unsupported_nodes(&body.node);
    if !bad.is_empty() {
        return Err(FrontendError::Unsupported { nodes: bad });
    }
    for (vi, v) in body.input.iter().zip(args) {
        if let Val::T(id) = v {
            check_input_dtype(ctx, vi, *id)?;
        }
    }
    let saved_names = ctx.b.names.clone();
    let saved_seqs = ctx.b.seqs.clone();
    let saved_absent = ctx.b.absent.clone();
    let saved_scope = std::mem::replace(&mut ctx.b.scope, format!("{}/{tag}/", ctx.name));
    let result = import_inner(ctx, body, args);
    ctx.b.names = saved_names;
    ctx.b.seqs = saved_seqs;
    ctx.b.absent = saved_absent;
    ctx.b.scope = saved_scope;
    result
}

fn import_inner(
    ctx: &mut NodeCtx<'_, '_>,
    body: &GraphProto,
    args: &[Val],
) -> Result<Vec<Val>, FrontendError> {
    let b = &mut *ctx.b;
    // Body inputs and initializers shadow outer names of the same spelling.
    for (vi, v) in body.input.iter().zip(args) {
        let name = vi.name.clone().unwrap_or_default();
        match v {
            Val::T(id) => {
                b.seqs.remove(&name);
                b.absent.remove(&name);
                b.names.insert(name, *id);
            }
            Val::S(elems) => {
                b.names.remove(&name);
                b.absent.remove(&name);
                b.seqs.insert(name, elems.clone());
            }
            Val::A => {
                b.names.remove(&name);
                b.seqs.remove(&name);
                b.absent.insert(name);
            }
        }
    }
    for t in &body.initializer {
        let name = t.name.clone().unwrap_or_default();
        let id = match b.body_consts.get(&(t as *const _ as usize)) {
            Some(&id) => id,
            None => {
                let id = b
                    .graph
                    .add_const(name.clone(), tensor_from_proto(t, b.base_dir)?);
                b.body_consts.insert(t as *const _ as usize, id);
                id
            }
        };
        b.names.insert(name, id);
    }
    for (i, n) in body.node.iter().enumerate() {
        let key = n as *const _ as usize;
        let out = n.output.first().filter(|o| !o.is_empty());
        let is_const = n.op_type.as_deref() == Some("Constant")
            && matches!(n.domain.as_deref().unwrap_or(""), "" | "ai.onnx");
        match (is_const, out, b.body_consts.get(&key)) {
            (true, Some(o), Some(&id)) => {
                b.names.insert(o.clone(), id);
            }
            (true, Some(o), None) => {
                import_node(b, n, i)?;
                if let Some(&id) = b.names.get(o) {
                    b.body_consts.insert(key, id);
                }
            }
            _ => import_node(b, n, i)?,
        }
    }
    body.output
        .iter()
        .map(|vi| {
            let name = vi.name.clone().unwrap_or_default();
            if let Some(&id) = b.names.get(&name) {
                return Ok(Val::T(id));
            }
            if b.absent.contains(&name) {
                return Ok(Val::A);
            }
            b.seqs.get(&name).map(|s| Val::S(s.clone())).ok_or_else(|| {
                FrontendError::MissingInput {
                    node: format!("{}<body output>", b.scope),
                    name,
                }
            })
        })
        .collect()
}

/// A body input that declares an element type must agree with its binding.
fn check_input_dtype(
    ctx: &NodeCtx<'_, '_>,
    vi: &crate::proto::ValueInfoProto,
    id: ValueId,
) -> Result<(), FrontendError> {
    let code = match vi.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => t.elem_type.unwrap_or(0),
        _ => 0,
    };
    if code == 0 {
        return Ok(());
    }
    let name = vi.name.clone().unwrap_or_default();
    let want = dtype_from_code(code, &format!("body input `{name}`"))?;
    let got = ctx.ty(id).dtype;
    if want != got {
        return Err(ctx.bad(format!(
            "body input `{name}` is {want:?}, bound to a {got:?} value"
        )));
    }
    Ok(())
}

/// Gives the op's outputs their ONNX names (they carry the body's names
/// otherwise), touching only values created while importing this node.
pub(super) fn name_outputs(ctx: &mut NodeCtx<'_, '_>, first_new: usize, outs: &[ValueId]) {
    for (id, name) in outs.iter().zip(ctx.out_names.clone()) {
        if id.0 as usize >= first_new && !name.is_empty() {
            ctx.b.graph.value_mut(*id).name = name;
        }
    }
}

/// The single element of a condition tensor, as a rank-0 value.
fn scalar_cond(
    ctx: &mut NodeCtx<'_, '_>,
    c: ValueId,
    what: &str,
) -> Result<ValueId, FrontendError> {
    let ty = ctx.ty(c).clone();
    if ty.dtype != DType::Bool || ty.numel() != 1 {
        return Err(ctx.bad(format!("{what} must be one bool, got {ty}")));
    }
    if ty.shape.is_empty() {
        return Ok(c);
    }
    let shape = ctx.konst("scalar_shape", Tensor::from_vec(vec![0], Vec::<i64>::new()));
    let name = format!("{}/{what}_scalar", ctx.name);
    Ok(ctx.emit_named(
        &name,
        Op::Reshape { allowzero: false },
        vec![Some(c), Some(shape)],
        &[String::new()],
    )?[0])
}

fn const_bool(ctx: &NodeCtx<'_, '_>, c: ValueId) -> Option<bool> {
    ctx.const_value(c)
        .map(|t| t.to_f64_vec().first().is_some_and(|v| *v != 0.0))
}

pub(super) fn check_unroll(
    ctx: &NodeCtx<'_, '_>,
    body: &GraphProto,
    iters: usize,
) -> Result<(), FrontendError> {
    if body.node.len().saturating_mul(iters) > MAX_UNROLLED_NODES {
        return Err(ctx.bad(format!(
            "{iters} iterations of a {}-node body exceed the unrolling limit ({MAX_UNROLLED_NODES} nodes)",
            body.node.len()
        )));
    }
    Ok(())
}

/// [`select`] over values: sequences of equal length select element-wise.
fn select_vals(
    ctx: &mut NodeCtx<'_, '_>,
    cond: ValueId,
    a: &[Val],
    b: &[Val],
    what: &str,
) -> Result<Vec<Val>, FrontendError> {
    let mut outs = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        outs.push(match (x, y) {
            (Val::T(x), Val::T(y)) => Val::T(select(ctx, cond, &[*x], &[*y], what)?[0]),
            (Val::S(x), Val::S(y)) if x.len() == y.len() => Val::S(select(ctx, cond, x, y, what)?),
            (Val::A, Val::A) => Val::A,
            // Kinds, lengths and presence are compile-time facts: the
            // condition must be one too (binding the graph inputs it is
            // computed from makes it so).
            _ => {
                let msg = format!(
                    "a {what} differs in kind, sequence length or optional presence between the paths of a run-time condition, so the condition must be a constant to compile ahead of time"
                );
                let cond_name = ctx.b.graph.display_name(cond);
                return Err(ctx.b.graph.needs_constant_values(&ctx.name, &ctx.op_type, &msg, vec![cond_name], &[cond]).into());
            }
        });
    }
    Ok(outs)
}

/// `Where(cond, a, b)` for each pair; the pairs must have equal types.
fn select(ctx: &mut NodeCtx<'_, '_>, cond: ValueId, a: &[ValueId], b: &[ValueId], what: &str) -> R {
    let mut outs = Vec::with_capacity(a.len());
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let (tx, ty) = (ctx.ty(x).clone(), ctx.ty(y).clone());
        if tx != ty {
            return Err(ctx.bad(format!(
                "{what} {i} is {tx} on one path and {ty} on the other; with a run-time condition both must have the same static type"
            )));
        }
        let name = format!("{}/select{i}", ctx.name);
        outs.push(
            ctx.emit_named(
                &name,
                Op::Where,
                vec![Some(cond), Some(x), Some(y)],
                &[String::new()],
            )?[0],
        );
    }
    Ok(outs)
}

fn if_(ctx: &mut NodeCtx<'_, '_>) -> Result<Vec<Val>, FrontendError> {
    let then_g = graph_attr(ctx, "then_branch")?;
    let else_g = graph_attr(ctx, "else_branch")?;
    let cond = ctx.req(0)?;
    let outs = match const_bool(ctx, cond) {
        Some(true) => inline_body(ctx, then_g, "then", &[])?,
        Some(false) => inline_body(ctx, else_g, "else", &[])?,
        None => {
            let c = scalar_cond(ctx, cond, "cond")?;
            let t = inline_body(ctx, then_g, "then", &[])?;
            let e = inline_body(ctx, else_g, "else", &[])?;
            if t.len() != e.len() {
                return Err(ctx.bad(format!("then gives {} outputs, else {}", t.len(), e.len())));
            }
            select_vals(ctx, c, &t, &e, "output")?
        }
    };
    Ok(outs)
}

/// The loop condition while unrolling.
#[derive(Clone, Copy)]
enum Cond {
    Known(bool),
    Runtime(ValueId),
}

/// The compile-time trip count (`None`: no M input, a while loop).
fn trip_count(ctx: &NodeCtx<'_, '_>) -> Result<Option<usize>, FrontendError> {
    // Without a trip count the loop is a while loop: it can still be
    // unrolled if its condition folds to false within the unrolling limit.
    Ok(match ctx.input(0) {
        None => None,
        Some(m) => match ctx.const_value(m) {
            Some(t) => Some(t.to_i64_vec().first().copied().unwrap_or(0).max(0) as usize),
            None => {
                let msg = format!(
                    "trip count `{}` is only known at run time; the compiler needs a compile-time bound (make it a constant or an initializer)",
                    ctx.b.graph.display_name(m)
                );
                return Err(ctx.needs_constant(0, "M", Some(&msg)));
            }
        },
    })
}

fn loop_(ctx: &mut NodeCtx<'_, '_>) -> Result<Vec<Val>, FrontendError> {
    let body = graph_attr(ctx, "body")?;
    let trips = trip_count(ctx)?;
    let mut cond = match ctx.input(1) {
        None => Cond::Known(true),
        Some(c) => match const_bool(ctx, c) {
            Some(b) => Cond::Known(b),
            None => Cond::Runtime(scalar_cond(ctx, c, "cond")?),
        },
    };
    let mut state: Vec<Val> = (2..ctx.node.input.len())
        .map(|i| operand(ctx, i))
        .collect::<Result<_, _>>()?;
    let n = state.len();
    let k = body
        .output
        .len()
        .checked_sub(1 + n)
        .ok_or_else(|| ctx.bad("body has fewer outputs than 1 + loop-carried values"))?;
    if let Some(t) = trips {
        check_unroll(ctx, body, t)?;
    }
    let mut per_iter: Vec<Vec<Val>> = Vec::new();
    for i in 0..trips.unwrap_or(usize::MAX) {
        let cond_in = match cond {
            Cond::Known(false) => break,
            Cond::Known(true) => ctx.konst(&format!("cond{i}"), Tensor::scalar(true)),
            Cond::Runtime(_) if trips.is_none() => {
                return Err(ctx.bad("a Loop without a trip count whose condition is only known at run time has no static bound"));
            }
            Cond::Runtime(c) => c,
        };
        if trips.is_none() {
            check_unroll(ctx, body, i + 1)?;
        }
        let iter = ctx.konst(&format!("iter{i}"), Tensor::scalar(i as i64));
        let args: Vec<Val> = [Val::T(iter), Val::T(cond_in)]
            .into_iter()
            .chain(state.iter().cloned())
            .collect();
        let outs = inline_body(ctx, body, &format!("iter{i}"), &args)?;
        let next = tensor(ctx, &outs[0], "cond_out")?;
        let next = scalar_cond(ctx, next, "cond_out")?;
        match cond {
            Cond::Runtime(c) => {
                if k > 0 {
                    let msg = "scan outputs of a Loop whose condition is only known at run time have a data-dependent length";
                    let e = ctx.b.graph.needs_constant_values(&ctx.name, &ctx.op_type, msg, vec!["cond".to_string()], &[c]);
                    return Err(e.into());
                }
                state = select_vals(ctx, c, &outs[1..=n], &state, "loop-carried value")?;
                let name = format!("{}/running{i}", ctx.name);
                let and = Op::Binary(onnxc_ir::op::BinaryOp::And);
                cond = Cond::Runtime(
                    ctx.emit_named(&name, and, vec![Some(c), Some(next)], &[String::new()])?[0],
                );
            }
            Cond::Known(_) => {
                state = outs[1..=n].to_vec();
                per_iter.push(outs[n + 1..].to_vec());
                cond = match const_bool(ctx, next) {
                    Some(b) => Cond::Known(b),
                    None => Cond::Runtime(next),
                };
            }
        }
    }
    if k > 0 && per_iter.is_empty() {
        return Err(ctx.bad("the Loop runs no iteration, so its scan outputs have no static type"));
    }
    let mut result = state;
    for j in 0..k {
        let pieces: Vec<ValueId> = per_iter
            .iter()
            .map(|o| tensor(ctx, &o[j], "a scan output"))
            .collect::<Result<_, _>>()?;
        result.push(Val::T(stack(ctx, &pieces, 0)?));
    }
    Ok(result)
}
