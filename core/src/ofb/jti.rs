//! Replay protection for `jti` (SPEC §3.2 step 7, §3.3).

use super::{Code, Error, JTI_TTL, OfbProfile};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Outcome of [`JtiCache::check_and_insert`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JtiStatus {
    /// First sighting within the window; now recorded.
    Fresh,
    /// Already seen for this client within the window.
    Replayed,
}

impl JtiStatus {
    /// Reads a replay store's answer in a two-phase flow: exactly `"fresh"`
    /// or `"replayed"`. Anything else — `None` (a Redis `SET NX` nil passed
    /// through unmapped), another string, an error the host caught — is
    /// [`Code::StoreFailed`] (HTTP 503): replay cannot be ruled out, so the
    /// request is refused. The message never repeats what the store said
    /// (it may hold a host name and port).
    pub fn from_store_answer(answer: Option<&str>) -> Result<Self, Error> {
        match answer {
            Some("fresh") => Ok(Self::Fresh),
            Some("replayed") => Ok(Self::Replayed),
            _ => Err(store_failed()),
        }
    }
}

/// The [`Code::StoreFailed`] error: fixed text, nothing from the store.
pub fn store_failed() -> Error {
    Error::new(
        Code::StoreFailed,
        "stage 7 (replay): the replay store gave no usable answer (expected \"fresh\" or \"replayed\"); refusing, replay cannot be ruled out",
    )
}

/// A set of `(client id, jti)` pairs remembered for at most [`JTI_TTL`]
/// seconds.
///
/// Implementations must make check-and-insert atomic: a Redis-backed one is
/// `SET <prefix>:<client>:<jti> 1 NX EX <seconds>` — `OK` → `Fresh`, **nil →
/// `Replayed`** (nil is the answer for a key that exists; mapping it to
/// `Fresh` would let every replay through). Time comes in as `now` (Unix
/// seconds).
pub trait JtiCache {
    /// Records the pair and says whether it was already present. An `Err`
    /// (e.g. [`Code::ReplayCapacity`], [`Code::StoreFailed`]) means the
    /// request must be refused: replay cannot be ruled out.
    fn check_and_insert(
        &mut self,
        client_id: &str,
        jti: &str,
        now: u64,
    ) -> Result<JtiStatus, Error>;

    /// Like [`JtiCache::check_and_insert`], with the time after which the
    /// entry is useless: at `forget_after` the token's `iat` is outside the
    /// acceptance window, so a replay is refused at stage 6 anyway (SPEC
    /// §3.3). A cache may forget the pair from then on (a Redis store may
    /// use `EX forget_after - now`). The default ignores the hint.
    fn check_and_insert_until(
        &mut self,
        client_id: &str,
        jti: &str,
        now: u64,
        forget_after: u64,
    ) -> Result<JtiStatus, Error> {
        let _ = forget_after;
        self.check_and_insert(client_id, jti, now)
    }
}

/// What a full [`MemoryJtiCache`] does once entries that can no longer be
/// replayed are gone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WhenFull {
    /// Refuse the new entry with [`Code::ReplayCapacity`] (HTTP 503): fail
    /// closed, never forget a live `jti`. The default.
    #[default]
    Refuse,
    /// Forget the live entries that expire soonest (about an eighth of the
    /// cache at a time) to make room. Availability over strict replay
    /// protection.
    EvictOldest,
}

/// 128 bits of SHA-256 over the length-prefixed (client id, jti) pair.
type Key = [u8; 16];

/// Seconds of `now` between two sweeps of expired entries.
const SWEEP_EVERY: u64 = 10;

/// Default entry bound of [`MemoryJtiCache::default`].
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// An in-memory [`JtiCache`] evicting by the acceptance window, with a hard
/// entry bound.
///
/// Each entry costs a fixed amount of memory whatever the lengths of the
/// client id and `jti`: the pair is stored as 128 bits of SHA-256 over a
/// length-prefixed encoding, with its expiry (24 bytes in a hash table;
/// about 50 bytes per entry at 1 000 000 entries, see
/// `benches/jti_cache.rs`). An entry expires at the earlier of
/// `forget_after` (from [`check_replay_in_window`](super::check_replay_in_window):
/// `iat + iat_max_age + iat_future_skew`) and `now + ttl` (86 400 s).
/// Expired entries are swept at most every 10 s of `now`, and whenever the
/// bound is reached (at most once per second); only when the cache is still
/// full of entries that could be replayed does [`WhenFull`] decide.
#[derive(Clone, Debug)]
pub struct MemoryJtiCache {
    ttl: u64,
    capacity: usize,
    when_full: WhenFull,
    next_sweep: u64,
    last_sweep: Option<u64>,
    entries: HashMap<Key, u64>,
}

impl Default for MemoryJtiCache {
    /// 1 000 000 entries, TTL 86 400 s, [`WhenFull::Refuse`].
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, WhenFull::Refuse)
    }
}

