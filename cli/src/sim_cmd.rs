//! `selo sim …`: one simulator in the foreground until interrupted.

use crate::error::CliError;
use crate::output::{err, out};
use clap::{Args, Subcommand};
use selo_sim::{Fault, ServerOptions};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum SimCommand {
    /// The Safra PSD bank: POST {base}/psd001|psd005|psd007|psd050|psd052.
    Safra(SafraSimArgs),
    /// BMP: the six protected endpoints, MAC checks, the partner confirmation call.
    Bmp(BmpSimArgs),
    /// Open Finance Brasil: a payment-consent endpoint verifying signed requests.
    Ofb(OfbSimArgs),
}

#[derive(Args, Debug)]
pub struct BmpSimArgs {
    #[command(flatten)]
    pub common: CommonSimArgs,
    /// The partner's confirmation endpoint (absolute URL).
    #[arg(long)]
    pub confirmation_url: String,
    /// Shared key: --key-file FILE or --key KEY; absent = generate one and
    /// print it on the second line.
    #[command(flatten)]
    pub key: crate::offline::BmpKeyArgs,
    #[command(flatten)]
    pub profile: crate::offline::BmpProfileArg,
    /// Confirmation deadline in ms (overrides the profile; default 5000).
    #[arg(long)]
    pub confirmation_timeout_ms: Option<u64>,
    /// Write amounts .NET-style (100.0) in confirmation bodies.
    #[arg(long)]
    pub dotnet_decimals: bool,
}

#[derive(Args, Debug)]
pub struct OfbSimArgs {
    #[command(flatten)]
    pub common: CommonSimArgs,
    /// The clients' JWK Set (JSON); absent = generate a 2048-bit client key.
    #[arg(long)]
    pub jwks: Option<PathBuf>,
    /// Where to write the generated client key (PKCS#8 PEM) when --jwks is absent.
    #[arg(long)]
    pub write_client_key: Option<PathBuf>,
    /// Expected `iss` of requests (the client's organisationId).
    #[arg(long, default_value = "c0ffee00-0000-4000-8000-000000000001")]
    pub client_org: String,
    /// `iss` of signed responses (our organisationId).
    #[arg(long, default_value = "ba0bab00-0000-4000-8000-000000000002")]
    pub org: String,
    /// Client id (the `jti` replay scope).
    #[arg(long, default_value = "selo-demo-client")]
    pub client_id: String,
    /// Our signing key (PEM/DER, ≥ 2048 bits); absent = generated.
    #[arg(long)]
    pub server_key: Option<PathBuf>,
    /// The consent endpoint's path.
    #[arg(long, default_value = "/open-banking/payments/v4/consents")]
    pub path: String,
    /// Expected `aud` (default: this simulator's URL of the endpoint).
    #[arg(long)]
    pub audience: Option<String>,
}

/// Options every simulator takes.
#[derive(Args, Debug)]
pub struct CommonSimArgs {
    /// Port on 127.0.0.1 (0 picks a free one; the first line says which).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Print one line per request to stderr (method, path, status, ms).
    #[arg(long)]
    pub log: bool,
    /// A fault to queue at start (repeatable): expire-key, answer-480,
    /// answer-550, drop[=N], latency=MS[xN], confirmation-timeout.
    #[arg(long = "fault", value_parser = parse_fault)]
    pub faults: Vec<Fault>,
}

fn parse_fault(s: &str) -> Result<Fault, String> {
    s.parse()
}

#[derive(Args, Debug)]
pub struct SafraSimArgs {
    #[command(flatten)]
    pub common: CommonSimArgs,
    /// The bank's Safra profile (JSON).
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Override the profile's padding (auto = accept every candidate).
    #[arg(long)]
    pub padding: Option<String>,
    /// Override the key format the bank answers stage 1 in.
    #[arg(long)]
    pub key_format: Option<String>,
    /// Token lifetime in seconds (> 60).
    #[arg(long, default_value_t = 600)]
    pub token_lifetime: u64,
    /// The bank's RSA private key (PEM/DER); default: a fresh key.
    #[arg(long)]
    pub bank_key: Option<PathBuf>,
    /// Size of a fresh bank key.
    #[arg(long, default_value_t = 2048)]
    pub bank_key_bits: usize,
    /// Path prefix of the services.
    #[arg(long, default_value = "/psd")]
    pub base_path: String,
}

async fn wait_for_interrupt() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn sim_error(e: &selo_sim::SimError) -> CliError {
    match e {
        selo_sim::SimError::Bind(_) => CliError::io(e.code(), e.to_string()),
        selo_sim::SimError::Config(_) => CliError::usage(e.code(), e.to_string()),
    }
}

