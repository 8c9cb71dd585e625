#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! SPEC §5, within one process: many operations in flight on one session
//! share its credentials; transitions (handshake, psd005, psd007, recovery)
//! happen once per generation and the operations that meet one wait for it.
//! The client role runs against the bank role in memory; "in flight" means
//! every operation has prepared its request before any response is handled.

mod common;

use common::safra::{BANK_ORIGIN, World as Base};
use selo::http::{ReceivedResponse, TransportFailure};
use selo::safra::boleto::BoletoRequest;
use selo::safra::{
    Next, NextAction, Operation, OperationId, Outcome, Reply, RequestId, SafraProfile,
};
use std::collections::BTreeMap;

type World = Base<String>;

fn boleto(nosso: u64) -> BoletoRequest {
    let mut b = common::safra::boleto_sample();
    b.documento.nosso_numero = nosso;
    b.documento.seu_numero = format!("S{nosso}");
    b
}

fn world() -> World {
    World::start(SafraProfile::default(), SafraProfile::default(), 41)
}

/// A request one operation sent, with the service it names.
struct Flight {
    op: OperationId,
    id: RequestId,
    service: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Asks every operation in `ops` for its next step; returns the requests
/// sent (operations told to wait send nothing).
fn round(w: &mut World, ops: &[OperationId]) -> (Vec<Flight>, usize) {
    let mut sent = vec![];
    let mut waiting = 0;
    for &op in ops {
        match w.session.next(op, w.now, &mut w.rng).unwrap() {
            Next::Send(id, req) => {
                let path = req.url.trim_start_matches(BANK_ORIGIN).to_string();
                let service = path.rsplit('/').next().unwrap().to_string();
                w.log.push((service.clone(), "sent".into()));
                sent.push(Flight {
                    op,
                    id,
                    service,
                    path,
                    headers: req.headers,
                    body: req.body,
                });
            }
            Next::Wait => waiting += 1,
        }
    }
    (sent, waiting)
}

fn deliver(w: &mut World, f: &Flight) -> ReceivedResponse {
    w.bank
        .handle(&f.path, &f.headers, &f.body, w.now, &mut w.rng)
}

/// Runs `ops` to the end, all in flight each round; `answer` may replace
/// the bank's answer to a flight. Returns each operation's reply.
fn run_all(
    w: &mut World,
    mut ops: Vec<OperationId>,
    mut answer: impl FnMut(&mut World, &Flight) -> ReceivedResponse,
) -> BTreeMap<OperationId, Reply> {
    let mut done = BTreeMap::new();
    for _ in 0..50 {
        if ops.is_empty() {
            return done;
        }
        let (flights, _) = round(w, &ops);
        assert!(
            !flights.is_empty(),
            "every operation waits: nobody runs the transition"
        );
        let answers: Vec<_> = flights.iter().map(|f| answer(w, f)).collect();
        for (f, r) in flights.iter().zip(answers) {
            match w
                .session
                .handle_response(f.id, &r, w.now, &mut w.rng)
                .unwrap()
            {
                Outcome::Continue(_) => {}
                Outcome::Done(reply) => {
                    done.insert(f.op, reply);
                    ops.retain(|o| *o != f.op);
                }
            }
        }
    }
    panic!(
        "operations still running after 50 rounds: {:?}",
        w.services()
    );
}

fn count(w: &World, service: &str) -> usize {
    w.log.iter().filter(|(s, _)| s == service).count()
}

fn begin_registers(w: &mut World, range: std::ops::Range<u64>) -> Vec<OperationId> {
    range
        .map(|n| {
            w.session
                .begin(Operation::RegisterBoleto(boleto(n)))
                .unwrap()
        })
        .collect()
}

fn key_expired() -> ReceivedResponse {
    ReceivedResponse {
        status: 500,
        headers: vec![("amc-criptografia".into(), "erro".into())],
        body: vec![],
    }
}

fn assert_each_registered_once(w: &World, range: std::ops::Range<u64>) {
    for n in range {
        let calls = w.bank.register_calls().get(&format!("{n:015}")).copied();
        assert_eq!(calls, Some(1), "nossoNumero {n}: psd050 calls");
    }
}

#[test]
fn sixteen_registrations_from_a_fresh_session_make_one_handshake_and_one_psd005() {
    let mut w = world();
    let ops = begin_registers(&mut w, 1000..1016);
    assert_eq!(w.session.in_flight(), 16);
    // The first operation starts the handshake; the other fifteen wait.
    let (flights, waiting) = round(&mut w, &ops);
    assert_eq!((flights.len(), waiting), (1, 15));
    assert!(w.session.transition_in_flight());
    let first = &flights[0];
    let r = deliver(&mut w, first);
    w.session
        .handle_response(first.id, &r, w.now, &mut w.rng)
        .unwrap();
    assert!(!w.session.transition_in_flight());

    let replies = run_all(&mut w, ops, deliver);
    assert_eq!(replies.len(), 16);
    assert!(
        replies
            .values()
            .all(|r| matches!(r, Reply::BoletoRegistered(_)))
    );
    assert_eq!(count(&w, "psd001"), 2, "{:?}", w.services());
    assert_eq!(count(&w, "psd005"), 1, "{:?}", w.services());
    assert_eq!(count(&w, "psd050"), 16);
    assert_each_registered_once(&w, 1000..1016);
    assert_eq!(w.session.in_flight(), 0);
}

#[test]
fn a_bank_that_forgets_the_key_under_calls_in_flight_is_handshaken_once() {
    let mut w = world();
    let warm = w.session.begin(Operation::Authenticate).unwrap();
    run_all(&mut w, vec![warm], deliver);
    let generation = w.session.generation();
    w.log.clear();
    // The bank forgets the key at the first call of the round: every call
    // of the round then hears 500 + amc-criptografia.
    w.bank.inject(selo::safra::bank::Fault::ExpireKey);
    let ops = begin_registers(&mut w, 2000..2008);
    let replies = run_all(&mut w, ops, deliver);
    assert_eq!(replies.len(), 8);
    assert_eq!(count(&w, "psd001"), 2, "one handshake: {:?}", w.services());
    assert_eq!(count(&w, "psd005"), 1, "{:?}", w.services());
    assert_each_registered_once(&w, 2000..2008);
    assert!(w.session.generation() > generation);
}

#[test]
fn many_500_amc_on_one_generation_discard_the_key_once() {
    let mut w = world();
    let warm = w.session.begin(Operation::Authenticate).unwrap();
    run_all(&mut w, vec![warm], deliver);
    w.log.clear();
    let ops = begin_registers(&mut w, 3000..3008);
    let (flights, waiting) = round(&mut w, &ops);
    assert_eq!((flights.len(), waiting), (8, 0));
    let before = w.session.generation();
    for f in &flights {
        // Not processed by the bank (500 + amc-criptografia): none delivered.
        let out = w
            .session
            .handle_response(f.id, &key_expired(), w.now, &mut w.rng)
            .unwrap();
        assert_eq!(out, Outcome::Continue(Some(NextAction::Rehandshake)));
    }
    assert_eq!(
        w.session.generation(),
        before + 1,
        "eight failures of one generation: one discard"
    );
    let replies = run_all(&mut w, ops, deliver);
    assert_eq!(replies.len(), 8);
    assert_eq!(
        count(&w, "psd001"),
        2,
        "one new handshake: {:?}",
        w.services()
    );
    assert_eq!(count(&w, "psd005"), 1, "{:?}", w.services());
    assert_each_registered_once(&w, 3000..3008);
}

#[test]
fn many_401s_on_one_token_make_one_psd005() {
    let mut w = world();
    let warm = w.session.begin(Operation::Authenticate).unwrap();
    run_all(&mut w, vec![warm], deliver);
    w.log.clear();
    let ops = begin_registers(&mut w, 4000..4006);
    let (flights, _) = round(&mut w, &ops);
    assert_eq!(flights.len(), 6);
    let unauthorized = ReceivedResponse {
        status: 401,
        headers: vec![],
        body: vec![],
    };
    for f in &flights {
        w.session
            .handle_response(f.id, &unauthorized, w.now, &mut w.rng)
            .unwrap();
    }
    let replies = run_all(&mut w, ops, deliver);
    assert_eq!(replies.len(), 6);
    assert_eq!(count(&w, "psd005"), 1, "{:?}", w.services());
    assert_each_registered_once(&w, 4000..4006);
}

#[test]
fn a_due_renewal_runs_once_while_calls_keep_the_valid_token() {
    let mut w = world();
    let warm = w.session.begin(Operation::Authenticate).unwrap();
    run_all(&mut w, vec![warm], deliver);
    // Past the renewal point, before expiry.
    let token = w.session.token().unwrap().clone();
    w.now = token.renew_at + 1;
    assert!(w.now < token.expires_at);
    w.log.clear();
    let ops = begin_registers(&mut w, 5000..5008);
    let (flights, waiting) = round(&mut w, &ops);
    assert_eq!(waiting, 0, "a due renewal stops no one");
    let services: Vec<_> = flights.iter().map(|f| f.service.as_str()).collect();
    assert_eq!(services.iter().filter(|s| **s == "psd007").count(), 1);
    assert_eq!(services.iter().filter(|s| **s == "psd050").count(), 7);
    let answers: Vec<_> = flights.iter().map(|f| deliver(&mut w, f)).collect();
    for (f, r) in flights.iter().zip(answers) {
        w.session
            .handle_response(f.id, &r, w.now, &mut w.rng)
            .unwrap();
    }
    run_all(&mut w, ops, deliver);
    assert_eq!(count(&w, "psd007"), 1, "{:?}", w.services());
    assert_each_registered_once(&w, 5000..5008);
}

#[test]
fn a_401_for_the_old_token_handled_before_the_psd007_reply_keeps_the_work_id() {
    // The bank renews (and forgets the old token) before a psd050 sent with
    // the old token arrives: that 401 is handled first. The psd007 reply
    // carries no workId; the session keeps the one it renewed with, so the
    // calls go on (before: a token without a workId, every call
    // `safra.session.not_ready`, and shared credentials no instance could
    // adopt).
    let mut w = world();
    let warm = w.session.begin(Operation::Authenticate).unwrap();
    run_all(&mut w, vec![warm], deliver);
    let work_id = w.session.work_id().unwrap().to_string();
    let token = w.session.token().unwrap().clone();
    w.now = token.renew_at + 1;
    w.log.clear();
    let ops = begin_registers(&mut w, 5100..5104);
    let (flights, _) = round(&mut w, &ops);
    let renew = flights.iter().position(|f| f.service == "psd007").unwrap();
    // The bank sees psd007 first, then the psd050s with the old token.
    let mut answers: Vec<Option<ReceivedResponse>> = flights.iter().map(|_| None).collect();
    answers[renew] = Some(deliver(&mut w, &flights[renew]));
    for (i, f) in flights.iter().enumerate() {
        if i != renew {
            let r = deliver(&mut w, f);
            assert_eq!(r.status, 401, "the old token is gone at the bank");
            answers[i] = Some(r);
        }
    }
    // The host handles the 401s before the psd007 reply.
    for (i, f) in flights.iter().enumerate() {
        if i != renew {
            w.session
                .handle_response(f.id, answers[i].as_ref().unwrap(), w.now, &mut w.rng)
                .unwrap();
        }
    }
    w.session
        .handle_response(
            flights[renew].id,
            answers[renew].as_ref().unwrap(),
            w.now,
            &mut w.rng,
        )
        .unwrap();
    assert_eq!(w.session.work_id(), Some(work_id.as_str()));
    let replies = run_all(&mut w, ops, deliver);
    assert_eq!(replies.len(), 4);
    assert!(
        replies
            .values()
            .all(|r| matches!(r, Reply::BoletoRegistered(_)))
    );
    assert_each_registered_once(&w, 5100..5104);
    // What it shares is whole: a token and its workId.
    let creds = w.session.export_credentials().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&creds).unwrap();
    assert!(v["token"].is_object() && v["work_id"].is_string(), "{v}");
}

