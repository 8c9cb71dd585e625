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
                },
            })
            .await
            .map_err(|e| sim_error(&e))?;
            for f in &a.common.faults {
                sim.inject(f.clone())
                    .map_err(|e| CliError::usage("cli.usage.fault", e))?;
            }
            out(&format!("listening on {}", sim.base_url()));
            out(&format!(
                "control: POST {} {{\"fault\":\"expire-key\"}} · GET {}",
                sim.url("/_control/fault"),
                sim.url("/_control/state")
            ));
            wait_for_interrupt().await;
            err("interrupted: shutting down");
            sim.shutdown().await;
            Ok(())
        }
    }
}
