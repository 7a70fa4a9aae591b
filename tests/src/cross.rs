//! Where a compiled model runs: the host, or a cross target under qemu-user.
//!
//! A [`Platform`] knows how to link the generic C driver (tests/c/run_model.c)
//! with a model object for its architecture and how to launch the result.
//! Cross executables are linked statically with the Debian cross gcc
//! (`aarch64-linux-gnu-gcc`, `riscv64-linux-gnu-gcc`), so qemu needs no
//! loader; `-L <sysroot>` is passed anyway so a dynamic link would work too.
//! Tools come from Debian `gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu
//! qemu-user` (scripts/setup-cross.sh installs them).

use onnxc_kernel::{Arch, Target};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The architectures of the test matrix, host first.
pub const ARCHES: [Arch; 3] = [Arch::X86_64, Arch::Aarch64, Arch::Riscv64];

/// Short name as `Target::parse` accepts it.
pub fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64",
        Arch::Aarch64 => "aarch64",
        Arch::Riscv64 => "riscv64",
    }
}

pub fn parse_arch(s: &str) -> Option<Arch> {
    Target::parse(s).ok().map(|t| t.arch)
}

/// The architecture this test process runs on.
pub fn host_arch() -> Arch {
    Target::host().arch
}

/// Where to link and run code for one architecture.
#[derive(Clone, Debug)]
pub struct Platform {
    pub arch: Arch,
    /// C compiler that compiles and links for `arch`.
    pub cc: String,
    /// Flags for every driver link (`-static` when cross).
    pub link_flags: Vec<String>,
    /// Command prefix that runs an executable (qemu and its options);
    /// empty on the host.
    pub runner: Vec<String>,
}

/// `rv64` with the vector extension: what `--target-features +v` code needs.
/// `vext_spec` is given so qemu does not warn on every run.
const RISCV_CPU: &str = "rv64,v=true,vlen=256,vext_spec=v1.0";

impl Platform {
    /// The machine the tests run on (`$CC`, else `cc`; no emulator).
    pub fn host() -> Platform {
        Platform { arch: host_arch(), cc: crate::native::cc(), link_flags: vec![], runner: vec![] }
    }

    /// The platform for `arch`: the host itself, or cross gcc + qemu-user.
    /// `Err` is a one-line reason to skip (tools missing).
    pub fn for_arch(arch: Arch) -> Result<Platform, String> {
        if arch == host_arch() {
            return Ok(Platform::host());
        }
        let (gnu, qemu, cpu) = match arch {
            Arch::Aarch64 => ("aarch64-linux-gnu", "qemu-aarch64", None),
            Arch::Riscv64 => ("riscv64-linux-gnu", "qemu-riscv64", Some(RISCV_CPU)),
            Arch::X86_64 => ("x86_64-linux-gnu", "qemu-x86_64", None),
        };
        let cc = format!("{gnu}-gcc");
        let sysroot = format!("/usr/{gnu}");
        let missing = |what: &str| {
            format!(
                "{what} not found: install gcc-{gnu} and qemu-user (scripts/setup-cross.sh) to run {} cells",
                arch_name(arch)
            )
        };
        if !tool_runs(&cc, "--version") {
            return Err(missing(&format!("`{cc}`")));
        }
        if !tool_runs(qemu, "--version") {
            return Err(missing(&format!("`{qemu}`")));
        }
        if !Path::new(&sysroot).is_dir() {
            return Err(missing(&format!("the sysroot {sysroot}")));
        }
        let mut runner = vec![qemu.to_string(), "-L".into(), sysroot];
        if let Some(cpu) = cpu {
            runner.extend(["-cpu".into(), cpu.into()]);
        }
        Ok(Platform { arch, cc, link_flags: vec!["-static".into()], runner })
    }

    pub fn is_emulated(&self) -> bool {
        !self.runner.is_empty()
    }

    /// Compiles the generic driver against `header` and links it with
    /// `objects` into `exe` (`-O1`: the driver's own speed is irrelevant,
    /// and compiling it is a fair share of a cross case's time).
    pub fn build_driver(&self, prefix: &str, header: &Path, objects: &[&Path], exe: &Path) -> Result<(), String> {
        let mut cmd = Command::new(&self.cc);
        cmd.args(["-O1", "-std=c11"]).arg(format!("-DPREFIX={prefix}")).arg("-include").arg(header);
        cmd.arg(crate::native::driver_source()).args(objects).args(&self.link_flags).arg("-o").arg(exe);
        let out = cmd.output().map_err(|e| format!("cannot run `{}`: {e}", self.cc))?;
        if !out.status.success() {
            return Err(format!("linking the C driver with {} failed:\n{}", self.cc, String::from_utf8_lossy(&out.stderr)));
        }
        Ok(())
    }

