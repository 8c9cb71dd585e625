//! RSA keys, JWKs and the low-level RSA, AES-CTR and HMAC operations.

use crate::conv::{bytes_in, bytes_out, get_opt, rng_in, selo_err, text_in, to_js, type_err};
use crate::provider::provider_opt;
use js_sys::Reflect;
use selo::crypto::{Padding, SignatureScheme};
use selo::keys::jwk::{Jwk, JwkSet};
use selo::keys::{KeyFormat, RsaPrivateKey, RsaPublicKey};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// An RSA private key (zeroized when freed; never printed).
#[wasm_bindgen(js_name = RsaPrivateKey)]
pub struct PrivateKey {
    pub(crate) inner: RsaPrivateKey,
}

/// An RSA public key.
#[wasm_bindgen(js_name = RsaPublicKey)]
pub struct PublicKey {
    pub(crate) inner: RsaPublicKey,
}

fn scheme_in(s: &str) -> Result<SignatureScheme, JsValue> {
    match s {
        "pkcs1v15-sha256" | "RS256" => Ok(SignatureScheme::Pkcs1v15Sha256),
        "pss-sha256" | "PS256" => Ok(SignatureScheme::PssSha256),
        other => Err(type_err(format!(
            "scheme: expected \"pkcs1v15-sha256\" or \"pss-sha256\", found \"{other}\""
        ))),
    }
}

fn padding_in(s: &str) -> Result<Padding, JsValue> {
    Padding::parse(s).ok_or_else(|| {
        type_err(format!(
            "padding: expected \"pkcs1v15\", \"oaep-sha1\", \"oaep-sha256\" or \"oaep-sha256-mgf1sha1\", found \"{s}\""
        ))
    })
}

fn seed_of(opts: &JsValue) -> Option<JsValue> {
    get_opt(opts, "seed")
}

/// A private key from a `RsaPrivateKey` instance, PEM text or DER bytes.
pub fn private_key_in(v: &JsValue, what: &str) -> Result<RsaPrivateKey, JsValue> {
    if v.is_object()
        && !v.is_instance_of::<js_sys::Uint8Array>()
        && !v.is_instance_of::<js_sys::ArrayBuffer>()
    {
        let f = Reflect::get(v, &JsValue::from_str("toPkcs8Der")).unwrap_or(JsValue::UNDEFINED);
        if let Some(f) = f.dyn_ref::<js_sys::Function>() {
            let der = f.call0(v)?;
            return RsaPrivateKey::import(&bytes_in(&der, what)?).map_err(selo_err);
        }
        return Err(type_err(format!(
            "{what}: expected an RsaPrivateKey, PEM text or DER bytes"
        )));
    }
    RsaPrivateKey::import(&bytes_in(v, what)?).map_err(selo_err)
}

/// A public key from a `RsaPublicKey`/`RsaPrivateKey` instance, PEM or DER.
pub fn public_key_in(v: &JsValue, what: &str) -> Result<RsaPublicKey, JsValue> {
    if v.is_object()
        && !v.is_instance_of::<js_sys::Uint8Array>()
        && !v.is_instance_of::<js_sys::ArrayBuffer>()
    {
        let f = Reflect::get(v, &JsValue::from_str("toSpkiDer")).unwrap_or(JsValue::UNDEFINED);
        if let Some(f) = f.dyn_ref::<js_sys::Function>() {
            let der = f.call0(v)?;
            return RsaPublicKey::import(&bytes_in(&der, what)?).map_err(selo_err);
        }
        let f = Reflect::get(v, &JsValue::from_str("toPkcs8Der")).unwrap_or(JsValue::UNDEFINED);
        if f.is_function() {
            return private_key_in(v, what).map(|k| k.public_key());
        }
        return Err(type_err(format!(
            "{what}: expected an RsaPublicKey, PEM text or DER bytes"
        )));
    }
    RsaPublicKey::import(&bytes_in(v, what)?).map_err(selo_err)
}

