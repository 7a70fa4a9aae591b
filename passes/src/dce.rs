//! Dead-code elimination: removes nodes none of whose outputs are needed,
//! transitively, for a graph output. Ops have no side effects, so liveness is
//! all that matters.
//!
//! Afterwards the value arena is compacted: values nothing defines or reads
//! any more (results of removed nodes, constants that were folded into new
//! constants, ...) are dropped and the rest renumbered in their old order.
//! That releases dead weights' bytes and keeps the printed IR free of dead
//! declarations. Graph inputs are never removed: they are the compiled
//! function's ABI. `ValueId`s do not survive this pass.

use crate::error::PassError;
use crate::pipeline::Pass;
use onnxc_ir::{Graph, ValueId};

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

/// Removes dead nodes, compacts the arena, and returns the number of nodes
/// removed.
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
    compact(g);
    before - g.nodes.len()
}

/// Drops every value that is not a graph input or output nor mentioned by a
/// node, renumbering the others in order.
pub fn compact(g: &mut Graph) {
    let mut used = vec![false; g.values.len()];
    let mentioned = g.nodes.iter().flat_map(|n| n.inputs.iter().flatten().chain(&n.outputs));
    for id in g.inputs.iter().chain(&g.outputs).chain(mentioned) {
        used[id.0 as usize] = true;
    }
    let mut remap = vec![ValueId(u32::MAX); g.values.len()];
    let old = std::mem::take(&mut g.values);
    for (i, v) in old.into_iter().enumerate() {
        if used[i] {
            remap[i] = ValueId(g.values.len() as u32);
            g.values.push(v);
        }
    }
    let re = |id: &mut ValueId| *id = remap[id.0 as usize];
    g.inputs.iter_mut().for_each(re);
    g.outputs.iter_mut().for_each(re);
    for n in &mut g.nodes {
        n.inputs.iter_mut().flatten().for_each(re);
        n.outputs.iter_mut().for_each(re);
    }
}
