//! The Open Finance Brasil simulator: a payment-consent endpoint (a
//! resource server) over `selo::ofb::server`.
//!
//! `POST {consents_path}` with `content-type: application/jwt` is verified
//! with [`selo::ofb::server::verify_request`] (form, alg, typ, kid against
//! the clients' JWKS, PS256 signature, claims, then `jti` replay per client
//! id): a refusal is the core's exact error response (400 `BAD_SIGNATURE`,
//! 403 `JTI_REUSED`, …). An accepted request gets `201` with a signed
//! `application/jwt` consent (aud = the client's organisationId). The
//! server's public JWKS is served at `GET /.well-known/jwks.json`.

use crate::fault::Fault;
use crate::server::{BoxFuture, Protocol, ServerOptions, Sim, SimRequest};
use crate::{SimError, unix_now};
use selo::http::{ReceivedResponse, header_value};
use selo::keys::RsaPrivateKey;
use selo::keys::jwk::{Jwk, JwkSet};
use selo::ofb::server::{RequestExpectations, sign_response, verify_request};
use selo::ofb::{MemoryJtiCache, OfbProfile, SignParams};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where the clients' verification keys come from.
#[derive(Clone, Debug)]
pub enum ClientKeys {
    /// A JWK Set (e.g. loaded from a file).
    Jwks(JwkSet),
    /// Generate one client key of this many bits; get it back with
    /// [`OfbBank::generated_client_key`] to sign requests.
    Generate(usize),
}

/// How to run the OFB simulator.
#[derive(Clone, Debug)]
pub struct OfbConfig {
    /// Verification and signing switches.
    pub profile: OfbProfile,
    /// The clients' public keys.
    pub client_keys: ClientKeys,
    /// Expected `iss` of requests: the client's organisationId.
    pub client_org_id: String,
    /// The client id requests are scoped to for `jti` replay.
    pub client_id: String,
    /// Our organisationId: `iss` of signed responses.
    pub org_id: String,
    /// Our signing key; `None` generates a 2048-bit one.
    pub server_key: Option<RsaPrivateKey>,
    /// The consent endpoint's path.
    pub consents_path: String,
    /// Expected `aud` of requests; `None` = this simulator's own URL of the
    /// consent endpoint (`http://127.0.0.1:PORT{consents_path}`).
    pub audience: Option<String>,
    /// Listener and logging.
    pub server: ServerOptions,
}

impl Default for OfbConfig {
    fn default() -> Self {
        Self {
            profile: OfbProfile::default(),
            client_keys: ClientKeys::Generate(2048),
            client_org_id: "c0ffee00-0000-4000-8000-000000000001".into(),
            client_id: "selo-demo-client".into(),
            org_id: "ba0bab00-0000-4000-8000-000000000002".into(),
            server_key: None,
            consents_path: "/open-banking/payments/v4/consents".into(),
            audience: None,
            server: ServerOptions::default(),
        }
    }
}

/// The protocol part of the OFB simulator.
pub struct OfbBank {
    cfg: OfbConfig,
    jwks: JwkSet,
    client_key: Option<(String, RsaPrivateKey)>,
    server_key: RsaPrivateKey,
    server_kid: String,
    audience: OnceLock<String>,
    cache: Mutex<MemoryJtiCache>,
    consents: Mutex<Vec<serde_json::Value>>,
}

/// A running OFB simulator.
pub type OfbSim = Sim<OfbBank>;

impl OfbBank {
    /// The generated client key and its `kid` (when keys were generated).
    pub fn generated_client_key(&self) -> Option<(&str, &RsaPrivateKey)> {
        self.client_key.as_ref().map(|(kid, k)| (kid.as_str(), k))
    }

    /// The server's public JWKS (to verify signed responses).
    pub fn server_jwks(&self) -> JwkSet {
        JwkSet::new(vec![
            Jwk::from_public(&self.server_key.public_key())
                .with_kid(self.server_kid.clone())
                .with_alg("PS256")
                .with_use("sig"),
        ])
    }

    /// The `aud` requests must carry.
    pub fn audience(&self) -> &str {
        self.audience.get().map(String::as_str).unwrap_or_default()
    }

    /// The configuration (organisation ids, client id, path).
    pub fn config(&self) -> &OfbConfig {
        &self.cfg
    }

    /// Consents created so far (the verified request payloads).
    pub fn consents(&self) -> Vec<serde_json::Value> {
        lock(&self.consents).clone()
    }

