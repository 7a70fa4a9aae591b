//! The conformance suite on the matrix {backend} × {x86_64, aarch64, riscv64}.
//!
//! - Host cells (x86_64) run every case with each backend.
//! - Cross cells compile for aarch64 / riscv64 (riscv64 with `+v` under
//!   LLVM), link statically with the cross gcc and the C driver, and run
//!   under qemu-user (`onnxc_tests::cross`). They run every case that passes
//!   on the host (about 80 ms per case on 2 cores: a cross link and a qemu
//!   start); `ONNXC_CROSS_CASES=N` narrows that to a deterministic subset,
//!   round-robin over ops, for quick local runs.
//! - Every object is checked for undefined symbols (only memcpy/memmove/memset).
//!
//! Prints the table of pass counts (markdown, for the README) and every case
//! that passes in one cell but fails in another with the failing cell's
//! reason, and writes both to `.cache/conformance/matrix.json`.
//!
//! Fails when a cross cell fails a case that passes on the host with the
//! same backend, unless `tests/cross_known_failures.txt` lists it
//! (`<backend>/<target> <case>` per line); a listed case that now passes is
//! reported so the list shrinks. Missing cross tools skip their cells with
//! the reason printed (`ONNXC_REQUIRE_CROSS=1` makes that a failure).
//!
//! Environment: `ONNXC_BACKENDS=cranelift,llvm` (default: those built in),
//! `ONNXC_TARGETS=x86_64,aarch64,riscv64`, `ONNXC_CROSS_CASES=N`,
//! `ONNXC_CONFORMANCE_FILTER=substr`, `ONNXC_CONFORMANCE_JOBS=N`.

use onnxc_kernel::Arch;
use onnxc_tests::cross::{self, arch_name, backend_name, Platform};
use onnxc_tests::matrix::{self, CellResult, Matrix};
use onnxc_tests::report::CaseResult;
use onnxc_tests::runner::{run_all, Runner};
use onnxc_tests::suite::{self, ConformanceManifest};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Every host-passing case: the bar is "the same cases as x86-64".
const DEFAULT_CROSS_CASES: usize = usize::MAX;

struct Ctx {
    cache: PathBuf,
    ops: HashMap<String, String>,
}

impl Ctx {
    fn run_cell(&self, backend: onnxc::Backend, platform: &Platform, names: &[String]) -> CellResult {
        let target = cross::cell_target(platform.arch, backend);
        let cell = CellResult::new(backend_name(backend), arch_name(platform.arch), target.features, platform.describe());
        let runner = Runner {
            bin: PathBuf::from(env!("CARGO_BIN_EXE_conformance")),
            cache: self.cache.clone(),
            extra_args: vec![
                "--target".into(),
                arch_name(platform.arch).into(),
                "--backend".into(),
                backend_name(backend).into(),
            ],
            label: cell.label(),
        };
        let start = Instant::now();
        let results = run_all(&runner, names, &self.ops);
        cell.with_cases(results, start.elapsed().as_secs_f64())
    }
}

