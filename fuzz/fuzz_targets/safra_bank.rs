//! The Safra bank role on arbitrary requests: path, headers and body all fuzzed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use selo::keys::RsaPrivateKey;
use selo::safra::bank::{Bank, BankConfig};
use std::sync::OnceLock;

static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let key = KEY.get_or_init(|| {
        RsaPrivateKey::import(include_bytes!(
            "../../tests/vectors/external/keys/rsa1024-bank.pem"
        ))
        .expect("key")
    });
    let mut rng = selo::rng::seeded([1; 32]);
    let Ok(mut bank) = Bank::new(
        BankConfig {
            profile: Default::default(),
            bank_key: key.clone(),
            token_lifetime: 600,
        },
        &mut rng,
    ) else {
        return;
    };
    let mut parts = data.splitn(3, |b| *b == 0);
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
    let sid = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
    let body = parts.next().unwrap_or_default();
    let headers = vec![
        ("amc-session-id".to_string(), sid),
        ("amc-aplicacao".to_string(), "PSD".to_string()),
    ];
    let r = bank.handle(&format!("/psd/{path}"), &headers, body, 0, &mut rng);
    assert!(r.status >= 200);
});
