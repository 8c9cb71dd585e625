//! The BMP simulator and a partner confirmation endpoint, both over
//! `selo::bmp`.
//!
//! BMP side ([`BmpBank`]): `POST` to any of the six protected endpoints →
//! header and MAC checks over the raw bytes ([`BmpServer::check_request`],
//! 406 on failure) → a call to the partner's confirmation URL with the
//! profile's deadline (5 s by default) that must answer 200 with a valid
//! `hmac` (else 406) → the transaction is executed (recorded) once per
//! idempotency key: a retry with the same key and body gets the first
//! result again, byte for byte; the same key with another body, or while
//! the first is being confirmed, is 406 (every refusal is 406, as the seed
//! says). A client that disconnects mid-confirmation does not stop it.
//! Refused transactions are not recorded, so a retry can still succeed.
//!
//! Partner side ([`PartnerEndpoint`]): what every partner must host. It
//! remembers the bodies it sent and answers BMP's confirmation with
//! [`selo::bmp::confirm`] (404 unknown, 409 differing, 200 + `hmac`).

use crate::fault::Fault;
use crate::server::{BoxFuture, Protocol, ServerOptions, Sim, SimRequest};
use crate::{SimError, unix_now};
use selo::bmp::{
    BmpProfile, BmpServer, Code, ConfirmationCall, HmacKey, SignedTransaction, confirm,
    is_protected_endpoint,
};
use selo::http::ReceivedResponse;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn json_reply(status: u16, v: &serde_json::Value) -> ReceivedResponse {
    ReceivedResponse::new(
        status,
        vec![("content-type".into(), "application/json".into())],
        v.to_string().into_bytes(),
    )
}

fn error_reply(e: &selo::bmp::Error) -> ReceivedResponse {
    json_reply(
        e.http_status().unwrap_or(406),
        &serde_json::json!({"code": e.code(), "message": e.message()}),
    )
}

/// How to run the BMP simulator.
#[derive(Clone, Debug)]
pub struct BmpConfig {
    /// The partner's shared key (128 alphanumerics unless the profile relaxes it).
    pub key: HmacKey,
    /// BMP choices; `confirm_timeout_ms` is the confirmation deadline.
    pub profile: BmpProfile,
    /// The partner's confirmation endpoint (absolute URL).
    pub confirmation_url: String,
    /// Extra headers sent with each confirmation call.
    pub confirmation_headers: Vec<(String, String)>,
    /// Write amounts .NET-style (`100.0`) in confirmation bodies, as BMP's
    /// own stack does; the partner must still confirm.
    pub dotnet_decimals: bool,
    /// Listener and logging.
    pub server: ServerOptions,
}

/// One executed transaction.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Executed {
    /// `IdempotencyKey`.
    pub idempotency_key: String,
    /// The endpoint it was posted to.
    pub endpoint: String,
    /// The body exactly as received.
    #[serde(skip)]
    pub body: Vec<u8>,
    /// The movement id BMP assigned.
    pub codigo_movimento: String,
    /// Unix seconds.
    pub executed_at: u64,
    /// The reply sent (repeated on every retry).
    #[serde(skip)]
    pub reply: ReceivedResponse,
}

/// Removes an idempotency key from `in_flight` when dropped.
struct InFlight<'a> {
    state: &'a Mutex<BmpState>,
    key: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        lock(self.state).in_flight.remove(&self.key);
    }
}

#[derive(Default)]
struct BmpState {
    executed: Vec<Executed>,
    by_key: HashMap<String, usize>,
    in_flight: HashMap<String, Vec<u8>>,
    timeouts_pending: u32,
    confirmations: u64,
}

/// The protocol part of the BMP simulator.
pub struct BmpBank {
    server: BmpServer,
    cfg: BmpConfig,
    http: reqwest::Client,
    state: Mutex<BmpState>,
}

/// A running BMP simulator.
pub type BmpSim = Sim<BmpBank>;

impl BmpBank {
    /// Every executed transaction, in order.
    pub fn executed(&self) -> Vec<Executed> {
        lock(&self.state).executed.clone()
    }

    /// How many confirmation calls were made (successful or not).
    pub fn confirmation_calls(&self) -> u64 {
        lock(&self.state).confirmations
    }

