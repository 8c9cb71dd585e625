//! Key import (PEM/DER, every form) and JWK parsing on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = selo::keys::RsaPublicKey::import(data);
    let _ = selo::keys::RsaPrivateKey::import(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = selo::keys::jwk::Jwk::parse(s);
    }
});
