//! One Safra session shared by many instances through Redis (SPEC §5,
//! `docs/shared-state.md`): [`selo::safra::share::SafraShare`] for Python.
//! It builds the store calls and reads their replies; `selo.redis`
//! (`python/selo/redis.py`) runs them on a redis-py client.

use crate::common::{HostRng, lock, make_rng};
use crate::error::{SeloError, arg};
use crate::safra::SafraSession;
use selo::safra::share::{Acquired, RecordOutcome, SafraShare as CoreShare};
use selo::shared::{PublishResult, Release, ScriptCall};
use std::sync::{Arc, Mutex};

/// One script run: `EVALSHA sha1` (or `EVAL script` on `NOSCRIPT`) with
/// `keys` and `args` as they are; the reply is an integer.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SharedScriptCall {
    pub name: String,
    pub script: String,
    pub sha1: String,
    pub keys: Vec<String>,
    pub args: Vec<String>,
}

fn call_out(c: &ScriptCall) -> SharedScriptCall {
    SharedScriptCall {
        name: c.name.to_string(),
        script: c.script.to_string(),
        sha1: c.sha1(),
        keys: c.keys.clone(),
        args: c.args.clone(),
    }
}

/// What `on_acquire` found: `held`, or another instance holds the lease for
/// about `retry_after_ms` more (0 when held).
#[derive(Clone, Copy, Debug, uniffi::Record)]
pub struct SafraShareAcquired {
    pub held: bool,
    pub retry_after_ms: u64,
}

/// The counters of one instance.
#[derive(Clone, Copy, Debug, uniffi::Record)]
pub struct SafraShareStats {
    /// Handshakes this instance ran and published.
    pub handshakes: u64,
    /// Authentications and renewals this instance ran and published.
    pub renewals: u64,
    /// Records adopted from other instances.
    pub adopted: u64,
    /// Times the lease was found held by another instance.
    pub lease_waits: u64,
    /// Writes refused because the lease was lost (fenced).
    pub lease_steals: u64,
    /// Store calls that failed (counted by the host).
    pub store_errors: u64,
}

struct ShareInner {
    share: CoreShare,
    rng: HostRng,
}

/// One instance's view of a Safra session shared by a fleet (SPEC §5):
/// the lease, the fencing number and the sealed record. Sans I/O: it
/// builds the Redis calls (`record_key`, `acquire`, `publish`, `release`)
/// and reads their replies (`on_record`, `on_acquire`, `on_publish`,
/// `on_release`).
#[derive(uniffi::Object)]
pub struct SafraShare {
    inner: Mutex<ShareInner>,
}

#[uniffi::export]
impl SafraShare {
    /// `name`: the fleet (ASCII `!`..`~` without braces, 1 to 200 bytes,
    /// else `safra.shared.name`); `seal_key`: 32 bytes (else
    /// `safra.shared.seal_key`), never stored; `lease_ttl_ms`: default
    /// 30 000. `rng_seed` (32 bytes): tests only.
    #[uniffi::constructor]
    pub fn new(
        name: String,
        seal_key: Vec<u8>,
        lease_ttl_ms: Option<u64>,
        rng_seed: Option<Vec<u8>>,
    ) -> Result<Arc<Self>, SeloError> {
        let key = zeroize::Zeroizing::new(seal_key);
        let mut share = CoreShare::new(&name, &key)?;
        if let Some(ttl) = lease_ttl_ms {
            share.set_lease_ttl_ms(ttl)?;
        }
        Ok(Arc::new(Self {
            inner: Mutex::new(ShareInner {
                share,
                rng: make_rng(rng_seed)?,
            }),
        }))
    }

    /// The fleet name.
    pub fn name(&self) -> String {
        lock(&self.inner).share.keys().name().to_string()
    }

    /// The lease TTL in milliseconds.
    pub fn lease_ttl_ms(&self) -> u64 {
        lock(&self.inner).share.lease_ttl_ms()
    }

    /// The key to `GET` for the sealed record.
    pub fn record_key(&self) -> String {
        lock(&self.inner).share.record_key().to_string()
    }

    /// The record generation this instance uses (0: none yet).
    pub fn adopted_generation(&self) -> u64 {
        lock(&self.inner).share.adopted_generation()
    }

    /// True while this instance holds the lease.
    pub fn holds_lease(&self) -> bool {
        lock(&self.inner).share.holds_lease()
    }

    /// The counters.
    pub fn stats(&self) -> SafraShareStats {
        let s = lock(&self.inner).share.stats();
        SafraShareStats {
            handshakes: s.handshakes,
            renewals: s.renewals,
            adopted: s.adopted,
            lease_waits: s.lease_waits,
            lease_steals: s.lease_steals,
            store_errors: s.store_errors,
        }
    }

    /// Counts a failed store call (the adapter raises
    /// `shared.store_unavailable`).
    pub fn store_error(&self) {
        lock(&self.inner).share.store_error();
    }

