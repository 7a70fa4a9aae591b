//! Running a compiled model on this machine: the object is linked into a
//! shared library with the system C compiler and called through the C ABI,
//! exactly as a user's program would call it.

use crate::{Artifacts, Error};
use onnxc_ir::Tensor;
use std::path::Path;
use std::process::Command;

type RunFn = unsafe extern "C" fn(*const *const u8, *const *mut u8, *mut u8, *const u8) -> i32;
type SizeFn = unsafe extern "C" fn() -> usize;

/// A compiled model loaded into this process.
pub struct LoadedModel {
    // Keeps the temp dir (and the .so in it) alive as long as the library.
    _dir: tempfile::TempDir,
    lib: libloading::Library,
    name: String,
    inputs: Vec<onnxc_kernel::IoTensor>,
    outputs: Vec<onnxc_kernel::IoTensor>,
}

/// Links `object` into a shared library with `cc` (the system C compiler).
pub fn link_shared(object: &[u8], dir: &Path) -> Result<std::path::PathBuf, Error> {
    let obj = dir.join("model.o");
    std::fs::write(&obj, object).map_err(|e| Error::io(&obj, e))?;
    let so = dir.join("libmodel.so");
    let out = Command::new("cc")
        .arg("-shared")
        .arg("-o")
        .arg(&so)
        .arg(&obj)
        .output()
        .map_err(|e| Error::Run(format!("cannot run the C compiler `cc` to link the model: {e}")))?;
    if !out.status.success() {
        return Err(Error::Run(format!("linking failed: {}", String::from_utf8_lossy(&out.stderr))));
    }
    Ok(so)
}

impl LoadedModel {
    pub fn load(art: &Artifacts) -> Result<LoadedModel, Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let so = link_shared(&art.object, dir.path())?;
        // SAFETY: the library is our own generated code; loading runs no initializers.
        let lib = unsafe { libloading::Library::new(&so) }.map_err(|e| Error::Run(e.to_string()))?;
        Ok(LoadedModel {
            _dir: dir,
            lib,
            name: art.program.name.clone(),
            inputs: art.program.inputs.clone(),
            outputs: art.program.outputs.clone(),
        })
    }

    /// Runs the model on the calling thread (NULL pool); input tensors must
    /// match the model's input types.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, Error> {
        self.run_with_pool(inputs, None)
    }

    /// Like [`run`](Self::run), passing `pool` as `<p>_run`'s pool, so
    /// parallel loops (LLVM backend) are split across its threads.
    pub fn run_with_pool(&self, inputs: &[Tensor], pool: Option<&onnxc_runtime::Pool>) -> Result<Vec<Tensor>, Error> {
        if inputs.len() != self.inputs.len() {
            return Err(Error::Run(format!("model has {} inputs, {} given", self.inputs.len(), inputs.len())));
        }
        for (t, want) in inputs.iter().zip(&self.inputs) {
            if t.dtype() != want.dtype || t.shape() != want.shape.as_slice() {
                return Err(Error::Run(format!(
                    "input `{}` expects {}{:?}, got {}{:?}",
                    want.name,
                    want.dtype,
                    want.shape,
                    t.dtype(),
                    t.shape()
                )));
            }
        }
        // SAFETY: symbol types follow the documented C ABI of generated objects.
        let (run, size) = unsafe {
            let run: libloading::Symbol<RunFn> =
                self.lib.get(format!("{}_run", self.name).as_bytes()).map_err(|e| Error::Run(e.to_string()))?;
            let size: libloading::Symbol<SizeFn> = self
                .lib
                .get(format!("{}_workspace_size", self.name).as_bytes())
                .map_err(|e| Error::Run(e.to_string()))?;
            (*run, *size)
        };
        let ws_bytes = unsafe { size() };
        let mut ws = AlignedBuf::new(ws_bytes);
        let mut outs: Vec<AlignedBuf> = self.outputs.iter().map(|o| AlignedBuf::new(o.byte_size())).collect();
        let mut ins: Vec<AlignedBuf> = inputs.iter().map(|t| AlignedBuf::from_bytes(t.bytes())).collect();
        let in_ptrs: Vec<*const u8> = ins.iter_mut().map(|b| b.ptr() as *const u8).collect();
        let out_ptrs: Vec<*mut u8> = outs.iter_mut().map(|b| b.ptr()).collect();
        // SAFETY: every buffer has the size the header promises and 64-byte alignment.
        let pool = pool.map_or(std::ptr::null(), |p| p.abi() as *const onnxc_runtime::PoolAbi as *const u8);
        let rc = unsafe { run(in_ptrs.as_ptr(), out_ptrs.as_ptr(), ws.ptr(), pool) };
        if rc != 0 {
            return Err(Error::Run(format!("{}_run returned {rc}", self.name)));
        }
        // Data-dependent outputs: the actual dims are in the workspace, the
        // data dense at the start of the bound-sized buffer.
        let ws_view = ws.bytes(ws_bytes);
        self.outputs
            .iter()
            .zip(&outs)
            .map(|(o, b)| {
                let ty = onnxc_ir::TensorType::new(o.dtype, o.actual_shape(ws_view));
                let n = ty.byte_size().unwrap_or(0);
                Tensor::from_bytes(ty, bytes::Bytes::copy_from_slice(b.bytes(n))).map_err(Error::from)
            })
            .collect()
    }
}

/// One cache line; a Vec of these is 64-byte aligned.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u8; 64]);

/// A zeroed 64-byte aligned buffer (the ABI's alignment for every buffer).
struct AlignedBuf {
    lines: Vec<Line>,
}

impl AlignedBuf {
    fn new(bytes: usize) -> AlignedBuf {
        AlignedBuf { lines: vec![Line([0; 64]); bytes.div_ceil(64).max(1)] }
    }
    fn from_bytes(b: &[u8]) -> AlignedBuf {
        let mut buf = AlignedBuf::new(b.len());
        buf.bytes_mut(b.len()).copy_from_slice(b);
        buf
    }
    fn ptr(&mut self) -> *mut u8 {
        self.lines.as_mut_ptr() as *mut u8
    }
    fn bytes(&self, n: usize) -> &[u8] {
        assert!(n <= self.lines.len() * 64);
        // SAFETY: the buffer holds at least n initialized bytes.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr() as *const u8, n) }
    }
    fn bytes_mut(&mut self, n: usize) -> &mut [u8] {
        assert!(n <= self.lines.len() * 64);
        // SAFETY: as above, and we hold the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr() as *mut u8, n) }
    }
}
