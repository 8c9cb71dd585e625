//! "A day of OFB traffic in a minute" (issue 12): the replay cache evicts
//! by the acceptance window, so a server at a few requests per second never
//! answers 503, every replay inside the window is refused, and the cache
//! holds about rate × window entries.
//!
//! Two parts, because signing 300 000 PS256 tokens (~1.5 ms each) would
//! take minutes:
//! - `a_day_of_traffic_through_stages_6_and_7`: 300 000 distinct requests
//!   whose `iat` advances over 24 simulated hours, each a real `(jti, iat)`
//!   put through the stage-6 `iat` rule of the profile and then the public
//!   stage-7 entry point the server helper uses (`check_replay_in_window`),
//!   with random replays (some with the `jti` in upper case);
//! - `signed_requests_through_the_server_helper`: 1 500 real signed
//!   requests through `server::verify_request` (every stage, RSA included)
//!   over 7.5 simulated minutes, with a cache whose bound only window
//!   eviction can respect.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use selo::crypto::{RsaProvider, RustCryptoProvider, SignatureScheme};
use selo::encoding::b64url;
use selo::keys::RsaPrivateKey;
use selo::keys::jwk::{Jwk, JwkSet};
use selo::ofb::server::{self, RequestExpectations};
use selo::ofb::{
    Claims, Code, JtiCache, MemoryJtiCache, OfbProfile, Verified, WhenFull, check_replay_in_window,
};

const START: u64 = 1_790_000_000;
const DAY: u64 = 86_400;

/// xorshift64*: deterministic, seed printed on failure.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            8 + (b >> 62),
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }
}

fn verified(jti: &str, iat: u64) -> Verified {
    Verified {
        header: serde_json::Map::new(),
        payload: serde_json::Map::new(),
        claims: Claims {
            aud: vec![],
            iss: String::new(),
            jti: jti.to_string(),
            iat,
            exp: None,
            nbf: None,
        },
        kid: String::new(),
    }
}

/// Stage 6 for a request with this `iat`, as the verifier runs it (the
/// core's own claim check, not a copy of its rule): `Ok` when only replay
/// can still refuse it; an `iat` error otherwise.
fn iat_ok(profile: &OfbProfile, iat: u64, now: u64) -> bool {
    let payload = serde_json::json!({
        "aud": "https://api.example/consents",
        "iss": "org-a",
        "iat": iat,
        "jti": "6f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
    });
    let expected = selo::ofb::Expected::new("https://api.example/consents", "org-a");
    match selo::ofb::check_claims(payload.as_object().unwrap(), &expected, profile, now) {
        Ok(_) => true,
        Err(e) if matches!(e.kind(), Code::IatTooOld | Code::IatInFuture) => false,
        Err(e) => panic!("stage 6 refused the test payload for another reason: {e}"),
    }
}