/// The replay key form of a `jti`: a UUID (RFC 4122 text form, any case) in
/// lower case; any other string as it is.
pub fn normalise_jti(jti: &str) -> std::borrow::Cow<'_, str> {
    if jti.len() == 36
        && jti.bytes().any(|b| b.is_ascii_uppercase())
        && uuid::Uuid::try_parse(jti).is_ok()
    {
        std::borrow::Cow::Owned(jti.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(jti)
    }
}

impl MemoryJtiCache {
    /// A cache holding at most `capacity` live entries (at least 1).
    pub fn new(capacity: usize, when_full: WhenFull) -> Self {
        Self {
            ttl: JTI_TTL,
            capacity: capacity.max(1),
            when_full,
            next_sweep: 0,
            last_sweep: None,
            entries: HashMap::new(),
        }
    }

    /// A cache for `profile`: an error ([`Code::Profile`]) when the
    /// profile's acceptance window (`iat_max_age + iat_future_skew`) is
    /// longer than the TTL (86 400 s) — entries would be forgotten while
    /// a replay of them still passes stage 6.
    pub fn for_profile(
        capacity: usize,
        when_full: WhenFull,
        profile: &OfbProfile,
    ) -> Result<Self, Error> {
        profile.validate()?;
        Ok(Self::new(capacity, when_full))
    }

    /// Overrides the TTL, the upper bound of every entry's life (tests, or
    /// a window longer than 86 400 s).
    pub fn with_ttl(mut self, ttl_seconds: u64) -> Self {
        self.ttl = ttl_seconds;
        self
    }

    /// Number of entries held (live or not yet swept).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Heap bytes of the table (an estimate from its bucket count: each
    /// bucket is a 16-byte key, an 8-byte expiry and one control byte).
    pub fn heap_bytes(&self) -> usize {
        let cap = self.entries.capacity();
        if cap == 0 {
            return 0;
        }
        // hashbrown: buckets = next power of two of capacity × 8 / 7.
        let buckets = (cap.saturating_mul(8) / 7).next_power_of_two();
        buckets.saturating_mul(std::mem::size_of::<(Key, u64)>() + 1)
    }

    /// The entry bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn key(client_id: &str, jti: &str) -> Key {
        let mut h = Sha256::new();
        h.update((client_id.len() as u64).to_be_bytes());
        h.update(client_id.as_bytes());
        h.update(normalise_jti(jti).as_bytes());
        let d: [u8; 32] = h.finalize().into();
        let mut k = [0u8; 16];
        for (dst, src) in k.iter_mut().zip(d) {
            *dst = src;
        }
        k
    }

    /// Drops every entry whose expiry has passed at `now`.
    pub fn evict_expired(&mut self, now: u64) {
        self.entries.retain(|_, &mut exp| exp > now);
        self.last_sweep = Some(now);
        self.next_sweep = now.saturating_add(SWEEP_EVERY);
    }

    /// Forgets about an eighth of the entries: those expiring soonest.
    fn evict_soonest(&mut self) {
        let mut exps: Vec<u64> = self.entries.values().copied().collect();
        if exps.is_empty() {
            return;
        }
        let n = (exps.len() / 8).max(1).min(exps.len()) - 1;
        let (_, &mut cut, _) = exps.select_nth_unstable(n);
        self.entries.retain(|_, &mut exp| exp > cut);
    }
}

impl JtiCache for MemoryJtiCache {
    fn check_and_insert(
        &mut self,
        client_id: &str,
        jti: &str,
        now: u64,
    ) -> Result<JtiStatus, Error> {
        self.check_and_insert_until(client_id, jti, now, u64::MAX)
    }

