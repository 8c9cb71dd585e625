//! Open Finance Brasil JWS PS256: signing (one- and two-phase),
//! verification against a JWK Set, the `jti` replay cache and the
//! resource-server helper that returns the exact OFB error response.

use crate::conv::{
    bytes_in, bytes_out, get, get_opt, get_opt_f64, get_opt_string, member_names, now_in,
    profile_in, profile_out, response_out, rng_in, secs_out, selo_err, set, text_in, to_js,
    type_err,
};
use crate::keys::{PublicKey, jwks_in, private_key_in, public_key_in};
use crate::provider::provider_opt;
use selo::crypto::RsaProvider;
use selo::keys::RsaPrivateKey;
use selo::keys::jwk::JwkSet;
use selo::ofb::{
    self, Expected, JtiCache as CoreJtiCache, JtiStatus, MemoryJtiCache, OfbProfile, SignParams,
    Verified, WhenFull,
};
use selo::rng::CryptoRng;
use wasm_bindgen::prelude::*;

fn profile_from(v: Option<JsValue>, responses: bool) -> Result<OfbProfile, JsValue> {
    let Some(v) = v else {
        return Ok(if responses {
            OfbProfile::for_responses()
        } else {
            OfbProfile::default()
        });
    };
    let names = member_names(&OfbProfile::default());
    let j = profile_in(&v, &names)?;
    OfbProfile::from_json(&j.to_string()).map_err(selo_err)
}

/// The default OFB profile for requests (SPEC §3), camelCase.
#[wasm_bindgen(js_name = ofbDefaultProfile)]
pub fn ofb_default_profile() -> Result<JsValue, JsValue> {
    profile_out(&OfbProfile::default())
}

/// The default OFB profile for responses (`typ` absent or JWT), camelCase.
#[wasm_bindgen(js_name = ofbResponseProfile)]
pub fn ofb_response_profile() -> Result<JsValue, JsValue> {
    profile_out(&OfbProfile::for_responses())
}

/// Validates an OFB profile and returns it complete, camelCase.
#[wasm_bindgen(js_name = ofbProfile)]
pub fn ofb_profile(v: JsValue) -> Result<JsValue, JsValue> {
    profile_out(&profile_from(Some(v), false)?)
}

fn payload_in(v: &JsValue) -> Result<serde_json::Value, JsValue> {
    if let Some(s) = v.as_string() {
        return serde_json::from_str(&s).map_err(|e| {
            selo_err(ofb::Error::new(
                ofb::Code::PayloadNotObject,
                format!("signing: the payload text is not JSON ({e})"),
            ))
        });
    }
    crate::conv::json_in(v, "payload")
}

fn exp_in(opts: &JsValue) -> Result<Option<u64>, JsValue> {
    get_opt_f64(opts, "exp", "options")?
        .map(|e| now_in(Some(e)))
        .transpose()
}

fn signed_out(s: &ofb::Signed) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "token", &JsValue::from_str(&s.token));
    set(&o, "jti", &JsValue::from_str(&s.jti));
    set(&o, "iat", &secs_out(s.iat).into());
    o.into()
}

/// Signs OFB messages with one key (PS256).
#[wasm_bindgen]
pub struct OfbSigner {
    key: RsaPrivateKey,
    kid: String,
    iss: String,
    profile: OfbProfile,
    provider: &'static dyn RsaProvider,
    rng: Box<dyn CryptoRng>,
}

#[wasm_bindgen]
impl OfbSigner {
    /// `{ key, kid, iss, profile?, provider?, seed? }`; `key`: an
    /// `RsaPrivateKey`, PEM or DER (≥ 2048 bits).
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<OfbSigner, JsValue> {
        let key = private_key_in(
            &get_opt(&opts, "key").ok_or_else(|| type_err("options.key: required"))?,
            "options.key",
        )?;
        Ok(OfbSigner {
            key,
            kid: get_opt_string(&opts, "kid", "options")?
                .ok_or_else(|| type_err("options.kid: expected a string"))?,
            iss: get_opt_string(&opts, "iss", "options")?
                .ok_or_else(|| type_err("options.iss: expected a string"))?,
            profile: profile_from(get_opt(&opts, "profile"), false)?,
            provider: provider_opt(&opts)?,
            rng: rng_in(get_opt(&opts, "seed"))?,
        })
    }

