//! Shared helpers for integration tests: fixture paths and the bridge to
//! independent implementations (Python `cryptography`/PyJWT/jwcrypto, Node
//! `crypto`/`jose`) used by the interop tests.
//!
//! An interop script reads one JSON document on stdin and writes one on
//! stdout. The interpreters come from `scripts/setup` (`.venv`,
//! `tests/interop/node_modules`); override with `SELO_PYTHON` / `SELO_NODE`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use selo::crypto::{RsaProvider, RustCryptoProvider};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub mod safra;

/// Every RSA provider this build has: RustCrypto and, with the `aws-lc`
/// feature, aws-lc.
pub fn providers() -> Vec<&'static dyn RsaProvider> {
    #[allow(unused_mut)]
    let mut v: Vec<&'static dyn RsaProvider> = vec![&RustCryptoProvider];
    #[cfg(feature = "aws-lc")]
    v.push(&selo::crypto::AwsLcProvider);
    v
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reads a file under `tests/vectors/`.
pub fn vector_text(rel: &str) -> String {
    let p = root().join("tests/vectors").join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Parses a JSON file under `tests/vectors/`.
pub fn vector_json(rel: &str) -> Value {
    serde_json::from_str(&vector_text(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn run(program: &str, script: &str, input: &Value) -> Value {
    let script_path = root().join("tests/interop").join(script);
    let mut child = Command::new(program)
        .arg(&script_path)
        .current_dir(root().join("tests/interop"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {program} for {script}: {e}. Run scripts/setup first.")
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs `tests/interop/<script>` with the project's Python.
pub fn python(script: &str, input: &Value) -> Value {
    let py = std::env::var("SELO_PYTHON").unwrap_or_else(|_| {
        let venv = root().join(".venv/bin/python");
        if venv.exists() {
            venv.display().to_string()
        } else {
            "python3".into()
        }
    });
    run(&py, script, input)
}

/// Runs `tests/interop/<script>` with Node.
pub fn node(script: &str, input: &Value) -> Value {
    let node = std::env::var("SELO_NODE").unwrap_or_else(|_| "node".into());
    run(&node, script, input)
}
