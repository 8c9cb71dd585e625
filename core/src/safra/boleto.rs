//! psd050 (register) and psd052 (query) messages: the manual's Tables 1–4
//! with lowerCamelCase member names (SPEC §2.7).
//!
//! Requests are validated before sealing; every failure names the field
//! path. Amounts are integer cents (`valor: 1500000` = R$ 15.000,00), never
//! floats; text over a limit is an error, never cut. Replies are parsed
//! leniently: member names match case-insensitively and unknown members are
//! kept in [`BoletoReply::raw`].

use super::{Code, Error, err};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Table 1: the boleto registration message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BoletoRequest {
    /// Branch of the client's portfolio (e.g. 200).
    pub agencia: u64,
    /// Account of the client's portfolio (e.g. 1234567).
    pub conta: u64,
    /// The document.
    pub documento: Documento,
}

/// Table 1 `documento`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Documento {
    /// Bank's identification of the boleto.
    pub nosso_numero: u64,
    /// Client's identification (≤ 10 characters).
    pub seu_numero: String,
    /// 01, 02, 03, 05 or 09.
    pub especie: String,
    /// Due date `yyyy-MM-dd`.
    pub data_vencimento: String,
    /// Amount in integer cents.
    pub valor: u64,
    /// 0 = Real.
    pub codigo_moeda: u8,
    /// Days until protest.
    pub qtd_dias_protesto: u32,
    /// Always "N".
    pub identificacao_aceite: String,
    /// Discount.
    pub desconto: Desconto,
    /// Fine and interest.
    pub multa: Multa,
    /// Free text (≤ 25), optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campo_livre: Option<String>,
    /// FIDC rate, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxa_fidc: Option<f64>,
    /// DANFe key (44 digits), optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub danfe: Option<String>,
    /// Payer.
    pub pagador: Pessoa,
    /// Beneficiary, optional (all its fields optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiario: Option<Beneficiario>,
    /// Up to four messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mensagens: Vec<Mensagem>,
}

/// Discount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Desconto {
    /// Last date for the discount `yyyy-MM-dd`.
    pub data: String,
    /// Discount amount in integer cents.
    pub valor: u64,
}

/// Fine and interest (rates, not amounts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Multa {
    /// Interest rate.
    pub juros: f64,
    /// Date the fine starts `yyyy-MM-dd`.
    pub data: String,
    /// Fine rate.
    pub taxa: f64,
}

/// Payer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pessoa {
    /// Name (≤ 40).
    pub nome: String,
    /// 1 = person (CPF), 2 = company (CNPJ).
    pub tipo_pessoa: u8,
    /// CPF or CNPJ as an integer.
    pub numero_documento: u64,
    /// E-mail (≤ 50), optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Address.
    pub endereco: Endereco,
}

/// Address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Endereco {
    /// Street (≤ 40).
    pub nome: String,
    /// District (≤ 10).
    pub bairro: String,
    /// City (≤ 15).
    pub cidade: String,
    /// State code (one of the 27 UFs).
    pub uf: String,
    /// Postal code as an integer.
    pub cep: u32,
}

/// Beneficiary: same shape as the payer, every field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Beneficiario {
    /// Name (≤ 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nome: Option<String>,
    /// 1 or 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tipo_pessoa: Option<u8>,
    /// CPF or CNPJ as an integer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numero_documento: Option<u64>,
    /// E-mail (≤ 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endereco: Option<EnderecoOpcional>,
}

/// Beneficiary address, every field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnderecoOpcional {
    /// Street (≤ 40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nome: Option<String>,
    /// District (≤ 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bairro: Option<String>,
    /// City (≤ 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidade: Option<String>,
    /// State code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uf: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cep: Option<u32>,
}

/// A message printed on the boleto.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mensagem {
    /// 1 = receipt, 2 = slip.
    pub posicao: u8,
    /// Text (≤ 72).
    pub descricao: String,
}

/// The 27 federative units.
pub const UFS: [&str; 27] = [
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB", "PR",
    "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
];

