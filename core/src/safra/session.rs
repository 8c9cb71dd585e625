//! The client state machine (SPEC §2.8–2.9).
//!
//! A host runs any PSD operation with one loop and its own HTTP stack:
//!
//! ```no_run
//! # use selo::safra::{Session, SafraProfile, BaseUrl, Operation, Outcome};
//! # use selo::http::ReceivedResponse;
//! # fn send(_: &selo::http::PreparedRequest) -> ReceivedResponse { ReceivedResponse::default() }
//! # fn now() -> u64 { 0 }
//! let mut rng = selo::rng::system();
//! let mut session = Session::new(SafraProfile::default(), BaseUrl::Homologation, "CLIENTE")?;
//! let op = Operation::Authenticate;
//! let reply = loop {
//!     let (id, request) = session.prepare_next(&op, now(), &mut rng)?;
//!     let response = send(&request);
//!     match session.handle_response(id, &response, now(), &mut rng)? {
//!         Outcome::Continue(_) => continue,
//!         Outcome::Done(reply) => break reply,
//!     }
//! };
//! # Ok::<(), selo::safra::Error>(())
//! ```
//!
//! `prepare_next` sends whatever the operation still needs — handshake
//! stage 1 or 2, authentication, renewal when the token is due — before the
//! operation's own request. `handle_response` turns every status into the
//! next step: key expiry (500 + `amc-criptografia: erro`) and HTTP 480 reset
//! the right state and answer `Continue`, so the loop recovers by itself
//! within `profile.max_recoveries`.
//!
//! ## Failure paths (SPEC §2.8)
//!
//! When no response arrives (timeout, reset, connection refused), the host
//! reports it with [`Session::handle_transport_error`] instead of
//! `handle_response`; the session decides, the host never keeps a list of
//! its own. Every request the session may safely send again answers
//! `Continue(Some(Retry))`. A psd050 whose outcome is *ambiguous* (a 5xx
//! other than 500 + `amc-criptografia`, a lost reply, a timeout, a reset) is
//! never resent blindly: the session answers `Continue(Some(Reconcile))` and
//! its next request is a psd052 query for the same boleto. Found: the
//! operation ends with [`Reply::BoletoRegistered`] whose reply has
//! `reconciled = true`. Not found (550 with a status code listed in
//! `profile.boleto_not_found_codes`): psd050 goes once more. The query's
//! own outcome ambiguous: the error `safra.boleto.outcome_unknown`, naming
//! the boleto, so the host can decide.
//!
//! Recoveries are counted per operation: the count starts at zero when an
//! operation starts and is reset when it ends, with a reply or an error. A
//! session that gave up (`safra.session.too_many_recoveries`) runs its next
//! operation from a clean count.
//!
//! ## Many operations at once (SPEC §5)
//!
//! A service runs many operations on one session: [`Session::begin`] one
//! per call (at most [`Session::set_max_in_flight`], default
//! [`DEFAULT_MAX_IN_FLIGHT`]) and drive each with [`Session::next`], which
//! answers [`Next::Send`] or [`Next::Wait`]. They share the credentials
//! (session id, AES key, token, workId); the IVs are random, so any number
//! of psd050/psd052 calls may be in flight. Transitions — a handshake
//! stage, psd005, psd007 — run one at a time: an operation that needs one
//! while another operation's is in flight gets `Wait` and asks again after
//! the session handled a response (a renewal that is merely due stops no
//! one: calls keep the valid token meanwhile). A failure that condemns
//! credentials (500 + `amc-criptografia`, 480, 401) discards them only if
//! they are still the ones the failed request used, so a failure heard by
//! every call in flight causes one recovery ([`Session::generation`] counts
//! the changes). Every reply is opened with the key its request was sealed
//! with. Two operations never register the same `nossoNumero` at once
//! (`safra.boleto.in_flight`), and [`Session::cancel`] of an operation
//! whose psd050 is in flight keeps the promise below.
//!
//! ```no_run
//! # use selo::safra::{Session, SafraProfile, BaseUrl, Operation, Outcome, Next};
//! # use selo::http::ReceivedResponse;
//! # fn send(_: &selo::http::PreparedRequest) -> ReceivedResponse { ReceivedResponse::default() }
//! # fn wait_for_a_handled_response() {}
//! # fn now() -> u64 { 0 }
//! # let mut rng = selo::rng::system();
//! # let mut session = Session::new(SafraProfile::default(), BaseUrl::Homologation, "CLIENTE")?;
//! // In each task (the session behind the host's mutex):
//! let op = session.begin(Operation::Authenticate)?;
//! let reply = loop {
//!     match session.next(op, now(), &mut rng)? {
//!         Next::Wait => wait_for_a_handled_response(),
//!         Next::Send(id, request) => {
//!             let response = send(&request); // the mutex is not held here
//!             match session.handle_response(id, &response, now(), &mut rng)? {
//!                 Outcome::Continue(_) => {}
//!                 Outcome::Done(reply) => break reply,
//!             }
//!         }
//!     }
//! };
//! # Ok::<(), selo::safra::Error>(())
//! ```
//!
//! ## The promise to reconcile is session state
//!
//! Every psd050 whose outcome became unknown is kept in the session's set of
//! [unresolved registrations](Session::unresolved_registrations) (at most
//! [`MAX_UNRESOLVED`], carried by [`Session::export`]/[`Session::import`])
//! until a psd052 answers for it. Whatever runs in between — other
//! operations, errors, a new process importing the session — a later
//! register of that boleto starts with psd052. Running out of recoveries
//! while one is unresolved ends in `safra.boleto.outcome_unknown` naming it,
//! never in `safra.session.too_many_recoveries`. A host that learned the
//! outcome some other way says so with [`Session::resolve_registration`].

use super::boleto::{BoletoQuery, BoletoReply, BoletoRequest, StatusProcessamento};
use super::envelope::{IvLog, SessionKey, unwrap_body, wrap_body};
use super::handshake;
use super::headers::{BaseUrl, Service, is_key_expired, request_headers};
use super::token::{TokenSchedule, schedule};
use super::{Code, Error, On480, PaddingChoice, SafraProfile, SignatureMessage, err};
use crate::crypto::{Padding, RsaProvider, default_provider};
use crate::encoding::{b64, b64_decode, new_guid};
use crate::http::{PreparedRequest, ReceivedResponse, TransportFailure};
use crate::keys::{RsaPrivateKey, RsaPublicKey};
use crate::rng::CryptoRng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Where the session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// No handshake yet (or the last one was discarded).
    New,
    /// Stage 1 done: the bank's key is known.
    KeysSent,
    /// Stage 2 done: the AES key is agreed.
    KeyAgreed,
    /// psd005 done: token and workId held.
    Authenticated,
}

/// What a host asked the session to do.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    /// A new handshake (psd001 stages 1 and 2).
    Handshake,
    /// Authenticate (psd005), handshaking first if needed.
    Authenticate,
    /// Renew the token (psd007), authenticating first if needed.
    Renew,
    /// Register a boleto (psd050).
    RegisterBoleto(BoletoRequest),
    /// Query a boleto (psd052).
    QueryBoleto(BoletoQuery),
}

/// Why the loop goes round again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NextAction {
    /// The key was discarded: a new handshake follows.
    Rehandshake,
    /// The token was discarded: psd005 follows.
    Reauthenticate,
    /// The token is due: psd007 follows.
    Renew,
    /// A transient failure: the same request is prepared again.
    Retry,
    /// psd050's outcome is unknown: a psd052 query for the same boleto
    /// follows before anything is registered again.
    Reconcile,
}

impl NextAction {
    /// Every action, in wire-name order.
    pub const ALL: [NextAction; 5] = [
        NextAction::Rehandshake,
        NextAction::Reauthenticate,
        NextAction::Renew,
        NextAction::Retry,
        NextAction::Reconcile,
    ];

