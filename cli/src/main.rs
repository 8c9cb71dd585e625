//! `selo`: bank-protocol demos, flows against real or simulated servers,
//! and offline tools. See `cli/README.md` for every subcommand and the
//! exit codes (0 ok, 1 step failure, 2 usage, 3 I/O).

mod bank_key;
mod bmp_ofb;
mod completions;
mod demo;
mod error;
mod http;
mod offline;
mod output;
mod report;
mod safra_flow;
mod sim_cmd;
mod soak;
mod tools;

use clap::{Args, Parser, Subcommand};
use error::{CliError, Exit};
use std::path::PathBuf;

/// selo — Brazilian bank API security schemes (Safra PSD, Open Finance
/// Brasil JWS, BMP HMAC). Exit codes: 0 ok, 1 a protocol step failed,
/// 2 usage or invalid input, 3 I/O (files, network, ports).
#[derive(Parser, Debug)]
#[command(name = "selo", version, propagate_version = true)]
struct Cli {
    /// Print one JSON document instead of human lines (where data is printed).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start the simulators on loopback in-process and run every flow against them.
    Demo(demo::DemoArgs),
    /// Banco Safra PSD: the whole flow against any server, and envelope tools.
    #[command(subcommand)]
    Safra(SafraCommand),
    /// Generate an RSA key pair (PKCS#8 PEM private key, SPKI PEM public key, or a private JWK).
    Keygen(tools::KeygenArgs),
    /// BMP HMAC: sign, verify and canonicalise bodies.
    #[command(subcommand)]
    Bmp(offline::BmpCommand),
    /// Open Finance Brasil JWS (PS256): sign and verify.
    #[command(subcommand)]
    Jws(offline::JwsCommand),
    /// Print the public JWK Set of one or more keys.
    Jwks(offline::JwksArgs),
    /// Validate a CPF, CNPJ, boleto barcode/linha digitável or Pix key (exit 1 if invalid).
    Validate(offline::ValidateArgs),
    /// Run one simulator on 127.0.0.1 until interrupted.
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
    /// Print a shell completion script (bash, zsh or fish) to standard output.
    Completions(completions::CompletionsArgs),
}

#[derive(Subcommand, Debug)]
enum SafraCommand {
    /// handshake → authenticate → renew → register a boleto → query it.
    Flow(FlowArgs),
    /// Seal stdin into a PSD envelope `hdr.iv.ct` (stdout).
    Seal(tools::SealArgs),
    /// Open a PSD envelope (or a `{"data": …}` body) from stdin (plaintext to stdout).
    Open(tools::OpenArgs),
    /// Handshake stage 1 only: print the bank key's pin (for the profile's
    /// `bank_key_pins`) and PEM, to pin the bank key on first use.
    BankKey(bank_key::BankKeyArgs),
    /// Many complete flows against an in-process simulator injecting random
    /// faults (seeded): every flow must end in success or a typed error,
    /// with no boleto registered twice.
    Soak(soak::SoakArgs),
}

/// Arguments of `selo safra flow`.
#[derive(Args, Debug)]
pub struct FlowArgs {
    /// Base URL: `hml` (homologation), `prod`, or a URL such as
    /// http://127.0.0.1:8080/psd/
    #[arg(long)]
    base_url: String,
    /// Client code sent in psd005.
    #[arg(long)]
    cliente: String,
    /// Safra profile JSON (absent fields take the defaults of SPEC §2).
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Override the profile's padding: pkcs1v15, oaep-sha1, oaep-sha256,
    /// oaep-sha256-mgf1sha1, auto.
    #[arg(long)]
    padding: Option<String>,
    /// Override the profile's key format: der-spki, pem-spki, der-pkcs1.
    #[arg(long)]
    key_format: Option<String>,
    /// Boleto to register (JSON, SPEC §2.7); default: the sample with a
    /// random nossoNumero.
    #[arg(long)]
    boleto: Option<PathBuf>,
    /// Client RSA key (PEM/DER) for the handshake; default: a fresh key of
    /// the profile's size.
    #[arg(long)]
    client_key: Option<PathBuf>,
    #[command(flatten)]
    tls: http::TlsArgs,
    /// Per-request timeout in seconds. A request without a reply by then
    /// is reported to the session, which decides: resend, reconcile a
    /// psd050 with a psd052 query, or give up (profile `max_recoveries`).
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version exit 0; real usage errors exit 2.
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                Exit::Usage as i32
            } else {
                0
            });
        }
    };
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fail(
            json,
            &CliError::io(
                "cli.io.runtime",
                format!("cannot start the async runtime: {e}"),
            ),
        ),
    };
    let result = runtime.block_on(run(cli));
    match result {
        Ok(()) => {}
        Err(e) => fail(json, &e),
    }
}

