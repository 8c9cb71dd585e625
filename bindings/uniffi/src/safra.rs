//! Banco Safra PSD: the client session, the bank role, and the building
//! blocks (handshake stages, envelopes, tokens, boleto messages).

use crate::common::{
    HostRng, HttpHeader, HttpRequest, HttpResponse, headers_in, lock, make_rng, provider, secs,
    to_i64,
};
use crate::error::{SeloError, arg};
use crate::keys::{RsaPrivateKey, RsaPublicKey, key_format, padding};
use selo::safra::bank::{Bank, BankConfig, Fault};
use selo::safra::boleto::{BoletoQuery, BoletoReply, BoletoRequest, StatusProcessamento};
use selo::safra::envelope::{self, IvLog, SessionKey};
use selo::safra::token::TokenSchedule;
use selo::safra::{
    BaseUrl, Next, NextAction, Operation, OperationId, Outcome, Reply, RequestId, SafraProfile,
    Session, SignatureMessage, State, handshake,
};
use std::sync::{Arc, Mutex};

fn profile(json: Option<String>) -> Result<SafraProfile, SeloError> {
    match json {
        None => Ok(SafraProfile::default()),
        Some(j) => Ok(SafraProfile::from_json(&j)?),
    }
}

fn sig_name(m: SignatureMessage) -> String {
    match m {
        SignatureMessage::RawKey => "raw-key",
        SignatureMessage::KeyBase64Text => "key-base64-text",
        SignatureMessage::Plaintext => "plaintext",
        SignatureMessage::Auto => "auto",
    }
    .to_string()
}

fn sig_message(name: &str) -> Result<SignatureMessage, SeloError> {
    match name {
        "raw-key" => Ok(SignatureMessage::RawKey),
        "key-base64-text" => Ok(SignatureMessage::KeyBase64Text),
        "plaintext" => Ok(SignatureMessage::Plaintext),
        "auto" => Ok(SignatureMessage::Auto),
        other => Err(arg(format!(
            "signature message: expected \"raw-key\", \"key-base64-text\", \"plaintext\" or \"auto\", found {other:?}"
        ))),
    }
}

fn session_key(bytes: &[u8]) -> Result<SessionKey, SeloError> {
    Ok(SessionKey::from_slice(bytes)?)
}

/// The profile with every default filled in, as JSON (`None`: the defaults).
#[uniffi::export]
pub fn safra_profile_json(json: Option<String>) -> Result<String, SeloError> {
    Ok(profile(json)?.to_json())
}

/// Where the session stands.
#[derive(Clone, Copy, Debug, uniffi::Enum)]
pub enum SafraState {
    New,
    KeysSent,
    KeyAgreed,
    Authenticated,
}

impl From<State> for SafraState {
    fn from(s: State) -> Self {
        match s {
            State::New => SafraState::New,
            State::KeysSent => SafraState::KeysSent,
            State::KeyAgreed => SafraState::KeyAgreed,
            State::Authenticated => SafraState::Authenticated,
        }
    }
}

/// Why the loop goes round again.
#[derive(Clone, Copy, Debug, uniffi::Enum)]
pub enum SafraNextAction {
    Rehandshake,
    Reauthenticate,
    Renew,
    Retry,
    Reconcile,
}

impl From<NextAction> for SafraNextAction {
    fn from(a: NextAction) -> Self {
        match a {
            NextAction::Rehandshake => SafraNextAction::Rehandshake,
            NextAction::Reauthenticate => SafraNextAction::Reauthenticate,
            NextAction::Renew => SafraNextAction::Renew,
            NextAction::Retry => SafraNextAction::Retry,
            NextAction::Reconcile => SafraNextAction::Reconcile,
        }
    }
}

/// A token and its renewal schedule (Unix seconds, host clock).
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafraToken {
    pub token: String,
    pub exp: i64,
    pub iat: i64,
    pub lifetime: i64,
    pub received_at: i64,
    pub renew_at: i64,
    pub expires_at: i64,
}

