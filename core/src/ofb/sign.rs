//! Signing, SPEC §3.1: one call ([`sign`]) or two phases ([`prepare`],
//! the host signs, [`finish`]).

use super::jws::header_json;
use super::{Code, Error, IatFormat, MIN_KEY_BITS, OfbProfile};
use crate::crypto::{RsaProvider, SignatureScheme, default_provider};
use crate::encoding::{b64url, new_guid};
use crate::keys::{RsaPrivateKey, RsaPublicKey};
use crate::rng::CryptoRng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Claims selo sets; the caller's payload must not hold them.
const RESERVED: [&str; 6] = ["aud", "iss", "jti", "iat", "exp", "nbf"];

/// Who signs for whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignParams {
    /// `kid` of the signing key as published in the signer's JWKS.
    pub kid: String,
    /// `aud`: the endpoint URL (requests) or the receiver's organisationId
    /// (responses).
    pub aud: String,
    /// `iss`: the signer's organisationId.
    pub iss: String,
    /// Optional `exp`, absolute Unix seconds.
    #[serde(default)]
    pub exp: Option<u64>,
}

impl SignParams {
    /// Params without `exp`.
    pub fn new(kid: impl Into<String>, aud: impl Into<String>, iss: impl Into<String>) -> Self {
        Self {
            kid: kid.into(),
            aud: aud.into(),
            iss: iss.into(),
            exp: None,
        }
    }
}

/// Phase one of two-phase signing: the exact bytes to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    signing_input: String,
    kid: String,
    jti: String,
    iat: u64,
}

impl Prepared {
    /// `B64URL(header) "." B64URL(payload)`: sign these bytes with
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt (WebCrypto:
    /// `{name: "RSA-PSS", saltLength: 32}`; Node: `RSA_PKCS1_PSS_PADDING`,
    /// `saltLength: 32`; a KMS: `RSASSA_PSS_SHA_256` over the message).
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The `kid` in the header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The `jti` in the payload.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// The `iat` in the payload.
    pub fn iat(&self) -> u64 {
        self.iat
    }
}

/// A finished token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// The compact JWS (the HTTP body, media type `application/jwt`).
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `iat`.
    pub iat: u64,
}

/// Phase one: builds the header and payload and returns the bytes to sign.
///
/// The payload is `aud`, `iss`, `jti` (a new lowercase UUID v4 from `rng`),
/// `iat` (`now`; integer or numeric string per `profile.iat_format`),
/// `exp` if given, then the caller's members in their order. `payload` must
/// be a JSON object without any of `aud`, `iss`, `jti`, `iat`, `exp`, `nbf`.
pub fn prepare(
    payload: &Value,
    params: &SignParams,
    profile: &OfbProfile,
    now: u64,
    rng: &mut dyn CryptoRng,
) -> Result<Prepared, Error> {
    let Value::Object(body) = payload else {
        return Err(Error::new(
            Code::PayloadNotObject,
            format!(
                "signing: expected the payload to be a JSON object, found {}",
                super::jws::kind(payload)
            ),
        ));
    };
    if let Some(r) = RESERVED.iter().find(|r| body.contains_key(**r)) {
        return Err(Error::new(
            Code::ReservedClaim,
            format!("signing: the payload already has claim '{r}', which selo sets"),
        ));
    }
    if params.kid.is_empty() {
        return Err(Error::new(
            Code::SignKid,
            "signing: expected a non-empty kid, found \"\"",
        ));
    }
    let jti = new_guid(rng);
    let mut claims = Map::new();
    claims.insert("aud".into(), Value::String(params.aud.clone()));
    claims.insert("iss".into(), Value::String(params.iss.clone()));
    claims.insert("jti".into(), Value::String(jti.clone()));
    claims.insert(
        "iat".into(),
        match profile.iat_format {
            IatFormat::Integer => Value::from(now),
            IatFormat::String => Value::String(now.to_string()),
        },
    );
    if let Some(exp) = params.exp {
        claims.insert("exp".into(), Value::from(exp));
    }
    for (k, v) in body {
        claims.insert(k.clone(), v.clone());
    }
    let payload_json = Value::Object(claims).to_string();
    let signing_input = format!(
        "{}.{}",
        b64url(header_json(&params.kid).as_bytes()),
        b64url(payload_json.as_bytes())
    );
    Ok(Prepared {
        signing_input,
        kid: params.kid.clone(),
        jti,
        iat: now,
    })
}

