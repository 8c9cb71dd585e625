//! BMP HMAC: canonical bodies, exact money, signing with a stable
//! idempotency key, the partner confirmation endpoint, and the BMP side.

use crate::common::{
    HostRng, HttpHeader, HttpRequest, HttpResponse, headers_in, headers_out, lock, make_rng,
};
use crate::error::SeloError;
use selo::bmp::{
    self, Account, BmpProfile, BoletoPayment, HmacKey, Money, PixRefund, PixTransfer,
    SignedTransaction, Transaction, Transfer,
};
use std::sync::{Arc, Mutex};

fn profile(json: Option<String>) -> Result<BmpProfile, SeloError> {
    match json {
        None => Ok(BmpProfile::default()),
        Some(j) => Ok(BmpProfile::from_json(&j)?),
    }
}

fn hmac_key(key: &str, p: &BmpProfile) -> Result<HmacKey, SeloError> {
    Ok(HmacKey::new(key, p)?)
}

/// An amount: integer cents, or decimal text (`"1345.80"`).
#[derive(Clone, Debug, uniffi::Enum)]
pub enum MoneyAmount {
    Cents { cents: i64 },
    Decimal { text: String },
}

fn money(m: MoneyAmount) -> Result<Money, SeloError> {
    Ok(match m {
        MoneyAmount::Cents { cents } => Money::from_cents_signed(cents)?,
        MoneyAmount::Decimal { text } => Money::parse(&text)?,
    })
}

/// Exact cents of a decimal text (at most two fraction digits, never rounded).
#[uniffi::export]
pub fn money_to_cents(text: String) -> Result<u64, SeloError> {
    Ok(Money::parse(&text)?.cents())
}

/// The JSON number text of an amount in cents (`134583` → `"1345.83"`).
#[uniffi::export]
pub fn money_from_cents(cents: i64) -> Result<String, SeloError> {
    Ok(Money::from_cents_signed(cents)?.to_json_text())
}

/// True when two JSON number texts are the same decimal (`100.0` = `100.00`).
#[uniffi::export]
pub fn bmp_decimal_eq(a: String, b: String) -> bool {
    bmp::decimal_eq(&a, &b)
}

/// The profile with every default filled in, as JSON.
#[uniffi::export]
pub fn bmp_profile_json(json: Option<String>) -> Result<String, SeloError> {
    Ok(profile(json)?.to_json())
}

/// True when `name` is a money member under the profile.
#[uniffi::export]
pub fn bmp_is_money_field(profile_json: Option<String>, name: String) -> Result<bool, SeloError> {
    Ok(profile(profile_json)?.is_money_field(&name))
}

/// A new shared key: 128 random alphanumeric characters.
#[uniffi::export]
pub fn bmp_generate_key(rng_seed: Option<Vec<u8>>) -> Result<String, SeloError> {
    let mut rng = make_rng(rng_seed)?;
    Ok(HmacKey::generate(&mut *rng).expose_secret().to_string())
}

/// Canonical body bytes of a JSON text (money members normalised).
#[uniffi::export]
pub fn bmp_canonical(
    json_text: Vec<u8>,
    profile_json: Option<String>,
) -> Result<Vec<u8>, SeloError> {
    Ok(bmp::canonical::canonical_from_text(
        &json_text,
        &profile(profile_json)?,
    )?)
}

/// Rewrites a body's amounts .NET-style (`100.00` → `100.0`), as BMP may.
#[uniffi::export]
pub fn bmp_reformat_money_dotnet(
    body: Vec<u8>,
    profile_json: Option<String>,
) -> Result<Vec<u8>, SeloError> {
    Ok(bmp::canonical::reformat_money(
        &body,
        &profile(profile_json)?,
        bmp::MoneyFormat::Dotnet,
    )?)
}

/// The `hmac` header value of `body`.
#[uniffi::export]
pub fn bmp_hmac(
    key: String,
    body: Vec<u8>,
    profile_json: Option<String>,
) -> Result<String, SeloError> {
    let p = profile(profile_json)?;
    Ok(bmp::sign(&hmac_key(&key, &p)?, &body, &p))
}

