//! RSA keys: generation, import from every PEM/DER form integrators meet,
//! export. Private keys zeroize on drop (the `rsa` crate's key does) and
//! print as `RsaPrivateKey { bits: N, .. }` under `Debug`.

use crate::rng::CryptoRng;
use der::{Decode, Encode};
use pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use spki::{DecodePublicKey, EncodePublicKey};
use std::fmt;
use zeroize::Zeroizing;

/// A test fixture under `tests/vectors/`, embedded at compile time (the
/// core does no I/O, not even in its unit tests).
#[cfg(test)]
macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/",
            $path
        ))
        .as_slice()
    };
}

pub mod jwk;

crate::define_error! {
    /// A key could not be imported, exported or generated.
    Error, Code {
        /// PEM armour is malformed (bad label line, bad base64 inside).
        BadPem => ("key.import.bad_pem", None),
        /// The PEM label names a format selo does not read.
        UnsupportedPemLabel => ("key.import.unsupported_pem_label", None),
        /// DER bytes match none of the formats tried.
        BadDer => ("key.import.bad_der", None),
        /// The key is not an RSA key (EC, Ed25519, …).
        NotRsa => ("key.import.not_rsa", None),
        /// An encrypted PKCS#8 key: decrypt it first.
        Encrypted => ("key.import.encrypted", None),
        /// Modulus size outside what this use allows.
        BadSize => ("key.size", None),
        /// Key generation failed.
        Generate => ("key.generate", None),
        /// Export failed.
        Export => ("key.export", None),
        /// A JWK is not a JSON object, or a member has the wrong JSON type.
        JwkMalformed => ("key.jwk.malformed", None),
        /// A JWK lacks a member its key type requires (`n`, `e`, …).
        JwkMissingMember => ("key.jwk.missing_member", None),
        /// A JWK member is not valid base64url.
        JwkBadBase64 => ("key.jwk.bad_base64", None),
        /// The JWK's `kty` is not one selo can use here (only `RSA`).
        JwkUnsupportedKty => ("key.jwk.unsupported_kty", None),
        /// A private JWK's components are not a valid, consistent RSA key.
        JwkInconsistent => ("key.jwk.inconsistent", None),
        /// A JWK Set is not `{"keys": [...]}` or one of its keys is malformed.
        JwksMalformed => ("key.jwks.malformed", None),
    }
}

/// How a public key is written as bytes (SPEC §2.2 step 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyFormat {
    /// DER SubjectPublicKeyInfo (Java's `getEncoded()`), the default.
    #[serde(rename = "der-spki")]
    DerSpki,
    /// PEM text of the SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`).
    #[serde(rename = "pem-spki")]
    PemSpki,
    /// DER PKCS#1 `RSAPublicKey`.
    #[serde(rename = "der-pkcs1")]
    DerPkcs1,
}

impl KeyFormat {
    /// All formats.
    pub const ALL: [KeyFormat; 3] = [KeyFormat::DerSpki, KeyFormat::PemSpki, KeyFormat::DerPkcs1];

    /// The profile name (`"der-spki"`, `"pem-spki"`, `"der-pkcs1"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyFormat::DerSpki => "der-spki",
            KeyFormat::PemSpki => "pem-spki",
            KeyFormat::DerPkcs1 => "der-pkcs1",
        }
    }

    /// Parses a profile name.
    pub fn parse(s: &str) -> Option<KeyFormat> {
        KeyFormat::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// Key sizes selo generates.
pub const ALLOWED_BITS: [usize; 4] = [1024, 2048, 3072, 4096];

/// An RSA private key.
#[derive(Clone)]
pub struct RsaPrivateKey {
    inner: rsa::PrivateKey,
    /// The aws-lc-rs form, built on first use (never compared or printed).
    #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
    native: crate::crypto::aws_lc::PrivateCache,
    /// The public half, built on first use, so that it keeps its own
    /// provider cache across calls (signing self-verifies with it).
    public: std::sync::OnceLock<RsaPublicKey>,
}

/// An RSA public key.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    inner: rsa::PublicKey,
    /// The aws-lc-rs form, built on first use (always compares equal).
    #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
    native: crate::crypto::aws_lc::PublicCache,
    /// Values derived from the key on first use (always compares equal).
    derived: Derived,
}

/// Lazily computed facts about a public key; a cache, so it never affects
/// equality. (In wasm, `bit_width` over the modulus' limbs is constant-time
/// and costs microseconds; it is asked on every verification.)
#[derive(Clone, Default)]
struct Derived {
    thumbprint: std::sync::OnceLock<String>,
    bits: std::sync::OnceLock<usize>,
}

