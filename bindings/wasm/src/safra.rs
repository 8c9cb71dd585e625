//! Banco Safra PSD: session state machine, bank role, envelopes, handshake
//! pieces, tokens and boleto messages.

use crate::conv::{
    bytes_in, bytes_out, get, get_opt, get_opt_string, headers_in, member_names, now_in,
    profile_in, profile_out, received_in, request_out, response_out, rng_in, secs_out, selo_err,
    set, text_in, to_js, type_err,
};
use crate::keys::{PrivateKey, PublicKey, private_key_in};
use crate::provider::{aes_for, provider_opt};
use selo::crypto::Padding;
use selo::keys::KeyFormat;
use selo::rng::CryptoRng;
use selo::safra::bank::{Bank, BankConfig, Fault};
use selo::safra::boleto::{BoletoQuery, BoletoReply, BoletoRequest, StatusProcessamento};
use selo::safra::envelope::{self, SessionKey};
use selo::safra::token::TokenSchedule;
use selo::safra::{
    BaseUrl, Next, NextAction, Operation, OperationId, Outcome, Reply, RequestId, SafraProfile,
    Session, SignatureMessage, handshake,
};
use wasm_bindgen::prelude::*;

fn profile_from(v: Option<JsValue>) -> Result<SafraProfile, JsValue> {
    let Some(v) = v else {
        return Ok(SafraProfile::default());
    };
    let names = member_names(&SafraProfile::default());
    let j = profile_in(&v, &names)?;
    SafraProfile::from_json(&j.to_string()).map_err(selo_err)
}

/// The default Safra profile (SPEC §2), camelCase.
#[wasm_bindgen(js_name = safraDefaultProfile)]
pub fn safra_default_profile() -> Result<JsValue, JsValue> {
    profile_out(&SafraProfile::default())
}

/// Validates a Safra profile (camelCase or snake_case object, or JSON text)
/// and returns it complete, camelCase.
#[wasm_bindgen(js_name = safraProfile)]
pub fn safra_profile(v: JsValue) -> Result<JsValue, JsValue> {
    profile_out(&profile_from(Some(v))?)
}

fn schedule_out(t: &TokenSchedule) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "token", &JsValue::from_str(&t.token));
    set(&o, "exp", &secs_out(t.exp).into());
    set(&o, "iat", &secs_out(t.iat).into());
    set(&o, "lifetime", &secs_out(t.lifetime).into());
    set(&o, "receivedAt", &secs_out(t.received_at).into());
    set(&o, "renewAt", &secs_out(t.renew_at).into());
    set(&o, "expiresAt", &secs_out(t.expires_at).into());
    o.into()
}

fn enum_str<T: serde::Serialize>(v: &T) -> JsValue {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => JsValue::from_str(&s),
        _ => JsValue::NULL,
    }
}

fn boleto_reply_out(r: &BoletoReply) -> Result<JsValue, JsValue> {
    to_js(r)
}

fn reply_out(r: &Reply) -> Result<JsValue, JsValue> {
    let o = js_sys::Object::new();
    let ty = |s: &str| JsValue::from_str(s);
    match r {
        Reply::KeyAgreed {
            padding,
            signature_message,
        } => {
            set(&o, "type", &ty("keyAgreed"));
            set(&o, "padding", &ty(padding.as_str()));
            set(&o, "signatureMessage", &enum_str(signature_message));
        }
        Reply::Authenticated(t) => {
            set(&o, "type", &ty("authenticated"));
            set(&o, "token", &schedule_out(t));
        }
        Reply::Renewed(t) => {
            set(&o, "type", &ty("renewed"));
            set(&o, "token", &schedule_out(t));
        }
        Reply::BoletoRegistered(b) => {
            set(&o, "type", &ty("boletoRegistered"));
            set(&o, "reply", &boleto_reply_out(b)?);
        }
        Reply::BoletoQueried(b) => {
            set(&o, "type", &ty("boletoQueried"));
            set(&o, "reply", &boleto_reply_out(b)?);
        }
        Reply::BusinessError { status, body } => {
            set(&o, "type", &ty("businessError"));
            set(&o, "statusProcessamento", &to_js(status)?);
            set(&o, "body", &to_js(body)?);
        }
    }
    Ok(o.into())
}

fn action_out(a: Option<NextAction>) -> JsValue {
    a.map_or(JsValue::NULL, |a| a.as_str().into())
}

