//! The CLI's HTTP driver: sends a core `PreparedRequest` byte for byte with
//! reqwest (rustls; optional client certificate and extra CA for mTLS) and
//! hands back a `ReceivedResponse`.

use crate::error::{CliError, read_file};
use selo::http::{PreparedRequest, ReceivedResponse};
use std::path::PathBuf;
use std::time::Duration;

/// The mTLS and trust flags every command that talks to a bank takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TlsArgs {
    /// mTLS client certificate (PEM).
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// mTLS client private key (PEM).
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// Extra CA certificate(s) to trust (PEM).
    #[arg(long)]
    pub ca: Option<PathBuf>,
}

/// TLS and timeout settings.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    /// Client certificate chain (PEM), for mTLS.
    pub cert: Option<PathBuf>,
    /// Client private key (PEM: PKCS#8, PKCS#1 or SEC1), for mTLS.
    pub key: Option<PathBuf>,
    /// Extra CA certificate(s) (PEM) to trust besides the built-in roots.
    pub ca: Option<PathBuf>,
    /// Whole-request timeout in seconds (0 = 30).
    pub timeout_secs: u64,
    /// Whole-request timeout in milliseconds; overrides `timeout_secs`
    /// when non-zero (the soak's short deadlines).
    pub timeout_ms: u64,
}

/// A reusable client.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    pub fn new(opts: &HttpOptions) -> Result<Self, CliError> {
        let timeout = match (opts.timeout_ms, opts.timeout_secs) {
            (0, 0) => Duration::from_secs(30),
            (0, s) => Duration::from_secs(s),
            (ms, _) => Duration::from_millis(ms),
        };
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)));
        match (&opts.cert, &opts.key) {
            (Some(cert), Some(key)) => {
                let mut pem = read_file(cert)?;
                pem.push(b'\n');
                pem.extend(read_file(key)?);
                let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
                    CliError::usage(
                        "cli.tls.identity",
                        format!(
                            "client certificate {} / key {} rejected: {e}",
                            cert.display(),
                            key.display()
                        ),
                    )
                })?;
                b = b.identity(id);
            }
            (None, None) => {}
            _ => {
                return Err(CliError::usage(
                    "cli.usage.tls",
                    "--cert and --key go together (mTLS needs both)",
                ));
            }
        }
        if let Some(ca) = &opts.ca {
            let pem = read_file(ca)?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                CliError::usage(
                    "cli.tls.ca",
                    format!("CA file {} rejected: {e}", ca.display()),
                )
            })?;
            if certs.is_empty() {
                return Err(CliError::usage(
                    "cli.tls.ca",
                    format!("CA file {} holds no certificate", ca.display()),
                ));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        let client = b
            .build()
            .map_err(|e| CliError::usage("cli.tls.client", format!("HTTP client setup: {e}")))?;
        Ok(Self { client })
    }

    /// Sends `req`; a transport failure is `cli.net.transport` (exit 3).
    pub async fn send(&self, req: &PreparedRequest) -> Result<ReceivedResponse, CliError> {
        self.send_within(req, None).await
    }

    /// Sends `req` with its own whole-request deadline instead of the
    /// client's, when `timeout` is given.
    pub async fn send_within(
        &self,
        req: &PreparedRequest,
        timeout: Option<Duration>,
    ) -> Result<ReceivedResponse, CliError> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|_| {
            CliError::step(
                "cli.net.bad_method",
                format!("bad HTTP method {:?}", req.method),
            )
        })?;
        let mut rb = self.client.request(method, &req.url);
        if let Some(t) = timeout {
            rb = rb.timeout(t);
        }
        for (n, v) in &req.headers {
            rb = rb.header(n.as_str(), v.as_str());
        }
        let resp = rb
            .body(req.body.clone())
            .send()
            .await
            .map_err(|e| transport(&req.url, &e))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport(&req.url, &e))?
            .to_vec();
        Ok(ReceivedResponse::new(status, headers, body))
    }
}

fn transport(url: &str, e: &reqwest::Error) -> CliError {
    use std::error::Error as _;
    let mut msg = format!("{url}: {e}");
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    let code = if e.is_timeout() {
        "cli.net.timeout"
    } else if e.is_connect() {
        "cli.net.connect"
    } else {
        "cli.net.transport"
    };
    CliError::io(code, msg)
}

/// What a transport error tells the Safra session: `cli.net.connect` means
/// the request was never written; a timeout or any other failure may have
/// reached the server.
pub fn failure_of(e: &CliError) -> selo::http::TransportFailure {
    use selo::http::TransportFailure;
    match e.code.as_str() {
        "cli.net.connect" => TransportFailure::Connect,
        "cli.net.timeout" => TransportFailure::Timeout,
        _ => TransportFailure::Reset,
    }
}