impl From<&TokenSchedule> for SafraToken {
    fn from(t: &TokenSchedule) -> Self {
        SafraToken {
            token: t.token.clone(),
            exp: to_i64(t.exp),
            iat: to_i64(t.iat),
            lifetime: to_i64(t.lifetime),
            received_at: to_i64(t.received_at),
            renew_at: to_i64(t.renew_at),
            expires_at: to_i64(t.expires_at),
        }
    }
}

/// `statusProcessamento`.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafraStatus {
    /// `None` when the member is absent or not an integer.
    pub codigo: Option<i64>,
    pub mensagem: String,
}

impl From<StatusProcessamento> for SafraStatus {
    fn from(s: StatusProcessamento) -> Self {
        SafraStatus {
            codigo: s.codigo,
            mensagem: s.mensagem,
        }
    }
}

/// The reply `documento` (Tables 2 and 4).
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafraDocumentoReply {
    pub nosso_numero: Option<String>,
    pub seu_numero: Option<String>,
    pub codigo_barras: Option<String>,
    pub registrado_cip: Option<String>,
}

/// A psd050/psd052 reply; `raw_json` is the whole opened reply.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafraBoletoReply {
    pub status: Option<SafraStatus>,
    pub documento: Option<SafraDocumentoReply>,
    pub raw_json: String,
    /// psd050's outcome was ambiguous; this is the psd052 that found it.
    pub reconciled: bool,
    /// The reply reused an IV (only with `reject_reused_iv` off).
    pub iv_reused: bool,
}

impl From<BoletoReply> for SafraBoletoReply {
    fn from(r: BoletoReply) -> Self {
        SafraBoletoReply {
            status: r.status_processamento.map(SafraStatus::from),
            documento: r.documento.map(|d| SafraDocumentoReply {
                nosso_numero: d.nosso_numero,
                seu_numero: d.seu_numero,
                codigo_barras: d.codigo_barras,
                registrado_cip: d.registrado_cip,
            }),
            raw_json: r.raw.to_string(),
            reconciled: r.reconciled,
            iv_reused: r.iv_reused,
        }
    }
}

/// The result of a finished operation.
#[derive(Clone, Debug, uniffi::Enum)]
pub enum SafraReply {
    KeyAgreed {
        padding: String,
        signature_message: String,
    },
    Authenticated {
        token: SafraToken,
    },
    Renewed {
        token: SafraToken,
    },
    BoletoRegistered {
        reply: SafraBoletoReply,
    },
    BoletoQueried {
        reply: SafraBoletoReply,
    },
    /// HTTP 550: refused for a business reason.
    BusinessError {
        status: Option<SafraStatus>,
        body_json: String,
    },
}

impl From<Reply> for SafraReply {
    fn from(r: Reply) -> Self {
        match r {
            Reply::KeyAgreed {
                padding,
                signature_message,
            } => SafraReply::KeyAgreed {
                padding: padding.as_str().to_string(),
                signature_message: sig_name(signature_message),
            },
            Reply::Authenticated(t) => SafraReply::Authenticated { token: (&t).into() },
            Reply::Renewed(t) => SafraReply::Renewed { token: (&t).into() },
            Reply::BoletoRegistered(b) => SafraReply::BoletoRegistered { reply: b.into() },
            Reply::BoletoQueried(b) => SafraReply::BoletoQueried { reply: b.into() },
            Reply::BusinessError { status, body } => SafraReply::BusinessError {
                status: status.map(SafraStatus::from),
                body_json: body.to_string(),
            },
        }
    }
}

/// What `handle_response` decided.
#[derive(Clone, Debug, uniffi::Enum)]
pub enum SafraOutcome {
    /// Call `prepare_next` with the same operation again; `action` says
    /// why when a recovery happened.
    Continue { action: Option<SafraNextAction> },
    /// The operation finished.
    Done { reply: SafraReply },
}

/// What the host asks the session to do. `boleto_json` is the psd050
/// message (Table 1, lowerCamelCase, amounts in integer cents).
#[derive(Clone, Debug, uniffi::Enum)]
pub enum SafraOperation {
    Handshake,
    Authenticate,
    Renew,
    RegisterBoleto {
        boleto_json: String,
    },
    QueryBoleto {
        nosso_numero: String,
        seu_numero: String,
    },
}

