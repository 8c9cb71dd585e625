//! Offline tools: PSD envelope seal/open, RSA key generation.

use crate::error::CliError;
use crate::output::{out, out_bytes, out_json};
use clap::Args;
use selo::safra::SessionKey;
use selo::safra::envelope::{open_bytes, random_iv, seal_with_iv};
use std::io::Read;
use zeroize::Zeroizing;

/// `selo safra seal`.
#[derive(Args, Debug)]
pub struct SealArgs {
    /// The 32-byte AES key, base64 (either alphabet).
    #[arg(long)]
    key: String,
    /// Exactly 16 characters used as the initial counter block (default:
    /// 16 random alphanumerics). Never reuse one under the same key.
    #[arg(long)]
    iv: Option<String>,
    /// Print the request body `{"data": "<envelope>"}` instead of the bare envelope.
    #[arg(long)]
    body: bool,
}

/// `selo safra open`.
#[derive(Args, Debug)]
pub struct OpenArgs {
    /// The 32-byte AES key, base64 (either alphabet).
    #[arg(long)]
    key: String,
}

fn key_of(b64: &str) -> Result<SessionKey, CliError> {
    SessionKey::from_b64(b64.trim()).map_err(|e| CliError::input("--key", e.code(), e.message()))
}

fn stdin_bytes() -> Result<Zeroizing<Vec<u8>>, CliError> {
    let mut buf = Zeroizing::new(Vec::new());
    std::io::stdin()
        .read_to_end(&mut buf)
        .map_err(|e| CliError::io("cli.io.stdin", format!("cannot read stdin: {e}")))?;
    Ok(buf)
}

pub fn seal(a: &SealArgs, json: bool) -> Result<(), CliError> {
    let key = key_of(&a.key)?;
    let iv: [u8; 16] = match &a.iv {
        Some(t) => t.as_bytes().try_into().map_err(|_| {
            CliError::usage(
                "cli.usage.iv",
                format!("--iv: expected exactly 16 bytes, found {}", t.len()),
            )
        })?,
        None => random_iv(&mut selo::rng::system()),
    };
    let plaintext = stdin_bytes()?;
    let envelope = seal_with_iv(&key, &iv, &plaintext);
    if json {
        out_json(&serde_json::json!({
            "envelope": envelope,
            "iv": String::from_utf8_lossy(&iv),
            "body": {"data": envelope},
        }));
    } else if a.body {
        out(&serde_json::json!({ "data": envelope }).to_string());
    } else {
        out(&envelope);
    }
    Ok(())
}

pub fn open(a: &OpenArgs, json: bool) -> Result<(), CliError> {
    let key = key_of(&a.key)?;
    let input = stdin_bytes()?;
    let text = std::str::from_utf8(&input)
        .map_err(|_| CliError::usage("cli.input.not_utf8", "stdin is not UTF-8 text"))?
        .trim();
    // A whole body `{"data": "..."}` or a bare envelope.
    let envelope = if text.starts_with('{') {
        selo::safra::envelope::unwrap_body(text.as_bytes())
            .map_err(|e| CliError::input("stdin", e.code(), e.message()))?
    } else {
        text.to_string()
    };
    let opened =
        open_bytes(&key, &envelope).map_err(|e| CliError::input("stdin", e.code(), e.message()))?;
    if json {
        let plaintext = match serde_json::from_slice::<serde_json::Value>(&opened.plaintext) {
            Ok(v) => v,
            Err(_) => serde_json::Value::String(String::from_utf8_lossy(&opened.plaintext).into()),
        };
        out_json(&serde_json::json!({
            "iv": String::from_utf8_lossy(&opened.iv),
            "plaintext": plaintext,
        }));
    } else {
        out_bytes(&opened.plaintext);
    }
    Ok(())
}

/// `selo keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Modulus size: 1024 (Safra's manual; weak), 2048, 3072 or 4096.
    #[arg(long, default_value_t = 2048)]
    bits: usize,
    /// What to print: `pem` (PKCS#8 private key then SPKI public key),
    /// `private-pem`, `public-pem`, `jwk` (private JWK, kid = thumbprint,
    /// alg PS256, use sig).
    #[arg(long, default_value = "pem")]
    format: String,
}

pub async fn keygen(a: &KeygenArgs, json: bool) -> Result<(), CliError> {
    let format = a.format.clone();
    if !["pem", "private-pem", "public-pem", "jwk"].contains(&format.as_str()) {
        return Err(CliError::usage(
            "cli.usage.format",
            format!("--format: expected pem, private-pem, public-pem or jwk, found {format:?}"),
        ));
    }
    let bits = a.bits;
    let key = tokio::task::spawn_blocking(move || {
        selo::keys::RsaPrivateKey::generate(bits, &mut selo::rng::system())
    })
    .await
    .map_err(|e| CliError::io("cli.io.task", format!("key generation task failed: {e}")))?
    .map_err(|e| CliError::input("--bits", e.code(), e.message()))?;
    let export = |e: selo::keys::Error| CliError::step(e.code(), e.message());
    if format == "jwk" {
        let jwk = selo::keys::jwk::Jwk::from_private(&key)
            .with_thumbprint_kid()
            .map_err(export)?
            .with_alg("PS256")
            .with_use("sig");
        let text = jwk.to_json().map_err(export)?;
        out(&text);
        return Ok(());
    }
    let private = key.to_pkcs8_pem().map_err(export)?;
    let public = key.public_key().to_spki_pem().map_err(export)?;
    if json {
        let mut v = serde_json::Map::new();
        v.insert("bits".into(), key.bits().into());
        if format != "public-pem" {
            v.insert("private_pkcs8_pem".into(), private.to_string().into());
        }
        if format != "private-pem" {
            v.insert("public_spki_pem".into(), public.into());
        }
        out_json(&serde_json::Value::Object(v));
        return Ok(());
    }
    if format != "public-pem" {
        out_bytes(private.as_bytes());
    }
    if format != "private-pem" {
        out_bytes(public.as_bytes());
    }
    Ok(())
}