#[wasm_bindgen(js_class = RsaPrivateKey)]
impl PrivateKey {
    /// Generates a key of 1024, 2048, 3072 or 4096 bits (`{ seed }` for tests).
    pub fn generate(bits: u32, opts: JsValue) -> Result<PrivateKey, JsValue> {
        let mut rng = rng_in(seed_of(&opts))?;
        RsaPrivateKey::generate(bits as usize, &mut *rng)
            .map(|inner| PrivateKey { inner })
            .map_err(selo_err)
    }

    /// Imports PEM (PKCS#8, PKCS#1) or DER, detected from the bytes.
    pub fn import(data: JsValue) -> Result<PrivateKey, JsValue> {
        Ok(PrivateKey {
            inner: RsaPrivateKey::import(&bytes_in(&data, "data")?).map_err(selo_err)?,
        })
    }

    /// Imports a private RSA JWK (object or JSON text).
    #[wasm_bindgen(js_name = fromJwk)]
    pub fn from_jwk(jwk: JsValue) -> Result<PrivateKey, JsValue> {
        let j = jwk_in(&jwk)?;
        j.rsa_private_key()
            .cloned()
            .map(|inner| PrivateKey { inner })
            .ok_or_else(|| {
                selo_err(selo::keys::Error::new(
                    selo::keys::Code::NotRsa,
                    format!("expected a private RSA JWK, found kty {}", j.kty()),
                ))
            })
    }

    /// The public half.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            inner: self.inner.public_key(),
        }
    }

    /// Modulus size in bits.
    #[wasm_bindgen(getter)]
    pub fn bits(&self) -> u32 {
        u32::try_from(self.inner.bits()).unwrap_or(u32::MAX)
    }

    /// DER PKCS#8.
    #[wasm_bindgen(js_name = toPkcs8Der)]
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, JsValue> {
        self.inner
            .to_pkcs8_der()
            .map(|d| d.to_vec())
            .map_err(selo_err)
    }

    /// PEM PKCS#8.
    #[wasm_bindgen(js_name = toPkcs8Pem)]
    pub fn to_pkcs8_pem(&self) -> Result<String, JsValue> {
        self.inner
            .to_pkcs8_pem()
            .map(|d| d.to_string())
            .map_err(selo_err)
    }

    /// DER PKCS#1 `RSAPrivateKey`.
    #[wasm_bindgen(js_name = toPkcs1Der)]
    pub fn to_pkcs1_der(&self) -> Result<Vec<u8>, JsValue> {
        self.inner
            .to_pkcs1_der()
            .map(|d| d.to_vec())
            .map_err(selo_err)
    }

    /// The private JWK (`{ kty, n, e, d, p, q, dp, dq, qi }`), optional `kid`.
    #[wasm_bindgen(js_name = toJwk)]
    pub fn to_jwk(&self, kid: Option<String>) -> Result<JsValue, JsValue> {
        let mut j = Jwk::from_private(&self.inner);
        if let Some(k) = kid {
            j = j.with_kid(k);
        }
        to_js(&j.to_value().map_err(selo_err)?)
    }

    /// Signs `msg` (`"pkcs1v15-sha256"` or `"pss-sha256"`; options `{ provider, seed }`).
    pub fn sign(&self, scheme: &str, msg: JsValue, opts: JsValue) -> Result<Vec<u8>, JsValue> {
        let p = provider_opt(&opts)?;
        let mut rng = rng_in(seed_of(&opts))?;
        p.sign(
            &self.inner,
            scheme_in(scheme)?,
            &bytes_in(&msg, "msg")?,
            &mut *rng,
        )
        .map_err(selo_err)
    }

    /// Decrypts one or more `k`-byte blocks (SPEC §2.3 block chaining).
    pub fn decrypt(
        &self,
        padding: &str,
        ciphertext: JsValue,
        opts: JsValue,
    ) -> Result<Vec<u8>, JsValue> {
        let p = provider_opt(&opts)?;
        let mut rng = rng_in(seed_of(&opts))?;
        selo::crypto::decrypt_chunked(
            p,
            &self.inner,
            padding_in(padding)?,
            &bytes_in(&ciphertext, "ciphertext")?,
            &mut *rng,
        )
        .map(|z| z.to_vec())
        .map_err(selo_err)
    }
}

