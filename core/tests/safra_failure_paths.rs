#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! SPEC §2.8 failure paths, client role against the bank role in memory:
//! an ambiguous psd050 is reconciled by a psd052 query (never resent
//! blindly), lost replies of idempotent services are resent, a session that
//! gave up runs its next operation afresh, and absurd tokens are errors.

mod common;

use common::safra::key;
use selo::http::{ReceivedResponse, TransportFailure};
use selo::rng::seeded;
use selo::safra::boleto::BoletoRequest;
use selo::safra::{NextAction, Operation, Outcome, PaddingChoice, Reply, SafraProfile};

fn boleto(nosso: u64) -> BoletoRequest {
    let mut b = common::safra::boleto_sample();
    b.documento.nosso_numero = nosso;
    b
}

/// What the "network" does to one exchange.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Net {
    /// Delivered both ways.
    Ok,
    /// The bank processes it; the reply is lost (`failure` reported).
    LoseReply(TransportFailure),
    /// Never reaches the bank (`failure` reported).
    NotSent(TransportFailure),
    /// The bank processes it; a gateway answers this status instead.
    Gateway(u16),
}

/// The log says what happened to each exchange.
type World = common::safra::World<String>;

impl World {
    /// A client with `client` against a bank with the default profile.
    fn new(client: SafraProfile) -> World {
        World::start(client, SafraProfile::default(), 7)
    }

    /// One exchange; `net(service)` decides what happens to it on the wire.
    fn exchange_with(
        &mut self,
        op: &Operation,
        net: &mut dyn FnMut(&str) -> Net,
    ) -> Result<Outcome, selo::safra::Error> {
        let sent = self.prepare(op)?;
        let id = sent.id;
        let service = sent.service.clone();
        assert_eq!(
            sent.request.resendable,
            service != "psd050",
            "{service}: resendable flag"
        );
        let net = net(&service);
        if let Net::NotSent(f) = net {
            self.log.push((service, format!("not sent ({f})")));
            return self.session.handle_transport_error(id, f, self.now);
        }
        let resp = self.deliver(&sent);
        match net {
            Net::LoseReply(f) => {
                self.log
                    .push((service, format!("lost {} ({f})", resp.status)));
                self.session.handle_transport_error(id, f, self.now)
            }
            Net::Gateway(status) => {
                self.log
                    .push((service, format!("{status} over {}", resp.status)));
                let gw = ReceivedResponse::new(status, vec![], b"Bad Gateway".to_vec());
                self.session
                    .handle_response(id, &gw, self.now, &mut self.rng)
            }
            _ => {
                self.log.push((service, resp.status.to_string()));
                self.session
                    .handle_response(id, &resp, self.now, &mut self.rng)
            }
        }
    }

    fn exchange(&mut self, op: &Operation, net: Net) -> Result<Outcome, selo::safra::Error> {
        self.exchange_with(op, &mut |_| net)
    }

    /// Runs `op` to its end; `plan(service, nth exchange of that service)`
    /// says what the network does.
    fn run(
        &mut self,
        op: &Operation,
        plan: &dyn Fn(&str, usize) -> Net,
    ) -> Result<Reply, selo::safra::Error> {
        let mut seen: std::collections::HashMap<String, usize> = Default::default();
        self.run_until_done(30, |w| {
            w.exchange_with(op, &mut |svc| {
                let n = seen.entry(svc.to_string()).or_default();
                let net = plan(svc, *n);
                *n += 1;
                net
            })
        })
    }

    fn psd050_calls(&self, nosso: u64) -> u32 {
        self.bank
            .register_calls()
            .get(&format!("{nosso:015}"))
            .copied()
            .unwrap_or(0)
    }

    fn authenticate(&mut self) {
        self.run(&Operation::Authenticate, &|_, _| Net::Ok).unwrap();
        self.log.clear();
    }
}

fn registered(r: Reply) -> selo::safra::boleto::BoletoReply {
    match r {
        Reply::BoletoRegistered(b) => b,
        other => panic!("expected BoletoRegistered, found {other:?}"),
    }
}

