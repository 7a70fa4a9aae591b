//! Static memory plan: every intermediate value gets a fixed byte offset in
//! one workspace buffer whose size is known at compile time. Values whose
//! lifetimes do not overlap share bytes.
//!
//! Lifetimes are measured in node indices (the graph's topological order is
//! the execution order). A value is live from the node that defines it to its
//! last reader, both inclusive, so a node's outputs never share bytes with its
//! inputs nor with each other, except where `alias` places values inside
//! each other by construction: an elementwise output over an input that dies
//! at that node (`in_place_input`), a reshape over its input, and the parts
//! of a contiguous concat inside its output. The plan allocates one interval
//! per such group.

use crate::alias::{self, lifetimes, Aliases};
use onnxc_ir::op::UnaryOp;
use onnxc_ir::{Graph, Node, Op, ValueId};
use std::collections::{BTreeMap, HashMap, HashSet};

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

/// A workspace value's lifetime `[def, last]` in node indices and its
/// reserved (aligned) byte count.
#[derive(Clone, Copy, Debug)]
struct Interval {
    id: ValueId,
    def: usize,
    last: usize,
    bytes: usize,
}

/// Bytes reserved for a value: its size rounded up to `ALIGN`, at least one
/// unit so that empty tensors still get a distinct, valid offset. A type too
/// large to address reserves nothing; compiling such a graph fails elsewhere.
fn reserved_bytes(g: &Graph, id: ValueId) -> usize {
    let b = g.ty(id).byte_size().unwrap_or(0);
    b.max(1).div_ceil(ALIGN) * ALIGN
}

/// The input whose buffer node `k`'s output may take over, if any: `k` is an
/// elementwise op (lowered by `elementwise::map` in the kernel crate, which
/// loads every input element of an output index before storing that index),
/// the input has the output's type (so it is read at exactly the index being
/// written), it is a workspace value and `k` is its last reader.
pub fn in_place_input(g: &Graph, k: usize, last_use: &HashMap<ValueId, usize>) -> Option<ValueId> {
    let n: &Node = &g.nodes[k];
    let elementwise = match &n.op {
        Op::Unary(u) => *u != UnaryOp::Identity,
        Op::Activation(_) | Op::Binary(_) | Op::Variadic(_) | Op::Clip | Op::Where | Op::Cast { .. } => true,
        Op::FusedElementwise { .. } => true,
        _ => false,
    };
    if !elementwise || n.outputs.len() != 1 {
        return None;
    }
    let o = n.outputs[0];
    let outputs_or_inputs = |v: ValueId| g.outputs.contains(&v) || g.inputs.contains(&v);
    if outputs_or_inputs(o) {
        return None;
    }
    n.inputs.iter().flatten().copied().find(|x| {
        g.ty(*x) == g.ty(o)
            && g.const_value(*x).is_none()
            && !outputs_or_inputs(*x)
            && last_use.get(x) == Some(&k)
            && g.ty(o).byte_size().unwrap_or(0) > 0
    })
}

/// Node outputs that live in the workspace: not graph outputs, not constants.
fn workspace_values(g: &Graph) -> Vec<ValueId> {
    let outputs: HashSet<ValueId> = g.outputs.iter().copied().collect();
    g.nodes
        .iter()
        .flat_map(|n| n.outputs.iter().copied())
        .filter(|o| !outputs.contains(o) && g.const_value(*o).is_none())
        .collect()
}

/// One interval per alias group (`alias::analyze`): the root's bytes, from
/// the first member's definition to the last member's last use, ordered by
/// definition.
fn intervals(g: &Graph, al: &Aliases) -> Vec<Interval> {
    let life = lifetimes(g);
    let def: HashMap<ValueId, usize> =
        g.nodes.iter().enumerate().flat_map(|(k, n)| n.outputs.iter().map(move |o| (*o, k))).collect();
    let mut out: Vec<Interval> = Vec::new();
    let mut at: HashMap<ValueId, usize> = HashMap::new();
    for v in workspace_values(g) {
        let root = al.find(v).0;
        // Unread outputs (an unused Split part, say) are still written by
        // their kernel, so they live for the defining node.
        let (d, l) = (def[&v], life[&v]);
        match at.get(&root) {
            Some(&j) => {
                out[j].def = out[j].def.min(d);
                out[j].last = out[j].last.max(l);
            }
            None => {
                at.insert(root, out.len());
                out.push(Interval { id: root, def: d, last: l, bytes: reserved_bytes(g, root) });
            }
        }
    }
    out.sort_by_key(|iv| iv.def);
    out
}

/// Free ranges of the workspace, keyed by offset; adjacent ranges are always
/// merged so that a large value can reuse several freed small ones.
#[derive(Default)]
struct FreeList {
    ranges: BTreeMap<usize, usize>,
    top: usize,
}

impl FreeList {
    /// Best fit: the smallest free range that holds `bytes` (lowest offset on
    /// ties). Without one, a free range at the top of the workspace is grown,
    /// else the workspace is.
    fn alloc(&mut self, bytes: usize) -> usize {
        let best = self
            .ranges
            .iter()
            .filter(|(_, &len)| len >= bytes)
            .min_by_key(|(&off, &len)| (len, off))
            .map(|(&off, &len)| (off, len));
        if let Some((off, len)) = best {
            self.ranges.remove(&off);
            if len > bytes {
                self.ranges.insert(off + bytes, len - bytes);
            }
            return off;
        }
        let tail = self.ranges.iter().next_back().map(|(&o, &l)| (o, l));
        if let Some((off, len)) = tail.filter(|(o, l)| o + l == self.top) {
            self.ranges.remove(&off);
            self.top = off + bytes.max(len);
            return off;
        }
        let off = self.top;
        self.top += bytes;
        off
    }

