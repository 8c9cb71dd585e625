//! URLs and the `amc-*` header family (SPEC §2, §2.1).

use serde::{Deserialize, Serialize};

/// Where the PSD services live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "url")]
pub enum BaseUrl {
    /// `https://cobranca-hml.safranegocios.com.br/psd/`
    Homologation,
    /// `https://cobranca.safranegocios.com.br/psd/`
    Production,
    /// Any other base (simulators, proxies); a trailing `/` is added if missing.
    Custom(String),
}

impl BaseUrl {
    /// The base URL text, always ending in `/`.
    pub fn as_str(&self) -> String {
        match self {
            BaseUrl::Homologation => "https://cobranca-hml.safranegocios.com.br/psd/".into(),
            BaseUrl::Production => "https://cobranca.safranegocios.com.br/psd/".into(),
            BaseUrl::Custom(u) if u.ends_with('/') => u.clone(),
            BaseUrl::Custom(u) => format!("{u}/"),
        }
    }

    /// Parses `homologation`/`hml`, `production`/`prod`, or a URL.
    pub fn parse(s: &str) -> Self {
        match s {
            "homologation" | "hml" => BaseUrl::Homologation,
            "production" | "prod" => BaseUrl::Production,
            other => BaseUrl::Custom(other.to_string()),
        }
    }

    /// The URL of one service.
    pub fn url(&self, service: Service) -> String {
        format!("{}{}", self.as_str(), service.path())
    }
}

/// The PSD services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Handshake (both stages).
    Psd001,
    /// Authenticate.
    Psd005,
    /// Renew token.
    Psd007,
    /// Register boleto.
    Psd050,
    /// Query boleto.
    Psd052,
}

impl Service {
    /// All services.
    pub const ALL: [Service; 5] = [
        Service::Psd001,
        Service::Psd005,
        Service::Psd007,
        Service::Psd050,
        Service::Psd052,
    ];

    /// The path segment (`"psd001"`, …).
    pub const fn path(self) -> &'static str {
        match self {
            Service::Psd001 => "psd001",
            Service::Psd005 => "psd005",
            Service::Psd007 => "psd007",
            Service::Psd050 => "psd050",
            Service::Psd052 => "psd052",
        }
    }

    /// The service whose path is the last segment of `path` (`/psd/psd050`).
    pub fn from_path(path: &str) -> Option<Service> {
        let last = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        Service::ALL.into_iter().find(|s| s.path() == last)
    }

    /// False for psd050 (registering a boleto is not idempotent: a bank
    /// that does not de-duplicate by `nossoNumero` would register it
    /// twice); every other service may be sent again (SPEC §2.8).
    pub const fn is_resendable(self) -> bool {
        !matches!(self, Service::Psd050)
    }

    /// True for the services that need `authorization` and `amc-work-id`.
    pub const fn needs_token(self) -> bool {
        matches!(self, Service::Psd007 | Service::Psd050 | Service::Psd052)
    }
}

/// Header names.
pub mod names {
    /// Session GUID.
    pub const SESSION_ID: &str = "amc-session-id";
    /// Per-request GUID.
    pub const MESSAGE_ID: &str = "amc-message-id";
    /// Always `PSD`.
    pub const APLICACAO: &str = "amc-aplicacao";
    /// Work id from psd005.
    pub const WORK_ID: &str = "amc-work-id";
    /// Key-expiry signal on a 500.
    pub const CRIPTOGRAFIA: &str = "amc-criptografia";
}

/// The headers every request carries, plus token headers where needed.
pub(crate) fn request_headers(
    session_id: &str,
    message_id: &str,
    auth: Option<(&str, &str)>,
) -> Vec<(String, String)> {
    let mut h = vec![
        (names::SESSION_ID.to_string(), session_id.to_string()),
        (names::MESSAGE_ID.to_string(), message_id.to_string()),
        (names::APLICACAO.to_string(), "PSD".to_string()),
        ("accept-language".to_string(), "pt-BR".to_string()),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    if let Some((work_id, token)) = auth {
        h.push((names::WORK_ID.to_string(), work_id.to_string()));
        h.push(("authorization".to_string(), format!("Bearer {token}")));
    }
    h
}

/// True when a response signals symmetric-key expiry: status 500 and
/// `amc-criptografia: erro` (name and value case-insensitive, trimmed).
pub fn is_key_expired(status: u16, headers: &[(String, String)]) -> bool {
    status == 500
        && headers.iter().any(|(n, v)| {
            n.trim().eq_ignore_ascii_case(names::CRIPTOGRAFIA)
                && v.trim().eq_ignore_ascii_case("erro")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            BaseUrl::Homologation.url(Service::Psd001),
            "https://cobranca-hml.safranegocios.com.br/psd/psd001"
        );
        assert_eq!(
            BaseUrl::Production.url(Service::Psd050),
            "https://cobranca.safranegocios.com.br/psd/psd050"
        );
        assert_eq!(
            BaseUrl::parse("http://127.0.0.1:8080/psd").url(Service::Psd005),
            "http://127.0.0.1:8080/psd/psd005"
        );
        assert_eq!(Service::from_path("/psd/psd052"), Some(Service::Psd052));
        assert_eq!(Service::from_path("/psd/psd099"), None);
    }

    #[test]
    fn key_expiry_signal() {
        let h = |n: &str, v: &str| vec![(n.to_string(), v.to_string())];
        assert!(is_key_expired(500, &h("AMC-Criptografia", " ERRO ")));
        assert!(!is_key_expired(500, &h("amc-criptografia", "ok")));
        assert!(!is_key_expired(502, &h("amc-criptografia", "erro")));
        assert!(!is_key_expired(500, &[]));
    }
}
