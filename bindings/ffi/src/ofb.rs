//! Open Finance Brasil JWS (PS256): JWK Sets, signing, verification, the
//! `jti` replay cache and the resource-server helper.

use crate::http::{SeloRequest, SeloResponse};
use crate::keys::SeloPrivateKey;
use crate::{
    FfiError, FfiResult, Out, Rng, SeloStatus, alloc_string, bytes_arg, call, free_handle,
    handle_mut, handle_ref, new_handle, seeded_rng, str_arg, system_rng, time_arg,
};
use selo::keys::jwk::JwkSet;
use selo::ofb::{
    self, Expected, JtiCache, JtiStatus, MemoryJtiCache, OfbProfile, SignParams, Verified, WhenFull,
};
use serde_json::{Value, json};
use std::ffi::c_char;
use std::sync::Arc;

fn profile_arg(p: *const c_char) -> FfiResult<OfbProfile> {
    let s = str_arg(p, "profile_json")?;
    if s.trim().is_empty() {
        Ok(OfbProfile::default())
    } else {
        Ok(OfbProfile::from_json(s)?)
    }
}

fn verified_json(v: &Verified) -> FfiResult<String> {
    Ok(json!({
        "header": v.header,
        "payload": v.payload,
        "claims": v.claims,
        "kid": v.kid,
    })
    .to_string())
}

/// A JWK Set (opaque). Shared, not copied, with the remote JWK Set cache
/// that handed it out.
pub struct SeloJwks {
    inner: Arc<JwkSet>,
}

impl SeloJwks {
    pub(crate) fn shared(inner: Arc<JwkSet>) -> Self {
        Self { inner }
    }
}

/// Parses a JWK Set (`{"keys":[…]}`).
///
/// # Safety
/// `json` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jwks_parse(
    json: *const c_char,
    out: *mut *mut SeloJwks,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let inner = Arc::new(JwkSet::parse(str_arg(json, "json")?)?);
        out.write(new_handle(SeloJwks { inner }));
        Ok(())
    })
}

/// The set as JSON with private members removed (what you publish).
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jwks_to_public_json(
    jwks: *const SeloJwks,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let j = handle_ref(jwks, "jwks")?;
        out.write(alloc_string(j.inner.to_public().to_json()?.to_string())?);
        Ok(())
    })
}

/// Frees a JWK Set (NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_jwks_free(jwks: *mut SeloJwks) {
    free_handle(jwks);
}

/// A PS256 signer (opaque): a private key (≥ 2048 bits), its `kid`, the
/// signer's organisationId (`iss`) and a profile.
pub struct SeloOfbSigner {
    provider: &'static dyn selo::crypto::RsaProvider,
    key: selo::keys::RsaPrivateKey,
    kid: String,
    iss: String,
    profile: OfbProfile,
    rng: Rng,
}

/// A signer. `profile_json` is an `OfbProfile` JSON (`""` = defaults).
///
/// # Safety
/// Strings are NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_ofb_signer_new(
    key: *const SeloPrivateKey,
    kid: *const c_char,
    iss: *const c_char,
    profile_json: *const c_char,
    out: *mut *mut SeloOfbSigner,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let k = handle_ref(key, "key")?;
        let signer = SeloOfbSigner {
            provider: selo::crypto::default_provider(),
            key: k.inner.clone(),
            kid: str_arg(kid, "kid")?.to_string(),
            iss: str_arg(iss, "iss")?.to_string(),
            profile: profile_arg(profile_json)?,
            rng: system_rng(),
        };
        out.write(new_handle(signer));
        Ok(())
    })
}

/// Replaces the signer's RNG (`jti`, PSS salt) by a seeded ChaCha20 stream
/// (tests only); a seeded signer signs with RustCrypto (aws-lc would draw
/// its own salt), so its tokens are reproducible.
///
/// # Safety
/// `seed` points to `seed_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_ofb_signer_set_seed(
    signer: *mut SeloOfbSigner,
    seed: *const u8,
    seed_len: usize,
) -> SeloStatus {
    call(|| {
        let s = handle_mut(signer, "signer")?;
        s.rng = seeded_rng(bytes_arg(seed, seed_len, "seed")?)?;
        // aws-lc draws the PSS salt itself: a seed only makes signing
        // deterministic when RustCrypto signs with the seeded RNG.
        s.provider = &selo::crypto::RustCryptoProvider;
        Ok(())
    })
}

