//! The light models (scripts/gen_light_models.py → .cache/light): the cache,
//! compiling one for a target, and checking its output. Shared by
//! `tests/light_models.rs` (host) and `tests/light_cross.rs` (qemu).

use crate::compare::argmax;
use crate::suite::{self, LightManifest, LightModel};
use onnxc_ir::Tensor;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

/// The cache, generated once per test process (tests run on threads).
/// `None` when it is missing and ONNXC_ALLOW_MISSING_SUITE=1.
pub fn manifest() -> Option<&'static (PathBuf, LightManifest)> {
    static M: OnceLock<Option<(PathBuf, LightManifest)>> = OnceLock::new();
    M.get_or_init(|| {
        let dir = suite::cache_dir("light");
        match suite::ensure("gen_light_models.py", &dir) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => panic!("light models: {e}"),
        }
        let m: LightManifest = suite::read_json(&dir.join("manifest.json")).unwrap();
        Some((dir, m))
    })
    .as_ref()
}

/// The manifest entry of `name` (`squeezenet`, ...).
pub fn model<'a>(manifest: &'a LightManifest, name: &str) -> &'a LightModel {
    manifest.models.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("{name} not in the light manifest"))
}

/// A compile and how long it took.
pub struct Compiled {
    pub art: onnxc::Artifacts,
    pub seconds: f64,
}

/// Compiles `model` with symbol prefix `prefix`, the input's shape bound.
pub fn compile(
    model: &Path,
    prefix: &str,
    input_name: &str,
    input: &Tensor,
    target: onnxc_kernel::Target,
    backend: onnxc::Backend,
) -> Result<Compiled, String> {
    let opts = onnxc::CompileOptions {
        name: prefix.into(),
        input_shapes: HashMap::from([(input_name.to_string(), input.shape().to_vec())]),
        target,
        backend,
        ..Default::default()
    };
    let t0 = Instant::now();
    let art = onnxc::compile_file(model, &opts).map_err(|e| format!("compile: {e}"))?;
    Ok(Compiled { art, seconds: t0.elapsed().as_secs_f64() })
}

/// Compares the single output with the expected one (rtol/atol of the
/// manifest) and, for the random-weight variant, the top-1 class.
pub fn check(actual: &[Tensor], expected: &Tensor, m: &LightModel, top1: bool) -> Result<(), String> {
    let [out] = actual else { return Err(format!("{} outputs, expected 1", actual.len())) };
    // The shipped outputs keep the model's declared shape; compare flat
    // values when only the shape's spelling differs ([1,1000] vs [1,1000,1,1]).
    let out = if out.shape() != expected.shape() && out.numel() == expected.numel() {
        out.reshaped(expected.shape().to_vec())
    } else {
        out.clone()
    };
    crate::compare(&out, expected, m.rtol, m.atol).map_err(|e| e.to_string())?;
    if top1 && argmax(&out) != argmax(expected) {
        return Err(format!("top-1 class {:?}, onnxruntime says {:?}", argmax(&out), argmax(expected)));
    }
    Ok(())
}
