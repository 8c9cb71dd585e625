//! Open Finance Brasil JWS (PS256): sign (one or two phases), verify,
//! replay protection with a host-pluggable store, the resource-server role.

use crate::common::{HttpResponse, headers_out, lock, make_rng, provider, secs, to_i64};
use crate::error::{SeloError, arg};
use crate::keys::{JwkSet, RsaPrivateKey, RsaPublicKey};
use selo::ofb::server::RequestExpectations;
use selo::ofb::{
    self, Claims, Expected, JtiCache, JtiStatus, OfbProfile, Prepared, SignParams, Signed,
    Verified, WhenFull,
};
use std::sync::{Arc, Mutex};

fn profile(json: Option<String>) -> Result<OfbProfile, SeloError> {
    match json {
        None => Ok(OfbProfile::default()),
        Some(j) => Ok(OfbProfile::from_json(&j)?),
    }
}

fn payload(json: &str) -> Result<serde_json::Value, SeloError> {
    serde_json::from_str(json).map_err(|e| {
        SeloError::from(ofb::Error::new(
            ofb::Code::PayloadNotObject,
            format!("payload is not JSON: {e}"),
        ))
    })
}

/// The profile with every default filled in, as JSON. `None` gives the
/// request defaults, or with `for_responses` the response defaults.
#[uniffi::export]
pub fn ofb_profile_json(json: Option<String>, for_responses: bool) -> Result<String, SeloError> {
    Ok(match json {
        Some(j) => OfbProfile::from_json(&j)?.to_json(),
        None if for_responses => OfbProfile::for_responses().to_json(),
        None => OfbProfile::default().to_json(),
    })
}

/// Who signs for whom (`exp`: absolute Unix seconds).
#[derive(Clone, Debug, uniffi::Record)]
pub struct OfbSignParams {
    pub kid: String,
    pub aud: String,
    pub iss: String,
    pub exp: Option<i64>,
}

fn params(p: OfbSignParams) -> Result<SignParams, SeloError> {
    Ok(SignParams {
        kid: p.kid,
        aud: p.aud,
        iss: p.iss,
        exp: p.exp.map(secs).transpose()?,
    })
}

/// A finished token.
#[derive(Clone, Debug, uniffi::Record)]
pub struct OfbSigned {
    pub token: String,
    pub jti: String,
    pub iat: i64,
}

impl From<Signed> for OfbSigned {
    fn from(s: Signed) -> Self {
        OfbSigned {
            token: s.token,
            jti: s.jti,
            iat: to_i64(s.iat),
        }
    }
}

/// The registered claims of a verified token.
#[derive(Clone, Debug, uniffi::Record)]
pub struct OfbClaims {
    pub aud: Vec<String>,
    pub iss: String,
    pub jti: String,
    pub iat: i64,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
}

/// A verified token: header and payload as JSON text, claims, the key's `kid`.
#[derive(Clone, Debug, uniffi::Record)]
pub struct OfbVerified {
    pub header_json: String,
    pub payload_json: String,
    pub claims: OfbClaims,
    pub kid: String,
}

impl From<Verified> for OfbVerified {
    fn from(v: Verified) -> Self {
        OfbVerified {
            header_json: serde_json::Value::Object(v.header).to_string(),
            payload_json: serde_json::Value::Object(v.payload).to_string(),
            claims: OfbClaims {
                aud: v.claims.aud,
                iss: v.claims.iss,
                jti: v.claims.jti,
                iat: to_i64(v.claims.iat),
                exp: v.claims.exp.map(to_i64),
                nbf: v.claims.nbf.map(to_i64),
            },
            kid: v.kid,
        }
    }
}

/// Signs `payload_json` (a JSON object) in one call.
#[uniffi::export]
#[allow(clippy::too_many_arguments)]
pub fn ofb_sign(
    key: Arc<RsaPrivateKey>,
    payload_json: String,
    sign_params: OfbSignParams,
    profile_json: Option<String>,
    now: i64,
    provider_name: Option<String>,
    rng_seed: Option<Vec<u8>>,
) -> Result<OfbSigned, SeloError> {
    let mut rng = make_rng(rng_seed)?;
    Ok(ofb::sign_with_provider(
        provider(provider_name)?,
        &key.inner,
        &payload(&payload_json)?,
        &params(sign_params)?,
        &profile(profile_json)?,
        secs(now)?,
        &mut *rng,
    )?
    .into())
}

