//! Runs conformance cases in child processes (the `conformance` binary), in
//! chunks, on `ONNXC_CONFORMANCE_JOBS` workers (default 2). A chunk whose
//! process dies (a crash in generated code) or hangs is re-run case by case,
//! so only the guilty case fails, with stage `crash` or `timeout`.

use crate::report::{CaseResult, Stage};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHUNK: usize = 64;
/// Longest time one case may take; generous because CI shares 2 cores
/// (the binary kills a qemu run after 20 s itself).
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// How to run the `conformance` binary: its path and the options that pick
/// the cell (`--target aarch64 --backend llvm`).
#[derive(Clone, Debug)]
pub struct Runner {
    pub bin: PathBuf,
    pub cache: PathBuf,
    pub extra_args: Vec<String>,
    /// Printed in progress lines (`cranelift/aarch64`).
    pub label: String,
}

pub fn jobs() -> usize {
    std::env::var("ONNXC_CONFORMANCE_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(2).max(1)
}

/// Runs every case, `jobs()` chunk processes at a time.
pub fn run_all(runner: &Runner, names: &[String], ops: &HashMap<String, String>) -> Vec<CaseResult> {
    let queue: Arc<Mutex<Vec<Vec<String>>>> =
        Arc::new(Mutex::new(names.chunks(CHUNK).rev().map(|c| c.to_vec()).collect()));
    let results = Arc::new(Mutex::new(Vec::new()));
    let total = names.len();
    std::thread::scope(|s| {
        for _ in 0..jobs() {
            let (queue, results) = (queue.clone(), results.clone());
            s.spawn(move || loop {
                let Some(chunk) = queue.lock().unwrap().pop() else { break };
                let done = run_chunk_isolated(runner, &chunk, ops);
                let mut r = results.lock().unwrap();
                r.extend(done);
                eprintln!("conformance {}: {}/{total} cases run", runner.label, r.len());
            });
        }
    });
    Arc::try_unwrap(results).unwrap().into_inner().unwrap()
}

/// Runs a chunk in one process; if it dies or hangs, re-runs the cases it
/// did not report one by one, and the case that kills its own process fails.
fn run_chunk_isolated(runner: &Runner, chunk: &[String], ops: &HashMap<String, String>) -> Vec<CaseResult> {
    let run = run_chunk(runner, chunk);
    let mut results = run.results;
    if run.failure.is_none() {
        return results;
    }
    let reported: HashSet<String> = results.iter().map(|r| r.name.clone()).collect();
    for name in chunk.iter().filter(|n| !reported.contains(*n)) {
        let single = run_chunk(runner, std::slice::from_ref(name));
        match (single.results.into_iter().next(), single.failure) {
            (Some(r), _) => results.push(r),
            (None, failure) => {
                let (stage, msg) = failure.unwrap_or((Stage::Crash, "no result".into()));
                let op = ops.get(name).cloned().unwrap_or_default();
                results.push(CaseResult::failed(name, &op, stage, msg));
            }
        }
    }
    results
}

struct ChunkRun {
    results: Vec<CaseResult>,
    /// Why the process did not finish normally.
    failure: Option<(Stage, String)>,
}

fn run_chunk(runner: &Runner, chunk: &[String]) -> ChunkRun {
    let mut child = Command::new(&runner.bin)
        .arg("--cache")
        .arg(&runner.cache)
        .args(&runner.extra_args)
        .args(chunk)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", runner.bin.display()));
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Drain stderr concurrently so a chatty child never blocks on a full pipe.
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // Milliseconds after `start` of the last reported case: the timeout is
    // per case, so a long chunk of healthy cases never times out.
    let start = Instant::now();
    let progress = Arc::new(AtomicU64::new(0));
    let progress_w = progress.clone();
    let out_thread = std::thread::spawn(move || {
        let mut results = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(r) = serde_json::from_str::<CaseResult>(&line) {
                progress_w.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
                results.push(r);
            }
        }
        results
    });
    let failure = wait_with_timeout(&mut child, start, &progress);
    let results = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    let failure = failure.map(|(stage, msg)| (stage, format!("{msg}; stderr: {}", tail(&stderr, 400))));
    ChunkRun { results, failure }
}

/// Waits for `child`; kills it when no case finished for CASE_TIMEOUT.
/// `None` when it exited with 0.
fn wait_with_timeout(child: &mut Child, start: Instant, progress: &AtomicU64) -> Option<(Stage, String)> {
    loop {
        let idle = start.elapsed().saturating_sub(Duration::from_millis(progress.load(Ordering::Relaxed)));
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return None,
            Ok(Some(status)) => return Some((Stage::Crash, format!("process died: {status}"))),
            Ok(None) if idle > CASE_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Some((Stage::Timeout, format!("no result within {} s", CASE_TIMEOUT.as_secs())));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Some((Stage::Crash, format!("wait failed: {e}"))),
        }
    }
}

fn tail(s: &str, max: usize) -> String {
    let s = s.trim();
    let start = s.char_indices().rev().nth(max).map(|(i, _)| i).unwrap_or(0);
    s[start..].replace('\n', " | ")
}
