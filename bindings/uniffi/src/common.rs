//! Shared conversions: time, RNG, headers, HTTP messages, locks.

use crate::error::{SeloError, arg};
use selo::http::{PreparedRequest, ReceivedResponse};
use selo::rng::CryptoRng;
use std::sync::{Mutex, MutexGuard};

/// Unix seconds from the host; negative times are refused.
pub(crate) fn secs(now: i64) -> Result<u64, SeloError> {
    u64::try_from(now).map_err(|_| arg(format!("time must be >= 0 Unix seconds, found {now}")))
}

/// Unix seconds to the host.
pub(crate) fn to_i64(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// The RNG an object draws from: the system's, or a seeded ChaCha20 stream
/// (tests and vectors only).
pub(crate) type HostRng = Box<dyn CryptoRng + Send>;

pub(crate) fn make_rng(seed: Option<Vec<u8>>) -> Result<HostRng, SeloError> {
    match seed {
        None => Ok(Box::new(selo::rng::system())),
        Some(s) => {
            let arr: [u8; 32] = s.as_slice().try_into().map_err(|_| {
                arg(format!(
                    "rng_seed must be exactly 32 bytes, found {}",
                    s.len()
                ))
            })?;
            Ok(Box::new(selo::rng::seeded(arr)))
        }
    }
}

/// Locks a mutex; a poisoned lock (a panic in another call) still yields
/// the data, since every mutation is completed before it can panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

static RUSTCRYPTO: selo::crypto::RustCryptoProvider = selo::crypto::RustCryptoProvider;

/// The RSA provider named by the host: `None`/`"default"` (aws-lc for keys
/// of 2048 bits and more, RustCrypto below), `"rustcrypto"`, `"aws-lc"`.
pub(crate) fn provider(
    name: Option<String>,
) -> Result<&'static dyn selo::crypto::RsaProvider, SeloError> {
    match name.as_deref() {
        None | Some("default") => Ok(selo::crypto::default_provider()),
        Some("rustcrypto") => Ok(&RUSTCRYPTO),
        Some("aws-lc") => Ok(&selo::crypto::AwsLcProvider),
        Some(other) => Err(arg(format!(
            "provider: expected \"default\", \"rustcrypto\" or \"aws-lc\", found {other:?}"
        ))),
    }
}

/// One HTTP header.
#[derive(Clone, Debug, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// A request for the host to send, byte for byte.
#[derive(Clone, Debug, uniffi::Record)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
    /// False: never send it again after an ambiguous outcome (Safra
    /// psd050); report the failure to the session instead.
    #[uniffi(default = true)]
    pub resendable: bool,
}

/// A response (received by the host, or produced by a server role).
#[derive(Clone, Debug, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

pub(crate) fn headers_in(h: Vec<HttpHeader>) -> Vec<(String, String)> {
    h.into_iter().map(|x| (x.name, x.value)).collect()
}

pub(crate) fn headers_out(h: Vec<(String, String)>) -> Vec<HttpHeader> {
    h.into_iter()
        .map(|(name, value)| HttpHeader { name, value })
        .collect()
}

impl From<PreparedRequest> for HttpRequest {
    fn from(r: PreparedRequest) -> Self {
        HttpRequest {
            method: r.method,
            url: r.url,
            headers: headers_out(r.headers),
            body: r.body,
            resendable: r.resendable,
        }
    }
}

impl From<HttpRequest> for PreparedRequest {
    fn from(r: HttpRequest) -> Self {
        PreparedRequest {
            method: r.method,
            url: r.url,
            headers: headers_in(r.headers),
            body: r.body,
            resendable: r.resendable,
        }
    }
}

impl From<ReceivedResponse> for HttpResponse {
    fn from(r: ReceivedResponse) -> Self {
        HttpResponse {
            status: r.status,
            headers: headers_out(r.headers),
            body: r.body,
        }
    }
}

impl From<HttpResponse> for ReceivedResponse {
    fn from(r: HttpResponse) -> Self {
        ReceivedResponse::new(r.status, headers_in(r.headers), r.body)
    }
}