    /// A command that runs `exe` on this platform (under qemu when cross).
    pub fn command(&self, exe: &Path) -> Command {
        match self.runner.split_first() {
            None => Command::new(exe),
            Some((qemu, args)) => {
                let mut c = Command::new(qemu);
                c.args(args).arg(exe);
                c
            }
        }
    }

    /// One line for reports: `aarch64 (aarch64-linux-gnu-gcc, qemu-aarch64)`.
    pub fn describe(&self) -> String {
        if self.is_emulated() {
            format!("{} ({} -static, {})", arch_name(self.arch), self.cc, self.runner.join(" "))
        } else {
            format!("{} (host, {})", arch_name(self.arch), self.cc)
        }
    }
}

fn tool_runs(tool: &str, arg: &str) -> bool {
    Command::new(tool).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Runs `cmd` to completion, killing it after `timeout`: a miscompiled loop
/// under qemu must fail its case, not stall the harness (whose own timeout
/// would kill the parent and orphan qemu).
pub fn output_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out_t = drain(Box::new(child.stdout.take().expect("piped")));
    let err_t = drain(Box::new(child.stderr.take().expect("piped")));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("killed after {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("wait failed: {e}")),
        }
    };
    Ok(Output { status, stdout: out_t.join().unwrap_or_default(), stderr: err_t.join().unwrap_or_default() })
}

/// The target a cell compiles for: the short name's triple, plus `+v` for
/// riscv64 with LLVM (the issue asks RVV code to be proven under qemu;
/// Cranelift's riscv64 kernels are scalar, so it gets the plain target that
/// `onnxc compile --target riscv64` uses).
pub fn cell_target(arch: Arch, backend: onnxc::Backend) -> Target {
    let mut t = Target::parse(arch_name(arch)).expect("matrix arches parse");
    if arch == Arch::Riscv64 && backend == onnxc::Backend::Llvm {
        t.features.push("+v".into());
    }
    t
}

/// `cranelift` / `llvm`.
pub fn backend_name(b: onnxc::Backend) -> &'static str {
    match b {
        onnxc::Backend::Cranelift => "cranelift",
        onnxc::Backend::Llvm => "llvm",
    }
}

pub fn parse_backend(s: &str) -> Option<onnxc::Backend> {
    match s.trim() {
        "cranelift" | "clif" => Some(onnxc::Backend::Cranelift),
        "llvm" => Some(onnxc::Backend::Llvm),
        _ => None,
    }
}

/// The backends to test: `ONNXC_BACKENDS=cranelift,llvm`, default every
/// backend built into onnxc. Naming one that is not built in is an error
/// (asking for LLVM and silently testing only Cranelift would be a lie).
pub fn backends_from_env() -> Result<Vec<onnxc::Backend>, String> {
    let built = onnxc::available_backends();
    let Ok(list) = std::env::var("ONNXC_BACKENDS") else { return Ok(built) };
    let mut out = Vec::new();
    for name in list.split(',').filter(|s| !s.trim().is_empty()) {
        let b = parse_backend(name).ok_or_else(|| format!("ONNXC_BACKENDS: unknown backend `{name}`"))?;
        if !built.contains(&b) {
            return Err(format!(
                "ONNXC_BACKENDS asks for {name}, which this onnxc lacks (build with `--features onnxc/llvm`)"
            ));
        }
        if !out.contains(&b) {
            out.push(b);
        }
    }
    Ok(out)
}

/// The architectures to test: `ONNXC_TARGETS=x86_64,aarch64,riscv64` (default all).
pub fn arches_from_env() -> Result<Vec<Arch>, String> {
    let Ok(list) = std::env::var("ONNXC_TARGETS") else { return Ok(ARCHES.to_vec()) };
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_arch(s.trim()).ok_or_else(|| format!("ONNXC_TARGETS: unknown target `{s}`")))
        .collect()
}

/// `ONNXC_REQUIRE_CROSS=1`: missing cross tools fail the tests instead of
/// skipping their cells (for CI, where the test command installs them).
pub fn cross_required() -> bool {
    std::env::var("ONNXC_REQUIRE_CROSS").is_ok_and(|v| v == "1")
}