fn outcome_out(out: Outcome) -> Result<JsValue, JsValue> {
    let o = js_sys::Object::new();
    match out {
        Outcome::Continue(a) => {
            set(&o, "done", &JsValue::FALSE);
            set(&o, "action", &action_out(a));
        }
        Outcome::Done(r) => {
            set(&o, "done", &JsValue::TRUE);
            set(&o, "reply", &reply_out(&r)?);
        }
    }
    Ok(o.into())
}

/// A boleto registration message from a JS object (camelCase, SPEC §2.7),
/// checked by the core (missing fields and rule violations by path).
fn boleto_in(v: &JsValue) -> Result<BoletoRequest, JsValue> {
    let j = if let Some(s) = v.as_string() {
        return BoletoRequest::from_json(&s).map_err(selo_err);
    } else {
        crate::conv::json_in(v, "boleto")?
    };
    let b = BoletoRequest::from_value(&j).map_err(selo_err)?;
    Ok(b)
}

fn query_in(v: &JsValue) -> Result<BoletoQuery, JsValue> {
    let j = crate::conv::json_in(v, "query")?;
    // Either `{ nossoNumero, seuNumero }` or the message `{ documento: {…} }`.
    let j = if j.get("documento").is_some() {
        j
    } else {
        serde_json::json!({ "documento": j })
    };
    BoletoQuery::from_value(&j).map_err(selo_err)
}

fn operation_in(v: &JsValue) -> Result<Operation, JsValue> {
    let (kind, obj) = match v.as_string() {
        Some(s) => (s, JsValue::UNDEFINED),
        None => (
            get(v, "type")
                .as_string()
                .ok_or_else(|| type_err("operation: expected a string or { type, … }"))?,
            v.clone(),
        ),
    };
    match kind.as_str() {
        "handshake" => Ok(Operation::Handshake),
        "authenticate" => Ok(Operation::Authenticate),
        "renew" => Ok(Operation::Renew),
        "registerBoleto" => Ok(Operation::RegisterBoleto(boleto_in(&get(&obj, "boleto"))?)),
        "queryBoleto" => Ok(Operation::QueryBoleto(query_in(&get(&obj, "query"))?)),
        other => Err(type_err(format!(
            "operation: expected handshake, authenticate, renew, registerBoleto or queryBoleto, found \"{other}\""
        ))),
    }
}

/// The Safra PSD client state machine (SPEC §2.9). Drive it with
/// `prepareNext` / `handleResponse`; the `SafraClient` driver does that
/// over `fetch`.
#[wasm_bindgen]
pub struct SafraSession {
    pub(crate) inner: Session,
    rng: Box<dyn CryptoRng>,
}

