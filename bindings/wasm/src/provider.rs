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
use selo::crypto::{
    AesCtrProvider, Padding, RsaProvider, RustCryptoAesCtr, RustCryptoProvider, SignatureScheme,
};
use selo::keys::{RsaPrivateKey, RsaPublicKey};
use selo::rng::CryptoRng;
use std::sync::atomic::{AtomicU8, Ordering};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

#[wasm_bindgen(raw_module = "../lib/node_crypto.cjs")]
extern "C" {
    // Keys are named by an id derived from (n, e); `undefined` back means
    // "not loaded yet": the caller loads the DER once and asks again.
    #[wasm_bindgen(catch, js_name = rsaSign)]
    fn node_sign(pss: bool, id: &str, msg: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = rsaVerify)]
    fn node_verify(pss: bool, id: &str, msg: &[u8], sig: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = rsaEncrypt)]
    fn node_encrypt(padding: &str, id: &str, msg: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = rsaDecrypt)]
    fn node_decrypt(padding: &str, id: &str, ct: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_name = rsaLoadPrivate)]
    fn node_load_private(id: &str, pkcs1_der: &[u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_name = rsaLoadPublic)]
    fn node_load_public(id: &str, pkcs1_der: &[u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = rsaFallback)]
    fn node_fallback(op: &str);
    #[wasm_bindgen(catch, js_name = aes256Ctr)]
    fn node_aes256_ctr(key: &[u8], iv: &[u8], data: &[u8]) -> Result<JsValue, JsValue>;
}

/// A name for a key: its kind and RFC 7638 thumbprint (one (n, e) is one
/// key), cached in the key so that a call costs no hashing.
fn key_id(kind: &str, key: &RsaPublicKey) -> String {
    let t = key.thumbprint();
    let mut id = String::with_capacity(kind.len() + t.len());
    id.push_str(kind);
    id.push_str(t);
    id
}

/// What Node made of an operation.
enum Node<T> {
    /// Node did it.
    Done(T),
    /// Node ran it on the loaded key and threw: its answer is a refusal
    /// (a bad OAEP ciphertext, say). For verify and decrypt it is final —
    /// handing the input on to RustCrypto could overturn it (RustCrypto's
    /// OAEP ignores the first octet that OpenSSL checks).
    Refused,
    /// Node could not run it (the key did not load, no answer): RustCrypto
    /// does it instead.
    Unavailable,
}

/// Calls `op` with the key's id (`kind` + RFC 7638 thumbprint), loading the
/// key into Node first when Node does not know it yet (`load` gives its
/// PKCS#1 DER). `undefined` from `op` means "unknown key".
fn with_key(
    id: &str,
    der: impl FnOnce() -> Option<Zeroizing<Vec<u8>>>,
    load: fn(&str, &[u8]) -> Result<(), JsValue>,
    op: impl Fn(&str) -> Result<JsValue, JsValue>,
) -> Node<JsValue> {
    let mut v = match op(id) {
        Ok(v) => v,
        Err(_) => return Node::Refused,
    };
    if v.is_undefined() {
        let Some(der) = der() else {
            return Node::Unavailable;
        };
        if load(id, &der).is_err() {
            return Node::Unavailable;
        }
        v = match op(id) {
            Ok(v) => v,
            Err(_) => return Node::Refused,
        };
    }
    if v.is_undefined() {
        Node::Unavailable
    } else {
        Node::Done(v)
    }
}

fn with_private(
    key: &RsaPrivateKey,
    op: impl Fn(&str) -> Result<JsValue, JsValue>,
) -> Node<Vec<u8>> {
    let id = key_id("priv:", key.public_key_ref());
    match with_key(&id, || key.to_pkcs1_der().ok(), node_load_private, op) {
        Node::Done(v) => match v.dyn_ref::<js_sys::Uint8Array>() {
            Some(a) => Node::Done(a.to_vec()),
            None => Node::Unavailable,
        },
        Node::Refused => Node::Refused,
        Node::Unavailable => Node::Unavailable,
    }
}