    fn params(&self, opts: &JsValue) -> Result<SignParams, JsValue> {
        let aud = get_opt_string(opts, "aud", "options")?
            .ok_or_else(|| type_err("options.aud: expected a string"))?;
        let mut p = SignParams::new(self.kid.clone(), aud, self.iss.clone());
        p.exp = exp_in(opts)?;
        Ok(p)
    }

    /// Signs `payload` (an object, usually `{ data }`) for `aud`:
    /// `{ token, jti, iat }`. Options `{ aud, exp?, now? }`.
    pub fn sign(&mut self, payload: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
        let params = self.params(&opts)?;
        let now = now_in(get_opt_f64(&opts, "now", "options")?)?;
        let s = ofb::sign_with_provider(
            self.provider,
            &self.key,
            &payload_in(&payload)?,
            &params,
            &self.profile,
            now,
            &mut *self.rng,
        )
        .map_err(selo_err)?;
        Ok(signed_out(&s))
    }

    /// A signed HTTP response `{ status, headers, body }` (`application/jwt`).
    #[wasm_bindgen(js_name = signResponse)]
    pub fn sign_response(
        &mut self,
        status: u16,
        payload: JsValue,
        opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        let params = self.params(&opts)?;
        let now = now_in(get_opt_f64(&opts, "now", "options")?)?;
        let r = ofb::server::sign_response_with_provider(
            self.provider,
            status,
            &self.key,
            &payload_in(&payload)?,
            &params,
            &self.profile,
            now,
            &mut *self.rng,
        )
        .map_err(selo_err)?;
        Ok(response_out(r.status, &r.headers, &r.body))
    }

    /// The signer's `kid`.
    #[wasm_bindgen(getter)]
    pub fn kid(&self) -> String {
        self.kid.clone()
    }
}

/// A token prepared for signing elsewhere (HSM, KMS, WebCrypto, Node).
#[wasm_bindgen]
pub struct OfbPrepared {
    inner: ofb::Prepared,
}

#[wasm_bindgen]
impl OfbPrepared {
    /// The bytes to sign with PS256 (PSS, SHA-256, MGF1-SHA-256, salt 32).
    #[wasm_bindgen(getter, js_name = signingInput)]
    pub fn signing_input(&self) -> Vec<u8> {
        self.inner.signing_input().to_vec()
    }

    /// The header's `kid`.
    #[wasm_bindgen(getter)]
    pub fn kid(&self) -> String {
        self.inner.kid().to_string()
    }

    /// The payload's `jti`.
    #[wasm_bindgen(getter)]
    pub fn jti(&self) -> String {
        self.inner.jti().to_string()
    }

    /// The payload's `iat`.
    #[wasm_bindgen(getter)]
    pub fn iat(&self) -> f64 {
        secs_out(self.inner.iat())
    }

    /// Assembles the token from an external signature after checking it
    /// with `publicKey` (`ofb.sign.self_verify` otherwise).
    pub fn finish(
        &self,
        signature: JsValue,
        public_key: &PublicKey,
        opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        let s = ofb::finish_with_provider(
            provider_opt(&opts)?,
            self.inner.clone(),
            &bytes_in(&signature, "signature")?,
            &public_key.inner,
        )
        .map_err(selo_err)?;
        Ok(signed_out(&s))
    }
}

