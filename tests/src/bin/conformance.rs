//! Runs conformance cases in this process and prints one JSON line per case
//! (`onnxc_tests::report::CaseResult`) on stdout, flushed after each case so
//! that the harness knows how far a crashed run got.
//!
//!     conformance [--cache DIR] [CASE ...]     (no CASE: every case)
//!
//! Each case is compiled with `onnxc::compile_file` for the host, linked into
//! a shared library, run through the C ABI and compared with the expected
//! outputs using the suite's tolerances.

use onnxc_ir::Tensor;
use onnxc_tests::report::{CaseResult, Stage};
use onnxc_tests::suite::{self, Case, ConformanceManifest};
use std::collections::HashMap;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let mut cache = suite::cache_dir("conformance");
    let mut names = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cache" => cache = PathBuf::from(args.next().unwrap_or_else(|| usage())),
            "-h" | "--help" => usage(),
            _ => names.push(a),
        }
    }
    let manifest: ConformanceManifest = suite::read_json(&cache.join("manifest.json")).unwrap_or_else(|e| {
        eprintln!("conformance: {e} (generate it with scripts/gen_conformance.py)");
        std::process::exit(1)
    });
    let by_name: HashMap<&str, &Case> = manifest.cases.iter().map(|c| (c.name.as_str(), c)).collect();
    let selected: Vec<&Case> = if names.is_empty() {
        manifest.cases.iter().collect()
    } else {
        names.iter().map(|n| by_name.get(n.as_str()).copied().unwrap_or_else(|| unknown(n))).collect()
    };
    // Test hook for the harness's crash isolation: abort like a segfaulting
    // kernel would, when reaching the named case.
    let abort_on = std::env::var("ONNXC_TEST_ABORT_ON").unwrap_or_default();
    let stdout = std::io::stdout();
    for case in selected {
        if case.name == abort_on {
            std::process::abort();
        }
        let result = run_case(&cache.join(&case.name), case);
        let mut out = stdout.lock();
        let _ = writeln!(out, "{}", result.to_json_line());
        let _ = out.flush();
    }
}

fn usage() -> ! {
    eprintln!("usage: conformance [--cache DIR] [CASE ...]");
    std::process::exit(2)
}

fn unknown(name: &str) -> ! {
    eprintln!("conformance: no case named {name}");
    std::process::exit(2)
}

/// Runs `f`, turning a panic into an error message (a panic is a bug in
/// onnxc, but it must fail one case, not the whole chunk).
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown payload".into());
            Err(format!("panic: {msg}"))
        }
    }
}

fn run_case(dir: &Path, case: &Case) -> CaseResult {
    let fail = |stage, msg: String| CaseResult::failed(&case.name, &case.op, stage, msg);
    if let Some(why) = &case.unsupported {
        return fail(Stage::Unsupported, why.clone());
    }
    let opts = onnxc::CompileOptions {
        name: case.name.clone(),
        input_shapes: case.inputs.iter().filter_map(|t| Some((t.name.clone(), t.shape.clone()?))).collect(),
        ..Default::default()
    };
    let t0 = Instant::now();
    let art = match guarded(|| onnxc::compile_file(&dir.join("model.onnx"), &opts).map_err(|e| e.to_string())) {
        Ok(a) => a,
        Err(e) => return fail(Stage::Compile, e),
    };
    let compile_ms = t0.elapsed().as_secs_f64() * 1e3;
    let (inputs, expected) = match load_data(dir, case, &art.program) {
        Ok(d) => d,
        Err(e) => return fail(Stage::Load, e),
    };
    let t1 = Instant::now();
    let actual = match guarded(|| onnxc_tests::run_compiled(&art, &inputs)) {
        Ok(a) => a,
        Err(e) => return fail(Stage::Run, e),
    };
    let run_ms = t1.elapsed().as_secs_f64() * 1e3;
    let mut result = CaseResult {
        name: case.name.clone(),
        op: case.op.clone(),
        passed: true,
        stage: Stage::Ok,
        message: String::new(),
        compile_ms,
        run_ms,
    };
    for ((a, (e, rtol, atol)), spec) in actual.iter().zip(&expected).zip(&case.outputs) {
        if let Err(m) = onnxc_tests::compare(a, e, *rtol, *atol) {
            result.passed = false;
            result.stage = Stage::Compare;
            result.message = format!("output `{}`: {m}", spec.name);
            break;
        }
    }
    result
}

type Expected = Vec<(Tensor, f64, f64)>;

/// Reads the inputs and expected outputs and checks them against the
/// compiled program's signature.
fn load_data(dir: &Path, case: &Case, program: &onnxc_kernel::Program) -> Result<(Vec<Tensor>, Expected), String> {
    let load = |t: &suite::CaseTensor| -> Result<Tensor, String> {
        let file = t.file.as_ref().ok_or_else(|| format!("`{}` has no data file", t.name))?;
        suite::load_npy(&dir.join(file), t.dtype).map_err(|e| format!("`{}` ({}): {e}", t.name, t.dtype_name))
    };
    if program.inputs.len() != case.inputs.len() || program.outputs.len() != case.outputs.len() {
        return Err(format!(
            "compiled program has {} inputs and {} outputs, the case {} and {}",
            program.inputs.len(),
            program.outputs.len(),
            case.inputs.len(),
            case.outputs.len()
        ));
    }
    let inputs = case.inputs.iter().map(load).collect::<Result<Vec<_>, _>>()?;
    for (t, io) in inputs.iter().zip(&program.inputs) {
        if t.dtype() != io.dtype || t.shape() != io.shape.as_slice() {
            return Err(format!(
                "input `{}`: program expects {}{:?}, data is {}{:?}",
                io.name,
                io.dtype,
                io.shape,
                t.dtype(),
                t.shape()
            ));
        }
    }
    let expected = case
        .outputs
        .iter()
        .map(|o| Ok((load(o)?, o.rtol.unwrap_or(case.rtol), o.atol.unwrap_or(case.atol))))
        .collect::<Result<Vec<_>, String>>()?;
    Ok((inputs, expected))
}
