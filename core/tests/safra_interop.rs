#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Cross-checks of the Safra cryptography against Python's `cryptography`
//! (OpenSSL): (a) it decrypts what our client encrypts under each padding,
//! (b) we decrypt what it encrypts (single- and multi-block), (c) it verifies
//! our signatures and we verify its signatures, (d) AES-256-CTR envelopes
//! both ways with fixed IVs, including counter carries and the 128-bit wrap.

mod common;

use selo::crypto::{Padding, SignatureScheme, default_provider, encrypt_chunked};
use selo::encoding::{b64, b64_decode};
use selo::keys::{KeyFormat, RsaPrivateKey};
use selo::rng::seeded;
use selo::safra::SignatureMessage;
use selo::safra::envelope::{SessionKey, open_bytes, seal_with_iv};
use selo::safra::handshake::{json_body, parse_stage2_reply, stage1_jwk, stage2_parametros};
use serde_json::{Value, json};

fn pem(name: &str) -> String {
    common::vector_text(&format!("external/keys/{name}.pem"))
}

fn py(ops: Vec<Value>) -> Vec<Value> {
    let out = common::python("safra_crypto.py", &json!({ "ops": ops }));
    out["results"].as_array().unwrap().clone()
}

#[test]
fn python_decrypts_what_we_encrypt_under_every_padding() {
    let bank_pem = pem("rsa1024-bank");
    let bank = RsaPrivateKey::import(bank_pem.as_bytes()).unwrap();
    let client = RsaPrivateKey::import(pem("rsa1024-client").as_bytes()).unwrap();
    let mut rng = seeded([5; 32]);
    let sid = "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
    let long: Vec<u8> = (0..300u32).map(|i| (i % 251) as u8).collect();
    let mut ops = vec![];
    let mut expected = vec![];
    for padding in Padding::ALL {
        let p = stage2_parametros(
            default_provider(),
            &bank.public_key(),
            &client,
            sid,
            padding,
            &mut rng,
        )
        .unwrap();
        let (enc, sig) = p.split_once('.').unwrap();
        ops.push(json!({"op": "rsa_decrypt", "key_pem": bank_pem, "padding": padding.as_str(), "ct": enc}));
        expected.push(json!(b64(sid.as_bytes())));
        ops.push(json!({"op": "verify", "key_pem": pem("rsa1024-client"), "msg": b64(sid.as_bytes()), "sig": sig}));
        expected.push(json!(true));
        // Chunked: 300 bytes need several blocks under every padding.
        let ct = encrypt_chunked(
            default_provider(),
            &bank.public_key(),
            padding,
            &long,
            &mut rng,
        )
        .unwrap();
        assert!(
            ct.len() >= 3 * 128,
            "{padding:?} chunked into {} bytes",
            ct.len()
        );
        ops.push(json!({"op": "rsa_decrypt", "key_pem": bank_pem, "padding": padding.as_str(), "ct": b64(&ct)}));
        expected.push(json!(b64(&long)));
    }
    assert_eq!(py(ops), expected);
}

#[test]
fn python_verifies_our_stage1_signature_and_reads_our_key_in_every_format() {
    let client_pem = pem("rsa1024-client");
    let client = RsaPrivateKey::import(client_pem.as_bytes()).unwrap();
    let sid = "0f9e8d7c-6b5a-4c3d-8e1f-a0b1c2d3e4f5";
    let spki = py(vec![json!({"op": "spki_der", "key_pem": client_pem})]);
    for fmt in KeyFormat::ALL {
        let jwk = stage1_jwk(default_provider(), &client, sid, fmt, &mut seeded([1; 32])).unwrap();
        let parts: Vec<&str> = jwk.split('.').collect();
        assert_eq!(parts.len(), 5);
        let key_bytes = b64_decode(parts[4]).unwrap();
        // Python parses the key part itself (PEM, DER SPKI or DER PKCS#1),
        // finds the client's key in it, and checks the signature with it.
        let key = if fmt == KeyFormat::PemSpki {
            json!({"key_pem": String::from_utf8(key_bytes).unwrap()})
        } else {
            json!({"key_der": b64(&key_bytes)})
        };
        let mut read = key.clone();
        read["op"] = json!("spki_der");
        let mut verify = key;
        verify["op"] = json!("verify");
        verify["msg"] = json!(b64(sid.as_bytes()));
        verify["sig"] = json!(parts[0]);
        let mut tampered = verify.clone();
        tampered["msg"] = json!(b64(b"another session id"));
        let r = py(vec![read, verify, tampered]);
        assert_eq!(r[0], spki[0], "{fmt:?}: the key Python read");
        assert_eq!(r[1], json!(true), "{fmt:?}");
        assert_eq!(r[2], json!(false), "{fmt:?}: a changed message");
    }
}

