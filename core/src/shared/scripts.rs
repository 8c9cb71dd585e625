//! The Lua scripts of the shared-state protocol, the calls that run them,
//! and the readers of their replies (docs/shared-state.md §4).
//!
//! An adapter never builds keys or arguments and never interprets a reply:
//! it runs a [`ScriptCall`] (`EVAL script numkeys keys… args…`, or
//! `EVALSHA` with [`script_sha1`] after `SCRIPT LOAD`) and hands the integer
//! reply back to `from_reply` of the matching type. A Redis error, a
//! timeout or a non-integer reply is the adapter's `shared.store_unavailable`
//! (fail closed); an integer outside the script's conventions is
//! `safra.shared.protocol` from here.
//!
//! Every key of one call carries the fleet's hash tag `{safra:<name>}`, so
//! each call runs on one Redis Cluster slot.
//!
//! | script | returns |
//! | --- | --- |
//! | [`LEASE_ACQUIRE`] | `n ≥ 1` acquired, fencing number `n`; `n ≤ -1` held by another for `-n` ms more; `0` arguments refused |
//! | [`LEASE_EXTEND`] | `1` extended; `0` not the owner; `-1` arguments refused |
//! | [`RELEASE_IF_OWNER`] | `1` released; `0` not the owner; `-1` arguments refused |
//! | [`PUBLISH_IF_GENERATION`] | `1` published; `-1` not the lease owner; `-2` fence moved on; `-3` generation changed; `-4` stored record malformed; `-5` arguments refused |

use sha1::Digest as _;

use super::keys::{SafraKeys, check_name};
use super::seal::{MAX_RECORD_LEN, peek_generation};
use crate::rng::CryptoRng;
use crate::safra::{Code, Error};

/// Takes the transition lease and bumps the fencing counter.
///
/// - `KEYS[1]` = [`SafraKeys::lease`], `KEYS[2]` = [`SafraKeys::fence`]
/// - `ARGV[1]` = owner token, `ARGV[2]` = lease TTL in ms (1 to 9 digits)
/// - returns `n ≥ 1`: the lease is the caller's (it was free, or already
///   the caller's), `n` is the new fencing number; `n ≤ -1`: another owner
///   holds it for `-n` ms more (`-1` also when under 1 ms or no TTL is
///   known); `0`: arguments refused. Read with [`LeaseAcquire::from_reply`].
pub const LEASE_ACQUIRE: &str = include_str!("lua/lease_acquire.lua");

/// Extends the lease, only for its owner.
///
/// - `KEYS[1]` = [`SafraKeys::lease`]
/// - `ARGV[1]` = owner token, `ARGV[2]` = new TTL in ms from now
/// - returns `1` extended, `0` not the owner (gone or another's), `-1`
///   arguments refused. Read with [`LeaseExtend::from_reply`].
pub const LEASE_EXTEND: &str = include_str!("lua/lease_extend.lua");

/// Deletes the lease, only for its owner.
///
/// - `KEYS[1]` = [`SafraKeys::lease`]
/// - `ARGV[1]` = owner token
/// - returns `1` released, `0` not the owner (untouched), `-1` arguments
///   refused. Read with [`Release::from_reply`].
pub const RELEASE_IF_OWNER: &str = include_str!("lua/release_if_owner.lua");

/// Writes a new sealed record, only for the lease holder with the latest
/// fencing number, and only over the generation it expects to replace.
///
/// - `KEYS[1]` = [`SafraKeys::record`], `KEYS[2]` = [`SafraKeys::lease`],
///   `KEYS[3]` = [`SafraKeys::fence`]
/// - `ARGV[1]` = owner token, `ARGV[2]` = fencing number, `ARGV[3]` =
///   expected generation (0 = no record yet), `ARGV[4]` = new sealed record,
///   `ARGV[5]` = its generation (greater than `ARGV[3]`, equal to the
///   record's prefix)
/// - checks in this order and returns `-5` arguments refused, `-1` not the
///   lease owner, `-2` fence moved on, `-4` stored record malformed (no
///   `selo1.<generation>.` prefix), `-3` generation changed, else sets the
///   record (no TTL) and returns `1`. Read with [`PublishResult::from_reply`].
pub const PUBLISH_IF_GENERATION: &str = include_str!("lua/publish_if_generation.lua");

/// Every script, by name, in a fixed order (for adapters that `SCRIPT LOAD`
/// them all at start, and for the docs check).
pub const SCRIPTS: &[(&str, &str)] = &[
    ("LEASE_ACQUIRE", LEASE_ACQUIRE),
    ("LEASE_EXTEND", LEASE_EXTEND),
    ("RELEASE_IF_OWNER", RELEASE_IF_OWNER),
    ("PUBLISH_IF_GENERATION", PUBLISH_IF_GENERATION),
];

