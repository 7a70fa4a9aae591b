//! The conformance matrix {backend} × {target}: which cases each cell runs,
//! the table of pass counts, and the cases that pass in one cell but fail in
//! another (with the failing cell's reason), written to
//! `.cache/conformance/matrix.json`.

use crate::report::{one_line, CaseResult};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// One cell's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct CellResult {
    pub backend: String,
    /// `x86_64`, `aarch64` or `riscv64`.
    pub target: String,
    /// `--target-features` the cell compiled with (`+v` for LLVM on riscv64).
    pub features: Vec<String>,
    /// The toolchain and emulator, for the record.
    pub platform: String,
    /// Why the cell did not run (cross tools missing); `cases` is then empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub passed: usize,
    /// Passes that needed inputs bound at compile time (`CaseResult::bound`),
    /// the same cases as on the host, so cells stay comparable.
    #[serde(default)]
    pub passed_with_bound: usize,
    pub run: usize,
    pub seconds: f64,
    #[serde(skip)]
    pub cases: Vec<CaseResult>,
}

impl CellResult {
    pub fn label(&self) -> String {
        format!("{}/{}", self.backend, self.target)
    }

    pub fn new(backend: &str, target: &str, features: Vec<String>, platform: String) -> CellResult {
        CellResult {
            backend: backend.into(),
            target: target.into(),
            features,
            platform,
            skipped: None,
            passed: 0,
            passed_with_bound: 0,
            run: 0,
            seconds: 0.0,
            cases: vec![],
        }
    }

    pub fn with_cases(mut self, mut cases: Vec<CaseResult>, seconds: f64) -> CellResult {
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        self.passed = cases.iter().filter(|c| c.passed).count();
        self.passed_with_bound = cases.iter().filter(|c| c.passed && !c.bound.is_empty()).count();
        self.run = cases.len();
        self.cases = cases;
        self.seconds = seconds;
        self
    }
}

/// Where a case failed while passing in another cell.
#[derive(Clone, Debug, Serialize)]
pub struct CellFailure {
    pub cell: String,
    pub stage: String,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    pub case: String,
    pub op: String,
    pub passes_in: Vec<String>,
    pub fails_in: Vec<CellFailure>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Matrix {
    pub onnx_version: String,
    /// Cases each cross cell runs (a deterministic subset, see `cross_subset`).
    pub cross_subset: Vec<String>,
    pub cells: Vec<CellResult>,
    pub divergences: Vec<Divergence>,
}

impl Matrix {
    pub fn new(onnx_version: &str, cross_subset: Vec<String>, cells: Vec<CellResult>) -> Matrix {
        let divergences = divergences(&cells);
        Matrix { onnx_version: onnx_version.into(), cross_subset, cells, divergences }
    }

    /// Markdown table: one row per backend, one column per target,
    /// `passed/run` per cell (or why it was skipped).
    pub fn table(&self) -> String {
        let mut targets: Vec<&str> = Vec::new();
        let mut backends: Vec<&str> = Vec::new();
        for c in &self.cells {
            if !targets.contains(&c.target.as_str()) {
                targets.push(&c.target);
            }
            if !backends.contains(&c.backend.as_str()) {
                backends.push(&c.backend);
            }
        }
        let mut s = format!("| backend | {} |\n|---|{}\n", targets.join(" | "), "---|".repeat(targets.len()));
        for b in &backends {
            let _ = write!(s, "| {b} |");
            for t in &targets {
                let cell = self.cells.iter().find(|c| c.backend == *b && c.target == *t);
                let text = match cell {
                    None => "not run".to_string(),
                    Some(c) if c.skipped.is_some() => "skipped".to_string(),
                    Some(c) => format!("{}/{} ({:.0} s)", c.passed, c.run, c.seconds),
                };
                let _ = write!(s, " {text} |");
            }
            s.push('\n');
        }
        for c in self.cells.iter().filter(|c| c.skipped.is_some()) {
            let _ = writeln!(s, "{} skipped: {}", c.label(), c.skipped.as_deref().unwrap_or(""));
        }
        s
    }

