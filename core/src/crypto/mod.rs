//! Cryptographic operations behind a provider.
//!
//! RSA goes through the [`RsaProvider`] trait so a faster native backend can
//! replace RustCrypto where it exists; AES-256-CTR can go through
//! [`AesCtrProvider`] (natively RustCrypto matches OpenSSL's speed, in
//! WebAssembly the host's AES is many times faster); HMAC-SHA512 uses
//! RustCrypto everywhere.

mod aes_ctr;
#[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
pub(crate) mod aws_lc;
mod chunked;
mod mac;
mod rustcrypto;

pub use aes_ctr::{AesCtrProvider, RustCryptoAesCtr, aes256_ctr_apply};
#[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
pub use aws_lc::AwsLcProvider;
pub use chunked::{decrypt_chunked, encrypt_chunked};
pub use mac::{ct_eq, hmac_sha512};
pub use rustcrypto::RustCryptoProvider;

use crate::keys::{RsaPrivateKey, RsaPublicKey};
use crate::rng::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

crate::define_error! {
    /// A cryptographic operation failed.
    Error, Code {
        /// The plaintext does not fit one RSA block with this padding.
        MessageTooLong => ("crypto.rsa.message_too_long", None),
        /// RSA decryption failed (OAEP check, wrong length, wrong key).
        DecryptFailed => ("crypto.rsa.decrypt_failed", None),
        /// The ciphertext length is not a multiple of the modulus size.
        BadCiphertextLength => ("crypto.rsa.bad_ciphertext_length", None),
        /// A signature did not verify.
        BadSignature => ("crypto.rsa.bad_signature", None),
        /// The RSA backend refused the operation.
        Backend => ("crypto.rsa.backend", None),
        /// A symmetric key has the wrong length.
        BadKeyLength => ("crypto.aes.bad_key_length", None),
    }
}

/// RSA encryption padding (SPEC §2.3 step 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Padding {
    /// PKCS#1 v1.5 (Java's `"RSA"`); decryption uses implicit rejection.
    #[serde(rename = "pkcs1v15")]
    Pkcs1v15,
    /// OAEP with SHA-1 and MGF1-SHA1.
    #[serde(rename = "oaep-sha1")]
    OaepSha1,
    /// OAEP with SHA-256 and MGF1-SHA256.
    #[serde(rename = "oaep-sha256")]
    OaepSha256,
    /// OAEP with SHA-256 and MGF1-SHA1 (Java's `OAEPWithSHA-256AndMGF1Padding`).
    #[serde(rename = "oaep-sha256-mgf1sha1")]
    OaepSha256Mgf1Sha1,
}

impl Padding {
    /// Every padding, in the order `auto` tries them.
    pub const ALL: [Padding; 4] = [
        Padding::Pkcs1v15,
        Padding::OaepSha1,
        Padding::OaepSha256,
        Padding::OaepSha256Mgf1Sha1,
    ];

    /// The profile/wire name (`"pkcs1v15"`, `"oaep-sha1"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Padding::Pkcs1v15 => "pkcs1v15",
            Padding::OaepSha1 => "oaep-sha1",
            Padding::OaepSha256 => "oaep-sha256",
            Padding::OaepSha256Mgf1Sha1 => "oaep-sha256-mgf1sha1",
        }
    }

    /// Parses a profile/wire name.
    pub fn parse(s: &str) -> Option<Padding> {
        Padding::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Largest plaintext one block of a `k`-byte modulus carries.
    pub const fn max_plaintext(self, k: usize) -> usize {
        let overhead = match self {
            Padding::Pkcs1v15 => 11,
            Padding::OaepSha1 => 2 * 20 + 2,
            Padding::OaepSha256 | Padding::OaepSha256Mgf1Sha1 => 2 * 32 + 2,
        };
        k.saturating_sub(overhead)
    }
}

/// RSA signature scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Java's `SHA256withRSA`).
    Pkcs1v15Sha256,
    /// RSASSA-PSS, SHA-256, MGF1-SHA256, 32-byte salt (JOSE `PS256`).
    PssSha256,
}

/// The RSA operations selo needs. Implementations must be deterministic
/// where the scheme is (PKCS#1 v1.5 signatures) and must use implicit
/// rejection for PKCS#1 v1.5 decryption.
pub trait RsaProvider: Send + Sync {
    /// A short name for logs and benchmarks (`"rustcrypto"`, `"aws-lc"`).
    fn name(&self) -> &'static str;
    /// True when the provider checks every private-key result itself
    /// before returning it (recomputes `s^e mod n` and compares, the
    /// Boneh–DeMillo–Lipton fault countermeasure), so a signature it returns
    /// cannot be a faulty CRT result. aws-lc/BoringSSL (`rsa_impl.c`,
    /// `mod_exp`), OpenSSL (`rsa_ossl_mod_exp`) and RustCrypto's `rsa`
    /// (`rsa_decrypt_and_check`) all do. When true, one-call signing
    /// ([`crate::ofb::sign_with_provider`]) does not verify the signature a
    /// second time; when false (the default, for providers selo cannot
    /// vouch for) it does. Signatures that come from outside a provider
    /// ([`crate::ofb::finish`]) are always verified.
    fn checks_private_results(&self) -> bool {
        false
    }
    /// Signs `msg` (the provider hashes it).
    fn sign(
        &self,
        key: &RsaPrivateKey,
        scheme: SignatureScheme,
        msg: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, Error>;
    /// Verifies `sig` over `msg`; `Err(BadSignature)` when it does not verify.
    fn verify(
        &self,
        key: &RsaPublicKey,
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), Error>;
    /// Encrypts one block (`msg.len() <= padding.max_plaintext(k)`).
    fn encrypt(
        &self,
        key: &RsaPublicKey,
        padding: Padding,
        msg: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, Error>;
    /// Decrypts one block of exactly `k` bytes.
    fn decrypt(
        &self,
        key: &RsaPrivateKey,
        padding: Padding,
        ciphertext: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Zeroizing<Vec<u8>>, Error>;
}

/// The provider selo uses when the caller names none: [`AwsLcProvider`]
/// when the `aws-lc` feature is on (native targets), else
/// [`RustCryptoProvider`].
pub fn default_provider() -> &'static dyn RsaProvider {
    #[cfg(all(feature = "aws-lc", not(target_arch = "wasm32")))]
    {
        &AwsLcProvider
    }
    #[cfg(not(all(feature = "aws-lc", not(target_arch = "wasm32"))))]
    {
        &RustCryptoProvider
    }
}