    /// The wire name bindings use (`"rehandshake"`, `"reconcile"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            NextAction::Rehandshake => "rehandshake",
            NextAction::Reauthenticate => "reauthenticate",
            NextAction::Renew => "renew",
            NextAction::Retry => "retry",
            NextAction::Reconcile => "reconcile",
        }
    }
}

/// What `handle_response` decided.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Call `prepare_next` with the same operation again. `Some` says why
    /// when a recovery happened; `None` after a prerequisite step succeeded.
    Continue(Option<NextAction>),
    /// The operation finished.
    Done(Reply),
}

/// The result of a finished operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// The handshake agreed a key.
    KeyAgreed {
        /// The padding that won.
        padding: Padding,
        /// What the bank's signature covered.
        signature_message: SignatureMessage,
    },
    /// psd005 succeeded.
    Authenticated(TokenSchedule),
    /// psd007 succeeded.
    Renewed(TokenSchedule),
    /// psd050 reply.
    BoletoRegistered(BoletoReply),
    /// psd052 reply.
    BoletoQueried(BoletoReply),
    /// HTTP 550: the bank refused the operation for a business reason.
    BusinessError {
        /// The bank's status, when the body carried one.
        status: Option<StatusProcessamento>,
        /// The opened body (or the raw JSON), when there was one.
        body: serde_json::Value,
    },
}

/// A psd050 whose outcome is unknown: the session queries psd052 for it
/// before it ever sends psd050 for the same `nossoNumero` again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnresolvedRegistration {
    /// The boleto's `nossoNumero`.
    pub nosso_numero: u64,
    /// Its `seuNumero` (the reconciling psd052 sends it and checks it).
    pub seu_numero: String,
    /// When its outcome became unknown (the `now` of that report).
    pub since: u64,
}

/// The most unresolved registrations a session keeps. When one more
/// becomes unknown at the cap, the oldest is dropped from the set and named
/// in the error that reports the new one (the host must check it with the
/// bank by other means).
pub const MAX_UNRESOLVED: usize = 1_024;

/// Identifies a prepared request until its response is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestId(pub u64);

/// Identifies an operation begun with [`Session::begin`] until it ends
/// (with a reply, an error, or [`Session::cancel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OperationId(pub u64);

/// What [`Session::next`] asks the host to do for one operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Send this request, then hand its response (or transport failure)
    /// back with its id.
    Send(RequestId, PreparedRequest),
    /// Another operation is running the transition this one needs
    /// (handshake, authentication, renewal, recovery): call `next` again
    /// once a response of the session was handled — see
    /// [`Session::transition_in_flight`] — and give up after the host's
    /// own bound (its request timeout).
    Wait,
}

/// How many operations one session runs at once unless
/// [`Session::set_max_in_flight`] says otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Stage1,
    Stage2(Padding),
    Authenticate,
    Renew,
    Register,
    Query,
    /// psd052 after an ambiguous psd050.
    Reconcile,
}

impl Step {
    /// Steps that change the credentials: one at a time per session.
    fn is_transition(self) -> bool {
        matches!(
            self,
            Step::Stage1 | Step::Stage2(_) | Step::Authenticate | Step::Renew
        )
    }
}

/// The operation a request is issued for.
#[derive(Clone, Copy, Debug)]
struct Target {
    op: u64,
    kind: OpKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Handshake,
    Authenticate,
    Renew,
    Register,
    Query,
}

impl Operation {
    fn kind(&self) -> OpKind {
        match self {
            Operation::Handshake => OpKind::Handshake,
            Operation::Authenticate => OpKind::Authenticate,
            Operation::Renew => OpKind::Renew,
            Operation::RegisterBoleto(_) => OpKind::Register,
            Operation::QueryBoleto(_) => OpKind::Query,
        }
    }
}

/// A request sent and not yet answered.
#[derive(Clone, Debug)]
struct Pending {
    step: Step,
    kind: OpKind,
    /// The operation it belongs to.
    op: u64,
    /// The key it was sealed with (its reply is opened with the same key,
    /// even when another operation agreed a new one meanwhile).
    key: Option<Arc<SessionKey>>,
    /// `key_epoch` and `token_epoch` when it was sent: a failure that
    /// condemns credentials which were already replaced changes nothing.
    key_epoch: u64,
    token_epoch: u64,
    /// psd007 only: the workId it renews. Its reply carries none, and a
    /// 401 to a call sent with the old token (the bank forgets it when it
    /// renews) may discard the session's meanwhile.
    renews_work_id: Option<String>,
}

/// An operation in progress.
struct OpState {
    op: Operation,
    /// Recoveries of this operation.
    recoveries: u32,
    /// Its requests in flight, oldest first (at most [`MAX_PENDING`]).
    requests: VecDeque<u64>,
    /// The oldest unresolved registration dropped at the cap, to be named
    /// by the error that ends this operation.
    overflowed: Option<UnresolvedRegistration>,
}

/// The transition (handshake stage, psd005, psd007) in flight, and whose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Transition {
    request: u64,
    op: u64,
}

/// The Safra PSD client session. See the module docs for the host loop.
pub struct Session {
    profile: SafraProfile,
    base_url: BaseUrl,
    cliente: String,
    provider: &'static dyn RsaProvider,
    client_key: Option<RsaPrivateKey>,
    session_id: String,
    bank_key: Option<RsaPublicKey>,
    aes_key: Option<Arc<SessionKey>>,
    token: Option<TokenSchedule>,
    work_id: Option<String>,
    ivs: IvLog,
    state: State,
    /// In `auto`, the index of the padding candidate being tried.
    auto_index: usize,
    padding_winner: Option<Padding>,
    signature_winner: Option<SignatureMessage>,
    pending: HashMap<u64, Pending>,
    next_id: u64,
    /// Operations in progress, by id (at most `max_in_flight`).
    ops: BTreeMap<u64, OpState>,
    next_op: u64,
    max_in_flight: usize,
    /// The operation `prepare_next` runs (the one-at-a-time API).
    current: Option<u64>,
    /// The transition in flight, if any: others wait for it.
    transition: Option<Transition>,
    /// Counts changes of the credentials (key agreed or discarded, token
    /// taken or discarded).
    generation: u64,
    key_epoch: u64,
    token_epoch: u64,
    /// The latest `now` a host passed (dates a psd050 abandoned by `cancel`).
    last_now: u64,
    /// Shared with other instances: transitions need the fleet's lease.
    gated: bool,
    /// The lease is held: transitions may run.
    granted: bool,
    /// An operation met a transition it could not run without the lease.
    wants_lease: bool,
    /// psd050s whose outcome is unknown, oldest first (SPEC §2.8): session
    /// state, never cleared by the end of an operation.
    unresolved: VecDeque<UnresolvedRegistration>,
}

/// In-flight requests one operation tracks at most; older ids are forgotten
/// (a host that never reports them cannot grow the session).
pub const MAX_PENDING: usize = 16;

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state)
            .field("base_url", &self.base_url.as_str())
            .field("session_id", &self.session_id)
            .field("work_id", &self.work_id)
            .field("padding_winner", &self.padding_winner)
            .finish_non_exhaustive()
    }
}

fn headers_of(
    session_id: &str,
    rng: &mut dyn CryptoRng,
    auth: Option<(&str, &str)>,
) -> Vec<(String, String)> {
    let message_id = new_guid(rng);
    request_headers(session_id, &message_id, auth)
}

impl Session {
    /// A new session. `cliente` is the client code psd005 sends.
    pub fn new(
        profile: SafraProfile,
        base_url: BaseUrl,
        cliente: impl Into<String>,
    ) -> Result<Self, Error> {
        profile.validate()?;
        Ok(Self {
            profile,
            base_url,
            cliente: cliente.into(),
            provider: default_provider(),
            client_key: None,
            session_id: String::new(),
            bank_key: None,
            aes_key: None,
            token: None,
            work_id: None,
            ivs: IvLog::default(),
            state: State::New,
            auto_index: 0,
            padding_winner: None,
            signature_winner: None,
            pending: HashMap::new(),
            next_id: 1,
            ops: BTreeMap::new(),
            next_op: 1,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            current: None,
            transition: None,
            generation: 0,
            key_epoch: 0,
            token_epoch: 0,
            last_now: 0,
            gated: false,
            granted: false,
            wants_lease: false,
            unresolved: VecDeque::new(),
        })
    }

