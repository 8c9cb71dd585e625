//! BMP HMAC handshake: signing (partner), confirmation (partner), the BMP
//! side (simulators), money and canonical bodies.

use crate::conv::{
    bytes_in, bytes_out, get, get_opt, get_opt_string, headers_in, headers_out, member_names,
    profile_in, profile_out, received_in, request_out, rng_in, selo_err, set, type_err,
};
use selo::bmp::{
    self, AcceptedTransaction, Account, BmpClient as CoreClient, BmpProfile,
    BmpServer as CoreServer, BoletoPayment, ConfirmationCall, HmacKey, Money, PixRefund,
    PixTransfer, SignedTransaction, Transaction, Transfer,
};
use serde::Deserialize;
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

fn profile_from(v: Option<JsValue>) -> Result<BmpProfile, JsValue> {
    let Some(v) = v else {
        return Ok(BmpProfile::default());
    };
    let names = member_names(&BmpProfile::default());
    let j = profile_in(&v, &names)?;
    BmpProfile::from_json(&j.to_string()).map_err(selo_err)
}

/// The default BMP profile (SPEC §4), camelCase.
#[wasm_bindgen(js_name = bmpDefaultProfile)]
pub fn bmp_default_profile() -> Result<JsValue, JsValue> {
    profile_out(&BmpProfile::default())
}

/// Validates a BMP profile and returns it complete, camelCase.
#[wasm_bindgen(js_name = bmpProfile)]
pub fn bmp_profile(v: JsValue) -> Result<JsValue, JsValue> {
    profile_out(&profile_from(Some(v))?)
}

fn key_in(key: &JsValue, profile: &BmpProfile) -> Result<HmacKey, JsValue> {
    let k = key
        .as_string()
        .ok_or_else(|| type_err("key: expected the shared key string"))?;
    HmacKey::new(&k, profile).map_err(selo_err)
}

fn signed_out(s: &SignedTransaction) -> JsValue {
    let o = js_sys::Object::new();
    set(
        &o,
        "idempotencyKey",
        &JsValue::from_str(s.idempotency_key()),
    );
    set(&o, "body", &bytes_out(s.body()));
    set(
        &o,
        "bodyText",
        &JsValue::from_str(&String::from_utf8_lossy(s.body())),
    );
    set(&o, "hmac", &JsValue::from_str(s.hmac()));
    set(&o, "headers", &headers_out(&s.headers()));
    o.into()
}

/// A new shared key: 128 characters from `[A-Za-z0-9]` (`{ seed }` for tests).
#[wasm_bindgen(js_name = bmpGenerateKey)]
pub fn bmp_generate_key(opts: JsValue) -> Result<String, JsValue> {
    let mut rng = rng_in(get_opt(&opts, "seed"))?;
    Ok(HmacKey::generate(&mut *rng).expose_secret().to_string())
}

/// The `hmac` header value for exact body bytes (encoding per profile).
#[wasm_bindgen(js_name = bmpSign)]
pub fn bmp_sign(key: JsValue, body: JsValue, profile: JsValue) -> Result<String, JsValue> {
    let p = profile_from(opt(profile))?;
    let k = key_in(&key, &p)?;
    Ok(bmp::sign(&k, &bytes_in(&body, "body")?, &p))
}

/// Checks an `hmac` value against exact body bytes (constant time); throws
/// `bmp.mac.mismatch` / `bmp.mac.encoding`.
#[wasm_bindgen(js_name = bmpVerify)]
pub fn bmp_verify(
    key: JsValue,
    body: JsValue,
    hmac: &str,
    profile: JsValue,
) -> Result<(), JsValue> {
    let p = profile_from(opt(profile))?;
    let k = key_in(&key, &p)?;
    bmp::verify(&k, &bytes_in(&body, "body")?, hmac, &p).map_err(selo_err)
}

fn opt(v: JsValue) -> Option<JsValue> {
    if v.is_undefined() || v.is_null() {
        None
    } else {
        Some(v)
    }
}