#[test]
fn a_lost_psd050_reply_is_reconciled_by_a_query_and_never_resent() {
    for failure in [
        TransportFailure::Timeout,
        TransportFailure::Reset,
        TransportFailure::Other,
    ] {
        let mut w = World::new(SafraProfile::default());
        w.authenticate();
        let op = Operation::RegisterBoleto(boleto(111_000_001));
        let reply = registered(
            w.run(&op, &|svc, n| {
                if svc == "psd050" && n == 0 {
                    Net::LoseReply(failure)
                } else {
                    Net::Ok
                }
            })
            .unwrap(),
        );
        assert!(reply.reconciled, "{failure}: {reply:?}");
        assert_eq!(
            w.services(),
            [
                format!("psd050:lost 200 ({failure})"),
                "psd052:200".to_string()
            ]
        );
        assert_eq!(
            w.psd050_calls(111_000_001),
            1,
            "{failure}: psd050 sent once"
        );
    }
}

#[test]
fn a_502_after_the_bank_stored_the_boleto_is_reconciled() {
    for status in [502, 503, 504, 500] {
        let mut w = World::new(SafraProfile::default());
        w.authenticate();
        let op = Operation::RegisterBoleto(boleto(111_000_002));
        let reply = registered(
            w.run(&op, &|svc, n| {
                if svc == "psd050" && n == 0 {
                    Net::Gateway(status)
                } else {
                    Net::Ok
                }
            })
            .unwrap(),
        );
        assert!(reply.reconciled, "{status}");
        assert_eq!(w.psd050_calls(111_000_002), 1, "{status}");
        assert_eq!(
            w.services(),
            [format!("psd050:{status} over 200"), "psd052:200".into()]
        );
    }
}

#[test]
fn not_found_on_the_query_registers_once_more() {
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    let op = Operation::RegisterBoleto(boleto(111_000_003));
    // The psd050 never reached the bank, but a timeout cannot know that.
    let reply = registered(
        w.run(&op, &|svc, n| {
            if svc == "psd050" && n == 0 {
                Net::NotSent(TransportFailure::Timeout)
            } else {
                Net::Ok
            }
        })
        .unwrap(),
    );
    assert!(!reply.reconciled, "registered by the second psd050");
    assert_eq!(
        w.services(),
        ["psd050:not sent (timeout)", "psd052:550", "psd050:200"]
    );
    assert_eq!(w.psd050_calls(111_000_003), 1);
}

#[test]
fn a_connect_failure_on_psd050_is_sent_again_without_a_query() {
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    let op = Operation::RegisterBoleto(boleto(111_000_004));
    let reply = registered(
        w.run(&op, &|svc, n| {
            if svc == "psd050" && n == 0 {
                Net::NotSent(TransportFailure::Connect)
            } else {
                Net::Ok
            }
        })
        .unwrap(),
    );
    assert!(!reply.reconciled);
    assert_eq!(w.services(), ["psd050:not sent (connect)", "psd050:200"]);
}

#[test]
fn an_ambiguous_query_ends_in_outcome_unknown_naming_the_boleto() {
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    let op = Operation::RegisterBoleto(boleto(111_000_005));
    let err = w
        .run(&op, &|svc, _| match svc {
            "psd050" => Net::LoseReply(TransportFailure::Reset),
            "psd052" => Net::Gateway(502),
            _ => Net::Ok,
        })
        .unwrap_err();
    assert_eq!(err.code(), "safra.boleto.outcome_unknown");
    assert!(err.message().contains("111000005"), "{}", err.message());
    assert_eq!(w.psd050_calls(111_000_005), 1);
    // A lost query reply is just as unknown.
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    let op = Operation::RegisterBoleto(boleto(111_000_006));
    let err = w
        .run(&op, &|svc, _| match svc {
            "psd050" => Net::Gateway(504),
            "psd052" => Net::LoseReply(TransportFailure::Timeout),
            _ => Net::Ok,
        })
        .unwrap_err();
    assert_eq!(err.code(), "safra.boleto.outcome_unknown");
    // …and the session runs its next operation (the same boleto's query).
    let q = Operation::QueryBoleto(selo::safra::boleto::BoletoQuery {
        nosso_numero: "111000006".into(),
        seu_numero: boleto(1).documento.seu_numero,
    });
    assert!(matches!(
        w.run(&q, &|_, _| Net::Ok).unwrap(),
        Reply::BoletoQueried(_)
    ));
}

