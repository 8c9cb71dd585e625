//! maturin runs `cargo run --bin uniffi-bindgen` to generate the Python
//! module of `selo-uniffi`; this binary is that generator, pinned to the
//! same uniffi version as the library (PyPI's `uniffi-bindgen` is not).

fn main() {
    uniffi::uniffi_bindgen_main()
}