/// Phase one of two-phase signing: `payload` and `{ kid, aud, iss, exp?,
/// now?, profile?, seed? }`.
#[wasm_bindgen(js_name = ofbPrepare)]
pub fn ofb_prepare(payload: JsValue, opts: JsValue) -> Result<OfbPrepared, JsValue> {
    let mut p = SignParams::new(
        get_opt_string(&opts, "kid", "options")?
            .ok_or_else(|| type_err("options.kid: expected a string"))?,
        get_opt_string(&opts, "aud", "options")?
            .ok_or_else(|| type_err("options.aud: expected a string"))?,
        get_opt_string(&opts, "iss", "options")?
            .ok_or_else(|| type_err("options.iss: expected a string"))?,
    );
    p.exp = exp_in(&opts)?;
    let profile = profile_from(get_opt(&opts, "profile"), false)?;
    let now = now_in(get_opt_f64(&opts, "now", "options")?)?;
    let mut rng = rng_in(get_opt(&opts, "seed"))?;
    let inner =
        ofb::prepare(&payload_in(&payload)?, &p, &profile, now, &mut *rng).map_err(selo_err)?;
    Ok(OfbPrepared { inner })
}

fn verified_out(v: &Verified) -> Result<JsValue, JsValue> {
    let o = js_sys::Object::new();
    set(&o, "header", &to_js(&v.header)?);
    set(&o, "payload", &to_js(&v.payload)?);
    set(&o, "claims", &to_js(&v.claims)?);
    set(&o, "kid", &JsValue::from_str(&v.kid));
    Ok(o.into())
}

/// The replay cache of `(client id, jti)` pairs (SPEC §3.3), in memory.
#[wasm_bindgen]
pub struct JtiCache {
    inner: MemoryJtiCache,
}

#[wasm_bindgen]
impl JtiCache {
    /// `{ capacity? (1000000, the core's `DEFAULT_CAPACITY`), whenFull?: "refuse" | "evict-oldest", ttl? (86400 s) }`.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<JtiCache, JsValue> {
        #[allow(clippy::cast_precision_loss)]
        let cap =
            get_opt_f64(&opts, "capacity", "options")?.unwrap_or(ofb::DEFAULT_CAPACITY as f64);
        if !(cap.is_finite() && cap >= 1.0) {
            return Err(type_err("options.capacity: expected a positive integer"));
        }
        let when = match get_opt_string(&opts, "whenFull", "options")?.as_deref() {
            None | Some("refuse") => WhenFull::Refuse,
            Some("evict-oldest") | Some("evictOldest") => WhenFull::EvictOldest,
            Some(other) => {
                return Err(type_err(format!(
                    "options.whenFull: expected \"refuse\" or \"evict-oldest\", found \"{other}\""
                )));
            }
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let mut inner = MemoryJtiCache::new(cap as usize, when);
        if let Some(ttl) = get_opt_f64(&opts, "ttl", "options")? {
            inner = inner.with_ttl(now_in(Some(ttl))?);
        }
        Ok(JtiCache { inner })
    }

    /// Records the pair: "fresh" or "replayed"; throws `ofb.replay.capacity`.
    #[wasm_bindgen(js_name = checkAndInsert)]
    pub fn check_and_insert(
        &mut self,
        client_id: &str,
        jti: &str,
        now: Option<f64>,
    ) -> Result<String, JsValue> {
        let s = self
            .inner
            .check_and_insert(client_id, jti, now_in(now)?)
            .map_err(selo_err)?;
        Ok(match s {
            JtiStatus::Fresh => "fresh".into(),
            JtiStatus::Replayed => "replayed".into(),
        })
    }

    /// Entries held.
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        u32::try_from(self.inner.len()).unwrap_or(u32::MAX)
    }
}

/// A replay cache whose answer the host already knows (JS caches, e.g.
/// Redis, are asked by the driver; the core still makes the decision).
struct Answered(Option<Result<JtiStatus, ()>>, Option<(String, String)>);

impl CoreJtiCache for Answered {
    fn check_and_insert(
        &mut self,
        client_id: &str,
        jti: &str,
        _now: u64,
    ) -> Result<JtiStatus, ofb::Error> {
        self.1 = Some((client_id.to_string(), jti.to_string()));
        match self.0 {
            None | Some(Ok(JtiStatus::Fresh)) => Ok(JtiStatus::Fresh),
            Some(Ok(JtiStatus::Replayed)) => Ok(JtiStatus::Replayed),
            // Fail closed: 503 `ofb.replay.store_failed`.
            Some(Err(())) => Err(ofb::store_failed()),
        }
    }
}

