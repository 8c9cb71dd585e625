//! Banco Safra PSD: the client session state machine, the bank role, and
//! the building blocks (handshake stages, envelopes, token schedule, boleto
//! validation) for hosts and tests.
//!
//! The host loop, in C:
//!
//! ```c
//! uint64_t id; SeloRequest *req; SeloResponse *resp; uint32_t step; SeloSafraReply *reply;
//! for (;;) {
//!     selo_safra_session_prepare_next(s, SELO_SAFRA_OP_AUTHENTICATE, "", now(), &id, &req);
//!     resp = send(req);                       /* any HTTP stack */
//!     selo_safra_session_handle_response(s, id, resp, now(), &step, &reply);
//!     if (step == SELO_SAFRA_STEP_DONE) break; /* else: continue (the step says why) */
//! }
//! ```

use crate::http::{SeloRequest, SeloResponse};
use crate::keys::{SeloPrivateKey, SeloPublicKey};
use crate::{
    FfiError, FfiResult, Out, Rng, SeloBuffer, SeloStatus, alloc_buffer, alloc_string, bytes_arg,
    call, free_handle, guard, handle_mut, handle_ref, new_handle, seeded_rng, str_arg, system_rng,
    time_arg,
};
use selo::crypto::{Padding, default_provider};
use selo::http::TransportFailure;
use selo::keys::KeyFormat;
use selo::safra::bank::{Bank, BankConfig, Fault};
use selo::safra::boleto::{BoletoQuery, BoletoRequest};
use selo::safra::envelope::{SessionKey, open_bytes, seal_with_iv};
use selo::safra::{
    BaseUrl, Next, NextAction, Operation, OperationId, Outcome, PaddingChoice, Reply, RequestId,
    SafraProfile, Session, SignatureMessage, State, handshake, token,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::ffi::c_char;
use zeroize::Zeroizing;

/// What a host asks a session to do (`op` of `prepare_next`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloSafraOp {
    /// A new handshake (psd001, both stages). Payload `""`.
    Handshake = 0,
    /// Authenticate (psd005). Payload `""`.
    Authenticate = 1,
    /// Renew the token (psd007). Payload `""`.
    Renew = 2,
    /// Register a boleto (psd050). Payload: the boleto JSON (SPEC §2.7).
    RegisterBoleto = 3,
    /// Query a boleto (psd052). Payload: `{"documento":{"nossoNumero":…,"seuNumero":…}}`.
    QueryBoleto = 4,
}

/// What `handle_response` decided (`step_out`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloSafraStep {
    /// A prerequisite step succeeded: call `prepare_next` again.
    Continue = 0,
    /// The key was discarded (500 + `amc-criptografia: erro`, or 480):
    /// a new handshake follows. Call `prepare_next` again.
    Rehandshake = 1,
    /// The token was discarded (480 with `on_480 = reauth`): call again.
    Reauthenticate = 2,
    /// The token is due: call again (psd007 follows).
    Renew = 3,
    /// Transient server error: call again (the request is prepared anew).
    Retry = 4,
    /// The operation finished: `reply_out` holds the reply.
    Done = 5,
    /// psd050's outcome is unknown: call again (a psd052 query for the same
    /// boleto follows before anything is registered again).
    Reconcile = 6,
}

/// How sending a request failed before any response arrived (for
/// `selo_safra_session_handle_transport_error`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloTransportFailure {
    /// No connection (refused, DNS, TLS): the request was never written.
    Connect = 0,
    /// No reply before the host's deadline.
    Timeout = 1,
    /// The connection closed or reset after the request was (maybe) sent.
    Reset = 2,
    /// Any other failure after the request may have been sent.
    Other = 3,
}

/// The kind of a finished operation's reply.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloSafraReplyKind {
    /// Handshake done; fields `padding`, `signature_message`.
    KeyAgreed = 0,
    /// psd005 done; fields `token`, `exp`, `iat`, `lifetime`, `received_at`,
    /// `renew_at`, `expires_at`.
    Authenticated = 1,
    /// psd007 done; same fields as `Authenticated`.
    Renewed = 2,
    /// psd050 reply; fields `codigo`, `mensagem`, `nosso_numero`,
    /// `seu_numero`, `codigo_barras`, `registrado_cip` (each when present).
    BoletoRegistered = 3,
    /// psd052 reply; same fields as `BoletoRegistered`.
    BoletoQueried = 4,
    /// HTTP 550 business refusal; fields `codigo`, `mensagem` when the body
    /// had a `statusProcessamento`.
    BusinessError = 5,
}

/// The session state (`selo_safra_session_state`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloSafraState {
    /// No handshake yet (or the last one was discarded).
    New = 0,
    /// Stage 1 done.
    KeysSent = 1,
    /// Stage 2 done: AES key agreed.
    KeyAgreed = 2,
    /// psd005 done: token and workId held.
    Authenticated = 3,
}

