//! Generates `tests/vectors/safra/generated.json`: deterministic vectors of
//! our own (seeded ChaCha20 RNG, the RustCrypto provider, fixed keys and
//! clock) that every binding replays. Shared by the `vectors_safra` example
//! (which writes the file) and the test that checks the file is current.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use selo::crypto::{Padding, RustCryptoProvider};
use selo::encoding::b64;
use selo::keys::{KeyFormat, RsaPrivateKey};
use selo::rng::seeded;
use selo::safra::bank::{Bank, BankConfig};
use selo::safra::boleto::{BoletoQuery, BoletoRequest};
use selo::safra::envelope::{SessionKey, random_iv, seal_with_iv};
use selo::safra::handshake::{bank_stage2_reply, stage1_jwk};
use selo::safra::{BaseUrl, Operation, Outcome, SafraProfile, Session, SignatureMessage};
use serde_json::{Value, json};
use std::path::Path;

static PROVIDER: RustCryptoProvider = RustCryptoProvider;

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join("tests/vectors").join(rel)).unwrap()
}

/// Builds the whole vector document.
pub fn generate(root: &Path) -> Value {
    let client_pem = read(root, "external/keys/rsa1024-client.pem");
    let bank_pem = read(root, "external/keys/rsa1024-bank.pem");
    let client = RsaPrivateKey::import(client_pem.as_bytes()).unwrap();
    let bank = RsaPrivateKey::import(bank_pem.as_bytes()).unwrap();
    let sid = "6a1f0c4e-2b3d-4e5f-8a9b-0c1d2e3f4a5b";

    let stage1: Vec<Value> = KeyFormat::ALL
        .iter()
        .map(|&f| json!({"key_format": f.as_str(), "session_id": sid, "jwk": stage1_jwk(&PROVIDER, &client, sid, f, &mut seeded([1; 32])).unwrap()}))
        .collect();

    let key = SessionKey::new(*b"selo-vector-key-0123456789abcdef");
    let mut stage2 = vec![];
    for padding in Padding::ALL {
        for message in [
            SignatureMessage::RawKey,
            SignatureMessage::KeyBase64Text,
            SignatureMessage::Plaintext,
        ] {
            let body = bank_stage2_reply(
                &PROVIDER,
                &client.public_key(),
                &bank,
                &key,
                padding,
                message,
                &mut seeded([2; 32]),
            )
            .unwrap();
            stage2.push(json!({
                "padding": padding.as_str(),
                "signature_message": serde_json::to_value(message).unwrap(),
                "reply_body": String::from_utf8(body).unwrap(),
                "aes_key_b64": key.to_b64().as_str(),
            }));
        }
    }

    let mut rng = seeded([3; 32]);
    let envelopes: Vec<Value> = [
        r#"{"idEstrategia":"autenticar/psd","versaoAplicacao":1,"credenciais":{},"cliente":"CLIENTE01"}"#,
        r#"{"documento":{"nossoNumero":"000000123456789","seuNumero":"0000004021"}}"#,
        r#"{"texto":"ação, pão e €"}"#,
    ]
    .iter()
    .map(|p| {
        let iv = random_iv(&mut rng);
        json!({"key_b64": key.to_b64().as_str(), "iv_text": String::from_utf8(iv.to_vec()).unwrap(), "plaintext": p, "envelope": seal_with_iv(&key, &iv, p.as_bytes())})
    })
    .collect();

    json!({
        "description": "selo's own deterministic Safra vectors (seeded ChaCha20, RustCrypto provider). Regenerate with: cargo run -p selo --example vectors_safra",
        "client_private_pkcs8_pem": client_pem,
        "bank_private_pkcs8_pem": bank_pem,
        "stage1": stage1,
        "stage2": stage2,
        "envelopes": envelopes,
        "transcript": transcript(root, &client, &bank),
    })
}

/// A whole client↔bank flow: every request and response, byte for byte.
fn transcript(root: &Path, client: &RsaPrivateKey, bank: &RsaPrivateKey) -> Value {
    let boleto = BoletoRequest::from_json(&read(root, "safra/boleto-sample.json")).unwrap();
    let mut client_rng = seeded([4; 32]);
    let mut bank_rng = seeded([5; 32]);
    let profile = SafraProfile::default();
    let mut session = Session::new(
        profile.clone(),
        BaseUrl::parse("http://127.0.0.1:8080/psd"),
        "CLIENTE01",
    )
    .unwrap();
    session.set_provider(&PROVIDER);
    session.set_client_key(client.clone());
    let mut b = Bank::new(
        BankConfig {
            profile: profile.clone(),
            bank_key: bank.clone(),
            token_lifetime: 600,
        },
        &mut bank_rng,
    )
    .unwrap();
    b.set_provider(&PROVIDER);
    let now = 1_800_000_000u64;
    let ops = [
        Operation::Authenticate,
        Operation::Renew,
        Operation::RegisterBoleto(boleto),
        Operation::QueryBoleto(BoletoQuery {
            nosso_numero: "000000123456789".into(),
            seu_numero: "0000004021".into(),
        }),
    ];
    let mut steps = vec![];
    for op in &ops {
        loop {
            let (id, req) = session.prepare_next(op, now, &mut client_rng).unwrap();
            let path = req
                .url
                .trim_start_matches("http://127.0.0.1:8080")
                .to_string();
            let resp = b.handle(&path, &req.headers, &req.body, now, &mut bank_rng);
            steps.push(json!({
                "request": {"method": req.method, "url": req.url, "headers": req.headers, "body": String::from_utf8(req.body.clone()).unwrap()},
                "response": {"status": resp.status, "headers": resp.headers, "body": String::from_utf8(resp.body.clone()).unwrap()},
            }));
            if let Outcome::Done(_) = session
                .handle_response(id, &resp, now, &mut client_rng)
                .unwrap()
            {
                break;
            }
        }
    }
    json!({
        "profile": serde_json::to_value(&profile).unwrap(),
        "base_url": "http://127.0.0.1:8080/psd",
        "cliente": "CLIENTE01",
        "now": now,
        "client_rng_seed_byte": 4,
        "bank_rng_seed_byte": 5,
        "bank_token_lifetime": 600,
        "operations": ["authenticate", "renew", "register", "query"],
        "steps": steps,
        "final_session_key_b64": session.session_key().map(|k| b64(k.as_bytes())),
    })
}