#[wasm_bindgen(js_class = RsaPublicKey)]
impl PublicKey {
    /// Imports PEM (SPKI, PKCS#1, certificate, or a private key) or DER.
    pub fn import(data: JsValue) -> Result<PublicKey, JsValue> {
        Ok(PublicKey {
            inner: RsaPublicKey::import(&bytes_in(&data, "data")?).map_err(selo_err)?,
        })
    }

    /// Imports an RSA JWK (object or JSON text).
    #[wasm_bindgen(js_name = fromJwk)]
    pub fn from_jwk(jwk: JsValue) -> Result<PublicKey, JsValue> {
        let j = jwk_in(&jwk)?;
        j.rsa_public_key()
            .map(|inner| PublicKey { inner })
            .ok_or_else(|| {
                selo_err(selo::keys::Error::new(
                    selo::keys::Code::NotRsa,
                    format!("expected an RSA JWK, found kty {}", j.kty()),
                ))
            })
    }

    /// Modulus size in bits.
    #[wasm_bindgen(getter)]
    pub fn bits(&self) -> u32 {
        u32::try_from(self.inner.bits()).unwrap_or(u32::MAX)
    }

    /// DER SubjectPublicKeyInfo.
    #[wasm_bindgen(js_name = toSpkiDer)]
    pub fn to_spki_der(&self) -> Result<Vec<u8>, JsValue> {
        self.inner.to_spki_der().map_err(selo_err)
    }

    /// PEM SubjectPublicKeyInfo.
    #[wasm_bindgen(js_name = toSpkiPem)]
    pub fn to_spki_pem(&self) -> Result<String, JsValue> {
        self.inner.to_spki_pem().map_err(selo_err)
    }

    /// DER PKCS#1 `RSAPublicKey`.
    #[wasm_bindgen(js_name = toPkcs1Der)]
    pub fn to_pkcs1_der(&self) -> Result<Vec<u8>, JsValue> {
        self.inner.to_pkcs1_der().map_err(selo_err)
    }

    /// The key in a Safra wire format (`"der-spki"`, `"pem-spki"`, `"der-pkcs1"`).
    pub fn encode(&self, format: &str) -> Result<Vec<u8>, JsValue> {
        let f = KeyFormat::parse(format).ok_or_else(|| {
            type_err(format!(
                "format: expected \"der-spki\", \"pem-spki\" or \"der-pkcs1\", found \"{format}\""
            ))
        })?;
        self.inner.encode(f).map_err(selo_err)
    }

    /// The public JWK, optional `kid`.
    #[wasm_bindgen(js_name = toJwk)]
    pub fn to_jwk(&self, kid: Option<String>) -> Result<JsValue, JsValue> {
        let mut j = Jwk::from_public(&self.inner);
        if let Some(k) = kid {
            j = j.with_kid(k);
        }
        to_js(&j.to_value().map_err(selo_err)?)
    }

    /// RFC 7638 thumbprint (base64url SHA-256), a good `kid`.
    pub fn thumbprint(&self) -> String {
        selo::keys::jwk::rsa_thumbprint(&self.inner)
    }

    /// Verifies `sig` over `msg`; throws `SeloError` `crypto.rsa.bad_signature`.
    pub fn verify(
        &self,
        scheme: &str,
        msg: JsValue,
        sig: JsValue,
        opts: JsValue,
    ) -> Result<(), JsValue> {
        let p = provider_opt(&opts)?;
        p.verify(
            &self.inner,
            scheme_in(scheme)?,
            &bytes_in(&msg, "msg")?,
            &bytes_in(&sig, "sig")?,
        )
        .map_err(selo_err)
    }

    /// Encrypts, chunking a message longer than one block.
    pub fn encrypt(&self, padding: &str, msg: JsValue, opts: JsValue) -> Result<Vec<u8>, JsValue> {
        let p = provider_opt(&opts)?;
        let mut rng = rng_in(seed_of(&opts))?;
        selo::crypto::encrypt_chunked(
            p,
            &self.inner,
            padding_in(padding)?,
            &bytes_in(&msg, "msg")?,
            &mut *rng,
        )
        .map_err(selo_err)
    }
}