/// A one-shot misbehaviour of the bank role (`selo_safra_bank_inject`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeloSafraFault {
    /// Forget the session key and answer 500 + `amc-criptografia: erro`.
    ExpireKey = 0,
    /// Answer 480 and invalidate the token.
    Answer480 = 1,
    /// Answer 550 with a business status.
    Answer550 = 2,
}

fn profile_arg(p: *const c_char) -> FfiResult<SafraProfile> {
    let s = str_arg(p, "profile_json")?;
    if s.trim().is_empty() {
        Ok(SafraProfile::default())
    } else {
        Ok(SafraProfile::from_json(s)?)
    }
}

// --------------------------------------------------------------------------
// The client session.

/// A Safra PSD client session (opaque). Not for concurrent use.
pub struct SeloSafraSession {
    pub(crate) inner: Session,
    pub(crate) rng: Rng,
}

/// A new session. `profile_json` is a `SafraProfile` JSON (`""` = SPEC
/// defaults); `base_url` is `"homologation"`, `"production"` or a URL;
/// `cliente` is the client code psd005 sends. Randomness comes from the
/// system RNG.
///
/// # Safety
/// String arguments are NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_new(
    profile_json: *const c_char,
    base_url: *const c_char,
    cliente: *const c_char,
    out: *mut *mut SeloSafraSession,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let profile = profile_arg(profile_json)?;
        let base = BaseUrl::parse(str_arg(base_url, "base_url")?);
        let inner = Session::new(profile, base, str_arg(cliente, "cliente")?)?;
        out.write(new_handle(SeloSafraSession {
            inner,
            rng: system_rng(),
        }));
        Ok(())
    })
}

/// Uses a copy of `key` as the client key instead of generating one.
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_set_client_key(
    session: *mut SeloSafraSession,
    key: *const SeloPrivateKey,
) -> SeloStatus {
    call(|| {
        let s = handle_mut(session, "session")?;
        let k = handle_ref(key, "key")?;
        s.inner.set_client_key(k.inner.clone());
        Ok(())
    })
}

/// Replaces the session's RNG by a deterministic ChaCha20 stream seeded with
/// 32 bytes. For tests and reproducible transcripts only.
///
/// # Safety
/// `seed` points to `seed_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_set_seed(
    session: *mut SeloSafraSession,
    seed: *const u8,
    seed_len: usize,
) -> SeloStatus {
    call(|| {
        let s = handle_mut(session, "session")?;
        s.rng = seeded_rng(bytes_arg(seed, seed_len, "seed")?)?;
        Ok(())
    })
}

fn operation(op: u32, payload: &str) -> FfiResult<Operation> {
    Ok(match op {
        0 => Operation::Handshake,
        1 => Operation::Authenticate,
        2 => Operation::Renew,
        3 => Operation::RegisterBoleto(BoletoRequest::from_json(payload)?),
        4 => {
            let v: Value = serde_json::from_str(payload).map_err(|e| {
                FfiError::from(selo::safra::Error::new(
                    selo::safra::Code::MessageMalformed,
                    format!("boleto query JSON rejected: {e}"),
                ))
            })?;
            Operation::QueryBoleto(BoletoQuery::from_value(&v)?)
        }
        other => {
            return Err(FfiError::arg(format!(
                "op: expected a SeloSafraOp (0..=4), found {other}"
            )));
        }
    })
}

/// The next request operation `op` needs at time `now`: a prerequisite
/// (handshake, authentication, renewal) or the operation's own request.
/// `payload_json` is the boleto (op 3) or query (op 4) JSON, `""` otherwise.
/// Send `*request_out` and hand its response to
/// `selo_safra_session_handle_response` with `*request_id_out`.
///
/// # Safety
/// `payload_json` is NUL-terminated; the out pointers are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_prepare_next(
    session: *mut SeloSafraSession,
    op: u32,
    payload_json: *const c_char,
    now: i64,
    request_id_out: *mut u64,
    request_out: *mut *mut SeloRequest,
) -> SeloStatus {
    call(|| {
        let id_out = Out::new(request_id_out, "request_id_out")?;
        let req_out = Out::new(request_out, "request_out")?;
        let s = handle_mut(session, "session")?;
        let op = operation(op, str_arg(payload_json, "payload_json")?)?;
        let now = time_arg(now, "now")?;
        let (id, req) = s.inner.prepare_next(&op, now, s.rng.as_mut())?;
        let req = SeloRequest::from_prepared(req)?;
        id_out.write(id.0);
        req_out.write(new_handle(req));
        Ok(())
    })
}

/// The reply of a finished operation (opaque).
///
/// Built without any step that can fail (the operation it reports is
/// already finished in the session: an error here would make the host
/// retry a registered boleto). Texts are kept as bytes with a NUL after
/// them, any byte allowed inside (a `\u0000` in a bank's `mensagem` is a
/// NUL byte here); they may hold the token, so they are zeroized on free.
pub struct SeloSafraReply {
    kind: SeloSafraReplyKind,
    json: Text,
    fields: BTreeMap<String, Text>,
}