fn operation(op: SafraOperation) -> Result<Operation, SeloError> {
    Ok(match op {
        SafraOperation::Handshake => Operation::Handshake,
        SafraOperation::Authenticate => Operation::Authenticate,
        SafraOperation::Renew => Operation::Renew,
        SafraOperation::RegisterBoleto { boleto_json } => {
            Operation::RegisterBoleto(BoletoRequest::from_json(&boleto_json)?)
        }
        SafraOperation::QueryBoleto {
            nosso_numero,
            seu_numero,
        } => {
            let q = BoletoQuery {
                nosso_numero,
                seu_numero,
            };
            q.validate()?;
            Operation::QueryBoleto(q)
        }
    })
}

/// A prepared request and the id to hand its response back with.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafraPrepared {
    pub id: u64,
    pub request: HttpRequest,
}

/// What `next` asks the host to do for one operation begun with `begin`.
#[derive(Clone, Debug, uniffi::Enum)]
pub enum SafraNext {
    /// Another operation's transition (handshake, psd005, psd007) is in
    /// flight: call `next` again once the session handled a response.
    Wait,
    /// Send `request`; hand its response back with `id`.
    Send { id: u64, request: HttpRequest },
}

pub(crate) struct SessionInner {
    pub(crate) session: Session,
    rng: HostRng,
    // The operation last converted, so the boleto is parsed once per loop.
    last_op: Option<(SafraOperationKey, Operation)>,
}