#[test]
fn a_reply_sealed_under_a_key_replaced_meanwhile_is_still_opened() {
    let mut w = world();
    let warm = w.session.begin(Operation::Authenticate).unwrap();
    run_all(&mut w, vec![warm], deliver);
    let slow = w
        .session
        .begin(Operation::RegisterBoleto(boleto(6000)))
        .unwrap();
    let other = w
        .session
        .begin(Operation::RegisterBoleto(boleto(6001)))
        .unwrap();
    let (flights, _) = round(&mut w, &[slow, other]);
    // The bank registers the slow one; its reply is held back.
    let held = deliver(&mut w, &flights[0]);
    // The other hears a key expiry: the session agrees a new key.
    w.session
        .handle_response(flights[1].id, &key_expired(), w.now, &mut w.rng)
        .unwrap();
    let replies = run_all(&mut w, vec![other], deliver);
    assert!(matches!(replies[&other], Reply::BoletoRegistered(_)));
    // Now the held reply, sealed under the old key, arrives.
    let out = w
        .session
        .handle_response(flights[0].id, &held, w.now, &mut w.rng)
        .unwrap();
    let Outcome::Done(Reply::BoletoRegistered(reply)) = out else {
        panic!("expected the registration, got {out:?}");
    };
    assert!(!reply.reconciled);
    assert_each_registered_once(&w, 6000..6002);
}

