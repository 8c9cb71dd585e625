//! Brazilian identifiers: CPF, CNPJ (numeric and alphanumeric), boletos,
//! ISPB, Pix keys.

use crate::conv::{selo_err, set, to_js, type_err};
use selo::br::{self, BoletoKind, FederalDocument, PixKeyType};
use wasm_bindgen::prelude::*;

/// True for a valid CPF (masked or not).
#[wasm_bindgen(js_name = isValidCpf)]
pub fn is_valid_cpf(s: &str) -> bool {
    br::is_valid_cpf(s)
}

/// True for a valid CNPJ (numeric or alphanumeric, masked or not).
#[wasm_bindgen(js_name = isValidCnpj)]
pub fn is_valid_cnpj(s: &str) -> bool {
    br::is_valid_cnpj(s)
}

/// True for a valid CPF or CNPJ.
#[wasm_bindgen(js_name = isValidDocument)]
pub fn is_valid_document(s: &str) -> bool {
    br::is_valid_document(s)
}

/// The CPF without mask; throws `br.cpf.invalid`.
#[wasm_bindgen(js_name = normalizeCpf)]
pub fn normalize_cpf(s: &str) -> Result<String, JsValue> {
    br::normalize_cpf(s).map_err(selo_err)
}

/// The CNPJ without mask; throws `br.cnpj.invalid`.
#[wasm_bindgen(js_name = normalizeCnpj)]
pub fn normalize_cnpj(s: &str) -> Result<String, JsValue> {
    br::normalize_cnpj(s).map_err(selo_err)
}

/// `000.000.000-00`.
#[wasm_bindgen(js_name = formatCpf)]
pub fn format_cpf(s: &str) -> Result<String, JsValue> {
    br::format_cpf(s).map_err(selo_err)
}

/// `00.000.000/0000-00`.
#[wasm_bindgen(js_name = formatCnpj)]
pub fn format_cnpj(s: &str) -> Result<String, JsValue> {
    br::format_cnpj(s).map_err(selo_err)
}

/// `{ type: "cpf" | "cnpj", value }` (normalised); throws on invalid.
#[wasm_bindgen(js_name = parseDocument)]
pub fn parse_document(s: &str) -> Result<JsValue, JsValue> {
    let d = br::parse_document(s).map_err(selo_err)?;
    let o = js_sys::Object::new();
    let kind = match d {
        FederalDocument::Cpf(_) => "cpf",
        FederalDocument::Cnpj(_) => "cnpj",
    };
    set(&o, "type", &JsValue::from_str(kind));
    set(&o, "value", &JsValue::from_str(d.as_str()));
    Ok(o.into())
}

/// Parses a barcode (44 digits) or linha digitável (47/48): `{ kind,
/// barcode, linhaDigitavel, amountCents, bank?, currency?, dueDateFactor?,
/// segment?, valueId? }`; throws `br.boleto.*`.
#[wasm_bindgen(js_name = parseBoleto)]
pub fn parse_boleto(s: &str) -> Result<JsValue, JsValue> {
    let b = br::parse_boleto(s).map_err(selo_err)?;
    let o = js_sys::Object::new();
    set(&o, "barcode", &JsValue::from_str(&b.barcode));
    set(&o, "linhaDigitavel", &JsValue::from_str(&b.linha_digitavel));
    #[allow(clippy::cast_precision_loss)]
    set(
        &o,
        "amountCents",
        &b.amount_cents
            .map_or(JsValue::NULL, |c| JsValue::from(c as f64)),
    );
    match &b.kind {
        BoletoKind::Bank {
            bank,
            currency,
            due_date_factor,
        } => {
            set(&o, "kind", &JsValue::from_str("bank"));
            set(&o, "bank", &JsValue::from_str(bank));
            set(&o, "currency", &JsValue::from(*currency));
            set(&o, "dueDateFactor", &JsValue::from(*due_date_factor));
        }
        BoletoKind::Arrecadacao { segment, value_id } => {
            set(&o, "kind", &JsValue::from_str("arrecadacao"));
            set(&o, "segment", &JsValue::from(*segment));
            set(&o, "valueId", &JsValue::from(*value_id));
        }
    }
    Ok(o.into())
}

