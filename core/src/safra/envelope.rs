//! The AES-256-CTR body envelope (SPEC §2.4): `hdr "." B64(iv) "." B64(ct)`.
//!
//! The IV is 16 random alphanumeric characters used as the initial 128-bit
//! big-endian counter block. CTR with a repeated counter block leaks
//! plaintext, so [`IvLog`] remembers every IV a session sent or received.

use super::{Code, Error, err};
use crate::crypto::{AesCtrProvider, RustCryptoAesCtr};
use crate::encoding::{b64, b64_decode};
use crate::rng::CryptoRng;
use std::collections::HashSet;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The header JSON, byte for byte (the manual's spelling "RSA-AEP" is kept).
pub const HEADER_JSON: &str = r#"{"alg":"RSA-AEP","enc":"A256CTR"}"#;

/// `B64(HEADER_JSON)`.
pub fn header_b64() -> String {
    b64(HEADER_JSON.as_bytes())
}

/// A 32-byte AES-256 session key. Zeroized on drop; `Debug` prints nothing.
/// Equality runs in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SessionKey([u8; 32]);

impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SessionKey {}

impl SessionKey {
    /// Wraps 32 key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Takes a key from a slice; anything but 32 bytes is refused.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            err(
                Code::EnvelopeBadKey,
                format!(
                    "expected a 32-byte AES-256 key, found {} bytes",
                    bytes.len()
                ),
            )
        })?;
        Ok(Self(arr))
    }

    /// Decodes a base64 (either alphabet) key.
    pub fn from_b64(text: &str) -> Result<Self, Error> {
        let bytes = Zeroizing::new(
            b64_decode(text)
                .map_err(|e| err(Code::EnvelopeBadKey, format!("key is not base64: {e}")))?,
        );
        Self::from_slice(&bytes)
    }

    /// A fresh random key.
    pub fn generate(rng: &mut dyn CryptoRng) -> Self {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        Self(k)
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `B64(key)`.
    pub fn to_b64(&self) -> Zeroizing<String> {
        Zeroizing::new(b64(&self.0))
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// 16 random characters from `[A-Za-z0-9]` (unbiased rejection sampling).
pub fn random_iv(rng: &mut dyn CryptoRng) -> [u8; 16] {
    let mut iv = [0u8; 16];
    let mut filled = 0;
    let mut buf = [0u8; 32];
    while filled < 16 {
        rng.fill_bytes(&mut buf);
        for b in buf {
            let v = usize::from(b & 63);
            if let (Some(&c), Some(slot)) = (ALNUM.get(v), iv.get_mut(filled)) {
                *slot = c;
                filled = filled.saturating_add(1);
            }
        }
    }
    iv
}

/// Seals `plaintext` with an explicit 16-byte IV (any bytes). Use
/// [`IvLog::seal`] in protocol code: it draws the IV and never repeats one.
pub fn seal_with_iv(key: &SessionKey, iv: &[u8; 16], plaintext: &[u8]) -> String {
    seal_with_iv_using(&RustCryptoAesCtr, key, iv, plaintext)
}

/// [`seal_with_iv`] with AES-256-CTR from `aes`.
pub fn seal_with_iv_using(
    aes: &dyn AesCtrProvider,
    key: &SessionKey,
    iv: &[u8; 16],
    plaintext: &[u8],
) -> String {
    let mut ct = plaintext.to_vec();
    aes.apply(key.as_bytes(), iv, &mut ct);
    format!("{}.{}.{}", header_b64(), b64(iv), b64(&ct))
}

/// An opened envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    /// The IV (initial counter block).
    pub iv: [u8; 16],
    /// The plaintext bytes (zeroized on drop).
    pub plaintext: Zeroizing<Vec<u8>>,
    /// True when the IV had been seen before and the profile lets that pass.
    pub reused_iv: bool,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("iv", &String::from_utf8_lossy(&self.iv))
            .field("plaintext_len", &self.plaintext.len())
            .field("reused_iv", &self.reused_iv)
            .finish()
    }
}

/// Opens an envelope without IV bookkeeping and without requiring JSON.
/// Checks: exactly three parts, header JSON object with `enc` = `A256CTR`
/// (`alg` is not checked), a 16-byte IV, valid base64 everywhere.
pub fn open_bytes(key: &SessionKey, envelope: &str) -> Result<Opened, Error> {
    open_bytes_using(&RustCryptoAesCtr, key, envelope)
}

