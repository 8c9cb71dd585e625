//! # selo-uniffi
//!
//! The uniffi binding of [`selo`]: it converts types and errors and decides
//! nothing about any protocol. maturin builds the Python wheel `selo` from
//! it (`python/`); the Pythonic layer lives there.
//!
//! Conventions at this boundary:
//! - times are `i64` Unix seconds (a negative time is an argument error);
//! - bytes are `Vec<u8>` (Python `bytes`);
//! - JSON documents (profiles, business messages, JWK Sets) cross as text
//!   and are parsed by the core, so its validation and error codes apply;
//! - every error is a [`SeloError`] carrying the core's stable code.

uniffi::setup_scaffolding!();

// Links the C ABI (`selo_*` symbols) into this library. The Python layer
// calls `selo_ofb_verify` through ctypes for `ofb.Verifier.verify`, where
// uniffi's per-call marshalling cost more than the verification itself.
use selo_c_abi as _;

mod bmp;
mod br;
mod common;
mod error;
mod keys;
mod ofb;
mod safra;
mod safra_share;

pub use error::SeloError;

/// The one table of stable error codes (`selo::all_codes()`), verbatim.
#[uniffi::export]
pub fn all_codes() -> Vec<String> {
    selo::all_codes().into_iter().map(str::to_string).collect()
}

/// The version of the core crate this binding was built with.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The codes only the host-language layers of the selo packages raise (this
/// package's HTTP helpers and JWKS fetcher among them), never the core:
/// `selo::HOST_CODES`, in its order.
#[uniffi::export]
pub fn host_codes() -> Vec<String> {
    selo::host_codes().into_iter().map(str::to_string).collect()
}

/// The HTTP status a server role answers for `code`, where the core (or, for
/// a host-layer code, `selo::HOST_CODES`) defines one.
#[uniffi::export]
pub fn http_status(code: String) -> Option<u16> {
    if let Some(h) = selo::HOST_CODES.iter().find(|h| h.code == code) {
        return h.http_status;
    }
    macro_rules! find {
        ($($area:path),*) => {{
            $(
                if let Some(c) = <$area>::ALL.iter().find(|c| c.as_str() == code) {
                    return c.http_status();
                }
            )*
            None
        }};
    }
    find!(
        selo::keys::Code,
        selo::crypto::Code,
        selo::safra::Code,
        selo::ofb::Code,
        selo::bmp::Code,
        selo::br::Code
    )
}
