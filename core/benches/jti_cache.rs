//! The in-memory replay cache at 1 000 000 live entries (issue 12): prints
//! ns/insert and bytes/entry (the growth of the process's resident set
//! while the cache fills, and the cache's own accounting), then lets criterion time `check_and_insert` on a full-size
//! cache. Run: `cargo bench -p selo --bench jti_cache`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use selo::ofb::{JtiCache, MemoryJtiCache, WhenFull};
use std::hint::black_box;
use std::time::Instant;

/// Resident set size in bytes (Linux `/proc/self/status`), 0 elsewhere.
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<usize>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

const N: u64 = 1_000_000;
const NOW: u64 = 1_790_000_000;

fn jti(i: u64) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", i >> 16, i)
}

fn fill() -> MemoryJtiCache {
    let mut c = MemoryJtiCache::new(N as usize * 2, WhenFull::Refuse);
    for i in 0..N {
        c.check_and_insert_until("client-a", &jti(i), NOW, NOW + 121)
            .unwrap();
    }
    c
}

fn report() {
    let jtis: Vec<String> = (0..N).map(jti).collect();
    let base = rss();
    let mut c = MemoryJtiCache::new(N as usize, WhenFull::Refuse);
    let t = Instant::now();
    for j in &jtis {
        c.check_and_insert_until("client-a", j, NOW, NOW + 121)
            .unwrap();
    }
    let ns = t.elapsed().as_nanos() as f64 / N as f64;
    let held = rss().saturating_sub(base);
    assert_eq!(c.len(), N as usize);
    println!(
        "jti cache: {N} live entries: {ns:.0} ns/insert (SHA-256 key + hash-table insert, growth included); resident set grew {held} bytes = {:.1} bytes/entry ({:.1} MiB); table accounting {} bytes = {:.1} bytes/entry",
        held as f64 / N as f64,
        held as f64 / 1_048_576.0,
        c.heap_bytes(),
        c.heap_bytes() as f64 / N as f64,
    );
    black_box(c);
}

fn bench(cr: &mut Criterion) {
    report();
    // Steady state near 1 000 000 entries: 8 000 inserts per simulated
    // second, each forgotten 121 s later (sweeps included in the timing).
    let mut c = fill();
    let mut i = N;
    cr.bench_function("jti_cache check_and_insert at ~1M live entries", |b| {
        b.iter(|| {
            i += 1;
            let now = NOW + i / 8_000;
            black_box(
                c.check_and_insert_until("client-a", &jti(i), now, now + 121)
                    .unwrap(),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
