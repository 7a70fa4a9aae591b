//! `Target` -> Cranelift ISA: triple, shared flags, and the per-arch ISA
//! flags that keep generated objects free of libm/compiler-rt libcalls.

use crate::CodegenError;
use cranelift_codegen::isa::{self, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable, SetError};
use onnxc_kernel::{Arch, Target};
use std::str::FromStr;
use target_lexicon::{Architecture, Triple};

/// x86-64 flags every object is compiled with. Without SSE4.1 Cranelift
/// lowers floor/ceil/trunc/nearest to libm calls (`floorf`, ...), which the
/// object must not reference; SSE4.2/POPCNT come with every SSE4.1 CPU
/// (x86-64-v2), so they cost no extra portability.
const X86_BASELINE: &[&str] = &[
    "has_sse3",
    "has_ssse3",
    "has_sse41",
    "has_sse42",
    "has_popcnt",
];

/// Flags that may not be switched off on x86-64, for the reason above.
const X86_REQUIRED: &[&str] = &["has_sse41"];

pub(crate) fn build_isa(target: &Target) -> Result<OwnedTargetIsa, CodegenError> {
    let triple = Triple::from_str(&target.triple).map_err(|e| {
        CodegenError::Target(format!("cannot parse triple `{}`: {e}", target.triple))
    })?;
    let arch_ok = matches!(
        (target.arch, triple.architecture),
        (Arch::X86_64, Architecture::X86_64)
            | (Arch::Aarch64, Architecture::Aarch64(_))
            | (Arch::Riscv64, Architecture::Riscv64(_))
    );
    if !arch_ok {
        return Err(CodegenError::Target(format!(
            "triple `{}` does not match architecture {:?}",
            target.triple, target.arch
        )));
    }
    let riscv_gc = target.triple.starts_with("riscv64gc");

    let mut shared = settings::builder();
    let shared_flags = [
        ("opt_level", "speed"),
        // Objects must link into shared libraries and PIE executables.
        ("is_pic", "true"),
        // memcpy may live in another DSO: reach it through the PLT/GOT.
        ("use_colocated_libcalls", "false"),
    ];
    for (name, value) in shared_flags {
        shared.set(name, value).map_err(|e| flag_error(name, e))?;
    }

    let mut builder = isa::lookup(triple).map_err(|e| {
        CodegenError::Target(format!(
            "cranelift does not support `{}`: {e}",
            target.triple
        ))
    })?;
    match target.arch {
        Arch::X86_64 => enable_all(&mut builder, X86_BASELINE)?,
        Arch::Aarch64 => {}
        // Cranelift already assumes RV64G (M, A, F, D, Zicsr, Zifencei); the
        // `gc` triple additionally promises compressed instructions.
        Arch::Riscv64 if riscv_gc => enable_all(&mut builder, &["has_zca", "has_zcd"])?,
        Arch::Riscv64 => {}
    }
    if let Some(cpu) = target.cpu.as_deref() {
        apply_cpu(&mut builder, target.arch, cpu)?;
    }
    for feature in target.features.iter().flat_map(|f| f.split(',')) {
        apply_feature(&mut builder, target.arch, feature.trim())?;
    }

    builder
        .finish(settings::Flags::new(shared))
        .map_err(|e| CodegenError::Target(format!("cannot build ISA for `{}`: {e}", target.triple)))
}

fn flag_error(name: &str, e: SetError) -> CodegenError {
    CodegenError::Target(format!("cranelift flag `{name}`: {e}"))
}

fn enable_all(builder: &mut isa::Builder, names: &[&str]) -> Result<(), CodegenError> {
    for name in names {
        builder.enable(name).map_err(|e| flag_error(name, e))?;
    }
    Ok(())
}

/// `--cpu`: `native` detects the host's features; `generic` changes nothing;
/// any other name must be a Cranelift preset (`haswell`, `x86-64-v3`, ...).
fn apply_cpu(builder: &mut isa::Builder, arch: Arch, cpu: &str) -> Result<(), CodegenError> {
    match cpu {
        "" | "generic" => Ok(()),
        "native" => {
            if arch != onnxc_kernel::Target::host().arch {
                return Err(CodegenError::Target(format!(
                    "--cpu native needs the host architecture, not {arch:?}"
                )));
            }
            enable_all(builder, &host_features())
        }
        name => builder.enable(name).map_err(|e| match e {
            SetError::BadName(_) => {
                CodegenError::Target(format!("unknown cpu `{name}` for {arch:?}"))
            }
            e => flag_error(name, e),
        }),
    }
}

/// One `--target-features` entry (`+avx2`, `-fma`, `+v`, `sse4.1`). Names
/// Cranelift does not know are ignored: the same list is handed to the LLVM
/// backend, which understands many more, and none of them is needed for
/// correctness here.
fn apply_feature(
    builder: &mut isa::Builder,
    arch: Arch,
    feature: &str,
) -> Result<(), CodegenError> {
    let (on, name) = match feature.as_bytes().first() {
        None => return Ok(()),
        Some(b'+') => (true, &feature[1..]),
        Some(b'-') => (false, &feature[1..]),
        Some(_) => (true, feature),
    };
    // LLVM spells `sse4.1`, Cranelift `has_sse41`; riscv's `c` is a preset.
    let flag = format!("has_{}", name.to_ascii_lowercase().replace(['.', '-'], ""));
    if !on && arch == Arch::X86_64 && X86_REQUIRED.contains(&flag.as_str()) {
        return Err(CodegenError::Target(format!(
            "target feature `{feature}`: the cranelift backend needs SSE4.1 on x86-64 \
             (rounding would otherwise call libm)"
        )));
    }
    if on && arch == Arch::X86_64 {
        // LLVM's `+avx2` implies AVX; Cranelift keeps them separate.
        enable_all(builder, x86_implied(&flag))?;
    }
    let result = if on {
        builder.enable(&flag)
    } else {
        builder.set(&flag, "false")
    };
    match result {
        Ok(()) | Err(SetError::BadName(_)) => Ok(()),
        // `-c` names a preset, which cannot be switched off as a whole.
        Err(SetError::BadType) if !on => Ok(()),
        Err(e) => Err(flag_error(&flag, e)),
    }
}

/// x86 flags that LLVM's feature implications switch on along with `flag`.
fn x86_implied(flag: &str) -> &'static [&'static str] {
    match flag {
        "has_avx2" | "has_fma" => &["has_avx"],
        f if f.starts_with("has_avx512") => &["has_avx", "has_avx2", "has_fma", "has_avx512f"],
        _ => &[],
    }
}

/// Cranelift flag names for the features the running CPU has.
fn host_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut out: Vec<&'static str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! detect {
            ($($feat:tt => $flag:expr),* $(,)?) => {
                $(if std::arch::is_x86_feature_detected!($feat) { out.push($flag); })*
            };
        }
        detect!(
            "avx" => "has_avx", "avx2" => "has_avx2", "fma" => "has_fma",
            "bmi1" => "has_bmi1", "bmi2" => "has_bmi2", "lzcnt" => "has_lzcnt",
            "avx512f" => "has_avx512f", "avx512dq" => "has_avx512dq",
            "avx512vl" => "has_avx512vl", "avx512bitalg" => "has_avx512bitalg",
            "avx512vbmi" => "has_avx512vbmi", "cmpxchg16b" => "has_cmpxchg16b",
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("lse") {
            out.push("has_lse");
        }
        if std::arch::is_aarch64_feature_detected!("fp16") {
            out.push("has_fp16");
        }
    }
    out
}