/// A JWK from a JS object or JSON text.
pub fn jwk_in(v: &JsValue) -> Result<Jwk, JsValue> {
    if let Some(s) = v.as_string() {
        return Jwk::parse(&s).map_err(selo_err);
    }
    let j = crate::conv::json_in(v, "jwk")?;
    Jwk::from_value(&j).map_err(selo_err)
}

/// A JWK Set from a JS object (`{ keys: [...] }`) or JSON text.
pub fn jwks_in(v: &JsValue) -> Result<JwkSet, JsValue> {
    if let Some(s) = v.as_string() {
        return JwkSet::parse(&s).map_err(selo_err);
    }
    let j = crate::conv::json_in(v, "jwks")?;
    JwkSet::from_value(&j).map_err(selo_err)
}

/// Parses and re-emits a JWK (validating it), as a plain object.
#[wasm_bindgen(js_name = parseJwk)]
pub fn parse_jwk(jwk: JsValue) -> Result<JsValue, JsValue> {
    to_js(&jwk_in(&jwk)?.to_value().map_err(selo_err)?)
}

/// Parses and re-emits a JWK Set (validating it), as a plain object.
#[wasm_bindgen(js_name = parseJwks)]
pub fn parse_jwks(jwks: JsValue) -> Result<JsValue, JsValue> {
    to_js(&jwks_in(&jwks)?.to_value().map_err(selo_err)?)
}

/// The public JWK Set (private members dropped).
#[wasm_bindgen(js_name = publicJwks)]
pub fn public_jwks(jwks: JsValue) -> Result<JsValue, JsValue> {
    to_js(&jwks_in(&jwks)?.to_public().to_value().map_err(selo_err)?)
}

/// RFC 7638 thumbprint of a JWK.
#[wasm_bindgen(js_name = jwkThumbprint)]
pub fn jwk_thumbprint(jwk: JsValue) -> Result<String, JsValue> {
    jwk_in(&jwk)?.thumbprint().map_err(selo_err)
}

/// A JWK from PEM or DER key bytes (public or private).
#[wasm_bindgen(js_name = importJwk)]
pub fn import_jwk(data: JsValue) -> Result<JsValue, JsValue> {
    to_js(
        &Jwk::import(&bytes_in(&data, "data")?)
            .map_err(selo_err)?
            .to_value()
            .map_err(selo_err)?,
    )
}

/// HMAC-SHA512 of `msg` under `key` (raw bytes out).
#[wasm_bindgen(js_name = hmacSha512)]
pub fn hmac_sha512(key: JsValue, msg: JsValue) -> Result<Vec<u8>, JsValue> {
    Ok(selo::crypto::hmac_sha512(&bytes_in(&key, "key")?, &bytes_in(&msg, "msg")?).to_vec())
}

/// AES-256-CTR with a 128-bit big-endian counter (encrypt = decrypt).
#[wasm_bindgen(js_name = aes256Ctr)]
pub fn aes256_ctr(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, JsValue> {
    let key: &[u8; 32] = key.try_into().map_err(|_| {
        selo_err(selo::crypto::Error::new(
            selo::crypto::Code::BadKeyLength,
            format!("expected a 32-byte AES-256 key, found {} bytes", key.len()),
        ))
    })?;
    let iv: &[u8; 16] = iv
        .try_into()
        .map_err(|_| type_err(format!("iv: expected 16 bytes, found {}", iv.len())))?;
    let mut out = data.to_vec();
    selo::crypto::aes256_ctr_apply(key, iv, &mut out);
    Ok(out)
}

/// Standard base64 with padding (SPEC `B64`).
#[wasm_bindgen(js_name = b64)]
pub fn b64(data: JsValue) -> Result<String, JsValue> {
    Ok(selo::encoding::b64(&bytes_in(&data, "data")?))
}

/// Decodes standard or URL-safe base64, padded or not.
#[wasm_bindgen(js_name = b64Decode)]
pub fn b64_decode(text: JsValue) -> Result<JsValue, JsValue> {
    let t = text_in(&text, "text")?;
    selo::encoding::b64_decode(&t)
        .map(|b| bytes_out(&b))
        .map_err(|e| type_err(e.0))
}