#[test]
fn conformance_matrix() {
    let cache = suite::cache_dir("conformance");
    match suite::ensure("gen_conformance.py", &cache) {
        Ok(true) => {}
        Ok(false) => {
            println!("conformance matrix: {} is missing and ONNXC_ALLOW_MISSING_SUITE=1: 0 cells", cache.display());
            return;
        }
        Err(e) => panic!("conformance matrix: cannot generate the suite: {e}"),
    }
    let manifest: ConformanceManifest = suite::read_json(&cache.join("manifest.json")).unwrap();
    let backends = cross::backends_from_env().unwrap_or_else(|e| panic!("{e}"));
    let arches = cross::arches_from_env().unwrap_or_else(|e| panic!("{e}"));
    let filter = std::env::var("ONNXC_CONFORMANCE_FILTER").unwrap_or_default();
    let names: Vec<String> =
        manifest.cases.iter().map(|c| c.name.clone()).filter(|n| n.contains(filter.as_str())).collect();
    let ctx = Ctx { cache: cache.clone(), ops: matrix::op_map(&manifest.cases) };

    let host = cross::host_arch();
    let mut cells = Vec::new();
    if arches.contains(&host) {
        for &b in &backends {
            cells.push(ctx.run_cell(b, &Platform::host(), &names));
        }
    }
    // Without host cells, the subset is the first cases by name.
    let host_passes: Vec<&CaseResult> = cells.iter().flat_map(|c| c.cases.iter().filter(|r| r.passed)).collect();
    let cap = matrix::cross_cap(DEFAULT_CROSS_CASES);
    let subset =
        if cells.is_empty() { names.iter().take(cap).cloned().collect() } else { matrix::cross_subset(&host_passes, cap) };
    for &arch in arches.iter().filter(|&&a| a != host) {
        cells.extend(cross_cells(&ctx, arch, &backends, &subset));
    }

    let m = Matrix::new(&manifest.onnx_version, subset, cells);
    let path = cache.join("matrix.json");
    std::fs::write(&path, m.to_json()).expect("write matrix.json");
    println!("conformance matrix (passed/run; cross cells run {} host-passing cases):", m.cross_subset.len());
    println!("{}", m.table());
    println!("cases that pass in one cell and fail in another ({}):", m.divergences.len());
    print!("{}", m.divergence_list());
    println!("matrix: {}", path.display());
    check_regressions(&m, &backends);
}

/// The cells of one cross architecture, or skipped ones when its tools are missing.
fn cross_cells(ctx: &Ctx, arch: Arch, backends: &[onnxc::Backend], subset: &[String]) -> Vec<CellResult> {
    match Platform::for_arch(arch) {
        Ok(p) => backends.iter().map(|&b| ctx.run_cell(b, &p, subset)).collect(),
        Err(why) => {
            assert!(!cross::cross_required(), "ONNXC_REQUIRE_CROSS=1 but {why}");
            println!("conformance matrix: SKIPPING the {} cells: {why}", arch_name(arch));
            backends
                .iter()
                .map(|&b| {
                    let t = cross::cell_target(arch, b);
                    let mut c = CellResult::new(backend_name(b), arch_name(arch), t.features, String::new());
                    c.skipped = Some(why.clone());
                    c
                })
                .collect()
        }
    }
}

/// Cross failures of cases that pass on the host with the same backend,
/// minus the known ones, fail the test.
fn check_regressions(m: &Matrix, backends: &[onnxc::Backend]) {
    let known = known_failures();
    let host = arch_name(cross::host_arch());
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for b in backends.iter().map(|&b| backend_name(b)) {
        let Some(host_cell) = m.cells.iter().find(|c| c.backend == b && c.target == host) else { continue };
        let host_ok: BTreeSet<&str> = host_cell.cases.iter().filter(|r| r.passed).map(|r| r.name.as_str()).collect();
        for cell in m.cells.iter().filter(|c| c.backend == b && c.target != host && c.skipped.is_none()) {
            for r in &cell.cases {
                let key = format!("{} {}", cell.label(), r.name);
                match (r.passed, known.contains(&key)) {
                    (false, false) if host_ok.contains(r.name.as_str()) => unexpected.push(key),
                    (true, true) => fixed.push(key),
                    _ => {}
                }
            }
        }
    }
    if !fixed.is_empty() {
        println!("now passing, remove from tests/cross_known_failures.txt:\n  {}", fixed.join("\n  "));
    }
    assert!(
        unexpected.is_empty(),
        "{} cross case(s) fail that pass on the host (see the list above; tests/cross_known_failures.txt lists accepted ones):\n  {}",
        unexpected.len(),
        unexpected.join("\n  ")
    );
}

fn known_failures() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("cross_known_failures.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}
