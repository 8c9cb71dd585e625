//! Brazilian identifiers: CPF, CNPJ (numeric and alphanumeric), boletos,
//! ISPB, Pix keys.

use crate::error::{SeloError, arg};
use selo::br::{self, BoletoKind, Date, FederalDocument, PixKeyType};

fn pix_type(name: &str) -> Result<PixKeyType, SeloError> {
    PixKeyType::ALL
        .into_iter()
        .find(|t| t.as_str() == name)
        .ok_or_else(|| {
            arg(format!(
                "Pix key type: expected \"cpf\", \"cnpj\", \"phone\", \"email\" or \"evp\", found {name:?}"
            ))
        })
}

fn date(s: &str) -> Result<Date, SeloError> {
    Date::parse(s).ok_or_else(|| arg(format!("expected a real yyyy-MM-dd date, found {s:?}")))
}

#[uniffi::export]
pub fn br_is_valid_cpf(s: String) -> bool {
    br::is_valid_cpf(&s)
}

#[uniffi::export]
pub fn br_is_valid_cnpj(s: String) -> bool {
    br::is_valid_cnpj(&s)
}

#[uniffi::export]
pub fn br_is_valid_document(s: String) -> bool {
    br::is_valid_document(&s)
}

/// The CPF without mask, checked.
#[uniffi::export]
pub fn br_normalize_cpf(s: String) -> Result<String, SeloError> {
    Ok(br::normalize_cpf(&s)?)
}

/// The CNPJ without mask (uppercase for the alphanumeric form), checked.
#[uniffi::export]
pub fn br_normalize_cnpj(s: String) -> Result<String, SeloError> {
    Ok(br::normalize_cnpj(&s)?)
}

#[uniffi::export]
pub fn br_format_cpf(s: String) -> Result<String, SeloError> {
    Ok(br::format_cpf(&s)?)
}

#[uniffi::export]
pub fn br_format_cnpj(s: String) -> Result<String, SeloError> {
    Ok(br::format_cnpj(&s)?)
}

/// The two check digits of a 9-digit CPF base (`None` if malformed).
#[uniffi::export]
pub fn br_cpf_check_digits(base: String) -> Option<Vec<u8>> {
    br::cpf_check_digits(&base).map(|d| d.to_vec())
}

/// The two check digits of a 12-character CNPJ base (`None` if malformed).
#[uniffi::export]
pub fn br_cnpj_check_digits(base: String) -> Option<Vec<u8>> {
    br::cnpj_check_digits(&base).map(|d| d.to_vec())
}

/// A CPF or CNPJ, normalised.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BrDocument {
    /// `"cpf"` or `"cnpj"`.
    pub kind: String,
    pub value: String,
}

#[uniffi::export]
pub fn br_parse_document(s: String) -> Result<BrDocument, SeloError> {
    Ok(match br::parse_document(&s)? {
        FederalDocument::Cpf(v) => BrDocument {
            kind: "cpf".into(),
            value: v,
        },
        FederalDocument::Cnpj(v) => BrDocument {
            kind: "cnpj".into(),
            value: v,
        },
    })
}

/// A checked boleto code in both forms.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BrBoleto {
    /// `"bank"` or `"arrecadacao"`.
    pub kind: String,
    pub barcode: String,
    pub linha_digitavel: String,
    pub amount_cents: Option<u64>,
    /// Bank boletos: bank code, currency, due-date factor.
    pub bank: Option<String>,
    pub currency: Option<u8>,
    pub due_date_factor: Option<u16>,
    /// Arrecadação: segment and value identifier.
    pub segment: Option<u8>,
    pub value_id: Option<u8>,
}

