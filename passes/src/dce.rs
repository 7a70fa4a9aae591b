//! Dead-code elimination: removes nodes none of whose outputs are needed,
//! transitively, for a graph output. Ops have no side effects, so liveness is
//! all that matters.
//!
//! Constants that no node or graph output reads any more (weights that were
//! folded into new constants, say) lose their data: ids stay stable, the
//! arena keeps the value, but the tensor bytes are released and the value is
//! no longer a definition anyone can see. Graph inputs are never removed:
//! they are part of the compiled function's ABI.

use crate::error::PassError;
use crate::pipeline::Pass;
use onnxc_ir::Graph;

#[derive(Clone, Copy, Debug, Default)]
pub struct Dce;

impl Pass for Dce {
    fn name(&self) -> &'static str {
        "dce"
    }
    fn run(&self, g: &mut Graph) -> Result<(), PassError> {
        eliminate_dead_code(g);
        Ok(())
    }
}

/// Returns the number of nodes removed.
pub fn eliminate_dead_code(g: &mut Graph) -> usize {
    let mut live = vec![false; g.values.len()];
    for o in &g.outputs {
        live[o.0 as usize] = true;
    }
    // Reverse topological order: every user of a value is seen before its
    // definition, so one backward sweep computes liveness exactly.
    let mut keep = vec![false; g.nodes.len()];
    for (k, n) in g.nodes.iter().enumerate().rev() {
        if n.outputs.iter().any(|o| live[o.0 as usize]) {
            keep[k] = true;
            for i in n.inputs.iter().flatten() {
                live[i.0 as usize] = true;
            }
        }
    }
    let before = g.nodes.len();
    let mut k = 0;
    g.nodes.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    for (v, is_live) in g.values.iter_mut().zip(&live) {
        if !is_live {
            v.konst = None;
        }
    }
    before - g.nodes.len()
}
