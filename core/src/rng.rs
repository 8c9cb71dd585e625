//! Randomness is a parameter: every function that needs it takes
//! `&mut dyn CryptoRng`. [`system`] draws from the operating system
//! (`getrandom`; in wasm, `globalThis.crypto`); [`seeded`] is a deterministic
//! ChaCha20 stream for reproducible vectors, tests and simulators.

pub use rand_core::CryptoRng;

/// The operating system's RNG.
pub type SystemRng = rand_core::UnwrapErr<getrandom::SysRng>;

/// The operating system's RNG (the default everywhere).
pub fn system() -> SystemRng {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// A deterministic RNG for tests and vectors. Never use it for real keys.
pub fn seeded(seed: [u8; 32]) -> chacha20::ChaCha20Rng {
    use rand_core::SeedableRng;
    chacha20::ChaCha20Rng::from_seed(seed)
}