#[test]
fn a_day_of_traffic_through_stages_6_and_7() {
    let profile = OfbProfile::default();
    let window = profile.acceptance_window();
    // 300 000 requests over 86 400 s: 3 or 4 per second (3.47 on average).
    let total: u64 = 300_000;
    let max_rate: u64 = 4;
    // Bound that only window eviction can respect: entries live until
    // iat + window + 1 (iat ≤ now) and are swept within 10 s after.
    let bound = (max_rate * (window + 12)) as usize;
    let mut cache = MemoryJtiCache::new(bound, WhenFull::Refuse);
    let seed = 0x5e10_da11_u64;
    let mut rng = Rng(seed);
    let mut recent: Vec<(String, u64)> = Vec::new();
    let (mut fresh, mut replays, mut replays_in_window, mut replays_stage6) = (0u64, 0, 0, 0);
    let mut peak = 0usize;
    let mut sent = 0u64;
    let mut second = 0u64;
    while sent < total {
        let now = START + second;
        // Spread 300 000 over the day: 4 this second while ahead of 3.47/s.
        let due = (second + 1) * total / DAY;
        let k = due
            .saturating_sub(sent)
            .clamp(3, max_rate)
            .min(total - sent);
        for _ in 0..k {
            // Peers' clocks differ: iat within [now - 50, now + 50].
            let iat = now + rng.below(101) - 50;
            let jti = rng.uuid();
            assert!(iat_ok(&profile, iat, now));
            match check_replay_in_window(
                &mut cache,
                "client-a",
                &verified(&jti, iat),
                &profile,
                now,
            ) {
                Ok(()) => fresh += 1,
                Err(e) => panic!("fresh request {sent} refused at {now}: {e} (seed {seed:#x})"),
            }
            sent += 1;
            recent.push((jti, iat));
            if recent.len() > 2_000 {
                recent.drain(..1_000);
            }
            peak = peak.max(cache.len());
        }
        // Random replays: a recent (jti, iat), sometimes in upper case.
        if rng.below(3) == 0 {
            // Half from the last 300 requests (mostly inside the window),
            // half from the last 1 000–2 000 (mostly outside).
            let n = recent.len() as u64;
            let idx = if rng.below(2) == 0 {
                n - 1 - rng.below(n.min(300))
            } else {
                rng.below(n)
            };
            let (jti, iat) = recent[idx as usize].clone();
            let jti = if rng.below(2) == 0 {
                jti.to_ascii_uppercase()
            } else {
                jti
            };
            replays += 1;
            if iat_ok(&profile, iat, now) {
                replays_in_window += 1;
                let e = check_replay_in_window(
                    &mut cache,
                    "client-a",
                    &verified(&jti, iat),
                    &profile,
                    now,
                )
                .expect_err("a replay inside the window was accepted");
                assert_eq!(e.kind(), Code::Replay, "{e} (seed {seed:#x})");
            } else {
                replays_stage6 += 1; // refused by its iat before stage 7
            }
        }
        second += 1;
    }
    let hours = second as f64 / 3600.0;
    println!(
        "day of OFB traffic: {sent} requests over {hours:.1} simulated hours ({:.2}/s), {fresh} fresh accepted, {replays} replays ({replays_in_window} inside the window refused by stage 7, {replays_stage6} refused by iat), peak {peak} entries (bound {bound} = {max_rate}/s × (window {window} s + 12 s))",
        sent as f64 / second as f64
    );
    assert_eq!(fresh, total);
    assert!(second >= DAY - 1, "the traffic spans 24 hours");
    assert!(replays_in_window > 5_000 && replays_stage6 > 5_000);
    assert!(peak <= bound);
    // The cache really keeps a window's worth (it does not forget early).
    assert!(peak as u64 >= 3 * window, "peak {peak}");
}

#[test]
fn the_old_day_long_ttl_would_have_refused() {
    // The same bound with every entry kept 86 400 s (what `check_replay`
    // without the window does): full after `bound` requests, then 503.
    let profile = OfbProfile::default();
    let bound = (4 * (profile.acceptance_window() + 12)) as usize;
    let mut cache = MemoryJtiCache::new(bound, WhenFull::Refuse);
    let mut rng = Rng(7);
    let mut refused = 0;
    for i in 0..(bound as u64 * 3) {
        let now = START + i / 3;
        let v = verified(&rng.uuid(), now);
        if let Err(e) = selo::ofb::check_replay(&mut cache, "c", &v, now) {
            assert_eq!(e.kind(), Code::ReplayCapacity);
            refused += 1;
        }
    }
    assert!(refused > 0);
}

// ------------------------------------------------- through the server helper

const AUD: &str = "https://api.banco.example/open-banking/payments/v1/consents";
const ISS: &str = "5647fe90-f6bc-11eb-9a03-0242ac130003";
const KID: &str = "selo-test-1";

fn signer() -> RsaPrivateKey {
    let pem =
        std::fs::read(common::root().join("tests/vectors/external/keys/rsa2048-ofb.pem")).unwrap();
    RsaPrivateKey::import(&pem).unwrap()
}