fn request_id_in(id: f64) -> Result<RequestId, JsValue> {
    if id.fract() != 0.0 || !(0.0..=9_007_199_254_740_991.0).contains(&id) {
        return Err(type_err("id: expected the integer id prepareNext returned"));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(RequestId(id as u64))
}

fn operation_id_in(id: f64) -> Result<OperationId, JsValue> {
    if id.fract() != 0.0 || !(0.0..=9_007_199_254_740_991.0).contains(&id) {
        return Err(type_err("opId: expected the integer id begin returned"));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(OperationId(id as u64))
}

#[wasm_bindgen]
impl SafraSession {
    /// `{ cliente, baseUrl?, profile?, clientKey?, provider?, seed? }`.
    /// `baseUrl`: "homologation" (default), "production" or a URL.
    /// `seed` (32 bytes) makes the session's randomness deterministic (tests).
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<SafraSession, JsValue> {
        let cliente = get_opt_string(&opts, "cliente", "options")?
            .ok_or_else(|| type_err("options.cliente: expected a string"))?;
        let base = get_opt_string(&opts, "baseUrl", "options")?
            .map(|s| BaseUrl::parse(&s))
            .unwrap_or(BaseUrl::Homologation);
        let profile = profile_from(get_opt(&opts, "profile"))?;
        let mut inner = Session::new(profile, base, cliente).map_err(selo_err)?;
        inner.set_provider(provider_opt(&opts)?);
        if let Some(k) = get_opt(&opts, "clientKey") {
            inner.set_client_key(private_key_in(&k, "options.clientKey")?);
        }
        let rng = rng_in(get_opt(&opts, "seed"))?;
        Ok(SafraSession { inner, rng })
    }

    /// The next request `operation` needs: `{ id, request }`.
    /// `operation`: "handshake" | "authenticate" | "renew" |
    /// `{ type: "registerBoleto", boleto }` | `{ type: "queryBoleto", query }`.
    #[wasm_bindgen(js_name = prepareNext)]
    pub fn prepare_next(
        &mut self,
        operation: JsValue,
        now: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        let op = operation_in(&operation)?;
        let now = now_in(now)?;
        let (id, req) = self
            .inner
            .prepare_next(&op, now, &mut *self.rng)
            .map_err(selo_err)?;
        let o = js_sys::Object::new();
        set(&o, "id", &secs_out(id.0).into());
        set(&o, "request", &request_out(&req));
        Ok(o.into())
    }

    /// Begins an operation that runs beside any others in progress (SPEC
    /// §5); returns its id for `next`. Throws `safra.session.busy` past
    /// `setMaxInFlight` and `safra.boleto.in_flight` when another operation
    /// is registering the same nossoNumero. It ends with its reply, an
    /// error (from `next`, `handleResponse` or `handleTransportError`) or
    /// `cancel`.
    pub fn begin(&mut self, operation: JsValue) -> Result<f64, JsValue> {
        let op = operation_in(&operation)?;
        let id = self.inner.begin(op).map_err(selo_err)?;
        Ok(secs_out(id.0))
    }

    /// What operation `opId` needs next: `{ wait: false, id, request }`
    /// (send it, then hand back its response with `id`) or `{ wait: true }`
    /// (another operation's handshake, psd005 or psd007 is in flight: call
    /// `next` again after the session handled a response).
    pub fn next(&mut self, op_id: f64, now: Option<f64>) -> Result<JsValue, JsValue> {
        let op = operation_id_in(op_id)?;
        let now = now_in(now)?;
        let o = js_sys::Object::new();
        match self.inner.next(op, now, &mut *self.rng).map_err(selo_err)? {
            Next::Wait => set(&o, "wait", &JsValue::TRUE),
            Next::Send(id, req) => {
                set(&o, "wait", &JsValue::FALSE);
                set(&o, "id", &secs_out(id.0).into());
                set(&o, "request", &request_out(&req));
            }
        }
        Ok(o.into())
    }

    /// Ends operation `opId` without a reply (responses to its requests
    /// then answer `safra.session.unknown_request`; a psd050 of it in
    /// flight joins the unresolved registrations). False when it had
    /// already ended.
    pub fn cancel(&mut self, op_id: f64) -> Result<bool, JsValue> {
        Ok(self.inner.cancel(operation_id_in(op_id)?))
    }

    /// Operations begun and not yet ended.
    #[wasm_bindgen(getter, js_name = inFlight)]
    pub fn in_flight(&self) -> f64 {
        secs_out(self.inner.in_flight() as u64)
    }

    /// True while a handshake stage, psd005 or psd007 is in flight.
    #[wasm_bindgen(getter, js_name = transitionInFlight)]
    pub fn transition_in_flight(&self) -> bool {
        self.inner.transition_in_flight()
    }

    /// How many times the credentials changed (handshake, psd005, psd007,
    /// adopted credentials).
    #[wasm_bindgen(getter)]
    pub fn generation(&self) -> f64 {
        secs_out(self.inner.generation())
    }

    /// The most operations in flight at once (default 256).
    #[wasm_bindgen(js_name = setMaxInFlight)]
    pub fn set_max_in_flight(&mut self, n: f64) -> Result<(), JsValue> {
        if n.fract() != 0.0 || !(1.0..=4_294_967_295.0).contains(&n) {
            return Err(type_err("n: expected an integer >= 1"));
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.inner.set_max_in_flight(n as usize);
        Ok(())
    }

    /// The credentials business calls need (session id, AES key, token,
    /// workId), JSON bytes for another instance's `adoptCredentials`.
    /// Secret: seal them at rest. `safra.session.not_ready` before a key
    /// is agreed.
    #[wasm_bindgen(js_name = exportCredentials)]
    pub fn export_credentials(&self) -> Result<Vec<u8>, JsValue> {
        self.inner
            .export_credentials()
            .map(|z| z.to_vec())
            .map_err(selo_err)
    }

    /// Takes over credentials from `exportCredentials` (same bank URL and
    /// client code, else `safra.session.bad_snapshot`).
    #[wasm_bindgen(js_name = adoptCredentials)]
    pub fn adopt_credentials(&mut self, bytes: JsValue) -> Result<(), JsValue> {
        let b = zeroize::Zeroizing::new(bytes_in(&bytes, "bytes")?);
        self.inner.adopt_credentials(&b).map_err(selo_err)
    }

    /// Shares this session with other instances (SPEC §5, `SafraShare`):
    /// from now on a transition (handshake, psd005, psd007) runs only while
    /// the fleet's lease is held; an operation that needs one without it
    /// gets `{ wait: true }` and `wantsLease` turns true.
    #[wasm_bindgen(js_name = setShared)]
    pub fn set_shared(&mut self, shared: bool) {
        self.inner.set_shared(shared);
    }

    /// True when an operation of a shared session met a transition it may
    /// not run without the fleet's lease (or a renewal fell due): take the
    /// lease (`SafraShare.acquire`) or adopt what another instance
    /// published (`SafraShare.onRecord`).
    #[wasm_bindgen(getter, js_name = wantsLease)]
    pub fn wants_lease(&self) -> bool {
        self.inner.wants_lease()
    }

    /// True when request `id` (in flight) is a transition: a handshake
    /// stage, psd005 or psd007.
    #[wasm_bindgen(js_name = isTransition)]
    pub fn is_transition(&self, id: f64) -> Result<bool, JsValue> {
        Ok(self.inner.is_transition(request_id_in(id)?))
    }

    /// Hands back the response `{ status, headers, body }` to request `id`.
    /// Returns `{ done: false, action }` (action: null | "rehandshake" |
    /// "reauthenticate" | "renew" | "retry" | "reconcile") or
    /// `{ done: true, reply }`.
    #[wasm_bindgen(js_name = handleResponse)]
    pub fn handle_response(
        &mut self,
        id: f64,
        response: JsValue,
        now: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        let id = request_id_in(id)?;
        let resp = received_in(&response)?;
        let now = now_in(now)?;
        let out = self
            .inner
            .handle_response(id, &resp, now, &mut *self.rng)
            .map_err(selo_err)?;
        outcome_out(out)
    }

    /// Reports that request `id` got no response: `failure` is "connect"
    /// (never sent), "timeout", "reset" or "other". Returns what
    /// `handleResponse` returns: "retry" when the request may go again,
    /// "reconcile" after an ambiguous psd050 (a psd052 query follows), or
    /// throws (`safra.boleto.outcome_unknown`, too many recoveries).
    #[wasm_bindgen(js_name = handleTransportError)]
    pub fn handle_transport_error(
        &mut self,
        id: f64,
        failure: &str,
        now: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        let id = request_id_in(id)?;
        let failure: selo::http::TransportFailure =
            failure.parse().map_err(|e: String| type_err(&e))?;
        let now = now_in(now)?;
        let out = self
            .inner
            .handle_transport_error(id, failure, now)
            .map_err(selo_err)?;
        outcome_out(out)
    }

    /// "new" | "keys-sent" | "key-agreed" | "authenticated".
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> JsValue {
        enum_str(&self.inner.state())
    }

    /// The current session GUID ("" before the first handshake).
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.inner.session_id().to_string()
    }

    /// The workId from psd005.
    #[wasm_bindgen(getter, js_name = workId)]
    pub fn work_id(&self) -> Option<String> {
        self.inner.work_id().map(str::to_string)
    }

    /// The token schedule, or null.
    #[wasm_bindgen(getter)]
    pub fn token(&self) -> JsValue {
        self.inner.token().map_or(JsValue::NULL, schedule_out)
    }

    /// The padding that won the handshake, or null.
    #[wasm_bindgen(getter, js_name = paddingWinner)]
    pub fn padding_winner(&self) -> Option<String> {
        self.inner.padding_winner().map(|p| p.as_str().to_string())
    }

    /// The profile in use (camelCase).
    #[wasm_bindgen(getter)]
    pub fn profile(&self) -> Result<JsValue, JsValue> {
        profile_out(self.inner.profile())
    }

    /// What the session would do before a business call at `now`, or null.
    #[wasm_bindgen(js_name = nextAction)]
    pub fn next_action(&self, now: Option<f64>) -> Result<JsValue, JsValue> {
        Ok(action_out(self.inner.next_action(now_in(now)?)))
    }

    /// The agreed AES key as base64 (tests and debugging; a secret).
    /// The psd050s whose outcome is unknown, oldest first: `[{ nossoNumero,
    /// seuNumero, since }]`. A register of any of them starts with psd052.
    #[wasm_bindgen(js_name = unresolvedRegistrations)]
    pub fn unresolved_registrations(&self) -> Result<JsValue, JsValue> {
        let list: Vec<serde_json::Value> = self
            .inner
            .unresolved_registrations()
            .map(|u| {
                serde_json::json!({
                    "nossoNumero": u.nosso_numero.to_string(),
                    "seuNumero": u.seu_numero,
                    "since": u.since,
                })
            })
            .collect();
        to_js(&list)
    }

    /// Forgets the unresolved registration of `nossoNumero` (a string or a
    /// number), once its outcome is known from the bank by other means; true
    /// when it was unresolved.
    #[wasm_bindgen(js_name = resolveRegistration)]
    pub fn resolve_registration(&mut self, nosso_numero: JsValue) -> Result<bool, JsValue> {
        let n = nosso_numero
            .as_string()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .or_else(|| {
                nosso_numero
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(f))
                    .map(|f| {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        let n = f as u64;
                        n
                    })
            })
            .ok_or_else(|| type_err("nossoNumero: expected digits (a string or an integer)"))?;
        Ok(self.inner.resolve_registration(n).is_some())
    }

    #[wasm_bindgen(js_name = sessionKeyB64)]
    pub fn session_key_b64(&self) -> Option<String> {
        self.inner.session_key().map(|k| k.to_b64().to_string())
    }

    /// The session (keys included) as bytes for another process: encrypt at rest.
    #[wasm_bindgen(js_name = export)]
    pub fn export(&self) -> Result<Vec<u8>, JsValue> {
        self.inner.export().map(|z| z.to_vec()).map_err(selo_err)
    }

    /// A session from `export()` bytes; options `{ provider, seed }`.
    #[wasm_bindgen(js_name = import)]
    pub fn import(bytes: JsValue, opts: JsValue) -> Result<SafraSession, JsValue> {
        let mut inner = Session::import(&bytes_in(&bytes, "bytes")?).map_err(selo_err)?;
        inner.set_provider(provider_opt(&opts)?);
        let rng = rng_in(get_opt(&opts, "seed"))?;
        Ok(SafraSession { inner, rng })
    }
}

fn fault_in(s: &str) -> Result<Fault, JsValue> {
    match s {
        "expire-key" | "expireKey" => Ok(Fault::ExpireKey),
        "answer-480" | "answer480" | "480" => Ok(Fault::Answer480),
        "answer-550" | "answer550" | "550" => Ok(Fault::Answer550),
        other => Err(type_err(format!(
            "fault: expected \"expire-key\", \"answer-480\" or \"answer-550\", found \"{other}\""
        ))),
    }
}

/// The bank role (SPEC §2, server side): for mocks, simulators and tests.
#[wasm_bindgen]
pub struct SafraBank {
    inner: Bank,
    rng: Box<dyn CryptoRng>,
}

#[wasm_bindgen]
impl SafraBank {
    /// `{ bankKey, profile?, tokenLifetime? (s, default 600), provider?, seed? }`.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<SafraBank, JsValue> {
        let bank_key = private_key_in(
            &get_opt(&opts, "bankKey").ok_or_else(|| type_err("options.bankKey: required"))?,
            "options.bankKey",
        )?;
        let profile = profile_from(get_opt(&opts, "profile"))?;
        let lifetime =
            crate::conv::get_opt_f64(&opts, "tokenLifetime", "options")?.unwrap_or(600.0);
        if !(lifetime.is_finite() && lifetime >= 0.0) {
            return Err(type_err("options.tokenLifetime: expected seconds >= 0"));
        }
        let mut rng = rng_in(get_opt(&opts, "seed"))?;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let cfg = BankConfig {
            profile,
            bank_key,
            token_lifetime: lifetime as u64,
        };
        let mut inner = Bank::new(cfg, &mut *rng).map_err(selo_err)?;
        inner.set_provider(provider_opt(&opts)?);
        Ok(SafraBank { inner, rng })
    }

    /// Handles one request; never throws for protocol errors (they become
    /// their HTTP responses). Returns `{ status, headers, body }`.
    pub fn handle(
        &mut self,
        path: &str,
        headers: JsValue,
        body: JsValue,
        now: Option<f64>,
    ) -> Result<JsValue, JsValue> {
        let headers = headers_in(&headers)?;
        let body = if body.is_undefined() || body.is_null() {
            Vec::new()
        } else {
            bytes_in(&body, "body")?
        };
        let now = now_in(now)?;
        let r = self
            .inner
            .handle(path, &headers, &body, now, &mut *self.rng);
        Ok(response_out(r.status, &r.headers, &r.body))
    }

    /// Queues a one-shot fault for the next non-handshake call:
    /// "expire-key" | "answer-480" | "answer-550".
    pub fn inject(&mut self, fault: &str) -> Result<(), JsValue> {
        self.inner.inject(fault_in(fault)?);
        Ok(())
    }

    /// The bank's public key.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            inner: self.inner.public_key(),
        }
    }

    /// The registered boletos: `[{ nossoNumero, codigoBarras, request }]`.
    pub fn boletos(&self) -> Result<JsValue, JsValue> {
        let arr = js_sys::Array::new();
        for b in self.inner.boletos() {
            let o = js_sys::Object::new();
            set(&o, "nossoNumero", &JsValue::from_str(&b.nosso_numero));
            set(&o, "codigoBarras", &JsValue::from_str(&b.codigo_barras));
            set(&o, "request", &to_js(&b.request)?);
            arr.push(&o);
        }
        Ok(arr.into())
    }

    /// The AES key agreed with a session, base64 (tests).
    #[wasm_bindgen(js_name = sessionKeyB64)]
    pub fn session_key_b64(&self, session_id: &str) -> Option<String> {
        self.inner
            .session_key(session_id)
            .map(|k| k.to_b64().to_string())
    }
}