#[uniffi::export]
pub fn br_parse_boleto(s: String) -> Result<BrBoleto, SeloError> {
    let b = br::parse_boleto(&s)?;
    let mut out = BrBoleto {
        kind: String::new(),
        barcode: b.barcode,
        linha_digitavel: b.linha_digitavel,
        amount_cents: b.amount_cents,
        bank: None,
        currency: None,
        due_date_factor: None,
        segment: None,
        value_id: None,
    };
    match b.kind {
        BoletoKind::Bank {
            bank,
            currency,
            due_date_factor,
        } => {
            out.kind = "bank".into();
            out.bank = Some(bank);
            out.currency = Some(currency);
            out.due_date_factor = Some(due_date_factor);
        }
        BoletoKind::Arrecadacao { segment, value_id } => {
            out.kind = "arrecadacao".into();
            out.segment = Some(segment);
            out.value_id = Some(value_id);
        }
    }
    Ok(out)
}

#[uniffi::export]
pub fn br_linha_to_barcode(linha: String) -> Result<String, SeloError> {
    Ok(br::linha_to_barcode(&linha)?)
}

#[uniffi::export]
pub fn br_barcode_to_linha(barcode: String) -> Result<String, SeloError> {
    Ok(br::barcode_to_linha(&barcode)?)
}

#[uniffi::export]
pub fn br_is_valid_barcode(s: String) -> bool {
    br::is_valid_barcode(&s)
}

#[uniffi::export]
pub fn br_is_valid_linha_digitavel(s: String) -> bool {
    br::is_valid_linha_digitavel(&s)
}

/// The due date of a factor nearest `reference` (`yyyy-MM-dd`).
#[uniffi::export]
pub fn br_due_date_for_factor(factor: u16, reference: String) -> Result<Option<String>, SeloError> {
    Ok(br::due_date_for_factor(factor, date(&reference)?).map(|d| d.to_string()))
}

/// The due-date factor of a date (`None` before the first factor).
#[uniffi::export]
pub fn br_factor_for_date(d: String) -> Result<Option<u16>, SeloError> {
    Ok(br::factor_for_date(date(&d)?))
}

/// A bank barcode from its fields (check digit computed).
#[uniffi::export]
pub fn br_bank_barcode(
    bank: String,
    currency: u8,
    factor: u16,
    amount_cents: u64,
    free_field: String,
) -> Result<String, SeloError> {
    Ok(br::bank_barcode(
        &bank,
        currency,
        factor,
        amount_cents,
        &free_field,
    )?)
}

#[uniffi::export]
pub fn br_validate_ispb(s: String) -> Result<(), SeloError> {
    Ok(br::validate_ispb(&s)?)
}

#[uniffi::export]
pub fn br_is_valid_ispb(s: String) -> bool {
    br::is_valid_ispb(&s)
}

/// A checked Pix key.
#[derive(Clone, Debug, uniffi::Record)]
pub struct BrPixKey {
    /// `"cpf"`, `"cnpj"`, `"phone"`, `"email"` or `"evp"`.
    pub kind: String,
    /// `tipoChave` (0..=4).
    pub code: u8,
    /// The normalised value.
    pub value: String,
}

fn pix(k: br::PixKey) -> BrPixKey {
    BrPixKey {
        kind: k.kind.as_str().to_string(),
        code: k.kind.code(),
        value: k.value,
    }
}

#[uniffi::export]
pub fn br_validate_pix_key(kind: String, key: String) -> Result<BrPixKey, SeloError> {
    Ok(pix(br::validate_pix_key(pix_type(&kind)?, &key)?))
}

/// The type of a `tipoChave` number (`br.pix_key.type` outside 0..=4).
#[uniffi::export]
pub fn br_pix_key_type(code: i64) -> Result<String, SeloError> {
    Ok(PixKeyType::from_code(code)?.as_str().to_string())
}

#[uniffi::export]
pub fn br_is_valid_pix_key(kind: String, key: String) -> Result<bool, SeloError> {
    Ok(br::is_valid_pix_key(pix_type(&kind)?, &key))
}

/// Guesses a key's type (CPF, CNPJ, phone, e-mail, EVP), `None` if none fits.
#[uniffi::export]
pub fn br_detect_pix_key(key: String) -> Option<BrPixKey> {
    br::detect_pix_key(&key).map(pix)
}
