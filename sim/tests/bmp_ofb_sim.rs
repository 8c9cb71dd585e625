#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The BMP simulator with a partner confirmation endpoint, and the OFB
//! consent endpoint, over real HTTP on loopback.

use selo::bmp::{
    Account, BmpClient, BmpProfile, HmacKey, Money, PixTransfer, SignedTransaction, Transaction,
};
use selo::http::PreparedRequest;
use selo::keys::RsaPrivateKey;
use selo::keys::jwk::{Jwk, JwkSet};
use selo::ofb::{Expected, OfbProfile, SignParams};
use selo_sim::bmp::{BmpConfig, BmpSim, PartnerSim};
use selo_sim::ofb::{ClientKeys, OfbConfig, OfbSim};
use selo_sim::{Fault, ServerOptions};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> Option<&str> {
        selo::http::header_value(&self.headers, name)
    }
}

async fn send(req: &PreparedRequest) -> Reply {
    let client = reqwest::Client::new();
    let mut rb = client.request(req.method.parse().unwrap(), &req.url);
    for (n, v) in &req.headers {
        rb = rb.header(n.as_str(), v.as_str());
    }
    let r = rb.body(req.body.clone()).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: r.bytes().await.unwrap().to_vec(),
    }
}

fn account(doc: &str, ispb: &str) -> Account {
    Account {
        agencia: "0001".into(),
        conta: "123456".into(),
        conta_digito: Some("0".into()),
        tipo_conta: 1,
        documento_federal: Some(doc.into()),
        nome: Some("Titular".into()),
        ispb: Some(ispb.into()),
        ..Account::default()
    }
}

fn pix(cents: u64) -> Transaction {
    Transaction::Pix(PixTransfer {
        data_transacao: "2026-11-23T10:15:00".into(),
        conta_origem: account("52998224725", "13370835"),
        conta_destino: Some(account("11222333000181", "00000000")),
        valor: Money::from_cents(cents),
        chave_pix: "fulano@example.com".into(),
        tipo_chave: 3,
    })
}

struct Bmp {
    sim: BmpSim,
    partner: PartnerSim,
    client: BmpClient,
}

async fn bmp(timeout_ms: u64, dotnet: bool, partner_key: Option<HmacKey>) -> Bmp {
    let mut rng = selo::rng::system();
    let key = HmacKey::generate(&mut rng);
    let profile = BmpProfile {
        confirm_timeout_ms: timeout_ms,
        ..BmpProfile::default()
    };
    let partner = selo_sim::bmp::start_partner(
        partner_key.unwrap_or_else(|| key.clone()),
        profile.clone(),
        "/confirmacao",
        &ServerOptions::default(),
    )
    .await
    .unwrap();
    let sim = selo_sim::bmp::start(BmpConfig {
        key: key.clone(),
        profile: profile.clone(),
        confirmation_url: partner.confirmation_url(),
        confirmation_headers: vec![],
        dotnet_decimals: dotnet,
        server: ServerOptions::default(),
    })
    .await
    .unwrap();
    Bmp {
        sim,
        partner,
        client: BmpClient::new(key, profile),
    }
}