fn rejection_out(e: &ofb::Error, r: &ofb::server::Response) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "ok", &JsValue::FALSE);
    set(&o, "error", &selo_err(e.clone()));
    set(&o, "response", &response_out(r.status, &r.headers, &r.body));
    o.into()
}

/// Verifies OFB tokens against a JWK Set.
#[wasm_bindgen]
pub struct OfbVerifier {
    jwks: std::sync::Arc<JwkSet>,
    profile: OfbProfile,
    provider: &'static dyn RsaProvider,
}

#[wasm_bindgen]
impl OfbVerifier {
    /// `{ jwks, profile?, responses?, provider? }`; `responses: true` uses
    /// the response profile (`typ` absent or JWT) when no profile is given.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<OfbVerifier, JsValue> {
        let jwks =
            jwks_in(&get_opt(&opts, "jwks").ok_or_else(|| type_err("options.jwks: required"))?)?;
        let responses = get(&opts, "responses").as_bool().unwrap_or(false);
        Ok(OfbVerifier {
            jwks: std::sync::Arc::new(jwks),
            profile: profile_from(get_opt(&opts, "profile"), responses)?,
            provider: provider_opt(&opts)?,
        })
    }

    /// Replaces the JWK Set (after a refresh).
    #[wasm_bindgen(js_name = setJwks)]
    pub fn set_jwks(&mut self, jwks: JsValue) -> Result<(), JsValue> {
        self.jwks = std::sync::Arc::new(jwks_in(&jwks)?);
        Ok(())
    }

    /// Uses the set a `JwksCache` holds (shared, not copied): after each of
    /// its `use` decisions.
    #[wasm_bindgen(js_name = setJwksFrom)]
    pub fn set_jwks_from(&mut self, cache: &JwksCache) -> Result<(), JsValue> {
        self.jwks = cache.inner.jwks().ok_or_else(|| {
            selo_err(ofb::Error::new(
                ofb::Code::JwksUnavailable,
                "the JWKS cache has no set yet",
            ))
        })?;
        Ok(())
    }

    /// Phase one of the resource-server check with the host's own replay
    /// store (Redis…): method, content type, size, stages 1–6, one
    /// verification. `{ ok: false, error, response }` (send that response),
    /// or `{ ok: true, pending }`: ask the store for `pending.storeKey()`
    /// (`SET key 1 NX EX pending.ttlSeconds(now)`), then
    /// `pending.finish(answer)`.
    #[wasm_bindgen(js_name = checkRequest)]
    pub fn check_request(&self, request: JsValue, expected: JsValue) -> Result<JsValue, JsValue> {
        let (method, content_type, body, now, exp) = request_parts(&request, &expected)?;
        match ofb::server::check_request_with_provider(
            self.provider,
            &method,
            content_type.as_deref(),
            &body,
            now,
            &self.jwks,
            &exp,
            &self.profile,
        ) {
            Ok(p) => {
                let o = js_sys::Object::new();
                set(&o, "ok", &JsValue::TRUE);
                set(&o, "pending", &OfbPendingRequest { inner: Some(p) }.into());
                Ok(o.into())
            }
            Err(rej) => Ok(rejection_out(&rej.error, &rej.response)),
        }
    }

    /// True when the set has a key with this `kid`.
    #[wasm_bindgen(js_name = hasKid)]
    pub fn has_kid(&self, kid: &str) -> bool {
        self.jwks.find_kid(kid).next().is_some()
    }

    /// Stages 1–6 of SPEC §3.2: `{ header, payload, claims, kid }`, or
    /// throws the first failing stage's `SeloError`. Options `{ aud, iss, now? }`.
    pub fn verify(&self, token: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
        let token = text_in(&token, "token")?;
        let expected = Expected::new(
            get_opt_string(&opts, "aud", "options")?
                .ok_or_else(|| type_err("options.aud: expected a string"))?,
            get_opt_string(&opts, "iss", "options")?
                .ok_or_else(|| type_err("options.iss: expected a string"))?,
        );
        let now = now_in(get_opt_f64(&opts, "now", "options")?)?;
        let v = ofb::verify_with_provider(
            self.provider,
            token.trim(),
            &self.jwks,
            &expected,
            &self.profile,
            now,
        )
        .map_err(selo_err)?;
        verified_out(&v)
    }

    /// The resource-server check of a request (SPEC §3.2 with the status
    /// mapping): `request` `{ method, contentType, body, now? }`, `expected`
    /// `{ aud, iss, clientId }`, `cache` a `JtiCache`. Returns `{ ok: true,
    /// verified }` or `{ ok: false, error, response }` (the exact response).
    #[wasm_bindgen(js_name = verifyRequest)]
    pub fn verify_request(
        &self,
        request: JsValue,
        expected: JsValue,
        cache: &mut JtiCache,
    ) -> Result<JsValue, JsValue> {
        self.verify_request_inner(&request, &expected, &mut cache.inner)
    }

    /// Like `verifyRequest` with replay status `replayStatus` ("fresh" |
    /// "replayed" | null; any other string refuses with 503
    /// `ofb.replay.store_failed`) that the host got from its own cache for the
    /// `(clientId, jti)` returned in `replayKey`. Phase one (null) returns
    /// `{ ok: true, verified, replayKey }` when stages 1–6 pass; phase two
    /// passes the cache's answer and returns the final decision.
    #[wasm_bindgen(js_name = verifyRequestWithReplayStatus)]
    pub fn verify_request_with_replay_status(
        &self,
        request: JsValue,
        expected: JsValue,
        replay_status: Option<String>,
    ) -> Result<JsValue, JsValue> {
        // Phase two takes exactly "fresh" or "replayed"; any other string
        // is a store failure (503 `ofb.replay.store_failed`), never "fresh".
        let status = replay_status
            .as_deref()
            .map(|s| ofb::JtiStatus::from_store_answer(Some(s)).map_err(|_| ()));
        let mut cache = Answered(status, None);
        let out = self.verify_request_inner(&request, &expected, &mut cache)?;
        if let Some((client, jti)) = cache.1 {
            let k = js_sys::Object::new();
            set(&k, "clientId", &JsValue::from_str(&client));
            set(&k, "jti", &JsValue::from_str(&jti));
            set(out.unchecked_ref(), "replayKey", &k.into());
        }
        Ok(out)
    }

    fn verify_request_inner(
        &self,
        request: &JsValue,
        expected: &JsValue,
        cache: &mut dyn CoreJtiCache,
    ) -> Result<JsValue, JsValue> {
        let (method, content_type, body, now, exp) = request_parts(request, expected)?;
        match ofb::server::verify_request_with_provider(
            self.provider,
            &method,
            content_type.as_deref(),
            &body,
            now,
            &self.jwks,
            &exp,
            &self.profile,
            cache,
        ) {
            Ok(v) => {
                let o = js_sys::Object::new();
                set(&o, "ok", &JsValue::TRUE);
                set(&o, "verified", &verified_out(&v)?);
                Ok(o.into())
            }
            Err(rej) => Ok(rejection_out(&rej.error, &rej.response)),
        }
    }
}