/// Phase two: assembles the token and checks that `signature` verifies
/// with `public_key` over the prepared bytes (default provider).
pub fn finish(
    prepared: Prepared,
    signature: &[u8],
    public_key: &RsaPublicKey,
) -> Result<Signed, Error> {
    finish_with_provider(default_provider(), prepared, signature, public_key)
}

/// [`finish`] with a chosen RSA provider.
pub fn finish_with_provider(
    provider: &dyn RsaProvider,
    prepared: Prepared,
    signature: &[u8],
    public_key: &RsaPublicKey,
) -> Result<Signed, Error> {
    check_bits(public_key.bits())?;
    provider
        .verify(
            public_key,
            SignatureScheme::PssSha256,
            prepared.signing_input(),
            signature,
        )
        .map_err(|_| {
            Error::new(
                Code::SelfVerify,
                format!(
                    "signing: the {}-byte signature does not verify as PS256 (PSS, SHA-256, MGF1-SHA-256, salt 32) with the given {}-bit public key over the prepared bytes",
                    signature.len(),
                    public_key.bits()
                ),
            )
        })?;
    Ok(assemble(prepared, signature))
}

/// The compact JWS from the prepared bytes and their signature.
fn assemble(prepared: Prepared, signature: &[u8]) -> Signed {
    Signed {
        token: format!("{}.{}", prepared.signing_input, b64url(signature)),
        jti: prepared.jti,
        iat: prepared.iat,
    }
}

fn check_bits(bits: usize) -> Result<(), Error> {
    if bits < MIN_KEY_BITS {
        return Err(Error::new(
            Code::KeySize,
            format!("signing: expected an RSA key of at least {MIN_KEY_BITS} bits, found {bits}"),
        ));
    }
    Ok(())
}

/// Signs in one call with the default RSA provider. The signature is
/// verified before it is returned, by the provider itself (built-in
/// providers check every private-key result) or, for a provider that does
/// not declare [`RsaProvider::checks_private_results`], by selo.
pub fn sign(
    key: &RsaPrivateKey,
    payload: &Value,
    params: &SignParams,
    profile: &OfbProfile,
    now: u64,
    rng: &mut dyn CryptoRng,
) -> Result<Signed, Error> {
    sign_with_provider(default_provider(), key, payload, params, profile, now, rng)
}

/// [`sign`] with a chosen RSA provider.
pub fn sign_with_provider(
    provider: &dyn RsaProvider,
    key: &RsaPrivateKey,
    payload: &Value,
    params: &SignParams,
    profile: &OfbProfile,
    now: u64,
    rng: &mut dyn CryptoRng,
) -> Result<Signed, Error> {
    check_bits(key.bits())?;
    let prepared = prepare(payload, params, profile, now, rng)?;
    let sig = provider
        .sign(
            key,
            SignatureScheme::PssSha256,
            prepared.signing_input(),
            rng,
        )
        .map_err(|e| {
            Error::new(
                Code::SignFailed,
                format!("signing: the RSA provider failed ({})", e.message()),
            )
        })?;
    if provider.checks_private_results() {
        // The provider has already checked s^e = EM (mod n); a second
        // verification here would only repeat it.
        return Ok(assemble(prepared, &sig));
    }
    finish_with_provider(provider, prepared, &sig, key.public_key_ref())
}
