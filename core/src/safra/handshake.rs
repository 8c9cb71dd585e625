//! psd001, both stages, both roles (SPEC §2.2–2.3).
//!
//! Client: [`stage1_jwk`] → [`parse_stage1_reply`] → [`stage2_parametros`]
//! → [`parse_stage2_reply`]. Bank: [`bank_verify_stage1`] →
//! [`bank_stage1_reply`] → [`bank_open_stage2`] → [`bank_stage2_reply`].

use super::envelope::SessionKey;
use super::{Code, Error, SignatureMessage, err};
use crate::crypto::{Padding, RsaProvider, SignatureScheme, decrypt_chunked, encrypt_chunked};
use crate::encoding::{b64, b64_decode};
use crate::keys::{KeyFormat, RsaPrivateKey, RsaPublicKey};
use crate::rng::CryptoRng;
use zeroize::Zeroizing;

/// The three fixed middle parts of the stage-1 `jwk`: B64("RSA"), B64("enc"), B64("P-256").
pub fn jwk_prefix() -> String {
    format!("{}.{}.{}", b64(b"RSA"), b64(b"enc"), b64(b"P-256"))
}

fn sign_session(
    provider: &dyn RsaProvider,
    key: &RsaPrivateKey,
    session_id: &str,
    rng: &mut dyn CryptoRng,
) -> Result<Vec<u8>, Error> {
    Ok(provider.sign(
        key,
        SignatureScheme::Pkcs1v15Sha256,
        session_id.as_bytes(),
        rng,
    )?)
}

/// Stage 1: `B64(sig) "." B64("RSA") "." B64("enc") "." B64("P-256") "." B64(client_pub)`
/// where `sig` is RSASSA-PKCS1-v1_5-SHA256 over the session GUID.
pub fn stage1_jwk(
    provider: &dyn RsaProvider,
    client_key: &RsaPrivateKey,
    session_id: &str,
    key_format: KeyFormat,
    rng: &mut dyn CryptoRng,
) -> Result<String, Error> {
    let sig = sign_session(provider, client_key, session_id, rng)?;
    let public = client_key.public_key().encode(key_format)?;
    Ok(format!("{}.{}.{}", b64(&sig), jwk_prefix(), b64(&public)))
}

/// A JSON body with one string member.
pub fn json_body(member: &str, value: &str) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    m.insert(
        member.to_string(),
        serde_json::Value::String(value.to_string()),
    );
    serde_json::Value::Object(m).to_string().into_bytes()
}

fn import_key_part(part: &str, what: &str) -> Result<RsaPublicKey, Error> {
    let bytes = b64_decode(part).map_err(|e| {
        err(
            Code::HandshakeBadBankKey,
            format!("{what}: key part is not base64 ({e})"),
        )
    })?;
    RsaPublicKey::import(&bytes).map_err(|e| {
        err(
            Code::HandshakeBadBankKey,
            format!(
                "{what}: key part did not parse as PEM or DER, SPKI, PKCS#1 or X.509 ({}: {})",
                e.code(),
                e.message()
            ),
        )
    })
}

/// The string member `member` of a JSON object body.
fn string_member(body: &[u8], member: &str, code: Code, what: &str) -> Result<String, Error> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| err(code, format!("{what} body is not JSON")))?;
    match v.get(member) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        _ => Err(err(
            code,
            format!("{what}: expected a JSON object with string member \"{member}\""),
        )),
    }
}

/// Splits `value` on dots into exactly `N` parts.
fn parts<'a, const N: usize>(
    value: &'a str,
    code: Code,
    what: &str,
) -> Result<[&'a str; N], Error> {
    let v: Vec<&str> = value.split('.').collect();
    let found = v.len();
    v.try_into().map_err(|_| {
        err(
            code,
            format!("{what}: expected {N} dot-separated parts, found {found}"),
        )
    })
}