/// The SHA-1 of a script's source, lower-case hex: what `SCRIPT LOAD`
/// answers and `EVALSHA` takes. An adapter that gets `NOSCRIPT` runs the
/// same call with `EVAL` (the source) instead.
pub fn script_sha1(source: &str) -> String {
    base16ct::lower::encode_string(&sha1::Sha1::digest(source.as_bytes()))
}

/// The longest lease TTL a call may ask for (10 minutes).
pub const MAX_LEASE_TTL_MS: u64 = 600_000;

/// The lease TTL the adapters use unless the host chooses another (30 s):
/// longer than a handshake plus authentication, retries included, and the
/// bound a waiter waits for another instance's transition.
pub const DEFAULT_LEASE_TTL_MS: u64 = 30_000;

/// How often a waiter re-reads the record while another instance holds the
/// lease (100 ms).
pub const WAIT_POLL_INTERVAL_MS: u64 = 100;

fn protocol(why: impl Into<String>) -> Error {
    Error::new(Code::SharedProtocol, why)
}

fn check_ttl(ttl_ms: u64) -> Result<(), Error> {
    if ttl_ms == 0 || ttl_ms > MAX_LEASE_TTL_MS {
        return Err(protocol(format!(
            "lease TTL: expected 1 to {MAX_LEASE_TTL_MS} ms, found {ttl_ms}"
        )));
    }
    Ok(())
}

/// A lease owner token: who holds a fleet's transition lease. Fresh for
/// every transition attempt ([`LeaseOwner::generate`]); an instance that
/// retries an acquire whose reply it lost uses the same token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseOwner(String);

impl LeaseOwner {
    /// A fresh token: 18 random bytes, base64url (24 characters).
    pub fn generate(rng: &mut dyn CryptoRng) -> LeaseOwner {
        let mut b = [0u8; 18];
        rng.fill_bytes(&mut b);
        LeaseOwner(crate::encoding::b64url(&b))
    }

    /// A token the host already holds (as text): 1 to 200 ASCII graphic
    /// characters other than `{` and `}`, else `safra.shared.name`.
    pub fn parse(token: &str) -> Result<LeaseOwner, Error> {
        check_name("lease owner token", token)?;
        Ok(LeaseOwner(token.to_string()))
    }

    /// The token text (the lease key's value).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One script run: `EVAL <script> <keys.len()> <keys…> <args…>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptCall {
    /// The script's name in [`SCRIPTS`].
    pub name: &'static str,
    /// The script's source (for `EVAL`, or `SCRIPT LOAD`).
    pub script: &'static str,
    /// `KEYS`, in order (all in one hash tag).
    pub keys: Vec<String>,
    /// `ARGV`, in order.
    pub args: Vec<String>,
}

impl ScriptCall {
    /// [`script_sha1`] of this call's script (for `EVALSHA`).
    pub fn sha1(&self) -> String {
        script_sha1(self.script)
    }

    /// [`LEASE_ACQUIRE`] for `owner`, `ttl_ms` 1 to [`MAX_LEASE_TTL_MS`]
    /// (else `safra.shared.protocol`).
    pub fn lease_acquire(
        keys: &SafraKeys,
        owner: &LeaseOwner,
        ttl_ms: u64,
    ) -> Result<ScriptCall, Error> {
        check_ttl(ttl_ms)?;
        Ok(ScriptCall {
            name: "LEASE_ACQUIRE",
            script: LEASE_ACQUIRE,
            keys: vec![keys.lease().into(), keys.fence().into()],
            args: vec![owner.as_str().into(), ttl_ms.to_string()],
        })
    }

    /// [`LEASE_EXTEND`] for `owner`, `ttl_ms` 1 to [`MAX_LEASE_TTL_MS`]
    /// (else `safra.shared.protocol`).
    pub fn lease_extend(
        keys: &SafraKeys,
        owner: &LeaseOwner,
        ttl_ms: u64,
    ) -> Result<ScriptCall, Error> {
        check_ttl(ttl_ms)?;
        Ok(ScriptCall {
            name: "LEASE_EXTEND",
            script: LEASE_EXTEND,
            keys: vec![keys.lease().into()],
            args: vec![owner.as_str().into(), ttl_ms.to_string()],
        })
    }

