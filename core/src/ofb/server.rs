//! The resource-server role (SPEC §3.2 status mapping): a received request
//! in, verified claims or the exact error response out; and signed
//! responses. Pure data: the host moves the bytes.

use super::verify::verify_with_provider;
use super::{
    Code, Error, Expected, JtiCache, MEDIA_TYPE, OfbProfile, SignParams, Verified,
    check_replay_in_window, sign_with_provider,
};
use crate::crypto::{RsaProvider, default_provider};
use crate::keys::RsaPrivateKey;
use crate::keys::jwk::JwkSet;
use crate::rng::CryptoRng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An HTTP response for the host to send, byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Exact body bytes.
    pub body: Vec<u8>,
}

/// What the resource server expects of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestExpectations {
    /// Expected `aud`: the URL of the endpoint being called.
    pub aud: String,
    /// Expected `iss`: the caller's organisationId.
    pub iss: String,
    /// The caller's client id (from mTLS / the access token): the `jti`
    /// replay scope.
    pub client_id: String,
}

/// A refused request: the error and the response to send for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Why (stable code, message).
    pub error: Error,
    /// The exact response: status, `content-type: application/json`, and
    /// `{"errors":[{"code":…,"title":…,"detail":…}]}`.
    pub response: Response,
}

/// Methods whose body is a signed JWS.
const SIGNED_METHODS: [&str; 3] = ["POST", "PUT", "PATCH"];

/// The `code` member of the error body for a selo code: `BAD_SIGNATURE` for
/// stages 1–5 (the seed's value), a distinct code for each claim failure.
pub fn response_code(code: Code) -> &'static str {
    match code {
        Code::Malformed
        | Code::AlgNotAllowed
        | Code::CritUnsupported
        | Code::Typ
        | Code::KidMissing
        | Code::KidNotFound
        | Code::KidAmbiguous
        | Code::KeyTooSmall
        | Code::BadSignature => "BAD_SIGNATURE",
        Code::Aud => "INVALID_AUD",
        Code::Iss => "INVALID_ISS",
        Code::IatMissing => "IAT_MISSING",
        Code::IatFormat => "INVALID_IAT",
        Code::IatTooOld => "IAT_TOO_OLD",
        Code::IatInFuture => "IAT_IN_FUTURE",
        Code::Exp => "TOKEN_EXPIRED",
        Code::Nbf => "TOKEN_NOT_YET_VALID",
        Code::Jti => "INVALID_JTI",
        Code::Replay => "JTI_REUSED",
        Code::ReplayCapacity => "REPLAY_CACHE_FULL",
        Code::StoreFailed => "REPLAY_STORE_UNAVAILABLE",
        Code::ContentType => "UNSUPPORTED_MEDIA_TYPE",
        Code::Method => "METHOD_NOT_ALLOWED",
        Code::BodyTooLarge => "PAYLOAD_TOO_LARGE",
        Code::JwksUnavailable => "JWKS_UNAVAILABLE",
        _ => "INTERNAL_ERROR",
    }
}

fn title(code: Code) -> &'static str {
    match response_code(code) {
        "BAD_SIGNATURE" => "Invalid signature",
        "INVALID_AUD" => "Invalid audience",
        "INVALID_ISS" => "Invalid issuer",
        "IAT_MISSING" => "Issued-at missing",
        "INVALID_IAT" => "Invalid issued-at",
        "IAT_TOO_OLD" => "Issued-at too old",
        "IAT_IN_FUTURE" => "Issued-at in the future",
        "TOKEN_EXPIRED" => "Token expired",
        "TOKEN_NOT_YET_VALID" => "Token not yet valid",
        "INVALID_JTI" => "Invalid jti",
        "JTI_REUSED" => "jti already used",
        "REPLAY_CACHE_FULL" | "REPLAY_STORE_UNAVAILABLE" => "Replay protection unavailable",
        "UNSUPPORTED_MEDIA_TYPE" => "Unsupported media type",
        "METHOD_NOT_ALLOWED" => "Method not allowed",
        "PAYLOAD_TOO_LARGE" => "Payload too large",
        "JWKS_UNAVAILABLE" => "Signing keys unavailable",
        _ => "Internal error",
    }
}

