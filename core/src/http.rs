//! HTTP messages as plain data: what selo asks the host to send, and what
//! the host hands back. Header names are compared case-insensitively.

use serde::{Deserialize, Serialize};

/// An HTTP request for the host to send, byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedRequest {
    /// `"POST"`, `"GET"`, …
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers in the order they should be sent.
    pub headers: Vec<(String, String)>,
    /// Exact body bytes.
    pub body: Vec<u8>,
    /// Whether the host may send this request again after an ambiguous
    /// outcome (a lost reply, a timeout, a reset, a 5xx). `false` for writes
    /// that are not idempotent (Safra psd050): report the failure to the
    /// state machine instead (`Session::handle_transport_error`), which
    /// reconciles before anything is sent twice.
    #[serde(default = "resendable_default")]
    pub resendable: bool,
}

fn resendable_default() -> bool {
    true
}

impl PreparedRequest {
    /// A resendable request.
    pub fn new(
        method: impl Into<String>,
        url: impl Into<String>,
        headers: Vec<(String, String)>,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            headers,
            body: body.into(),
            resendable: true,
        }
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// An HTTP response as the host received it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedResponse {
    /// Status code.
    pub status: u16,
    /// Headers as received.
    pub headers: Vec<(String, String)>,
    /// Exact body bytes.
    pub body: Vec<u8>,
}

impl ReceivedResponse {
    /// Builds a response.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers,
            body: body.into(),
        }
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// The first value of header `name` (case-insensitive name match).
pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// How sending a request failed before any HTTP response arrived. Hosts map
/// their HTTP stack's errors onto these and hand them to the state machine,
/// which decides whether the request may go again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportFailure {
    /// No connection (refused, DNS, TLS handshake): the request was never
    /// written, so it had no effect.
    Connect,
    /// No reply within the host's deadline: the request may have had its
    /// effect.
    Timeout,
    /// The connection closed or reset after the request was (maybe) sent.
    Reset,
    /// Anything else after the request may have been sent.
    Other,
}

impl TransportFailure {
    /// Every kind, in wire-name order.
    pub const ALL: [TransportFailure; 4] = [
        TransportFailure::Connect,
        TransportFailure::Timeout,
        TransportFailure::Reset,
        TransportFailure::Other,
    ];

    /// The wire name (`"connect"`, `"timeout"`, `"reset"`, `"other"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TransportFailure::Connect => "connect",
            TransportFailure::Timeout => "timeout",
            TransportFailure::Reset => "reset",
            TransportFailure::Other => "other",
        }
    }

    /// True when the request may have reached the server (everything but
    /// [`TransportFailure::Connect`]).
    pub const fn is_ambiguous(self) -> bool {
        !matches!(self, TransportFailure::Connect)
    }
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TransportFailure {
    type Err = String;

    /// Parses a wire name; unknown names are an error listing the known ones.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TransportFailure::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "transport failure: expected one of connect, timeout, reset, other; found {s:?}"
                )
            })
    }
}