/// Checks an `hmac` value against `body` (constant time).
#[uniffi::export]
pub fn bmp_verify(
    key: String,
    body: Vec<u8>,
    hmac: String,
    profile_json: Option<String>,
) -> Result<(), SeloError> {
    let p = profile(profile_json)?;
    Ok(bmp::verify(&hmac_key(&key, &p)?, &body, &hmac, &p)?)
}

/// The path of the first value that differs (amounts compared as decimals).
#[uniffi::export]
pub fn bmp_first_difference(
    original: Vec<u8>,
    received: Vec<u8>,
) -> Result<Option<String>, SeloError> {
    let a = bmp::canonical::parse_body(&original)?;
    let b = bmp::canonical::parse_body(&received)?;
    Ok(bmp::first_difference(&a, &b))
}

/// True for the six endpoints that require the `hmac` header.
#[uniffi::export]
pub fn bmp_is_protected_endpoint(path: String) -> bool {
    bmp::is_protected_endpoint(&path)
}

/// A signed transaction: send exactly these bytes and headers, on every retry.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BmpSigned {
    pub idempotency_key: String,
    pub body: Vec<u8>,
    pub hmac: String,
    pub headers: Vec<HttpHeader>,
    /// The endpoint of a typed transaction.
    pub endpoint: Option<String>,
}

fn signed(s: SignedTransaction, endpoint: Option<String>) -> BmpSigned {
    BmpSigned {
        idempotency_key: s.idempotency_key().to_string(),
        body: s.body().to_vec(),
        hmac: s.hmac().to_string(),
        headers: headers_out(s.headers()),
        endpoint,
    }
}

/// An account (`contaOrigem` / `contaDestino`).
#[derive(Clone, Debug, uniffi::Record)]
pub struct BmpAccount {
    pub agencia: String,
    pub agencia_digito: Option<String>,
    pub conta: String,
    pub conta_digito: Option<String>,
    pub tipo_conta: u8,
    pub documento_federal: Option<String>,
    pub nome: Option<String>,
    pub numero_banco: Option<u32>,
    pub ispb: Option<String>,
}

impl From<BmpAccount> for Account {
    fn from(a: BmpAccount) -> Self {
        Account {
            agencia: a.agencia,
            agencia_digito: a.agencia_digito,
            conta: a.conta,
            conta_digito: a.conta_digito,
            tipo_conta: a.tipo_conta,
            documento_federal: a.documento_federal,
            nome: a.nome,
            numero_banco: a.numero_banco,
            ispb: a.ispb,
        }
    }
}

/// The five typed transaction kinds of the seed.
#[derive(Clone, Debug, uniffi::Enum)]
pub enum BmpTransaction {
    BoletoPayment {
        data_transacao: String,
        conta_origem: BmpAccount,
        data_vencimento: Option<String>,
        codigo_barras: Option<String>,
        valor: MoneyAmount,
        linha_digitavel: Option<String>,
    },
    Ted {
        data_transacao: String,
        conta_origem: BmpAccount,
        conta_destino: BmpAccount,
        valor: MoneyAmount,
    },
    InternalTransfer {
        data_transacao: String,
        conta_origem: BmpAccount,
        conta_destino: BmpAccount,
        valor: MoneyAmount,
    },
    Pix {
        data_transacao: String,
        conta_origem: BmpAccount,
        conta_destino: Option<BmpAccount>,
        valor: MoneyAmount,
        chave_pix: String,
        tipo_chave: u8,
    },
    PixRefund {
        data_transacao: String,
        conta_origem: BmpAccount,
        conta_destino: BmpAccount,
        valor: MoneyAmount,
        codigo_movimento: String,
    },
}

