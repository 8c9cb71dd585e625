//! Golden tests for FAPI-Brazil conditions, JWKS selection, malformed
//! input, two-phase signing and the server role, over every provider.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::type_complexity
)]

mod common;

use common::providers;
use selo::crypto::{RsaProvider, RustCryptoProvider, SignatureScheme};
use selo::encoding::{b64url, is_uuid_v4};
use selo::keys::jwk::{Jwk, JwkSet};
use selo::keys::{RsaPrivateKey, RsaPublicKey};
use selo::ofb::server::{self, RequestExpectations};
use selo::ofb::{
    self, Code, Expected, IatFormat, JtiFormat, JtiStatus, MemoryJtiCache, OfbProfile, SignParams,
    TypRule,
};
use serde_json::{Value, json};

const AUD: &str = "https://api.banco.example/open-banking/payments/v1/consents";
const ISS: &str = "5647fe90-f6bc-11eb-9a03-0242ac130003";
const NOW: u64 = 1_790_000_000;
const KID: &str = "selo-test-1";
const JTI: &str = "7960577c-662c-456e-8cf5-e630828af635";

fn key(name: &str) -> RsaPrivateKey {
    let pem = std::fs::read(
        common::root()
            .join("tests/vectors/external/keys")
            .join(name),
    )
    .unwrap();
    RsaPrivateKey::import(&pem).unwrap()
}

fn signer() -> RsaPrivateKey {
    key("rsa2048-ofb.pem")
}

fn other() -> RsaPrivateKey {
    key("rsa2048-ofb-other.pem")
}

fn jwks() -> JwkSet {
    JwkSet::new(vec![
        Jwk::from_public(&signer().public_key())
            .with_kid(KID)
            .with_alg("PS256")
            .with_use("sig"),
        Jwk::from_public(&other().public_key()).with_kid("selo-test-2"),
    ])
}

fn expected() -> Expected {
    Expected::new(AUD, ISS)
}

fn claims(extra: Value) -> Value {
    let mut base = json!({"aud": AUD, "iss": ISS, "jti": JTI, "iat": NOW, "data": {"x": 1}});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

/// A token with exactly these header and payload bytes, PS256-signed.
fn craft(header: &str, payload: &str, key: &RsaPrivateKey) -> String {
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(payload.as_bytes())
    );
    let mut rng = selo::rng::seeded([1; 32]);
    let sig = RustCryptoProvider
        .sign(key, SignatureScheme::PssSha256, input.as_bytes(), &mut rng)
        .unwrap();
    format!("{input}.{}", b64url(&sig))
}

fn std_header() -> String {
    format!(r#"{{"alg":"PS256","kid":"{KID}","typ":"JWT"}}"#)
}

fn craft_claims(extra: Value) -> String {
    craft(&std_header(), &claims(extra).to_string(), &signer())
}

fn verify(token: &str, profile: &OfbProfile) -> Result<ofb::Verified, ofb::Error> {
    let mut last = None;
    for p in providers() {
        let r = ofb::verify_with_provider(p, token, &jwks(), &expected(), profile, NOW);
        if let Some(prev) = &last {
            assert_eq!(
                format!("{prev:?}"),
                format!("{r:?}"),
                "providers disagree on {token}"
            );
        }
        last = Some(r);
    }
    last.unwrap()
}

fn code_of(token: &str, profile: &OfbProfile) -> Code {
    match verify(token, profile) {
        Ok(_) => panic!("expected an error for {token}"),
        Err(e) => {
            assert!(e.message().starts_with("stage "), "{e}");
            e.kind()
        }
    }
}

fn dp() -> OfbProfile {
    OfbProfile::default()
}

fn part_json(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&selo::encoding::b64_decode(part).unwrap()).unwrap()
}

// ---------------------------------------------------------------- signing

#[test]
fn sign_verify_across_providers_with_exact_header_and_claim_order() {
    let key = signer();
    let payload = json!({"data": {"consentId": "urn:x:1"}, "links": {"self": "https://x"}, "meta": {"totalRecords": 1}});
    for signer_p in providers() {
        let mut rng = selo::rng::system();
        let s = ofb::sign_with_provider(
            signer_p,
            &key,
            &payload,
            &SignParams::new(KID, AUD, ISS),
            &dp(),
            NOW,
            &mut rng,
        )
        .unwrap();
        let header_b64 = s.token.split('.').next().unwrap();
        assert_eq!(
            selo::encoding::b64_decode(header_b64).unwrap(),
            format!(r#"{{"alg":"PS256","kid":"{KID}","typ":"JWT"}}"#).as_bytes()
        );
        let body = part_json(&s.token, 1);
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["aud", "iss", "jti", "iat", "data", "links", "meta"]);
        assert!(is_uuid_v4(body["jti"].as_str().unwrap()));
        assert_eq!(body["jti"], s.jti.as_str());
        assert_eq!(body["iat"], json!(NOW));
        for verifier_p in providers() {
            let v =
                ofb::verify_with_provider(verifier_p, &s.token, &jwks(), &expected(), &dp(), NOW)
                    .unwrap_or_else(|e| {
                        panic!("{} -> {}: {e}", signer_p.name(), verifier_p.name())
                    });
            assert_eq!(v.claims.jti, s.jti);
            assert_eq!(v.payload["data"], payload["data"]);
        }
    }
}

#[test]
fn iat_string_profile_and_exp_are_written_and_accepted() {
    let profile = OfbProfile {
        iat_format: IatFormat::String,
        ..dp()
    };
    let mut params = SignParams::new(KID, AUD, ISS);
    params.exp = Some(NOW + 300);
    let s = ofb::sign(
        &signer(),
        &json!({"data": {}}),
        &params,
        &profile,
        NOW,
        &mut selo::rng::system(),
    )
    .unwrap();
    let body = part_json(&s.token, 1);
    assert_eq!(body["iat"], json!(NOW.to_string()));
    assert_eq!(body["exp"], json!(NOW + 300));
    let v = verify(&s.token, &dp()).unwrap();
    assert_eq!(v.claims.iat, NOW);
    assert_eq!(v.claims.exp, Some(NOW + 300));
}

