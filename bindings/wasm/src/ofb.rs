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
    jwks: JwkSet,
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
            jwks,
            profile: profile_from(get_opt(&opts, "profile"), responses)?,
            provider: provider_opt(&opts)?,
        })
    }

    /// Replaces the JWK Set (after a refresh).
    #[wasm_bindgen(js_name = setJwks)]
    pub fn set_jwks(&mut self, jwks: JsValue) -> Result<(), JsValue> {
        self.jwks = jwks_in(&jwks)?;
        Ok(())
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