    fn consent(&self, req: &SimRequest) -> ReceivedResponse {
        let now = unix_now();
        let expected = RequestExpectations {
            aud: self.audience().to_string(),
            iss: self.cfg.client_org_id.clone(),
            client_id: self.cfg.client_id.clone(),
        };
        let verified = {
            let mut cache = lock(&self.cache);
            verify_request(
                &req.method,
                header_value(&req.headers, "content-type"),
                &req.body,
                now,
                &self.jwks,
                &expected,
                &self.cfg.profile,
                &mut *cache,
            )
        };
        let verified = match verified {
            Ok(v) => v,
            Err(rej) => {
                let r = rej.response;
                return ReceivedResponse::new(r.status, r.headers, r.body);
            }
        };
        let mut rng = selo::rng::system();
        let consent_id = format!("urn:selo:{}", selo::encoding::new_guid(&mut rng));
        let data = verified
            .payload
            .get("data")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let payload = serde_json::json!({
            "data": {
                "consentId": consent_id,
                "status": "AWAITING_AUTHORISATION",
                "creationDateTime": now,
                "requestJti": verified.claims.jti,
                "payment": data.get("payment").cloned().unwrap_or(serde_json::Value::Null),
            },
            "links": {"self": format!("{}/{consent_id}", self.audience())},
            "meta": {},
        });
        let params = SignParams::new(
            self.server_kid.clone(),
            self.cfg.client_org_id.clone(),
            self.cfg.org_id.clone(),
        );
        match sign_response(
            201,
            &self.server_key,
            &payload,
            &params,
            &self.cfg.profile,
            now,
            &mut rng,
        ) {
            Ok(r) => {
                lock(&self.consents).push(serde_json::Value::Object(verified.payload));
                ReceivedResponse::new(r.status, r.headers, r.body)
            }
            Err(e) => {
                let r = selo::ofb::server::error_response(&e);
                ReceivedResponse::new(r.status, r.headers, r.body)
            }
        }
    }
}

fn not_found(path: &str) -> ReceivedResponse {
    ReceivedResponse::new(
        404,
        vec![("content-type".into(), "application/json".into())],
        serde_json::json!({"errors": [{"code": "NOT_FOUND", "title": "Not found", "detail": format!("no resource at {path}")}]})
            .to_string()
            .into_bytes(),
    )
}

impl Protocol for OfbBank {
    fn name(&self) -> &'static str {
        "ofb"
    }

    fn handle(self: Arc<Self>, req: SimRequest) -> BoxFuture<ReceivedResponse> {
        Box::pin(async move {
            if req.path == "/.well-known/jwks.json" && req.method == "GET" {
                let body = self
                    .server_jwks()
                    .to_value()
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                return ReceivedResponse::new(
                    200,
                    vec![("content-type".into(), "application/json".into())],
                    body.into_bytes(),
                );
            }
            if req.path != self.cfg.consents_path {
                return not_found(&req.path);
            }
            // RSA verification and signing: off the async workers.
            let this = Arc::clone(&self);
            tokio::task::spawn_blocking(move || this.consent(&req))
                .await
                .unwrap_or_else(|e| {
                    ReceivedResponse::new(500, vec![], format!("consent task failed: {e}"))
                })
        })
    }

    fn inject(&self, fault: &Fault) -> Result<(), String> {
        Err(format!(
            "fault {} does not apply to the OFB simulator",
            fault.name()
        ))
    }

    fn state(&self) -> serde_json::Value {
        serde_json::json!({
            "consents_path": self.cfg.consents_path,
            "audience": self.audience(),
            "client_org_id": self.cfg.client_org_id,
            "org_id": self.cfg.org_id,
            "consents": lock(&self.consents).len(),
            "jti_cached": lock(&self.cache).len(),
        })
    }
}

fn key_err(e: &selo::keys::Error) -> SimError {
    SimError::config(format!("{} ({})", e.message(), e.code()))
}

async fn generate(bits: usize) -> Result<RsaPrivateKey, SimError> {
    tokio::task::spawn_blocking(move || RsaPrivateKey::generate(bits, &mut selo::rng::system()))
        .await
        .map_err(|e| SimError::config(format!("key generation task failed: {e}")))?
        .map_err(|e| key_err(&e))
}

/// Starts the OFB simulator on 127.0.0.1.
pub async fn start(cfg: OfbConfig) -> Result<OfbSim, SimError> {
    if !cfg.consents_path.starts_with('/') {
        return Err(SimError::config(format!(
            "consents path must start with '/', found {:?}",
            cfg.consents_path
        )));
    }
    let (jwks, client_key) = match &cfg.client_keys {
        ClientKeys::Jwks(set) => (set.to_public(), None),
        ClientKeys::Generate(bits) => {
            let key = generate(*bits).await?;
            let jwk = Jwk::from_public(&key.public_key())
                .with_thumbprint_kid()
                .map_err(|e| key_err(&e))?
                .with_alg("PS256")
                .with_use("sig");
            let kid = selo::keys::jwk::rsa_thumbprint(&key.public_key());
            (JwkSet::new(vec![jwk]), Some((kid, key)))
        }
    };
    let server_key = match &cfg.server_key {
        Some(k) => k.clone(),
        None => generate(2048).await?,
    };
    let server_kid = selo::keys::jwk::rsa_thumbprint(&server_key.public_key());
    let protocol = OfbBank {
        cfg: cfg.clone(),
        jwks,
        client_key,
        server_key,
        server_kid,
        audience: OnceLock::new(),
        cache: Mutex::new(MemoryJtiCache::default()),
        consents: Mutex::new(Vec::new()),
    };
    let sim = Sim::start(protocol, &cfg.server)
        .await
        .map_err(SimError::Bind)?;
    let aud = cfg
        .audience
        .clone()
        .unwrap_or_else(|| sim.url(&cfg.consents_path));
    let _ = sim.protocol().audience.set(aud);
    Ok(sim)
}