#[test]
fn signing_refuses_bad_inputs() {
    let mut rng = selo::rng::seeded([2; 32]);
    let p = SignParams::new(KID, AUD, ISS);
    let e = ofb::sign(&signer(), &json!([1]), &p, &dp(), NOW, &mut rng).unwrap_err();
    assert_eq!(e.kind(), Code::PayloadNotObject);
    for claim in ["aud", "iss", "jti", "iat", "exp", "nbf"] {
        let e = ofb::sign(&signer(), &json!({ claim: 1 }), &p, &dp(), NOW, &mut rng).unwrap_err();
        assert_eq!(e.kind(), Code::ReservedClaim, "{claim}");
        assert!(e.message().contains(claim));
    }
    let e = ofb::sign(
        &signer(),
        &json!({}),
        &SignParams::new("", AUD, ISS),
        &dp(),
        NOW,
        &mut rng,
    )
    .unwrap_err();
    assert_eq!(e.kind(), Code::SignKid);
    let small = key("rsa1024-client.pem");
    let e = ofb::sign(&small, &json!({}), &p, &dp(), NOW, &mut rng).unwrap_err();
    assert_eq!(e.kind(), Code::KeySize);
}

#[test]
fn two_phase_signing_with_an_external_signer() {
    let key = signer();
    let mut rng = selo::rng::seeded([3; 32]);
    let prepared = ofb::prepare(
        &json!({"data": {"a": 1}}),
        &SignParams::new(KID, AUD, ISS),
        &dp(),
        NOW,
        &mut rng,
    )
    .unwrap();
    // Same seed, same prepared bytes (jti comes from the RNG).
    let again = ofb::prepare(
        &json!({"data": {"a": 1}}),
        &SignParams::new(KID, AUD, ISS),
        &dp(),
        NOW,
        &mut selo::rng::seeded([3; 32]),
    )
    .unwrap();
    assert_eq!(prepared, again);
    assert!(is_uuid_v4(prepared.jti()));
    assert_eq!(prepared.kid(), KID);
    assert_eq!(prepared.iat(), NOW);

    for p in providers() {
        // The "HSM": any PS256 signer over the prepared bytes.
        let sig = p
            .sign(
                &key,
                SignatureScheme::PssSha256,
                prepared.signing_input(),
                &mut rng,
            )
            .unwrap();
        let signed =
            ofb::finish_with_provider(p, prepared.clone(), &sig, &key.public_key()).unwrap();
        assert_eq!(signed.jti, prepared.jti());
        verify(&signed.token, &dp()).unwrap();

        // Wrong key, flipped bit, PKCS#1 v1.5 instead of PSS: refused.
        let wrong = p
            .sign(
                &other(),
                SignatureScheme::PssSha256,
                prepared.signing_input(),
                &mut rng,
            )
            .unwrap();
        let e =
            ofb::finish_with_provider(p, prepared.clone(), &wrong, &key.public_key()).unwrap_err();
        assert_eq!(e.kind(), Code::SelfVerify);
        let mut flipped = sig.clone();
        flipped[10] ^= 1;
        let e = ofb::finish_with_provider(p, prepared.clone(), &flipped, &key.public_key())
            .unwrap_err();
        assert_eq!(e.kind(), Code::SelfVerify);
        let v15 = p
            .sign(
                &key,
                SignatureScheme::Pkcs1v15Sha256,
                prepared.signing_input(),
                &mut rng,
            )
            .unwrap();
        let e =
            ofb::finish_with_provider(p, prepared.clone(), &v15, &key.public_key()).unwrap_err();
        assert_eq!(e.kind(), Code::SelfVerify);
    }
}

// ---------------------------------------------------------------- claims

#[test]
fn aud_string_or_array() {
    verify(&craft_claims(json!({"aud": [AUD]})), &dp()).unwrap();
    verify(&craft_claims(json!({"aud": ["other", AUD]})), &dp()).unwrap();
    for bad in [
        json!(["other"]),
        json!([]),
        json!(7),
        json!(null),
        json!([AUD, 3]),
        json!(format!("{AUD}/")),
    ] {
        assert_eq!(
            code_of(&craft_claims(json!({"aud": bad})), &dp()),
            Code::Aud,
            "{bad}"
        );
    }
}

#[test]
fn iss_mismatch_or_missing_is_403() {
    for bad in [
        json!("other-org"),
        json!(null),
        json!(1),
        json!(ISS.to_uppercase()),
    ] {
        let t = craft_claims(json!({"iss": bad}));
        let e = verify(&t, &dp()).unwrap_err();
        assert_eq!(e.kind(), Code::Iss, "{bad}");
        assert_eq!(e.http_status(), Some(403));
        if bad.is_string() {
            assert!(
                e.message().contains(ISS) && e.message().contains("found"),
                "{e}"
            );
        }
    }
}

#[test]
fn iat_window_edges_and_formats() {
    let ok = |iat: Value| verify(&craft_claims(json!({ "iat": iat })), &dp());
    ok(json!(NOW - 60)).unwrap();
    ok(json!(NOW + 60)).unwrap();
    ok(json!((NOW + 60).to_string())).unwrap();
    assert_eq!(ok(json!(NOW - 61)).unwrap_err().kind(), Code::IatTooOld);
    assert_eq!(ok(json!(NOW + 61)).unwrap_err().kind(), Code::IatInFuture);
    assert_eq!(
        ok(json!((NOW - 61).to_string())).unwrap_err().kind(),
        Code::IatTooOld
    );
    for bad in [
        json!("abc"),
        json!(""),
        json!("1.5"),
        json!(1.5),
        json!(-1),
        json!(" 1790000000"),
        json!(true),
        json!({}),
    ] {
        assert_eq!(
            ok(bad.clone()).unwrap_err().kind(),
            Code::IatFormat,
            "{bad}"
        );
    }
    assert_eq!(
        code_of(&craft_claims(json!({"iat": null})), &dp()),
        Code::IatMissing
    );
    // The conformance suite's request tolerance: +5 min / -1 day.
    let wide = OfbProfile {
        iat_future_skew: 300,
        iat_max_age: 86_400,
        ..dp()
    };
    verify(&craft_claims(json!({"iat": NOW - 86_400})), &wide).unwrap();
    verify(&craft_claims(json!({"iat": NOW + 300})), &wide).unwrap();
    assert_eq!(
        code_of(&craft_claims(json!({"iat": NOW + 301})), &wide),
        Code::IatInFuture
    );
}