impl SessionInner {
    fn outcome(
        &mut self,
        outcome: Result<Outcome, selo::safra::Error>,
    ) -> Result<SafraOutcome, SeloError> {
        match outcome {
            Ok(Outcome::Continue(a)) => Ok(SafraOutcome::Continue {
                action: a.map(SafraNextAction::from),
            }),
            Ok(Outcome::Done(r)) => {
                self.last_op = None;
                Ok(SafraOutcome::Done { reply: r.into() })
            }
            Err(e) => {
                self.last_op = None;
                Err(e.into())
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum SafraOperationKey {
    Handshake,
    Authenticate,
    Renew,
    Register(String),
    Query(String, String),
}

fn op_key(op: &SafraOperation) -> SafraOperationKey {
    match op {
        SafraOperation::Handshake => SafraOperationKey::Handshake,
        SafraOperation::Authenticate => SafraOperationKey::Authenticate,
        SafraOperation::Renew => SafraOperationKey::Renew,
        SafraOperation::RegisterBoleto { boleto_json } => {
            SafraOperationKey::Register(boleto_json.clone())
        }
        SafraOperation::QueryBoleto {
            nosso_numero,
            seu_numero,
        } => SafraOperationKey::Query(nosso_numero.clone(), seu_numero.clone()),
    }
}

/// The Safra PSD client session (the core's state machine).
#[derive(uniffi::Object)]
pub struct SafraSession {
    pub(crate) inner: Mutex<SessionInner>,
}

/// A psd050 whose outcome is unknown (SPEC §2.8).
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafraUnresolved {
    pub nosso_numero: u64,
    pub seu_numero: String,
    /// When its outcome became unknown (Unix seconds).
    pub since: i64,
}

#[uniffi::export]
impl SafraSession {
    /// `base_url`: `"homologation"`/`"hml"`, `"production"`/`"prod"` or a URL.
    /// `rng_seed` (32 bytes) makes every random choice deterministic: tests only.
    #[uniffi::constructor]
    pub fn new(
        base_url: String,
        cliente: String,
        profile_json: Option<String>,
        client_key: Option<Arc<RsaPrivateKey>>,
        rng_seed: Option<Vec<u8>>,
        provider_name: Option<String>,
    ) -> Result<Arc<Self>, SeloError> {
        let mut session = Session::new(profile(profile_json)?, BaseUrl::parse(&base_url), cliente)?;
        session.set_provider(provider(provider_name)?);
        if let Some(k) = client_key {
            session.set_client_key(k.inner.clone());
        }
        Ok(Arc::new(Self {
            inner: Mutex::new(SessionInner {
                session,
                rng: make_rng(rng_seed)?,
                last_op: None,
            }),
        }))
    }

    /// Imports a blob made by `export` (it holds secrets: encrypt it at rest).
    #[uniffi::constructor]
    pub fn import(
        blob: Vec<u8>,
        rng_seed: Option<Vec<u8>>,
        provider_name: Option<String>,
    ) -> Result<Arc<Self>, SeloError> {
        let mut session = Session::import(&blob)?;
        session.set_provider(provider(provider_name)?);
        Ok(Arc::new(Self {
            inner: Mutex::new(SessionInner {
                session,
                rng: make_rng(rng_seed)?,
                last_op: None,
            }),
        }))
    }

    /// The psd050s whose outcome is unknown, oldest first: a register of
    /// any of them starts with a psd052 query.
    pub fn unresolved_registrations(&self) -> Vec<SafraUnresolved> {
        lock(&self.inner)
            .session
            .unresolved_registrations()
            .map(|u| SafraUnresolved {
                nosso_numero: u.nosso_numero,
                seu_numero: u.seu_numero.clone(),
                since: to_i64(u.since),
            })
            .collect()
    }

    /// Forgets the unresolved registration of `nosso_numero`, once its
    /// outcome is known from the bank by other means; true when it was
    /// unresolved.
    pub fn resolve_registration(&self, nosso_numero: u64) -> bool {
        lock(&self.inner)
            .session
            .resolve_registration(nosso_numero)
            .is_some()
    }

    /// The session as JSON bytes, keys included (in-flight requests are not).
    pub fn export(&self) -> Result<Vec<u8>, SeloError> {
        Ok(lock(&self.inner).session.export()?.to_vec())
    }

    /// The next request `op` needs at `now`.
    pub fn prepare_next(&self, op: SafraOperation, now: i64) -> Result<SafraPrepared, SeloError> {
        let now = secs(now)?;
        let key = op_key(&op);
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        let core_op = match inner.last_op.take() {
            Some((k, o)) if k == key => o,
            _ => operation(op)?,
        };
        let result = inner.session.prepare_next(&core_op, now, &mut *inner.rng);
        inner.last_op = Some((key, core_op));
        let (RequestId(id), request) = result?;
        Ok(SafraPrepared {
            id,
            request: request.into(),
        })
    }

    /// Begins an operation that runs beside the others in progress (many
    /// at once, SPEC §5); drive it with `next`. Errors:
    /// `safra.session.busy` past `set_max_in_flight`,
    /// `safra.boleto.in_flight` when another operation registers the same
    /// `nossoNumero`.
    pub fn begin(&self, op: SafraOperation) -> Result<u64, SeloError> {
        let core_op = operation(op)?;
        let OperationId(id) = lock(&self.inner).session.begin(core_op)?;
        Ok(id)
    }

    /// What operation `op_id` needs next at `now`: a request to send, or
    /// `Wait` while another operation runs the transition it needs.
    pub fn next(&self, op_id: u64, now: i64) -> Result<SafraNext, SeloError> {
        let now = secs(now)?;
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        Ok(
            match inner
                .session
                .next(OperationId(op_id), now, &mut *inner.rng)?
            {
                Next::Wait => SafraNext::Wait,
                Next::Send(RequestId(id), request) => SafraNext::Send {
                    id,
                    request: request.into(),
                },
            },
        )
    }

    /// Ends operation `op_id` without a reply (a psd050 of it in flight
    /// joins the unresolved registrations); false when it had ended.
    pub fn cancel(&self, op_id: u64) -> bool {
        lock(&self.inner).session.cancel(OperationId(op_id))
    }

    /// How many operations are in progress.
    pub fn in_flight(&self) -> u64 {
        lock(&self.inner).session.in_flight() as u64
    }

    /// True while a handshake stage, psd005 or psd007 is in flight.
    pub fn transition_in_flight(&self) -> bool {
        lock(&self.inner).session.transition_in_flight()
    }

    /// Counts the changes of credentials (handshakes, authentications,
    /// renewals, discards).
    pub fn generation(&self) -> u64 {
        lock(&self.inner).session.generation()
    }

    /// How many operations may run at once (default 256).
    pub fn set_max_in_flight(&self, max: u64) {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        lock(&self.inner).session.set_max_in_flight(max);
    }

    /// The credentials (session id, AES key, token, workId) as bytes, to
    /// `adopt_credentials` in another session (a secret).
    pub fn export_credentials(&self) -> Result<Vec<u8>, SeloError> {
        Ok(lock(&self.inner).session.export_credentials()?.to_vec())
    }

    /// Adopts credentials made by `export_credentials`.
    pub fn adopt_credentials(&self, credentials: Vec<u8>) -> Result<(), SeloError> {
        Ok(lock(&self.inner).session.adopt_credentials(&credentials)?)
    }

    /// Shares this session with other instances (SPEC §5, `SafraShare`):
    /// from now on a transition (handshake, psd005, psd007) runs only while
    /// the fleet's lease is held; an operation that needs one without it
    /// gets `Wait` and `wants_lease` turns true.
    pub fn set_shared(&self, shared: bool) {
        lock(&self.inner).session.set_shared(shared);
    }

    /// True when an operation of a shared session met a transition it may
    /// not run without the fleet's lease (or a renewal fell due): take the
    /// lease (`SafraShare.acquire`) or adopt what another instance
    /// published (`SafraShare.on_record`).
    pub fn wants_lease(&self) -> bool {
        lock(&self.inner).session.wants_lease()
    }

    /// True when request `id` (in flight) is a transition: a handshake
    /// stage, psd005 or psd007.
    pub fn is_transition(&self, id: u64) -> bool {
        lock(&self.inner).session.is_transition(RequestId(id))
    }

    /// Hands back the response to request `id`, received at `now`.
    pub fn handle_response(
        &self,
        id: u64,
        response: HttpResponse,
        now: i64,
    ) -> Result<SafraOutcome, SeloError> {
        let now = secs(now)?;
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        let outcome =
            inner
                .session
                .handle_response(RequestId(id), &response.into(), now, &mut *inner.rng);
        inner.outcome(outcome)
    }

    /// Reports that request `id` got no response: `failure` is "connect"
    /// (never sent), "timeout", "reset" or "other". Answers like
    /// `handle_response`: `Retry` when the request may go again,
    /// `Reconcile` after an ambiguous psd050, or an error
    /// (`safra.boleto.outcome_unknown`, too many recoveries).
    pub fn handle_transport_error(
        &self,
        id: u64,
        failure: String,
        now: i64,
    ) -> Result<SafraOutcome, SeloError> {
        let now = secs(now)?;
        let failure: selo::http::TransportFailure = failure.parse().map_err(crate::error::arg)?;
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        let outcome = inner
            .session
            .handle_transport_error(RequestId(id), failure, now);
        inner.outcome(outcome)
    }

    pub fn state(&self) -> SafraState {
        lock(&self.inner).session.state().into()
    }

    /// The current session GUID (empty before the first handshake).
    pub fn session_id(&self) -> String {
        lock(&self.inner).session.session_id().to_string()
    }

    pub fn work_id(&self) -> Option<String> {
        lock(&self.inner).session.work_id().map(str::to_string)
    }

    pub fn token(&self) -> Option<SafraToken> {
        lock(&self.inner).session.token().map(SafraToken::from)
    }

    /// What the session would do before a business call at `now`.
    pub fn next_action(&self, now: i64) -> Result<Option<SafraNextAction>, SeloError> {
        let now = secs(now)?;
        Ok(lock(&self.inner)
            .session
            .next_action(now)
            .map(SafraNextAction::from))
    }

    pub fn padding_winner(&self) -> Option<String> {
        lock(&self.inner)
            .session
            .padding_winner()
            .map(|p| p.as_str().to_string())
    }

    pub fn signature_winner(&self) -> Option<String> {
        lock(&self.inner).session.signature_winner().map(sig_name)
    }

    /// The agreed AES key (debugging captured traffic; a secret).
    pub fn session_key(&self) -> Option<Vec<u8>> {
        lock(&self.inner)
            .session
            .session_key()
            .map(|k| k.as_bytes().to_vec())
    }

    pub fn profile_json(&self) -> String {
        lock(&self.inner).session.profile().to_json()
    }

    /// The psd005 business message.
    pub fn auth_message_json(&self) -> String {
        lock(&self.inner).session.auth_message().to_string()
    }
}

/// A one-shot misbehaviour of the bank for its next non-handshake call.
#[derive(Clone, Copy, Debug, uniffi::Enum)]
pub enum SafraFault {
    ExpireKey,
    Answer480,
    Answer550,
}

/// A boleto the bank registered.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafraStoredBoleto {
    pub request_json: String,
    pub nosso_numero: String,
    pub codigo_barras: String,
}

struct BankInner {
    bank: Bank,
    rng: HostRng,
}

/// The PSD bank role (simulators, mocks, tests): pure data in and out.
#[derive(uniffi::Object)]
pub struct SafraBank {
    inner: Mutex<BankInner>,
}

#[uniffi::export]
impl SafraBank {
    #[uniffi::constructor]
    pub fn new(
        bank_key: Arc<RsaPrivateKey>,
        token_lifetime: u64,
        profile_json: Option<String>,
        rng_seed: Option<Vec<u8>>,
        provider_name: Option<String>,
    ) -> Result<Arc<Self>, SeloError> {
        let mut rng = make_rng(rng_seed)?;
        let cfg = BankConfig {
            profile: profile(profile_json)?,
            bank_key: bank_key.inner.clone(),
            token_lifetime,
        };
        let mut bank = Bank::new(cfg, &mut *rng)?;
        bank.set_provider(provider(provider_name)?);
        Ok(Arc::new(Self {
            inner: Mutex::new(BankInner { bank, rng }),
        }))
    }

    /// Handles one request (`path`'s last segment names the service).
    /// Never fails: errors become their HTTP responses.
    pub fn handle(
        &self,
        path: String,
        headers: Vec<HttpHeader>,
        body: Vec<u8>,
        now: i64,
    ) -> Result<HttpResponse, SeloError> {
        let now = secs(now)?;
        let mut g = lock(&self.inner);
        let inner = &mut *g;
        Ok(inner
            .bank
            .handle(&path, &headers_in(headers), &body, now, &mut *inner.rng)
            .into())
    }

    /// Queues a fault for the next non-handshake call.
    pub fn inject(&self, fault: SafraFault) {
        let f = match fault {
            SafraFault::ExpireKey => Fault::ExpireKey,
            SafraFault::Answer480 => Fault::Answer480,
            SafraFault::Answer550 => Fault::Answer550,
        };
        lock(&self.inner).bank.inject(f);
    }

    pub fn public_key(&self) -> Arc<RsaPublicKey> {
        RsaPublicKey::wrap(lock(&self.inner).bank.public_key())
    }

    pub fn boletos(&self) -> Vec<SafraStoredBoleto> {
        lock(&self.inner)
            .bank
            .boletos()
            .map(|b| SafraStoredBoleto {
                request_json: b.request.to_json().to_string(),
                nosso_numero: b.nosso_numero.clone(),
                codigo_barras: b.codigo_barras.clone(),
            })
            .collect()
    }

    /// The AES key agreed with a session (tests, debugging).
    pub fn session_key(&self, session_id: String) -> Option<Vec<u8>> {
        lock(&self.inner)
            .bank
            .session_key(&session_id)
            .map(|k| k.as_bytes().to_vec())
    }
}

// ---- building blocks -------------------------------------------------------

/// Stage 1 `jwk` for a client key and session GUID.
#[uniffi::export]
pub fn safra_stage1_jwk(
    client_key: Arc<RsaPrivateKey>,
    session_id: String,
    key_format_name: String,
    provider_name: Option<String>,
) -> Result<String, SeloError> {
    let mut rng = make_rng(None)?;
    Ok(handshake::stage1_jwk(
        provider(provider_name)?,
        &client_key.inner,
        &session_id,
        key_format(&key_format_name)?,
        &mut *rng,
    )?)
}

/// The bank's key from a stage-1 reply body.
#[uniffi::export]
pub fn safra_parse_stage1_reply(body: Vec<u8>) -> Result<Arc<RsaPublicKey>, SeloError> {
    Ok(RsaPublicKey::wrap(handshake::parse_stage1_reply(&body)?))
}

/// Stage 2 `parametros` for a session GUID.
#[uniffi::export]
pub fn safra_stage2_parametros(
    bank_key: Arc<RsaPublicKey>,
    client_key: Arc<RsaPrivateKey>,
    session_id: String,
    padding_name: String,
    provider_name: Option<String>,
    rng_seed: Option<Vec<u8>>,
) -> Result<String, SeloError> {
    let mut rng = make_rng(rng_seed)?;
    Ok(handshake::stage2_parametros(
        provider(provider_name)?,
        &bank_key.inner,
        &client_key.inner,
        &session_id,
        padding(&padding_name)?,
        &mut *rng,
    )?)
}

/// The key a stage-2 reply carries, and which candidates won.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafraAgreedKey {
    pub key: Vec<u8>,
    pub padding: String,
    pub signature_message: String,
}

/// Decrypts and verifies a stage-2 reply body, trying `paddings` and
/// `signature_messages` (names; `"auto"` expands to every candidate).
#[uniffi::export]
pub fn safra_parse_stage2_reply(
    body: Vec<u8>,
    client_key: Arc<RsaPrivateKey>,
    bank_key: Arc<RsaPublicKey>,
    paddings: Vec<String>,
    signature_messages: Vec<String>,
    provider_name: Option<String>,
) -> Result<SafraAgreedKey, SeloError> {
    let mut rng = make_rng(None)?;
    let mut ps = Vec::new();
    for p in &paddings {
        if p == "auto" {
            ps.extend(selo::crypto::Padding::ALL);
        } else {
            ps.push(padding(p)?);
        }
    }
    let mut ms = Vec::new();
    for m in &signature_messages {
        ms.extend(sig_message(m)?.candidates());
    }
    let agreed = handshake::parse_stage2_reply(
        provider(provider_name)?,
        &body,
        &client_key.inner,
        &bank_key.inner,
        &ps,
        &ms,
        &mut *rng,
    )?;
    Ok(SafraAgreedKey {
        key: agreed.key.as_bytes().to_vec(),
        padding: agreed.padding.as_str().to_string(),
        signature_message: sig_name(agreed.signature_message),
    })
}

/// A JSON body with one string member (`{"jwk": "..."}`).
#[uniffi::export]
pub fn safra_json_body(member: String, value: String) -> Vec<u8> {
    handshake::json_body(&member, &value)
}

/// `B64('{"alg":"RSA-AEP","enc":"A256CTR"}')`.
#[uniffi::export]
pub fn safra_envelope_header_b64() -> String {
    envelope::header_b64()
}

/// Seals with an explicit 16-byte IV (vectors, interop). Protocol code
/// uses `SafraEnvelopes.seal`, which never repeats an IV.
#[uniffi::export]
pub fn safra_seal_with_iv(
    key: Vec<u8>,
    iv: Vec<u8>,
    plaintext: Vec<u8>,
) -> Result<String, SeloError> {
    let k = session_key(&key)?;
    let iv: [u8; 16] = iv.as_slice().try_into().map_err(|_| {
        SeloError::from(selo::safra::Error::new(
            selo::safra::Code::EnvelopeBadIv,
            format!("iv: expected 16 bytes, found {}", iv.len()),
        ))
    })?;
    Ok(envelope::seal_with_iv(&k, &iv, &plaintext))
}

/// An opened envelope.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SafraOpened {
    pub iv: Vec<u8>,
    pub plaintext: Vec<u8>,
    /// True when the IV had been seen before and the profile let it pass.
    pub reused_iv: bool,
}

/// Opens an envelope without IV bookkeeping and without requiring JSON.
#[uniffi::export]
pub fn safra_open_envelope(key: Vec<u8>, envelope: String) -> Result<SafraOpened, SeloError> {
    let k = session_key(&key)?;
    let o = envelope::open_bytes(&k, &envelope)?;
    Ok(SafraOpened {
        iv: o.iv.to_vec(),
        plaintext: o.plaintext.to_vec(),
        reused_iv: o.reused_iv,
    })
}

/// `{"data": "<envelope>"}`.
#[uniffi::export]
pub fn safra_wrap_body(envelope: String) -> Vec<u8> {
    envelope::wrap_body(&envelope)
}

/// The envelope inside a `{"data": "<envelope>"}` body.
#[uniffi::export]
pub fn safra_unwrap_body(body: Vec<u8>) -> Result<String, SeloError> {
    Ok(envelope::unwrap_body(&body)?)
}

/// Envelopes under one key with the session's IV rules: sealing never
/// repeats an IV; opening refuses (or flags) one already seen.
#[derive(uniffi::Object)]
pub struct SafraEnvelopes {
    key: SessionKey,
    reject_reused_iv: bool,
    inner: Mutex<(IvLog, HostRng)>,
}

#[uniffi::export]
impl SafraEnvelopes {
    #[uniffi::constructor]
    pub fn new(
        key: Vec<u8>,
        reject_reused_iv: bool,
        rng_seed: Option<Vec<u8>>,
    ) -> Result<Arc<Self>, SeloError> {
        Ok(Arc::new(Self {
            key: session_key(&key)?,
            reject_reused_iv,
            inner: Mutex::new((IvLog::default(), make_rng(rng_seed)?)),
        }))
    }