impl PartialEq for Derived {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Derived {}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPrivateKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPublicKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

fn is_pem(data: &[u8]) -> bool {
    let trimmed = data.iter().skip_while(|b| b.is_ascii_whitespace());
    let mut head: Vec<u8> = Vec::with_capacity(10);
    head.extend(trimmed.take(10));
    head == b"-----BEGIN"
}

/// Splits PEM into (label, DER bytes).
fn pem_decode(data: &[u8]) -> Result<(String, Zeroizing<Vec<u8>>), Error> {
    let text =
        std::str::from_utf8(data).map_err(|_| Error::new(Code::BadPem, "PEM text is not UTF-8"))?;
    let text = text.trim();
    let (label, der) = der::pem::decode_vec(text.as_bytes())
        .map_err(|e| Error::new(Code::BadPem, format!("PEM armour is malformed ({e})")))?;
    Ok((label.to_string(), Zeroizing::new(der)))
}

const RSA_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Names the algorithm of a non-RSA SPKI or PKCS#8 key, if the bytes are one.
fn non_rsa_algorithm(der: &[u8]) -> Option<String> {
    if let Ok(spki) = spki::SubjectPublicKeyInfoRef::from_der(der)
        && spki.algorithm.oid != RSA_OID
    {
        return Some(spki.algorithm.oid.to_string());
    }
    if let Ok(pk) = pkcs8::PrivateKeyInfoRef::from_der(der)
        && pk.algorithm.oid != RSA_OID
    {
        return Some(pk.algorithm.oid.to_string());
    }
    None
}

impl RsaPrivateKey {
    /// Generates a key of `bits` (one of [`ALLOWED_BITS`]) with e = 65537.
    pub fn generate(bits: usize, rng: &mut dyn CryptoRng) -> Result<Self, Error> {
        if !ALLOWED_BITS.contains(&bits) {
            return Err(Error::new(
                Code::BadSize,
                format!("expected a key size of 1024, 2048, 3072 or 4096 bits, found {bits}"),
            ));
        }
        rsa::PrivateKey::new(rng, bits)
            .map(Self::wrap)
            .map_err(|e| Error::new(Code::Generate, format!("RSA key generation failed ({e})")))
    }

    /// Imports PEM (`PRIVATE KEY` = PKCS#8, `RSA PRIVATE KEY` = PKCS#1) or
    /// DER (PKCS#8 tried first, then PKCS#1), detected from the bytes.
    pub fn import(data: &[u8]) -> Result<Self, Error> {
        if is_pem(data) {
            let (label, der) = pem_decode(data)?;
            match label.as_str() {
                "PRIVATE KEY" => Self::from_pkcs8_der(&der),
                "RSA PRIVATE KEY" => Self::from_pkcs1_der(&der),
                "ENCRYPTED PRIVATE KEY" => Err(Error::new(
                    Code::Encrypted,
                    "detected PEM 'ENCRYPTED PRIVATE KEY': encrypted keys are not read; decrypt it first (openssl pkcs8)",
                )),
                other => Err(Error::new(
                    Code::UnsupportedPemLabel,
                    format!("expected PEM 'PRIVATE KEY' or 'RSA PRIVATE KEY', found '{other}'"),
                )),
            }
        } else {
            Self::from_pkcs8_der(data).or_else(|e8| {
                Self::from_pkcs1_der(data).map_err(|e1| {
                    if e8.kind() == Code::NotRsa {
                        return e8;
                    }
                    Error::new(
                        Code::BadDer,
                        format!(
                            "DER is neither a PKCS#8 RSA key ({}) nor a PKCS#1 RSA key ({})",
                            e8.message(),
                            e1.message()
                        ),
                    )
                })
            })
        }
    }

