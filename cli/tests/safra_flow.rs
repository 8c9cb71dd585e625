#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `selo safra flow` (the built binary) against the in-process Safra
//! simulator: every padding and key format, `auto` against each, fault
//! recovery, 550 surfacing, lost replies, exit codes.

mod common;

use common::{Harness, flow, flow_at, json, recoveries, safra, selo, stdout, step};
use selo::keys::KeyFormat;
use selo::safra::{On480, PaddingChoice, SafraProfile};
use selo_sim::Fault;

const PADDINGS: [&str; 4] = [
    "pkcs1v15",
    "oaep-sha1",
    "oaep-sha256",
    "oaep-sha256-mgf1sha1",
];
const FORMATS: [&str; 3] = ["der-spki", "pem-spki", "der-pkcs1"];

fn bank(padding: &str, format: &str) -> SafraProfile {
    SafraProfile {
        padding: serde_json::from_value(serde_json::json!(padding)).unwrap(),
        key_format: KeyFormat::parse(format).unwrap(),
        ..SafraProfile::default()
    }
}

fn assert_complete(h: &Harness, doc: &serde_json::Value, ctx: &str) {
    assert_eq!(doc["ok"], true, "{ctx}: {doc:#}");
    let names: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["handshake", "authenticate", "renew", "register", "query"],
        "{ctx}"
    );
    // The query answered what the simulator holds as registered.
    let registered = step(doc, "register")["detail"]["documento"]["nossoNumero"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        step(doc, "query")["detail"]["documento"]["nossoNumero"],
        registered.as_str(),
        "{ctx}"
    );
    assert!(
        h.sim
            .protocol()
            .boletos()
            .iter()
            .any(|b| b.nosso_numero == registered),
        "{ctx}: the simulator does not hold {registered}"
    );
}

/// One bank padding; the client fixed to it and in `auto`; every key format.
fn padding_case(bank_padding: &str) {
    for format in FORMATS {
        let h = safra(bank(bank_padding, format));
        for client in [bank_padding, "auto"] {
            let ctx = format!("bank {bank_padding}, client {client}, key format {format}");
            let out = flow(&h, &["--padding", client, "--key-format", format]);
            assert!(out.status.success(), "{ctx}: exit {:?}", out.status);
            let doc = json(&out);
            assert_complete(&h, &doc, &ctx);
            let hs = step(&doc, "handshake");
            assert_eq!(hs["detail"]["padding"], bank_padding, "{ctx}");
            // `auto` walks the candidates in order: one refusal per candidate
            // before the bank's padding.
            let expected_refusals = if client == "auto" {
                PADDINGS.iter().position(|p| *p == bank_padding).unwrap()
            } else {
                0
            };
            assert_eq!(
                hs["recoveries"].as_array().unwrap().len(),
                expected_refusals,
                "{ctx}: {hs:#}"
            );
        }
    }
}

#[test]
fn padding_pkcs1v15_every_key_format_fixed_and_auto() {
    padding_case("pkcs1v15");
}

#[test]
fn padding_oaep_sha1_every_key_format_fixed_and_auto() {
    padding_case("oaep-sha1");
}

#[test]
fn padding_oaep_sha256_every_key_format_fixed_and_auto() {
    padding_case("oaep-sha256");
}

#[test]
fn padding_oaep_sha256_mgf1sha1_every_key_format_fixed_and_auto() {
    padding_case("oaep-sha256-mgf1sha1");
}

