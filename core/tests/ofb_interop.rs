//! OFB JWS against independent implementations, both directions: PyJWT,
//! jwcrypto and `cryptography` (tests/interop/ofb_pyjwt.py), npm `jose` and
//! Node's `crypto` (tests/interop/ofb_jose.mjs). Needs `scripts/setup`
//! (or `SELO_PYTHON` pointing at a Python with those packages).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::providers;
use selo::encoding::b64_decode;
use selo::keys::RsaPrivateKey;
use selo::keys::jwk::{Jwk, JwkSet};
use selo::ofb::{self, Code, Expected, OfbProfile, SignParams};
use serde_json::{Value, json};

const AUD: &str = "https://api.banco.example/open-banking/payments/v1/consents";
const ISS: &str = "5647fe90-f6bc-11eb-9a03-0242ac130003";
const KID: &str = "selo-test-1";

/// PyJWT and jose check `iat` against the real clock, so these tests use it.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn pem(name: &str) -> String {
    std::fs::read_to_string(
        common::root()
            .join("tests/vectors/external/keys")
            .join(name),
    )
    .unwrap()
}

fn signer() -> RsaPrivateKey {
    RsaPrivateKey::import(pem("rsa2048-ofb.pem").as_bytes()).unwrap()
}

fn public_jwk(key: &RsaPrivateKey) -> Value {
    Jwk::from_public(&key.public_key())
        .with_kid(KID)
        .with_alg("PS256")
        .with_use("sig")
        .to_value()
        .unwrap()
}

fn jwks() -> JwkSet {
    JwkSet::from_value(&json!({ "keys": [public_jwk(&signer())] })).unwrap()
}

fn their_verify(token: &str, jwk: &Value, now: u64) -> Vec<(String, Value)> {
    let req =
        json!({"op": "verify", "token": token, "jwk": jwk, "aud": AUD, "iss": ISS, "now": now});
    let py = common::python("ofb_pyjwt.py", &req);
    let js = common::node("ofb_jose.mjs", &req);
    vec![
        ("pyjwt".into(), py["pyjwt"].clone()),
        ("jwcrypto".into(), py["jwcrypto"].clone()),
        ("jose".into(), js),
    ]
}

#[test]
fn our_tokens_verify_with_pyjwt_jwcrypto_and_jose() {
    let key = signer();
    let t = now();
    let payload =
        json!({"data": {"payment": {"amount": "100000.12", "currency": "BRL"}}, "meta": {"n": 1}});
    for p in providers() {
        let s = ofb::sign_with_provider(
            p,
            &key,
            &payload,
            &SignParams::new(KID, AUD, ISS),
            &OfbProfile::default(),
            t,
            &mut selo::rng::system(),
        )
        .unwrap();
        for (who, r) in their_verify(&s.token, &public_jwk(&key), t) {
            assert_eq!(r["ok"], true, "[{}] {who}: {r}", p.name());
            assert_eq!(r["claims"]["jti"], s.jti.as_str(), "{who}");
            assert_eq!(r["claims"]["iat"], json!(t), "{who}");
            assert_eq!(r["claims"]["data"], payload["data"], "{who}");
            assert_eq!(r["header"]["alg"], "PS256", "{who}");
            assert_eq!(r["header"]["kid"], KID, "{who}");
            assert_eq!(r["header"]["typ"], "JWT", "{who}");
        }
    }
}

#[test]
fn their_verifiers_can_fail() {
    // The scripts' verify is real: a token by another key is refused by all.
    let t = now();
    let other = RsaPrivateKey::import(pem("rsa2048-ofb-other.pem").as_bytes()).unwrap();
    let s = ofb::sign(
        &other,
        &json!({"data": {}}),
        &SignParams::new(KID, AUD, ISS),
        &OfbProfile::default(),
        t,
        &mut selo::rng::system(),
    )
    .unwrap();
    for (who, r) in their_verify(&s.token, &public_jwk(&signer()), t) {
        assert_eq!(r["ok"], false, "{who}: {r}");
    }
}

#[test]
fn their_tokens_verify_with_ours() {
    let t = now();
    let claims = json!({
        "aud": AUD, "iss": ISS, "jti": "7960577c-662c-456e-8cf5-e630828af635", "iat": t,
        "data": {"consentId": "urn:bancoex:C1DD33123"}
    });
    let req =
        json!({"op": "sign", "private_pem": pem("rsa2048-ofb.pem"), "kid": KID, "claims": claims});
    let py = common::python("ofb_pyjwt.py", &req);
    let js = common::node("ofb_jose.mjs", &req);
    let tokens = [
        ("pyjwt", py["pyjwt"].as_str().unwrap().to_string()),
        ("jwcrypto", py["jwcrypto"].as_str().unwrap().to_string()),
        ("jose", js["token"].as_str().unwrap().to_string()),
    ];
    for (who, token) in &tokens {
        for p in providers() {
            let v = ofb::verify_with_provider(
                p,
                token,
                &jwks(),
                &Expected::new(AUD, ISS),
                &OfbProfile::default(),
                t,
            )
            .unwrap_or_else(|e| panic!("[{}] {who}: {e}", p.name()));
            assert_eq!(v.payload["data"], claims["data"], "{who}");
            assert_eq!(v.claims.iat, t);
        }
        // And our checks still bite on their tokens.
        let e = ofb::verify(
            token,
            &jwks(),
            &Expected::new(AUD, "someone-else"),
            &OfbProfile::default(),
            t,
        )
        .unwrap_err();
        assert_eq!(e.kind(), Code::Iss, "{who}");
        let e = ofb::verify(
            token,
            &jwks(),
            &Expected::new(AUD, ISS),
            &OfbProfile::default(),
            t + 61,
        )
        .unwrap_err();
        assert_eq!(e.kind(), Code::IatTooOld, "{who}");
    }
}