/// Phase one of two-phase signing: the bytes an HSM/KMS must sign.
#[derive(uniffi::Object)]
pub struct OfbPrepared {
    inner: Prepared,
}

#[uniffi::export]
impl OfbPrepared {
    /// Sign these with RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt.
    pub fn signing_input(&self) -> Vec<u8> {
        self.inner.signing_input().to_vec()
    }
    pub fn kid(&self) -> String {
        self.inner.kid().to_string()
    }
    pub fn jti(&self) -> String {
        self.inner.jti().to_string()
    }
    pub fn iat(&self) -> i64 {
        to_i64(self.inner.iat())
    }
}

#[uniffi::export]
pub fn ofb_prepare(
    payload_json: String,
    sign_params: OfbSignParams,
    profile_json: Option<String>,
    now: i64,
    rng_seed: Option<Vec<u8>>,
) -> Result<Arc<OfbPrepared>, SeloError> {
    let mut rng = make_rng(rng_seed)?;
    Ok(Arc::new(OfbPrepared {
        inner: ofb::prepare(
            &payload(&payload_json)?,
            &params(sign_params)?,
            &profile(profile_json)?,
            secs(now)?,
            &mut *rng,
        )?,
    }))
}

/// Phase two: assembles the token and self-verifies `signature` with `public_key`.
#[uniffi::export]
pub fn ofb_finish(
    prepared: Arc<OfbPrepared>,
    signature: Vec<u8>,
    public_key: Arc<RsaPublicKey>,
    provider_name: Option<String>,
) -> Result<OfbSigned, SeloError> {
    Ok(ofb::finish_with_provider(
        provider(provider_name)?,
        prepared.inner.clone(),
        &signature,
        &public_key.inner,
    )?
    .into())
}

/// Verifies a compact JWS (stages 1–6 of SPEC §3.2).
#[uniffi::export]
#[allow(clippy::too_many_arguments)]
pub fn ofb_verify(
    token: String,
    jwks: Arc<JwkSet>,
    aud: String,
    iss: String,
    profile_json: Option<String>,
    now: i64,
    provider_name: Option<String>,
) -> Result<OfbVerified, SeloError> {
    Ok(ofb::verify_with_provider(
        provider(provider_name)?,
        &token,
        &jwks.inner,
        &Expected::new(aud, iss),
        &profile(profile_json)?,
        secs(now)?,
    )?
    .into())
}

/// A long-lived verifier: the JWK Set, profile and provider (and, when
/// given, the expected `aud`/`iss`) are resolved once, so each call is one
/// crossing and reuses the selected key's provider form (the parsed
/// aws-lc-rs key) instead of rebuilding it.
#[derive(uniffi::Object)]
pub struct OfbVerifier {
    jwks: Arc<JwkSet>,
    expected: Option<Expected>,
    profile: OfbProfile,
    provider: &'static dyn selo::crypto::RsaProvider,
}

impl OfbVerifier {
    fn run(&self, token: &str, expected: &Expected, now: i64) -> Result<OfbVerified, SeloError> {
        Ok(ofb::verify_with_provider(
            self.provider,
            token,
            &self.jwks.inner,
            expected,
            &self.profile,
            secs(now)?,
        )?
        .into())
    }
}

#[uniffi::export]
impl OfbVerifier {
    /// `aud` and `iss` together fix the expectations for [`Self::verify`];
    /// [`Self::verify_for`] takes them per call.
    #[uniffi::constructor]
    pub fn new(
        jwks: Arc<JwkSet>,
        aud: Option<String>,
        iss: Option<String>,
        profile_json: Option<String>,
        provider_name: Option<String>,
    ) -> Result<Arc<Self>, SeloError> {
        let expected = match (aud, iss) {
            (Some(a), Some(i)) => Some(Expected::new(a, i)),
            (None, None) => None,
            _ => return Err(arg("OfbVerifier: give both aud and iss, or neither")),
        };
        Ok(Arc::new(Self {
            jwks,
            expected,
            profile: profile(profile_json)?,
            provider: provider(provider_name)?,
        }))
    }

    /// Stages 1–6 of SPEC §3.2 against the constructor's `aud`/`iss`.
    pub fn verify(&self, token: String, now: i64) -> Result<OfbVerified, SeloError> {
        let expected = self
            .expected
            .as_ref()
            .ok_or_else(|| arg("OfbVerifier.verify: no aud/iss given; use verify_for"))?;
        self.run(&token, expected, now)
    }