    /// [`RELEASE_IF_OWNER`] for `owner`.
    pub fn release_if_owner(keys: &SafraKeys, owner: &LeaseOwner) -> ScriptCall {
        ScriptCall {
            name: "RELEASE_IF_OWNER",
            script: RELEASE_IF_OWNER,
            keys: vec![keys.lease().into()],
            args: vec![owner.as_str().into()],
        }
    }

    /// [`PUBLISH_IF_GENERATION`]: `sealed` (from [`seal()`](super::seal::seal()))
    /// replaces the record at `expected_generation` (0: no record yet), by
    /// `owner` holding the lease with fencing number `fence`. The new
    /// generation is read from `sealed`'s prefix and must be greater than
    /// `expected_generation`; `fence` must be at least 1; `sealed` must be
    /// a well-formed record text (else `safra.shared.protocol`).
    pub fn publish_if_generation(
        keys: &SafraKeys,
        owner: &LeaseOwner,
        fence: u64,
        expected_generation: u64,
        sealed: &str,
    ) -> Result<ScriptCall, Error> {
        if fence == 0 {
            return Err(protocol(
                "publish: fencing number 0 is never granted (LEASE_ACQUIRE returns 1 or more)",
            ));
        }
        let generation = peek_generation(sealed).map_err(|e| {
            protocol(format!(
                "publish: the new record is not a record text ({})",
                e.message()
            ))
        })?;
        if sealed.len() > MAX_RECORD_LEN {
            return Err(protocol("publish: the new record is over the size limit"));
        }
        if generation <= expected_generation {
            return Err(protocol(format!(
                "publish: the new generation ({generation}) must be greater than the one it replaces ({expected_generation})"
            )));
        }
        Ok(ScriptCall {
            name: "PUBLISH_IF_GENERATION",
            script: PUBLISH_IF_GENERATION,
            keys: vec![
                keys.record().into(),
                keys.lease().into(),
                keys.fence().into(),
            ],
            args: vec![
                owner.as_str().into(),
                fence.to_string(),
                expected_generation.to_string(),
                sealed.into(),
                generation.to_string(),
            ],
        })
    }
}

/// The generation a transition publishes: one more than both the stored
/// record's (`stored`, 0 when absent) and the one the instance last used
/// (`own`), so generations only grow, even past a record an operator
/// deleted. `safra.shared.protocol` at `u64::MAX`.
pub fn next_generation(stored: u64, own: u64) -> Result<u64, Error> {
    stored
        .max(own)
        .checked_add(1)
        .ok_or_else(|| protocol("generation: u64::MAX reached, no next generation"))
}

fn unexpected(script: &str, reply: i64) -> Error {
    protocol(format!(
        "{script} replied {reply}, which the script never returns for arguments the core built (a different script version under the same name?)"
    ))
}

/// [`LEASE_ACQUIRE`]'s reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseAcquire {
    /// The lease is the caller's; publish with this fencing number.
    Acquired {
        /// The new fencing number (1 or more).
        fence: u64,
    },
    /// Another instance holds the lease for about this long: wait for its
    /// generation (poll the record) at most this long, then try again.
    Held {
        /// Remaining lease time in ms (1 or more).
        remaining_ms: u64,
    },
}

impl LeaseAcquire {
    /// Reads the integer reply: `n ≥ 1` acquired, `n ≤ -1` held; `0`
    /// (arguments refused) is `safra.shared.protocol`.
    pub fn from_reply(reply: i64) -> Result<LeaseAcquire, Error> {
        match reply {
            n if n >= 1 => Ok(LeaseAcquire::Acquired {
                fence: n.unsigned_abs(),
            }),
            n if n <= -1 => Ok(LeaseAcquire::Held {
                remaining_ms: n.unsigned_abs(),
            }),
            n => Err(unexpected("LEASE_ACQUIRE", n)),
        }
    }
}

/// [`LEASE_EXTEND`]'s reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseExtend {
    /// The lease is still the caller's, with the new TTL.
    Extended,
    /// The lease expired or another instance holds it: stop the transition
    /// (its publish would be refused) and start over.
    NotOwner,
}

impl LeaseExtend {
    /// Reads the integer reply: `1` extended, `0` not the owner; anything
    /// else is `safra.shared.protocol`.
    pub fn from_reply(reply: i64) -> Result<LeaseExtend, Error> {
        match reply {
            1 => Ok(LeaseExtend::Extended),
            0 => Ok(LeaseExtend::NotOwner),
            n => Err(unexpected("LEASE_EXTEND", n)),
        }
    }
}

/// [`RELEASE_IF_OWNER`]'s reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// The caller's lease is deleted.
    Released,
    /// The lease was gone or another instance's (left untouched).
    NotOwner,
}

