//! Helpers shared by the `simulate_*` integration tests: run the binary, read test data, write
//! scratch manifests.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What one run of the binary did.
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output parsed as JSON; panics with the run's stderr when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e})\nexit {}\nstdout:\n{}\nstderr:\n{}",
                self.code, self.stdout, self.stderr
            )
        })
    }
}

/// Runs `karpenter simulate ARGS`, feeding `stdin` when given.
pub fn simulate(args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_karpenter"));
    cmd.arg("simulate").args(args);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.env_remove("RUST_LOG");
    let mut child = cmd.spawn().expect("run the karpenter binary");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for karpenter");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A file under `tests/data/simulate/`.
pub fn data(name: &str) -> String {
    format!("{}/tests/data/simulate/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The repository's `examples/` directory.
pub fn examples_dir() -> String {
    format!("{}/../../examples", env!("CARGO_MANIFEST_DIR"))
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Writes `contents` to a fresh scratch file named `name` and returns its path.
pub fn scratch(name: &str, contents: &str) -> String {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "karpenter-simulate-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write scratch file");
    path.display().to_string()
}

/// Simulates the test pool and catalog plus `manifest` (written to a scratch `input.yaml`),
/// as JSON; returns the run and the manifest's path.
pub fn simulate_with_pool(manifest: &str) -> (Run, String) {
    let path = scratch("input.yaml", manifest);
    let pool = data("pool.yaml");
    let catalog = data("catalog.yaml");
    let run = simulate(
        &[
            "-f",
            &pool,
            "-f",
            &path,
            "--catalog",
            &catalog,
            "-o",
            "json",
        ],
        None,
    );
    (run, path)
}

/// The pod keys of every new node claim, in order.
pub fn claim_pods(v: &serde_json::Value) -> Vec<String> {
    v["nodeClaims"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["pods"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_str().map(String::from))
        .collect()
}
