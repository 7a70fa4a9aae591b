//! The import driver: decode, check the opset and op support, add
//! initializers and graph inputs, import nodes in order (folding constants
//! eagerly), then bind graph outputs.

use crate::error::{FrontendError, UnsupportedNode};
use crate::ops::{self, NodeCtx};
use crate::proto::{type_proto, GraphProto, ModelProto, NodeProto, ValueInfoProto};
use crate::tensor::{checked_type, tensor_from_proto, MAX_TENSOR_BYTES};
use crate::{ImportOptions, Model};
use bytes::Bytes;
use onnxc_ir::eval::eval_op;
use onnxc_ir::{Graph, Op, Tensor, TensorType, ValueId};
use prost::Message;
use std::collections::{HashMap, HashSet};
use std::path::Path;

pub const MIN_OPSET: i64 = 7;
/// Opsets 24..=28 changed none of the supported ops' semantics for the IR's
/// dtypes (they added float8/float4/int2 types, Cast's float8 `round_mode`
/// and Range's `stash_type` precision hint), so they are accepted too:
/// exporters built on recent onnx write them by default.
pub const MAX_OPSET: i64 = 28;

/// Folding materializes tensors; above this size a folded value would cost
/// more memory than it saves, so the node is kept instead. Large enough for
/// the ConstantOfShape-generated FC weights of the light VGG-19 (411 MB).
const MAX_FOLD_BYTES: usize = 1 << 30;

/// Import state shared by the node importers.
pub(crate) struct Builder<'a> {
    pub graph: Graph,
    /// ONNX value name → IR value.
    pub names: HashMap<String, ValueId>,
    pub opts: &'a ImportOptions,
    pub opset: i64,
    pub base_dir: Option<&'a Path>,
    /// Prefix of node names while a control-flow body is inlined
    /// (`If/then/`, `Scan/iter3/`); empty at the top level.
    pub scope: String,
    /// Constants of control-flow bodies (initializers, Constant nodes) by
    /// the address of their proto: an unrolled body imports each once, so
    /// the compiled object holds one copy, not one per iteration.
    pub body_consts: HashMap<usize, ValueId>,
    /// Sequences known at compile time: ONNX name → elements
    /// (see `ops/sequence.rs`).
    pub seqs: HashMap<String, Vec<ValueId>>,
    /// Values with data-dependent extents (`onnxc_ir::dynamic`): only graph
    /// outputs may read them, which is checked as each node is emitted.
    pub dynamic: std::collections::HashSet<ValueId>,
    /// ONNX names of optional values that are absent at compile time (an
    /// absent optional graph input, an empty `Optional()`): an operand
    /// naming one reads as an omitted input.
    pub absent: HashSet<String>,
    /// How sequence/optional graph inputs and outputs cross the ABI
    /// (`Model::boundary`).
    pub boundary: Vec<String>,
}

pub(crate) fn decode(data: Bytes) -> Result<ModelProto, FrontendError> {
    ModelProto::decode(data).map_err(|e| FrontendError::Decode(e.to_string()))
}

/// The default-domain opset version (`None` if the model imports none).
pub(crate) fn default_opset(m: &ModelProto) -> Option<i64> {
    m.opset_import
        .iter()
        .find(|o| matches!(o.domain.as_deref().unwrap_or(""), "" | "ai.onnx"))
        .map(|o| o.version.unwrap_or(0))
}

/// A node's name for diagnostics: its own, or `op_type#index` if unnamed.
pub(crate) fn node_name(n: &NodeProto, index: usize) -> String {
    match n.name.as_deref() {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => format!("{}#{index}", n.op_type.as_deref().unwrap_or("?")),
    }
}

/// Every node the frontend cannot import, in graph order.
pub(crate) fn unsupported_nodes(nodes: &[NodeProto]) -> Vec<UnsupportedNode> {
    nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let domain = n.domain.as_deref().unwrap_or("");
            let op_type = n.op_type.as_deref().unwrap_or("");
            (!ops::is_supported(domain, op_type)).then(|| UnsupportedNode {
                name: node_name(n, i),
                op_type: op_type.to_string(),
                domain: domain.to_string(),
            })
        })
        .collect()
}