    fn check_and_insert_until(
        &mut self,
        client_id: &str,
        jti: &str,
        now: u64,
        forget_after: u64,
    ) -> Result<JtiStatus, Error> {
        let key = Self::key(client_id, jti);
        if let Some(&exp) = self.entries.get(&key) {
            if exp > now {
                return Ok(JtiStatus::Replayed);
            }
            self.entries.remove(&key);
        }
        let full = self.entries.len() >= self.capacity;
        if now >= self.next_sweep || (full && self.last_sweep.is_none_or(|t| now > t)) {
            self.evict_expired(now);
        }
        if self.entries.len() >= self.capacity {
            match self.when_full {
                WhenFull::Refuse => {
                    return Err(Error::new(
                        Code::ReplayCapacity,
                        format!(
                            "stage 7 (replay): the jti cache holds {} entries that could still be replayed (its bound); refusing rather than forgetting one",
                            self.entries.len()
                        ),
                    ));
                }
                WhenFull::EvictOldest => {
                    while self.entries.len() >= self.capacity {
                        self.evict_soonest();
                    }
                }
            }
        }
        let exp = forget_after.min(now.saturating_add(self.ttl));
        if exp > now {
            self.entries.insert(key, exp);
        }
        Ok(JtiStatus::Fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_within_ttl_and_fresh_after() {
        let mut c = MemoryJtiCache::default();
        assert_eq!(c.check_and_insert("a", "j", 100).unwrap(), JtiStatus::Fresh);
        assert_eq!(
            c.check_and_insert("a", "j", 200).unwrap(),
            JtiStatus::Replayed
        );
        // Same jti, other client: independent.
        assert_eq!(c.check_and_insert("b", "j", 200).unwrap(), JtiStatus::Fresh);
        // Length prefix: ("ab","c") differs from ("a","bc").
        assert_eq!(
            c.check_and_insert("ab", "c", 200).unwrap(),
            JtiStatus::Fresh
        );
        assert_eq!(
            c.check_and_insert("a", "bc", 200).unwrap(),
            JtiStatus::Fresh
        );
        assert_eq!(
            c.check_and_insert("a", "j", 100 + JTI_TTL - 1).unwrap(),
            JtiStatus::Replayed
        );
        assert_eq!(
            c.check_and_insert("a", "j", 100 + JTI_TTL).unwrap(),
            JtiStatus::Fresh
        );
    }

    #[test]
    fn bound_refuses_or_evicts_oldest_and_expired_go_first() {
        let mut c = MemoryJtiCache::new(2, WhenFull::Refuse);
        c.check_and_insert("c", "1", 10).unwrap();
        c.check_and_insert("c", "2", 20).unwrap();
        let e = c.check_and_insert("c", "3", 30).unwrap_err();
        assert_eq!(e.kind(), Code::ReplayCapacity);
        assert_eq!(c.len(), 2);
        // Once "1" expired, there is room again.
        assert_eq!(
            c.check_and_insert("c", "3", 10 + JTI_TTL).unwrap(),
            JtiStatus::Fresh
        );
        assert_eq!(c.len(), 2);

        let mut c = MemoryJtiCache::new(2, WhenFull::EvictOldest);
        c.check_and_insert("c", "1", 10).unwrap();
        c.check_and_insert("c", "2", 20).unwrap();
        c.check_and_insert("c", "3", 30).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            c.check_and_insert("c", "2", 40).unwrap(),
            JtiStatus::Replayed
        );
        assert_eq!(
            c.check_and_insert("c", "3", 40).unwrap(),
            JtiStatus::Replayed
        );
        // "1" was the oldest and was forgotten.
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn entries_go_once_the_window_passed_and_uuids_are_case_insensitive() {
        let mut c = MemoryJtiCache::new(2, WhenFull::Refuse);
        let u = "7960577c-662c-456e-8cf5-e630828af635";
        assert_eq!(
            c.check_and_insert_until("a", u, 100, 221).unwrap(),
            JtiStatus::Fresh
        );
        assert_eq!(
            c.check_and_insert_until("a", &u.to_ascii_uppercase(), 220, 400)
                .unwrap(),
            JtiStatus::Replayed
        );
        c.check_and_insert_until("a", "x", 100, 221).unwrap();
        // Full of live entries: refused.
        let e = c.check_and_insert_until("a", "y", 220, 400).unwrap_err();
        assert_eq!(e.kind(), Code::ReplayCapacity);
        // At 221 both entries can no longer be replayed: room again.
        assert_eq!(
            c.check_and_insert_until("a", "y", 221, 400).unwrap(),
            JtiStatus::Fresh
        );
        assert_eq!(c.len(), 1);
        // The TTL stays the upper bound.
        let mut c = MemoryJtiCache::default().with_ttl(50);
        c.check_and_insert_until("a", "z", 100, 1_000).unwrap();
        assert_eq!(c.check_and_insert("a", "z", 150).unwrap(), JtiStatus::Fresh);
    }

    #[test]
    fn store_answers_other_than_fresh_or_replayed_fail_closed() {
        assert_eq!(
            JtiStatus::from_store_answer(Some("fresh")).unwrap(),
            JtiStatus::Fresh
        );
        assert_eq!(
            JtiStatus::from_store_answer(Some("replayed")).unwrap(),
            JtiStatus::Replayed
        );
        for bad in [None, Some(""), Some("OK"), Some("Fresh"), Some("nil")] {
            let e = JtiStatus::from_store_answer(bad).unwrap_err();
            assert_eq!(e.kind(), Code::StoreFailed);
            assert_eq!(e.http_status(), Some(503));
        }
    }

    #[test]
    fn a_profile_whose_window_exceeds_the_ttl_is_refused() {
        let p = OfbProfile {
            iat_max_age: 86_400,
            iat_future_skew: 300,
            ..OfbProfile::default()
        };
        let e = MemoryJtiCache::for_profile(10, WhenFull::Refuse, &p).unwrap_err();
        assert_eq!(e.kind(), Code::Profile);
        let p = OfbProfile::from_json(r#"{"iat_max_age": 86400, "iat_future_skew": 1}"#).unwrap();
        assert_eq!(p.validate().unwrap_err().kind(), Code::Profile);
        // The conformance suite's −1 day / +5 min does not fit a 86 400 s
        // TTL; 86 100 + 300 does.
        OfbProfile::from_json(r#"{"iat_max_age": 86100, "iat_future_skew": 300}"#)
            .unwrap()
            .validate()
            .unwrap();
        MemoryJtiCache::for_profile(10, WhenFull::Refuse, &OfbProfile::default()).unwrap();
    }
}