    /// Stages 1–6 of SPEC §3.2 against this `aud`/`iss`.
    pub fn verify_for(
        &self,
        token: String,
        aud: String,
        iss: String,
        now: i64,
    ) -> Result<OfbVerified, SeloError> {
        self.run(&token, &Expected::new(aud, iss), now)
    }
}

/// A long-lived signer: key, `kid`, `iss`, profile and provider fixed once;
/// each `sign` is one crossing.
#[derive(uniffi::Object)]
pub struct OfbSigner {
    key: Arc<RsaPrivateKey>,
    kid: String,
    iss: String,
    profile: OfbProfile,
    provider: &'static dyn selo::crypto::RsaProvider,
}

#[uniffi::export]
impl OfbSigner {
    #[uniffi::constructor]
    pub fn new(
        key: Arc<RsaPrivateKey>,
        kid: String,
        iss: String,
        profile_json: Option<String>,
        provider_name: Option<String>,
    ) -> Result<Arc<Self>, SeloError> {
        Ok(Arc::new(Self {
            key,
            kid,
            iss,
            profile: profile(profile_json)?,
            provider: provider(provider_name)?,
        }))
    }

    /// Signs `payload_json` for `aud`, as [`ofb_sign`].
    pub fn sign(
        &self,
        payload_json: String,
        aud: String,
        exp: Option<i64>,
        now: i64,
        rng_seed: Option<Vec<u8>>,
    ) -> Result<OfbSigned, SeloError> {
        let mut rng = make_rng(rng_seed)?;
        let sign_params = SignParams {
            kid: self.kid.clone(),
            aud,
            iss: self.iss.clone(),
            exp: exp.map(secs).transpose()?,
        };
        Ok(ofb::sign_with_provider(
            self.provider,
            &self.key.inner,
            &payload(&payload_json)?,
            &sign_params,
            &self.profile,
            secs(now)?,
            &mut *rng,
        )?
        .into())
    }
}

/// A replay store: records `(client_id, jti)` for 86 400 s, atomically.
/// Return `true` when fresh (now recorded), `false` when already seen.
/// Raising means replay cannot be ruled out: the request is refused.
#[uniffi::export(with_foreign)]
pub trait JtiStore: Send + Sync {
    fn check_and_insert(&self, client_id: String, jti: String, now: i64)
    -> Result<bool, SeloError>;
}

/// The core's in-memory cache (hard entry bound, TTL eviction).
pub struct MemoryJtiStore {
    inner: Mutex<ofb::MemoryJtiCache>,
}

impl JtiStore for MemoryJtiStore {
    fn check_and_insert(
        &self,
        client_id: String,
        jti: String,
        now: i64,
    ) -> Result<bool, SeloError> {
        let status = lock(&self.inner).check_and_insert(&client_id, &jti, secs(now)?)?;
        Ok(status == JtiStatus::Fresh)
    }
}

/// An in-memory replay store: `capacity` live entries (default: the core's
/// `DEFAULT_CAPACITY`, 1,000,000); when full, `evict_oldest` forgets the
/// oldest, else new entries are refused (503).
#[uniffi::export]
pub fn ofb_memory_jti_store(
    capacity: Option<u64>,
    evict_oldest: bool,
    ttl_seconds: Option<u64>,
) -> Arc<dyn JtiStore> {
    let when = if evict_oldest {
        WhenFull::EvictOldest
    } else {
        WhenFull::Refuse
    };
    let capacity = capacity.map_or(ofb::DEFAULT_CAPACITY, |c| {
        usize::try_from(c).unwrap_or(usize::MAX)
    });
    let mut c = ofb::MemoryJtiCache::new(capacity, when);
    if let Some(t) = ttl_seconds {
        c = c.with_ttl(t);
    }
    Arc::new(MemoryJtiStore {
        inner: Mutex::new(c),
    })
}

/// Adapts a host store to the core's trait; a store failure refuses the
/// request (replay cannot be ruled out) with `ofb.replay.store_failed`
/// (503), or `ofb.replay.capacity` when the store raised that.
struct HostCache<'a>(&'a dyn JtiStore);