    /// Imports DER PKCS#8 `PrivateKeyInfo`.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        if let Some(oid) = non_rsa_algorithm(der) {
            return Err(Error::new(
                Code::NotRsa,
                format!(
                    "detected PKCS#8 with algorithm {oid}, expected RSA (1.2.840.113549.1.1.1)"
                ),
            ));
        }
        rsa::PrivateKey::from_pkcs8_der(der)
            .map(Self::wrap)
            .map_err(|e| {
                Error::new(
                    Code::BadDer,
                    format!("PKCS#8 private key did not parse ({e})"),
                )
            })
    }

    /// Imports DER PKCS#1 `RSAPrivateKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, Error> {
        rsa::PrivateKey::from_pkcs1_der(der)
            .map(Self::wrap)
            .map_err(|e| {
                Error::new(
                    Code::BadDer,
                    format!("PKCS#1 private key did not parse ({e})"),
                )
            })
    }

    /// The public half.
    pub fn public_key(&self) -> RsaPublicKey {
        self.public_key_ref().clone()
    }

    /// The public half, borrowed: built once per key, so its provider
    /// form (e.g. the parsed aws-lc-rs key) is reused by every call.
    pub fn public_key_ref(&self) -> &RsaPublicKey {
        self.public
            .get_or_init(|| RsaPublicKey::wrap(self.inner.to_public_key()))
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.public_key_ref().bits()
    }

    /// Modulus size in bytes (`k`).
    pub fn size(&self) -> usize {
        self.public_key_ref().size()
    }

    /// DER PKCS#8.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.inner
            .to_pkcs8_der()
            .map(|d| Zeroizing::new(d.as_bytes().to_vec()))
            .map_err(|e| Error::new(Code::Export, format!("PKCS#8 export failed ({e})")))
    }

    /// PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`), LF line endings.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, Error> {
        self.inner
            .to_pkcs8_pem(pkcs8::LineEnding::LF)
            .map(|s| Zeroizing::new(s.to_string()))
            .map_err(|e| Error::new(Code::Export, format!("PKCS#8 export failed ({e})")))
    }

    /// DER PKCS#1.
    pub fn to_pkcs1_der(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.inner
            .to_pkcs1_der()
            .map(|d| Zeroizing::new(d.as_bytes().to_vec()))
            .map_err(|e| Error::new(Code::Export, format!("PKCS#1 export failed ({e})")))
    }

    /// The underlying `rsa` key, for crypto providers.
    pub fn inner(&self) -> &rsa::PrivateKey {
        &self.inner
    }

    /// Wraps an `rsa` key.
    pub fn from_inner(inner: rsa::PrivateKey) -> Self {
        Self::wrap(inner)
    }

    fn wrap(inner: rsa::PrivateKey) -> Self {
        Self {
            inner,
            #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
            native: Default::default(),
            public: std::sync::OnceLock::new(),
        }
    }

    /// The cached aws-lc-rs key.
    #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
    pub(crate) fn native(&self) -> &crate::crypto::aws_lc::PrivateCache {
        &self.native
    }
}

