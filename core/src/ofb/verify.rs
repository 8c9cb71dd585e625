//! Verification, SPEC §3.2, in its exact order.

use super::claims::{self, Claims, truncate};
use super::jws::{ALG, kind, parse_compact};
use super::{Code, Error, JtiCache, JtiStatus, MIN_KEY_BITS, OfbProfile, TypRule};
use crate::crypto::{RsaProvider, SignatureScheme, default_provider};
use crate::keys::RsaPublicKey;
use crate::keys::jwk::{Jwk, JwkSet};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What the receiver expects (SPEC §3.2 step 6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// Expected `aud`: the endpoint URL (requests) or the receiver's own
    /// organisationId (responses).
    pub aud: String,
    /// Expected `iss`: the other party's organisationId.
    pub iss: String,
}

impl Expected {
    /// Builds the expectations.
    pub fn new(aud: impl Into<String>, iss: impl Into<String>) -> Self {
        Self {
            aud: aud.into(),
            iss: iss.into(),
        }
    }
}

/// A token that passed stages 1–6 (replay is checked separately, by
/// [`check_replay`], and by the server helper).
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The whole payload (the caller's `data`, `links`, `meta` … and the claims).
    pub payload: Map<String, Value>,
    /// The registered claims, parsed.
    pub claims: Claims,
    /// The `kid` of the key that verified the signature.
    pub kid: String,
}

/// Stage 6 alone, exactly as the verifier runs it after the signature:
/// `aud`, `iss`, `iat`, `exp`, `nbf`, `jti` of a payload, in that order.
/// For tests and tools that reason about claims without signing tokens.
pub fn check_claims(
    payload: &Map<String, Value>,
    expected: &Expected,
    profile: &OfbProfile,
    now: u64,
) -> Result<Claims, Error> {
    super::claims::check(payload, &expected.aud, &expected.iss, profile, now)
}

/// Verifies a compact JWS with the default RSA provider.
pub fn verify(
    token: &str,
    jwks: &JwkSet,
    expected: &Expected,
    profile: &OfbProfile,
    now: u64,
) -> Result<Verified, Error> {
    verify_with_provider(default_provider(), token, jwks, expected, profile, now)
}

