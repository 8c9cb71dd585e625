//! selo's own BMP vectors: regenerating them (the example
//! `vectors_bmp`) must yield the committed bytes, and their contents must
//! hold up under the verifying functions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::indexing_slicing
)]

mod common;

#[path = "../examples/vectors_bmp.rs"]
mod generator;

use selo::bmp::{self, BmpProfile, HmacKey};

#[test]
fn regenerating_yields_the_same_bytes() {
    for (name, contents) in generator::generate() {
        let committed = common::vector_text(&format!("bmp/{name}"));
        assert!(
            committed == contents,
            "tests/vectors/bmp/{name} is stale: run `cargo run -p selo --example vectors_bmp`"
        );
    }
}

#[test]
fn signature_vectors_verify() {
    let v = common::vector_json("bmp/signatures.json");
    let key = HmacKey::new(v["key"].as_str().unwrap(), &BmpProfile::default()).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    let accept64 = BmpProfile {
        accept_base64: true,
        ..Default::default()
    };
    let mut keys = std::collections::HashSet::new();
    for c in cases {
        let body = c["body"]
            .as_str()
            .expect("every typed case signs")
            .as_bytes();
        for h in ["hmac_hex", "hmac_upper_hex", "hmac_base64"] {
            bmp::verify(&key, body, c[h].as_str().unwrap(), &accept64).unwrap();
        }
        let id = c["idempotency_key"].as_str().unwrap();
        assert!(selo::encoding::is_uuid_v4(id));
        assert!(keys.insert(id.to_string()), "idempotency keys are unique");
        assert!(bmp::is_protected_endpoint(c["endpoint"].as_str().unwrap()));
        let tree = bmp::json::parse(body).unwrap();
        assert_eq!(tree.get("idempotencyKey").unwrap().as_str(), Some(id));
    }
}

#[test]
fn confirm_vectors_are_consistent() {
    let v = common::vector_json("bmp/confirm.json");
    assert_eq!(v["bmp_step4"], "accepted");
    let statuses: Vec<u64> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 200, 409, 409]);
    assert_eq!(v["cases"][3]["first_difference"], "detalhes.valor");
    assert_eq!(v["cases"][4]["first_difference"], "detalhes.chavePix");
}
