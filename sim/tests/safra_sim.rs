#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The Safra simulator as a library: the core's client `Session` over real
//! HTTP against it, the control endpoint, generic faults, the request log.

use selo::http::{PreparedRequest, ReceivedResponse};
use selo::safra::boleto::{BoletoQuery, BoletoRequest};
use selo::safra::{BaseUrl, Operation, Outcome, Reply, SafraProfile, Session};
use selo_sim::safra::{SafraConfig, SafraSim};
use selo_sim::{Fault, ServerOptions};

async fn start() -> SafraSim {
    selo_sim::safra::start(SafraConfig {
        bank_key_bits: 1024,
        server: ServerOptions::default(),
        ..SafraConfig::default()
    })
    .await
    .unwrap()
}

async fn send(
    client: &reqwest::Client,
    req: &PreparedRequest,
) -> reqwest::Result<ReceivedResponse> {
    let mut rb = client.post(&req.url);
    for (n, v) in &req.headers {
        rb = rb.header(n.as_str(), v.as_str());
    }
    let resp = rb.body(req.body.clone()).send().await?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    Ok(ReceivedResponse::new(
        status,
        headers,
        resp.bytes().await?.to_vec(),
    ))
}

async fn run(session: &mut Session, client: &reqwest::Client, op: Operation) -> Reply {
    let mut rng = selo::rng::system();
    for _ in 0..20 {
        let now = selo_sim::unix_now();
        let (id, req) = session.prepare_next(&op, now, &mut rng).unwrap();
        let resp = send(client, &req).await.unwrap();
        if let Outcome::Done(r) = session.handle_response(id, &resp, now, &mut rng).unwrap() {
            return r;
        }
    }
    panic!("no reply");
}

fn boleto() -> BoletoRequest {
    BoletoRequest::from_json(include_str!("../../tests/vectors/safra/boleto-sample.json")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_over_http_registers_and_queries() {
    let sim = start().await;
    assert!(sim.addr().ip().is_loopback());
    assert!(sim.base_url().ends_with("/psd/"));
    let client = reqwest::Client::new();
    let mut s = Session::new(
        SafraProfile::default(),
        BaseUrl::Custom(sim.base_url()),
        "C1",
    )
    .unwrap();
    let Reply::BoletoRegistered(reg) =
        run(&mut s, &client, Operation::RegisterBoleto(boleto())).await
    else {
        panic!("not registered");
    };
    let nosso = reg.documento.unwrap().nosso_numero.unwrap();
    assert_eq!(nosso, "000000123456789");
    let stored = sim.protocol().boletos();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].request, boleto());
    let q = BoletoQuery {
        nosso_numero: nosso.clone(),
        seu_numero: "0000004021".into(),
    };
    let Reply::BoletoQueried(found) = run(&mut s, &client, Operation::QueryBoleto(q)).await else {
        panic!("not found");
    };
    assert_eq!(found.documento.unwrap().nosso_numero.unwrap(), nosso);
    let paths: Vec<String> = sim
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.path, r.status.unwrap()))
        .collect();
    assert_eq!(
        paths,
        [
            "/psd/psd001 200",
            "/psd/psd001 200",
            "/psd/psd005 200",
            "/psd/psd050 200",
            "/psd/psd052 200"
        ]
    );
    assert_eq!(sim.state()["protocol"]["boletos"][0]["nossoNumero"], nosso);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_endpoint_injects_and_reports() {
    let sim = start().await;
    let client = reqwest::Client::new();
    let r = client
        .post(sim.url("/_control/fault"))
        .body(r#"[{"fault":"expire-key"},{"fault":"latency","ms":200,"count":1}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let state: serde_json::Value = serde_json::from_slice(
        &client
            .get(sim.url("/psd/_control/state"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(state["simulator"], "safra");
    assert_eq!(state["latency_ms"], 200);

    let mut s = Session::new(
        SafraProfile::default(),
        BaseUrl::Custom(sim.base_url()),
        "C1",
    )
    .unwrap();
    let t = std::time::Instant::now();
    assert!(matches!(
        run(&mut s, &client, Operation::Authenticate).await,
        Reply::Authenticated(_)
    ));
    assert!(t.elapsed().as_millis() >= 200);
    let statuses: Vec<Option<u16>> = sim
        .requests()
        .iter()
        .filter(|r| !r.path.contains("_control"))
        .map(|r| r.status)
        .collect();
    // stage 1, stage 2, psd005 → 500 (key expired), stage 1, stage 2, psd005.
    assert_eq!(
        statuses,
        [
            Some(200),
            Some(200),
            Some(500),
            Some(200),
            Some(200),
            Some(200)
        ]
    );

    for bad in [
        r#"{"fault":"explode"}"#,
        "not json",
        r#"{"fault":"confirmation-timeout"}"#,
    ] {
        let r = client
            .post(sim.url("/_control/fault"))
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = client
        .post(sim.url("/_control/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // DELETE clears generic faults.
    sim.inject(Fault::Drop { count: 5 }).unwrap();
    let r = client
        .delete(sim.url("/_control/fault"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sim.state()["drops_left"], 0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_reply_closes_the_connection_unanswered() {
    let sim = start().await;
    let client = reqwest::Client::new();
    sim.inject(Fault::Drop { count: 1 }).unwrap();
    let err = client
        .post(sim.url("/psd/psd001"))
        .header("amc-session-id", "x")
        .header("amc-aplicacao", "PSD")
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status(), "{err}");
    let rec = sim.requests();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].status, None);
    assert_eq!(rec[0].to_string().split(' ').nth(2), Some("dropped"));
    // The next request is answered (the bank's own 400 for a bad body).
    let r = client
        .post(sim.url("/psd/psd001"))
        .header("amc-session-id", "x")
        .header("amc-aplicacao", "PSD")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_paths_and_methods_are_refused() {
    let sim = start().await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .post(sim.url("/other/psd001"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        client
            .get(sim.url("/psd/psd001"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    assert_eq!(
        client
            .post(sim.url("/psd/psd999"))
            .header("amc-session-id", "x")
            .header("amc-aplicacao", "PSD")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert!(sim.inject(Fault::ConfirmationTimeout).is_err());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_config_is_refused_and_shutdown_frees_the_port() {
    let err = selo_sim::safra::start(SafraConfig {
        token_lifetime: 60,
        bank_key_bits: 1024,
        ..SafraConfig::default()
    })
    .await
    .unwrap_err();
    assert_eq!(err.code(), "sim.config");
    let sim = start().await;
    let addr = sim.addr();
    sim.shutdown().await;
    // The port can be bound again once the simulator is gone.
    let again = std::net::TcpListener::bind(addr);
    assert!(again.is_ok(), "{again:?}");
}