type RequestParts = (
    String,
    Option<String>,
    Vec<u8>,
    u64,
    ofb::server::RequestExpectations,
);

fn request_parts(request: &JsValue, expected: &JsValue) -> Result<RequestParts, JsValue> {
    let method = get_opt_string(request, "method", "request")?.unwrap_or_else(|| "POST".into());
    let content_type = get_opt_string(request, "contentType", "request")?;
    let body = match get_opt(request, "body") {
        Some(b) => bytes_in(&b, "request.body")?,
        None => Vec::new(),
    };
    let now = now_in(get_opt_f64(request, "now", "request")?)?;
    let exp = ofb::server::RequestExpectations {
        aud: get_opt_string(expected, "aud", "expected")?
            .ok_or_else(|| type_err("expected.aud: expected a string"))?,
        iss: get_opt_string(expected, "iss", "expected")?
            .ok_or_else(|| type_err("expected.iss: expected a string"))?,
        client_id: get_opt_string(expected, "clientId", "expected")?
            .ok_or_else(|| type_err("expected.clientId: expected a string"))?,
    };
    Ok((method, content_type, body, now, exp))
}

/// A request that passed every check but replay (see
/// `OfbVerifier.checkRequest`).
#[wasm_bindgen]
pub struct OfbPendingRequest {
    inner: Option<ofb::server::PendingRequest>,
}

