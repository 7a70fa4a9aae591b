//! Generated objects for every target and backend reference no symbol but
//! memcpy/memmove/memset, checked with `nm -u` (binutils reads foreign ELF objects,
//! so no cross tools are needed).
//!
//! The models are the conformance cases of the ops most likely to pull in a
//! libm or compiler-rt call (transcendentals, rounding, float/int casts,
//! division, normalizations, convolutions), up to `PER_OP` each. The same
//! objects also check `onnxc_tests::elf::undefined_symbols`, which the
//! conformance binary uses on every case of the matrix.

use onnxc_tests::cross::{self, arch_name, backend_name};
use onnxc_tests::elf::{self, ALLOWED_UNDEFINED};
use onnxc_tests::suite::{self, Case, ConformanceManifest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const OPS: &[&str] = &[
    "Exp", "Log", "Tanh", "Erf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh",
    "Atanh", "Pow", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Mod", "Div", "Cast", "Sigmoid", "Softplus",
    "Mish", "Gelu", "Elu", "Selu", "Celu", "Softmax", "LogSoftmax", "ReduceLogSumExp", "LayerNormalization",
    "BatchNormalization", "Conv", "MatMul", "Gemm", "MaxPool", "AveragePool", "Resize", "Clip", "Max", "Min",
    "QuantizeLinear", "DequantizeLinear", "IsNaN", "IsInf",
];
const PER_OP: usize = 3;

fn selected(manifest: &ConformanceManifest) -> Vec<&Case> {
    let mut per_op: BTreeMap<&str, usize> = BTreeMap::new();
    manifest
        .cases
        .iter()
        .filter(|c| c.unsupported.is_none() && OPS.contains(&c.op.as_str()))
        .filter(|c| {
            let n = per_op.entry(&c.op).or_default();
            *n += 1;
            *n <= PER_OP
        })
        .collect()
}

/// Compiles each case that onnxc supports into `dir`; returns the objects.
fn compile_all(cache: &Path, cases: &[&Case], target: &onnxc_kernel::Target, b: onnxc::Backend, dir: &Path) -> Vec<PathBuf> {
    let mut objs = Vec::new();
    for case in cases {
        let mut opts = onnxc::CompileOptions {
            name: case.name.clone(),
            target: target.clone(),
            backend: b,
            ..Default::default()
        };
        onnxc_tests::suite::boundary_options(&case.inputs, &mut opts);
        // Unsupported ops (and compiler panics) are the conformance suite's
        // business, not this test's.
        let model = cache.join(&case.name).join("model.onnx");
        let compiled = std::panic::catch_unwind(|| onnxc::compile_file(&model, &opts));
        let Ok(Ok(art)) = compiled else { continue };
        let obj = dir.join(format!("{}.o", case.name));
        std::fs::write(&obj, &art.object).unwrap();
        objs.push(obj);
    }
    objs
}

/// `nm -u` over `objs`: object path -> undefined symbols. With several
/// files nm prints a `path:` line before each one's symbols.
fn nm_undefined(objs: &[PathBuf]) -> BTreeMap<PathBuf, Vec<String>> {
    let nm = std::env::var("NM").unwrap_or_else(|_| "nm".into());
    let out = Command::new(&nm).arg("-u").args(objs).output().unwrap_or_else(|e| panic!("cannot run {nm}: {e}"));
    assert!(out.status.success(), "nm -u failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut map: BTreeMap<PathBuf, Vec<String>> = objs.iter().map(|o| (o.clone(), vec![])).collect();
    let mut current: Option<PathBuf> = None;
    for line in String::from_utf8_lossy(&out.stdout).lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(path) = line.strip_suffix(':').map(PathBuf::from).filter(|p| map.contains_key(p)) {
            current = Some(path);
        } else if let Some(sym) = line.split_whitespace().last() {
            let obj = current.clone().unwrap_or_else(|| objs[0].clone());
            map.get_mut(&obj).unwrap().push(sym.to_string());
        }
    }
    for syms in map.values_mut() {
        syms.sort();
        syms.dedup();
    }
    map
}

#[test]
fn objects_reference_only_memcpy_and_memset() {
    let cache = suite::cache_dir("conformance");
    match suite::ensure("gen_conformance.py", &cache) {
        Ok(true) => {}
        Ok(false) => return println!("undefined symbols: conformance cache missing, 0 objects checked"),
        Err(e) => panic!("{e}"),
    }
    let manifest: ConformanceManifest = suite::read_json(&cache.join("manifest.json")).unwrap();
    let cases = selected(&manifest);
    let backends = cross::backends_from_env().unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap();
    let mut bad = Vec::new();
    for &b in &backends {
        for arch in cross::ARCHES {
            let target = cross::cell_target(arch, b);
            let dir = tmp.path().join(format!("{}_{}", backend_name(b), arch_name(arch)));
            std::fs::create_dir_all(&dir).unwrap();
            let objs = compile_all(&cache, &cases, &target, b, &dir);
            assert!(objs.len() >= 20, "{}/{}: only {} objects compiled", backend_name(b), arch_name(arch), objs.len());
            let mut seen = std::collections::BTreeSet::new();
            for (obj, syms) in nm_undefined(&objs) {
                let name = obj.file_stem().unwrap().to_string_lossy().into_owned();
                let ours = elf::undefined_symbols(&std::fs::read(&obj).unwrap()).unwrap();
                assert_eq!(ours, syms, "{name}: the ELF reader disagrees with nm -u");
                for s in syms {
                    if !ALLOWED_UNDEFINED.contains(&s.as_str()) {
                        bad.push(format!("{}/{} {name}: {s}", backend_name(b), arch_name(arch)));
                    }
                    seen.insert(s);
                }
            }
            println!(
                "{}/{} ({}{}): {} objects, nm -u: {:?}",
                backend_name(b),
                arch_name(arch),
                target,
                target.features.join(","),
                objs.len(),
                seen
            );
        }
    }
    assert!(bad.is_empty(), "undefined symbols other than memcpy/memmove/memset:\n  {}", bad.join("\n  "));
}

/// The check itself catches a libm call: a C object calling `expf`.
#[test]
fn a_libm_call_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (src, obj) = (dir.path().join("f.c"), dir.path().join("f.o"));
    std::fs::write(&src, "float expf(float);\nfloat f(float x) { return expf(x) * 2.0f; }\n").unwrap();
    let cc = onnxc_tests::native::cc();
    let st = Command::new(&cc).args(["-c", "-O1", "-fno-builtin", "-o"]).arg(&obj).arg(&src).status().unwrap();
    assert!(st.success(), "{cc} -c f.c failed");
    let nm = nm_undefined(std::slice::from_ref(&obj));
    assert_eq!(nm[&obj], vec!["expf".to_string()]);
    let bytes = std::fs::read(&obj).unwrap();
    assert_eq!(elf::undefined_symbols(&bytes).unwrap(), nm[&obj]);
    assert!(elf::check_undefined(&bytes).unwrap_err().contains("expf"));
}
