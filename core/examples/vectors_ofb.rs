//! Regenerates selo's own OFB vectors in `tests/vectors/ofb/`:
//!
//! - `sign.json`: deterministic PS256 signing (seeded RNG, RustCrypto
//!   provider) — inputs, signing input, token;
//! - `verify.json`: crafted tokens and where verification must stop (the
//!   selo code, HTTP status and error-body code), for every binding;
//! - `jwk.json`: the fixture keys as public/private JWKs and thumbprints.
//!
//! Run: `cargo run -p selo --example vectors_ofb`. A test
//! (`core/tests/ofb_own_vectors.rs`) regenerates in memory and fails if the
//! committed files differ.

use selo::crypto::{RsaProvider, RustCryptoProvider, SignatureScheme};
use selo::encoding::b64url;
use selo::keys::RsaPrivateKey;
use selo::keys::jwk::{Jwk, JwkSet};
use selo::ofb::{self, IatFormat, OfbProfile, SignParams};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[path = "support/vector_files.rs"]
mod vector_files;
use vector_files::{Res, pretty};

const AUD: &str = "https://api.banco.example/open-banking/payments/v1/consents";
const ISS: &str = "5647fe90-f6bc-11eb-9a03-0242ac130003";
const NOW: u64 = 1_790_000_000;
const JTI: &str = "7960577c-662c-456e-8cf5-e630828af635";

struct Keys {
    main: RsaPrivateKey,
    other: RsaPrivateKey,
    small: RsaPrivateKey,
}

fn load(root: &Path) -> Res<Keys> {
    let dir = root.join("tests/vectors/external/keys");
    let k = |n: &str| -> Res<RsaPrivateKey> {
        Ok(RsaPrivateKey::import(&std::fs::read(dir.join(n))?)?)
    };
    Ok(Keys {
        main: k("rsa2048-ofb.pem")?,
        other: k("rsa2048-ofb-other.pem")?,
        small: k("rsa1024-client.pem")?,
    })
}

fn seed(n: u8) -> [u8; 32] {
    [n; 32]
}

/// A compact JWS with these exact header/payload bytes; `sig` picks the
/// signature: PSS or PKCS#1 v1.5 by `key`, or none.
fn craft(
    header: &str,
    payload: &str,
    key: Option<(&RsaPrivateKey, SignatureScheme)>,
    n: u8,
) -> Res<String> {
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(payload.as_bytes())
    );
    let sig = match key {
        Some((k, scheme)) => {
            RustCryptoProvider.sign(k, scheme, input.as_bytes(), &mut selo::rng::seeded(seed(n)))?
        }
        None => Vec::new(),
    };
    Ok(format!("{input}.{}", b64url(&sig)))
}

fn claims(overrides: Value) -> String {
    let mut base = serde_json::Map::new();
    for (k, v) in [
        ("aud", json!(AUD)),
        ("iss", json!(ISS)),
        ("jti", json!(JTI)),
        ("iat", json!(NOW)),
        (
            "data",
            json!({"payment": {"amount": "100000.12", "currency": "BRL"}}),
        ),
    ] {
        base.insert(k.into(), v);
    }
    if let Value::Object(o) = overrides {
        for (k, v) in o {
            if v.is_null() {
                base.shift_remove(&k);
            } else {
                base.insert(k, v);
            }
        }
    }
    Value::Object(base).to_string()
}

const H: &str = r#"{"alg":"PS256","kid":"selo-test-1","typ":"JWT"}"#;