#[test]
fn a_550_other_than_not_found_on_the_query_is_not_taken_as_not_found() {
    let profile = SafraProfile {
        boleto_not_found_codes: vec![77],
        ..SafraProfile::default()
    };
    let mut w = World::new(profile);
    w.authenticate();
    let op = Operation::RegisterBoleto(boleto(111_000_007));
    // The bank answers "não encontrado" with codigo 3, which this profile
    // does not list: registering again could duplicate it elsewhere.
    let err = w
        .run(&op, &|svc, n| match (svc, n) {
            ("psd050", 0) => Net::NotSent(TransportFailure::Timeout),
            _ => Net::Ok,
        })
        .unwrap_err();
    assert_eq!(err.code(), "safra.boleto.outcome_unknown");
    assert!(err.message().contains("codigo 3"), "{}", err.message());
    assert_eq!(w.psd050_calls(111_000_007), 0);
}

#[test]
fn key_expiry_during_reconciliation_recovers_and_still_reconciles() {
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    let op = Operation::RegisterBoleto(boleto(111_000_008));
    w.bank.inject(selo::safra::bank::Fault::ExpireKey);
    // The first psd050 meets the expired key (not processed) and is sent
    // again after a new handshake; then its reply is lost.
    let reply = registered(
        w.run(&op, &|svc, n| match (svc, n) {
            ("psd050", 1) => Net::LoseReply(TransportFailure::Reset),
            _ => Net::Ok,
        })
        .unwrap(),
    );
    assert!(reply.reconciled);
    assert_eq!(w.psd050_calls(111_000_008), 1);
}

#[test]
fn lost_replies_of_idempotent_services_are_resent() {
    let mut w = World::new(SafraProfile::default());
    let reply = w
        .run(&Operation::Authenticate, &|svc, n| match (svc, n) {
            ("psd001", 0) => Net::LoseReply(TransportFailure::Timeout),
            ("psd005", 0) => Net::Gateway(502),
            _ => Net::Ok,
        })
        .unwrap();
    assert!(matches!(reply, Reply::Authenticated(_)));
    let s = w.services();
    assert_eq!(s[0], "psd001:lost 200 (timeout)");
    assert!(s.contains(&"psd005:502 over 200".to_string()), "{s:?}");
    assert_eq!(s.last().unwrap(), "psd005:200");
}

#[test]
fn a_session_that_gave_up_runs_its_next_operation_from_a_clean_count() {
    let profile = SafraProfile {
        max_recoveries: 2,
        ..SafraProfile::default()
    };
    let mut w = World::new(profile);
    w.authenticate();
    let q = Operation::QueryBoleto(selo::safra::boleto::BoletoQuery {
        nosso_numero: "1".into(),
        seu_numero: "X".into(),
    });
    let err = w.run(&q, &|_, _| Net::Gateway(503)).unwrap_err();
    assert_eq!(err.code(), "safra.session.too_many_recoveries");
    w.log.clear();
    // The next operation needs two recoveries: within the budget again.
    // (Two psd007 that never reached the bank: a processed one would leave
    // the token stale and cost a third recovery, re-authentication.)
    let reply = w
        .run(&Operation::Renew, &|_, n| {
            if n < 2 {
                Net::NotSent(TransportFailure::Timeout)
            } else {
                Net::Ok
            }
        })
        .unwrap();
    assert!(matches!(reply, Reply::Renewed(_)), "{:?}", w.services());
    // An error also resets it: a failing operation, then a healthy one.
    let err = w.run(&q, &|_, _| Net::Gateway(503)).unwrap_err();
    assert_eq!(err.code(), "safra.session.too_many_recoveries");
    let reply = w
        .run(&Operation::RegisterBoleto(boleto(111_000_009)), &|_, _| {
            Net::Ok
        })
        .unwrap();
    assert!(!registered(reply).reconciled);
}

