//! The bank role: everything a PSD server does, as pure data in and out.
//!
//! [`Bank::handle`] takes the request path, headers, body and time and
//! returns the response to send. It verifies stage 1, answers with its key,
//! checks stage 2 and issues the wrapped AES key, opens and seals envelopes
//! (refusing reused IVs), issues and renews tokens, rejects a wrong token or
//! work id, registers and answers boleto queries, and on demand answers
//! 480, 500 + `amc-criptografia: erro` or 550 ([`Fault`]). It is configured
//! by the same [`SafraProfile`] as the client, so a simulator can play a bank
//! that made any of the choices the manual leaves open.

use super::boleto::{BoletoQuery, BoletoRequest, StatusProcessamento, get_ci, reply_json};
use super::envelope::{IvLog, SessionKey, unwrap_body, wrap_body};
use super::handshake;
use super::headers::{Service, names};
use super::{Code, Error, SafraProfile, SignatureMessage, err};
use crate::crypto::{RsaProvider, default_provider, hmac_sha512};
use crate::encoding::{b64url, new_guid};
use crate::http::{ReceivedResponse, header_value};
use crate::keys::{RsaPrivateKey, RsaPublicKey};
use crate::rng::CryptoRng;
use std::collections::{BTreeMap, HashMap, VecDeque};
use zeroize::Zeroizing;

/// A one-shot misbehaviour for the next non-handshake call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Forget the session's AES key and answer 500 + `amc-criptografia: erro`.
    ExpireKey,
    /// Answer 480 (token limit exceeded) and invalidate the token.
    Answer480,
    /// Answer 550 with a business `statusProcessamento`.
    Answer550,
}

/// Bank configuration.
pub struct BankConfig {
    /// The interpretation switches (key format of the reply, padding,
    /// signature message).
    pub profile: SafraProfile,
    /// The bank's RSA key.
    pub bank_key: RsaPrivateKey,
    /// Token lifetime in seconds (`exp - iat`).
    pub token_lifetime: u64,
}

/// A registered boleto.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredBoleto {
    /// The request as registered.
    pub request: BoletoRequest,
    /// Bank's number (15-character text).
    pub nosso_numero: String,
    /// The barcode issued.
    pub codigo_barras: String,
}

struct BankSession {
    /// Last request seen (Unix seconds): idle sessions expire.
    last_used: u64,
    /// This session's key in the bank's least-recently-used order.
    lru_key: (u64, u64),
    /// The heap bytes of `ivs` as last accounted ([`IvLog::heap_bytes`]).
    iv_bytes: usize,
    client_key: RsaPublicKey,
    aes_key: Option<SessionKey>,
    ivs: IvLog,
    token: Option<String>,
    token_exp: u64,
    work_id: Option<String>,
}

/// The most handshaken sessions a bank keeps; at the cap the least recently
/// used one is forgotten (its client re-handshakes after a 500).
pub const MAX_SESSIONS: usize = 10_000;

/// A session unused this long (seconds) is forgotten.
pub const SESSION_IDLE_SECS: u64 = 3_600;

/// The default bound on the memory all sessions' IV logs take together
/// (64 MiB). Past it the least recently used sessions are forgotten (their
/// clients re-handshake after a 500), the one being served last.
pub const MAX_IV_BYTES: usize = 64 << 20;

/// What the bank holds, by its own accounting ([`Bank::usage`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Sessions held (at most [`MAX_SESSIONS`]).
    pub sessions: usize,
    /// IVs remembered over all sessions.
    pub ivs: usize,
    /// Heap bytes of all IV logs (at most the IV budget, [`MAX_IV_BYTES`]
    /// by default).
    pub iv_bytes: usize,
    /// Sessions forgotten to stay within the bounds (idle, least recently
    /// used, or over the IV budget) since the bank started.
    pub evicted: u64,
}