/// Canonical body bytes (SPEC §4.1) of JSON text/bytes (numbers keep their
/// exact text) or of a JS value (integers exact; a float under a money
/// member is refused with `bmp.money.float`: pass amounts as strings).
#[wasm_bindgen(js_name = bmpCanonical)]
pub fn bmp_canonical(body: JsValue, profile: JsValue) -> Result<Vec<u8>, JsValue> {
    let p = profile_from(opt(profile))?;
    if body.is_string() || body.is_instance_of::<js_sys::Uint8Array>() {
        return bmp::canonical::canonical_from_text(&bytes_in(&body, "body")?, &p)
            .map_err(selo_err);
    }
    let v = crate::conv::json_in(&body, "body")?;
    bmp::canonical::canonical_from_value(&v, &p).map_err(selo_err)
}

fn money_in(v: &serde_json::Value, path: &str) -> Result<Money, JsValue> {
    match v {
        serde_json::Value::String(s) => Money::parse(s).map_err(selo_err),
        serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => {
            Money::parse(&n.to_string()).map_err(selo_err)
        }
        serde_json::Value::Number(n) => Err(selo_err(bmp::Error::new(
            bmp::Code::MoneyFloat,
            format!(
                "{path}: {n} is a binary floating-point number; pass the amount as a decimal string (\"1345.80\")"
            ),
        ))),
        _ => Err(selo_err(bmp::Error::new(
            bmp::Code::MoneySyntax,
            format!("{path}: an amount must be a decimal string"),
        ))),
    }
}

/// `{ cents, json }` for a decimal text or integer (`"1345.8"` → 134580, "1345.80").
#[wasm_bindgen(js_name = bmpMoney)]
pub fn bmp_money(amount: JsValue) -> Result<JsValue, JsValue> {
    let v = crate::conv::json_in(&amount, "amount")?;
    let m = money_in(&v, "amount")?;
    money_out(m)
}

/// `{ cents, json }` for integer cents (negative → `bmp.money.negative`).
#[wasm_bindgen(js_name = bmpMoneyFromCents)]
pub fn bmp_money_from_cents(cents: f64) -> Result<JsValue, JsValue> {
    if cents.fract() != 0.0 || cents.abs() > 9_007_199_254_740_991.0 {
        return Err(selo_err(bmp::Error::new(
            bmp::Code::MoneyFloat,
            format!("cents must be an integer, found {cents}"),
        )));
    }
    #[allow(clippy::cast_possible_truncation)]
    let m = Money::from_cents_signed(cents as i64).map_err(selo_err)?;
    money_out(m)
}

fn money_out(m: Money) -> Result<JsValue, JsValue> {
    let o = js_sys::Object::new();
    #[allow(clippy::cast_precision_loss)]
    set(&o, "cents", &JsValue::from(m.cents() as f64));
    set(&o, "json", &JsValue::from_str(&m.to_json_text()));
    Ok(o.into())
}

/// True when two JSON number texts are the same decimal (`100.0` = `100.00`).
#[wasm_bindgen(js_name = bmpDecimalEq)]
pub fn bmp_decimal_eq(a: &str, b: &str) -> bool {
    bmp::decimal_eq(a, b)
}

/// The path of the first difference between two bodies, or null.
#[wasm_bindgen(js_name = bmpFirstDifference)]
pub fn bmp_first_difference(
    original: JsValue,
    received: JsValue,
) -> Result<Option<String>, JsValue> {
    let a = bmp::canonical::parse_body(&bytes_in(&original, "original")?).map_err(selo_err)?;
    let b = bmp::canonical::parse_body(&bytes_in(&received, "received")?).map_err(selo_err)?;
    Ok(bmp::first_difference(&a, &b))
}

/// True for the endpoints BMP protects with `hmac`.
#[wasm_bindgen(js_name = bmpIsProtectedEndpoint)]
pub fn bmp_is_protected_endpoint(path: &str) -> bool {
    bmp::is_protected_endpoint(path)
}