pub(crate) fn import(
    data: Bytes,
    base_dir: Option<&Path>,
    opts: &ImportOptions,
) -> Result<Model, FrontendError> {
    let model = decode(data)?;
    let (g, opset) = check_model(&model)?;
    let mut b = Builder {
        graph: Graph::new(),
        names: HashMap::new(),
        opts,
        opset,
        base_dir,
        scope: String::new(),
        body_consts: HashMap::new(),
        seqs: HashMap::new(),
        dynamic: Default::default(),
        absent: HashSet::new(),
        boundary: Vec::new(),
    };
    for t in &g.initializer {
        let name = t.name.clone().unwrap_or_default();
        let tensor = tensor_from_proto(t, base_dir)?;
        let id = b.graph.add_const(name.clone(), tensor);
        b.define(&name, id)?;
    }
    add_inputs(&mut b, g)?;
    for (i, n) in g.node.iter().enumerate() {
        import_node(&mut b, n, i)?;
    }
    for vi in &g.output {
        crate::boundary::add_output(&mut b, vi)?;
    }
    Ok(Model {
        graph: b.graph,
        opset,
        producer: model.producer_name.clone().unwrap_or_default(),
        ir_version: model.ir_version.unwrap_or(0),
        boundary: b.boundary,
    })
}

/// The graph and default opset of a model the frontend can import.
fn check_model(model: &ModelProto) -> Result<(&GraphProto, i64), FrontendError> {
    let g = model
        .graph
        .as_ref()
        .ok_or_else(|| FrontendError::Invalid("the model has no graph".into()))?;
    // Listing unsupported nodes first gives the most useful message for
    // models of foreign domains (which may import no default opset at all).
    let bad = unsupported_nodes(&g.node);
    if !bad.is_empty() {
        return Err(FrontendError::Unsupported { nodes: bad });
    }
    // A graph made only of preview-domain ops (training optimizers) or
    // ai.onnx.ml ops may import no default opset; the newest one is as good
    // as any then (ML expansions use the newest default-domain forms).
    let only_preview = !g.node.is_empty() && g.node.iter().all(|n| !matches!(n.domain.as_deref().unwrap_or(""), "" | "ai.onnx"));
    let opset = default_opset(model).or(only_preview.then_some(MAX_OPSET)).ok_or_else(|| {
        FrontendError::Invalid("the model imports no version of the default ONNX opset".into())
    })?;
    let opset = if (1..MIN_OPSET).contains(&opset) && g.node.iter().all(unchanged_since_opset1) {
        MIN_OPSET
    } else {
        opset
    };
    if !(MIN_OPSET..=MAX_OPSET).contains(&opset) {
        return Err(FrontendError::UnsupportedOpset { domain: "ai.onnx".into(), version: opset });
    }
    if !g.sparse_initializer.is_empty() {
        return Err(FrontendError::Invalid("sparse initializers are not supported".into()));
    }
    Ok((g, opset))
}

/// Ops of the default domain whose schema at opset 7 is still their opset-1
/// version (computed with `onnx.defs.get_schema`), so a model of opset 1..=6
/// made only of them means exactly what it would at opset 7. Control flow is
/// left out: its subgraphs could hold anything.
const UNCHANGED_SINCE_OPSET1: &[&str] = &[
    "ArgMax", "ArgMin", "Constant", "Conv", "ConvTranspose", "DepthToSpace", "Flatten",
    "Gather", "GlobalAveragePool", "GlobalMaxPool", "Hardmax", "Identity", "LRN", "LogSoftmax",
    "LpNormalization", "MatMul", "MaxPool", "Not", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
    "ReduceSumSquare", "Shape", "Size", "Slice", "Softmax", "Softplus", "Softsign",
    "SpaceToDepth", "Squeeze", "TopK", "Transpose", "Unsqueeze",
];