/// The PSD bank.
pub struct Bank {
    cfg: BankConfig,
    provider: &'static dyn RsaProvider,
    token_secret: Zeroizing<[u8; 32]>,
    sessions: HashMap<String, BankSession>,
    boletos: HashMap<String, StoredBoleto>,
    faults: VecDeque<Fault>,
    /// psd050 messages processed per `nossoNumero` (15 digits), refused
    /// duplicates included: a count above 1 is a boleto a bank that does
    /// not de-duplicate would have registered twice.
    register_calls: HashMap<String, u32>,
    /// The sum of every session's `iv_bytes`.
    iv_bytes: usize,
    /// The bound on `iv_bytes`.
    max_iv_bytes: usize,
    /// Sessions forgotten to stay within the bounds.
    evicted: u64,
    /// Every session by `(last_used, tick)`: the least recently used first.
    lru: BTreeMap<(u64, u64), String>,
    /// Orders sessions used in the same second.
    tick: u64,
}

/// The most boletos a bank stores (and psd050 counters it keeps); past it
/// psd050 answers 550.
pub const MAX_BOLETOS: usize = 1_000_000;

fn json_response(status: u16, body: &serde_json::Value) -> ReceivedResponse {
    ReceivedResponse::new(
        status,
        vec![("content-type".into(), "application/json".into())],
        body.to_string().into_bytes(),
    )
}

fn error_response(e: &Error) -> ReceivedResponse {
    let status = e.http_status().unwrap_or(400);
    let mut r = json_response(
        status,
        &serde_json::json!({"codigo": e.code(), "mensagem": e.message()}),
    );
    if e.kind() == Code::BankKeyExpired {
        r.headers.push((names::CRIPTOGRAFIA.into(), "erro".into()));
    }
    r
}

impl Bank {
    /// A bank with this configuration.
    pub fn new(cfg: BankConfig, rng: &mut dyn CryptoRng) -> Result<Self, Error> {
        cfg.profile.validate()?;
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(secret.as_mut());
        Ok(Self {
            cfg,
            provider: default_provider(),
            token_secret: secret,
            sessions: HashMap::new(),
            boletos: HashMap::new(),
            faults: VecDeque::new(),
            register_calls: HashMap::new(),
            iv_bytes: 0,
            max_iv_bytes: MAX_IV_BYTES,
            evicted: 0,
            lru: BTreeMap::new(),
            tick: 0,
        })
    }

    /// Uses another RSA provider.
    pub fn set_provider(&mut self, provider: &'static dyn RsaProvider) {
        self.provider = provider;
    }

    /// Bounds the memory all sessions' IV logs take together (default
    /// [`MAX_IV_BYTES`]).
    pub fn set_max_iv_bytes(&mut self, bytes: usize) {
        self.max_iv_bytes = bytes;
    }

    /// What the bank holds, by its own accounting.
    pub fn usage(&self) -> Usage {
        Usage {
            sessions: self.sessions.len(),
            ivs: self.sessions.values().map(|s| s.ivs.len()).sum(),
            iv_bytes: self.iv_bytes,
            evicted: self.evicted,
        }
    }

    /// Forgets session `sid`, keeping the IV accounting.
    fn forget(&mut self, sid: &str) {
        if let Some(s) = self.sessions.remove(sid) {
            self.lru.remove(&s.lru_key);
            self.iv_bytes = self.iv_bytes.saturating_sub(s.iv_bytes);
            self.evicted = self.evicted.saturating_add(1);
        }
    }

    /// Marks session `sid` used at `now` (it moves to the end of the
    /// least-recently-used order).
    fn touch(&mut self, sid: &str, now: u64) {
        self.tick = self.tick.saturating_add(1);
        let key = (now, self.tick);
        if let Some(s) = self.sessions.get_mut(sid) {
            self.lru.remove(&s.lru_key);
            s.last_used = now;
            s.lru_key = key;
            self.lru.insert(key, sid.to_string());
        }
    }

