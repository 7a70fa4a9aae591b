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

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.triple)
    }
}
