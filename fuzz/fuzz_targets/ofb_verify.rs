//! JWS verification and JWKS parsing on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use selo::keys::jwk::JwkSet;
use selo::ofb::{Expected, OfbProfile, verify};
use std::sync::OnceLock;

static JWKS: OnceLock<JwkSet> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let jwks = JWKS.get_or_init(|| {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/external/ofb/jws.json"))
                .expect("json");
        JwkSet::from_value(&v["jwks"]).expect("jwks")
    });
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = JwkSet::parse(s);
    let _ = selo::ofb::parse_compact(s);
    let expected = Expected {
        aud: "https://x".into(),
        iss: "y".into(),
    };
    let _ = verify(s, jwks, &expected, &OfbProfile::default(), 1_790_000_000);
});