    async fn confirm_with_partner(&self, call: &ConfirmationCall) -> Result<(), selo::bmp::Error> {
        let stall = {
            let mut s = lock(&self.state);
            s.confirmations += 1;
            if s.timeouts_pending > 0 {
                s.timeouts_pending -= 1;
                true
            } else {
                false
            }
        };
        let deadline = Duration::from_millis(call.deadline_ms);
        let req = &call.request;
        let send = async {
            if stall {
                // Injected: the call stalls on the way past its deadline.
                tokio::time::sleep(deadline + Duration::from_millis(50)).await;
            }
            let mut rb = self.http.post(&req.url);
            for (n, v) in &req.headers {
                rb = rb.header(n.as_str(), v.as_str());
            }
            let resp = rb.body(req.body.clone()).send().await?;
            let status = resp.status().as_u16();
            let headers: Vec<(String, String)> = resp
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = resp.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>(ReceivedResponse::new(status, headers, body))
        };
        match tokio::time::timeout(deadline, send).await {
            Err(_) => Err(self.server.confirmation_timed_out(call)),
            Ok(Err(e)) => Err(selo::bmp::Error::new(
                Code::ServerConfirmationRefused,
                format!("the partner's confirmation endpoint could not be reached: {e}"),
            )),
            Ok(Ok(reply)) => self.server.check_confirmation_reply(call, &reply),
        }
    }

    async fn transact(self: Arc<Self>, req: SimRequest) -> ReceivedResponse {
        if !is_protected_endpoint(&req.path) {
            return json_reply(
                404,
                &serde_json::json!({"code": "sim.not_found", "message": format!("{} is not a BMP protected endpoint", req.path)}),
            );
        }
        if req.method != "POST" {
            return json_reply(
                405,
                &serde_json::json!({"code": "sim.method_not_allowed", "message": "BMP endpoints take POST"}),
            );
        }
        let tx = match self.server.check_request(&req.headers, &req.body) {
            Ok(tx) => tx,
            Err(e) => return error_reply(&e),
        };
        {
            let mut s = lock(&self.state);
            if let Some(done) = s
                .by_key
                .get(&tx.idempotency_key)
                .and_then(|i| s.executed.get(*i))
            {
                if done.body == tx.body {
                    let mut reply = done.reply.clone();
                    reply
                        .headers
                        .push(("idempotent-replayed".into(), "true".into()));
                    return reply;
                }
                return json_reply(
                    406,
                    &serde_json::json!({"code": "sim.idempotency_conflict", "message": "this IdempotencyKey was already used with another body"}),
                );
            }
            if s.in_flight.contains_key(&tx.idempotency_key) {
                return json_reply(
                    406,
                    &serde_json::json!({"code": "sim.in_progress", "message": "a transaction with this IdempotencyKey is being confirmed"}),
                );
            }
            s.in_flight
                .insert(tx.idempotency_key.clone(), tx.body.clone());
        }
        // Releases the key however this future ends (also if it is dropped
        // or panics before the confirmation finished).
        let _release = InFlight {
            state: &self.state,
            key: tx.idempotency_key.clone(),
        };
        let call = if self.cfg.dotnet_decimals {
            self.server.confirmation_request_dotnet(
                &tx,
                &self.cfg.confirmation_url,
                &self.cfg.confirmation_headers,
            )
        } else {
            Ok(self.server.confirmation_request(
                &tx,
                &self.cfg.confirmation_url,
                &self.cfg.confirmation_headers,
            ))
        };
        let confirmed = match call {
            Ok(call) => self.confirm_with_partner(&call).await,
            Err(e) => Err(e),
        };
        let mut s = lock(&self.state);
        s.in_flight.remove(&tx.idempotency_key);
        if let Err(e) = confirmed {
            return error_reply(&e);
        }
        let mut rng = selo::rng::system();
        let codigo = selo::encoding::new_guid(&mut rng);
        let reply = json_reply(
            200,
            &serde_json::json!({
                "sucesso": true,
                "idempotencyKey": tx.idempotency_key,
                "codigoMovimento": codigo,
                "endpoint": req.path,
            }),
        );
        let index = s.executed.len();
        s.executed.push(Executed {
            idempotency_key: tx.idempotency_key.clone(),
            endpoint: req.path.clone(),
            body: tx.body,
            codigo_movimento: codigo,
            executed_at: unix_now(),
            reply: reply.clone(),
        });
        s.by_key.insert(tx.idempotency_key, index);
        reply
    }
}

