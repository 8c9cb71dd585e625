//! Offline tools over the core: `selo bmp sign|verify|canonical`,
//! `selo jws sign|verify`, `selo jwks`, `selo validate`.

use crate::error::{CliError, read_text};
use crate::output::{out, out_bytes, out_json};
use clap::{Args, Subcommand, ValueEnum};
use selo::bmp::{BmpClient, BmpProfile, HmacKey};
use selo::keys::jwk::{Jwk, JwkSet};
use selo::ofb::{Expected, OfbProfile, SignParams};
use std::io::Read;
use std::path::PathBuf;
use zeroize::Zeroizing;

fn stdin_bytes() -> Result<Zeroizing<Vec<u8>>, CliError> {
    let mut buf = Zeroizing::new(Vec::new());
    std::io::stdin()
        .read_to_end(&mut buf)
        .map_err(|e| CliError::io("cli.io.stdin", format!("cannot read stdin: {e}")))?;
    Ok(buf)
}

fn core_input(what: &str, code: &str, msg: &str) -> CliError {
    CliError::input(what, code, msg)
}

// ---------------------------------------------------------------- BMP

#[derive(Subcommand, Debug)]
pub enum BmpCommand {
    /// Canonicalise the JSON on stdin (minified, member order kept, money
    /// with two fraction digits) and sign it: prints headers and body.
    Sign(BmpSignArgs),
    /// Verify an `hmac` over the exact bytes on stdin (exit 1 on mismatch).
    Verify(BmpVerifyArgs),
    /// Print the canonical bytes of the JSON on stdin (what gets signed).
    Canonical(BmpProfileArg),
}