fn session_key_in(key: &JsValue) -> Result<SessionKey, JsValue> {
    if let Some(s) = key.as_string() {
        return SessionKey::from_b64(&s).map_err(selo_err);
    }
    SessionKey::from_slice(&bytes_in(key, "key")?).map_err(selo_err)
}

/// Seals `plaintext` (string or bytes) into an envelope `hdr.iv.ct`.
/// `key`: 32 bytes or their base64. Options `{ iv }` (16 bytes/characters;
/// otherwise random), `{ seed }` and `{ provider }` (`"node"`: AES-256-CTR
/// by Node's `crypto`; `"rustcrypto"`: in wasm; default: the default RSA
/// provider's choice).
#[wasm_bindgen(js_name = safraSeal)]
pub fn safra_seal(key: JsValue, plaintext: JsValue, opts: JsValue) -> Result<String, JsValue> {
    let k = session_key_in(&key)?;
    let pt = bytes_in(&plaintext, "plaintext")?;
    let iv: [u8; 16] = match get_opt(&opts, "iv") {
        Some(iv) => {
            let b = bytes_in(&iv, "options.iv")?;
            b.as_slice().try_into().map_err(|_| {
                selo_err(selo::safra::Error::new(
                    selo::safra::Code::EnvelopeBadIv,
                    format!("expected a 16-byte IV, found {} bytes", b.len()),
                ))
            })?
        }
        None => {
            let mut rng = rng_in(get_opt(&opts, "seed"))?;
            envelope::random_iv(&mut *rng)
        }
    };
    let aes = aes_for(provider_opt(&opts)?);
    Ok(envelope::seal_with_iv_using(aes, &k, &iv, &pt))
}