    /// Uses this client key instead of generating one at the first handshake.
    pub fn set_client_key(&mut self, key: RsaPrivateKey) {
        self.client_key = Some(key);
    }

    /// Uses another RSA provider.
    pub fn set_provider(&mut self, provider: &'static dyn RsaProvider) {
        self.provider = provider;
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The profile.
    pub fn profile(&self) -> &SafraProfile {
        &self.profile
    }

    /// The current session GUID (empty before the first handshake).
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The workId from psd005.
    pub fn work_id(&self) -> Option<&str> {
        self.work_id.as_deref()
    }

    /// The token and its schedule.
    pub fn token(&self) -> Option<&TokenSchedule> {
        self.token.as_ref()
    }

    /// The padding `auto` discovered (or the fixed one once a key is agreed).
    pub fn padding_winner(&self) -> Option<Padding> {
        self.padding_winner
    }

    /// The signature message `auto` discovered.
    pub fn signature_winner(&self) -> Option<SignatureMessage> {
        self.signature_winner
    }

    /// The bank's public key from the last stage-1 reply (once pinned, when
    /// the profile has `bank_key_pins`).
    pub fn bank_key(&self) -> Option<&RsaPublicKey> {
        self.bank_key.as_ref()
    }

    /// The agreed AES key (for debugging captured traffic).
    pub fn session_key(&self) -> Option<&SessionKey> {
        self.aes_key.as_deref()
    }

    /// Counts the changes of this session's credentials: a new key agreed
    /// or discarded, a token taken, renewed or discarded. Operations that
    /// meet a failure of credentials already replaced do not replace them
    /// again.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The operations in progress.
    pub fn in_flight(&self) -> usize {
        self.ops.len()
    }

    /// How many operations may run at once ([`DEFAULT_MAX_IN_FLIGHT`]
    /// unless set; at least 1). [`Session::begin`] past it answers
    /// `safra.session.busy`.
    pub fn set_max_in_flight(&mut self, max: usize) {
        self.max_in_flight = max.max(1);
    }

    /// True while a transition (handshake stage, psd005, psd007) is in
    /// flight: operations that got [`Next::Wait`] call `next` again once it
    /// is not.
    pub fn transition_in_flight(&self) -> bool {
        self.transition.is_some()
    }

    /// Shares this session with other instances (SPEC §5): from now on a
    /// transition runs only while [`Session::grant_transitions`] says the
    /// fleet's lease is held. Without it, an operation that needs one gets
    /// [`Next::Wait`] and [`Session::wants_lease`] turns true; a renewal
    /// that is merely due waits for no one. See
    /// [`crate::safra::share::SafraShare`].
    pub fn set_shared(&mut self, shared: bool) {
        self.gated = shared;
        if !shared {
            self.granted = false;
            self.wants_lease = false;
        }
    }

    /// Says whether this instance holds the fleet's lease (transitions may
    /// run while it does). Granting clears [`Session::wants_lease`].
    pub fn grant_transitions(&mut self, granted: bool) {
        self.granted = granted;
        if granted {
            self.wants_lease = false;
        }
    }

    /// True when an operation of a shared session met a transition it may
    /// not run without the lease (or a renewal fell due): the host takes
    /// the lease (or adopts what another instance published).
    pub fn wants_lease(&self) -> bool {
        self.wants_lease
    }

    /// The psd050s whose outcome is unknown, oldest first. A register of any
    /// of them starts with a psd052 query.
    pub fn unresolved_registrations(
        &self,
    ) -> impl ExactSizeIterator<Item = &UnresolvedRegistration> {
        self.unresolved.iter()
    }

    /// Forgets the unresolved registration of `nosso_numero`, once the host
    /// has learnt its outcome from the bank by other means. Returns it, or
    /// `None` when it was not unresolved. After this, a register of it
    /// sends psd050 directly: call it only when the bank does not have the
    /// boleto, or when it will never be registered again.
    pub fn resolve_registration(&mut self, nosso_numero: u64) -> Option<UnresolvedRegistration> {
        let at = self
            .unresolved
            .iter()
            .position(|u| u.nosso_numero == nosso_numero)?;
        self.unresolved.remove(at)
    }

    /// True when a register of `nosso_numero` must reconcile first.
    pub fn is_unresolved(&self, nosso_numero: u64) -> bool {
        self.unresolved
            .iter()
            .any(|u| u.nosso_numero == nosso_numero)
    }

    fn mark_unresolved(&mut self, op: u64, b: &BoletoRequest, now: u64) {
        let nosso = b.documento.nosso_numero;
        if self.is_unresolved(nosso) {
            return;
        }
        if self.unresolved.len() >= MAX_UNRESOLVED {
            let dropped = self.unresolved.pop_front();
            if let Some(state) = self.ops.get_mut(&op) {
                state.overflowed = dropped;
            }
        }
        self.unresolved.push_back(UnresolvedRegistration {
            nosso_numero: nosso,
            seu_numero: b.documento.seu_numero.clone(),
            since: now,
        });
    }

    /// What the session would do before a business call at `now`, if anything.
    pub fn next_action(&self, now: u64) -> Option<NextAction> {
        match self.state {
            State::New | State::KeysSent => Some(NextAction::Rehandshake),
            State::KeyAgreed => Some(NextAction::Reauthenticate),
            State::Authenticated => match &self.token {
                Some(t) if t.is_expired(now) => Some(NextAction::Reauthenticate),
                Some(t) if t.should_renew(now) => Some(NextAction::Renew),
                Some(_) => None,
                None => Some(NextAction::Reauthenticate),
            },
        }
    }

    fn stage2_padding(&self) -> Padding {
        if let Some(w) = self.padding_winner {
            return w;
        }
        let c = self.profile.padding.candidates();
        c.get(self.auto_index)
            .or(c.first())
            .copied()
            .unwrap_or(Padding::Pkcs1v15)
    }

    fn issue(
        &mut self,
        step: Step,
        to: Target,
        req: PreparedRequest,
    ) -> (RequestId, PreparedRequest) {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        if let Some(state) = self.ops.get_mut(&to.op) {
            if state.requests.len() >= MAX_PENDING
                && let Some(oldest) = state.requests.pop_front()
            {
                self.pending.remove(&oldest);
                if self.transition.is_some_and(|t| t.request == oldest) {
                    self.transition = None;
                }
            }
            state.requests.push_back(id);
        }
        if step.is_transition() {
            self.transition = Some(Transition {
                request: id,
                op: to.op,
            });
        }
        let key = match step {
            Step::Stage1 | Step::Stage2(_) => None,
            _ => self.aes_key.clone(),
        };
        self.pending.insert(
            id,
            Pending {
                step,
                kind: to.kind,
                op: to.op,
                key,
                key_epoch: self.key_epoch,
                token_epoch: self.token_epoch,
                renews_work_id: if step == Step::Renew {
                    self.work_id.clone()
                } else {
                    None
                },
            },
        );
        (RequestId(id), req)
    }

    fn post(
        &self,
        service: Service,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> PreparedRequest {
        PreparedRequest {
            method: "POST".into(),
            url: self.base_url.url(service),
            headers,
            body,
            resendable: service.is_resendable(),
        }
    }

    fn discard_key(&mut self) {
        self.bank_key = None;
        self.aes_key = None;
        self.token = None;
        self.work_id = None;
        self.ivs.clear();
        self.state = State::New;
        self.key_epoch = self.key_epoch.wrapping_add(1);
        self.token_epoch = self.token_epoch.wrapping_add(1);
        self.generation = self.generation.wrapping_add(1);
    }

    fn discard_token(&mut self) {
        self.token = None;
        self.work_id = None;
        if self.state == State::Authenticated {
            self.state = State::KeyAgreed;
        }
        self.token_epoch = self.token_epoch.wrapping_add(1);
        self.generation = self.generation.wrapping_add(1);
    }

    fn prepare_stage1(
        &mut self,
        op: Target,
        rng: &mut dyn CryptoRng,
    ) -> Result<(RequestId, PreparedRequest), Error> {
        if self.client_key.is_none() {
            self.client_key = Some(RsaPrivateKey::generate(self.profile.key_bits, rng)?);
        }
        self.discard_key();
        self.session_id = new_guid(rng);
        let key = self
            .client_key
            .as_ref()
            .ok_or_else(|| err(Code::SessionNotReady, "no client key"))?;
        let jwk = handshake::stage1_jwk(
            self.provider,
            key,
            &self.session_id,
            self.profile.key_format,
            rng,
        )?;
        let headers = headers_of(&self.session_id, rng, None);
        let req = self.post(Service::Psd001, headers, handshake::json_body("jwk", &jwk));
        Ok(self.issue(Step::Stage1, op, req))
    }

    fn prepare_stage2(
        &mut self,
        op: Target,
        rng: &mut dyn CryptoRng,
    ) -> Result<(RequestId, PreparedRequest), Error> {
        let padding = self.stage2_padding();
        let (Some(bank), Some(client)) = (&self.bank_key, &self.client_key) else {
            return Err(err(
                Code::SessionNotReady,
                "stage 2 needs the bank key from stage 1",
            ));
        };
        let parametros = handshake::stage2_parametros(
            self.provider,
            bank,
            client,
            &self.session_id,
            padding,
            rng,
        )?;
        let headers = headers_of(&self.session_id, rng, None);
        let req = self.post(
            Service::Psd001,
            headers,
            handshake::json_body("parametros", &parametros),
        );
        Ok(self.issue(Step::Stage2(padding), op, req))
    }

    fn seal(&mut self, msg: &serde_json::Value, rng: &mut dyn CryptoRng) -> Result<Vec<u8>, Error> {
        let key = self
            .aes_key
            .as_ref()
            .ok_or_else(|| err(Code::SessionNotReady, "no AES key agreed"))?;
        let plaintext = Zeroizing::new(msg.to_string().into_bytes());
        Ok(wrap_body(&self.ivs.seal(key, &plaintext, rng)))
    }

    fn prepare_sealed(
        &mut self,
        step: Step,
        op: Target,
        service: Service,
        msg: &serde_json::Value,
        rng: &mut dyn CryptoRng,
    ) -> Result<(RequestId, PreparedRequest), Error> {
        let body = self.seal(msg, rng)?;
        let headers = if service.needs_token() {
            let (Some(work_id), Some(token)) = (&self.work_id, &self.token) else {
                return Err(err(
                    Code::SessionNotReady,
                    format!("{} needs a token and workId", service.path()),
                ));
            };
            headers_of(&self.session_id, rng, Some((work_id, &token.token)))
        } else {
            headers_of(&self.session_id, rng, None)
        };
        let req = self.post(service, headers, body);
        Ok(self.issue(step, op, req))
    }

    /// The authentication message (psd005).
    pub fn auth_message(&self) -> serde_json::Value {
        serde_json::json!({
            "idEstrategia": "autenticar/psd",
            "versaoAplicacao": 1,
            "credenciais": {},
            "cliente": self.cliente,
        })
    }

    /// The next request `op` needs at time `now`: a prerequisite (handshake,
    /// authentication, renewal) or the operation's own request. This is the
    /// one-operation-at-a-time API; [`Session::begin`] and [`Session::next`]
    /// run many at once.
    ///
    /// Calling it with another operation than the one in progress starts a
    /// new operation (the old one ends as if cancelled: see
    /// [`Session::cancel`]).
    pub fn prepare_next(
        &mut self,
        op: &Operation,
        now: u64,
        rng: &mut dyn CryptoRng,
    ) -> Result<(RequestId, PreparedRequest), Error> {
        let same = self
            .current
            .and_then(|id| self.ops.get(&id))
            .is_some_and(|s| &s.op == op);
        let id = match self.current {
            Some(id) if same => id,
            previous => {
                if let Some(old) = previous {
                    self.end_operation(old);
                }
                let id = self.begin(op.clone())?.0;
                self.current = Some(id);
                id
            }
        };
        match self.next(OperationId(id), now, rng)? {
            Next::Send(rid, req) => Ok((rid, req)),
            Next::Wait => Err(err(
                Code::SessionNotReady,
                "another operation's transition is in flight: run concurrent operations with begin/next",
            )),
        }
    }

    /// Begins an operation that runs beside any others in progress (at
    /// most [`Session::set_max_in_flight`], else `safra.session.busy`). A
    /// register of a `nossoNumero` another operation is registering is
    /// refused (`safra.boleto.in_flight`). Drive it with [`Session::next`];
    /// it ends with its reply, an error, or [`Session::cancel`].
    pub fn begin(&mut self, op: Operation) -> Result<OperationId, Error> {
        if self.ops.len() >= self.max_in_flight {
            return Err(err(
                Code::SessionBusy,
                format!(
                    "{} operations are in flight, the most this session runs at once: end one first",
                    self.ops.len()
                ),
            ));
        }
        if let Operation::RegisterBoleto(b) = &op {
            let nosso = b.documento.nosso_numero;
            let busy = self.ops.values().any(|s| {
                matches!(&s.op, Operation::RegisterBoleto(o) if o.documento.nosso_numero == nosso)
            });
            if busy {
                return Err(err(
                    Code::BoletoInFlight,
                    format!(
                        "boleto nossoNumero {nosso} is being registered by another operation of this session"
                    ),
                ));
            }
        }
        let id = self.next_op;
        self.next_op = self.next_op.wrapping_add(1);
        self.ops.insert(
            id,
            OpState {
                op,
                recoveries: 0,
                requests: VecDeque::new(),
                overflowed: None,
            },
        );
        Ok(OperationId(id))
    }

    /// Ends operation `id` without a reply: its requests in flight are
    /// forgotten (their responses answer `safra.session.unknown_request`).
    /// A psd050 of it still in flight joins the unresolved registrations:
    /// whether the bank registered it is unknown. Returns false when `id`
    /// had already ended.
    pub fn cancel(&mut self, id: OperationId) -> bool {
        self.end_operation(id.0)
    }

    /// What operation `id` needs next at `now`: a request to send, or
    /// [`Next::Wait`] while another operation runs the transition it needs
    /// (the session makes one handshake, authentication or renewal at a
    /// time; a renewal in flight does not stop operations while the token
    /// is still valid).
    pub fn next(
        &mut self,
        id: OperationId,
        now: u64,
        rng: &mut dyn CryptoRng,
    ) -> Result<Next, Error> {
        self.last_now = self.last_now.max(now);
        let Some(state) = self.ops.get(&id.0) else {
            return Err(err(
                Code::SessionUnknownRequest,
                format!("operation id {} is unknown or already ended", id.0),
            ));
        };
        let op = state.op.clone();
        let recoveries = state.recoveries;
        if recoveries > self.profile.max_recoveries {
            let e = if let Operation::RegisterBoleto(b) = &op
                && self.is_unresolved(b.documento.nosso_numero)
            {
                self.outcome_unknown(id.0, &format!(
                    "recovering from failures while reconciling it, the session gave up after {} recoveries (profile max_recoveries = {})",
                    recoveries.saturating_sub(1),
                    self.profile.max_recoveries
                ))
            } else {
                err(
                    Code::SessionTooManyRecoveries,
                    format!(
                        "gave up after {} recoveries (profile max_recoveries = {}); the next operation starts afresh",
                        recoveries.saturating_sub(1),
                        self.profile.max_recoveries
                    ),
                )
            };
            self.end_operation(id.0);
            return Err(e);
        }
        let to = Target {
            op: id.0,
            kind: op.kind(),
        };
        let prepared = self.prepare_step(to, &op, now, rng);
        if prepared.is_err() {
            self.end_operation(id.0);
        }
        prepared
    }

    fn prepare_step(
        &mut self,
        to: Target,
        op: &Operation,
        now: u64,
        rng: &mut dyn CryptoRng,
    ) -> Result<Next, Error> {
        let kind = to.kind;
        // Another operation's transition in flight: this one waits for it
        // instead of starting its own (the owner may start again at will).
        // A shared session without the fleet's lease waits the same way.
        let mut others = self.transition.is_some_and(|t| t.op != to.op);
        let gate = self.gated && !self.granted && !others;
        others |= gate;
        if self.ivs.is_full() && !others {
            // This key has carried enough messages: agree a new one.
            self.discard_key();
        }
        let send = |r: (RequestId, PreparedRequest)| Next::Send(r.0, r.1);
        let token_ok = self.state == State::Authenticated
            && self.token.as_ref().is_some_and(|t| !t.is_expired(now));
        let due = self.token.as_ref().is_some_and(|t| t.should_renew(now));
        let needs = !matches!(self.state, State::KeyAgreed | State::Authenticated)
            || !token_ok
            || due
            || matches!(
                kind,
                OpKind::Handshake | OpKind::Authenticate | OpKind::Renew
            );
        if gate && needs {
            self.wants_lease = true;
        }
        match self.state {
            State::New if others => return Ok(Next::Wait),
            State::New => return self.prepare_stage1(to, rng).map(send),
            State::KeysSent if others => return Ok(Next::Wait),
            State::KeysSent => return self.prepare_stage2(to, rng).map(send),
            State::KeyAgreed | State::Authenticated => {}
        }
        if kind == OpKind::Handshake {
            if others {
                return Ok(Next::Wait);
            }
            return self.prepare_stage1(to, rng).map(send);
        }
        if !token_ok || kind == OpKind::Authenticate {
            if others {
                return Ok(Next::Wait);
            }
            let msg = self.auth_message();
            return self
                .prepare_sealed(Step::Authenticate, to, Service::Psd005, &msg, rng)
                .map(send);
        }
        if kind == OpKind::Renew && others {
            return Ok(Next::Wait);
        }
        // A renewal that is merely due waits for no one: while one is in
        // flight, business calls keep using the valid token.
        if (due && !others) || kind == OpKind::Renew {
            let token = self
                .token
                .as_ref()
                .map(|t| t.token.clone())
                .unwrap_or_default();
            let msg = serde_json::json!({ "token": token });
            return self
                .prepare_sealed(Step::Renew, to, Service::Psd007, &msg, rng)
                .map(send);
        }
        match op {
            Operation::RegisterBoleto(b) if self.is_unresolved(b.documento.nosso_numero) => {
                let msg = reconcile_query(b).to_json();
                self.prepare_sealed(Step::Reconcile, to, Service::Psd052, &msg, rng)
                    .map(send)
            }
            Operation::RegisterBoleto(b) => {
                b.validate()?;
                let msg = b.to_json();
                self.prepare_sealed(Step::Register, to, Service::Psd050, &msg, rng)
                    .map(send)
            }
            Operation::QueryBoleto(q) => {
                q.validate()?;
                let msg = q.to_json();
                self.prepare_sealed(Step::Query, to, Service::Psd052, &msg, rng)
                    .map(send)
            }
            Operation::Handshake | Operation::Authenticate | Operation::Renew => Err(err(
                Code::SessionNotReady,
                "nothing to send for this operation",
            )),
        }
    }

    fn recover(&mut self, op: u64, action: NextAction) -> Outcome {
        if let Some(state) = self.ops.get_mut(&op) {
            state.recoveries = state.recoveries.saturating_add(1);
        }
        Outcome::Continue(Some(action))
    }

    fn done(&mut self, reply: Reply) -> Outcome {
        Outcome::Done(reply)
    }

    /// Ends operation `op`: its recovery count and in-flight requests are
    /// forgotten (unresolved registrations are not: they are session
    /// state). A psd050 still in flight becomes unresolved. Returns false
    /// when it had already ended.
    fn end_operation(&mut self, op: u64) -> bool {
        let Some(state) = self.ops.remove(&op) else {
            return false;
        };
        if self.current == Some(op) {
            self.current = None;
        }
        if self.transition.is_some_and(|t| t.op == op) {
            self.transition = None;
        }
        let mut abandoned_register = false;
        for id in &state.requests {
            if let Some(p) = self.pending.remove(id) {
                abandoned_register |= p.step == Step::Register;
            }
        }
        if abandoned_register && let Operation::RegisterBoleto(b) = &state.op {
            // Sent, never answered: the bank may have registered it. (The
            // operation is gone: no error will name a boleto dropped at the
            // cap.)
            self.mark_unresolved(op, b, self.last_now);
        }
        true
    }

    /// A finished operation (a reply or an error) leaves a clean session.
    fn settle(&mut self, op: u64, outcome: Result<Outcome, Error>) -> Result<Outcome, Error> {
        if !matches!(outcome, Ok(Outcome::Continue(_))) {
            self.end_operation(op);
        }
        outcome
    }

    /// Opens a reply body; the flag is true when its IV had been seen
    /// before (only possible with `reject_reused_iv` off).
    fn open_reply(&mut self, p: &Pending, body: &[u8]) -> Result<(serde_json::Value, bool), Error> {
        let key = p
            .key
            .as_deref()
            .ok_or_else(|| err(Code::SessionNotReady, "no AES key agreed"))?;
        let envelope = unwrap_body(body)?;
        let (opened, json) = self
            .ivs
            .open(key, &envelope, self.profile.reject_reused_iv)?;
        Ok((json, opened.reused_iv))
    }

    fn boleto_reply(&mut self, p: &Pending, body: &[u8]) -> Result<BoletoReply, Error> {
        let (json, iv_reused) = self.open_reply(p, body)?;
        let mut reply = BoletoReply::from_value(&json)?;
        reply.iv_reused = iv_reused;
        Ok(reply)
    }

    /// A 550's body: an envelope is opened like any reply (a reused IV or
    /// a bad envelope is an error, never silently dropped); plain JSON (a
    /// bank that answers before a key exists) is taken as it is.
    fn business_error(&mut self, p: &Pending, body: &[u8]) -> Result<Reply, Error> {
        let json = if p.key.is_some() && unwrap_body(body).is_ok() {
            self.open_reply(p, body)?.0
        } else {
            serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)
        };
        Ok(Reply::BusinessError {
            status: StatusProcessamento::from_reply(&json),
            body: json,
        })
    }

    /// The outcome of an ambiguous exchange (the request may or may not
    /// have been processed): resend what may be resent, reconcile psd050.
    fn ambiguous(&mut self, p: &Pending, what: &str, now: u64) -> Result<Outcome, Error> {
        match p.step {
            Step::Register => {
                if let Some(Operation::RegisterBoleto(b)) = self.op_of(p) {
                    self.mark_unresolved(p.op, &b, now);
                }
                Ok(self.recover(p.op, NextAction::Reconcile))
            }
            Step::Reconcile => Err(self.outcome_unknown(
                p.op,
                &format!("the psd052 query that reconciles it ended with {what}"),
            )),
            Step::Stage2(_) => {
                // The bank may have agreed a key we never saw: start over.
                if p.key_epoch == self.key_epoch {
                    self.discard_key();
                }
                Ok(self.recover(p.op, NextAction::Rehandshake))
            }
            Step::Stage1 | Step::Authenticate | Step::Renew | Step::Query => {
                Ok(self.recover(p.op, NextAction::Retry))
            }
        }
    }

    /// The operation a request belongs to (a copy).
    fn op_of(&self, p: &Pending) -> Option<Operation> {
        self.ops.get(&p.op).map(|s| s.op.clone())
    }

    /// The psd052 of the operation in progress (a `QueryBoleto`) answered:
    /// the bank has the boleto (`Some(seuNumero it reported)`) or does not
    /// (`None`). An unresolved registration of the same `nossoNumero` and
    /// `seuNumero` is resolved by it.
    fn resolve_by_query(&mut self, op: u64, found: Option<Option<&str>>) {
        let Some(Operation::QueryBoleto(q)) = self.ops.get(&op).map(|s| &s.op) else {
            return;
        };
        let Ok(nosso) = q.nosso_numero.trim().parse::<u64>() else {
            return;
        };
        let Some(entry) = self.unresolved.iter().find(|u| u.nosso_numero == nosso) else {
            return;
        };
        let same_seu = |s: &str| s.trim() == entry.seu_numero.trim();
        let answers = same_seu(&q.seu_numero)
            && match found {
                None | Some(None) => true,
                Some(Some(reported)) => same_seu(reported),
            };
        if answers {
            self.resolve_registration(nosso);
        }
    }

    fn outcome_unknown(&mut self, op: u64, why: &str) -> Error {
        let state = self.ops.get_mut(&op);
        let overflowed = state.as_ref().and_then(|s| s.overflowed.clone());
        let (nosso, seu) = match state.map(|s| &s.op) {
            Some(Operation::RegisterBoleto(b)) => (
                b.documento.nosso_numero.to_string(),
                b.documento.seu_numero.clone(),
            ),
            _ => (String::from("?"), String::from("?")),
        };
        let mut message = format!(
            "boleto nossoNumero {nosso} (seuNumero {seu:?}): whether psd050 registered it is unknown; {why}. The session keeps it unresolved: registering it again queries psd052 first"
        );
        if let Some(old) = overflowed {
            message.push_str(&format!(
                "; the set of unresolved registrations was full ({MAX_UNRESOLVED}): the oldest, nossoNumero {} (seuNumero {:?}, unresolved since {}), was dropped from it — check it with the bank before registering it again",
                old.nosso_numero, old.seu_numero, old.since
            ));
        }
        err(Code::BoletoOutcomeUnknown, message)
    }

    /// Reports that request `id` got no HTTP response: `failure` says how
    /// sending it failed (see [`TransportFailure`]). Like `handle_response`,
    /// the answer is the next step: `Continue(Some(Retry))` when the request
    /// may go again, `Continue(Some(Reconcile))` after an ambiguous psd050,
    /// or an error (`safra.boleto.outcome_unknown`, too many recoveries).
    pub fn handle_transport_error(
        &mut self,
        id: RequestId,
        failure: TransportFailure,
        now: u64,
    ) -> Result<Outcome, Error> {
        self.last_now = self.last_now.max(now);
        let p = self.take_pending(id)?;
        let outcome = if failure.is_ambiguous() {
            self.ambiguous(&p, &format!("a transport failure ({failure})"), now)
        } else {
            // Never sent: sending it (again) is always safe.
            Ok(self.recover(p.op, NextAction::Retry))
        };
        self.settle(p.op, outcome)
    }

    fn take_token(
        &mut self,
        json: &serde_json::Value,
        now: u64,
        need_work_id: bool,
    ) -> Result<TokenSchedule, Error> {
        let Some(token) = super::boleto::get_ci(json, "token").and_then(|t| t.as_str()) else {
            return Err(err(
                Code::MessageMalformed,
                "reply: expected string member \"token\"",
            ));
        };
        let sched = schedule(token, now, &self.profile)?;
        match super::boleto::get_ci(json, "workId") {
            Some(serde_json::Value::String(w)) => self.work_id = Some(w.clone()),
            Some(other) => self.work_id = Some(other.to_string()),
            None if need_work_id => {
                return Err(err(
                    Code::MessageMalformed,
                    "psd005 reply: expected member \"workId\"",
                ));
            }
            None => {}
        }
        self.token = Some(sched.clone());
        self.state = State::Authenticated;
        self.token_epoch = self.token_epoch.wrapping_add(1);
        self.generation = self.generation.wrapping_add(1);
        Ok(sched)
    }

    /// Hands back the response to request `id`, received at `now`.
    pub fn handle_response(
        &mut self,
        id: RequestId,
        response: &ReceivedResponse,
        now: u64,
        rng: &mut dyn CryptoRng,
    ) -> Result<Outcome, Error> {
        self.last_now = self.last_now.max(now);
        let p = self.take_pending(id)?;
        let outcome = self.on_response(&p, response, now, rng);
        self.settle(p.op, outcome)
    }

    /// Removes request `id` from the requests in flight (and from its
    /// operation's, and as the transition in flight).
    fn take_pending(&mut self, id: RequestId) -> Result<Pending, Error> {
        let Some(p) = self.pending.remove(&id.0) else {
            return Err(unknown_request(id));
        };
        if let Some(state) = self.ops.get_mut(&p.op) {
            state.requests.retain(|r| *r != id.0);
        }
        if self.transition.is_some_and(|t| t.request == id.0) {
            self.transition = None;
        }
        Ok(p)
    }

    fn on_response(
        &mut self,
        p: &Pending,
        response: &ReceivedResponse,
        now: u64,
        rng: &mut dyn CryptoRng,
    ) -> Result<Outcome, Error> {
        let status = response.status;
        // A failure of credentials another operation already replaced
        // changes nothing: the request goes again with the new ones.
        let key_current = p.key_epoch == self.key_epoch;
        let token_current = p.token_epoch == self.token_epoch;
        if is_key_expired(status, &response.headers)
            || (status == 480 && self.profile.on_480 == On480::Reinit)
        {
            if key_current {
                self.discard_key();
            }
            return Ok(self.recover(p.op, NextAction::Rehandshake));
        }
        if status == 480 {
            if token_current {
                self.discard_token();
            }
            return Ok(self.recover(p.op, NextAction::Reauthenticate));
        }
        if status == 550 {
            let reply = self.business_error(p, &response.body)?;
            let not_found = match &reply {
                Reply::BusinessError { status, .. } => status
                    .as_ref()
                    .and_then(|s| s.codigo)
                    .is_some_and(|c| self.profile.boleto_not_found_codes.contains(&c)),
                _ => false,
            };
            if p.step == Step::Query && not_found {
                // A psd052 answered for it: the bank does not have it.
                self.resolve_by_query(p.op, None);
            }
            if p.step == Step::Reconcile {
                let Reply::BusinessError { status, .. } = &reply else {
                    return Err(self.outcome_unknown(p.op, "the reconciling query failed"));
                };
                let codigo = status.as_ref().and_then(|s| s.codigo);
                if not_found {
                    // The bank does not have it: registering again is safe.
                    if let Some(Operation::RegisterBoleto(b)) = self.op_of(p) {
                        self.resolve_registration(b.documento.nosso_numero);
                    }
                    return Ok(self.recover(p.op, NextAction::Retry));
                }
                let shown = codigo.map_or_else(|| "absent".to_string(), |c| c.to_string());
                return Err(self.outcome_unknown(p.op, &format!(
                    "the psd052 query answered 550 with statusProcessamento.codigo {shown}, which profile.boleto_not_found_codes does not list as not found"
                )));
            }
            return Ok(self.done(reply));
        }
        if status == 401
            && matches!(
                p.step,
                Step::Renew | Step::Register | Step::Query | Step::Reconcile
            )
        {
            // The bank no longer knows our token (e.g. a psd007 reply was
            // lost after the bank had already renewed): authenticate again.
            if token_current {
                self.discard_token();
            }
            return Ok(self.recover(p.op, NextAction::Reauthenticate));
        }
        if (400..500).contains(&status) || status == 500 {
            // `auto`: a refused stage 2 (4xx, or a plain 500 from a bank
            // whose decryption threw) moves on to the next padding.
            if let Step::Stage2(_) = p.step {
                let auto =
                    self.profile.padding == PaddingChoice::Auto && self.padding_winner.is_none();
                if auto && self.auto_index.saturating_add(1) < Padding::ALL.len() {
                    self.auto_index = self.auto_index.saturating_add(1);
                    self.discard_key();
                    return Ok(Outcome::Continue(Some(NextAction::Rehandshake)));
                }
            }
        }
        if (400..500).contains(&status) {
            if p.step == Step::Reconcile {
                return Err(self.outcome_unknown(
                    p.op,
                    &format!("the psd052 query that reconciles it was refused with HTTP {status}"),
                ));
            }
            let excerpt: String = String::from_utf8_lossy(&response.body)
                .chars()
                .take(200)
                .collect();
            return Err(err(
                Code::StatusRequestError,
                format!("HTTP {status} from {:?}: {excerpt}", p.step),
            ));
        }
        if status >= 500 {
            return self.ambiguous(p, &format!("HTTP {status}"), now);
        }
        if !(200..300).contains(&status) {
            return Err(err(
                Code::StatusRequestError,
                format!("unexpected HTTP status {status}"),
            ));
        }
        match p.step {
            Step::Stage1 => {
                let key = handshake::parse_stage1_reply(&response.body)?;
                let pin = key.spki_pin()?;
                if !self.profile.bank_key_pinned(&pin) {
                    self.discard_key();
                    return Err(err(
                        Code::HandshakeBankKeyNotPinned,
                        format!(
                            "the stage-1 bank key (pin {pin}) is not one of the {} pins of profile bank_key_pins: nothing more is sent with it",
                            self.profile.bank_key_pins.len()
                        ),
                    ));
                }
                self.bank_key = Some(key);
                self.state = State::KeysSent;
                Ok(Outcome::Continue(None))
            }
            Step::Stage2(_) => {
                let paddings = match self.padding_winner {
                    Some(w) => vec![w],
                    None => self.profile.padding.candidates(),
                };
                let messages = match self.signature_winner {
                    Some(w) => vec![w],
                    None => self.profile.signature_message.candidates(),
                };
                let (Some(client), Some(bank)) = (&self.client_key, &self.bank_key) else {
                    return Err(err(Code::SessionNotReady, "stage 2 reply without stage 1"));
                };
                let agreed = handshake::parse_stage2_reply(
                    self.provider,
                    &response.body,
                    client,
                    bank,
                    &paddings,
                    &messages,
                    rng,
                )?;
                self.padding_winner = Some(agreed.padding);
                self.signature_winner = Some(agreed.signature_message);
                self.aes_key = Some(Arc::new(agreed.key));
                self.ivs.clear();
                self.state = State::KeyAgreed;
                self.key_epoch = self.key_epoch.wrapping_add(1);
                self.token_epoch = self.token_epoch.wrapping_add(1);
                self.generation = self.generation.wrapping_add(1);
                if p.kind == OpKind::Handshake {
                    let reply = Reply::KeyAgreed {
                        padding: agreed.padding,
                        signature_message: agreed.signature_message,
                    };
                    Ok(self.done(reply))
                } else {
                    Ok(Outcome::Continue(None))
                }
            }
            Step::Authenticate => {
                if !key_current {
                    // Sent with a key another operation discarded since.
                    return Ok(self.recover(p.op, NextAction::Rehandshake));
                }
                let (mut json, iv_reused) = self.open_reply(p, &response.body)?;
                let taken = self.take_token(&json, now, true);
                // The parsed reply holds the token: wiped before it is dropped.
                crate::encoding::wipe_json(&mut json);
                let mut sched = taken?;
                sched.iv_reused = iv_reused;
                if p.kind == OpKind::Authenticate {
                    Ok(self.done(Reply::Authenticated(sched)))
                } else {
                    Ok(Outcome::Continue(None))
                }
            }
            Step::Renew => {
                if !key_current {
                    // Sent with a key another operation discarded since.
                    return Ok(self.recover(p.op, NextAction::Rehandshake));
                }
                let (mut json, iv_reused) = self.open_reply(p, &response.body)?;
                if self.work_id.is_none() {
                    // A 401 for the old token discarded it meanwhile: the
                    // renewed token belongs to the workId it was renewed for.
                    self.work_id.clone_from(&p.renews_work_id);
                }
                let taken = self.take_token(&json, now, false);
                // The parsed reply holds the token: wiped before it is dropped.
                crate::encoding::wipe_json(&mut json);
                let mut sched = taken?;
                sched.iv_reused = iv_reused;
                if p.kind == OpKind::Renew {
                    Ok(self.done(Reply::Renewed(sched)))
                } else {
                    Ok(Outcome::Continue(None))
                }
            }
            Step::Register => {
                let reply = self.boleto_reply(p, &response.body)?;
                Ok(self.done(Reply::BoletoRegistered(reply)))
            }
            Step::Query => {
                let reply = self.boleto_reply(p, &response.body)?;
                let found_seu = reply.documento.as_ref().and_then(|d| d.seu_numero.clone());
                if reply.documento.is_some() {
                    // A psd052 answered for it: the bank has it.
                    self.resolve_by_query(p.op, Some(found_seu.as_deref()));
                }
                Ok(self.done(Reply::BoletoQueried(reply)))
            }
            Step::Reconcile => {
                let mut reply = self.boleto_reply(p, &response.body)?;
                let seu = reply.documento.as_ref().and_then(|d| d.seu_numero.clone());
                let op = self.op_of(p);
                let expected = match &op {
                    Some(Operation::RegisterBoleto(b)) => Some(b.documento.seu_numero.clone()),
                    _ => None,
                };
                if let (Some(found), Some(expected)) = (&seu, &expected)
                    && found.trim() != expected.trim()
                {
                    return Err(self.outcome_unknown(
                        p.op,
                        &format!("the reconciling psd052 found a boleto with seuNumero {found:?}"),
                    ));
                }
                if let Some(Operation::RegisterBoleto(b)) = &op {
                    let nosso = b.documento.nosso_numero;
                    self.resolve_registration(nosso);
                }
                reply.reconciled = true;
                Ok(self.done(Reply::BoletoRegistered(reply)))
            }
        }
    }

    /// Exports the session (keys included) as JSON bytes, so another process
    /// can continue it. The blob holds secrets: encrypt it at rest. In-flight
    /// requests are not exported.
    pub fn export(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let snap = Snapshot {
            version: SNAPSHOT_VERSION,
            profile: self.profile.clone(),
            base_url: self.base_url.clone(),
            cliente: self.cliente.clone(),
            client_key_pkcs8: match &self.client_key {
                Some(k) => Some(Zeroizing::new(b64(&k.to_pkcs8_der()?))),
                None => None,
            },
            session_id: self.session_id.clone(),
            bank_key_spki: match &self.bank_key {
                Some(k) => Some(b64(&k.to_spki_der()?)),
                None => None,
            },
            aes_key: self.aes_key.as_deref().map(SessionKey::to_b64),
            token: self.token.clone(),
            work_id: self.work_id.clone(),
            seen_ivs: self.ivs.ivs().map(|iv| b64(iv)).collect(),
            state: self.state,
            auto_index: self.auto_index,
            padding_winner: self.padding_winner,
            signature_winner: self.signature_winner,
            unresolved: self.unresolved.iter().cloned().collect(),
            generation: self.generation,
        };
        crate::encoding::to_json_zeroizing(&snap)
            .map_err(|e| err(Code::SessionBadSnapshot, format!("export failed: {e}")))
    }

    /// Imports a session exported by [`Session::export`].
    pub fn import(bytes: &[u8]) -> Result<Self, Error> {
        let bad = |m: String| err(Code::SessionBadSnapshot, m);
        let snap: Snapshot = serde_json::from_slice(bytes)
            .map_err(|e| bad(format!("snapshot JSON rejected: {e}")))?;
        if !(1..=SNAPSHOT_VERSION).contains(&snap.version) {
            return Err(bad(format!(
                "snapshot version: expected 1 to {SNAPSHOT_VERSION}, found {}",
                snap.version
            )));
        }
        if snap.unresolved.len() > MAX_UNRESOLVED {
            return Err(bad(format!(
                "unresolved: at most {MAX_UNRESOLVED} registrations, found {}",
                snap.unresolved.len()
            )));
        }
        let mut s = Session::new(snap.profile, snap.base_url, snap.cliente)?;
        let decode = |what: &str, t: &str| {
            b64_decode(t)
                .map(Zeroizing::new)
                .map_err(|e| bad(format!("{what}: {e}")))
        };
        if let Some(k) = &snap.client_key_pkcs8 {
            s.client_key = Some(
                RsaPrivateKey::import(&decode("client_key_pkcs8", k)?)
                    .map_err(|e| bad(e.to_string()))?,
            );
        }
        if let Some(k) = &snap.bank_key_spki {
            s.bank_key = Some(
                RsaPublicKey::import(&decode("bank_key_spki", k)?)
                    .map_err(|e| bad(e.to_string()))?,
            );
        }
        if let Some(k) = &snap.aes_key {
            s.aes_key = Some(Arc::new(
                SessionKey::from_slice(&decode("aes_key", k)?).map_err(|e| bad(e.to_string()))?,
            ));
        }
        for iv in &snap.seen_ivs {
            let bytes = decode("seen_ivs", iv)?;
            let arr: [u8; 16] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| bad("seen_ivs: an IV is not 16 bytes".into()))?;
            s.ivs.insert(arr);
        }
        let consistent = match snap.state {
            State::New => true,
            State::KeysSent => s.bank_key.is_some() && s.client_key.is_some(),
            State::KeyAgreed => s.aes_key.is_some(),
            State::Authenticated => {
                s.aes_key.is_some() && snap.token.is_some() && snap.work_id.is_some()
            }
        };
        if !consistent {
            return Err(bad(format!(
                "state {:?} lacks the keys or token it needs",
                snap.state
            )));
        }
        s.session_id = snap.session_id;
        s.token = snap.token;
        s.work_id = snap.work_id;
        s.state = snap.state;
        s.auto_index = snap.auto_index.min(Padding::ALL.len().saturating_sub(1));
        s.padding_winner = snap.padding_winner;
        s.signature_winner = snap.signature_winner;
        s.generation = snap.generation;
        for u in snap.unresolved {
            if !s.is_unresolved(u.nosso_numero) {
                s.unresolved.push_back(u);
            }
        }
        Ok(s)
    }
}

