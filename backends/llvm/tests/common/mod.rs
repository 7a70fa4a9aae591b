//! Shared test helpers: hand-built Programs, compiled for the host with
//! onnxc-llvm, linked with `cc -shared` and called through libloading.
#![allow(dead_code)]

pub mod cross;
pub mod programs;

use libloading::Library;
use onnxc_ir::DType;
use onnxc_kernel::kir::{Kernel, Scalar};
use onnxc_kernel::{BufRef, IoTensor, Program, Step, Target};
use onnxc_llvm::{compile, LlvmOptions};
use std::path::Path;
use std::process::Command;

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

/// A program whose steps call each kernel once: kernel `i` gets all inputs
/// followed by output `i`.
pub fn one_output_per_kernel(
    name: &str,
    inputs: Vec<IoTensor>,
    kernels: Vec<(Kernel, IoTensor)>,
) -> Program {
    let n_in = inputs.len();
    let steps = (0..kernels.len())
        .map(|k| Step::Call {
            kernel: k,
            args: (0..n_in)
                .map(BufRef::Input)
                .chain([BufRef::Output(k)])
                .collect(),
        })
        .collect();
    let (kernels, outputs): (Vec<_>, Vec<_>) = kernels.into_iter().unzip();
    Program {
        name: name.into(),
        inputs,
        outputs,
        consts: vec![],
        workspace_size: 0,
        kernels,
        steps,
    }
}

pub struct Compiled {
    // Field order: the library must be unloaded before its directory goes.
    lib: Library,
    _dir: tempfile::TempDir,
    name: String,
}

pub fn link_shared(obj: &[u8], dir: &Path) -> std::path::PathBuf {
    let o = dir.join("model.o");
    let so = dir.join("libmodel.so");
    std::fs::write(&o, obj).unwrap();
    let st = Command::new("cc")
        .arg("-shared")
        .arg("-o")
        .arg(&so)
        .arg(&o)
        .status()
        .expect("cc runs");
    assert!(st.success(), "cc -shared failed");
    so
}

pub fn build(p: &Program, target: &Target) -> Compiled {
    let out = compile(p, target, &LlvmOptions::default())
        .unwrap_or_else(|e| panic!("compile {}: {e}", p.name));
    let dir = tempfile::tempdir().unwrap();
    let so = link_shared(&out.object, dir.path());
    let lib = unsafe { Library::new(&so) }.unwrap();
    Compiled {
        lib,
        _dir: dir,
        name: p.name.clone(),
    }
}

type RunFn = unsafe extern "C" fn(*const *const u8, *const *mut u8, *mut u8, *const u8) -> i32;
type WsFn = unsafe extern "C" fn() -> usize;

impl Compiled {
    pub fn workspace_size(&self) -> usize {
        let f = unsafe {
            self.lib
                .get::<WsFn>(format!("{}_workspace_size", self.name).as_bytes())
        }
        .unwrap();
        unsafe { f() }
    }

    pub fn run(&self, p: &Program, inputs: &[&[u8]]) -> Vec<Vec<u8>> {
        self.run_with_pool(p, inputs, std::ptr::null())
    }

    /// `run` passing `pool` (a `PoolAbi *`, or NULL) to `<p>_run`.
    pub fn run_with_pool(&self, p: &Program, inputs: &[&[u8]], pool: *const u8) -> Vec<Vec<u8>> {
        let f = unsafe {
            self.lib
                .get::<RunFn>(format!("{}_run", self.name).as_bytes())
        }
        .unwrap();
        let mut outs: Vec<Vec<u8>> = p
            .outputs
            .iter()
            .map(|o| vec![0xAB; o.byte_size()])
            .collect();
        let ins: Vec<*const u8> = inputs.iter().map(|b| b.as_ptr()).collect();
        let outp: Vec<*mut u8> = outs.iter_mut().map(|b| b.as_mut_ptr()).collect();
        let layout =
            std::alloc::Layout::from_size_align(self.workspace_size().max(64), 64).unwrap();
        let ws = unsafe { std::alloc::alloc_zeroed(layout) };
        let rc = unsafe { f(ins.as_ptr(), outp.as_ptr(), ws, pool) };
        unsafe { std::alloc::dealloc(ws, layout) };
        assert_eq!(rc, 0);
        outs
    }
}

