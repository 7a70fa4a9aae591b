//! Reference evaluator: straightforward, obviously-correct semantics of every
//! op, used for constant folding, `onnxc run --interpret` and as a test oracle.

use crate::dtype::TensorType;
use crate::error::{IrError, OpError};
use crate::graph::Graph;
use crate::op::Op;
use crate::tensor::Tensor;

/// Evaluates one op. `out_types` are the node's inferred output types.
pub fn eval_op(
    op: &Op,
    inputs: &[Option<&Tensor>],
    out_types: &[TensorType],
) -> Result<Vec<Tensor>, OpError> {
    let _ = (inputs, out_types);
    Err(OpError::new(format!("the reference evaluator has no rule for {}", op.onnx_name())))
}

/// Evaluates the whole graph on `inputs` (in graph-input order).
pub fn eval_graph(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, IrError> {
    let mut env: Vec<Option<Tensor>> = g.values.iter().map(|v| v.konst.clone()).collect();
    if inputs.len() != g.inputs.len() {
        return Err(IrError::Other(format!(
            "graph has {} inputs, {} given",
            g.inputs.len(),
            inputs.len()
        )));
    }
    for (id, t) in g.inputs.iter().zip(inputs) {
        if t.ty() != g.ty(*id) {
            return Err(IrError::Other(format!(
                "input `{}` expects {}, got {}",
                g.display_name(*id),
                g.ty(*id),
                t.ty()
            )));
        }
        env[id.0 as usize] = Some(t.clone());
    }
    for n in &g.nodes {
        let args: Vec<Option<&Tensor>> = n
            .inputs
            .iter()
            .map(|i| i.map(|id| env[id.0 as usize].as_ref().expect("topological order")))
            .collect();
        let types: Vec<TensorType> = n.outputs.iter().map(|o| g.ty(*o).clone()).collect();
        let outs = eval_op(&n.op, &args, &types).map_err(|e| IrError::Node {
            node: n.name.clone(),
            op: n.op.onnx_name(),
            msg: e.0,
        })?;
        for (o, t) in n.outputs.iter().zip(outs) {
            env[o.0 as usize] = Some(t);
        }
    }
    Ok(g.outputs.iter().map(|o| env[o.0 as usize].clone().expect("output defined")).collect())
}
