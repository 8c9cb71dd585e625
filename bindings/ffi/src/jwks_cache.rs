//! Remote JWK Sets (SPEC §3.3a): the core's policy object. The host asks
//! `selo_jwks_cache_decide` before verifying a token and does what it says
//! — verify with `selo_jwks_cache_jwks`, perform the fetch it names (GET the
//! URL, no redirect, at most `selo_jwks_cache_max_bytes` read, the whole
//! fetch within `selo_jwks_cache_timeout_ms`) and hand back the status and
//! bytes, or wait for the fetch in flight. A handle must not be used by two
//! threads at once: a host serialises its calls (they are short; the
//! fetch itself runs outside them).

use crate::ofb::SeloJwks;
use crate::{
    Out, SeloStatus, alloc_string, bytes_arg, call, free_handle, handle_mut, handle_ref,
    new_handle, str_arg,
};
use selo::ofb::{Decision, FetchFailure, JwksCache, JwksPolicy};
use std::ffi::c_char;

/// The remote JWK Set cache (opaque).
pub struct SeloJwksCache {
    inner: JwksCache,
    url_c: std::ffi::CString,
}

/// What the host does with the token it is about to verify.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloJwksDecisionKind {
    /// Verify with `selo_jwks_cache_jwks` now; when `ticket` is not 0,
    /// also start that fetch in the background (the request does not wait).
    Use = 0,
    /// Perform fetch `ticket` now, hand its result back, then decide again.
    Fetch = 1,
    /// A fetch is in flight: wait for it (at most until `until_ms`), then
    /// decide again.
    Wait = 2,
}

/// A decision (see `SeloJwksDecisionKind`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SeloJwksDecision {
    /// A `SeloJwksDecisionKind`.
    pub kind: u32,
    /// The fetch to perform (0: none).
    pub ticket: u64,
    /// `WAIT`: when the fetch in flight is given up (Unix ms).
    pub until_ms: i64,
}

/// How a fetch failed before a complete response was read.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloFetchFailure {
    /// The deadline passed (connect, headers or body).
    Timeout = 0,
    /// The connection failed or broke.
    Network = 1,
    /// The body went past the byte limit: reading stopped.
    TooLarge = 2,
    /// The HTTP client or TLS refused it (certificate, protocol).
    Refused = 3,
}

fn ms_arg(v: i64, what: &str) -> Result<u64, crate::FfiError> {
    u64::try_from(v).map_err(|_| crate::FfiError::arg(format!("{what}: negative time {v}")))
}

/// A cache for the JWK Set at `url` (`https`, or `http` to a loopback host
/// unless the policy says `allow_http`); `policy_json` a `JwksPolicy`
/// (`""` = the defaults: max age 10 min, cooldown 30 s, timeout 5 s,
/// backoff 1 s doubling to 5 min, stale grace 24 h, 512 KiB). A refused
/// URL or policy is `ofb.jwks.url`.
///
/// # Safety
/// Strings are NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jwks_cache_new(
    url: *const c_char,
    policy_json: *const c_char,
    out: *mut *mut SeloJwksCache,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let p = str_arg(policy_json, "policy_json")?;
        let policy = if p.trim().is_empty() {
            JwksPolicy::default()
        } else {
            JwksPolicy::from_json(p)?
        };
        let url = str_arg(url, "url")?;
        let inner = JwksCache::new(url, policy)?;
        // A C string never holds a NUL: the conversion cannot fail.
        let url_c = std::ffi::CString::new(url).unwrap_or_default();
        out.write(new_handle(SeloJwksCache { inner, url_c }));
        Ok(())
    })
}

/// The decision for compact JWS `token` (its header's `kid` is read by the
/// core; NULL or unreadable: no `kid`) at `now_ms` (Unix milliseconds).
/// `ofb.jwks.unavailable` (HTTP 503) when there is no usable set and no
/// fetch may start now.
///
/// # Safety
/// `token` is NULL or NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jwks_cache_decide(
    cache: *mut SeloJwksCache,
    now_ms: i64,
    token: *const c_char,
    out: *mut SeloJwksDecision,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let c = handle_mut(cache, "cache")?;
        let now = ms_arg(now_ms, "now_ms")?;
        let d = if token.is_null() {
            c.inner.decide(now, None)?
        } else {
            c.inner.decide_for_token(now, str_arg(token, "token")?)?
        };
        out.write(match d {
            Decision::Use { refresh } => SeloJwksDecision {
                kind: SeloJwksDecisionKind::Use as u32,
                ticket: refresh.map_or(0, |t| t.id),
                until_ms: 0,
            },
            Decision::Fetch(t) => SeloJwksDecision {
                kind: SeloJwksDecisionKind::Fetch as u32,
                ticket: t.id,
                until_ms: 0,
            },
            Decision::Wait { until_ms } => SeloJwksDecision {
                kind: SeloJwksDecisionKind::Wait as u32,
                ticket: 0,
                until_ms: i64::try_from(until_ms).unwrap_or(i64::MAX),
            },
        });
        Ok(())
    })
}

