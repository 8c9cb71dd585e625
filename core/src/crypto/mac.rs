use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

/// HMAC-SHA512 of `msg` under `key` (any key length).
pub fn hmac_sha512(key: &[u8], msg: &[u8]) -> [u8; 64] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match hmac::Hmac::<sha2::Sha512>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0u8; 64],
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Constant-time equality (lengths are not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        let mac = hmac_sha512(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        assert!(ct_eq(&mac, &mac));
        assert!(!ct_eq(&mac, &mac[..63]));
        // Equal lengths that differ in one byte, first, middle or last.
        for i in [0, 31, 63] {
            let mut other = mac;
            other[i] ^= 0x01;
            assert!(!ct_eq(&mac, &other), "byte {i}");
        }
        assert!(ct_eq(b"", b""));
    }
}