    /// The least recently used session other than `except`.
    fn oldest_except(&self, except: &str) -> Option<String> {
        self.lru
            .values()
            .find(|sid| sid.as_str() != except)
            .cloned()
    }

    /// Re-accounts session `sid`'s IV memory after it changed, then
    /// forgets the least recently used other sessions while the total is
    /// over the budget.
    fn account(&mut self, sid: &str) {
        let Some(s) = self.sessions.get_mut(sid) else {
            return;
        };
        let now_bytes = s.ivs.heap_bytes();
        self.iv_bytes = self
            .iv_bytes
            .saturating_sub(s.iv_bytes)
            .saturating_add(now_bytes);
        s.iv_bytes = now_bytes;
        while self.iv_bytes > self.max_iv_bytes {
            let Some(oldest) = self.oldest_except(sid) else {
                break;
            };
            self.forget(&oldest);
        }
    }

    /// The bank's public key.
    pub fn public_key(&self) -> RsaPublicKey {
        self.cfg.bank_key.public_key()
    }

    /// The profile.
    pub fn profile(&self) -> &SafraProfile {
        &self.cfg.profile
    }

    /// Queues a fault for the next non-handshake call.
    pub fn inject(&mut self, fault: Fault) {
        if self.faults.len() < 10_000 {
            self.faults.push_back(fault);
        }
    }

    /// psd050 messages processed per `nossoNumero` (refused duplicates
    /// included).
    pub fn register_calls(&self) -> &HashMap<String, u32> {
        &self.register_calls
    }

    /// The registered boletos.
    pub fn boletos(&self) -> impl Iterator<Item = &StoredBoleto> {
        self.boletos.values()
    }

    /// What the bank issued to each live session: its AES key and its
    /// current token (tests that check where secrets end up, e.g. that a
    /// shared store holds neither in any encoding).
    pub fn issued(&self) -> impl Iterator<Item = (&SessionKey, Option<&str>)> {
        self.sessions
            .values()
            .filter_map(|s| s.aes_key.as_ref().map(|k| (k, s.token.as_deref())))
    }

    /// The AES key agreed with a session, if any (tests, debugging).
    pub fn session_key(&self, session_id: &str) -> Option<&SessionKey> {
        self.sessions
            .get(session_id)
            .and_then(|s| s.aes_key.as_ref())
    }

    /// Handles one request. `path` is the URL path (its last segment names
    /// the service). Never fails: errors become their HTTP responses.
    pub fn handle(
        &mut self,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
        now: u64,
        rng: &mut dyn CryptoRng,
    ) -> ReceivedResponse {
        match self.try_handle(path, headers, body, now, rng) {
            Ok(r) => r,
            Err(e) => error_response(&e),
        }
    }

