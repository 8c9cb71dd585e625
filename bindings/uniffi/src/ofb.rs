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
    Ok(decision(result))
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

// ---------------------------------------------------------------------------
// One-pass request verification with the host's replay store, the remote
// JWK Set policy, and the client's reading of a reply (issue 20).

/// A request that passed every check but replay.
#[derive(uniffi::Object)]
pub struct OfbPendingRequest {
    inner: Mutex<Option<ofb::server::PendingRequest>>,
    client_id: String,
    jti: String,
    forget_after: u64,
}

#[uniffi::export]
impl OfbPendingRequest {
    /// The replay scope.
    pub fn client_id(&self) -> String {
        self.client_id.clone()
    }

    /// The `jti`, lower-case when it is a UUID.
    pub fn jti(&self) -> String {
        self.jti.clone()
    }

    /// The replay store key: `<prefix>:<length of client id>:<client
    /// id>:<jti>` (`prefix` `None`: `selo:ofb:jti`).
    pub fn store_key(&self, prefix: Option<String>) -> String {
        let key = ofb::server::ReplayKey {
            client_id: self.client_id.clone(),
            jti: self.jti.clone(),
            forget_after: self.forget_after,
        };
        key.store_key(
            prefix
                .as_deref()
                .filter(|p| !p.is_empty())
                .unwrap_or(ofb::server::REPLAY_KEY_PREFIX),
        )
    }

    /// Seconds the store keeps the entry at `now`: the token's remaining
    /// acceptance window, 1 to 86 400.
    pub fn ttl_seconds(&self, now: i64) -> Result<u64, SeloError> {
        Ok(self
            .forget_after
            .saturating_sub(secs(now)?)
            .clamp(1, ofb::JTI_TTL))
    }

    /// Phase two: the store's answer, exactly "fresh" or "replayed"; `None`
    /// or anything else refuses with 503 `ofb.replay.store_failed`.
    pub fn finish(&self, answer: Option<String>) -> Result<OfbServerDecision, SeloError> {
        let p = lock(&self.inner)
            .take()
            .ok_or_else(|| arg("this pending request was already finished"))?;
        Ok(decision(ofb::server::finish_request(p, answer.as_deref())))
    }
}

fn decision(r: Result<Verified, ofb::server::Rejection>) -> OfbServerDecision {
    match r {
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
    }
}

/// Phase one or its refusal.
#[derive(uniffi::Enum)]
#[allow(clippy::large_enum_variant)]
pub enum OfbCheck {
    /// Every check but replay passed: ask the store, then `finish`.
    Pending { pending: Arc<OfbPendingRequest> },
    /// Refused: send `decision.response`.
    Refused { decision: OfbServerDecision },
}

/// Phase one of the resource-server check with the host's own replay store
/// (one verification): method, content type, size, stages 1–6.
#[uniffi::export]
#[allow(clippy::too_many_arguments)]
pub fn ofb_check_request(
    method: String,
    content_type: Option<String>,
    body: Vec<u8>,
    now: i64,
    jwks: Arc<JwkSet>,
    aud: String,
    iss: String,
    client_id: String,
    profile_json: Option<String>,
    provider_name: Option<String>,
) -> Result<OfbCheck, SeloError> {
    let expected = RequestExpectations {
        aud,
        iss,
        client_id,
    };
    Ok(
        match ofb::server::check_request_with_provider(
            provider(provider_name)?,
            &method,
            content_type.as_deref(),
            &body,
            secs(now)?,
            &jwks.inner,
            &expected,
            &profile(profile_json)?,
        ) {
            Ok(p) => OfbCheck::Pending {
                pending: Arc::new(OfbPendingRequest {
                    client_id: p.replay.client_id.clone(),
                    jti: p.replay.jti.clone(),
                    forget_after: p.replay.forget_after,
                    inner: Mutex::new(Some(p)),
                }),
            },
            Err(rej) => OfbCheck::Refused {
                decision: decision(Err(rej)),
            },
        },
    )
}

