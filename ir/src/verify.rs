//! The verifier: checks the graph invariants listed in `graph.rs`. Run after
//! every pass in debug builds.

use crate::error::IrError;
use crate::graph::Graph;

pub fn verify(g: &Graph) -> Result<(), IrError> {
    let mut defined = vec![false; g.values.len()];
    for (i, v) in g.values.iter().enumerate() {
        if let Some(k) = &v.konst {
            if k.ty() != &v.ty {
                return Err(IrError::Verify(format!("constant %{i} has type {} but its value is {}", v.ty, k.ty())));
            }
            defined[i] = true;
        }
    }
    for id in &g.inputs {
        let i = id.0 as usize;
        if defined[i] {
            return Err(IrError::Verify(format!("graph input {id} is defined twice")));
        }
        defined[i] = true;
    }
    for n in &g.nodes {
        for inp in n.inputs.iter().flatten() {
            if inp.0 as usize >= g.values.len() || !defined[inp.0 as usize] {
                return Err(IrError::Verify(format!(
                    "node `{}` ({}) reads {} before it is defined",
                    n.name,
                    n.op.onnx_name(),
                    inp
                )));
            }
        }
        let inferred = g.infer_node(&n.op, &n.inputs, n.outputs.len()).map_err(|e| IrError::Node {
            node: n.name.clone(),
            op: n.op.onnx_name(),
            msg: e.0,
        })?;
        for (o, ty) in n.outputs.iter().zip(&inferred) {
            if g.ty(*o) != ty {
                return Err(IrError::Verify(format!(
                    "node `{}` ({}): output {} has type {} but the op infers {}",
                    n.name,
                    n.op.onnx_name(),
                    o,
                    g.ty(*o),
                    ty
                )));
            }
            if defined[o.0 as usize] {
                return Err(IrError::Verify(format!("value {o} is defined twice")));
            }
            defined[o.0 as usize] = true;
        }
    }
    crate::dynamic::check_consumers(g)?;
    for o in &g.outputs {
        if !defined[o.0 as usize] {
            return Err(IrError::Verify(format!("graph output {o} is never defined")));
        }
    }
    Ok(())
}