/// A text of a reply: UTF-8 bytes and a NUL after them (not counted in
/// `len()`), zeroized on drop.
struct Text(Zeroizing<Vec<u8>>);

impl Text {
    fn new(s: &str) -> Self {
        Self::from_bytes(s.as_bytes())
    }

    fn from_bytes(b: &[u8]) -> Self {
        let mut v = Zeroizing::new(Vec::with_capacity(b.len().saturating_add(1)));
        v.extend_from_slice(b);
        v.push(0);
        Text(v)
    }

    fn as_ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }

    fn len(&self) -> usize {
        self.0.len().saturating_sub(1)
    }
}

fn schedule_fields(t: &token::TokenSchedule, f: &mut BTreeMap<String, String>) {
    f.insert("token".into(), t.token.clone());
    f.insert("exp".into(), t.exp.to_string());
    f.insert("iat".into(), t.iat.to_string());
    f.insert("lifetime".into(), t.lifetime.to_string());
    f.insert("received_at".into(), t.received_at.to_string());
    f.insert("renew_at".into(), t.renew_at.to_string());
    f.insert("expires_at".into(), t.expires_at.to_string());
}

fn status_fields(
    s: Option<&selo::safra::boleto::StatusProcessamento>,
    f: &mut BTreeMap<String, String>,
) {
    if let Some(s) = s {
        if let Some(c) = s.codigo {
            f.insert("codigo".into(), c.to_string());
        }
        f.insert("mensagem".into(), s.mensagem.clone());
    }
}

fn boleto_fields(b: &selo::safra::boleto::BoletoReply, f: &mut BTreeMap<String, String>) {
    status_fields(b.status_processamento.as_ref(), f);
    f.insert("reconciled".into(), b.reconciled.to_string());
    f.insert("iv_reused".into(), b.iv_reused.to_string());
    if let Some(d) = &b.documento {
        for (k, v) in [
            ("nosso_numero", &d.nosso_numero),
            ("seu_numero", &d.seu_numero),
            ("codigo_barras", &d.codigo_barras),
            ("registrado_cip", &d.registrado_cip),
        ] {
            if let Some(v) = v {
                f.insert(k.into(), v.clone());
            }
        }
    }
}

fn reply_of(r: &Reply) -> SeloSafraReply {
    let mut f = BTreeMap::new();
    let (kind, json) = match r {
        Reply::KeyAgreed {
            padding,
            signature_message,
        } => {
            f.insert("padding".into(), padding.as_str().to_string());
            let sm = serde_json::to_value(signature_message)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            f.insert("signature_message".into(), sm);
            (
                SeloSafraReplyKind::KeyAgreed,
                json!({"kind": "key_agreed", "padding": padding, "signature_message": signature_message}),
            )
        }
        Reply::Authenticated(t) => {
            schedule_fields(t, &mut f);
            (
                SeloSafraReplyKind::Authenticated,
                json!({"kind": "authenticated", "token": t}),
            )
        }
        Reply::Renewed(t) => {
            schedule_fields(t, &mut f);
            (
                SeloSafraReplyKind::Renewed,
                json!({"kind": "renewed", "token": t}),
            )
        }
        Reply::BoletoRegistered(b) => {
            boleto_fields(b, &mut f);
            (
                SeloSafraReplyKind::BoletoRegistered,
                json!({"kind": "boleto_registered", "reply": b}),
            )
        }
        Reply::BoletoQueried(b) => {
            boleto_fields(b, &mut f);
            (
                SeloSafraReplyKind::BoletoQueried,
                json!({"kind": "boleto_queried", "reply": b}),
            )
        }
        Reply::BusinessError { status, body } => {
            status_fields(status.as_ref(), &mut f);
            (
                SeloSafraReplyKind::BusinessError,
                json!({"kind": "business_error", "status_processamento": status, "body": body}),
            )
        }
    };
    let mut json = json;
    // Serialised into one exact-size buffer (no growing copy of the token
    // left behind), then the parsed value's strings are wiped.
    let text = selo::encoding::to_json_zeroizing(&json).unwrap_or_default();
    selo::encoding::wipe_json(&mut json);
    let json = Text::from_bytes(&text);
    let fields = f
        .into_iter()
        .map(|(k, v)| (k, Text::new(&Zeroizing::new(v))))
        .collect();
    SeloSafraReply { kind, json, fields }
}

