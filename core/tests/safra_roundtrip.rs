#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Client role against bank role, in memory, for every profile combination
//! that changes bytes, plus recovery from every fault the bank can inject.

mod common;

use common::safra::{boleto_sample as boleto, key};
use selo::crypto::Padding;
use selo::http::ReceivedResponse;
use selo::keys::KeyFormat;
use selo::rng::seeded;
use selo::safra::bank::Fault;
use selo::safra::boleto::BoletoQuery;
use selo::safra::{
    BaseUrl, NextAction, On480, Operation, Outcome, PaddingChoice, Reply, SafraProfile, Session,
    SignatureMessage, State,
};

/// The log holds the status of each exchange.
type World = common::safra::World<u16>;

impl World {
    fn new(client: SafraProfile, bank: SafraProfile) -> World {
        World::start(client, bank, 9)
    }

    fn exchange(&mut self, op: &Operation) -> Result<Outcome, selo::safra::Error> {
        let sent = self.prepare(op)?;
        let resp = self.deliver(&sent);
        self.log.push((sent.service, resp.status));
        self.session
            .handle_response(sent.id, &resp, self.now, &mut self.rng)
    }

    fn run(&mut self, op: Operation) -> Result<Reply, selo::safra::Error> {
        self.run_until_done(20, |w| w.exchange(&op))
    }
}

fn full_flow(w: &mut World) {
    let r = w.run(Operation::Authenticate).unwrap();
    assert!(matches!(r, Reply::Authenticated(_)), "{r:?}");
    assert_eq!(w.session.state(), State::Authenticated);
    let r = w.run(Operation::RegisterBoleto(boleto())).unwrap();
    let Reply::BoletoRegistered(reg) = r else {
        panic!("{r:?}")
    };
    assert_eq!(reg.status_processamento.as_ref().unwrap().codigo, Some(0));
    let doc = reg.documento.unwrap();
    assert_eq!(doc.codigo_barras.as_deref().map(str::len), Some(44));
    let q = BoletoQuery {
        nosso_numero: doc.nosso_numero.unwrap(),
        seu_numero: "0000004021".into(),
    };
    let Reply::BoletoQueried(found) = w.run(Operation::QueryBoleto(q)).unwrap() else {
        panic!()
    };
    assert_eq!(
        found.documento.unwrap().registrado_cip.as_deref(),
        Some("S")
    );
    // Client and bank agree on the key.
    let sid = w.session.session_id().to_string();
    assert_eq!(w.session.session_key(), w.bank.session_key(&sid));
}

#[test]
fn every_padding_key_format_and_signature_message() {
    let messages = [
        SignatureMessage::RawKey,
        SignatureMessage::KeyBase64Text,
        SignatureMessage::Plaintext,
    ];
    for padding in Padding::ALL {
        for key_format in KeyFormat::ALL {
            for message in messages {
                let p = SafraProfile {
                    padding: PaddingChoice::from_padding(padding),
                    key_format,
                    signature_message: message,
                    ..SafraProfile::default()
                };
                let mut w = World::new(p.clone(), p);
                full_flow(&mut w);
                assert_eq!(w.session.padding_winner(), Some(padding));
                assert_eq!(w.session.signature_winner(), Some(message));
                assert_eq!(
                    w.services(),
                    [
                        "psd001:200",
                        "psd001:200",
                        "psd005:200",
                        "psd050:200",
                        "psd052:200"
                    ],
                    "{padding:?} {key_format:?} {message:?}"
                );
            }
        }
    }
}

#[test]
fn auto_discovers_the_banks_padding_and_signature_message() {
    for padding in Padding::ALL {
        let bank = SafraProfile {
            padding: PaddingChoice::from_padding(padding),
            signature_message: SignatureMessage::Plaintext,
            ..SafraProfile::default()
        };
        let client = SafraProfile {
            padding: PaddingChoice::Auto,
            signature_message: SignatureMessage::Auto,
            ..SafraProfile::default()
        };
        let mut w = World::new(client, bank);
        let r = w.run(Operation::Handshake).unwrap();
        assert_eq!(
            r,
            Reply::KeyAgreed {
                padding,
                signature_message: SignatureMessage::Plaintext
            }
        );
        // Each rejected candidate costs one stage-1/stage-2 round with a new GUID.
        let rejected = Padding::ALL.iter().position(|p| *p == padding).unwrap();
        assert_eq!(
            w.log.iter().filter(|(_, s)| *s == 400).count(),
            rejected,
            "{:?}",
            w.services()
        );
        // The winner is remembered: the next handshake goes straight through.
        w.log.clear();
        w.run(Operation::Handshake).unwrap();
        assert_eq!(w.services(), ["psd001:200", "psd001:200"]);
        full_flow(&mut w);
    }
}

