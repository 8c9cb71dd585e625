//! Compact JWS form (RFC 7515 §7.1): splitting, strict base64url, strict
//! JSON objects (duplicate member names refused).

use super::{Code, Error};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// The only accepted `alg`.
pub const ALG: &str = "PS256";
/// The `typ` selo writes.
pub const TYP: &str = "JWT";

/// RFC 7515 base64url: URL-safe alphabet, no padding, canonical final bits.
const B64URL_STRICT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// A compact JWS split and decoded, not yet verified.
#[derive(Clone, Debug, PartialEq)]
pub struct Parts {
    /// The JOSE header object.
    pub header: Map<String, Value>,
    /// The payload object.
    pub payload: Map<String, Value>,
    /// The signature bytes (possibly empty).
    pub signature: Vec<u8>,
    /// `B64URL(header) "." B64URL(payload)`: the bytes the signature covers.
    pub signing_input: String,
}

pub(crate) fn b64url_strict(part: &str, what: &str) -> Result<Vec<u8>, Error> {
    B64URL_STRICT.decode(part.as_bytes()).map_err(|e| {
        Error::new(
            Code::Malformed,
            format!(
                "stage 1 (form): the {what} part is not unpadded base64url ({})",
                crate::encoding::describe(&e)
            ),
        )
    })
}

/// Stage 1 of SPEC §3.2: exactly three dot-separated base64url parts
/// (unpadded, RFC 7515), header and payload UTF-8 JSON objects without
/// duplicate member names. The signature part may be empty here (`alg:
/// none` tokens are then refused at stage 2 with their own code).
pub fn parse_compact(token: &str) -> Result<Parts, Error> {
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        let n = token.split('.').count();
        return Err(Error::new(
            Code::Malformed,
            format!("stage 1 (form): expected 3 dot-separated parts (compact JWS), found {n}"),
        ));
    };
    if h.is_empty() || p.is_empty() {
        return Err(Error::new(
            Code::Malformed,
            "stage 1 (form): header and payload parts must not be empty",
        ));
    }
    let header = object(&b64url_strict(h, "header")?, "header")?;
    let payload = object(&b64url_strict(p, "payload")?, "payload")?;
    let signature = b64url_strict(s, "signature")?;
    let signing_input = token
        .get(..h.len() + 1 + p.len())
        .unwrap_or_default()
        .to_string();
    Ok(Parts {
        header,
        payload,
        signature,
        signing_input,
    })
}

/// The `kid` of a compact JWS's header, read strictly (unpadded
/// base64url, a JSON object without duplicate members, a string `kid`),
/// or `None`. Nothing is verified; a header part over 16 KiB is not read.
/// What a remote JWK Set cache needs to decide before verification.
pub fn header_kid(token: &str) -> Option<String> {
    const MAX_HEADER: usize = 16 * 1024;
    let head = token.trim().split('.').next()?;
    if head.len() > MAX_HEADER {
        return None;
    }
    let header = object(&b64url_strict(head, "header").ok()?, "header").ok()?;
    match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => Some(k.clone()),
        _ => None,
    }
}

fn object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::new(
            Code::Malformed,
            format!("stage 1 (form): the {what} is not UTF-8"),
        )
    })?;
    match parse_strict_json(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Error::new(
            Code::Malformed,
            format!(
                "stage 1 (form): expected the {what} to be a JSON object, found {}",
                kind(&other)
            ),
        )),
        Err(e) => Err(Error::new(
            Code::Malformed,
            format!("stage 1 (form): the {what} is not valid JSON ({e})"),
        )),
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses JSON like `serde_json`, but refuses duplicate member names at
/// any depth (`{"alg":"none","alg":"PS256"}` must not be read two ways).
pub(crate) fn parse_strict_json(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let v = StrictValue::deserialize(&mut de)?;
    de.end()?;
    Ok(v.0)
}

/// Most members one JOSE header or payload object may have.
const MAX_MEMBERS: usize = 10_000;

struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.len() >= MAX_MEMBERS {
                return Err(de::Error::custom(format!(
                    "an object with more than {MAX_MEMBERS} members"
                )));
            }
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate member name '{key}'")));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// The exact header bytes selo signs: `{"alg":"PS256","kid":<kid>,"typ":"JWT"}`.
pub(crate) fn header_json(kid: &str) -> String {
    format!(
        r#"{{"alg":"{ALG}","kid":{},"typ":"{TYP}"}}"#,
        Value::String(kid.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_at_any_depth() {
        assert!(parse_strict_json(r#"{"a":1,"a":2}"#).is_err());
        assert!(parse_strict_json(r#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(parse_strict_json(r#"[{"b":1},{"b":1}]"#).is_ok());
        assert_eq!(
            parse_strict_json(r#"{"a":[1,-2,3.5,"x",null,true]}"#).unwrap(),
            serde_json::json!({"a":[1,-2,3.5,"x",null,true]})
        );
        assert!(parse_strict_json(r#"{"a":1} x"#).is_err());
    }

    #[test]
    fn header_bytes_are_exact() {
        assert_eq!(
            header_json("k\"1"),
            r#"{"alg":"PS256","kid":"k\"1","typ":"JWT"}"#
        );
    }

    #[test]
    fn padding_and_standard_alphabet_are_malformed() {
        let h = crate::encoding::b64url(br#"{"alg":"PS256"}"#);
        let p = crate::encoding::b64url(b"{}");
        assert!(parse_compact(&format!("{h}.{p}.")).is_ok());
        assert!(parse_compact(&format!("{h}=.{p}.")).is_err());
        assert!(parse_compact(&format!("{h}.{p}.AA==")).is_err());
        assert!(parse_compact(&format!("{h}.{p}.a+b/")).is_err());
        assert!(parse_compact(&format!("{h}.{p}")).is_err());
        assert!(parse_compact(&format!("{h}.{p}..")).is_err());
    }
}
