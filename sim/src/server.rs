//! The HTTP shell every simulator shares: a loopback listener, one task per
//! connection, the control endpoint, the generic faults (latency, dropped
//! replies) and the request log. The protocol part is a [`Protocol`].

use crate::fault::Fault;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use selo::http::ReceivedResponse;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// Largest request body a simulator reads (bytes); more is answered 413.
pub const MAX_BODY: usize = 1 << 20;

/// Default time a client has to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time a client has to send a request's body once its headers
/// arrived.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A protocol asks the server to lose its reply by returning a response
/// with this header: `drop` (close the connection without answering) or
/// `stall=MS` (hold the connection MS ms, then close it). The header never
/// reaches the client.
pub(crate) const DIRECTIVE: &str = "x-selo-sim-directive";

/// The directive response for `drop` or `stall=MS`.
pub(crate) fn directive(what: String) -> ReceivedResponse {
    ReceivedResponse::new(599, vec![(DIRECTIVE.into(), what)], Vec::new())
}
/// How many request records a simulator keeps (oldest dropped first).
pub const MAX_LOG: usize = 1000;

/// The most distinct `"<path segment> <status>"` counters `_control/state`
/// reports under `counts`.
pub const MAX_COUNT_KEYS: usize = 256;

/// A request as a simulator sees it.
#[derive(Clone, Debug)]
pub struct SimRequest {
    /// `POST`, `GET`, …
    pub method: String,
    /// URL path (no query).
    pub path: String,
    /// Headers in received order.
    pub headers: Vec<(String, String)>,
    /// Exact body bytes.
    pub body: Bytes,
}

/// A boxed, sendable future (what [`Protocol::handle`] returns).
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The protocol-specific part of a simulator.
pub trait Protocol: Send + Sync + 'static {
    /// Short name for log lines (`safra`, `bmp`, `ofb`).
    fn name(&self) -> &'static str;
    /// Answers one request (never fails: errors are HTTP responses).
    fn handle(self: Arc<Self>, req: SimRequest) -> BoxFuture<ReceivedResponse>;
    /// Applies a fault this protocol understands; `Err` names why not.
    fn inject(&self, fault: &Fault) -> Result<(), String>;
    /// A JSON summary for `GET …/_control/state`.
    fn state(&self) -> serde_json::Value;
}

/// How a simulator listens and logs.
#[derive(Clone, Debug, Default)]
pub struct ServerOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Print one line per request to stderr (`METHOD PATH STATUS MS`).
    pub log: bool,
    /// Largest request body accepted (larger: 413). `None`: [`MAX_BODY`].
    pub max_body: Option<usize>,
    /// Time allowed for a request's headers (then the connection is
    /// closed). `None`: [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Option<Duration>,
    /// Time allowed for a request's body after its headers (then 408).
    /// `None`: [`BODY_READ_TIMEOUT`].
    pub body_read_timeout: Option<Duration>,
}

/// One handled request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RequestRecord {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Status sent; `None` when the reply was dropped by a fault.
    pub status: Option<u16>,
    /// Time from the request's arrival to the reply (or the drop), ms.
    pub ms: u64,
}

impl std::fmt::Display for RequestRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "{} {} {} {}ms", self.method, self.path, s, self.ms),
            None => write!(f, "{} {} dropped {}ms", self.method, self.path, self.ms),
        }
    }
}

#[derive(Default)]
struct CommonFaults {
    latency_ms: u64,
    latency_left: Option<u32>,
    drops_left: u32,
}

