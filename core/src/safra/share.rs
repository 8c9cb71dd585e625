//! One Safra session shared by many instances through a store (SPEC §5,
//! `docs/shared-state.md`): the decisions, sans I/O.
//!
//! Each instance keeps its own [`Session`] marked
//! [shared](Session::set_shared) and one [`SafraShare`]. Business calls use
//! the credentials every instance adopted from the sealed record; only a
//! transition (handshake, psd005, psd007, a recovery) needs the fleet's
//! lease. The host moves bytes between this object and its Redis client:
//!
//! 1. At start (and whenever it likes): `GET` [`SafraShare::record_key`] →
//!    [`SafraShare::on_record`] (adopts a newer record).
//! 2. An operation gets [`Next::Wait`](super::Next::Wait) while
//!    [`Session::wants_lease`]: one task of the process takes the lease —
//!    [`SafraShare::acquire`] → `EVAL` → [`SafraShare::on_acquire`]:
//!    - [`Acquired::Held`]: `GET` the record → [`SafraShare::on_record`]; if
//!      it adopted a newer one, [`SafraShare::release`] (another instance
//!      already ran the transition); else the session's transitions are
//!      granted and run as usual.
//!    - [`Acquired::Busy`]: poll the record every
//!      [`WAIT_POLL_INTERVAL_MS`](crate::shared::WAIT_POLL_INTERVAL_MS)
//!      until [`SafraShare::on_record`] adopts, then go on; try the lease
//!      again once it expired; give up after the lease TTL
//!      (`shared.lease_timeout`).
//! 3. After each response to a transition, while the lease is held:
//!    [`SafraShare::ready_to_publish`] → [`SafraShare::publish`] → `EVAL` →
//!    [`SafraShare::on_publish`] → [`SafraShare::release`] → `EVAL` →
//!    [`SafraShare::on_release`]. An operation that failed while holding
//!    the lease releases it without publishing.
//!
//! Every store error is the host's `shared.store_unavailable` (count it
//! with [`SafraShare::store_error`]); the record is sealed (AES-256-GCM)
//! and never holds the client's private key.

use super::session::{Session, State};
use super::{Code, Error, err};
use crate::rng::CryptoRng;
use crate::shared::{
    DEFAULT_LEASE_TTL_MS, LeaseAcquire, LeaseOwner, PublishResult, Release, SafraKeys, ScriptCall,
    SealKey, next_generation, open, seal,
};

/// What [`SafraShare::on_record`] did with the record it was handed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// No record yet.
    Empty,
    /// The record is the one this instance already uses (or older).
    Current,
    /// A newer record: the session took its credentials.
    Adopted,
}

/// What [`SafraShare::on_acquire`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acquired {
    /// The lease is this instance's (re-read the record next).
    Held,
    /// Another instance holds it for about `retry_after_ms` more.
    Busy {
        /// Milliseconds the lease still lives (at least 1).
        retry_after_ms: u64,
    },
}

/// Counters a host reads to operate a fleet (`stats()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShareStats {
    /// Handshakes this instance ran and published.
    pub handshakes: u64,
    /// Authentications and renewals this instance ran and published.
    pub renewals: u64,
    /// Records adopted from other instances.
    pub adopted: u64,
    /// Times the lease was found held by another instance.
    pub lease_waits: u64,
    /// Writes refused because this instance's lease was stolen or its
    /// generation replaced (fenced).
    pub lease_steals: u64,
    /// Store calls that failed (counted by the host).
    pub store_errors: u64,
}

struct Lease {
    owner: LeaseOwner,
    fence: u64,
    /// The stored generation when the lease was taken (what a publish
    /// replaces).
    base: u64,
    /// The session's generation when transitions were granted.
    session_generation: u64,
    /// A publish was refused: the lease is another instance's now.
    lost: bool,
    /// The generation of the publish sent and not answered yet.
    publishing: Option<u64>,
}

/// One instance's view of a shared Safra session. See the module docs.
pub struct SafraShare {
    keys: SafraKeys,
    seal_key: SealKey,
    lease_ttl_ms: u64,
    /// The record generation this instance uses (0: none yet).
    adopted: u64,
    /// The session id of the credentials adopted or published.
    session_id: String,
    /// A lease acquire sent and not answered yet, then the lease held.
    pending_owner: Option<LeaseOwner>,
    /// The generation this instance used when it last asked for the lease
    /// (until the lease is granted or released): a record adopted since, by
    /// any caller, ends the wait.
    wait_base: Option<u64>,
    lease: Option<Lease>,
    stats: ShareStats,
}

