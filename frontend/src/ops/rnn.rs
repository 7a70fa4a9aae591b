//! RNN, GRU and LSTM onto `Op::Recurrent`. Only the default activations are
//! supported (sigmoid gates, tanh elsewhere); the IR op always has all its
//! outputs, so outputs the model omits get internal names.

use super::{Importer, NodeCtx};
use crate::error::FrontendError;
use onnxc_ir::infer::{num_directions, output_count};
use onnxc_ir::op::{RnnAttrs, RnnCell, RnnDirection};
use onnxc_ir::{Op, ValueId};

type R = Result<Vec<ValueId>, FrontendError>;

pub(super) const OPS: &[(&str, Importer)] = &[("RNN", rnn), ("GRU", gru), ("LSTM", lstm)];

fn rnn(ctx: &mut NodeCtx<'_, '_>) -> R {
    import(ctx, RnnCell::Rnn)
}

fn gru(ctx: &mut NodeCtx<'_, '_>) -> R {
    import(ctx, RnnCell::Gru)
}

fn lstm(ctx: &mut NodeCtx<'_, '_>) -> R {
    import(ctx, RnnCell::Lstm)
}

fn default_activations(cell: RnnCell) -> &'static [&'static str] {
    match cell {
        RnnCell::Rnn => &["tanh"],
        RnnCell::Gru => &["sigmoid", "tanh"],
        RnnCell::Lstm => &["sigmoid", "tanh", "tanh"],
    }
}

fn check_activations(ctx: &NodeCtx<'_, '_>, cell: RnnCell, dirs: usize) -> Result<(), FrontendError> {
    let node = ctx.node;
    let Some(a) = node.attribute.iter().find(|a| a.name.as_deref() == Some("activations")) else {
        return Ok(());
    };
    let got: Vec<String> = a.strings.iter().map(|s| String::from_utf8_lossy(s).to_lowercase()).collect();
    let want: Vec<String> = (0..dirs).flat_map(|_| default_activations(cell).iter().map(|s| s.to_string())).collect();
    if got != want {
        return Err(ctx.bad_attr("activations", format!("only the defaults {want:?} are supported, got {got:?}")));
    }
    Ok(())
}

fn import(ctx: &mut NodeCtx<'_, '_>, cell: RnnCell) -> R {
    let direction = match ctx.string("direction")?.as_deref().unwrap_or("forward") {
        "forward" => RnnDirection::Forward,
        "reverse" => RnnDirection::Reverse,
        "bidirectional" => RnnDirection::Bidirectional,
        other => return Err(ctx.bad_attr("direction", format!("unknown value `{other}`"))),
    };
    check_activations(ctx, cell, num_directions(direction))?;
    if cell == RnnCell::Lstm && ctx.bool_or("input_forget", false)? {
        return Err(ctx.bad_attr("input_forget", "coupled input/forget gates are not supported"));
    }
    let r = ctx.req(2)?;
    let hidden = match ctx.int("hidden_size")? {
        Some(h) => usize::try_from(h).map_err(|_| ctx.bad_attr("hidden_size", format!("must be positive, got {h}")))?,
        None => ctx.ty(r).shape.get(2).copied().ok_or_else(|| ctx.bad_attr("hidden_size", "required"))?,
    };
    let batch_major = match ctx.int_or("layout", 0)? {
        0 => false,
        1 => true,
        v => return Err(ctx.bad_attr("layout", format!("expected 0 or 1, got {v}"))),
    };
    let linear_before_reset = cell == RnnCell::Gru && ctx.bool_or("linear_before_reset", false)?;
    let attrs = RnnAttrs { cell, direction, hidden_size: hidden, batch_major, clip: ctx.float("clip")?, linear_before_reset };
    let max_in = if cell == RnnCell::Lstm { 8 } else { 6 };
    let mut inputs = ctx.inputs.clone();
    inputs.truncate(max_in);
    let name = ctx.name.clone();
    let n_out = output_count(cell);
    let names: Vec<String> = (0..n_out)
        .map(|i| match ctx.out_names.get(i) {
            Some(s) if !s.is_empty() => s.clone(),
            _ => format!("{name}/out{i}"),
        })
        .collect();
    let outs = ctx.emit_named(&name, Op::Recurrent(attrs), inputs, &names)?;
    let used = ctx.out_names.len().min(n_out);
    Ok(outs[..used].to_vec())
}
