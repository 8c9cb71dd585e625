#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! OFB server role against hostile input, and the one-pass two-phase check
//! the hosts use with their own replay stores (issue 20): every hostile
//! body is refused with a stable code (never a crash, never a deep
//! recursion), the replay contract (store key, TTL, answers) is the core's.

mod common;

use selo::encoding::b64url;
use selo::keys::RsaPrivateKey;
use selo::keys::jwk::{Jwk, JwkSet};
use selo::ofb::server::{self, REPLAY_KEY_PREFIX, RequestExpectations};
use selo::ofb::{self, OfbProfile, SignParams};
use serde_json::json;

const AUD: &str = "https://api.banco.example/open-banking/consents/v1/consents";
const ISS: &str = "org-client";
const NOW: u64 = 1_790_000_000;

fn key() -> RsaPrivateKey {
    RsaPrivateKey::import(common::vector_text("external/keys/rsa2048-ofb.pem").as_bytes()).unwrap()
}

fn jwks() -> JwkSet {
    JwkSet::new(vec![Jwk::from_public(&key().public_key()).with_kid("k1")])
}

fn expectations(client: &str) -> RequestExpectations {
    RequestExpectations {
        aud: AUD.into(),
        iss: ISS.into(),
        client_id: client.into(),
    }
}

/// A signed request and its jti.
fn signed(seed: u8) -> (String, String) {
    let s = ofb::sign(
        &key(),
        &json!({"data": {"x": 1}}),
        &SignParams::new("k1", AUD, ISS),
        &OfbProfile::default(),
        NOW,
        &mut selo::rng::seeded([seed; 32]),
    )
    .unwrap();
    (s.token, s.jti)
}

fn check(body: &[u8]) -> Result<server::PendingRequest, server::Rejection> {
    server::check_request(
        "POST",
        Some("application/jwt"),
        body,
        NOW,
        &jwks(),
        &expectations("client-1"),
        &OfbProfile::default(),
    )
}

#[test]
fn hostile_headers_are_refused_with_stable_codes_quickly() {
    let started = std::time::Instant::now();
    // 700 000 nested arrays: serde's depth limit stops the parse, no stack overflow.
    let deep = format!("{}.e30.AA", b64url("[".repeat(700_000).as_bytes()));
    // A header of 10 001 members (the strict parser's bound is 10 000).
    let wide: serde_json::Map<String, serde_json::Value> =
        (0..10_001).map(|i| (format!("m{i}"), json!(i))).collect();
    let wide = format!(
        "{}.e30.AA",
        b64url(serde_json::Value::Object(wide).to_string().as_bytes())
    );
    // Just under 1 MiB of nested objects in the payload.
    let nested = format!(
        "{}.{}.AA",
        b64url(br#"{"alg":"PS256","kid":"k1","typ":"JWT"}"#),
        b64url(format!("{}1{}", "{\"a\":".repeat(130_000), "}".repeat(130_000)).as_bytes())
    );
    for (what, token, want, kid) in [
        ("700 000-deep header", &deep, "ofb.verify.malformed", None),
        ("10 001-member header", &wide, "ofb.verify.malformed", None),
        (
            "nested objects",
            &nested,
            "ofb.verify.malformed",
            Some("k1"),
        ),
    ] {
        let rej = check(token.as_bytes()).unwrap_err();
        assert_eq!(rej.error.code(), want, "{what}: {}", rej.error);
        assert_eq!(rej.response.status, 400, "{what}");
        // The cache's kid reader reads only the header, as strictly.
        assert_eq!(ofb::header_kid(token).as_deref(), kid, "{what}");
    }
    // Over the body limit: 413 before anything is parsed.
    let big = vec![b'A'; OfbProfile::default().max_body_bytes + 1];
    assert_eq!(check(&big).unwrap_err().response.status, 413);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    // And the next valid request passes.
    assert!(check(signed(4).0.as_bytes()).is_ok());
}

#[test]
fn two_phase_check_then_the_stores_answer() {
    let (token, jti) = signed(5);
    let pending = check(token.as_bytes()).unwrap();
    // The contract: length-prefixed client id, lower-case jti, TTL = the
    // token's remaining acceptance window (iat + 60 + 60 + 1 - now).
    assert_eq!(pending.replay.jti, jti);
    assert_eq!(
        pending.replay.store_key(REPLAY_KEY_PREFIX),
        format!("selo:ofb:jti:8:client-1:{jti}")
    );
    assert_eq!(ofb::normalise_jti(&jti.to_ascii_uppercase()), jti);
    assert_eq!(pending.replay.ttl_seconds(NOW), 121);
    assert_eq!(pending.replay.ttl_seconds(NOW + 120), 1);
    assert_eq!(
        pending.replay.ttl_seconds(NOW + 10_000),
        1,
        "never 0 (EX 0 is an error)"
    );
    // ("a:b", "c") and ("a", "b:c") never share a key.
    let mut a = pending.replay.clone();
    a.client_id = "a:b".into();
    a.jti = "c".into();
    let mut b = a.clone();
    b.client_id = "a".into();
    b.jti = "b:c".into();
    assert_ne!(a.store_key("p"), b.store_key("p"));
    // Answers: fresh passes; replayed is 403; anything else 503.
    assert!(server::finish_request(pending.clone(), Some("fresh")).is_ok());
    let r = server::finish_request(pending.clone(), Some("replayed")).unwrap_err();
    assert_eq!((r.error.code(), r.response.status), ("ofb.replay.jti", 403));
    for other in [
        None,
        Some("OK"),
        Some("true"),
        Some("redis://10.0.0.5:6379 down"),
    ] {
        let r = server::finish_request(pending.clone(), other).unwrap_err();
        assert_eq!(
            (r.error.code(), r.response.status),
            ("ofb.replay.store_failed", 503),
            "{other:?}"
        );
        let body = String::from_utf8(r.response.body).unwrap();
        assert!(!body.contains("10.0.0.5"), "{body}");
    }
}

#[test]
fn the_413_and_jwks_unavailable_bodies_come_from_the_core() {
    let r = server::body_too_large_response(1_048_576);
    assert_eq!(r.status, 413);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["errors"][0]["code"], "PAYLOAD_TOO_LARGE");
    assert!(
        v["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("http.body_too_large")
    );
    let e = ofb::Error::new(ofb::Code::JwksUnavailable, "no set");
    let r = server::error_response(&e);
    assert_eq!(r.status, 503);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["errors"][0]["code"], "JWKS_UNAVAILABLE");
    let c = selo::bmp::ConfirmResponse::internal();
    assert_eq!(c.status, 500);
    assert!(
        String::from_utf8(c.body)
            .unwrap()
            .contains("bmp.confirm.internal")
    );
}