/// Signs `payload_json` (a JSON object without `aud`, `iss`, `jti`, `iat`,
/// `exp`, `nbf`) for audience `aud` at `now`; `exp` > 0 adds an `exp`
/// claim, 0 adds none. Writes the compact JWS (media type
/// `application/jwt`).
///
/// # Safety
/// Strings are NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_ofb_signer_sign(
    signer: *mut SeloOfbSigner,
    payload_json: *const c_char,
    aud: *const c_char,
    exp: i64,
    now: i64,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let s = handle_mut(signer, "signer")?;
        let payload: Value =
            serde_json::from_str(str_arg(payload_json, "payload_json")?).map_err(|e| {
                FfiError::from(ofb::Error::new(
                    ofb::Code::PayloadNotObject,
                    format!("signing: the payload is not JSON ({e})"),
                ))
            })?;
        let mut params = SignParams::new(s.kid.clone(), str_arg(aud, "aud")?, s.iss.clone());
        let exp = time_arg(exp, "exp")?;
        if exp > 0 {
            params.exp = Some(exp);
        }
        let now = time_arg(now, "now")?;
        let signed = ofb::sign_with_provider(
            s.provider,
            &s.key,
            &payload,
            &params,
            &s.profile,
            now,
            s.rng.as_mut(),
        )?;
        out.write(alloc_string(signed.token)?);
        Ok(())
    })
}

/// Frees a signer (key zeroized; NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_ofb_signer_free(signer: *mut SeloOfbSigner) {
    free_handle(signer);
}

/// Verifies a compact JWS (SPEC §3.2 stages 1–6, in order) against `jwks`,
/// the expected `aud` and `iss`, a profile (`""` = defaults) and `now`.
/// Writes JSON `{"header","payload","claims","kid"}`. Each failing stage
/// has its own `ofb.*` code. Replay is checked separately
/// (`selo_jti_cache_check`).
///
/// # Safety
/// Strings are NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_ofb_verify(
    token: *const c_char,
    jwks: *const SeloJwks,
    aud: *const c_char,
    iss: *const c_char,
    profile_json: *const c_char,
    now: i64,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let j = handle_ref(jwks, "jwks")?;
        let expected = Expected::new(str_arg(aud, "aud")?, str_arg(iss, "iss")?);
        let profile = profile_arg(profile_json)?;
        let now = time_arg(now, "now")?;
        let v = ofb::verify(str_arg(token, "token")?, &j.inner, &expected, &profile, now)?;
        out.write(alloc_string(verified_json(&v)?)?);
        Ok(())
    })
}

/// An in-memory `jti` replay cache (opaque) with a hard entry bound and
/// 86 400 s TTL.
pub struct SeloJtiCache {
    inner: MemoryJtiCache,
}

/// A cache of at most `capacity` entries; when full (after dropping expired
/// entries) it refuses new ones (`evict_oldest` false: fail closed, the
/// default) or forgets the oldest (`evict_oldest` true).
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jti_cache_new(
    capacity: usize,
    evict_oldest: bool,
    out: *mut *mut SeloJtiCache,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        if capacity == 0 {
            return Err(FfiError::arg("capacity: expected at least 1"));
        }
        let when = if evict_oldest {
            WhenFull::EvictOldest
        } else {
            WhenFull::Refuse
        };
        out.write(new_handle(SeloJtiCache {
            inner: MemoryJtiCache::new(capacity, when),
        }));
        Ok(())
    })
}