/// [`open_bytes`] with AES-256-CTR from `aes`.
pub fn open_bytes_using(
    aes: &dyn AesCtrProvider,
    key: &SessionKey,
    envelope: &str,
) -> Result<Opened, Error> {
    let parts: Vec<&str> = envelope.split('.').collect();
    let [hdr, iv, ct] = parts.as_slice() else {
        return Err(err(
            Code::EnvelopeMalformed,
            format!(
                "expected 3 dot-separated parts (header.iv.ciphertext), found {}",
                parts.len()
            ),
        ));
    };
    let hdr_bytes =
        b64_decode(hdr).map_err(|e| err(Code::EnvelopeBadBase64, format!("header: {e}")))?;
    let hdr_json: serde_json::Value = serde_json::from_slice(&hdr_bytes)
        .map_err(|_| err(Code::EnvelopeBadHeader, "header is not JSON"))?;
    let enc = hdr_json.as_object().map(|o| o.get("enc"));
    match enc {
        Some(Some(serde_json::Value::String(s))) if s == "A256CTR" => {}
        Some(found) => {
            return Err(err(
                Code::EnvelopeBadHeader,
                format!(
                    "header enc: expected \"A256CTR\", found {}",
                    found.map_or("nothing".into(), |v| v.to_string())
                ),
            ));
        }
        None => return Err(err(Code::EnvelopeBadHeader, "header is not a JSON object")),
    }
    let iv_bytes = b64_decode(iv).map_err(|e| err(Code::EnvelopeBadBase64, format!("iv: {e}")))?;
    let iv: [u8; 16] = iv_bytes.as_slice().try_into().map_err(|_| {
        err(
            Code::EnvelopeBadIv,
            format!("iv: expected 16 bytes, found {}", iv_bytes.len()),
        )
    })?;
    let mut data = Zeroizing::new(
        b64_decode(ct).map_err(|e| err(Code::EnvelopeBadBase64, format!("ciphertext: {e}")))?,
    );
    aes.apply(key.as_bytes(), &iv, &mut data);
    Ok(Opened {
        iv,
        plaintext: data,
        reused_iv: false,
    })
}

/// Checks that an opened plaintext is UTF-8 JSON and parses it.
pub fn parse_json(plaintext: &[u8]) -> Result<serde_json::Value, Error> {
    let text = std::str::from_utf8(plaintext)
        .map_err(|_| err(Code::EnvelopeNotJson, "plaintext is not UTF-8 (wrong key?)"))?;
    serde_json::from_str(text)
        .map_err(|_| err(Code::EnvelopeNotJson, "plaintext is not JSON (wrong key?)"))
}

/// Wraps an envelope as the request/response body `{"data":"<envelope>"}`.
pub fn wrap_body(envelope: &str) -> Vec<u8> {
    serde_json::json!({ "data": envelope })
        .to_string()
        .into_bytes()
}

/// Takes the envelope out of a `{"data":"<envelope>"}` body.
pub fn unwrap_body(body: &[u8]) -> Result<String, Error> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| err(Code::EnvelopeBadBody, "body is not JSON"))?;
    match v.get("data") {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(err(
            Code::EnvelopeBadBody,
            "body member \"data\" is not a string",
        )),
        None => Err(err(
            Code::EnvelopeBadBody,
            "expected a JSON object with member \"data\"",
        )),
    }
}

/// The IVs one session has sent or received, so none is used twice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IvLog {
    seen: HashSet<[u8; 16]>,
}

impl IvLog {
    /// Seals with a fresh IV never seen in this session.
    pub fn seal(&mut self, key: &SessionKey, plaintext: &[u8], rng: &mut dyn CryptoRng) -> String {
        let iv = loop {
            let iv = random_iv(rng);
            if self.seen.insert(iv) {
                break iv;
            }
        };
        seal_with_iv(key, &iv, plaintext)
    }

    /// Opens, refusing (or, with `reject_reused` false, flagging) an IV
    /// this session has already seen, and requires UTF-8 JSON.
    pub fn open(
        &mut self,
        key: &SessionKey,
        envelope: &str,
        reject_reused: bool,
    ) -> Result<(Opened, serde_json::Value), Error> {
        let mut opened = open_bytes(key, envelope)?;
        let fresh = !self.seen.contains(&opened.iv);
        if !fresh && reject_reused {
            return Err(err(
                Code::EnvelopeReusedIv,
                "the envelope's IV was already used in this session (AES-CTR keystream reuse)",
            ));
        }
        let json = parse_json(&opened.plaintext)?;
        self.seen.insert(opened.iv);
        opened.reused_iv = !fresh;
        Ok((opened, json))
    }

    /// Forgets every IV (a new key starts a new log) and frees the memory
    /// they took.
    pub fn clear(&mut self) {
        self.seen = HashSet::new();
    }