impl RsaPublicKey {
    /// Imports PEM (`PUBLIC KEY` = SPKI, `RSA PUBLIC KEY` = PKCS#1,
    /// `CERTIFICATE` = X.509, whose public key is taken, or a private key
    /// whose public half is taken) or DER (SPKI, PKCS#1, X.509 certificate,
    /// tried in that order), detected from the bytes.
    pub fn import(data: &[u8]) -> Result<Self, Error> {
        if is_pem(data) {
            let (label, der) = pem_decode(data)?;
            match label.as_str() {
                "PUBLIC KEY" => Self::from_spki_der(&der),
                "RSA PUBLIC KEY" => Self::from_pkcs1_der(&der),
                "CERTIFICATE" => Self::from_certificate_der(&der),
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                    RsaPrivateKey::import(data).map(|k| k.public_key())
                }
                other => Err(Error::new(
                    Code::UnsupportedPemLabel,
                    format!(
                        "expected PEM 'PUBLIC KEY', 'RSA PUBLIC KEY' or 'CERTIFICATE', found '{other}'"
                    ),
                )),
            }
        } else {
            if let Ok(k) = Self::from_spki_der(data) {
                return Ok(k);
            }
            if let Ok(k) = Self::from_pkcs1_der(data) {
                return Ok(k);
            }
            if let Ok(k) = Self::from_certificate_der(data) {
                return Ok(k);
            }
            if let Some(oid) = non_rsa_algorithm(data) {
                return Err(Error::new(
                    Code::NotRsa,
                    format!("detected a key with algorithm {oid}, expected RSA"),
                ));
            }
            Err(Error::new(
                Code::BadDer,
                format!(
                    "{} bytes of DER match none of SPKI, PKCS#1 RSAPublicKey, X.509 certificate",
                    data.len()
                ),
            ))
        }
    }

    /// Imports DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        if let Some(oid) = non_rsa_algorithm(der) {
            return Err(Error::new(
                Code::NotRsa,
                format!("detected SPKI with algorithm {oid}, expected RSA (1.2.840.113549.1.1.1)"),
            ));
        }
        rsa::PublicKey::from_public_key_der(der)
            .map(Self::wrap)
            .map_err(|e| Error::new(Code::BadDer, format!("SPKI public key did not parse ({e})")))
    }

    /// Imports DER PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, Error> {
        rsa::PublicKey::from_pkcs1_der(der)
            .map(Self::wrap)
            .map_err(|e| {
                Error::new(
                    Code::BadDer,
                    format!("PKCS#1 public key did not parse ({e})"),
                )
            })
    }

    /// Takes the public key of a DER X.509 certificate (not validated).
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, Error> {
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| {
            Error::new(
                Code::BadDer,
                format!("X.509 certificate did not parse ({e})"),
            )
        })?;
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| {
                Error::new(
                    Code::BadDer,
                    format!("certificate public key did not encode ({e})"),
                )
            })?;
        Self::from_spki_der(&spki)
    }

    /// Builds a key from big-endian modulus and exponent bytes (JWK `n`, `e`).
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, Error> {
        let n = rsa::BoxedUint::from_be_slice_vartime(n);
        let e = rsa::BoxedUint::from_be_slice_vartime(e);
        rsa::PublicKey::new(n, e).map(Self::wrap).map_err(|err| {
            Error::new(
                Code::BadSize,
                format!("RSA public key components rejected ({err})"),
            )
        })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        *self
            .derived
            .bits
            .get_or_init(|| self.inner.n().bit_width() as usize)
    }

    /// Modulus size in bytes (`k`), as `rsa`'s `PublicKeyParts::size`.
    pub fn size(&self) -> usize {
        self.bits().div_ceil(8)
    }

    /// Big-endian modulus bytes, no leading zeros.
    pub fn modulus(&self) -> Vec<u8> {
        strip_leading_zeros(&self.inner.n_bytes())
    }

    /// Big-endian public exponent bytes, no leading zeros.
    pub fn exponent(&self) -> Vec<u8> {
        strip_leading_zeros(&self.inner.e_bytes())
    }

    /// DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, Error> {
        self.inner
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| Error::new(Code::Export, format!("SPKI export failed ({e})")))
    }

    /// The key's pin: base64url (no padding) of the SHA-256 of its DER
    /// SubjectPublicKeyInfo — RFC 7469's `pin-sha256` value in the URL-safe
    /// alphabet. What `bank_key_pins` lists (SPEC §2.8).
    pub fn spki_pin(&self) -> Result<String, Error> {
        use sha2::Digest as _;
        let der = self.to_spki_der()?;
        Ok(crate::encoding::b64url(&sha2::Sha256::digest(&der)))
    }

    /// PEM SubjectPublicKeyInfo, LF line endings.
    pub fn to_spki_pem(&self) -> Result<String, Error> {
        self.inner
            .to_public_key_pem(spki::der::pem::LineEnding::LF)
            .map_err(|e| Error::new(Code::Export, format!("SPKI export failed ({e})")))
    }

    /// DER PKCS#1 `RSAPublicKey`.
    pub fn to_pkcs1_der(&self) -> Result<Vec<u8>, Error> {
        self.inner
            .to_pkcs1_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| Error::new(Code::Export, format!("PKCS#1 export failed ({e})")))
    }

    /// The key in one of the Safra wire formats.
    pub fn encode(&self, format: KeyFormat) -> Result<Vec<u8>, Error> {
        match format {
            KeyFormat::DerSpki => self.to_spki_der(),
            KeyFormat::PemSpki => self.to_spki_pem().map(String::into_bytes),
            KeyFormat::DerPkcs1 => self.to_pkcs1_der(),
        }
    }

    /// The underlying `rsa` key, for crypto providers.
    pub fn inner(&self) -> &rsa::PublicKey {
        &self.inner
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url), computed once per key
    /// value and kept: a stable name for the key, e.g. for a host-side key
    /// cache. Equal to [`jwk::rsa_thumbprint`].
    pub fn thumbprint(&self) -> &str {
        self.derived
            .thumbprint
            .get_or_init(|| jwk::rsa_thumbprint(self))
    }

    fn wrap(inner: rsa::PublicKey) -> Self {
        Self {
            inner,
            #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
            native: Default::default(),
            derived: Derived::default(),
        }
    }

    /// The cached aws-lc-rs key.
    #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
    pub(crate) fn native(&self) -> &crate::crypto::aws_lc::PublicCache {
        &self.native
    }
}

fn strip_leading_zeros(b: &[u8]) -> Vec<u8> {
    let first = b
        .iter()
        .position(|&x| x != 0)
        .unwrap_or(b.len().saturating_sub(1));
    b.get(first..).unwrap_or_default().to_vec()
}

#[cfg(test)]
mod tests;
