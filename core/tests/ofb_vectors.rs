//! The independent OFB vectors (`tests/vectors/external/ofb/jws.json`):
//! every case must stop exactly where `expect` says, over every provider.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::providers;
use selo::keys::jwk::JwkSet;
use selo::ofb::{self, Code, Expected, OfbProfile};
use serde_json::Value;

/// The codes a vector's `expect` word may map to.
fn codes_for(expect: &str, name: &str) -> Vec<Code> {
    match expect {
        "alg" => vec![Code::AlgNotAllowed],
        "typ" => vec![Code::Typ],
        "kid" if name.contains("missing") => vec![Code::KidMissing],
        "kid" => vec![Code::KidNotFound],
        "signature" => vec![Code::BadSignature],
        "aud" => vec![Code::Aud],
        "iss" => vec![Code::Iss],
        "iat" if name.contains("future") => vec![Code::IatInFuture],
        "iat" if name.contains("old") => vec![Code::IatTooOld],
        "jti" => vec![Code::Jti],
        other => panic!("vector expect {other:?} ({name}) has no mapping"),
    }
}

struct Fixture {
    v: Value,
    jwks: JwkSet,
    ambiguous: JwkSet,
    expected: Expected,
    profile: OfbProfile,
    now: u64,
}

fn fixture() -> Fixture {
    let v = common::vector_json("external/ofb/jws.json");
    let jwks = JwkSet::from_value(&v["jwks"]).unwrap();
    let ambiguous = JwkSet::from_value(&v["jwks_ambiguous"]).unwrap();
    let expected = Expected::new(
        v["expected_aud"].as_str().unwrap(),
        v["expected_iss"].as_str().unwrap(),
    );
    let profile = OfbProfile {
        iat_future_skew: v["iat_future_skew"].as_u64().unwrap(),
        iat_max_age: v["iat_max_age"].as_u64().unwrap(),
        ..OfbProfile::default()
    };
    let now = v["now"].as_u64().unwrap();
    Fixture {
        v,
        jwks,
        ambiguous,
        expected,
        profile,
        now,
    }
}

#[test]
fn every_external_case_stops_where_expected() {
    let f = fixture();
    let cases = f.v["cases"].as_array().unwrap();
    assert!(cases.len() >= 16, "vector file shrank: {}", cases.len());
    let mut oks = 0;
    for p in providers() {
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let token = case["token"].as_str().unwrap();
            let expect = case["expect"].as_str().unwrap();
            let r = ofb::verify_with_provider(p, token, &f.jwks, &f.expected, &f.profile, f.now);
            if expect == "ok" {
                let v = r.unwrap_or_else(|e| panic!("[{}] {name}: expected ok, got {e}", p.name()));
                assert_eq!(v.claims.iss, f.expected.iss);
                assert!(v.claims.aud.contains(&f.expected.aud));
                assert_eq!(v.kid, "selo-test-1");
                assert!(v.payload.contains_key("data"), "{name}: payload kept");
                oks += 1;
            } else {
                let e = match r {
                    Ok(_) => panic!("[{}] {name}: expected {expect}, verified", p.name()),
                    Err(e) => e,
                };
                let allowed = codes_for(expect, name);
                assert!(
                    allowed.contains(&e.kind()),
                    "[{}] {name}: expected {allowed:?}, got {e}",
                    p.name()
                );
                assert!(
                    e.message().starts_with("stage "),
                    "{name}: message names the stage: {e}"
                );
            }
        }
    }
    assert_eq!(oks, 4 * providers().len());
}

#[test]
fn valid_token_with_the_ambiguous_jwks_is_kid_ambiguous() {
    let f = fixture();
    let token = f.v["cases"][0]["token"].as_str().unwrap();
    assert_eq!(f.v["cases"][0]["expect"], "ok");
    for p in providers() {
        let e = ofb::verify_with_provider(p, token, &f.ambiguous, &f.expected, &f.profile, f.now)
            .unwrap_err();
        assert_eq!(e.kind(), Code::KidAmbiguous, "{e}");
        // The message lists the candidates considered.
        assert_eq!(
            e.message().matches("\"selo-test-1\": matches").count(),
            2,
            "{e}"
        );
    }
}

#[test]
fn typ_missing_case_passes_with_the_response_profile() {
    let f = fixture();
    let case = f.v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["expect"] == "typ")
        .unwrap();
    let profile = OfbProfile {
        typ: ofb::TypRule::AbsentOrJwt,
        ..f.profile.clone()
    };
    ofb::verify(
        case["token"].as_str().unwrap(),
        &f.jwks,
        &f.expected,
        &profile,
        f.now,
    )
    .unwrap();
}

#[test]
fn vector_keys_are_the_published_fixture_keys() {
    // The JWKS in the vectors is the public half of the fixture PEMs, so our
    // signing tests with those PEMs exercise the same keys.
    let f = fixture();
    let pem =
        std::fs::read(common::root().join("tests/vectors/external/keys/rsa2048-ofb.pem")).unwrap();
    let key = selo::keys::RsaPrivateKey::import(&pem).unwrap();
    let jwk = f.jwks.find_kid("selo-test-1").next().unwrap();
    assert_eq!(jwk.rsa_public_key().unwrap(), key.public_key());
}