/// Longest `detail` written (the OFB `ResponseError` schema's maxLength).
const MAX_DETAIL: usize = 2048;

/// The error response for `err`: its status (500 when it has none) and the
/// JSON error body. `detail` is `"<selo code>: <message>"`.
pub fn error_response(err: &Error) -> Response {
    let mut detail = format!("{}: {}", err.code(), err.message());
    if detail.chars().count() > MAX_DETAIL {
        detail = detail.chars().take(MAX_DETAIL).collect();
    }
    let body = json!({
        "errors": [{
            "code": response_code(err.kind()),
            "title": title(err.kind()),
            "detail": detail,
        }]
    });
    Response {
        status: err.http_status().unwrap_or(500),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

fn reject(error: Error) -> Rejection {
    let response = error_response(&error);
    Rejection { error, response }
}

/// True for `application/jwt`, alone or with one `charset=utf-8` parameter
/// (value optionally quoted), all case-insensitive, spaces around the parts
/// ignored — what .NET's `StringContent` sends (SPEC §3.2).
pub fn is_jwt_media_type(content_type: &str) -> bool {
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(MEDIA_TYPE) {
        return false;
    }
    match (parts.next(), parts.next()) {
        (None, _) => true,
        (Some(param), None) => {
            let Some((name, value)) = param.split_once('=') else {
                return false;
            };
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            name.trim().eq_ignore_ascii_case("charset") && value.eq_ignore_ascii_case("utf-8")
        }
        _ => false,
    }
}

/// Verifies a received request (default RSA provider): method, content
/// type, then SPEC §3.2 stages 1–6, then replay for `client_id`.
#[allow(clippy::too_many_arguments)]
pub fn verify_request(
    method: &str,
    content_type: Option<&str>,
    body: &[u8],
    now: u64,
    jwks: &JwkSet,
    expected: &RequestExpectations,
    profile: &OfbProfile,
    cache: &mut dyn JtiCache,
) -> Result<Verified, Rejection> {
    verify_request_with_provider(
        default_provider(),
        method,
        content_type,
        body,
        now,
        jwks,
        expected,
        profile,
        cache,
    )
}

/// [`verify_request`] with a chosen RSA provider.
///
/// - `method` must be `POST`, `PUT` or `PATCH` (else 405);
/// - `content_type` must be `application/jwt`, case-insensitive, with at
///   most a `charset=utf-8` parameter (else 415; [`is_jwt_media_type`]);
/// - the body must be UTF-8; surrounding ASCII whitespace is ignored
///   (none is allowed inside the token);
/// - the `jti` enters the cache only when everything else passed, until
///   `iat + iat_max_age + iat_future_skew` ([`check_replay_in_window`]);
/// - a `profile` whose acceptance window exceeds the 86 400 s replay TTL
///   is refused first ([`Code::Profile`], 500) whatever the request.
#[allow(clippy::too_many_arguments)]
pub fn verify_request_with_provider(
    provider: &dyn RsaProvider,
    method: &str,
    content_type: Option<&str>,
    body: &[u8],
    now: u64,
    jwks: &JwkSet,
    expected: &RequestExpectations,
    profile: &OfbProfile,
    cache: &mut dyn JtiCache,
) -> Result<Verified, Rejection> {
    let pending = check_request_with_provider(
        provider,
        method,
        content_type,
        body,
        now,
        jwks,
        expected,
        profile,
    )?;
    check_replay_in_window(
        cache,
        &pending.replay.client_id,
        &pending.verified,
        profile,
        now,
    )
    .map_err(reject)?;
    Ok(pending.verified)
}

/// The prefix of the replay store's keys (SPEC §5): `selo:ofb:jti`.
pub const REPLAY_KEY_PREFIX: &str = "selo:ofb:jti";

/// What a replay store records for an accepted token (SPEC §3.3, §5): one
/// contract for every language's store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayKey {
    /// The caller's client id (the replay scope).
    pub client_id: String,
    /// The `jti`, lower-case when it is a UUID (RFC 4122 UUIDs are
    /// case-insensitive: both cases are the same token).
    pub jti: String,
    /// From this time on (Unix seconds) the token's `iat` is outside the
    /// acceptance window: a replay is refused at stage 6 anyway, so the
    /// store may forget the entry.
    pub forget_after: u64,
}

impl ReplayKey {
    /// The store key: `<prefix>:<length of client id>:<client id>:<jti>` —
    /// the length prefix keeps `("a:b", "c")` and `("a", "b:c")` apart.
    /// With Redis: `SET <key> 1 NX EX <ttl_seconds>`; `OK` is "fresh", nil
    /// (the key existed) is "replayed", anything else a store failure.
    pub fn store_key(&self, prefix: &str) -> String {
        format!(
            "{prefix}:{}:{}:{}",
            self.client_id.len(),
            self.client_id,
            self.jti
        )
    }

    /// How long the store keeps the entry at `now`: the token's remaining
    /// acceptance window, at least 1 s, at most [`JTI_TTL`].
    ///
    /// [`JTI_TTL`]: super::JTI_TTL
    pub fn ttl_seconds(&self, now: u64) -> u64 {
        self.forget_after
            .saturating_sub(now)
            .clamp(1, super::JTI_TTL)
    }
}

/// A request that passed every check but replay: the verified token and
/// the key the host's replay store must record (atomically) before
/// [`finish_request`] decides. One verification, whatever the store.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingRequest {
    /// The verified token.
    pub verified: Verified,
    /// What the replay store records.
    pub replay: ReplayKey,
}