/// Runs `p` with the KIR interpreter (the reference semantics).
pub fn interpret(p: &Program, inputs: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut outs = vec![Vec::new(); p.outputs.len()];
    onnxc_kernel::interp::run_program(p, inputs, &mut outs)
        .unwrap_or_else(|e| panic!("interp {}: {e}", p.name));
    outs
}

/// Raw little-endian bytes of a value list.
pub fn bytes_of<T: Copy>(v: &[T]) -> Vec<u8> {
    let n = std::mem::size_of_val(v);
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, n) }.to_vec()
}

/// Elements of `bytes` as u64 bit patterns of width `size`.
pub fn elems(bytes: &[u8], size: usize) -> Vec<u64> {
    bytes
        .chunks(size)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect()
}

pub fn is_nan(s: Scalar, bits: u64) -> bool {
    match s {
        Scalar::F32 => f32::from_bits(bits as u32).is_nan(),
        Scalar::F64 => f64::from_bits(bits).is_nan(),
        _ => false,
    }
}

pub fn is_zero(s: Scalar, bits: u64) -> bool {
    match s {
        Scalar::F32 => f32::from_bits(bits as u32) == 0.0,
        Scalar::F64 => f64::from_bits(bits) == 0.0,
        _ => false,
    }
}

/// Interesting bit patterns of type `s` (edge cases first), `n` in all.
pub fn sample(s: Scalar, n: usize) -> Vec<u64> {
    let mut v: Vec<u64> = match s {
        Scalar::F32 => [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            3.7,
            -3.7,
            1e10,
            -1e10,
            8388607.5,
            -8388607.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e-40,
            2147483648.0,
            -2147483904.0,
            3e9,
            1.9e19,
            -1e20,
            255.5,
            256.0,
            -129.0,
            65535.7,
            127.5,
            -128.5,
            4294967296.0,
            0.49999997,
        ]
        .iter()
        .map(|x| x.to_bits() as u64)
        .collect(),
        Scalar::F64 => [
            0.0f64,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            3.7,
            -3.7,
            1e10,
            -1e10,
            4503599627370495.5,
            -4503599627370495.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-310,
            2147483648.0,
            -2147483649.0,
            3e9,
            1.9e19,
            -1e20,
            255.5,
            256.0,
            -129.0,
            65535.7,
            9.3e18,
            -9.3e18,
            1e300,
            0.49999999999999994,
        ]
        .iter()
        .map(|x| x.to_bits())
        .collect(),
        Scalar::Bool => vec![0, 1],
        _ => {
            let w = s.size() * 8;
            let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
            let min = 1u64 << (w - 1);
            [
                0,
                1,
                2,
                3,
                7,
                mask,
                mask - 1,
                min,
                min - 1,
                min + 1,
                100,
                255,
                256,
                65535,
                65536,
                1 << 31,
                31,
                32,
                33,
                63,
                64,
            ]
            .iter()
            .map(|x| x & mask)
            .collect()
        }
    };
    // Deterministic pseudo-random fill (xorshift).
    let mut x = 0x9E3779B97F4A7C15u64 ^ (s.size() as u64);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bits = match s {
            // Random floats of moderate magnitude, so rounding and casts are exercised.
            Scalar::F32 => (((x % 200_001) as f32 - 100_000.0) / 64.0).to_bits() as u64,
            Scalar::F64 => (((x % 2_000_001) as f64 - 1_000_000.0) / 1024.0).to_bits(),
            Scalar::Bool => x & 1,
            _ if s.size() == 8 => x,
            _ => x & ((1u64 << (s.size() * 8)) - 1),
        };
        v.push(bits);
    }
    v.truncate(n);
    v
}

pub fn to_bytes(s: Scalar, v: &[u64]) -> Vec<u8> {
    v.iter()
        .flat_map(|x| x.to_le_bytes()[..s.size()].to_vec())
        .collect()
}

pub fn host_target() -> Target {
    Target::host()
}

pub fn native_target() -> Target {
    let mut t = Target::host();
    t.cpu = Some("native".into());
    t
}
