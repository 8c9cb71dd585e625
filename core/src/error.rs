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
//!
//! A few codes are raised only by the host-language layers (HTTP drivers,
//! JWKS fetchers, the Java/C# loaders and handle wrappers), never by the
//! core. They are listed here too, in [`HOST_CODES`] ([`host_codes`]), so
//! every binding's copy is generated from, or tested against, one table.

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

/// Which host-language layer raises a [`HostCode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HostLayer {
    /// The HTTP helpers of the packages: server body limits (the response
    /// bytes themselves come from the core).
    Http,
    /// The language wrappers over the native library (Java and C# over the C
    /// ABI, Python over uniffi): loading it, handle lifetime, a native panic.
    Wrapper,
    /// The shared-state adapters (Redis): they move the bytes of the core's
    /// protocol (`crate::shared`) and report the store's own failures.
    Shared,
}

/// A stable code raised by the host-language layers (HTTP drivers, loaders),
/// never by the core. Same promise as the core's codes: the string never
/// changes once released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostCode {
    /// The stable dotted code string.
    pub code: &'static str,
    /// The HTTP status a server helper answers with, where one applies.
    pub http_status: Option<u16>,
    /// The layer that raises it.
    pub layer: HostLayer,
    /// One line: what went wrong.
    pub meaning: &'static str,
}

/// The codes raised by the host-language layers (HTTP drivers, loaders),
/// never by the core, in a fixed order. They are not in [`all_codes`]; the
/// bindings expose them as a second list (`selo_host_error_code_at`,
/// `hostCodes()`, `selo.host_codes()`, `ErrorCodes.HOST`, `ErrorCodes.Host`)
/// and each language's tests check that every code its sources raise is in
/// one of the lists.
pub const HOST_CODES: &[HostCode] = &[
    HostCode {
        code: "http.body_too_large",
        http_status: Some(413),
        layer: HostLayer::Http,
        meaning: "a server helper refused a request body over its limit (default 1 MiB) before reading it all",
    },
    HostCode {
        code: "ffi.no_native_library",
        http_status: None,
        layer: HostLayer::Wrapper,
        meaning: "no native selo library for this platform could be loaded",
    },
    HostCode {
        code: "ffi.closed",
        http_status: None,
        layer: HostLayer::Wrapper,
        meaning: "a closed (disposed) handle was used",
    },
    HostCode {
        code: "ffi.unknown",
        http_status: None,
        layer: HostLayer::Wrapper,
        meaning: "a native call failed without leaving an error code (defensive fallback)",
    },
    HostCode {
        // Python, released undotted in 0.2.0: kept as is (a rename breaks users).
        code: "internal",
        http_status: None,
        layer: HostLayer::Wrapper,
        meaning: "the native module failed internally (a caught Rust panic); please report it",
    },
    HostCode {
        code: "shared.store_unavailable",
        http_status: None,
        layer: HostLayer::Shared,
        meaning: "a shared-state store call (Redis) failed, timed out or answered outside the protocol; the adapter fails closed",
    },
    HostCode {
        code: "shared.lease_timeout",
        http_status: None,
        layer: HostLayer::Shared,
        meaning: "waited the bound (the lease TTL) for another instance's Safra transition and saw no newer generation",
    },
];

/// The codes of [`HOST_CODES`], in its order.
pub fn host_codes() -> Vec<&'static str> {
    HOST_CODES.iter().map(|h| h.code).collect()
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

    #[test]
    fn host_codes_are_unique_dotted_and_never_core_codes() {
        let core: HashSet<_> = all_codes().into_iter().collect();
        let mut seen = HashSet::new();
        for h in HOST_CODES {
            let c = h.code;
            assert!(seen.insert(c), "duplicate host code {c}");
            assert!(!core.contains(c), "host code {c} is also a core code");
            // `internal` (Python) was released undotted; every other code is dotted.
            assert!(
                c.split('.').count() >= 2 || c == "internal",
                "host code {c} is not dotted"
            );
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase()
                    || ch.is_ascii_digit()
                    || ch == '.'
                    || ch == '_'),
                "host code {c} has characters outside [a-z0-9._]"
            );
            let area = c.split('.').next().unwrap_or_default();
            let expected: &[&str] = match h.layer {
                HostLayer::Http => &["ofb", "http"],
                HostLayer::Wrapper => &["ffi", "internal"],
                HostLayer::Shared => &["shared"],
            };
            assert!(
                expected.contains(&area),
                "host code {c}: area {area} for {:?}",
                h.layer
            );
            assert!(
                !h.meaning.is_empty() && !h.meaning.contains('\n'),
                "{c}: one-line meaning"
            );
        }
        assert_eq!(host_codes().len(), HOST_CODES.len());
    }
}