/// A fetch the host performs now.
#[derive(Clone, Debug, uniffi::Record)]
pub struct JwksFetchTicket {
    pub id: u64,
    pub url: String,
    pub timeout_ms: u64,
    pub max_bytes: u64,
}

impl From<ofb::FetchTicket> for JwksFetchTicket {
    fn from(t: ofb::FetchTicket) -> Self {
        Self {
            id: t.id,
            url: t.url,
            timeout_ms: t.timeout_ms,
            max_bytes: t.max_bytes as u64,
        }
    }
}

/// What the host does with the token it is about to verify.
#[derive(Clone, Debug, uniffi::Enum)]
pub enum JwksDecision {
    /// Verify with `JwksCache.jwks()` now; start `refresh` in the
    /// background when given (the request does not wait for it).
    Use { refresh: Option<JwksFetchTicket> },
    /// Perform this fetch, hand its result back, then decide again.
    Fetch { ticket: JwksFetchTicket },
    /// A fetch is in flight: wait for it (at most until `until_ms`).
    Wait { until_ms: u64 },
}

/// A key of the fetched set that did not parse.
#[derive(Clone, Debug, uniffi::Record)]
pub struct JwksSkippedKey {
    pub index: u64,
    pub kid: Option<String>,
    pub error: String,
}

/// Counters.
#[derive(Clone, Debug, uniffi::Record)]
pub struct JwksCacheStats {
    pub fetches: u64,
    pub failures: u64,
    pub refused: u64,
    pub consecutive_failures: u32,
}

/// The remote JWK Set policy (SPEC §3.3a), sans-I/O; thread-safe.
#[derive(uniffi::Object)]
pub struct JwksCache {
    inner: Mutex<ofb::JwksCache>,
}

fn ms(v: i64) -> Result<u64, SeloError> {
    u64::try_from(v).map_err(|_| arg(format!("time must be >= 0 ms, found {v}")))
}

#[uniffi::export]
impl JwksCache {
    /// `url`: https (http only to loopback, or with the policy's
    /// `allow_http`); `policy_json`: a `JwksPolicy` (`None`: defaults).
    #[uniffi::constructor]
    pub fn new(url: String, policy_json: Option<String>) -> Result<Arc<Self>, SeloError> {
        let policy = match policy_json.as_deref().map(str::trim) {
            None | Some("") => ofb::JwksPolicy::default(),
            Some(j) => ofb::JwksPolicy::from_json(j)?,
        };
        Ok(Arc::new(Self {
            inner: Mutex::new(ofb::JwksCache::new(&url, policy)?),
        }))
    }

    /// The decision for `token` (`None`: no token) at `now_ms`; raises
    /// `ofb.jwks.unavailable` (503) when nothing can be used.
    pub fn decide(&self, now_ms: i64, token: Option<String>) -> Result<JwksDecision, SeloError> {
        let now = ms(now_ms)?;
        let mut c = lock(&self.inner);
        let d = match token {
            Some(t) => c.decide_for_token(now, &t)?,
            None => c.decide(now, None)?,
        };
        Ok(match d {
            ofb::Decision::Use { refresh } => JwksDecision::Use {
                refresh: refresh.map(Into::into),
            },
            ofb::Decision::Fetch(t) => JwksDecision::Fetch { ticket: t.into() },
            ofb::Decision::Wait { until_ms } => JwksDecision::Wait { until_ms },
        })
    }

    /// Fetch `ticket_id` answered `status` with `body`: the keys skipped, or
    /// `ofb.jwks.fetch` saying why (recorded, backoff started).
    pub fn fetched(
        &self,
        ticket_id: u64,
        now_ms: i64,
        status: u16,
        body: Vec<u8>,
    ) -> Result<Vec<JwksSkippedKey>, SeloError> {
        let now = ms(now_ms)?;
        let mut c = lock(&self.inner);
        Ok(c.fetched(ticket_id, now, status, &body)?
            .iter()
            .map(|s| JwksSkippedKey {
                index: s.index as u64,
                kid: s.kid.clone(),
                error: s.error.clone(),
            })
            .collect())
    }

