//! The partner's confirmation endpoint (SPEC §4.5): BMP posts the
//! transaction back; the partner checks it against what it sent and, when
//! it agrees, answers 200 with `hmac` over the exact bytes it received.
//!
//! Pure data in, pure data out: the host passes the received headers and
//! raw body and a lookup of the original body by idempotency key, and sends
//! back the [`ConfirmResponse`].

use super::json::JsonValue;
use super::money::decimal_eq;
use super::signature::{HmacKey, sign};
use super::{BmpProfile, Code, Error};
use crate::http::header_value;

/// Finds the body the partner originally sent for an idempotency key
/// (exactly the bytes it signed). Closures `Fn(&str) -> Option<Vec<u8>>`
/// implement it.
pub trait TransactionLookup {
    /// The original body bytes, or `None` for an unknown transaction.
    fn original_body(&self, idempotency_key: &str) -> Option<Vec<u8>>;
}

impl<F: Fn(&str) -> Option<Vec<u8>>> TransactionLookup for F {
    fn original_body(&self, idempotency_key: &str) -> Option<Vec<u8>> {
        self(idempotency_key)
    }
}

/// What the confirmation endpoint answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmResponse {
    /// 200 when confirmed; otherwise the error's status (404, 400, 409).
    pub status: u16,
    /// `hmac` on success; `Content-Type: application/json` on rejection.
    pub headers: Vec<(String, String)>,
    /// Empty on success; `{"code":…,"message":…}` on rejection.
    pub body: Vec<u8>,
    /// Why it was rejected (`None` when confirmed).
    pub error: Option<Error>,
    /// For a mismatch, the path of the first differing value.
    pub difference: Option<String>,
}

impl ConfirmResponse {
    /// True for a 200 confirmation.
    pub fn is_confirmed(&self) -> bool {
        self.error.is_none()
    }

    /// The answer of a confirmation endpoint that could not decide — its
    /// transaction store failed (Redis down), its handler broke: 500,
    /// `{"code":"bmp.confirm.internal","message":…}` with a fixed message.
    /// What every host helper sends instead of an exception's text (which
    /// may hold host names, ports, credentials).
    pub fn internal() -> ConfirmResponse {
        Self::reject(
            Error::new(
                super::Code::ConfirmInternal,
                "the confirmation could not be decided (the partner's transaction store or handler failed); BMP may call again",
            ),
            None,
        )
    }

