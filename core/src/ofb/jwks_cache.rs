//! Remote JWK Sets: one policy for every host (SPEC §3.3a), sans-I/O.
//!
//! A [`JwksCache`] decides, for each token to verify, whether the host may
//! verify with the set it holds, must fetch the set (holding the single
//! flight), must wait for the fetch in flight, or must refuse. The host
//! performs the GET it is told to — one deadline for the whole fetch
//! ([`FetchTicket::timeout_ms`]), at most [`FetchTicket::max_bytes`] read,
//! no redirect followed — and hands back the status and bytes
//! ([`JwksCache::fetched`]) or the way it failed ([`JwksCache::failed`]).
//! Nothing here reads a clock or a socket: `now` is milliseconds from the
//! caller.
//!
//! The policy (defaults, [`JwksPolicy`]):
//! - a set is reused for `max_age_ms` (10 min);
//! - a token whose `kid` the set lacks triggers a fetch only when none
//!   started within `cooldown_ms` (30 s) — cold, refresh or kid fetch —
//!   whatever `kid`s attackers choose;
//! - one fetch at a time; a request whose `kid` is in the set never waits
//!   for it (an old set is refreshed in the background);
//! - after a failed fetch, no other starts before an exponential backoff
//!   (1 s, doubling, at most 5 min);
//! - while fetches fail, the last good set keeps serving for `stale_grace_ms`
//!   (24 h) after it went stale — stale-if-error — then verification is
//!   refused with `ofb.jwks.unavailable` (503);
//! - `https` only, unless the URL's host is loopback or `allow_http`.

use super::{Code, Error};
use crate::keys::jwk::{Jwk, JwkSet};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The remote JWK Set policy. `Default` is SPEC §3.3a.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwksPolicy {
    /// How long a fetched set is used before it is refreshed (ms).
    pub max_age_ms: u64,
    /// An unknown `kid` fetches only when no fetch started within this
    /// period (ms).
    pub cooldown_ms: u64,
    /// One deadline for a whole fetch, connect to last byte (ms).
    pub timeout_ms: u64,
    /// The first wait after a failed fetch (ms); it doubles per failure.
    pub backoff_initial_ms: u64,
    /// The longest wait between failed fetches (ms).
    pub backoff_max_ms: u64,
    /// How long the last good set keeps serving after it went stale while
    /// fetches fail (ms).
    pub stale_grace_ms: u64,
    /// The largest response body read (bytes); a host stops reading past it.
    pub max_bytes: usize,
    /// Accept an `http://` URL whose host is not loopback.
    pub allow_http: bool,
}

/// The default response limit: 512 KiB.
pub const DEFAULT_MAX_BYTES: usize = 512 * 1024;

impl Default for JwksPolicy {
    fn default() -> Self {
        Self {
            max_age_ms: 600_000,
            cooldown_ms: 30_000,
            timeout_ms: 5_000,
            backoff_initial_ms: 1_000,
            backoff_max_ms: 300_000,
            stale_grace_ms: 86_400_000,
            max_bytes: DEFAULT_MAX_BYTES,
            allow_http: false,
        }
    }
}

impl JwksPolicy {
    /// Loads a policy from JSON; absent members take their defaults,
    /// unknown ones are refused.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let p: Self = serde_json::from_str(json)
            .map_err(|e| Error::new(Code::JwksUrl, format!("JWKS policy JSON rejected: {e}")))?;
        p.validate()?;
        Ok(p)
    }

    /// The policy as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::new(Code::JwksUrl, format!("JWKS policy: {m}")));
        if self.timeout_ms == 0 || self.max_bytes == 0 {
            return bad("timeout_ms and max_bytes must be positive");
        }
        if self.backoff_initial_ms > self.backoff_max_ms {
            return bad("backoff_initial_ms must not exceed backoff_max_ms");
        }
        Ok(())
    }
}

/// A fetch the host must perform now: `GET url`, with `Accept:
/// application/json`, no redirect followed, at most `max_bytes` read, the
/// whole exchange cut off after `timeout_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchTicket {
    /// Names this fetch when its result is handed back.
    pub id: u64,
    /// The JWK Set URL.
    pub url: String,
    /// The deadline of the whole fetch (ms).
    pub timeout_ms: u64,
    /// The most bytes of body to read.
    pub max_bytes: usize,
}

