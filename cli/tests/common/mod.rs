#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]
//! Shared helpers: an in-process simulator on its own runtime, and the
//! built `selo` binary.

use selo::safra::SafraProfile;
use selo_sim::ServerOptions;
use selo_sim::safra::{SafraConfig, SafraSim};
use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Output};

pub const SELO: &str = env!("CARGO_BIN_EXE_selo");

/// A simulator and the runtime that serves it (the test thread stays free
/// to run the binary synchronously).
pub struct Harness {
    pub sim: SafraSim,
    pub rt: tokio::runtime::Runtime,
}

pub fn safra(profile: SafraProfile) -> Harness {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(selo_sim::safra::start(SafraConfig {
            profile,
            bank_key_bits: 1024,
            server: ServerOptions::default(),
            ..SafraConfig::default()
        }))
        .unwrap();
    Harness { sim, rt }
}

pub fn selo(args: &[&str]) -> Output {
    Command::new(SELO).args(args).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The JSON document a `--json` command printed.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// `selo --json safra flow` against the harness with extra arguments.
pub fn flow(h: &Harness, extra: &[&str]) -> Output {
    flow_at(&h.sim.base_url(), "CLI0001", extra)
}

/// `selo --json safra flow --base-url <url> --cliente <cliente>` with extra
/// arguments.
pub fn flow_at(url: &str, cliente: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--json",
        "safra",
        "flow",
        "--base-url",
        url,
        "--cliente",
        cliente,
    ];
    args.extend_from_slice(extra);
    selo(&args)
}

/// The URL a spawned `selo sim …` prints first (`listening on <url>`), and
/// the rest of its stdout (keep it alive while the simulator runs).
pub fn first_line(child: &mut Child) -> (String, Lines<BufReader<ChildStdout>>) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    (
        first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {first:?}"))
            .to_string(),
        lines,
    )
}

pub fn step<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {doc:#}"))
}

pub fn recoveries(doc: &serde_json::Value, name: &str) -> Vec<String> {
    step(doc, name)["recoveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}