#[test]
fn two_phase_signing_with_node_crypto_and_python_cryptography() {
    let key = signer();
    let t = now();
    for (who, script) in [("node", "ofb_jose.mjs"), ("python", "ofb_pyjwt.py")] {
        let prepared = ofb::prepare(
            &json!({"data": {"who": who}}),
            &SignParams::new(KID, AUD, ISS),
            &OfbProfile::default(),
            t,
            &mut selo::rng::system(),
        )
        .unwrap();
        let input = std::str::from_utf8(prepared.signing_input()).unwrap();
        let req =
            json!({"op": "sign_input", "private_pem": pem("rsa2048-ofb.pem"), "input": input});
        let r = if script.ends_with(".py") {
            common::python(script, &req)
        } else {
            common::node(script, &req)
        };
        let sig = b64_decode(r["signature_b64url"].as_str().unwrap()).unwrap();
        for p in providers() {
            let signed =
                ofb::finish_with_provider(p, prepared.clone(), &sig, &key.public_key()).unwrap();
            ofb::verify_with_provider(
                p,
                &signed.token,
                &jwks(),
                &Expected::new(AUD, ISS),
                &OfbProfile::default(),
                t,
            )
            .unwrap_or_else(|e| panic!("{who} via {}: {e}", p.name()));
        }
    }
}

#[test]
fn thumbprints_and_jwk_exports_match() {
    for name in ["rsa2048-ofb.pem", "rsa2048-ofb-other.pem"] {
        let key = RsaPrivateKey::import(pem(name).as_bytes()).unwrap();
        let ours = Jwk::from_private(&key);
        let public = Jwk::from_public(&key.public_key()).to_value().unwrap();
        let py = common::python("ofb_pyjwt.py", &json!({"op": "thumbprint", "jwk": public}));
        let js = common::node("ofb_jose.mjs", &json!({"op": "thumbprint", "jwk": public}));
        let tp = ours.thumbprint().unwrap();
        assert_eq!(py["thumbprint"], tp.as_str(), "{name} jwcrypto");
        assert_eq!(js["thumbprint"], tp.as_str(), "{name} jose");

        // Private JWK members equal those jwcrypto and jose export from the PEM.
        let mine = ours.to_value().unwrap();
        let py = common::python(
            "ofb_pyjwt.py",
            &json!({"op": "jwk_from_pem", "pem": pem(name)}),
        );
        let js = common::node(
            "ofb_jose.mjs",
            &json!({"op": "jwk_from_pem", "pem": pem(name)}),
        );
        for (who, theirs) in [("jwcrypto", &py["jwk"]), ("jose", &js["jwk"])] {
            for m in ["kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"] {
                assert_eq!(mine[m], theirs[m], "{name} {who} member {m}");
            }
            // Their JWK imports into ours and signs tokens they accept.
            let imported = Jwk::from_value(theirs).unwrap();
            let k = imported.rsa_private_key().unwrap();
            assert_eq!(k.public_key(), key.public_key());
        }
    }
}

#[test]
fn a_key_from_their_jwk_signs_tokens_they_verify() {
    let js = common::node(
        "ofb_jose.mjs",
        &json!({"op": "jwk_from_pem", "pem": pem("rsa2048-ofb.pem")}),
    );
    let jwk = Jwk::from_value(&js["jwk"]).unwrap();
    let key = jwk.rsa_private_key().unwrap();
    let t = now();
    let s = ofb::sign(
        key,
        &json!({"data": {}}),
        &SignParams::new(KID, AUD, ISS),
        &OfbProfile::default(),
        t,
        &mut selo::rng::system(),
    )
    .unwrap();
    let public = jwk.to_public().with_kid(KID).to_value().unwrap();
    for (who, r) in their_verify(&s.token, &public, t) {
        assert_eq!(r["ok"], true, "{who}: {r}");
    }
}

#[test]
fn committed_sign_vectors_verify_with_jwcrypto_and_jose() {
    let v = common::vector_json("ofb/sign.json");
    let jwk = public_jwk(&signer());
    for case in v["cases"].as_array().unwrap() {
        let token = case["token"].as_str().unwrap();
        let now = case["now"].as_u64().unwrap();
        let r = their_verify(token, &jwk, now);
        // PyJWT checks iat/exp against the real clock: only its neighbours
        // take `now` into account (jwcrypto checks no claims; jose takes
        // currentDate).
        let iat_string = case["profile"]["iat_format"] == "string";
        for (who, r) in r.into_iter().filter(|(w, _)| w != "pyjwt") {
            if iat_string && who == "jose" {
                // A documented hazard of the "string" iat profile: standard
                // JWT libraries refuse a non-numeric iat.
                assert_eq!(r["ok"], false, "{r}");
                assert!(r["error"].as_str().unwrap().contains("iat"), "{r}");
                continue;
            }
            assert_eq!(r["ok"], true, "{who} {}: {r}", case["name"]);
            assert_eq!(r["claims"]["jti"], case["jti"], "{who}");
        }
    }
}