/// Hands back the response to request `request_id`, received at `now`.
/// On success `*step_out` says what happens next (a `SeloSafraStep`); when
/// it is `SELO_SAFRA_STEP_DONE`, `*reply_out` is the reply (free it with
/// `selo_safra_reply_free`), otherwise `*reply_out` is NULL. An HTTP 4xx,
/// a bad reply or too many recoveries fail with `SELO_ERR_SAFRA`.
///
/// # Safety
/// The out pointers are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_handle_response(
    session: *mut SeloSafraSession,
    request_id: u64,
    response: *const SeloResponse,
    now: i64,
    step_out: *mut u32,
    reply_out: *mut *mut SeloSafraReply,
) -> SeloStatus {
    call(|| {
        let step_out = Out::new(step_out, "step_out")?;
        let reply_out = Out::new(reply_out, "reply_out")?;
        let s = handle_mut(session, "session")?;
        let r = handle_ref(response, "response")?;
        let now = time_arg(now, "now")?;
        let outcome = s.inner.handle_response(
            RequestId(request_id),
            &r.to_received(),
            now,
            s.rng.as_mut(),
        )?;
        write_outcome(outcome, step_out, reply_out)
    })
}

fn write_outcome(
    outcome: Outcome,
    step_out: Out<u32>,
    reply_out: Out<*mut SeloSafraReply>,
) -> FfiResult<()> {
    match outcome {
        Outcome::Continue(action) => {
            let step = match action {
                None => SeloSafraStep::Continue,
                Some(NextAction::Rehandshake) => SeloSafraStep::Rehandshake,
                Some(NextAction::Reauthenticate) => SeloSafraStep::Reauthenticate,
                Some(NextAction::Renew) => SeloSafraStep::Renew,
                Some(NextAction::Retry) => SeloSafraStep::Retry,
                Some(NextAction::Reconcile) => SeloSafraStep::Reconcile,
            };
            step_out.write(step as u32);
            reply_out.write(std::ptr::null_mut());
        }
        Outcome::Done(reply) => {
            let reply = reply_of(&reply);
            step_out.write(SeloSafraStep::Done as u32);
            reply_out.write(new_handle(reply));
        }
    }
    Ok(())
}

/// Reports that request `request_id` got no HTTP response: `failure` is a
/// `SeloTransportFailure` (connect, timeout, reset, other). The session
/// decides what follows, exactly as `selo_safra_session_handle_response`
/// does: `SELO_SAFRA_STEP_RETRY` (send anew), `SELO_SAFRA_STEP_RECONCILE`
/// (after an ambiguous psd050), or an error (`safra.boleto.outcome_unknown`
/// naming the boleto, too many recoveries).
///
/// # Safety
/// The out pointers are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_handle_transport_error(
    session: *mut SeloSafraSession,
    request_id: u64,
    failure: u32,
    now: i64,
    step_out: *mut u32,
    reply_out: *mut *mut SeloSafraReply,
) -> SeloStatus {
    call(|| {
        let step_out = Out::new(step_out, "step_out")?;
        let reply_out = Out::new(reply_out, "reply_out")?;
        let s = handle_mut(session, "session")?;
        let failure = match failure {
            0 => TransportFailure::Connect,
            1 => TransportFailure::Timeout,
            2 => TransportFailure::Reset,
            3 => TransportFailure::Other,
            other => {
                return Err(FfiError::arg(format!(
                    "failure: expected a SeloTransportFailure (0..=3), found {other}"
                )));
            }
        };
        let now = time_arg(now, "now")?;
        let outcome = s
            .inner
            .handle_transport_error(RequestId(request_id), failure, now)?;
        write_outcome(outcome, step_out, reply_out)
    })
}

/// The session state (a `SeloSafraState`), or `UINT32_MAX` for an invalid handle.
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_state(session: *const SeloSafraSession) -> u32 {
    guard(u32::MAX, || {
        handle_ref(session, "session").map_or(u32::MAX, |s| {
            (match s.inner.state() {
                State::New => SeloSafraState::New,
                State::KeysSent => SeloSafraState::KeysSent,
                State::KeyAgreed => SeloSafraState::KeyAgreed,
                State::Authenticated => SeloSafraState::Authenticated,
            }) as u32
        })
    })
}

/// The current session GUID (empty before the first handshake).
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_id(
    session: *const SeloSafraSession,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let s = handle_ref(session, "session")?;
        out.write(alloc_string(s.inner.session_id().to_string())?);
        Ok(())
    })
}

/// Exports the session (keys included: encrypt it at rest) so another
/// process can continue it with `selo_safra_session_import`.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_export(
    session: *const SeloSafraSession,
    out: *mut SeloBuffer,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let s = handle_ref(session, "session")?;
        let blob = s.inner.export()?;
        out.write(alloc_buffer(blob.to_vec()));
        Ok(())
    })
}

/// Imports a session exported by `selo_safra_session_export` (system RNG).
///
/// # Safety
/// `data` points to `len` readable bytes; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_import(
    data: *const u8,
    len: usize,
    out: *mut *mut SeloSafraSession,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let inner = Session::import(bytes_arg(data, len, "data")?)?;
        out.write(new_handle(SeloSafraSession {
            inner,
            rng: system_rng(),
        }));
        Ok(())
    })
}