#[wasm_bindgen]
impl OfbPendingRequest {
    fn get(&self) -> Result<&ofb::server::PendingRequest, JsValue> {
        self.inner
            .as_ref()
            .ok_or_else(|| type_err("this pending request was already finished"))
    }

    /// The replay scope.
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> Result<String, JsValue> {
        Ok(self.get()?.replay.client_id.clone())
    }

    /// The `jti`, lower-case when it is a UUID.
    #[wasm_bindgen(getter)]
    pub fn jti(&self) -> Result<String, JsValue> {
        Ok(self.get()?.replay.jti.clone())
    }

    /// The replay store key: `<prefix>:<length of client id>:<client
    /// id>:<jti>` (`prefix` default `selo:ofb:jti`).
    #[wasm_bindgen(js_name = storeKey)]
    pub fn store_key(&self, prefix: Option<String>) -> Result<String, JsValue> {
        let prefix = prefix
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ofb::server::REPLAY_KEY_PREFIX.to_string());
        Ok(self.get()?.replay.store_key(&prefix))
    }

    /// Seconds the store keeps the entry at `now` (Unix seconds; default
    /// the host clock): the token's remaining acceptance window, 1 to 86 400.
    #[wasm_bindgen(js_name = ttlSeconds)]
    pub fn ttl_seconds(&self, now: Option<f64>) -> Result<f64, JsValue> {
        Ok(secs_out(self.get()?.replay.ttl_seconds(now_in(now)?)))
    }

    /// Phase two: the store's answer, exactly "fresh" or "replayed";
    /// anything else (null, undefined, true, another string) refuses with
    /// 503 `ofb.replay.store_failed`. `{ ok: true, verified }` or `{ ok:
    /// false, error, response }`. The pending request is spent.
    pub fn finish(&mut self, answer: JsValue) -> Result<JsValue, JsValue> {
        let p = self
            .inner
            .take()
            .ok_or_else(|| type_err("this pending request was already finished"))?;
        let answer = answer.as_string();
        match ofb::server::finish_request(p, answer.as_deref()) {
            Ok(v) => {
                let o = js_sys::Object::new();
                set(&o, "ok", &JsValue::TRUE);
                set(&o, "verified", &verified_out(&v)?);
                Ok(o.into())
            }
            Err(rej) => Ok(rejection_out(&rej.error, &rej.response)),
        }
    }
}

/// The remote JWK Set policy (SPEC §3.3a), sans-I/O: the host asks
/// `decide` before each verification and performs what it says.
#[wasm_bindgen]
pub struct JwksCache {
    inner: ofb::JwksCache,
}