/// Table 1 fields that must be present (non-optional).
const REQUIRED: &[&str] = &[
    "agencia",
    "conta",
    "documento",
    "documento.nossoNumero",
    "documento.seuNumero",
    "documento.especie",
    "documento.dataVencimento",
    "documento.valor",
    "documento.codigoMoeda",
    "documento.qtdDiasProtesto",
    "documento.identificacaoAceite",
    "documento.desconto",
    "documento.desconto.data",
    "documento.desconto.valor",
    "documento.multa",
    "documento.multa.juros",
    "documento.multa.data",
    "documento.multa.taxa",
    "documento.pagador",
    "documento.pagador.nome",
    "documento.pagador.tipoPessoa",
    "documento.pagador.numeroDocumento",
    "documento.pagador.endereco",
    "documento.pagador.endereco.nome",
    "documento.pagador.endereco.bairro",
    "documento.pagador.endereco.cidade",
    "documento.pagador.endereco.uf",
    "documento.pagador.endereco.cep",
];

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |cur, seg| cur.get(seg))
        .filter(|v| !v.is_null())
}

fn max_len(path: &str, value: &str, max: usize) -> Result<(), Error> {
    let n = value.chars().count();
    if n > max {
        return Err(err(
            Code::BoletoTooLong,
            format!("{path}: at most {max} characters, found {n}"),
        ));
    }
    Ok(())
}

fn opt_max_len(path: &str, value: &Option<String>, max: usize) -> Result<(), Error> {
    value.as_deref().map_or(Ok(()), |v| max_len(path, v, max))
}

/// True when `s` is a real calendar date written `yyyy-MM-dd` (year ≥ 1900).
pub fn is_real_date(s: &str) -> bool {
    crate::br::Date::parse(s).is_some_and(|d| d.year >= 1900)
}

fn date(path: &str, s: &str) -> Result<(), Error> {
    if is_real_date(s) {
        Ok(())
    } else {
        Err(err(
            Code::BoletoInvalidDate,
            format!("{path}: expected a real date yyyy-MM-dd, found \"{s}\""),
        ))
    }
}

