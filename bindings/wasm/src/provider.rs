//! RSA providers: the core's RustCrypto (always available) and one that
//! calls Node's `crypto` synchronously for what Node supports.
//!
//! Node handles: PKCS#1 v1.5 and PSS (SHA-256, salt 32) sign and verify,
//! PKCS#1 v1.5 / OAEP-SHA1 / OAEP-SHA256 encryption and OAEP-SHA1 /
//! OAEP-SHA256 decryption. RustCrypto handles PKCS#1 v1.5 decryption (Node
//! refuses it since the Marvin fixes, and the provider contract requires
//! implicit rejection), OAEP-SHA256 with MGF1-SHA1 (Node cannot choose the
//! MGF1 hash), and any operation Node throws on (a key size or parameter it
//! refuses, an oversized message, a failed OAEP decoding): RustCrypto then
//! does the operation, so errors carry the same codes under both providers.

use crate::conv::type_err;
use selo::crypto::{Padding, RsaProvider, RustCryptoProvider, SignatureScheme};
use selo::keys::{RsaPrivateKey, RsaPublicKey};
use selo::rng::CryptoRng;
use std::sync::atomic::{AtomicU8, Ordering};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

#[wasm_bindgen(raw_module = "../lib/node_crypto.cjs")]
extern "C" {
    #[wasm_bindgen(catch, js_name = rsaSign)]
    fn node_sign(pss: bool, pkcs1_der: &[u8], msg: &[u8]) -> Result<Vec<u8>, JsValue>;
    #[wasm_bindgen(catch, js_name = rsaVerify)]
    fn node_verify(pss: bool, pkcs1_der: &[u8], msg: &[u8], sig: &[u8]) -> Result<bool, JsValue>;
    #[wasm_bindgen(catch, js_name = rsaEncrypt)]
    fn node_encrypt(padding: &str, pkcs1_der: &[u8], msg: &[u8]) -> Result<Vec<u8>, JsValue>;
    #[wasm_bindgen(catch, js_name = rsaDecrypt)]
    fn node_decrypt(padding: &str, pkcs1_der: &[u8], ct: &[u8]) -> Result<Vec<u8>, JsValue>;
    #[wasm_bindgen(js_name = rsaFallback)]
    fn node_fallback(op: &str);
}

/// Node's `crypto` where it supports the operation, RustCrypto otherwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeCryptoProvider;

static RUSTCRYPTO: RustCryptoProvider = RustCryptoProvider;
static NODE: NodeCryptoProvider = NodeCryptoProvider;

fn node_padding(p: Padding) -> Option<&'static str> {
    match p {
        Padding::Pkcs1v15 => Some("pkcs1v15"),
        Padding::OaepSha1 => Some("oaep-sha1"),
        Padding::OaepSha256 => Some("oaep-sha256"),
        Padding::OaepSha256Mgf1Sha1 => None,
    }
}

impl RsaProvider for NodeCryptoProvider {
    fn name(&self) -> &'static str {
        "node"
    }

    fn sign(
        &self,
        key: &RsaPrivateKey,
        scheme: SignatureScheme,
        msg: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, selo::crypto::Error> {
        let pss = scheme == SignatureScheme::PssSha256;
        if let Ok(der) = key.to_pkcs1_der()
            && let Ok(sig) = node_sign(pss, &der, msg)
        {
            return Ok(sig);
        }
        node_fallback("sign");
        RUSTCRYPTO.sign(key, scheme, msg, rng)
    }

    fn verify(
        &self,
        key: &RsaPublicKey,
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), selo::crypto::Error> {
        let pss = scheme == SignatureScheme::PssSha256;
        if let Ok(der) = key.to_pkcs1_der()
            && let Ok(ok) = node_verify(pss, &der, msg, sig)
        {
            return if ok {
                Ok(())
            } else {
                Err(selo::crypto::Error::new(
                    selo::crypto::Code::BadSignature,
                    "signature does not verify",
                ))
            };
        }
        node_fallback("verify");
        RUSTCRYPTO.verify(key, scheme, msg, sig)
    }

    fn encrypt(
        &self,
        key: &RsaPublicKey,
        padding: Padding,
        msg: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, selo::crypto::Error> {
        if let Some(p) = node_padding(padding)
            && let Ok(der) = key.to_pkcs1_der()
            && let Ok(ct) = node_encrypt(p, &der, msg)
        {
            return Ok(ct);
        }
        node_fallback("encrypt");
        RUSTCRYPTO.encrypt(key, padding, msg, rng)
    }

    fn decrypt(
        &self,
        key: &RsaPrivateKey,
        padding: Padding,
        ciphertext: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Zeroizing<Vec<u8>>, selo::crypto::Error> {
        // PKCS#1 v1.5 decryption never goes to Node: it refuses it, and the
        // contract requires implicit rejection, which RustCrypto implements.
        if padding != Padding::Pkcs1v15
            && ciphertext.len() == key.size()
            && let Some(p) = node_padding(padding)
            && let Ok(der) = key.to_pkcs1_der()
            && let Ok(pt) = node_decrypt(p, &der, ciphertext)
        {
            return Ok(Zeroizing::new(pt));
        }
        node_fallback("decrypt");
        RUSTCRYPTO.decrypt(key, padding, ciphertext, rng)
    }
}

const RUST: u8 = 0;
const NODE_ID: u8 = 1;
static DEFAULT: AtomicU8 = AtomicU8::new(RUST);

/// The provider named `name`, or the current default for `None`.
pub fn provider(name: Option<&str>) -> Result<&'static dyn RsaProvider, JsValue> {
    match name {
        None => Ok(match DEFAULT.load(Ordering::Relaxed) {
            NODE_ID => &NODE,
            _ => &RUSTCRYPTO,
        }),
        Some("rustcrypto") => Ok(&RUSTCRYPTO),
        Some("node") => Ok(&NODE),
        Some(other) => Err(type_err(format!(
            "provider: expected \"node\" or \"rustcrypto\", found \"{other}\""
        ))),
    }
}

/// The provider named by `opts.provider` (or the default).
pub fn provider_opt(opts: &JsValue) -> Result<&'static dyn RsaProvider, JsValue> {
    let name = crate::conv::get_opt_string(opts, "provider", "options")?;
    provider(name.as_deref())
}

/// Sets the provider used when none is named: `"node"` or `"rustcrypto"`.
#[wasm_bindgen(js_name = setDefaultRsaProvider)]
pub fn set_default_rsa_provider(name: &str) -> Result<(), JsValue> {
    let id = match name {
        "rustcrypto" => RUST,
        "node" => NODE_ID,
        other => {
            return Err(type_err(format!(
                "expected \"node\" or \"rustcrypto\", found \"{other}\""
            )));
        }
    };
    DEFAULT.store(id, Ordering::Relaxed);
    Ok(())
}

/// The provider used when none is named.
#[wasm_bindgen(js_name = getDefaultRsaProvider)]
pub fn get_default_rsa_provider() -> String {
    match provider(None) {
        Ok(p) => p.name().to_string(),
        Err(_) => "rustcrypto".into(),
    }
}