    pub fn seal(&self, plaintext: Vec<u8>) -> String {
        let mut g = lock(&self.inner);
        let (log, rng) = &mut *g;
        log.seal(&self.key, &plaintext, &mut **rng)
    }

    /// Opens; the plaintext must be UTF-8 JSON.
    pub fn open(&self, envelope: String) -> Result<SafraOpened, SeloError> {
        let mut g = lock(&self.inner);
        let (opened, _) = g.0.open(&self.key, &envelope, self.reject_reused_iv)?;
        Ok(SafraOpened {
            iv: opened.iv.to_vec(),
            plaintext: opened.plaintext.to_vec(),
            reused_iv: opened.reused_iv,
        })
    }

    /// How many IVs were seen.
    pub fn seen(&self) -> u64 {
        lock(&self.inner).0.len() as u64
    }
}

/// The schedule of a token received at local time `t0`.
#[uniffi::export]
pub fn safra_token_schedule(
    token: String,
    t0: i64,
    profile_json: Option<String>,
) -> Result<SafraToken, SeloError> {
    let t = selo::safra::token::schedule(&token, secs(t0)?, &profile(profile_json)?)?;
    Ok((&t).into())
}

/// A JWT's payload claims, unverified, as JSON.
#[uniffi::export]
pub fn safra_token_claims(token: String) -> Result<String, SeloError> {
    let m = selo::safra::token::decode_claims(&token)?;
    Ok(serde_json::Value::Object(m).to_string())
}

/// Validates a psd050 message and returns it as the core writes it.
#[uniffi::export]
pub fn safra_boleto_json(boleto_json: String) -> Result<String, SeloError> {
    Ok(BoletoRequest::from_json(&boleto_json)?
        .to_json()
        .to_string())
}

/// Parses a reply leniently into the typed form.
#[uniffi::export]
pub fn safra_boleto_reply(reply_json: String) -> Result<SafraBoletoReply, SeloError> {
    let v: serde_json::Value = serde_json::from_str(&reply_json).map_err(|e| {
        SeloError::from(selo::safra::Error::new(
            selo::safra::Code::MessageMalformed,
            format!("boleto reply is not JSON: {e}"),
        ))
    })?;
    Ok(BoletoReply::from_value(&v)?.into())
}

/// True when a response signals key expiry (500 + `amc-criptografia: erro`).
#[uniffi::export]
pub fn safra_is_key_expired(status: u16, headers: Vec<HttpHeader>) -> bool {
    selo::safra::headers::is_key_expired(status, &headers_in(headers))
}