/// Records (`client_id`, `jti`) at `now`. `SELO_OK` for a first sighting;
/// `ofb.replay.jti` when it was seen within the window; `ofb.replay.capacity`
/// when the cache is full and refuses.
///
/// # Safety
/// Strings are NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_jti_cache_check(
    cache: *mut SeloJtiCache,
    client_id: *const c_char,
    jti: *const c_char,
    now: i64,
) -> SeloStatus {
    call(|| {
        let c = handle_mut(cache, "cache")?;
        let client = str_arg(client_id, "client_id")?;
        let jti = str_arg(jti, "jti")?;
        let now = time_arg(now, "now")?;
        match c.inner.check_and_insert(client, jti, now)? {
            JtiStatus::Fresh => Ok(()),
            JtiStatus::Replayed => Err(ofb::Error::new(
                ofb::Code::Replay,
                format!(
                    "jti {jti:?} was already used by client {client:?} within the replay window"
                ),
            )
            .into()),
        }
    })
}

/// The number of live entries (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_jti_cache_len(cache: *const SeloJtiCache) -> usize {
    crate::guard(0, || {
        handle_ref(cache, "cache").map_or(0, |c| c.inner.len())
    })
}

/// Frees a cache (NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_jti_cache_free(cache: *mut SeloJtiCache) {
    free_handle(cache);
}

/// The resource-server role: checks a received `request` (method
/// POST/PUT/PATCH, `content-type: application/jwt`, stages 1–6 with
/// `aud` = the endpoint URL and `iss` = the caller's organisationId, then
/// replay for `client_id` in `cache`). On `SELO_OK` exactly one output is
/// non-NULL: `*verified_json_out` (accepted; JSON as `selo_ofb_verify`) or
/// `*rejection_out` (the exact error response to send: 400/403/405/415/503
/// with `{"errors":[{"code","title","detail"}]}`; `*error_code_out` is then
/// the selo code).
///
/// # Safety
/// Strings are NUL-terminated; outs are writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn selo_ofb_server_verify(
    request: *const SeloRequest,
    jwks: *const SeloJwks,
    aud: *const c_char,
    iss: *const c_char,
    client_id: *const c_char,
    profile_json: *const c_char,
    cache: *mut SeloJtiCache,
    now: i64,
    verified_json_out: *mut *mut c_char,
    rejection_out: *mut *mut SeloResponse,
    error_code_out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let verified_out = Out::new(verified_json_out, "verified_json_out")?;
        let rejection_out = Out::new(rejection_out, "rejection_out")?;
        let code_out = Out::new(error_code_out, "error_code_out")?;
        let r = handle_ref(request, "request")?;
        let j = handle_ref(jwks, "jwks")?;
        let c = handle_mut(cache, "cache")?;
        let exp = expectations(aud, iss, client_id)?;
        let profile = profile_arg(profile_json)?;
        let now = time_arg(now, "now")?;
        let result = ofb::server::verify_request(
            r.method_str(),
            r.header("content-type"),
            &r.body,
            now,
            &j.inner,
            &exp,
            &profile,
            &mut c.inner,
        );
        write_decision(result, verified_out, rejection_out, code_out)
    })
}

/// Writes a server decision: exactly one of the verified JSON and the
/// rejection (with its code) non-NULL.
fn write_decision(
    result: Result<Verified, ofb::server::Rejection>,
    verified_out: Out<*mut c_char>,
    rejection_out: Out<*mut SeloResponse>,
    code_out: Out<*mut c_char>,
) -> FfiResult<()> {
    match result {
        Ok(v) => {
            verified_out.write(alloc_string(verified_json(&v)?)?);
            rejection_out.write(std::ptr::null_mut());
            code_out.write(std::ptr::null_mut());
            Ok(())
        }
        Err(rej) => write_rejection(rej, rejection_out, code_out, || {
            verified_out.write(std::ptr::null_mut())
        }),
    }
}

fn expectations(
    aud: *const c_char,
    iss: *const c_char,
    client_id: *const c_char,
) -> FfiResult<ofb::server::RequestExpectations> {
    Ok(ofb::server::RequestExpectations {
        aud: str_arg(aud, "aud")?.to_string(),
        iss: str_arg(iss, "iss")?.to_string(),
        client_id: str_arg(client_id, "client_id")?.to_string(),
    })
}