/// Frees a session (keys zeroized; NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_free(session: *mut SeloSafraSession) {
    free_handle(session);
}

/// The reply kind (a `SeloSafraReplyKind`), or `UINT32_MAX` for an invalid handle.
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_reply_kind(reply: *const SeloSafraReply) -> u32 {
    guard(u32::MAX, || {
        handle_ref(reply, "reply").map_or(u32::MAX, |r| r.kind as u32)
    })
}

/// The whole reply as JSON text, borrowed (valid until the reply is freed).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_reply_json(reply: *const SeloSafraReply) -> *const c_char {
    guard(std::ptr::null(), || {
        handle_ref(reply, "reply").map_or(std::ptr::null(), |r| r.json.as_ptr())
    })
}

/// One field of the reply as UTF-8 text (see `SeloSafraReplyKind` for the
/// names), borrowed, with a NUL after it; NULL when the reply has no such
/// field. A bank's text may itself contain NUL bytes (JSON `\u0000`): a C
/// string reader stops at the first one, so read
/// `selo_safra_reply_field_len` bytes to get all of it.
///
/// # Safety
/// `name` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_reply_field(
    reply: *const SeloSafraReply,
    name: *const c_char,
) -> *const c_char {
    guard(std::ptr::null(), || {
        let (Ok(r), Ok(n)) = (handle_ref(reply, "reply"), str_arg(name, "name")) else {
            return std::ptr::null();
        };
        r.fields.get(n).map_or(std::ptr::null(), Text::as_ptr)
    })
}

/// The length in bytes of field `name` of the reply (its terminating NUL
/// not counted; NUL bytes inside counted), or `SIZE_MAX` when the reply
/// has no such field.
///
/// # Safety
/// `name` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_reply_field_len(
    reply: *const SeloSafraReply,
    name: *const c_char,
) -> usize {
    guard(usize::MAX, || {
        let (Ok(r), Ok(n)) = (handle_ref(reply, "reply"), str_arg(name, "name")) else {
            return usize::MAX;
        };
        r.fields.get(n).map_or(usize::MAX, Text::len)
    })
}

/// The length in bytes of `selo_safra_reply_json`'s text (which never
/// contains a NUL byte: JSON escapes them), or `SIZE_MAX` for an invalid
/// handle.
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_reply_json_len(reply: *const SeloSafraReply) -> usize {
    guard(usize::MAX, || {
        handle_ref(reply, "reply").map_or(usize::MAX, |r| r.json.len())
    })
}

/// How many registrations the session holds unresolved (psd050 outcome
/// unknown: a register of any of them starts with psd052). 0 for an
/// invalid handle.
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_unresolved_count(session: *const SeloSafraSession) -> usize {
    crate::guard(0, || {
        handle_ref(session, "session").map_or(0, |s| s.inner.unresolved_registrations().len())
    })
}

/// Unresolved registration `index` (oldest first): its `nossoNumero`, when
/// its outcome became unknown (Unix seconds) and its `seuNumero` (a string
/// to free with `selo_string_free`). `SELO_ERR_INVALID_ARGUMENT` past the
/// last one.
///
/// # Safety
/// Out pointers are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_unresolved_at(
    session: *const SeloSafraSession,
    index: usize,
    nosso_numero_out: *mut u64,
    since_out: *mut i64,
    seu_numero_out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let nosso_out = Out::new(nosso_numero_out, "nosso_numero_out")?;
        let since_out = Out::new(since_out, "since_out")?;
        let seu_out = Out::new(seu_numero_out, "seu_numero_out")?;
        let s = handle_ref(session, "session")?;
        let u = s
            .inner
            .unresolved_registrations()
            .nth(index)
            .ok_or_else(|| {
                FfiError::arg(format!("index {index}: no such unresolved registration"))
            })?;
        let seu = alloc_string(u.seu_numero.clone())?;
        nosso_out.write(u.nosso_numero);
        since_out.write(i64::try_from(u.since).unwrap_or(i64::MAX));
        seu_out.write(seu);
        Ok(())
    })
}

/// Forgets the unresolved registration of `nosso_numero`, once its outcome
/// is known from the bank by other means (the next register of it sends
/// psd050 directly). `*found_out` says whether it was unresolved.
///
/// # Safety
/// `found_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_resolve(
    session: *mut SeloSafraSession,
    nosso_numero: u64,
    found_out: *mut bool,
) -> SeloStatus {
    call(|| {
        let found_out = Out::new(found_out, "found_out")?;
        let s = handle_mut(session, "session")?;
        found_out.write(s.inner.resolve_registration(nosso_numero).is_some());
        Ok(())
    })
}

// --------------------------------------------------------------------------
// Many operations at once (SPEC §5). The session is one object: a host that
// calls it from several threads holds its own lock around each call, never
// around the HTTP exchange.

