//! Running compiled models natively, the two ways a user would: loaded into
//! this process as a shared library (`run_compiled`), or linked with the
//! generic C driver `tests/c/run_model.c` through the generated header
//! (`build_driver` + `run_driver`).

use onnxc_ir::{Tensor, TensorType};
use onnxc_kernel::IoTensor;
use std::path::{Path, PathBuf};
use crate::cross::{output_with_timeout, Platform};
use std::time::{Duration, Instant};

/// The C compiler (`$CC`, else `cc`).
pub fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// Links the artifacts' object into a temporary shared library, calls
/// `<name>_run` through the C ABI with 64-byte aligned buffers, and returns
/// the outputs. The library is unloaded before returning.
pub fn run_compiled(art: &onnxc::Artifacts, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
    let model = onnxc::host::LoadedModel::load(art).map_err(|e| e.to_string())?;
    model.run(inputs).map_err(|e| e.to_string())
}

/// `tests/c/run_model.c`.
pub fn driver_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("c").join("run_model.c")
}

/// Compiles the generic driver against `header` and links it with `objects`
/// into `exe` for the host (see `cross::Platform::build_driver`).
pub fn build_driver(prefix: &str, header: &Path, objects: &[&Path], exe: &Path) -> Result<(), String> {
    Platform::host().build_driver(prefix, header, objects, exe)
}

/// What one driver run produced.
pub struct DriverRun {
    pub outputs: Vec<Tensor>,
    /// Mean milliseconds per `<p>_run` call, as the driver measured it.
    pub run_ms: f64,
    /// Wall time of the whole process (I/O included).
    pub wall_ms: f64,
}

/// Writes each input as a raw file in `dir`, runs the driver `repeat` times
/// over them on the host and reads the outputs (described by `outputs`) back.
pub fn run_driver(
    exe: &Path,
    inputs: &[Tensor],
    outputs: &[IoTensor],
    dir: &Path,
    repeat: usize,
) -> Result<DriverRun, String> {
    run_driver_on(&Platform::host(), exe, inputs, outputs, dir, repeat, Duration::from_secs(3600))
}

/// `run_driver` on `platform` (under qemu for a cross target), killing the
/// driver after `timeout`.
pub fn run_driver_on(
    platform: &Platform,
    exe: &Path,
    inputs: &[Tensor],
    outputs: &[IoTensor],
    dir: &Path,
    repeat: usize,
    timeout: Duration,
) -> Result<DriverRun, String> {
    let mut cmd = platform.command(exe);
    cmd.arg("-r").arg(repeat.max(1).to_string());
    for (i, t) in inputs.iter().enumerate() {
        let p = dir.join(format!("in_{i}.bin"));
        std::fs::write(&p, t.bytes()).map_err(|e| format!("{}: {e}", p.display()))?;
        cmd.arg(p);
    }
    let out_paths: Vec<PathBuf> = (0..outputs.len()).map(|i| dir.join(format!("out_{i}.bin"))).collect();
    cmd.args(&out_paths);
    let start = Instant::now();
    let out = output_with_timeout(&mut cmd, timeout).map_err(|e| format!("{}: {e}", exe.display()))?;
    let wall_ms = start.elapsed().as_secs_f64() * 1e3;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{} exited with {}: {}", exe.display(), out.status, stderr.trim()));
    }
    let run_ms =
        stderr.lines().find_map(|l| l.strip_prefix("run_ms=")).and_then(|v| v.trim().parse().ok()).unwrap_or(f64::NAN);
    let tensors = outputs
        .iter()
        .zip(&out_paths)
        .enumerate()
        .map(|(i, (o, p))| {
            let data = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let shape = reported_dims(&stderr, i).unwrap_or_else(|| o.shape.clone());
            Tensor::from_bytes(TensorType::new(o.dtype, shape), data.into()).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(DriverRun { outputs: tensors, run_ms, wall_ms })
}

/// The actual dims of output `i` as the driver reported them
/// (`out_dims=<i>:<d0>,<d1>,...`; data-dependent shapes differ from the table).
fn reported_dims(stderr: &str, i: usize) -> Option<Vec<usize>> {
    let prefix = format!("out_dims={i}:");
    let dims = stderr.lines().find_map(|l| l.strip_prefix(&prefix))?.trim();
    if dims.is_empty() {
        return Some(Vec::new());
    }
    dims.split(',').map(|d| d.parse().ok()).collect()
}
