//! The `hmac` header (SPEC §4.2): HMAC-SHA512 with the UTF-8 bytes of the
//! shared key over the exact body bytes; shared keys; signed requests.

use super::canonical::{canonical_bytes, canonical_from_text, canonical_from_value, parse_body};
use super::profile::{BmpProfile, MacEncoding};
use super::transactions::Transaction;
use super::{Code, Error};
use crate::crypto::{ct_eq, hmac_sha512};
use crate::encoding::{b64, b64_decode, is_uuid_v4, new_guid};
use crate::http::PreparedRequest;
use crate::rng::CryptoRng;
use zeroize::Zeroizing;

/// Length of a shared key (SPEC §4.2).
pub const KEY_LEN: usize = 128;
const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The shared HMAC key: a string whose UTF-8 bytes key HMAC-SHA512.
/// Zeroized on drop; `Debug` never shows it.
/// Equality runs in constant time over the bytes (a length difference
/// shows, the contents do not).
#[derive(Clone)]
pub struct HmacKey(Zeroizing<String>);

impl PartialEq for HmacKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for HmacKey {}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HmacKey({} chars, redacted)", self.0.chars().count())
    }
}

impl HmacKey {
    /// A new key of 128 characters drawn uniformly from `[A-Za-z0-9]`.
    pub fn generate(rng: &mut dyn CryptoRng) -> HmacKey {
        let mut key = Zeroizing::new(String::with_capacity(KEY_LEN));
        let mut buf = Zeroizing::new([0u8; 64]);
        while key.len() < KEY_LEN {
            rng.fill_bytes(buf.as_mut());
            for b in buf.iter() {
                // Rejection sampling: 248 = 4 × 62 keeps the draw uniform.
                if *b < 248
                    && key.len() < KEY_LEN
                    && let Some(c) = ALPHANUMERIC.get(usize::from(*b % 62))
                {
                    key.push(char::from(*c));
                }
            }
        }
        HmacKey(key)
    }

    /// A key the host configured. Refused (`bmp.key.invalid`) unless it is
    /// 128 ASCII alphanumeric characters, or — with `profile.relaxed_key` —
    /// any non-empty string.
    pub fn new(key: &str, profile: &BmpProfile) -> Result<HmacKey, Error> {
        let strict_ok = key.len() == KEY_LEN && key.bytes().all(|b| b.is_ascii_alphanumeric());
        if strict_ok || (profile.relaxed_key && !key.is_empty()) {
            Ok(HmacKey(Zeroizing::new(key.to_string())))
        } else {
            Err(Error::new(
                Code::KeyInvalid,
                format!(
                    "the shared key must be {KEY_LEN} alphanumeric characters; found {} characters{}",
                    key.chars().count(),
                    if key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        ""
                    } else {
                        " including non-alphanumeric ones"
                    }
                ),
            ))
        }
    }

    /// The key text (to configure it at BMP). Handle with care.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// HMAC-SHA512 of `body` under this key.
    pub fn mac(&self, body: &[u8]) -> [u8; 64] {
        hmac_sha512(self.0.as_bytes(), body)
    }
}

/// Encodes a MAC as the `hmac` header value.
pub fn encode_mac(mac: &[u8], encoding: MacEncoding) -> String {
    match encoding {
        MacEncoding::LowercaseHex => base16ct::lower::encode_string(mac),
        MacEncoding::UppercaseHex => base16ct::upper::encode_string(mac),
        MacEncoding::Base64 => b64(mac),
    }
}

/// The `hmac` header value for `body` (encoding per profile).
pub fn sign(key: &HmacKey, body: &[u8], profile: &BmpProfile) -> String {
    encode_mac(&key.mac(body), profile.mac_encoding)
}

/// Decodes an `hmac` header value: 128 hex characters in either case, or —
/// when the profile accepts it — base64 of 64 bytes. Surrounding spaces are
/// ignored.
pub fn decode_mac(value: &str, profile: &BmpProfile) -> Result<Vec<u8>, Error> {
    let v = value.trim_matches([' ', '\t']);
    if v.len() == 128
        && let Ok(bytes) = base16ct::mixed::decode_vec(v)
    {
        return Ok(bytes);
    }
    if profile.accepts_base64()
        && let Ok(bytes) = b64_decode(v)
        && bytes.len() == 64
    {
        return Ok(bytes);
    }
    Err(Error::new(
        Code::MacEncoding,
        format!(
            "the hmac header must be 128 hex characters{}; found {} characters",
            if profile.accepts_base64() {
                " or base64 of 64 bytes"
            } else {
                ""
            },
            v.chars().count()
        ),
    ))
}

/// Checks an `hmac` header value against `body` in constant time.
pub fn verify(key: &HmacKey, body: &[u8], value: &str, profile: &BmpProfile) -> Result<(), Error> {
    let given = decode_mac(value, profile)?;
    if ct_eq(&key.mac(body), &given) {
        Ok(())
    } else {
        Err(Error::new(
            Code::MacMismatch,
            "the hmac header does not match HMAC-SHA512 of the body under the shared key",
        ))
    }
}

