//! Command-line interface (clap). Each subcommand is a thin layer over the
//! library so everything here is also reachable from Rust.

use clap::{Args, Parser, Subcommand, ValueEnum};
use onnxc::{Backend, CompileOptions, Error};
use onnxc_kernel::Target;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "onnxc",
    version,
    about = "Ahead-of-time ONNX model compiler",
    long_about = "onnxc compiles an ONNX model into a native object file and a C header.\n\
The object runs the model with no interpreter and no allocation; link it into any C or Rust program.\n\n\
Examples:\n  \
onnxc compile model.onnx -o out/m.o --name m        # writes out/m.o and out/m.h\n  \
onnxc compile model.onnx --target riscv64 --emit obj,asm,ir\n  \
onnxc inspect model.onnx                             # inputs, outputs, ops, FLOPs\n  \
onnxc run model.onnx --input x=in.npy --output-dir out/\n  \
onnxc compile model.onnx --bind axes=1,2             # fix a shape-deciding input at compile time"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Compile a model to an object file and a C header.
    Compile(CompileArgs),
    /// Describe a model: inputs, outputs, op histogram, parameters, FLOPs, unsupported ops.
    Inspect(InspectArgs),
    /// Compile a model for this machine, run it on .npy inputs and write .npy outputs.
    Run(RunArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// Fast compiles, no system dependencies.
    Cranelift,
    /// Optimizing LLVM backend (needs the `llvm` cargo feature).
    Llvm,
}

#[derive(Args)]
struct ModelArgs {
    /// The .onnx model file.
    model: PathBuf,
    /// Bind a symbolic input shape, e.g. `--input-shape data=1x3x224x224` (repeatable).
    #[arg(long = "input-shape", value_name = "NAME=DIMS")]
    input_shapes: Vec<String>,
    /// Length and element shapes of a sequence input: `--input-seq x=3x4,2x4` is a sequence of
    /// two tensors, ABI inputs `x.0` (3x4) and `x.1` (2x4); `x=` is an empty sequence
    /// (repeatable). Also for an optional input that holds a sequence.
    #[arg(long = "input-seq", value_name = "NAME=DIMS,DIMS")]
    input_seqs: Vec<String>,
    /// Compile an optional input as absent (no ABI slot; OptionalHasElement is false) (repeatable).
    #[arg(long = "absent-input", value_name = "NAME")]
    absent_inputs: Vec<String>,
}

#[derive(Args)]
struct BindArgs {
    /// Fix a graph input's value at compile time: `--bind NAME=FILE.npy`, or `--bind NAME=1,2,3`
    /// for an int64 vector (`NAME=` for an empty one); repeatable.
    ///
    /// Use it when compiling fails with "input `axes` must be a constant to compile ahead of time"
    /// (or a Reshape shape, Slice starts, Resize sizes, TopK K, Range limit, ...): that value
    /// decides an output shape, and onnxc fixes every shape at compile time, so a graph input it
    /// is computed from must be known then. The error names the graph inputs to bind. A bound
    /// input becomes a constant and is not part of the compiled ABI (not in the header's
    /// <name>_inputs nor in <name>_run's input order). The value must have the input's declared
    /// dtype and shape; an integer list is converted to the input's dtype and shape when its
    /// values fit exactly.
    #[arg(long = "bind", value_name = "NAME=FILE.npy|NAME=INTS", verbatim_doc_comment)]
    binds: Vec<String>,
}

#[derive(Args)]
struct CompileArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    bind: BindArgs,
    /// Output object path; the header is written beside it with a .h extension.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Symbol prefix of the generated functions (default: the model's file stem).
    #[arg(long)]
    name: Option<String>,
    /// x86_64, aarch64, riscv64, or a triple such as riscv64gc-unknown-linux-gnu (default: this machine).
    #[arg(long)]
    target: Option<String>,
    /// CPU name passed to the backend (`native` = this machine's).
    #[arg(long)]
    cpu: Option<String>,
    /// Target features, comma separated, e.g. `+v` or `+avx2,+fma`.
    #[arg(long = "target-features", value_delimiter = ',')]
    target_features: Vec<String>,
    #[arg(long, value_enum, default_value = "cranelift")]
    backend: BackendArg,
    /// Extra stages to write beside the object: ir (optimized graph IR, .onnxir), asm (.s), llvm-ir (.ll, LLVM backend), obj, header,
    /// staticlib (lib<name>.a, with the system `ar`), rust (safe Rust bindings, .rs).
    #[arg(long, value_delimiter = ',', value_name = "STAGES")]
    emit: Vec<String>,
    /// Print the graph IR after every pass to stderr.
    #[arg(long)]
    print_ir_after_all: bool,
    /// No progress messages.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