fn unchanged_since_opset1(n: &NodeProto) -> bool {
    matches!(n.domain.as_deref(), None | Some("") | Some("ai.onnx"))
        && UNCHANGED_SINCE_OPSET1.contains(&n.op_type.as_deref().unwrap_or(""))
}

/// Adds the graph inputs that are not initializers (an initializer that is
/// also an input is a default value: a constant), binding their shapes.
fn add_inputs(b: &mut Builder<'_>, g: &GraphProto) -> Result<(), FrontendError> {
    let inits: HashSet<&str> = g.initializer.iter().filter_map(|t| t.name.as_deref()).collect();
    let real_inputs: Vec<_> =
        g.input.iter().filter(|vi| !inits.contains(vi.name.as_deref().unwrap_or(""))).collect();
    // A --input-shape for no input is most likely a typo: say so.
    if let Some(unknown) = b
        .opts
        .input_shapes
        .keys()
        .find(|k| !real_inputs.iter().any(|vi| vi.name.as_deref() == Some(k.as_str())))
    {
        let names: Vec<&str> = real_inputs.iter().filter_map(|vi| vi.name.as_deref()).collect();
        return Err(FrontendError::BadInputShape {
            input: unknown.clone(),
            msg: format!("the model has no such input (inputs: {names:?})"),
        });
    }
    crate::bind::check_names(&b.opts.bind_inputs, &real_inputs)?;
    crate::boundary::check_names(b.opts, &real_inputs)?;
    for vi in real_inputs {
        let name = vi.name.clone().unwrap_or_default();
        if crate::boundary::add_input(b, vi)? {
            continue;
        }
        let id = match b.opts.bind_inputs.get(&name) {
            Some(t) => {
                let t = crate::bind::bound_value(vi, &name, t)?;
                b.graph.add_const(name.clone(), t)
            }
            None => {
                let ty = bind_input(vi, b.opts)?;
                b.graph.add_input(name.clone(), ty)
            }
        };
        b.define(&name, id)?;
    }
    Ok(())
}

pub(crate) fn import_node(
    b: &mut Builder<'_>,
    n: &NodeProto,
    index: usize,
) -> Result<(), FrontendError> {
    let name = format!("{}{}", b.scope, node_name(n, index));
    if ops::sequence::routes(b, n) {
        return ops::sequence::import(b, n, name);
    }
    if ops::control::routes(n) {
        return ops::control::import(b, n, name);
    }
    let op_type = n.op_type.clone().unwrap_or_default();
    let mut inputs = Vec::with_capacity(n.input.len());
    for i in &n.input {
        if i.is_empty() || b.absent.contains(i) {
            inputs.push(None);
        } else {
            let id = b.names.get(i).copied().ok_or_else(|| FrontendError::MissingInput {
                node: name.clone(),
                name: i.clone(),
            })?;
            inputs.push(Some(id));
        }
    }
    // Omitted trailing optional outputs are not produced at all.
    let used = n.output.iter().rposition(|o| !o.is_empty()).map_or(0, |p| p + 1);
    let out_names: Vec<String> = n.output[..used].to_vec();
    let outs = {
        let mut ctx = NodeCtx { b, node: n, name: name.clone(), op_type, inputs, out_names };
        ops::import(&mut ctx)?
    };
    for (o, id) in n.output[..used].iter().zip(outs) {
        if !o.is_empty() {
            b.define(o, id)?;
        }
    }
    Ok(())
}

/// The static type of a graph input, with symbolic/missing dims taken from
/// `--input-shape`.
pub(crate) fn bind_input(vi: &ValueInfoProto, opts: &ImportOptions) -> Result<TensorType, FrontendError> {
    let name = vi.name.clone().unwrap_or_default();
    let what = format!("graph input `{name}`");
    let (dtype, declared) = crate::bind::declared(vi)?;
    let dims: Vec<i64> = match (opts.input_shapes.get(&name), &declared) {
        (Some(bound), decl) => check_binding(&name, bound, decl.as_deref())?,
        (None, Some(decl)) => match decl.iter().position(|d| d.is_none()) {
            None => decl.iter().map(|d| d.unwrap_or(1)).collect(),
            Some(i) => return Err(unbound(vi, &name, i, decl)),
        },
        (None, None) => {
            return Err(FrontendError::UnboundDim {
                input: name.clone(),
                dim: 0,
                symbol: "the model declares no shape".into(),
                suggestion: format!("{name}=1x3x224x224"),
            })
        }
    };
    checked_type(dtype, &dims, &what)
}