/// Opens an envelope: `{ iv: Uint8Array, plaintext: Uint8Array, text, json }`
/// (`json` is null when the plaintext is not JSON). No IV bookkeeping.
/// Options `{ provider }` as for `safraSeal`.
#[wasm_bindgen(js_name = safraOpen)]
pub fn safra_open(key: JsValue, envelope_text: JsValue, opts: JsValue) -> Result<JsValue, JsValue> {
    let k = session_key_in(&key)?;
    let env = text_in(&envelope_text, "envelope")?;
    let aes = aes_for(provider_opt(&opts)?);
    let opened = envelope::open_bytes_using(aes, &k, &env).map_err(selo_err)?;
    let o = js_sys::Object::new();
    set(&o, "iv", &bytes_out(&opened.iv));
    set(&o, "plaintext", &bytes_out(&opened.plaintext));
    match std::str::from_utf8(&opened.plaintext) {
        Ok(t) => {
            let text = JsValue::from_str(t);
            // The engine's JSON.parse on the string already handed out.
            let json = crate::conv::json_parse_value(&text).unwrap_or(JsValue::NULL);
            set(&o, "text", &text);
            set(&o, "json", &json);
        }
        Err(_) => {
            set(&o, "text", &JsValue::NULL);
            set(&o, "json", &JsValue::NULL);
        }
    }
    Ok(o.into())
}

