//! The sealed Safra credentials record (docs/shared-state.md §3).
//!
//! Text, so every Redis client library handles it as a plain string:
//!
//! ```text
//! selo1.<generation>.<base64url-no-pad(nonce(12) || ciphertext || tag(16))>
//! ```
//!
//! - AES-256-GCM under the host's 32-byte [`SealKey`], a random 96-bit
//!   nonce per seal (from the caller's rng), a 128-bit tag.
//! - AAD = `"selo/safra-record/v1\0" || name || "\0" || generation as 8
//!   bytes big-endian`: a record opens only for the fleet it was sealed
//!   for, with the generation its prefix states (the prefix is readable —
//!   the Lua scripts compare generations — but not alterable).
//! - `<generation>` is canonical decimal: 1 to 20 digits, no leading zero,
//!   at least 1 (0 means "no record") and at most `u64::MAX`.
//! - A record text is at most [`MAX_RECORD_LEN`] bytes; longer input is
//!   refused before it is decoded.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::keys::check_name;
use crate::rng::CryptoRng;
use crate::safra::{Code, Error};

/// The version prefix of a record text (`selo1.`).
pub const RECORD_VERSION: &str = "selo1";

/// The longest record text [`open`] reads (64 KiB), and the longest
/// [`seal()`] writes.
pub const MAX_RECORD_LEN: usize = 64 * 1024;

/// The length of a seal key (AES-256).
pub const SEAL_KEY_LEN: usize = 32;

/// The AAD's fixed first part.
pub const AAD_LABEL: &[u8] = b"selo/safra-record/v1\0";

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// The most digits a `u64` takes in decimal.
const MAX_GENERATION_DIGITS: usize = 20;

/// The host's record-sealing key: 32 bytes, the same on every instance of a
/// fleet (from the host's secret store). Wiped on drop; its `Debug` shows no
/// byte of it.
#[derive(Clone)]
pub struct SealKey(Zeroizing<[u8; SEAL_KEY_LEN]>);

impl SealKey {
    /// A seal key from exactly 32 bytes; any other length is
    /// `safra.shared.seal_key`.
    pub fn new(bytes: &[u8]) -> Result<SealKey, Error> {
        let mut k = Zeroizing::new([0u8; SEAL_KEY_LEN]);
        if bytes.len() != SEAL_KEY_LEN {
            return Err(Error::new(
                Code::SharedSealKey,
                format!(
                    "seal key: expected {SEAL_KEY_LEN} bytes (AES-256), found {}",
                    bytes.len()
                ),
            ));
        }
        k.copy_from_slice(bytes);
        Ok(SealKey(k))
    }