pub(crate) fn check_binding(
    name: &str,
    bound: &[usize],
    declared: Option<&[Option<i64>]>,
) -> Result<Vec<i64>, FrontendError> {
    let err = |msg: String| FrontendError::BadInputShape { input: name.to_string(), msg };
    if let Some(decl) = declared {
        if decl.len() != bound.len() {
            return Err(err(format!("the model declares rank {}, got {:?}", decl.len(), bound)));
        }
        for (i, (d, &b)) in decl.iter().zip(bound).enumerate() {
            if let Some(d) = d {
                if *d as u64 != b as u64 {
                    return Err(err(format!("dim {i} is fixed to {d} by the model, got {b}")));
                }
            }
        }
    }
    // A zero dim is accepted only where the model itself fixes it to 0
    // (e.g. CastLike's empty `like` input); elsewhere it is a user mistake.
    let fixed_zero = |i: usize| declared.and_then(|d| d.get(i).copied().flatten()) == Some(0);
    bound
        .iter()
        .enumerate()
        .map(|(i, &d)| match i64::try_from(d) {
            Ok(v) if v > 0 || fixed_zero(i) => Ok(v),
            _ => Err(err(format!("dim {d} is not a positive size"))),
        })
        .collect()
}

fn unbound(vi: &ValueInfoProto, name: &str, i: usize, decl: &[Option<i64>]) -> FrontendError {
    use crate::proto::tensor_shape_proto::dimension::Value;
    let symbol = vi
        .r#type
        .as_ref()
        .and_then(|t| match &t.value {
            Some(type_proto::Value::TensorType(t)) => t.shape.as_ref(),
            _ => None,
        })
        .and_then(|s| s.dim.get(i))
        .and_then(|d| match &d.value {
            Some(Value::DimParam(p)) if !p.is_empty() => Some(format!("`{p}`")),
            _ => None,
        })
        .unwrap_or_else(|| "unknown".into());
    // Suggest the declared dims with 1 for each unknown one.
    let dims: Vec<String> = decl.iter().map(|d| d.unwrap_or(1).to_string()).collect();
    FrontendError::UnboundDim {
        input: name.to_string(),
        dim: i,
        symbol,
        suggestion: format!("{name}={}", dims.join("x")),
    }
}