/// Stage-1 reply: a JSON object whose `jwk` holds dot-separated parts, the
/// **last** being the bank key (PEM or DER, SPKI or PKCS#1, auto-detected).
pub fn parse_stage1_reply(body: &[u8]) -> Result<RsaPublicKey, Error> {
    let jwk = string_member(body, "jwk", Code::HandshakeBadReply, "stage-1 reply")?;
    let last = jwk.rsplit('.').next().unwrap_or_default();
    import_key_part(last, "stage-1 reply jwk (last part)")
}

/// Stage 2: `B64(RSA-ENCRYPT(bank_pub, session GUID)) "." B64(sig)`.
pub fn stage2_parametros(
    provider: &dyn RsaProvider,
    bank_key: &RsaPublicKey,
    client_key: &RsaPrivateKey,
    session_id: &str,
    padding: Padding,
    rng: &mut dyn CryptoRng,
) -> Result<String, Error> {
    let enc = encrypt_chunked(provider, bank_key, padding, session_id.as_bytes(), rng)?;
    let sig = sign_session(provider, client_key, session_id, rng)?;
    Ok(format!("{}.{}", b64(&enc), b64(&sig)))
}

/// The key the handshake agreed, with the choices that won.
#[derive(Debug)]
pub struct AgreedKey {
    /// The AES-256 session key.
    pub key: SessionKey,
    /// The padding that decrypted it.
    pub padding: Padding,
    /// What the bank's signature covered.
    pub signature_message: SignatureMessage,
}

/// The string value of a stage-2 reply: member `jwk`, else the only string
/// member, else a bare JSON string.
fn stage2_value(body: &[u8]) -> Result<String, Error> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| err(Code::HandshakeBadReply, "stage-2 reply is not JSON"))?;
    match v {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(s)) = m.get("jwk") {
                return Ok(s.clone());
            }
            let strings: Vec<&String> = m
                .values()
                .filter_map(|v| match v {
                    serde_json::Value::String(s) => Some(s),
                    _ => None,
                })
                .collect();
            match strings.as_slice() {
                [one] => Ok((*one).clone()),
                _ => Err(err(
                    Code::HandshakeBadReply,
                    format!(
                        "stage-2 reply: expected member \"jwk\" or exactly one string member, found {}",
                        strings.len()
                    ),
                )),
            }
        }
        _ => Err(err(
            Code::HandshakeBadReply,
            "stage-2 reply: expected a JSON object or string",
        )),
    }
}

/// Key material found in a decrypted stage-2 plaintext.
pub struct ExtractedKey {
    /// The key.
    pub key: SessionKey,
    /// The key's text as it appeared (for `key-base64-text` signatures).
    pub text: Option<Zeroizing<String>>,
}

fn key_from_text(text: &str) -> Option<SessionKey> {
    if let Ok(bytes) = b64_decode(text) {
        let bytes = Zeroizing::new(bytes);
        if let Ok(k) = SessionKey::from_slice(&bytes) {
            return Some(k);
        }
    }
    if text.len() == 32 {
        return SessionKey::from_slice(text.as_bytes()).ok();
    }
    None
}

/// The key candidates of a decrypted JSON plaintext ([`extract_keys`]),
/// or `None` when it is not a JSON object.
fn keys_of_jwk(json: &serde_json::Value) -> Option<Result<Vec<ExtractedKey>, Error>> {
    let serde_json::Value::Object(m) = json else {
        return None;
    };

    let exact = m.get("KID").map(|v| ("KID", v));
    let any_case = m
        .iter()
        .filter(|(k, _)| k.as_str() != "KID" && k.eq_ignore_ascii_case("kid"))
        .map(|(k, v)| (k.as_str(), v));
    let k = m.get("k").map(|v| ("k", v));
    let members: Vec<(&str, &serde_json::Value)> =
        exact.into_iter().chain(any_case).chain(k).collect();
    if members.is_empty() {
        return Some(Err(err(
            Code::HandshakeBadKeyMaterial,
            "decrypted JWK has no KID, kid or k member",
        )));
    }
    let mut found = Vec::new();
    let mut refused = Vec::new();
    for (name, value) in members {
        let Some(text) = value.as_str() else {
            refused.push(format!("{name}: not a string"));
            continue;
        };
        match key_from_text(text) {
            Some(key) => found.push(ExtractedKey {
                key,
                text: Some(Zeroizing::new(text.to_string())),
            }),
            None => {
                let decoded = b64_decode(text).map(|b| b.len()).ok();
                refused.push(format!(
                    "{name}: {} characters{}",
                    text.len(),
                    decoded.map_or(String::new(), |n| format!(" decoding to {n} bytes"))
                ));
            }
        }
    }
    if found.is_empty() {
        return Some(Err(err(
            Code::HandshakeBadKeyMaterial,
            format!(
                "decrypted JWK: no key member is base64 of 32 bytes or 32 characters ({})",
                refused.join("; ")
            ),
        )));
    }
    Some(Ok(found))
}

