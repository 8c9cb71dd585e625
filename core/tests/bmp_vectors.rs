//! Every case of `tests/vectors/external/bmp/*.json` (independent
//! implementations: Python `hmac`/`hashlib`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::indexing_slicing
)]

mod common;

use selo::bmp::{self, BmpProfile, HmacKey, MacEncoding, Money};
use serde_json::Value;

fn key(v: &Value) -> HmacKey {
    HmacKey::new(v["key"].as_str().unwrap(), &BmpProfile::default()).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn hmac_vectors_every_encoding() {
    let v = common::vector_json("external/bmp/hmac.json");
    let k = key(&v);
    let cases = v["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for c in cases {
        let body = c["body"].as_str().unwrap().as_bytes();
        let want_hex = c["hmac_hex"].as_str().unwrap();
        let want_b64 = c["hmac_base64"].as_str().unwrap();
        let lower = BmpProfile::default();
        let upper = BmpProfile {
            mac_encoding: MacEncoding::UppercaseHex,
            ..Default::default()
        };
        let b64 = BmpProfile {
            mac_encoding: MacEncoding::Base64,
            ..Default::default()
        };
        assert_eq!(bmp::sign(&k, body, &lower), want_hex);
        assert_eq!(bmp::sign(&k, body, &upper), want_hex.to_uppercase());
        assert_eq!(bmp::sign(&k, body, &b64), want_b64);
        // Verifiers take hex in either case; base64 only when the profile says.
        bmp::verify(&k, body, want_hex, &lower).unwrap();
        bmp::verify(&k, body, &want_hex.to_uppercase(), &lower).unwrap();
        assert_eq!(
            bmp::verify(&k, body, want_b64, &lower).unwrap_err().code(),
            "bmp.mac.encoding"
        );
        bmp::verify(&k, body, want_b64, &b64).unwrap();
        let accept = BmpProfile {
            accept_base64: true,
            ..Default::default()
        };
        bmp::verify(&k, body, want_b64, &accept).unwrap();
        // The body is already canonical: re-canonicalising keeps its bytes.
        assert_eq!(
            bmp::canonical::canonical_from_text(body, &lower).unwrap(),
            body
        );
    }
}

#[test]
fn rfc4231_vectors() {
    let v = common::vector_json("external/bmp/hmac.json");
    for c in v["rfc4231_hmac_sha512"].as_array().unwrap() {
        let mac = selo::crypto::hmac_sha512(
            &unhex(c["key_hex"].as_str().unwrap()),
            &unhex(c["data_hex"].as_str().unwrap()),
        );
        assert_eq!(hex(&mac), c["hmac_sha512_hex"].as_str().unwrap());
    }
}

#[test]
fn money_vectors() {
    let v = common::vector_json("external/bmp/money.json");
    for c in v["cases"].as_array().unwrap() {
        let got = if let Some(cents) = c["cents"].as_i64() {
            Money::from_cents_signed(cents)
        } else {
            Money::parse(c["decimal"].as_str().unwrap())
        };
        match (c["json"].as_str(), c["error"].as_str()) {
            (Some(json), None) => {
                let m = got.unwrap_or_else(|e| panic!("{c}: {e}"));
                assert_eq!(m.to_json_text(), json, "{c}");
                // The same amount inside a body, given as a JSON number.
                let input = c["decimal"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| json.into());
                let body = format!("{{\"valor\":{input}}}");
                let out =
                    bmp::canonical::canonical_from_text(body.as_bytes(), &BmpProfile::default())
                        .unwrap();
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    format!("{{\"valor\":{json}}}")
                );
            }
            (None, Some(code)) => {
                assert_eq!(got.unwrap_err().code(), code, "{c}");
                // The same refusal when the amount is a member of a body.
                let d = c["decimal"].as_str().unwrap();
                let body = format!("{{\"detalhes\":{{\"valor\":\"{d}\"}}}}");
                let e =
                    bmp::canonical::canonical_from_text(body.as_bytes(), &BmpProfile::default())
                        .unwrap_err();
                assert_eq!(e.code(), code);
                assert!(e.message().contains("detalhes.valor"), "{}", e.message());
            }
            _ => panic!("bad case {c}"),
        }
    }
}

#[test]
fn confirm_vectors() {
    let v = common::vector_json("external/bmp/confirm.json");
    let k = key(&v);
    let profile = BmpProfile::default();
    for c in v["cases"].as_array().unwrap() {
        let received = c["received"].as_str().unwrap().as_bytes();
        let original = c["original"].as_str().map(|s| s.as_bytes().to_vec());
        let tree = bmp::json::parse(received).unwrap();
        let id = tree
            .get("idempotencyKey")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        let lookup = move |k: &str| if k == id { original.clone() } else { None };
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            (
                "IdempotencyKey".to_string(),
                tree.get("idempotencyKey")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
            ),
        ];
        let r = bmp::confirm(&k, &profile, &headers, received, &lookup);
        match &c["status"] {
            Value::Number(n) if n.as_u64() == Some(200) => {
                assert_eq!(r.status, 200, "{c}: {:?}", r.error);
                let mac = selo::http::header_value(&r.headers, "hmac").unwrap();
                assert_eq!(mac, c["hmac_hex"].as_str().unwrap());
            }
            Value::Number(n) => {
                assert_eq!(u64::from(r.status), n.as_u64().unwrap(), "{c}");
                assert!(r.error.is_some());
            }
            Value::String(s) if s == "reject" => {
                assert_ne!(r.status, 200);
                assert_eq!(r.error.as_ref().unwrap().code(), "bmp.confirm.mismatch");
                assert_eq!(r.difference.as_deref(), c["first_difference"].as_str());
                assert!(selo::http::header_value(&r.headers, "hmac").is_none());
            }
            other => panic!("unknown status {other}"),
        }
    }
}
