#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `selo demo`, `selo sim safra`, `selo safra seal|open`, `selo keygen`.

mod common;

use common::{SELO, first_line, flow_at, json, selo, stdout};
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn demo_runs_every_step_and_exits_0() {
    let out = selo(&["demo", "--bank-key-bits", "1024"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for name in [
        "handshake",
        "authenticate",
        "renew",
        "register",
        "query",
        "pix",
        "pix retry",
        "consent",
        "replay",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("[ok]") && l.contains(name)),
            "no [ok] line for {name}:\n{text}"
        );
    }
    assert!(text.lines().last().unwrap().starts_with("ok: "), "{text}");
    assert!(!text.contains("[FAIL]"));
}

#[test]
fn demo_with_faults_recovers_and_reports_json() {
    let out = selo(&["--json", "demo", "--faults", "--bank-key-bits", "1024"]);
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    assert_eq!(doc["ok"], true);
    assert_eq!(
        doc["steps"].as_array().unwrap().len(),
        9,
        "5 Safra + 2 BMP + 2 OFB steps"
    );
    let renew = common::recoveries(&doc, "renew");
    assert!(renew.iter().any(|r| r.contains("key expired")), "{renew:?}");
    let register = common::recoveries(&doc, "register");
    assert!(register.iter().any(|r| r.contains("480")), "{register:?}");
    // Sealed bodies are shown opened, and long secrets are abridged.
    let auth = common::step(&doc, "authenticate");
    let x = &auth["exchanges"][0];
    assert_eq!(x["sent_opened"]["idEstrategia"], "autenticar/psd");
    assert!(
        x["received_opened"]["token"]
            .as_str()
            .unwrap()
            .contains("…(")
    );
}

#[test]
fn sim_safra_prints_its_url_first_and_serves_a_flow() {
    let mut child = Command::new(SELO)
        .args([
            "sim",
            "safra",
            "--port",
            "0",
            "--bank-key-bits",
            "1024",
            "--log",
            "--fault",
            "expire-key",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (url, _lines) = first_line(&mut child);
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/psd/"),
        "{url}"
    );
    let out = flow_at(&url, "C", &[]);
    let result = json(&out);
    child.kill().unwrap();
    let _ = child.wait();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert_eq!(result["ok"], true, "{result:#}");
    // The --fault queued at start was applied.
    assert!(
        common::recoveries(&result, "authenticate")[0].contains("key expired"),
        "{result:#}"
    );
    // One log line per request: method, path, status, ms.
    assert!(log.contains("[safra] POST /psd/psd001 200 "), "{log}");
    assert!(log.contains("[safra] POST /psd/psd005 500 "), "{log}");
    assert!(
        log.lines()
            .filter(|l| l.starts_with("[safra] POST"))
            .count()
            >= 7,
        "{log}"
    );
}

#[test]
fn sim_rejects_a_fault_it_does_not_know() {
    let out = selo(&["sim", "safra", "--fault", "explode"]);
    assert_eq!(out.status.code(), Some(2));
    let out = selo(&[
        "sim",
        "safra",
        "--bank-key-bits",
        "1024",
        "--fault",
        "confirmation-timeout",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not apply to the Safra simulator"));
}

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn run_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(SELO)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn seal_then_open_round_trips_and_has_the_manual_layout() {
    let msg = br#"{"idEstrategia":"autenticar/psd","cliente":"X"}"#;
    let sealed = run_stdin(
        &["safra", "seal", "--key", KEY, "--iv", "ABCDEFGHIJKLMNOP"],
        msg,
    );
    assert!(sealed.status.success());
    let env = stdout(&sealed).trim().to_string();
    let parts: Vec<&str> = env.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0], "eyJhbGciOiJSU0EtQUVQIiwiZW5jIjoiQTI1NkNUUiJ9");
    assert_eq!(parts[1], "QUJDREVGR0hJSktMTU5PUA==");
    assert_eq!(parts[2].len(), msg.len().div_ceil(3) * 4);
    // Same key and IV: deterministic.
    let again = run_stdin(
        &["safra", "seal", "--key", KEY, "--iv", "ABCDEFGHIJKLMNOP"],
        msg,
    );
    assert_eq!(stdout(&again).trim(), env);
    // Open the bare envelope and the {"data": …} body form.
    let opened = run_stdin(&["safra", "open", "--key", KEY], env.as_bytes());
    assert!(opened.status.success());
    assert_eq!(opened.stdout, msg);
    let body = run_stdin(&["safra", "seal", "--key", KEY, "--body"], msg);
    let opened = run_stdin(&["--json", "safra", "open", "--key", KEY], &body.stdout);
    assert_eq!(json(&opened)["plaintext"]["cliente"], "X");
    // Random IVs differ.
    let other = run_stdin(&["safra", "seal", "--key", KEY], msg);
    assert_ne!(stdout(&other).trim(), env);
}

#[test]
fn seal_and_open_refuse_bad_input() {
    let out = run_stdin(&["safra", "seal", "--key", "c2hvcnQ="], b"{}");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[safra.envelope.bad_key]"));
    let out = run_stdin(&["safra", "seal", "--key", KEY, "--iv", "short"], b"{}");
    assert_eq!(out.status.code(), Some(2));
    let out = run_stdin(&["safra", "open", "--key", KEY], b"only.two");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[safra.envelope.malformed]"));
    let out = run_stdin(&["--json", "safra", "open", "--key", KEY], b"YWJj.YQ.YQ");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["code"], "safra.envelope.bad_header");
}

