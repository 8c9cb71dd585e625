//! Stage 6 of SPEC §3.2: the registered claims.

use super::jws::kind;
use super::{Code, Error, JtiFormat, OfbProfile};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The registered claims of a verified token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `aud` (a one-element list when the token had a string).
    pub aud: Vec<String>,
    /// `iss`.
    pub iss: String,
    /// `jti`; a UUID in lower case (the replay key form).
    pub jti: String,
    /// `iat`, Unix seconds (from an integer or a numeric string).
    pub iat: u64,
    /// `exp`, when present.
    pub exp: Option<u64>,
    /// `nbf`, when present.
    pub nbf: Option<u64>,
}

/// Reads a NumericDate: a non-negative JSON integer, or a string of ASCII
/// digits (the seed's example writes `"iat": "1628257484"`). Fractions,
/// negatives, exponents and empty strings are refused.
pub(crate) fn numeric_date(v: &Value) -> Result<u64, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("expected a non-negative integer, found number {n}")),
        Value::String(s) => {
            if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "expected an integer or a string of digits, found string {:?}",
                    truncate(s)
                ));
            }
            s.parse::<u64>()
                .map_err(|_| format!("numeric string {:?} is out of range", truncate(s)))
        }
        other => Err(format!(
            "expected an integer or a numeric string, found {}",
            kind(other)
        )),
    }
}

/// At most 80 characters of a found value, for messages.
pub(crate) fn truncate(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(80).collect();
        t.push('…');
        t
    }
}

/// Longest `jti` accepted in the "any string" profile mode (SPEC §3.2).
pub const MAX_JTI_CHARS: usize = 256;

fn err(code: Code, msg: String) -> Error {
    Error::new(code, format!("stage 6 (claims): {msg}"))
}

/// Checks stage 6 in this order: `aud`, `iss`, `iat`, `exp`, `nbf`, `jti`.
pub(crate) fn check(
    payload: &Map<String, Value>,
    expected_aud: &str,
    expected_iss: &str,
    profile: &OfbProfile,
    now: u64,
) -> Result<Claims, Error> {
    // aud: a string equal to the expected value, or an array containing it.
    let aud = match payload.get("aud") {
        None => {
            return Err(err(
                Code::Aud,
                format!("claim 'aud' is missing; expected {expected_aud:?}"),
            ));
        }
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            let mut v = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => v.push(s.clone()),
                    other => {
                        return Err(err(
                            Code::Aud,
                            format!(
                                "claim 'aud' array holds {}, expected only strings",
                                kind(other)
                            ),
                        ));
                    }
                }
            }
            v
        }
        Some(other) => {
            return Err(err(
                Code::Aud,
                format!(
                    "claim 'aud' must be a string or an array of strings, found {}",
                    kind(other)
                ),
            ));
        }
    };
    if !aud.iter().any(|a| a == expected_aud) {
        let found: Vec<String> = aud.iter().map(|a| truncate(a)).collect();
        return Err(err(
            Code::Aud,
            format!("claim 'aud': expected {expected_aud:?}, found {found:?}"),
        ));
    }

    let iss = match payload.get("iss") {
        Some(Value::String(s)) if s == expected_iss => s.clone(),
        Some(Value::String(s)) => {
            return Err(err(
                Code::Iss,
                format!(
                    "claim 'iss': expected {expected_iss:?}, found {:?}",
                    truncate(s)
                ),
            ));
        }
        Some(other) => {
            return Err(err(
                Code::Iss,
                format!(
                    "claim 'iss': expected the string {expected_iss:?}, found {}",
                    kind(other)
                ),
            ));
        }
        None => {
            return Err(err(
                Code::Iss,
                format!("claim 'iss' is missing; expected {expected_iss:?}"),
            ));
        }
    };

    let iat = match payload.get("iat") {
        None => {
            return Err(err(Code::IatMissing, "claim 'iat' is missing".into()));
        }
        Some(v) => {
            numeric_date(v).map_err(|m| err(Code::IatFormat, format!("claim 'iat': {m}")))?
        }
    };
    let oldest = now.saturating_sub(profile.iat_max_age);
    let latest = now.saturating_add(profile.iat_future_skew);
    if iat < oldest {
        return Err(err(
            Code::IatTooOld,
            format!(
                "claim 'iat': expected within [{oldest}, {latest}] (now {now}, max age {} s), found {iat} ({} s old)",
                profile.iat_max_age,
                now - iat
            ),
        ));
    }
    if iat > latest {
        return Err(err(
            Code::IatInFuture,
            format!(
                "claim 'iat': expected within [{oldest}, {latest}] (now {now}, future skew {} s), found {iat} ({} s ahead)",
                profile.iat_future_skew,
                iat - now
            ),
        ));
    }

    let skew = profile.iat_future_skew;
    let exp = match payload.get("exp") {
        None => None,
        Some(v) => {
            let exp = numeric_date(v).map_err(|m| err(Code::Exp, format!("claim 'exp': {m}")))?;
            // Expired when now >= exp (RFC 7519 §4.1.4), with the clock skew.
            if now >= exp.saturating_add(skew) {
                return Err(err(
                    Code::Exp,
                    format!(
                        "claim 'exp': expected now ({now}) before {exp} + {skew} s skew; the token has expired"
                    ),
                ));
            }
            Some(exp)
        }
    };
    let nbf = match payload.get("nbf") {
        None => None,
        Some(v) => {
            let nbf = numeric_date(v).map_err(|m| err(Code::Nbf, format!("claim 'nbf': {m}")))?;
            if nbf > latest {
                return Err(err(
                    Code::Nbf,
                    format!(
                        "claim 'nbf': expected at most now + skew ({latest}), found {nbf}; the token is not valid yet"
                    ),
                ));
            }
            Some(nbf)
        }
    };

    let jti = match payload.get("jti") {
        None => return Err(err(Code::Jti, "claim 'jti' is missing".into())),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(err(
                Code::Jti,
                format!("claim 'jti': expected a string, found {}", kind(other)),
            ));
        }
    };
    let jti = match profile.jti_format {
        JtiFormat::UuidV4 => {
            // RFC 4122: UUIDs are case-insensitive; the lower-case form is
            // the replay key (and what `claims.jti` reports).
            let lower = jti.to_ascii_lowercase();
            if !crate::encoding::is_uuid_v4(&lower) {
                return Err(err(
                    Code::Jti,
                    format!(
                        "claim 'jti': expected a UUID v4 (profile jti_format \"uuid-v4\"), found {:?}",
                        truncate(&jti)
                    ),
                ));
            }
            lower
        }
        JtiFormat::Any if jti.is_empty() => {
            return Err(err(
                Code::Jti,
                "claim 'jti': expected a non-empty string, found \"\"".into(),
            ));
        }
        JtiFormat::Any if jti.chars().count() > MAX_JTI_CHARS => {
            return Err(err(
                Code::Jti,
                format!(
                    "claim 'jti': expected at most {MAX_JTI_CHARS} characters, found {}",
                    jti.chars().count()
                ),
            ));
        }
        JtiFormat::Any => super::jti::normalise_jti(&jti).into_owned(),
    };

    Ok(Claims {
        aud,
        iss,
        jti,
        iat,
        exp,
        nbf,
    })
}