fn ms_in(v: f64, what: &str) -> Result<u64, JsValue> {
    if !v.is_finite() || !(0.0..=9_007_199_254_740_991.0).contains(&v) {
        return Err(type_err(format!(
            "{what}: expected milliseconds >= 0, found {v}"
        )));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(v.floor() as u64)
}

fn ticket_out(t: &ofb::FetchTicket) -> JsValue {
    let o = js_sys::Object::new();
    #[allow(clippy::cast_precision_loss)]
    let id = t.id as f64;
    set(&o, "id", &JsValue::from_f64(id));
    set(&o, "url", &JsValue::from_str(&t.url));
    set(&o, "timeoutMs", &JsValue::from_f64(secs_out(t.timeout_ms)));
    #[allow(clippy::cast_precision_loss)]
    let max = t.max_bytes as f64;
    set(&o, "maxBytes", &JsValue::from_f64(max));
    o.into()
}

#[wasm_bindgen]
impl JwksCache {
    /// `{ url, policy? }`: `url` https (http only to loopback, or with
    /// `policy.allow_http`); `policy` members as `JwksPolicy` (snake_case,
    /// milliseconds). Throws `ofb.jwks.url` for a refused URL or policy.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<JwksCache, JsValue> {
        let url = get_opt_string(&opts, "url", "options")?
            .ok_or_else(|| type_err("options.url: expected a string"))?;
        let policy = match get_opt(&opts, "policy") {
            Some(p) => {
                let text = js_sys::JSON::stringify(&p)
                    .map_err(|_| type_err("options.policy: not JSON"))?
                    .as_string()
                    .unwrap_or_default();
                ofb::JwksPolicy::from_json(&text).map_err(selo_err)?
            }
            None => ofb::JwksPolicy::default(),
        };
        Ok(JwksCache {
            inner: ofb::JwksCache::new(&url, policy).map_err(selo_err)?,
        })
    }

    /// The decision for `token` (its header's `kid` read by the core) at
    /// `nowMs`: `{ kind: "use", refresh? }` (verify now; `refresh`, a
    /// ticket, to start in the background), `{ kind: "fetch", ticket }`
    /// (fetch, hand back, decide again) or `{ kind: "wait", untilMs }`.
    /// Throws `ofb.jwks.unavailable` (503) when nothing can be used.
    pub fn decide(&mut self, now_ms: f64, token: Option<String>) -> Result<JsValue, JsValue> {
        let now = ms_in(now_ms, "nowMs")?;
        let d = match token {
            Some(t) => self.inner.decide_for_token(now, &t),
            None => self.inner.decide(now, None),
        }
        .map_err(selo_err)?;
        let o = js_sys::Object::new();
        match d {
            ofb::Decision::Use { refresh } => {
                set(&o, "kind", &JsValue::from_str("use"));
                if let Some(t) = refresh {
                    set(&o, "refresh", &ticket_out(&t));
                }
            }
            ofb::Decision::Fetch(t) => {
                set(&o, "kind", &JsValue::from_str("fetch"));
                set(&o, "ticket", &ticket_out(&t));
            }
            ofb::Decision::Wait { until_ms } => {
                set(&o, "kind", &JsValue::from_str("wait"));
                set(&o, "untilMs", &JsValue::from_f64(secs_out(until_ms)));
            }
        }
        Ok(o.into())
    }

    /// Fetch `ticketId` answered `status` with `body` (bytes, at most
    /// `maxBytes`): returns the keys skipped (`[{ index, kid, error }]`) or
    /// throws `ofb.jwks.fetch` saying why (recorded, backoff started).
    pub fn fetched(
        &mut self,
        ticket_id: f64,
        now_ms: f64,
        status: u16,
        body: JsValue,
    ) -> Result<JsValue, JsValue> {
        let id = ms_in(ticket_id, "ticketId")?;
        let now = ms_in(now_ms, "nowMs")?;
        let body = bytes_in(&body, "body")?;
        let skipped = self
            .inner
            .fetched(id, now, status, &body)
            .map_err(selo_err)?;
        to_js(skipped)
    }

    /// Fetch `ticketId` ended without a complete response: `kind` is
    /// "timeout", "network", "too-large" or "refused"; `detail` the host's
    /// words (logged, never shown to a peer). Returns the recorded
    /// `SeloError` (`ofb.jwks.fetch`), for the host's log.
    pub fn failed(
        &mut self,
        ticket_id: f64,
        now_ms: f64,
        kind: &str,
        detail: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let id = ms_in(ticket_id, "ticketId")?;
        let now = ms_in(now_ms, "nowMs")?;
        let kind: ofb::FetchFailure = kind.parse().map_err(type_err)?;
        Ok(selo_err(self.inner.failed(
            id,
            now,
            kind,
            detail.as_deref().unwrap_or(""),
        )))
    }

    /// The URL.
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.inner.url().to_string()
    }

    /// The policy in effect (snake_case members, milliseconds).
    #[wasm_bindgen(getter)]
    pub fn policy(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.policy())
    }

    /// `{ fetches, failures, refused, consecutive_failures }`.
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.stats())
    }

    /// Keys of the current set that did not parse.
    pub fn skipped(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.skipped())
    }

    /// True when the current set has a key with this `kid`.
    #[wasm_bindgen(js_name = hasKid)]
    pub fn has_kid(&self, kid: &str) -> bool {
        self.inner
            .jwks()
            .is_some_and(|s| s.find_kid(kid).next().is_some())
    }
}

