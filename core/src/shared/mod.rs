//! The shared-state protocol: many instances (in any language) share Safra
//! session credentials, OFB `jti` replay entries and BMP pending
//! transactions through Redis, Redis Cluster included (SPEC §5). The full
//! protocol, precise enough to join a fleet from it alone, is
//! `docs/shared-state.md`.
//!
//! Everything a host could get wrong is defined once, here; the adapters
//! (Python, Node, Java) only move bytes:
//!
//! - [`keys`]: every key name ([`SafraKeys`] for a Safra fleet, all three
//!   keys in one hash tag `{safra:<name>}`; [`jti_key`];
//!   [`bmp_pending_key`]) and TTL.
//! - [`seal`](mod@seal): the sealed credentials record
//!   `selo1.<generation>.<base64url(nonce || ciphertext || tag)>`
//!   (AES-256-GCM under the host's [`SealKey`], AAD binding the fleet name
//!   and the generation).
//! - [`scripts`]: the Lua scripts (lease, fencing, publish-if-generation),
//!   the [`ScriptCall`]s that run them and the readers of their integer
//!   replies.
//!
//! The transition protocol (docs/shared-state.md §5): acquire the lease
//! ([`LeaseAcquire`]) → re-read the record → if its generation moved on,
//! adopt it; else run the transition (handshake, authenticate, renew,
//! recovery) → seal the new credentials at generation + 1 → publish if the
//! stored generation is still the one replaced ([`PublishResult`]) →
//! release. Instances that find the lease held poll the record until its
//! generation passes theirs, at most the lease TTL, else the adapter raises
//! `shared.lease_timeout`. Any store failure is `shared.store_unavailable`
//! and fails closed.
//!
//! Errors from this module are [`crate::safra::Error`]s with the codes
//! `safra.shared.name`, `safra.shared.seal_key`,
//! `safra.shared.record_rejected` and `safra.shared.protocol`.

pub mod keys;
pub mod scripts;
pub mod seal;

pub use keys::{
    BMP_PENDING_PREFIX, BMP_PENDING_TTL_SECONDS, KEY_PREFIX, MAX_NAME_LEN, SafraKeys,
    bmp_pending_key, cluster_hash_tag, cluster_slot, jti_key,
};
pub use scripts::{
    DEFAULT_LEASE_TTL_MS, LEASE_ACQUIRE, LEASE_EXTEND, LeaseAcquire, LeaseExtend, LeaseOwner,
    MAX_LEASE_TTL_MS, PUBLISH_IF_GENERATION, PublishResult, RELEASE_IF_OWNER, Release, SCRIPTS,
    ScriptCall, WAIT_POLL_INTERVAL_MS, next_generation, script_sha1,
};
pub use seal::{MAX_RECORD_LEN, SEAL_KEY_LEN, SealKey, open, peek_generation, seal};