#[test]
fn bank_with_large_key_chunks_nothing_but_client_2048_works() {
    let p = SafraProfile {
        key_bits: 2048,
        padding: PaddingChoice::OaepSha256,
        ..SafraProfile::default()
    };
    let mut w = World::new(p.clone(), p);
    w.session = Session::new(
        w.session.profile().clone(),
        BaseUrl::parse("http://bank.test/psd"),
        "C",
    )
    .unwrap();
    full_flow(&mut w);
}

#[test]
fn key_expiry_triggers_a_new_handshake_with_a_new_guid() {
    let mut w = World::new(SafraProfile::default(), SafraProfile::default());
    w.run(Operation::Authenticate).unwrap();
    let first_sid = w.session.session_id().to_string();
    w.bank.inject(Fault::ExpireKey);
    w.log.clear();
    let r = w.run(Operation::RegisterBoleto(boleto())).unwrap();
    assert!(matches!(r, Reply::BoletoRegistered(_)));
    assert_eq!(
        w.services(),
        [
            "psd050:500",
            "psd001:200",
            "psd001:200",
            "psd005:200",
            "psd050:200"
        ]
    );
    assert_ne!(w.session.session_id(), first_sid);
}

#[test]
fn http_480_reinitialises_or_reauthenticates_per_profile() {
    let mut w = World::new(SafraProfile::default(), SafraProfile::default());
    w.run(Operation::Authenticate).unwrap();
    w.bank.inject(Fault::Answer480);
    w.log.clear();
    w.run(Operation::RegisterBoleto(boleto())).unwrap();
    assert_eq!(
        w.services(),
        [
            "psd050:480",
            "psd001:200",
            "psd001:200",
            "psd005:200",
            "psd050:200"
        ]
    );

    let p = SafraProfile {
        on_480: On480::Reauth,
        ..SafraProfile::default()
    };
    let mut w = World::new(p.clone(), p);
    w.run(Operation::Authenticate).unwrap();
    w.bank.inject(Fault::Answer480);
    w.log.clear();
    let first = w.exchange(&Operation::RegisterBoleto(boleto())).unwrap();
    assert_eq!(first, Outcome::Continue(Some(NextAction::Reauthenticate)));
    w.run(Operation::RegisterBoleto(boleto())).unwrap();
    assert_eq!(w.services(), ["psd050:480", "psd005:200", "psd050:200"]);
}

#[test]
fn http_550_surfaces_status_processamento() {
    let mut w = World::new(SafraProfile::default(), SafraProfile::default());
    w.run(Operation::Authenticate).unwrap();
    w.bank.inject(Fault::Answer550);
    let r = w.run(Operation::RegisterBoleto(boleto())).unwrap();
    let Reply::BusinessError {
        status: Some(s), ..
    } = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(s.codigo, Some(99));
    // A duplicate registration is a business error too.
    w.run(Operation::RegisterBoleto(boleto())).unwrap();
    let Reply::BusinessError {
        status: Some(s), ..
    } = w.run(Operation::RegisterBoleto(boleto())).unwrap()
    else {
        panic!()
    };
    assert_eq!(s.codigo, Some(2));
}

#[test]
fn token_is_renewed_when_due_and_reacquired_when_expired() {
    let mut w = World::new(SafraProfile::default(), SafraProfile::default());
    let Reply::Authenticated(t) = w.run(Operation::Authenticate).unwrap() else {
        panic!()
    };
    assert_eq!(
        (t.lifetime, t.renew_at, t.expires_at),
        (600, w.now + 540, w.now + 570)
    );
    w.now = t.renew_at;
    w.log.clear();
    w.run(Operation::RegisterBoleto(boleto())).unwrap();
    assert_eq!(w.services(), ["psd007:200", "psd050:200"]);
    let renewed = w.session.token().unwrap().clone();
    assert_eq!(renewed.received_at, w.now);
    w.now = renewed.expires_at + 1;
    w.log.clear();
    let q = BoletoQuery {
        nosso_numero: "123456789".into(),
        seu_numero: "0000004021".into(),
    };
    w.run(Operation::QueryBoleto(q)).unwrap();
    assert_eq!(w.services(), ["psd005:200", "psd052:200"]);
    let Reply::Renewed(_) = w.run(Operation::Renew).unwrap() else {
        panic!()
    };
}

