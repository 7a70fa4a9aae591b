//! Shared test helpers: KIR construction shorthands, and compiling a
//! Program for the host, linking it into a shared library and calling it.
#![allow(dead_code)]

use bytes::Bytes;
use onnxc_ir::DType;
use onnxc_kernel::kir::{
    BinOp, CmpOp, Const, Expr, Kernel, LocalId, Param, ParamId, Scalar, Stmt, UnOp,
};
use onnxc_kernel::{IoTensor, Program, Step, Target};
use std::ffi::c_void;
use std::path::Path;
use std::process::Command;

// ---- KIR shorthands -------------------------------------------------------

pub fn local(i: u32) -> Expr {
    Expr::Local(LocalId(i))
}
pub fn ci(v: i64) -> Expr {
    Expr::Const(Const::i64(v))
}
pub fn cf32(v: f32) -> Expr {
    Expr::Const(Const::f32(v))
}
pub fn load(buf: u32, index: Expr) -> Expr {
    Expr::Load {
        buf: ParamId(buf),
        index: Box::new(index),
    }
}
pub fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    Expr::Bin(op, Box::new(a), Box::new(b))
}
pub fn un(op: UnOp, a: Expr) -> Expr {
    Expr::Un(op, Box::new(a))
}
pub fn cmp(op: CmpOp, a: Expr, b: Expr) -> Expr {
    Expr::Cmp(op, Box::new(a), Box::new(b))
}
pub fn cast(to: Scalar, a: Expr) -> Expr {
    Expr::Cast(to, Box::new(a))
}
pub fn store(buf: u32, index: Expr, value: Expr) -> Stmt {
    Stmt::Store {
        buf: ParamId(buf),
        index,
        value,
    }
}
pub fn assign(l: u32, value: Expr) -> Stmt {
    Stmt::Assign {
        local: LocalId(l),
        value,
    }
}
pub fn for_(var: u32, start: Expr, end: Expr, step: i64, body: Vec<Stmt>) -> Stmt {
    Stmt::For {
        var: LocalId(var),
        start,
        end,
        step,
        parallel: false,
        body,
    }
}

/// `params` are (element type, writable).
pub fn kernel(name: &str, params: &[(Scalar, bool)], locals: &[Scalar], body: Vec<Stmt>) -> Kernel {
    Kernel {
        name: name.to_string(),
        params: params
            .iter()
            .map(|&(elem, writable)| Param { elem, writable })
            .collect(),
        locals: locals.to_vec(),
        body,
        contract: false,
    }
}

/// `for i in 0..n { out[i] = f(i) }` over params (ins..., out); local 0 is `i`.
pub fn map_kernel(name: &str, ins: &[Scalar], out: Scalar, n: usize, f: Expr) -> Kernel {
    let mut params: Vec<_> = ins.iter().map(|&s| (s, false)).collect();
    params.push((out, true));
    let out_buf = ins.len() as u32;
    kernel(
        name,
        &params,
        &[Scalar::I64],
        vec![for_(
            0,
            ci(0),
            ci(n as i64),
            1,
            vec![store(out_buf, local(0), f)],
        )],
    )
}

pub fn dtype(s: Scalar) -> DType {
    match s {
        Scalar::Bool => DType::Bool,
        Scalar::I8 => DType::I8,
        Scalar::I16 => DType::I16,
        Scalar::I32 => DType::I32,
        Scalar::I64 => DType::I64,
        Scalar::U8 => DType::U8,
        Scalar::U16 => DType::U16,
        Scalar::U32 => DType::U32,
        Scalar::U64 => DType::U64,
        Scalar::F32 => DType::F32,
        Scalar::F64 => DType::F64,
    }
}

pub fn io(name: &str, s: Scalar, n: usize) -> IoTensor {
    IoTensor::fixed(name, dtype(s), vec![n])
}

pub fn program(
    name: &str,
    inputs: Vec<IoTensor>,
    outputs: Vec<IoTensor>,
    kernels: Vec<Kernel>,
    steps: Vec<Step>,
) -> Program {
    Program {
        name: name.to_string(),
        inputs,
        outputs,
        consts: Vec::<Bytes>::new(),
        workspace_size: 0,
        kernels,
        steps,
    }
}

// ---- bytes <-> values -----------------------------------------------------

pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
pub fn to_f32(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}
/// Elements of `ty` as zero-extended bit patterns.
pub fn elems(ty: Scalar, b: &[u8]) -> Vec<u64> {
    b.chunks_exact(ty.size())
        .map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect()
}
/// Bit patterns (truncated to the width of `ty`) as bytes.
pub fn elem_bytes(ty: Scalar, v: &[u64]) -> Vec<u8> {
    v.iter()
        .flat_map(|x| x.to_le_bytes()[..ty.size()].to_vec())
        .collect()
}

