use aes::cipher::{KeyIvInit, StreamCipher};

/// AES-256-CTR with a full 128-bit big-endian counter (wrapping), in place.
/// Encryption and decryption are the same operation.
pub fn aes256_ctr_apply(key: &[u8; 32], initial_counter: &[u8; 16], data: &mut [u8]) {
    let mut cipher = ctr::Ctr128BE::<aes::Aes256>::new(key.into(), initial_counter.into());
    cipher.apply_keystream(data);
}