/// What the host does with the token it is about to verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Verify with [`JwksCache::jwks`] now. When `refresh` is set, the set
    /// is old: start that fetch in the background — the request does not
    /// wait for it.
    Use {
        /// A background refresh to start, if any.
        refresh: Option<FetchTicket>,
    },
    /// No usable set, or the token's `kid` is unknown: perform this fetch,
    /// hand its result back, then decide again.
    Fetch(FetchTicket),
    /// A fetch is in flight: wait for it to end (at most until `until_ms`),
    /// then decide again.
    Wait {
        /// When the fetch in flight is given up (ms).
        until_ms: u64,
    },
}

/// How a fetch failed before a complete response was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FetchFailure {
    /// The deadline passed (connect, headers or body).
    Timeout,
    /// The connection failed or broke.
    Network,
    /// The body went past `max_bytes`: reading stopped.
    TooLarge,
    /// The host's HTTP client or TLS refused it (certificate, protocol).
    Refused,
}

impl FetchFailure {
    /// Every kind, in wire-name order.
    pub const ALL: [FetchFailure; 4] = [
        FetchFailure::Timeout,
        FetchFailure::Network,
        FetchFailure::TooLarge,
        FetchFailure::Refused,
    ];

    /// The wire name (`"timeout"`, `"network"`, `"too-large"`, `"refused"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            FetchFailure::Timeout => "timeout",
            FetchFailure::Network => "network",
            FetchFailure::TooLarge => "too-large",
            FetchFailure::Refused => "refused",
        }
    }
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FetchFailure {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown fetch failure {s:?} (timeout, network, too-large, refused)")
            })
    }
}

/// A key of a fetched set that did not parse (the others stay usable).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedKey {
    /// Its index in `keys`.
    pub index: usize,
    /// Its `kid`, when it had a string one.
    pub kid: Option<String>,
    /// Why it was skipped (stable code and message).
    pub error: String,
}

/// Counters a host can read (metrics, tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwksStats {
    /// Fetches started.
    pub fetches: u64,
    /// Fetches that failed (including abandoned ones).
    pub failures: u64,
    /// Decisions refused with `ofb.jwks.unavailable`.
    pub refused: u64,
    /// Consecutive failures since the last good fetch.
    pub consecutive_failures: u32,
}

#[derive(Clone, Copy, Debug)]
struct Flight {
    id: u64,
    deadline: u64,
}

/// How long after its deadline a fetch the host never reported is given up.
const FLIGHT_GRACE_MS: u64 = 1_000;

/// The remote JWK Set state machine. See the module docs.
#[derive(Debug)]
pub struct JwksCache {
    url: String,
    policy: JwksPolicy,
    set: Option<Arc<JwkSet>>,
    fetched_at: u64,
    flight: Option<Flight>,
    next_id: u64,
    retry_at: u64,
    kid_fetch_at: Option<u64>,
    last_error: Option<Error>,
    skipped: Vec<SkippedKey>,
    stats: JwksStats,
}

