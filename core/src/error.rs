//! Errors: one type per protocol area, one table of stable codes.
//!
//! Every area error (`keys::Error`, `crypto::Error`, `safra::Error`,
//! `ofb::Error`, `bmp::Error`, `br::Error`) is a code plus a human message.
//! The code is a dotted, stable string (`"safra.envelope.reused_iv"`) that
//! reaches every binding verbatim; the message says what was expected and
//! what was found and never contains key material. [`Error`] wraps them all.
//!
//! The areas declare their codes with [`define_error!`]; [`all_codes`] is the
//! single table the bindings expose and test against.

use std::fmt;

/// Declares an area's code enum and error struct.
///
/// ```text
/// define_error! {
///     /// Docs for the error type.
///     Error, Code, "safra" {
///         /// A variant.
///         BadSignature => ("safra.handshake.bad_signature", Some(400)),
///     }
/// }
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! define_error {
    (
        $(#[$emeta:meta])*
        $err:ident, $code:ident {
            $( $(#[$vmeta:meta])* $var:ident => ($s:literal, $status:expr) ),* $(,)?
        }
    ) => {
        /// Stable machine codes of this area. `as_str()` is the string every
        /// binding sees; it never changes once released.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $code {
            $( $(#[$vmeta])* $var, )*
        }

        impl $code {
            /// Every code of this area, in declaration order.
            pub const ALL: &'static [$code] = &[ $( $code::$var, )* ];

            /// The stable dotted code string.
            pub const fn as_str(self) -> &'static str {
                match self { $( $code::$var => $s, )* }
            }

            /// The HTTP status a server role answers with, where the seed defines one.
            pub const fn http_status(self) -> Option<u16> {
                match self { $( $code::$var => $status, )* }
            }
        }

        impl ::std::fmt::Display for $code {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $(#[$emeta])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $err {
            code: $code,
            message: ::std::string::String,
        }

        impl $err {
            /// Builds an error; `message` must never contain key material.
            pub fn new(code: $code, message: impl ::std::convert::Into<::std::string::String>) -> Self {
                Self { code, message: message.into() }
            }
            /// The typed code.
            pub fn kind(&self) -> $code { self.code }
            /// The stable dotted code string.
            pub fn code(&self) -> &'static str { self.code.as_str() }
            /// The human-readable message (no key material).
            pub fn message(&self) -> &str { &self.message }
            /// The HTTP status a server role answers with, where defined.
            pub fn http_status(&self) -> Option<u16> { self.code.http_status() }
        }

        impl ::std::fmt::Debug for $err {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($err))
                    .field("code", &self.code.as_str())
                    .field("message", &self.message)
                    .finish()
            }
        }

        impl ::std::fmt::Display for $err {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}: {}", self.code.as_str(), self.message)
            }
        }

        impl ::std::error::Error for $err {}
    };
}

/// Any selo error. Bindings only ever need [`Error::code`] and
/// [`Error::message`] (and [`Error::http_status`] for server roles).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Key import, export and generation.
    Key(crate::keys::Error),
    /// Cryptographic operations.
    Crypto(crate::crypto::Error),
    /// Banco Safra PSD.
    Safra(crate::safra::Error),
    /// Open Finance Brasil JWS.
    Ofb(crate::ofb::Error),
    /// BMP HMAC handshake.
    Bmp(crate::bmp::Error),
    /// Brazilian identifiers (CPF, CNPJ, boletos, ISPB, Pix keys).
    Br(crate::br::Error),
}

impl Error {
    /// The stable dotted code string.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Key(e) => e.code(),
            Error::Crypto(e) => e.code(),
            Error::Safra(e) => e.code(),
            Error::Ofb(e) => e.code(),
            Error::Bmp(e) => e.code(),
            Error::Br(e) => e.code(),
        }
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        match self {
            Error::Key(e) => e.message(),
            Error::Crypto(e) => e.message(),
            Error::Safra(e) => e.message(),
            Error::Ofb(e) => e.message(),
            Error::Bmp(e) => e.message(),
            Error::Br(e) => e.message(),
        }
    }

    /// The HTTP status a server role answers with, where the seed defines one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Key(e) => e.http_status(),
            Error::Crypto(e) => e.http_status(),
            Error::Safra(e) => e.http_status(),
            Error::Ofb(e) => e.http_status(),
            Error::Bmp(e) => e.http_status(),
            Error::Br(e) => e.http_status(),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Key(e) => e.fmt(f),
            Error::Crypto(e) => e.fmt(f),
            Error::Safra(e) => e.fmt(f),
            Error::Ofb(e) => e.fmt(f),
            Error::Bmp(e) => e.fmt(f),
            Error::Br(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for Error {}

macro_rules! wrap {
    ($($var:ident => $ty:ty),*) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self { Error::$var(e) }
        }
    )*};
}
wrap!(Key => crate::keys::Error, Crypto => crate::crypto::Error, Safra => crate::safra::Error,
      Ofb => crate::ofb::Error, Bmp => crate::bmp::Error, Br => crate::br::Error);

/// The one table of stable error codes, every area, in a fixed order.
/// Bindings expose this list verbatim and test that theirs equals it.
pub fn all_codes() -> Vec<&'static str> {
    let mut v = Vec::new();
    v.extend(crate::keys::Code::ALL.iter().map(|c| c.as_str()));
    v.extend(crate::crypto::Code::ALL.iter().map(|c| c.as_str()));
    v.extend(crate::safra::Code::ALL.iter().map(|c| c.as_str()));
    v.extend(crate::ofb::Code::ALL.iter().map(|c| c.as_str()));
    v.extend(crate::bmp::Code::ALL.iter().map(|c| c.as_str()));
    v.extend(crate::br::Code::ALL.iter().map(|c| c.as_str()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_dotted_and_prefixed_by_area() {
        let codes = all_codes();
        let mut seen = HashSet::new();
        for c in &codes {
            assert!(seen.insert(*c), "duplicate code {c}");
            assert!(c.split('.').count() >= 2, "code {c} is not dotted");
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase()
                    || ch.is_ascii_digit()
                    || ch == '.'
                    || ch == '_'),
                "code {c} has characters outside [a-z0-9._]"
            );
            let area = c.split('.').next().unwrap_or_default();
            assert!(
                ["key", "crypto", "safra", "ofb", "bmp", "br"].contains(&area),
                "code {c} has unknown area {area}"
            );
        }
    }
}