/// Phase one of the resource-server check with a replay store of the
/// host's own (Redis, a database): method, content type, size, SPEC §3.2
/// stages 1–6 — everything but replay. Default RSA provider.
#[allow(clippy::too_many_arguments)]
pub fn check_request(
    method: &str,
    content_type: Option<&str>,
    body: &[u8],
    now: u64,
    jwks: &JwkSet,
    expected: &RequestExpectations,
    profile: &OfbProfile,
) -> Result<PendingRequest, Rejection> {
    check_request_with_provider(
        default_provider(),
        method,
        content_type,
        body,
        now,
        jwks,
        expected,
        profile,
    )
}

/// Phase two: the replay store's answer for [`PendingRequest::replay`] —
/// exactly `"fresh"` or `"replayed"`; anything else (`None`: the store
/// failed or answered nothing usable) refuses with 503
/// `ofb.replay.store_failed`, its text never shown.
pub fn finish_request(
    pending: PendingRequest,
    answer: Option<&str>,
) -> Result<Verified, Rejection> {
    match super::JtiStatus::from_store_answer(answer).map_err(reject)? {
        super::JtiStatus::Fresh => Ok(pending.verified),
        super::JtiStatus::Replayed => Err(reject(Error::new(
            Code::Replay,
            format!(
                "stage 7 (replay): jti {:?} was already used by client {:?} within {} s",
                super::claims::truncate(&pending.replay.jti),
                super::claims::truncate(&pending.replay.client_id),
                super::JTI_TTL
            ),
        ))),
    }
}

/// [`check_request`] with a chosen RSA provider.
#[allow(clippy::too_many_arguments)]
pub fn check_request_with_provider(
    provider: &dyn RsaProvider,
    method: &str,
    content_type: Option<&str>,
    body: &[u8],
    now: u64,
    jwks: &JwkSet,
    expected: &RequestExpectations,
    profile: &OfbProfile,
) -> Result<PendingRequest, Rejection> {
    // A profile that cannot protect against replay is a configuration
    // error, whatever the request (SPEC §3.3).
    profile.validate().map_err(reject)?;
    if !SIGNED_METHODS.contains(&method) {
        return Err(reject(Error::new(
            Code::Method,
            format!(
                "request: expected method POST, PUT or PATCH (a signed body), found {:?}",
                super::claims::truncate(method)
            ),
        )));
    }
    match content_type {
        Some(ct) if is_jwt_media_type(ct) => {}
        Some(ct) => {
            return Err(reject(Error::new(
                Code::ContentType,
                format!(
                    "request: expected content-type \"{MEDIA_TYPE}\", found {:?}",
                    super::claims::truncate(ct)
                ),
            )));
        }
        None => {
            return Err(reject(Error::new(
                Code::ContentType,
                format!("request: expected content-type \"{MEDIA_TYPE}\", found none"),
            )));
        }
    }
    if body.len() > profile.max_body_bytes {
        return Err(reject(Error::new(
            Code::BodyTooLarge,
            format!(
                "request: the body has {} bytes; the limit is {} (profile max_body_bytes)",
                body.len(),
                profile.max_body_bytes
            ),
        )));
    }
    let token = std::str::from_utf8(body)
        .map_err(|_| {
            reject(Error::new(
                Code::Malformed,
                "stage 1 (form): the request body is not UTF-8",
            ))
        })?
        .trim_matches(|c: char| c.is_ascii_whitespace());
    let exp = Expected::new(expected.aud.clone(), expected.iss.clone());
    let verified =
        verify_with_provider(provider, token, jwks, &exp, profile, now).map_err(reject)?;
    let replay = ReplayKey {
        client_id: expected.client_id.clone(),
        jti: super::normalise_jti(&verified.claims.jti).into_owned(),
        forget_after: verified
            .claims
            .iat
            .saturating_add(profile.acceptance_window())
            .saturating_add(1),
    };
    Ok(PendingRequest { verified, replay })
}