impl Builder<'_> {
    /// Binds an ONNX name; each value must be defined once.
    pub fn define(&mut self, name: &str, id: ValueId) -> Result<(), FrontendError> {
        if name.is_empty() {
            return Ok(());
        }
        if self.names.insert(name.to_string(), id).is_some() {
            return Err(FrontendError::Invalid(format!(
                "value `{name}` is defined more than once"
            )));
        }
        Ok(())
    }

    /// Adds a node (running its shape rule) and folds it if it can.
    pub fn emit(
        &mut self,
        name: &str,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        out_names: &[String],
    ) -> Result<Vec<ValueId>, FrontendError> {
        let through = onnxc_ir::dynamic::passes_through(&op) && inputs.first().copied().flatten().is_some_and(|v| self.dynamic.contains(&v));
        if let Some(v) = inputs.iter().flatten().find(|v| self.dynamic.contains(v)).filter(|_| !through) {
            return Err(onnxc_ir::dynamic::consumer_error(&self.graph.display_name(*v), name, &op.onnx_name()).into());
        }
        let dyn_op = onnxc_ir::dynamic::may_be_dynamic(&op);
        let outs = self.graph.add_node(name, op, inputs, out_names)?;
        if through {
            self.dynamic.extend(outs.first().copied());
        }
        if dyn_op {
            let n = self.graph.nodes.last().expect("just added");
            let infos: Vec<Option<onnxc_ir::infer::InputInfo<'_>>> = n
                .inputs
                .iter()
                .map(|i| i.map(|id| onnxc_ir::infer::InputInfo { ty: self.graph.ty(id), value: self.graph.const_value(id) }))
                .collect();
            let dynamic: Vec<ValueId> = (0..outs.len())
                .filter(|&k| onnxc_ir::dynamic::dynamic_axis(&n.op, &infos, k).is_some())
                .map(|k| outs[k])
                .collect();
            self.dynamic.extend(dynamic);
        }
        for &o in &outs {
            let ty = self.graph.ty(o);
            if ty.byte_size().is_none_or(|n| n > MAX_TENSOR_BYTES) {
                let op = self.graph.nodes.last().map(|n| n.op.onnx_name()).unwrap_or_default();
                return Err(FrontendError::BadNode {
                    node: name.to_string(),
                    op,
                    msg: format!("output type {ty} is absurdly large"),
                });
            }
        }
        if self.opts.fold_constants {
            self.fold_last();
        }
        Ok(outs)
    }

    /// Replaces the last node by constants if its value is known now: all
    /// inputs constant, or Shape/Size (static shapes). A failing evaluation
    /// just keeps the node: folding is an optimization here.
    fn fold_last(&mut self) {
        let Some(node) = self.graph.nodes.last() else { return };
        let types: Vec<TensorType> =
            node.outputs.iter().map(|o| self.graph.ty(*o).clone()).collect();
        if types.iter().map(|t| t.byte_size().unwrap_or(usize::MAX)).sum::<usize>() > MAX_FOLD_BYTES
        {
            return;
        }
        let values = match &node.op {
            Op::Shape { .. } | Op::Size => node.input(0).and_then(|x| {
                shape_value(&node.op, &self.graph.ty(x).shape, types.first()?).map(|t| vec![t])
            }),
            op => {
                let args: Option<Vec<Option<&Tensor>>> = node
                    .inputs
                    .iter()
                    .map(|i| match i {
                        None => Some(None),
                        Some(id) => self.graph.const_value(*id).map(Some),
                    })
                    .collect();
                args.and_then(|a| eval_op(op, &a, &types).ok())
            }
        };
        let Some(values) = values else { return };
        // A data-dependent output folds to its actual shape (smaller than the bound).
        let fits = |o: &ValueId, v: &Tensor, t: &TensorType| {
            v.ty() == t || (self.dynamic.contains(o) && v.ty().dtype == t.dtype && v.ty().rank() == t.rank())
        };
        if values.len() != types.len() || node.outputs.iter().zip(&values).zip(&types).any(|((o, v), t)| !fits(o, v, t)) {
            return;
        }
        let outputs = node.outputs.clone();
        self.graph.nodes.pop();
        for (o, v) in outputs.into_iter().zip(values) {
            self.dynamic.remove(&o);
            self.graph.value_mut(o).ty = v.ty().clone();
            self.graph.value_mut(o).konst = Some(v);
        }
    }

    pub fn konst(&mut self, name: String, t: Tensor) -> ValueId {
        self.graph.add_const(name, t)
    }
}

/// The value of Shape/Size from the input's static shape; `out` is the
/// inferred output type, which already encodes Shape's start/end clamping.
fn shape_value(op: &Op, dims: &[usize], out: &TensorType) -> Option<Tensor> {
    match op {
        Op::Size => Some(Tensor::scalar(dims.iter().product::<usize>() as i64)),
        Op::Shape { start, .. } => {
            let r = dims.len() as i64;
            let s = if *start < 0 { start + r } else { *start }.clamp(0, r) as usize;
            let n = *out.shape.first()?;
            let vals: Vec<i64> =
                dims.get(s..s.checked_add(n)?)?.iter().map(|&d| d as i64).collect();
            Some(Tensor::from_vec(vec![vals.len()], vals))
        }
        _ => None,
    }
}
