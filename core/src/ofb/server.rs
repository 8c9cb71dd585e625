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
    check_replay_in_window(cache, &expected.client_id, &verified, profile, now).map_err(reject)?;
    Ok(verified)
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
