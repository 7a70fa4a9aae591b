//! The checked call into `<p>_run` that generated Rust modules build on.

use crate::{Error, PoolAbi, RunFn, WorkspaceMut, WorkspaceSizeFn};
use core::ffi::c_void;

/// The entry points and buffer sizes of one compiled model. Generated Rust
/// modules define one as a constant; a hand-written binding can too.
///
/// ```
/// use core::ffi::c_void;
/// unsafe extern "C" fn ws() -> usize { 0 }
/// unsafe extern "C" fn run(i: *const *const c_void, o: *const *mut c_void, _: *mut c_void, _: *const c_void) -> i32 {
///     // A model that copies one f32 through.
///     unsafe { *(*o as *mut f32) = *(*i as *const f32) * 2.0 };
///     0
/// }
/// const DOUBLER: onnxc_runtime::Model = onnxc_runtime::Model {
///     name: "doubler", run, workspace_size: ws, input_bytes: &[4], output_bytes: &[4],
/// };
/// let (x, mut y) = (21.0f32, 0.0f32);
/// let mut ws = onnxc_runtime::StaticWorkspace::<1>::new();
/// // SAFETY: the pointers are to buffers of the sizes DOUBLER declares.
/// unsafe {
///     onnxc_runtime::call(&DOUBLER, &[&x as *const f32 as *const c_void], &[&mut y as *mut f32 as *mut c_void],
///                         ws.as_mut(), None).unwrap();
/// }
/// assert_eq!(y, 42.0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Model {
    /// Symbol prefix (for error messages).
    pub name: &'static str,
    /// `<p>_run`.
    pub run: RunFn,
    /// `<p>_workspace_size`.
    pub workspace_size: WorkspaceSizeFn,
    /// Bytes of every input, in graph order.
    pub input_bytes: &'static [usize],
    /// Bytes of every output, in graph order.
    pub output_bytes: &'static [usize],
}

/// Calls `model.run` after checking the number of buffers and the size and
/// alignment of the workspace. `pool` is passed through (NULL when `None`).
///
/// # Safety
/// `model` must describe the real entry points of an onnxc object, and
/// `inputs[i]` / `outputs[i]` must point to readable / writable buffers of
/// `input_bytes[i]` / `output_bytes[i]` bytes, aligned for their element
/// type, with outputs not overlapping anything else. Generated modules
/// guarantee this through their array types; see the example on [`Model`].
pub unsafe fn call(
    model: &Model,
    inputs: &[*const c_void],
    outputs: &[*mut c_void],
    mut workspace: WorkspaceMut<'_>,
    pool: Option<&PoolAbi>,
) -> Result<(), Error> {
    if inputs.len() != model.input_bytes.len() {
        return Err(Error::Arity { what: "inputs", expected: model.input_bytes.len(), got: inputs.len() });
    }
    if outputs.len() != model.output_bytes.len() {
        return Err(Error::Arity { what: "outputs", expected: model.output_bytes.len(), got: outputs.len() });
    }
    // SAFETY: the caller promises this is the model's workspace-size function.
    let needed = unsafe { (model.workspace_size)() };
    if workspace.len() < needed {
        return Err(Error::WorkspaceTooSmall { needed, got: workspace.len() });
    }
    let pool = pool.map_or(core::ptr::null(), |p| p as *const PoolAbi as *const c_void);
    // SAFETY: buffer sizes are the caller's promise; the workspace was checked above.
    let code = unsafe { (model.run)(inputs.as_ptr(), outputs.as_ptr(), workspace.as_mut_ptr().cast(), pool) };
    if code != 0 {
        return Err(Error::Failed { model: model.name, code });
    }
    Ok(())
}