struct InspectArgs {
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    bind: BindArgs,
    /// An input as NAME=FILE.npy (or just FILE.npy, in graph order); repeatable.
    #[arg(long = "input", value_name = "NAME=FILE")]
    inputs: Vec<String>,
    /// Where to write the outputs, one .npy per output named after it.
    #[arg(long, default_value = ".")]
    output_dir: PathBuf,
    /// Run the reference interpreter instead of compiled code.
    #[arg(long)]
    interpret: bool,
    #[arg(long, value_enum, default_value = "cranelift")]
    backend: BackendArg,
    /// Worker threads of the pool passed to `<p>_run` (1: no pool, every kernel
    /// on the calling thread; 0: one per core). Only the LLVM backend splits loops.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Run the compiled model this many times and print the median run time
    /// (after one warm-up run; compile time is never counted) to stderr.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
}

pub fn main() -> Result<(), Error> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Compile(a) => compile(a),
        Cmd::Inspect(a) => crate_inspect(a),
        Cmd::Run(a) => run(a),
    }
}

/// Parses `name=1x3x224x224` bindings.
fn parse_shapes(specs: &[String]) -> Result<HashMap<String, Vec<usize>>, Error> {
    let mut out = HashMap::new();
    for s in specs {
        let (name, dims) = s
            .rsplit_once('=')
            .ok_or_else(|| Error::Usage(format!("--input-shape `{s}`: expected NAME=DIMS like data=1x3x224x224")))?;
        let dims = dims
            .split(['x', ','])
            .map(|d| d.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Error::Usage(format!("--input-shape `{s}`: dims must be positive integers separated by x")))?;
        out.insert(name.to_string(), dims);
    }
    Ok(out)
}

