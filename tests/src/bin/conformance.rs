//! Runs conformance cases in this process and prints one JSON line per case
//! (`onnxc_tests::report::CaseResult`) on stdout, flushed after each case so
//! that the harness knows how far a crashed run got.
//!
//!     conformance [--cache DIR] [--target ARCH] [--backend B] [CASE ...]
//!
//! Each case is compiled with `onnxc::compile_file` (default: the host with
//! Cranelift) and its object checked for undefined symbols. On the host it is
//! linked into a shared library and run through the C ABI in this process;
//! for a cross target (`--target aarch64|riscv64`) it is linked statically
//! with the cross gcc and the C driver (tests/c/run_model.c) and run under
//! qemu-user on raw input/output files. Outputs are compared with the
//! expected ones using the suite's tolerances.

use onnxc_ir::Tensor;
use onnxc_tests::cross::{self, Platform};
use onnxc_tests::report::{CaseResult, Stage};
use onnxc_tests::suite::{self, Case, ConformanceManifest};
use std::collections::HashMap;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest a case may run under qemu: below the harness's 30 s per case, so
/// a hung case fails here with its own message and qemu is never orphaned.
const QEMU_TIMEOUT: Duration = Duration::from_secs(20);

/// The cell this process runs: compile options and where to run.
struct Cell {
    target: onnxc_kernel::Target,
    backend: onnxc::Backend,
    platform: Platform,
}

fn main() {
    let mut cache = suite::cache_dir("conformance");
    let mut names = Vec::new();
    let (mut arch, mut backend) = (cross::host_arch(), onnxc::Backend::Cranelift);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--cache" => cache = PathBuf::from(value()),
            "--target" => arch = cross::parse_arch(&value()).unwrap_or_else(|| usage()),
            "--backend" => backend = cross::parse_backend(&value()).unwrap_or_else(|| usage()),
            "-h" | "--help" => usage(),
            _ => names.push(a),
        }
    }
    let platform = Platform::for_arch(arch).unwrap_or_else(|why| {
        eprintln!("conformance: {why}");
        std::process::exit(1)
    });
    let cell = Cell { target: cross::cell_target(arch, backend), backend, platform };
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
        let result = run_case(&cache.join(&case.name), case, &cell);
        let mut out = stdout.lock();
        let _ = writeln!(out, "{}", result.to_json_line());
        let _ = out.flush();
    }
}

