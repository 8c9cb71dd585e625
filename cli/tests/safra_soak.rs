#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The Rust driver's fault soak (issue: Safra failure paths): 1000 complete
//! flows with random faults through `selo safra soak`, each checked against
//! the outcome its fault must produce (a flow that recovers passes every
//! step; answer-550 ends its step with safra.bank.business;
//! reconcile-fails ends the register in safra.boleto.outcome_unknown as
//! often as the reconciling query fails, then reconciles it); the seed is
//! printed and can be pinned with SELO_SOAK_SEED. The flow count is fixed.

mod common;

use common::{selo, stderr, stdout};

#[test]
fn a_thousand_faulty_flows_end_typed_with_no_duplicate_registration() {
    let seed = std::env::var("SELO_SOAK_SEED").unwrap_or_else(|_| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
            .to_string()
    });
    eprintln!("soak seed {seed}");
    let out = selo(&["safra", "soak", "--flows", "1000", "--seed", &seed]);
    let text = stdout(&out);
    let err = stderr(&out);
    println!("{text}");
    assert_eq!(out.status.code(), Some(0), "seed {seed}\n{text}\n{err}");
    let line = text
        .lines()
        .find(|l| l.starts_with("soak: 1000 flows, "))
        .unwrap_or_else(|| panic!("no soak line (seed {seed}):\n{text}"));
    // Every flow ended as its fault must make it (the command checks each
    // one and counts the others as unexpected), and none registered twice.
    assert!(line.ends_with(", 0 unexpected, 0 duplicates"), "{line}");
    let nums: Vec<u32> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(nums[1] + nums[2], 1000, "ok + typed errors = flows: {line}");
    // Faults were really drawn, the promise-keeping one among them.
    let faults = text
        .lines()
        .find(|l| l.contains("flows by fault"))
        .unwrap_or_else(|| panic!("no fault line (seed {seed}):\n{text}"));
    for f in ["store-then-502", "stall", "answer-550", "reconcile-fails"] {
        assert!(
            faults.contains(&format!("\"{f}\"")),
            "{f} never drawn: {faults}"
        );
    }
    assert!(!text.contains("soak: 0 psd050 reconciled"), "{text}");
}