fn transaction(t: BmpTransaction) -> Result<Transaction, SeloError> {
    Ok(match t {
        BmpTransaction::BoletoPayment {
            data_transacao,
            conta_origem,
            data_vencimento,
            codigo_barras,
            valor,
            linha_digitavel,
        } => Transaction::BoletoPayment(BoletoPayment {
            data_transacao,
            conta_origem: conta_origem.into(),
            data_vencimento,
            codigo_barras,
            valor: money(valor)?,
            linha_digitavel,
        }),
        BmpTransaction::Ted {
            data_transacao,
            conta_origem,
            conta_destino,
            valor,
        } => Transaction::Ted(Transfer {
            data_transacao,
            conta_origem: conta_origem.into(),
            conta_destino: conta_destino.into(),
            valor: money(valor)?,
        }),
        BmpTransaction::InternalTransfer {
            data_transacao,
            conta_origem,
            conta_destino,
            valor,
        } => Transaction::InternalTransfer(Transfer {
            data_transacao,
            conta_origem: conta_origem.into(),
            conta_destino: conta_destino.into(),
            valor: money(valor)?,
        }),
        BmpTransaction::Pix {
            data_transacao,
            conta_origem,
            conta_destino,
            valor,
            chave_pix,
            tipo_chave,
        } => Transaction::Pix(PixTransfer {
            data_transacao,
            conta_origem: conta_origem.into(),
            conta_destino: conta_destino.map(Account::from),
            valor: money(valor)?,
            chave_pix,
            tipo_chave,
        }),
        BmpTransaction::PixRefund {
            data_transacao,
            conta_origem,
            conta_destino,
            valor,
            codigo_movimento,
        } => Transaction::PixRefund(PixRefund {
            data_transacao,
            conta_origem: conta_origem.into(),
            conta_destino: conta_destino.into(),
            valor: money(valor)?,
            codigo_movimento,
        }),
    })
}

/// The partner side of BMP requests.
#[derive(uniffi::Object)]
pub struct BmpClient {
    inner: bmp::BmpClient,
    rng: Mutex<HostRng>,
}

#[uniffi::export]
impl BmpClient {
    #[uniffi::constructor]
    pub fn new(
        key: String,
        profile_json: Option<String>,
        rng_seed: Option<Vec<u8>>,
    ) -> Result<Arc<Self>, SeloError> {
        let p = profile(profile_json)?;
        Ok(Arc::new(Self {
            inner: bmp::BmpClient::new(hmac_key(&key, &p)?, p),
            rng: Mutex::new(make_rng(rng_seed)?),
        }))
    }

    /// Signs exact bytes with a given idempotency key.
    pub fn sign_bytes(
        &self,
        body: Vec<u8>,
        idempotency_key: String,
    ) -> Result<BmpSigned, SeloError> {
        Ok(signed(self.inner.sign_bytes(body, &idempotency_key)?, None))
    }

    /// Canonicalises a JSON text and signs it (idempotency key: the body's
    /// root `idempotencyKey`, else a new UUID v4).
    pub fn sign_json(&self, json_text: Vec<u8>) -> Result<BmpSigned, SeloError> {
        let mut rng = lock(&self.rng);
        Ok(signed(self.inner.sign_json(&json_text, &mut **rng)?, None))
    }

    /// Builds, validates and signs a typed transaction; `idempotency_key`
    /// `None` draws a new one (keep it to retry the same transaction).
    pub fn sign_transaction(
        &self,
        tx: BmpTransaction,
        idempotency_key: Option<String>,
    ) -> Result<BmpSigned, SeloError> {
        let t = transaction(tx)?;
        let endpoint = Some(t.endpoint().to_string());
        let s = match idempotency_key {
            Some(k) => self.inner.sign_transaction_with_key(&t, &k)?,
            None => {
                let mut rng = lock(&self.rng);
                self.inner.sign_transaction(&t, &mut **rng)?
            }
        };
        Ok(signed(s, endpoint))
    }

    pub fn profile_json(&self) -> String {
        self.inner.profile().to_json()
    }
}

/// Looks up the body originally sent for an idempotency key.
#[uniffi::export(with_foreign)]
pub trait BmpTransactionStore: Send + Sync {
    fn original_body(&self, idempotency_key: String) -> Option<Vec<u8>>;
}