/// The protected endpoints.
#[wasm_bindgen(js_name = bmpProtectedEndpoints)]
pub fn bmp_protected_endpoints() -> Vec<String> {
    bmp::PROTECTED_ENDPOINTS
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AccountJs {
    agencia: String,
    agencia_digito: Option<String>,
    conta: String,
    conta_digito: Option<String>,
    tipo_conta: u8,
    documento_federal: Option<String>,
    nome: Option<String>,
    numero_banco: Option<u32>,
    ispb: Option<String>,
}

impl From<AccountJs> for Account {
    fn from(a: AccountJs) -> Account {
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TxJs {
    #[serde(rename = "type")]
    kind: String,
    data_transacao: String,
    conta_origem: AccountJs,
    conta_destino: Option<AccountJs>,
    valor: serde_json::Value,
    data_vencimento: Option<String>,
    codigo_barras: Option<String>,
    linha_digitavel: Option<String>,
    chave_pix: Option<String>,
    tipo_chave: Option<u8>,
    codigo_movimento: Option<String>,
}

fn missing(path: &str) -> JsValue {
    selo_err(bmp::Error::new(
        bmp::Code::TransactionMissingField,
        format!("{path} is required"),
    ))
}

/// A typed transaction from `{ type: "boletoPayment" | "ted" |
/// "internalTransfer" | "pix" | "pixRefund", dataTransacao, contaOrigem, … }`.
fn transaction_in(v: &JsValue) -> Result<Transaction, JsValue> {
    let j = crate::conv::json_in(v, "transaction")?;
    let t: TxJs = serde_json::from_value(j).map_err(|e| {
        selo_err(bmp::Error::new(
            bmp::Code::TransactionInvalidField,
            format!("transaction: {e}"),
        ))
    })?;
    let valor = money_in(&t.valor, "detalhes.valor")?;
    let origem: Account = t.conta_origem.into();
    let destino = t.conta_destino.map(Account::from);
    Ok(match t.kind.as_str() {
        "boletoPayment" => Transaction::BoletoPayment(BoletoPayment {
            data_transacao: t.data_transacao,
            conta_origem: origem,
            data_vencimento: t.data_vencimento,
            codigo_barras: t.codigo_barras,
            valor,
            linha_digitavel: t.linha_digitavel,
        }),
        "ted" | "internalTransfer" => {
            let tr = Transfer {
                data_transacao: t.data_transacao,
                conta_origem: origem,
                conta_destino: destino.ok_or_else(|| missing("detalhes.contaDestino"))?,
                valor,
            };
            if t.kind == "ted" {
                Transaction::Ted(tr)
            } else {
                Transaction::InternalTransfer(tr)
            }
        }
        "pix" => Transaction::Pix(PixTransfer {
            data_transacao: t.data_transacao,
            conta_origem: origem,
            conta_destino: destino,
            valor,
            chave_pix: t.chave_pix.ok_or_else(|| missing("detalhes.chavePix"))?,
            tipo_chave: t.tipo_chave.ok_or_else(|| missing("detalhes.tipoChave"))?,
        }),
        "pixRefund" => Transaction::PixRefund(PixRefund {
            data_transacao: t.data_transacao,
            conta_origem: origem,
            conta_destino: destino.ok_or_else(|| missing("detalhes.contaDestino"))?,
            valor,
            codigo_movimento: t
                .codigo_movimento
                .ok_or_else(|| missing("detalhes.codigoMovimento"))?,
        }),
        other => {
            return Err(selo_err(bmp::Error::new(
                bmp::Code::TransactionInvalidField,
                format!(
                    "type: expected boletoPayment, ted, internalTransfer, pix or pixRefund; found \"{other}\""
                ),
            )));
        }
    })
}

/// The endpoint a typed transaction is posted to.
#[wasm_bindgen(js_name = bmpEndpoint)]
pub fn bmp_endpoint(transaction: JsValue) -> Result<String, JsValue> {
    Ok(transaction_in(&transaction)?.endpoint().to_string())
}

/// The partner side: signs bodies with the shared key.
#[wasm_bindgen]
pub struct BmpSigner {
    inner: CoreClient,
    rng: Box<dyn selo::rng::CryptoRng>,
}

#[wasm_bindgen]
impl BmpSigner {
    /// `{ key, profile?, seed? }`.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<BmpSigner, JsValue> {
        let p = profile_from(get_opt(&opts, "profile"))?;
        let k = key_in(&get(&opts, "key"), &p)?;
        let rng = rng_in(get_opt(&opts, "seed"))?;
        Ok(BmpSigner {
            inner: CoreClient::new(k, p),
            rng,
        })
    }

    /// Signs JSON text/bytes (canonicalised) or a JS value. The idempotency
    /// key is the body's root `idempotencyKey`, else a new UUID v4.
    /// Returns `{ idempotencyKey, body, bodyText, hmac, headers }`.
    pub fn sign(&mut self, body: JsValue) -> Result<JsValue, JsValue> {
        let s = if body.is_string() || body.is_instance_of::<js_sys::Uint8Array>() {
            self.inner
                .sign_json(&bytes_in(&body, "body")?, &mut *self.rng)
        } else {
            let v = crate::conv::json_in(&body, "body")?;
            self.inner.sign_value(&v, &mut *self.rng)
        }
        .map_err(selo_err)?;
        Ok(signed_out(&s))
    }

    /// Signs exact bytes as they are, with a given idempotency key.
    #[wasm_bindgen(js_name = signBytes)]
    pub fn sign_bytes(&self, body: JsValue, idempotency_key: &str) -> Result<JsValue, JsValue> {
        let s = self
            .inner
            .sign_bytes(bytes_in(&body, "body")?, idempotency_key)
            .map_err(selo_err)?;
        Ok(signed_out(&s))
    }

    /// Builds, validates and signs a typed transaction (new idempotency key
    /// unless `idempotencyKey` is given). Adds `endpoint` to the result.
    #[wasm_bindgen(js_name = signTransaction)]
    pub fn sign_transaction(
        &mut self,
        transaction: JsValue,
        idempotency_key: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let tx = transaction_in(&transaction)?;
        let s = match idempotency_key {
            Some(k) => self.inner.sign_transaction_with_key(&tx, &k),
            None => self.inner.sign_transaction(&tx, &mut *self.rng),
        }
        .map_err(selo_err)?;
        let o = signed_out(&s);
        set(
            o.unchecked_ref(),
            "endpoint",
            &JsValue::from_str(tx.endpoint()),
        );
        Ok(o)
    }
}

/// Decides a confirmation request (SPEC §4.5) from the received headers and
/// raw body. `lookup(idempotencyKey)` returns the original body bytes/text
/// or null. Returns `{ status, headers, body, confirmed, error, difference,
/// idempotencyKey }`; `idempotencyKey` is the key the core looked up (null
/// when it did not get that far).
#[wasm_bindgen(js_name = bmpConfirm)]
pub fn bmp_confirm(
    key: JsValue,
    headers: JsValue,
    body: JsValue,
    lookup: &js_sys::Function,
    profile: JsValue,
) -> Result<JsValue, JsValue> {
    let p = profile_from(opt(profile))?;
    let k = key_in(&key, &p)?;
    let headers = headers_in(&headers)?;
    let body = bytes_in(&body, "body")?;
    let thrown: RefCell<Option<JsValue>> = RefCell::new(None);
    let asked: RefCell<Option<String>> = RefCell::new(None);
    let f = |id: &str| -> Option<Vec<u8>> {
        *asked.borrow_mut() = Some(id.to_string());
        match lookup.call1(&JsValue::NULL, &JsValue::from_str(id)) {
            Ok(v) if v.is_null() || v.is_undefined() => None,
            Ok(v) => match bytes_in(&v, "lookup result") {
                Ok(b) => Some(b),
                Err(e) => {
                    *thrown.borrow_mut() = Some(e);
                    None
                }
            },
            Err(e) => {
                *thrown.borrow_mut() = Some(e);
                None
            }
        }
    };
    let r = bmp::confirm(&k, &p, &headers, &body, &f);
    if let Some(e) = thrown.into_inner() {
        return Err(e);
    }
    let o = js_sys::Object::new();
    set(&o, "status", &JsValue::from(r.status));
    set(&o, "headers", &headers_out(&r.headers));
    set(&o, "body", &bytes_out(&r.body));
    set(&o, "confirmed", &JsValue::from(r.is_confirmed()));
    set(
        &o,
        "error",
        &r.error.clone().map_or(JsValue::NULL, selo_err),
    );
    set(
        &o,
        "difference",
        &r.difference
            .clone()
            .map_or(JsValue::NULL, |d| JsValue::from_str(&d)),
    );
    set(
        &o,
        "idempotencyKey",
        &asked
            .into_inner()
            .map_or(JsValue::NULL, |d| JsValue::from_str(&d)),
    );
    Ok(o.into())
}

/// BMP's side (SPEC §4.4), for simulators and mocks.
#[wasm_bindgen]
pub struct BmpServer {
    inner: CoreServer,
}

fn accepted_in(v: &JsValue) -> Result<AcceptedTransaction, JsValue> {
    Ok(AcceptedTransaction {
        idempotency_key: get_opt_string(v, "idempotencyKey", "transaction")?
            .ok_or_else(|| type_err("transaction.idempotencyKey: expected a string"))?,
        body: bytes_in(&get(v, "body"), "transaction.body")?,
    })
}

fn call_in(v: &JsValue) -> Result<ConfirmationCall, JsValue> {
    let req = get(v, "request");
    let deadline = crate::conv::get_opt_f64(v, "deadlineMs", "call")?.unwrap_or(5000.0);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(ConfirmationCall {
        request: selo::http::PreparedRequest::new(
            get_opt_string(&req, "method", "call.request")?.unwrap_or_else(|| "POST".into()),
            get_opt_string(&req, "url", "call.request")?.unwrap_or_default(),
            headers_in(&get(&req, "headers"))?,
            bytes_in(&get(&req, "body"), "call.request.body")?,
        ),
        deadline_ms: deadline.max(0.0) as u64,
    })
}

fn call_out(c: &ConfirmationCall) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "request", &request_out(&c.request));
    #[allow(clippy::cast_precision_loss)]
    set(&o, "deadlineMs", &JsValue::from(c.deadline_ms as f64));
    o.into()
}

