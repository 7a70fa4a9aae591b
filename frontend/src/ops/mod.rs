//! Op import: one file per op family, each exporting a table
//! `op_type -> importer`. An importer reads the node's attributes and inputs
//! through [`NodeCtx`], normalizes its opset version onto `onnxc_ir::Op`
//! (attributes that later became inputs are added as constants) and emits
//! one or more IR nodes. It returns the values of the node's outputs in
//! ONNX order.

mod elementwise;
mod index;
mod resize;
mod loss;
mod nn;
mod norm;
mod attention;
mod quant;
mod rnn;
mod reduce;
mod shape;
mod spatial;
mod flex;
mod seqmix;
mod signal;
mod training;
pub(crate) mod control;
mod scan;
mod optional;
pub(crate) mod sequence;
mod dynamic;
mod ml;

use crate::error::FrontendError;
use crate::import::Builder;
use crate::proto::{attribute_proto::AttributeType, AttributeProto, NodeProto};
use crate::tensor::tensor_from_proto;
use onnxc_ir::{Op, Tensor, TensorType, ValueId};
use std::collections::HashMap;
use std::sync::OnceLock;

pub(crate) type Importer = fn(&mut NodeCtx<'_, '_>) -> Result<Vec<ValueId>, FrontendError>;

fn table() -> &'static HashMap<&'static str, Importer> {
    static TABLE: OnceLock<HashMap<&'static str, Importer>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = HashMap::new();
        let families = [
            index::OPS,
            resize::OPS,
            elementwise::OPS,
            nn::OPS,
            shape::OPS,
            reduce::OPS,
            norm::OPS,
            attention::OPS,
            loss::OPS,
            quant::OPS,
            rnn::OPS,
            spatial::OPS,
            seqmix::OPS,
            signal::OPS,
            control::OPS,
            optional::OPS,
            sequence::OPS,
            dynamic::OPS,
            scan::OPS,
        ];
        for family in families {
            for &(name, f) in family {
                m.insert(name, f);
            }
        }
        m
    })
}

/// Every importable op type of the default domain, sorted.
pub(crate) fn supported_ops() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = table().keys().copied().chain(["Constant"]).collect();
    v.sort_unstable();
    v
}

pub(crate) fn is_supported(domain: &str, op_type: &str) -> bool {
    match domain {
        "" | "ai.onnx" => op_type == "Constant" || table().contains_key(op_type),
        ML_DOMAIN => ml::OPS.iter().any(|(n, _)| *n == op_type),
        _ => preview_importer(domain, op_type).is_some(),
    }
}

/// Importers of the ai.onnx.preview(.training) domains.
fn preview_importer(domain: &str, op_type: &str) -> Option<Importer> {
    let family = match domain {
        flex::DOMAIN => flex::OPS,
        training::DOMAIN => training::OPS,
        _ => return None,
    };
    family.iter().find(|(n, _)| *n == op_type).map(|(_, f)| *f)
}

pub(crate) const ML_DOMAIN: &str = "ai.onnx.ml";

/// Imports one node (the driver has checked support already).
pub(crate) fn import(ctx: &mut NodeCtx<'_, '_>) -> Result<Vec<ValueId>, FrontendError> {
    if ctx.op_type == "Constant" {
        return constant(ctx);
    }
    let domain = ctx.node.domain.as_deref().unwrap_or("");
    let f = if domain == ML_DOMAIN {
        ml::OPS.iter().find(|(n, _)| *n == ctx.op_type).map(|(_, f)| *f)
    } else {
        preview_importer(domain, &ctx.op_type).or_else(|| table().get(ctx.op_type.as_str()).copied())
    };
    let f = f.ok_or_else(|| ctx.bad("unsupported op"))?;
    let outs = f(ctx)?;
    if outs.len() < ctx.out_names.len() {
        return Err(ctx.bad(format!(
            "produces {} outputs, the model uses {}",
            outs.len(),
            ctx.out_names.len()
        )));
    }
    Ok(outs)
}

