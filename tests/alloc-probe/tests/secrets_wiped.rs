//! Secrets are wiped (issue 19): a full Safra client flow — handshake,
//! authentication, a registration, a renewal, export and import — runs
//! under an allocator that scans every block freed during the client's
//! calls for the session's AES key (raw and base64), its token and its
//! private key (PKCS#8, raw and base64). Any hit is a copy nobody wiped.
//! The flow runs twice with the same seeds: once to learn the secrets, once
//! armed. The bank role's own copies are not under test (its calls run
//! disarmed); the request handed to the host, which carries the bearer
//! token to the host's HTTP stack, is dropped disarmed too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use selo_alloc_probe as probe;

#[global_allocator]
static ALLOC: probe::Probe = probe::Probe;

use selo::http::PreparedRequest;
use selo::keys::RsaPrivateKey;
use selo::safra::bank::{Bank, BankConfig};
use selo::safra::boleto::BoletoRequest;
use selo::safra::{BaseUrl, Operation, Outcome, SafraProfile, Session};

const NOW: u64 = 1_800_000_000;

fn vector(rel: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vectors")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn key(name: &str) -> RsaPrivateKey {
    RsaPrivateKey::import(vector(&format!("external/keys/{name}.pem")).as_bytes()).unwrap()
}

struct Secrets {
    aes: Vec<u8>,
    aes_b64: Vec<u8>,
    token: Vec<u8>,
    pkcs8: Vec<u8>,
    pkcs8_b64: Vec<u8>,
}

/// One exchange: the client's calls armed when `arm`, the bank's never.
fn run(arm: bool) -> (Secrets, Vec<usize>) {
    let mut crng = selo::rng::seeded([1; 32]);
    let mut brng = selo::rng::seeded([2; 32]);
    let mut bank = Bank::new(
        BankConfig {
            profile: SafraProfile::default(),
            bank_key: key("rsa1024-bank"),
            token_lifetime: 600,
        },
        &mut brng,
    )
    .unwrap();
    let mut session = Session::new(
        SafraProfile::default(),
        BaseUrl::parse("http://bank.test/psd"),
        "CLIENTE01",
    )
    .unwrap();
    session.set_client_key(key("rsa1024-client"));
    let mut boleto = BoletoRequest::from_json(&vector("safra/boleto-sample.json")).unwrap();
    boleto.documento.nosso_numero = 190_000_001;
    let mut hits = vec![0usize; 16];
    let mut add = |h: Vec<usize>| {
        for (a, b) in hits.iter_mut().zip(h) {
            *a += b;
        }
    };
    let client = |arm: bool, f: &mut dyn FnMut()| {
        if arm {
            probe::armed(&mut *f).1
        } else {
            f();
            vec![0; 16]
        }
    };
    for (op, now) in [
        (Operation::Authenticate, NOW),
        (Operation::RegisterBoleto(boleto), NOW + 1),
        (Operation::Renew, NOW + 2),
    ] {
        for _ in 0..10 {
            let mut prepared: Option<(selo::safra::RequestId, PreparedRequest)> = None;
            add(client(arm, &mut || {
                prepared = Some(session.prepare_next(&op, now, &mut crng).unwrap());
            }));
            let (id, req) = prepared.take().unwrap();
            let path = req.url.trim_start_matches("http://bank.test").to_string();
            let resp = bank.handle(&path, &req.headers, &req.body, now, &mut brng);
            drop(req);
            let mut done = false;
            add(client(arm, &mut || {
                let out = session.handle_response(id, &resp, now, &mut crng).unwrap();
                done = matches!(out, Outcome::Done(_));
                drop(out);
            }));
            drop(resp);
            if done {
                break;
            }
        }
    }
    // Export and import (the blob holds every secret), then drop both.
    add(client(arm, &mut || {
        let blob = session.export().unwrap();
        let again = Session::import(&blob).unwrap();
        drop(again);
        drop(blob);
    }));
    let aes = bank
        .session_key(session.session_id())
        .unwrap()
        .as_bytes()
        .to_vec();
    let token = session.token().unwrap().token.as_bytes().to_vec();
    let pkcs8 = key("rsa1024-client").to_pkcs8_der().unwrap().to_vec();
    let secrets = Secrets {
        aes_b64: selo::encoding::b64(&aes).into_bytes(),
        aes,
        token,
        // The private exponent's bytes sit in the middle of the document.
        pkcs8_b64: selo::encoding::b64(&pkcs8).into_bytes()[200..300].to_vec(),
        pkcs8: pkcs8[150..214].to_vec(),
    };
    drop(session);
    (secrets, hits)
}

#[test]
fn the_client_leaves_no_copy_of_a_secret_in_freed_memory() {
    let (s, _) = run(false);
    let names = [
        "AES key",
        "AES key (base64)",
        "token",
        "private key (PKCS#8)",
        "private key (base64)",
    ];
    let pats: [&[u8]; 5] = [
        &s.aes,
        &s.aes_b64,
        &s.token[..s.token.len().min(128)],
        &s.pkcs8,
        &s.pkcs8_b64,
    ];
    probe::set_patterns(&pats);
    // The probe finds what it looks for: a plain copy freed while armed.
    let (_, seen) = probe::armed(|| drop(s.token.clone()));
    assert_eq!(seen[2], 1, "the probe sees an unwiped copy of the token");
    probe::set_patterns(&pats);
    let (again, hits) = run(true);
    assert_eq!(again.aes, s.aes, "the second run is the same run");
    assert_eq!(again.token, s.token);
    let found: Vec<String> = names
        .iter()
        .zip(&hits)
        .filter(|(_, n)| **n > 0)
        .map(|(name, n)| format!("{name}: {n} freed block(s)"))
        .collect();
    assert!(found.is_empty(), "secrets left in freed memory: {found:?}");
}