#[test]
fn recoveries_are_bounded() {
    let mut w = World::new(SafraProfile::default(), SafraProfile::default());
    w.run(Operation::Authenticate).unwrap();
    for _ in 0..10 {
        w.bank.inject(Fault::ExpireKey);
    }
    // Handshakes are not subject to faults; each psd005 is. Give up after max_recoveries.
    let e = w.run(Operation::RegisterBoleto(boleto())).unwrap_err();
    assert_eq!(e.code(), "safra.session.too_many_recoveries");
}

#[test]
fn wrong_token_or_work_id_is_rejected_by_the_bank() {
    let mut w = World::new(SafraProfile::default(), SafraProfile::default());
    w.run(Operation::Authenticate).unwrap();
    let (id, mut req) = w
        .session
        .prepare_next(&Operation::Renew, w.now, &mut w.rng)
        .unwrap();
    for (n, v) in req.headers.iter_mut() {
        if n == "amc-work-id" {
            *v = "00000000-0000-4000-8000-000000000000".into();
        }
    }
    let resp = w
        .bank
        .handle("/psd/psd007", &req.headers, &req.body, w.now, &mut w.rng);
    assert_eq!(resp.status, 401);
    // A 401 on a token-carrying call means the bank no longer knows our
    // token: the session re-authenticates instead of failing.
    let out = w
        .session
        .handle_response(id, &resp, w.now, &mut w.rng)
        .unwrap();
    assert_eq!(out, Outcome::Continue(Some(NextAction::Reauthenticate)));
    assert_eq!(w.session.state(), State::KeyAgreed);
    let e = w
        .session
        .handle_response(id, &resp, w.now, &mut w.rng)
        .unwrap_err();
    assert_eq!(e.code(), "safra.session.unknown_request");
    w.log.clear();
    w.run(Operation::Renew).unwrap();
    assert_eq!(w.services(), ["psd005:200", "psd007:200"]);
}

#[test]
fn a_lost_renewal_reply_is_recovered_by_reauthenticating() {
    let mut w = World::new(SafraProfile::default(), SafraProfile::default());
    w.run(Operation::Authenticate).unwrap();
    // psd007 reaches the bank, which renews, but the reply never arrives.
    let (_, req) = w
        .session
        .prepare_next(&Operation::Renew, w.now, &mut w.rng)
        .unwrap();
    assert_eq!(
        w.bank
            .handle("/psd/psd007", &req.headers, &req.body, w.now, &mut w.rng)
            .status,
        200
    );
    w.log.clear();
    let Reply::BoletoRegistered(_) = w.run(Operation::RegisterBoleto(boleto())).unwrap() else {
        panic!()
    };
    assert_eq!(w.services(), ["psd050:401", "psd005:200", "psd050:200"]);
}

#[test]
fn replayed_envelope_is_refused_by_the_bank() {
    let mut w = World::new(SafraProfile::default(), SafraProfile::default());
    w.run(Operation::Authenticate).unwrap();
    let q = BoletoQuery {
        nosso_numero: "1".into(),
        seu_numero: "1".into(),
    };
    let (_, req) = w
        .session
        .prepare_next(&Operation::QueryBoleto(q), w.now, &mut w.rng)
        .unwrap();
    let first = w
        .bank
        .handle("/psd/psd052", &req.headers, &req.body, w.now, &mut w.rng);
    assert_eq!(first.status, 550, "not found is a business error");
    let again = w
        .bank
        .handle("/psd/psd052", &req.headers, &req.body, w.now, &mut w.rng);
    assert_eq!(again.status, 400);
    let j: serde_json::Value = serde_json::from_slice(&again.body).unwrap();
    assert_eq!(j["codigo"], "safra.envelope.reused_iv");
}