/// The 413 response a server helper sends for a body over `limit` bytes
/// (it stops reading): the OFB error shape, code `PAYLOAD_TOO_LARGE`, the
/// detail naming the limit and `http.body_too_large`. Every host's
/// helpers send these bytes.
pub fn body_too_large_response(limit: u64) -> Response {
    let detail = format!(
        "http.body_too_large: the request body is over the {limit}-byte limit; it was not read"
    );
    let body = json!({
        "errors": [{
            "code": response_code(Code::BodyTooLarge),
            "title": title(Code::BodyTooLarge),
            "detail": detail,
        }]
    });
    Response {
        status: 413,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

/// A signed response: `status`, `content-type: application/jwt`, body the
/// compact JWS of `payload` with `aud` = the client's organisationId and
/// `iss` = ours (in `params`). Default RSA provider.
pub fn sign_response(
    status: u16,
    key: &RsaPrivateKey,
    payload: &Value,
    params: &SignParams,
    profile: &OfbProfile,
    now: u64,
    rng: &mut dyn CryptoRng,
) -> Result<Response, Error> {
    sign_response_with_provider(
        default_provider(),
        status,
        key,
        payload,
        params,
        profile,
        now,
        rng,
    )
}

/// [`sign_response`] with a chosen RSA provider.
#[allow(clippy::too_many_arguments)]
pub fn sign_response_with_provider(
    provider: &dyn RsaProvider,
    status: u16,
    key: &RsaPrivateKey,
    payload: &Value,
    params: &SignParams,
    profile: &OfbProfile,
    now: u64,
    rng: &mut dyn CryptoRng,
) -> Result<Response, Error> {
    let signed = sign_with_provider(provider, key, payload, params, profile, now, rng)?;
    Ok(Response {
        status,
        headers: vec![("content-type".into(), MEDIA_TYPE.into())],
        body: signed.token.into_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_media_type_with_at_most_a_utf8_charset() {
        for ok in [
            "application/jwt",
            " Application/JWT ",
            "application/jwt; charset=utf-8",
            "application/jwt;charset=UTF-8",
            "application/jwt; Charset=\"utf-8\"",
        ] {
            assert!(is_jwt_media_type(ok), "{ok}");
        }
        for bad in [
            "",
            "application/json",
            "application/jwt; charset=latin1",
            "application/jwt; charset=utf-8; x=1",
            "application/jwt; foo=bar",
            "application/jwt;",
            "application/jwtx",
            "text/plain; charset=utf-8",
        ] {
            assert!(!is_jwt_media_type(bad), "{bad}");
        }
    }

    #[test]
    fn store_failure_is_503_without_the_store_text() {
        let r = error_response(&super::super::store_failed());
        assert_eq!(r.status, 503);
        let body = String::from_utf8(r.body).unwrap_or_default();
        assert!(body.contains("REPLAY_STORE_UNAVAILABLE"), "{body}");
        assert!(body.contains("ofb.replay.store_failed"), "{body}");
    }
}
