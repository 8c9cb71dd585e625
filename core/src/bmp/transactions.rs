//! Typed bodies for the five transaction kinds of the seed's tables, with
//! lowerCamelCase member names in the tables' order, and the protected
//! endpoints (SPEC §4.3). Validation runs before anything is signed; every
//! failure names the member path (`detalhes.contaOrigem.ispb: …`).
//!
//! Body shape: `{"idempotencyKey": "<uuid>", "detalhes": {"tipoTransacao":
//! …, "dataTransacao": …, "contaOrigem": {…}, …, "valor": 1345.00, …}}`.

use super::json::JsonValue;
use super::money::Money;
use super::{Code, Error};
use crate::br;

/// Endpoints that require the `hmac` handshake, as the seed spells them
/// (`Tranferir` included).
pub const PROTECTED_ENDPOINTS: [&str; 6] = [
    "/api/Boleto/Pagar",
    "/api/TransferenciaOutroBanco",
    "/api/TransferenciaEntreContas",
    "/api/CNAB/240/Importar",
    "/api/Recurso/Tranferir",
    "/api/Recurso/Devolver",
];

/// True when `path` (query string and trailing `/` ignored, case-insensitive
/// like ASP.NET routing) is a protected endpoint.
pub fn is_protected_endpoint(path: &str) -> bool {
    let p = path.split(['?', '#']).next().unwrap_or("");
    let p = p.trim_end_matches('/');
    PROTECTED_ENDPOINTS
        .iter()
        .any(|e| e.eq_ignore_ascii_case(p))
}

/// An account (`contaOrigem` / `contaDestino`). Optional members are left
/// out of the body when `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// `agencia`: branch number (digits).
    pub agencia: String,
    /// `agenciaDigito`: branch check digit (1–2 letters or digits).
    pub agencia_digito: Option<String>,
    /// `conta`: account number (digits).
    pub conta: String,
    /// `contaDigito`: account check digit (1–2 letters or digits).
    pub conta_digito: Option<String>,
    /// `tipoConta`: 1 checking, 2 savings, 3 payment, 4 salary.
    pub tipo_conta: u8,
    /// `documentoFederal`: holder's CPF or CNPJ (written without mask).
    pub documento_federal: Option<String>,
    /// `nome`: holder's name.
    pub nome: Option<String>,
    /// `numeroBanco`: bank number.
    pub numero_banco: Option<u32>,
    /// `ispb`: the institution's ISPB (8 digits).
    pub ispb: Option<String>,
}

fn invalid(path: &str, why: impl std::fmt::Display) -> Error {
    Error::new(Code::TransactionInvalidField, format!("{path}: {why}"))
}

fn digits_only(path: &str, s: &str) -> Result<(), Error> {
    if !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(invalid(path, "must be 1 to 20 digits"))
    }
}

fn check_digit(path: &str, s: &str) -> Result<(), Error> {
    if (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(invalid(path, "must be 1 or 2 letters or digits"))
    }
}

fn s(v: &str) -> JsonValue {
    JsonValue::String(v.to_string())
}

fn n(v: impl std::fmt::Display) -> JsonValue {
    JsonValue::Number(v.to_string())
}

impl Account {
    fn to_json(&self, path: &str) -> Result<JsonValue, Error> {
        let mut m = Vec::new();
        digits_only(&format!("{path}.agencia"), &self.agencia)?;
        m.push(("agencia".into(), s(&self.agencia)));
        if let Some(d) = &self.agencia_digito {
            check_digit(&format!("{path}.agenciaDigito"), d)?;
            m.push(("agenciaDigito".into(), s(d)));
        }
        digits_only(&format!("{path}.conta"), &self.conta)?;
        m.push(("conta".into(), s(&self.conta)));
        if let Some(d) = &self.conta_digito {
            check_digit(&format!("{path}.contaDigito"), d)?;
            m.push(("contaDigito".into(), s(d)));
        }
        if !(1..=4).contains(&self.tipo_conta) {
            return Err(invalid(
                &format!("{path}.tipoConta"),
                format!(
                    "must be 1 (checking), 2 (savings), 3 (payment) or 4 (salary); found {}",
                    self.tipo_conta
                ),
            ));
        }
        m.push(("tipoConta".into(), n(self.tipo_conta)));
        if let Some(d) = &self.documento_federal {
            let doc = br::parse_document(d)
                .map_err(|e| invalid(&format!("{path}.documentoFederal"), e.message()))?;
            m.push(("documentoFederal".into(), s(doc.as_str())));
        }
        if let Some(name) = &self.nome {
            if name.trim().is_empty() {
                return Err(invalid(&format!("{path}.nome"), "must not be empty"));
            }
            m.push(("nome".into(), s(name)));
        }
        if let Some(b) = self.numero_banco {
            m.push(("numeroBanco".into(), n(b)));
        }
        if let Some(i) = &self.ispb {
            br::validate_ispb(i).map_err(|e| invalid(&format!("{path}.ispb"), e.message()))?;
            m.push(("ispb".into(), s(i)));
        }
        Ok(JsonValue::Object(m))
    }
}