#[test]
fn old_token_is_refused_after_renewal() {
    let mut w = World::new(SafraProfile::default(), SafraProfile::default());
    w.run(Operation::Authenticate).unwrap();
    let (_, req) = w
        .session
        .prepare_next(&Operation::Renew, w.now, &mut w.rng)
        .unwrap();
    let first = w
        .bank
        .handle("/psd/psd007", &req.headers, &req.body, w.now, &mut w.rng);
    assert_eq!(first.status, 200);
    let again = w
        .bank
        .handle("/psd/psd007", &req.headers, &req.body, w.now, &mut w.rng);
    assert_eq!(again.status, 401, "old token after renewal");
}

#[test]
fn session_export_import_continues_elsewhere() {
    let mut w = World::new(SafraProfile::default(), SafraProfile::default());
    w.run(Operation::Authenticate).unwrap();
    let blob = w.session.export().unwrap();
    let mut other = Session::import(&blob).unwrap();
    assert_eq!(other.state(), State::Authenticated);
    assert_eq!(other.session_key(), w.session.session_key());
    std::mem::swap(&mut w.session, &mut other);
    w.log.clear();
    let Reply::BoletoRegistered(_) = w.run(Operation::RegisterBoleto(boleto())).unwrap() else {
        panic!()
    };
    assert_eq!(w.services(), ["psd050:200"]);
    for bad in [&b"{}"[..], b"nope", br#"{"version":2}"#] {
        assert_eq!(
            Session::import(bad).unwrap_err().code(),
            "safra.session.bad_snapshot"
        );
    }
    let mut j: serde_json::Value = serde_json::from_slice(&blob).unwrap();
    j["aes_key"] = serde_json::Value::Null;
    assert_eq!(
        Session::import(j.to_string().as_bytes())
            .unwrap_err()
            .code(),
        "safra.session.bad_snapshot"
    );
}

#[test]
fn garbage_responses_never_panic_and_have_codes() {
    let mut rng = seeded([1; 32]);
    for body in [
        &b""[..],
        b"{}",
        br#"{"jwk":5}"#,
        br#"{"jwk":"a.b"}"#,
        br#"{"jwk":"UlNB.!!"}"#,
        b"\xff\xfe",
    ] {
        let mut s = Session::new(SafraProfile::default(), BaseUrl::Homologation, "C").unwrap();
        s.set_client_key(key("rsa1024-client"));
        let (id, _) = s.prepare_next(&Operation::Handshake, 0, &mut rng).unwrap();
        let e = s
            .handle_response(id, &ReceivedResponse::new(200, vec![], body), 0, &mut rng)
            .unwrap_err();
        assert!(e.code().starts_with("safra.handshake."), "{e}");
    }
}

#[test]
fn bank_never_panics_on_garbage() {
    let mut rng = seeded([2; 32]);
    let mut bank = common::safra::bank(SafraProfile::default(), &mut rng);
    let h = |sid: &str| {
        vec![
            ("amc-session-id".to_string(), sid.to_string()),
            ("amc-aplicacao".to_string(), "PSD".to_string()),
        ]
    };
    type Case<'a> = (&'a str, Vec<(String, String)>, &'a [u8], u16);
    let sid = "9b2e7c1a-4d3f-4a8b-9c0d-1e2f3a4b5c6d";
    let cases: Vec<Case> = vec![
        ("/psd/psd001", vec![], b"{}", 400),
        ("/psd/psd001", h(sid), b"nope", 400),
        ("/psd/psd001", h(sid), br#"{"jwk":"a.b.c"}"#, 400),
        ("/psd/psd001", h(sid), br#"{"parametros":"a.b"}"#, 400),
        ("/psd/psd005", h(sid), br#"{"data":"a.b.c"}"#, 500),
        ("/psd/psd050", h(sid), b"{}", 500),
        ("/psd/psd999", h(sid), b"{}", 404),
        // Not a GUID: refused before anything else is looked at.
        ("/psd/psd005", h("x"), br#"{"data":"a.b.c"}"#, 400),
        ("/psd/psd001", h(&"9".repeat(100_000)), b"{}", 400),
    ];
    for (path, headers, body, status) in cases {
        let r = bank.handle(path, &headers, body, 0, &mut rng);
        assert_eq!(
            r.status,
            status,
            "{path} {}",
            String::from_utf8_lossy(&r.body)
        );
        let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(j["codigo"].as_str().unwrap().starts_with("safra."));
    }
}