/// Opens an envelope and requires UTF-8 JSON (`safra.envelope.not_json`).
/// Options `{ provider }` as for `safraSeal`.
#[wasm_bindgen(js_name = safraOpenJson)]
pub fn safra_open_json(
    key: JsValue,
    envelope_text: JsValue,
    opts: JsValue,
) -> Result<JsValue, JsValue> {
    let k = session_key_in(&key)?;
    let env = text_in(&envelope_text, "envelope")?;
    let aes = aes_for(provider_opt(&opts)?);
    let opened = envelope::open_bytes_using(aes, &k, &env).map_err(selo_err)?;
    to_js(&envelope::parse_json(&opened.plaintext).map_err(selo_err)?)
}

/// `{"data":"<envelope>"}` body bytes.
#[wasm_bindgen(js_name = safraWrapBody)]
pub fn safra_wrap_body(envelope_text: &str) -> Vec<u8> {
    envelope::wrap_body(envelope_text)
}

/// The envelope inside a `{"data": …}` body.
#[wasm_bindgen(js_name = safraUnwrapBody)]
pub fn safra_unwrap_body(body: JsValue) -> Result<String, JsValue> {
    envelope::unwrap_body(&bytes_in(&body, "body")?).map_err(selo_err)
}

/// A random 16-character IV (`{ seed }` for tests).
#[wasm_bindgen(js_name = safraRandomIv)]
pub fn safra_random_iv(opts: JsValue) -> Result<String, JsValue> {
    let mut rng = rng_in(get_opt(&opts, "seed"))?;
    Ok(String::from_utf8_lossy(&envelope::random_iv(&mut *rng)).into_owned())
}

