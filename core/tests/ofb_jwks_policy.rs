#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The remote JWK Set policy (SPEC §3.3a) against the shared table
//! `tests/vectors/ofb/jwks-policy.json`, which every host runs against its
//! binding too.

mod common;

use selo::ofb::{Decision, FetchFailure, JwksCache, JwksPolicy};
use serde_json::{Value, json};

fn token(kid: &Value) -> String {
    match kid.as_str() {
        Some(k) => format!(
            "{}.e30.AA",
            selo::encoding::b64url(json!({"alg": "PS256", "kid": k}).to_string().as_bytes())
        ),
        None => "not-a-jws".into(),
    }
}

fn body(table: &Value, fetched: &Value) -> Vec<u8> {
    if let Some(b) = fetched["body"].as_str() {
        return b.as_bytes().to_vec();
    }
    let keys: Vec<Value> = fetched["kids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            let mut key = table["key"].clone();
            key["kid"] = k.clone();
            key
        })
        .collect();
    json!({ "keys": keys }).to_string().into_bytes()
}

#[test]
fn every_scenario_of_the_shared_table() {
    let table = common::vector_json("ofb/jwks-policy.json");
    let mut steps_run = 0;
    for sc in table["scenarios"].as_array().unwrap() {
        let name = sc["name"].as_str().unwrap();
        let mut policy = serde_json::to_value(JwksPolicy::default()).unwrap();
        if let Some(o) = sc["policy"].as_object() {
            for (k, v) in o {
                policy[k] = v.clone();
            }
        }
        let policy = JwksPolicy::from_json(&policy.to_string()).unwrap();
        let mut cache = JwksCache::new(table["url"].as_str().unwrap(), policy).unwrap();
        let mut ticket: Option<u64> = None;
        for (i, st) in sc["steps"].as_array().unwrap().iter().enumerate() {
            let at = format!("{name}, step {i}");
            let t = st["t"].as_u64().unwrap();
            let expect = &st["expect"];
            steps_run += 1;
            if st.get("decide").is_some() {
                let d = cache.decide_for_token(t, &token(&st["decide"]));
                match (expect["kind"].as_str().unwrap(), d) {
                    ("use", Ok(Decision::Use { refresh })) => {
                        assert_eq!(
                            refresh.is_some(),
                            expect["refresh"].as_bool().unwrap(),
                            "{at}"
                        );
                        if let Some(r) = refresh {
                            ticket = Some(r.id);
                        }
                    }
                    ("fetch", Ok(Decision::Fetch(tk))) => {
                        assert_eq!(tk.url, table["url"].as_str().unwrap(), "{at}");
                        ticket = Some(tk.id);
                    }
                    ("wait", Ok(Decision::Wait { until_ms })) => assert!(until_ms > 0, "{at}"),
                    ("refuse", Err(e)) => {
                        assert_eq!(e.code(), expect["code"].as_str().unwrap(), "{at}: {e}");
                        assert_eq!(e.http_status(), Some(503), "{at}");
                    }
                    (want, got) => panic!("{at}: expected {want}, found {got:?}"),
                }
            } else if let Some(f) = st.get("fetched") {
                let status = u16::try_from(f["status"].as_u64().unwrap()).unwrap();
                let r = cache.fetched(ticket.unwrap(), t, status, &body(&table, f));
                match (expect["code"].as_str(), r) {
                    (None, Ok(skipped)) => {
                        assert_eq!(
                            skipped.len() as u64,
                            expect["skipped"].as_u64().unwrap_or(0),
                            "{at}"
                        );
                    }
                    (Some(code), Err(e)) => {
                        assert_eq!(e.code(), code, "{at}");
                        if let Some(m) = expect["message_contains"].as_str() {
                            assert!(e.message().contains(m), "{at}: {e}");
                        }
                    }
                    (want, got) => panic!("{at}: expected {want:?}, found {got:?}"),
                }
            } else if let Some(kind) = st["failed"].as_str() {
                let kind: FetchFailure = kind.parse().unwrap();
                let e = cache.failed(ticket.unwrap(), t, kind, "the host's words");
                assert_eq!(e.code(), expect["code"].as_str().unwrap(), "{at}");
            } else if let Some(want) = st.get("stats") {
                let s = cache.stats();
                let got =
                    json!({"fetches": s.fetches, "failures": s.failures, "refused": s.refused});
                assert_eq!(&got, want, "{at}");
            } else {
                panic!("{at}: unknown step {st}");
            }
        }
    }
    assert!(steps_run >= 60, "{steps_run} steps");
}

#[test]
fn the_cache_hands_out_the_set_it_fetched() {
    let table = common::vector_json("ofb/jwks-policy.json");
    let mut cache = JwksCache::new("https://k.example/jwks", JwksPolicy::default()).unwrap();
    assert!(cache.jwks().is_none());
    let Decision::Fetch(t) = cache.decide(0, Some("a")).unwrap() else {
        panic!()
    };
    assert_eq!((t.timeout_ms, t.max_bytes), (5_000, 512 * 1024));
    cache
        .fetched(t.id, 1, 200, &body(&table, &json!({"kids": ["a", "b"]})))
        .unwrap();
    let set = cache.jwks().unwrap();
    assert_eq!(set.find_kid("b").count(), 1);
    // A policy with an unknown member, an http URL: refused with their code.
    assert_eq!(
        JwksPolicy::from_json(r#"{"max_agee": 1}"#)
            .unwrap_err()
            .code(),
        "ofb.jwks.url"
    );
    assert_eq!(
        JwksCache::new("http://keys.example.org/jwks", JwksPolicy::default())
            .unwrap_err()
            .code(),
        "ofb.jwks.url"
    );
}
