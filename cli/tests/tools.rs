#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `selo validate`, `selo bmp`, `selo jws`, `selo jwks`, `keygen --format
//! jwk`, `selo sim bmp|ofb`, and the BMP/OFB steps of `selo demo`.

mod common;

use common::{SELO, first_line, json, selo, stdout};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
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

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("selo-cli-tools-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn validate_accepts_good_values_and_exits_1_on_bad_ones() {
    let ok = selo(&["validate", "cpf", "529.982.247-25"]);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(stdout(&ok).trim(), "valid CPF 529.982.247-25");
    let bad = selo(&["validate", "cpf", "52998224726"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("error[br.cpf.invalid]"));
    assert_eq!(
        selo(&["validate", "cnpj", "11.222.333/0001-81"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        selo(&["validate", "cnpj", "11222333000182"]).status.code(),
        Some(1)
    );
    let b = json(&selo(&[
        "--json",
        "validate",
        "boleto",
        "02163168780122052758440489640909335399540569",
    ]));
    assert_eq!(
        b["detail"]["linha_digitavel"],
        "02168440438964090933253995405692316878012205275"
    );
    assert_eq!(b["detail"]["amount_cents"], 8_012_205_275_u64);
    assert_eq!(
        selo(&[
            "validate",
            "boleto",
            "02163168780122052758440489640909335399540568"
        ])
        .status
        .code(),
        Some(1)
    );
    let p = json(&selo(&["--json", "validate", "pix", "+5511987654321"]));
    assert_eq!(p["ok"], true);
    assert_eq!(
        selo(&["validate", "pix", "not a key"]).status.code(),
        Some(1)
    );
    assert_eq!(selo(&["validate", "rg", "1"]).status.code(), Some(2));
}

#[test]
fn bmp_sign_canonical_and_verify() {
    let key = tmp("bmp.key");
    std::fs::write(&key, "K".repeat(128)).unwrap();
    let k = key.to_str().unwrap();
    let canon = run_stdin(&["bmp", "canonical"], br#"{ "b": "x", "valor": 1345.5 }"#);
    assert_eq!(stdout(&canon).trim(), r#"{"b":"x","valor":1345.50}"#);
    let bad = run_stdin(&["bmp", "canonical"], br#"{"valor": 1.001}"#);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bmp.money.precision"));

    let signed = json(&run_stdin(
        &["--json", "bmp", "sign", "--key-file", k],
        br#"{"valor": 10}"#,
    ));
    let body = signed["body"].as_str().unwrap();
    assert_eq!(body, r#"{"valor":10.00}"#);
    let hmac = signed["hmac"].as_str().unwrap();
    assert_eq!(hmac.len(), 128);
    let ok = run_stdin(
        &["bmp", "verify", "--key-file", k, "--hmac", hmac],
        body.as_bytes(),
    );
    assert_eq!(ok.status.code(), Some(0));
    let tampered = run_stdin(
        &["bmp", "verify", "--key-file", k, "--hmac", hmac],
        br#"{"valor":10.01}"#,
    );
    assert_eq!(tampered.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&tampered.stderr).contains("error[bmp.mac.mismatch]"));
    let short = run_stdin(&["bmp", "sign", "--key", "short"], b"{}");
    assert_eq!(short.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&short.stderr).contains("bmp.key.invalid"));
}

#[test]
fn jws_sign_verify_with_jwks_and_keygen_jwk() {
    let pem = tmp("signer.pem");
    let out = selo(&["keygen", "--bits", "2048", "--format", "private-pem"]);
    std::fs::write(&pem, &out.stdout).unwrap();
    let jwks = tmp("jwks.json");
    let set = selo(&["jwks", pem.to_str().unwrap()]);
    assert!(set.status.success());
    std::fs::write(&jwks, &set.stdout).unwrap();
    let set = json(&set);
    assert!(set["keys"][0].get("d").is_none(), "public only");
    assert_eq!(set["keys"][0]["alg"], "PS256");

    let token = run_stdin(
        &[
            "jws",
            "sign",
            "--key",
            pem.to_str().unwrap(),
            "--aud",
            "https://rs/consents",
            "--iss",
            "org-1",
        ],
        br#"{"data":{"amount":"1.00"}}"#,
    );
    assert!(token.status.success());
    let v = run_stdin(
        &[
            "--json",
            "jws",
            "verify",
            "--jwks",
            jwks.to_str().unwrap(),
            "--aud",
            "https://rs/consents",
            "--iss",
            "org-1",
        ],
        &token.stdout,
    );
    let v = json(&v);
    assert_eq!(v["payload"]["data"]["amount"], "1.00");
    assert_eq!(v["kid"], set["keys"][0]["kid"]);
    let wrong_iss = run_stdin(
        &[
            "jws",
            "verify",
            "--jwks",
            jwks.to_str().unwrap(),
            "--aud",
            "https://rs/consents",
            "--iss",
            "org-2",
        ],
        &token.stdout,
    );
    assert_eq!(wrong_iss.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong_iss.stderr).contains("error[ofb.claims.iss]"));
    let mut forged = token.stdout.clone();
    let n = forged.len() - 3;
    forged[n] = if forged[n] == b'A' { b'B' } else { b'A' };
    let bad = run_stdin(
        &[
            "jws",
            "verify",
            "--jwks",
            jwks.to_str().unwrap(),
            "--aud",
            "https://rs/consents",
            "--iss",
            "org-1",
        ],
        &forged,
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("error[ofb.verify.bad_signature]"));

    let jwk = json(&selo(&["keygen", "--bits", "2048", "--format", "jwk"]));
    assert_eq!(jwk["kty"], "RSA");
    assert!(jwk.get("d").is_some() && jwk.get("kid").is_some());
}

#[test]
fn sim_ofb_and_sim_bmp_subcommands_serve() {
    // OFB: the generated client key is written out; a signed request is accepted.
    let client_key = tmp("ofb-client.pem");
    let mut ofb = Command::new(SELO)
        .args([
            "sim",
            "ofb",
            "--port",
            "0",
            "--write-client-key",
            client_key.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (aud, _lines) = first_line(&mut ofb);
    assert!(
        aud.starts_with("http://127.0.0.1:") && aud.ends_with("/open-banking/payments/v4/consents")
    );
    let token = run_stdin(
        &[
            "jws",
            "sign",
            "--key",
            client_key.to_str().unwrap(),
            "--aud",
            &aud,
            "--iss",
            "c0ffee00-0000-4000-8000-000000000001",
        ],
        br#"{"data":{"payment":{"amount":"1.00"}}}"#,
    );
    assert!(token.status.success());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let post = |body: Vec<u8>| {
        rt.block_on(async {
            let c = selo::http::PreparedRequest::new("POST", aud.clone(), vec![], body);
            raw_post(&c).await
        })
    };
    let (s1, _) = post(token.stdout.clone());
    let (s2, b2) = post(token.stdout.clone());
    ofb.kill().unwrap();
    let _ = ofb.wait();
    assert_eq!(s1, 201);
    assert_eq!(s2, 403, "{b2}");
    assert!(b2.contains("JTI_REUSED"));

    // BMP: prints its URL, then the generated shared key.
    let mut bmp = Command::new(SELO)
        .args([
            "sim",
            "bmp",
            "--port",
            "0",
            "--confirmation-url",
            "http://127.0.0.1:9/confirm",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (url, mut lines) = first_line(&mut bmp);
    let key_line = lines.next().unwrap().unwrap();
    bmp.kill().unwrap();
    let _ = bmp.wait();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/api/"),
        "{url}"
    );
    let key = key_line.strip_prefix("shared key: ").unwrap();
    assert_eq!(key.len(), 128);
    assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()));
}

/// A minimal POST with `content-type: application/jwt` over a raw socket
/// (the CLI test crate does not depend on an HTTP client).
async fn raw_post(req: &selo::http::PreparedRequest) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = req.url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/jwt\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        req.body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&req.body).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().unwrap();
    (status, text)
}

#[test]
fn demo_json_has_the_bmp_and_ofb_steps() {
    let doc = json(&selo(&["--json", "demo", "--bank-key-bits", "1024"]));
    assert_eq!(doc["ok"], true, "{doc:#}");
    let names: Vec<String> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["protocol"].as_str().unwrap(),
                s["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "safra handshake",
            "safra authenticate",
            "safra renew",
            "safra register",
            "safra query",
            "bmp pix",
            "bmp pix retry",
            "ofb consent",
            "ofb replay"
        ]
    );
    let pix = common::step(&doc, "pix");
    // The confirmation round-trip (BMP → the CLI's partner endpoint) is shown.
    assert_eq!(pix["exchanges"][0]["outcome"], "confirmation");
    assert_eq!(pix["exchanges"][0]["status"], 200);
    assert_eq!(pix["exchanges"][1]["status"], 200);
    assert!(
        common::step(&doc, "replay")["summary"]
            .as_str()
            .unwrap()
            .contains("403 JTI_REUSED")
    );
}
