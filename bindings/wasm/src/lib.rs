//! # selo-wasm
//!
//! The wasm-bindgen binding of [`selo`] behind the npm package `selo`
//! (`js/`). It converts types and errors and never decides protocol:
//! bytes cross as `Uint8Array` (strings accepted as UTF-8), times as Unix
//! seconds in `f64`, structured data as plain objects with camelCase
//! member names, and every core error as a JS `SeloError` whose `code` is
//! the core's stable code.
//!
//! RSA goes through a provider: the core's RustCrypto, or
//! [`provider::NodeCryptoProvider`], which calls Node's `crypto`
//! synchronously where Node supports the operation.

mod bmp;
mod br;
mod conv;
mod keys;
mod ofb;
mod provider;
mod safra;
mod safra_share;

pub use provider::NodeCryptoProvider;

use wasm_bindgen::prelude::*;

/// Every stable error code, in the core's order (`selo::all_codes()`).
#[wasm_bindgen(js_name = allCodes)]
pub fn all_codes() -> Vec<String> {
    selo::all_codes().into_iter().map(str::to_string).collect()
}

/// The codes only the host-language layers of the selo packages raise (this
/// package's HTTP helpers, JWKS fetcher and OFB client among them), never the
/// core: `selo::HOST_CODES`, in its order.
#[wasm_bindgen(js_name = hostCodes)]
pub fn host_codes() -> Vec<String> {
    selo::host_codes().into_iter().map(str::to_string).collect()
}

/// The version of the core this module was built from.
#[wasm_bindgen(js_name = coreVersion)]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