#[test]
fn we_decrypt_and_verify_what_python_wraps_and_signs() {
    let client_pem = pem("rsa1024-client");
    let bank_pem = pem("rsa1024-bank");
    let client = RsaPrivateKey::import(client_pem.as_bytes()).unwrap();
    let bank = RsaPrivateKey::import(bank_pem.as_bytes()).unwrap();
    let key = [0x5au8; 32];
    let key_text = b64(&key);
    let jwk = format!(
        r#"{{"kty":"oct","alg":"A256CTR","kid":"{key_text}","use":"enc","note":"{}"}}"#,
        "x".repeat(90)
    );
    let mut ops = vec![json!({"op": "sign", "key_pem": bank_pem, "msg": b64(&key)})];
    for padding in Padding::ALL {
        ops.push(json!({"op": "rsa_encrypt", "key_pem": client_pem, "padding": padding.as_str(), "pt": b64(jwk.as_bytes())}));
    }
    let r = py(ops);
    let sig = r[0].as_str().unwrap();
    for (i, padding) in Padding::ALL.into_iter().enumerate() {
        let enc = r[i + 1].as_str().unwrap();
        assert!(
            b64_decode(enc).unwrap().len() >= 256,
            "multi-block for {padding:?}"
        );
        let body = json_body("jwk", &format!("{enc}.{sig}"));
        for candidates in [vec![padding], Padding::ALL.to_vec()] {
            let agreed = parse_stage2_reply(
                default_provider(),
                &body,
                &client,
                &bank.public_key(),
                &candidates,
                &[SignatureMessage::RawKey],
                &mut seeded([2; 32]),
            )
            .unwrap();
            assert_eq!(agreed.key.as_bytes(), &key);
            assert_eq!(agreed.padding, padding);
        }
    }
    // And a Python signature over the session id verifies with our provider.
    let sid = b"3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
    let sig = py(vec![
        json!({"op": "sign", "key_pem": client_pem, "msg": b64(sid)}),
    ]);
    let sig = b64_decode(sig[0].as_str().unwrap()).unwrap();
    default_provider()
        .verify(
            &client.public_key(),
            SignatureScheme::Pkcs1v15Sha256,
            sid,
            &sig,
        )
        .unwrap();
    assert!(
        default_provider()
            .verify(
                &client.public_key(),
                SignatureScheme::Pkcs1v15Sha256,
                b"other",
                &sig
            )
            .is_err()
    );
}

#[test]
fn envelopes_both_ways_with_fixed_ivs_and_counter_carries() {
    let key = SessionKey::new([0x11; 32]);
    let mut ivs: Vec<[u8; 16]> = vec![*b"AbCdEfGhIjKlMnOp", *b"zzzzzzzzzzzzzzzz"];
    let mut carry64 = [0u8; 16];
    carry64[8..].copy_from_slice(&[0xff; 8]);
    carry64[15] = 0xfe; // low 64 bits overflow after 2 blocks
    ivs.push(carry64);
    ivs.push([0xff; 16]); // the 128-bit counter wraps to zero
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut ops = vec![];
    for iv in &ivs {
        ops.push(
            json!({"op": "ctr", "key": b64(key.as_bytes()), "iv": b64(iv), "data": b64(&data)}),
        );
    }
    let r = py(ops);
    for (iv, ct) in ivs.iter().zip(&r) {
        let ours = seal_with_iv(&key, iv, &data);
        let ct_part = ours.rsplit('.').next().unwrap();
        assert_eq!(
            b64_decode(ct_part).unwrap(),
            b64_decode(ct.as_str().unwrap()).unwrap(),
            "iv {iv:?}"
        );
        let theirs = format!(
            "{}.{}.{}",
            selo::safra::envelope::header_b64(),
            b64(iv),
            ct.as_str().unwrap()
        );
        assert_eq!(
            &open_bytes(&key, &theirs).unwrap().plaintext[..],
            data.as_slice()
        );
    }
}
