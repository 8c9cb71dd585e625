//! The Safra flow (handshake → authenticate → renew → register → query) as
//! a host loop over the core's `Session`: the session decides every byte and
//! every recovery; this file sends, times and reports.

use crate::error::CliError;
use crate::http::Http;
use crate::output::{abridge, abridge_body, ms_since};
use crate::report::{Exchange, Reporter, Step};
use selo::http::ReceivedResponse;
use selo::keys::RsaPrivateKey;
use selo::rng::CryptoRng;
use selo::safra::boleto::{BoletoQuery, BoletoReply, BoletoRequest};
use selo::safra::envelope::{open_bytes, unwrap_body};
use selo::safra::{
    BaseUrl, NextAction, Operation, Outcome, Reply, SafraProfile, Session, SessionKey,
};
use std::time::Instant;

/// The sample boleto shipped with the test vectors.
pub const SAMPLE_BOLETO: &str = include_str!("../../tests/vectors/safra/boleto-sample.json");

/// Exchanges one step may take before the CLI gives up (the core's own
/// `max_recoveries` normally stops it much earlier).
const MAX_EXCHANGES: usize = 24;

/// What to run.
#[derive(Debug)]
pub struct FlowOptions {
    pub base_url: BaseUrl,
    pub cliente: String,
    pub profile: SafraProfile,
    pub boleto: BoletoRequest,
    pub client_key: Option<RsaPrivateKey>,
}

/// The sample boleto with a random 9-digit `nossoNumero`, so repeated runs
/// against one simulator do not collide.
pub fn sample_boleto(rng: &mut dyn CryptoRng) -> Result<BoletoRequest, CliError> {
    let mut b = BoletoRequest::from_json(SAMPLE_BOLETO)?;
    let mut bytes = [0u8; 8];
    rng.fill_bytes(&mut bytes);
    b.documento.nosso_numero = 100_000_000 + u64::from_le_bytes(bytes) % 900_000_000;
    Ok(b)
}

fn now() -> u64 {
    selo_sim::unix_now()
}

fn open_for_display(key: Option<&SessionKey>, body: &[u8]) -> Option<serde_json::Value> {
    let key = key?;
    let env = unwrap_body(body).ok()?;
    let opened = open_bytes(key, &env).ok()?;
    serde_json::from_slice::<serde_json::Value>(&opened.plaintext)
        .ok()
        .map(|v| abridge(&v))
}

fn recovery_label(action: Option<NextAction>, resp: &ReceivedResponse) -> String {
    let why = match resp.status {
        500 => "key expired (500 + amc-criptografia: erro)".to_string(),
        480 => "token limit (480)".to_string(),
        s if (400..500).contains(&s) => format!("stage 2 refused ({s}): next padding candidate"),
        s => format!("HTTP {s}"),
    };
    match action {
        Some(NextAction::Rehandshake) => format!("rehandshake: {why}"),
        Some(NextAction::Reauthenticate) => format!("reauthenticate: {why}"),
        Some(NextAction::Renew) => "renew: token due".to_string(),
        Some(NextAction::Retry) => format!("retry: {why}"),
        Some(NextAction::Reconcile) => {
            format!("reconcile: {why}: psd050 outcome unknown, psd052 follows")
        }
        None => "continue".to_string(),
    }
}

/// The session's error, with the transport failure that led to it (then
/// the exit status is the network's, 3).
fn gave_up(e: selo::safra::Error, transport: Option<CliError>) -> CliError {
    let mut ce: CliError = e.into();
    if let Some(t) = transport {
        ce.message.push_str(&format!(
            " (last transport failure: {}: {})",
            t.code, t.message
        ));
        ce.exit = t.exit;
    }
    ce
}

/// The label of what the session decided after a transport failure.
fn transport_label(action: Option<NextAction>, e: &CliError) -> String {
    match action {
        Some(NextAction::Reconcile) => format!(
            "reconcile: {}: psd050 outcome unknown, psd052 follows",
            e.code
        ),
        Some(NextAction::Rehandshake) => format!("rehandshake: {}", e.code),
        Some(a) => format!("{}: {}", a.as_str(), e.code),
        None => format!("continue: {}", e.code),
    }
}

/// A running flow: one session, one HTTP client.
pub struct SafraFlow {
    session: Session,
    http: Http,
    rng: selo::rng::SystemRng,
    /// A deadline for the next request to one service (the soak's stalls).
    deadline_for: Option<(String, std::time::Duration)>,
}

impl SafraFlow {
    pub fn new(opts: &FlowOptions, http: Http) -> Result<Self, CliError> {
        let mut session = Session::new(
            opts.profile.clone(),
            opts.base_url.clone(),
            opts.cliente.clone(),
        )
        .map_err(|e| CliError::input("profile", e.code(), e.message()))?;
        if let Some(k) = &opts.client_key {
            session.set_client_key(k.clone());
        }
        Ok(Self {
            session,
            http,
            rng: selo::rng::system(),
            deadline_for: None,
        })
    }

