//! Open Finance Brasil signed messages: compact JWS with PS256 (SPEC §3).
//!
//! - [`sign`] / [`prepare`] + [`finish`]: build a signed request or response
//!   body (header exactly `{"alg":"PS256","kid":…,"typ":"JWT"}`; claims
//!   `aud`, `iss`, `jti`, `iat`, optional `exp`, then the caller's members).
//!   The two-phase form lets an HSM, a cloud KMS, WebCrypto or Node's
//!   `crypto` sign the bytes selo prepares.
//! - [`verify`]: the seven-stage check of SPEC §3.2, each failure with its
//!   own stable [`Code`]; replay ([`JtiCache`]) runs only after every other
//!   check passed ([`check_replay`]).
//! - [`server`]: the resource-server role — body in, verified claims or the
//!   exact HTTP error response out.
//! - [`OfbProfile`]: every switchable interpretation, loadable from JSON.
//!
//! Nothing here reads a clock: `now` is Unix seconds from the caller.

mod claims;
pub mod client;
mod jti;
pub mod jwks_cache;
mod jws;
mod profile;
pub mod server;
mod sign;
mod verify;

pub use claims::{Claims, MAX_JTI_CHARS};
pub use jti::{
    DEFAULT_CAPACITY, JtiCache, JtiStatus, MemoryJtiCache, WhenFull, normalise_jti, store_failed,
};
pub use jwks_cache::{
    Decision, FetchFailure, FetchTicket, JwksCache, JwksPolicy, JwksStats, SkippedKey,
};
pub use jws::{ALG, Parts, TYP, header_kid, parse_compact};
pub use profile::{IatFormat, JtiFormat, OfbProfile, TypRule};
pub use sign::{
    Prepared, SignParams, Signed, finish, finish_with_provider, prepare, sign, sign_with_provider,
};
pub use verify::{
    Expected, Verified, check_claims, check_replay, check_replay_in_window, select_key,
    select_key_ref, verify, verify_with_provider,
};

/// Smallest RSA modulus accepted for PS256, in bits (SPEC §3.1).
pub const MIN_KEY_BITS: usize = 2048;

/// The media type of a signed body.
pub const MEDIA_TYPE: &str = "application/jwt";

/// Replay window for `jti` values, in seconds (SPEC §3.2 step 7).
pub const JTI_TTL: u64 = 86_400;