/// Boleto payment (`/api/Boleto/Pagar`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoletoPayment {
    /// `dataTransacao`: `yyyy-MM-dd` or `yyyy-MM-ddTHH:mm:ss[…]`.
    pub data_transacao: String,
    /// `contaOrigem`: the debited account.
    pub conta_origem: Account,
    /// `dataVencimento`: `yyyy-MM-dd`.
    pub data_vencimento: Option<String>,
    /// `codigoBarras`: 44 digits (bank or arrecadação), check digits verified.
    pub codigo_barras: Option<String>,
    /// `valor`: the amount paid.
    pub valor: Money,
    /// `linhaDigitavel`: 47 or 48 digits (formatting removed), check digits
    /// verified; must match `codigoBarras` when both are given.
    pub linha_digitavel: Option<String>,
}

/// TED to another bank (`/api/TransferenciaOutroBanco`) or internal
/// transfer (`/api/TransferenciaEntreContas`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transfer {
    /// `dataTransacao`.
    pub data_transacao: String,
    /// `contaOrigem`.
    pub conta_origem: Account,
    /// `contaDestino`.
    pub conta_destino: Account,
    /// `valor`.
    pub valor: Money,
}

/// Pix transfer (`/api/Recurso/Tranferir`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PixTransfer {
    /// `dataTransacao`.
    pub data_transacao: String,
    /// `contaOrigem`.
    pub conta_origem: Account,
    /// `contaDestino` (may be left out when paying to a key).
    pub conta_destino: Option<Account>,
    /// `valor`.
    pub valor: Money,
    /// `chavePix`, checked against `tipoChave` and written normalised.
    pub chave_pix: String,
    /// `tipoChave`: 0 CPF, 1 CNPJ, 2 phone, 3 e-mail, 4 EVP.
    pub tipo_chave: u8,
}

/// Pix refund (`/api/Recurso/Devolver`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PixRefund {
    /// `dataTransacao`.
    pub data_transacao: String,
    /// `contaOrigem`.
    pub conta_origem: Account,
    /// `contaDestino`.
    pub conta_destino: Account,
    /// `valor`.
    pub valor: Money,
    /// `codigoMovimento`: the GUID of the movement being refunded.
    pub codigo_movimento: String,
}

/// One of the five transaction kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transaction {
    /// Boleto payment.
    BoletoPayment(BoletoPayment),
    /// TED to another bank.
    Ted(Transfer),
    /// Transfer between BMP accounts.
    InternalTransfer(Transfer),
    /// Pix transfer.
    Pix(PixTransfer),
    /// Pix refund.
    PixRefund(PixRefund),
}

fn check_datetime(path: &str, v: &str) -> Result<(), Error> {
    let date_ok = v.get(..10).and_then(br::Date::parse).is_some();
    let rest = v.get(10..).unwrap_or("x");
    let time_ok = rest.is_empty()
        || (rest.starts_with('T')
            && rest.len() >= 6
            && rest
                .bytes()
                .skip(1)
                .all(|b| b.is_ascii_digit() || b":.+-Z".contains(&b)));
    if date_ok && time_ok {
        Ok(())
    } else {
        Err(invalid(path, "must be yyyy-MM-dd or yyyy-MM-ddTHH:mm[:ss]"))
    }
}

fn positive(path: &str, m: Money) -> Result<JsonValue, Error> {
    if m.cents() == 0 {
        Err(invalid(path, "must be greater than zero"))
    } else {
        Ok(JsonValue::Money(m))
    }
}

fn is_guid(v: &str) -> bool {
    v.len() == 36
        && uuid::Uuid::try_parse(v).is_ok()
        && v.bytes().filter(|b| *b == b'-').count() == 4
}