impl Bmp {
    fn sign(&self, tx: &Transaction) -> SignedTransaction {
        let s = self
            .client
            .sign_transaction(tx, &mut selo::rng::system())
            .unwrap();
        self.partner.protocol().remember(&s);
        s
    }
    fn request(&self, s: &SignedTransaction, tx: &Transaction) -> PreparedRequest {
        s.request(&self.sim.url(tx.endpoint()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bmp_retry_with_the_same_key_executes_once() {
    let b = bmp(5000, true, None).await;
    let tx = pix(10_000);
    let s = b.sign(&tx);
    let req = b.request(&s, &tx);
    let first = send(&req).await;
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    assert_eq!(first.json()["idempotencyKey"], s.idempotency_key());
    // .NET-style decimals in the confirmation body were still confirmed.
    assert_eq!(b.partner.requests()[0].status, Some(200));
    for _ in 0..3 {
        let again = send(&req).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body, first.body, "a retry answers the first result");
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    let executed = b.sim.protocol().executed();
    assert_eq!(executed.len(), 1);
    assert_eq!(executed[0].body, s.body());
    assert_eq!(b.sim.protocol().confirmation_calls(), 1);
    // A second transaction is a second execution.
    let tx2 = pix(20_000);
    let s2 = b.sign(&tx2);
    assert_eq!(send(&b.request(&s2, &tx2)).await.status, 200);
    assert_eq!(b.sim.protocol().executed().len(), 2);
    // The same key with another body is refused (406, like every BMP
    // refusal), not an execution.
    let forged = b
        .client
        .sign_transaction_with_key(&pix(30_000), s.idempotency_key())
        .unwrap();
    let r = send(&b.request(&forged, &tx)).await;
    assert_eq!(r.status, 406);
    assert_eq!(r.json()["code"], "sim.idempotency_conflict");
    assert_eq!(b.sim.protocol().executed().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bmp_client_gone_mid_confirmation_retries_and_gets_the_first_result() {
    let b = bmp(5000, false, None).await;
    // The partner takes 1.5 s to confirm; the client gives up after 0.3 s.
    b.partner
        .inject(Fault::Latency {
            ms: 1_500,
            count: Some(1),
        })
        .unwrap();
    let tx = pix(12_345);
    let s = b.sign(&tx);
    let req = b.request(&s, &tx);
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let mut rb = impatient.post(&req.url);
    for (n, v) in &req.headers {
        rb = rb.header(n.as_str(), v.as_str());
    }
    assert!(rb.body(req.body.clone()).send().await.is_err());
    // While the confirmation still runs, a retry is refused with 406.
    let busy = send(&req).await;
    assert_eq!(busy.status, 406);
    assert_eq!(busy.json()["code"], "sim.in_progress");
    // Once it finished, the key is released and the retry gets the first
    // (and only) execution's result. No fixed sleep (a loaded machine
    // stretches 1.5 s): retries are refused as in progress until the
    // confirmation has ended, within a generous deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let retry = loop {
        let r = send(&req).await;
        if r.status != 406 || std::time::Instant::now() > deadline {
            break r;
        }
        assert_eq!(r.json()["code"], "sim.in_progress");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        retry.status,
        200,
        "{}",
        String::from_utf8_lossy(&retry.body)
    );
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json()["idempotencyKey"], s.idempotency_key());
    assert_eq!(b.sim.protocol().executed().len(), 1);
    assert_eq!(b.sim.protocol().confirmation_calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bmp_tampered_body_or_missing_headers_are_406() {
    let b = bmp(5000, false, None).await;
    let tx = pix(10_000);
    let s = b.sign(&tx);
    let mut req = b.request(&s, &tx);
    let i = req
        .body
        .windows(5)
        .position(|w| w == b"100.0")
        .expect("amount in body");
    req.body[i] = b'9'; // 900.00 under the MAC of 100.00
    let r = send(&req).await;
    assert_eq!(r.status, 406);
    assert_eq!(r.json()["code"], "bmp.server.bad_mac");

    let mut req = b.request(&s, &tx);
    req.headers.retain(|(n, _)| n != "hmac");
    let r = send(&req).await;
    assert_eq!(r.status, 406);
    assert_eq!(r.json()["code"], "bmp.server.missing_header");

    let mut req = b.request(&s, &tx);
    req.headers.retain(|(n, _)| n != "IdempotencyKey");
    assert_eq!(send(&req).await.status, 406);

    // Nothing was confirmed or executed; the untouched request still works.
    assert_eq!(b.sim.protocol().confirmation_calls(), 0);
    assert!(b.sim.protocol().executed().is_empty());
    assert_eq!(send(&b.request(&s, &tx)).await.status, 200);

    let mut wrong = b.request(&s, &tx);
    wrong.url = b.sim.url("/api/Outro");
    assert_eq!(send(&wrong).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bmp_disagreeing_confirmation_is_406_and_nothing_executes() {
    let b = bmp(5000, false, None).await;
    let tx = pix(10_000);
    let s = b.sign(&tx);
    // The partner's record of this transaction says another amount.
    let other = b
        .client
        .sign_transaction_with_key(&pix(10_001), s.idempotency_key())
        .unwrap();
    b.partner
        .protocol()
        .remember_body(s.idempotency_key(), other.body().to_vec());
    let r = send(&b.request(&s, &tx)).await;
    assert_eq!(r.status, 406);
    assert_eq!(r.json()["code"], "bmp.server.confirmation_refused");
    assert!(r.json()["message"].as_str().unwrap().contains("409"));
    assert_eq!(b.partner.requests()[0].status, Some(409));
    assert!(b.sim.protocol().executed().is_empty());

    // Refusals are not recorded: once the partner agrees, the retry executes.
    b.partner.protocol().remember(&s);
    assert_eq!(send(&b.request(&s, &tx)).await.status, 200);
    assert_eq!(b.sim.protocol().executed().len(), 1);

    // An unknown transaction: the partner answers 404 → 406.
    let unknown = b
        .client
        .sign_transaction(&pix(5_000), &mut selo::rng::system())
        .unwrap();
    let r = send(&b.request(&unknown, &tx)).await;
    assert_eq!(r.status, 406);
    assert_eq!(b.partner.requests().last().unwrap().status, Some(404));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bmp_partner_with_another_key_is_a_bad_confirmation_mac() {
    let other = HmacKey::generate(&mut selo::rng::system());
    let b = bmp(5000, false, Some(other)).await;
    let tx = pix(10_000);
    let s = b.sign(&tx);
    let r = send(&b.request(&s, &tx)).await;
    assert_eq!(r.status, 406);
    assert_eq!(r.json()["code"], "bmp.server.confirmation_bad_mac");
    assert!(b.sim.protocol().executed().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bmp_confirmation_timeout_is_406_within_the_deadline() {
    let b = bmp(300, false, None).await;
    let tx = pix(10_000);
    let s = b.sign(&tx);
    b.sim.inject(Fault::ConfirmationTimeout).unwrap();
    let t = std::time::Instant::now();
    let r = send(&b.request(&s, &tx)).await;
    let ms = t.elapsed().as_millis();
    assert_eq!(r.status, 406);
    assert_eq!(r.json()["code"], "bmp.server.confirmation_timeout");
    // The deadline is a lower bound; no upper wall-clock bound (a loaded
    // CI machine may take longer), the status and code say it timed out.
    assert!(ms >= 300, "{ms} ms");
    assert!(
        b.partner.requests().is_empty(),
        "the stalled call never arrived"
    );
    assert!(b.sim.protocol().executed().is_empty());
    assert_eq!(send(&b.request(&s, &tx)).await.status, 200);
    assert!(b.sim.inject(Fault::ExpireKey).is_err());
}

const CLIENT_ORG: &str = "c0ffee00-0000-4000-8000-000000000001";

async fn ofb(client_keys: ClientKeys) -> OfbSim {
    selo_sim::ofb::start(OfbConfig {
        client_keys,
        ..OfbConfig::default()
    })
    .await
    .unwrap()
}

fn consent_request(sim: &OfbSim, kid: &str, key: &RsaPrivateKey, iss: &str) -> PreparedRequest {
    let signed = selo::ofb::sign(
        key,
        &serde_json::json!({"data": {"payment": {"type": "PIX", "amount": "100.00", "currency": "BRL"}}}),
        &SignParams::new(kid, sim.protocol().audience(), iss),
        &OfbProfile::default(),
        selo_sim::unix_now(),
        &mut selo::rng::system(),
    )
    .unwrap();
    PreparedRequest::new(
        "POST",
        sim.protocol().audience(),
        vec![("content-type".into(), "application/jwt".into())],
        signed.token.into_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ofb_consent_is_signed_and_a_replayed_jti_is_403() {
    let sim = ofb(ClientKeys::Generate(2048)).await;
    let (kid, key) = sim.protocol().generated_client_key().unwrap();
    let req = consent_request(&sim, kid, key, CLIENT_ORG);
    let r = send(&req).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/jwt"));
    let v = selo::ofb::verify(
        std::str::from_utf8(&r.body).unwrap(),
        &sim.protocol().server_jwks(),
        &Expected::new(CLIENT_ORG, sim.protocol().config().org_id.clone()),
        &OfbProfile::for_responses(),
        selo_sim::unix_now(),
    )
    .unwrap();
    assert_eq!(v.payload["data"]["status"], "AWAITING_AUTHORISATION");
    assert_eq!(v.payload["data"]["payment"]["amount"], "100.00");
    assert_eq!(sim.protocol().consents().len(), 1);

    let replay = send(&req).await;
    assert_eq!(replay.status, 403);
    assert_eq!(replay.json()["errors"][0]["code"], "JTI_REUSED");
    assert_eq!(sim.protocol().consents().len(), 1);

    // The served JWKS verifies too.
    let jwks = send(&PreparedRequest::new(
        "GET",
        sim.url("/.well-known/jwks.json"),
        vec![],
        vec![],
    ))
    .await;
    let set = JwkSet::parse(std::str::from_utf8(&jwks.body).unwrap()).unwrap();
    assert_eq!(
        set.to_value().unwrap(),
        sim.protocol().server_jwks().to_value().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ofb_bad_signature_is_400_and_other_refusals_have_their_codes() {
    // Client JWKS given (as if loaded from a file).
    let mut rng = selo::rng::system();
    let key = RsaPrivateKey::generate(2048, &mut rng).unwrap();
    let jwk = Jwk::from_public(&key.public_key())
        .with_kid("client-1")
        .with_alg("PS256")
        .with_use("sig");
    let sim = ofb(ClientKeys::Jwks(JwkSet::new(vec![jwk]))).await;

    let mut req = consent_request(&sim, "client-1", &key, CLIENT_ORG);
    let last = req.body.len() - 2;
    req.body[last] = if req.body[last] == b'A' { b'B' } else { b'A' };
    let r = send(&req).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errors"][0]["code"], "BAD_SIGNATURE");
    assert!(
        r.json()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("ofb.verify.bad_signature")
    );

    // Signed by a key the JWKS does not hold (same kid): bad signature too.
    let stranger = RsaPrivateKey::generate(2048, &mut rng).unwrap();
    let r = send(&consent_request(&sim, "client-1", &stranger, CLIENT_ORG)).await;
    assert_eq!(
        (r.status, r.json()["errors"][0]["code"].clone()),
        (400, "BAD_SIGNATURE".into())
    );

    let r = send(&consent_request(&sim, "nope", &key, CLIENT_ORG)).await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("ofb.verify.kid_not_found")
    );

    let r = send(&consent_request(&sim, "client-1", &key, "another-org")).await;
    assert_eq!(
        (r.status, r.json()["errors"][0]["code"].clone()),
        (403, "INVALID_ISS".into())
    );

    let mut req = consent_request(&sim, "client-1", &key, CLIENT_ORG);
    req.headers = vec![("content-type".into(), "application/json".into())];
    assert_eq!(send(&req).await.status, 415);

    // None of the refusals spent the jti of a valid request, and it passes.
    let good = consent_request(&sim, "client-1", &key, CLIENT_ORG);
    assert_eq!(send(&good).await.status, 201);
    assert_eq!(sim.protocol().consents().len(), 1);
}