crate::define_error! {
    /// Open Finance Brasil JWS errors. `http_status()` is what the resource
    /// server answers (SPEC §3.2 status mapping); signing errors have none.
    Error, Code {
        /// Signing: the caller's payload is not a JSON object.
        PayloadNotObject => ("ofb.sign.payload_not_object", None),
        /// Signing: the caller's payload already holds a claim selo sets.
        ReservedClaim => ("ofb.sign.reserved_claim", None),
        /// Signing: `kid` is empty.
        SignKid => ("ofb.sign.kid", None),
        /// Signing or verification key below 2048 bits.
        KeySize => ("ofb.sign.key_size", None),
        /// Signing: the RSA provider failed.
        SignFailed => ("ofb.sign.failed", None),
        /// Two-phase signing: the supplied signature does not verify with the
        /// supplied public key over the prepared bytes.
        SelfVerify => ("ofb.sign.self_verify", None),
        /// Stage 1: not three base64url parts, or header/payload not JSON objects.
        Malformed => ("ofb.verify.malformed", Some(400)),
        /// Stage 2: `alg` is not `PS256` (`none`, HS*, RS*, ES* …).
        AlgNotAllowed => ("ofb.verify.alg_not_allowed", Some(400)),
        /// Stage 2: the header has `crit` (no extension is understood).
        CritUnsupported => ("ofb.verify.crit_unsupported", Some(400)),
        /// Stage 3: `typ` is not `JWT` (or absent where the profile requires it).
        Typ => ("ofb.verify.typ", Some(400)),
        /// Stage 4: the header has no `kid` (or it is not a non-empty string).
        KidMissing => ("ofb.verify.kid_missing", Some(400)),
        /// Stage 4: no key in the JWK Set matches `kid`, `kty`, `alg`, `use`.
        KidNotFound => ("ofb.verify.kid_not_found", Some(400)),
        /// Stage 4: more than one key matches.
        KidAmbiguous => ("ofb.verify.kid_ambiguous", Some(400)),
        /// Stage 4: the selected key is smaller than 2048 bits.
        KeyTooSmall => ("ofb.verify.key_too_small", Some(400)),
        /// Stage 5: the signature does not verify.
        BadSignature => ("ofb.verify.bad_signature", Some(400)),
        /// Stage 6: `aud` missing or not the expected value.
        Aud => ("ofb.claims.aud", Some(400)),
        /// Stage 6: `iss` missing or not the expected organisation.
        Iss => ("ofb.claims.iss", Some(403)),
        /// Stage 6: `iat` missing.
        IatMissing => ("ofb.claims.iat_missing", Some(400)),
        /// Stage 6: `iat` is not a NumericDate (integer or numeric string).
        IatFormat => ("ofb.claims.iat_format", Some(400)),
        /// Stage 6: `iat` older than `now - iat_max_age`.
        IatTooOld => ("ofb.claims.iat_too_old", Some(400)),
        /// Stage 6: `iat` later than `now + iat_future_skew`.
        IatInFuture => ("ofb.claims.iat_in_future", Some(400)),
        /// Stage 6: `exp` malformed or passed.
        Exp => ("ofb.claims.exp", Some(400)),
        /// Stage 6: `nbf` malformed or not reached.
        Nbf => ("ofb.claims.nbf", Some(400)),
        /// Stage 6: `jti` missing, not a string, or not in the profile's format.
        Jti => ("ofb.claims.jti", Some(400)),
        /// Stage 7: this `jti` was already seen for this client within 86 400 s.
        Replay => ("ofb.replay.jti", Some(403)),
        /// Stage 7: the replay cache is full and its policy is to refuse.
        ReplayCapacity => ("ofb.replay.capacity", Some(503)),
        /// Stage 7: the host's replay store failed or answered something
        /// other than "fresh" / "replayed" (its error text is never shown).
        StoreFailed => ("ofb.replay.store_failed", Some(503)),
        /// Server role: the request content-type is not `application/jwt`.
        ContentType => ("ofb.server.content_type", Some(415)),
        /// Server role: the body is larger than the profile's `max_body_bytes`.
        BodyTooLarge => ("ofb.server.body_too_large", Some(413)),
        /// Server role: the method carries no signed body (not POST/PUT/PATCH).
        Method => ("ofb.server.method", Some(405)),
        /// Remote JWK Set: no usable key set (none fetched yet, or the last
        /// good one is past its stale grace) and no fetch may start now
        /// (backoff after failures): the request cannot be verified.
        JwksUnavailable => ("ofb.jwks.unavailable", Some(503)),
        /// Remote JWK Set: a fetch failed (timeout, network, HTTP status, a
        /// redirect, a body over the limit, not a JWK Set).
        JwksFetch => ("ofb.jwks.fetch", None),
        /// Remote JWK Set: the URL is not https (nor http to loopback, nor
        /// allowed explicitly), or the policy JSON is invalid.
        JwksUrl => ("ofb.jwks.url", None),
        /// Client: a 2xx reply that is not a signed JWS (never passed off as
        /// a verified body).
        ClientUnsigned => ("ofb.client.unsigned", None),
        /// Client: a non-2xx reply whose body is not a signed JWS (returned,
        /// marked unverified, only when the caller opts in).
        ClientHttpStatus => ("ofb.client.http_status", None),
        /// A profile JSON document did not parse, or its acceptance window
        /// (`iat_max_age + iat_future_skew`) exceeds the 86 400 s replay TTL.
        Profile => ("ofb.profile.invalid", None),
    }
}

impl Code {
    /// The verification stage (1–7) this code belongs to, `None` for
    /// signing, server and profile codes.
    pub const fn stage(self) -> Option<u8> {
        match self {
            Code::Malformed => Some(1),
            Code::AlgNotAllowed | Code::CritUnsupported => Some(2),
            Code::Typ => Some(3),
            Code::KidMissing | Code::KidNotFound | Code::KidAmbiguous | Code::KeyTooSmall => {
                Some(4)
            }
            Code::BadSignature => Some(5),
            Code::Aud
            | Code::Iss
            | Code::IatMissing
            | Code::IatFormat
            | Code::IatTooOld
            | Code::IatInFuture
            | Code::Exp
            | Code::Nbf
            | Code::Jti => Some(6),
            Code::Replay | Code::ReplayCapacity | Code::StoreFailed => Some(7),
            _ => None,
        }
    }
}