#[test]
fn a_reconcile_action_is_what_the_host_sees() {
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    let op = Operation::RegisterBoleto(boleto(111_000_010));
    let out = w
        .exchange(&op, Net::LoseReply(TransportFailure::Timeout))
        .unwrap();
    assert_eq!(out, Outcome::Continue(Some(NextAction::Reconcile)));
    let (_, req) = w.session.prepare_next(&op, w.now, &mut w.rng).unwrap();
    assert!(req.url.ends_with("/psd052"), "{}", req.url);
    assert!(req.resendable);
}

#[test]
fn auto_padding_moves_on_after_a_plain_500_on_stage_two() {
    let profile = SafraProfile {
        padding: PaddingChoice::Auto,
        ..SafraProfile::default()
    };
    let mut w = World::new(profile);
    let out = w.exchange(&Operation::Handshake, Net::Ok).unwrap();
    assert_eq!(out, Outcome::Continue(None));
    // Stage 2 answered by a bank whose decryption threw: a plain 500.
    let (id, _) = w
        .session
        .prepare_next(&Operation::Handshake, w.now, &mut w.rng)
        .unwrap();
    let out = w
        .session
        .handle_response(
            id,
            &ReceivedResponse::new(500, vec![], b"erro".to_vec()),
            w.now,
            &mut w.rng,
        )
        .unwrap();
    assert_eq!(out, Outcome::Continue(Some(NextAction::Rehandshake)));
    // The next handshake tries the next candidate (OAEP-SHA1): its stage 2
    // encrypts differently; the bank (pkcs1v15 only) refuses it.
    let (_, stage1) = w
        .session
        .prepare_next(&Operation::Handshake, w.now, &mut w.rng)
        .unwrap();
    assert!(stage1.url.ends_with("/psd001"));
}

#[test]
fn a_transport_error_for_an_unknown_id_is_refused() {
    let mut w = World::new(SafraProfile::default());
    let err = w
        .session
        .handle_transport_error(
            selo::safra::RequestId(999),
            TransportFailure::Timeout,
            w.now,
        )
        .unwrap_err();
    assert_eq!(err.code(), "safra.session.unknown_request");
    // The id of a finished operation is unknown too (no double handling).
    let sent = w.prepare(&Operation::Handshake).unwrap();
    let resp = w.deliver(&sent);
    w.session
        .handle_response(sent.id, &resp, w.now, &mut w.rng)
        .unwrap();
    let err = w
        .session
        .handle_transport_error(sent.id, TransportFailure::Reset, w.now)
        .unwrap_err();
    assert_eq!(err.code(), "safra.session.unknown_request");
}

#[test]
fn transport_failure_names_round_trip_and_unknown_names_are_refused() {
    for f in TransportFailure::ALL {
        assert_eq!(f.as_str().parse::<TransportFailure>().unwrap(), f);
    }
    assert!(!TransportFailure::Connect.is_ambiguous());
    assert!(TransportFailure::Timeout.is_ambiguous());
    let e = "lost".parse::<TransportFailure>().unwrap_err();
    assert!(e.contains("connect, timeout, reset, other"), "{e}");
}

/// A stage-2 reply whose plaintext is `jwk` (JSON text), signed over `key`.
fn stage2_reply_with(jwk: &str, aes_key: &[u8]) -> Vec<u8> {
    use selo::crypto::{Padding, SignatureScheme, default_provider, encrypt_chunked};
    use selo::encoding::b64;
    let p = default_provider();
    let mut rng = seeded([3; 32]);
    let client = key("rsa1024-client");
    let bank = key("rsa1024-bank");
    let enc = encrypt_chunked(
        p,
        &client.public_key(),
        Padding::Pkcs1v15,
        jwk.as_bytes(),
        &mut rng,
    )
    .unwrap();
    let sig = p
        .sign(&bank, SignatureScheme::Pkcs1v15Sha256, aes_key, &mut rng)
        .unwrap();
    serde_json::json!({"jwk": format!("{}.{}", b64(&enc), b64(&sig))})
        .to_string()
        .into_bytes()
}