    /// Fetch `ticket_id` ended without a complete response (`kind`:
    /// "timeout", "network", "too-large", "refused"); returns the recorded
    /// `ofb.jwks.fetch` error's message, for the host's log.
    pub fn failed(
        &self,
        ticket_id: u64,
        now_ms: i64,
        kind: String,
        detail: Option<String>,
    ) -> Result<String, SeloError> {
        let now = ms(now_ms)?;
        let kind: ofb::FetchFailure = kind.parse().map_err(arg)?;
        let e = lock(&self.inner).failed(ticket_id, now, kind, detail.as_deref().unwrap_or(""));
        Ok(e.message().to_string())
    }

    /// The set to verify with (after a `Use`).
    pub fn jwks(&self) -> Result<Arc<JwkSet>, SeloError> {
        let set = lock(&self.inner).jwks().ok_or_else(|| {
            selo::ofb::Error::new(selo::ofb::Code::JwksUnavailable, "no JWK Set fetched yet")
        })?;
        Ok(Arc::new(JwkSet { inner: set }))
    }

    pub fn url(&self) -> String {
        lock(&self.inner).url().to_string()
    }

    pub fn timeout_ms(&self) -> u64 {
        lock(&self.inner).policy().timeout_ms
    }

    pub fn max_bytes(&self) -> u64 {
        lock(&self.inner).policy().max_bytes as u64
    }

    pub fn stats(&self) -> JwksCacheStats {
        let s = lock(&self.inner).stats();
        JwksCacheStats {
            fetches: s.fetches,
            failures: s.failures,
            refused: s.refused,
            consecutive_failures: s.consecutive_failures,
        }
    }

    pub fn skipped(&self) -> Vec<JwksSkippedKey> {
        lock(&self.inner)
            .skipped()
            .iter()
            .map(|s| JwksSkippedKey {
                index: s.index as u64,
                kid: s.kid.clone(),
                error: s.error.clone(),
            })
            .collect()
    }

    /// True when the current set has a key with this `kid`.
    pub fn has_kid(&self, kid: String) -> bool {
        lock(&self.inner)
            .jwks()
            .is_some_and(|s| s.find_kid(&kid).next().is_some())
    }
}

/// A client's reading of an OFB reply.
#[derive(Clone, Debug, uniffi::Enum)]
pub enum OfbReply {
    /// A compact JWS: verify it before use.
    Jws { token: String },
    /// A non-2xx reply without a JWS, returned only because the caller
    /// opted in: unverified.
    Unverified,
}

/// Reads an OFB reply: a 2xx that is not a JWS raises `ofb.client.unsigned`;
/// a non-2xx without one `ofb.client.http_status` unless
/// `allow_unsigned_errors`.
#[uniffi::export]
pub fn ofb_read_reply(
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
    allow_unsigned_errors: bool,
) -> Result<OfbReply, SeloError> {
    Ok(
        match ofb::client::read_reply(
            status,
            content_type.as_deref(),
            &body,
            allow_unsigned_errors,
        )? {
            ofb::client::ReplyBody::Jws(t) => OfbReply::Jws {
                token: t.to_string(),
            },
            ofb::client::ReplyBody::Unverified => OfbReply::Unverified,
        },
    )
}

/// The 413 response a server helper sends for a body over `limit` bytes.
#[uniffi::export]
pub fn body_too_large_response(limit: u64) -> HttpResponse {
    response(ofb::server::body_too_large_response(limit))
}

/// The 500 a BMP confirmation endpoint sends when it could not decide.
#[uniffi::export]
pub fn bmp_confirm_internal_response() -> HttpResponse {
    let c = selo::bmp::ConfirmResponse::internal();
    HttpResponse {
        status: c.status,
        headers: headers_out(c.headers),
        body: c.body,
    }
}
