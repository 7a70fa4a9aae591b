//! Results of conformance cases: the JSON line the `conformance` binary
//! prints per case, and the summary (per-op table, totals, summary.json)
//! the harness test builds from them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Where a case stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Passed every stage.
    Ok,
    /// Data the ABI cannot carry (strings, sequences, optionals).
    Unsupported,
    /// onnxc::compile_file failed (unsupported op, dtype, ...).
    Compile,
    /// The object references symbols other than memcpy/memmove/memset.
    Symbols,
    /// Linking the object with the C driver failed (cross targets).
    Link,
    /// Reading the case's .npy files or matching them to the program's I/O.
    Load,
    /// Linking or running the compiled code returned an error.
    Run,
    /// Ran, but an output differs from the expected one.
    Compare,
    /// The process running the case died (signal, abort).
    Crash,
    /// The case did not finish in time.
    Timeout,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub name: String,
    pub op: String,
    pub passed: bool,
    pub stage: Stage,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default)]
    pub compile_ms: f64,
    #[serde(default)]
    pub run_ms: f64,
    /// Graph inputs bound at compile time with the case's data (the case
    /// failed to compile without: they decide an output shape).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bound: Vec<String>,
}

impl CaseResult {
    pub fn failed(name: &str, op: &str, stage: Stage, message: impl Into<String>) -> CaseResult {
        CaseResult {
            name: name.into(),
            op: op.into(),
            passed: false,
            stage,
            message: message.into(),
            compile_ms: 0.0,
            run_ms: 0.0,
            bound: Vec::new(),
        }
    }

    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a CaseResult always serializes")
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct OpCount {
    pub passed: usize,
    pub failed: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub onnx_version: String,
    pub passed: usize,
    /// Passes that needed bound inputs (`CaseResult::bound`).
    pub passed_with_bound: usize,
    pub failed: usize,
    pub total: usize,
    /// Failures by stage (compile, compare, crash, ...).
    pub failed_by_stage: BTreeMap<String, usize>,
    pub ops: BTreeMap<String, OpCount>,
    pub cases: Vec<CaseResult>,
}

impl Summary {
    pub fn new(onnx_version: &str, mut cases: Vec<CaseResult>) -> Summary {
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        let mut ops: BTreeMap<String, OpCount> = BTreeMap::new();
        let mut failed_by_stage = BTreeMap::new();
        for c in &cases {
            let e = ops.entry(c.op.clone()).or_default();
            if c.passed {
                e.passed += 1;
            } else {
                e.failed += 1;
                let stage = serde_json::to_value(c.stage).ok().and_then(|v| v.as_str().map(String::from));
                *failed_by_stage.entry(stage.unwrap_or_default()).or_insert(0) += 1;
            }
        }
        let passed = cases.iter().filter(|c| c.passed).count();
        let passed_with_bound = cases.iter().filter(|c| c.passed && !c.bound.is_empty()).count();
        Summary {
            onnx_version: onnx_version.into(),
            passed,
            passed_with_bound,
            failed: cases.len() - passed,
            total: cases.len(),
            failed_by_stage,
            ops,
            cases,
        }
    }

    /// The per-op table: op, passed, failed, and the first failure's message.
    pub fn op_table(&self) -> String {
        let mut s = format!("{:<32} {:>6} {:>6}  first failure\n", "op", "passed", "failed");
        for (op, n) in &self.ops {
            let first = self.cases.iter().find(|c| &c.op == op && !c.passed);
            let why = first.map(|c| format!("{}: {}", c.name, one_line(&c.message, 90))).unwrap_or_default();
            let _ = writeln!(s, "{op:<32} {:>6} {:>6}  {why}", n.passed, n.failed);
        }
        s
    }

    /// `N passed (B with bound inputs), M failed`.
    pub fn totals_line(&self) -> String {
        format!("{} passed ({} with bound inputs), {} failed", self.passed, self.passed_with_bound, self.failed)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a Summary always serializes")
    }
}

/// First line of `s`, cut to `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_round_trips() {
        let r = CaseResult::failed("test_abs", "Abs", Stage::Compile, "unsupported op Abs");
        let back: CaseResult = serde_json::from_str(&r.to_json_line()).unwrap();
        assert_eq!(back, r);
        assert!(r.to_json_line().contains("\"stage\":\"compile\""));
    }

    #[test]
    fn summary_counts_per_op() {
        let mut ok = CaseResult::failed("test_add", "Add", Stage::Ok, "");
        ok.passed = true;
        let cases = vec![ok, CaseResult::failed("test_add_bcast", "Add", Stage::Compare, "1/4 differ")];
        let s = Summary::new("1.23.2", cases);
        assert_eq!((s.passed, s.failed, s.total), (1, 1, 2));
        assert_eq!(s.failed_by_stage.get("compare"), Some(&1));
        assert!(s.op_table().contains("test_add_bcast: 1/4 differ"));
    }

    #[test]
    fn bound_inputs_are_counted_and_round_trip() {
        let mut r = CaseResult::failed("test_reduce_sum", "ReduceSum", Stage::Ok, "");
        r.passed = true;
        r.bound = vec!["axes".into()];
        assert!(r.to_json_line().contains("\"bound\":[\"axes\"]"));
        let back: CaseResult = serde_json::from_str(&r.to_json_line()).unwrap();
        assert_eq!(back, r);
        let plain = CaseResult::failed("test_abs", "Abs", Stage::Compile, "x");
        assert!(!plain.to_json_line().contains("bound"));
        let s = Summary::new("1.23.2", vec![r, plain]);
        assert_eq!(s.passed_with_bound, 1);
        assert_eq!(s.totals_line(), "1 passed (1 with bound inputs), 1 failed");
    }
}