/// The fixed envelope header `B64('{"alg":"RSA-AEP","enc":"A256CTR"}')`.
#[wasm_bindgen(js_name = safraEnvelopeHeader)]
pub fn safra_envelope_header() -> String {
    envelope::header_b64()
}

fn key_format_in(s: Option<String>) -> Result<KeyFormat, JsValue> {
    match s {
        None => Ok(KeyFormat::DerSpki),
        Some(s) => KeyFormat::parse(&s).ok_or_else(|| {
            type_err(format!(
                "keyFormat: expected \"der-spki\", \"pem-spki\" or \"der-pkcs1\", found \"{s}\""
            ))
        }),
    }
}

/// Stage 1 `jwk` for a client key and session GUID (options `{ keyFormat, provider }`).
#[wasm_bindgen(js_name = safraStage1Jwk)]
pub fn safra_stage1_jwk(
    client_key: &PrivateKey,
    session_id: &str,
    opts: JsValue,
) -> Result<String, JsValue> {
    let fmt = key_format_in(get_opt_string(&opts, "keyFormat", "options")?)?;
    let mut rng = rng_in(get_opt(&opts, "seed"))?;
    handshake::stage1_jwk(
        provider_opt(&opts)?,
        &client_key.inner,
        session_id,
        fmt,
        &mut *rng,
    )
    .map_err(selo_err)
}

/// The bank key in a stage-1 reply body.
#[wasm_bindgen(js_name = safraParseStage1Reply)]
pub fn safra_parse_stage1_reply(body: JsValue) -> Result<PublicKey, JsValue> {
    handshake::parse_stage1_reply(&bytes_in(&body, "body")?)
        .map(|inner| PublicKey { inner })
        .map_err(selo_err)
}

fn paddings_in(v: Option<JsValue>) -> Result<Vec<Padding>, JsValue> {
    match v {
        None => Ok(Padding::ALL.to_vec()),
        Some(v) => {
            let names: Vec<String> = crate::conv::from_js(&v, "options.paddings")?;
            names
                .iter()
                .map(|n| {
                    Padding::parse(n).ok_or_else(|| {
                        type_err(format!("options.paddings: unknown padding \"{n}\""))
                    })
                })
                .collect()
        }
    }
}