impl Release {
    /// Reads the integer reply: `1` released, `0` not the owner; anything
    /// else is `safra.shared.protocol`.
    pub fn from_reply(reply: i64) -> Result<Release, Error> {
        match reply {
            1 => Ok(Release::Released),
            0 => Ok(Release::NotOwner),
            n => Err(unexpected("RELEASE_IF_OWNER", n)),
        }
    }
}

/// [`PUBLISH_IF_GENERATION`]'s reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublishResult {
    /// `1`: the new record is stored.
    Published,
    /// `-1`: the caller no longer holds the lease (it expired; another
    /// instance may have taken it). Nothing written: re-read the record.
    NotLeaseOwner,
    /// `-2`: the caller's fencing number is not the latest grant (the same
    /// token acquired again). Nothing written: re-read the record.
    FenceMovedOn,
    /// `-3`: the stored record's generation is not the one the caller
    /// expected to replace: another writer published first. Nothing
    /// written: adopt the stored record.
    GenerationChanged,
    /// `-4`: the stored record has no `selo1.<generation>.` prefix; nothing
    /// is written over it (an operator deletes the key).
    StoredRecordMalformed,
}

impl PublishResult {
    /// Reads the integer reply (`1`, `-1`, `-2`, `-3`, `-4`); `-5`
    /// (arguments refused) or anything else is `safra.shared.protocol`.
    pub fn from_reply(reply: i64) -> Result<PublishResult, Error> {
        match reply {
            1 => Ok(PublishResult::Published),
            -1 => Ok(PublishResult::NotLeaseOwner),
            -2 => Ok(PublishResult::FenceMovedOn),
            -3 => Ok(PublishResult::GenerationChanged),
            -4 => Ok(PublishResult::StoredRecordMalformed),
            n => Err(unexpected("PUBLISH_IF_GENERATION", n)),
        }
    }