impl Transaction {
    /// The endpoint this transaction is posted to.
    pub fn endpoint(&self) -> &'static str {
        match self {
            Transaction::BoletoPayment(_) => "/api/Boleto/Pagar",
            Transaction::Ted(_) => "/api/TransferenciaOutroBanco",
            Transaction::InternalTransfer(_) => "/api/TransferenciaEntreContas",
            Transaction::Pix(_) => "/api/Recurso/Tranferir",
            Transaction::PixRefund(_) => "/api/Recurso/Devolver",
        }
    }

    /// The `tipoTransacao` text. The seed's TED table repeats the boleto
    /// text by mistake; its example body says `EnvioTED`, which is used.
    pub fn tipo_transacao(&self) -> &'static str {
        match self {
            Transaction::BoletoPayment(_) => "Pagamento de Boleto",
            Transaction::Ted(_) => "EnvioTED",
            Transaction::InternalTransfer(_) => "Transferência Interna",
            Transaction::Pix(_) => "Pix",
            Transaction::PixRefund(_) => "Devolução Pix",
        }
    }

    /// Validates and builds the body tree (amounts as [`Money`]).
    pub fn to_json(&self, idempotency_key: &str) -> Result<JsonValue, Error> {
        let mut d: Vec<(String, JsonValue)> =
            vec![("tipoTransacao".into(), s(self.tipo_transacao()))];
        let date = |v: &str| -> Result<JsonValue, Error> {
            check_datetime("detalhes.dataTransacao", v)?;
            Ok(s(v))
        };
        match self {
            Transaction::BoletoPayment(b) => {
                d.push(("dataTransacao".into(), date(&b.data_transacao)?));
                d.push((
                    "contaOrigem".into(),
                    b.conta_origem.to_json("detalhes.contaOrigem")?,
                ));
                if let Some(v) = &b.data_vencimento {
                    if br::Date::parse(v).is_none() {
                        return Err(invalid(
                            "detalhes.dataVencimento",
                            "must be a real yyyy-MM-dd date",
                        ));
                    }
                    d.push(("dataVencimento".into(), s(v)));
                }
                let from_bc = match &b.codigo_barras {
                    Some(bc) => {
                        if bc.len() != 44 {
                            return Err(invalid("detalhes.codigoBarras", "must be 44 digits"));
                        }
                        Some(
                            br::parse_boleto(bc)
                                .map_err(|e| invalid("detalhes.codigoBarras", e.message()))?,
                        )
                    }
                    None => None,
                };
                let from_linha = match &b.linha_digitavel {
                    Some(l) => {
                        let p = br::parse_boleto(l)
                            .map_err(|e| invalid("detalhes.linhaDigitavel", e.message()))?;
                        if l.bytes().filter(u8::is_ascii_digit).count() == 44 {
                            return Err(invalid(
                                "detalhes.linhaDigitavel",
                                "must be 47 or 48 digits, not a barcode",
                            ));
                        }
                        Some(p)
                    }
                    None => None,
                };
                match (&from_bc, &from_linha) {
                    (None, None) => {
                        return Err(Error::new(
                            Code::TransactionMissingField,
                            "detalhes: codigoBarras or linhaDigitavel is required",
                        ));
                    }
                    (Some(x), Some(y)) if x.barcode != y.barcode => {
                        return Err(invalid(
                            "detalhes.linhaDigitavel",
                            "does not correspond to codigoBarras",
                        ));
                    }
                    _ => {}
                }
                if let Some(bc) = &from_bc {
                    d.push(("codigoBarras".into(), s(&bc.barcode)));
                }
                d.push(("valor".into(), positive("detalhes.valor", b.valor)?));
                if let Some(l) = &from_linha {
                    d.push(("linhaDigitavel".into(), s(&l.linha_digitavel)));
                }
            }
            Transaction::Ted(t) | Transaction::InternalTransfer(t) => {
                d.push(("dataTransacao".into(), date(&t.data_transacao)?));
                d.push((
                    "contaOrigem".into(),
                    t.conta_origem.to_json("detalhes.contaOrigem")?,
                ));
                d.push((
                    "contaDestino".into(),
                    t.conta_destino.to_json("detalhes.contaDestino")?,
                ));
                d.push(("valor".into(), positive("detalhes.valor", t.valor)?));
            }
            Transaction::Pix(p) => {
                d.push(("dataTransacao".into(), date(&p.data_transacao)?));
                d.push((
                    "contaOrigem".into(),
                    p.conta_origem.to_json("detalhes.contaOrigem")?,
                ));
                if let Some(c) = &p.conta_destino {
                    d.push(("contaDestino".into(), c.to_json("detalhes.contaDestino")?));
                }
                d.push(("valor".into(), positive("detalhes.valor", p.valor)?));
                let kind = br::PixKeyType::from_code(i64::from(p.tipo_chave))
                    .map_err(|e| invalid("detalhes.tipoChave", e.message()))?;
                let key = br::validate_pix_key(kind, &p.chave_pix)
                    .map_err(|e| invalid("detalhes.chavePix", e.message()))?;
                d.push(("chavePix".into(), s(&key.value)));
                d.push(("tipoChave".into(), n(kind.code())));
            }
            Transaction::PixRefund(r) => {
                d.push(("dataTransacao".into(), date(&r.data_transacao)?));
                d.push((
                    "contaOrigem".into(),
                    r.conta_origem.to_json("detalhes.contaOrigem")?,
                ));
                d.push((
                    "contaDestino".into(),
                    r.conta_destino.to_json("detalhes.contaDestino")?,
                ));
                d.push(("valor".into(), positive("detalhes.valor", r.valor)?));
                if !is_guid(&r.codigo_movimento) {
                    return Err(invalid(
                        "detalhes.codigoMovimento",
                        "must be a hyphenated GUID",
                    ));
                }
                d.push(("codigoMovimento".into(), s(&r.codigo_movimento)));
            }
        }
        Ok(JsonValue::Object(vec![
            ("idempotencyKey".into(), s(idempotency_key)),
            ("detalhes".into(), JsonValue::Object(d)),
        ]))
    }
}