async fn serve<P: selo_sim::Protocol>(
    sim: selo_sim::Sim<P>,
    faults: &[Fault],
) -> Result<(), CliError> {
    for f in faults {
        sim.inject(f.clone())
            .map_err(|e| CliError::usage("cli.usage.fault", e))?;
    }
    out(&format!(
        "control: POST {} {{\"fault\":\"…\"}} · GET {}",
        sim.url("/_control/fault"),
        sim.url("/_control/state")
    ));
    wait_for_interrupt().await;
    err("interrupted: shutting down");
    sim.shutdown().await;
    Ok(())
}

pub async fn run(cmd: SimCommand) -> Result<(), CliError> {
    match cmd {
        SimCommand::Safra(a) => {
            let profile = crate::load_profile(
                a.profile.as_ref(),
                a.padding.as_deref(),
                a.key_format.as_deref(),
            )?;
            let bank_key = match &a.bank_key {
                Some(p) => Some(crate::load_private_key(p)?),
                None => None,
            };
            let sim = selo_sim::safra::start(selo_sim::safra::SafraConfig {
                profile,
                token_lifetime: a.token_lifetime,
                bank_key,
                bank_key_bits: a.bank_key_bits,
                base_path: a.base_path.clone(),
                server: ServerOptions {
                    port: a.common.port,
                    log: a.common.log,
                    ..ServerOptions::default()
                },
            })
            .await
            .map_err(|e| sim_error(&e))?;
            out(&format!("listening on {}", sim.base_url()));
            out(&format!(
                "bank key pin (profile bank_key_pins): {}",
                sim.bank_key_pin()
            ));
            serve(sim, &a.common.faults).await
        }
        SimCommand::Bmp(a) => {
            let mut profile = crate::offline::bmp_profile(&a.profile)?;
            if let Some(ms) = a.confirmation_timeout_ms {
                profile.confirm_timeout_ms = ms;
            }
            let (key, generated) = if a.key.key.is_none() && a.key.key_file.is_none() {
                (selo::bmp::HmacKey::generate(&mut selo::rng::system()), true)
            } else {
                (crate::offline::bmp_key(&a.key, &profile)?, false)
            };
            let sim = selo_sim::bmp::start(selo_sim::bmp::BmpConfig {
                key: key.clone(),
                profile,
                confirmation_url: a.confirmation_url.clone(),
                confirmation_headers: vec![],
                dotnet_decimals: a.dotnet_decimals,
                server: ServerOptions {
                    port: a.common.port,
                    log: a.common.log,
                    ..ServerOptions::default()
                },
            })
            .await
            .map_err(|e| sim_error(&e))?;
            out(&format!("listening on {}", sim.url("/api/")));
            if generated {
                out(&format!("shared key: {}", key.expose_secret()));
            }
            serve(sim, &a.common.faults).await
        }
        SimCommand::Ofb(a) => {
            let client_keys = match &a.jwks {
                Some(p) => {
                    let text = crate::error::read_text(p)?;
                    selo_sim::ofb::ClientKeys::Jwks(selo::keys::jwk::JwkSet::parse(&text).map_err(
                        |e| {
                            CliError::input(&format!("JWKS {}", p.display()), e.code(), e.message())
                        },
                    )?)
                }
                None => selo_sim::ofb::ClientKeys::Generate(2048),
            };
            let server_key = match &a.server_key {
                Some(p) => Some(crate::load_private_key(p)?),
                None => None,
            };
            let sim = selo_sim::ofb::start(selo_sim::ofb::OfbConfig {
                profile: selo::ofb::OfbProfile::default(),
                client_keys,
                client_org_id: a.client_org.clone(),
                client_id: a.client_id.clone(),
                org_id: a.org.clone(),
                server_key,
                consents_path: a.path.clone(),
                audience: a.audience.clone(),
                server: ServerOptions {
                    port: a.common.port,
                    log: a.common.log,
                    ..ServerOptions::default()
                },
            })
            .await
            .map_err(|e| sim_error(&e))?;
            if let (Some(path), Some((kid, key))) =
                (&a.write_client_key, sim.protocol().generated_client_key())
            {
                let pem = key
                    .to_pkcs8_pem()
                    .map_err(|e| CliError::step(e.code(), e.message()))?;
                std::fs::write(path, pem.as_bytes()).map_err(|e| {
                    CliError::io(
                        "cli.io.write",
                        format!("cannot write {}: {e}", path.display()),
                    )
                })?;
                err(&format!(
                    "client key (kid {kid}) written to {}",
                    path.display()
                ));
            }
            out(&format!("listening on {}", sim.protocol().audience()));
            serve(sim, &a.common.faults).await
        }
    }
}
