//! RSA keys, JWK and JWK Sets.

use crate::common::{make_rng, provider};
use crate::error::{SeloError, arg};
use selo::crypto::{Padding, SignatureScheme};
use selo::keys::jwk::{Jwk as CoreJwk, JwkSet as CoreJwkSet};
use selo::keys::{KeyFormat, RsaPrivateKey as CorePriv, RsaPublicKey as CorePub};
use std::sync::Arc;

pub(crate) fn key_format(name: &str) -> Result<KeyFormat, SeloError> {
    KeyFormat::parse(name).ok_or_else(|| {
        arg(format!(
            "key format: expected \"der-spki\", \"pem-spki\" or \"der-pkcs1\", found {name:?}"
        ))
    })
}

pub(crate) fn padding(name: &str) -> Result<Padding, SeloError> {
    Padding::parse(name).ok_or_else(|| {
        arg(format!(
            "padding: expected \"pkcs1v15\", \"oaep-sha1\", \"oaep-sha256\" or \"oaep-sha256-mgf1sha1\", found {name:?}"
        ))
    })
}

fn scheme(name: &str) -> Result<SignatureScheme, SeloError> {
    match name {
        "pkcs1v15-sha256" | "RS256" => Ok(SignatureScheme::Pkcs1v15Sha256),
        "pss-sha256" | "PS256" => Ok(SignatureScheme::PssSha256),
        other => Err(arg(format!(
            "signature scheme: expected \"pkcs1v15-sha256\" or \"pss-sha256\", found {other:?}"
        ))),
    }
}

/// An RSA private key (zeroized on drop; never printed).
#[derive(uniffi::Object)]
pub struct RsaPrivateKey {
    pub(crate) inner: CorePriv,
}

/// An RSA public key.
#[derive(uniffi::Object)]
pub struct RsaPublicKey {
    pub(crate) inner: CorePub,
}

impl RsaPrivateKey {
    pub(crate) fn wrap(inner: CorePriv) -> Arc<Self> {
        Arc::new(Self { inner })
    }
}

impl RsaPublicKey {
    pub(crate) fn wrap(inner: CorePub) -> Arc<Self> {
        Arc::new(Self { inner })
    }
}

#[uniffi::export]
impl RsaPrivateKey {
    /// Generates a key of 1024 (Safra only; weak), 2048, 3072 or 4096 bits.
    #[uniffi::constructor]
    pub fn generate(bits: u32, rng_seed: Option<Vec<u8>>) -> Result<Arc<Self>, SeloError> {
        let mut rng = make_rng(rng_seed)?;
        Ok(Self::wrap(CorePriv::generate(bits as usize, &mut *rng)?))
    }

    /// Imports PEM (PKCS#8, PKCS#1) or DER.
    #[uniffi::constructor]
    pub fn import(data: Vec<u8>) -> Result<Arc<Self>, SeloError> {
        Ok(Self::wrap(CorePriv::import(&data)?))
    }

    pub fn bits(&self) -> u32 {
        u32::try_from(self.inner.bits()).unwrap_or(u32::MAX)
    }

    pub fn public_key(&self) -> Arc<RsaPublicKey> {
        RsaPublicKey::wrap(self.inner.public_key())
    }

    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, SeloError> {
        Ok(self.inner.to_pkcs8_der()?.to_vec())
    }

    pub fn to_pkcs8_pem(&self) -> Result<String, SeloError> {
        Ok(self.inner.to_pkcs8_pem()?.to_string())
    }

    pub fn to_pkcs1_der(&self) -> Result<Vec<u8>, SeloError> {
        Ok(self.inner.to_pkcs1_der()?.to_vec())
    }

