//! The BMP and OFB parts of `selo demo`: a Pix payment with its
//! confirmation round-trip (the CLI hosts the partner endpoint) and its
//! idempotent retry; an OFB signed consent request, its signed response,
//! and a replay refused.

use crate::error::CliError;
use crate::http::Http;
use crate::output::{abridge, abridge_body, ms_since};
use crate::report::{Exchange, Reporter, Step};
use selo::bmp::{Account, BmpClient, BmpProfile, HmacKey, Money, PixTransfer, Transaction};
use selo::http::{PreparedRequest, ReceivedResponse};
use selo_sim::ServerOptions;
use selo_sim::bmp::{BmpConfig, BmpSim, PartnerSim};
use std::time::Instant;

fn account(doc: &str, ispb: &str, conta: &str) -> Account {
    Account {
        agencia: "0001".into(),
        agencia_digito: None,
        conta: conta.into(),
        conta_digito: Some("0".into()),
        tipo_conta: 1,
        documento_federal: Some(doc.into()),
        nome: Some("Titular Exemplo".into()),
        numero_banco: Some(274),
        ispb: Some(ispb.into()),
    }
}

/// The demo's Pix transfer (R$ 100,00 to an e-mail key).
pub fn demo_pix() -> Transaction {
    Transaction::Pix(PixTransfer {
        data_transacao: "2026-11-23T10:15:00".into(),
        conta_origem: account("52998224725", "13370835", "123456"),
        conta_destino: Some(account("11222333000181", "00000000", "654321")),
        valor: Money::from_cents(10_000),
        chave_pix: "fulano@example.com".into(),
        tipo_chave: 3,
    })
}

async fn exchange(
    http: &Http,
    req: &PreparedRequest,
    x: &mut Exchange,
) -> Result<ReceivedResponse, CliError> {
    x.method = req.method.clone();
    x.url = req.url.clone();
    x.sent = abridge_body(&req.body);
    let t = Instant::now();
    let r = http.send(req).await;
    x.ms = ms_since(t);
    let r = r?;
    x.status = Some(r.status);
    x.received = abridge_body(&r.body);
    Ok(r)
}

/// The partner's view of the confirmation call BMP just made, as an exchange.
fn confirmation_exchange(partner: &PartnerSim) -> Option<Exchange> {
    let rec = partner.requests().into_iter().last()?;
    Some(Exchange {
        method: rec.method,
        url: partner.url(&rec.path),
        status: rec.status,
        ms: rec.ms,
        sent: serde_json::Value::String(
            "(BMP → partner: the transaction as BMP received it)".into(),
        ),
        received: serde_json::Value::String("(partner → BMP: empty body, hmac header)".into()),
        outcome: "confirmation".into(),
        ..Exchange::default()
    })
}

/// The string at a JSON pointer, or "".
fn str_at(v: &serde_json::Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_string()
}

fn body_json(r: &ReceivedResponse) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null)
}

