//! The default pass pipeline, with `--print-ir-after-all` and the verifier.

use crate::bn_fold::BnFold;
use crate::const_fold::ConstFold;
use crate::fuse_elementwise::FuseElementwise;
use crate::fuse_epilogue::FuseEpilogue;
use crate::dce::Dce;
use crate::error::PassError;
use crate::identity::IdentityElim;
use crate::layout::Layout;
use onnxc_ir::{text, verify, Graph};

/// One graph-to-graph transformation.
pub trait Pass {
    /// Short kebab-case name, used in `// IR after <name>` and errors.
    fn name(&self) -> &'static str;
    fn run(&self, g: &mut Graph) -> Result<(), PassError>;
}

#[derive(Clone, Debug)]
pub struct PipelineOptions {
    /// Print the IR after every pass (to stderr with `run`, to the sink with
    /// `run_with_sink`).
    pub print_ir_after_all: bool,
    /// Run the verifier on the input graph and after every pass.
    pub verify: bool,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        // Verification re-runs every shape rule: cheap enough to catch pass
        // bugs in debug builds, not worth paying for in release.
        PipelineOptions { print_ir_after_all: false, verify: cfg!(debug_assertions) }
    }
}

/// The passes `run` applies, in order. Identities go first so folding and
/// DCE see through them; DCE then removes what folding made dead. Fusion
/// comes last: BatchNormalization folds into weights, the layout pass makes
/// some convolutions channels-last (after bn-fold, so the BatchNormalizations
/// left are plain Mul/Add it can carry along; before fusion, so it sees
/// plain ops), then epilogues join their Conv/ConvNhwc/Gemm/MatMul before
/// the remaining elementwise chains fuse, so an activation after a Conv
/// becomes the Conv's epilogue.
pub fn default_passes() -> Vec<Box<dyn Pass>> {
    vec![
        Box::new(IdentityElim),
        Box::new(ConstFold::default()),
        Box::new(Dce),
        Box::new(BnFold),
        Box::new(Layout::default()),
        Box::new(FuseEpilogue),
        Box::new(FuseElementwise),
    ]
}

/// Runs the default pipeline; with `print_ir_after_all`, prints the IR after
/// each pass to stderr.
pub fn run(g: &mut Graph, opts: &PipelineOptions) -> Result<(), PassError> {
    run_with_sink(g, opts, &mut |pass, g| eprint!("{}", ir_after(pass, g)))
}

/// Like `run`, but hands `(pass name, graph)` to `sink` after each pass
/// instead of printing (only when `print_ir_after_all` is set).
pub fn run_with_sink(
    g: &mut Graph,
    opts: &PipelineOptions,
    sink: &mut dyn FnMut(&str, &Graph),
) -> Result<(), PassError> {
    run_passes(g, &default_passes(), opts, sink)
}

/// Runs `passes` in order with the pipeline's printing and verification.
pub fn run_passes(
    g: &mut Graph,
    passes: &[Box<dyn Pass>],
    opts: &PipelineOptions,
    sink: &mut dyn FnMut(&str, &Graph),
) -> Result<(), PassError> {
    // Verify the input first, so a bad import is not blamed on the first pass.
    if opts.verify {
        verify::verify(g).map_err(PassError::InvalidInput)?;
    }
    for p in passes {
        p.run(g)?;
        if opts.print_ir_after_all {
            sink(p.name(), g);
        }
        if opts.verify {
            verify::verify(g)
                .map_err(|error| PassError::Verify { pass: p.name().into(), error })?;
        }
    }
    Ok(())
}

/// The `--print-ir-after-all` text for one pass: a header line and the IR.
pub fn ir_after(pass: &str, g: &Graph) -> String {
    let mut s = format!("// IR after {pass}\n");
    // Weights are elided: a real model would print hundreds of MB of hex.
    s.push_str(&text::print_with(g, &text::PrintOptions::readable()));
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}