    /// Signs `message` with `"pkcs1v15-sha256"` or `"pss-sha256"`.
    pub fn sign(
        &self,
        scheme_name: String,
        message: Vec<u8>,
        provider_name: Option<String>,
        rng_seed: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, SeloError> {
        let mut rng = make_rng(rng_seed)?;
        Ok(provider(provider_name)?.sign(
            &self.inner,
            scheme(&scheme_name)?,
            &message,
            &mut *rng,
        )?)
    }

    /// Decrypts RSA blocks (one or several of modulus size) with `padding_name`.
    pub fn decrypt(
        &self,
        padding_name: String,
        ciphertext: Vec<u8>,
        provider_name: Option<String>,
    ) -> Result<Vec<u8>, SeloError> {
        let mut rng = make_rng(None)?;
        Ok(selo::crypto::decrypt_chunked(
            provider(provider_name)?,
            &self.inner,
            padding(&padding_name)?,
            &ciphertext,
            &mut *rng,
        )?
        .to_vec())
    }
}

#[uniffi::export]
impl RsaPublicKey {
    /// Imports PEM or DER: SPKI, PKCS#1, or an X.509 certificate's key.
    #[uniffi::constructor]
    pub fn import(data: Vec<u8>) -> Result<Arc<Self>, SeloError> {
        Ok(Self::wrap(CorePub::import(&data)?))
    }

    pub fn bits(&self) -> u32 {
        u32::try_from(self.inner.bits()).unwrap_or(u32::MAX)
    }

    pub fn to_spki_der(&self) -> Result<Vec<u8>, SeloError> {
        Ok(self.inner.to_spki_der()?)
    }

    pub fn to_spki_pem(&self) -> Result<String, SeloError> {
        Ok(self.inner.to_spki_pem()?)
    }

    pub fn to_pkcs1_der(&self) -> Result<Vec<u8>, SeloError> {
        Ok(self.inner.to_pkcs1_der()?)
    }

    /// The key written as `"der-spki"`, `"pem-spki"` or `"der-pkcs1"`.
    pub fn encode(&self, format: String) -> Result<Vec<u8>, SeloError> {
        Ok(self.inner.encode(key_format(&format)?)?)
    }

    /// RFC 7638 thumbprint (base64url).
    pub fn thumbprint(&self) -> String {
        selo::keys::jwk::rsa_thumbprint(&self.inner)
    }

    pub fn equals(&self, other: Arc<RsaPublicKey>) -> bool {
        self.inner == other.inner
    }

    /// Verifies `signature` over `message`; `crypto.rsa.bad_signature` when it does not.
    pub fn verify(
        &self,
        scheme_name: String,
        message: Vec<u8>,
        signature: Vec<u8>,
        provider_name: Option<String>,
    ) -> Result<(), SeloError> {
        Ok(provider(provider_name)?.verify(
            &self.inner,
            scheme(&scheme_name)?,
            &message,
            &signature,
        )?)
    }

    /// Encrypts, chunking the plaintext when it exceeds one block.
    pub fn encrypt(
        &self,
        padding_name: String,
        plaintext: Vec<u8>,
        provider_name: Option<String>,
        rng_seed: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, SeloError> {
        let mut rng = make_rng(rng_seed)?;
        Ok(selo::crypto::encrypt_chunked(
            provider(provider_name)?,
            &self.inner,
            padding(&padding_name)?,
            &plaintext,
            &mut *rng,
        )?)
    }
}

/// One JSON Web Key.
#[derive(uniffi::Object)]
pub struct Jwk {
    pub(crate) inner: CoreJwk,
}

#[uniffi::export]
impl Jwk {
    /// Parses one JWK from JSON text.
    #[uniffi::constructor]
    pub fn parse(json: String) -> Result<Arc<Self>, SeloError> {
        Ok(Arc::new(Self {
            inner: CoreJwk::parse(&json)?,
        }))
    }

    /// A JWK from PEM/DER key bytes (private forms give a private JWK).
    #[uniffi::constructor]
    pub fn import(data: Vec<u8>) -> Result<Arc<Self>, SeloError> {
        Ok(Arc::new(Self {
            inner: CoreJwk::import(&data)?,
        }))
    }

    #[uniffi::constructor]
    pub fn from_public_key(key: Arc<RsaPublicKey>) -> Arc<Self> {
        Arc::new(Self {
            inner: CoreJwk::from_public(&key.inner),
        })
    }