/// How a client reads an OFB reply (never an unsigned body as if it were
/// verified): `{ kind: "jws", token }` to verify, `{ kind: "unverified" }`
/// (a non-2xx without a JWS, only with `allowUnsignedErrors`), or throws
/// `ofb.client.unsigned` (a 2xx that is not a JWS) /
/// `ofb.client.http_status`.
#[wasm_bindgen(js_name = ofbReadReply)]
pub fn ofb_read_reply(
    status: u16,
    content_type: Option<String>,
    body: JsValue,
    allow_unsigned_errors: bool,
) -> Result<JsValue, JsValue> {
    let body = bytes_in(&body, "body")?;
    let o = js_sys::Object::new();
    match ofb::client::read_reply(
        status,
        content_type.as_deref(),
        &body,
        allow_unsigned_errors,
    )
    .map_err(selo_err)?
    {
        ofb::client::ReplyBody::Jws(t) => {
            set(&o, "kind", &JsValue::from_str("jws"));
            set(&o, "token", &JsValue::from_str(t));
        }
        ofb::client::ReplyBody::Unverified => set(&o, "kind", &JsValue::from_str("unverified")),
    }
    Ok(o.into())
}

/// The 413 response a server helper sends for a body over `limit` bytes:
/// `{ status, headers, body }`.
#[wasm_bindgen(js_name = bodyTooLargeResponse)]
pub fn body_too_large_response(limit: f64) -> Result<JsValue, JsValue> {
    let r = ofb::server::body_too_large_response(ms_in(limit, "limit")?);
    Ok(response_out(r.status, &r.headers, &r.body))
}

/// The 500 a BMP confirmation endpoint sends when it could not decide (its
/// store failed): `{ status, headers, body }`, a fixed message.
#[wasm_bindgen(js_name = bmpConfirmInternalResponse)]
pub fn bmp_confirm_internal_response() -> JsValue {
    let c = selo::bmp::ConfirmResponse::internal();
    response_out(c.status, &c.headers, &c.body)
}

/// The OFB error response for a `SeloError` code from the `ofb` area:
/// `{ status, headers, body }`.
#[wasm_bindgen(js_name = ofbErrorResponse)]
pub fn ofb_error_response(code: &str, message: &str) -> Result<JsValue, JsValue> {
    let c = ofb::Code::ALL
        .iter()
        .copied()
        .find(|c| c.as_str() == code)
        .ok_or_else(|| type_err(format!("code: \"{code}\" is not an ofb code")))?;
    let r = ofb::server::error_response(&ofb::Error::new(c, message));
    Ok(response_out(r.status, &r.headers, &r.body))
}

/// Parses a compact JWS without verifying it (debugging):
/// `{ header, payload, signature, signingInput }`.
#[wasm_bindgen(js_name = ofbDecode)]
pub fn ofb_decode(token: JsValue) -> Result<JsValue, JsValue> {
    let t = text_in(&token, "token")?;
    let p = ofb::parse_compact(t.trim()).map_err(selo_err)?;
    let o = js_sys::Object::new();
    set(&o, "header", &to_js(&p.header)?);
    set(&o, "payload", &to_js(&p.payload)?);
    set(&o, "signature", &bytes_out(&p.signature));
    set(&o, "signingInput", &JsValue::from_str(&p.signing_input));
    Ok(o.into())
}

/// A public key check helper: the key in any accepted form, as `RsaPublicKey`.
#[wasm_bindgen(js_name = importPublicKey)]
pub fn import_public_key(key: JsValue) -> Result<PublicKey, JsValue> {
    Ok(PublicKey {
        inner: public_key_in(&key, "key")?,
    })
}
