//! psd005/psd007 tokens (SPEC §2.5): the JWT payload is decoded without
//! verifying its signature (the bank publishes no key), and the renewal
//! schedule is computed from the **local** receive time.

use super::{Code, Error, SafraProfile, err};
use crate::encoding::b64_decode;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A token and when to renew it. Times are Unix seconds on the host clock.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSchedule {
    /// The JWT as received (a bearer credential: not printed by `Debug`).
    pub token: String,
    /// `exp` claim (bank clock).
    pub exp: u64,
    /// `iat` claim (bank clock).
    pub iat: u64,
    /// `exp - iat`.
    pub lifetime: u64,
    /// Local receive time `t0`.
    pub received_at: u64,
    /// `t0 + L - renew_before` (60 s by default).
    pub renew_at: u64,
    /// `t0 + L - expire_before` (30 s by default); after it the token is expired.
    pub expires_at: u64,
    /// True when the reply that carried the token reused an IV already seen
    /// in the session (only possible with `reject_reused_iv` off).
    #[serde(default)]
    pub iv_reused: bool,
}

/// The longest token lifetime accepted (one year): a larger `exp - iat` is
/// a bank bug or an attack, refused as `safra.token.bad_claims`.
pub const MAX_LIFETIME_SECS: u64 = 366 * 24 * 3600;

impl fmt::Debug for TokenSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSchedule")
            .field("token", &"..")
            .field("lifetime", &self.lifetime)
            .field("received_at", &self.received_at)
            .field("renew_at", &self.renew_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Drop for TokenSchedule {
    /// The token is a bearer credential: wiped when the schedule is dropped.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

impl TokenSchedule {
    /// True once `now` has reached the renewal time.
    pub fn should_renew(&self, now: u64) -> bool {
        now >= self.renew_at
    }

    /// True once `now` is past the (local) expiry.
    pub fn is_expired(&self, now: u64) -> bool {
        now > self.expires_at
    }
}

/// Decodes a JWT's payload (B64URL, B64 tolerated) without verification.
pub fn decode_claims(token: &str) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = match parts.as_slice() {
        [_, payload, _] => *payload,
        _ => {
            return Err(err(
                Code::TokenMalformed,
                format!(
                    "expected a JWT of 3 dot-separated parts, found {}",
                    parts.len()
                ),
            ));
        }
    };
    let bytes =
        b64_decode(payload).map_err(|e| err(Code::TokenMalformed, format!("payload: {e}")))?;
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(err(Code::TokenMalformed, "payload is not a JSON object")),
    }
}

