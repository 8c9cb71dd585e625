//! Canonical body bytes (SPEC §4.1): minified JSON, the caller's member
//! order, JSON string escaping with non-ASCII as raw UTF-8, and every money
//! member (`valor`, `Valor`, and the profile's `money_fields`, at any depth)
//! written as a number with exactly two fraction digits.
//!
//! Inputs:
//! - JSON text ([`canonical_from_text`]): numbers keep their exact text, so
//!   `"valor": 1345.8` becomes `1345.80` without ever touching a float.
//! - `serde_json::Value` ([`canonical_from_value`]): integers are exact; a
//!   binary float under a money member is refused (`bmp.money.float`) —
//!   pass the amount as a string (`"valor": "1345.80"`) or use the typed
//!   builders. Floats elsewhere are written as serde_json writes them.
//! - A [`JsonValue`] tree ([`canonical_bytes`]) holding [`Money`] values.
//!
//! Under a money member a number or a decimal string becomes a money number
//! (the string's quotes are dropped: that is how hosts without a decimal
//! type hand over exact amounts); `null` stays `null`; anything else is
//! `bmp.money.syntax`.

use super::json::{self, JsonValue};
use super::money::{Money, MoneyFormat};
use super::{BmpProfile, Code, Error};

fn path_join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn with_path(e: Error, path: &str) -> Error {
    Error::new(e.kind(), format!("{path}: {}", e.message()))
}

fn to_money(v: JsonValue, path: &str) -> Result<JsonValue, Error> {
    match v {
        JsonValue::Number(t) => Money::parse(&t).map(JsonValue::Money).map_err(|e| {
            // A JSON exponent is a syntax error for money, with the path.
            with_path(e, path)
        }),
        JsonValue::String(s) => Money::parse(&s)
            .map(JsonValue::Money)
            .map_err(|e| with_path(e, path)),
        v @ (JsonValue::Null | JsonValue::Money(_)) => Ok(v),
        _ => Err(Error::new(
            Code::MoneySyntax,
            format!("{path}: an amount must be a number or a decimal string"),
        )),
    }
}

/// Turns every number or decimal string under a money member into [`Money`].
pub fn mark_money(v: JsonValue, profile: &BmpProfile) -> Result<JsonValue, Error> {
    mark(v, profile, "")
}

fn mark(v: JsonValue, profile: &BmpProfile, path: &str) -> Result<JsonValue, Error> {
    match v {
        JsonValue::Object(members) => {
            let mut out = Vec::with_capacity(members.len());
            for (k, v) in members {
                let p = path_join(path, &k);
                let v = if profile.is_money_field(&k) {
                    to_money(v, &p)?
                } else {
                    mark(v, profile, &p)?
                };
                out.push((k, v));
            }
            Ok(JsonValue::Object(out))
        }
        JsonValue::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| mark(v, profile, &format!("{path}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(JsonValue::Array),
        other => Ok(other),
    }
}

/// Minified bytes of a tree whose amounts are already [`Money`].
pub fn canonical_bytes(v: &JsonValue, format: MoneyFormat) -> Vec<u8> {
    v.to_bytes(format)
}

/// Parses JSON text strictly (see [`json::parse`]); `bmp.body.malformed`
/// names the offset of the first problem.
pub fn parse_body(bytes: &[u8]) -> Result<JsonValue, Error> {
    json::parse(bytes)
        .map_err(|e| Error::new(Code::BodyMalformed, format!("body is not valid JSON: {e}")))
}

/// Canonical bytes of a JSON text, money members normalised per `profile`.
pub fn canonical_from_text(text: &[u8], profile: &BmpProfile) -> Result<Vec<u8>, Error> {
    let v = mark_money(parse_body(text)?, profile)?;
    Ok(v.to_bytes(profile.money_format))
}

/// Converts a `serde_json::Value` (member order as inserted; the crate
/// builds serde_json with `preserve_order`) into a [`JsonValue`], refusing
/// binary floats under money members.
pub fn from_serde(v: &serde_json::Value, profile: &BmpProfile) -> Result<JsonValue, Error> {
    conv(v, profile, "", false)
}

fn conv(
    v: &serde_json::Value,
    profile: &BmpProfile,
    path: &str,
    money: bool,
) -> Result<JsonValue, Error> {
    use serde_json::Value as V;
    Ok(match v {
        V::Null => JsonValue::Null,
        V::Bool(b) => JsonValue::Bool(*b),
        V::Number(n) => {
            if money && !(n.is_i64() || n.is_u64()) {
                return Err(Error::new(
                    Code::MoneyFloat,
                    format!(
                        "{path}: a binary floating-point amount ({n}) is refused; \
                         pass a decimal string or integer cents"
                    ),
                ));
            }
            JsonValue::Number(n.to_string())
        }
        V::String(s) => JsonValue::String(s.clone()),
        V::Array(items) => JsonValue::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| conv(x, profile, &format!("{path}[{i}]"), false))
                .collect::<Result<_, _>>()?,
        ),
        V::Object(m) => JsonValue::Object(
            m.iter()
                .map(|(k, x)| {
                    conv(x, profile, &path_join(path, k), profile.is_money_field(k))
                        .map(|x| (k.clone(), x))
                })
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Canonical bytes of a `serde_json::Value`, money members normalised.
pub fn canonical_from_value(v: &serde_json::Value, profile: &BmpProfile) -> Result<Vec<u8>, Error> {
    let v = mark_money(from_serde(v, profile)?, profile)?;
    Ok(v.to_bytes(profile.money_format))
}

/// Re-writes a body's amounts in another format (`100.00` → `100.0` with
/// [`MoneyFormat::Dotnet`]), everything else byte-for-byte minified. For
/// simulators that must send bodies the way BMP's .NET stack writes them.
pub fn reformat_money(
    body: &[u8],
    profile: &BmpProfile,
    format: MoneyFormat,
) -> Result<Vec<u8>, Error> {
    let v = mark_money(parse_body(body)?, profile)?;
    Ok(v.to_bytes(format))
}
