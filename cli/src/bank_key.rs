//! `selo safra bank-key`: runs handshake stage 1 only against a bank and
//! prints the key it answered with — its pin (base64url SHA-256 of the DER
//! SubjectPublicKeyInfo, the form of profile `bank_key_pins`) and its PEM —
//! so an integrator can pin the bank key on first use.

use crate::error::CliError;
use crate::output::{out, out_json};
use selo::safra::{BaseUrl, Operation, Outcome, Session};
use std::path::PathBuf;

/// Arguments of `selo safra bank-key`.
#[derive(clap::Args, Debug)]
pub struct BankKeyArgs {
    /// Base URL: `hml`, `prod`, or a URL such as http://127.0.0.1:8080/psd/
    #[arg(long)]
    base_url: String,
    /// Safra profile JSON (its key format and key size are used; its
    /// `bank_key_pins` are checked and reported, not enforced).
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Override the profile's key format: der-spki, pem-spki, der-pkcs1.
    #[arg(long)]
    key_format: Option<String>,
    #[command(flatten)]
    tls: crate::http::TlsArgs,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub async fn run(a: BankKeyArgs, json: bool) -> Result<(), CliError> {
    let mut profile = crate::load_profile(a.profile.as_ref(), None, a.key_format.as_deref())?;
    let pins = std::mem::take(&mut profile.bank_key_pins);
    let http = crate::http::Http::new(&crate::http::HttpOptions {
        cert: a.tls.cert.clone(),
        key: a.tls.key.clone(),
        ca: a.tls.ca.clone(),
        timeout_secs: a.timeout,
        ..Default::default()
    })?;
    let base_url = BaseUrl::parse(&a.base_url);
    let mut session = Session::new(profile.clone(), base_url.clone(), "bank-key")
        .map_err(|e| CliError::input("profile", e.code(), e.message()))?;
    let mut rng = selo::rng::system();
    let (id, req) = session
        .prepare_next(&Operation::Handshake, now(), &mut rng)
        .map_err(|e| CliError::step(e.code(), e.message()))?;
    let resp = http.send(&req).await?;
    match session.handle_response(id, &resp, now(), &mut rng) {
        Ok(Outcome::Continue(None)) => {}
        Ok(other) => {
            return Err(CliError::step(
                "cli.bank_key.no_key",
                format!(
                    "stage 1 at {} answered HTTP {} without a bank key ({other:?})",
                    req.url, resp.status
                ),
            ));
        }
        Err(e) => return Err(CliError::step(e.code(), e.message())),
    }
    let key = session
        .bank_key()
        .ok_or_else(|| CliError::step("cli.bank_key.no_key", "stage 1 gave no bank key"))?;
    let pin = key
        .spki_pin()
        .map_err(|e| CliError::step(e.code(), e.message()))?;
    let pem = key
        .to_spki_pem()
        .map_err(|e| CliError::step(e.code(), e.message()))?;
    let checked = SafraProfileCheck::of(&pins, &pin);
    if json {
        out_json(&serde_json::json!({
            "base_url": base_url.as_str(),
            "pin": pin,
            "bits": key.bits(),
            "pem": pem,
            "pinned": checked.json(),
        }));
    } else {
        out(&format!(
            "bank key at {}: RSA {} bits",
            base_url.as_str(),
            key.bits()
        ));
        out(&format!("pin (sha256, base64url): {pin}"));
        out(&format!(
            "profile: \"bank_key_pins\": [\"{pin}\"]{}",
            checked.note()
        ));
        out(pem.trim_end());
    }
    Ok(())
}

/// What the profile's own pins say about the key seen.
enum SafraProfileCheck {
    NoPins,
    Pinned,
    NotPinned,
}

impl SafraProfileCheck {
    fn of(pins: &[String], pin: &str) -> Self {
        if pins.is_empty() {
            return Self::NoPins;
        }
        let p = selo::safra::SafraProfile {
            bank_key_pins: pins.to_vec(),
            ..Default::default()
        };
        if p.bank_key_pinned(pin) {
            Self::Pinned
        } else {
            Self::NotPinned
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Self::NoPins => serde_json::Value::Null,
            Self::Pinned => true.into(),
            Self::NotPinned => false.into(),
        }
    }

    fn note(&self) -> &'static str {
        match self {
            Self::NoPins => "",
            Self::Pinned => " (already one of the profile's pins)",
            Self::NotPinned => {
                " — NOT one of the profile's pins: a flow with this profile refuses this key (safra.handshake.bank_key_not_pinned)"
            }
        }
    }
}