#[test]
fn a_cancelled_psd050_in_flight_is_unresolved_and_reconciled_first() {
    let mut w = world();
    let warm = w.session.begin(Operation::Authenticate).unwrap();
    run_all(&mut w, vec![warm], deliver);
    let op = w
        .session
        .begin(Operation::RegisterBoleto(boleto(7000)))
        .unwrap();
    let (flights, _) = round(&mut w, &[op]);
    assert_eq!(flights[0].service, "psd050");
    // The bank registers it; the host cancels before the reply arrives.
    let late = deliver(&mut w, &flights[0]);
    assert!(w.session.cancel(op));
    assert!(!w.session.cancel(op), "already ended");
    assert!(w.session.is_unresolved(7000));
    let err = w
        .session
        .handle_response(flights[0].id, &late, w.now, &mut w.rng)
        .unwrap_err();
    assert_eq!(err.code(), "safra.session.unknown_request");
    // Registering it again asks psd052 first, and finds it.
    w.log.clear();
    let again = w
        .session
        .begin(Operation::RegisterBoleto(boleto(7000)))
        .unwrap();
    let replies = run_all(&mut w, vec![again], deliver);
    let Reply::BoletoRegistered(reply) = &replies[&again] else {
        panic!("{replies:?}");
    };
    assert!(reply.reconciled);
    assert_eq!(count(&w, "psd050"), 0, "{:?}", w.services());
    assert_eq!(count(&w, "psd052"), 1);
    assert_each_registered_once(&w, 7000..7001);
}