pub(crate) struct Shared<P> {
    protocol: Arc<P>,
    faults: Mutex<CommonFaults>,
    log: Mutex<VecDeque<RequestRecord>>,
    /// Requests per `"<last path segment> <status>"` since the start
    /// (bounded by the number of distinct paths × statuses the server saw,
    /// at most [`MAX_COUNT_KEYS`]).
    counts: Mutex<std::collections::BTreeMap<String, u64>>,
    log_stderr: bool,
    max_body: usize,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<P: Protocol> Shared<P> {
    fn inject(&self, fault: &Fault) -> Result<(), String> {
        match fault {
            Fault::Latency { ms, count } => {
                let mut f = lock(&self.faults);
                f.latency_ms = *ms;
                f.latency_left = *count;
                Ok(())
            }
            Fault::Drop { count } => {
                lock(&self.faults).drops_left += count;
                Ok(())
            }
            other => self.protocol.inject(other),
        }
    }

    fn clear(&self) {
        *lock(&self.faults) = CommonFaults::default();
    }

    fn take_latency(&self) -> u64 {
        let mut f = lock(&self.faults);
        if f.latency_ms == 0 {
            return 0;
        }
        let ms = f.latency_ms;
        match f.latency_left {
            None => {}
            Some(n) if n <= 1 => {
                f.latency_ms = 0;
                f.latency_left = None;
            }
            Some(n) => f.latency_left = Some(n - 1),
        }
        ms
    }

    fn take_drop(&self) -> bool {
        let mut f = lock(&self.faults);
        if f.drops_left > 0 {
            f.drops_left -= 1;
            true
        } else {
            false
        }
    }

    fn record(&self, rec: RequestRecord) {
        if self.log_stderr {
            let line = format!("[{}] {rec}\n", self.protocol.name());
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(line.as_bytes());
            let _ = err.flush();
        }
        {
            let seg = rec.path.rsplit('/').find(|s| !s.is_empty()).unwrap_or("");
            let seg: String = seg.chars().take(32).collect();
            let key = match rec.status {
                Some(st) => format!("{seg} {st}"),
                None => format!("{seg} dropped"),
            };
            let mut counts = lock(&self.counts);
            if counts.len() < MAX_COUNT_KEYS || counts.contains_key(&key) {
                *counts.entry(key).or_insert(0) += 1;
            }
        }
        let mut log = lock(&self.log);
        if log.len() >= MAX_LOG {
            log.pop_front();
        }
        log.push_back(rec);
    }

    fn state(&self) -> serde_json::Value {
        let f = lock(&self.faults);
        serde_json::json!({
            "simulator": self.protocol.name(),
            "latency_ms": f.latency_ms,
            "latency_left": f.latency_left,
            "drops_left": f.drops_left,
            "requests": lock(&self.log).len(),
            "counts": lock(&self.counts).clone(),
            "protocol": self.protocol.state(),
        })
    }
}

fn json_reply(status: u16, v: &serde_json::Value) -> ReceivedResponse {
    ReceivedResponse::new(
        status,
        vec![("content-type".into(), "application/json".into())],
        v.to_string().into_bytes(),
    )
}

fn control<P: Protocol>(shared: &Shared<P>, req: &SimRequest, what: &str) -> ReceivedResponse {
    match (req.method.as_str(), what) {
        ("POST", "fault") => match Fault::parse_json_list(&req.body) {
            Ok(faults) => {
                for f in &faults {
                    if let Err(e) = shared.inject(f) {
                        return json_reply(400, &serde_json::json!({"error": e}));
                    }
                }
                json_reply(
                    200,
                    &serde_json::json!({"ok": true, "injected": faults, "state": shared.state()}),
                )
            }
            Err(e) => json_reply(400, &serde_json::json!({"error": e})),
        },
        ("DELETE", "fault") => {
            shared.clear();
            json_reply(200, &serde_json::json!({"ok": true}))
        }
        ("GET", "state") => json_reply(200, &shared.state()),
        _ => json_reply(
            404,
            &serde_json::json!({"error": format!("no control endpoint {} {}", req.method, req.path)}),
        ),
    }
}

enum Served {
    Reply(ReceivedResponse),
    Drop,
}

async fn serve<P: Protocol>(shared: Arc<Shared<P>>, req: Request<Incoming>) -> Served {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let max_body = shared.max_body;
    let read = Limited::new(req.into_body(), max_body).collect();
    let body = match tokio::time::timeout(shared.body_read_timeout, read).await {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(_)) => {
            let reply = json_reply(
                413,
                &serde_json::json!({"error": format!("body larger than {max_body} bytes or unreadable")}),
            );
            return finish(&shared, method, path, started, Served::Reply(reply));
        }
        Err(_) => {
            let reply = json_reply(
                408,
                &serde_json::json!({"error": format!("the body did not arrive within {} ms", shared.body_read_timeout.as_millis())}),
            );
            return finish(&shared, method, path, started, Served::Reply(reply));
        }
    };
    let sreq = SimRequest {
        method: method.clone(),
        path: path.clone(),
        headers,
        body,
    };
    if let Some((_, what)) = path.rsplit_once("/_control/") {
        let reply = control(&shared, &sreq, what);
        return finish(&shared, method, path, started, Served::Reply(reply));
    }
    let delay = shared.take_latency();
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let reply = Arc::clone(&shared.protocol).handle(sreq).await;
    let directive = reply.header(DIRECTIVE).map(str::to_string);
    let served = match directive.as_deref() {
        Some("drop") => Served::Drop,
        Some(d) => {
            let ms = d
                .strip_prefix("stall=")
                .and_then(|m| m.parse::<u64>().ok())
                .unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms.min(600_000))).await;
            Served::Drop
        }
        None if shared.take_drop() => Served::Drop,
        None => Served::Reply(reply),
    };
    finish(&shared, method, path, started, served)
}