    /// The heap memory the log holds, in bytes, as the hash table lays it
    /// out (a power-of-two number of 16-byte buckets at most 7/8 full, one
    /// control byte each, plus one group of control bytes): the bank role's
    /// accounting of IV memory.
    pub fn heap_bytes(&self) -> usize {
        let cap = self.seen.capacity();
        if cap == 0 {
            return 0;
        }
        let buckets = cap
            .saturating_mul(8)
            .div_ceil(7)
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX);
        buckets.saturating_mul(17).saturating_add(16)
    }

    /// The IVs seen, for session export.
    pub fn ivs(&self) -> impl Iterator<Item = &[u8; 16]> {
        self.seen.iter()
    }

    /// Records an IV (session import).
    pub fn insert(&mut self, iv: [u8; 16]) {
        self.seen.insert(iv);
    }

    /// True once the log holds [`IvLog::CAPACITY`] IVs: the key has carried
    /// enough messages and a new handshake should replace it (forgetting
    /// IVs instead would let a replayed envelope through).
    pub fn is_full(&self) -> bool {
        self.seen.len() >= Self::CAPACITY
    }

    /// The most IVs one key's log holds (≈ 3 MiB): both roles replace the
    /// key before it is reached.
    pub const CAPACITY: usize = 100_000;

    /// How many IVs are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when no IV is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::new([7; 32])
    }

    #[test]
    fn header_is_exact() {
        assert_eq!(header_b64(), "eyJhbGciOiJSU0EtQUVQIiwiZW5jIjoiQTI1NkNUUiJ9");
    }

    #[test]
    fn ivs_are_alphanumeric_and_never_repeat() {
        let mut rng = crate::rng::seeded([3; 32]);
        let mut log = IvLog::default();
        for _ in 0..200 {
            let env = log.seal(&key(), b"{}", &mut rng);
            let iv = b64_decode(env.split('.').nth(1).unwrap()).unwrap();
            assert_eq!(iv.len(), 16);
            assert!(iv.iter().all(u8::is_ascii_alphanumeric), "{iv:?}");
        }
        assert_eq!(log.len(), 200);
    }

    #[test]
    fn reused_iv_is_refused_or_flagged() {
        let iv = *b"AbCdEfGhIjKlMnOp";
        let env = seal_with_iv(&key(), &iv, br#"{"a":1}"#);
        let mut log = IvLog::default();
        let (o, j) = log.open(&key(), &env, true).unwrap();
        assert!(!o.reused_iv);
        assert_eq!(j["a"], 1);
        assert_eq!(
            log.open(&key(), &env, true).unwrap_err().code(),
            "safra.envelope.reused_iv"
        );
        let (o, _) = log.open(&key(), &env, false).unwrap();
        assert!(o.reused_iv);
    }

    #[test]
    fn malformed_envelopes_have_their_codes() {
        let good = seal_with_iv(&key(), b"ABCDEFGHIJKLMNOP", br#"{"a":1}"#);
        let p: Vec<&str> = good.split('.').collect();
        let bad_hdr = b64(br#"{"alg":"RSA-AEP","enc":"A128CTR"}"#);
        let cases = [
            (format!("{}.{}", p[0], p[1]), "safra.envelope.malformed"),
            (format!("{good}.x"), "safra.envelope.malformed"),
            (
                format!("{}.{}.{}", "!!", p[1], p[2]),
                "safra.envelope.bad_base64",
            ),
            (
                format!("{}.{}.{}", b64(b"nope"), p[1], p[2]),
                "safra.envelope.bad_header",
            ),
            (
                format!("{}.{}.{}", bad_hdr, p[1], p[2]),
                "safra.envelope.bad_header",
            ),
            (
                format!("{}.{}.{}", b64(b"[1]"), p[1], p[2]),
                "safra.envelope.bad_header",
            ),
            (
                format!("{}.{}.{}", p[0], b64(b"short"), p[2]),
                "safra.envelope.bad_iv",
            ),
            (
                format!("{}.{}.{}", p[0], p[1], "A B"),
                "safra.envelope.bad_base64",
            ),
        ];
        for (env, code) in cases {
            assert_eq!(
                IvLog::default()
                    .open(&key(), &env, true)
                    .unwrap_err()
                    .code(),
                code,
                "{env}"
            );
        }
        let wrong_key = SessionKey::new([8; 32]);
        assert_eq!(
            IvLog::default()
                .open(&wrong_key, &good, true)
                .unwrap_err()
                .code(),
            "safra.envelope.not_json"
        );
    }

    #[test]
    fn key_lengths_other_than_32_are_refused() {
        for n in [0usize, 16, 31, 33, 64] {
            assert_eq!(
                SessionKey::from_slice(&vec![1; n]).unwrap_err().code(),
                "safra.envelope.bad_key"
            );
        }
        assert_eq!(format!("{:?}", key()), "SessionKey(..)");
    }

    #[test]
    fn body_wrapping() {
        assert_eq!(unwrap_body(&wrap_body("a.b.c")).unwrap(), "a.b.c");
        for bad in [&b"nope"[..], br#"{"data":1}"#, br#"{"dados":"x"}"#, b"[]"] {
            assert_eq!(
                unwrap_body(bad).unwrap_err().code(),
                "safra.envelope.bad_body"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn open_never_panics(s in ".{0,200}") {
            let _ = IvLog::default().open(&key(), &s, true);
        }

        #[test]
        fn seal_open_round_trip(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600), iv in proptest::array::uniform16(proptest::num::u8::ANY)) {
            let env = seal_with_iv(&key(), &iv, &data);
            let o = open_bytes(&key(), &env).unwrap();
            proptest::prop_assert_eq!(&o.plaintext[..], &data[..]);
        }
    }
}
