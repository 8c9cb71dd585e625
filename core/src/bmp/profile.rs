//! [`BmpProfile`]: every BMP choice SPEC §4 marks **[profile]**, plus the
//! few knobs a real deployment may need to flip. Defaults are the SPEC.

use super::money::MoneyFormat;
use super::{Code, Error};
use serde::{Deserialize, Serialize};

/// Default largest body a server role accepts: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// How the `hmac` header is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MacEncoding {
    /// 128 lowercase hex characters (SPEC default).
    #[default]
    LowercaseHex,
    /// 128 uppercase hex characters.
    UppercaseHex,
    /// Standard base64 with padding (88 characters).
    Base64,
}

/// BMP choices, loadable from JSON (`BmpProfile::from_json`). Missing
/// members take the SPEC default; unknown members are refused so a typo
/// cannot silently keep a default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "snake_case", deny_unknown_fields)]
pub struct BmpProfile {
    /// Encoding of the `hmac` header we send (default lowercase hex).
    /// Verifiers always accept hex in either case.
    pub mac_encoding: MacEncoding,
    /// Also accept a base64 `hmac` when verifying (always on when
    /// `mac_encoding` is base64). Default false.
    pub accept_base64: bool,
    /// Accept shared keys that are not 128 alphanumeric characters (any
    /// non-empty key). Default false.
    pub relaxed_key: bool,
    /// Member names treated as money besides `valor` and `Valor`, at any depth.
    pub money_fields: Vec<String>,
    /// How amounts are written in bodies we build (default two digits).
    pub money_format: MoneyFormat,
    /// Require `IdempotencyKey` to be a UUID v4 (when signing, and in the
    /// BMP-side header check). Default true.
    pub idempotency_key_uuid_v4: bool,
    /// Headers the partner's confirmation endpoint requires (names,
    /// case-insensitive). Default `Content-Type` and `IdempotencyKey`; the
    /// latter is optional when the body carries `idempotencyKey` (any case).
    pub confirm_required_headers: Vec<String>,
    /// Deadline BMP gives the partner's confirmation endpoint, in ms (5000).
    pub confirm_timeout_ms: u64,
    /// Confirmation: match member names exactly. Default false — names
    /// match case-insensitively (the seed's example body is PascalCase).
    pub confirm_exact_case: bool,
    /// Confirmation: a member the original lacks is not a difference.
    /// Default false.
    pub ignore_extra_members: bool,
    /// Largest body the server roles accept (confirmation: 413; BMP side:
    /// 406), checked before anything is parsed. Default 1 MiB.
    pub max_body_bytes: usize,
}

impl Default for BmpProfile {
    fn default() -> Self {
        BmpProfile {
            mac_encoding: MacEncoding::LowercaseHex,
            accept_base64: false,
            relaxed_key: false,
            money_fields: Vec::new(),
            money_format: MoneyFormat::TwoDigits,
            idempotency_key_uuid_v4: true,
            confirm_required_headers: vec!["Content-Type".into(), "IdempotencyKey".into()],
            confirm_timeout_ms: 5000,
            confirm_exact_case: false,
            ignore_extra_members: false,
            max_body_bytes: DEFAULT_MAX_BODY,
        }
    }
}

impl BmpProfile {
    /// Loads a profile from JSON (`{}` is the default profile).
    pub fn from_json(json: &str) -> Result<BmpProfile, Error> {
        serde_json::from_str(json)
            .map_err(|e| Error::new(Code::ProfileInvalid, format!("BMP profile: {e}")))
    }

    /// The profile as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// True when `name` is a money member under this profile.
    pub fn is_money_field(&self, name: &str) -> bool {
        name == "valor" || name == "Valor" || self.money_fields.iter().any(|f| f == name)
    }

    /// True when base64 `hmac` values are accepted by verifiers.
    pub fn accepts_base64(&self) -> bool {
        self.accept_base64 || self.mac_encoding == MacEncoding::Base64
    }
}