#[test]
fn keygen_writes_importable_keys() {
    let out = selo(&["keygen", "--bits", "1024"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(text.contains("-----BEGIN PUBLIC KEY-----"));
    let (private, public) = text.split_at(text.find("-----BEGIN PUBLIC KEY-----").unwrap());
    let key = selo::keys::RsaPrivateKey::import(private.as_bytes()).unwrap();
    let public = selo::keys::RsaPublicKey::import(public.as_bytes()).unwrap();
    assert_eq!(key.public_key(), public);
    assert_eq!(key.bits(), 1024);
    let doc = json(&selo(&[
        "--json",
        "keygen",
        "--bits",
        "1024",
        "--format",
        "public-pem",
    ]));
    assert_eq!(doc["bits"], 1024);
    assert!(doc.get("private_pkcs8_pem").is_none());
    let public =
        selo::keys::RsaPublicKey::import(doc["public_spki_pem"].as_str().unwrap().as_bytes())
            .unwrap();
    assert_eq!(public.bits(), 1024);
    let bad = selo(&["keygen", "--bits", "512"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("error[key.size]"));
}

/// The pin of a PEM key as openssl computes it (an independent witness):
/// SHA-256 of the DER SubjectPublicKeyInfo, base64url without padding.
fn openssl_pin(pem_path: &std::path::Path) -> String {
    let der = Command::new("openssl")
        .args(["pkey", "-in"])
        .arg(pem_path)
        .args(["-pubout", "-outform", "DER"])
        .output()
        .expect("the openssl CLI (scripts/setup installs it)");
    assert!(
        der.status.success(),
        "{}",
        String::from_utf8_lossy(&der.stderr)
    );
    let mut dgst = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut dgst.stdin.take().unwrap(), &der.stdout).unwrap();
    let hash = dgst.wait_with_output().unwrap().stdout;
    assert_eq!(hash.len(), 32);
    selo::encoding::b64url(&hash)
}

#[test]
fn bank_key_prints_the_pin_the_simulator_prints_and_openssl_computes() {
    let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors/external/keys/rsa1024-bank.pem");
    let mut child = Command::new(SELO)
        .args(["sim", "safra", "--port", "0", "--bank-key"])
        .arg(&key)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (url, mut lines) = first_line(&mut child);
    let second = lines.next().unwrap().unwrap();
    let sim_pin = second
        .strip_prefix("bank key pin (profile bank_key_pins): ")
        .unwrap_or_else(|| panic!("second line: {second:?}"))
        .to_string();
    let out = selo(&["--json", "safra", "bank-key", "--base-url", &url]);
    let doc = json(&out);
    let human = selo(&["safra", "bank-key", "--base-url", &url]);
    // Flows pinned to the bank's key and to another one.
    let want = openssl_pin(&key);
    let other = openssl_pin(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/vectors/external/keys/rsa1024-client.pem"),
    );
    let dir = std::env::temp_dir().join(format!("selo-pins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = |pin: &str| {
        let p = dir.join(format!("{pin}.json"));
        std::fs::write(&p, format!(r#"{{"bank_key_pins":["{pin}"]}}"#)).unwrap();
        p.to_string_lossy().into_owned()
    };
    let good = json(&flow_at(&url, "C", &["--profile", &profile(&want)]));
    let bad = json(&flow_at(&url, "C", &["--profile", &profile(&other)]));
    child.kill().unwrap();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(good["ok"], true, "{good:#}");
    assert_eq!(bad["ok"], false);
    assert!(
        bad.to_string()
            .contains("safra.handshake.bank_key_not_pinned"),
        "{bad:#}"
    );
    assert_eq!(sim_pin, want);
    assert_eq!(doc["pin"], want.as_str(), "{doc:#}");
    assert_eq!(doc["bits"], 1024);
    assert!(
        doc["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let text = stdout(&human);
    assert!(
        text.contains(&format!("\"bank_key_pins\": [\"{want}\"]")),
        "{text}"
    );
}