/// A request that passed every check but replay (opaque): the verified
/// token and the replay key its store must record before
/// `selo_ofb_request_finish` decides. One verification per request.
pub struct SeloOfbPending {
    inner: Option<ofb::server::PendingRequest>,
    client_id: std::ffi::CString,
    jti: std::ffi::CString,
}

/// Phase one of the resource-server check with a replay store of the
/// host's own (Redis, a database): method, content type, size, stages 1–6.
/// On `SELO_OK` exactly one of `*pending_out` (every check but replay
/// passed: ask the store, then `selo_ofb_request_finish`) and
/// `*rejection_out` (the exact error response to send; `*error_code_out`
/// the selo code) is non-NULL.
///
/// # Safety
/// Strings are NUL-terminated; outs are writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn selo_ofb_request_check(
    request: *const SeloRequest,
    jwks: *const SeloJwks,
    aud: *const c_char,
    iss: *const c_char,
    client_id: *const c_char,
    profile_json: *const c_char,
    now: i64,
    pending_out: *mut *mut SeloOfbPending,
    rejection_out: *mut *mut SeloResponse,
    error_code_out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let pending_out = Out::new(pending_out, "pending_out")?;
        let rejection_out = Out::new(rejection_out, "rejection_out")?;
        let code_out = Out::new(error_code_out, "error_code_out")?;
        let r = handle_ref(request, "request")?;
        let j = handle_ref(jwks, "jwks")?;
        let exp = expectations(aud, iss, client_id)?;
        let profile = profile_arg(profile_json)?;
        let now = time_arg(now, "now")?;
        match ofb::server::check_request(
            r.method_str(),
            r.header("content-type"),
            &r.body,
            now,
            &j.inner,
            &exp,
            &profile,
        ) {
            Ok(p) => {
                // Strings from C (no NUL) and a normalised jti (a UUID or
                // text the core accepted, checked for NUL below).
                let c = |s: &str| std::ffi::CString::new(s.replace('\0', "")).unwrap_or_default();
                let pending = SeloOfbPending {
                    client_id: c(&p.replay.client_id),
                    jti: c(&p.replay.jti),
                    inner: Some(p),
                };
                pending_out.write(new_handle(pending));
                rejection_out.write(std::ptr::null_mut());
                code_out.write(std::ptr::null_mut());
            }
            Err(rej) => write_rejection(rej, rejection_out, code_out, || {
                pending_out.write(std::ptr::null_mut())
            })?,
        }
        Ok(())
    })
}

fn write_rejection(
    rej: ofb::server::Rejection,
    rejection_out: Out<*mut SeloResponse>,
    code_out: Out<*mut c_char>,
    clear_other: impl FnOnce(),
) -> FfiResult<()> {
    let resp = SeloResponse::new(rej.response.status, rej.response.headers, rej.response.body)?;
    let code = alloc_string(rej.error.code().to_string())?;
    clear_other();
    rejection_out.write(new_handle(resp));
    code_out.write(code);
    Ok(())
}

/// The replay store key of a pending request:
/// `<prefix>:<length of client id>:<client id>:<jti>` (`prefix` NULL or
/// empty: `selo:ofb:jti`), the jti lower-case when it is a UUID. With
/// Redis: `SET <key> 1 NX EX <selo_ofb_pending_ttl_seconds>`.
///
/// # Safety
/// `prefix` is NULL or NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_ofb_pending_store_key(
    pending: *const SeloOfbPending,
    prefix: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let p = pending_of(pending)?;
        let prefix = if prefix.is_null() {
            ""
        } else {
            str_arg(prefix, "prefix")?
        };
        let prefix = if prefix.is_empty() {
            ofb::server::REPLAY_KEY_PREFIX
        } else {
            prefix
        };
        out.write(alloc_string(p.replay.store_key(prefix))?);
        Ok(())
    })
}

fn pending_of<'a>(pending: *const SeloOfbPending) -> FfiResult<&'a ofb::server::PendingRequest> {
    let p = handle_ref(pending, "pending")?;
    p.inner
        .as_ref()
        .ok_or_else(|| FfiError::arg("pending: already finished (selo_ofb_request_finish)"))
}

