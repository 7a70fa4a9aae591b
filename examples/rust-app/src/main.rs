//! Runs the model compiled by build.rs on an .npy input and prints the top-5
//! classes: `onnxc-example-rust-app [INPUT.npy]`.
//!
//! Works for any model with one float32 input and one float32 output; the
//! shapes are checked at compile time by the generated array types.

include!(concat!(env!("OUT_DIR"), "/model.rs"));

mod npy;

use std::process::ExitCode;

fn default_input() -> String {
    let model = env!("ONNXC_EXAMPLE_MODEL");
    // The fixtures come in pairs: X.onnx and X_input_0.npy (tiny_cnn: input.npy).
    match model.strip_suffix(".onnx") {
        Some(stem) if !model.contains("tiny_cnn") => format!("{stem}_input_0.npy"),
        _ => std::path::Path::new(model).with_file_name("input.npy").display().to_string(),
    }
}

fn run() -> Result<(), String> {
    let path = std::env::args().nth(1).unwrap_or_else(default_input);
    let data = npy::read_f32(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut input: Box<model::Input0> = onnxc_runtime::boxed_zeroed();
    if data.len() != input.len() {
        return Err(format!("{path}: {} values, the model takes {:?}", data.len(), model::INPUT_NAMES));
    }
    input.copy_from_slice(&data);

    let mut net = model::Model::new();
    let mut scores: Box<model::Output0> = onnxc_runtime::boxed_zeroed();
    net.run_into(&input, &mut scores).map_err(|e| e.to_string())?;

    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    println!("model {} (workspace {} bytes)", env!("ONNXC_EXAMPLE_MODEL"), model::WORKSPACE_SIZE);
    for &c in order.iter().take(5) {
        println!("class {c}: {:.6}", scores[c]);
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
