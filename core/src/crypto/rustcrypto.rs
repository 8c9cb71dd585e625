//! The RustCrypto `rsa` backend: always available, the only one in wasm.

use super::{Code, Error, Padding, RsaProvider, SignatureScheme};
use crate::keys::{RsaPrivateKey, RsaPublicKey};
use crate::rng::CryptoRng;
use rsa::{Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, pss::Pss};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// RSA with the pure-Rust `rsa` crate (constant-time bigint arithmetic,
/// blinding, implicit rejection for PKCS#1 v1.5 decryption).
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCryptoProvider;

fn backend(op: &str, e: rsa::Error) -> Error {
    match e {
        rsa::Error::MessageTooLong => Error::new(
            Code::MessageTooLong,
            format!("{op}: message too long for one RSA block"),
        ),
        rsa::Error::Decryption => {
            Error::new(Code::DecryptFailed, format!("{op}: decryption failed"))
        }
        rsa::Error::Verification => Error::new(
            Code::BadSignature,
            format!("{op}: signature does not verify"),
        ),
        other => Error::new(Code::Backend, format!("{op}: {other}")),
    }
}

impl RsaProvider for RustCryptoProvider {
    fn name(&self) -> &'static str {
        "rustcrypto"
    }

    /// `rsa` signs through `rsa_decrypt_and_check`, which re-encrypts the
    /// result and compares it with the input before returning it.
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
        let digest = Sha256::digest(msg);
        let k = key.inner();
        match scheme {
            SignatureScheme::Pkcs1v15Sha256 => {
                k.sign_with_rng(rng, Pkcs1v15Sign::new::<Sha256>(), &digest)
            }
            SignatureScheme::PssSha256 => {
                k.sign_with_rng(rng, Pss::<Sha256>::new_with_salt(32), &digest)
            }
        }
        .map_err(|e| backend("sign", e))
    }

    fn verify(
        &self,
        key: &RsaPublicKey,
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), Error> {
        let digest = Sha256::digest(msg);
        let k = key.inner();
        let r = match scheme {
            SignatureScheme::Pkcs1v15Sha256 => {
                k.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, sig)
            }
            // Salt length 32 is what PS256 mandates; the verifier checks it.
            SignatureScheme::PssSha256 => k.verify(Pss::<Sha256>::new_with_salt(32), &digest, sig),
        };
        r.map_err(|_| Error::new(Code::BadSignature, "signature does not verify"))
    }

    fn encrypt(
        &self,
        key: &RsaPublicKey,
        padding: Padding,
        msg: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Vec<u8>, Error> {
        let k = key.inner();
        match padding {
            Padding::Pkcs1v15 => k.encrypt(rng, Pkcs1v15Encrypt, msg),
            Padding::OaepSha1 => k.encrypt(rng, Oaep::<sha1::Sha1>::new(), msg),
            Padding::OaepSha256 => k.encrypt(rng, Oaep::<Sha256>::new(), msg),
            Padding::OaepSha256Mgf1Sha1 => {
                k.encrypt(rng, Oaep::<Sha256, sha1::Sha1>::new_with_mgf_hash(), msg)
            }
        }
        .map_err(|e| backend("encrypt", e))
    }

    fn decrypt(
        &self,
        key: &RsaPrivateKey,
        padding: Padding,
        ciphertext: &[u8],
        rng: &mut dyn CryptoRng,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
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
        let k = key.inner();
        match padding {
            Padding::Pkcs1v15 => k.decrypt_blinded(rng, Pkcs1v15Encrypt, ciphertext),
            Padding::OaepSha1 => k.decrypt_blinded(rng, Oaep::<sha1::Sha1>::new(), ciphertext),
            Padding::OaepSha256 => k.decrypt_blinded(rng, Oaep::<Sha256>::new(), ciphertext),
            Padding::OaepSha256Mgf1Sha1 => k.decrypt_blinded(
                rng,
                Oaep::<Sha256, sha1::Sha1>::new_with_mgf_hash(),
                ciphertext,
            ),
        }
        .map(Zeroizing::new)
        .map_err(|e| backend("decrypt", e))
    }
}
