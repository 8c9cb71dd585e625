//! The aws-lc-rs backend (native targets, feature `aws-lc`).
//!
//! Used for RSA keys of 2048–8192 bits; everything else falls back to
//! [`RustCryptoProvider`]:
//! - keys below 2048 bits (aws-lc-rs refuses them; Safra uses 1024);
//! - PKCS#1 v1.5 **decryption**, which must use implicit rejection
//!   (RustCrypto's `rsa` 0.10 does; aws-lc-rs exposes no such mode);
//! - OAEP with SHA-256 and MGF1-SHA1 (no aws-lc-rs constant for it);
//! - a key aws-lc-rs refuses to load.
//!
//! aws-lc-rs draws its own randomness (PSS salts, encryption padding) from
//! the operating system and ignores the `rng` argument: signatures made
//! through this provider are not reproducible with a seeded RNG. Use
//! [`RustCryptoProvider`] for deterministic vectors.
//!
//! Converting a key to aws-lc-rs form costs more than a signature, so each
//! [`RsaPrivateKey`] / [`RsaPublicKey`] keeps its converted form in a
//! lazily-initialised cache ([`PrivateCache`], [`PublicCache`]).

use super::{Code, Error, Padding, RsaProvider, RustCryptoProvider, SignatureScheme};
use crate::keys::{RsaPrivateKey, RsaPublicKey};
use crate::rng::CryptoRng;
use aws_lc_rs::rsa::{
    KeyPair, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RSA_PSS_2048_8192_SHA256,
    RSA_PSS_SHA256,
};
use std::sync::OnceLock;
use zeroize::Zeroizing;

const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 8192;

fn native_size(bits: usize) -> bool {
    (MIN_BITS..=MAX_BITS).contains(&bits)
}

/// Lazily converted aws-lc-rs signing key. `None` inside means aws-lc-rs
/// refused the key (the provider then falls back to RustCrypto).
#[derive(Clone, Default)]
pub(crate) struct PrivateCache(OnceLock<Option<KeyPair>>);

/// Lazily parsed aws-lc-rs verification keys (one per scheme). Compares
/// equal to every other cache so `RsaPublicKey`'s `PartialEq` is unchanged.
#[derive(Clone, Default)]
pub(crate) struct PublicCache {
    pss: OnceLock<Option<ParsedPublicKey>>,
    pkcs1: OnceLock<Option<ParsedPublicKey>>,
}

impl PartialEq for PublicCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for PublicCache {}

fn key_pair(key: &RsaPrivateKey) -> Option<&KeyPair> {
    key.native()
        .0
        .get_or_init(|| {
            let der = key.to_pkcs1_der().ok()?;
            KeyPair::from_der(&der).ok()
        })
        .as_ref()
}

fn parsed_public(key: &RsaPublicKey, scheme: SignatureScheme) -> Option<&ParsedPublicKey> {
    let cache = key.native();
    let (cell, alg) = match scheme {
        SignatureScheme::PssSha256 => (&cache.pss, &RSA_PSS_2048_8192_SHA256),
        SignatureScheme::Pkcs1v15Sha256 => (&cache.pkcs1, &RSA_PKCS1_2048_8192_SHA256),
    };
    cell.get_or_init(|| {
        let der = key.to_spki_der().ok()?;
        ParsedPublicKey::new(alg, der).ok()
    })
    .as_ref()
}

fn oaep_alg(padding: Padding) -> Option<&'static OaepAlgorithm> {
    match padding {
        Padding::OaepSha1 => Some(&OAEP_SHA1_MGF1SHA1),
        Padding::OaepSha256 => Some(&OAEP_SHA256_MGF1SHA256),
        Padding::Pkcs1v15 | Padding::OaepSha256Mgf1Sha1 => None,
    }
}

/// RSA with aws-lc-rs for keys of 2048–8192 bits, RustCrypto otherwise
/// (see the module documentation for every fallback).
#[derive(Clone, Copy, Debug, Default)]
pub struct AwsLcProvider;

