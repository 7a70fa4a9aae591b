//! Static memory plan: every intermediate value gets a fixed byte offset in
//! one workspace buffer whose size is known at compile time. Values whose
//! lifetimes do not overlap share bytes.

use onnxc_ir::{Graph, ValueId};
use std::collections::HashMap;

/// Alignment of every workspace offset (and of the workspace itself).
pub const ALIGN: usize = 64;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryPlan {
    /// Total workspace bytes.
    pub size: usize,
    /// Byte offset of every value that lives in the workspace: node outputs
    /// that are not graph outputs. Graph inputs, graph outputs and constants
    /// are not in this map (they live in caller buffers or read-only data).
    pub offsets: HashMap<ValueId, usize>,
}

/// Plans `g`. Placeholder: gives every value its own slot (no reuse).
pub fn plan(g: &Graph) -> MemoryPlan {
    let outputs: std::collections::HashSet<ValueId> = g.outputs.iter().copied().collect();
    let mut p = MemoryPlan::default();
    for n in &g.nodes {
        for o in &n.outputs {
            if outputs.contains(o) {
                continue;
            }
            let bytes = g.ty(*o).byte_size().unwrap_or(0);
            p.offsets.insert(*o, p.size);
            p.size += bytes.div_ceil(ALIGN) * ALIGN;
        }
    }
    p
}