impl JwksCache {
    /// A cache for the set at `url`: `https`, or `http` to a loopback host
    /// (`localhost`, 127.0.0.0/8, `[::1]`) or with `policy.allow_http`.
    pub fn new(url: &str, policy: JwksPolicy) -> Result<Self, Error> {
        policy.validate()?;
        check_url(url, policy.allow_http)?;
        Ok(Self {
            url: url.to_string(),
            policy,
            set: None,
            fetched_at: 0,
            flight: None,
            next_id: 1,
            retry_at: 0,
            kid_fetch_at: None,
            last_error: None,
            skipped: Vec::new(),
            stats: JwksStats::default(),
        })
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The policy.
    pub fn policy(&self) -> &JwksPolicy {
        &self.policy
    }

    /// The set to verify with (after a [`Decision::Use`]).
    pub fn jwks(&self) -> Option<Arc<JwkSet>> {
        self.set.clone()
    }

    /// Keys of the last good set that did not parse.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// The counters.
    pub fn stats(&self) -> JwksStats {
        self.stats
    }

    /// The error of the last failed fetch, while fetches fail.
    pub fn last_error(&self) -> Option<&Error> {
        self.last_error.as_ref()
    }

    /// The decision for a token whose header names `kid` (`None`: no
    /// readable `kid`, verification will refuse it), at `now` (ms).
    pub fn decide(&mut self, now: u64, kid: Option<&str>) -> Result<Decision, Error> {
        if let Some(f) = self.flight
            && now > f.deadline.saturating_add(FLIGHT_GRACE_MS)
        {
            // The host never said how it ended: count it failed.
            self.flight = None;
            self.failure(
                now,
                Error::new(
                    Code::JwksFetch,
                    format!(
                        "JWKS {}: the fetch was not reported within its {} ms deadline",
                        self.url, self.policy.timeout_ms
                    ),
                ),
            );
        }
        let usable_until = self
            .fetched_at
            .saturating_add(self.policy.max_age_ms)
            .saturating_add(self.policy.stale_grace_ms);
        let usable = self.set.as_ref().filter(|_| now < usable_until);
        let Some(set) = usable else {
            if let Some(f) = self.flight {
                return Ok(Decision::Wait {
                    until_ms: f.deadline,
                });
            }
            if now >= self.retry_at {
                return Ok(Decision::Fetch(self.start(now)));
            }
            self.stats.refused = self.stats.refused.saturating_add(1);
            return Err(self.unavailable(now));
        };
        let fresh = now < self.fetched_at.saturating_add(self.policy.max_age_ms);
        let known = kid.is_none_or(|k| set.find_kid(k).next().is_some());
        if known {
            if !fresh && self.flight.is_none() && now >= self.retry_at {
                return Ok(Decision::Use {
                    refresh: Some(self.start(now)),
                });
            }
            return Ok(Decision::Use { refresh: None });
        }
        if let Some(f) = self.flight {
            return Ok(Decision::Wait {
                until_ms: f.deadline,
            });
        }
        let cooled = self
            .kid_fetch_at
            .is_none_or(|t| now >= t.saturating_add(self.policy.cooldown_ms));
        if cooled && now >= self.retry_at {
            return Ok(Decision::Fetch(self.start(now)));
        }
        // Within the cooldown: verification refuses the unknown `kid`.
        Ok(Decision::Use { refresh: None })
    }

    /// [`JwksCache::decide`] for a compact JWS: its `kid` is read from the
    /// header (bounded, strict, nothing verified).
    pub fn decide_for_token(&mut self, now: u64, token: &str) -> Result<Decision, Error> {
        let kid = super::jws::header_kid(token);
        self.decide(now, kid.as_deref())
    }

    /// The response to fetch `ticket_id`: `status` and `body` (at most
    /// `max_bytes`), received at `now`. Anything but a 200 with a JWK Set is
    /// a failed fetch (the error says why); keys that do not parse are
    /// skipped and reported, the others kept.
    pub fn fetched(
        &mut self,
        ticket_id: u64,
        now: u64,
        status: u16,
        body: &[u8],
    ) -> Result<&[SkippedKey], Error> {
        let current = self.flight.is_some_and(|f| f.id == ticket_id);
        if current {
            self.flight = None;
        }
        match self.read(status, body) {
            Ok((set, skipped)) => {
                self.set = Some(Arc::new(set));
                self.fetched_at = now;
                self.retry_at = 0;
                self.last_error = None;
                self.skipped = skipped;
                self.stats.consecutive_failures = 0;
                Ok(&self.skipped)
            }
            Err(e) => {
                if current {
                    self.failure(now, e.clone());
                }
                Err(e)
            }
        }
    }

    /// Fetch `ticket_id` ended without a complete response: `failure` says
    /// how. Returns the error recorded (for the host's log).
    pub fn failed(
        &mut self,
        ticket_id: u64,
        now: u64,
        failure: FetchFailure,
        detail: &str,
    ) -> Error {
        let e = Error::new(
            Code::JwksFetch,
            match failure {
                FetchFailure::Timeout => format!(
                    "JWKS {}: no complete answer within {} ms",
                    self.url, self.policy.timeout_ms
                ),
                FetchFailure::TooLarge => format!(
                    "JWKS {}: the body went past {} bytes; reading stopped",
                    self.url, self.policy.max_bytes
                ),
                FetchFailure::Network | FetchFailure::Refused => {
                    format!("JWKS {}: {failure}: {}", self.url, truncate(detail))
                }
            },
        );
        if self.flight.is_some_and(|f| f.id == ticket_id) {
            self.flight = None;
            self.failure(now, e.clone());
        }
        e
    }

    fn start(&mut self, now: u64) -> FetchTicket {
        // Every fetch — cold, refresh or for an unknown kid — starts the
        // cooldown: requests with new kids right after it do not fetch again.
        self.kid_fetch_at = Some(now);
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.flight = Some(Flight {
            id,
            deadline: now.saturating_add(self.policy.timeout_ms),
        });
        self.stats.fetches = self.stats.fetches.saturating_add(1);
        FetchTicket {
            id,
            url: self.url.clone(),
            timeout_ms: self.policy.timeout_ms,
            max_bytes: self.policy.max_bytes,
        }
    }

    fn failure(&mut self, now: u64, e: Error) {
        self.stats.failures = self.stats.failures.saturating_add(1);
        self.stats.consecutive_failures = self.stats.consecutive_failures.saturating_add(1);
        let shift = self.stats.consecutive_failures.saturating_sub(1).min(32);
        let wait = self
            .policy
            .backoff_initial_ms
            .checked_shl(shift)
            .unwrap_or(u64::MAX)
            .min(self.policy.backoff_max_ms);
        self.retry_at = now.saturating_add(wait);
        self.last_error = Some(e);
    }

    fn unavailable(&self, now: u64) -> Error {
        let why = match (&self.set, &self.last_error) {
            (Some(_), Some(e)) => format!(
                "the last good set is older than max_age + stale_grace and fetching fails ({})",
                e.message()
            ),
            (None, Some(e)) => format!("no set was ever fetched ({})", e.message()),
            _ => "no set was ever fetched".to_string(),
        };
        Error::new(
            Code::JwksUnavailable,
            format!(
                "JWKS {}: no usable key set: {why}; next fetch in {} ms",
                self.url,
                self.retry_at.saturating_sub(now)
            ),
        )
    }

    fn read(&self, status: u16, body: &[u8]) -> Result<(JwkSet, Vec<SkippedKey>), Error> {
        let fail = |m: String| Error::new(Code::JwksFetch, format!("JWKS {}: {m}", self.url));
        if (300..400).contains(&status) {
            return Err(fail(format!(
                "answered HTTP {status}: redirects are not followed"
            )));
        }
        if status != 200 {
            return Err(fail(format!("answered HTTP {status}")));
        }
        if body.len() > self.policy.max_bytes {
            return Err(fail(format!(
                "the body has {} bytes, over the {}-byte limit",
                body.len(),
                self.policy.max_bytes
            )));
        }
        parse_lenient(body).map_err(fail)
    }
}

/// A JWK Set document whose keys are parsed one by one: a key that does
/// not parse is skipped and reported. The document itself must be a JSON
/// object with a `keys` array (serde_json's depth limit bounds nesting).
pub fn parse_lenient(body: &[u8]) -> Result<(JwkSet, Vec<SkippedKey>), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    let keys = value
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| "the body is not a JWK Set (no \"keys\" array)".to_string())?;
    let mut good = Vec::with_capacity(keys.len());
    let mut skipped = Vec::new();
    for (index, k) in keys.iter().enumerate() {
        match Jwk::from_value(k) {
            Ok(jwk) => good.push(jwk),
            Err(e) => skipped.push(SkippedKey {
                index,
                kid: k
                    .get("kid")
                    .and_then(serde_json::Value::as_str)
                    .map(truncate),
                error: format!("{}: {}", e.code(), e.message()),
            }),
        }
    }
    Ok((JwkSet::new(good), skipped))
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