/// The credentials business calls need: what the instances of a fleet
/// share (SPEC §5, `docs/shared-state.md`), sealed by `selo::shared`
/// before they reach a store. Never the client's long-term private key.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    version: u32,
    base_url: BaseUrl,
    cliente: String,
    session_id: String,
    aes_key: Zeroizing<String>,
    token: Option<TokenSchedule>,
    work_id: Option<String>,
    padding_winner: Option<Padding>,
    signature_winner: Option<SignatureMessage>,
}

const CREDENTIALS_VERSION: u32 = 1;

impl Session {
    /// The credentials business calls need, as JSON for a shared store:
    /// session id, AES key, token and its schedule, workId, the handshake
    /// choices. Secret: seal it (`selo::shared::seal`) before it leaves the
    /// process. `safra.session.not_ready` before a key is agreed.
    pub fn export_credentials(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let Some(key) = self.aes_key.as_deref() else {
            return Err(err(
                Code::SessionNotReady,
                "no key agreed: nothing to share",
            ));
        };
        let c = Credentials {
            version: CREDENTIALS_VERSION,
            base_url: self.base_url.clone(),
            cliente: self.cliente.clone(),
            session_id: self.session_id.clone(),
            aes_key: key.to_b64(),
            token: self.token.clone(),
            work_id: self.work_id.clone(),
            padding_winner: self.padding_winner,
            signature_winner: self.signature_winner,
        };
        crate::encoding::to_json_zeroizing(&c).map_err(|e| {
            err(
                Code::SessionBadSnapshot,
                format!("credentials export failed: {e}"),
            )
        })
    }