/// BMP: start the partner endpoint and the simulator, pay, retry.
pub async fn bmp_steps(
    reporter: &mut Reporter,
    http: &Http,
    server: &ServerOptions,
) -> Result<(BmpSim, PartnerSim), CliError> {
    let mut rng = selo::rng::system();
    let key = HmacKey::generate(&mut rng);
    let profile = BmpProfile::default();
    let sim_err = |e: selo_sim::SimError| CliError::io(e.code(), e.to_string());
    let partner =
        selo_sim::bmp::start_partner(key.clone(), profile.clone(), "/bmp/confirmacao", server)
            .await
            .map_err(sim_err)?;
    let bmp = selo_sim::bmp::start(BmpConfig {
        key: key.clone(),
        profile: profile.clone(),
        confirmation_url: partner.confirmation_url(),
        confirmation_headers: vec![],
        dotnet_decimals: true,
        server: server.clone(),
    })
    .await
    .map_err(sim_err)?;
    reporter.note(format!(
        "BMP simulator at {} · partner confirmation endpoint (hosted by this CLI) at {}",
        bmp.url("/"),
        partner.confirmation_url()
    ));

    let client = BmpClient::new(key, profile);
    let tx = demo_pix();
    let mut step = Step::new("bmp", "pix");
    let started = Instant::now();
    let signed = match client.sign_transaction(&tx, &mut rng) {
        Ok(s) => s,
        Err(e) => {
            step.error = Some(CliError::step(e.code(), e.message()));
            step.summary = "could not sign".into();
            reporter.step(step);
            return Ok((bmp, partner));
        }
    };
    partner.protocol().remember(&signed);
    let req = signed.request(&bmp.url(tx.endpoint()));
    let mut x = Exchange::default();
    let first = exchange(http, &req, &mut x).await;
    x.outcome = "done".into();
    step.exchanges.push(x);
    if let Some(c) = confirmation_exchange(&partner) {
        step.exchanges.insert(0, c);
    }
    step.ms = ms_since(started);
    let first = match first {
        Ok(r) if r.status == 200 => r,
        Ok(r) => {
            step.summary = format!("BMP answered {}", r.status);
            step.error = Some(CliError::step(
                match str_at(&body_json(&r), "/code") {
                    c if c.is_empty() => "cli.bmp.refused".to_string(),
                    c => c,
                },
                format!(
                    "BMP answered {}: {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                ),
            ));
            reporter.step(step);
            return Ok((bmp, partner));
        }
        Err(e) => {
            step.summary = e.to_string();
            step.error = Some(e);
            reporter.step(step);
            return Ok((bmp, partner));
        }
    };
    let movimento = str_at(&body_json(&first), "/codigoMovimento");
    step.summary = format!(
        "executed: IdempotencyKey {} codigoMovimento {movimento} (hmac {}…, confirmation 200 with valid hmac)",
        signed.idempotency_key(),
        signed.hmac().get(..16).unwrap_or_default()
    );
    step.detail = serde_json::json!({
        "idempotency_key": signed.idempotency_key(),
        "body": abridge(&serde_json::from_slice(signed.body()).unwrap_or_default()),
        "reply": body_json(&first),
    });
    reporter.step(step);

    // The same signed request again: BMP must answer the first result and
    // not execute (nor confirm) a second time.
    let mut step = Step::new("bmp", "pix retry");
    let started = Instant::now();
    let calls_before = bmp.protocol().confirmation_calls();
    let mut x = Exchange::default();
    let again = exchange(http, &req, &mut x).await;
    x.outcome = "done".into();
    step.exchanges.push(x);
    step.ms = ms_since(started);
    match again {
        Ok(r) => {
            let same = r.status == 200 && r.body == first.body;
            let executed = bmp.protocol().executed().len();
            let calls = bmp.protocol().confirmation_calls() - calls_before;
            step.summary = format!(
                "same IdempotencyKey → first result again (codigoMovimento {movimento}); executed {executed}×, confirmation calls on retry: {calls}"
            );
            if !(same && executed == 1 && calls == 0) {
                step.error = Some(CliError::step(
                    "cli.bmp.not_idempotent",
                    format!(
                        "retry answered {} (same body: {same}), executed {executed}×, {calls} new confirmation calls",
                        r.status
                    ),
                ));
            }
        }
        Err(e) => {
            step.summary = e.to_string();
            step.error = Some(e);
        }
    }
    reporter.step(step);
    Ok((bmp, partner))
}

/// OFB: a signed consent request, the signed response verified, a replay refused.
pub async fn ofb_steps(
    reporter: &mut Reporter,
    http: &Http,
    server: &ServerOptions,
) -> Result<selo_sim::ofb::OfbSim, CliError> {
    use selo::ofb::{Expected, OfbProfile, SignParams};
    let sim = selo_sim::ofb::start(selo_sim::ofb::OfbConfig {
        server: server.clone(),
        ..selo_sim::ofb::OfbConfig::default()
    })
    .await
    .map_err(|e| CliError::io(e.code(), e.to_string()))?;
    reporter.note(format!(
        "OFB simulator at {} (JWKS at {})",
        sim.protocol().audience(),
        sim.url("/.well-known/jwks.json")
    ));
    let p = sim.protocol();
    let Some((kid, key)) = p.generated_client_key() else {
        return Err(CliError::step(
            "cli.ofb.no_key",
            "the simulator generated no client key",
        ));
    };
    let cfg = p.config();
    let profile = OfbProfile::default();
    let payload = serde_json::json!({
        "data": {
            "loggedUser": {"document": {"identification": "52998224725", "rel": "CPF"}},
            "creditor": {"personType": "PESSOA_NATURAL", "cpfCnpj": "11222333000181", "name": "Fulano"},
            "payment": {"type": "PIX", "date": "2026-11-23", "currency": "BRL", "amount": "100.00"}
        }
    });
    let mut step = Step::new("ofb", "consent");
    let started = Instant::now();
    let mut rng = selo::rng::system();
    let now = selo_sim::unix_now();
    let params = SignParams::new(kid, p.audience(), cfg.client_org_id.clone());
    let signed = match selo::ofb::sign(key, &payload, &params, &profile, now, &mut rng) {
        Ok(s) => s,
        Err(e) => {
            step.error = Some(CliError::step(e.code(), e.message()));
            reporter.step(step);
            return Ok(sim);
        }
    };
    let req = PreparedRequest::new(
        "POST",
        p.audience(),
        vec![("content-type".into(), selo::ofb::MEDIA_TYPE.into())],
        signed.token.clone().into_bytes(),
    );
    let mut x = Exchange::default();
    let r = exchange(http, &req, &mut x).await;
    x.sent = serde_json::Value::String(crate::output::cut(&signed.token, 40));
    if let Ok(resp) = &r {
        x.received =
            serde_json::Value::String(crate::output::cut(&String::from_utf8_lossy(&resp.body), 40))
    }
    x.outcome = "done".into();
    step.exchanges.push(x);
    step.ms = ms_since(started);
    match r {
        Ok(resp) if resp.status == 201 => {
            let token = String::from_utf8_lossy(&resp.body).trim().to_string();
            let expected = Expected::new(cfg.client_org_id.clone(), cfg.org_id.clone());
            match selo::ofb::verify(
                &token,
                &p.server_jwks(),
                &expected,
                &OfbProfile::for_responses(),
                selo_sim::unix_now(),
            ) {
                Ok(v) => {
                    let data = v.payload.get("data").cloned().unwrap_or_default();
                    step.summary = format!(
                        "201 signed consent {} status {} (request jti {}, response signature verified, kid {})",
                        str_at(&data, "/consentId"),
                        str_at(&data, "/status"),
                        signed.jti,
                        v.kid
                    );
                    step.detail = serde_json::json!({"request_jti": signed.jti, "response": abridge(&serde_json::Value::Object(v.payload))});
                }
                Err(e) => {
                    step.summary = "response signature refused".into();
                    step.error = Some(CliError::step(e.code(), e.message()));
                }
            }
        }
        Ok(resp) => {
            step.summary = format!("answered {}", resp.status);
            step.error = Some(CliError::step(
                "cli.ofb.refused",
                format!(
                    "consent answered {}: {}",
                    resp.status,
                    String::from_utf8_lossy(&resp.body)
                ),
            ));
        }
        Err(e) => {
            step.summary = e.to_string();
            step.error = Some(e);
        }
    }
    let ok = reporter.step(step);
    if !ok {
        return Ok(sim);
    }

    // The same token again: the jti was seen → 403 JTI_REUSED.
    let mut step = Step::new("ofb", "replay");
    let started = Instant::now();
    let mut x = Exchange::default();
    let r = exchange(http, &req, &mut x).await;
    x.sent = serde_json::Value::String(crate::output::cut(&signed.token, 40));
    x.outcome = "done".into();
    step.exchanges.push(x);
    step.ms = ms_since(started);
    match r {
        Ok(resp) => {
            let code = str_at(&body_json(&resp), "/errors/0/code");
            step.summary = format!("same jti again → {} {code} (as expected)", resp.status);
            if !(resp.status == 403 && code == "JTI_REUSED") {
                step.summary = format!("same jti again → {} {code}", resp.status);
                step.error = Some(CliError::step(
                    "cli.ofb.replay_accepted",
                    format!(
                        "a replayed jti answered {} {code}, expected 403 JTI_REUSED",
                        resp.status
                    ),
                ));
            }
        }
        Err(e) => {
            step.summary = e.to_string();
            step.error = Some(e);
        }
    }
    reporter.step(step);
    Ok(sim)
}