#[derive(Args, Debug)]
pub struct BmpProfileArg {
    /// BMP profile JSON.
    #[arg(long)]
    profile: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct BmpKeyArgs {
    /// File holding the 128-character shared key (preferred: not visible in `ps`).
    #[arg(long, conflicts_with = "key")]
    pub key_file: Option<PathBuf>,
    /// The shared key itself (visible to other local users via `ps`).
    #[arg(long)]
    pub key: Option<String>,
}

#[derive(Args, Debug)]
pub struct BmpSignArgs {
    #[command(flatten)]
    key: BmpKeyArgs,
    #[command(flatten)]
    profile: BmpProfileArg,
}

#[derive(Args, Debug)]
pub struct BmpVerifyArgs {
    #[command(flatten)]
    key: BmpKeyArgs,
    #[command(flatten)]
    profile: BmpProfileArg,
    /// The received `hmac` header value.
    #[arg(long)]
    hmac: String,
}

pub fn bmp_profile(arg: &BmpProfileArg) -> Result<BmpProfile, CliError> {
    match &arg.profile {
        Some(p) => BmpProfile::from_json(&read_text(p)?)
            .map_err(|e| core_input(&format!("profile {}", p.display()), e.code(), e.message())),
        None => Ok(BmpProfile::default()),
    }
}

pub fn bmp_key(arg: &BmpKeyArgs, profile: &BmpProfile) -> Result<HmacKey, CliError> {
    let text = match (&arg.key_file, &arg.key) {
        (Some(p), _) => Zeroizing::new(read_text(p)?.trim().to_string()),
        (None, Some(k)) => Zeroizing::new(k.clone()),
        (None, None) => {
            return Err(CliError::usage(
                "cli.usage.key",
                "give the shared key with --key-file FILE or --key KEY",
            ));
        }
    };
    HmacKey::new(&text, profile).map_err(|e| core_input("shared key", e.code(), e.message()))
}

pub fn bmp(cmd: &BmpCommand, json: bool) -> Result<(), CliError> {
    match cmd {
        BmpCommand::Canonical(p) => {
            let profile = bmp_profile(p)?;
            let body = selo::bmp::canonical::canonical_from_text(&stdin_bytes()?, &profile)
                .map_err(|e| core_input("stdin", e.code(), e.message()))?;
            out_bytes(&body);
            if !json {
                out("");
            }
            Ok(())
        }
        BmpCommand::Sign(a) => {
            let profile = bmp_profile(&a.profile)?;
            let key = bmp_key(&a.key, &profile)?;
            let signed = BmpClient::new(key, profile)
                .sign_json(&stdin_bytes()?, &mut selo::rng::system())
                .map_err(|e| core_input("stdin", e.code(), e.message()))?;
            let body = String::from_utf8_lossy(signed.body()).into_owned();
            if json {
                out_json(&serde_json::json!({
                    "idempotency_key": signed.idempotency_key(),
                    "hmac": signed.hmac(),
                    "headers": signed.headers(),
                    "body": body,
                }));
            } else {
                for (n, v) in signed.headers() {
                    out(&format!("{n}: {v}"));
                }
                out("");
                out(&body);
            }
            Ok(())
        }
        BmpCommand::Verify(a) => {
            let profile = bmp_profile(&a.profile)?;
            let key = bmp_key(&a.key, &profile)?;
            let body = stdin_bytes()?;
            match selo::bmp::verify(&key, &body, a.hmac.trim(), &profile) {
                Ok(()) => {
                    if json {
                        out_json(&serde_json::json!({"ok": true, "bytes": body.len()}));
                    } else {
                        out(&format!("ok: hmac matches the {} body bytes", body.len()));
                    }
                    Ok(())
                }
                Err(e) if e.kind() == selo::bmp::Code::MacEncoding => {
                    Err(core_input("--hmac", e.code(), e.message()))
                }
                Err(e) => Err(CliError::step(e.code(), e.message())),
            }
        }
    }
}

// ---------------------------------------------------------------- JWS

#[derive(Subcommand, Debug)]
pub enum JwsCommand {
    /// Sign the JSON object on stdin as an OFB PS256 JWS (token on stdout).
    Sign(JwsSignArgs),
    /// Verify the token on stdin (SPEC §3.2 stages 1–6); prints the payload.
    Verify(JwsVerifyArgs),
}

#[derive(Args, Debug)]
pub struct JwsSignArgs {
    /// Signing key (PEM/DER, RSA ≥ 2048).
    #[arg(long)]
    key: PathBuf,
    /// `kid` (default: the key's RFC 7638 thumbprint).
    #[arg(long)]
    kid: Option<String>,
    /// `aud`: the endpoint URL (requests) or the receiver's organisationId.
    #[arg(long)]
    aud: String,
    /// `iss`: the signer's organisationId.
    #[arg(long)]
    iss: String,
    /// Optional `exp`, seconds from now.
    #[arg(long)]
    exp_in: Option<u64>,
    /// OFB profile JSON.
    #[arg(long)]
    profile: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct JwsVerifyArgs {
    /// The signer's JWK Set (JSON file).
    #[arg(long)]
    jwks: PathBuf,
    /// Expected `aud`.
    #[arg(long)]
    aud: String,
    /// Expected `iss`.
    #[arg(long)]
    iss: String,
    /// Verify a response (`typ` may be absent).
    #[arg(long)]
    response: bool,
    /// OFB profile JSON (overrides --response).
    #[arg(long)]
    profile: Option<PathBuf>,
}

fn ofb_profile(p: Option<&PathBuf>, response: bool) -> Result<OfbProfile, CliError> {
    match p {
        Some(p) => OfbProfile::from_json(&read_text(p)?)
            .map_err(|e| core_input(&format!("profile {}", p.display()), e.code(), e.message())),
        None if response => Ok(OfbProfile::for_responses()),
        None => Ok(OfbProfile::default()),
    }
}

pub fn jws(cmd: &JwsCommand, json: bool) -> Result<(), CliError> {
    let now = selo_sim::unix_now();
    match cmd {
        JwsCommand::Sign(a) => {
            let key = crate::load_private_key(&a.key)?;
            let profile = ofb_profile(a.profile.as_ref(), false)?;
            let kid = a
                .kid
                .clone()
                .unwrap_or_else(|| selo::keys::jwk::rsa_thumbprint(&key.public_key()));
            let input = stdin_bytes()?;
            let payload: serde_json::Value = serde_json::from_slice(&input).map_err(|e| {
                CliError::usage("cli.input.not_json", format!("stdin is not JSON: {e}"))
            })?;
            let mut params = SignParams::new(kid, a.aud.clone(), a.iss.clone());
            params.exp = a.exp_in.map(|s| now + s);
            let signed = selo::ofb::sign(
                &key,
                &payload,
                &params,
                &profile,
                now,
                &mut selo::rng::system(),
            )
            .map_err(|e| core_input("signing", e.code(), e.message()))?;
            if json {
                out_json(
                    &serde_json::json!({"token": signed.token, "jti": signed.jti, "iat": signed.iat}),
                );
            } else {
                out(&signed.token);
            }
            Ok(())
        }
        JwsCommand::Verify(a) => {
            let jwks = JwkSet::parse(&read_text(&a.jwks)?).map_err(|e| {
                core_input(&format!("JWKS {}", a.jwks.display()), e.code(), e.message())
            })?;
            let profile = ofb_profile(a.profile.as_ref(), a.response)?;
            let input = stdin_bytes()?;
            let token = std::str::from_utf8(&input)
                .map_err(|_| CliError::usage("cli.input.not_utf8", "stdin is not UTF-8"))?
                .trim();
            let v = selo::ofb::verify(
                token,
                &jwks,
                &Expected::new(a.aud.clone(), a.iss.clone()),
                &profile,
                now,
            )
            .map_err(|e| CliError::step(e.code(), e.message()))?;
            let payload = serde_json::Value::Object(v.payload);
            if json {
                out_json(
                    &serde_json::json!({"ok": true, "kid": v.kid, "claims": v.claims, "payload": payload}),
                );
            } else {
                out_json(&payload);
            }
            Ok(())
        }
    }
}

/// `selo jwks`.
#[derive(Args, Debug)]
pub struct JwksArgs {
    /// Keys (PEM/DER, private or public); each becomes a public JWK with
    /// `kid` = its thumbprint, `alg` PS256, `use` sig.
    #[arg(required = true)]
    keys: Vec<PathBuf>,
}

pub fn jwks(a: &JwksArgs) -> Result<(), CliError> {
    let mut keys = Vec::new();
    for p in &a.keys {
        let bytes = Zeroizing::new(crate::error::read_file(p)?);
        let jwk = Jwk::import(&bytes)
            .and_then(|j| j.to_public().with_thumbprint_kid())
            .map_err(|e| core_input(&format!("key {}", p.display()), e.code(), e.message()))?
            .with_alg("PS256")
            .with_use("sig");
        keys.push(jwk);
    }
    let v = JwkSet::new(keys)
        .to_value()
        .map_err(|e| CliError::step(e.code(), e.message()))?;
    out_json(&v);
    Ok(())
}

// ---------------------------------------------------------------- validate

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Kind {
    /// CPF (11 digits, check digits).
    Cpf,
    /// CNPJ (14 characters, numeric or the 2026 alphanumeric form).
    Cnpj,
    /// Boleto barcode (44 digits) or linha digitável (47/48 digits).
    Boleto,
    /// Pix key (CPF, CNPJ, phone +55…, e-mail, EVP), type detected.
    Pix,
}

/// `selo validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// What to validate.
    #[arg(value_enum)]
    kind: Kind,
    /// The value (masks such as 529.982.247-25 are accepted).
    value: String,
}

pub fn validate(a: &ValidateArgs, json: bool) -> Result<(), CliError> {
    let fail = |e: selo::br::Error| CliError::step(e.code(), e.message());
    let v = a.value.as_str();
    let (summary, detail) = match a.kind {
        Kind::Cpf => {
            let n = selo::br::normalize_cpf(v).map_err(fail)?;
            let f = selo::br::format_cpf(&n).map_err(fail)?;
            (
                format!("valid CPF {f}"),
                serde_json::json!({"normalized": n, "formatted": f}),
            )
        }
        Kind::Cnpj => {
            let n = selo::br::normalize_cnpj(v).map_err(fail)?;
            let f = selo::br::format_cnpj(&n).map_err(fail)?;
            (
                format!("valid CNPJ {f}"),
                serde_json::json!({"normalized": n, "formatted": f}),
            )
        }
        Kind::Boleto => {
            let b = selo::br::parse_boleto(v).map_err(fail)?;
            let amount = b
                .amount_cents
                .map(|c| format!("R$ {},{:02}", c / 100, c % 100))
                .unwrap_or_else(|| "no amount".into());
            (
                format!(
                    "valid boleto: barcode {} linha {} {amount}",
                    b.barcode, b.linha_digitavel
                ),
                serde_json::json!({
                    "barcode": b.barcode,
                    "linha_digitavel": b.linha_digitavel,
                    "amount_cents": b.amount_cents,
                    "kind": format!("{:?}", b.kind),
                }),
            )
        }
        Kind::Pix => match selo::br::detect_pix_key(v) {
            Some(k) => (
                format!("valid Pix key ({:?}): {}", k.kind, k.value),
                serde_json::to_value(&k).unwrap_or_default(),
            ),
            None => {
                return Err(CliError::step(
                    "br.pix_key.invalid",
                    format!("{v:?} is not a valid CPF, CNPJ, phone (+55…), e-mail or EVP Pix key"),
                ));
            }
        },
    };
    if json {
        out_json(&serde_json::json!({"ok": true, "detail": detail}));
    } else {
        out(&summary);
    }
    Ok(())
}