/// `https`, or `http` to loopback (or with `allow_http`); anything else is
/// `ofb.jwks.url`.
fn check_url(url: &str, allow_http: bool) -> Result<(), Error> {
    let bad = |m: String| Err(Error::new(Code::JwksUrl, m));
    let Some((scheme, rest)) = url.split_once("://") else {
        return bad(format!("JWKS URL {:?}: expected https://…", truncate(url)));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // The host is what follows any user information.
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return bad(format!("JWKS URL {:?}: no host", truncate(url)));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if allow_http || is_loopback(host) => Ok(()),
        "http" => bad(format!(
            "JWKS URL {:?}: http is accepted only for a loopback host or with allow_http",
            truncate(url)
        )),
        other => bad(format!(
            "JWKS URL {:?}: scheme {other:?} (expected https)",
            truncate(url)
        )),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in [
            "https://keys.example.org/jwks.json",
            "HTTPS://keys.example.org",
            "http://127.0.0.1:8080/jwks",
            "http://localhost/jwks",
            "http://[::1]:9/x",
            "http://127.1.2.3/x",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://keys.example.org/jwks",
            "http://127.0.0.1@evil.example/jwks",
            "http://localhost.evil.example/x",
            "ftp://keys.example.org/x",
            "keys.example.org/jwks",
            "https:///nohost",
            "file:///etc/passwd",
        ] {
            assert_eq!(
                check_url(bad, false).map_err(|e| e.code()),
                Err("ofb.jwks.url"),
                "{bad}"
            );
        }
        assert!(check_url("http://keys.example.org/jwks", true).is_ok());
        assert!(check_url("http://evil.example@127.0.0.1/jwks", false).is_ok());
    }
}