#[test]
fn one_boleto_is_never_registered_by_two_operations_at_once() {
    let mut w = world();
    let first = w
        .session
        .begin(Operation::RegisterBoleto(boleto(8000)))
        .unwrap();
    let err = w
        .session
        .begin(Operation::RegisterBoleto(boleto(8000)))
        .unwrap_err();
    assert_eq!(err.code(), "safra.boleto.in_flight");
    assert!(err.message().contains("8000"));
    run_all(&mut w, vec![first], deliver);
    // Once it ended, the same boleto may be begun again (the bank refuses
    // the duplicate: that is the bank's business, not a race).
    assert!(
        w.session
            .begin(Operation::RegisterBoleto(boleto(8000)))
            .is_ok()
    );
}

#[test]
fn operations_in_flight_are_bounded() {
    let mut w = world();
    w.session.set_max_in_flight(4);
    let ops = begin_registers(&mut w, 9000..9004);
    let err = w
        .session
        .begin(Operation::RegisterBoleto(boleto(9004)))
        .unwrap_err();
    assert_eq!(err.code(), "safra.session.busy");
    w.session.cancel(ops[0]);
    assert!(
        w.session
            .begin(Operation::RegisterBoleto(boleto(9004)))
            .is_ok()
    );
}

#[test]
fn waiting_operations_take_over_when_the_transition_owner_gives_up() {
    let mut w = world();
    let a = w.session.begin(Operation::Authenticate).unwrap();
    let b = w
        .session
        .begin(Operation::RegisterBoleto(boleto(9100)))
        .unwrap();
    let (flights, waiting) = round(&mut w, &[a, b]);
    assert_eq!((flights.len(), waiting), (1, 1));
    assert_eq!(flights[0].op, a);
    // The owner's stage 1 is never answered and the owner is cancelled:
    // the waiting operation runs the handshake itself.
    w.session.cancel(a);
    assert!(!w.session.transition_in_flight());
    let replies = run_all(&mut w, vec![b], deliver);
    assert!(matches!(replies[&b], Reply::BoletoRegistered(_)));
}