fn sign_vectors(keys: &Keys) -> Res<Value> {
    let mut cases = Vec::new();
    let inputs = [
        (
            "minimal request",
            json!({"data": {"x": 1}}),
            IatFormat::Integer,
            None,
            1u8,
        ),
        (
            "payment consent with links and meta",
            json!({
                "data": {"consentId": "urn:bancoex:C1DD33123", "status": "AWAITING_AUTHORISATION",
                         "creditor": {"name": "Marco Antônio de Brito", "cpfCnpj": "58764789000137"}},
                "links": {"self": "https://api.banco.example/open-banking/payments/v1/consents"},
                "meta": {"totalRecords": 1, "totalPages": 1, "requestDateTime": "2026-09-21T08:30:00Z"}
            }),
            IatFormat::Integer,
            Some(NOW + 300),
            2,
        ),
        (
            "iat as numeric string (profile)",
            json!({"data": {}}),
            IatFormat::String,
            None,
            3,
        ),
    ];
    for (name, payload, iat_format, exp, n) in inputs {
        let profile = OfbProfile {
            iat_format,
            ..OfbProfile::default()
        };
        let params = SignParams {
            exp,
            ..SignParams::new("selo-test-1", AUD, ISS)
        };
        let mut rng = selo::rng::seeded(seed(n));
        let prepared = ofb::prepare(&payload, &params, &profile, NOW, &mut rng)?;
        let signed = ofb::sign_with_provider(
            &RustCryptoProvider,
            &keys.main,
            &payload,
            &params,
            &profile,
            NOW,
            &mut selo::rng::seeded(seed(n)),
        )?;
        cases.push(json!({
            "name": name,
            "seed": selo::encoding::b64(&seed(n)),
            "now": NOW,
            "params": params,
            "profile": profile,
            "payload": payload,
            "signing_input": String::from_utf8(prepared.signing_input().to_vec())?,
            "jti": signed.jti,
            "token": signed.token,
        }));
    }
    Ok(json!({
        "description": "PS256 signing with rng::seeded(seed) and the RustCrypto provider: the RNG gives jti first, then the PSS salt and blinding. Key: tests/vectors/external/keys/rsa2048-ofb.pem, kid selo-test-1. Every token verifies at `now` against jwk.json's public key.",
        "key": "external/keys/rsa2048-ofb.pem",
        "cases": cases,
    }))
}