/// A node being imported: its attributes, resolved inputs and output names.
pub(crate) struct NodeCtx<'b, 'a> {
    pub b: &'b mut Builder<'a>,
    pub node: &'b NodeProto,
    pub name: String,
    pub op_type: String,
    pub inputs: Vec<Option<ValueId>>,
    /// Output names, with omitted trailing outputs removed.
    pub out_names: Vec<String>,
}

impl NodeCtx<'_, '_> {
    pub fn opset(&self) -> i64 {
        self.b.opset
    }

    pub fn bad(&self, msg: impl Into<String>) -> FrontendError {
        FrontendError::BadNode {
            node: self.name.clone(),
            op: self.op_type.clone(),
            msg: msg.into(),
        }
    }

    pub fn bad_attr(&self, attr: &str, msg: impl Into<String>) -> FrontendError {
        FrontendError::BadAttribute {
            node: self.name.clone(),
            op: self.op_type.clone(),
            attr: attr.to_string(),
            msg: msg.into(),
        }
    }

    /// The error for input `i` (ONNX name `input`), which the importer needs
    /// as a constant but is computed at run time. It names the graph inputs
    /// to bind at compile time (`--bind`); `msg` replaces the default
    /// "input `{input}` must be a constant to compile ahead of time".
    pub fn needs_constant(&self, i: usize, input: &str, msg: Option<&str>) -> FrontendError {
        let default = format!("input `{input}` must be a constant to compile ahead of time");
        let values: Vec<ValueId> = self.input(i).into_iter().collect();
        let msg = msg.unwrap_or(&default);
        self.b.graph.needs_constant_values(&self.name, &self.op_type, msg, vec![input.to_string()], &values).into()
    }

    pub fn input(&self, i: usize) -> Option<ValueId> {
        self.inputs.get(i).copied().flatten()
    }

    pub fn req(&self, i: usize) -> Result<ValueId, FrontendError> {
        self.input(i).ok_or_else(|| self.bad(format!("required input {i} is missing")))
    }

    /// Inputs `from..` as given (for ops whose optional inputs map 1:1).
    pub fn inputs_from(&self, from: usize) -> Vec<Option<ValueId>> {
        self.inputs.get(from..).unwrap_or(&[]).to_vec()
    }

    pub fn ty(&self, id: ValueId) -> &TensorType {
        self.b.graph.ty(id)
    }

    pub fn const_value(&self, id: ValueId) -> Option<&Tensor> {
        self.b.graph.const_value(id)
    }

    /// A constant the normalization introduces (e.g. Unsqueeze-11's axes).
    pub fn konst(&mut self, suffix: &str, t: Tensor) -> ValueId {
        let name = format!("{}/{suffix}", self.name);
        self.b.konst(name, t)
    }

    pub fn const_i64(&mut self, suffix: &str, vals: Vec<i64>) -> ValueId {
        let n = vals.len();
        self.konst(suffix, Tensor::from_vec(vec![n], vals))
    }

    /// Emits the node as one IR node with its own name and outputs.
    pub fn emit(
        &mut self,
        op: Op,
        inputs: Vec<Option<ValueId>>,
    ) -> Result<Vec<ValueId>, FrontendError> {
        let (name, outs) = (self.name.clone(), self.out_names.clone());
        self.b.emit(&name, op, inputs, &outs)
    }

    /// Emits a helper node of a multi-node expansion.
    pub fn emit_named(
        &mut self,
        name: &str,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        out_names: &[String],
    ) -> Result<Vec<ValueId>, FrontendError> {
        self.b.emit(name, op, inputs, out_names)
    }

    // ---- attributes -------------------------------------------------------

    fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.node.attribute.iter().find(|a| a.name.as_deref() == Some(name))
    }

    /// The attribute if present, after checking its declared type (models
    /// that leave `type` unset are accepted as is).
    fn typed_attr(
        &self,
        name: &str,
        want: AttributeType,
    ) -> Result<Option<&AttributeProto>, FrontendError> {
        let Some(a) = self.attr(name) else { return Ok(None) };
        let got = a.r#type.unwrap_or(0);
        if got != 0 && got != want as i32 {
            let got_name =
                AttributeType::try_from(got).map(|t| t.as_str_name()).unwrap_or("unknown");
            return Err(
                self.bad_attr(name, format!("expected {}, got {got_name}", want.as_str_name()))
            );
        }
        Ok(Some(a))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, FrontendError> {
        Ok(self.typed_attr(name, AttributeType::Int)?.map(|a| a.i.unwrap_or(0)))
    }

    pub fn int_or(&self, name: &str, default: i64) -> Result<i64, FrontendError> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, FrontendError> {
        match self.int(name)? {
            None => Ok(default),
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(v) => Err(self.bad_attr(name, format!("expected 0 or 1, got {v}"))),
        }
    }

    pub fn float(&self, name: &str) -> Result<Option<f32>, FrontendError> {
        Ok(self.typed_attr(name, AttributeType::Float)?.map(|a| a.f.unwrap_or(0.0)))
    }

    pub fn float_or(&self, name: &str, default: f32) -> Result<f32, FrontendError> {
        Ok(self.float(name)?.unwrap_or(default))
    }

    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, FrontendError> {
        Ok(self.typed_attr(name, AttributeType::Ints)?.map(|a| a.ints.clone()))
    }

    pub fn floats(&self, name: &str) -> Result<Option<Vec<f32>>, FrontendError> {
        Ok(self.typed_attr(name, AttributeType::Floats)?.map(|a| a.floats.clone()))
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, FrontendError> {
        match self.typed_attr(name, AttributeType::String)? {
            None => Ok(None),
            Some(a) => {
                let s = a.s.as_deref().unwrap_or(&[]);
                String::from_utf8(s.to_vec())
                    .map(Some)
                    .map_err(|_| self.bad_attr(name, "not valid UTF-8"))
            }
        }
    }

    pub fn tensor(&self, name: &str) -> Result<Option<Tensor>, FrontendError> {
        match self.typed_attr(name, AttributeType::Tensor)?.and_then(|a| a.t.as_ref()) {
            None => Ok(None),
            Some(t) => tensor_from_proto(t, self.b.base_dir)
                .map(Some)
                .map_err(|e| self.bad_attr(name, e.to_string())),
        }
    }

    /// Non-negative ints attribute as usizes.
    pub fn usizes(&self, name: &str) -> Result<Option<Vec<usize>>, FrontendError> {
        let Some(v) = self.ints(name)? else { return Ok(None) };
        v.iter()
            .map(|&x| {
                usize::try_from(x).map_err(|_| self.bad_attr(name, format!("negative value {x}")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// `Constant`: its value attribute becomes a constant named by its output.
fn constant(ctx: &mut NodeCtx<'_, '_>) -> Result<Vec<ValueId>, FrontendError> {
    let t = if let Some(t) = ctx.tensor("value")? {
        t
    } else if let Some(v) = ctx.float("value_float")? {
        Tensor::scalar(v)
    } else if let Some(v) = ctx.floats("value_floats")? {
        Tensor::from_vec(vec![v.len()], v)
    } else if let Some(v) = ctx.int("value_int")? {
        Tensor::scalar(v)
    } else if let Some(v) = ctx.ints("value_ints")? {
        Tensor::from_vec(vec![v.len()], v)
    } else {
        let which = ["sparse_value", "value_string", "value_strings"]
            .into_iter()
            .find(|a| ctx.attr(a).is_some());
        return Err(match which {
            Some(a) => ctx.bad_attr(a, "this kind of constant is not supported"),
            None => ctx.bad("no value attribute"),
        });
    };
    let name = ctx.out_names.first().cloned().unwrap_or_default();
    Ok(vec![ctx.b.konst(name, t)])
}
