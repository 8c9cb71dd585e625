//! One error type crosses the boundary: the core's area, stable code and
//! message. `Argument` is a binding-level misuse (bad seed length, negative
//! time, unknown enum name); the Python layer raises it as `ValueError`.

/// A selo error as the host sees it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SeloError {
    /// Key import, export and generation (`key.*`).
    #[error("{code}: {message}")]
    Key { code: String, message: String },
    /// Cryptographic operations (`crypto.*`).
    #[error("{code}: {message}")]
    Crypto { code: String, message: String },
    /// Banco Safra PSD (`safra.*`).
    #[error("{code}: {message}")]
    Safra { code: String, message: String },
    /// Open Finance Brasil JWS (`ofb.*`).
    #[error("{code}: {message}")]
    Ofb { code: String, message: String },
    /// BMP HMAC (`bmp.*`).
    #[error("{code}: {message}")]
    Bmp { code: String, message: String },
    /// Brazilian identifiers (`br.*`).
    #[error("{code}: {message}")]
    Br { code: String, message: String },
    /// The host passed an argument the binding cannot convert.
    #[error("argument: {message}")]
    Argument { message: String },
}

fn parts(code: &str, message: &str) -> (String, String) {
    (code.to_string(), message.to_string())
}

impl From<selo::Error> for SeloError {
    fn from(e: selo::Error) -> Self {
        let (code, message) = parts(e.code(), e.message());
        match e {
            selo::Error::Key(_) => SeloError::Key { code, message },
            selo::Error::Crypto(_) => SeloError::Crypto { code, message },
            selo::Error::Safra(_) => SeloError::Safra { code, message },
            selo::Error::Ofb(_) => SeloError::Ofb { code, message },
            selo::Error::Bmp(_) => SeloError::Bmp { code, message },
            selo::Error::Br(_) => SeloError::Br { code, message },
            _ => SeloError::Argument { message },
        }
    }
}

macro_rules! from_area {
    ($($ty:ty),*) => {$(
        impl From<$ty> for SeloError {
            fn from(e: $ty) -> Self {
                SeloError::from(selo::Error::from(e))
            }
        }
    )*};
}
from_area!(
    selo::keys::Error,
    selo::crypto::Error,
    selo::safra::Error,
    selo::ofb::Error,
    selo::bmp::Error,
    selo::br::Error
);

/// A Python exception escaping a callback (a store, a lookup) that is not a
/// `SeloError`: reported as an argument error naming the callback.
impl From<uniffi::UnexpectedUniFFICallbackError> for SeloError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        SeloError::Argument {
            message: format!("a host callback raised: {}", e.reason),
        }
    }
}

/// An argument error.
pub(crate) fn arg(message: impl Into<String>) -> SeloError {
    SeloError::Argument {
        message: message.into(),
    }
}
