//! The ONNX node conformance suite (scripts/gen_conformance.py → .cache/conformance).
//!
//! The host with the default backend (Cranelift); the other backends and the
//! cross targets are `tests/conformance_matrix.rs`. Cases run in child
//! processes (`onnxc_tests::runner`), so a crash fails only its case.
//! Prints a per-op table and `N passed, M failed`, writes
//! `.cache/conformance/summary.json`, and fails only if fewer cases pass than
//! the floor in `tests/conformance_floor.txt` (a ratchet raised as ops land).
//! An unsupported op is a failure, never a skip.
//!
//! Environment: `ONNXC_ALLOW_MISSING_SUITE=1` passes with 0 cases when the
//! cache is missing (otherwise the script generates it);
//! `ONNXC_CONFORMANCE_FILTER=substr` runs only matching case names.

use onnxc_tests::report::Summary;
use onnxc_tests::runner::{run_all, Runner};
use onnxc_tests::suite::{self, ConformanceManifest};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[test]
fn conformance_suite() {
    let cache = suite::cache_dir("conformance");
    match suite::ensure("gen_conformance.py", &cache) {
        Ok(true) => {}
        Ok(false) => {
            println!("conformance: {} is missing and ONNXC_ALLOW_MISSING_SUITE=1: running 0 cases", cache.display());
            println!("0 passed, 0 failed");
            return;
        }
        Err(e) => panic!("conformance: cannot generate the suite: {e}"),
    }
    let manifest: ConformanceManifest = suite::read_json(&cache.join("manifest.json")).unwrap();
    let filter = std::env::var("ONNXC_CONFORMANCE_FILTER").unwrap_or_default();
    let names: Vec<String> =
        manifest.cases.iter().map(|c| c.name.clone()).filter(|n| n.contains(filter.as_str())).collect();
    let ops = manifest.cases.iter().map(|c| (c.name.clone(), c.op.clone())).collect();

    let start = Instant::now();
    let runner = Runner {
        bin: PathBuf::from(env!("CARGO_BIN_EXE_conformance")),
        cache: cache.clone(),
        extra_args: vec![],
        label: "cranelift/host".into(),
    };
    let results = run_all(&runner, &names, &ops);
    let summary = Summary::new(&manifest.onnx_version, results);
    let summary_path = cache.join("summary.json");
    std::fs::write(&summary_path, summary.to_json()).expect("write summary.json");

    println!("{}", summary.op_table());
    println!("failures by stage: {:?}", summary.failed_by_stage);
    println!("summary: {} ({:.0} s)", summary_path.display(), start.elapsed().as_secs_f64());
    println!("conformance: {}", summary.totals_line());
    let floor = read_floor();
    assert!(
        summary.passed >= floor,
        "conformance regressed: {} cases pass, the floor in tests/conformance_floor.txt is {floor}",
        summary.passed
    );
    if filter.is_empty() && summary.passed > floor {
        println!(
            "conformance: {} passes above the floor {floor}: raise tests/conformance_floor.txt",
            summary.passed - floor
        );
    }
}

fn read_floor() -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance_floor.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim().parse().unwrap_or_else(|_| panic!("{}: not a number: {text:?}", path.display()))
}
