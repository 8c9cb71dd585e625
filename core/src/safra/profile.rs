//! Every **[profile]** switch of SPEC §2 as plain, serde-loadable data.

use super::{Code, Error, err};
use crate::crypto::Padding;
use crate::keys::KeyFormat;
use serde::{Deserialize, Serialize};

/// Which RSA padding wraps the session id (stage 2) and the AES key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaddingChoice {
    /// PKCS#1 v1.5 — Java's `"RSA"` (default).
    Pkcs1v15,
    /// OAEP SHA-1.
    OaepSha1,
    /// OAEP SHA-256 with MGF1-SHA256.
    OaepSha256,
    /// OAEP SHA-256 with MGF1-SHA1 (Java's `OAEPWithSHA-256AndMGF1Padding`).
    #[serde(rename = "oaep-sha256-mgf1sha1")]
    OaepSha256Mgf1Sha1,
    /// Try each candidate in turn and remember the winner.
    Auto,
}

impl PaddingChoice {
    /// The fixed padding, or `None` for `auto`.
    pub fn fixed(self) -> Option<Padding> {
        match self {
            PaddingChoice::Pkcs1v15 => Some(Padding::Pkcs1v15),
            PaddingChoice::OaepSha1 => Some(Padding::OaepSha1),
            PaddingChoice::OaepSha256 => Some(Padding::OaepSha256),
            PaddingChoice::OaepSha256Mgf1Sha1 => Some(Padding::OaepSha256Mgf1Sha1),
            PaddingChoice::Auto => None,
        }
    }

    /// The choice for a fixed padding.
    pub fn from_padding(p: Padding) -> Self {
        match p {
            Padding::Pkcs1v15 => PaddingChoice::Pkcs1v15,
            Padding::OaepSha1 => PaddingChoice::OaepSha1,
            Padding::OaepSha256 => PaddingChoice::OaepSha256,
            Padding::OaepSha256Mgf1Sha1 => PaddingChoice::OaepSha256Mgf1Sha1,
        }
    }

    /// Candidates in the order they are tried.
    pub fn candidates(self) -> Vec<Padding> {
        match self.fixed() {
            Some(p) => vec![p],
            None => Padding::ALL.to_vec(),
        }
    }
}

/// What the bank signs in its stage-2 reply (SPEC §2.3 step 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureMessage {
    /// The 32 raw AES key bytes (default).
    RawKey,
    /// The key's base64 text as it appears in the JWK.
    KeyBase64Text,
    /// The whole decrypted plaintext.
    Plaintext,
    /// Try each of the above.
    Auto,
}

impl SignatureMessage {
    /// Candidates in the order they are tried.
    pub fn candidates(self) -> Vec<SignatureMessage> {
        match self {
            SignatureMessage::Auto => vec![
                SignatureMessage::RawKey,
                SignatureMessage::KeyBase64Text,
                SignatureMessage::Plaintext,
            ],
            other => vec![other],
        }
    }
}

/// What HTTP 480 ("limit exceeded") triggers (SPEC §2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum On480 {
    /// Discard key, token and workId; new handshake, then psd005 (default).
    Reinit,
    /// Keep the key; repeat psd005 only.
    Reauth,
}

/// The most bank-key pins a profile holds (a current and a next key, with
/// room for a rotation or two).
pub const MAX_PINS: usize = 16;

/// Every Safra interpretation switch. `Default` is SPEC §2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SafraProfile {
    /// Client RSA modulus size: 1024 (manual, weak, default), 2048, 3072, 4096.
    pub key_bits: usize,
    /// How the client public key is written in stage 1.
    pub key_format: KeyFormat,
    /// Stage-2 and key-wrap padding.
    pub padding: PaddingChoice,
    /// What the bank's stage-2 signature covers.
    pub signature_message: SignatureMessage,
    /// Refuse an envelope whose IV was already seen in the session (default
    /// on); off turns the refusal into a flag on the opened result.
    pub reject_reused_iv: bool,
    /// What HTTP 480 triggers.
    pub on_480: On480,
    /// Renew this many seconds before the token's (local) end of life (60).
    pub renew_before_secs: u64,
    /// Treat the token as expired this many seconds before its end (30).
    pub expire_before_secs: u64,
    /// How many recoveries (re-handshake, re-auth, retry) one operation may
    /// trigger before the session gives up.
    pub max_recoveries: u32,
    /// `statusProcessamento.codigo` values with which a 550 to psd052 means
    /// "no such boleto" (the manual names none; the simulator uses 3).
    /// Only these let a session register again after an ambiguous psd050;
    /// any other 550 ends in `safra.boleto.outcome_unknown`.
    pub boleto_not_found_codes: Vec<i64>,
    /// Pins of the bank keys the client accepts at stage 1: base64url (or
    /// base64) SHA-256 of the key's DER SubjectPublicKeyInfo, RFC 7469's
    /// pin form ([`crate::keys::RsaPublicKey::spki_pin`]). Empty (default):
    /// any key the stage-1 reply carries is used, so whoever can intercept
    /// TLS can substitute it. Non-empty: another key ends the handshake with
    /// `safra.handshake.bank_key_not_pinned` before stage 2 is sent.
    pub bank_key_pins: Vec<String>,
}