#[test]
fn mismatched_fixed_padding_fails_with_the_bank_refusal() {
    let h = safra(bank("oaep-sha256", "der-spki"));
    let out = flow(&h, &["--padding", "pkcs1v15"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["ok"], false);
    assert_eq!(
        step(&doc, "handshake")["error"]["code"],
        "safra.status.request_error"
    );
    assert_eq!(
        doc["steps"].as_array().unwrap().len(),
        1,
        "stops at the failed step"
    );
}

#[test]
fn profile_file_is_read() {
    let dir = std::env::temp_dir().join(format!("selo-cli-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("profile.json");
    std::fs::write(
        &path,
        r#"{"padding":"oaep-sha256-mgf1sha1","key_format":"pem-spki"}"#,
    )
    .unwrap();
    let h = safra(bank("oaep-sha256-mgf1sha1", "pem-spki"));
    let out = flow(&h, &["--profile", path.to_str().unwrap()]);
    let doc = json(&out);
    assert_complete(&h, &doc, "profile file");
    assert_eq!(
        step(&doc, "handshake")["detail"]["padding"],
        "oaep-sha256-mgf1sha1"
    );
    // Without the file the default (pkcs1v15) is refused by this bank.
    assert_eq!(flow(&h, &[]).status.code(), Some(1));
    // A profile with an unknown field is a usage error (exit 2).
    std::fs::write(&path, r#"{"padding":"oaep-sha1","bogus":1}"#).unwrap();
    let out = flow(&h, &["--profile", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "safra.profile.invalid");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn key_expiry_and_480_are_recovered_by_the_session() {
    let h = safra(SafraProfile::default());
    // The bank's faults hit the next non-handshake calls: psd005 sees a key
    // expiry, then (after the re-handshake) a 480, then succeeds.
    h.sim.inject(Fault::ExpireKey).unwrap();
    h.sim.inject(Fault::Answer480).unwrap();
    let out = flow(&h, &[]);
    assert!(out.status.success(), "{}", stdout(&out));
    let doc = json(&out);
    assert_complete(&h, &doc, "expire-key + 480");
    let r = recoveries(&doc, "authenticate");
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(r[0].starts_with("rehandshake: key expired"), "{r:?}");
    assert!(r[1].starts_with("rehandshake: token limit (480)"), "{r:?}");
    let statuses: Vec<Option<u16>> = h.sim.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&Some(500)) && statuses.contains(&Some(480)));
}

#[test]
fn on_480_reauth_repeats_only_psd005() {
    let h = safra(SafraProfile::default());
    let dir = std::env::temp_dir().join(format!("selo-cli-480-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("profile.json");
    let profile = SafraProfile {
        on_480: On480::Reauth,
        ..SafraProfile::default()
    };
    std::fs::write(&path, profile.to_json()).unwrap();
    // Authenticate first (clean), then the 480 hits renew (psd007).
    let out = flow(&h, &["--profile", path.to_str().unwrap()]);
    assert!(out.status.success());
    h.sim.inject(Fault::Answer480).unwrap();
    let out = flow(&h, &["--profile", path.to_str().unwrap()]);
    let doc = json(&out);
    assert_complete(&h, &doc, "480 reauth");
    let r = recoveries(&doc, "authenticate");
    assert_eq!(r, ["reauthenticate: token limit (480)"]);
    // No second handshake: exactly two psd001 calls in the second run.
    let psd001 = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("psd001"))
        .count();
    assert_eq!(psd001, 4, "two handshake stages per run, none extra");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn answer_550_surfaces_status_processamento() {
    let h = safra(SafraProfile::default());
    h.sim.inject(Fault::Answer550).unwrap();
    let out = flow(&h, &[]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["ok"], false);
    let auth = step(&doc, "authenticate");
    assert_eq!(auth["error"]["code"], "safra.bank.business");
    assert_eq!(auth["detail"]["statusProcessamento"]["codigo"], 99);
    assert_eq!(
        auth["detail"]["statusProcessamento"]["mensagem"],
        "Erro de negócio simulado"
    );

    // Human output names it too.
    h.sim.inject(Fault::Answer550).unwrap();
    let url = h.sim.base_url();
    let out = selo(&["safra", "flow", "--base-url", &url, "--cliente", "C"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("statusProcessamento 99: Erro de negócio simulado"),
        "{text}"
    );
    assert!(text.contains("[FAIL]"), "{text}");
}

#[test]
fn duplicate_boleto_is_a_business_error_from_the_bank() {
    let h = safra(SafraProfile::default());
    let boleto = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/safra/boleto-sample.json"
    );
    let first = flow(&h, &["--boleto", boleto]);
    assert!(first.status.success(), "{}", stdout(&first));
    let second = flow(&h, &["--boleto", boleto]);
    assert_eq!(second.status.code(), Some(1));
    let doc = json(&second);
    let reg = step(&doc, "register");
    assert_eq!(reg["error"]["code"], "safra.bank.business");
    assert_eq!(reg["detail"]["statusProcessamento"]["codigo"], 2);
    assert!(
        reg["detail"]["statusProcessamento"]["mensagem"]
            .as_str()
            .unwrap()
            .contains("já registrado")
    );
    assert_eq!(h.sim.protocol().boletos().len(), 1);
}

fn profile_file(name: &str, json: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("selo-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("profile.json");
    std::fs::write(&path, json).unwrap();
    path
}

#[test]
fn a_dropped_reply_is_resent_by_the_session_and_giving_up_is_an_io_failure() {
    let h = safra(SafraProfile::default());
    h.sim.inject(Fault::Drop { count: 1 }).unwrap();
    let out = flow(&h, &[]);
    let doc = json(&out);
    assert_complete(&h, &doc, "drop");
    let r = recoveries(&doc, "handshake");
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].starts_with("retry: cli.net."), "{r:?}");
    assert!(h.sim.requests().iter().any(|r| r.status.is_none()));

    // No recovery allowed: the session gives up after the lost reply, and
    // the step fails on the network (exit 3) naming both.
    let p = profile_file("norecovery", r#"{"max_recoveries":0}"#);
    h.sim.inject(Fault::Drop { count: 1 }).unwrap();
    let out = flow(&h, &["--profile", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let doc = json(&out);
    let err = &step(&doc, "handshake")["error"];
    assert_eq!(err["code"], "safra.session.too_many_recoveries", "{err:#}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("last transport failure: cli.net."),
        "{err:#}"
    );
}

#[test]
fn store_then_502_on_psd050_is_reconciled_and_printed() {
    let h = safra(SafraProfile::default());
    h.sim.inject(Fault::StoreThen502).unwrap();
    let out = flow(&h, &[]);
    let doc = json(&out);
    assert_complete(&h, &doc, "store-then-502");
    let reg = step(&doc, "register");
    assert_eq!(reg["detail"]["reconciled"], true, "{reg:#}");
    assert!(
        reg["summary"].as_str().unwrap().contains("reconciled"),
        "{reg:#}"
    );
    let r = recoveries(&doc, "register");
    assert!(
        r.iter().any(|x| x.starts_with("reconcile: HTTP 502")),
        "{r:?}"
    );
    assert_eq!(h.sim.protocol().duplicates(), 0);
    assert!(h.sim.protocol().register_calls().values().all(|&n| n == 1));
    // The human output says it too.
    h.sim.inject(Fault::StoreThen502).unwrap();
    let base = h.sim.base_url();
    let out = selo(&["safra", "flow", "--base-url", &base, "--cliente", "C"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("reconciled"), "{}", stdout(&out));
    assert_eq!(h.sim.protocol().duplicates(), 0);
}

#[test]
fn an_unknowable_psd050_outcome_exits_non_zero_with_outcome_unknown() {
    let h = safra(SafraProfile::default());
    // psd050 stored then its reply lost; the reconciling query stalls
    // past the client's timeout.
    h.sim.inject(Fault::StoreThenDrop).unwrap();
    h.sim
        .inject(Fault::Stall {
            ms: 5_000,
            service: Some("psd052".into()),
        })
        .unwrap();
    let out = flow(&h, &["--timeout", "1"]);
    assert_ne!(out.status.code(), Some(0));
    let doc = json(&out);
    let err = &step(&doc, "register")["error"];
    assert_eq!(err["code"], "safra.boleto.outcome_unknown", "{err:#}");
    assert!(
        err["message"].as_str().unwrap().contains("nossoNumero"),
        "{err:#}"
    );
    assert_eq!(h.sim.protocol().duplicates(), 0);
}

#[test]
fn latency_is_added_and_a_timeout_is_retried_by_the_session() {
    let h = safra(SafraProfile::default());
    h.sim
        .inject(Fault::Latency {
            ms: 300,
            count: Some(1),
        })
        .unwrap();
    let doc = json(&flow(&h, &[]));
    assert_complete(&h, &doc, "latency");
    let first = &step(&doc, "handshake")["exchanges"][0];
    assert!(first["ms"].as_u64().unwrap() >= 300, "{first:#}");

    h.sim
        .inject(Fault::Latency {
            ms: 2500,
            count: Some(1),
        })
        .unwrap();
    let doc = json(&flow(&h, &["--timeout", "1"]));
    assert_complete(&h, &doc, "timeout");
    let r = recoveries(&doc, "handshake");
    assert_eq!(r, ["retry: cli.net.timeout"], "{r:?}");
}

#[test]
fn unreachable_server_is_exit_3_and_bad_usage_is_exit_2() {
    // A port bound but not listening: connections are refused, and nothing
    // else can take the port while the socket lives (no free-then-rebind).
    let held = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let s = tokio::net::TcpSocket::new_v4().unwrap();
            s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            s
        });
    let port = held.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/psd/");
    let out = flow_at(&url, "C", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let doc = json(&out);
    let err = &step(&doc, "handshake")["error"];
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("last transport failure: cli.net.connect"),
        "{err:#}"
    );

    let out = selo(&[
        "safra",
        "flow",
        "--base-url",
        &url,
        "--cliente",
        "C",
        "--padding",
        "rsa",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[cli.usage.padding]"));
    assert_eq!(
        selo(&["safra", "flow", "--cliente", "C"]).status.code(),
        Some(2)
    );
    let out = selo(&[
        "safra",
        "flow",
        "--base-url",
        &url,
        "--cliente",
        "C",
        "--profile",
        "/nonexistent/p.json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[cli.io.read]"));
    assert_eq!(selo(&["safra", "flow", "--help"]).status.code(), Some(0));
}

#[test]
fn padding_choice_names_match_the_core() {
    // The CLI parses --padding through the core's serde names.
    for p in PADDINGS.iter().chain(["auto"].iter()) {
        let c: PaddingChoice = serde_json::from_value(serde_json::json!(p)).unwrap();
        assert_eq!(serde_json::to_value(c).unwrap(), *p);
    }
}