// ---- compile, link, load, run ---------------------------------------------

/// Undefined symbols of an object, read with the `object` crate.
pub fn undefined_symbols(obj: &[u8]) -> Vec<String> {
    use cranelift_object::object::{Object, ObjectSymbol};
    let file = cranelift_object::object::File::parse(obj).expect("parse object");
    file.symbols()
        .filter(|s| s.is_undefined() && !s.name().unwrap_or("").is_empty())
        .map(|s| s.name().unwrap().to_string())
        .collect()
}

/// `nm -u` on an object, or None when nm is unavailable or cannot read it.
pub fn nm_undefined(obj: &[u8], dir: &Path) -> Option<Vec<String>> {
    let path = dir.join("nm.o");
    std::fs::write(&path, obj).ok()?;
    let out = Command::new("nm").arg("-u").arg(&path).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .filter_map(|l| l.split_whitespace().last())
            .map(str::to_string)
            .collect(),
    )
}

type RunFn = unsafe extern "C" fn(
    *const *const c_void,
    *const *mut c_void,
    *mut c_void,
    *const c_void,
) -> i32;
type WsFn = unsafe extern "C" fn() -> usize;

pub struct Lib {
    lib: libloading::Library,
    name: String,
    _dir: tempfile::TempDir,
}

impl Lib {
    /// Compiles `p` for the host, links it with `cc -shared` and loads it.
    pub fn build(p: &Program) -> Lib {
        let obj = onnxc_cranelift::compile(p, &Target::host()).expect("compile");
        Lib::link(&obj, &p.name)
    }

    pub fn link(obj: &[u8], name: &str) -> Lib {
        let dir = tempfile::tempdir().unwrap();
        let o = dir.path().join("model.o");
        let so = dir.path().join("libmodel.so");
        std::fs::write(&o, obj).unwrap();
        let out = Command::new("cc")
            .arg("-shared")
            .arg("-o")
            .arg(&so)
            .arg(&o)
            .output()
            .expect("run cc");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "cc -shared failed: {stderr}");
        // Text relocations would make the library unloadable under strict
        // W^X policies: the object must be fully position independent.
        assert!(
            !stderr.contains("TEXTREL") && !stderr.contains("read-only section"),
            "{stderr}"
        );
        let lib = unsafe { libloading::Library::new(&so) }.expect("dlopen");
        Lib {
            lib,
            name: name.to_string(),
            _dir: dir,
        }
    }

    pub fn workspace_size(&self) -> usize {
        let f: libloading::Symbol<WsFn> = unsafe {
            self.lib
                .get(format!("{}_workspace_size", self.name).as_bytes())
        }
        .unwrap();
        unsafe { f() }
    }

    /// Runs with the given input bytes; returns outputs of the given sizes.
    pub fn run(&self, inputs: &[&[u8]], out_sizes: &[usize]) -> Vec<Vec<u8>> {
        let f: libloading::Symbol<RunFn> =
            unsafe { self.lib.get(format!("{}_run", self.name).as_bytes()) }.unwrap();
        // u64-backed buffers so every element is naturally aligned.
        let ins: Vec<Vec<u64>> = inputs.iter().map(|b| aligned(b, b.len())).collect();
        let mut outs: Vec<Vec<u64>> = out_sizes.iter().map(|&n| aligned(&[], n)).collect();
        let mut ws = aligned(&[], self.workspace_size() + 64);
        let ws_ptr = {
            let p = ws.as_mut_ptr() as usize;
            (p.next_multiple_of(64)) as *mut c_void
        };
        let in_ptrs: Vec<*const c_void> = ins.iter().map(|v| v.as_ptr() as *const c_void).collect();
        let out_ptrs: Vec<*mut c_void> = outs
            .iter_mut()
            .map(|v| v.as_mut_ptr() as *mut c_void)
            .collect();
        let rc = unsafe {
            f(
                in_ptrs.as_ptr(),
                out_ptrs.as_ptr(),
                ws_ptr,
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0);
        outs.iter()
            .zip(out_sizes)
            .map(|(v, &n)| bytes_of(v)[..n].to_vec())
            .collect()
    }
}

fn aligned(init: &[u8], n: usize) -> Vec<u64> {
    let mut v = vec![0u64; n.div_ceil(8) + 1];
    let bytes = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, v.len() * 8) };
    bytes[..init.len()].copy_from_slice(init);
    v
}

fn bytes_of(v: &[u64]) -> &[u8] {
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 8) }
}
