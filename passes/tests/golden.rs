//! Golden tests in the textual IR. `golden/<pass>/<case>.onnxir` is parsed,
//! `<pass>` (a pass name, or `pipeline` for the default pipeline) is run on
//! it, the result is verified and printed, and the text must equal
//! `golden/<pass>/<case>.expected.onnxir`. Run with `UPDATE_GOLDEN=1` to
//! (re)write the expected files, then review the diff.

use onnxc_ir::{text, verify, Graph};
use onnxc_passes::pipeline::{default_passes, run_passes, PipelineOptions};
use std::path::{Path, PathBuf};

const EXPECTED: &str = ".expected.onnxir";

fn apply(pass: &str, g: &mut Graph) -> Result<(), String> {
    let all = default_passes();
    let selected: Vec<_> = if pass == "pipeline" {
        all
    } else {
        all.into_iter().filter(|p| p.name() == pass).collect()
    };
    if selected.is_empty() {
        return Err(format!("no pass named `{pass}` (directory name)"));
    }
    let opts = PipelineOptions { print_ir_after_all: false, verify: true };
    run_passes(g, &selected, &opts, &mut |_, _| {}).map_err(|e| e.to_string())
}

fn cases() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("tests/golden exists") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let pass = dir.file_name().unwrap().to_string_lossy().into_owned();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let name = f.to_string_lossy();
            if name.ends_with(".onnxir") && !name.ends_with(EXPECTED) {
                out.push((pass.clone(), f));
            }
        }
    }
    out.sort();
    out
}

/// Runs one case; returns a failure description.
fn check(pass: &str, input: &Path, update: bool) -> Result<(), String> {
    let src = std::fs::read_to_string(input).map_err(|e| e.to_string())?;
    let mut g = text::parse(&src).map_err(|e| format!("parse: {e}"))?;
    apply(pass, &mut g)?;
    verify::verify(&g).map_err(|e| format!("verify: {e}"))?;
    let got = text::print(&g);
    // The printed result must itself be valid input.
    text::parse(&got).map_err(|e| format!("re-parsing the output: {e}"))?;
    let stem = input.to_string_lossy().trim_end_matches(".onnxir").to_string();
    let expected_path = PathBuf::from(format!("{stem}{EXPECTED}"));
    if update {
        return std::fs::write(&expected_path, &got).map_err(|e| e.to_string());
    }
    let want = std::fs::read_to_string(&expected_path)
        .map_err(|e| format!("{}: {e} (run with UPDATE_GOLDEN=1)", expected_path.display()))?;
    if want != got {
        return Err(format!(
            "output differs from {}:\n--- expected\n{want}--- got\n{got}",
            expected_path.display()
        ));
    }
    Ok(())
}

#[test]
fn golden() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let cases = cases();
    assert!(!cases.is_empty(), "no golden cases found");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(pass, f)| {
            check(pass, f, update).err().map(|e| format!("{pass}: {}: {e}", f.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
