//! A global allocator for tests: counts live heap bytes (and their peak),
//! and, while armed, scans every block being freed for secret byte strings
//! (a freed block that still holds a secret is a copy nobody wiped).
//! A crate of its own because it needs `unsafe` (the core forbids it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The allocator: `#[global_allocator] static A: Probe = Probe;` in a test binary.
pub struct Probe;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);
static FOUND: AtomicUsize = AtomicUsize::new(0);

const MAX_PATTERNS: usize = 16;
const MAX_LEN: usize = 128;
// Written only while disarmed (by the one test thread of the binary that
// arms it), read only while armed.
static mut PATTERNS: [[u8; MAX_LEN]; MAX_PATTERNS] = [[0; MAX_LEN]; MAX_PATTERNS];
static mut LENS: [usize; MAX_PATTERNS] = [0; MAX_PATTERNS];
static mut HITS: [usize; MAX_PATTERNS] = [0; MAX_PATTERNS];

unsafe impl GlobalAlloc for Probe {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::Acquire) {
            // SAFETY: `ptr` points to `layout.size()` initialised-or-not
            // bytes we own until System.dealloc; reading them as u8 is fine
            // for a scan (uninitialised bytes only cause false negatives).
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            #[allow(static_mut_refs)]
            // SAFETY: patterns are not written while armed.
            let (pats, lens) = unsafe { (&PATTERNS, &LENS) };
            for i in 0..MAX_PATTERNS {
                let n = lens[i];
                if n > 0 && block.windows(n).any(|w| w == &pats[i][..n]) {
                    FOUND.fetch_add(1, Ordering::Relaxed);
                    // SAFETY: a counter only this path writes (races only
                    // miscount, and the total FOUND is exact).
                    unsafe { HITS[i] += 1 };
                }
            }
        }
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    // realloc: the default (alloc, copy, dealloc) so the old block is scanned.
}

/// Live heap bytes now.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The peak of live heap bytes since the last `reset_peak`.
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

pub fn reset_peak() {
    PEAK.store(live(), Ordering::Relaxed);
}

/// Sets the secrets to look for (at most 16, each at most 128 bytes; longer
/// ones are looked for by their first 128 bytes) and disarms.
pub fn set_patterns(p: &[&[u8]]) {
    ARMED.store(false, Ordering::Release);
    assert!(p.len() <= MAX_PATTERNS);
    for i in 0..MAX_PATTERNS {
        let s = p.get(i).copied().unwrap_or(&[]);
        let n = s.len().min(MAX_LEN);
        // SAFETY: disarmed; one test thread writes.
        unsafe {
            PATTERNS[i][..n].copy_from_slice(&s[..n]);
            LENS[i] = n;
            HITS[i] = 0;
        }
    }
    FOUND.store(0, Ordering::Relaxed);
}

/// Runs `f` armed; returns how many freed blocks held a secret, per pattern.
pub fn armed<T>(f: impl FnOnce() -> T) -> (T, Vec<usize>) {
    ARMED.store(true, Ordering::Release);
    let out = f();
    ARMED.store(false, Ordering::Release);
    // SAFETY: disarmed.
    #[allow(static_mut_refs)]
    let hits = unsafe { HITS.to_vec() };
    (out, hits)
}