/// Finds the AES key candidates in a decrypted plaintext (SPEC §2.3 step
/// 6), in order: member `KID` (exact name), any case of `kid`, then `k`
/// (RFC 7517 base64url). A member counts when its text base64- or
/// base64url-decodes to 32 bytes, or is itself 32 characters long; a
/// non-JSON plaintext of 32 raw bytes or base64 of 32 bytes is the key
/// itself. The bank's signature decides between candidates
/// ([`parse_stage2_reply`]).
pub fn extract_keys(plaintext: &[u8]) -> Result<Vec<ExtractedKey>, Error> {
    if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(plaintext) {
        // The parsed JWK holds the key text: wiped whatever the outcome.
        let found = keys_of_jwk(&json);
        crate::encoding::wipe_json(&mut json);
        if let Some(found) = found {
            return found;
        }
    }
    if plaintext.len() == 32 {
        return Ok(vec![ExtractedKey {
            key: SessionKey::from_slice(plaintext)?,
            text: None,
        }]);
    }
    if let Ok(text) = std::str::from_utf8(plaintext)
        && let Ok(bytes) = b64_decode(text.trim_matches('"'))
        && let Ok(key) = SessionKey::from_slice(&Zeroizing::new(bytes))
    {
        let text = Some(Zeroizing::new(text.trim_matches('"').to_string()));
        return Ok(vec![ExtractedKey { key, text }]);
    }
    Err(err(
        Code::HandshakeBadKeyMaterial,
        format!(
            "decrypted plaintext ({} bytes) is neither a JWK with a key member, 32 raw bytes, nor base64 of 32 bytes",
            plaintext.len()
        ),
    ))
}

/// The first key candidate of [`extract_keys`] (without a signature to
/// decide between several).
pub fn extract_key(plaintext: &[u8]) -> Result<ExtractedKey, Error> {
    extract_keys(plaintext)?
        .into_iter()
        .next()
        .ok_or_else(|| err(Code::HandshakeBadKeyMaterial, "no key candidate"))
}

/// The byte strings a signature of kind `choice` may cover. For the base64
/// text, both the text as it appeared and the canonical `B64(key)` are tried.
fn signed_messages(
    choice: SignatureMessage,
    ex: &ExtractedKey,
    plaintext: &[u8],
) -> Vec<Zeroizing<Vec<u8>>> {
    let copy = |b: &[u8]| Zeroizing::new(b.to_vec());
    match choice {
        SignatureMessage::RawKey | SignatureMessage::Auto => vec![copy(ex.key.as_bytes())],
        SignatureMessage::KeyBase64Text => {
            let canonical = Zeroizing::new(b64(ex.key.as_bytes()).into_bytes());
            match &ex.text {
                Some(t) if t.as_bytes() != canonical.as_slice() => {
                    vec![copy(t.as_bytes()), canonical]
                }
                _ => vec![canonical],
            }
        }
        SignatureMessage::Plaintext => vec![copy(plaintext)],
    }
}

