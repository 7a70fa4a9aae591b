//! The scratch memory `<p>_run` needs: [`ALIGN`]-byte aligned and at least
//! `<p>_workspace_size()` bytes. Three owners: a fixed-size
//! [`StaticWorkspace`] (bare metal, `static`), a heap [`Workspace`] (`alloc`),
//! or any aligned byte slice through [`WorkspaceMut::from_slice`].

use crate::{Error, ALIGN};
use core::marker::PhantomData;

/// One 64-byte aligned block; arrays of these are aligned workspaces.
///
/// ```
/// assert_eq!(core::mem::align_of::<onnxc_runtime::Line>(), onnxc_runtime::ALIGN);
/// assert_eq!(onnxc_runtime::Line::count(65), 2);
/// ```
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct Line(pub [u8; ALIGN]);

/// The bytes of `lines` (what a run left there, e.g. data-dependent extents).
pub fn lines_as_bytes(lines: &[Line]) -> &[u8] {
    // SAFETY: `Line` is `repr(C)` around `[u8; ALIGN]` with no padding (size == align == ALIGN).
    unsafe { core::slice::from_raw_parts(lines.as_ptr() as *const u8, lines.len() * ALIGN) }
}

impl Line {
    /// A zeroed line.
    pub const ZERO: Line = Line([0; ALIGN]);

    /// Lines needed to hold `bytes` bytes (at least one, so that even a model
    /// with no workspace gets a valid non-null pointer).
    pub const fn count(bytes: usize) -> usize {
        let n = bytes.div_ceil(ALIGN);
        if n == 0 { 1 } else { n }
    }
}

/// A borrowed workspace: an aligned, writable region of `len` bytes.
///
/// ```
/// use onnxc_runtime::{StaticWorkspace, WorkspaceMut};
/// let mut ws = StaticWorkspace::<2>::new();
/// let view: WorkspaceMut<'_> = ws.as_mut();
/// assert_eq!(view.len(), 128);
/// // An unaligned slice is refused with an error, not undefined behaviour.
/// let mut bytes = [0u8; 130];
/// let start = if bytes.as_ptr() as usize % 64 == 0 { 1 } else { 0 };
/// assert!(WorkspaceMut::from_slice(&mut bytes[start..]).is_err());
/// ```
pub struct WorkspaceMut<'a> {
    ptr: *mut u8,
    len: usize,
    _borrow: PhantomData<&'a mut [u8]>,
}

impl<'a> WorkspaceMut<'a> {
    /// Uses `bytes` as a workspace; fails if it is not [`ALIGN`]-byte aligned.
    pub fn from_slice(bytes: &'a mut [u8]) -> Result<Self, Error> {
        let addr = bytes.as_mut_ptr() as usize;
        if !addr.is_multiple_of(ALIGN) {
            return Err(Error::Misaligned { addr });
        }
        Ok(WorkspaceMut { ptr: bytes.as_mut_ptr(), len: bytes.len(), _borrow: PhantomData })
    }

    /// Uses a slice of lines (always aligned).
    pub fn from_lines(lines: &'a mut [Line]) -> Self {
        WorkspaceMut { ptr: lines.as_mut_ptr().cast(), len: core::mem::size_of_val(lines), _borrow: PhantomData }
    }

    /// Bytes available.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-length workspace.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pointer passed to `<p>_run`.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }
}

/// A workspace of `LINES` × 64 bytes stored inline, for `static` or stack use
/// without an allocator. Size it with [`Line::count`] of the model's
/// `WORKSPACE_SIZE` constant.
///
/// ```
/// use onnxc_runtime::{Line, StaticWorkspace};
/// const WORKSPACE_SIZE: usize = 1000; // from the generated header or module
/// static mut WS: StaticWorkspace<{ Line::count(WORKSPACE_SIZE) }> = StaticWorkspace::new();
/// let ws = StaticWorkspace::<{ Line::count(WORKSPACE_SIZE) }>::new();
/// assert!(ws.len() >= WORKSPACE_SIZE);
/// ```
#[repr(C)]
pub struct StaticWorkspace<const LINES: usize> {
    lines: [Line; LINES],
}

impl<const LINES: usize> StaticWorkspace<LINES> {
    /// A zeroed workspace (usable in `static` initialisers).
    pub const fn new() -> Self {
        StaticWorkspace { lines: [Line::ZERO; LINES] }
    }

    /// Bytes available.
    pub const fn len(&self) -> usize {
        LINES * ALIGN
    }

    /// True if `LINES` is 0.
    pub const fn is_empty(&self) -> bool {
        LINES == 0
    }

    /// Borrows it for one call.
    pub fn as_mut(&mut self) -> WorkspaceMut<'_> {
        WorkspaceMut::from_lines(&mut self.lines)
    }

    /// Its bytes after a run (where `<p>_output_dims` reads actual extents).
    pub fn as_bytes(&self) -> &[u8] {
        lines_as_bytes(&self.lines)
    }
}

impl<const LINES: usize> Default for StaticWorkspace<LINES> {
    fn default() -> Self {
        Self::new()
    }
}

/// A heap workspace (feature `alloc`).
///
/// ```
/// let mut ws = onnxc_runtime::Workspace::new(100);
/// assert!(ws.len() >= 100);
/// assert_eq!(ws.as_mut().as_mut_ptr() as usize % onnxc_runtime::ALIGN, 0);
/// ```
#[cfg(feature = "alloc")]
pub struct Workspace {
    lines: alloc::vec::Vec<Line>,
}

#[cfg(feature = "alloc")]
impl Workspace {
    /// A zeroed workspace of at least `bytes` bytes.
    pub fn new(bytes: usize) -> Self {
        Workspace { lines: alloc::vec![Line::ZERO; Line::count(bytes)] }
    }

    /// Bytes available.
    pub fn len(&self) -> usize {
        self.lines.len() * ALIGN
    }

    /// Never true: a workspace has at least one line.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Borrows it for one call.
    pub fn as_mut(&mut self) -> WorkspaceMut<'_> {
        WorkspaceMut::from_lines(&mut self.lines)
    }

    /// Its bytes after a run (where `<p>_output_dims` reads actual extents).
    pub fn as_bytes(&self) -> &[u8] {
        lines_as_bytes(&self.lines)
    }
}

/// A zeroed `Box<[T; N]>` built on the heap, so that large model outputs
/// never pass through the stack (feature `alloc`).
///
/// ```
/// let probs: Box<[f32; 1000]> = onnxc_runtime::boxed_zeroed();
/// assert!(probs.iter().all(|&p| p == 0.0));
/// ```
#[cfg(feature = "alloc")]
pub fn boxed_zeroed<T: crate::Element, const N: usize>() -> alloc::boxed::Box<[T; N]> {
    let slice = alloc::vec![T::ZERO; N].into_boxed_slice();
    let raw = alloc::boxed::Box::into_raw(slice) as *mut [T; N];
    // SAFETY: the slice has exactly N elements, so it has the layout of [T; N]
    // and was allocated with that layout.
    unsafe { alloc::boxed::Box::from_raw(raw) }
}