fn with_public(key: &RsaPublicKey, op: impl Fn(&str) -> Result<JsValue, JsValue>) -> Node<JsValue> {
    let id = key_id("pub:", key);
    let der = || key.to_pkcs1_der().ok().map(Zeroizing::new);
    with_key(&id, der, node_load_public, op)
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

    /// Node signs with OpenSSL, which re-checks every private-key result
    /// (`rsa_ossl_mod_exp`); the fallback is RustCrypto, which does too.
    fn checks_private_results(&self) -> bool {
        true
    }

    fn sign(
        &self,
        key: &RsaPrivateKey,
        scheme: SignatureScheme,
        msg: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, selo::crypto::Error> {
        let pss = scheme == SignatureScheme::PssSha256;
        // Signing refuses no peer input: whatever Node could not do,
        // RustCrypto does (and re-checks its result too).
        if let Node::Done(sig) = with_private(key, |id| node_sign(pss, id, msg)) {
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
        let refused = || {
            Err(selo::crypto::Error::new(
                selo::crypto::Code::BadSignature,
                "signature does not verify",
            ))
        };
        match with_public(key, |id| node_verify(pss, id, msg, sig)) {
            Node::Done(v) => match v.as_bool() {
                Some(true) => return Ok(()),
                Some(false) => return refused(),
                None => {}
            },
            // Node's refusal is final: never handed on to be overturned.
            Node::Refused => return refused(),
            Node::Unavailable => {}
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
            && let Node::Done(v) = with_public(key, |id| node_encrypt(p, id, msg))
            && let Some(ct) = v.dyn_ref::<js_sys::Uint8Array>()
        {
            return Ok(ct.to_vec());
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
        // An OAEP ciphertext Node (OpenSSL) refuses stays refused: handed
        // on, RustCrypto would accept one whose first octet is not zero
        // (its `rsa` ignores that octet on purpose; RFC 8017 refuses it).
        if padding != Padding::Pkcs1v15
            && ciphertext.len() == key.size()
            && let Some(p) = node_padding(padding)
        {
            match with_private(key, |id| node_decrypt(p, id, ciphertext)) {
                Node::Done(pt) => return Ok(Zeroizing::new(pt)),
                Node::Refused => {
                    return Err(selo::crypto::Error::new(
                        selo::crypto::Code::DecryptFailed,
                        "decrypt: decryption failed",
                    ));
                }
                Node::Unavailable => {}
            }
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

/// AES-256-CTR through Node's `crypto` (OpenSSL, AES-NI): WebAssembly has
/// no AES instructions, so RustCrypto's portable AES is several times
/// slower there. Falls back to RustCrypto if Node throws.
#[derive(Clone, Copy, Debug, Default)]
pub struct NodeAesCtr;

impl AesCtrProvider for NodeAesCtr {
    fn name(&self) -> &'static str {
        "node"
    }

    fn apply(&self, key: &[u8; 32], initial_counter: &[u8; 16], data: &mut [u8]) {
        if let Ok(out) = node_aes256_ctr(key, initial_counter, data)
            && let Some(out) = out.dyn_ref::<js_sys::Uint8Array>()
            && usize::try_from(out.length()).ok() == Some(data.len())
        {
            out.copy_to(data);
            return;
        }
        node_fallback("aes-256-ctr");
        RustCryptoAesCtr.apply(key, initial_counter, data);
    }
}

static NODE_AES: NodeAesCtr = NodeAesCtr;

/// The AES-256-CTR implementation that goes with an RSA provider choice:
/// Node's for `"node"`, RustCrypto's for `"rustcrypto"`.
pub fn aes_for(rsa: &dyn RsaProvider) -> &'static dyn AesCtrProvider {
    if rsa.name() == NODE.name() {
        &NODE_AES
    } else {
        &RustCryptoAesCtr
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