fn document(path: &str, tipo: u8, numero: u64) -> Result<(), Error> {
    let ok = match tipo {
        1 => crate::br::is_valid_cpf(&format!("{numero:011}")),
        2 => crate::br::is_valid_cnpj(&format!("{numero:014}")),
        other => {
            return Err(err(
                Code::BoletoInvalidValue,
                format!("{path}.tipoPessoa: expected 1 (PF) or 2 (PJ), found {other}"),
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(err(
            Code::BoletoInvalidDocument,
            format!(
                "{path}.numeroDocumento: {numero} is not a valid {} (check digits)",
                if tipo == 1 { "CPF" } else { "CNPJ" }
            ),
        ))
    }
}

fn uf(path: &str, s: &str) -> Result<(), Error> {
    if UFS.contains(&s) {
        Ok(())
    } else {
        Err(err(
            Code::BoletoInvalidValue,
            format!("{path}: expected one of the 27 UF codes, found \"{s}\""),
        ))
    }
}

fn rate(path: &str, v: f64) -> Result<(), Error> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(err(
            Code::BoletoInvalidValue,
            format!("{path}: expected a finite rate ≥ 0, found {v}"),
        ))
    }
}

impl BoletoRequest {
    /// Parses JSON, reporting the first missing required field by path, then
    /// validates every rule.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| err(Code::MessageMalformed, format!("boleto JSON rejected: {e}")))?;
        Self::from_value(&v)
    }

    /// As [`BoletoRequest::from_json`], from a parsed value.
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        if let Some(missing) = REQUIRED.iter().find(|p| lookup(v, p).is_none()) {
            return Err(err(
                Code::BoletoMissingField,
                format!("{missing}: required field missing"),
            ));
        }
        // The member's path in every refusal (`documento.pagador.cep:
        // invalid type: string "x", expected u32`), unknown members included.
        let req: BoletoRequest = serde_path_to_error::deserialize(v.clone()).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            err(Code::BoletoInvalidValue, format!("{path}: {inner}"))
        })?;
        req.validate()?;
        Ok(req)
    }

    /// Checks every rule of SPEC §2.7; the error names the field path.
    pub fn validate(&self) -> Result<(), Error> {
        let d = &self.documento;
        max_len("documento.seuNumero", &d.seu_numero, 10)?;
        if d.seu_numero.is_empty() {
            return Err(err(
                Code::BoletoMissingField,
                "documento.seuNumero: must not be empty",
            ));
        }
        if !["01", "02", "03", "05", "09"].contains(&d.especie.as_str()) {
            return Err(err(
                Code::BoletoInvalidValue,
                format!(
                    "documento.especie: expected 01, 02, 03, 05 or 09, found \"{}\"",
                    d.especie
                ),
            ));
        }
        date("documento.dataVencimento", &d.data_vencimento)?;
        if d.codigo_moeda != 0 {
            return Err(err(
                Code::BoletoInvalidValue,
                format!(
                    "documento.codigoMoeda: expected 0 (Real), found {}",
                    d.codigo_moeda
                ),
            ));
        }
        if d.identificacao_aceite != "N" {
            return Err(err(
                Code::BoletoInvalidValue,
                format!(
                    "documento.identificacaoAceite: expected \"N\", found \"{}\"",
                    d.identificacao_aceite
                ),
            ));
        }
        date("documento.desconto.data", &d.desconto.data)?;
        rate("documento.multa.juros", d.multa.juros)?;
        rate("documento.multa.taxa", d.multa.taxa)?;
        date("documento.multa.data", &d.multa.data)?;
        opt_max_len("documento.campoLivre", &d.campo_livre, 25)?;
        if let Some(t) = d.taxa_fidc {
            rate("documento.taxaFidc", t)?;
        }
        if let Some(danfe) = &d.danfe
            && (danfe.len() != 44 || !danfe.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(err(
                Code::BoletoInvalidValue,
                format!(
                    "documento.danfe: expected 44 digits, found {} characters",
                    danfe.chars().count()
                ),
            ));
        }
        let p = &d.pagador;
        max_len("documento.pagador.nome", &p.nome, 40)?;
        document("documento.pagador", p.tipo_pessoa, p.numero_documento)?;
        opt_max_len("documento.pagador.email", &p.email, 50)?;
        max_len("documento.pagador.endereco.nome", &p.endereco.nome, 40)?;
        max_len("documento.pagador.endereco.bairro", &p.endereco.bairro, 10)?;
        max_len("documento.pagador.endereco.cidade", &p.endereco.cidade, 15)?;
        uf("documento.pagador.endereco.uf", &p.endereco.uf)?;
        if let Some(b) = &d.beneficiario {
            opt_max_len("documento.beneficiario.nome", &b.nome, 30)?;
            opt_max_len("documento.beneficiario.email", &b.email, 50)?;
            match (b.tipo_pessoa, b.numero_documento) {
                (Some(t), Some(n)) => document("documento.beneficiario", t, n)?,
                (Some(t), None) if t != 1 && t != 2 => {
                    return Err(err(
                        Code::BoletoInvalidValue,
                        format!(
                            "documento.beneficiario.tipoPessoa: expected 1 (PF) or 2 (PJ), found {t}"
                        ),
                    ));
                }
                (None, Some(_)) => {
                    return Err(err(
                        Code::BoletoMissingField,
                        "documento.beneficiario.tipoPessoa: required when numeroDocumento is given",
                    ));
                }
                _ => {}
            }
            if let Some(e) = &b.endereco {
                opt_max_len("documento.beneficiario.endereco.nome", &e.nome, 40)?;
                opt_max_len("documento.beneficiario.endereco.bairro", &e.bairro, 10)?;
                opt_max_len("documento.beneficiario.endereco.cidade", &e.cidade, 15)?;
                if let Some(u) = &e.uf {
                    uf("documento.beneficiario.endereco.uf", u)?;
                }
            }
        }
        if d.mensagens.len() > 4 {
            return Err(err(
                Code::BoletoInvalidValue,
                format!(
                    "documento.mensagens: at most 4, found {}",
                    d.mensagens.len()
                ),
            ));
        }
        for (i, m) in d.mensagens.iter().enumerate() {
            if m.posicao != 1 && m.posicao != 2 {
                return Err(err(
                    Code::BoletoInvalidValue,
                    format!(
                        "documento.mensagens[{i}].posicao: expected 1 or 2, found {}",
                        m.posicao
                    ),
                ));
            }
            max_len(
                &format!("documento.mensagens[{i}].descricao"),
                &m.descricao,
                72,
            )?;
        }
        Ok(())
    }

    /// The business message JSON (member order as in Table 1).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Table 3: the query message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoletoQuery {
    /// Bank's identification (≤ 15).
    pub nosso_numero: String,
    /// Client's identification (≤ 10).
    pub seu_numero: String,
}