impl Protocol for BmpBank {
    fn name(&self) -> &'static str {
        "bmp"
    }

    fn handle(self: Arc<Self>, req: SimRequest) -> BoxFuture<ReceivedResponse> {
        // The transaction runs in its own task: when the client goes away
        // mid-confirmation (hyper drops this future), it still finishes,
        // releases its idempotency key and records the result, so the
        // client's retry gets the first result.
        Box::pin(async move {
            match tokio::spawn(async move { self.transact(req).await }).await {
                Ok(reply) => reply,
                Err(_) => json_reply(
                    500,
                    &serde_json::json!({"code": "sim.internal", "message": "the transaction task failed"}),
                ),
            }
        })
    }

    fn inject(&self, fault: &Fault) -> Result<(), String> {
        match fault {
            Fault::ConfirmationTimeout => {
                lock(&self.state).timeouts_pending += 1;
                Ok(())
            }
            other => Err(format!(
                "fault {} does not apply to the BMP simulator",
                other.name()
            )),
        }
    }

    fn state(&self) -> serde_json::Value {
        let s = lock(&self.state);
        serde_json::json!({
            "confirmation_url": self.cfg.confirmation_url,
            "confirmation_timeout_ms": self.cfg.profile.confirm_timeout_ms,
            "confirmation_calls": s.confirmations,
            "confirmation_timeouts_pending": s.timeouts_pending,
            "executed": s.executed,
        })
    }
}

/// Starts the BMP simulator on 127.0.0.1.
pub async fn start(cfg: BmpConfig) -> Result<BmpSim, SimError> {
    if !(cfg.confirmation_url.starts_with("http://")
        || cfg.confirmation_url.starts_with("https://"))
    {
        return Err(SimError::config(format!(
            "confirmation URL must be absolute http(s), found {:?}",
            cfg.confirmation_url
        )));
    }
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .build()
        .map_err(|e| SimError::config(format!("HTTP client: {e}")))?;
    let protocol = BmpBank {
        server: BmpServer::new(cfg.key.clone(), cfg.profile.clone()),
        cfg: cfg.clone(),
        http,
        state: Mutex::new(BmpState::default()),
    };
    Sim::start(protocol, &cfg.server)
        .await
        .map_err(SimError::Bind)
}

/// The partner's confirmation endpoint (what every BMP partner hosts).
pub struct PartnerEndpoint {
    key: HmacKey,
    profile: BmpProfile,
    path: String,
    sent: Mutex<HashMap<String, Vec<u8>>>,
}

/// A running partner confirmation endpoint.
pub type PartnerSim = Sim<PartnerEndpoint>;

impl PartnerEndpoint {
    /// Remembers a transaction the partner is about to send.
    pub fn remember(&self, signed: &SignedTransaction) {
        self.remember_body(signed.idempotency_key(), signed.body().to_vec());
    }

    /// Remembers a body under an idempotency key (replacing any).
    pub fn remember_body(&self, idempotency_key: &str, body: Vec<u8>) {
        lock(&self.sent).insert(idempotency_key.to_string(), body);
    }

    /// The confirmation path (`/bmp/confirmacao`).
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Protocol for PartnerEndpoint {
    fn name(&self) -> &'static str {
        "partner"
    }

    fn handle(self: Arc<Self>, req: SimRequest) -> BoxFuture<ReceivedResponse> {
        Box::pin(async move {
            if req.path != self.path || req.method != "POST" {
                return json_reply(
                    404,
                    &serde_json::json!({"code": "sim.not_found", "message": format!("the confirmation endpoint is POST {}", self.path)}),
                );
            }
            let sent = lock(&self.sent).clone();
            let lookup = move |k: &str| sent.get(k).cloned();
            let r = confirm(&self.key, &self.profile, &req.headers, &req.body, &lookup);
            ReceivedResponse::new(r.status, r.headers, r.body)
        })
    }

    fn inject(&self, fault: &Fault) -> Result<(), String> {
        Err(format!(
            "fault {} does not apply to the partner endpoint",
            fault.name()
        ))
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({"path": self.path, "remembered": lock(&self.sent).len()})
    }
}

/// Starts a partner confirmation endpoint at `http://127.0.0.1:PORT{path}`.
pub async fn start_partner(
    key: HmacKey,
    profile: BmpProfile,
    path: &str,
    server: &ServerOptions,
) -> Result<PartnerSim, SimError> {
    if !path.starts_with('/') {
        return Err(SimError::config(format!(
            "confirmation path must start with '/', found {path:?}"
        )));
    }
    let protocol = PartnerEndpoint {
        key,
        profile,
        path: path.to_string(),
        sent: Mutex::new(HashMap::new()),
    };
    Sim::start(protocol, server).await.map_err(SimError::Bind)
}

impl Sim<PartnerEndpoint> {
    /// The confirmation URL to give the BMP simulator.
    pub fn confirmation_url(&self) -> String {
        self.url(self.protocol().path())
    }
}