    /// Takes over credentials another instance exported (see
    /// [`Session::export_credentials`]): from now on business calls use
    /// them, and failures of the credentials held before change nothing.
    /// Refused (`safra.session.bad_snapshot`) when they belong to another
    /// bank URL or client code, or are malformed. Operations in flight keep
    /// running; their replies are opened with the key they were sent with.
    pub fn adopt_credentials(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let bad = |m: String| err(Code::SessionBadSnapshot, m);
        let c: Credentials = serde_json::from_slice(bytes)
            .map_err(|e| bad(format!("credentials JSON rejected: {e}")))?;
        if c.version != CREDENTIALS_VERSION {
            return Err(bad(format!(
                "credentials version: expected {CREDENTIALS_VERSION}, found {}",
                c.version
            )));
        }
        if c.base_url != self.base_url || c.cliente != self.cliente {
            return Err(bad(
                "the credentials belong to another bank URL or client code".into(),
            ));
        }
        if c.token.is_some() != c.work_id.is_some() {
            return Err(bad("a token needs its workId and the reverse".into()));
        }
        let key = SessionKey::from_b64(&c.aes_key).map_err(|e| bad(e.to_string()))?;
        let same = self.session_id == c.session_id
            && self.aes_key.as_deref() == Some(&key)
            && self.token.as_ref().map(|t| t.token.as_str())
                == c.token.as_ref().map(|t| t.token.as_str());
        if same {
            // Already ours: failures of them still count as current.
            return Ok(());
        }
        self.session_id = c.session_id;
        self.aes_key = Some(Arc::new(key));
        self.ivs.clear();
        self.bank_key = None;
        self.padding_winner = c.padding_winner.or(self.padding_winner);
        self.signature_winner = c.signature_winner.or(self.signature_winner);
        self.state = if c.token.is_some() {
            State::Authenticated
        } else {
            State::KeyAgreed
        };
        self.token = c.token;
        self.work_id = c.work_id;
        self.key_epoch = self.key_epoch.wrapping_add(1);
        self.token_epoch = self.token_epoch.wrapping_add(1);
        self.generation = self.generation.wrapping_add(1);
        self.wants_lease = false;
        Ok(())
    }

