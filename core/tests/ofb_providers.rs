//! The RSA providers cross-check each other on every operation: each
//! verifies the other's signatures and decrypts the other's ciphertexts,
//! for 2048-bit keys (aws-lc-rs) and 1024-bit keys (RustCrypto fallback).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::providers;
use selo::crypto::{Code, Padding, SignatureScheme};
use selo::keys::RsaPrivateKey;

fn keys() -> Vec<RsaPrivateKey> {
    ["rsa2048-ofb.pem", "rsa1024-client.pem"]
        .iter()
        .map(|n| {
            let pem =
                std::fs::read(common::root().join("tests/vectors/external/keys").join(n)).unwrap();
            RsaPrivateKey::import(&pem).unwrap()
        })
        .collect()
}

#[test]
fn default_provider_is_aws_lc_when_the_feature_is_on() {
    let name = selo::crypto::default_provider().name();
    if cfg!(feature = "aws-lc") {
        assert_eq!(name, "aws-lc");
    } else {
        assert_eq!(name, "rustcrypto");
    }
}

#[test]
fn signatures_cross_verify() {
    let mut rng = selo::rng::system();
    for key in keys() {
        let public = key.public_key();
        for scheme in [SignatureScheme::PssSha256, SignatureScheme::Pkcs1v15Sha256] {
            for a in providers() {
                let sig = a.sign(&key, scheme, b"message", &mut rng).unwrap();
                assert_eq!(sig.len(), key.size());
                for b in providers() {
                    b.verify(&public, scheme, b"message", &sig)
                        .unwrap_or_else(|e| {
                            panic!(
                                "{} -> {} {scheme:?} {} bits: {e}",
                                a.name(),
                                b.name(),
                                key.bits()
                            )
                        });
                    let e = b.verify(&public, scheme, b"messagf", &sig).unwrap_err();
                    assert_eq!(e.kind(), Code::BadSignature);
                    let e = b
                        .verify(&public, scheme, b"message", &sig[1..])
                        .unwrap_err();
                    assert_eq!(e.kind(), Code::BadSignature);
                }
            }
        }
        // PKCS#1 v1.5 signatures are deterministic: both providers agree bytewise.
        let sigs: Vec<Vec<u8>> = providers()
            .iter()
            .map(|p| {
                p.sign(&key, SignatureScheme::Pkcs1v15Sha256, b"m", &mut rng)
                    .unwrap()
            })
            .collect();
        assert!(sigs.windows(2).all(|w| w[0] == w[1]));
    }
}

#[test]
fn ciphertexts_cross_decrypt() {
    let mut rng = selo::rng::system();
    for key in keys() {
        let public = key.public_key();
        for padding in Padding::ALL {
            let max = padding.max_plaintext(key.size());
            let msg = vec![0x5a; max];
            for a in providers() {
                let ct = a.encrypt(&public, padding, &msg, &mut rng).unwrap();
                assert_eq!(ct.len(), key.size());
                for b in providers() {
                    let pt = b.decrypt(&key, padding, &ct, &mut rng).unwrap_or_else(|e| {
                        panic!(
                            "{} -> {} {padding:?} {} bits: {e}",
                            a.name(),
                            b.name(),
                            key.bits()
                        )
                    });
                    assert_eq!(*pt, msg);
                }
                let e = a
                    .encrypt(&public, padding, &vec![0; max + 1], &mut rng)
                    .unwrap_err();
                assert_eq!(e.kind(), Code::MessageTooLong, "{} {padding:?}", a.name());
                let e = a.decrypt(&key, padding, &ct[1..], &mut rng).unwrap_err();
                assert_eq!(
                    e.kind(),
                    Code::BadCiphertextLength,
                    "{} {padding:?}",
                    a.name()
                );
            }
        }
    }
}

#[test]
fn pkcs1v15_decryption_uses_implicit_rejection_on_every_provider() {
    // A ciphertext that is not valid PKCS#1 v1.5 decrypts to the same
    // pseudo-random bytes under both providers (no visible failure).
    let mut rng = selo::rng::system();
    for key in keys() {
        let garbage = vec![0x01; key.size()];
        let outs: Vec<Vec<u8>> = providers()
            .iter()
            .map(|p| {
                p.decrypt(&key, Padding::Pkcs1v15, &garbage, &mut rng)
                    .unwrap()
                    .to_vec()
            })
            .collect();
        assert!(outs.windows(2).all(|w| w[0] == w[1]), "{} bits", key.bits());
        // OAEP has no implicit rejection: garbage fails visibly everywhere.
        for p in providers() {
            let e = p
                .decrypt(&key, Padding::OaepSha256, &garbage, &mut rng)
                .unwrap_err();
            assert_eq!(e.kind(), Code::DecryptFailed, "{}", p.name());
        }
    }
}
