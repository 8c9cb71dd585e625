//! [`OfbProfile`]: the switchable interpretations of SPEC §3.

use super::{Code, Error};
use serde::{Deserialize, Serialize};

/// How strictly the header's `typ` is checked (SPEC §3.2 step 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TypRule {
    /// `typ` must be present and `JWT` (the default; requests).
    #[default]
    #[serde(rename = "jwt")]
    Jwt,
    /// `typ` may be absent; when present it must be `JWT` (responses).
    #[serde(rename = "absent-or-jwt")]
    AbsentOrJwt,
}

/// Accepted `jti` format (SPEC §3.2 step 6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JtiFormat {
    /// A lowercase, hyphenated UUID v4 (the default).
    #[default]
    #[serde(rename = "uuid-v4")]
    UuidV4,
    /// Any non-empty string (peers that use nanoid and the like).
    #[serde(rename = "any")]
    Any,
}

/// How `iat` is written when signing (SPEC §3.1). Verification accepts both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IatFormat {
    /// A JSON integer, RFC 7519 NumericDate (the default).
    #[default]
    #[serde(rename = "integer")]
    Integer,
    /// A JSON string of decimal digits, as the seed's example shows.
    #[serde(rename = "string")]
    String,
}

/// Every **[profile]** choice of SPEC §3. `Default` is the SPEC's reading;
/// a host can load one from JSON ([`OfbProfile::from_json`]); members left
/// out keep their defaults, unknown members are an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfbProfile {
    /// `typ` rule. Default `"jwt"`.
    pub typ: TypRule,
    /// Seconds `iat` may lie in the future (and clock tolerance for
    /// `exp`/`nbf`). Default 60.
    pub iat_future_skew: u64,
    /// Seconds `iat` may lie in the past. Default 60.
    pub iat_max_age: u64,
    /// `jti` format. Default `"uuid-v4"`.
    pub jti_format: JtiFormat,
    /// How `iat` is written when signing. Default `"integer"`.
    pub iat_format: IatFormat,
    /// Largest request body the server role accepts (larger: 413, before
    /// anything is parsed). Default 1 MiB.
    pub max_body_bytes: usize,
}

impl Default for OfbProfile {
    fn default() -> Self {
        Self {
            typ: TypRule::Jwt,
            iat_future_skew: 60,
            iat_max_age: 60,
            jti_format: JtiFormat::UuidV4,
            iat_format: IatFormat::Integer,
            max_body_bytes: 1 << 20,
        }
    }
}

impl OfbProfile {
    /// The profile for verifying responses: `typ` may be absent.
    pub fn for_responses() -> Self {
        Self {
            typ: TypRule::AbsentOrJwt,
            ..Self::default()
        }
    }

    /// Parses a profile from JSON (missing members keep their defaults).
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::new(Code::Profile, format!("OFB profile JSON: {e}")))?;
        if !value.is_object() {
            return Err(Error::new(
                Code::Profile,
                "OFB profile JSON: expected an object",
            ));
        }
        serde_json::from_value(value)
            .map_err(|e| Error::new(Code::Profile, format!("OFB profile JSON: {e}")))
    }

    /// Seconds a token stays acceptable by its `iat`:
    /// `iat_max_age + iat_future_skew` (saturating).
    pub fn acceptance_window(&self) -> u64 {
        self.iat_max_age.saturating_add(self.iat_future_skew)
    }

    /// Checks the profile is usable with a replay cache (run by
    /// [`MemoryJtiCache::for_profile`](super::MemoryJtiCache::for_profile)
    /// and by the server helper before stage 7; verifying without replay
    /// protection does not need it): its acceptance window must not exceed
    /// the replay TTL (86 400 s, SPEC §3.2 step 7) — a replay cache that
    /// forgets a `jti` while its token still passes the `iat` check would
    /// let the replay through.
    pub fn validate(&self) -> Result<(), Error> {
        if self.acceptance_window() > super::JTI_TTL {
            return Err(Error::new(
                Code::Profile,
                format!(
                    "OFB profile: iat_max_age + iat_future_skew = {} s exceeds the replay TTL of {} s (a replayed jti could outlive its cache entry)",
                    self.acceptance_window(),
                    super::JTI_TTL
                ),
            ));
        }
        Ok(())
    }

    /// The profile as JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain enums and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
