//! RNN, GRU and LSTM (`Op::Recurrent`). Every cell has outputs Y and Y_h plus
//! a third state output shaped like Y_h: LSTM's Y_c, or for GRU the last
//! reset-gated state `r ⊙ H_{t-1}` (the lowering's scratch vector); RNN has
//! only two. The frontend names outputs the model omits internally.

use super::util::*;
use crate::dtype::{DType, TensorType};
use crate::error::OpError;
use crate::op::{RnnAttrs, RnnCell, RnnDirection};
use crate::op_err;

/// Number of gates (rows of W per hidden unit).
pub fn gate_count(cell: RnnCell) -> usize {
    match cell {
        RnnCell::Rnn => 1,
        RnnCell::Gru => 3,
        RnnCell::Lstm => 4,
    }
}

/// Number of outputs of `Op::Recurrent` for `cell`.
pub fn output_count(cell: RnnCell) -> usize {
    if cell == RnnCell::Rnn {
        2
    } else {
        3
    }
}

pub fn num_directions(d: RnnDirection) -> usize {
    if d == RnnDirection::Bidirectional {
        2
    } else {
        1
    }
}

fn expect_shape(x: Option<crate::infer::InputInfo<'_>>, name: &str, want: &[usize], dt: DType) -> Result<(), OpError> {
    let Some(x) = x else { return Ok(()) };
    if x.ty.dtype != dt {
        return Err(op_err!("input `{name}` must be {dt}, got {}", x.ty.dtype));
    }
    if x.ty.shape != want {
        return Err(op_err!("input `{name}` must have shape {want:?}, got {:?}", x.ty.shape));
    }
    Ok(())
}

pub(super) fn recurrent(a: &RnnAttrs, inputs: Inputs<'_, '_>, num_outputs: usize) -> Result<Vec<TensorType>, OpError> {
    let lstm = a.cell == RnnCell::Lstm;
    arity(inputs, 3, if lstm { 8 } else { 6 })?;
    let n_out = output_count(a.cell);
    if num_outputs != n_out {
        return Err(op_err!("expected {n_out} outputs, got {num_outputs}"));
    }
    let x = req(inputs, 0, "X")?;
    let dt = dtype(x, "X", is_float, "a float")?;
    rank_eq(x, "X", 3)?;
    let (d, h, g) = (num_directions(a.direction), a.hidden_size, gate_count(a.cell));
    if h == 0 {
        return Err(op_err!("hidden_size must be positive"));
    }
    let xs = &x.ty.shape;
    let (seq, batch, isz) = if a.batch_major { (xs[1], xs[0], xs[2]) } else { (xs[0], xs[1], xs[2]) };
    let gh = checked_mul(g, h)?;
    expect_shape(Some(req(inputs, 1, "W")?), "W", &[d, gh, isz], dt)?;
    expect_shape(Some(req(inputs, 2, "R")?), "R", &[d, gh, h], dt)?;
    expect_shape(opt(inputs, 3), "B", &[d, checked_mul(2, gh)?], dt)?;
    expect_shape(opt(inputs, 4), "sequence_lens", &[batch], DType::I32)?;
    let state = if a.batch_major { vec![batch, d, h] } else { vec![d, batch, h] };
    expect_shape(opt(inputs, 5), "initial_h", &state, dt)?;
    if lstm {
        expect_shape(opt(inputs, 6), "initial_c", &state, dt)?;
        expect_shape(opt(inputs, 7), "P", &[d, checked_mul(3, h)?], dt)?;
    }
    let y = if a.batch_major { vec![batch, seq, d, h] } else { vec![seq, d, batch, h] };
    let mut out = vec![TensorType::new(dt, y), TensorType::new(dt, state.clone())];
    if n_out == 3 {
        out.push(TensorType::new(dt, state));
    }
    Ok(out)
}
