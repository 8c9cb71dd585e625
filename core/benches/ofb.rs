//! PS256 sign/verify with 2048-bit keys on every provider: the raw RSA
//! operation and the whole OFB path (JSON, base64url, claims).
//! Run: `cargo bench -p selo --bench ofb`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use selo::crypto::{RsaProvider, RustCryptoProvider, SignatureScheme};
use selo::keys::RsaPrivateKey;
use selo::keys::jwk::{Jwk, JwkSet};
use selo::ofb::{self, Expected, OfbProfile, SignParams};
use serde_json::json;
use std::hint::black_box;
use std::time::Duration;

const AUD: &str = "https://api.banco.example/open-banking/payments/v1/consents";
const ISS: &str = "5647fe90-f6bc-11eb-9a03-0242ac130003";
const NOW: u64 = 1_790_000_000;

fn providers() -> Vec<&'static dyn RsaProvider> {
    #[allow(unused_mut)]
    let mut v: Vec<&'static dyn RsaProvider> = vec![&RustCryptoProvider];
    #[cfg(feature = "aws-lc")]
    v.push(&selo::crypto::AwsLcProvider);
    v
}

fn bench(c: &mut Criterion) {
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/external/keys/rsa2048-ofb.pem"
    ))
    .unwrap();
    let key = RsaPrivateKey::import(&pem).unwrap();
    let public = key.public_key();
    let jwks = JwkSet::new(vec![Jwk::from_public(&public).with_kid("k")]);
    let payload = json!({"data": {"consentId": "urn:bancoex:C1DD33123", "payment": {"amount": "100000.12", "currency": "BRL"}}});
    let params = SignParams::new("k", AUD, ISS);
    let profile = OfbProfile::default();
    let msg = b"eyJhbGciOiJQUzI1NiJ9.eyJkYXRhIjp7fX0";
    let mut rng = selo::rng::system();

    let mut g = c.benchmark_group("ps256-2048");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    for p in providers() {
        let sig = p
            .sign(&key, SignatureScheme::PssSha256, msg, &mut rng)
            .unwrap();
        g.bench_function(format!("rsa-sign/{}", p.name()), |b| {
            b.iter(|| {
                p.sign(&key, SignatureScheme::PssSha256, black_box(msg), &mut rng)
                    .unwrap()
            })
        });
        g.bench_function(format!("rsa-verify/{}", p.name()), |b| {
            b.iter(|| {
                p.verify(&public, SignatureScheme::PssSha256, black_box(msg), &sig)
                    .unwrap()
            })
        });
        let token = ofb::sign_with_provider(p, &key, &payload, &params, &profile, NOW, &mut rng)
            .unwrap()
            .token;
        g.bench_function(format!("ofb-sign/{}", p.name()), |b| {
            b.iter(|| {
                ofb::sign_with_provider(
                    p,
                    &key,
                    black_box(&payload),
                    &params,
                    &profile,
                    NOW,
                    &mut rng,
                )
                .unwrap()
            })
        });
        g.bench_function(format!("ofb-verify/{}", p.name()), |b| {
            b.iter(|| {
                ofb::verify_with_provider(
                    p,
                    black_box(&token),
                    &jwks,
                    &Expected::new(AUD, ISS),
                    &profile,
                    NOW,
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
