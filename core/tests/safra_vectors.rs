#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Every case of the known-answer vectors made by independent
//! implementations (`tests/vectors/external/safra/`), plus our own
//! deterministic vectors (`tests/vectors/safra/`).

mod common;

use selo::crypto::{Padding, default_provider};
use selo::encoding::{b64, b64_decode};
use selo::keys::{KeyFormat, RsaPrivateKey, RsaPublicKey};
use selo::rng::seeded;
use selo::safra::envelope::{IvLog, SessionKey, open_bytes, seal_with_iv};
use selo::safra::handshake::{json_body, parse_stage1_reply, parse_stage2_reply, stage1_jwk};
use selo::safra::{SafraProfile, SignatureMessage, token};
use serde_json::Value;

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn stage1_jwk_for_every_key_format_and_the_bank_reply() {
    let v = common::vector_json("external/safra/stage1.json");
    let key = RsaPrivateKey::import(s(&v["client_private_pkcs8_pem"]).as_bytes()).unwrap();
    let sid = s(&v["session_id"]);
    let mut rng = seeded([0; 32]);
    for (name, expected) in v["jwk_by_key_format"].as_object().unwrap() {
        let fmt = KeyFormat::parse(name).unwrap_or_else(|| panic!("unknown key format {name}"));
        let jwk = stage1_jwk(default_provider(), &key, sid, fmt, &mut rng).unwrap();
        assert_eq!(jwk, s(expected), "{name}");
        assert!(jwk.starts_with(s(&v["signature_b64"])));
    }
    let bank = parse_stage1_reply(&json_body("jwk", s(&v["bank_reply_jwk"]))).unwrap();
    let expected =
        RsaPublicKey::import(&b64_decode(s(&v["bank_public_spki_der_b64"])).unwrap()).unwrap();
    assert_eq!(bank, expected);
}

#[test]
fn stage2_replies_under_every_padding_block_count_and_member() {
    let v = common::vector_json("external/safra/stage2.json");
    let client = RsaPrivateKey::import(s(&v["client_private_pkcs8_pem"]).as_bytes()).unwrap();
    let bank =
        RsaPublicKey::import(&b64_decode(s(&v["bank_public_spki_der_b64"])).unwrap()).unwrap();
    let expected_key = b64_decode(s(&v["aes_key_b64"])).unwrap();
    let mut rng = seeded([0; 32]);
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    for c in cases {
        let padding = Padding::parse(s(&c["padding"])).unwrap();
        let enc = s(&c["enc_jwk_b64"]);
        assert_eq!(
            b64_decode(enc).unwrap().len(),
            128 * c["blocks"].as_u64().unwrap() as usize
        );
        for (sig_field, message) in [
            ("bank_sig_over_key_b64", SignatureMessage::RawKey),
            (
                "bank_sig_over_key_base64_text_b64",
                SignatureMessage::KeyBase64Text,
            ),
        ] {
            let body = json_body("jwk", &format!("{enc}.{}", s(&v[sig_field])));
            for (paddings, messages) in [
                (vec![padding], vec![message]),
                (Padding::ALL.to_vec(), SignatureMessage::Auto.candidates()),
            ] {
                let agreed = parse_stage2_reply(
                    default_provider(),
                    &body,
                    &client,
                    &bank,
                    &paddings,
                    &messages,
                    &mut rng,
                )
                .unwrap_or_else(|e| panic!("{c} {sig_field}: {e}"));
                assert_eq!(agreed.key.as_bytes().as_slice(), expected_key.as_slice());
                assert_eq!(agreed.padding, padding, "{c}");
                assert_eq!(agreed.signature_message, message);
            }
            // The wrong signature message must not verify.
            let wrong = if message == SignatureMessage::RawKey {
                SignatureMessage::Plaintext
            } else {
                SignatureMessage::RawKey
            };
            let e = parse_stage2_reply(
                default_provider(),
                &body,
                &client,
                &bank,
                &[padding],
                &[wrong],
                &mut rng,
            )
            .unwrap_err();
            assert_eq!(e.code(), "safra.handshake.bad_signature");
        }
    }
}

#[test]
fn stage2_parametros_signature_is_deterministic_pkcs1() {
    let v = common::vector_json("external/safra/stage2.json");
    let stage1 = common::vector_json("external/safra/stage1.json");
    let client = RsaPrivateKey::import(s(&v["client_private_pkcs8_pem"]).as_bytes()).unwrap();
    let sig = default_provider()
        .sign(
            &client,
            selo::crypto::SignatureScheme::Pkcs1v15Sha256,
            s(&stage1["session_id"]).as_bytes(),
            &mut seeded([0; 32]),
        )
        .unwrap();
    assert_eq!(b64(&sig), s(&v["parametros_signature_b64"]));
}

#[test]
fn envelopes_seal_and_open_including_counter_carry() {
    let v = common::vector_json("external/safra/envelope.json");
    assert_eq!(selo::safra::envelope::header_b64(), s(&v["header_b64"]));
    for c in v["seal_and_open"].as_array().unwrap() {
        let key = SessionKey::from_b64(s(&c["key_b64"])).unwrap();
        let iv: [u8; 16] = s(&c["iv_text"]).as_bytes().try_into().unwrap();
        let env = seal_with_iv(&key, &iv, s(&c["plaintext"]).as_bytes());
        assert_eq!(env, s(&c["envelope"]));
        let (opened, json) = IvLog::default()
            .open(&key, s(&c["envelope"]), true)
            .unwrap();
        assert_eq!(&opened.plaintext[..], s(&c["plaintext"]).as_bytes());
        assert!(json.is_object());
    }
    let carry = v["open_only_counter_carry"].as_array().unwrap();
    assert_eq!(carry.len(), 3);
    for c in carry {
        let key = SessionKey::from_b64(s(&c["key_b64"])).unwrap();
        let opened = open_bytes(&key, s(&c["envelope"])).unwrap();
        assert_eq!(
            &opened.plaintext[..],
            b64_decode(s(&c["plaintext_b64"])).unwrap().as_slice(),
            "{}",
            c["note"]
        );
        assert_eq!(b64(&opened.iv), s(&c["iv_b64"]));
        // Sealing with the same binary IV reproduces the envelope.
        let again = seal_with_iv(&key, &opened.iv, &opened.plaintext);
        assert_eq!(again, s(&c["envelope"]));
    }
}

#[test]
fn token_schedule_from_local_receive_time() {
    let v = common::vector_json("external/safra/token.json");
    let t = token::schedule(
        s(&v["token"]),
        v["t0"].as_u64().unwrap(),
        &SafraProfile::default(),
    )
    .unwrap();
    assert_eq!(t.lifetime, v["lifetime"].as_u64().unwrap());
    assert_eq!(t.renew_at, v["renew_at"].as_u64().unwrap());
    assert_eq!(t.expires_at, v["expires_at"].as_u64().unwrap());
    let claims = token::decode_claims(s(&v["token"])).unwrap();
    assert_eq!(Value::Object(claims), v["claims"]);
}