/// Begins operation `op` beside any others in progress; `*op_id_out`
/// identifies it for `selo_safra_session_next` and
/// `selo_safra_session_cancel`. `safra.session.busy` past the maximum in
/// flight (`selo_safra_session_set_max_in_flight`, default 256);
/// `safra.boleto.in_flight` when another operation registers the same
/// `nossoNumero`.
///
/// # Safety
/// `payload_json` is NUL-terminated; `op_id_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_begin(
    session: *mut SeloSafraSession,
    op: u32,
    payload_json: *const c_char,
    op_id_out: *mut u64,
) -> SeloStatus {
    call(|| {
        let id_out = Out::new(op_id_out, "op_id_out")?;
        let s = handle_mut(session, "session")?;
        let op = operation(op, str_arg(payload_json, "payload_json")?)?;
        id_out.write(s.inner.begin(op)?.0);
        Ok(())
    })
}

/// The next request of operation `op_id` at `now`. `*wait_out` true: another
/// operation runs the transition this one needs — call again once the
/// session handled a response (`*request_out` is NULL, `*request_id_out`
/// 0). Otherwise send `*request_out` and hand its response back with
/// `*request_id_out` as with `selo_safra_session_prepare_next`. An error
/// ends the operation.
///
/// # Safety
/// The out pointers are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_next(
    session: *mut SeloSafraSession,
    op_id: u64,
    now: i64,
    wait_out: *mut bool,
    request_id_out: *mut u64,
    request_out: *mut *mut SeloRequest,
) -> SeloStatus {
    call(|| {
        let wait_out = Out::new(wait_out, "wait_out")?;
        let id_out = Out::new(request_id_out, "request_id_out")?;
        let req_out = Out::new(request_out, "request_out")?;
        let s = handle_mut(session, "session")?;
        let now = time_arg(now, "now")?;
        match s.inner.next(OperationId(op_id), now, s.rng.as_mut())? {
            Next::Wait => {
                wait_out.write(true);
                id_out.write(0);
                req_out.write(std::ptr::null_mut());
            }
            Next::Send(id, req) => {
                let req = SeloRequest::from_prepared(req)?;
                wait_out.write(false);
                id_out.write(id.0);
                req_out.write(new_handle(req));
            }
        }
        Ok(())
    })
}

/// Ends operation `op_id` without a reply (its requests in flight are
/// forgotten; a psd050 of it in flight becomes an unresolved
/// registration). `*ended_out` is false when it had already ended.
///
/// # Safety
/// `ended_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_session_cancel(
    session: *mut SeloSafraSession,
    op_id: u64,
    ended_out: *mut bool,
) -> SeloStatus {
    call(|| {
        let ended_out = Out::new(ended_out, "ended_out")?;
        let s = handle_mut(session, "session")?;
        ended_out.write(s.inner.cancel(OperationId(op_id)));
        Ok(())
    })
}

/// The operations in progress (0 for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_in_flight(session: *const SeloSafraSession) -> usize {
    crate::guard(0, || {
        handle_ref(session, "session").map_or(0, |s| s.inner.in_flight())
    })
}

/// True while a transition (handshake stage, psd005, psd007) is in flight
/// (false for an invalid handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_transition_in_flight(
    session: *const SeloSafraSession,
) -> bool {
    crate::guard(false, || {
        handle_ref(session, "session").is_ok_and(|s| s.inner.transition_in_flight())
    })
}

/// Counts the changes of the session's credentials (0 for an invalid
/// handle).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_generation(session: *const SeloSafraSession) -> u64 {
    crate::guard(0, || {
        handle_ref(session, "session").map_or(0, |s| s.inner.generation())
    })
}

/// How many operations may run at once (at least 1).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_session_set_max_in_flight(
    session: *mut SeloSafraSession,
    max: usize,
) -> SeloStatus {
    call(|| {
        let s = handle_mut(session, "session")?;
        s.inner.set_max_in_flight(max);
        Ok(())
    })
}

/// Frees a reply (NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_reply_free(reply: *mut SeloSafraReply) {
    free_handle(reply);
}

// --------------------------------------------------------------------------
// The bank role.

/// The PSD bank role (opaque): simulators, mocks, in-process tests.
pub struct SeloSafraBank {
    inner: Bank,
    rng: Rng,
}

/// A bank with `bank_key`, a profile (`""` = defaults) and tokens living
/// `token_lifetime` seconds (> 60).
///
/// # Safety
/// `profile_json` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_bank_new(
    profile_json: *const c_char,
    bank_key: *const SeloPrivateKey,
    token_lifetime: i64,
    out: *mut *mut SeloSafraBank,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let profile = profile_arg(profile_json)?;
        let key = handle_ref(bank_key, "bank_key")?.inner.clone();
        let lifetime = time_arg(token_lifetime, "token_lifetime")?;
        let mut rng = system_rng();
        let inner = Bank::new(
            BankConfig {
                profile,
                bank_key: key,
                token_lifetime: lifetime,
            },
            rng.as_mut(),
        )?;
        out.write(new_handle(SeloSafraBank { inner, rng }));
        Ok(())
    })
}

