//! selo's BMP bodies and MACs against an independent Python implementation
//! (`tests/interop/bmp_hmac.py`, stdlib `hmac`/`hashlib`/`json`/`decimal`).
//! Run with `SELO_PYTHON=/work/main/.venv/bin/python` (any Python 3 works).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::indexing_slicing
)]

mod common;

use selo::bmp::{self, Account, BmpClient, BmpProfile, HmacKey, Money, Transaction};
use selo::encoding::b64;
use serde_json::{Value, json};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn templates() -> Vec<&'static str> {
    vec![
        r#"{"TipoTransacao":"EnvioTED","DataTransacao":"2025-02-14","Valor":1345.83}"#,
        r#"{ "idempotencyKey" : "0f9a3c1e-8b2d-4f6a-9c7e-1d2b3a4c5e6f", "detalhes": {"valor": 100, "z": 1, "a": 2}}"#,
        r#"{"detalhes":{"tipoTransacao":"Pagamento de Boleto","valor":"0.5","descricao":"Pagamento ação € — 日本 😀"}}"#,
        r#"{"texto":"aspas \" barra \\ nova\nlinha\ttab \u0001 \u001f \u007f \u2028","valor":"12.3"}"#,
        r#"{"lista":[{"valor":1},{"valor":2.5},{"tarifa":"3"}],"taxa":1.50,"grande":12345678901234567890,"exp":1E+2}"#,
        r#"{"Valor":"99999999999.99","n":null,"b":[true,false,[]],"o":{}}"#,
    ]
}

#[test]
fn bodies_and_macs_equal_python() {
    let key = HmacKey::generate(&mut selo::rng::seeded([9; 32]));
    let profile = BmpProfile {
        money_fields: vec!["tarifa".into()],
        ..Default::default()
    };
    let client = BmpClient::new(key.clone(), profile.clone());
    let mut rng = selo::rng::seeded([10; 32]);
    let cases: Vec<Value> = templates()
        .iter()
        .map(|t| json!({"op": "build", "key": key.expose_secret(), "template": t, "money_fields": ["tarifa"]}))
        .collect();
    let out = common::python("bmp_hmac.py", &json!({ "cases": cases }));
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), templates().len());
    for (t, r) in templates().iter().zip(results) {
        assert!(r.get("error").is_none(), "python refused {t}: {r}");
        let signed = client.sign_json(t.as_bytes(), &mut rng).unwrap();
        assert_eq!(
            b64(signed.body()),
            r["body_b64"].as_str().unwrap(),
            "body of {t}: {}",
            String::from_utf8_lossy(signed.body())
        );
        assert_eq!(
            signed.hmac(),
            r["hmac_hex"].as_str().unwrap(),
            "hmac of {t}"
        );
    }
}

#[test]
fn typed_bodies_macs_equal_python() {
    let key = HmacKey::generate(&mut selo::rng::seeded([11; 32]));
    let client = BmpClient::new(key.clone(), BmpProfile::default());
    let acct = Account {
        agencia: "0001".into(),
        conta: "98765".into(),
        tipo_conta: 3,
        documento_federal: Some("12ABC34501DE35".into()),
        nome: Some("Empresa Ação Ltda".into()),
        ispb: Some("13370835".into()),
        ..Default::default()
    };
    let txs = [
        Transaction::Pix(bmp::PixTransfer {
            data_transacao: "2026-11-23T10:15:00".into(),
            conta_origem: acct.clone(),
            conta_destino: None,
            valor: Money::parse("0.07").unwrap(),
            chave_pix: "+5511987654321".into(),
            tipo_chave: 2,
        }),
        Transaction::InternalTransfer(bmp::Transfer {
            data_transacao: "2026-11-23".into(),
            conta_origem: acct.clone(),
            conta_destino: acct,
            valor: Money::from_cents(100_000_000),
        }),
    ];
    let mut rng = selo::rng::seeded([12; 32]);
    let signed: Vec<_> = txs
        .iter()
        .map(|t| client.sign_transaction(t, &mut rng).unwrap())
        .collect();
    let mut cases = Vec::new();
    for s in &signed {
        cases.push(json!({"op": "hmac", "key": key.expose_secret(), "body_b64": b64(s.body())}));
        // Python rebuilds the canonical body from ours and must get the same bytes.
        cases.push(json!({"op": "build", "key": key.expose_secret(), "template": String::from_utf8(s.body().to_vec()).unwrap()}));
    }
    let out = common::python("bmp_hmac.py", &json!({ "cases": cases }));
    let r = out["results"].as_array().unwrap();
    for (i, s) in signed.iter().enumerate() {
        assert_eq!(s.hmac(), r[2 * i]["hmac_hex"].as_str().unwrap());
        assert_eq!(b64(s.body()), r[2 * i + 1]["body_b64"].as_str().unwrap());
        let b64_profile = BmpProfile {
            mac_encoding: bmp::MacEncoding::Base64,
            ..Default::default()
        };
        assert_eq!(
            bmp::sign(&key, s.body(), &b64_profile),
            r[2 * i]["hmac_base64"].as_str().unwrap()
        );
    }
}

#[test]
fn rfc4231_hmac_sha512_equals_python() {
    // RFC 4231 test cases 1-4, 6, 7 (case 5 is truncated output).
    let cases = [
        ("0b".repeat(20), hex(b"Hi There")),
        (hex(b"Jefe"), hex(b"what do ya want for nothing?")),
        ("aa".repeat(20), "dd".repeat(50)),
        ("0102030405060708090a0b0c0d0e0f10111213141516171819".to_string(), "cd".repeat(50)),
        ("aa".repeat(131), hex(b"Test Using Larger Than Block-Size Key - Hash Key First")),
        ("aa".repeat(131), hex(b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.")),
    ];
    let input: Vec<Value> = cases
        .iter()
        .map(|(k, d)| json!({"op": "raw", "key_hex": k, "data_hex": d}))
        .collect();
    let out = common::python("bmp_hmac.py", &json!({ "cases": input }));
    let unhex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    for ((k, d), r) in cases.iter().zip(out["results"].as_array().unwrap()) {
        assert_eq!(
            hex(&selo::crypto::hmac_sha512(&unhex(k), &unhex(d))),
            r["hmac_hex"].as_str().unwrap()
        );
    }
    // Known answer of case 2, so a shared mistake cannot hide.
    assert!(
        out["results"][1]["hmac_hex"]
            .as_str()
            .unwrap()
            .starts_with("164b7a7bfcf819e2")
    );
}
