//! The ONNX node conformance suite (scripts/gen_conformance.py → .cache/conformance).
//!
//! Cases run in child processes (the `conformance` binary), in chunks, on
//! `ONNXC_CONFORMANCE_JOBS` workers (default 2). A chunk whose process dies
//! (a crash in generated code) or hangs is re-run case by case, so only the
//! guilty case fails. Prints a per-op table and `N passed, M failed`, writes
//! `.cache/conformance/summary.json`, and fails only if fewer cases pass than
//! the floor in `tests/conformance_floor.txt` (a ratchet raised as ops land).
//! An unsupported op is a failure, never a skip.
//!
//! Environment: `ONNXC_ALLOW_MISSING_SUITE=1` passes with 0 cases when the
//! cache is missing (otherwise the script generates it);
//! `ONNXC_CONFORMANCE_FILTER=substr` runs only matching case names.

use onnxc_tests::report::{CaseResult, Stage, Summary};
use onnxc_tests::suite::{self, ConformanceManifest};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHUNK: usize = 64;
/// Longest time one case may take; generous because CI shares 2 cores.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn conformance_suite() {
    let cache = suite::cache_dir("conformance");
    match suite::ensure("gen_conformance.py", &cache) {
        Ok(true) => {}
        Ok(false) => {
            println!("conformance: {} is missing and ONNXC_ALLOW_MISSING_SUITE=1: running 0 cases", cache.display());
            println!("0 passed, 0 failed");
            return;
        }
        Err(e) => panic!("conformance: cannot generate the suite: {e}"),
    }
    let manifest: ConformanceManifest = suite::read_json(&cache.join("manifest.json")).unwrap();
    let filter = std::env::var("ONNXC_CONFORMANCE_FILTER").unwrap_or_default();
    let names: Vec<String> =
        manifest.cases.iter().map(|c| c.name.clone()).filter(|n| n.contains(filter.as_str())).collect();
    let ops = manifest.cases.iter().map(|c| (c.name.clone(), c.op.clone())).collect();

    let start = Instant::now();
    let results = run_all(&cache, &names, &ops);
    let summary = Summary::new(&manifest.onnx_version, results);
    let summary_path = cache.join("summary.json");
    std::fs::write(&summary_path, summary.to_json()).expect("write summary.json");

    println!("{}", summary.op_table());
    println!("failures by stage: {:?}", summary.failed_by_stage);
    println!("summary: {} ({:.0} s)", summary_path.display(), start.elapsed().as_secs_f64());
    println!("conformance: {} passed, {} failed", summary.passed, summary.failed);
    let floor = read_floor();
    assert!(
        summary.passed >= floor,
        "conformance regressed: {} cases pass, the floor in tests/conformance_floor.txt is {floor}",
        summary.passed
    );
    if filter.is_empty() && summary.passed > floor {
        println!(
            "conformance: {} passes above the floor {floor}: raise tests/conformance_floor.txt",
            summary.passed - floor
        );
    }
}

fn read_floor() -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance_floor.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim().parse().unwrap_or_else(|_| panic!("{}: not a number: {text:?}", path.display()))
}

fn jobs() -> usize {
    std::env::var("ONNXC_CONFORMANCE_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(2).max(1)
}

/// Runs every case, `jobs()` chunk processes at a time.
fn run_all(cache: &Path, names: &[String], ops: &std::collections::HashMap<String, String>) -> Vec<CaseResult> {
    let queue: Arc<Mutex<Vec<Vec<String>>>> =
        Arc::new(Mutex::new(names.chunks(CHUNK).rev().map(|c| c.to_vec()).collect()));
    let results = Arc::new(Mutex::new(Vec::new()));
    let total = names.len();
    std::thread::scope(|s| {
        for _ in 0..jobs() {
            let (queue, results) = (queue.clone(), results.clone());
            s.spawn(move || loop {
                let Some(chunk) = queue.lock().unwrap().pop() else { break };
                let done = run_chunk_isolated(cache, &chunk, ops);
                let mut r = results.lock().unwrap();
                r.extend(done);
                eprintln!("conformance: {}/{total} cases run", r.len());
            });
        }
    });
    Arc::try_unwrap(results).unwrap().into_inner().unwrap()
}

/// Runs a chunk in one process; if it dies or hangs, re-runs the cases it
/// did not report one by one, and the case that kills its own process fails.
fn run_chunk_isolated(
    cache: &Path,
    chunk: &[String],
    ops: &std::collections::HashMap<String, String>,
) -> Vec<CaseResult> {
    let run = run_chunk(cache, chunk);
    let mut results = run.results;
    if run.failure.is_none() {
        return results;
    }
    let reported: std::collections::HashSet<String> = results.iter().map(|r| r.name.clone()).collect();
    for name in chunk.iter().filter(|n| !reported.contains(*n)) {
        let single = run_chunk(cache, std::slice::from_ref(name));
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

fn conformance_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_conformance"))
}

fn run_chunk(cache: &Path, chunk: &[String]) -> ChunkRun {
    let mut child = Command::new(conformance_bin())
        .arg("--cache")
        .arg(cache)
        .args(chunk)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the conformance binary");
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