/// Verifies a compact JWS (stages 1–6 of SPEC §3.2, in order; the first
/// failing stage decides the error).
pub fn verify_with_provider(
    provider: &dyn RsaProvider,
    token: &str,
    jwks: &JwkSet,
    expected: &Expected,
    profile: &OfbProfile,
    now: u64,
) -> Result<Verified, Error> {
    // 1. form
    let parts = parse_compact(token)?;
    let header = &parts.header;

    // 2. alg
    match header.get("alg") {
        Some(Value::String(a)) if a == ALG => {}
        Some(Value::String(a)) => {
            return Err(Error::new(
                Code::AlgNotAllowed,
                format!(
                    "stage 2 (alg): header 'alg': expected \"{ALG}\", found {:?}",
                    truncate(a)
                ),
            ));
        }
        Some(other) => {
            return Err(Error::new(
                Code::AlgNotAllowed,
                format!(
                    "stage 2 (alg): header 'alg': expected the string \"{ALG}\", found {}",
                    kind(other)
                ),
            ));
        }
        None => {
            return Err(Error::new(
                Code::AlgNotAllowed,
                format!("stage 2 (alg): header 'alg' is missing; expected \"{ALG}\""),
            ));
        }
    }
    if header.contains_key("crit") {
        return Err(Error::new(
            Code::CritUnsupported,
            "stage 2 (alg): header has 'crit'; no JWS extension is supported",
        ));
    }

    // 3. typ
    match header.get("typ") {
        None if profile.typ == TypRule::AbsentOrJwt => {}
        None => {
            return Err(Error::new(
                Code::Typ,
                "stage 3 (typ): header 'typ' is missing; expected \"JWT\" (profile typ \"jwt\")",
            ));
        }
        Some(Value::String(t)) if is_jwt_typ(t) => {}
        Some(Value::String(t)) => {
            return Err(Error::new(
                Code::Typ,
                format!(
                    "stage 3 (typ): header 'typ': expected \"JWT\", found {:?}",
                    truncate(t)
                ),
            ));
        }
        Some(other) => {
            return Err(Error::new(
                Code::Typ,
                format!(
                    "stage 3 (typ): header 'typ': expected the string \"JWT\", found {}",
                    kind(other)
                ),
            ));
        }
    }

    // 4. kid and key selection
    let kid = match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        Some(Value::String(_)) => {
            return Err(Error::new(
                Code::KidMissing,
                "stage 4 (key): header 'kid' is an empty string",
            ));
        }
        Some(other) => {
            return Err(Error::new(
                Code::KidMissing,
                format!(
                    "stage 4 (key): header 'kid': expected a string, found {}",
                    kind(other)
                ),
            ));
        }
        None => {
            return Err(Error::new(
                Code::KidMissing,
                "stage 4 (key): header 'kid' is missing",
            ));
        }
    };
    let key = select_key_ref(jwks, &kid)?;

    // 5. signature
    provider
        .verify(
            key,
            SignatureScheme::PssSha256,
            parts.signing_input.as_bytes(),
            &parts.signature,
        )
        .map_err(|_| {
            Error::new(
                Code::BadSignature,
                format!(
                    "stage 5 (signature): the PS256 signature ({} bytes) does not verify with key '{}' ({} bits)",
                    parts.signature.len(),
                    truncate(&kid),
                    key.bits()
                ),
            )
        })?;

    // 6. claims
    let claims = claims::check(&parts.payload, &expected.aud, &expected.iss, profile, now)?;

    Ok(Verified {
        header: parts.header,
        payload: parts.payload,
        claims,
        kid,
    })
}

/// `typ` values meaning JWT: `JWT` in any case, or `application/jwt`
/// (RFC 7515 §4.1.9 lets the `application/` prefix be omitted; media types
/// compare case-insensitively).
fn is_jwt_typ(t: &str) -> bool {
    t.eq_ignore_ascii_case("JWT") || t.eq_ignore_ascii_case("application/jwt")
}

/// Why a key of the set was not chosen.
fn exclusion(jwk: &Jwk, kid: &str) -> Option<String> {
    if jwk.kid.as_deref() != Some(kid) {
        return Some("kid differs".into());
    }
    if jwk.kty() != "RSA" {
        return Some(format!("kty {:?}, not \"RSA\"", truncate(jwk.kty())));
    }
    if let Some(alg) = &jwk.alg
        && alg != ALG
    {
        return Some(format!("alg {:?}, not \"{ALG}\"", truncate(alg)));
    }
    if let Some(u) = &jwk.key_use
        && u != "sig"
    {
        return Some(format!("use {:?}, not \"sig\"", truncate(u)));
    }
    None
}

fn describe_candidates(jwks: &JwkSet, kid: &str) -> String {
    const MAX: usize = 16;
    if jwks.keys.is_empty() {
        return "the JWK Set is empty".into();
    }
    let mut items: Vec<String> = jwks
        .keys
        .iter()
        .take(MAX)
        .map(|k| {
            let name = k
                .kid
                .as_deref()
                .map(|s| format!("{:?}", truncate(s)))
                .unwrap_or_else(|| "(no kid)".into());
            match exclusion(k, kid) {
                Some(why) => format!("{name}: {why}"),
                None => format!("{name}: matches"),
            }
        })
        .collect();
    if jwks.keys.len() > MAX {
        items.push(format!("… {} more", jwks.keys.len() - MAX));
    }
    format!("candidates considered: [{}]", items.join("; "))
}