    /// One line per failing cell of each divergent case.
    pub fn divergence_list(&self) -> String {
        let mut s = String::new();
        for d in &self.divergences {
            for f in &d.fails_in {
                let _ = writeln!(
                    s,
                    "{:<48} passes on {}; fails on {} ({}): {}",
                    d.case,
                    d.passes_in.join(","),
                    f.cell,
                    f.stage,
                    one_line(&f.message, 140)
                );
            }
        }
        s
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a Matrix always serializes")
    }
}

fn divergences(cells: &[CellResult]) -> Vec<Divergence> {
    // case -> (cell label, result) over every cell that ran it.
    let mut by_case: BTreeMap<&str, Vec<(String, &CaseResult)>> = BTreeMap::new();
    for cell in cells {
        for r in &cell.cases {
            by_case.entry(&r.name).or_default().push((cell.label(), r));
        }
    }
    let mut out = Vec::new();
    for (case, runs) in by_case {
        let passes_in: Vec<String> = runs.iter().filter(|(_, r)| r.passed).map(|(l, _)| l.clone()).collect();
        if passes_in.is_empty() || passes_in.len() == runs.len() {
            continue;
        }
        let fails_in = runs
            .iter()
            .filter(|(_, r)| !r.passed)
            .map(|(l, r)| CellFailure {
                cell: l.clone(),
                stage: serde_json::to_value(r.stage).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                message: r.message.clone(),
            })
            .collect();
        out.push(Divergence { case: case.into(), op: runs[0].1.op.clone(), passes_in, fails_in });
    }
    out
}

/// The cases a cross cell runs: those that pass on the host in some
/// backend, taken round-robin over ops (first case of every op, then the
/// second, ...) so that a cap keeps every op covered, up to `cap` cases.
/// Deterministic for a given set of host passes.
pub fn cross_subset(host_passes: &[&CaseResult], cap: usize) -> Vec<String> {
    let mut by_op: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in host_passes {
        by_op.entry(&r.op).or_default().push(&r.name);
    }
    for names in by_op.values_mut() {
        names.sort();
        names.dedup();
    }
    let mut out = Vec::new();
    let longest = by_op.values().map(Vec::len).max().unwrap_or(0);
    'outer: for round in 0..longest {
        for names in by_op.values() {
            if let Some(n) = names.get(round) {
                if out.len() >= cap {
                    break 'outer;
                }
                out.push(n.to_string());
            }
        }
    }
    out.sort();
    out
}

/// `ONNXC_CROSS_CASES`: most cases per cross cell (default `default`).
pub fn cross_cap(default: usize) -> usize {
    std::env::var("ONNXC_CROSS_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// name -> op for the runner's crash reports.
pub fn op_map(cases: &[crate::suite::Case]) -> HashMap<String, String> {
    cases.iter().map(|c| (c.name.clone(), c.op.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Stage;

    fn result(name: &str, op: &str, passed: bool) -> CaseResult {
        let mut r = CaseResult::failed(name, op, if passed { Stage::Ok } else { Stage::Compare }, "");
        r.passed = passed;
        r
    }

    #[test]
    fn subset_covers_every_op_before_repeating() {
        let rs = [result("a1", "A", true), result("a2", "A", true), result("a3", "A", true), result("b1", "B", true)];
        let refs: Vec<&CaseResult> = rs.iter().collect();
        assert_eq!(cross_subset(&refs, 2), vec!["a1", "b1"]);
        assert_eq!(cross_subset(&refs, 3), vec!["a1", "a2", "b1"]);
        assert_eq!(cross_subset(&refs, 99).len(), 4);
    }

    #[test]
    fn divergences_name_the_failing_cell() {
        let host = CellResult::new("cranelift", "x86_64", vec![], String::new())
            .with_cases(vec![result("t1", "A", true), result("t2", "A", true)], 1.0);
        let arm = CellResult::new("cranelift", "aarch64", vec![], String::new())
            .with_cases(vec![result("t1", "A", true), result("t2", "A", false)], 1.0);
        let m = Matrix::new("1", vec![], vec![host, arm]);
        assert_eq!(m.divergences.len(), 1);
        assert_eq!(m.divergences[0].fails_in[0].cell, "cranelift/aarch64");
        assert!(m.table().contains("| cranelift | 2/2 (1 s) | 1/2 (1 s) |"), "{}", m.table());
    }
}