    /// True when request `id` is a transition (a handshake stage, psd005 or
    /// psd007): a fleet runs those under its shared lease. False for
    /// business calls and for ids not in flight.
    pub fn is_transition(&self, id: RequestId) -> bool {
        self.pending
            .get(&id.0)
            .is_some_and(|p| p.step.is_transition())
    }
}

fn unknown_request(id: RequestId) -> Error {
    err(
        Code::SessionUnknownRequest,
        format!("request id {} is unknown or already handled", id.0),
    )
}

/// The psd052 that finds out whether a psd050 of `b` was registered.
fn reconcile_query(b: &BoletoRequest) -> BoletoQuery {
    BoletoQuery {
        nosso_numero: b.documento.nosso_numero.to_string(),
        seu_numero: b.documento.seu_numero.clone(),
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Snapshot {
    version: u32,
    profile: SafraProfile,
    base_url: BaseUrl,
    cliente: String,
    client_key_pkcs8: Option<Zeroizing<String>>,
    session_id: String,
    bank_key_spki: Option<String>,
    aes_key: Option<Zeroizing<String>>,
    token: Option<TokenSchedule>,
    work_id: Option<String>,
    seen_ivs: Vec<String>,
    state: State,
    auto_index: usize,
    padding_winner: Option<Padding>,
    signature_winner: Option<SignatureMessage>,
    /// Version 2: the unresolved registrations (absent in version 1).
    #[serde(default)]
    unresolved: Vec<UnresolvedRegistration>,
    /// Version 3: the credentials' generation (absent before: 0).
    #[serde(default)]
    generation: u64,
}

/// The snapshot version [`Session::export`] writes; import reads 1 to 3.
const SNAPSHOT_VERSION: u32 = 3;