fn messages_in(v: Option<JsValue>) -> Result<Vec<SignatureMessage>, JsValue> {
    match v {
        None => Ok(SignatureMessage::Auto.candidates()),
        Some(v) => {
            let names: Vec<String> = crate::conv::from_js(&v, "options.signatureMessages")?;
            names
                .iter()
                .map(|n| {
                    serde_json::from_value::<SignatureMessage>(serde_json::Value::String(n.clone()))
                        .map_err(|_| {
                            type_err(format!("options.signatureMessages: unknown value \"{n}\""))
                        })
                })
                .collect()
        }
    }
}

/// Opens a stage-2 reply: `{ keyB64, key, padding, signatureMessage }`.
/// Options `{ paddings, signatureMessages, provider, seed }` (default: every candidate).
#[wasm_bindgen(js_name = safraParseStage2Reply)]
pub fn safra_parse_stage2_reply(
    body: JsValue,
    client_key: &PrivateKey,
    bank_key: &PublicKey,
    opts: JsValue,
) -> Result<JsValue, JsValue> {
    let paddings = paddings_in(get_opt(&opts, "paddings"))?;
    let messages = messages_in(get_opt(&opts, "signatureMessages"))?;
    let mut rng = rng_in(get_opt(&opts, "seed"))?;
    let agreed = handshake::parse_stage2_reply(
        provider_opt(&opts)?,
        &bytes_in(&body, "body")?,
        &client_key.inner,
        &bank_key.inner,
        &paddings,
        &messages,
        &mut *rng,
    )
    .map_err(selo_err)?;
    let o = js_sys::Object::new();
    set(&o, "keyB64", &JsValue::from_str(&agreed.key.to_b64()));
    set(&o, "key", &bytes_out(agreed.key.as_bytes()));
    set(&o, "padding", &JsValue::from_str(agreed.padding.as_str()));
    set(&o, "signatureMessage", &enum_str(&agreed.signature_message));
    Ok(o.into())
}

/// The AES key in a decrypted stage-2 plaintext (`KID`/`kid`/`k`, raw or base64).
#[wasm_bindgen(js_name = safraExtractKey)]
pub fn safra_extract_key(plaintext: JsValue) -> Result<Vec<u8>, JsValue> {
    handshake::extract_key(&bytes_in(&plaintext, "plaintext")?)
        .map(|k| k.key.as_bytes().to_vec())
        .map_err(selo_err)
}

/// A token's payload claims, decoded without verification.
#[wasm_bindgen(js_name = safraDecodeToken)]
pub fn safra_decode_token(token: &str) -> Result<JsValue, JsValue> {
    to_js(&selo::safra::token::decode_claims(token).map_err(selo_err)?)
}

/// The renewal schedule of a token received at local time `t0` (SPEC §2.5).
#[wasm_bindgen(js_name = safraTokenSchedule)]
pub fn safra_token_schedule(token: &str, t0: f64, profile: JsValue) -> Result<JsValue, JsValue> {
    let p = profile_from(if profile.is_undefined() || profile.is_null() {
        None
    } else {
        Some(profile)
    })?;
    let s = selo::safra::token::schedule(token, now_in(Some(t0))?, &p).map_err(selo_err)?;
    Ok(schedule_out(&s))
}

/// Validates a psd050 boleto message and returns its exact JSON (camelCase).
#[wasm_bindgen(js_name = safraBoleto)]
pub fn safra_boleto(boleto: JsValue) -> Result<JsValue, JsValue> {
    let b = boleto_in(&boleto)?;
    b.validate().map_err(selo_err)?;
    to_js(&b.to_json())
}

/// Parses a psd050/psd052 reply object leniently (typed, `raw` kept).
#[wasm_bindgen(js_name = safraParseBoletoReply)]
pub fn safra_parse_boleto_reply(reply: JsValue) -> Result<JsValue, JsValue> {
    let j = crate::conv::json_in(&reply, "reply")?;
    boleto_reply_out(&BoletoReply::from_value(&j).map_err(selo_err)?)
}

/// `statusProcessamento` of a reply object, or null.
#[wasm_bindgen(js_name = safraStatusProcessamento)]
pub fn safra_status_processamento(reply: JsValue) -> Result<JsValue, JsValue> {
    let j = crate::conv::json_in(&reply, "reply")?;
    to_js(&StatusProcessamento::from_reply(&j))
}