    /// The integer the script returns for this result.
    pub fn reply(self) -> i64 {
        match self {
            PublishResult::Published => 1,
            PublishResult::NotLeaseOwner => -1,
            PublishResult::FenceMovedOn => -2,
            PublishResult::GenerationChanged => -3,
            PublishResult::StoredRecordMalformed => -4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::seal::{SealKey, seal};

    fn keys() -> SafraKeys {
        SafraKeys::new("acme-prod").unwrap()
    }

    #[test]
    fn calls_keep_every_key_in_the_fleets_hash_tag() {
        let k = keys();
        let o = LeaseOwner::parse("owner-1").unwrap();
        let sealed = seal(
            &SealKey::new(&[1; 32]).unwrap(),
            k.name(),
            3,
            b"{}",
            &mut crate::rng::seeded([1; 32]),
        )
        .unwrap();
        let calls = [
            ScriptCall::lease_acquire(&k, &o, 30_000).unwrap(),
            ScriptCall::lease_extend(&k, &o, 30_000).unwrap(),
            ScriptCall::release_if_owner(&k, &o),
            ScriptCall::publish_if_generation(&k, &o, 7, 2, &sealed).unwrap(),
        ];
        for c in &calls {
            assert!(SCRIPTS.contains(&(c.name, c.script)), "{}", c.name);
            for key in &c.keys {
                assert_eq!(crate::shared::keys::cluster_hash_tag(key), k.hash_tag());
            }
        }
        assert_eq!(calls[0].keys, [k.lease(), k.fence()]);
        assert_eq!(calls[0].args, ["owner-1", "30000"]);
        assert_eq!(calls[2].args, ["owner-1"]);
        assert_eq!(calls[3].keys, [k.record(), k.lease(), k.fence()]);
        assert_eq!(calls[3].args, ["owner-1", "7", "2", sealed.as_str(), "3"]);
    }

    #[test]
    fn call_arguments_are_checked() {
        let k = keys();
        let o = LeaseOwner::parse("o").unwrap();
        for ttl in [0, MAX_LEASE_TTL_MS + 1] {
            for r in [
                ScriptCall::lease_acquire(&k, &o, ttl),
                ScriptCall::lease_extend(&k, &o, ttl),
            ] {
                assert_eq!(r.unwrap_err().code(), "safra.shared.protocol");
            }
        }
        assert!(ScriptCall::lease_acquire(&k, &o, MAX_LEASE_TTL_MS).is_ok());
        let sealed = seal(
            &SealKey::new(&[1; 32]).unwrap(),
            k.name(),
            3,
            b"{}",
            &mut crate::rng::seeded([1; 32]),
        )
        .unwrap();
        for (fence, expected, text) in [
            (0, 2, sealed.as_str()),
            (1, 3, sealed.as_str()),
            (1, 4, sealed.as_str()),
            (1, 2, "selo1.03.AAAA"),
            (1, 2, "garbage"),
        ] {
            let e = ScriptCall::publish_if_generation(&k, &o, fence, expected, text).unwrap_err();
            assert_eq!(
                e.code(),
                "safra.shared.protocol",
                "{fence} {expected} {text}"
            );
        }
        for bad in ["", "a b", "{x}", &"x".repeat(201)] {
            assert_eq!(
                LeaseOwner::parse(bad).unwrap_err().code(),
                "safra.shared.name"
            );
        }
    }

    #[test]
    fn owner_tokens_are_fresh_and_valid() {
        let mut rng = crate::rng::seeded([5; 32]);
        let a = LeaseOwner::generate(&mut rng);
        let b = LeaseOwner::generate(&mut rng);
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 24);
        assert_eq!(LeaseOwner::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn replies_are_read_exactly() {
        assert_eq!(
            LeaseAcquire::from_reply(1).unwrap(),
            LeaseAcquire::Acquired { fence: 1 }
        );
        assert_eq!(
            LeaseAcquire::from_reply(i64::MAX).unwrap(),
            LeaseAcquire::Acquired {
                fence: i64::MAX as u64
            }
        );
        assert_eq!(
            LeaseAcquire::from_reply(-1500).unwrap(),
            LeaseAcquire::Held { remaining_ms: 1500 }
        );
        assert_eq!(
            LeaseAcquire::from_reply(i64::MIN).unwrap(),
            LeaseAcquire::Held {
                remaining_ms: 1 << 63
            }
        );
        assert_eq!(
            LeaseAcquire::from_reply(0).unwrap_err().code(),
            "safra.shared.protocol"
        );

        assert_eq!(LeaseExtend::from_reply(1).unwrap(), LeaseExtend::Extended);
        assert_eq!(LeaseExtend::from_reply(0).unwrap(), LeaseExtend::NotOwner);
        assert_eq!(Release::from_reply(1).unwrap(), Release::Released);
        assert_eq!(Release::from_reply(0).unwrap(), Release::NotOwner);
        for n in [-1, 2, -2, i64::MIN, i64::MAX] {
            assert_eq!(
                LeaseExtend::from_reply(n).unwrap_err().code(),
                "safra.shared.protocol"
            );
            assert_eq!(
                Release::from_reply(n).unwrap_err().code(),
                "safra.shared.protocol"
            );
        }

        for p in [
            PublishResult::Published,
            PublishResult::NotLeaseOwner,
            PublishResult::FenceMovedOn,
            PublishResult::GenerationChanged,
            PublishResult::StoredRecordMalformed,
        ] {
            assert_eq!(PublishResult::from_reply(p.reply()).unwrap(), p);
        }
        for n in [-5, 0, 2, -6, i64::MIN] {
            let e = PublishResult::from_reply(n).unwrap_err();
            assert_eq!(e.code(), "safra.shared.protocol");
            assert!(
                e.message().contains("PUBLISH_IF_GENERATION"),
                "{}",
                e.message()
            );
        }
    }

    #[test]
    fn next_generation_only_grows() {
        assert_eq!(next_generation(0, 0).unwrap(), 1);
        assert_eq!(next_generation(4, 2).unwrap(), 5);
        assert_eq!(next_generation(0, 7).unwrap(), 8);
        assert_eq!(
            next_generation(u64::MAX, 1).unwrap_err().code(),
            "safra.shared.protocol"
        );
    }

    /// docs/shared-state.md carries every script verbatim.
    #[test]
    fn docs_carry_every_script_verbatim() {
        let doc = include_str!("../../../docs/shared-state.md");
        for (name, source) in SCRIPTS {
            assert!(
                doc.contains(source),
                "docs/shared-state.md lacks {name} verbatim"
            );
            assert!(
                doc.contains(&script_sha1(source)),
                "docs/shared-state.md lacks {name}'s SHA-1"
            );
        }
    }

    #[test]
    fn scripts_are_distinct_and_hash_stably() {
        let mut shas: Vec<String> = SCRIPTS.iter().map(|(_, s)| script_sha1(s)).collect();
        assert!(shas.iter().all(|s| s.len() == 40));
        shas.sort();
        shas.dedup();
        assert_eq!(shas.len(), SCRIPTS.len());
        // SHA-1("abc"), FIPS 180-1.
        assert_eq!(
            script_sha1("abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