/// Stage-2 reply: decrypts `enc_jwk` with each candidate padding (chunked
/// when longer than one block), extracts the key and verifies the bank's
/// signature with each candidate message. A candidate wins only when both
/// succeed; PKCS#1 v1.5's implicit rejection makes the signature the judge.
#[allow(clippy::too_many_arguments)]
pub fn parse_stage2_reply(
    provider: &dyn RsaProvider,
    body: &[u8],
    client_key: &RsaPrivateKey,
    bank_key: &RsaPublicKey,
    paddings: &[Padding],
    messages: &[SignatureMessage],
    rng: &mut dyn CryptoRng,
) -> Result<AgreedKey, Error> {
    let value = stage2_value(body)?;
    let [enc_part, sig_part] = parts::<2>(&value, Code::HandshakeBadReply, "stage-2 reply value")?;
    let enc = b64_decode(enc_part)
        .map_err(|e| err(Code::HandshakeBadReply, format!("stage-2 enc_jwk: {e}")))?;
    let sig = b64_decode(sig_part)
        .map_err(|e| err(Code::HandshakeBadReply, format!("stage-2 signature: {e}")))?;
    let k = client_key.size();
    if enc.is_empty() || !enc.len().is_multiple_of(k) {
        return Err(err(
            Code::HandshakeDecryptFailed,
            format!(
                "stage-2 enc_jwk: expected a multiple of {k} bytes, found {}",
                enc.len()
            ),
        ));
    }
    let mut last: Option<Error> = None;
    for &padding in paddings {
        let plaintext = match decrypt_chunked(provider, client_key, padding, &enc, rng) {
            Ok(p) => p,
            Err(e) => {
                if last.is_none() {
                    last = Some(err(
                        Code::HandshakeDecryptFailed,
                        format!(
                            "stage-2 enc_jwk did not decrypt with {} ({})",
                            padding.as_str(),
                            e.message()
                        ),
                    ));
                }
                continue;
            }
        };
        let candidates = match extract_keys(&plaintext) {
            Ok(x) => x,
            Err(e) => {
                if last
                    .as_ref()
                    .is_none_or(|l| l.kind() == Code::HandshakeDecryptFailed)
                {
                    last = Some(err(
                        e.kind(),
                        format!("with {}: {}", padding.as_str(), e.message()),
                    ));
                }
                continue;
            }
        };
        for extracted in &candidates {
            for &m in messages {
                let verified = signed_messages(m, extracted, &plaintext).iter().any(|msg| {
                    provider
                        .verify(bank_key, SignatureScheme::Pkcs1v15Sha256, msg, &sig)
                        .is_ok()
                });
                if verified {
                    return Ok(AgreedKey {
                        key: extracted.key.clone(),
                        padding,
                        signature_message: m,
                    });
                }
            }
        }
        last = Some(err(
            Code::HandshakeBadSignature,
            format!(
                "bank signature over the key does not verify (padding {}, messages tried: {})",
                padding.as_str(),
                messages
                    .iter()
                    .map(|m| format!("{m:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Err(last.unwrap_or_else(|| err(Code::HandshakeDecryptFailed, "no padding candidates")))
}

// ---------------------------------------------------------------- bank role

/// Bank role: the client's signature over the session GUID (both stages).
fn verify_guid_signature(
    provider: &dyn RsaProvider,
    client_key: &RsaPublicKey,
    session_id: &str,
    sig: &[u8],
    stage: &str,
) -> Result<(), Error> {
    provider
        .verify(
            client_key,
            SignatureScheme::Pkcs1v15Sha256,
            session_id.as_bytes(),
            sig,
        )
        .map_err(|_| {
            err(
                Code::HandshakeBadSignature,
                format!(
                    "{stage} signature over the session GUID does not verify with the client key"
                ),
            )
        })
}

/// Bank role, stage 1: parses the client's `jwk` (5 parts), imports its key
/// (any format) and verifies its signature over the session GUID.
pub fn bank_verify_stage1(
    provider: &dyn RsaProvider,
    body: &[u8],
    session_id: &str,
) -> Result<RsaPublicKey, Error> {
    let jwk = string_member(body, "jwk", Code::HandshakeBadRequest, "stage-1 request")?;
    let [sig, _, _, _, key] = parts::<5>(&jwk, Code::HandshakeBadRequest, "stage-1 jwk")?;
    let client = import_key_part(key, "stage-1 jwk (client key)")
        .map_err(|e| err(Code::HandshakeBadRequest, e.message()))?;
    let sig = b64_decode(sig)
        .map_err(|e| err(Code::HandshakeBadRequest, format!("stage-1 signature: {e}")))?;
    verify_guid_signature(provider, &client, session_id, &sig, "stage-1")?;
    Ok(client)
}

/// Bank role, stage 1 reply body: `{"jwk": B64("RSA").B64("enc").B64("P-256").B64(bank_pub)}`.
pub fn bank_stage1_reply(bank_key: &RsaPublicKey, key_format: KeyFormat) -> Result<Vec<u8>, Error> {
    let public = bank_key.encode(key_format)?;
    Ok(json_body(
        "jwk",
        &format!("{}.{}", jwk_prefix(), b64(&public)),
    ))
}

/// Bank role, stage 2: decrypts the session id with each candidate padding
/// until it equals the header GUID, verifies the client's signature, and
/// returns the padding the client used.
pub fn bank_open_stage2(
    provider: &dyn RsaProvider,
    body: &[u8],
    bank_key: &RsaPrivateKey,
    client_key: &RsaPublicKey,
    session_id: &str,
    paddings: &[Padding],
    rng: &mut dyn CryptoRng,
) -> Result<Padding, Error> {
    let p = string_member(
        body,
        "parametros",
        Code::HandshakeBadRequest,
        "stage-2 request",
    )?;
    let [enc, sig] = parts::<2>(&p, Code::HandshakeBadRequest, "parametros")?;
    let enc = b64_decode(enc)
        .map_err(|e| err(Code::HandshakeBadRequest, format!("parametros enc: {e}")))?;
    let sig = b64_decode(sig).map_err(|e| {
        err(
            Code::HandshakeBadRequest,
            format!("parametros signature: {e}"),
        )
    })?;
    // Bound the work before trusting anyone: the session GUID fits one RSA
    // block, and the client's signature (one cheap public operation) is
    // checked before any private-key decryption.
    if enc.len() != bank_key.size() {
        return Err(err(
            Code::HandshakeBadRequest,
            format!(
                "parametros enc: expected exactly one RSA block ({} bytes), found {}",
                bank_key.size(),
                enc.len()
            ),
        ));
    }
    verify_guid_signature(provider, client_key, session_id, &sig, "stage-2")?;
    let padding = paddings
        .iter()
        .copied()
        .find(|&pad| {
            provider
                .decrypt(bank_key, pad, &enc, rng)
                .is_ok_and(|pt| crate::crypto::ct_eq(&pt, session_id.as_bytes()))
        })
        .ok_or_else(|| {
            err(
                Code::HandshakeSessionMismatch,
                format!(
                    "encrypted session id does not decrypt to the amc-session-id header with {}",
                    paddings
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    Ok(padding)
}

/// Bank role, stage 2 reply body: the key wrapped as
/// `{"kty":"oct","alg":"A256CTR","kid":B64(key)}`, encrypted to the client
/// (chunked when longer than one block), signed per `message`.
pub fn bank_stage2_reply(
    provider: &dyn RsaProvider,
    client_key: &RsaPublicKey,
    bank_key: &RsaPrivateKey,
    key: &SessionKey,
    padding: Padding,
    message: SignatureMessage,
    rng: &mut dyn CryptoRng,
) -> Result<Vec<u8>, Error> {
    let key_text = key.to_b64();
    let jwk = Zeroizing::new(
        serde_json::json!({"kty": "oct", "alg": "A256CTR", "kid": key_text.as_str()})
            .to_string()
            .into_bytes(),
    );
    // Each form of the key signed is a copy of it: wiped on drop.
    let msg: Zeroizing<Vec<u8>> = Zeroizing::new(match message {
        SignatureMessage::RawKey | SignatureMessage::Auto => key.as_bytes().to_vec(),
        SignatureMessage::KeyBase64Text => key_text.as_bytes().to_vec(),
        SignatureMessage::Plaintext => jwk.to_vec(),
    });
    let enc = encrypt_chunked(provider, client_key, padding, &jwk, rng)?;
    let sig = provider.sign(bank_key, SignatureScheme::Pkcs1v15Sha256, &msg, rng)?;
    Ok(json_body("jwk", &format!("{}.{}", b64(&enc), b64(&sig))))
}