fn int_claim(
    claims: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<u64, Error> {
    match claims.get(name) {
        Some(serde_json::Value::Number(n)) => n.as_u64().ok_or_else(|| {
            err(
                Code::TokenBadClaims,
                format!("{name}: expected a non-negative integer, found {n}"),
            )
        }),
        Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().map_err(|_| {
            err(
                Code::TokenBadClaims,
                format!("{name}: expected an integer, found \"{s}\""),
            )
        }),
        Some(other) => Err(err(
            Code::TokenBadClaims,
            format!("{name}: expected an integer, found {other}"),
        )),
        None => Err(err(Code::TokenBadClaims, format!("{name}: claim missing"))),
    }
}

/// Builds the schedule of `token` received at local time `t0`.
pub fn schedule(token: &str, t0: u64, profile: &SafraProfile) -> Result<TokenSchedule, Error> {
    let claims = decode_claims(token)?;
    let exp = int_claim(&claims, "exp")?;
    let iat = int_claim(&claims, "iat")?;
    let lifetime = exp.saturating_sub(iat);
    if lifetime > MAX_LIFETIME_SECS {
        return Err(err(
            Code::TokenBadClaims,
            format!(
                "token lifetime exp - iat = {lifetime} s; expected at most {MAX_LIFETIME_SECS} s (one year)"
            ),
        ));
    }
    if lifetime <= profile.renew_before_secs.max(60) {
        return Err(err(
            Code::TokenLifetimeTooShort,
            format!(
                "token lifetime exp - iat = {lifetime} s; expected more than {} s",
                profile.renew_before_secs.max(60)
            ),
        ));
    }
    // lifetime > renew_before >= expire_before (profile rule), so only the
    // addition can overflow: a receive time near u64::MAX.
    let end = t0.checked_add(lifetime).ok_or_else(|| {
        err(
            Code::TokenBadClaims,
            format!("receive time {t0} + lifetime {lifetime} s overflows"),
        )
    })?;
    Ok(TokenSchedule {
        token: token.to_string(),
        exp,
        iat,
        lifetime,
        received_at: t0,
        renew_at: end.saturating_sub(profile.renew_before_secs),
        expires_at: end.saturating_sub(profile.expire_before_secs),
        iv_reused: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{b64, b64url};

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            b64url(br#"{"alg":"HS256"}"#),
            b64url(payload.as_bytes())
        )
    }

    #[test]
    fn absurd_lifetimes_and_overflowing_times_are_bad_claims_not_panics() {
        let p = SafraProfile::default();
        let huge = jwt(&format!(r#"{{"iat":0,"exp":{}}}"#, u64::MAX));
        assert_eq!(
            schedule(&huge, 0, &p).unwrap_err().code(),
            "safra.token.bad_claims"
        );
        let year = jwt(&format!(
            r#"{{"iat":10,"exp":{}}}"#,
            10 + MAX_LIFETIME_SECS + 1
        ));
        assert_eq!(
            schedule(&year, 0, &p).unwrap_err().code(),
            "safra.token.bad_claims"
        );
        let ok = jwt(r#"{"iat":100,"exp":700}"#);
        assert_eq!(
            schedule(&ok, u64::MAX - 10, &p).unwrap_err().code(),
            "safra.token.bad_claims"
        );
        let s = schedule(&ok, u64::MAX - 600, &p).unwrap();
        assert_eq!(s.expires_at, u64::MAX - 30);
        // exp before iat: too short, never a wrap.
        let back = jwt(r#"{"iat":700,"exp":100}"#);
        assert_eq!(
            schedule(&back, 0, &p).unwrap_err().code(),
            "safra.token.lifetime_too_short"
        );
    }

    #[test]
    fn schedule_uses_local_time() {
        let s = schedule(
            &jwt(r#"{"exp":1000,"iat":100}"#),
            5000,
            &SafraProfile::default(),
        )
        .unwrap();
        assert_eq!((s.lifetime, s.renew_at, s.expires_at), (900, 5840, 5870));
        assert!(!s.should_renew(5839) && s.should_renew(5840));
        assert!(!s.is_expired(5870) && s.is_expired(5871));
        assert!(!format!("{s:?}").contains("eyJ"));
    }

    #[test]
    fn numeric_strings_and_std_base64_are_tolerated() {
        let t = format!("x.{}.y", b64(br#"{"exp":"1000","iat":"100","s":"??>>"}"#));
        assert_eq!(
            schedule(&t, 0, &SafraProfile::default()).unwrap().lifetime,
            900
        );
    }

    #[test]
    fn bad_tokens() {
        let p = SafraProfile::default();
        let cases = [
            ("a.b".to_string(), "safra.token.malformed"),
            ("a.!!.c".to_string(), "safra.token.malformed"),
            (jwt("[1]"), "safra.token.malformed"),
            (jwt(r#"{"exp":1000}"#), "safra.token.bad_claims"),
            (jwt(r#"{"exp":1.5,"iat":1}"#), "safra.token.bad_claims"),
            (jwt(r#"{"exp":"x","iat":1}"#), "safra.token.bad_claims"),
            (
                jwt(r#"{"exp":160,"iat":100}"#),
                "safra.token.lifetime_too_short",
            ),
            (
                jwt(r#"{"exp":100,"iat":160}"#),
                "safra.token.lifetime_too_short",
            ),
        ];
        for (t, code) in cases {
            assert_eq!(schedule(&t, 0, &p).unwrap_err().code(), code, "{t}");
        }
    }
}