fn usage() -> ! {
    eprintln!("usage: conformance [--cache DIR] [--target x86_64|aarch64|riscv64] [--backend cranelift|llvm] [CASE ...]");
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

fn run_case(dir: &Path, case: &Case, cell: &Cell) -> CaseResult {
    let fail = |stage, msg: String| CaseResult::failed(&case.name, &case.op, stage, msg);
    if let Some(why) = &case.unsupported {
        return fail(Stage::Unsupported, why.clone());
    }
    let mut opts = onnxc::CompileOptions {
        name: case.name.clone(),
        target: cell.target.clone(),
        backend: cell.backend,
        ..Default::default()
    };
    suite::boundary_options(&case.inputs, &mut opts);
    let t0 = Instant::now();
    let art = match compile_case(dir, case, &mut opts) {
        Ok(a) => a,
        Err(e) => return fail(Stage::Compile, e),
    };
    // Bound inputs are constants in the object, not arguments of `_run`.
    let bound: Vec<String> =
        case.inputs.iter().filter(|t| opts.bind_inputs.contains_key(&t.name)).map(|t| t.name.clone()).collect();
    let compile_ms = t0.elapsed().as_secs_f64() * 1e3;
    if let Err(e) = onnxc_tests::elf::check_undefined(&art.object) {
        return fail(Stage::Symbols, e);
    }
    let (inputs, expected) = match load_data(dir, case, &art.program, &bound) {
        Ok(d) => d,
        Err(e) => return fail(Stage::Load, e),
    };
    let t1 = Instant::now();
    let actual = if cell.platform.is_emulated() {
        match run_emulated(&art, &inputs, &cell.platform) {
            Ok(a) => a,
            Err((stage, e)) => return fail(stage, e),
        }
    } else {
        match guarded(|| onnxc_tests::run_compiled(&art, &inputs)) {
            Ok(a) => a,
            Err(e) => return fail(Stage::Run, e),
        }
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
        bound,
    };
    let out_specs = case.outputs.iter().flat_map(|o| o.abi_tensors());
    for ((a, (e, rtol, atol)), spec) in actual.iter().zip(&expected).zip(out_specs) {
        if let Err(m) = onnxc_tests::compare(a, e, *rtol, *atol) {
            result.passed = false;
            result.stage = Stage::Compare;
            result.message = format!("output `{}`: {m}", spec.name);
            break;
        }
    }
    result
}

/// Binding rounds before giving up: one per node whose shape-deciding inputs
/// surface only after the previous ones are bound (training-mode Dropout
/// asks for `training_mode`, then for `ratio`).
const MAX_BIND_ROUNDS: usize = 3;

/// Compiles the case; when that fails because a shape-deciding value is
/// computed from graph inputs (`onnxc::Error::NeedsConstant`), retries with
/// exactly the graph inputs the error names bound to the case's data, as a
/// user would with `--bind` (they then leave the program's inputs).
fn compile_case(dir: &Path, case: &Case, opts: &mut onnxc::CompileOptions) -> Result<onnxc::Artifacts, String> {
    let model = dir.join("model.onnx");
    for _ in 0..MAX_BIND_ROUNDS {
        let e = match guarded(|| Ok(onnxc::compile_file(&model, opts)))? {
            Ok(art) => return Ok(art),
            Err(e) => e,
        };
        let Some(names) = e.inputs_to_bind() else { return Err(bound_note(e.to_string(), opts)) };
        for n in names {
            let spec = case.inputs.iter().find(|t| &t.name == n).ok_or_else(|| e.to_string())?;
            let file = spec.file.as_ref().ok_or_else(|| format!("{e} (and `{n}` has no data file to bind)"))?;
            let t = suite::load_npy(&dir.join(file), spec.dtype)?;
            if opts.bind_inputs.insert(n.clone(), t).is_some() {
                return Err(bound_note(e.to_string(), opts));
            }
        }
    }
    guarded(|| onnxc::compile_file(&model, opts).map_err(|e| bound_note(e.to_string(), opts)))
}

fn bound_note(msg: String, opts: &onnxc::CompileOptions) -> String {
    if opts.bind_inputs.is_empty() {
        return msg;
    }
    let mut names: Vec<&str> = opts.bind_inputs.keys().map(String::as_str).collect();
    names.sort_unstable();
    format!("{msg} (after binding {})", names.join(", "))
}

/// Links the object statically with the C driver for the cross target and
/// runs it under qemu on raw files in a temporary folder.
fn run_emulated(art: &onnxc::Artifacts, inputs: &[Tensor], platform: &Platform) -> Result<Vec<Tensor>, (Stage, String)> {
    let io = |e: std::io::Error| (Stage::Run, e.to_string());
    let dir = tempfile::tempdir().map_err(io)?;
    let (obj, header, exe) = (dir.path().join("m.o"), dir.path().join("m.h"), dir.path().join("run"));
    std::fs::write(&obj, &art.object).map_err(io)?;
    std::fs::write(&header, &art.header).map_err(io)?;
    platform.build_driver(&art.program.name, &header, &[&obj], &exe).map_err(|e| (Stage::Link, e))?;
    onnxc_tests::native::run_driver_on(platform, &exe, inputs, &art.program.outputs, dir.path(), 1, QEMU_TIMEOUT)
        .map(|r| r.outputs)
        .map_err(|e| (Stage::Run, e))
}

type Expected = Vec<(Tensor, f64, f64)>;

/// Reads the inputs and expected outputs and checks them against the
/// compiled program's signature.
fn load_data(
    dir: &Path,
    case: &Case,
    program: &onnxc_kernel::Program,
    bound: &[String],
) -> Result<(Vec<Tensor>, Expected), String> {
    let load = |t: &suite::CaseTensor| -> Result<Tensor, String> {
        let file = t.file.as_ref().ok_or_else(|| format!("`{}` has no data file", t.name))?;
        suite::load_npy(&dir.join(file), t.dtype).map_err(|e| format!("`{}` ({}): {e}", t.name, t.dtype_name))
    };
    // Sequences are flattened into their elements, absent optionals dropped.
    let run_inputs: Vec<&suite::CaseTensor> =
        case.inputs.iter().filter(|t| !bound.contains(&t.name)).flat_map(|t| t.abi_tensors()).collect();
    let outputs: Vec<&suite::CaseTensor> = case.outputs.iter().flat_map(|t| t.abi_tensors()).collect();
    if program.inputs.len() != run_inputs.len() || program.outputs.len() != outputs.len() {
        return Err(format!(
            "compiled program has {} inputs and {} outputs, the case {} (of which {} bound) and {} (sequences flattened)",
            program.inputs.len(),
            program.outputs.len(),
            run_inputs.len() + bound.len(),
            bound.len(),
            outputs.len()
        ));
    }
    let inputs = run_inputs.into_iter().map(load).collect::<Result<Vec<_>, _>>()?;
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
    let expected = outputs
        .into_iter()
        .map(|o| Ok((load(o)?, o.rtol.unwrap_or(case.rtol), o.atol.unwrap_or(case.atol))))
        .collect::<Result<Vec<_>, String>>()?;
    Ok((inputs, expected))
}
