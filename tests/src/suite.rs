//! The generated test data: where it lives, how it is (re)generated, and the
//! manifests written by `scripts/gen_conformance.py` and
//! `scripts/gen_light_models.py`.

use onnxc_ir::{DType, Tensor, TensorType};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the folder above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("crate has a parent").to_path_buf()
}

/// `<root>/.cache/<name>`, unless `ONNXC_CACHE_DIR` points elsewhere.
pub fn cache_dir(name: &str) -> PathBuf {
    match std::env::var_os("ONNXC_CACHE_DIR") {
        Some(d) => PathBuf::from(d).join(name),
        None => workspace_root().join(".cache").join(name),
    }
}

/// Runs `scripts/<script> --out <out>` with python3 (the scripts are
/// idempotent, so this is cheap when the cache is already up to date).
pub fn generate(script: &str, out: &Path) -> Result<(), String> {
    let root = workspace_root();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let status = Command::new(&python)
        .arg(root.join("scripts").join(script))
        .arg("--out")
        .arg(out)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "scripts/{script} failed ({status}); run scripts/setup-test-deps.sh to install onnx and onnxruntime"
        ));
    }
    Ok(())
}

/// Whether a missing suite may be skipped (`ONNXC_ALLOW_MISSING_SUITE=1`).
pub fn allow_missing_suite() -> bool {
    std::env::var("ONNXC_ALLOW_MISSING_SUITE").is_ok_and(|v| v == "1")
}

