//! The onnxc driver: runs the whole pipeline (frontend → passes → lowering →
//! backend) for the CLI, the build helper and the tests.

pub mod error;
pub mod host;
pub mod inspect;
pub mod npy;

pub use error::Error;
/// The tensor type of `CompileOptions::bind_inputs`.
pub use onnxc_ir::Tensor;

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
    /// Graph inputs fixed to a value at compile time (`--bind name=FILE.npy`):
    /// input name → value. A bound input becomes a constant before shape
    /// inference and folding and is not part of the ABI (neither in the
    /// header nor in `<name>_run`'s input order). Needed where an input
    /// decides an output shape; [`Error::NeedsConstant`] names such inputs.
    pub bind_inputs: HashMap<String, Tensor>,
    /// Sequence inputs: name → the dims of each element (`--input-seq`);
    /// each element is its own ABI input `name.J` (see
    /// `onnxc_frontend::ImportOptions::sequence_inputs`).
    pub sequence_inputs: HashMap<String, Vec<Vec<usize>>>,
    /// Optional inputs compiled as absent: no ABI slot (`--absent-input`).
    pub absent_inputs: std::collections::HashSet<String>,
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
            bind_inputs: HashMap::new(),
            sequence_inputs: HashMap::new(),
            absent_inputs: Default::default(),
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

/// Imports `path` with the options' input shapes and bound inputs.
pub fn import_file(path: &Path, opts: &CompileOptions) -> Result<Graph, Error> {
    Ok(import_model(path, opts)?.graph)
}

/// [`import_file`], keeping the model's metadata (`Model::boundary`).
pub fn import_model(path: &Path, opts: &CompileOptions) -> Result<onnxc_frontend::Model, Error> {
    let import = ImportOptions {
        input_shapes: opts.input_shapes.clone(),
        bind_inputs: opts.bind_inputs.clone(),
        sequence_inputs: opts.sequence_inputs.clone(),
        absent_inputs: opts.absent_inputs.clone(),
        ..Default::default()
    };
    onnxc_frontend::load_model(path, &import).map_err(Error::from_frontend)
}

/// Compiles the model file at `path`.
pub fn compile_file(path: &Path, opts: &CompileOptions) -> Result<Artifacts, Error> {
    let model = import_model(path, opts)?;
    let mut art = compile_graph(model.graph, opts)?;
    art.header = annotate_boundary(art.header, &model.boundary);
    Ok(art)
}

/// Adds to a generated header the note on sequence/optional inputs and
/// outputs (`Model::boundary`; nothing when there are none).
pub fn annotate_boundary(header: String, boundary: &[String]) -> String {
    note_lines(header, &boundary_note(boundary))
}

/// Says in the header how sequence and optional model inputs/outputs map
/// onto the ABI's tensors (a reader who knows the model looks for them).
fn boundary_note(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "/* Sequences and optionals: a sequence of N tensors is N ABI tensors `name.0` .. `name.N-1`\n   \
         (N fixed at compile time); an optional absent at compile time has no ABI slot.\n   {}. */\n",
        lines.join(";\n   ")
    )
}

/// Inserts `note` after the header's first line.
fn note_lines(header: String, note: &str) -> String {
    match header.find('\n') {
        Some(i) => format!("{}{note}{}", &header[..=i], &header[i + 1..]),
        None => note.to_string() + &header,
    }
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
    let codegen = match opts.backend {
        Backend::Cranelift => onnxc_kernel::target::Codegen::Scalar,
        Backend::Llvm => onnxc_kernel::target::Codegen::Vectorizing,
    };
    let program = onnxc_kernel::lower::lower_graph_for_codegen(&graph, &plan, &name, &opts.target, codegen)
        .map_err(|e| lower_error(e, &graph))?;
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
    let header = note_bound_inputs(onnxc_kernel::cabi::c_header(&program), opts);
    Ok(Artifacts { object, header, asm, llvm_ir, program, graph })
}

/// A lowering error; one about a value that must be constant names the graph
/// inputs to bind, like the same error from shape inference.
fn lower_error(e: onnxc_kernel::lower::LowerError, graph: &Graph) -> Error {
    match e {
        onnxc_kernel::lower::LowerError::NeedsConstant { node, op, msg, input, value } => {
            let deps = onnxc_ir::slice::graph_input_deps(graph, &[value]);
            let graph_inputs = deps.iter().map(|d| graph.display_name(*d)).collect();
            Error::NeedsConstant { node, op, msg, inputs: vec![input], graph_inputs }
        }
        e => Error::Lower(e),
    }
}

/// Says in the header which inputs were bound at compile time: a reader who
/// knows the model would otherwise look for them in `<name>_inputs`.
fn note_bound_inputs(header: String, opts: &CompileOptions) -> String {
    if opts.bind_inputs.is_empty() {
        return header;
    }
    let mut names: Vec<&str> = opts.bind_inputs.keys().map(String::as_str).collect();
    names.sort_unstable();
    let note = format!(
        "/* Bound at compile time (--bind), so not part of the ABI: {}.\n   \
         These model inputs are constants in the object; the inputs below are the remaining ones. */\n",
        names.join(", ")
    );
    note_lines(header, &note)
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