impl Default for SafraProfile {
    fn default() -> Self {
        Self {
            key_bits: 1024,
            key_format: KeyFormat::DerSpki,
            padding: PaddingChoice::Pkcs1v15,
            signature_message: SignatureMessage::RawKey,
            reject_reused_iv: true,
            on_480: On480::Reinit,
            renew_before_secs: 60,
            expire_before_secs: 30,
            max_recoveries: 3,
            boleto_not_found_codes: vec![3],
            bank_key_pins: Vec::new(),
        }
    }
}

impl SafraProfile {
    /// Loads a profile from JSON; absent fields take their defaults, unknown
    /// fields are refused.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let p: SafraProfile = serde_json::from_str(json)
            .map_err(|e| err(Code::ProfileInvalid, format!("profile JSON rejected: {e}")))?;
        p.validate()?;
        Ok(p)
    }

    /// The profile as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// True when `pin` (the stage-1 key's [`spki_pin`]) is acceptable: no
    /// pins configured, or it is one of them (either base64 alphabet, with
    /// or without padding, compares equal).
    ///
    /// [`spki_pin`]: crate::keys::RsaPublicKey::spki_pin
    pub fn bank_key_pinned(&self, pin: &str) -> bool {
        if self.bank_key_pins.is_empty() {
            return true;
        }
        let Ok(want) = crate::encoding::b64_decode(pin) else {
            return false;
        };
        self.bank_key_pins
            .iter()
            .any(|p| crate::encoding::b64_decode(p.trim()).is_ok_and(|b| b == want))
    }

    /// Checks the values that serde cannot.
    pub fn validate(&self) -> Result<(), Error> {
        if !crate::keys::ALLOWED_BITS.contains(&self.key_bits) {
            return Err(err(
                Code::ProfileInvalid,
                format!(
                    "key_bits: expected 1024, 2048, 3072 or 4096, found {}",
                    self.key_bits
                ),
            ));
        }
        if self.bank_key_pins.len() > MAX_PINS {
            return Err(err(
                Code::ProfileInvalid,
                format!(
                    "bank_key_pins: at most {MAX_PINS} pins, found {}",
                    self.bank_key_pins.len()
                ),
            ));
        }
        for (i, pin) in self.bank_key_pins.iter().enumerate() {
            let len = crate::encoding::b64_decode(pin.trim()).map(|b| b.len());
            if len != Ok(32) {
                return Err(err(
                    Code::ProfileInvalid,
                    format!(
                        "bank_key_pins[{i}]: expected base64url of a 32-byte SHA-256 (43 characters), found {} characters{}",
                        pin.chars().count(),
                        match len {
                            Ok(n) => format!(" decoding to {n} bytes"),
                            Err(_) => " that are not base64".into(),
                        }
                    ),
                ));
            }
        }
        if self.expire_before_secs > self.renew_before_secs {
            return Err(err(
                Code::ProfileInvalid,
                format!(
                    "expire_before_secs ({}) must not exceed renew_before_secs ({})",
                    self.expire_before_secs, self.renew_before_secs
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_and_json_round_trips() {
        let p = SafraProfile::default();
        assert_eq!(p.key_bits, 1024);
        let back = SafraProfile::from_json(&p.to_json()).unwrap();
        assert_eq!(back, p);
        let j: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(j["padding"], "pkcs1v15");
        assert_eq!(j["key_format"], "der-spki");
        assert_eq!(j["signature_message"], "raw-key");
        assert_eq!(j["on_480"], "reinit");
    }

    #[test]
    fn partial_json_takes_defaults_and_bad_json_is_refused() {
        let p = SafraProfile::from_json(
            r#"{"padding":"oaep-sha256-mgf1sha1","key_format":"pem-spki"}"#,
        )
        .unwrap();
        assert_eq!(p.padding, PaddingChoice::OaepSha256Mgf1Sha1);
        assert_eq!(p.key_format, KeyFormat::PemSpki);
        assert_eq!(p.key_bits, 1024);
        for bad in [
            r#"{"padding":"rsa"}"#,
            r#"{"nope":1}"#,
            r#"{"key_bits":512}"#,
            "[",
            r#"{"expire_before_secs":90}"#,
        ] {
            assert_eq!(
                SafraProfile::from_json(bad).unwrap_err().code(),
                "safra.profile.invalid",
                "{bad}"
            );
        }
    }
}