#[test]
fn exp_and_nbf_when_present() {
    verify(&craft_claims(json!({"exp": NOW + 1})), &dp()).unwrap();
    // Within the 60 s skew.
    verify(&craft_claims(json!({"exp": NOW - 59})), &dp()).unwrap();
    assert_eq!(
        code_of(&craft_claims(json!({"exp": NOW - 60})), &dp()),
        Code::Exp
    );
    assert_eq!(
        code_of(&craft_claims(json!({"exp": "soon"})), &dp()),
        Code::Exp
    );
    verify(&craft_claims(json!({"nbf": NOW + 60})), &dp()).unwrap();
    assert_eq!(
        code_of(&craft_claims(json!({"nbf": NOW + 61})), &dp()),
        Code::Nbf
    );
}

#[test]
fn jti_formats() {
    let any = OfbProfile {
        jti_format: JtiFormat::Any,
        ..dp()
    };
    // RFC 4122: a UUID in upper case is the same UUID; claims report (and
    // the replay cache keys) the lower-case form.
    let v = verify(&craft_claims(json!({"jti": JTI.to_uppercase()})), &dp()).unwrap();
    assert_eq!(v.claims.jti, JTI);
    for bad in [
        json!("V1StGXR8_Z5jdHi6B-myT"),
        json!("3f1c2a9e-5b7d-1e8f-9a0b-1c2d3e4f5a6b"),
        json!(5),
        json!(null),
        json!(""),
    ] {
        assert_eq!(
            code_of(&craft_claims(json!({"jti": bad})), &dp()),
            Code::Jti,
            "{bad}"
        );
    }
    verify(&craft_claims(json!({"jti": "V1StGXR8_Z5jdHi6B-myT"})), &any).unwrap();
    assert_eq!(code_of(&craft_claims(json!({"jti": ""})), &any), Code::Jti);
    assert_eq!(code_of(&craft_claims(json!({"jti": 5})), &any), Code::Jti);
    // "any string" mode: at most 256 characters.
    verify(&craft_claims(json!({"jti": "n".repeat(256)})), &any).unwrap();
    assert_eq!(
        code_of(&craft_claims(json!({"jti": "n".repeat(257)})), &any),
        Code::Jti
    );
}

#[test]
fn claim_checks_run_in_spec_order() {
    // aud and iss both wrong: aud is reported; iss and iat wrong: iss first.
    let t = craft_claims(json!({"aud": "x", "iss": "y", "iat": 1, "jti": "z"}));
    assert_eq!(code_of(&t, &dp()), Code::Aud);
    let t = craft_claims(json!({"iss": "y", "iat": 1, "jti": "z"}));
    assert_eq!(code_of(&t, &dp()), Code::Iss);
    let t = craft_claims(json!({"iat": 1, "jti": "z"}));
    assert_eq!(code_of(&t, &dp()), Code::IatTooOld);
    // A bad signature hides every claim problem.
    let t = craft(
        &std_header(),
        &claims(json!({"aud": "x"})).to_string(),
        &other(),
    );
    assert_eq!(code_of(&t, &dp()), Code::BadSignature);
}

// ---------------------------------------------------------------- header