/// Replaces the bank's RNG by a seeded ChaCha20 stream (tests only).
///
/// # Safety
/// `seed` points to `seed_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_bank_set_seed(
    bank: *mut SeloSafraBank,
    seed: *const u8,
    seed_len: usize,
) -> SeloStatus {
    call(|| {
        let b = handle_mut(bank, "bank")?;
        b.rng = seeded_rng(bytes_arg(seed, seed_len, "seed")?)?;
        Ok(())
    })
}

/// Queues a one-shot fault (a `SeloSafraFault`) for the next non-handshake call.
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_bank_inject(bank: *mut SeloSafraBank, fault: u32) -> SeloStatus {
    call(|| {
        let b = handle_mut(bank, "bank")?;
        let f = match fault {
            0 => Fault::ExpireKey,
            1 => Fault::Answer480,
            2 => Fault::Answer550,
            other => {
                return Err(FfiError::arg(format!(
                    "fault: expected a SeloSafraFault (0..=2), found {other}"
                )));
            }
        };
        b.inner.inject(f);
        Ok(())
    })
}

/// Handles one request (its URL path names the service) at `now` and
/// writes the response to send. Protocol errors become their HTTP
/// responses (400, 401, 480, 500 + `amc-criptografia: erro`, 550); the call
/// itself fails only for bad arguments.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_bank_handle(
    bank: *mut SeloSafraBank,
    request: *const SeloRequest,
    now: i64,
    out: *mut *mut SeloResponse,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let b = handle_mut(bank, "bank")?;
        let r = handle_ref(request, "request")?;
        let now = time_arg(now, "now")?;
        let resp = b
            .inner
            .handle(r.path(), r.headers.pairs(), &r.body, now, b.rng.as_mut());
        out.write(new_handle(SeloResponse::from_received(resp)?));
        Ok(())
    })
}

/// The bank's public key.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_bank_public_key(
    bank: *const SeloSafraBank,
    out: *mut *mut SeloPublicKey,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let b = handle_ref(bank, "bank")?;
        out.write(new_handle(SeloPublicKey {
            inner: b.inner.public_key(),
        }));
        Ok(())
    })
}

/// The AES key the bank agreed with session `session_id` (32 bytes into
/// `*out`, freed with `selo_buffer_free`, which zeroizes it). The bank
/// role's own key material, for mocks and tests that craft a reply the
/// bank would not send; `safra.session.not_ready` when the session has no
/// key.
///
/// # Safety
/// `session_id` is NUL-terminated; `out` points to a writable `SeloBuffer`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_bank_session_key(
    bank: *const SeloSafraBank,
    session_id: *const c_char,
    out: *mut SeloBuffer,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let b = handle_ref(bank, "bank")?;
        let sid = str_arg(session_id, "session_id")?;
        let key = b.inner.session_key(sid).ok_or_else(|| {
            selo::safra::Error::new(
                selo::safra::Code::SessionNotReady,
                format!("the bank has no AES key for session {sid:?}"),
            )
        })?;
        out.write(alloc_buffer(key.as_bytes().to_vec()));
        Ok(())
    })
}

/// Frees a bank (NULL and invalid handles ignored).
#[unsafe(no_mangle)]
pub extern "C" fn selo_safra_bank_free(bank: *mut SeloSafraBank) {
    free_handle(bank);
}

// --------------------------------------------------------------------------
// Building blocks.

/// Stage 1: the `jwk` string for `client_key`, `session_id` and
/// `key_format` (`"der-spki"`, `"pem-spki"`, `"der-pkcs1"`).
///
/// # Safety
/// Strings are NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_stage1_jwk(
    client_key: *const SeloPrivateKey,
    session_id: *const c_char,
    key_format: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let k = handle_ref(client_key, "client_key")?;
        let sid = str_arg(session_id, "session_id")?;
        let f = str_arg(key_format, "key_format")?;
        let fmt = KeyFormat::parse(f).ok_or_else(|| {
            FfiError::arg(format!(
                "key_format: expected der-spki, pem-spki or der-pkcs1, found {f:?}"
            ))
        })?;
        let jwk = handshake::stage1_jwk(
            default_provider(),
            &k.inner,
            sid,
            fmt,
            &mut selo::rng::system(),
        )?;
        out.write(alloc_string(jwk)?);
        Ok(())
    })
}

/// Parses the bank's stage-1 reply body and returns the bank key.
///
/// # Safety
/// `body` points to `len` readable bytes; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_parse_stage1_reply(
    body: *const u8,
    len: usize,
    out: *mut *mut SeloPublicKey,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let inner = handshake::parse_stage1_reply(bytes_arg(body, len, "body")?)?;
        out.write(new_handle(SeloPublicKey { inner }));
        Ok(())
    })
}