    /// The next request to `service` (`psd050`, …) gets `timeout` instead
    /// of the client's deadline; later ones the client's again.
    pub fn deadline_for_next(&mut self, service: &str, timeout: std::time::Duration) {
        self.deadline_for = Some((format!("/{service}"), timeout));
    }

    /// The session (its unresolved registrations, for the soak's checks).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs one operation to its end; the step records every exchange.
    pub async fn run(&mut self, name: &str, op: &Operation) -> (Step, Option<Reply>) {
        let mut step = Step::new("safra", name);
        let started = Instant::now();
        // The last transport failure of this step: when the session gives
        // up right after it, the step failed on the network (exit 3).
        let mut last_transport: Option<CliError> = None;
        let mut result = Err(CliError::step(
            "cli.flow.too_many_exchanges",
            format!("{name}: no result after {MAX_EXCHANGES} exchanges"),
        ));
        for _ in 0..MAX_EXCHANGES {
            let (id, req) = match self.session.prepare_next(op, now(), &mut self.rng) {
                Ok(x) => x,
                Err(e) => {
                    result = Err(gave_up(e, last_transport.take()));
                    break;
                }
            };
            let mut x = Exchange {
                method: req.method.clone(),
                url: req.url.clone(),
                sent: abridge_body(&req.body),
                sent_opened: open_for_display(self.session.session_key(), &req.body),
                ..Exchange::default()
            };
            let t = Instant::now();
            let timeout = match &self.deadline_for {
                Some((svc, t)) if req.url.ends_with(svc.as_str()) => {
                    let t = *t;
                    self.deadline_for = None;
                    Some(t)
                }
                _ => None,
            };
            let sent = self.http.send_within(&req, timeout).await;
            x.ms = ms_since(t);
            // Either way the session decides; `x.outcome` labels a recovery.
            let decided: Result<Outcome, CliError> = match sent {
                Err(e) => {
                    let failure = crate::http::failure_of(&e);
                    let d = match self.session.handle_transport_error(id, failure, now()) {
                        Ok(o) => {
                            if let Outcome::Continue(action) = &o {
                                x.outcome = transport_label(*action, &e);
                            }
                            Ok(o)
                        }
                        Err(se) => Err(gave_up(se, Some(e.clone()))),
                    };
                    last_transport = Some(e);
                    d
                }
                Ok(resp) => {
                    last_transport = None;
                    x.status = Some(resp.status);
                    x.received = abridge_body(&resp.body);
                    x.received_opened = open_for_display(self.session.session_key(), &resp.body);
                    match self
                        .session
                        .handle_response(id, &resp, now(), &mut self.rng)
                    {
                        Ok(o) => {
                            if let Outcome::Continue(action) = &o {
                                x.outcome = recovery_label(*action, &resp);
                            }
                            Ok(o)
                        }
                        Err(e) => Err(e.into()),
                    }
                }
            };
            match decided {
                Ok(Outcome::Continue(action)) => {
                    if action.is_some() {
                        step.recoveries.push(x.outcome.clone());
                    }
                    step.exchanges.push(x);
                }
                Ok(Outcome::Done(reply)) => {
                    x.outcome = "done".into();
                    step.exchanges.push(x);
                    result = Ok(reply);
                    break;
                }
                Err(e) => {
                    x.outcome = e.code.clone();
                    step.exchanges.push(x);
                    result = Err(e);
                    break;
                }
            }
        }
        step.ms = ms_since(started);
        match result {
            Ok(Reply::BusinessError { status, body }) => {
                let (codigo, mensagem) = status
                    .as_ref()
                    .map(|s| {
                        let codigo = s.codigo.map_or_else(|| "absent".into(), |c| c.to_string());
                        (codigo, s.mensagem.clone())
                    })
                    .unwrap_or_else(|| ("?".into(), "no statusProcessamento in the body".into()));
                step.summary = format!("550 statusProcessamento {codigo}: {mensagem}");
                step.detail = serde_json::json!({
                    "statusProcessamento": status,
                    "body": abridge(&body),
                });
                step.error = Some(CliError::step(
                    "safra.bank.business",
                    format!(
                        "HTTP 550, statusProcessamento {{codigo: {codigo}, mensagem: {mensagem:?}}}"
                    ),
                ));
                (step, None)
            }
            Ok(reply) => {
                describe(&mut step, &reply, &self.session);
                (step, Some(reply))
            }
            Err(e) => {
                step.summary = e.to_string();
                step.error = Some(e);
                (step, None)
            }
        }
    }
}