/// Stage 4: the one key of `jwks` with this `kid`, `kty` = RSA, `alg` =
/// PS256 if the key names one, `use` = `sig` if the key names one, and at
/// least 2048 bits. No match or several matches is an error whose message
/// lists the candidate keys considered and why each was excluded.
pub fn select_key(jwks: &JwkSet, kid: &str) -> Result<RsaPublicKey, Error> {
    select_key_ref(jwks, kid).cloned()
}

/// [`select_key`], borrowing the key from `jwks`: verification through a
/// long-lived set reuses the key's provider form (e.g. the parsed aws-lc-rs
/// key) instead of rebuilding it for every token.
pub fn select_key_ref<'a>(jwks: &'a JwkSet, kid: &str) -> Result<&'a RsaPublicKey, Error> {
    let mut matches = jwks.keys.iter().filter(|k| exclusion(k, kid).is_none());
    let first = matches.next();
    let second = matches.next();
    match (first, second) {
        (None, _) => Err(Error::new(
            Code::KidNotFound,
            format!(
                "stage 4 (key): no usable key for kid {:?}; {}",
                truncate(kid),
                describe_candidates(jwks, kid)
            ),
        )),
        (Some(_), Some(_)) => Err(Error::new(
            Code::KidAmbiguous,
            format!(
                "stage 4 (key): more than one key matches kid {:?}; {}",
                truncate(kid),
                describe_candidates(jwks, kid)
            ),
        )),
        (Some(jwk), None) => {
            let key = jwk.rsa_public_key_ref().ok_or_else(|| {
                Error::new(
                    Code::KidNotFound,
                    format!(
                        "stage 4 (key): key {:?} has no RSA public key",
                        truncate(kid)
                    ),
                )
            })?;
            if key.bits() < MIN_KEY_BITS {
                return Err(Error::new(
                    Code::KeyTooSmall,
                    format!(
                        "stage 4 (key): key {:?}: expected at least {MIN_KEY_BITS} bits, found {}",
                        truncate(kid),
                        key.bits()
                    ),
                ));
            }
            Ok(key)
        }
    }
}

/// Stage 7: records `jti` for `client_id` for the full TTL (86 400 s); a
/// second sighting within it is [`Code::Replay`]. Call it only after
/// [`verify`] succeeded (SPEC §3.2: claim checks precede the replay check).
/// [`check_replay_in_window`] lets the cache forget the entry sooner.
pub fn check_replay(
    cache: &mut dyn JtiCache,
    client_id: &str,
    verified: &Verified,
    now: u64,
) -> Result<(), Error> {
    replay(cache, client_id, &verified.claims.jti, now, u64::MAX)
}

/// Stage 7 as [`check_replay`], telling the cache when the entry becomes
/// useless (SPEC §3.3): from `iat + iat_max_age + iat_future_skew + 1` on,
/// a replay of this token is refused by its `iat` at stage 6, so the entry
/// may go (the TTL stays the upper bound). `profile` must be the one the
/// token was verified with; one whose window exceeds the TTL is
/// [`Code::Profile`].
pub fn check_replay_in_window(
    cache: &mut dyn JtiCache,
    client_id: &str,
    verified: &Verified,
    profile: &OfbProfile,
    now: u64,
) -> Result<(), Error> {
    profile.validate()?;
    let forget_after = verified
        .claims
        .iat
        .saturating_add(profile.acceptance_window())
        .saturating_add(1);
    replay(cache, client_id, &verified.claims.jti, now, forget_after)
}

fn replay(
    cache: &mut dyn JtiCache,
    client_id: &str,
    jti: &str,
    now: u64,
    forget_after: u64,
) -> Result<(), Error> {
    let jti = super::jti::normalise_jti(jti);
    match cache.check_and_insert_until(client_id, &jti, now, forget_after)? {
        JtiStatus::Fresh => Ok(()),
        JtiStatus::Replayed => Err(Error::new(
            Code::Replay,
            format!(
                "stage 7 (replay): jti {:?} was already used by client {:?} within {} s",
                truncate(&jti),
                truncate(client_id),
                super::JTI_TTL
            ),
        )),
    }
}
