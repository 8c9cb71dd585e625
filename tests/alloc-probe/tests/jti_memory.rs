//! The replay cache's memory, measured (issue 20): 1 000 000 live entries
//! of the in-memory `jti` cache (the default capacity) under a counting
//! allocator — live heap bytes after, and the peak while the table grows —
//! not computed from a formula.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use selo_alloc_probe as probe;

#[global_allocator]
static ALLOC: probe::Probe = probe::Probe;

use selo::ofb::{DEFAULT_CAPACITY, JtiCache, MemoryJtiCache, WhenFull};

#[test]
fn a_million_live_replay_entries_measured() {
    let before = probe::live();
    probe::reset_peak();
    let mut c = MemoryJtiCache::new(DEFAULT_CAPACITY, WhenFull::Refuse);
    let mut jti = String::with_capacity(36);
    for i in 0..DEFAULT_CAPACITY as u64 {
        jti.clear();
        use std::fmt::Write as _;
        write!(jti, "{:08x}-0000-4000-8000-{:012x}", i >> 16, i).unwrap();
        c.check_and_insert_until("client-a", &jti, 1_790_000_000, 1_790_000_121)
            .unwrap();
    }
    let live = probe::live() - before;
    let peak = probe::peak() - before;
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    println!(
        "1 000 000 live jti entries: {:.1} MiB live ({:.1} bytes/entry), {:.1} MiB peak while growing; the cache's own estimate {:.1} MiB",
        mib(live),
        live as f64 / 1e6,
        mib(peak),
        mib(c.heap_bytes())
    );
    assert_eq!(c.len(), DEFAULT_CAPACITY);
    assert!(live <= 64 << 20, "live {live}");
    // The estimate the cache reports agrees with the measure within 5 %.
    let est = c.heap_bytes() as f64;
    assert!(
        (est - live as f64).abs() / live as f64 <= 0.05,
        "estimate {est} vs measured {live}"
    );
    assert!(peak <= 96 << 20, "peak {peak}");
}