/// Checks an idempotency key (non-empty, no control characters; a UUID v4
/// when the profile says so, either case).
pub fn check_idempotency_key(k: &str, profile: &BmpProfile) -> Result<(), Error> {
    let ok = if profile.idempotency_key_uuid_v4 {
        is_uuid_v4(&k.to_ascii_lowercase())
    } else {
        !k.is_empty() && k.len() <= 200 && !k.chars().any(char::is_control)
    };
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            Code::IdempotencyKeyInvalid,
            format!(
                "IdempotencyKey must be {}; found {} characters",
                if profile.idempotency_key_uuid_v4 {
                    "a hyphenated UUID v4"
                } else {
                    "non-empty printable text"
                },
                k.chars().count()
            ),
        ))
    }
}

/// A transaction ready to send: exact body bytes, their `hmac`, and the
/// idempotency key. Keep it until the transaction is settled: every retry
/// sends [`SignedTransaction::request`] again, unchanged, so BMP sees the
/// same `IdempotencyKey`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTransaction {
    idempotency_key: String,
    body: Vec<u8>,
    hmac: String,
}

impl SignedTransaction {
    /// The `IdempotencyKey` header value.
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }
    /// The exact body bytes to send (never re-serialise them).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
    /// The `hmac` header value.
    pub fn hmac(&self) -> &str {
        &self.hmac
    }
    /// The headers: `Content-Type`, `IdempotencyKey`, `hmac`.
    pub fn headers(&self) -> Vec<(String, String)> {
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("IdempotencyKey".into(), self.idempotency_key.clone()),
            ("hmac".into(), self.hmac.clone()),
        ]
    }
    /// The POST to `url` (BMP's base URL + endpoint); identical on every call.
    pub fn request(&self, url: &str) -> PreparedRequest {
        // The same bytes and IdempotencyKey on every call: resendable.
        PreparedRequest::new("POST", url, self.headers(), self.body.clone())
    }
}

/// The partner side of BMP requests: signs bodies with the shared key.
#[derive(Clone, Debug)]
pub struct BmpClient {
    key: HmacKey,
    profile: BmpProfile,
}

impl BmpClient {
    /// A client with this key and profile.
    pub fn new(key: HmacKey, profile: BmpProfile) -> BmpClient {
        BmpClient { key, profile }
    }

    /// The profile in use.
    pub fn profile(&self) -> &BmpProfile {
        &self.profile
    }

    /// Signs exact body bytes with a given idempotency key. The bytes are
    /// sent as they are: use this when they are already canonical.
    pub fn sign_bytes(
        &self,
        body: Vec<u8>,
        idempotency_key: &str,
    ) -> Result<SignedTransaction, Error> {
        check_idempotency_key(idempotency_key, &self.profile)?;
        Ok(SignedTransaction {
            hmac: sign(&self.key, &body, &self.profile),
            idempotency_key: idempotency_key.to_string(),
            body,
        })
    }

    fn key_for(&self, body: &[u8], rng: &mut dyn CryptoRng) -> Result<String, Error> {
        // The body's own root `idempotencyKey`, when it has one, is the header too.
        let tree = parse_body(body)?;
        match tree
            .get("idempotencyKey")
            .or_else(|| tree.get("IdempotencyKey"))
        {
            Some(v) => v.as_str().map(str::to_string).ok_or_else(|| {
                Error::new(
                    Code::IdempotencyKeyInvalid,
                    "idempotencyKey must be a string",
                )
            }),
            None => Ok(new_guid(rng)),
        }
    }

    /// Canonicalises a JSON text (SPEC §4.1) and signs it. The idempotency
    /// key is the body's root `idempotencyKey` when present, otherwise a new
    /// UUID v4 from `rng` (the body is not changed).
    pub fn sign_json(
        &self,
        json: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<SignedTransaction, Error> {
        let body = canonical_from_text(json, &self.profile)?;
        let k = self.key_for(&body, rng)?;
        self.sign_bytes(body, &k)
    }

    /// Same as [`BmpClient::sign_json`] for a `serde_json::Value`.
    pub fn sign_value(
        &self,
        value: &serde_json::Value,
        rng: &mut dyn CryptoRng,
    ) -> Result<SignedTransaction, Error> {
        let body = canonical_from_value(value, &self.profile)?;
        let k = self.key_for(&body, rng)?;
        self.sign_bytes(body, &k)
    }

    /// Builds, validates and signs a typed transaction with a new
    /// idempotency key (body member and header).
    pub fn sign_transaction(
        &self,
        tx: &Transaction,
        rng: &mut dyn CryptoRng,
    ) -> Result<SignedTransaction, Error> {
        self.sign_transaction_with_key(tx, &new_guid(rng))
    }

    /// Same as [`BmpClient::sign_transaction`] with a known idempotency key
    /// (e.g. restored after a restart, to retry the same transaction).
    pub fn sign_transaction_with_key(
        &self,
        tx: &Transaction,
        idempotency_key: &str,
    ) -> Result<SignedTransaction, Error> {
        check_idempotency_key(idempotency_key, &self.profile)?;
        let tree = tx.to_json(idempotency_key)?;
        self.sign_bytes(
            canonical_bytes(&tree, self.profile.money_format),
            idempotency_key,
        )
    }
}
