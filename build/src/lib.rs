//! Compile an ONNX model from a Cargo build script.
//!
//! [`Build`] runs the onnxc compiler (in-process, as a library) for Cargo's
//! `$TARGET`, writes `lib<name>.a`, `<name>.h` and `<name>.rs` into
//! `$OUT_DIR`, and prints the `cargo:` directives that link the archive and
//! rebuild only when the model file changes. `<name>.rs` is a safe Rust
//! module (see `onnxc_kernel::rust_api`): a `Model` that owns its aligned
//! workspace and whose `run` takes and returns fixed-size arrays, so passing
//! a wrongly sized input is a compile error.
//!
//! `build.rs`:
//! ```no_run
//! fn main() {
//!     onnxc_build::Build::new("models/squeezenet.onnx")
//!         .name("squeezenet")
//!         .compile_or_exit();
//! }
//! ```
//! `src/main.rs` (the crate also depends on `onnxc-runtime` with feature `std`):
//! ```ignore
//! include!(concat!(env!("OUT_DIR"), "/squeezenet.rs"));
//! let mut model = squeezenet::Model::new();
//! let image = Box::new([0.0f32; squeezenet::DATA_0_LEN]);
//! let out = model.run(&image)?;
//! println!("{:?}", &out.softmaxout_1[..5]);
//! ```
#![warn(missing_docs)]
// The crate example is a whole build script, `fn main` included.
#![allow(clippy::needless_doctest_main)]

mod archive;

use onnxc::{CompileOptions, Error as CompileError};
use onnxc_kernel::rust_api::{rust_module, RustApiOptions};
use onnxc_kernel::Target;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why a model could not be built; `Display` is written for a person reading
/// Cargo's build output.
///
/// ```
/// let err = onnxc_build::Build::new("missing.onnx").out_dir("/tmp").target("x86_64-unknown-linux-gnu")
///     .cargo_metadata(false).compile().unwrap_err();
/// assert!(err.to_string().contains("missing.onnx"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An environment variable Cargo sets for build scripts is missing.
    #[error("environment variable {0} is not set: call onnxc-build from a build script, or set it explicitly with Build::{1}")]
    Env(&'static str, &'static str),
    /// The target cannot be compiled for.
    #[error("onnxc cannot compile for target `{triple}`: {reason}")]
    Target {
        /// The target triple.
        triple: String,
        /// Why not.
        reason: String,
    },
    /// The model failed to import, optimize, lower or generate code.
    #[error("cannot compile ONNX model {}:\n  {source}", model.display())]
    Compile {
        /// The model file.
        model: PathBuf,
        /// The compiler's error (names the node and op where it can); boxed
        /// because it is large and `Result`s carry it by value.
        source: Box<CompileError>,
    },
    /// Writing an output failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What [`Build::compile`] wrote.
///
/// ```no_run
/// let out = onnxc_build::Build::new("m.onnx").compile().unwrap();
/// println!("{} needs {} bytes of workspace", out.name, out.workspace_size);
/// ```
#[derive(Debug, Clone)]
pub struct Generated {
    /// Symbol prefix and module name.
    pub name: String,
    /// The relocatable object `<name>.o`.
    pub object: PathBuf,
    /// `lib<name>.a`, holding the object.
    pub archive: PathBuf,
    /// The C header `<name>.h`.
    pub header: PathBuf,
    /// The Rust module `<name>.rs` (`pub mod <name> { ... }`).
    pub rust: PathBuf,
    /// Bytes of workspace one run needs.
    pub workspace_size: usize,
}

/// A model to compile from `build.rs`; see the crate documentation.
///
/// ```no_run
/// onnxc_build::Build::new("model.onnx")
///     .name("net")
///     .input_shape("data", &[1, 3, 224, 224])
///     .compile_or_exit();
/// ```
#[derive(Debug, Clone)]
pub struct Build {
    model: PathBuf,
    name: Option<String>,
    input_shapes: HashMap<String, Vec<usize>>,
    bind_inputs: HashMap<String, onnxc::Tensor>,
    sequence_inputs: HashMap<String, Vec<Vec<usize>>>,
    absent_inputs: std::collections::HashSet<String>,
    target: Option<String>,
    out_dir: Option<PathBuf>,
    alloc: bool,
    cargo_metadata: bool,
}

impl Build {
    /// A build of the model file at `model` (relative paths are relative to
    /// the crate root, where Cargo runs build scripts).
    pub fn new(model: impl Into<PathBuf>) -> Build {
        Build {
            model: model.into(),
            name: None,
            input_shapes: HashMap::new(),
            bind_inputs: HashMap::new(),
            sequence_inputs: HashMap::new(),
            absent_inputs: Default::default(),
            target: None,
            out_dir: None,
            alloc: true,
            cargo_metadata: true,
        }
    }

    /// Symbol prefix and Rust module name (default: the file stem, made an identifier).
    pub fn name(mut self, name: &str) -> Build {
        self.name = Some(name.to_string());
        self
    }

    /// Binds the symbolic dims of input `input` (like `--input-shape`).
    pub fn input_shape(mut self, input: &str, dims: &[usize]) -> Build {
        self.input_shapes.insert(input.to_string(), dims.to_vec());
        self
    }

