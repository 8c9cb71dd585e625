//! The whole Safra PSD flow, client role against bank role, in memory:
//! handshake → authenticate → renew → register a boleto → query it.
//! Run: `cargo run -p selo --example safra_flow`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use selo::keys::RsaPrivateKey;
use selo::safra::bank::{Bank, BankConfig};
use selo::safra::boleto::{BoletoQuery, BoletoRequest};
use selo::safra::{BaseUrl, Operation, Outcome, Reply, SafraProfile, Session};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const BOLETO: &str = include_str!("../../tests/vectors/safra/boleto-sample.json");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = selo::rng::system();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let profile = SafraProfile::default();
    let bank_key = RsaPrivateKey::generate(1024, &mut rng)?;
    let mut bank = Bank::new(
        BankConfig {
            profile: profile.clone(),
            bank_key,
            token_lifetime: 3600,
        },
        &mut rng,
    )?;
    let mut session = Session::new(profile, BaseUrl::parse("http://in-memory/psd"), "CLIENTE01")?;
    let boleto = BoletoRequest::from_json(BOLETO)?;
    let ops = [
        ("handshake", Operation::Handshake),
        ("authenticate", Operation::Authenticate),
        ("renew", Operation::Renew),
        ("register boleto", Operation::RegisterBoleto(boleto)),
        (
            "query boleto",
            Operation::QueryBoleto(BoletoQuery {
                nosso_numero: "000000123456789".into(),
                seu_numero: "0000004021".into(),
            }),
        ),
    ];
    for (name, op) in &ops {
        let started = Instant::now();
        let reply = loop {
            let (id, req) = session.prepare_next(op, now, &mut rng)?;
            let path = req.url.trim_start_matches("http://in-memory").to_string();
            let resp = bank.handle(&path, &req.headers, &req.body, now, &mut rng);
            println!(
                "  {} {} -> {} ({} bytes out, {} bytes back)",
                req.method,
                path,
                resp.status,
                req.body.len(),
                resp.body.len()
            );
            match session.handle_response(id, &resp, now, &mut rng)? {
                Outcome::Continue(_) => continue,
                Outcome::Done(r) => break r,
            }
        };
        let summary = match &reply {
            Reply::KeyAgreed { padding, .. } => {
                format!("AES-256 key agreed ({})", padding.as_str())
            }
            Reply::Authenticated(t) | Reply::Renewed(t) => format!(
                "token valid {} s, renew at +{} s",
                t.lifetime,
                t.renew_at - now
            ),
            Reply::BoletoRegistered(r) | Reply::BoletoQueried(r) => {
                let s = r.status_processamento.clone().unwrap_or_default();
                format!("statusProcessamento {:?} {}", s.codigo, s.mensagem)
            }
            Reply::BusinessError { status, .. } => format!("business error {status:?}"),
        };
        println!(
            "ok {name}: {summary} [{:.1} ms]",
            started.elapsed().as_secs_f64() * 1000.0
        );
        if let Reply::BusinessError { .. } = reply {
            return Err("business error".into());
        }
    }
    println!("safra flow complete");
    Ok(())
}
