//! From `onnxc_kernel::Target` to an LLVM `TargetMachine`, plus a probe of
//! which float intrinsics the target lowers inline (the others would become
//! libm calls, and generated objects must not need libm).

use crate::error::{LlvmError, Result};
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::memory_buffer::MemoryBuffer;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target as LlvmTarget, TargetMachine,
    TargetMachineOptions, TargetTriple,
};
use inkwell::types::BasicTypeEnum;
use inkwell::OptimizationLevel;
use onnxc_kernel::{Arch, Target};
use std::collections::HashMap;
use std::sync::{Mutex, Once, OnceLock};

/// Only the three CPU families onnxc supports are registered: initialising
/// every LLVM target would cost start-up time for nothing.
fn init_targets() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let cfg = InitializationConfig::default();
        LlvmTarget::initialize_x86(&cfg);
        LlvmTarget::initialize_aarch64(&cfg);
        LlvmTarget::initialize_riscv(&cfg);
    });
}

/// What the target lowers without library calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Caps {
    /// llvm.floor/ceil/trunc/roundeven are inline (x86-64 needs SSE4.1).
    pub native_round: bool,
    /// llvm.minimum/maximum are inline.
    pub native_minmax: bool,
    /// Vector float -> int conversions would use RVV's static round-toward-zero
    /// forms (vfcvt.rtz.*), on which Debian bookworm's qemu-riscv64 7.2 aborts;
    /// `convert.rs` then goes through dynamic-rounding conversions instead.
    pub avoid_vector_rtz: bool,
}

/// Triple, CPU, features and ABI exactly as LLVM wants them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct MachineSpec {
    pub triple: String,
    pub cpu: String,
    pub features: String,
    pub abi: Option<String>,
}

fn host_arch() -> Option<Arch> {
    if cfg!(target_arch = "x86_64") {
        Some(Arch::X86_64)
    } else if cfg!(target_arch = "aarch64") {
        Some(Arch::Aarch64)
    } else if cfg!(target_arch = "riscv64") {
        Some(Arch::Riscv64)
    } else {
        None
    }
}

/// RISC-V ISA letters after `riscv64` (`gc`, `imac`, ...) as LLVM features:
/// LLVM's triple parser knows only `riscv64`, the letters are Rust/GCC style.
fn riscv_letter_features(letters: &str) -> Vec<String> {
    let mut out = Vec::new();
    for c in letters.chars() {
        match c {
            'g' => out.extend(["+m", "+a", "+f", "+d", "+zicsr", "+zifencei"].map(String::from)),
            'm' | 'a' | 'f' | 'd' | 'c' | 'v' => out.push(format!("+{c}")),
            _ => {}
        }
    }
    out
}

/// Whether the last mention of `feat` in a feature list enables it.
fn feature_enabled(features: &[String], feat: &str) -> bool {
    let mut on = false;
    for f in features.iter().flat_map(|f| f.split(',')) {
        if f.strip_prefix('+') == Some(feat) {
            on = true;
        } else if f.strip_prefix('-') == Some(feat) {
            on = false;
        }
    }
    on
}

pub(crate) fn spec(t: &Target) -> Result<MachineSpec> {
    let mut parts: Vec<String> = t.triple.split('-').map(str::to_string).collect();
    let arch = parts.first().cloned().unwrap_or_default();
    let mut features: Vec<String> = Vec::new();
    if let Some(letters) = arch.strip_prefix("riscv64") {
        parts[0] = "riscv64".into();
        let linux = parts.iter().any(|p| p == "linux");
        // A bare `riscv64` Linux triple still means RV64GC: that is the Linux ABI baseline.
        features = riscv_letter_features(if letters.is_empty() && linux {
            "gc"
        } else {
            letters
        });
    } else if arch == "arm64" {
        parts[0] = "aarch64".into();
    }
    let triple = parts.join("-");
    let mut cpu = t.cpu.clone().unwrap_or_default();
    if cpu == "native" {
        if host_arch() != Some(t.arch) {
            return Err(LlvmError::Target(format!(
                "--cpu native needs a host target, not {}",
                t.triple
            )));
        }
        cpu = TargetMachine::get_host_cpu_name().to_string();
        features.push(TargetMachine::get_host_cpu_features().to_string());
    }
    features.extend(t.features.iter().filter(|f| !f.is_empty()).cloned());
    let abi = (t.arch == Arch::Riscv64).then(|| {
        // lp64d whenever doubles are in hardware: gcc's riscv64 Linux objects
        // are lp64d and the linker refuses to mix float ABIs.
        if feature_enabled(&features, "d") {
            "lp64d"
        } else {
            "lp64"
        }
        .to_string()
    });
    Ok(MachineSpec {
        triple,
        cpu,
        features: features.join(","),
        abi,
    })
}

