//! BMP body parsing, canonicalisation and the confirmation decision on raw bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use selo::bmp::{BmpProfile, HmacKey, canonical};

fuzz_target!(|data: &[u8]| {
    let profile = BmpProfile::default();
    let _ = canonical::parse_body(data);
    let _ = canonical::canonical_from_text(data, &profile);
    if let Ok(key) = HmacKey::new(&"a".repeat(128), &profile) {
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            (
                "IdempotencyKey".to_string(),
                "6a1f0c4e-2b3d-4e5f-8a9b-0c1d2e3f4a5b".to_string(),
            ),
        ];
        let lookup = |_: &str| Some(br#"{"valor":100.00,"chave":"x"}"#.to_vec());
        let r = selo::bmp::confirm(&key, &profile, &headers, data, &lookup);
        assert!(r.status >= 200);
    }
});