fn fail(json: bool, e: &CliError) -> ! {
    if e.reported {
        std::process::exit(e.exit as i32)
    }
    if json {
        output::out_json(&serde_json::json!({"ok": false, "error": e.to_json()}));
    } else {
        output::err(&e.to_string());
    }
    std::process::exit(e.exit as i32)
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let json = cli.json;
    match cli.command {
        Command::Demo(a) => demo::run(a, json).await,
        Command::Safra(SafraCommand::Flow(a)) => flow(a, json).await,
        Command::Safra(SafraCommand::Seal(a)) => tools::seal(&a, json),
        Command::Safra(SafraCommand::Open(a)) => tools::open(&a, json),
        Command::Safra(SafraCommand::Soak(a)) => soak::run(a, json).await,
        Command::Safra(SafraCommand::BankKey(a)) => bank_key::run(a, json).await,
        Command::Keygen(a) => tools::keygen(&a, json).await,
        Command::Bmp(c) => offline::bmp(&c, json),
        Command::Jws(c) => offline::jws(&c, json),
        Command::Jwks(a) => offline::jwks(&a),
        Command::Validate(a) => offline::validate(&a, json),
        Command::Sim(c) => sim_cmd::run(c).await,
        Command::Completions(a) => completions::print::<Cli>(a.shell),
    }
}

/// Builds a profile from a file and the override flags.
pub fn load_profile(
    file: Option<&PathBuf>,
    padding: Option<&str>,
    key_format: Option<&str>,
) -> Result<selo::safra::SafraProfile, CliError> {
    let mut profile = match file {
        Some(p) => {
            let text = error::read_text(p)?;
            selo::safra::SafraProfile::from_json(&text).map_err(|e| {
                CliError::input(&format!("profile {}", p.display()), e.code(), e.message())
            })?
        }
        None => selo::safra::SafraProfile::default(),
    };
    if let Some(p) = padding {
        profile.padding = serde_json::from_value(serde_json::Value::String(p.to_string()))
            .map_err(|_| {
                CliError::usage(
                    "cli.usage.padding",
                    format!(
                        "--padding: expected pkcs1v15, oaep-sha1, oaep-sha256, oaep-sha256-mgf1sha1 or auto, found {p:?}"
                    ),
                )
            })?;
    }
    if let Some(f) = key_format {
        profile.key_format = selo::keys::KeyFormat::parse(f).ok_or_else(|| {
            CliError::usage(
                "cli.usage.key_format",
                format!("--key-format: expected der-spki, pem-spki or der-pkcs1, found {f:?}"),
            )
        })?;
    }
    profile
        .validate()
        .map_err(|e| CliError::input("profile", e.code(), e.message()))?;
    Ok(profile)
}

/// Reads an RSA private key (PEM or DER).
pub fn load_private_key(path: &std::path::Path) -> Result<selo::keys::RsaPrivateKey, CliError> {
    let bytes = zeroize::Zeroizing::new(error::read_file(path)?);
    selo::keys::RsaPrivateKey::import(&bytes)
        .map_err(|e| CliError::input(&format!("key {}", path.display()), e.code(), e.message()))
}

async fn flow(a: FlowArgs, json: bool) -> Result<(), CliError> {
    let profile = load_profile(
        a.profile.as_ref(),
        a.padding.as_deref(),
        a.key_format.as_deref(),
    )?;
    let mut rng = selo::rng::system();
    let boleto = match &a.boleto {
        Some(p) => {
            let text = error::read_text(p)?;
            selo::safra::boleto::BoletoRequest::from_json(&text).map_err(|e| {
                CliError::input(&format!("boleto {}", p.display()), e.code(), e.message())
            })?
        }
        None => safra_flow::sample_boleto(&mut rng)?,
    };
    let client_key = match &a.client_key {
        Some(p) => Some(load_private_key(p)?),
        None => None,
    };
    let http = http::Http::new(&http::HttpOptions {
        cert: a.tls.cert.clone(),
        key: a.tls.key.clone(),
        ca: a.tls.ca.clone(),
        timeout_secs: a.timeout,
        ..Default::default()
    })?;
    let base_url = selo::safra::BaseUrl::parse(&a.base_url);
    let opts = safra_flow::FlowOptions {
        base_url: base_url.clone(),
        cliente: a.cliente.clone(),
        profile,
        boleto,
        client_key,
    };
    let mut reporter = report::Reporter::new(json);
    reporter.note(format!(
        "selo safra flow → {} (cliente {}, padding {}, key format {}, key {} bits)",
        base_url.as_str(),
        opts.cliente,
        serde_json::to_value(opts.profile.padding)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        opts.profile.key_format.as_str(),
        opts.profile.key_bits,
    ));
    let started = std::time::Instant::now();
    let res = safra_flow::run_flow(&opts, http, &mut reporter, &|_| {}).await;
    finish_flow(&reporter, "safra flow", started, res)
}

/// Prints the closing line/document and turns failed steps into the exit
/// status of the first failure.
pub fn finish_flow(
    reporter: &report::Reporter,
    command: &str,
    started: std::time::Instant,
    res: Result<(), CliError>,
) -> Result<(), CliError> {
    let total = output::ms_since(started);
    reporter.finish(command, total, res.as_ref().err());
    // Errors are already part of the report: pass on the exit status only.
    let first = match res {
        Err(e) => Some(e),
        Ok(()) => reporter.steps().iter().find_map(|s| s.error.clone()),
    };
    match first {
        Some(e) => Err(e.reported()),
        None => Ok(()),
    }
}