pub(crate) fn target_machine(s: &MachineSpec) -> Result<TargetMachine> {
    init_targets();
    let triple = TargetTriple::create(&s.triple);
    let target = LlvmTarget::from_triple(&triple)
        .map_err(|e| LlvmError::Target(format!("{}: {e}", s.triple)))?;
    let mut opts = TargetMachineOptions::new()
        .set_cpu(&s.cpu)
        .set_features(&s.features)
        .set_level(OptimizationLevel::Aggressive)
        .set_reloc_mode(RelocMode::PIC)
        .set_code_model(CodeModel::Default);
    if let Some(abi) = &s.abi {
        opts = opts.set_abi(abi);
    }
    target
        .create_target_machine_from_options(&triple, opts)
        .ok_or_else(|| {
            LlvmError::Target(format!(
                "LLVM cannot create a machine for {} (cpu `{}`)",
                s.triple, s.cpu
            ))
        })
}

/// Compiles one tiny function per intrinsic and looks for libm symbols in the
/// object: cheaper and more exact than tables of which CPU has which instruction.
/// `probe_caps`, computed once per machine spec per process: the conformance
/// harness compiles hundreds of small programs for the same target.
pub(crate) fn caps(spec: &MachineSpec, tm: &TargetMachine) -> Result<Caps> {
    static CACHE: OnceLock<Mutex<HashMap<MachineSpec, Caps>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
    if let Some(c) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(spec) {
        return Ok(*c);
    }
    let c = probe_caps(tm)?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(spec.clone(), c);
    Ok(c)
}

fn probe_caps(tm: &TargetMachine) -> Result<Caps> {
    let round = ["llvm.floor", "llvm.ceil", "llvm.trunc", "llvm.roundeven"];
    let minmax = ["llvm.minimum", "llvm.maximum"];
    let riscv = tm
        .get_triple()
        .as_str()
        .to_string_lossy()
        .starts_with("riscv");
    Ok(Caps {
        native_round: probe(tm, &round)?,
        native_minmax: probe(tm, &minmax)?,
        avoid_vector_rtz: riscv && vector_fptosi_uses_rtz(tm)?,
    })
}

/// Whether `fptosi <4 x float>` compiles to an RVV `.rtz` conversion.
fn vector_fptosi_uses_rtz(tm: &TargetMachine) -> Result<bool> {
    let ctx = Context::create();
    let module = ctx.create_module("onnxc_probe");
    module.set_triple(&tm.get_triple());
    module.set_data_layout(&tm.get_target_data().get_data_layout());
    let builder = ctx.create_builder();
    let ptr = ctx.ptr_type(inkwell::AddressSpace::default());
    let f = module.add_function(
        "onnxc_probe_cvt",
        ctx.void_type().fn_type(&[ptr.into(), ptr.into()], false),
        None,
    );
    builder.position_at_end(ctx.append_basic_block(f, "entry"));
    let (src, dst) = match (f.get_nth_param(0), f.get_nth_param(1)) {
        (Some(a), Some(b)) => (a.into_pointer_value(), b.into_pointer_value()),
        _ => return Err(LlvmError::Target("probe function lost its params".into())),
    };
    let v = builder
        .build_load(ctx.f32_type().vec_type(4), src, "")?
        .into_vector_value();
    let i = builder.build_float_to_signed_int(v, ctx.i32_type().vec_type(4), "")?;
    builder.build_store(dst, i)?;
    builder.build_return(None)?;
    let asm = tm
        .write_to_memory_buffer(&module, FileType::Assembly)
        .map_err(|e| LlvmError::Emit(e.to_string()))?;
    Ok(String::from_utf8_lossy(asm.as_slice()).contains(".rtz."))
}