#[test]
fn a_transport_failure_of_the_transition_lets_another_operation_run_it() {
    let mut w = world();
    let ops = begin_registers(&mut w, 9200..9204);
    let (flights, waiting) = round(&mut w, &ops);
    assert_eq!((flights.len(), waiting), (1, 3));
    let out = w
        .session
        .handle_transport_error(flights[0].id, TransportFailure::Connect, w.now)
        .unwrap();
    assert_eq!(out, Outcome::Continue(Some(NextAction::Retry)));
    let replies = run_all(&mut w, ops, deliver);
    assert_eq!(replies.len(), 4);
    assert_each_registered_once(&w, 9200..9204);
}

#[test]
fn the_one_at_a_time_api_still_runs_beside_nothing_else() {
    // prepare_next keeps its contract: one operation, started afresh when
    // another is asked for.
    let mut w = world();
    let op = Operation::RegisterBoleto(boleto(9300));
    let reply = w
        .run_until_done(20, |w| {
            let sent = w.prepare(&op)?;
            let r = w.deliver(&sent);
            w.session.handle_response(sent.id, &r, w.now, &mut w.rng)
        })
        .unwrap();
    assert!(matches!(reply, Reply::BoletoRegistered(_)));
    assert_eq!(w.session.in_flight(), 0);
}

#[test]
fn a_second_instance_adopts_shared_credentials_and_calls_without_a_handshake() {
    let mut w = world();
    let warm = w.session.begin(Operation::Authenticate).unwrap();
    run_all(&mut w, vec![warm], deliver);
    let shared = w.session.export_credentials().unwrap();
    let text = String::from_utf8(shared.to_vec()).unwrap();
    assert!(
        !text.contains("PRIVATE") && !text.contains("client_key"),
        "never the long-term key"
    );

    // Instance B: same bank URL and client code, no key of its own.
    let mut b = selo::safra::Session::new(
        SafraProfile::default(),
        selo::safra::BaseUrl::parse(&format!("{BANK_ORIGIN}/psd")),
        "CLIENTE01",
    )
    .unwrap();
    b.adopt_credentials(&shared).unwrap();
    assert_eq!(b.session_id(), w.session.session_id());
    assert_eq!(b.state(), selo::safra::State::Authenticated);
    std::mem::swap(&mut w.session, &mut b);
    w.log.clear();
    let op = w
        .session
        .begin(Operation::RegisterBoleto(boleto(9400)))
        .unwrap();
    let replies = run_all(&mut w, vec![op], deliver);
    assert!(matches!(replies[&op], Reply::BoletoRegistered(_)));
    assert_eq!(w.services(), vec!["psd050:sent"]);

    // Another client code's record is refused; so is garbage.
    let mut other = selo::safra::Session::new(
        SafraProfile::default(),
        selo::safra::BaseUrl::parse(&format!("{BANK_ORIGIN}/psd")),
        "OUTRO",
    )
    .unwrap();
    let e = other.adopt_credentials(&shared).unwrap_err();
    assert_eq!(e.code(), "safra.session.bad_snapshot");
    let e = other.adopt_credentials(b"{\"version\":1}").unwrap_err();
    assert_eq!(e.code(), "safra.session.bad_snapshot");
    let fresh = selo::safra::Session::new(
        SafraProfile::default(),
        selo::safra::BaseUrl::parse(&format!("{BANK_ORIGIN}/psd")),
        "CLIENTE01",
    )
    .unwrap();
    assert_eq!(
        fresh.export_credentials().unwrap_err().code(),
        "safra.session.not_ready"
    );
}
