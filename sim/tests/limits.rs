#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile clients meet bounds (issue 12): a configurable body limit (413),
//! a header-read timeout (the connection is closed) and a body-read
//! timeout (408).

use selo::bmp::{BmpProfile, HmacKey};
use selo_sim::ServerOptions;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn partner(opts: ServerOptions) -> selo_sim::bmp::PartnerSim {
    let key = HmacKey::generate(&mut selo::rng::system());
    selo_sim::bmp::start_partner(key, BmpProfile::default(), "/confirmacao", &opts)
        .await
        .unwrap()
}

/// Writes `bytes`, then reads until the peer closes or `limit` passes.
async fn exchange(addr: std::net::SocketAddr, bytes: &[u8], limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut out)).await;
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_is_configurable() {
    let p = partner(ServerOptions {
        max_body: Some(1_000),
        ..ServerOptions::default()
    })
    .await;
    let client = reqwest::Client::new();
    let r = client
        .post(p.url("/confirmacao"))
        .header("content-type", "application/json")
        .body(vec![b' '; 1_001])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    // Within the limit the request reaches the endpoint (400: no key).
    let r = client
        .post(p.url("/confirmacao"))
        .header("content-type", "application/json")
        .body(vec![b' '; 1_000])
        .send()
        .await
        .unwrap();
    assert_ne!(r.status().as_u16(), 413);
    // The default is 1 MiB.
    let d = partner(ServerOptions::default()).await;
    let r = client
        .post(d.url("/confirmacao"))
        .body(vec![b' '; (1 << 20) + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_slow_bodies_time_out() {
    let p = partner(ServerOptions {
        header_read_timeout: Some(Duration::from_millis(300)),
        body_read_timeout: Some(Duration::from_millis(300)),
        ..ServerOptions::default()
    })
    .await;
    // Headers never finished: the server closes the connection.
    let (_, took) = exchange(
        p.addr(),
        b"POST /confirmacao HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(
        took < Duration::from_secs(3),
        "the connection stayed open {took:?}"
    );
    // Headers complete, body short of its content-length: 408.
    let (reply, took) = exchange(
        p.addr(),
        b"POST /confirmacao HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":",
        Duration::from_secs(5),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}