    #[uniffi::constructor]
    pub fn from_private_key(key: Arc<RsaPrivateKey>) -> Arc<Self> {
        Arc::new(Self {
            inner: CoreJwk::from_private(&key.inner),
        })
    }

    /// A copy with `kid`, `alg`, `use` set where given; `thumbprint_kid`
    /// sets `kid` to the RFC 7638 thumbprint.
    pub fn with_members(
        &self,
        kid: Option<String>,
        alg: Option<String>,
        key_use: Option<String>,
        thumbprint_kid: bool,
    ) -> Result<Arc<Jwk>, SeloError> {
        let mut j = self.inner.clone();
        if thumbprint_kid {
            j = j.with_thumbprint_kid()?;
        }
        if let Some(k) = kid {
            j = j.with_kid(k);
        }
        if let Some(a) = alg {
            j = j.with_alg(a);
        }
        if let Some(u) = key_use {
            j = j.with_use(u);
        }
        Ok(Arc::new(Jwk { inner: j }))
    }

    pub fn kid(&self) -> Option<String> {
        self.inner.kid.clone()
    }

    pub fn alg(&self) -> Option<String> {
        self.inner.alg.clone()
    }

    pub fn key_use(&self) -> Option<String> {
        self.inner.key_use.clone()
    }

    pub fn kty(&self) -> String {
        self.inner.kty().to_string()
    }

    pub fn is_private(&self) -> bool {
        self.inner.is_private()
    }

    pub fn thumbprint(&self) -> Result<String, SeloError> {
        Ok(self.inner.thumbprint()?)
    }

    pub fn to_public(&self) -> Arc<Jwk> {
        Arc::new(Jwk {
            inner: self.inner.to_public(),
        })
    }

    pub fn to_json(&self) -> Result<String, SeloError> {
        Ok(self.inner.to_json()?.to_string())
    }

    pub fn rsa_public_key(&self) -> Option<Arc<RsaPublicKey>> {
        self.inner.rsa_public_key().map(RsaPublicKey::wrap)
    }

    pub fn rsa_private_key(&self) -> Option<Arc<RsaPrivateKey>> {
        self.inner
            .rsa_private_key()
            .cloned()
            .map(RsaPrivateKey::wrap)
    }
}

/// A JWK Set.
#[derive(uniffi::Object)]
pub struct JwkSet {
    pub(crate) inner: Arc<CoreJwkSet>,
}

#[uniffi::export]
impl JwkSet {
    /// Parses `{"keys": [...]}`.
    #[uniffi::constructor]
    pub fn parse(json: String) -> Result<Arc<Self>, SeloError> {
        Ok(Arc::new(Self {
            inner: Arc::new(CoreJwkSet::parse(&json)?),
        }))
    }

    #[uniffi::constructor]
    pub fn from_keys(keys: Vec<Arc<Jwk>>) -> Arc<Self> {
        Arc::new(Self {
            inner: Arc::new(CoreJwkSet::new(
                keys.iter().map(|k| k.inner.clone()).collect(),
            )),
        })
    }

    pub fn len(&self) -> u32 {
        u32::try_from(self.inner.keys.len()).unwrap_or(u32::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.inner.keys.is_empty()
    }

    pub fn keys(&self) -> Vec<Arc<Jwk>> {
        self.inner
            .keys
            .iter()
            .map(|k| Arc::new(Jwk { inner: k.clone() }))
            .collect()
    }

    pub fn to_public(&self) -> Arc<JwkSet> {
        Arc::new(JwkSet {
            inner: Arc::new(self.inner.to_public()),
        })
    }

    pub fn to_json(&self) -> Result<String, SeloError> {
        Ok(self.inner.to_json()?.to_string())
    }

    /// The one RSA key the OFB rules select for `kid` (stage 4).
    pub fn select(&self, kid: String) -> Result<Arc<RsaPublicKey>, SeloError> {
        Ok(RsaPublicKey::wrap(selo::ofb::select_key(
            &self.inner,
            &kid,
        )?))
    }
}
