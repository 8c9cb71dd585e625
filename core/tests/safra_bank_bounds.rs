#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The bank role is bounded before it trusts (issue 19): `amc-session-id`
//! must be a GUID, a stage 1 never replaces a live session, the sessions
//! and the IV memory of all sessions together are bounded, and 50 000
//! unauthenticated stage-1 calls (stage 1 is self-signed: anyone can make
//! them) leave the bank within its bounds — by its own accounting and by
//! the process's peak memory.

mod common;

use common::safra::{BANK_ORIGIN, key};
use selo::crypto::default_provider;
use selo::http::ReceivedResponse;
use selo::keys::{KeyFormat, RsaPrivateKey};
use selo::rng::seeded;
use selo::safra::bank::{Bank, MAX_SESSIONS};
use selo::safra::handshake::{json_body, stage1_jwk};
use selo::safra::{BaseUrl, Operation, Outcome, SafraProfile, Session};

const NOW: u64 = 1_800_000_000;

fn headers(sid: &str) -> Vec<(String, String)> {
    vec![
        ("amc-session-id".into(), sid.into()),
        (
            "amc-message-id".into(),
            "6f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b".into(),
        ),
        ("amc-aplicacao".into(), "PSD".into()),
        ("content-type".into(), "application/json".into()),
    ]
}

fn stage1(client: &RsaPrivateKey, sid: &str, seed: u8) -> Vec<u8> {
    let jwk = stage1_jwk(
        default_provider(),
        client,
        sid,
        KeyFormat::DerSpki,
        &mut seeded([seed; 32]),
    )
    .unwrap();
    json_body("jwk", &jwk)
}

fn code(r: &ReceivedResponse) -> String {
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["codigo"].as_str().unwrap_or_default().to_string()
}

fn guid(i: u64) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

#[test]
fn the_session_id_must_be_a_guid() {
    let mut rng = seeded([1; 32]);
    let mut bank = common::safra::bank(SafraProfile::default(), &mut rng);
    let client = key("rsa1024-client");
    for bad in [
        "x".to_string(),
        "A".repeat(10_000),
        "00000000000040008000000000000001".to_string(),
        "{00000000-0000-4000-8000-000000000001}".to_string(),
        "00000000-0000-4000-8000-00000000000g".to_string(),
    ] {
        let r = bank.handle(
            "/psd/psd001",
            &headers(&bad),
            &stage1(&client, &bad, 2),
            NOW,
            &mut rng,
        );
        assert_eq!(r.status, 400, "{bad:.40}");
        assert_eq!(code(&r), "safra.handshake.bad_request");
        if bad.len() > 30 {
            assert!(
                !String::from_utf8_lossy(&r.body).contains(&bad),
                "the id is not echoed"
            );
        }
    }
    assert_eq!(bank.usage().sessions, 0);
    // Any case is a GUID.
    let upper = guid(0xabc).to_uppercase();
    let r = bank.handle(
        "/psd/psd001",
        &headers(&upper),
        &stage1(&client, &upper, 2),
        NOW,
        &mut rng,
    );
    assert_eq!(r.status, 200);
}

#[test]
fn a_stage_one_never_replaces_a_live_session() {
    let mut rng = seeded([3; 32]);
    let mut bank = common::safra::bank(SafraProfile::default(), &mut rng);
    let client = key("rsa1024-client");
    let sid = guid(7);
    let body = stage1(&client, &sid, 4);
    assert_eq!(
        bank.handle("/psd/psd001", &headers(&sid), &body, NOW, &mut rng)
            .status,
        200
    );
    // The same id again, by anyone (stage 1 is self-signed): refused.
    let thief = key("rsa1024-bank");
    let r = bank.handle(
        "/psd/psd001",
        &headers(&sid),
        &stage1(&thief, &sid, 5),
        NOW + 10,
        &mut rng,
    );
    assert_eq!(r.status, 409);
    assert_eq!(code(&r), "safra.handshake.session_exists");
    // Once the session has been idle past its expiry, the id may be reused.
    let later = NOW + selo::safra::bank::SESSION_IDLE_SECS + 1;
    assert_eq!(
        bank.handle("/psd/psd001", &headers(&sid), &body, later, &mut rng)
            .status,
        200
    );
}