#[test]
fn algorithm_confusion_is_refused_before_the_signature() {
    let payload = claims(json!({})).to_string();
    let input = |h: &str| format!("{}.{}", b64url(h.as_bytes()), b64url(payload.as_bytes()));
    // alg none, empty signature.
    let none = format!(
        "{}.",
        input(r#"{"alg":"none","typ":"JWT","kid":"selo-test-1"}"#)
    );
    assert_eq!(code_of(&none, &dp()), Code::AlgNotAllowed);
    // HS256 keyed with the public key's bytes (the classic confusion).
    let hs_in = input(r#"{"alg":"HS256","typ":"JWT","kid":"selo-test-1"}"#);
    let mac = selo::crypto::hmac_sha512(
        &signer().public_key().to_spki_der().unwrap(),
        hs_in.as_bytes(),
    );
    assert_eq!(
        code_of(&format!("{hs_in}.{}", b64url(&mac)), &dp()),
        Code::AlgNotAllowed
    );
    // RS256 with a genuine PKCS#1 v1.5 signature by the right key.
    let rs_in = input(r#"{"alg":"RS256","typ":"JWT","kid":"selo-test-1"}"#);
    let sig = RustCryptoProvider
        .sign(
            &signer(),
            SignatureScheme::Pkcs1v15Sha256,
            rs_in.as_bytes(),
            &mut selo::rng::seeded([4; 32]),
        )
        .unwrap();
    assert_eq!(
        code_of(&format!("{rs_in}.{}", b64url(&sig)), &dp()),
        Code::AlgNotAllowed
    );
    // ...and the same signature relabelled PS256 does not verify.
    let ps_in = input(&std_header());
    let sig = RustCryptoProvider
        .sign(
            &signer(),
            SignatureScheme::Pkcs1v15Sha256,
            ps_in.as_bytes(),
            &mut selo::rng::seeded([4; 32]),
        )
        .unwrap();
    assert_eq!(
        code_of(&format!("{ps_in}.{}", b64url(&sig)), &dp()),
        Code::BadSignature
    );
    for h in [
        r#"{"alg":"ps256","typ":"JWT","kid":"selo-test-1"}"#,
        r#"{"alg":"ES256","typ":"JWT","kid":"selo-test-1"}"#,
        r#"{"typ":"JWT","kid":"selo-test-1"}"#,
        r#"{"alg":["PS256"],"typ":"JWT","kid":"selo-test-1"}"#,
    ] {
        assert_eq!(
            code_of(&craft(h, &payload, &signer()), &dp()),
            Code::AlgNotAllowed,
            "{h}"
        );
    }
    // A duplicated alg member is never read either way.
    let dup = craft(
        r#"{"alg":"none","alg":"PS256","typ":"JWT","kid":"selo-test-1"}"#,
        &payload,
        &signer(),
    );
    assert_eq!(code_of(&dup, &dp()), Code::Malformed);
    let crit = craft(
        r#"{"alg":"PS256","typ":"JWT","kid":"selo-test-1","crit":["b64"],"b64":false}"#,
        &payload,
        &signer(),
    );
    assert_eq!(code_of(&crit, &dp()), Code::CritUnsupported);
}

#[test]
fn typ_rules() {
    let payload = claims(json!({})).to_string();
    let t = |h: &str| craft(h, &payload, &signer());
    let absent = t(r#"{"alg":"PS256","kid":"selo-test-1"}"#);
    assert_eq!(code_of(&absent, &dp()), Code::Typ);
    let resp = OfbProfile {
        typ: TypRule::AbsentOrJwt,
        ..dp()
    };
    verify(&absent, &resp).unwrap();
    verify(&absent, &OfbProfile::for_responses()).unwrap();
    for ok in ["jwt", "JWT", "application/jwt"] {
        verify(
            &t(&format!(
                r#"{{"alg":"PS256","kid":"selo-test-1","typ":"{ok}"}}"#
            )),
            &dp(),
        )
        .unwrap();
    }
    for bad in [r#""JOSE""#, r#""JWS""#, "1", "null", r#""""#] {
        let h = format!(r#"{{"alg":"PS256","kid":"selo-test-1","typ":{bad}}}"#);
        assert_eq!(code_of(&t(&h), &dp()), Code::Typ, "{bad}");
        assert_eq!(code_of(&t(&h), &resp), Code::Typ, "{bad}");
    }
}

// ---------------------------------------------------------------- keys

#[test]
fn jwks_selection_rules() {
    let payload = claims(json!({})).to_string();
    let token = craft(&std_header(), &payload, &signer());
    let pubkey = signer().public_key();
    let run = |set: Vec<Jwk>| ofb::verify(&token, &JwkSet::new(set), &expected(), &dp(), NOW);
    // Plain key without alg/use: selected.
    run(vec![Jwk::from_public(&pubkey).with_kid(KID)]).unwrap();
    // alg mismatch or use enc: excluded, and the message says why.
    let e = run(vec![
        Jwk::from_public(&pubkey).with_kid(KID).with_alg("RS256"),
    ])
    .unwrap_err();
    assert_eq!(e.kind(), Code::KidNotFound);
    assert!(e.message().contains("alg \"RS256\""), "{e}");
    let e = run(vec![
        Jwk::from_public(&pubkey).with_kid(KID).with_use("enc"),
    ])
    .unwrap_err();
    assert_eq!(e.kind(), Code::KidNotFound);
    assert!(e.message().contains("use \"enc\""), "{e}");
    // The enc twin does not make the sig key ambiguous.
    run(vec![
        Jwk::from_public(&other().public_key())
            .with_kid(KID)
            .with_use("enc"),
        Jwk::from_public(&pubkey).with_kid(KID).with_use("sig"),
    ])
    .unwrap();
    // An EC key with the same kid is not a candidate.
    let ec =
        Jwk::from_value(&json!({"kty": "EC", "crv": "P-256", "kid": KID, "x": "AA", "y": "AA"}))
            .unwrap();
    run(vec![ec.clone(), Jwk::from_public(&pubkey).with_kid(KID)]).unwrap();
    let e = run(vec![ec]).unwrap_err();
    assert_eq!(e.kind(), Code::KidNotFound);
    assert!(e.message().contains("kty \"EC\""), "{e}");
    // Two matching keys: ambiguous, even if one would verify.
    let e = run(vec![
        Jwk::from_public(&pubkey).with_kid(KID),
        Jwk::from_public(&other().public_key()).with_kid(KID),
    ])
    .unwrap_err();
    assert_eq!(e.kind(), Code::KidAmbiguous);
    // Empty set, kid differs.
    let e = run(vec![]).unwrap_err();
    assert_eq!(e.kind(), Code::KidNotFound);
    assert!(e.message().contains("empty"), "{e}");
    let e = run(vec![Jwk::from_public(&pubkey).with_kid("x")]).unwrap_err();
    assert!(e.message().contains("\"x\": kid differs"), "{e}");
    // 1024-bit key: refused at selection.
    let small = key("rsa1024-client.pem");
    let t = craft(&std_header(), &payload, &small);
    let e = ofb::verify(
        &t,
        &JwkSet::new(vec![Jwk::from_public(&small.public_key()).with_kid(KID)]),
        &expected(),
        &dp(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(e.kind(), Code::KeyTooSmall);
}

#[test]
fn kid_missing_empty_or_not_a_string() {
    let payload = claims(json!({})).to_string();
    for h in [
        r#"{"alg":"PS256","typ":"JWT"}"#,
        r#"{"alg":"PS256","typ":"JWT","kid":""}"#,
        r#"{"alg":"PS256","typ":"JWT","kid":1}"#,
        r#"{"alg":"PS256","typ":"JWT","kid":null}"#,
    ] {
        assert_eq!(
            code_of(&craft(h, &payload, &signer()), &dp()),
            Code::KidMissing,
            "{h}"
        );
    }
}

#[test]
fn rfc7638_thumbprint_known_answer() {
    // RFC 7638 §3.1.
    let jwk = Jwk::from_value(&json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    }))
    .unwrap();
    assert_eq!(
        jwk.thumbprint().unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    // The key's own cached thumbprint is the same value, every time.
    let pk = jwk.rsa_public_key().unwrap();
    assert_eq!(
        pk.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(pk.clone().thumbprint(), pk.thumbprint());
    assert_ne!(signer().public_key_ref().thumbprint(), pk.thumbprint());
    // Private and public JWKs of one key share the thumbprint.
    let k = signer();
    assert_eq!(
        Jwk::from_private(&k).thumbprint().unwrap(),
        Jwk::from_public(&k.public_key()).thumbprint().unwrap()
    );
    let with = Jwk::from_public(&k.public_key())
        .with_thumbprint_kid()
        .unwrap();
    assert_eq!(with.kid.unwrap().len(), 43);
}

#[test]
fn jwk_import_from_every_form() {
    let root = common::root().join("tests/vectors");
    let read = |p: &str| std::fs::read(root.join(p)).unwrap();
    let ofb_pub = signer().public_key();
    for (file, private) in [
        ("external/keys/rsa2048-ofb.pem", true),
        ("keys/rsa2048-ofb-cert.pem", false),
        ("keys/rsa2048-ofb-cert.der", false),
    ] {
        let jwk = Jwk::import(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(jwk.is_private(), private, "{file}");
        assert_eq!(jwk.rsa_public_key().unwrap(), ofb_pub, "{file}");
    }
    let client = key("rsa1024-client.pem").public_key();
    for file in [
        "keys/rsa1024-client-pkcs1.pem",
        "keys/rsa1024-client-pub.pem",
        "keys/rsa1024-client-pub-pkcs1.pem",
    ] {
        let jwk = Jwk::import(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(jwk.rsa_public_key().unwrap(), client, "{file}");
    }
    // DER forms.
    let k = signer();
    assert!(
        Jwk::import(&k.to_pkcs8_der().unwrap())
            .unwrap()
            .is_private()
    );
    assert!(
        Jwk::import(&k.to_pkcs1_der().unwrap())
            .unwrap()
            .is_private()
    );
    assert!(
        !Jwk::import(&k.public_key().to_spki_der().unwrap())
            .unwrap()
            .is_private()
    );
    assert!(
        !Jwk::import(&k.public_key().to_pkcs1_der().unwrap())
            .unwrap()
            .is_private()
    );
    // Refusals name the format.
    let e = Jwk::import(&read("keys/rsa1024-client-encrypted.pem")).unwrap_err();
    assert_eq!(e.code(), "key.import.encrypted");
    for f in ["keys/ec-p256.pem", "keys/ec-p256-pub.pem"] {
        let e = Jwk::import(&read(f)).unwrap_err();
        assert_eq!(e.code(), "key.import.not_rsa", "{f}: {e}");
    }
    let e = Jwk::import(b"garbage").unwrap_err();
    assert_eq!(e.code(), "key.import.bad_der", "{e}");
}

#[test]
fn jwks_round_trip_and_publication() {
    let k = signer();
    let set = JwkSet::new(vec![
        Jwk::from_private(&k)
            .with_kid(KID)
            .with_use("sig")
            .with_alg("PS256"),
        Jwk::from_value(&json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}))
            .unwrap(),
    ]);
    let json = set.to_json().unwrap();
    let back = JwkSet::parse(&json).unwrap();
    assert_eq!(back.keys.len(), 2);
    assert!(back.keys[0].is_private());
    assert_eq!(back.keys[1].kty(), "EC");
    assert_eq!(back.to_value().unwrap(), set.to_value().unwrap());
    let public = set.to_public().to_value().unwrap();
    let first = public["keys"][0].as_object().unwrap();
    for m in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(!first.contains_key(m), "{m} leaked");
    }
    assert_eq!(public["keys"][0]["kty"], "RSA");
    assert_eq!(public["keys"][0]["kid"], KID);
    assert_eq!(public["keys"][1]["crv"], "P-256");
    // Extra members (x5c, key_ops) survive a round trip.
    let v = json!({"kty": "RSA", "kid": "a", "n": public["keys"][0]["n"], "e": "AQAB", "x5c": ["MIIB"], "key_ops": ["verify"]});
    let j = Jwk::from_value(&v).unwrap();
    assert_eq!(j.to_value().unwrap()["x5c"], json!(["MIIB"]));
}

#[test]
fn malformed_jwks_and_jwks_get_the_right_codes() {
    let n = b64url(&signer().public_key().modulus());
    let cases: Vec<(&str, String)> = vec![
        ("key.jwks.malformed", "not json".into()),
        ("key.jwks.malformed", "[]".into()),
        ("key.jwks.malformed", "{}".into()),
        ("key.jwks.malformed", r#"{"keys": {}}"#.into()),
        ("key.jwks.malformed", r#"{"keys": [1]}"#.into()),
        (
            "key.jwks.malformed",
            r#"{"keys": [{"kty": "RSA", "kid": "k", "e": "AQAB"}]}"#.into(),
        ),
    ];
    for (code, text) in &cases {
        let e = JwkSet::parse(text).unwrap_err();
        assert_eq!(e.code(), *code, "{text}: {e}");
    }
    let e = JwkSet::parse(r#"{"keys": [{"kty": "RSA", "kid": "k9", "e": "AQAB"}]}"#).unwrap_err();
    assert!(
        e.message().contains("#0") && e.message().contains("k9") && e.message().contains("'n'"),
        "{e}"
    );

    let jwk_cases: Vec<(&str, Value)> = vec![
        ("key.jwk.malformed", json!("x")),
        ("key.jwk.missing_member", json!({})),
        ("key.jwk.malformed", json!({"kty": 1})),
        ("key.jwk.missing_member", json!({"kty": "RSA", "e": "AQAB"})),
        ("key.jwk.missing_member", json!({"kty": "RSA", "n": n})),
        (
            "key.jwk.bad_base64",
            json!({"kty": "RSA", "n": "!!", "e": "AQAB"}),
        ),
        (
            "key.jwk.bad_base64",
            json!({"kty": "RSA", "n": n, "e": "A Q"}),
        ),
        (
            "key.jwk.malformed",
            json!({"kty": "RSA", "n": n, "e": 65537}),
        ),
        (
            "key.jwk.malformed",
            json!({"kty": "RSA", "n": "AA", "e": "AQAB"}),
        ),
        (
            "key.jwk.malformed",
            json!({"kty": "RSA", "n": n, "e": "AQAB", "kid": 5}),
        ),
        (
            "key.jwk.missing_member",
            json!({"kty": "RSA", "n": n, "e": "AQAB", "p": "AQAB"}),
        ),
        (
            "key.jwk.inconsistent",
            json!({"kty": "RSA", "n": n, "e": "AQAB", "d": "AQAB"}),
        ),
        (
            "key.jwk.inconsistent",
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
        ),
    ];
    for (code, v) in &jwk_cases {
        let e = Jwk::from_value(v).unwrap_err();
        assert_eq!(e.code(), *code, "{v}: {e}");
    }
    let e = Jwk::from_private(&signer()).thumbprint();
    assert!(e.is_ok());
    let ec = Jwk::from_value(&json!({"kty": "EC"})).unwrap();
    assert_eq!(
        ec.thumbprint().unwrap_err().code(),
        "key.jwk.unsupported_kty"
    );
}

// ---------------------------------------------------------------- malformed

#[test]
fn malformed_tokens_are_stage_1() {
    let h = b64url(std_header().as_bytes());
    let p = b64url(claims(json!({})).to_string().as_bytes());
    let cases = vec![
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
        "a.b.c".into(),
        format!("{h}.{p}"),
        format!("{h}.{p}.AA.AA"),
        format!("{h}=.{p}.AA"),
        format!(".{p}.AA"),
        format!("{h}..AA"),
        format!("{h}.{p}.A"),
        format!("{h}.{p}. AA"),
        format!(" {h}.{p}.AA"),
        format!("{}.{p}.AA", b64url(b"[1]")),
        format!("{}.{p}.AA", b64url(b"\xff\xfe")),
        format!("{}.{p}.AA", b64url(b"{\"alg\":")),
        format!("{h}.{}.AA", b64url(b"\"str\"")),
        format!("{h}.{}.AA", b64url(b"{} trailing")),
        format!("{h}.{p}.{}", selo::encoding::b64(&[0xfb; 20])),
    ];
    for t in cases {
        assert_eq!(code_of(&t, &dp()), Code::Malformed, "{t:?}");
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn verify_never_panics_on_arbitrary_strings(s in ".{0,400}") {
            let r = ofb::verify(&s, &jwks(), &expected(), &dp(), NOW);
            prop_assert!(r.is_err());
        }

        #[test]
        fn verify_never_panics_on_three_arbitrary_parts(
            h in proptest::collection::vec(any::<u8>(), 0..120),
            p in proptest::collection::vec(any::<u8>(), 0..200),
            s in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let t = format!("{}.{}.{}", b64url(&h), b64url(&p), b64url(&s));
            prop_assert!(ofb::verify(&t, &jwks(), &expected(), &dp(), NOW).is_err());
        }

        #[test]
        fn verify_never_panics_on_json_shaped_headers(
            alg in prop_oneof![Just("\"PS256\"".to_string()), ".{0,10}".prop_map(|s| format!("{s:?}")), Just("null".into()), Just("[]".into())],
            kid in prop_oneof![Just("\"selo-test-1\"".to_string()), ".{0,10}".prop_map(|s| format!("{s:?}")), Just("7".into())],
            typ in prop_oneof![Just("\"JWT\"".to_string()), Just("{}".into())],
            sig in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let h = format!(r#"{{"alg":{alg},"kid":{kid},"typ":{typ}}}"#);
            let t = format!("{}.{}.{}", b64url(h.as_bytes()), b64url(claims(json!({})).to_string().as_bytes()), b64url(&sig));
            prop_assert!(ofb::verify(&t, &jwks(), &expected(), &dp(), NOW).is_err());
        }

        #[test]
        fn jwks_parse_never_panics(s in ".{0,300}") {
            let _ = JwkSet::parse(&s);
            let _ = Jwk::parse(&s);
        }

        #[test]
        fn server_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400), ct in prop_oneof![Just(Some("application/jwt")), Just(None), Just(Some("text/plain"))]) {
            let mut cache = MemoryJtiCache::default();
            let r = server::verify_request("POST", ct, &body, NOW, &jwks(), &req_exp(), &dp(), &mut cache);
            let rej = r.unwrap_err();
            prop_assert!(rej.response.status >= 400);
            prop_assert!(cache.is_empty());
        }
    }
}

// ---------------------------------------------------------------- server

fn req_exp() -> RequestExpectations {
    RequestExpectations {
        aud: AUD.into(),
        iss: ISS.into(),
        client_id: "client-1".into(),
    }
}

fn body_json(r: &server::Response) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn server_accepts_once_then_403_on_replay() {
    let mut cache = MemoryJtiCache::default();
    let s = ofb::sign(
        &signer(),
        &json!({"data": {"x": 1}}),
        &SignParams::new(KID, AUD, ISS),
        &dp(),
        NOW,
        &mut selo::rng::system(),
    )
    .unwrap();
    for p in providers() {
        let mut cache = MemoryJtiCache::default();
        server::verify_request_with_provider(
            p,
            "POST",
            Some("application/jwt"),
            s.token.as_bytes(),
            NOW,
            &jwks(),
            &req_exp(),
            &dp(),
            &mut cache,
        )
        .unwrap();
    }
    let v = server::verify_request(
        "POST",
        Some(" Application/JWT "),
        format!("{}\r\n", s.token).as_bytes(),
        NOW,
        &jwks(),
        &req_exp(),
        &dp(),
        &mut cache,
    )
    .unwrap();
    assert_eq!(v.claims.jti, s.jti);
    let rej = server::verify_request(
        "PUT",
        Some("application/jwt"),
        s.token.as_bytes(),
        NOW + 10,
        &jwks(),
        &req_exp(),
        &dp(),
        &mut cache,
    )
    .unwrap_err();
    assert_eq!(rej.error.kind(), Code::Replay);
    assert_eq!(rej.response.status, 403);
    assert_eq!(body_json(&rej.response)["errors"][0]["code"], "JTI_REUSED");
    // Another client may use the same jti.
    let other_client = RequestExpectations {
        client_id: "client-2".into(),
        ..req_exp()
    };
    server::verify_request(
        "PATCH",
        Some("application/jwt"),
        s.token.as_bytes(),
        NOW,
        &jwks(),
        &other_client,
        &dp(),
        &mut cache,
    )
    .unwrap();
}

#[test]
fn server_error_responses() {
    let mut cache = MemoryJtiCache::default();
    let good = craft_claims(json!({}));
    let run = |method: &str, ct: Option<&str>, body: &str, cache: &mut MemoryJtiCache| {
        server::verify_request(
            method,
            ct,
            body.as_bytes(),
            NOW,
            &jwks(),
            &req_exp(),
            &dp(),
            cache,
        )
        .unwrap_err()
    };
    let cases: Vec<(&str, Option<&str>, String, u16, &str, Code)> = vec![
        (
            "GET",
            Some("application/jwt"),
            good.clone(),
            405,
            "METHOD_NOT_ALLOWED",
            Code::Method,
        ),
        (
            "post",
            Some("application/jwt"),
            good.clone(),
            405,
            "METHOD_NOT_ALLOWED",
            Code::Method,
        ),
        (
            "POST",
            None,
            good.clone(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            Code::ContentType,
        ),
        (
            "POST",
            Some("application/json"),
            good.clone(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            Code::ContentType,
        ),
        (
            "POST",
            Some("application/jwt; charset=latin1"),
            good.clone(),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            Code::ContentType,
        ),
        (
            "POST",
            Some("application/jwt"),
            "{}".into(),
            400,
            "BAD_SIGNATURE",
            Code::Malformed,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft(
                r#"{"alg":"RS256","kid":"selo-test-1","typ":"JWT"}"#,
                &claims(json!({})).to_string(),
                &signer(),
            ),
            400,
            "BAD_SIGNATURE",
            Code::AlgNotAllowed,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft(
                r#"{"alg":"PS256","kid":"selo-test-1"}"#,
                &claims(json!({})).to_string(),
                &signer(),
            ),
            400,
            "BAD_SIGNATURE",
            Code::Typ,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft(
                r#"{"alg":"PS256","kid":"nope","typ":"JWT"}"#,
                &claims(json!({})).to_string(),
                &signer(),
            ),
            400,
            "BAD_SIGNATURE",
            Code::KidNotFound,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft(&std_header(), &claims(json!({})).to_string(), &other()),
            400,
            "BAD_SIGNATURE",
            Code::BadSignature,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft_claims(json!({"aud": "x"})),
            400,
            "INVALID_AUD",
            Code::Aud,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft_claims(json!({"iss": "x"})),
            403,
            "INVALID_ISS",
            Code::Iss,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft_claims(json!({"iat": null})),
            400,
            "IAT_MISSING",
            Code::IatMissing,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft_claims(json!({"iat": "x"})),
            400,
            "INVALID_IAT",
            Code::IatFormat,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft_claims(json!({"iat": NOW - 61})),
            400,
            "IAT_TOO_OLD",
            Code::IatTooOld,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft_claims(json!({"iat": NOW + 61})),
            400,
            "IAT_IN_FUTURE",
            Code::IatInFuture,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft_claims(json!({"exp": NOW - 100})),
            400,
            "TOKEN_EXPIRED",
            Code::Exp,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft_claims(json!({"nbf": NOW + 100})),
            400,
            "TOKEN_NOT_YET_VALID",
            Code::Nbf,
        ),
        (
            "POST",
            Some("application/jwt"),
            craft_claims(json!({"jti": "x"})),
            400,
            "INVALID_JTI",
            Code::Jti,
        ),
    ];
    let mut body_codes = std::collections::HashMap::new();
    for (method, ct, body, status, body_code, code) in cases {
        let rej = run(method, ct, &body, &mut cache);
        assert_eq!(rej.error.kind(), code, "{method} {ct:?}: {}", rej.error);
        assert_eq!(rej.response.status, status, "{code:?}");
        assert_eq!(
            rej.response.headers,
            vec![("content-type".to_string(), "application/json".to_string())]
        );
        let b = body_json(&rej.response);
        let errors = b["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0]["code"], body_code, "{code:?}");
        assert!(errors[0]["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(
            errors[0]["detail"]
                .as_str()
                .unwrap()
                .starts_with(code.as_str()),
            "{b}"
        );
        if body_code != "BAD_SIGNATURE" {
            let prev = body_codes.insert(body_code, code);
            assert!(prev.is_none() || prev == Some(code), "{body_code} reused");
        }
    }
    // No failed request reached the replay cache.
    assert!(cache.is_empty());
    // A token refused for its claims leaves its jti usable.
    server::verify_request(
        "POST",
        Some("application/jwt"),
        good.as_bytes(),
        NOW,
        &jwks(),
        &req_exp(),
        &dp(),
        &mut cache,
    )
    .unwrap();
    assert_eq!(cache.len(), 1);
}

#[test]
fn replay_cache_full_is_503_and_fails_closed() {
    let mut cache = MemoryJtiCache::new(1, ofb::WhenFull::Refuse);
    use ofb::JtiCache;
    assert_eq!(
        cache.check_and_insert("client-1", "a", NOW).unwrap(),
        JtiStatus::Fresh
    );
    let t = craft_claims(json!({}));
    let rej = server::verify_request(
        "POST",
        Some("application/jwt"),
        t.as_bytes(),
        NOW,
        &jwks(),
        &req_exp(),
        &dp(),
        &mut cache,
    )
    .unwrap_err();
    assert_eq!(rej.error.kind(), Code::ReplayCapacity);
    assert_eq!(rej.response.status, 503);
}

#[test]
fn sign_response_is_application_jwt_and_verifies_as_a_response() {
    let params = SignParams::new(KID, "3449bf21-0b07-48e6-b6fc-13eb161a9901", ISS);
    let r = server::sign_response(
        201,
        &signer(),
        &json!({"data": {"status": "AWAITING_AUTHORISATION"}}),
        &params,
        &dp(),
        NOW,
        &mut selo::rng::system(),
    )
    .unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(
        r.headers,
        vec![("content-type".to_string(), "application/jwt".to_string())]
    );
    let token = std::str::from_utf8(&r.body).unwrap();
    let v = ofb::verify(
        token,
        &jwks(),
        &Expected::new("3449bf21-0b07-48e6-b6fc-13eb161a9901", ISS),
        &OfbProfile::for_responses(),
        NOW + 5,
    )
    .unwrap();
    assert_eq!(v.payload["data"]["status"], "AWAITING_AUTHORISATION");
}

// ---------------------------------------------------------------- misc

#[test]
fn codes_are_in_the_global_table_with_stages_and_statuses() {
    let all = selo::all_codes();
    for c in Code::ALL {
        assert!(all.contains(&c.as_str()), "{c}");
        assert!(c.as_str().starts_with("ofb."));
        if let Some(stage) = c.stage() {
            assert!(c.http_status().is_some(), "{c} has a stage but no status");
            if stage <= 5 {
                assert_eq!(c.http_status(), Some(400), "{c}");
                assert_eq!(server::response_code(*c), "BAD_SIGNATURE", "{c}");
            }
        }
    }
}

#[test]
fn profile_json_round_trip_and_defaults() {
    let p = OfbProfile::from_json("{}").unwrap();
    assert_eq!(p, OfbProfile::default());
    assert_eq!(p.iat_future_skew, 60);
    assert_eq!(p.iat_max_age, 60);
    let p = OfbProfile::from_json(
        r#"{"typ":"absent-or-jwt","jti_format":"any","iat_format":"string","iat_max_age":86400}"#,
    )
    .unwrap();
    assert_eq!(p.typ, TypRule::AbsentOrJwt);
    assert_eq!(p.jti_format, JtiFormat::Any);
    assert_eq!(p.iat_format, IatFormat::String);
    assert_eq!(p.iat_max_age, 86_400);
    assert_eq!(OfbProfile::from_json(&p.to_json()).unwrap(), p);
    // A window (max age + skew) longer than the replay TTL is refused when
    // a replay cache is built for it (and by the server helper).
    let wide = OfbProfile::from_json(r#"{"iat_max_age":86400}"#).unwrap();
    assert_eq!(
        MemoryJtiCache::for_profile(10, ofb::WhenFull::Refuse, &wide)
            .unwrap_err()
            .kind(),
        Code::Profile
    );
    let mut cache = MemoryJtiCache::default();
    let r = server::verify_request(
        "POST",
        Some("application/jwt"),
        craft_claims(json!({})).as_bytes(),
        NOW,
        &jwks(),
        &req_exp(),
        &wide,
        &mut cache,
    )
    .unwrap_err();
    assert_eq!(r.error.kind(), Code::Profile);
    assert!(cache.is_empty());
    for bad in [
        r#"{"typ":"JWT"}"#,
        r#"{"unknown":1}"#,
        "[]",
        r#"{"iat_max_age":-1}"#,
    ] {
        assert_eq!(
            OfbProfile::from_json(bad).unwrap_err().kind(),
            Code::Profile,
            "{bad}"
        );
    }
}

#[test]
fn public_key_equality_ignores_native_caches() {
    // Using a key through the native provider must not change equality.
    let k = signer();
    let a = k.public_key();
    let b: RsaPublicKey = k.public_key();
    let token = craft_claims(json!({}));
    let _ = verify(&token, &dp());
    for p in providers() {
        let _ = p.verify(&a, SignatureScheme::PssSha256, b"x", &[0; 256]);
    }
    assert_eq!(a, b);
    assert_eq!(a.clone(), b);
}

// ------------------------------------------------- post-sign verification

/// A provider whose private operation is faulty (one bit of every
/// signature flipped), declaring or not that it checks its own results.
struct Faulty {
    claims_checked: bool,
}

impl RsaProvider for Faulty {
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn checks_private_results(&self) -> bool {
        self.claims_checked
    }
    fn sign(
        &self,
        key: &RsaPrivateKey,
        scheme: SignatureScheme,
        msg: &[u8],
        rng: &mut dyn selo::rng::CryptoRng,
    ) -> Result<Vec<u8>, selo::crypto::Error> {
        let mut s = RustCryptoProvider.sign(key, scheme, msg, rng)?;
        s[7] ^= 0x10;
        Ok(s)
    }
    fn verify(
        &self,
        key: &RsaPublicKey,
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), selo::crypto::Error> {
        RustCryptoProvider.verify(key, scheme, msg, sig)
    }
    fn encrypt(
        &self,
        key: &RsaPublicKey,
        padding: selo::crypto::Padding,
        msg: &[u8],
        rng: &mut dyn selo::rng::CryptoRng,
    ) -> Result<Vec<u8>, selo::crypto::Error> {
        RustCryptoProvider.encrypt(key, padding, msg, rng)
    }
    fn decrypt(
        &self,
        key: &RsaPrivateKey,
        padding: selo::crypto::Padding,
        ciphertext: &[u8],
        rng: &mut dyn selo::rng::CryptoRng,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, selo::crypto::Error> {
        RustCryptoProvider.decrypt(key, padding, ciphertext, rng)
    }
}

#[test]
fn one_call_signing_verifies_unless_the_provider_checks_its_own_results() {
    let key = signer();
    let payload = json!({"data": {}});
    let mut rng = selo::rng::system();
    let params = SignParams::new(KID, AUD, ISS);
    // Built-in providers vouch for their private operations.
    for p in providers() {
        assert!(p.checks_private_results(), "{}", p.name());
    }
    // A provider that does not vouch is verified by selo: the fault is caught.
    let unchecked = Faulty {
        claims_checked: false,
    };
    let e = ofb::sign_with_provider(&unchecked, &key, &payload, &params, &dp(), NOW, &mut rng)
        .unwrap_err();
    assert_eq!(e.kind(), Code::SelfVerify);
    // One that (wrongly) vouches is trusted, so the contract matters: the
    // token it produced does not verify.
    let trusted = Faulty {
        claims_checked: true,
    };
    let s =
        ofb::sign_with_provider(&trusted, &key, &payload, &params, &dp(), NOW, &mut rng).unwrap();
    let e = ofb::verify_with_provider(
        &RustCryptoProvider,
        &s.token,
        &jwks(),
        &expected(),
        &dp(),
        NOW,
    )
    .unwrap_err();
    assert_eq!(e.kind(), Code::BadSignature);
}

#[test]
fn server_body_limit_and_wide_objects() {
    let mut cache = MemoryJtiCache::default();
    assert_eq!(dp().max_body_bytes, 1 << 20);
    let small = OfbProfile {
        max_body_bytes: 100,
        ..dp()
    };
    let good = craft_claims(json!({}));
    let r = server::verify_request(
        "POST",
        Some("application/jwt"),
        good.as_bytes(),
        NOW,
        &jwks(),
        &req_exp(),
        &small,
        &mut cache,
    )
    .unwrap_err();
    assert_eq!(r.error.kind(), Code::BodyTooLarge);
    assert_eq!(r.response.status, 413);
    assert!(cache.is_empty());
    // Default 1 MiB: a 2 MiB body is refused before any parsing.
    let huge = vec![b'a'; 2 << 20];
    let r = server::verify_request(
        "POST",
        Some("application/jwt"),
        &huge,
        NOW,
        &jwks(),
        &req_exp(),
        &dp(),
        &mut cache,
    )
    .unwrap_err();
    assert_eq!(r.error.kind(), Code::BodyTooLarge);
    // A payload with 50 000 members is refused at stage 1 (member cap).
    let mut payload = String::from("{");
    for i in 0..50_000 {
        payload.push_str(&format!("\"m{i}\":0,"));
    }
    payload.pop();
    payload.push('}');
    let t = std::time::Instant::now();
    let token = craft(&std_header(), &payload, &signer());
    assert_eq!(code_of(&token, &dp()), Code::Malformed);
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
}