    /// Hands over what `GET record_key` returned (`None`: no record):
    /// "empty", "current" or "adopted" (a newer record, opened and taken by
    /// `session`). A record that does not open under this key and fleet
    /// name is `safra.shared.record_rejected`.
    pub fn on_record(
        &self,
        session: Arc<SafraSession>,
        record: Option<String>,
    ) -> Result<String, SeloError> {
        let mut g = lock(&self.inner);
        let mut s = lock(&session.inner);
        let out = g.share.on_record(&mut s.session, record.as_deref())?;
        Ok(match out {
            RecordOutcome::Empty => "empty",
            RecordOutcome::Current => "current",
            RecordOutcome::Adopted => "adopted",
        }
        .to_string())
    }

    /// The script call that takes the lease (a fresh owner each time).
    pub fn acquire(&self) -> Result<SharedScriptCall, SeloError> {
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        let c = inner.share.acquire(&mut *inner.rng)?;
        Ok(call_out(&c))
    }

    /// Hands over the acquire call's integer reply.
    pub fn on_acquire(&self, reply: i64) -> Result<SafraShareAcquired, SeloError> {
        Ok(match lock(&self.inner).share.on_acquire(reply)? {
            Acquired::Held => SafraShareAcquired {
                held: true,
                retry_after_ms: 0,
            },
            Acquired::Busy { retry_after_ms } => SafraShareAcquired {
                held: false,
                retry_after_ms,
            },
        })
    }

    /// Lets `session` run transitions (the lease is held and the record
    /// re-read).
    pub fn grant(&self, session: Arc<SafraSession>) -> Result<(), SeloError> {
        let mut g = lock(&self.inner);
        let mut s = lock(&session.inner);
        Ok(g.share.grant(&mut s.session)?)
    }

    /// True when the lease is held and `session` finished its transitions
    /// under it: publish now.
    pub fn ready_to_publish(&self, session: Arc<SafraSession>) -> bool {
        let g = lock(&self.inner);
        let s = lock(&session.inner);
        g.share.ready_to_publish(&s.session)
    }

    /// The script call that publishes `session`'s credentials, sealed.
    pub fn publish(&self, session: Arc<SafraSession>) -> Result<SharedScriptCall, SeloError> {
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        let s = lock(&session.inner);
        let c = inner.share.publish(&s.session, &mut *inner.rng)?;
        Ok(call_out(&c))
    }

    /// Hands over the publish call's integer reply: "published",
    /// "not_lease_owner", "fence_moved_on", "generation_changed" or
    /// "stored_record_malformed" (all but the first counted as a steal:
    /// re-read the record).
    pub fn on_publish(&self, session: Arc<SafraSession>, reply: i64) -> Result<String, SeloError> {
        let mut g = lock(&self.inner);
        let s = lock(&session.inner);
        Ok(match g.share.on_publish(&s.session, reply)? {
            PublishResult::Published => "published",
            PublishResult::NotLeaseOwner => "not_lease_owner",
            PublishResult::FenceMovedOn => "fence_moved_on",
            PublishResult::GenerationChanged => "generation_changed",
            PublishResult::StoredRecordMalformed => "stored_record_malformed",
        }
        .to_string())
    }

    /// Gives the lease up (`session`'s transitions stop): the script call
    /// that deletes it if still this instance's, or `None`.
    pub fn release(&self, session: Arc<SafraSession>) -> Option<SharedScriptCall> {
        let mut g = lock(&self.inner);
        let mut s = lock(&session.inner);
        g.share.release(&mut s.session).map(|c| call_out(&c))
    }

    /// Hands over the release call's integer reply: "released" or
    /// "not_owner" (counted as a steal).
    pub fn on_release(&self, reply: i64) -> Result<String, SeloError> {
        Ok(match lock(&self.inner).share.on_release(reply)? {
            Release::Released => "released",
            Release::NotOwner => "not_owner",
        }
        .to_string())
    }
}

/// The Redis key of a BMP pending transaction (`docs/shared-state.md` §2).
#[uniffi::export]
pub fn shared_bmp_pending_key(idempotency_key: String) -> Result<String, SeloError> {
    if idempotency_key.is_empty() {
        return Err(arg("idempotency key: expected a non-empty string"));
    }
    Ok(selo::shared::bmp_pending_key(&idempotency_key))
}

/// How long a BMP pending transaction is kept, in seconds (7 days).
#[uniffi::export]
pub fn shared_bmp_pending_ttl_seconds() -> u64 {
    selo::shared::BMP_PENDING_TTL_SECONDS
}

/// How often an instance waiting for another's transition re-reads the
/// record, in ms.
#[uniffi::export]
pub fn shared_wait_poll_interval_ms() -> u64 {
    selo::shared::WAIT_POLL_INTERVAL_MS
}

/// The default lease TTL, in ms.
#[uniffi::export]
pub fn shared_default_lease_ttl_ms() -> u64 {
    selo::shared::DEFAULT_LEASE_TTL_MS
}