#[wasm_bindgen]
impl BmpServer {
    /// `{ key, profile? }` — the partner's shared key.
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<BmpServer, JsValue> {
        let p = profile_from(get_opt(&opts, "profile"))?;
        let k = key_in(&get(&opts, "key"), &p)?;
        Ok(BmpServer {
            inner: CoreServer::new(k, p),
        })
    }

    /// Header and MAC checks; throws a `SeloError` with `httpStatus` 406.
    /// Returns `{ idempotencyKey, body }`.
    #[wasm_bindgen(js_name = checkRequest)]
    pub fn check_request(&self, headers: JsValue, body: JsValue) -> Result<JsValue, JsValue> {
        let t = self
            .inner
            .check_request(&headers_in(&headers)?, &bytes_in(&body, "body")?)
            .map_err(selo_err)?;
        let o = js_sys::Object::new();
        set(&o, "idempotencyKey", &JsValue::from_str(&t.idempotency_key));
        set(&o, "body", &bytes_out(&t.body));
        Ok(o.into())
    }

    /// The confirmation call to the partner: `{ request, deadlineMs }`.
    /// Options `{ extraHeaders, dotnet }` (dotnet: amounts written `100.0`).
    #[wasm_bindgen(js_name = confirmationRequest)]
    pub fn confirmation_request(
        &self,
        transaction: JsValue,
        partner_url: &str,
        opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        let t = accepted_in(&transaction)?;
        let extra = headers_in(&get(&opts, "extraHeaders"))?;
        let dotnet = get(&opts, "dotnet").as_bool().unwrap_or(false);
        let call = if dotnet {
            self.inner
                .confirmation_request_dotnet(&t, partner_url, &extra)
                .map_err(selo_err)?
        } else {
            self.inner.confirmation_request(&t, partner_url, &extra)
        };
        Ok(call_out(&call))
    }

    /// The partner's reply `{ status, headers, body }` must be 200 with a
    /// valid `hmac`; throws a 406 `SeloError` otherwise.
    #[wasm_bindgen(js_name = checkConfirmationReply)]
    pub fn check_confirmation_reply(&self, call: JsValue, reply: JsValue) -> Result<(), JsValue> {
        let c = call_in(&call)?;
        let r = received_in(&reply)?;
        self.inner
            .check_confirmation_reply(&c, &r)
            .map_err(selo_err)
    }

    /// The `SeloError` for a confirmation that missed its deadline.
    #[wasm_bindgen(js_name = confirmationTimedOut)]
    pub fn confirmation_timed_out(&self, call: JsValue) -> Result<JsValue, JsValue> {
        Ok(selo_err(
            self.inner.confirmation_timed_out(&call_in(&call)?),
        ))
    }
}