fn token(key: &RsaPrivateKey, jti: &str, iat: u64) -> Vec<u8> {
    let header = format!(r#"{{"alg":"PS256","kid":"{KID}","typ":"JWT"}}"#);
    let payload = serde_json::json!({"aud": AUD, "iss": ISS, "jti": jti, "iat": iat, "data": {}});
    let input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(payload.to_string().as_bytes())
    );
    let mut rng = selo::rng::seeded([3; 32]);
    let sig = RustCryptoProvider
        .sign(key, SignatureScheme::PssSha256, input.as_bytes(), &mut rng)
        .unwrap();
    format!("{input}.{}", b64url(&sig)).into_bytes()
}

#[test]
fn signed_requests_through_the_server_helper() {
    let key = signer();
    let jwks = JwkSet::new(vec![
        Jwk::from_public(&key.public_key())
            .with_kid(KID)
            .with_alg("PS256"),
    ]);
    let profile = OfbProfile::default();
    let exp = RequestExpectations {
        aud: AUD.into(),
        iss: ISS.into(),
        client_id: "client-a".into(),
    };
    let bound = (4 * (profile.acceptance_window() + 12)) as usize; // 528
    let mut cache = MemoryJtiCache::new(bound, WhenFull::Refuse);
    let mut rng = Rng(11);
    let mut sent = Vec::new();
    let mut peak = 0;
    let (mut replays_refused, mut old_refused) = (0, 0);
    for i in 0..1_500u64 {
        let now = START + i * 3 / 10; // 3.33 requests per second
        let iat = now + rng.below(61) - 30;
        let jti = rng.uuid();
        let body = token(&key, &jti, iat);
        let ct = if i % 2 == 0 {
            "application/jwt"
        } else {
            "Application/JWT; charset=UTF-8"
        };
        let r = server::verify_request(
            "POST",
            Some(ct),
            &body,
            now,
            &jwks,
            &exp,
            &profile,
            &mut cache,
        );
        assert!(r.is_ok(), "fresh request {i} refused: {:?}", r.err());
        sent.push((body, iat));
        peak = peak.max(cache.len());
        if i % 10 == 9 {
            let (body, iat) = &sent[rng.below(sent.len() as u64) as usize];
            let e = server::verify_request(
                "POST",
                Some(ct),
                body,
                now,
                &jwks,
                &exp,
                &profile,
                &mut cache,
            )
            .unwrap_err();
            if iat_ok(&profile, *iat, now) {
                assert_eq!(e.error.kind(), Code::Replay, "{}", e.error);
                assert_eq!(e.response.status, 403);
                replays_refused += 1;
            } else {
                assert_eq!(e.error.kind(), Code::IatTooOld, "{}", e.error);
                old_refused += 1;
            }
        }
    }
    println!(
        "server helper: 1500 signed requests over 450 s, peak {peak} entries (bound {bound}), {replays_refused} replays refused by stage 7, {old_refused} by iat"
    );
    assert!(peak <= bound && replays_refused > 5 && old_refused > 5);
    let _ = cache.check_and_insert("x", "y", START);
}

#[test]
fn a_million_live_entries_fit_in_64_mib() {
    let mut c = MemoryJtiCache::new(1_000_000, WhenFull::Refuse);
    for i in 0..1_000_000u64 {
        let jti = format!("{:08x}-0000-4000-8000-{:012x}", i >> 16, i);
        c.check_and_insert_until("client-a", &jti, START, START + 121)
            .unwrap();
    }
    assert_eq!(c.len(), 1_000_000);
    // Full of live entries: the next one is refused (503), not forgotten.
    let e = c
        .check_and_insert_until("client-a", "one-more", START + 1, START + 122)
        .unwrap_err();
    assert_eq!(e.kind(), Code::ReplayCapacity);
    let bytes = c.heap_bytes();
    println!(
        "1 000 000 entries: {bytes} table bytes ({:.1} per entry)",
        bytes as f64 / 1e6
    );
    assert!(bytes <= 64 << 20, "{bytes}");
}
