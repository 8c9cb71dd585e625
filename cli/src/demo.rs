//! `selo demo`: every simulator on loopback, in this process, and every
//! flow against it, step by step with timings: Safra (handshake →
//! authenticate → renew → register → query), BMP (Pix with the
//! confirmation round-trip, then its idempotent retry), OFB (signed
//! consent, signed response, replay refused).

use crate::error::CliError;
use crate::http::{Http, HttpOptions};
use crate::report::Reporter;
use crate::safra_flow::{FlowOptions, run_flow, sample_boleto};
use clap::Args;
use selo_sim::{Fault, ServerOptions};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Also inject faults (key expiry before renew, 480 before register)
    /// and show the session recovering from them.
    #[arg(long)]
    faults: bool,
    /// Size of the simulated Safra bank's key.
    #[arg(long, default_value_t = 2048)]
    bank_key_bits: usize,
    /// Print the simulators' request log lines to stderr.
    #[arg(long)]
    log: bool,
}

pub async fn run(a: DemoArgs, json: bool) -> Result<(), CliError> {
    let started = Instant::now();
    let mut reporter = Reporter::new(json);
    let server = ServerOptions {
        port: 0,
        log: a.log,
        ..ServerOptions::default()
    };
    let t = Instant::now();
    let safra = selo_sim::safra::start(selo_sim::safra::SafraConfig {
        bank_key_bits: a.bank_key_bits,
        server: server.clone(),
        ..selo_sim::safra::SafraConfig::default()
    })
    .await
    .map_err(|e| CliError::io(e.code(), e.to_string()))?;
    reporter.note(format!(
        "Safra PSD simulator at {} (bank key {} bits, started in {} ms)",
        safra.base_url(),
        a.bank_key_bits,
        crate::output::ms_since(t)
    ));
    let http = Http::new(&HttpOptions {
        timeout_secs: 10,
        ..HttpOptions::default()
    })?;
    let opts = FlowOptions {
        base_url: selo::safra::BaseUrl::Custom(safra.base_url()),
        cliente: "DEMO0001".into(),
        profile: selo::safra::SafraProfile::default(),
        boleto: sample_boleto(&mut selo::rng::system())?,
        client_key: None,
    };
    let faults = a.faults;
    let inject = |step: &str| {
        if !faults {
            return;
        }
        let f = match step {
            "renew" => Fault::ExpireKey,
            "register" => Fault::Answer480,
            _ => return,
        };
        let _ = safra.inject(f);
    };
    let res = run_flow(&opts, http.clone(), &mut reporter, &inject).await;
    safra.shutdown().await;
    let res = match res {
        Ok(()) => crate::bmp_ofb::bmp_steps(&mut reporter, &http, &server).await,
        Err(e) => Err(e),
    };
    let res = match res {
        Ok((bmp, partner)) => {
            bmp.shutdown().await;
            partner.shutdown().await;
            crate::bmp_ofb::ofb_steps(&mut reporter, &http, &server).await
        }
        Err(e) => Err(e),
    };
    let res = match res {
        Ok(ofb) => {
            ofb.shutdown().await;
            Ok(())
        }
        Err(e) => Err(e),
    };
    crate::finish_flow(&reporter, "demo", started, res)
}