#[test]
fn a_standard_oct_jwk_with_kid_and_k_agrees_on_k() {
    use selo::crypto::{Padding, default_provider};
    use selo::encoding::{b64, b64url};
    use selo::safra::SignatureMessage;
    use selo::safra::handshake::{extract_keys, parse_stage2_reply};
    let raw = [0x5au8; 32];
    let client = key("rsa1024-client");
    let bank = key("rsa1024-bank").public_key();
    let agree = |jwk: &str| {
        parse_stage2_reply(
            default_provider(),
            &stage2_reply_with(jwk, &raw),
            &client,
            &bank,
            &[Padding::Pkcs1v15],
            &[SignatureMessage::RawKey],
            &mut seeded([4; 32]),
        )
    };
    // RFC 7517: `kid` names the key, `k` holds it (base64url).
    let std_jwk = format!(r#"{{"kty":"oct","kid":"key-1","k":"{}"}}"#, b64url(&raw));
    let agreed = agree(&std_jwk).unwrap();
    assert_eq!(agreed.key.as_bytes(), &raw);
    // A `kid` that is itself a 32-byte key, but not the signed one: `k` wins.
    let decoy = format!(
        r#"{{"kty":"oct","kid":"{}","k":"{}"}}"#,
        b64(&[1u8; 32]),
        b64url(&raw)
    );
    assert_eq!(extract_keys(decoy.as_bytes()).unwrap().len(), 2);
    assert_eq!(agree(&decoy).unwrap().key.as_bytes(), &raw);
    // Any case of kid, and KID first.
    let upper = format!(r#"{{"Kid":"{}"}}"#, b64(&raw));
    assert_eq!(agree(&upper).unwrap().key.as_bytes(), &raw);
    // No candidate verifies: the bank's signature refuses them all.
    let wrong = format!(r#"{{"kid":"key-1","k":"{}"}}"#, b64url(&[2u8; 32]));
    assert_eq!(
        agree(&wrong).unwrap_err().code(),
        "safra.handshake.bad_signature"
    );
    // No candidate decodes to 32 bytes: bad key material naming each.
    let none = agree(r#"{"kid":"key-1","k":"c2hvcnQ"}"#).unwrap_err();
    assert_eq!(none.code(), "safra.handshake.bad_key_material");
    assert!(
        none.message().contains("kid") && none.message().contains("k:"),
        "{}",
        none.message()
    );
}

// ------------------------------------------------------------------------
// The promise to reconcile is session state (SPEC §2.8, issue 19).

/// psd050's reply is lost, then every reconciling psd052 fails before it
/// reaches the bank, until the session gives up.
fn leave_unresolved(w: &mut World, nosso: u64) -> selo::safra::Error {
    let op = Operation::RegisterBoleto(boleto(nosso));
    w.run(&op, &|svc, _| match svc {
        "psd050" => Net::LoseReply(TransportFailure::Timeout),
        "psd052" => Net::NotSent(TransportFailure::Connect),
        _ => Net::Ok,
    })
    .unwrap_err()
}

fn unresolved(w: &World) -> Vec<u64> {
    w.session
        .unresolved_registrations()
        .map(|u| u.nosso_numero)
        .collect()
}

#[test]
fn recoveries_running_out_while_reconciling_end_in_outcome_unknown() {
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    let err = leave_unresolved(&mut w, 119_000_001);
    assert_eq!(err.code(), "safra.boleto.outcome_unknown", "{err}");
    assert!(err.message().contains("119000001"), "{}", err.message());
    assert_eq!(unresolved(&w), [119_000_001]);
    let u = w.session.unresolved_registrations().next().unwrap();
    assert_eq!(u.seu_numero, boleto(1).documento.seu_numero);
    assert_eq!(u.since, w.now);
    // psd050 went once; every psd052 after it failed to connect.
    let s = w.services();
    assert_eq!(s[0], "psd050:lost 200 (timeout)");
    assert!(
        s[1..].iter().all(|x| x == "psd052:not sent (connect)"),
        "{s:?}"
    );
}

#[test]
fn the_promise_outlives_other_operations_and_the_same_register_queries_first() {
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    leave_unresolved(&mut w, 119_000_002);
    // Other operations in between: a renewal, another boleto's register, a
    // query of yet another one, and a handshake from scratch.
    w.run(&Operation::Renew, &|_, _| Net::Ok).unwrap();
    w.run(&Operation::RegisterBoleto(boleto(119_000_003)), &|_, _| {
        Net::Ok
    })
    .unwrap();
    let q = Operation::QueryBoleto(selo::safra::boleto::BoletoQuery {
        nosso_numero: "119000003".into(),
        seu_numero: boleto(1).documento.seu_numero,
    });
    w.run(&q, &|_, _| Net::Ok).unwrap();
    w.run(&Operation::Handshake, &|_, _| Net::Ok).unwrap();
    assert_eq!(unresolved(&w), [119_000_002]);
    // What any caller does after an error: register the same boleto again.
    w.log.clear();
    let reply = registered(
        w.run(&Operation::RegisterBoleto(boleto(119_000_002)), &|_, _| {
            Net::Ok
        })
        .unwrap(),
    );
    assert!(reply.reconciled, "{reply:?}");
    assert!(
        !w.services().iter().any(|s| s.starts_with("psd050")),
        "{:?}",
        w.services()
    );
    assert_eq!(w.psd050_calls(119_000_002), 1, "psd050 went once, ever");
    assert!(unresolved(&w).is_empty());
}

#[test]
fn an_unresolved_registration_survives_export_and_import() {
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    leave_unresolved(&mut w, 119_000_004);
    let blob = w.session.export().unwrap();
    w.session = selo::safra::Session::import(&blob).unwrap();
    assert_eq!(unresolved(&w), [119_000_004]);
    w.log.clear();
    let reply = registered(
        w.run(&Operation::RegisterBoleto(boleto(119_000_004)), &|_, _| {
            Net::Ok
        })
        .unwrap(),
    );
    assert!(reply.reconciled);
    assert_eq!(w.services().last().unwrap(), "psd052:200");
    assert_eq!(w.psd050_calls(119_000_004), 1);
    // A version-1 snapshot (before the set existed) still imports.
    let mut v: serde_json::Value = serde_json::from_slice(&w.session.export().unwrap()).unwrap();
    v["version"] = 1.into();
    v.as_object_mut().unwrap().remove("unresolved");
    let old = selo::safra::Session::import(v.to_string().as_bytes()).unwrap();
    assert_eq!(old.unresolved_registrations().len(), 0);
}

#[test]
fn a_query_that_answers_resolves_and_a_host_can_resolve_explicitly() {
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    // Not registered (the psd050 never reached the bank) and unresolved.
    let op = Operation::RegisterBoleto(boleto(119_000_005));
    w.run(&op, &|svc, _| match svc {
        "psd050" => Net::NotSent(TransportFailure::Timeout),
        "psd052" => Net::Gateway(502),
        _ => Net::Ok,
    })
    .unwrap_err();
    assert_eq!(unresolved(&w), [119_000_005]);
    // The host's own psd052 answers "not found" (550, codigo 3): resolved,
    // and the next register sends psd050 directly.
    let q = Operation::QueryBoleto(selo::safra::boleto::BoletoQuery {
        nosso_numero: "119000005".into(),
        seu_numero: boleto(1).documento.seu_numero,
    });
    assert!(matches!(
        w.run(&q, &|_, _| Net::Ok).unwrap(),
        Reply::BusinessError { .. }
    ));
    assert!(unresolved(&w).is_empty());
    w.log.clear();
    registered(w.run(&op, &|_, _| Net::Ok).unwrap());
    assert_eq!(w.services(), ["psd050:200"]);
    // Explicit resolution, after checking with the bank by other means.
    leave_unresolved(&mut w, 119_000_006);
    assert_eq!(w.session.resolve_registration(119_000_007), None);
    let r = w.session.resolve_registration(119_000_006).unwrap();
    assert_eq!(r.nosso_numero, 119_000_006);
    assert!(unresolved(&w).is_empty());
    w.log.clear();
    w.run(&Operation::RegisterBoleto(boleto(119_000_006)), &|_, _| {
        Net::Ok
    })
    .unwrap();
    assert_eq!(
        w.services(),
        ["psd050:550"],
        "the bank has it: a business error"
    );
}

#[test]
fn the_set_is_bounded_and_names_the_oldest_it_drops() {
    let mut w = World::new(SafraProfile::default());
    w.authenticate();
    let first = 119_100_000;
    let cap = selo::safra::MAX_UNRESOLVED as u64;
    for i in 0..=cap {
        let op = Operation::RegisterBoleto(boleto(first + i));
        let err = w
            .run(&op, &|svc, _| match svc {
                "psd050" => Net::NotSent(TransportFailure::Reset),
                "psd052" => Net::Gateway(503),
                _ => Net::Ok,
            })
            .unwrap_err();
        assert_eq!(err.code(), "safra.boleto.outcome_unknown");
        if i == cap {
            assert!(
                err.message()
                    .contains(&format!("oldest, nossoNumero {first}")),
                "{}",
                err.message()
            );
        }
        w.log.clear();
    }
    let u = unresolved(&w);
    assert_eq!(u.len(), selo::safra::MAX_UNRESOLVED);
    assert_eq!(u[0], first + 1, "the oldest was dropped");
    assert_eq!(*u.last().unwrap(), first + cap);
}

#[test]
fn in_flight_requests_are_bounded_and_the_oldest_forgotten() {
    let mut w = World::new(SafraProfile::default());
    let n = selo::safra::session::MAX_PENDING + 1;
    let sent: Vec<_> = (0..n)
        .map(|_| w.prepare(&Operation::Handshake).unwrap())
        .collect();
    // The first id was forgotten when the 17th was issued…
    let err = w
        .session
        .handle_transport_error(sent[0].id, TransportFailure::Timeout, w.now)
        .unwrap_err();
    assert_eq!(err.code(), "safra.session.unknown_request");
    // …the second is still tracked, and so is the last.
    assert!(
        w.session
            .handle_transport_error(sent[1].id, TransportFailure::Connect, w.now)
            .is_ok()
    );
    let last = sent.last().unwrap();
    let resp = w.deliver(last);
    assert_eq!(
        w.session
            .handle_response(last.id, &resp, w.now, &mut w.rng)
            .unwrap(),
        Outcome::Continue(None)
    );
}

// ------------------------------------------------------------------------
// Bank-key pinning (SPEC §2.8 [profile] bank_key_pins, issue 19).

#[test]
fn a_pinned_bank_key_handshakes_and_another_key_stops_before_stage_two() {
    let pin = key("rsa1024-bank").public_key().spki_pin().unwrap();
    assert_eq!(pin.len(), 43, "{pin}");
    let other = key("rsa1024-client").public_key().spki_pin().unwrap();
    // Pinned (the URL-safe form, and the RFC 7469 standard-alphabet form).
    for pins in [vec![pin.clone()], vec![other.clone(), b64_standard(&pin)]] {
        let mut w = World::new(SafraProfile {
            bank_key_pins: pins,
            ..SafraProfile::default()
        });
        assert!(matches!(
            w.run(&Operation::Handshake, &|_, _| Net::Ok).unwrap(),
            Reply::KeyAgreed { .. }
        ));
    }
    // Not pinned: the stage-1 reply is refused; no stage 2 goes out.
    let mut w = World::new(SafraProfile {
        bank_key_pins: vec![other],
        ..SafraProfile::default()
    });
    let err = w
        .run(&Operation::Authenticate, &|_, _| Net::Ok)
        .unwrap_err();
    assert_eq!(err.code(), "safra.handshake.bank_key_not_pinned");
    assert!(
        err.message().contains(&pin),
        "names the key's pin: {}",
        err.message()
    );
    assert_eq!(w.services(), ["psd001:200"], "stage 1 only");
    assert_eq!(w.session.state(), selo::safra::State::New);
    // Malformed pins are a profile error.
    for bad in ["", "abc", "not base64 at all!", &"A".repeat(44)] {
        let e = SafraProfile::from_json(&format!(r#"{{"bank_key_pins":["{bad}"]}}"#)).unwrap_err();
        assert_eq!(e.code(), "safra.profile.invalid", "{bad:?}");
    }
}

fn b64_standard(url: &str) -> String {
    let raw = selo::encoding::b64_decode(url).unwrap();
    selo::encoding::b64(&raw)
}