impl JtiCache for HostCache<'_> {
    fn check_and_insert(
        &mut self,
        client_id: &str,
        jti: &str,
        now: u64,
    ) -> Result<JtiStatus, ofb::Error> {
        match self
            .0
            .check_and_insert(client_id.into(), jti.into(), to_i64(now))
        {
            Ok(true) => Ok(JtiStatus::Fresh),
            Ok(false) => Ok(JtiStatus::Replayed),
            Err(SeloError::Ofb { code, message }) if code == ofb::Code::ReplayCapacity.as_str() => {
                Err(ofb::Error::new(ofb::Code::ReplayCapacity, message))
            }
            // The store's own text (host:port, credentials in a URL…) is
            // never passed on.
            Err(_) => Err(ofb::store_failed()),
        }
    }
}

/// Stage 7 after a successful `ofb_verify`: records the jti for `client_id`.
#[uniffi::export]
pub fn ofb_check_replay(
    store: Arc<dyn JtiStore>,
    client_id: String,
    jti: String,
    now: i64,
) -> Result<(), SeloError> {
    let verified = Verified {
        header: serde_json::Map::new(),
        payload: serde_json::Map::new(),
        claims: Claims {
            aud: Vec::new(),
            iss: String::new(),
            jti,
            iat: 0,
            exp: None,
            nbf: None,
        },
        kid: String::new(),
    };
    let mut cache = HostCache(&*store);
    Ok(ofb::check_replay(
        &mut cache,
        &client_id,
        &verified,
        secs(now)?,
    )?)
}

/// The resource server's decision: `verified`, or the error and the exact
/// HTTP response to send.
#[derive(Clone, Debug, uniffi::Record)]
pub struct OfbServerDecision {
    pub verified: Option<OfbVerified>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub response: Option<HttpResponse>,
}

fn response(r: ofb::server::Response) -> HttpResponse {
    HttpResponse {
        status: r.status,
        headers: headers_out(r.headers),
        body: r.body,
    }
}

/// Server role: method, content type, the seven stages, replay.
#[uniffi::export]
#[allow(clippy::too_many_arguments)]
pub fn ofb_verify_request(
    method: String,
    content_type: Option<String>,
    body: Vec<u8>,
    now: i64,
    jwks: Arc<JwkSet>,
    aud: String,
    iss: String,
    client_id: String,
    profile_json: Option<String>,
    store: Arc<dyn JtiStore>,
    provider_name: Option<String>,
) -> Result<OfbServerDecision, SeloError> {
    let expected = RequestExpectations {
        aud,
        iss,
        client_id,
    };
    let mut cache = HostCache(&*store);
    let result = ofb::server::verify_request_with_provider(
        provider(provider_name)?,
        &method,
        content_type.as_deref(),
        &body,
        secs(now)?,
        &jwks.inner,
        &expected,
        &profile(profile_json)?,
        &mut cache,
    );
    Ok(match result {
        Ok(v) => OfbServerDecision {
            verified: Some(v.into()),
            error_code: None,
            error_message: None,
            response: None,
        },
        Err(rej) => OfbServerDecision {
            verified: None,
            error_code: Some(rej.error.code().to_string()),
            error_message: Some(rej.error.message().to_string()),
            response: Some(response(rej.response)),
        },
    })
}

/// The error response the server role sends for an `ofb.*` code.
#[uniffi::export]
pub fn ofb_error_response(code: String, message: String) -> Result<HttpResponse, SeloError> {
    let c = ofb::Code::ALL
        .iter()
        .copied()
        .find(|c| c.as_str() == code)
        .ok_or_else(|| arg(format!("not an ofb error code: {code:?}")))?;
    Ok(response(ofb::server::error_response(&ofb::Error::new(
        c, message,
    ))))
}

/// A signed response body (`application/jwt`) with `status`.
#[uniffi::export]
#[allow(clippy::too_many_arguments)]
pub fn ofb_sign_response(
    status: u16,
    key: Arc<RsaPrivateKey>,
    payload_json: String,
    sign_params: OfbSignParams,
    profile_json: Option<String>,
    now: i64,
    provider_name: Option<String>,
    rng_seed: Option<Vec<u8>>,
) -> Result<HttpResponse, SeloError> {
    let mut rng = make_rng(rng_seed)?;
    Ok(response(ofb::server::sign_response_with_provider(
        provider(provider_name)?,
        status,
        &key.inner,
        &payload(&payload_json)?,
        &params(sign_params)?,
        &profile(profile_json)?,
        secs(now)?,
        &mut *rng,
    )?))
}

/// The media type of a signed body.
#[uniffi::export]
pub fn ofb_media_type() -> String {
    ofb::MEDIA_TYPE.to_string()
}
