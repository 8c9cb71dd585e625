#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Our deterministic vectors are current (regenerating changes nothing) and
//! the client role replays the transcript byte for byte.

mod common;
#[path = "common/gen_safra.rs"]
mod gen_safra;

use selo::keys::RsaPrivateKey;
use selo::safra::SignatureMessage;
use selo::safra::handshake::parse_stage2_reply;

#[test]
fn generated_vectors_are_current() {
    let fresh = gen_safra::generate(&common::root());
    let stored = common::vector_json("safra/generated.json");
    assert!(
        fresh == stored,
        "tests/vectors/safra/generated.json is stale: run `cargo run -p selo --example vectors_safra`"
    );
}

#[test]
fn stage2_vectors_decrypt_with_auto_candidates() {
    let v = common::vector_json("safra/generated.json");
    let client =
        RsaPrivateKey::import(v["client_private_pkcs8_pem"].as_str().unwrap().as_bytes()).unwrap();
    let bank =
        RsaPrivateKey::import(v["bank_private_pkcs8_pem"].as_str().unwrap().as_bytes()).unwrap();
    for c in v["stage2"].as_array().unwrap() {
        let agreed = parse_stage2_reply(
            selo::crypto::default_provider(),
            c["reply_body"].as_str().unwrap().as_bytes(),
            &client,
            &bank.public_key(),
            &selo::crypto::Padding::ALL,
            &SignatureMessage::Auto.candidates(),
            &mut selo::rng::seeded([0; 32]),
        )
        .unwrap();
        assert_eq!(agreed.padding.as_str(), c["padding"].as_str().unwrap());
        assert_eq!(
            serde_json::to_value(agreed.signature_message).unwrap(),
            c["signature_message"]
        );
        assert_eq!(
            agreed.key.to_b64().as_str(),
            c["aes_key_b64"].as_str().unwrap()
        );
    }
}

#[test]
fn client_replays_the_transcript_byte_for_byte() {
    use selo::http::ReceivedResponse;
    use selo::safra::boleto::{BoletoQuery, BoletoRequest};
    use selo::safra::{BaseUrl, Operation, Outcome, SafraProfile, Session};
    static PROVIDER: selo::crypto::RustCryptoProvider = selo::crypto::RustCryptoProvider;
    let v = common::vector_json("safra/generated.json");
    let t = &v["transcript"];
    let profile: SafraProfile = serde_json::from_value(t["profile"].clone()).unwrap();
    let mut s = Session::new(
        profile,
        BaseUrl::parse(t["base_url"].as_str().unwrap()),
        t["cliente"].as_str().unwrap(),
    )
    .unwrap();
    s.set_provider(&PROVIDER);
    s.set_client_key(
        RsaPrivateKey::import(v["client_private_pkcs8_pem"].as_str().unwrap().as_bytes()).unwrap(),
    );
    let mut rng = selo::rng::seeded([t["client_rng_seed_byte"].as_u64().unwrap() as u8; 32]);
    let now = t["now"].as_u64().unwrap();
    let boleto =
        BoletoRequest::from_json(&common::vector_text("safra/boleto-sample.json")).unwrap();
    let ops = [
        Operation::Authenticate,
        Operation::Renew,
        Operation::RegisterBoleto(boleto),
        Operation::QueryBoleto(BoletoQuery {
            nosso_numero: "000000123456789".into(),
            seu_numero: "0000004021".into(),
        }),
    ];
    let mut steps = t["steps"].as_array().unwrap().iter();
    for op in &ops {
        loop {
            let step = steps.next().expect("transcript ended early");
            let (id, req) = s.prepare_next(op, now, &mut rng).unwrap();
            let want = &step["request"];
            assert_eq!(req.url, want["url"].as_str().unwrap());
            assert_eq!(serde_json::to_value(&req.headers).unwrap(), want["headers"]);
            assert_eq!(
                String::from_utf8(req.body).unwrap(),
                want["body"].as_str().unwrap()
            );
            let r = &step["response"];
            let headers: Vec<(String, String)> =
                serde_json::from_value(r["headers"].clone()).unwrap();
            let resp = ReceivedResponse::new(
                r["status"].as_u64().unwrap() as u16,
                headers,
                r["body"].as_str().unwrap(),
            );
            if let Outcome::Done(_) = s.handle_response(id, &resp, now, &mut rng).unwrap() {
                break;
            }
        }
    }
    assert!(steps.next().is_none());
    assert_eq!(
        s.session_key().map(|k| k.to_b64().to_string()).as_deref(),
        t["final_session_key_b64"].as_str()
    );
}