    /// Compiles sequence input `input` as `element_dims.len()` tensors
    /// `input.0`, `input.1`, ... of these dims (like `--input-seq`).
    pub fn input_seq(mut self, input: &str, element_dims: &[&[usize]]) -> Build {
        self.sequence_inputs.insert(input.to_string(), element_dims.iter().map(|d| d.to_vec()).collect());
        self
    }

    /// Compiles optional input `input` as absent: no ABI slot (like `--absent-input`).
    pub fn absent_input(mut self, input: &str) -> Build {
        self.absent_inputs.insert(input.to_string());
        self
    }

    /// Fixes graph input `input` to `value` at compile time (`--bind`): for
    /// inputs that decide a shape (axes, a Reshape's shape, ...). The input
    /// is then not part of the generated API.
    pub fn bind_input(mut self, input: &str, value: onnxc::Tensor) -> Build {
        self.bind_inputs.insert(input.to_string(), value);
        self
    }

    /// `bind_input` with an int64 vector (converted to the input's type).
    pub fn bind_ints(self, input: &str, values: &[i64]) -> Build {
        self.bind_input(input, onnxc::Tensor::from_vec(vec![values.len()], values.to_vec()))
    }

    /// Target triple (default: Cargo's `$TARGET`).
    pub fn target(mut self, triple: &str) -> Build {
        self.target = Some(triple.to_string());
        self
    }

    /// Output directory (default: Cargo's `$OUT_DIR`).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Build {
        self.out_dir = Some(dir.into());
        self
    }

    /// Generate the heap-owning `Model` type (default true). Set to false for
    /// `no_std` crates without an allocator; `run_into` remains.
    pub fn alloc(mut self, alloc: bool) -> Build {
        self.alloc = alloc;
        self
    }

    /// Print `cargo:` link and rerun directives (default true).
    pub fn cargo_metadata(mut self, on: bool) -> Build {
        self.cargo_metadata = on;
        self
    }

    fn resolve_target(&self) -> Result<Target, Error> {
        let triple = match &self.target {
            Some(t) => t.clone(),
            None => std::env::var("TARGET").map_err(|_| Error::Env("TARGET", "target"))?,
        };
        // The backends write ELF objects only.
        if ["apple", "darwin", "windows", "ios"].iter().any(|os| triple.contains(os)) {
            return Err(Error::Target { triple, reason: "only ELF targets (Linux, bare metal) are supported".into() });
        }
        Target::parse(&triple).map_err(|e| Error::Target { triple: triple.clone(), reason: e.to_string() })
    }

    /// Compiles the model and writes the outputs; prints the `cargo:`
    /// directives unless [`cargo_metadata(false)`](Build::cargo_metadata).
    pub fn compile(&self) -> Result<Generated, Error> {
        if self.cargo_metadata {
            // Before compiling, so that a failed build is retried when the model is fixed.
            println!("cargo:rerun-if-changed={}", self.model.display());
        }
        let out_dir = match &self.out_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or(Error::Env("OUT_DIR", "out_dir"))?,
        };
        let stem = self.model.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
        let name = onnxc_kernel::cabi::sanitize_ident(self.name.as_deref().unwrap_or(stem));
        let opts = CompileOptions {
            name: name.clone(),
            target: self.resolve_target()?,
            input_shapes: self.input_shapes.clone(),
            bind_inputs: self.bind_inputs.clone(),
            sequence_inputs: self.sequence_inputs.clone(),
            absent_inputs: self.absent_inputs.clone(),
            ..Default::default()
        };
        let art = onnxc::compile_file(&self.model, &opts)
            .map_err(|e| Error::Compile { model: self.model.clone(), source: Box::new(e) })?;
        let name = art.program.name.clone();
        let generated = Generated {
            object: out_dir.join(format!("{name}.o")),
            archive: out_dir.join(format!("lib{name}.a")),
            header: out_dir.join(format!("{name}.h")),
            rust: out_dir.join(format!("{name}.rs")),
            workspace_size: art.program.workspace_size,
            name,
        };
        let symbols = [format!("{}_run", generated.name), format!("{}_workspace_size", generated.name)];
        let archive = archive::single_object("onnxc_model.o", &art.object, &symbols);
        let rust = rust_module(&art.program, &RustApiOptions { alloc: self.alloc });
        write(&out_dir, &generated.object, &art.object)?;
        write(&out_dir, &generated.archive, &archive)?;
        write(&out_dir, &generated.header, art.header.as_bytes())?;
        write(&out_dir, &generated.rust, rust.as_bytes())?;
        if self.cargo_metadata {
            println!("cargo:rustc-link-search=native={}", out_dir.display());
            println!("cargo:rustc-link-lib=static={}", generated.name);
        }
        Ok(generated)
    }

    /// [`compile`](Build::compile), or on failure print the error for Cargo
    /// to show and exit with status 1 (a build script should not panic: the
    /// backtrace would bury the message).
    pub fn compile_or_exit(&self) -> Generated {
        match self.compile() {
            Ok(g) => g,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
}

fn write(dir: &Path, path: &Path, data: &[u8]) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    std::fs::write(path, data).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}