/// A client session against `bank`, driven in memory.
fn drive(
    bank: &mut Bank,
    session: &mut Session,
    op: &Operation,
    rng: &mut chacha20::ChaCha20Rng,
    now: u64,
) {
    for _ in 0..20 {
        let (id, req) = session.prepare_next(op, now, rng).unwrap();
        let path = req.url.trim_start_matches(BANK_ORIGIN).to_string();
        let resp = bank.handle(&path, &req.headers, &req.body, now, rng);
        if let Outcome::Done(_) = session.handle_response(id, &resp, now, rng).unwrap() {
            return;
        }
    }
    panic!("{op:?} did not finish");
}

#[test]
fn iv_memory_over_all_sessions_is_bounded_oldest_idle_first() {
    let mut rng = seeded([9; 32]);
    let mut bank = common::safra::bank(SafraProfile::default(), &mut rng);
    let budget = 256 << 10;
    bank.set_max_iv_bytes(budget);
    let mut sessions: Vec<Session> = (0..6)
        .map(|_| {
            let mut s = Session::new(
                SafraProfile::default(),
                BaseUrl::parse(&format!("{BANK_ORIGIN}/psd")),
                "CLIENTE01",
            )
            .unwrap();
            s.set_client_key(key("rsa1024-client"));
            s
        })
        .collect();
    let mut peak = 0;
    for (i, s) in sessions.iter_mut().enumerate() {
        // Each session authenticates 1 000 times: 2 000 IVs in its log.
        let now = NOW + i as u64 * 10;
        for _ in 0..1_000 {
            drive(&mut bank, s, &Operation::Authenticate, &mut rng, now);
            peak = peak.max(bank.usage().iv_bytes);
        }
    }
    let u = bank.usage();
    assert!(peak <= budget, "peak {peak} over the budget {budget}");
    assert!(u.evicted > 0, "{u:?}");
    assert!(
        u.ivs >= 2_000,
        "the session served last keeps its log: {u:?}"
    );
    // The most recent session still works; the oldest was forgotten and
    // its client recovers with a new handshake (500 + amc-criptografia).
    drive(
        &mut bank,
        &mut sessions[5],
        &Operation::Renew,
        &mut rng,
        NOW + 100,
    );
    drive(
        &mut bank,
        &mut sessions[0],
        &Operation::Renew,
        &mut rng,
        NOW + 100,
    );
}

/// Peak resident memory of this process (kB), from /proc.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn fifty_thousand_unauthenticated_stage_ones_stay_within_the_bounds() {
    const CALLS: u64 = 50_000;
    // Signing is the costly part (one RSA signature per session id): two
    // threads sign, the bank verifies.
    let client = key("rsa1024-client");
    let t0 = std::time::Instant::now();
    let bodies: Vec<(String, Vec<u8>)> = std::thread::scope(|s| {
        let halves: Vec<_> = [0u64, 1]
            .into_iter()
            .map(|half| {
                let client = &client;
                s.spawn(move || {
                    (half * CALLS / 2..(half + 1) * CALLS / 2)
                        .map(|i| {
                            let sid = guid(i);
                            let body = stage1(client, &sid, (i % 251) as u8);
                            (sid, body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    println!("signed {CALLS} stage-1 bodies in {:?}", t0.elapsed());
    let t1 = std::time::Instant::now();
    let before = peak_rss_kb();
    let mut rng = seeded([11; 32]);
    let mut bank = common::safra::bank(SafraProfile::default(), &mut rng);
    let mut max_sessions = 0;
    for (i, (sid, body)) in bodies.iter().enumerate() {
        let r = bank.handle(
            "/psd/psd001",
            &headers(sid),
            body,
            NOW + i as u64 / 100,
            &mut rng,
        );
        assert_eq!(r.status, 200, "call {i}");
        max_sessions = max_sessions.max(bank.usage().sessions);
    }
    println!("the bank handled them in {:?}", t1.elapsed());
    let u = bank.usage();
    let grown_mib = peak_rss_kb().saturating_sub(before) / 1024;
    println!(
        "bank after {CALLS} stage-1 calls: {} sessions (max {max_sessions}), {} evicted, {} IV bytes; peak RSS grew {grown_mib} MiB",
        u.sessions, u.evicted, u.iv_bytes
    );
    assert_eq!(max_sessions, MAX_SESSIONS);
    assert_eq!(u.evicted, CALLS - MAX_SESSIONS as u64);
    assert_eq!(u.iv_bytes, 0, "no stage 2, no envelope: no IV");
    // 10 000 sessions of a 1024-bit client key each: a few MiB, far below
    // what 50 000 would take (measured ≈ 1 KiB per session).
    assert!(grown_mib < 64, "peak RSS grew {grown_mib} MiB");
}