fn probe(tm: &TargetMachine, intrinsics: &[&str]) -> Result<bool> {
    let ctx = Context::create();
    let module = ctx.create_module("onnxc_probe");
    module.set_triple(&tm.get_triple());
    module.set_data_layout(&tm.get_target_data().get_data_layout());
    let builder = ctx.create_builder();
    let mut n = 0;
    for name in intrinsics {
        for ty in [ctx.f32_type(), ctx.f64_type()] {
            let bty = BasicTypeEnum::FloatType(ty);
            let intr = Intrinsic::find(name)
                .ok_or_else(|| LlvmError::Target(format!("no intrinsic {name}")))?;
            let decl = intr
                .get_declaration(&module, &[bty])
                .ok_or_else(|| LlvmError::Target(format!("cannot declare {name}")))?;
            let nargs = decl.count_params() as usize;
            let f = module.add_function(
                &format!("onnxc_probe_{n}"),
                ty.fn_type(&vec![bty.into(); nargs], false),
                None,
            );
            n += 1;
            builder.position_at_end(ctx.append_basic_block(f, "entry"));
            let args: Vec<_> = f.get_param_iter().map(|p| p.into()).collect();
            let call = builder.build_call(decl, &args, "r")?;
            let r = call
                .try_as_basic_value()
                .basic()
                .ok_or_else(|| LlvmError::Target("intrinsic returned void".into()))?;
            builder.build_return(Some(&r))?;
        }
    }
    let obj = tm
        .write_to_memory_buffer(&module, FileType::Object)
        .map_err(|e| LlvmError::Emit(e.to_string()))?;
    Ok(!object_symbols(&obj)?
        .iter()
        .any(|s| !s.starts_with("onnxc_probe") && is_libm_name(s)))
}

fn is_libm_name(s: &str) -> bool {
    [
        "floor", "ceil", "trunc", "round", "rint", "minimum", "maximum", "fmin", "fmax",
    ]
    .iter()
    .any(|m| s.contains(m))
}

/// Names of every symbol in an object file.
pub(crate) fn object_symbols(obj: &MemoryBuffer) -> Result<Vec<String>> {
    let copy = MemoryBuffer::create_from_memory_range_copy(obj.as_slice(), "obj");
    let bin = copy
        .create_binary_file(None)
        .map_err(|e| LlvmError::Emit(e.to_string()))?;
    let mut names = Vec::new();
    if let Some(mut syms) = bin.get_symbols() {
        while let Some(s) = syms.next_symbol() {
            if let Some(n) = s.get_name() {
                names.push(n.to_string_lossy().into_owned());
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn riscv_triples_get_gc_and_lp64d() {
        let s = spec(&Target::parse("riscv64").unwrap()).unwrap();
        assert_eq!(s.triple, "riscv64-unknown-linux-gnu");
        assert!(s.features.contains("+d") && s.features.contains("+c"));
        assert_eq!(s.abi.as_deref(), Some("lp64d"));
        let mut t = Target::parse("riscv64gc-unknown-none-elf").unwrap();
        t.features = vec!["+v".into()];
        let s = spec(&t).unwrap();
        assert_eq!(s.triple, "riscv64-unknown-none-elf");
        assert!(s.features.ends_with("+v"));
    }

    #[test]
    fn native_cpu_on_a_foreign_arch_is_an_error() {
        let mut t = Target::parse(if cfg!(target_arch = "aarch64") {
            "x86_64"
        } else {
            "aarch64"
        })
        .unwrap();
        t.cpu = Some("native".into());
        assert!(matches!(spec(&t), Err(LlvmError::Target(_))));
    }
}