/// Parses `--input-seq NAME=DIMS,DIMS,...` (element dims separated by `x`;
/// `()` is a rank-0 element; `NAME=` an empty sequence).
fn parse_seqs(specs: &[String]) -> Result<HashMap<String, Vec<Vec<usize>>>, Error> {
    let mut out = HashMap::new();
    for s in specs {
        let bad = || Error::Usage(format!("--input-seq `{s}`: expected NAME=DIMS,DIMS like x=3x4,2x4 (() for a scalar element)"));
        let (name, elems) = s.split_once('=').filter(|(n, _)| !n.is_empty()).ok_or_else(bad)?;
        let shapes = elems
            .split(',')
            .filter(|e| !e.trim().is_empty())
            .map(|e| match e.trim() {
                "()" => Ok(Vec::new()),
                e => e.split('x').map(|d| d.trim().parse::<usize>().map_err(|_| bad())).collect(),
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.insert(name.to_string(), shapes);
    }
    Ok(out)
}

/// Parses `--bind NAME=FILE.npy` and `--bind NAME=1,2,3` (an int64 vector;
/// `NAME=` is the empty one).
fn parse_binds(specs: &[String]) -> Result<HashMap<String, onnxc_ir::Tensor>, Error> {
    let mut out = HashMap::new();
    for s in specs {
        let (name, value) = s.split_once('=').filter(|(n, _)| !n.is_empty()).ok_or_else(|| {
            Error::Usage(format!("--bind `{s}`: expected NAME=FILE.npy or NAME=1,2,3"))
        })?;
        let t = match parse_int_list(value) {
            Some(v) => onnxc_ir::Tensor::from_vec(vec![v.len()], v),
            None if value.ends_with(".npy") || Path::new(value).exists() => {
                let data = std::fs::read(value).map_err(|e| Error::io(value, e))?;
                onnxc::npy::read(&data).map_err(|e| Error::Usage(format!("--bind {name}: {value}: {e}")))?
            }
            None => {
                return Err(Error::Usage(format!(
                    "--bind `{s}`: `{value}` is neither an .npy file nor a comma-separated list of integers"
                )))
            }
        };
        if out.insert(name.to_string(), t).is_some() {
            return Err(Error::Usage(format!("--bind {name} is given twice")));
        }
    }
    Ok(out)
}

/// `1,-2,3` → [1, -2, 3]; the empty string is the empty list.
fn parse_int_list(s: &str) -> Option<Vec<i64>> {
    if s.trim().is_empty() {
        return Some(vec![]);
    }
    s.split(',').map(|v| v.trim().parse::<i64>().ok()).collect()
}

fn default_name(model: &Path) -> String {
    let stem = model.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    onnxc_kernel::cabi::sanitize_ident(stem)
}

fn write_file(path: &Path, data: &[u8]) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(path, data).map_err(|e| Error::io(path, e))
}

fn compile(a: CompileArgs) -> Result<(), Error> {
    let mut target = match &a.target {
        Some(t) => Target::parse(t).map_err(|e| Error::Usage(e.to_string()))?,
        None => Target::host(),
    };
    target.cpu = a.cpu.clone();
    target.features = a.target_features.clone();
    let emit: Vec<&str> = a.emit.iter().map(|s| s.trim()).collect();
    for e in &emit {
        if !["obj", "asm", "ir", "header", "llvm-ir", "staticlib", "rust"].contains(e) {
            return Err(Error::Usage(format!(
                "--emit {e}: unknown stage (expected obj, asm, ir, header, llvm-ir, staticlib, rust)"
            )));
        }
    }
    if emit.contains(&"llvm-ir") && !matches!(a.backend, BackendArg::Llvm) {
        return Err(Error::Usage("--emit llvm-ir needs --backend llvm".into()));
    }
    let name = a.name.clone().unwrap_or_else(|| default_name(&a.model.model));
    let opts = CompileOptions {
        name: name.clone(),
        target,
        backend: match a.backend {
            BackendArg::Cranelift => Backend::Cranelift,
            BackendArg::Llvm => Backend::Llvm,
        },
        input_shapes: parse_shapes(&a.model.input_shapes)?,
        bind_inputs: parse_binds(&a.bind.binds)?,
        sequence_inputs: parse_seqs(&a.model.input_seqs)?,
        absent_inputs: a.model.absent_inputs.iter().cloned().collect(),
        print_ir_after_all: a.print_ir_after_all,
        want_asm: emit.contains(&"asm"),
        want_llvm_ir: emit.contains(&"llvm-ir"),
    };
    let progress = |msg: &str, t: Instant| {
        if !a.quiet {
            eprintln!("onnxc: {msg} ({:.2} s)", t.elapsed().as_secs_f64());
        }
    };
    let t = Instant::now();
    let model = onnxc::import_model(&a.model.model, &opts)?;
    let mut graph = model.graph;
    progress(&format!("imported {} ({} nodes)", a.model.model.display(), graph.nodes.len()), t);
    let t = Instant::now();
    onnxc::optimize(&mut graph, &opts)?;
    progress(&format!("optimized ({} nodes)", graph.nodes.len()), t);
    let t = Instant::now();
    let mut art = onnxc::compile_optimized(graph, &opts)?;
    art.header = onnxc::annotate_boundary(art.header, &model.boundary);
    progress(
        &format!(
            "generated code: {} kernels, workspace {} bytes, object {} bytes",
            art.program.kernels.len(),
            art.program.workspace_size,
            art.object.len()
        ),
        t,
    );
    let obj_path = a.output.clone().unwrap_or_else(|| PathBuf::from(format!("{name}.o")));
    write_file(&obj_path, &art.object)?;
    write_file(&obj_path.with_extension("h"), art.header.as_bytes())?;
    if emit.contains(&"ir") {
        let text = onnxc_ir::text::print_with(&art.graph, &onnxc_ir::text::PrintOptions::readable());
        write_file(&obj_path.with_extension("onnxir"), text.as_bytes())?;
    }
    if let Some(asm) = &art.asm {
        write_file(&obj_path.with_extension("s"), asm.as_bytes())?;
    }
    if emit.contains(&"staticlib") {
        write_staticlib(&obj_path)?;
    }
    if emit.contains(&"rust") {
        let rust = onnxc_kernel::rust_api::rust_module(&art.program, &Default::default());
        write_file(&obj_path.with_extension("rs"), rust.as_bytes())?;
    }
    if let Some(ir) = &art.llvm_ir {
        write_file(&obj_path.with_extension("ll"), ir.as_bytes())?;
    }
    if !a.quiet {
        eprintln!("onnxc: wrote {} and {}", obj_path.display(), obj_path.with_extension("h").display());
    }
    Ok(())
}

/// Writes `lib<stem>.a` beside `obj` with the system `ar` (its symbol index
/// lets linkers pull the object in with `-l<stem>`).
fn write_staticlib(obj: &Path) -> Result<(), Error> {
    let stem = obj.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    let lib = obj.with_file_name(format!("lib{stem}.a"));
    // `ar r` appends to an existing archive; start fresh so stale members never linger.
    let _ = std::fs::remove_file(&lib);
    let out = std::process::Command::new("ar")
        .arg("rcs")
        .arg(&lib)
        .arg(obj)
        .output()
        .map_err(|e| Error::Run(format!("--emit staticlib needs the system `ar` (binutils): {e}")))?;
    if !out.status.success() {
        return Err(Error::Run(format!("ar failed on {}: {}", lib.display(), String::from_utf8_lossy(&out.stderr))));
    }
    Ok(())
}

fn crate_inspect(a: InspectArgs) -> Result<(), Error> {
    let shapes = parse_shapes(&a.model.input_shapes)?;
    print!("{}", onnxc::inspect::report(&a.model.model, &shapes)?);
    Ok(())
}

fn run(a: RunArgs) -> Result<(), Error> {
    let opts = CompileOptions {
        name: default_name(&a.model.model),
        backend: match a.backend {
            BackendArg::Cranelift => Backend::Cranelift,
            BackendArg::Llvm => Backend::Llvm,
        },
        input_shapes: parse_shapes(&a.model.input_shapes)?,
        bind_inputs: parse_binds(&a.bind.binds)?,
        sequence_inputs: parse_seqs(&a.model.input_seqs)?,
        absent_inputs: a.model.absent_inputs.iter().cloned().collect(),
        ..Default::default()
    };
    let graph = onnxc::import_file(&a.model.model, &opts)?;
    let input_names: Vec<String> = graph.inputs.iter().map(|i| graph.value(*i).name.clone()).collect();
    let mut inputs: Vec<Option<onnxc_ir::Tensor>> = vec![None; input_names.len()];
    for (pos, spec) in a.inputs.iter().enumerate() {
        let (idx, file) = match spec.split_once('=') {
            Some((n, f)) => {
                let idx = input_names.iter().position(|x| x == n).ok_or_else(|| {
                    Error::Usage(format!("--input {n}: the model has no such input (inputs: {})", input_names.join(", ")))
                })?;
                (idx, f)
            }
            None => (pos, spec.as_str()),
        };
        if idx >= inputs.len() {
            return Err(Error::Usage(format!("--input {spec}: the model has only {} inputs", inputs.len())));
        }
        let data = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        let t = onnxc::npy::read(&data).map_err(|e| Error::Usage(format!("{file}: {e}")))?;
        // numpy has no float8/int4/... dtype: (u)int8 bytes stand for them.
        let want = graph.ty(graph.inputs[idx]).dtype;
        let t = if want.is_small() && matches!(t.dtype(), onnxc_ir::DType::U8 | onnxc_ir::DType::I8) {
            let ty = onnxc_ir::TensorType::new(want, t.shape().to_vec());
            onnxc_ir::Tensor::from_bytes(ty, t.bytes().clone()).map_err(|e| Error::Usage(format!("{file}: {e}")))?
        } else {
            t
        };
        inputs[idx] = Some(t);
    }
    let inputs: Vec<onnxc_ir::Tensor> = inputs
        .into_iter()
        .zip(&input_names)
        .map(|(t, n)| t.ok_or_else(|| Error::Usage(format!("missing --input {n}=FILE.npy"))))
        .collect::<Result<_, _>>()?;
    let output_names: Vec<String> = graph.outputs.iter().map(|o| graph.display_name(*o)).collect();
    let outputs = if a.interpret {
        onnxc_ir::eval::eval_graph(&graph, &inputs)?
    } else {
        let art = onnxc::compile_graph(graph, &opts)?;
        let model = onnxc::host::LoadedModel::load(&art)?;
        let pool = (a.threads != 1).then(|| onnxc_runtime::Pool::new(a.threads));
        let outputs = model.run_with_pool(&inputs, pool.as_ref())?;
        if a.repeat > 1 {
            let mut times = Vec::with_capacity(a.repeat);
            for _ in 0..a.repeat {
                let t = Instant::now();
                model.run_with_pool(&inputs, pool.as_ref())?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            times.sort_by(f64::total_cmp);
            let threads = pool.as_ref().map_or(1, |p| p.threads());
            eprintln!(
                "onnxc: median run {:.3} ms over {} runs (min {:.3} ms, {threads} thread(s))",
                times[times.len() / 2],
                times.len(),
                times[0]
            );
        }
        outputs
    };
    for (t, n) in outputs.iter().zip(output_names) {
        let path = a.output_dir.join(format!("{}.npy", onnxc_kernel::cabi::sanitize_ident(&n)));
        write_file(&path, &onnxc::npy::write(t).map_err(|e| Error::Run(e.to_string()))?)?;
        println!("{}: {}{:?} -> {}", n, t.dtype(), t.shape(), path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_seqs;

    #[test]
    fn input_seq_specs() {
        let specs = ["x=3x4,2x4".to_string(), "e=".to_string(), "s=(),()".to_string()];
        let m = parse_seqs(&specs).unwrap();
        assert_eq!(m["x"], vec![vec![3, 4], vec![2, 4]]);
        assert!(m["e"].is_empty());
        assert_eq!(m["s"], vec![Vec::<usize>::new(), Vec::new()]);
        assert!(parse_seqs(&["x=3xa".to_string()]).is_err());
        assert!(parse_seqs(&["=3".to_string()]).is_err());
    }
}
