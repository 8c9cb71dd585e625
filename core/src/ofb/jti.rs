//! Replay protection for `jti` (SPEC §3.2 step 7, §3.3).

use super::{Code, Error, JTI_TTL};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Outcome of [`JtiCache::check_and_insert`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JtiStatus {
    /// First sighting within the window; now recorded.
    Fresh,
    /// Already seen for this client within the window.
    Replayed,
}

/// A set of `(client id, jti)` pairs remembered for [`JTI_TTL`] seconds.
///
/// Implementations must make check-and-insert atomic: a Redis-backed one is
/// `SET <prefix>:<client>:<jti> 1 NX EX 86400` (`OK` → `Fresh`, nil →
/// `Replayed`). Time comes in as `now` (Unix seconds).
pub trait JtiCache {
    /// Records the pair and says whether it was already present. An `Err`
    /// (e.g. [`Code::ReplayCapacity`], or a host's storage failure) means
    /// the request must be refused: replay cannot be ruled out.
    fn check_and_insert(
        &mut self,
        client_id: &str,
        jti: &str,
        now: u64,
    ) -> Result<JtiStatus, Error>;
}

/// What a full [`MemoryJtiCache`] does once expired entries are gone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WhenFull {
    /// Refuse the new entry with [`Code::ReplayCapacity`] (HTTP 503): fail
    /// closed, never forget a live `jti`. The default.
    #[default]
    Refuse,
    /// Forget the oldest live entry to make room. Availability over strict
    /// replay protection; safe in practice only when the oldest entry is
    /// older than the accepted `iat` window (a replay of it would then fail
    /// the `iat` check anyway).
    EvictOldest,
}

type Key = [u8; 32];

/// An in-memory [`JtiCache`] with TTL eviction and a hard entry bound.
///
/// Each entry costs a fixed amount of memory whatever the lengths of the
/// client id and `jti`: the pair is stored as SHA-256 of a length-prefixed
/// encoding. Expired entries are dropped on every insert (oldest first);
/// when the bound is still reached, [`WhenFull`] decides.
#[derive(Clone, Debug)]
pub struct MemoryJtiCache {
    ttl: u64,
    capacity: usize,
    when_full: WhenFull,
    seq: u64,
    entries: HashMap<Key, (u64, u64)>,
    by_age: BTreeMap<(u64, u64), Key>,
}

impl Default for MemoryJtiCache {
    /// 100 000 entries, TTL 86 400 s, [`WhenFull::Refuse`].
    fn default() -> Self {
        Self::new(100_000, WhenFull::Refuse)
    }
}

impl MemoryJtiCache {
    /// A cache holding at most `capacity` live entries (at least 1).
    pub fn new(capacity: usize, when_full: WhenFull) -> Self {
        Self {
            ttl: JTI_TTL,
            capacity: capacity.max(1),
            when_full,
            seq: 0,
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
        }
    }

    /// Overrides the TTL (tests, or a window longer than 86 400 s).
    pub fn with_ttl(mut self, ttl_seconds: u64) -> Self {
        self.ttl = ttl_seconds;
        self
    }

    /// Number of entries held (live or not yet evicted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry bound.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn key(client_id: &str, jti: &str) -> Key {
        let mut h = Sha256::new();
        h.update((client_id.len() as u64).to_be_bytes());
        h.update(client_id.as_bytes());
        h.update(jti.as_bytes());
        h.finalize().into()
    }

    fn expired(&self, inserted: u64, now: u64) -> bool {
        now >= inserted.saturating_add(self.ttl)
    }

    /// Drops every entry whose TTL has passed at `now`.
    pub fn evict_expired(&mut self, now: u64) {
        while let Some((&(t, s), _)) = self.by_age.first_key_value() {
            if !self.expired(t, now) {
                break;
            }
            if let Some(k) = self.by_age.remove(&(t, s)) {
                self.entries.remove(&k);
            }
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((_, k)) = self.by_age.pop_first() {
            self.entries.remove(&k);
        }
    }
}

impl JtiCache for MemoryJtiCache {
    fn check_and_insert(
        &mut self,
        client_id: &str,
        jti: &str,
        now: u64,
    ) -> Result<JtiStatus, Error> {
        let key = Self::key(client_id, jti);
        if let Some(&(t, s)) = self.entries.get(&key) {
            if !self.expired(t, now) {
                return Ok(JtiStatus::Replayed);
            }
            self.entries.remove(&key);
            self.by_age.remove(&(t, s));
        }
        self.evict_expired(now);
        if self.entries.len() >= self.capacity {
            match self.when_full {
                WhenFull::Refuse => {
                    return Err(Error::new(
                        Code::ReplayCapacity,
                        format!(
                            "stage 7 (replay): the jti cache holds {} live entries (its bound); refusing rather than forgetting a live jti",
                            self.entries.len()
                        ),
                    ));
                }
                WhenFull::EvictOldest => {
                    while self.entries.len() >= self.capacity {
                        self.evict_oldest();
                    }
                }
            }
        }
        self.seq = self.seq.wrapping_add(1);
        self.entries.insert(key, (now, self.seq));
        self.by_age.insert((now, self.seq), key);
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
}