/// The confirmation endpoint's answer.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BmpConfirmation {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub difference: Option<String>,
}

/// The partner's confirmation decision over the raw received bytes.
#[uniffi::export]
pub fn bmp_confirm(
    key: String,
    profile_json: Option<String>,
    headers: Vec<HttpHeader>,
    body: Vec<u8>,
    store: Arc<dyn BmpTransactionStore>,
) -> Result<BmpConfirmation, SeloError> {
    let p = profile(profile_json)?;
    let k = hmac_key(&key, &p)?;
    let lookup = |id: &str| store.original_body(id.to_string());
    let r = bmp::confirm(&k, &p, &headers_in(headers), &body, &lookup);
    Ok(BmpConfirmation {
        status: r.status,
        headers: headers_out(r.headers),
        body: r.body,
        error_code: r.error.as_ref().map(|e| e.code().to_string()),
        error_message: r.error.as_ref().map(|e| e.message().to_string()),
        difference: r.difference,
    })
}

/// A request the BMP side accepted.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BmpAccepted {
    pub idempotency_key: String,
    pub body: Vec<u8>,
}

/// The confirmation call BMP makes, and its deadline.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BmpConfirmationCall {
    pub request: HttpRequest,
    pub deadline_ms: u64,
}

/// BMP's side of the handshake (simulators, mocks).
#[derive(uniffi::Object)]
pub struct BmpServer {
    inner: bmp::BmpServer,
}

fn accepted(a: BmpAccepted) -> bmp::AcceptedTransaction {
    bmp::AcceptedTransaction {
        idempotency_key: a.idempotency_key,
        body: a.body,
    }
}

fn call(c: BmpConfirmationCall) -> bmp::ConfirmationCall {
    bmp::ConfirmationCall {
        request: c.request.into(),
        deadline_ms: c.deadline_ms,
    }
}

#[uniffi::export]
impl BmpServer {
    #[uniffi::constructor]
    pub fn new(key: String, profile_json: Option<String>) -> Result<Arc<Self>, SeloError> {
        let p = profile(profile_json)?;
        Ok(Arc::new(Self {
            inner: bmp::BmpServer::new(hmac_key(&key, &p)?, p),
        }))
    }

    /// Headers, MAC and JSON checks (refusals are HTTP 406).
    pub fn check_request(
        &self,
        headers: Vec<HttpHeader>,
        body: Vec<u8>,
    ) -> Result<BmpAccepted, SeloError> {
        let a = self.inner.check_request(&headers_in(headers), &body)?;
        Ok(BmpAccepted {
            idempotency_key: a.idempotency_key,
            body: a.body,
        })
    }

    /// The confirmation call; `dotnet` rewrites amounts `.NET`-style.
    pub fn confirmation_request(
        &self,
        tx: BmpAccepted,
        partner_url: String,
        extra_headers: Vec<HttpHeader>,
        dotnet: bool,
    ) -> Result<BmpConfirmationCall, SeloError> {
        let t = accepted(tx);
        let extra = headers_in(extra_headers);
        let c = if dotnet {
            self.inner
                .confirmation_request_dotnet(&t, &partner_url, &extra)?
        } else {
            self.inner.confirmation_request(&t, &partner_url, &extra)
        };
        Ok(BmpConfirmationCall {
            request: c.request.into(),
            deadline_ms: c.deadline_ms,
        })
    }

    /// The partner's reply must be 200 with a valid `hmac` (else 406).
    pub fn check_confirmation_reply(
        &self,
        confirmation: BmpConfirmationCall,
        reply: HttpResponse,
    ) -> Result<(), SeloError> {
        Ok(self
            .inner
            .check_confirmation_reply(&call(confirmation), &reply.into())?)
    }

    /// The error for a confirmation that missed its deadline.
    pub fn confirmation_timed_out(&self, confirmation: BmpConfirmationCall) -> SeloError {
        SeloError::from(self.inner.confirmation_timed_out(&call(confirmation)))
    }
}