    fn reject(e: Error, difference: Option<String>) -> ConfirmResponse {
        let mut body = Vec::new();
        let members = vec![
            ("code".to_string(), JsonValue::String(e.code().into())),
            ("message".to_string(), JsonValue::String(e.message().into())),
        ];
        body.extend(JsonValue::Object(members).to_bytes(Default::default()));
        ConfirmResponse {
            status: e.http_status().unwrap_or(400),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
            error: Some(e),
            difference,
        }
    }
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn shown(path: &str) -> String {
    if path.is_empty() {
        "(root)".into()
    } else {
        path.into()
    }
}

/// Compares two bodies value by value and returns the path of the first
/// difference (`detalhes.valor`, `itens[2].nome`; `(root)` for the whole
/// body), or `None` when they agree, under the default profile (SPEC
/// §4.5): member names matched case-insensitively, numbers as decimals
/// (`100.0` equals `100.00`), strings after unescaping, members in the
/// original's order (member order itself is not compared); a member only
/// the received body has is a difference.
pub fn first_difference(original: &JsonValue, received: &JsonValue) -> Option<String> {
    first_difference_with(original, received, &BmpProfile::default())
}

/// [`first_difference`] under `profile`: `confirm_exact_case` matches
/// member names exactly; `ignore_extra_members` lets the received body
/// carry members the original lacks.
pub fn first_difference_with(
    original: &JsonValue,
    received: &JsonValue,
    profile: &BmpProfile,
) -> Option<String> {
    diff(original, received, "", profile)
}

fn number_text(v: &JsonValue) -> Option<String> {
    match v {
        JsonValue::Number(t) => Some(t.clone()),
        JsonValue::Money(m) => Some(m.to_json_text()),
        _ => None,
    }
}

fn same_name(a: &str, b: &str, profile: &BmpProfile) -> bool {
    if profile.confirm_exact_case {
        a == b
    } else {
        a.eq_ignore_ascii_case(b) || (!a.is_ascii() && a.to_lowercase() == b.to_lowercase())
    }
}

fn diff(a: &JsonValue, b: &JsonValue, path: &str, profile: &BmpProfile) -> Option<String> {
    match (a, b) {
        (JsonValue::Object(ma), JsonValue::Object(mb)) => {
            for (k, va) in ma {
                let p = child(path, k);
                match mb.iter().find(|(n, _)| same_name(k, n, profile)) {
                    Some((_, vb)) => {
                        if let Some(d) = diff(va, vb, &p, profile) {
                            return Some(d);
                        }
                    }
                    None => return Some(p),
                }
            }
            if profile.ignore_extra_members {
                return None;
            }
            mb.iter()
                .find(|(k, _)| !ma.iter().any(|(n, _)| same_name(n, k, profile)))
                .map(|(k, _)| child(path, k))
        }
        (JsonValue::Array(xa), JsonValue::Array(xb)) => {
            for (i, (va, vb)) in xa.iter().zip(xb).enumerate() {
                if let Some(d) = diff(va, vb, &format!("{path}[{i}]"), profile) {
                    return Some(d);
                }
            }
            (xa.len() != xb.len()).then(|| format!("{path}[{}]", xa.len().min(xb.len())))
        }
        _ => match (number_text(a), number_text(b)) {
            (Some(x), Some(y)) => (!decimal_eq(&x, &y)).then(|| shown(path)),
            _ => (a != b).then(|| shown(path)),
        },
    }
}

fn parse(bytes: &[u8], what: &str) -> Result<JsonValue, Error> {
    super::json::parse(bytes).map_err(|e| {
        Error::new(
            Code::ConfirmMalformedBody,
            format!("{what} is not valid JSON: {e}"),
        )
    })
}

/// Decides a confirmation request. Order: required headers (profile
/// `confirm_required_headers`, `Content-Type` must be `application/json`)
/// → body parses → transaction id (the body's root `idempotencyKey`, else
/// the `IdempotencyKey` header; both present must agree) → lookup (unknown
/// → 404) → value comparison (first difference → 409) → 200 with `hmac`
/// over `body` exactly as received.
pub fn confirm(
    key: &HmacKey,
    profile: &BmpProfile,
    headers: &[(String, String)],
    body: &[u8],
    lookup: &dyn TransactionLookup,
) -> ConfirmResponse {
    match decide(profile, headers, body, lookup) {
        Ok(()) => ConfirmResponse {
            status: 200,
            headers: vec![("hmac".into(), sign(key, body, profile))],
            body: Vec::new(),
            error: None,
            difference: None,
        },
        Err((e, difference)) => ConfirmResponse::reject(e, difference),
    }
}

/// True when a `Content-Type` value names `application/json` (parameters
/// such as `charset=utf-8` allowed, case-insensitive).
pub fn is_json_content_type(v: &str) -> bool {
    v.split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn decide(
    profile: &BmpProfile,
    headers: &[(String, String)],
    body: &[u8],
    lookup: &dyn TransactionLookup,
) -> Result<(), (Error, Option<String>)> {
    let (original, received) = load(profile, headers, body, lookup).map_err(|e| (e, None))?;
    match first_difference_with(&original, &received, profile) {
        None => Ok(()),
        Some(path) => Err((
            Error::new(
                Code::ConfirmMismatch,
                format!("the confirmation differs from the original transaction at {path}"),
            ),
            Some(path),
        )),
    }
}

/// The root member named `idempotencyKey` in any case.
fn body_idempotency_key(v: &JsonValue) -> Option<&JsonValue> {
    match v {
        JsonValue::Object(members) => members
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("idempotencykey"))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// Header checks, parsing and lookup: the original and received trees.
fn load(
    profile: &BmpProfile,
    headers: &[(String, String)],
    body: &[u8],
    lookup: &dyn TransactionLookup,
) -> Result<(JsonValue, JsonValue), Error> {
    if body.len() > profile.max_body_bytes {
        return Err(Error::new(
            Code::ConfirmBodyTooLarge,
            format!(
                "the confirmation body has {} bytes; the limit is {} (profile max_body_bytes)",
                body.len(),
                profile.max_body_bytes
            ),
        ));
    }
    // The body is parsed first only to know whether it carries the
    // idempotency key (then the header is optional); header errors still
    // come first.
    let parsed = parse(body, "the confirmation body");
    let body_key = parsed.as_ref().ok().and_then(body_idempotency_key);
    for name in &profile.confirm_required_headers {
        match header_value(headers, name) {
            None if name.eq_ignore_ascii_case("idempotencykey") && body_key.is_some() => {}
            None => {
                return Err(Error::new(
                    Code::ConfirmMissingHeader,
                    format!("required header {name} is missing"),
                ));
            }
            Some(v) if v.trim().is_empty() => {
                return Err(Error::new(
                    Code::ConfirmMissingHeader,
                    format!("required header {name} is empty"),
                ));
            }
            Some(v) if name.eq_ignore_ascii_case("content-type") && !is_json_content_type(v) => {
                return Err(Error::new(
                    Code::ConfirmBadHeader,
                    format!("Content-Type must be application/json; found {v:?}"),
                ));
            }
            Some(_) => {}
        }
    }
    let received = parsed?;
    let from_body = match body_idempotency_key(&received) {
        Some(JsonValue::String(s)) => Some(s.as_str()),
        Some(_) => {
            return Err(Error::new(
                Code::ConfirmMalformedBody,
                "idempotencyKey must be a string",
            ));
        }
        None => None,
    };
    let from_header = header_value(headers, "IdempotencyKey").map(str::trim);
    let id = match (from_body, from_header) {
        (Some(b), Some(h)) if b != h => {
            return Err(Error::new(
                Code::ConfirmBadHeader,
                "the IdempotencyKey header differs from the body's idempotencyKey",
            ));
        }
        (Some(b), _) => b,
        (None, Some(h)) => h,
        (None, None) => {
            return Err(Error::new(
                Code::ConfirmMissingHeader,
                "no idempotency key: neither an IdempotencyKey header nor a body idempotencyKey",
            ));
        }
    };
    let original = lookup.original_body(id).ok_or_else(|| {
        Error::new(
            Code::ConfirmUnknownTransaction,
            "no transaction was sent with this idempotency key",
        )
    })?;
    let original = parse(&original, "the stored original body")?;
    Ok((original, received))
}
