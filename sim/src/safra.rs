//! The Safra PSD simulator: `POST {base}/psd001|psd005|psd007|psd050|psd052`
//! answered by [`selo::safra::bank::Bank`], the core's bank role, behind a
//! mutex, with the system clock as `now`.

use crate::fault::Fault;
use crate::server::{BoxFuture, Protocol, ServerOptions, Sim, SimRequest, directive};
use crate::{SimError, unix_now};
use selo::http::ReceivedResponse;
use selo::keys::{RsaPrivateKey, RsaPublicKey};
use selo::safra::SafraProfile;
use selo::safra::Service;
use selo::safra::bank::{self, Bank, BankConfig, StoredBoleto};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

/// How to run a Safra simulator.
#[derive(Clone, Debug)]
pub struct SafraConfig {
    /// The bank's interpretation switches (padding, key format of its reply,
    /// signature message, IV reuse). `auto` padding accepts every candidate.
    pub profile: SafraProfile,
    /// Token lifetime in seconds (`exp - iat`, > 60).
    pub token_lifetime: u64,
    /// The bank's RSA key; `None` generates one of `bank_key_bits`.
    pub bank_key: Option<RsaPrivateKey>,
    /// Size of a generated bank key.
    pub bank_key_bits: usize,
    /// Path prefix of the services (`/psd`): the base URL is
    /// `http://127.0.0.1:PORT{base_path}/`.
    pub base_path: String,
    /// Listener and logging.
    pub server: ServerOptions,
}

impl Default for SafraConfig {
    fn default() -> Self {
        Self {
            profile: SafraProfile::default(),
            token_lifetime: 600,
            bank_key: None,
            bank_key_bits: 2048,
            base_path: "/psd".into(),
            server: ServerOptions::default(),
        }
    }
}

/// The protocol part of the Safra simulator.
pub struct SafraBank {
    bank: Arc<Mutex<Bank>>,
    base_path: String,
    /// Transport-level faults (store-then-502/drop, stall, 500-plain),
    /// taken by the first request they match.
    faults: Mutex<VecDeque<Fault>>,
}

/// The most transport faults queued at once.
const MAX_QUEUED_FAULTS: usize = 10_000;

/// True when a queued `fault` applies to a request for `service`.
fn matches(fault: &Fault, service: Option<Service>) -> bool {
    let named = |want: &Option<String>| match (want, service) {
        (Some(w), Some(s)) => s.path() == w.trim(),
        (Some(_), None) => false,
        (None, s) => s.is_some_and(|s| s != Service::Psd001),
    };
    match fault {
        Fault::StoreThen502 | Fault::StoreThenDrop => service == Some(Service::Psd050),
        Fault::Stall { service: want, .. } | Fault::Plain500 { service: want } => named(want),
        _ => false,
    }
}

/// A running Safra simulator.
pub type SafraSim = Sim<SafraBank>;

impl SafraBank {
    fn with_bank<T>(&self, f: impl FnOnce(&mut Bank) -> T) -> T {
        let mut bank = self.bank.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut bank)
    }

    /// psd050 messages the bank processed per `nossoNumero`.
    pub fn register_calls(&self) -> HashMap<String, u32> {
        self.with_bank(|b| b.register_calls().clone())
    }

    /// How many `nossoNumero`s received more than one processed psd050: a
    /// bank without de-duplication would have registered them twice.
    pub fn duplicates(&self) -> usize {
        self.with_bank(|b| b.register_calls().values().filter(|&&n| n > 1).count())
    }

    fn take_fault(&self, service: Option<Service>) -> Option<Fault> {
        let mut q = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        let i = q.iter().position(|f| matches(f, service))?;
        q.remove(i)
    }

    /// The registered boletos (the query answers from these).
    pub fn boletos(&self) -> Vec<StoredBoleto> {
        self.with_bank(|b| b.boletos().cloned().collect())
    }

    /// The bank's public key.
    pub fn public_key(&self) -> RsaPublicKey {
        self.with_bank(|b| b.public_key())
    }

    /// The bank's profile.
    pub fn profile(&self) -> SafraProfile {
        self.with_bank(|b| b.profile().clone())
    }

    /// The base path (`/psd`).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The pin of the bank's key: base64url SHA-256 of its DER
    /// SubjectPublicKeyInfo (profile `bank_key_pins`).
    pub fn bank_key_pin(&self) -> String {
        self.with_bank(|b| b.public_key().spki_pin().unwrap_or_default())
    }
}

fn json_error(status: u16, code: &str, message: String) -> ReceivedResponse {
    ReceivedResponse::new(
        status,
        vec![("content-type".into(), "application/json".into())],
        serde_json::json!({"codigo": code, "mensagem": message})
            .to_string()
            .into_bytes(),
    )
}