/// How long the replay store keeps the entry at `now` (Unix seconds): the
/// token's remaining acceptance window, 1 to 86 400 s; 0 for an invalid
/// or finished handle.
#[unsafe(no_mangle)]
pub extern "C" fn selo_ofb_pending_ttl_seconds(pending: *const SeloOfbPending, now: i64) -> u64 {
    crate::guard(0, || {
        let Ok(now) = u64::try_from(now) else {
            return 0;
        };
        pending_of(pending).map_or(0, |p| p.replay.ttl_seconds(now))
    })
}

/// The replay scope (client id) of a pending request, borrowed.
#[unsafe(no_mangle)]
pub extern "C" fn selo_ofb_pending_client_id(pending: *const SeloOfbPending) -> *const c_char {
    crate::guard(std::ptr::null(), || {
        handle_ref(pending, "pending").map_or(std::ptr::null(), |p| p.client_id.as_ptr())
    })
}

/// The (normalised) `jti` of a pending request, borrowed.
#[unsafe(no_mangle)]
pub extern "C" fn selo_ofb_pending_jti(pending: *const SeloOfbPending) -> *const c_char {
    crate::guard(std::ptr::null(), || {
        handle_ref(pending, "pending").map_or(std::ptr::null(), |p| p.jti.as_ptr())
    })
}

/// Phase two: the replay store's answer — exactly `"fresh"` or
/// `"replayed"`; NULL or anything else (the store failed, answered nil
/// unmapped, an error text) refuses with 503 `ofb.replay.store_failed`,
/// whose body never holds the store's text. Outputs as
/// `selo_ofb_server_verify` (exactly one of `*verified_json_out` and
/// `*rejection_out` non-NULL). The pending request is spent (free it).
///
/// # Safety
/// `answer` is NULL or NUL-terminated; outs are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_ofb_request_finish(
    pending: *mut SeloOfbPending,
    answer: *const c_char,
    verified_json_out: *mut *mut c_char,
    rejection_out: *mut *mut SeloResponse,
    error_code_out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let verified_out = Out::new(verified_json_out, "verified_json_out")?;
        let rejection_out = Out::new(rejection_out, "rejection_out")?;
        let code_out = Out::new(error_code_out, "error_code_out")?;
        let p = handle_mut(pending, "pending")?;
        // Any answer that is not UTF-8 text is no answer: a store failure.
        let answer = if answer.is_null() {
            None
        } else {
            str_arg(answer, "answer").ok()
        };
        let inner = p
            .inner
            .take()
            .ok_or_else(|| FfiError::arg("pending: already finished"))?;
        write_decision(
            ofb::server::finish_request(inner, answer),
            verified_out,
            rejection_out,
            code_out,
        )
    })
}

/// Frees a pending request (NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_ofb_pending_free(pending: *mut SeloOfbPending) {
    free_handle(pending);
}

/// The OFB error response for an `ofb.*` code and message (as a server
/// helper sends it: status, `content-type: application/json`,
/// `{"errors":[{"code","title","detail"}]}`); `SELO_ERR_INVALID_ARGUMENT`
/// for a code outside the `ofb` area.
///
/// # Safety
/// Strings are NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_ofb_error_response(
    code: *const c_char,
    message: *const c_char,
    out: *mut *mut SeloResponse,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let code = str_arg(code, "code")?;
        let c = ofb::Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == code)
            .ok_or_else(|| FfiError::arg(format!("code: {code:?} is not an ofb code")))?;
        let r = ofb::server::error_response(&ofb::Error::new(c, str_arg(message, "message")?));
        out.write(new_handle(SeloResponse::new(r.status, r.headers, r.body)?));
        Ok(())
    })
}

/// The 413 response a server helper sends for a body over `limit` bytes
/// (which it stops reading): the OFB error shape, detail naming
/// `http.body_too_large` and the limit. Every host sends these bytes.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_http_body_too_large_response(
    limit: u64,
    out: *mut *mut SeloResponse,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let r = ofb::server::body_too_large_response(limit);
        out.write(new_handle(SeloResponse::new(r.status, r.headers, r.body)?));
        Ok(())
    })
}