/// The 44-digit barcode of a linha digitável.
#[wasm_bindgen(js_name = linhaToBarcode)]
pub fn linha_to_barcode(s: &str) -> Result<String, JsValue> {
    br::linha_to_barcode(s).map_err(selo_err)
}

/// The linha digitável of a 44-digit barcode.
#[wasm_bindgen(js_name = barcodeToLinha)]
pub fn barcode_to_linha(s: &str) -> Result<String, JsValue> {
    br::barcode_to_linha(s).map_err(selo_err)
}

/// True for a valid 44-digit barcode.
#[wasm_bindgen(js_name = isValidBarcode)]
pub fn is_valid_barcode(s: &str) -> bool {
    br::is_valid_barcode(s)
}

/// True for a valid linha digitável.
#[wasm_bindgen(js_name = isValidLinhaDigitavel)]
pub fn is_valid_linha_digitavel(s: &str) -> bool {
    br::is_valid_linha_digitavel(s)
}

/// The due date (`yyyy-MM-dd`) of a factor nearest to `reference`
/// (`yyyy-MM-dd`), or null.
#[wasm_bindgen(js_name = boletoDueDate)]
pub fn boleto_due_date(factor: u16, reference: &str) -> Result<Option<String>, JsValue> {
    let r = br::Date::parse(reference).ok_or_else(|| {
        type_err(format!(
            "reference: expected yyyy-MM-dd, found \"{reference}\""
        ))
    })?;
    Ok(br::due_date_for_factor(factor, r)
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)))
}

/// True for 8 digits.
#[wasm_bindgen(js_name = isValidIspb)]
pub fn is_valid_ispb(s: &str) -> bool {
    br::is_valid_ispb(s)
}

/// Throws `br.ispb.invalid` unless 8 digits.
#[wasm_bindgen(js_name = validateIspb)]
pub fn validate_ispb(s: &str) -> Result<(), JsValue> {
    br::validate_ispb(s).map_err(selo_err)
}

fn pix_type_in(t: &JsValue) -> Result<PixKeyType, JsValue> {
    if let Some(n) = t.as_f64() {
        #[allow(clippy::cast_possible_truncation)]
        return PixKeyType::from_code(n as i64).map_err(selo_err);
    }
    let s = t
        .as_string()
        .ok_or_else(|| type_err("type: expected a Pix key type name or code"))?;
    PixKeyType::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| {
            selo_err(br::Error::new(
                br::Code::PixKeyType,
                format!("expected cpf, cnpj, phone, email or evp; found \"{s}\""),
            ))
        })
}

/// Checks a Pix key of a type (name or `tipoChave` code):
/// `{ type, value }` normalised; throws `br.pix_key.*`.
#[wasm_bindgen(js_name = validatePixKey)]
pub fn validate_pix_key(kind: JsValue, key: &str) -> Result<JsValue, JsValue> {
    to_js(&br::validate_pix_key(pix_type_in(&kind)?, key).map_err(selo_err)?)
}

/// True when `key` is a valid Pix key of that type.
#[wasm_bindgen(js_name = isValidPixKey)]
pub fn is_valid_pix_key(kind: JsValue, key: &str) -> Result<bool, JsValue> {
    Ok(br::is_valid_pix_key(pix_type_in(&kind)?, key))
}

/// The type and normalised value of a Pix key, or null.
#[wasm_bindgen(js_name = detectPixKey)]
pub fn detect_pix_key(key: &str) -> Result<JsValue, JsValue> {
    match br::detect_pix_key(key) {
        Some(k) => to_js(&k),
        None => Ok(JsValue::NULL),
    }
}