    fn try_handle(
        &mut self,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
        now: u64,
        rng: &mut dyn CryptoRng,
    ) -> Result<ReceivedResponse, Error> {
        let service = Service::from_path(path).ok_or_else(|| {
            err(
                Code::BankUnknownService,
                format!("no PSD service at {path}"),
            )
        })?;
        let sid = header_value(headers, names::SESSION_ID)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                err(
                    Code::HandshakeBadRequest,
                    "header amc-session-id is missing",
                )
            })?
            .to_string();
        if !crate::encoding::is_guid(&sid) {
            return Err(err(
                Code::HandshakeBadRequest,
                format!(
                    "header amc-session-id: expected a GUID (8-4-4-4-12 hexadecimal digits), found {} characters",
                    sid.chars().count()
                ),
            ));
        }
        if header_value(headers, names::APLICACAO).map(str::trim) != Some("PSD") {
            return Err(err(
                Code::HandshakeBadRequest,
                "header amc-aplicacao: expected \"PSD\"",
            ));
        }
        if let Some(s) = self.sessions.get_mut(&sid) {
            if now.saturating_sub(s.last_used) > SESSION_IDLE_SECS || s.ivs.is_full() {
                // Idle too long, or its key carried enough messages.
                s.aes_key = None;
                s.token = None;
                s.ivs.clear();
            }
            self.account(&sid);
            if service != Service::Psd001 {
                // A handshake does not keep a session alive: stage 1 must
                // see when it was last really used.
                self.touch(&sid, now);
            }
        }
        if service == Service::Psd001 {
            return self.handshake(&sid, body, now, rng);
        }
        if let Some(fault) = self.faults.pop_front() {
            return self.fault(fault, &sid, rng);
        }
        match service {
            Service::Psd005 => self.authenticate(&sid, body, now, rng),
            _ => self.authorized(service, &sid, headers, body, now, rng),
        }
    }

    fn fault(
        &mut self,
        fault: Fault,
        sid: &str,
        rng: &mut dyn CryptoRng,
    ) -> Result<ReceivedResponse, Error> {
        match fault {
            Fault::ExpireKey => {
                if let Some(s) = self.sessions.get_mut(sid) {
                    s.aes_key = None;
                    s.token = None;
                }
                Err(err(
                    Code::BankKeyExpired,
                    "symmetric key expired (injected)",
                ))
            }
            Fault::Answer480 => {
                if let Some(s) = self.sessions.get_mut(sid) {
                    s.token = None;
                }
                Err(err(Code::BankTokenLimit, "token limit exceeded (injected)"))
            }
            Fault::Answer550 => {
                let status = StatusProcessamento {
                    codigo: Some(99),
                    mensagem: "Erro de negócio simulado".into(),
                };
                self.business(sid, &status, rng)
            }
        }
    }

    fn business(
        &mut self,
        sid: &str,
        status: &StatusProcessamento,
        rng: &mut dyn CryptoRng,
    ) -> Result<ReceivedResponse, Error> {
        let msg = reply_json(status, &serde_json::Map::new());
        match self.sessions.get_mut(sid) {
            Some(BankSession {
                aes_key: Some(key),
                ivs,
                ..
            }) => {
                let env = ivs.seal(key, msg.to_string().as_bytes(), rng);
                self.account(sid);
                Ok(ReceivedResponse::new(
                    550,
                    vec![("content-type".into(), "application/json".into())],
                    wrap_body(&env),
                ))
            }
            _ => Ok(json_response(550, &msg)),
        }
    }

    /// Makes room for one more session: drops idle ones, then (still at
    /// the cap) the least recently used.
    fn make_room(&mut self, now: u64) {
        if self.sessions.len() < MAX_SESSIONS {
            return;
        }
        // Idle ones first (they are the oldest in the order), then the
        // least recently used until there is room.
        while let Some(((last_used, _), sid)) = self.lru.first_key_value() {
            let idle = now.saturating_sub(*last_used) > SESSION_IDLE_SECS;
            if !idle && self.sessions.len() < MAX_SESSIONS {
                break;
            }
            let sid = sid.clone();
            self.forget(&sid);
        }
    }

    /// Drops session `sid` (an expired one a new stage 1 replaces), keeping
    /// the accounting, without counting it as an eviction.
    fn forget_quietly(&mut self, sid: &str) {
        if let Some(s) = self.sessions.remove(sid) {
            self.lru.remove(&s.lru_key);
            self.iv_bytes = self.iv_bytes.saturating_sub(s.iv_bytes);
        }
    }

    /// How many handshaken sessions the bank holds.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    fn handshake(
        &mut self,
        sid: &str,
        body: &[u8],
        now: u64,
        rng: &mut dyn CryptoRng,
    ) -> Result<ReceivedResponse, Error> {
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| err(Code::HandshakeBadRequest, "psd001 body is not JSON"))?;
        if v.get("jwk").is_some() {
            // A live session is never replaced by a stage 1: stage 1 is
            // self-signed, so anyone could otherwise take a session over.
            if let Some(s) = self.sessions.get(sid)
                && now.saturating_sub(s.last_used) <= SESSION_IDLE_SECS
            {
                return Err(err(
                    Code::HandshakeSessionExists,
                    format!(
                        "stage 1 for session {sid}, which is live: a new handshake takes a new session id"
                    ),
                ));
            }
            let client_key = handshake::bank_verify_stage1(self.provider, body, sid)?;
            self.forget_quietly(sid);
            self.make_room(now);
            self.sessions.insert(
                sid.to_string(),
                BankSession {
                    last_used: now,
                    lru_key: (now, 0),
                    iv_bytes: 0,
                    client_key,
                    aes_key: None,
                    ivs: IvLog::default(),
                    token: None,
                    token_exp: 0,
                    work_id: None,
                },
            );
            self.touch(sid, now);
            let reply =
                handshake::bank_stage1_reply(&self.public_key(), self.cfg.profile.key_format)?;
            return Ok(ReceivedResponse::new(
                200,
                vec![("content-type".into(), "application/json".into())],
                reply,
            ));
        }
        if v.get("parametros").is_some() {
            let session = self.sessions.get_mut(sid).ok_or_else(|| {
                err(
                    Code::HandshakeUnknownSession,
                    format!("stage 2 for session {sid} without stage 1"),
                )
            })?;
            let paddings = self.cfg.profile.padding.candidates();
            let padding = handshake::bank_open_stage2(
                self.provider,
                body,
                &self.cfg.bank_key,
                &session.client_key,
                sid,
                &paddings,
                rng,
            )?;
            let key = SessionKey::generate(rng);
            let message = match self.cfg.profile.signature_message {
                SignatureMessage::Auto => SignatureMessage::RawKey,
                m => m,
            };
            let reply = handshake::bank_stage2_reply(
                self.provider,
                &session.client_key,
                &self.cfg.bank_key,
                &key,
                padding,
                message,
                rng,
            )?;
            session.aes_key = Some(key);
            session.ivs.clear();
            session.token = None;
            session.work_id = None;
            self.account(sid);
            self.touch(sid, now);
            return Ok(ReceivedResponse::new(
                200,
                vec![("content-type".into(), "application/json".into())],
                reply,
            ));
        }
        Err(err(
            Code::HandshakeBadRequest,
            "psd001 body: expected member \"jwk\" or \"parametros\"",
        ))
    }

    fn open(&mut self, sid: &str, body: &[u8]) -> Result<serde_json::Value, Error> {
        let reject = self.cfg.profile.reject_reused_iv;
        let s = self.sessions.get_mut(sid);
        let Some(BankSession {
            aes_key: Some(key),
            ivs,
            ..
        }) = s
        else {
            return Err(err(
                Code::BankKeyExpired,
                format!("no symmetric key for session {sid}"),
            ));
        };
        let env = unwrap_body(body)?;
        let opened = ivs.open(key, &env, reject);
        self.account(sid);
        Ok(opened?.1)
    }

    fn sealed(
        &mut self,
        sid: &str,
        status: u16,
        msg: &serde_json::Value,
        rng: &mut dyn CryptoRng,
    ) -> Result<ReceivedResponse, Error> {
        let Some(BankSession {
            aes_key: Some(key),
            ivs,
            ..
        }) = self.sessions.get_mut(sid)
        else {
            return Err(err(
                Code::BankKeyExpired,
                format!("no symmetric key for session {sid}"),
            ));
        };
        let env = ivs.seal(key, msg.to_string().as_bytes(), rng);
        self.account(sid);
        Ok(ReceivedResponse::new(
            status,
            vec![("content-type".into(), "application/json".into())],
            wrap_body(&env),
        ))
    }

    fn issue_token(&self, sid: &str, now: u64, rng: &mut dyn CryptoRng) -> (String, u64) {
        let exp = now.saturating_add(self.cfg.token_lifetime);
        let header = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = serde_json::json!({"apl": "PSD", "sid": sid, "jti": new_guid(rng), "iat": now, "exp": exp});
        let input = format!("{header}.{}", b64url(payload.to_string().as_bytes()));
        let mac = hmac_sha512(self.token_secret.as_ref(), input.as_bytes());
        (
            format!("{input}.{}", b64url(mac.get(..32).unwrap_or_default())),
            exp,
        )
    }

    fn authenticate(
        &mut self,
        sid: &str,
        body: &[u8],
        now: u64,
        rng: &mut dyn CryptoRng,
    ) -> Result<ReceivedResponse, Error> {
        let msg = self.open(sid, body)?;
        let estrategia = get_ci(&msg, "idEstrategia").and_then(|v| v.as_str());
        if estrategia != Some("autenticar/psd") {
            return Err(err(
                Code::MessageMalformed,
                "psd005: expected idEstrategia \"autenticar/psd\"",
            ));
        }
        if get_ci(&msg, "cliente")
            .and_then(|v| v.as_str())
            .is_none_or(str::is_empty)
        {
            return Err(err(
                Code::MessageMalformed,
                "psd005: expected a non-empty \"cliente\"",
            ));
        }
        let (token, exp) = self.issue_token(sid, now, rng);
        let work_id = new_guid(rng);
        if let Some(s) = self.sessions.get_mut(sid) {
            s.token = Some(token.clone());
            s.token_exp = exp;
            s.work_id = Some(work_id.clone());
        }
        self.sealed(
            sid,
            200,
            &serde_json::json!({"token": token, "workId": work_id}),
            rng,
        )
    }

    fn authorized(
        &mut self,
        service: Service,
        sid: &str,
        headers: &[(String, String)],
        body: &[u8],
        now: u64,
        rng: &mut dyn CryptoRng,
    ) -> Result<ReceivedResponse, Error> {
        let bearer = header_value(headers, "authorization")
            .and_then(|v| v.trim().strip_prefix("Bearer "))
            .map(str::trim);
        let work_id = header_value(headers, names::WORK_ID).map(str::trim);
        let s = self
            .sessions
            .get(sid)
            .ok_or_else(|| err(Code::BankKeyExpired, format!("unknown session {sid}")))?;
        if s.aes_key.is_none() {
            return Err(err(
                Code::BankKeyExpired,
                format!("no symmetric key for session {sid}"),
            ));
        }
        let token_ok = matches!((s.token.as_deref(), bearer), (Some(a), Some(b)) if crate::crypto::ct_eq(a.as_bytes(), b.as_bytes()));
        if !token_ok {
            return Err(err(
                Code::BankUnauthorized,
                "authorization: missing or unknown Bearer token",
            ));
        }
        if s.work_id.as_deref() != work_id {
            return Err(err(
                Code::BankUnauthorized,
                "amc-work-id does not match the authenticated session",
            ));
        }
        if now >= s.token_exp {
            return Err(err(Code::BankTokenLimit, "token expired"));
        }
        let msg = self.open(sid, body)?;
        match service {
            Service::Psd007 => {
                if get_ci(&msg, "token").and_then(|v| v.as_str()) != bearer {
                    return Err(err(
                        Code::BankUnauthorized,
                        "psd007: message token differs from the Bearer token",
                    ));
                }
                let (token, exp) = self.issue_token(sid, now, rng);
                if let Some(s) = self.sessions.get_mut(sid) {
                    s.token = Some(token.clone());
                    s.token_exp = exp;
                }
                self.sealed(sid, 200, &serde_json::json!({"token": token}), rng)
            }
            Service::Psd050 => self.register(sid, &msg, rng),
            Service::Psd052 => self.query(sid, &msg, rng),
            Service::Psd001 | Service::Psd005 => {
                Err(err(Code::BankUnknownService, "not an authorized service"))
            }
        }
    }

    fn register(
        &mut self,
        sid: &str,
        msg: &serde_json::Value,
        rng: &mut dyn CryptoRng,
    ) -> Result<ReceivedResponse, Error> {
        let req = match BoletoRequest::from_value(msg) {
            Ok(r) => r,
            Err(e) => {
                let status = StatusProcessamento {
                    codigo: Some(1),
                    mensagem: format!("{}: {}", e.code(), e.message()),
                };
                return self.business(sid, &status, rng);
            }
        };
        let nosso = format!("{:015}", req.documento.nosso_numero);
        if self.register_calls.len() >= MAX_BOLETOS && !self.register_calls.contains_key(&nosso) {
            let status = StatusProcessamento {
                codigo: Some(4),
                mensagem: format!("capacidade esgotada ({MAX_BOLETOS} boletos)"),
            };
            return self.business(sid, &status, rng);
        }
        let calls = self.register_calls.entry(nosso.clone()).or_insert(0);
        *calls = calls.saturating_add(1);
        if self.boletos.contains_key(&nosso) {
            let status = StatusProcessamento {
                codigo: Some(2),
                mensagem: format!("nossoNumero {nosso} já registrado"),
            };
            return self.business(sid, &status, rng);
        }
        let factor = crate::br::Date::parse(&req.documento.data_vencimento)
            .and_then(crate::br::factor_for_date)
            .unwrap_or(0);
        let free_field = format!(
            "{:025}",
            req.documento
                .nosso_numero
                .checked_rem(1_000_000_000_000_000_000)
                .unwrap_or(0)
        );
        let codigo_barras =
            match crate::br::bank_barcode("422", 9, factor, req.documento.valor, &free_field) {
                Ok(b) => b,
                Err(e) => {
                    let status = StatusProcessamento {
                        codigo: Some(1),
                        mensagem: e.message().to_string(),
                    };
                    return self.business(sid, &status, rng);
                }
            };
        let stored = StoredBoleto {
            request: req.clone(),
            nosso_numero: nosso.clone(),
            codigo_barras: codigo_barras.clone(),
        };
        self.boletos.insert(nosso.clone(), stored);
        let mut doc = serde_json::Map::new();
        doc.insert("nossoNumero".into(), nosso.into());
        doc.insert("seuNumero".into(), req.documento.seu_numero.clone().into());
        doc.insert("codigoBarras".into(), codigo_barras.into());
        let status = StatusProcessamento {
            codigo: Some(0),
            mensagem: "Boleto registrado com sucesso".into(),
        };
        self.sealed(sid, 200, &reply_json(&status, &doc), rng)
    }

    fn query(
        &mut self,
        sid: &str,
        msg: &serde_json::Value,
        rng: &mut dyn CryptoRng,
    ) -> Result<ReceivedResponse, Error> {
        let q = BoletoQuery::from_value(msg)?;
        let key = q
            .nosso_numero
            .trim()
            .parse::<u64>()
            .map(|n| format!("{n:015}"))
            .unwrap_or(q.nosso_numero.clone());
        let Some(found) = self
            .boletos
            .get(&key)
            .filter(|b| b.request.documento.seu_numero == q.seu_numero)
        else {
            let status = StatusProcessamento {
                codigo: Some(3),
                mensagem: format!("Boleto {} não encontrado", q.nosso_numero),
            };
            return self.business(sid, &status, rng);
        };
        let mut doc = serde_json::Map::new();
        doc.insert("nossoNumero".into(), found.nosso_numero.clone().into());
        doc.insert(
            "seuNumero".into(),
            found.request.documento.seu_numero.clone().into(),
        );
        doc.insert("registradoCip".into(), "S".into());
        let status = StatusProcessamento {
            codigo: Some(0),
            mensagem: "Consulta efetuada".into(),
        };
        self.sealed(sid, 200, &reply_json(&status, &doc), rng)
    }
}
