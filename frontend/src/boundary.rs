//! Sequence and optional values at the graph boundary. The C ABI carries
//! only tensors, and every sequence length and optional presence is fixed at
//! compile time, so:
//! - a sequence input of length N (`ImportOptions::sequence_inputs`) is N
//!   graph inputs named `x.0` .. `x.N-1`, gathered into a compile-time
//!   sequence (`Builder::seqs`);
//! - a sequence output is flattened into its elements: N graph outputs
//!   `y.0` .. `y.N-1` (none for an empty sequence);
//! - an optional input is the tensor or sequence it holds, or nothing at all
//!   when listed in `ImportOptions::absent_inputs`; an optional output that
//!   is absent at compile time gets no graph output.

use crate::error::FrontendError;
use crate::import::{bind_input, check_binding, Builder};
use crate::proto::{type_proto, TypeProto, ValueInfoProto};
use crate::tensor::{checked_type, dtype_from_code};
use crate::ImportOptions;
use onnxc_ir::op::UnaryOp;
use onnxc_ir::{Op, ValueId};

/// The ABI name of element `j` of sequence `name` (a C-friendly form:
/// `sanitize_ident` turns it into `name_j` in the Rust bindings).
pub fn element_name(name: &str, j: usize) -> String {
    format!("{name}.{j}")
}

fn note(side: &str, name: &str, len: usize) -> String {
    match len {
        0 => format!("{side} `{name}` (empty sequence): no ABI slot"),
        1 => format!("{side} `{name}` (sequence of 1): ABI {side} {}", element_name(name, 0)),
        n => format!(
            "{side} `{name}` (sequence of {n}): ABI {side}s {} .. {}",
            element_name(name, 0),
            element_name(name, n - 1)
        ),
    }
}

/// Every name in `sequence_inputs` / `absent_inputs` must be a graph input.
pub(crate) fn check_names(opts: &ImportOptions, real_inputs: &[&ValueInfoProto]) -> Result<(), FrontendError> {
    let names: Vec<&str> = real_inputs.iter().filter_map(|vi| vi.name.as_deref()).collect();
    let keys = opts.sequence_inputs.keys().chain(opts.absent_inputs.iter());
    match keys.filter(|k| !names.contains(&k.as_str())).min() {
        None => Ok(()),
        Some(k) => Err(FrontendError::BadInputShape {
            input: k.clone(),
            msg: format!("the model has no such graph input (inputs: {})", names.join(", ")),
        }),
    }
}

fn value_of(ty: Option<&TypeProto>) -> Option<&type_proto::Value> {
    ty.and_then(|t| t.value.as_ref())
}

/// Adds graph input `vi` when it is a sequence or an optional; `Ok(false)`
/// leaves a plain tensor input to the caller.
pub(crate) fn add_input(b: &mut Builder<'_>, vi: &ValueInfoProto) -> Result<bool, FrontendError> {
    let name = vi.name.clone().unwrap_or_default();
    let err = |msg: &str| FrontendError::BadInputShape { input: name.clone(), msg: msg.to_string() };
    match value_of(vi.r#type.as_ref()) {
        Some(type_proto::Value::SequenceType(s)) => {
            if b.opts.absent_inputs.contains(&name) {
                return Err(err("only an optional input can be absent; this one is a sequence"));
            }
            add_sequence(b, &name, value_of(s.elem_type.as_deref()))?;
        }
        Some(type_proto::Value::OptionalType(o)) => {
            if b.opts.absent_inputs.contains(&name) {
                b.boundary.push(format!("input `{name}` (optional): absent, no ABI slot"));
                b.absent.insert(name);
                return Ok(true);
            }
            match value_of(o.elem_type.as_deref()) {
                Some(type_proto::Value::SequenceType(s)) => add_sequence(b, &name, value_of(s.elem_type.as_deref()))?,
                Some(type_proto::Value::TensorType(_)) => {
                    let mut inner = vi.clone();
                    inner.r#type = o.elem_type.as_deref().cloned();
                    let ty = bind_input(&inner, b.opts)?;
                    let id = b.graph.add_input(name.clone(), ty);
                    b.define(&name, id)?;
                }
                _ => return Err(err("an optional input must hold a tensor or a sequence of tensors")),
            }
        }
        _ if b.opts.absent_inputs.contains(&name) => {
            return Err(err("only an optional input can be absent; this one is a tensor"))
        }
        _ if b.opts.sequence_inputs.contains_key(&name) => {
            return Err(err("element shapes were given, but this input is not a sequence"))
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Sequence input `name`: one graph input per element given in
/// `sequence_inputs`, of the declared element dtype.
fn add_sequence(b: &mut Builder<'_>, name: &str, elem: Option<&type_proto::Value>) -> Result<(), FrontendError> {
    let what = format!("graph input `{name}`");
    let Some(type_proto::Value::TensorType(tt)) = elem else {
        return Err(FrontendError::Invalid(format!("{what} is a sequence of non-tensors")));
    };
    let shapes = b.opts.sequence_inputs.get(name).ok_or_else(|| FrontendError::BadInputShape {
        input: name.to_string(),
        msg: "a sequence input needs its length and element shapes at compile time: \
              --input-seq NAME=DIMS,DIMS,... (NAME= for an empty sequence)"
            .into(),
    })?;
    let dtype = dtype_from_code(tt.elem_type.unwrap_or(0), &what)?;
    let declared: Option<Vec<Option<i64>>> = tt.shape.as_ref().map(|s| {
        s.dim
            .iter()
            .map(|d| match d.value {
                Some(crate::proto::tensor_shape_proto::dimension::Value::DimValue(v)) if v >= 0 => Some(v),
                _ => None,
            })
            .collect()
    });
    let mut elems = Vec::with_capacity(shapes.len());
    for (j, dims) in shapes.iter().enumerate() {
        let ename = element_name(name, j);
        let dims = check_binding(&ename, dims, declared.as_deref())?;
        let ty = checked_type(dtype, &dims, &what)?;
        elems.push(b.graph.add_input(ename, ty));
    }
    b.boundary.push(note("input", name, elems.len()));
    if b.names.contains_key(name) || b.seqs.insert(name.to_string(), elems).is_some() {
        return Err(FrontendError::Invalid(format!("value `{name}` is defined more than once")));
    }
    Ok(())
}

/// Graph output `vi`: a tensor, the flattened elements of a sequence, or
/// nothing for an optional that is absent at compile time.
pub(crate) fn add_output(b: &mut Builder<'_>, vi: &ValueInfoProto) -> Result<(), FrontendError> {
    let name = vi.name.clone().unwrap_or_default();
    if b.absent.contains(&name) {
        b.boundary.push(format!("output `{name}` (optional): absent at compile time, no ABI slot"));
        return Ok(());
    }
    if let Some(elems) = b.seqs.get(&name).cloned() {
        b.boundary.push(note("output", &name, elems.len()));
        for (j, e) in elems.into_iter().enumerate() {
            // Its own value and name: elements may be graph inputs, constants,
            // or repeat one another.
            let ename = element_name(&name, j);
            let id = b.emit(&format!("{name}/output{j}"), Op::Unary(UnaryOp::Identity), vec![Some(e)], &[ename])?[0];
            b.graph.outputs.push(id);
        }
        return Ok(());
    }
    let id: ValueId = *b
        .names
        .get(&name)
        .ok_or_else(|| FrontendError::MissingInput { node: "<graph output>".into(), name: name.clone() })?;
    b.graph.outputs.push(id);
    Ok(())
}