/// Makes sure `<dir>/manifest.json` exists: generates it with `script` if it
/// is missing. `Ok(false)` means it is missing and the caller may skip
/// (ONNXC_ALLOW_MISSING_SUITE=1).
pub fn ensure(script: &str, dir: &Path) -> Result<bool, String> {
    if dir.join("manifest.json").exists() {
        return Ok(true);
    }
    if allow_missing_suite() {
        return Ok(false);
    }
    eprintln!("{} is missing: running scripts/{script}", dir.display());
    generate(script, dir)?;
    Ok(true)
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `manifest.json` of the conformance suite.
#[derive(Clone, Debug, Deserialize)]
pub struct ConformanceManifest {
    pub onnx_version: String,
    pub cases: Vec<Case>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub name: String,
    /// The op the case tests (expanded variants are credited to it).
    pub op: String,
    pub ops: Vec<String>,
    pub opset: Option<i64>,
    pub rtol: f64,
    pub atol: f64,
    pub inputs: Vec<CaseTensor>,
    pub outputs: Vec<CaseTensor>,
    /// Why the case's data is not dense tensors (counts as a failure).
    pub unsupported: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CaseTensor {
    pub name: String,
    /// ONNX TensorProto.DataType code.
    pub dtype: i32,
    pub dtype_name: String,
    pub shape: Option<Vec<usize>>,
    /// `.npy` file in the case folder.
    pub file: Option<String>,
    /// Per-output tolerances (outputs only; bfloat16 widens rtol).
    pub rtol: Option<f64>,
    pub atol: Option<f64>,
    /// "tensor", "sequence" or "optional" (absent before format 4: tensor).
    #[serde(default)]
    pub kind: Option<String>,
    /// Whether an optional value holds something.
    #[serde(default)]
    pub present: Option<bool>,
    /// The elements of a sequence (or of an optional holding one), in
    /// order, named `<name>.<j>` like the compiled ABI's inputs/outputs.
    #[serde(default)]
    pub elements: Option<Vec<CaseTensor>>,
}

impl CaseTensor {
    /// An optional value that is absent: it has no ABI slot.
    pub fn is_absent(&self) -> bool {
        self.kind.as_deref() == Some("optional") && self.present == Some(false)
    }

    /// The tensors this value is in the compiled ABI: itself, a sequence's
    /// elements (none for an empty one), or nothing for an absent optional.
    pub fn abi_tensors(&self) -> Vec<&CaseTensor> {
        match &self.elements {
            _ if self.is_absent() => Vec::new(),
            Some(e) => e.iter().collect(),
            None => vec![self],
        }
    }
}

/// How a case's inputs are compiled: tensor shapes, sequence element shapes
/// and absent optionals, as a user would pass them with `--input-shape`,
/// `--input-seq` and `--absent-input`.
pub fn boundary_options(inputs: &[CaseTensor], opts: &mut onnxc::CompileOptions) {
    for t in inputs {
        if t.is_absent() {
            opts.absent_inputs.insert(t.name.clone());
        } else if let Some(e) = &t.elements {
            let shapes = e.iter().map(|e| e.shape.clone().unwrap_or_default()).collect();
            opts.sequence_inputs.insert(t.name.clone(), shapes);
        } else if let Some(s) = &t.shape {
            opts.input_shapes.insert(t.name.clone(), s.clone());
        }
    }
}

/// `manifest.json` of the light models.
#[derive(Clone, Debug, Deserialize)]
pub struct LightManifest {
    pub models: Vec<LightModel>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct LightModel {
    pub name: String,
    pub model: String,
    pub rand_model: String,
    pub input: LightIo,
    pub output: LightIo,
    pub rtol: f64,
    pub atol: f64,
    pub rand_top1_margin: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct LightIo {
    pub name: String,
    pub dtype: i32,
    pub shape: Vec<usize>,
}

/// Reads an `.npy` file as a tensor of ONNX type `onnx_dtype`. The generator
/// stores bfloat16 as uint16 and the float8/float4/E8M0/4-bit/2-bit types as
/// (u)int8 bytes (numpy has no such dtypes), so the bits are reinterpreted
/// when the manifest says so.
pub fn load_npy(path: &Path, onnx_dtype: i32) -> Result<Tensor, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let t = onnxc::npy::read(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let want =
        DType::from_onnx_code(onnx_dtype).ok_or_else(|| format!("dtype code {onnx_dtype} is not an onnxc dtype"))?;
    if t.dtype() == want {
        return Ok(t);
    }
    let raw_bytes = want.is_small() && matches!(t.dtype(), DType::U8 | DType::I8);
    if !(t.dtype() == DType::U16 && want == DType::BF16) && !raw_bytes {
        return Err(format!("{}: holds {}, manifest says {want}", path.display(), t.dtype()));
    }
    Tensor::from_bytes(TensorType::new(want, t.shape().to_vec()), t.bytes().clone()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format-4 case: a sequence input of two elements, an absent
    /// optional input, a tensor input, and an empty sequence output.
    #[test]
    fn sequences_and_optionals_flatten() {
        let json = r#"{"name": "c", "op": "X", "ops": ["X"], "opset": 18, "rtol": 0.001, "atol": 1e-7,
            "inputs": [
              {"name": "s", "kind": "sequence", "dtype": 1, "dtype_name": "float", "shape": null, "file": null, "length": 2,
               "elements": [{"name": "s.0", "kind": "tensor", "dtype": 1, "dtype_name": "float", "shape": [2], "file": "input_0_0.npy"},
                            {"name": "s.1", "kind": "tensor", "dtype": 1, "dtype_name": "float", "shape": [3], "file": "input_0_1.npy"}]},
              {"name": "o", "kind": "optional", "present": false, "dtype": 1, "dtype_name": "float", "shape": null, "file": null},
              {"name": "t", "dtype": 7, "dtype_name": "int64", "shape": [4], "file": "input_2.npy"}],
            "outputs": [{"name": "y", "kind": "sequence", "dtype": 1, "dtype_name": "float", "shape": null, "file": null,
                         "length": 0, "elements": []}],
            "unsupported": null}"#;
        let case: Case = serde_json::from_str(json).unwrap();
        let ins: Vec<&str> = case.inputs.iter().flat_map(|t| t.abi_tensors()).map(|t| t.name.as_str()).collect();
        assert_eq!(ins, ["s.0", "s.1", "t"]);
        assert!(case.outputs.iter().flat_map(|t| t.abi_tensors()).next().is_none());
        let mut opts = onnxc::CompileOptions::default();
        boundary_options(&case.inputs, &mut opts);
        assert_eq!(opts.sequence_inputs["s"], vec![vec![2], vec![3]]);
        assert!(opts.absent_inputs.contains("o"));
        assert_eq!(opts.input_shapes["t"], vec![4]);
        assert_eq!(opts.input_shapes.len(), 1);
    }
}