impl Protocol for SafraBank {
    fn name(&self) -> &'static str {
        "safra"
    }

    fn handle(self: Arc<Self>, req: SimRequest) -> BoxFuture<ReceivedResponse> {
        Box::pin(async move {
            let under_base = req
                .path
                .strip_prefix(self.base_path.trim_end_matches('/'))
                .is_some_and(|rest| rest.starts_with('/'));
            if !under_base {
                return json_error(
                    404,
                    "sim.not_found",
                    format!("no PSD service at {} (base {})", req.path, self.base_path),
                );
            }
            if req.method != "POST" {
                return json_error(
                    405,
                    "sim.method_not_allowed",
                    format!("{} {}: PSD services take POST", req.method, req.path),
                );
            }
            let fault = self.take_fault(Service::from_path(&req.path));
            match &fault {
                Some(Fault::Stall { ms, .. }) => return directive(format!("stall={ms}")),
                Some(Fault::Plain500 { .. }) => {
                    return json_error(
                        500,
                        "sim.internal",
                        "internal server error (injected)".into(),
                    );
                }
                _ => {}
            }
            // RSA work takes milliseconds: keep it off the async workers.
            let bank = Arc::clone(&self.bank);
            let joined = tokio::task::spawn_blocking(move || {
                let mut rng = selo::rng::system();
                let mut bank = bank.lock().unwrap_or_else(PoisonError::into_inner);
                bank.handle(&req.path, &req.headers, &req.body, unix_now(), &mut rng)
            })
            .await;
            let reply = joined.unwrap_or_else(|e| {
                json_error(500, "sim.internal", format!("bank task failed: {e}"))
            });
            match fault {
                // Stored; the reply is lost on the way back.
                Some(Fault::StoreThen502) => json_error(
                    502,
                    "sim.bad_gateway",
                    "bad gateway: the upstream did not answer in time (injected)".into(),
                ),
                Some(Fault::StoreThenDrop) => directive("drop".into()),
                _ => reply,
            }
        })
    }

    fn inject(&self, fault: &Fault) -> Result<(), String> {
        let f = match fault {
            Fault::ExpireKey => bank::Fault::ExpireKey,
            Fault::Answer480 => bank::Fault::Answer480,
            Fault::Answer550 => bank::Fault::Answer550,
            f @ (Fault::StoreThen502
            | Fault::StoreThenDrop
            | Fault::Stall { .. }
            | Fault::Plain500 { .. }) => {
                if let Fault::Stall {
                    service: Some(s), ..
                }
                | Fault::Plain500 { service: Some(s) } = f
                    && Service::from_path(s).is_none()
                {
                    return Err(format!(
                        "fault {}: unknown service {s:?} (psd001, psd005, psd007, psd050, psd052)",
                        f.name()
                    ));
                }
                let mut q = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
                if q.len() >= MAX_QUEUED_FAULTS {
                    return Err(format!("at most {MAX_QUEUED_FAULTS} faults may be queued"));
                }
                q.push_back(f.clone());
                return Ok(());
            }
            other => {
                return Err(format!(
                    "fault {} does not apply to the Safra simulator",
                    other.name()
                ));
            }
        };
        self.with_bank(|b| b.inject(f));
        Ok(())
    }

    fn state(&self) -> serde_json::Value {
        self.with_bank(|b| {
            let boletos: Vec<serde_json::Value> = b
                .boletos()
                .map(|s| {
                    serde_json::json!({
                        "nossoNumero": s.nosso_numero,
                        "seuNumero": s.request.documento.seu_numero,
                        "codigoBarras": s.codigo_barras,
                    })
                })
                .collect();
            let calls = b.register_calls();
            let duplicates = calls.values().filter(|&&n| n > 1).count();
            serde_json::json!({
                "base_path": self.base_path,
                "profile": b.profile(),
                "boletos": boletos,
                "psd050_counts": calls,
                "duplicates": duplicates,
                "sessions": b.session_count(),
                "bank_key_pin": b.public_key().spki_pin().unwrap_or_default(),
                // A simulator's own secrets, for tests that check where they
                // end up (loopback only; never a real bank's).
                "issued": {
                    "session_keys": b.issued().map(|(k, _)| k.to_b64().to_string()).collect::<Vec<_>>(),
                    "tokens": b.issued().filter_map(|(_, t)| t.map(str::to_string)).collect::<Vec<_>>(),
                },
            })
        })
    }
}

/// Starts a Safra simulator on 127.0.0.1.
pub async fn start(cfg: SafraConfig) -> Result<SafraSim, SimError> {
    if cfg.token_lifetime <= 60 {
        return Err(SimError::config(format!(
            "token lifetime must exceed 60 s, found {}",
            cfg.token_lifetime
        )));
    }
    if !cfg.base_path.starts_with('/') {
        return Err(SimError::config(format!(
            "base path must start with '/', found {:?}",
            cfg.base_path
        )));
    }
    let bits = cfg.bank_key_bits;
    let key = match cfg.bank_key {
        Some(k) => k,
        None => tokio::task::spawn_blocking(move || {
            RsaPrivateKey::generate(bits, &mut selo::rng::system())
        })
        .await
        .map_err(|e| SimError::config(format!("key generation task failed: {e}")))?
        .map_err(|e| SimError::config(format!("{} ({})", e.message(), e.code())))?,
    };
    let bank = Bank::new(
        BankConfig {
            profile: cfg.profile,
            bank_key: key,
            token_lifetime: cfg.token_lifetime,
        },
        &mut selo::rng::system(),
    )
    .map_err(|e| SimError::config(format!("{} ({})", e.message(), e.code())))?;
    let protocol = SafraBank {
        bank: Arc::new(Mutex::new(bank)),
        base_path: cfg.base_path.trim_end_matches('/').to_string(),
        faults: Mutex::new(VecDeque::new()),
    };
    Sim::start(protocol, &cfg.server)
        .await
        .map_err(SimError::Bind)
}

impl Sim<SafraBank> {
    /// The base URL to give a client: `http://127.0.0.1:PORT/psd/`.
    pub fn base_url(&self) -> String {
        self.url(&format!("{}/", self.protocol().base_path()))
    }

    /// The pin of the bank's key (profile `bank_key_pins`).
    pub fn bank_key_pin(&self) -> String {
        self.protocol().bank_key_pin()
    }
}