/// Fetch `ticket` answered `status` with `body` (at most the byte limit)
/// at `now_ms`. `SELO_OK` when it was a JWK Set (keys that do not parse
/// are skipped: `selo_jwks_cache_skipped_count`); otherwise
/// `ofb.jwks.fetch` saying why (a status other than 200, a redirect, too
/// large, not a JWK Set) — recorded, with the backoff it starts.
///
/// # Safety
/// `body` points to `len` readable bytes (NULL only with 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jwks_cache_fetched(
    cache: *mut SeloJwksCache,
    ticket: u64,
    now_ms: i64,
    status: u16,
    body: *const u8,
    len: usize,
) -> SeloStatus {
    call(|| {
        let c = handle_mut(cache, "cache")?;
        let now = ms_arg(now_ms, "now_ms")?;
        let body = bytes_arg(body, len, "body")?;
        c.inner.fetched(ticket, now, status, body)?;
        Ok(())
    })
}

/// Fetch `ticket` ended without a complete response (`failure` a
/// `SeloFetchFailure`; `detail` the host's own words, for the log: NULL
/// allowed). Always fails with the recorded `ofb.jwks.fetch` error (so its
/// message can be logged); `SELO_ERR_INVALID_ARGUMENT` for a bad `failure`.
///
/// # Safety
/// `detail` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jwks_cache_failed(
    cache: *mut SeloJwksCache,
    ticket: u64,
    now_ms: i64,
    failure: u32,
    detail: *const c_char,
) -> SeloStatus {
    call(|| {
        let c = handle_mut(cache, "cache")?;
        let now = ms_arg(now_ms, "now_ms")?;
        let failure = match failure {
            0 => FetchFailure::Timeout,
            1 => FetchFailure::Network,
            2 => FetchFailure::TooLarge,
            3 => FetchFailure::Refused,
            other => {
                return Err(crate::FfiError::arg(format!(
                    "failure: expected a SeloFetchFailure (0..=3), found {other}"
                )));
            }
        };
        let detail = if detail.is_null() {
            ""
        } else {
            str_arg(detail, "detail")?
        };
        Err(c.inner.failed(ticket, now, failure, detail).into())
    })
}

/// The set to verify with (after a `USE` decision), as a JWK Set handle
/// sharing the cache's keys (free it with `selo_jwks_free`);
/// `ofb.jwks.unavailable` when there is none.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jwks_cache_jwks(
    cache: *const SeloJwksCache,
    out: *mut *mut SeloJwks,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let c = handle_ref(cache, "cache")?;
        let set = c.inner.jwks().ok_or_else(|| {
            selo::ofb::Error::new(
                selo::ofb::Code::JwksUnavailable,
                "no JWK Set has been fetched yet",
            )
        })?;
        out.write(new_handle(SeloJwks::shared(set)));
        Ok(())
    })
}

/// The URL every fetch GETs (borrowed, valid while the cache lives).
#[unsafe(no_mangle)]
pub extern "C" fn selo_jwks_cache_url(cache: *const SeloJwksCache) -> *const c_char {
    crate::guard(std::ptr::null(), || {
        handle_ref(cache, "cache").map_or(std::ptr::null(), |c| c.url_c.as_ptr())
    })
}

/// The deadline of a whole fetch, ms (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_jwks_cache_timeout_ms(cache: *const SeloJwksCache) -> u64 {
    crate::guard(0, || {
        handle_ref(cache, "cache").map_or(0, |c| c.inner.policy().timeout_ms)
    })
}

/// The most bytes of a fetch's body to read (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_jwks_cache_max_bytes(cache: *const SeloJwksCache) -> usize {
    crate::guard(0, || {
        handle_ref(cache, "cache").map_or(0, |c| c.inner.policy().max_bytes)
    })
}

/// Counters: fetches started, failed fetches, refused decisions
/// (`ofb.jwks.unavailable`), keys skipped in the current set. Any out
/// pointer may be NULL.
///
/// # Safety
/// Non-NULL out pointers are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jwks_cache_stats(
    cache: *const SeloJwksCache,
    fetches: *mut u64,
    failures: *mut u64,
    refused: *mut u64,
    skipped: *mut u64,
) -> SeloStatus {
    call(|| {
        let c = handle_ref(cache, "cache")?;
        let s = c.inner.stats();
        let skipped_n = c.inner.skipped().len() as u64;
        for (p, v) in [
            (fetches, s.fetches),
            (failures, s.failures),
            (refused, s.refused),
            (skipped, skipped_n),
        ] {
            if !p.is_null() {
                // SAFETY: the caller passes NULL or a writable u64.
                unsafe { p.write(v) };
            }
        }
        Ok(())
    })
}

/// Why key `index` of the current set was skipped (`kid` when it had one,
/// then the stable code and message), as text; `SELO_ERR_INVALID_ARGUMENT`
/// past the last skipped key.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jwks_cache_skipped_at(
    cache: *const SeloJwksCache,
    index: usize,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let c = handle_ref(cache, "cache")?;
        let s =
            c.inner.skipped().get(index).ok_or_else(|| {
                crate::FfiError::arg(format!("index {index}: no such skipped key"))
            })?;
        let kid = s
            .kid
            .as_deref()
            .map(|k| format!(" (kid {k:?})"))
            .unwrap_or_default();
        out.write(alloc_string(format!("key #{}{kid}: {}", s.index, s.error))?);
        Ok(())
    })
}

/// Frees a cache (NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_jwks_cache_free(cache: *mut SeloJwksCache) {
    free_handle(cache);
}