fn boleto_detail(r: &BoletoReply) -> serde_json::Value {
    serde_json::json!({
        "statusProcessamento": r.status_processamento,
        "documento": r.documento,
        "reconciled": r.reconciled,
    })
}

fn describe(step: &mut Step, reply: &Reply, session: &Session) {
    let t = now();
    match reply {
        Reply::KeyAgreed {
            padding,
            signature_message,
        } => {
            let padding = serde_json::to_value(padding).unwrap_or_default();
            let sig = serde_json::to_value(signature_message).unwrap_or_default();
            step.summary = format!(
                "key agreed: padding={} signature={} session={}",
                padding.as_str().unwrap_or("?"),
                sig.as_str().unwrap_or("?"),
                session.session_id()
            );
            step.detail = serde_json::json!({
                "padding": padding,
                "signature_message": sig,
                "session_id": session.session_id(),
            });
        }
        Reply::Authenticated(s) | Reply::Renewed(s) => {
            step.summary = format!(
                "token lifetime {} s, renew in {} s, workId {}",
                s.lifetime,
                s.renew_at.saturating_sub(t),
                session.work_id().unwrap_or("?")
            );
            step.detail = serde_json::json!({
                "lifetime": s.lifetime,
                "renew_in": s.renew_at.saturating_sub(t),
                "expires_in": s.expires_at.saturating_sub(t),
                "work_id": session.work_id(),
            });
        }
        Reply::BoletoRegistered(r) | Reply::BoletoQueried(r) => {
            let d = r.documento.clone().unwrap_or_default();
            let st = r
                .status_processamento
                .as_ref()
                .map(|s| {
                    let codigo = s.codigo.map_or_else(|| "absent".into(), |c| c.to_string());
                    format!("{codigo} {}", s.mensagem)
                })
                .unwrap_or_default();
            let extra = match (&d.codigo_barras, &d.registrado_cip) {
                (Some(c), _) => format!("codigoBarras {c}"),
                (None, Some(c)) => format!("registradoCip {c}"),
                _ => String::new(),
            };
            let reconciled = if r.reconciled {
                " reconciled (psd050 outcome was ambiguous; psd052 found it)"
            } else {
                ""
            };
            step.summary = format!(
                "nossoNumero {} seuNumero {} {extra} [{st}]{reconciled}",
                d.nosso_numero.as_deref().unwrap_or("?"),
                d.seu_numero.as_deref().unwrap_or("?"),
            );
            step.detail = boleto_detail(r);
        }
        Reply::BusinessError { .. } => {}
    }
}

fn same_number(a: &str, b: &str) -> bool {
    match (a.trim().parse::<u128>(), b.trim().parse::<u128>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

/// Runs the whole flow, reporting each step. `before` is called with each
/// step name before it runs (the demo injects simulator faults there).
pub async fn run_flow(
    opts: &FlowOptions,
    http: Http,
    reporter: &mut Reporter,
    before: &dyn Fn(&str),
) -> Result<(), CliError> {
    let mut flow = SafraFlow::new(opts, http)?;
    let ops: [(&str, Operation); 3] = [
        ("handshake", Operation::Handshake),
        ("authenticate", Operation::Authenticate),
        ("renew", Operation::Renew),
    ];
    for (name, op) in ops {
        before(name);
        let (step, _) = flow.run(name, &op).await;
        if !reporter.step(step) {
            return Ok(());
        }
    }
    before("register");
    let (step, reply) = flow
        .run("register", &Operation::RegisterBoleto(opts.boleto.clone()))
        .await;
    if !reporter.step(step) {
        return Ok(());
    }
    let registered = match reply {
        Some(Reply::BoletoRegistered(r)) => r,
        _ => return Ok(()),
    };
    let seu = opts.boleto.documento.seu_numero.clone();
    let nosso = registered
        .documento
        .as_ref()
        .and_then(|d| d.nosso_numero.clone())
        .unwrap_or_else(|| opts.boleto.documento.nosso_numero.to_string());
    before("query");
    let query = BoletoQuery {
        nosso_numero: nosso.clone(),
        seu_numero: seu.clone(),
    };
    let (mut step, reply) = flow.run("query", &Operation::QueryBoleto(query)).await;
    if let Some(Reply::BoletoQueried(q)) = reply {
        let d = q.documento.unwrap_or_default();
        let nosso_ok = d
            .nosso_numero
            .as_deref()
            .is_some_and(|n| same_number(n, &nosso));
        let seu_ok = d.seu_numero.as_deref().is_none_or(|s| s == seu);
        if !(nosso_ok && seu_ok) {
            step.error = Some(CliError::step(
                "cli.flow.query_mismatch",
                format!(
                    "query answered nossoNumero {:?} seuNumero {:?}; registered {nosso:?} / {seu:?}",
                    d.nosso_numero, d.seu_numero
                ),
            ));
        }
    }
    reporter.step(step);
    Ok(())
}