fn finish<P: Protocol>(
    shared: &Shared<P>,
    method: String,
    path: String,
    started: Instant,
    served: Served,
) -> Served {
    let status = match &served {
        Served::Reply(r) => Some(r.status),
        Served::Drop => None,
    };
    shared.record(RequestRecord {
        method,
        path,
        status,
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    served
}

fn to_hyper(r: ReceivedResponse) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(r.status);
    for (n, v) in &r.headers {
        builder = builder.header(n.as_str(), v.as_str());
    }
    builder
        .body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| {
            let mut fallback = Response::new(Full::new(Bytes::from_static(
                b"{\"error\":\"simulator built an invalid response\"}",
            )));
            *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}

/// A running simulator. Dropping it stops the listener and every connection.
pub struct Sim<P: Protocol> {
    addr: SocketAddr,
    shared: Arc<Shared<P>>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl<P: Protocol> std::fmt::Debug for Sim<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("protocol", &self.shared.protocol.name())
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> Sim<P> {
    /// Binds 127.0.0.1:`opts.port` and serves `protocol` until shut down.
    pub async fn start(protocol: P, opts: &ServerOptions) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, opts.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            protocol: Arc::new(protocol),
            faults: Mutex::new(CommonFaults::default()),
            log: Mutex::new(VecDeque::new()),
            counts: Mutex::new(std::collections::BTreeMap::new()),
            log_stderr: opts.log,
            max_body: opts.max_body.unwrap_or(MAX_BODY),
            header_read_timeout: opts.header_read_timeout.unwrap_or(HEADER_READ_TIMEOUT),
            body_read_timeout: opts.body_read_timeout.unwrap_or(BODY_READ_TIMEOUT),
        });
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), rx));
        Ok(Self {
            addr,
            shared,
            shutdown: tx,
            task: Some(task),
        })
    }

    /// The bound address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The protocol part (its state, its bank).
    pub fn protocol(&self) -> &P {
        &self.shared.protocol
    }

    /// Queues a fault, exactly as `POST …/_control/fault` would.
    pub fn inject(&self, fault: Fault) -> Result<(), String> {
        self.shared.inject(&fault)
    }

    /// Clears the generic faults (latency, drops).
    pub fn clear_faults(&self) {
        self.shared.clear();
    }

    /// The last [`MAX_LOG`] requests, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).iter().cloned().collect()
    }

    /// The control-endpoint state JSON.
    pub fn state(&self) -> serde_json::Value {
        self.shared.state()
    }

    /// Stops accepting, closes every connection and waits for the listener.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl<P: Protocol> Drop for Sim<P> {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn accept_loop<P: Protocol>(
    listener: TcpListener,
    shared: Arc<Shared<P>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of descriptors or similar: back off briefly.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                tokio::spawn(connection(stream, Arc::clone(&shared), stop.clone()));
            }
        }
    }
}

async fn connection<P: Protocol>(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared<P>>,
    mut stop: watch::Receiver<bool>,
) {
    let header_read_timeout = shared.header_read_timeout;
    let kill = Arc::new(Notify::new());
    let kill_in_service = Arc::clone(&kill);
    let svc = service_fn(move |req: Request<Incoming>| {
        let shared = Arc::clone(&shared);
        let kill = Arc::clone(&kill_in_service);
        async move {
            match serve(shared, req).await {
                Served::Reply(r) => Ok::<_, Infallible>(to_hyper(r)),
                Served::Drop => {
                    // Close the connection without answering: the select
                    // below drops the connection (and this future with it).
                    kill.notify_one();
                    std::future::pending::<Result<Response<Full<Bytes>>, Infallible>>().await
                }
            }
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = stop.changed() => {}
    }
}
