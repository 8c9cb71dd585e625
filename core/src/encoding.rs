//! Base64 variants, GUIDs and small text helpers shared by every protocol.
//!
//! Encoders follow SPEC notation: [`b64`] is RFC 4648 §4 with padding,
//! [`b64url`] is §5 without padding. [`b64_decode`] accepts both alphabets,
//! with or without padding, and nothing else (no whitespace).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, general_purpose};

const LENIENT_CFG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(false);
const STD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT_CFG);
const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT_CFG);

/// Why a base64 text was refused. Callers turn it into their area's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `B64(x)`: standard alphabet, padded.
pub fn b64(data: &[u8]) -> String {
    general_purpose::STANDARD.encode(data)
}

/// `B64URL(x)`: URL-safe alphabet, unpadded.
pub fn b64url(data: &[u8]) -> String {
    general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Decodes standard or URL-safe base64, padded or not. Mixing the two
/// alphabets in one text, whitespace, or any other character is refused.
pub fn b64_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    // One pass over the text (envelopes carry tens of KiB of base64).
    let (mut has_std, mut has_url) = (false, false);
    for b in text.bytes() {
        match b {
            b'+' | b'/' => has_std = true,
            b'-' | b'_' => has_url = true,
            _ => continue,
        }
        if has_std && has_url {
            break;
        }
    }
    if has_std && has_url {
        return Err(DecodeError(
            "base64 text mixes the standard (+/) and URL-safe (-_) alphabets".into(),
        ));
    }
    let engine = if has_url { &URL_LENIENT } else { &STD_LENIENT };
    engine
        .decode(text.as_bytes())
        .map_err(|e| DecodeError(format!("invalid base64 ({})", describe(&e))))
}

/// A base64 error without the offending character: the text decoded may
/// be a secret (a key, an envelope), so a message names only the kind of
/// fault and its offset, never a symbol of the input.
pub(crate) fn describe(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(at, _) => {
            format!("a character outside the alphabet at offset {at}")
        }
        base64::DecodeError::InvalidLength(n) => format!("{n} symbols is not a valid length"),
        base64::DecodeError::InvalidLastSymbol { offset: at, .. } => {
            format!("the last symbol, at offset {at}, has bits that must be zero")
        }
        base64::DecodeError::InvalidPadding => "wrong padding".into(),
    }
}

/// A new random UUID v4, lowercase and hyphenated (36 characters).
pub fn new_guid(rng: &mut dyn crate::rng::CryptoRng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// True when `s` is a GUID in any case: 8-4-4-4-12 hexadecimal digits
/// (36 characters), any version. What the bank role accepts as an
/// `amc-session-id`.
pub fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok() && s.as_bytes().get(8) == Some(&b'-')
}

/// Serialises `value` as JSON into one buffer allocated at its exact size
/// and zeroized on drop: no growing buffer leaves a partial copy of a
/// secret behind in freed memory (the snapshot of a session holds keys).
pub fn to_json_zeroizing<T: serde::Serialize>(
    value: &T,
) -> Result<zeroize::Zeroizing<Vec<u8>>, serde_json::Error> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value)?;
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(count.0));
    serde_json::to_writer(&mut *out, value)?;
    Ok(out)
}

/// Zeroizes every string inside `value` (members' values, array items;
/// not member names) and leaves `Null`: for parsed JSON that held a secret
/// (a decrypted key JWK, a reply carrying a token) before it is dropped.
pub fn wipe_json(value: &mut serde_json::Value) {
    use zeroize::Zeroize as _;
    match value {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(wipe_json),
        serde_json::Value::Object(members) => members.values_mut().for_each(wipe_json),
        _ => {}
    }
    *value = serde_json::Value::Null;
}

/// True when `s` is a lowercase, hyphenated UUID of version 4 (RFC 9562 variant).
pub fn is_uuid_v4(s: &str) -> bool {
    if s.len() != 36 || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return false;
    }
    match uuid::Uuid::try_parse(s) {
        Ok(u) => {
            u.get_version_num() == 4
                && u.get_variant() == uuid::Variant::RFC4122
                && u.hyphenated().to_string() == s
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_accepts_both_alphabets_with_or_without_padding() {
        let data = [0xfbu8, 0xff, 0xfe, 0x01];
        for text in [
            b64(&data),
            b64url(&data),
            b64(&data).trim_end_matches('=').to_string(),
        ] {
            assert_eq!(b64_decode(&text).unwrap(), data, "{text}");
        }
        assert_eq!(b64(&data), "+//+AQ==");
        assert_eq!(b64url(&data), "-__-AQ");
    }

    #[test]
    fn decode_refuses_whitespace_mixed_alphabets_and_garbage() {
        for bad in ["QU JD", "QUJD\n", "+-AA", "QUJD*", "Q"] {
            assert!(b64_decode(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn decode_errors_never_echo_a_symbol_of_the_input() {
        // Each secret-looking input has one bad or odd symbol; no message
        // may contain it (nor its byte value).
        for (bad, secret) in [
            ("QUJD$EFG", '$'),
            ("QUJDR", 'R'),
            ("QUJDRX==", 'X'),
            ("QUJ\u{e9}", '\u{e9}'),
        ] {
            let e = b64_decode(bad).unwrap_err().to_string();
            assert!(!e.contains(secret), "{e}");
            assert!(!e.contains(&format!(" {}", u32::from(secret))), "{e}");
            assert!(!e.contains(bad), "{e}");
        }
    }

    #[test]
    fn guids_are_v4_lowercase() {
        let mut rng = crate::rng::seeded([7; 32]);
        let g = new_guid(&mut rng);
        assert!(is_uuid_v4(&g), "{g}");
        assert!(!is_uuid_v4(&g.to_uppercase()));
        assert!(!is_uuid_v4("3f1c2a9e-5b7d-1e8f-9a0b-1c2d3e4f5a6b"));
        assert!(!is_uuid_v4("3f1c2a9e5b7d4e8f9a0b1c2d3e4f5a6b"));
    }
}
