//! `onnxc inspect`: a human-readable summary of a model.

use crate::Error;
use onnxc_ir::op::Op;
use onnxc_ir::{Graph, Node};
use std::collections::{BTreeMap, HashMap};
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

/// Imports the model and summarizes it. Unsupported ops are all listed at once.
pub fn report(path: &Path, shapes: &HashMap<String, Vec<usize>>) -> Result<String, Error> {
    let mut s = String::new();
    let opts = crate::CompileOptions { input_shapes: shapes.clone(), ..Default::default() };
    let g = crate::import_file(path, &opts)?;
    let _ = writeln!(s, "model: {}", path.display());
    let _ = writeln!(s, "inputs:");
    for i in &g.inputs {
        let _ = writeln!(s, "  {}: {}", g.display_name(*i), g.ty(*i));
    }
    let _ = writeln!(s, "outputs:");
    for o in &g.outputs {
        let _ = writeln!(s, "  {}: {}", g.display_name(*o), g.ty(*o));
    }
    let mut hist: BTreeMap<String, usize> = BTreeMap::new();
    for n in &g.nodes {
        *hist.entry(n.op.onnx_name()).or_insert(0) += 1;
    }
    let _ = writeln!(s, "ops after import and constant folding ({} nodes):", g.nodes.len());
    for (op, c) in &hist {
        let _ = writeln!(s, "  {op:<24} {c}");
    }
    let _ = writeln!(s, "parameters: {} ({})", g.parameter_count(), human(g.parameter_count() as u64));
    let _ = writeln!(s, "FLOPs: {} ({})", graph_flops(&g), human(graph_flops(&g)));
    Ok(s)
}
