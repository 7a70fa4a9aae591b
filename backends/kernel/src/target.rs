//! Code generation targets, shared by every backend.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
    Riscv64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub arch: Arch,
    /// Full LLVM-style triple, e.g. `riscv64gc-unknown-linux-gnu`.
    pub triple: String,
    /// `--cpu`, passed through to the backend (`native` = the host's).
    pub cpu: Option<String>,
    /// `--target-features`, e.g. `["+v"]`, passed through to the backend.
    pub features: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown target `{0}` (expected x86_64, aarch64, riscv64 or a triple such as riscv64gc-unknown-linux-gnu)")]
pub struct UnknownTarget(pub String);

impl Target {
    /// Accepts a short name (`x86_64`, `aarch64`, `riscv64`) or a full triple.
    pub fn parse(s: &str) -> Result<Target, UnknownTarget> {
        let triple = match s {
            "x86_64" | "x86-64" | "amd64" => "x86_64-unknown-linux-gnu".to_string(),
            "aarch64" | "arm64" => "aarch64-unknown-linux-gnu".to_string(),
            "riscv64" | "riscv64gc" => "riscv64gc-unknown-linux-gnu".to_string(),
            t => t.to_string(),
        };
        let arch_part = triple.split('-').next().unwrap_or("");
        let arch = match arch_part {
            "x86_64" => Arch::X86_64,
            "aarch64" | "arm64" => Arch::Aarch64,
            a if a.starts_with("riscv64") => Arch::Riscv64,
            _ => return Err(UnknownTarget(s.to_string())),
        };
        Ok(Target { arch, triple, cpu: None, features: Vec::new() })
    }

    /// The machine this compiler runs on.
    pub fn host() -> Target {
        let arch = if cfg!(target_arch = "aarch64") {
            "aarch64"
        } else if cfg!(target_arch = "riscv64") {
            "riscv64"
        } else {
            "x86_64"
        };
        Target::parse(arch).expect("host target is known")
    }
}

impl Target {
    /// Width in bits of the vector registers code for this target uses:
    /// 512 on x86-64 with AVX-512 (`+avx512f`, or `--cpu native` on such a
    /// host; LLVM then emits zmm code), 256 on other x86-64 (AVX2), 128 on
    /// AArch64 (NEON); RISC-V's is unknown at compile time (we assume 256).
    pub fn vector_bits(&self) -> u32 {
        match self.arch {
            Arch::X86_64 => {
                let feature = self.features.iter().any(|f| f.split(',').any(|f| f == "+avx512f"));
                if feature || (self.cpu.as_deref() == Some("native") && host_has_avx512()) {
                    512
                } else {
                    256
                }
            }
            Arch::Aarch64 => 128,
            Arch::Riscv64 => 256,
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn host_has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

#[cfg(not(target_arch = "x86_64"))]
fn host_has_avx512() -> bool {
    false
}

/// How the backend turns lowering's scalar loops into machine code; kernels
/// with a register-blocked inner loop size their blocks from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Codegen {
    /// An auto-vectorizing optimizer (LLVM): a row of `NR` scalar
    /// accumulators becomes `NR / lanes` vector registers.
    #[default]
    Vectorizing,
    /// Scalar code as written (Cranelift): every accumulator takes a whole
    /// FP register, so register tiles must fit the scalar register file.
    Scalar,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.triple)
    }
}
