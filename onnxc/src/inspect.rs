//! `onnxc inspect`: a human-readable summary of a model.

use crate::Error;
use onnxc_ir::op::Op;
use onnxc_ir::{Graph, Node};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

/// Multiply-adds count as two FLOPs; elementwise ops as one per output element.
pub fn node_flops(g: &Graph, n: &Node) -> u64 {
    let out = |i: usize| n.outputs.get(i).map(|o| g.ty(*o).numel() as u64).unwrap_or(0);
    let in_ty = |i: usize| n.input(i).map(|v| g.ty(v).clone());
    match &n.op {
        Op::Conv { window, group } => {
            let w = in_ty(1).map(|t| t.shape).unwrap_or_default();
            // Each output element: (C_in / group) * prod(kernel) multiply-adds.
            let per: u64 = w.iter().skip(1).map(|&d| d as u64).product();
            let _ = (window, group);
            2 * out(0) * per
        }
        Op::Gemm { trans_a, .. } => {
            let a = in_ty(0).map(|t| t.shape).unwrap_or_default();
            let k = if *trans_a { a.first() } else { a.get(1) }.copied().unwrap_or(0) as u64;
            2 * out(0) * k
        }
        Op::MatMul => {
            let a = in_ty(0).map(|t| t.shape).unwrap_or_default();
            2 * out(0) * a.last().copied().unwrap_or(0) as u64
        }
        Op::Reshape { .. } | Op::Flatten { .. } | Op::Squeeze | Op::Unsqueeze | Op::Dropout | Op::Shape { .. } => 0,
        _ => out(0),
    }
}

pub fn graph_flops(g: &Graph) -> u64 {
    g.nodes.iter().map(|n| node_flops(g, n)).sum()
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2} G", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.2} M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.2} K", n as f64 / 1e3),
        n => n.to_string(),
    }
}

fn dims_text(d: &Option<Vec<onnxc_frontend::Dim>>) -> String {
    use onnxc_frontend::Dim;
    match d {
        None => "[?]".into(),
        Some(dims) => {
            let parts: Vec<String> = dims
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => n.to_string(),
                    Dim::Symbolic(s) => s.clone(),
                    Dim::Unknown => "?".into(),
                })
                .collect();
            format!("[{}]", parts.join(","))
        }
    }
}

/// Summarizes the model from its protobuf (works even when it cannot be
/// compiled: every unsupported node is listed), then imports it to count
/// parameters and FLOPs.
pub fn report(path: &Path, shapes: &HashMap<String, Vec<usize>>) -> Result<String, Error> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let sum = onnxc_frontend::summarize(&data)?;
    let mut s = String::new();
    let _ = writeln!(s, "model:    {}", path.display());
    let opset = sum.opset.map(|o| o.to_string()).unwrap_or_else(|| "none".into());
    let _ = writeln!(s, "producer: {}  (ir_version {}, opset {opset})", sum.producer, sum.ir_version);
    let _ = writeln!(s, "inputs:");
    for i in &sum.inputs {
        let _ = writeln!(s, "  {:<24} {} {}", i.name, i.elem_type, dims_text(&i.dims));
    }
    let _ = writeln!(s, "outputs:");
    for o in &sum.outputs {
        let _ = writeln!(s, "  {:<24} {} {}", o.name, o.elem_type, dims_text(&o.dims));
    }
    let total: usize = sum.op_histogram.values().sum();
    let _ = writeln!(s, "ops ({total} nodes, {} initializers):", sum.initializer_count);
    for (op, c) in &sum.op_histogram {
        let _ = writeln!(s, "  {op:<24} {c}");
    }
    if !sum.unsupported.is_empty() {
        let _ = writeln!(s, "unsupported ({} nodes):", sum.unsupported.len());
        for n in &sum.unsupported {
            let _ = writeln!(s, "  {n}");
        }
        return Ok(s);
    }
    let opts = crate::CompileOptions { input_shapes: shapes.clone(), ..Default::default() };
    match crate::import_file(path, &opts) {
        Ok(g) => {
            let _ = writeln!(s, "after import and constant folding: {} nodes", g.nodes.len());
            let p = g.parameter_count() as u64;
            let _ = writeln!(s, "parameters: {p} ({})", human(p));
            let f = graph_flops(&g);
            let _ = writeln!(s, "FLOPs:      {f} ({}FLOP per run)", human(f));
        }
        Err(e) => {
            let _ = writeln!(s, "cannot import for parameter and FLOP counts: {e}");
        }
    }
    Ok(s)
}