    fn cipher(&self) -> Aes256Gcm {
        // The key schedule is wiped when the cipher drops (the `zeroize`
        // features of aes and polyval, Cargo.toml).
        Aes256Gcm::new(self.0.as_ref().into())
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

/// The AAD of a record: label, name, NUL, generation (8 bytes big-endian).
fn aad(name: &str, generation: u64) -> Vec<u8> {
    let mut a = Vec::with_capacity(AAD_LABEL.len() + name.len() + 9);
    a.extend_from_slice(AAD_LABEL);
    a.extend_from_slice(name.as_bytes());
    a.push(0);
    a.extend_from_slice(&generation.to_be_bytes());
    a
}

fn rejected(why: impl Into<String>) -> Error {
    Error::new(Code::SharedRecordRejected, why)
}

/// Seals `plaintext` (the credentials JSON) for fleet `name` at
/// `generation`, with a fresh random nonce drawn from `rng` (its first 12
/// bytes). Errors: an invalid `name` (`safra.shared.name`); generation 0,
/// or a plaintext whose record would exceed [`MAX_RECORD_LEN`]
/// (`safra.shared.protocol`).
pub fn seal(
    key: &SealKey,
    name: &str,
    generation: u64,
    plaintext: &[u8],
    rng: &mut dyn CryptoRng,
) -> Result<String, Error> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    seal_with_nonce(key, name, generation, plaintext, nonce)
}

/// [`seal`] with a given nonce: for the test vectors only. A nonce must
/// never be used twice under one key.
pub(crate) fn seal_with_nonce(
    key: &SealKey,
    name: &str,
    generation: u64,
    plaintext: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<String, Error> {
    check_name("fleet name", name)?;
    if generation == 0 {
        return Err(Error::new(
            Code::SharedProtocol,
            "seal: generation 0 means \"no record\"; a sealed record's generation is at least 1",
        ));
    }
    let prefix = format!("{RECORD_VERSION}.{generation}.");
    let raw_len = NONCE_LEN
        .saturating_add(plaintext.len())
        .saturating_add(TAG_LEN);
    // base64 without padding: ceil(4n / 3).
    let text_len = prefix
        .len()
        .saturating_add(raw_len.saturating_mul(4).saturating_add(2) / 3);
    if text_len > MAX_RECORD_LEN {
        return Err(Error::new(
            Code::SharedProtocol,
            format!(
                "seal: a {} byte plaintext makes a {text_len} byte record, over the {MAX_RECORD_LEN} byte limit",
                plaintext.len()
            ),
        ));
    }
    let mut buf = Zeroizing::new(Vec::with_capacity(raw_len));
    buf.extend_from_slice(&nonce);
    buf.extend_from_slice(plaintext);
    let tag = key
        .cipher()
        .encrypt_in_place_detached(
            &Nonce::from(nonce),
            &aad(name, generation),
            buf.get_mut(NONCE_LEN..).unwrap_or_default(),
        )
        .map_err(|_| Error::new(Code::SharedProtocol, "seal: AES-GCM refused the plaintext"))?;
    buf.extend_from_slice(&tag);
    let mut text = prefix;
    URL_SAFE_NO_PAD.encode_string(buf.as_slice(), &mut text);
    Ok(text)
}

/// Splits `selo1.<generation>.<rest>`, checking the length bound and the
/// generation's canonical form; `rest` is returned undecoded.
fn split(text: &str) -> Result<(u64, &str), Error> {
    if text.len() > MAX_RECORD_LEN {
        return Err(rejected(format!(
            "record: {} bytes, over the {MAX_RECORD_LEN} byte limit",
            text.len()
        )));
    }
    let rest = text
        .strip_prefix(RECORD_VERSION)
        .and_then(|r| r.strip_prefix('.'))
        .ok_or_else(|| rejected(format!("record: expected the prefix \"{RECORD_VERSION}.\"")))?;
    let (digits, body) = rest
        .split_once('.')
        .ok_or_else(|| rejected("record: expected selo1.<generation>.<base64url>"))?;
    let canonical = !digits.is_empty()
        && digits.len() <= MAX_GENERATION_DIGITS
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    let generation = if canonical {
        digits.parse::<u64>().ok()
    } else {
        None
    };
    let generation = generation.ok_or_else(|| {
        rejected(format!(
            "record: the generation must be decimal 1 to {}, without leading zeros ({} characters found)",
            u64::MAX,
            digits.len()
        ))
    })?;
    Ok((generation, body))
}

/// Opens a record sealed for fleet `name`: its generation and the plaintext
/// (wiped on drop). Anything but an intact record sealed under `key` for
/// `name` with the generation its prefix states — malformed text, over
/// [`MAX_RECORD_LEN`], bad base64, too short, wrong key, wrong name, an
/// altered generation or byte — is `safra.shared.record_rejected` (the
/// message never holds key material). An invalid `name` is
/// `safra.shared.name`.
pub fn open(key: &SealKey, name: &str, text: &str) -> Result<(u64, Zeroizing<Vec<u8>>), Error> {
    check_name("fleet name", name)?;
    let (generation, body) = split(text)?;
    let mut raw = Zeroizing::new(Vec::new());
    URL_SAFE_NO_PAD.decode_vec(body, &mut raw).map_err(|e| {
        rejected(format!(
            "record: the sealed part is not base64url without padding ({})",
            crate::encoding::describe(&e)
        ))
    })?;
    if raw.len() < NONCE_LEN.saturating_add(TAG_LEN) {
        return Err(rejected(format!(
            "record: the sealed part is {} bytes, shorter than nonce and tag ({})",
            raw.len(),
            NONCE_LEN + TAG_LEN
        )));
    }
    let (nonce, rest) = raw.split_at(NONCE_LEN);
    let (ct, tag) = rest.split_at(rest.len().saturating_sub(TAG_LEN));
    let nonce: [u8; NONCE_LEN] = nonce
        .try_into()
        .map_err(|_| rejected("record: bad nonce length"))?;
    let tag: [u8; TAG_LEN] = tag
        .try_into()
        .map_err(|_| rejected("record: bad tag length"))?;
    let mut plain = Zeroizing::new(ct.to_vec());
    key.cipher()
        .decrypt_in_place_detached(
            &Nonce::from(nonce),
            &aad(name, generation),
            plain.as_mut_slice(),
            &Tag::from(tag),
        )
        .map_err(|_| {
            rejected(format!(
                "record: generation {generation} does not open for fleet {name:?} under this seal key (wrong key, wrong fleet name, or an altered record)"
            ))
        })?;
    Ok((generation, plain))
}

/// The generation a record's prefix states, **unauthenticated**: anyone
/// who can write the key can write any prefix. For diagnostics and for
/// choosing the `expected` generation of a publish after a seal-key
/// rotation (the Lua scripts read the same prefix); never for trusting the
/// record's contents — [`open`] is the only authenticated read. Applies the
/// same length bound and prefix rules as [`open`].
pub fn peek_generation(text: &str) -> Result<u64, Error> {
    split(text).map(|(g, _)| g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_decode(s: &str) -> Result<Vec<u8>, base16ct::Error> {
        base16ct::lower::decode_vec(s)
    }

    const NAME: &str = "acme-prod";

    fn key(b: u8) -> SealKey {
        SealKey::new(&[b; 32]).unwrap()
    }

    fn sealed(generation: u64) -> String {
        seal(
            &key(1),
            NAME,
            generation,
            br#"{"version":1}"#,
            &mut crate::rng::seeded([9; 32]),
        )
        .unwrap()
    }

    fn assert_rejected(r: Result<(u64, Zeroizing<Vec<u8>>), Error>) -> Error {
        let e = r.unwrap_err();
        assert_eq!(e.code(), "safra.shared.record_rejected", "{e:?}");
        e
    }

    #[test]
    fn seal_open_round_trip() {
        let mut rng = crate::rng::seeded([2; 32]);
        for (generation, plaintext) in [
            (1u64, &b""[..]),
            (7, br#"{"session_id":"x"}"#),
            (u64::MAX, &[0u8, 255, 10, 13][..]),
        ] {
            let t = seal(&key(1), NAME, generation, plaintext, &mut rng).unwrap();
            assert!(t.starts_with(&format!("selo1.{generation}.")), "{t}");
            let (g, p) = open(&key(1), NAME, &t).unwrap();
            assert_eq!(g, generation);
            assert_eq!(p.as_slice(), plaintext);
            assert_eq!(peek_generation(&t).unwrap(), generation);
        }
        // Random nonces: sealing twice differs.
        let a = seal(&key(1), NAME, 3, b"x", &mut rng).unwrap();
        let b = seal(&key(1), NAME, 3, b"x", &mut rng).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn wrong_key_or_name_is_rejected_without_key_material() {
        let t = sealed(5);
        let e = assert_rejected(open(&key(2), NAME, &t));
        assert!(e.message().contains("does not open"), "{}", e.message());
        assert!(!e.message().contains("0101"), "{}", e.message());
        assert_rejected(open(&key(1), "acme-prod2", &t));
        assert_rejected(open(&key(1), "acme-pro", &t));
        assert_eq!(
            open(&key(1), "bad name", &t).unwrap_err().code(),
            "safra.shared.name"
        );
    }

    #[test]
    fn altered_generation_is_rejected() {
        let t = sealed(5);
        for g in ["6", "50", "15", "4"] {
            let altered = t.replacen("selo1.5.", &format!("selo1.{g}."), 1);
            assert_rejected(open(&key(1), NAME, &altered));
            // peek_generation is unauthenticated: it reads the altered prefix.
            assert_eq!(peek_generation(&altered).unwrap().to_string(), g);
        }
        for g in [
            "05",
            "0",
            "",
            "+5",
            "-5",
            "5 ",
            "18446744073709551616",
            "1e3",
        ] {
            let altered = t.replacen("selo1.5.", &format!("selo1.{g}."), 1);
            assert_rejected(open(&key(1), NAME, &altered));
            assert!(peek_generation(&altered).is_err(), "{g:?}");
        }
    }

    #[test]
    fn malformed_records_are_rejected() {
        let t = sealed(5);
        let body = t.strip_prefix("selo1.5.").unwrap();
        // Truncated: one character off, and shorter than nonce + tag.
        assert_rejected(open(&key(1), NAME, &t[..t.len() - 1]));
        assert_rejected(open(&key(1), NAME, &t[..t.len() - 4]));
        let short = format!("selo1.5.{}", URL_SAFE_NO_PAD.encode([0u8; 27]));
        let e = assert_rejected(open(&key(1), NAME, &short));
        assert!(e.message().contains("27 bytes"), "{}", e.message());
        // A flipped ciphertext byte.
        let mut raw = URL_SAFE_NO_PAD.decode(body).unwrap();
        raw[NONCE_LEN] ^= 1;
        let flipped = format!("selo1.5.{}", URL_SAFE_NO_PAD.encode(&raw));
        assert_rejected(open(&key(1), NAME, &flipped));
        // Bad base64: standard alphabet, padding, whitespace, junk.
        for bad in [
            format!("selo1.5.{}=", body),
            format!("selo1.5.{}", body.replace('-', "+").replace('_', "/") + "+"),
            format!("selo1.5. {body}"),
            "selo1.5.!!!!".to_string(),
        ] {
            let e = assert_rejected(open(&key(1), NAME, &bad));
            assert!(e.message().contains("base64url"), "{}", e.message());
        }
        // Bad prefixes.
        for bad in [
            t.replacen("selo1.", "selo2.", 1),
            t.replacen("selo1.", "SELO1.", 1),
            t.replacen("selo1.", "selo1", 1),
            format!(" {t}"),
            body.to_string(),
            String::new(),
            "selo1.5".to_string(),
        ] {
            assert_rejected(open(&key(1), NAME, &bad));
        }
        // Oversized: refused on length, before decoding.
        let big = format!("selo1.5.{}", "A".repeat(MAX_RECORD_LEN));
        let e = assert_rejected(open(&key(1), NAME, &big));
        assert!(e.message().contains("limit"), "{}", e.message());
        assert!(peek_generation(&big).is_err());
    }

    #[test]
    fn seal_refuses_generation_zero_bad_names_and_oversized_plaintexts() {
        let mut rng = crate::rng::seeded([4; 32]);
        let e = seal(&key(1), NAME, 0, b"x", &mut rng).unwrap_err();
        assert_eq!(e.code(), "safra.shared.protocol");
        let e = seal(&key(1), "a{b}", 1, b"x", &mut rng).unwrap_err();
        assert_eq!(e.code(), "safra.shared.name");
        // The largest plaintext that fits, and one byte more.
        let prefix = format!("selo1.{}.", u64::MAX).len();
        let max_raw = (MAX_RECORD_LEN - prefix) * 3 / 4;
        let max_plain = max_raw - NONCE_LEN - TAG_LEN;
        let t = seal(&key(1), NAME, u64::MAX, &vec![7u8; max_plain], &mut rng).unwrap();
        assert!(t.len() <= MAX_RECORD_LEN);
        assert_eq!(open(&key(1), NAME, &t).unwrap().1.len(), max_plain);
        let e = seal(&key(1), NAME, u64::MAX, &vec![7u8; max_plain + 1], &mut rng).unwrap_err();
        assert_eq!(e.code(), "safra.shared.protocol");
    }

    #[test]
    fn seal_key_length_and_redacted_debug() {
        for n in [0usize, 16, 31, 33, 64] {
            let e = SealKey::new(&vec![0x41; n]).unwrap_err();
            assert_eq!(e.code(), "safra.shared.seal_key");
            assert!(
                e.message().contains(&format!("found {n}")),
                "{}",
                e.message()
            );
        }
        let k = SealKey::new(&[0xab; 32]).unwrap();
        let d = format!("{k:?}");
        assert_eq!(d, "SealKey(<redacted>)");
        assert!(!d.to_lowercase().contains("ab"));
    }

    /// The vectors of tests/vectors/shared/record.json, made by
    /// gen_record.py with Python `cryptography`'s AESGCM (an independent
    /// implementation): open each, reproduce it with the same nonce, and
    /// with the seeded rng whose first 12 bytes are that nonce.
    #[test]
    fn python_cryptography_vectors() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/vectors/shared/record.json"))
                .unwrap();
        let cases = v["cases"].as_array().unwrap();
        assert!(!cases.is_empty());
        for c in cases {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            let k = SealKey::new(&hex_decode(&s("key_hex")).unwrap()).unwrap();
            let name = s("name");
            let generation = c["generation"].as_u64().unwrap();
            let plaintext = s("plaintext").into_bytes();
            let nonce: [u8; 12] = hex_decode(&s("nonce_hex")).unwrap().try_into().unwrap();
            let seed: [u8; 32] = hex_decode(&s("rng_seed_hex")).unwrap().try_into().unwrap();
            let expected = s("record");
            assert_eq!(hex_decode(&s("aad_hex")).unwrap(), aad(&name, generation));

            let (g, p) = open(&k, &name, &expected).unwrap();
            assert_eq!(g, generation);
            assert_eq!(p.as_slice(), plaintext.as_slice());
            assert_eq!(
                seal_with_nonce(&k, &name, generation, &plaintext, nonce).unwrap(),
                expected
            );
            let mut rng = crate::rng::seeded(seed);
            assert_eq!(
                seal(&k, &name, generation, &plaintext, &mut rng).unwrap(),
                expected
            );
        }
    }
}