/// Parses the bank's stage-2 reply body: decrypts the wrapped key with
/// `padding` (a padding name or `"auto"`) and checks the bank's signature
/// over `signature_message` (`"raw-key"`, `"key-base64-text"`,
/// `"plaintext"` or `"auto"`). Writes the 32-byte AES key and a JSON text
/// `{"padding":…,"signature_message":…}` naming the winners.
///
/// # Safety
/// Strings are NUL-terminated; `body` points to `len` bytes; outs writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn selo_safra_parse_stage2_reply(
    body: *const u8,
    len: usize,
    client_key: *const SeloPrivateKey,
    bank_key: *const SeloPublicKey,
    padding: *const c_char,
    signature_message: *const c_char,
    key_out: *mut SeloBuffer,
    winners_json_out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let key_out = Out::new(key_out, "key_out")?;
        let winners_out = Out::new(winners_json_out, "winners_json_out")?;
        let body = bytes_arg(body, len, "body")?;
        let client = handle_ref(client_key, "client_key")?;
        let bank = handle_ref(bank_key, "bank_key")?;
        let p = str_arg(padding, "padding")?;
        let paddings = if p == "auto" {
            PaddingChoice::Auto.candidates()
        } else {
            vec![Padding::parse(p).ok_or_else(|| {
                FfiError::arg(format!(
                    "padding: expected a padding name or auto, found {p:?}"
                ))
            })?]
        };
        let m = str_arg(signature_message, "signature_message")?;
        let message: SignatureMessage = serde_json::from_value(Value::String(m.to_string()))
            .map_err(|_| {
                FfiError::arg(format!(
                    "signature_message: expected raw-key, key-base64-text, plaintext or auto, found {m:?}"
                ))
            })?;
        let agreed = handshake::parse_stage2_reply(
            default_provider(),
            body,
            &client.inner,
            &bank.inner,
            &paddings,
            &message.candidates(),
            &mut selo::rng::system(),
        )?;
        let winners =
            json!({"padding": agreed.padding, "signature_message": agreed.signature_message});
        let winners = alloc_string(winners.to_string())?;
        key_out.write(alloc_buffer(agreed.key.as_bytes().to_vec()));
        winners_out.write(winners);
        Ok(())
    })
}

/// Seals `plaintext` with a 32-byte key and an explicit 16-byte IV (any
/// bytes). Protocol code never picks IVs: the session does. For vectors.
///
/// # Safety
/// Pointers reference the stated number of readable bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_seal_with_iv(
    key: *const u8,
    key_len: usize,
    iv: *const u8,
    iv_len: usize,
    plaintext: *const u8,
    plaintext_len: usize,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let k = SessionKey::from_slice(bytes_arg(key, key_len, "key")?)?;
        let iv: [u8; 16] = bytes_arg(iv, iv_len, "iv")?
            .try_into()
            .map_err(|_| FfiError::arg(format!("iv: expected 16 bytes, found {iv_len}")))?;
        let env = seal_with_iv(&k, &iv, bytes_arg(plaintext, plaintext_len, "plaintext")?);
        out.write(alloc_string(env)?);
        Ok(())
    })
}

/// Opens an envelope with a 32-byte key (no IV bookkeeping, no JSON
/// requirement) and writes the plaintext (zeroized on free).
///
/// # Safety
/// `key` points to `key_len` bytes; `envelope` is NUL-terminated; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_open(
    key: *const u8,
    key_len: usize,
    envelope: *const c_char,
    out: *mut SeloBuffer,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let k = SessionKey::from_slice(bytes_arg(key, key_len, "key")?)?;
        let opened = open_bytes(&k, str_arg(envelope, "envelope")?)?;
        out.write(alloc_buffer(opened.plaintext.to_vec()));
        Ok(())
    })
}

/// The renewal schedule of a psd005/psd007 token received at local time
/// `t0`, as JSON text (`token`, `exp`, `iat`, `lifetime`, `received_at`,
/// `renew_at`, `expires_at`).
///
/// # Safety
/// Strings are NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_token_schedule(
    token_text: *const c_char,
    t0: i64,
    profile_json: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let profile = profile_arg(profile_json)?;
        let t0 = time_arg(t0, "t0")?;
        let sched = token::schedule(str_arg(token_text, "token")?, t0, &profile)?;
        let json =
            serde_json::to_string(&sched).map_err(|e| FfiError::arg(format!("schedule: {e}")))?;
        out.write(alloc_string(json)?);
        Ok(())
    })
}

/// Validates a boleto registration JSON (SPEC §2.7); the error names the field.
///
/// # Safety
/// `boleto_json` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_safra_boleto_validate(boleto_json: *const c_char) -> SeloStatus {
    call(|| {
        BoletoRequest::from_json(str_arg(boleto_json, "boleto_json")?)?;
        Ok(())
    })
}
