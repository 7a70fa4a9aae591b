//! The onnxc driver: runs the whole pipeline (frontend → passes → lowering →
//! backend) for the CLI, the build helper and the tests.

pub mod error;
pub mod host;
pub mod inspect;
pub mod npy;

pub use error::Error;

use onnxc_frontend::ImportOptions;
use onnxc_ir::Graph;
use onnxc_kernel::{Program, Target};
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// Fast builds, no system dependencies (the default).
    #[default]
    Cranelift,
    /// Optimizing backend; needs onnxc built with the `llvm` feature.
    Llvm,
}

#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Symbol prefix of the generated functions (a C identifier).
    pub name: String,
    pub target: Target,
    pub backend: Backend,
    /// Bindings for symbolic input dims: input name → dims.
    pub input_shapes: HashMap<String, Vec<usize>>,
    /// Print the IR after every pass to stderr.
    pub print_ir_after_all: bool,
    /// Also produce a disassembly listing (`--emit asm`).
    pub want_asm: bool,
    /// Also produce the optimized LLVM IR (`--emit llvm-ir`, LLVM backend only).
    pub want_llvm_ir: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            name: "model".into(),
            target: Target::host(),
            backend: Backend::Cranelift,
            input_shapes: HashMap::new(),
            print_ir_after_all: false,
            want_asm: false,
            want_llvm_ir: false,
        }
    }
}

/// Everything a compile produces.
pub struct Artifacts {
    /// ELF relocatable object.
    pub object: Vec<u8>,
    /// C header describing the object's ABI.
    pub header: String,
    /// Disassembly, when `want_asm` was set.
    pub asm: Option<String>,
    /// Optimized LLVM IR, when `want_llvm_ir` was set (LLVM backend).
    pub llvm_ir: Option<String>,
    pub program: Program,
    /// The graph after all passes.
    pub graph: Graph,
}

/// Imports `path` with the options' input shapes.
pub fn import_file(path: &Path, opts: &CompileOptions) -> Result<Graph, Error> {
    let import = ImportOptions { input_shapes: opts.input_shapes.clone(), ..Default::default() };
    Ok(onnxc_frontend::load_model(path, &import)?.graph)
}

/// Compiles the model file at `path`.
pub fn compile_file(path: &Path, opts: &CompileOptions) -> Result<Artifacts, Error> {
    compile_graph(import_file(path, opts)?, opts)
}

/// Runs the pass pipeline on `graph`, printing the IR after each pass if asked.
pub fn optimize(graph: &mut Graph, opts: &CompileOptions) -> Result<(), Error> {
    let popts = onnxc_passes::pipeline::PipelineOptions {
        print_ir_after_all: opts.print_ir_after_all,
        ..Default::default()
    };
    onnxc_passes::pipeline::run(graph, &popts)?;
    Ok(())
}

/// Compiles an imported graph.
pub fn compile_graph(mut graph: Graph, opts: &CompileOptions) -> Result<Artifacts, Error> {
    optimize(&mut graph, opts)?;
    compile_optimized(graph, opts)
}

/// Plans memory, lowers and generates code for a graph that already went through `optimize`.
pub fn compile_optimized(graph: Graph, opts: &CompileOptions) -> Result<Artifacts, Error> {
    let plan = onnxc_passes::plan(&graph);
    let name = onnxc_kernel::cabi::sanitize_ident(&opts.name);
    let program = onnxc_kernel::lower::lower_graph_for(&graph, &plan, &name, &opts.target)?;
    let (object, asm, llvm_ir) = match opts.backend {
        Backend::Cranelift => {
            if opts.want_asm {
                let (o, a) = onnxc_cranelift::compile_with_asm(&program, &opts.target)?;
                (o, Some(a), None)
            } else {
                (onnxc_cranelift::compile(&program, &opts.target)?, None, None)
            }
        }
        Backend::Llvm => compile_llvm(&program, opts)?,
    };
    let header = onnxc_kernel::cabi::c_header(&program);
    Ok(Artifacts { object, header, asm, llvm_ir, program, graph })
}

type Generated = (Vec<u8>, Option<String>, Option<String>);

#[cfg(feature = "llvm")]
fn compile_llvm(program: &Program, opts: &CompileOptions) -> Result<Generated, Error> {
    let lopts = onnxc_llvm::LlvmOptions { emit_asm: opts.want_asm, emit_llvm_ir: opts.want_llvm_ir };
    let out = onnxc_llvm::compile(program, &opts.target, &lopts)?;
    Ok((out.object, out.asm, out.llvm_ir))
}

#[cfg(not(feature = "llvm"))]
fn compile_llvm(_: &Program, _: &CompileOptions) -> Result<Generated, Error> {
    Err(Error::BackendUnavailable("llvm"))
}

/// The backends built into this onnxc.
pub fn available_backends() -> Vec<Backend> {
    let mut v = vec![Backend::Cranelift];
    if cfg!(feature = "llvm") {
        v.push(Backend::Llvm);
    }
    v
}
