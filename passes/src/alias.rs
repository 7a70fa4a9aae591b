//! Values that the memory plan places in each other's bytes, so that the
//! copy (or the fresh buffer) they would otherwise need never happens:
//!
//! - **Reshape-like** (`Reshape`, `Flatten`, `Squeeze`, `Unsqueeze`): the
//!   output is the input's bytes, and the kernel crate's copy is skipped
//!   because source and destination are the same (`Cx::copy_value`).
//! - **Concat** whose parts are contiguous in its output (every axis before
//!   the concat axis has extent 1, e.g. a channel concat at batch 1): each
//!   part is written straight into its slice of the output by its producer,
//!   and the concat kernel skips the parts already in place. DenseNet's
//!   growing concat chain becomes one buffer per dense block.
//! - **In place**: an elementwise output written over an input that dies at
//!   that node (`memory_plan::in_place_input`).
//!
//! Values related this way form a group with one root (the value whose bytes
//! span the whole group) and a byte offset per member; the plan allocates one
//! interval per group. Why this is safe: values are immutable once written,
//! so two members that share bytes either hold the same content (reshape),
//! never overlap (concat parts), or one is dead before the other is written
//! (in place, which is only allowed when the whole group dies at that node).

use crate::memory_plan::in_place_input;
use onnxc_ir::{Graph, Op, ValueId};
use std::collections::{HashMap, HashSet};

/// Group membership: for a member, its parent and its byte offset in the
/// parent; roots (and values in no group) are absent.
#[derive(Clone, Debug, Default)]
pub struct Aliases {
    parent: HashMap<ValueId, (ValueId, usize)>,
}

impl Aliases {
    /// The root of `v`'s group and `v`'s byte offset inside the root.
    pub fn find(&self, v: ValueId) -> (ValueId, usize) {
        let (mut cur, mut off) = (v, 0);
        while let Some(&(p, o)) = self.parent.get(&cur) {
            cur = p;
            off += o;
        }
        (cur, off)
    }

    /// Number of values placed inside another value's bytes.
    pub fn members(&self) -> usize {
        self.parent.len()
    }
}

/// Workspace values that may take part in a group: node outputs that are
/// not graph outputs, not constants, not empty and not data-dependent
/// (those have an upper-bound buffer and a run-time extent).
fn candidates(g: &Graph) -> HashSet<ValueId> {
    let dynamic = onnxc_ir::dynamic::dynamic_values(g);
    g.nodes
        .iter()
        .flat_map(|n| n.outputs.iter().copied())
        .filter(|v| {
            !g.outputs.contains(v)
                && !g.inputs.contains(v)
                && g.const_value(*v).is_none()
                && !dynamic.contains_key(v)
                && g.ty(*v).byte_size().unwrap_or(0) > 0
        })
        .collect()
}

fn bytes(g: &Graph, v: ValueId) -> usize {
    g.ty(v).byte_size().unwrap_or(0)
}

/// Index of the last node reading each value (its defining node when unread).
pub(crate) fn lifetimes(g: &Graph) -> HashMap<ValueId, usize> {
    let mut last = HashMap::new();
    for (k, n) in g.nodes.iter().enumerate() {
        for o in &n.outputs {
            last.insert(*o, k);
        }
    }
    for (k, n) in g.nodes.iter().enumerate() {
        for i in n.inputs.iter().flatten() {
            let e = last.entry(*i).or_insert(k);
            *e = (*e).max(k);
        }
    }
    last
}

struct Builder<'g> {
    g: &'g Graph,
    ok: HashSet<ValueId>,
    last: HashMap<ValueId, usize>,
    /// Last reader of each read value, as `in_place_input` expects.
    reads: HashMap<ValueId, usize>,
    /// Last use over all members, by root.
    group_last: HashMap<ValueId, usize>,
    al: Aliases,
}

impl Builder<'_> {
    fn group_last(&self, root: ValueId) -> usize {
        self.group_last.get(&root).copied().unwrap_or_else(|| self.last[&root])
    }

    /// Places `v` (a root) inside `parent` at byte `off`.
    fn attach(&mut self, v: ValueId, parent: ValueId, off: usize) {
        let (root, base) = self.al.find(parent);
        let l = self.group_last(v).max(self.group_last(root));
        self.group_last.insert(root, l);
        self.group_last.remove(&v);
        self.al.parent.insert(v, (parent, off));
        debug_assert_eq!(self.al.find(v), (root, base + off));
    }

    fn reshape(&mut self, x: ValueId, y: ValueId) {
        if self.ok.contains(&x) && self.ok.contains(&y) && bytes(self.g, x) == bytes(self.g, y) {
            self.attach(y, x, 0);
        }
    }

    /// Parts are contiguous slices of the output when every axis before the
    /// concat axis has extent 1.
    fn concat(&mut self, parts: &[ValueId], z: ValueId, axis: i64) {
        let shape = &self.g.ty(z).shape;
        let Ok(ax) = onnxc_ir::infer::norm_axis(axis, shape.len()) else { return };
        if !self.ok.contains(&z) || shape[..ax].iter().any(|d| *d != 1) {
            return;
        }
        let mut seen = HashSet::new();
        let mut off = 0;
        for &y in parts {
            let b = bytes(self.g, y);
            let (root, rel) = self.al.find(y);
            // Only a group that is exactly this part's bytes can move into
            // the output: a larger group (y inside another concat) would put
            // its other members over the neighbouring parts.
            let fits = rel == 0 && bytes(self.g, root) == b && root != z;
            if self.ok.contains(&y) && seen.insert(root) && fits {
                self.attach(root, z, off);
            }
            off += b;
        }
    }

    fn in_place(&mut self, k: usize) {
        let n = &self.g.nodes[k];
        let Some(x) = in_place_input(self.g, k, &self.reads) else { return };
        let o = n.outputs[0];
        let (root, _) = self.al.find(x);
        // The whole group must die here, and no other input of this node may
        // read bytes of it (they would be overwritten while being read).
        let others = n.inputs.iter().flatten().filter(|i| **i != x).any(|i| self.al.find(*i).0 == root);
        if self.ok.contains(&x) && self.ok.contains(&o) && self.group_last(root) == k && !others {
            self.attach(o, x, 0);
        }
    }
}

/// Groups `g`'s workspace values (see the module documentation).
pub fn analyze(g: &Graph) -> Aliases {
    let mut reads = HashMap::new();
    for (k, n) in g.nodes.iter().enumerate() {
        for i in n.inputs.iter().flatten() {
            reads.insert(*i, k);
        }
    }
    let (ok, last) = (candidates(g), lifetimes(g));
    let mut b = Builder { g, ok, last, reads, group_last: HashMap::new(), al: Aliases::default() };
    for (k, n) in g.nodes.iter().enumerate() {
        match &n.op {
            Op::Reshape { .. } | Op::Flatten { .. } | Op::Squeeze | Op::Unsqueeze => {
                if let (Some(x), Some(&y)) = (n.input(0), n.outputs.first()) {
                    b.reshape(x, y);
                }
            }
            Op::Concat { axis } => {
                let parts: Vec<ValueId> = n.inputs.iter().flatten().copied().collect();
                if let Some(&z) = n.outputs.first() {
                    b.concat(&parts, z, *axis);
                }
            }
            _ => b.in_place(k),
        }
    }
    b.al
}
