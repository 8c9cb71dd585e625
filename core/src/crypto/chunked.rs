//! RSA "block chaining" (SPEC §2.3 step 5): payloads longer than one block
//! are split into chunks of the padding's maximum size, each encrypted on its
//! own, and the ciphertexts concatenated.

use super::{Code, Error, Padding, RsaProvider};
use crate::keys::{RsaPrivateKey, RsaPublicKey};
use crate::rng::CryptoRng;
use zeroize::Zeroizing;

/// Encrypts `msg`, chunking when it exceeds one block. An empty message is
/// one (empty) block.
pub fn encrypt_chunked(
    provider: &dyn RsaProvider,
    key: &RsaPublicKey,
    padding: Padding,
    msg: &[u8],
    rng: &mut dyn CryptoRng,
) -> Result<Vec<u8>, Error> {
    let max = padding.max_plaintext(key.size());
    if max == 0 {
        return Err(Error::new(
            Code::MessageTooLong,
            format!(
                "a {}-bit key is too small for {}",
                key.bits(),
                padding.as_str()
            ),
        ));
    }
    if msg.is_empty() {
        return provider.encrypt(key, padding, msg, rng);
    }
    let mut out = Vec::with_capacity(msg.len().div_ceil(max).saturating_mul(key.size()));
    for chunk in msg.chunks(max) {
        out.extend_from_slice(&provider.encrypt(key, padding, chunk, rng)?);
    }
    Ok(out)
}

/// Decrypts a ciphertext of one or more `k`-byte blocks and concatenates
/// the plaintexts.
pub fn decrypt_chunked(
    provider: &dyn RsaProvider,
    key: &RsaPrivateKey,
    padding: Padding,
    ciphertext: &[u8],
    rng: &mut dyn CryptoRng,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let k = key.size();
    if ciphertext.is_empty() || k == 0 || !ciphertext.len().is_multiple_of(k) {
        return Err(Error::new(
            Code::BadCiphertextLength,
            format!(
                "expected a multiple of the {k}-byte modulus, found {} bytes",
                ciphertext.len()
            ),
        ));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    for block in ciphertext.chunks(k) {
        out.extend_from_slice(&provider.decrypt(key, padding, block, rng)?);
    }
    Ok(out)
}