impl SafraShare {
    /// A share of fleet `name` (see [`SafraKeys::new`]) sealed under
    /// `seal_key` (32 bytes), with the default lease TTL.
    pub fn new(name: &str, seal_key: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            keys: SafraKeys::new(name)?,
            seal_key: SealKey::new(seal_key)?,
            lease_ttl_ms: DEFAULT_LEASE_TTL_MS,
            adopted: 0,
            session_id: String::new(),
            pending_owner: None,
            wait_base: None,
            lease: None,
            stats: ShareStats::default(),
        })
    }

    /// Sets the lease TTL (1 ms to
    /// [`MAX_LEASE_TTL_MS`](crate::shared::MAX_LEASE_TTL_MS), else
    /// `safra.shared.protocol`): longer than a handshake takes, short
    /// enough that a killed holder is replaced quickly.
    pub fn set_lease_ttl_ms(&mut self, ttl_ms: u64) -> Result<(), Error> {
        // Validated the way the script call validates it.
        ScriptCall::lease_acquire(&self.keys, &LeaseOwner::parse("probe")?, ttl_ms)?;
        self.lease_ttl_ms = ttl_ms;
        Ok(())
    }

    /// The lease TTL in milliseconds.
    pub fn lease_ttl_ms(&self) -> u64 {
        self.lease_ttl_ms
    }

    /// The fleet's keys.
    pub fn keys(&self) -> &SafraKeys {
        &self.keys
    }

    /// The key to `GET` for the sealed record.
    pub fn record_key(&self) -> &str {
        self.keys.record()
    }

    /// The record generation this instance uses (0: none yet).
    pub fn adopted_generation(&self) -> u64 {
        self.adopted
    }

    /// True while this instance holds the lease.
    pub fn holds_lease(&self) -> bool {
        self.lease.is_some()
    }

    /// The counters.
    pub fn stats(&self) -> ShareStats {
        self.stats
    }

    /// Counts a failed store call (the host raises `shared.store_unavailable`).
    pub fn store_error(&mut self) {
        self.stats.store_errors = self.stats.store_errors.saturating_add(1);
    }

    /// Hands over the value a `GET` of [`SafraShare::record_key`] returned
    /// (`None`: no record). A newer record is opened (its seal checked
    /// against the fleet name and generation) and adopted by `session`.
    /// `Adopted` also when, since this instance last asked for the lease,
    /// any of its callers adopted a newer record: a waiter (or a lease just
    /// taken) has nothing left to do — release, never wait out the lease.
    pub fn on_record(
        &mut self,
        session: &mut Session,
        record: Option<&str>,
    ) -> Result<RecordOutcome, Error> {
        let Some(text) = record else {
            // The store lost the record (a restart without persistence, a
            // flush): a publish under this lease replaces nothing.
            if let Some(lease) = &mut self.lease {
                lease.base = 0;
            }
            return Ok(RecordOutcome::Empty);
        };
        let (generation, plain) = open(&self.seal_key, self.keys.name(), text)?;
        if generation <= self.adopted {
            if let Some(lease) = &mut self.lease {
                // What a publish under this lease replaces is what is stored.
                lease.base = generation;
            }
            if self.wait_base.is_some_and(|b| self.adopted > b) {
                // A caller of this instance (any) adopted a newer record
                // since the lease was last asked for: the wait is over.
                return Ok(RecordOutcome::Adopted);
            }
            return Ok(RecordOutcome::Current);
        }
        session.adopt_credentials(&plain)?;
        self.adopted = generation;
        self.session_id = session.session_id().to_string();
        self.stats.adopted = self.stats.adopted.saturating_add(1);
        if let Some(lease) = &mut self.lease {
            // Taken under the lease: a publish now replaces this one.
            lease.base = generation;
            lease.session_generation = session.generation();
        }
        Ok(RecordOutcome::Adopted)
    }

    /// The `EVAL` that takes the lease (a fresh owner token each time).
    pub fn acquire(&mut self, rng: &mut dyn CryptoRng) -> Result<ScriptCall, Error> {
        let owner = LeaseOwner::generate(rng);
        let call = ScriptCall::lease_acquire(&self.keys, &owner, self.lease_ttl_ms)?;
        self.pending_owner = Some(owner);
        self.wait_base = Some(self.adopted);
        Ok(call)
    }

    /// Hands over the integer the acquire `EVAL` returned. `Held`: re-read
    /// the record ([`SafraShare::on_record`]), then
    /// [`SafraShare::grant`] unless it adopted a newer one.
    pub fn on_acquire(&mut self, reply: i64) -> Result<Acquired, Error> {
        let owner = self.pending_owner.take().ok_or_else(|| {
            err(
                Code::SharedProtocol,
                "an acquire reply without an acquire sent",
            )
        })?;
        match LeaseAcquire::from_reply(reply)? {
            LeaseAcquire::Acquired { fence } => {
                self.lease = Some(Lease {
                    owner,
                    fence,
                    base: self.adopted,
                    session_generation: 0,
                    lost: false,
                    publishing: None,
                });
                Ok(Acquired::Held)
            }
            LeaseAcquire::Held { remaining_ms } => {
                self.stats.lease_waits = self.stats.lease_waits.saturating_add(1);
                Ok(Acquired::Busy {
                    retry_after_ms: remaining_ms.max(1),
                })
            }
        }
    }

    /// Lets `session` run transitions (the lease is held and the record
    /// re-read). `safra.shared.protocol` without the lease.
    pub fn grant(&mut self, session: &mut Session) -> Result<(), Error> {
        let Some(lease) = &mut self.lease else {
            return Err(err(
                Code::SharedProtocol,
                "transitions granted without the lease",
            ));
        };
        lease.session_generation = session.generation();
        session.grant_transitions(true);
        self.wait_base = None;
        Ok(())
    }

    /// True when the lease is held and `session` finished the transitions
    /// it ran under it (authenticated, nothing in flight): publish now.
    pub fn ready_to_publish(&self, session: &Session) -> bool {
        self.lease.as_ref().is_some_and(|l| {
            session.state() == State::Authenticated
                && !session.transition_in_flight()
                && session.generation() != l.session_generation
        })
    }

    /// The `EVAL` that publishes `session`'s credentials, sealed at the
    /// next generation, if the stored one is still the one this lease
    /// replaces.
    pub fn publish(
        &mut self,
        session: &Session,
        rng: &mut dyn CryptoRng,
    ) -> Result<ScriptCall, Error> {
        let Some(lease) = &mut self.lease else {
            return Err(err(Code::SharedProtocol, "publish without the lease"));
        };
        let generation = next_generation(lease.base, self.adopted)?;
        let plain = session.export_credentials()?;
        let sealed = seal(&self.seal_key, self.keys.name(), generation, &plain, rng)?;
        let call = ScriptCall::publish_if_generation(
            &self.keys,
            &lease.owner,
            lease.fence,
            lease.base,
            &sealed,
        )?;
        lease.publishing = Some(generation);
        Ok(call)
    }

    /// Hands over the integer the publish `EVAL` returned, with the session
    /// whose credentials were published. Refused (the lease was stolen or
    /// another writer published first): counted as a steal; re-read the
    /// record to adopt the winner's.
    pub fn on_publish(&mut self, session: &Session, reply: i64) -> Result<PublishResult, Error> {
        let result = PublishResult::from_reply(reply)?;
        let Some(lease) = &mut self.lease else {
            return Err(err(
                Code::SharedProtocol,
                "a publish reply without the lease",
            ));
        };
        let generation = lease.publishing.take().ok_or_else(|| {
            err(
                Code::SharedProtocol,
                "a publish reply without a publish sent",
            )
        })?;
        if result == PublishResult::Published {
            // The generation sealed into the record that was stored.
            lease.base = generation;
            lease.session_generation = session.generation();
            self.adopted = generation;
            if self.session_id == session.session_id() {
                self.stats.renewals = self.stats.renewals.saturating_add(1);
            } else {
                self.stats.handshakes = self.stats.handshakes.saturating_add(1);
                self.session_id = session.session_id().to_string();
            }
        } else {
            lease.lost = true;
            self.stats.lease_steals = self.stats.lease_steals.saturating_add(1);
        }
        Ok(result)
    }

    /// Gives the lease up: `session`'s transitions stop, and the `EVAL`
    /// that deletes the lease if it is still this instance's (`None` when
    /// it held none, or lost it to a refused publish).
    pub fn release(&mut self, session: &mut Session) -> Option<ScriptCall> {
        session.grant_transitions(false);
        self.pending_owner = None;
        self.wait_base = None;
        let lease = self.lease.take()?;
        if lease.lost {
            return None;
        }
        Some(ScriptCall::release_if_owner(&self.keys, &lease.owner))
    }

    /// Hands over the integer the release `EVAL` returned (0: the lease had
    /// expired or been taken — counted as a steal).
    pub fn on_release(&mut self, reply: i64) -> Result<Release, Error> {
        let r = Release::from_reply(reply)?;
        if r == Release::NotOwner {
            self.stats.lease_steals = self.stats.lease_steals.saturating_add(1);
        }
        Ok(r)
    }
}

impl std::fmt::Debug for SafraShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafraShare")
            .field("name", &self.keys.name())
            .field("adopted", &self.adopted)
            .field("holds_lease", &self.lease.is_some())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