    fn free(&mut self, mut off: usize, mut len: usize) {
        if let Some((&prev, &plen)) = self.ranges.range(..off).next_back() {
            if prev + plen == off {
                self.ranges.remove(&prev);
                off = prev;
                len += plen;
            }
        }
        if let Some(&nlen) = self.ranges.get(&(off + len)) {
            self.ranges.remove(&(off + len));
            len += nlen;
        }
        self.ranges.insert(off, len);
    }
}

/// Plans `g`: walks the nodes in order, allocating each workspace value when
/// its node runs and releasing it after its last reader.
pub fn plan(g: &Graph) -> MemoryPlan {
    let al = alias::analyze(g);
    let ivs = intervals(g, &al);
    // Groups to release after node k, by node index.
    let mut dies: Vec<Vec<usize>> = vec![Vec::new(); g.nodes.len()];
    for (j, iv) in ivs.iter().enumerate() {
        dies[iv.last].push(j);
    }
    let mut fl = FreeList::default();
    let mut roots = HashMap::with_capacity(ivs.len());
    let mut next = 0;
    for (k, released) in dies.iter().enumerate() {
        // Allocate the groups starting at node k while its inputs are held.
        while next < ivs.len() && ivs[next].def == k {
            roots.insert(ivs[next].id, fl.alloc(ivs[next].bytes));
            next += 1;
        }
        for &j in released {
            fl.free(roots[&ivs[j].id], ivs[j].bytes);
        }
    }
    let offsets = workspace_values(g)
        .into_iter()
        .map(|v| {
            let (root, rel) = al.find(v);
            (v, roots[&root] + rel)
        })
        .collect();
    MemoryPlan { size: fl.top, offsets }
}

/// Checks `p` against `g`: every workspace value has an offset inside the
/// workspace, nothing else is planned, each alias group's root is
/// `ALIGN`-aligned with every member at its fixed place inside the root, and
/// no two groups that are live at the same time share a byte.
pub fn validate(g: &Graph, p: &MemoryPlan) -> Result<(), String> {
    let al = alias::analyze(g);
    let ivs = intervals(g, &al);
    let values = workspace_values(g);
    if !p.size.is_multiple_of(ALIGN) {
        return Err(format!("workspace size {} is not {ALIGN}-byte aligned", p.size));
    }
    if p.offsets.len() != values.len() {
        return Err(format!("plan has {} values, the graph {} workspace values", p.offsets.len(), values.len()));
    }
    let at = |v: ValueId| p.offsets.get(&v).copied().ok_or_else(|| format!("value {v} has no offset"));
    for v in values {
        let (off, (root, rel)) = (at(v)?, al.find(v));
        let want = at(root)? + rel;
        let end = off + g.ty(v).byte_size().unwrap_or(0);
        if off != want {
            return Err(format!("value {v} at offset {off}, but its alias group puts it at {want}"));
        }
        if end > p.size {
            return Err(format!("value {v} [{off}, {end}) exceeds the workspace ({} bytes)", p.size));
        }
    }
    let mut placed = Vec::with_capacity(ivs.len());
    for iv in &ivs {
        let off = at(iv.id)?;
        if !off.is_multiple_of(ALIGN) {
            return Err(format!("value {} at offset {off} is not {ALIGN}-byte aligned", iv.id));
        }
        placed.push((iv, off, off + g.ty(iv.id).byte_size().unwrap_or(0)));
    }
    // Sweep in definition order, keeping the groups still live.
    let mut active: Vec<(&Interval, usize, usize)> = Vec::new();
    for cur in placed {
        active.retain(|(a, _, _)| a.last >= cur.0.def);
        for &(a, s, e) in &active {
            if s < cur.2 && cur.1 < e {
                return Err(format!(
                    "values {} [{s}, {e}) and {} [{}, {}) are live together but overlap",
                    a.id, cur.0.id, cur.1, cur.2
                ));
            }
        }
        active.push(cur);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_list_coalesces_and_best_fits() {
        let mut fl = FreeList::default();
        let a = fl.alloc(64);
        let b = fl.alloc(128);
        let c = fl.alloc(64);
        assert_eq!((a, b, c, fl.top), (0, 64, 192, 256));
        fl.free(a, 64);
        fl.free(c, 64);
        fl.free(b, 128);
        assert_eq!(fl.ranges.len(), 1, "all three ranges merge");
        assert_eq!(fl.alloc(256), 0);
        assert_eq!(fl.top, 256);
    }

    #[test]
    fn free_list_grows_a_free_tail() {
        let mut fl = FreeList::default();
        let a = fl.alloc(64);
        let b = fl.alloc(64);
        fl.free(b, 64);
        assert_eq!(fl.alloc(192), 64);
        assert_eq!(fl.top, 256);
        let _ = a;
    }

    #[test]
    fn best_fit_prefers_the_smallest_hole() {
        let mut fl = FreeList::default();
        let big = fl.alloc(256);
        let _sep1 = fl.alloc(64);
        let small = fl.alloc(64);
        let _sep2 = fl.alloc(64);
        fl.free(big, 256);
        fl.free(small, 64);
        assert_eq!(fl.alloc(64), small);
    }
}