impl BoletoQuery {
    /// Checks lengths.
    pub fn validate(&self) -> Result<(), Error> {
        max_len("documento.nossoNumero", &self.nosso_numero, 15)?;
        max_len("documento.seuNumero", &self.seu_numero, 10)
    }

    /// `{"documento":{"nossoNumero":"...","seuNumero":"..."}}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "documento": { "nossoNumero": self.nosso_numero, "seuNumero": self.seu_numero } })
    }

    /// Parses a query message (bank role), leniently.
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        let doc = get_ci(v, "documento").unwrap_or(v);
        let nosso = get_ci(doc, "nossoNumero").map(text);
        let seu = get_ci(doc, "seuNumero").map(text);
        match (nosso, seu) {
            (Some(n), Some(s)) => Ok(Self {
                nosso_numero: n,
                seu_numero: s,
            }),
            (None, _) => Err(err(
                Code::BoletoMissingField,
                "documento.nossoNumero: required field missing",
            )),
            (_, None) => Err(err(
                Code::BoletoMissingField,
                "documento.seuNumero: required field missing",
            )),
        }
    }
}

/// `statusProcessamento` of Tables 2 and 4.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusProcessamento {
    /// Result code; `None` when the member is absent or not an integer
    /// (never read as 0, which means success).
    pub codigo: Option<i64>,
    /// Result message (≤ 400).
    pub mensagem: String,
}

/// Tables 2 and 4: the reply `documento`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentoReply {
    /// Bank's identification (text ≤ 15).
    pub nosso_numero: Option<String>,
    /// Client's identification.
    pub seu_numero: Option<String>,
    /// Barcode, 44 digits (psd050).
    pub codigo_barras: Option<String>,
    /// Registered at CIP, "S" or "N" (psd052).
    pub registrado_cip: Option<String>,
}

/// A psd050/psd052 reply, typed, with the whole JSON kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoletoReply {
    /// Processing status.
    pub status_processamento: Option<StatusProcessamento>,
    /// The document.
    pub documento: Option<DocumentoReply>,
    /// The reply as received (unknown members included).
    pub raw: Value,
    /// True when psd050's outcome was ambiguous and this is the psd052
    /// answer that found the boleto registered (SPEC §2.8).
    #[serde(default)]
    pub reconciled: bool,
    /// True when the reply's IV had been seen before in the session (only
    /// possible with the profile's `reject_reused_iv` off).
    #[serde(default)]
    pub iv_reused: bool,
}

/// Case-insensitive member lookup.
pub(crate) fn get_ci<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let o = v.as_object()?;
    o.get(name)
        .or_else(|| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl StatusProcessamento {
    /// Parses `statusProcessamento` (any case) from a reply object.
    pub fn from_reply(v: &Value) -> Option<Self> {
        let s = get_ci(v, "statusProcessamento")?;
        let codigo = match get_ci(s, "codigo") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(t)) => t.trim().parse().ok(),
            _ => None,
        };
        let mensagem = get_ci(s, "mensagem").map(text).unwrap_or_default();
        Some(Self { codigo, mensagem })
    }
}

impl BoletoReply {
    /// Parses a reply leniently: names match in any case, numbers or strings
    /// are accepted for text fields, unknown members are kept in `raw`.
    pub fn from_value(v: &Value) -> Result<Self, Error> {
        if !v.is_object() {
            return Err(err(
                Code::MessageMalformed,
                "boleto reply: expected a JSON object",
            ));
        }
        let documento = get_ci(v, "documento").map(|d| DocumentoReply {
            nosso_numero: get_ci(d, "nossoNumero").map(text),
            seu_numero: get_ci(d, "seuNumero").map(text),
            codigo_barras: get_ci(d, "codigoBarras").map(text),
            registrado_cip: get_ci(d, "registradoCip").map(text),
        });
        Ok(Self {
            status_processamento: StatusProcessamento::from_reply(v),
            documento,
            raw: v.clone(),
            reconciled: false,
            iv_reused: false,
        })
    }
}

/// Builds a reply object (bank role).
pub fn reply_json(status: &StatusProcessamento, documento: &Map<String, Value>) -> Value {
    serde_json::json!({
        "statusProcessamento": { "codigo": status.codigo.unwrap_or_default(), "mensagem": status.mensagem },
        "documento": Value::Object(documento.clone()),
    })
}

#[cfg(test)]
mod tests;
