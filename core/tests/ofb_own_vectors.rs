//! selo's own OFB vectors (`tests/vectors/ofb/`): regenerating them gives
//! the committed bytes, and every case holds over every provider.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

#[allow(dead_code)]
#[path = "../examples/vectors_ofb.rs"]
mod generator;

use common::providers;
use selo::keys::RsaPrivateKey;
use selo::keys::jwk::{Jwk, JwkSet};
use selo::ofb::server::{self, RequestExpectations};
use selo::ofb::{self, Expected, MemoryJtiCache, OfbProfile};
use serde_json::Value;

#[test]
fn regenerating_gives_the_committed_files() {
    let root = common::root();
    for (rel, text) in generator::generate(&root).unwrap() {
        let committed = std::fs::read_to_string(root.join(&rel))
            .unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
        assert!(
            committed == text,
            "{} is stale: run `cargo run -p selo --example vectors_ofb`",
            rel.display()
        );
    }
}

fn profile_with(overrides: &Value) -> OfbProfile {
    let mut base = serde_json::to_value(OfbProfile::default()).unwrap();
    for (k, v) in overrides.as_object().unwrap() {
        base[k] = v.clone();
    }
    OfbProfile::from_json(&base.to_string()).unwrap()
}

#[test]
fn verify_vectors_stop_where_declared() {
    let v = common::vector_json("ofb/verify.json");
    let jwks = JwkSet::from_value(&v["jwks"]).unwrap();
    let now = v["now"].as_u64().unwrap();
    let expected = Expected::new(
        v["expected_aud"].as_str().unwrap(),
        v["expected_iss"].as_str().unwrap(),
    );
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 40);
    let mut seen = std::collections::HashSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let token = case["token"].as_str().unwrap();
        let expect = case["expect"].as_str().unwrap();
        let profile = profile_with(&case["profile"]);
        seen.insert(expect);
        for p in providers() {
            let r = ofb::verify_with_provider(p, token, &jwks, &expected, &profile, now);
            match (expect, r) {
                ("ok", Ok(_)) => {}
                ("ok", Err(e)) => panic!("[{}] {name}: expected ok, got {e}", p.name()),
                (_, Ok(_)) => panic!("[{}] {name}: expected {expect}, verified", p.name()),
                (_, Err(e)) => assert_eq!(e.code(), expect, "[{}] {name}: {e}", p.name()),
            }
        }
        // The server role answers with the code's status and body code.
        let mut cache = MemoryJtiCache::default();
        let req = RequestExpectations {
            aud: expected.aud.clone(),
            iss: expected.iss.clone(),
            client_id: "c".into(),
        };
        let r = server::verify_request(
            "POST",
            Some("application/jwt"),
            token.as_bytes(),
            now,
            &jwks,
            &req,
            &profile,
            &mut cache,
        );
        // A profile whose acceptance window exceeds the replay TTL (the
        // conformance suite's −1 day / +5 min) cannot protect against
        // replay: the server role refuses to run with it (issue 12).
        if profile.validate().is_err() {
            let rej = r.unwrap_err();
            assert_eq!(rej.error.code(), "ofb.profile.invalid", "{name}");
            assert_eq!(rej.response.status, 500, "{name}");
            continue;
        }
        match r {
            Ok(_) => assert_eq!(expect, "ok", "{name}"),
            Err(rej) => {
                assert_eq!(rej.error.code(), expect, "{name}");
                assert_eq!(Some(rej.response.status), rej.error.http_status(), "{name}");
                let body: Value = serde_json::from_slice(&rej.response.body).unwrap();
                assert_eq!(
                    body["errors"][0]["code"],
                    server::response_code(rej.error.kind()),
                    "{name}"
                );
            }
        }
    }
    // The vectors cover every verification code.
    for c in ofb::Code::ALL {
        if matches!(c.stage(), Some(1..=6)) {
            assert!(seen.contains(c.as_str()), "no vector for {c}");
        }
    }
}

#[test]
fn sign_vectors_verify_and_carry_their_inputs() {
    let v = common::vector_json("ofb/sign.json");
    let key = RsaPrivateKey::import(
        &std::fs::read(
            common::root()
                .join("tests/vectors")
                .join(v["key"].as_str().unwrap()),
        )
        .unwrap(),
    )
    .unwrap();
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let token = case["token"].as_str().unwrap();
        let input = case["signing_input"].as_str().unwrap();
        assert!(token.starts_with(&format!("{input}.")), "{name}");
        let params = &case["params"];
        let jwks = JwkSet::new(vec![
            Jwk::from_public(&key.public_key()).with_kid(params["kid"].as_str().unwrap()),
        ]);
        let profile: OfbProfile = serde_json::from_value(case["profile"].clone()).unwrap();
        let now = case["now"].as_u64().unwrap();
        for p in providers() {
            let ver = ofb::verify_with_provider(
                p,
                token,
                &jwks,
                &Expected::new(
                    params["aud"].as_str().unwrap(),
                    params["iss"].as_str().unwrap(),
                ),
                &profile,
                now,
            )
            .unwrap_or_else(|e| panic!("[{}] {name}: {e}", p.name()));
            assert_eq!(ver.claims.jti, case["jti"].as_str().unwrap());
            assert_eq!(ver.claims.iat, now);
            assert_eq!(ver.claims.exp, params["exp"].as_u64());
            for (k, val) in case["payload"].as_object().unwrap() {
                assert_eq!(&ver.payload[k], val, "{name}: member {k}");
            }
        }
    }
}

#[test]
fn jwk_vectors_match_the_pem_keys() {
    let v = common::vector_json("ofb/jwk.json");
    for case in v["cases"].as_array().unwrap() {
        let pem = std::fs::read(
            common::root()
                .join("tests/vectors")
                .join(case["pem"].as_str().unwrap()),
        )
        .unwrap();
        let key = RsaPrivateKey::import(&pem).unwrap();
        let private = Jwk::from_value(&case["private_jwk"]).unwrap();
        assert_eq!(
            private.rsa_private_key().unwrap().to_pkcs1_der().unwrap(),
            key.to_pkcs1_der().unwrap()
        );
        let public = Jwk::from_value(&case["public_jwk"]).unwrap();
        assert!(!public.is_private());
        assert!(case["public_jwk"].get("d").is_none());
        assert_eq!(public.rsa_public_key().unwrap(), key.public_key());
        assert_eq!(
            public.thumbprint().unwrap(),
            case["thumbprint"].as_str().unwrap()
        );
    }
}