fn jwks(keys: &Keys) -> Res<JwkSet> {
    let ec = Jwk::from_value(&json!({"kty": "EC", "crv": "P-256", "kid": "ec-1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}))?;
    Ok(JwkSet::new(vec![
        Jwk::from_public(&keys.main.public_key())
            .with_kid("selo-test-1")
            .with_use("sig")
            .with_alg("PS256"),
        Jwk::from_public(&keys.other.public_key()).with_kid("selo-test-2"),
        Jwk::from_public(&keys.small.public_key()).with_kid("small-1024"),
        Jwk::from_public(&keys.other.public_key())
            .with_kid("enc-only")
            .with_use("enc"),
        Jwk::from_public(&keys.other.public_key())
            .with_kid("rs256-only")
            .with_alg("RS256"),
        ec,
        Jwk::from_public(&keys.main.public_key()).with_kid("dup"),
        Jwk::from_public(&keys.other.public_key()).with_kid("dup"),
    ]))
}

fn verify_vectors(keys: &Keys) -> Res<Value> {
    use SignatureScheme::{Pkcs1v15Sha256 as V15, PssSha256 as Pss};
    let main = Some((&keys.main, Pss));
    let p = claims(json!({}));
    let hdr = |kid: &str| format!(r#"{{"alg":"PS256","kid":"{kid}","typ":"JWT"}}"#);
    // (name, token, profile overrides, expected code, status, body code)
    let mut cases: Vec<(&str, String, Value, &str)> = vec![
        ("valid", craft(H, &p, main, 10)?, json!({}), "ok"),
        (
            "aud array containing the expected value",
            craft(H, &claims(json!({"aud": ["x", AUD]})), main, 11)?,
            json!({}),
            "ok",
        ),
        (
            "iat as numeric string",
            craft(H, &claims(json!({"iat": NOW.to_string()})), main, 12)?,
            json!({}),
            "ok",
        ),
        (
            "typ lowercase jwt",
            craft(
                r#"{"alg":"PS256","kid":"selo-test-1","typ":"jwt"}"#,
                &p,
                main,
                13,
            )?,
            json!({}),
            "ok",
        ),
        (
            "exp in the future",
            craft(H, &claims(json!({"exp": NOW + 10})), main, 14)?,
            json!({}),
            "ok",
        ),
        (
            "typ absent, response profile",
            craft(r#"{"alg":"PS256","kid":"selo-test-1"}"#, &p, main, 15)?,
            json!({"typ": "absent-or-jwt"}),
            "ok",
        ),
        (
            "nanoid jti, profile jti_format any",
            craft(
                H,
                &claims(json!({"jti": "V1StGXR8_Z5jdHi6B-myT"})),
                main,
                16,
            )?,
            json!({"jti_format": "any"}),
            "ok",
        ),
        (
            "iat one day old, conformance tolerance",
            craft(H, &claims(json!({"iat": NOW - 86_400})), main, 17)?,
            json!({"iat_max_age": 86400, "iat_future_skew": 300}),
            "ok",
        ),
        (
            "two parts",
            format!("{}.{}", b64url(H.as_bytes()), b64url(p.as_bytes())),
            json!({}),
            "ofb.verify.malformed",
        ),
        (
            "padded base64",
            format!("{}=.{}.AA", b64url(H.as_bytes()), b64url(p.as_bytes())),
            json!({}),
            "ofb.verify.malformed",
        ),
        (
            "header is an array",
            craft("[1]", &p, main, 18)?,
            json!({}),
            "ofb.verify.malformed",
        ),
        (
            "duplicate alg member",
            craft(
                r#"{"alg":"none","alg":"PS256","kid":"selo-test-1","typ":"JWT"}"#,
                &p,
                main,
                19,
            )?,
            json!({}),
            "ofb.verify.malformed",
        ),
        (
            "payload not JSON",
            craft(H, "not json", main, 20)?,
            json!({}),
            "ofb.verify.malformed",
        ),
        (
            "alg none",
            craft(
                r#"{"alg":"none","kid":"selo-test-1","typ":"JWT"}"#,
                &p,
                None,
                0,
            )?,
            json!({}),
            "ofb.verify.alg_not_allowed",
        ),
        (
            "alg RS256 with a valid PKCS#1 v1.5 signature",
            craft(
                r#"{"alg":"RS256","kid":"selo-test-1","typ":"JWT"}"#,
                &p,
                Some((&keys.main, V15)),
                21,
            )?,
            json!({}),
            "ofb.verify.alg_not_allowed",
        ),
        (
            "alg HS256",
            craft(
                r#"{"alg":"HS256","kid":"selo-test-1","typ":"JWT"}"#,
                &p,
                main,
                22,
            )?,
            json!({}),
            "ofb.verify.alg_not_allowed",
        ),
        (
            "alg missing",
            craft(r#"{"kid":"selo-test-1","typ":"JWT"}"#, &p, main, 23)?,
            json!({}),
            "ofb.verify.alg_not_allowed",
        ),
        (
            "crit present",
            craft(
                r#"{"alg":"PS256","kid":"selo-test-1","typ":"JWT","crit":["exp"]}"#,
                &p,
                main,
                24,
            )?,
            json!({}),
            "ofb.verify.crit_unsupported",
        ),
        (
            "typ absent, request profile",
            craft(r#"{"alg":"PS256","kid":"selo-test-1"}"#, &p, main, 25)?,
            json!({}),
            "ofb.verify.typ",
        ),
        (
            "typ JOSE",
            craft(
                r#"{"alg":"PS256","kid":"selo-test-1","typ":"JOSE"}"#,
                &p,
                main,
                26,
            )?,
            json!({"typ": "absent-or-jwt"}),
            "ofb.verify.typ",
        ),
        (
            "kid missing",
            craft(r#"{"alg":"PS256","typ":"JWT"}"#, &p, main, 27)?,
            json!({}),
            "ofb.verify.kid_missing",
        ),
        (
            "kid unknown",
            craft(&hdr("nope"), &p, main, 28)?,
            json!({}),
            "ofb.verify.kid_not_found",
        ),
        (
            "kid of a use=enc key",
            craft(&hdr("enc-only"), &p, Some((&keys.other, Pss)), 29)?,
            json!({}),
            "ofb.verify.kid_not_found",
        ),
        (
            "kid of an alg=RS256 key",
            craft(&hdr("rs256-only"), &p, Some((&keys.other, Pss)), 30)?,
            json!({}),
            "ofb.verify.kid_not_found",
        ),
        (
            "kid of an EC key",
            craft(&hdr("ec-1"), &p, main, 31)?,
            json!({}),
            "ofb.verify.kid_not_found",
        ),
        (
            "kid shared by two keys",
            craft(&hdr("dup"), &p, main, 32)?,
            json!({}),
            "ofb.verify.kid_ambiguous",
        ),
        (
            "1024-bit key",
            craft(&hdr("small-1024"), &p, Some((&keys.small, Pss)), 33)?,
            json!({}),
            "ofb.verify.key_too_small",
        ),
        (
            "signed by another key",
            craft(H, &p, Some((&keys.other, Pss)), 34)?,
            json!({}),
            "ofb.verify.bad_signature",
        ),
        (
            "PS256 header over a PKCS#1 v1.5 signature",
            craft(H, &p, Some((&keys.main, V15)), 35)?,
            json!({}),
            "ofb.verify.bad_signature",
        ),
        (
            "wrong aud",
            craft(H, &claims(json!({"aud": format!("{AUD}/x")})), main, 36)?,
            json!({}),
            "ofb.claims.aud",
        ),
        (
            "wrong iss",
            craft(H, &claims(json!({"iss": "other-org"})), main, 37)?,
            json!({}),
            "ofb.claims.iss",
        ),
        (
            "iat missing",
            craft(H, &claims(json!({"iat": null})), main, 38)?,
            json!({}),
            "ofb.claims.iat_missing",
        ),
        (
            "iat not a number",
            craft(H, &claims(json!({"iat": "yesterday"})), main, 39)?,
            json!({}),
            "ofb.claims.iat_format",
        ),
        (
            "iat 61 s old",
            craft(H, &claims(json!({"iat": NOW - 61})), main, 40)?,
            json!({}),
            "ofb.claims.iat_too_old",
        ),
        (
            "iat 61 s ahead",
            craft(H, &claims(json!({"iat": NOW + 61})), main, 41)?,
            json!({}),
            "ofb.claims.iat_in_future",
        ),
        (
            "exp passed",
            craft(H, &claims(json!({"exp": NOW - 61})), main, 42)?,
            json!({}),
            "ofb.claims.exp",
        ),
        (
            "nbf ahead",
            craft(H, &claims(json!({"nbf": NOW + 61})), main, 43)?,
            json!({}),
            "ofb.claims.nbf",
        ),
        (
            "jti missing",
            craft(H, &claims(json!({"jti": null})), main, 44)?,
            json!({}),
            "ofb.claims.jti",
        ),
        (
            "jti uppercase UUID (RFC 4122: the same UUID)",
            craft(H, &claims(json!({"jti": JTI.to_uppercase()})), main, 45)?,
            json!({}),
            "ok",
        ),
        (
            "jti of 257 characters, profile any",
            craft(H, &claims(json!({"jti": "n".repeat(257)})), main, 47)?,
            json!({"jti_format": "any"}),
            "ofb.claims.jti",
        ),
        (
            "jti empty, profile any",
            craft(H, &claims(json!({"jti": ""})), main, 46)?,
            json!({"jti_format": "any"}),
            "ofb.claims.jti",
        ),
    ];
    let mut out = Vec::new();
    for (name, token, profile, expect) in cases.drain(..) {
        out.push(json!({"name": name, "token": token, "profile": profile, "expect": expect}));
    }
    Ok(json!({
        "description": "Where selo's verification (SPEC §3.2) must stop. `expect` is \"ok\" or a selo error code; `profile` overrides OfbProfile defaults; statuses and error-body codes come from the code table in docs/protocols/ofb.md.",
        "now": NOW,
        "expected_aud": AUD,
        "expected_iss": ISS,
        "jwks": jwks(keys)?.to_value()?,
        "cases": out,
    }))
}

fn jwk_vectors(root: &Path) -> Res<Value> {
    let mut cases = Vec::new();
    for name in [
        "rsa2048-ofb.pem",
        "rsa2048-ofb-other.pem",
        "rsa1024-client.pem",
    ] {
        let pem = std::fs::read(root.join("tests/vectors/external/keys").join(name))?;
        let jwk = Jwk::import(&pem)?;
        cases.push(json!({
            "pem": format!("external/keys/{name}"),
            "private_jwk": jwk.to_value()?,
            "public_jwk": jwk.to_public().to_value()?,
            "thumbprint": jwk.thumbprint()?,
        }));
    }
    Ok(json!({
        "description": "Fixture PEM keys as RSA JWKs (members kty, n, e, then d, p, q, dp, dq, qi) and their RFC 7638 SHA-256 thumbprints.",
        "cases": cases,
    }))
}

/// Every vector file: (path relative to the repository root, content).
pub fn generate(root: &Path) -> Res<Vec<(PathBuf, String)>> {
    let keys = load(root)?;
    Ok(vec![
        (
            PathBuf::from("tests/vectors/ofb/sign.json"),
            pretty(&sign_vectors(&keys)?)?,
        ),
        (
            PathBuf::from("tests/vectors/ofb/verify.json"),
            pretty(&verify_vectors(&keys)?)?,
        ),
        (
            PathBuf::from("tests/vectors/ofb/jwk.json"),
            pretty(&jwk_vectors(root)?)?,
        ),
    ])
}

#[allow(dead_code)]
fn main() -> Res<()> {
    vector_files::write_under_repo_root(generate(&vector_files::repo_root())?)
}
