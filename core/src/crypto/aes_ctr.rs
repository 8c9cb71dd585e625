use aes::cipher::{KeyIvInit, StreamCipher};

/// AES-256-CTR with a full 128-bit big-endian counter (wrapping), in place.
/// Encryption and decryption are the same operation.
pub fn aes256_ctr_apply(key: &[u8; 32], initial_counter: &[u8; 16], data: &mut [u8]) {
    let mut cipher = ctr::Ctr128BE::<aes::Aes256>::new(key.into(), initial_counter.into());
    cipher.apply_keystream(data);
}

/// Where AES-256-CTR runs. RustCrypto ([`RustCryptoAesCtr`]) is right
/// natively (it uses AES-NI/ARMv8 AES when the CPU has them); a host whose
/// own AES is faster than software AES — Node's OpenSSL seen from
/// WebAssembly, which has no AES instructions — supplies its own.
///
/// Implementations must compute exactly [`aes256_ctr_apply`]: the full
/// 16-byte `initial_counter` is a 128-bit big-endian counter that wraps.
pub trait AesCtrProvider: Send + Sync {
    /// A short name for logs and benchmarks.
    fn name(&self) -> &'static str;
    /// XORs `data` in place with the keystream.
    fn apply(&self, key: &[u8; 32], initial_counter: &[u8; 16], data: &mut [u8]);
}

/// RustCrypto's `aes` + `ctr`: [`aes256_ctr_apply`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCryptoAesCtr;

impl AesCtrProvider for RustCryptoAesCtr {
    fn name(&self) -> &'static str {
        "rustcrypto"
    }

    fn apply(&self, key: &[u8; 32], initial_counter: &[u8; 16], data: &mut [u8]) {
        aes256_ctr_apply(key, initial_counter, data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `zeroize` features of `aes` and `ctr` are on: the expanded round
    /// keys and the counter state are wiped when the cipher is dropped
    /// (this does not compile without them).
    #[test]
    fn cipher_state_is_wiped_on_drop() {
        fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        wiped_on_drop::<aes::Aes256>();
        wiped_on_drop::<ctr::Ctr128BE<aes::Aes256>>();
    }

    /// NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt), first two blocks, then
    /// the counter carry across all 128 bits.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn nist_vector_and_full_width_counter() {
        let h = |s: &str| base16ct::mixed::decode_vec(s).unwrap();
        let key: [u8; 32] = h("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .try_into()
            .unwrap();
        let ctr: [u8; 16] = h("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").try_into().unwrap();
        let mut data = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        RustCryptoAesCtr.apply(&key, &ctr, &mut data);
        assert_eq!(
            data,
            h("601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5")
        );
        // All-ones counter: block 2 uses counter 0 (wraps across 128 bits).
        let mut two = [0u8; 32];
        RustCryptoAesCtr.apply(&key, &[0xff; 16], &mut two);
        let mut zero = [0u8; 16];
        RustCryptoAesCtr.apply(&key, &[0; 16], &mut zero);
        assert_eq!(two.get(16..), Some(&zero[..]));
    }
}