impl RsaProvider for AwsLcProvider {
    fn name(&self) -> &'static str {
        "aws-lc"
    }

    /// aws-lc re-checks every private-key operation (`mod_exp` in
    /// `rsa_impl.c`: "Verify the result to protect against fault attacks").
    fn checks_private_results(&self) -> bool {
        true
    }

    fn sign(
        &self,
        key: &RsaPrivateKey,
        scheme: SignatureScheme,
        msg: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, Error> {
        let pair = if native_size(key.bits()) {
            key_pair(key)
        } else {
            None
        };
        let Some(pair) = pair else {
            return RustCryptoProvider.sign(key, scheme, msg, rng);
        };
        let encoding = match scheme {
            SignatureScheme::PssSha256 => &RSA_PSS_SHA256,
            SignatureScheme::Pkcs1v15Sha256 => &RSA_PKCS1_SHA256,
        };
        let mut sig = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            encoding,
            &aws_lc_rs::rand::SystemRandom::new(),
            msg,
            &mut sig,
        )
        .map_err(|_| Error::new(Code::Backend, "sign: aws-lc-rs refused to sign"))?;
        Ok(sig)
    }

    fn verify(
        &self,
        key: &RsaPublicKey,
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), Error> {
        let parsed = if native_size(key.bits()) {
            parsed_public(key, scheme)
        } else {
            None
        };
        let Some(parsed) = parsed else {
            return RustCryptoProvider.verify(key, scheme, msg, sig);
        };
        parsed
            .verify_sig(msg, sig)
            .map_err(|_| Error::new(Code::BadSignature, "signature does not verify"))
    }

    fn encrypt(
        &self,
        key: &RsaPublicKey,
        padding: Padding,
        msg: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, Error> {
        if !native_size(key.bits()) || padding == Padding::OaepSha256Mgf1Sha1 {
            return RustCryptoProvider.encrypt(key, padding, msg, rng);
        }
        let max = padding.max_plaintext(key.size());
        if msg.len() > max {
            return Err(Error::new(
                Code::MessageTooLong,
                format!(
                    "encrypt: {} bytes do not fit one RSA block ({max} bytes at most with {})",
                    msg.len(),
                    padding.as_str()
                ),
            ));
        }
        let Some(public) = key
            .to_spki_der()
            .ok()
            .and_then(|der| PublicEncryptingKey::from_der(&der).ok())
        else {
            return RustCryptoProvider.encrypt(key, padding, msg, rng);
        };
        let refused = |_| Error::new(Code::Backend, "encrypt: aws-lc-rs refused to encrypt");
        let mut out = vec![0u8; key.size()];
        let n = match oaep_alg(padding) {
            Some(alg) => OaepPublicEncryptingKey::new(public)
                .map_err(refused)?
                .encrypt(alg, msg, &mut out, None)
                .map_err(refused)?
                .len(),
            None => Pkcs1PublicEncryptingKey::new(public)
                .map_err(refused)?
                .encrypt(msg, &mut out)
                .map_err(refused)?
                .len(),
        };
        out.truncate(n);
        Ok(out)
    }

    fn decrypt(
        &self,
        key: &RsaPrivateKey,
        padding: Padding,
        ciphertext: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        // PKCS#1 v1.5 stays on RustCrypto: implicit rejection.
        let Some(alg) = oaep_alg(padding).filter(|_| native_size(key.bits())) else {
            return RustCryptoProvider.decrypt(key, padding, ciphertext, rng);
        };
        if ciphertext.len() != key.size() {
            return Err(Error::new(
                Code::BadCiphertextLength,
                format!(
                    "expected one {}-byte block, found {} bytes",
                    key.size(),
                    ciphertext.len()
                ),
            ));
        }
        let Some(private) = key
            .to_pkcs8_der()
            .ok()
            .and_then(|der| PrivateDecryptingKey::from_pkcs8(&der).ok())
            .and_then(|k| OaepPrivateDecryptingKey::new(k).ok())
        else {
            return RustCryptoProvider.decrypt(key, padding, ciphertext, rng);
        };
        let mut out = Zeroizing::new(vec![0u8; key.size()]);
        let n = private
            .decrypt(alg, ciphertext, &mut out, None)
            .map_err(|_| Error::new(Code::DecryptFailed, "decrypt: decryption failed"))?
            .len();
        out.truncate(n);
        Ok(out)
    }
}
