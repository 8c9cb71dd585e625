//! Brazilian identifiers: CPF, CNPJ (numeric and alphanumeric), boleto
//! codes, ISPB, Pix keys. Every check fails with a `br.*` code.

use crate::{FfiError, Out, SeloStatus, alloc_string, call, str_arg};
use selo::br;
use serde_json::json;
use std::ffi::c_char;

/// Validates a CPF (11 digits, mask allowed) by its check digits.
///
/// # Safety
/// `s` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_br_validate_cpf(s: *const c_char) -> SeloStatus {
    call(|| {
        br::normalize_cpf(str_arg(s, "s")?)?;
        Ok(())
    })
}

/// Validates a CNPJ (14 characters, numeric or the 2026 alphanumeric form,
/// mask allowed) by its check digits.
///
/// # Safety
/// `s` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_br_validate_cnpj(s: *const c_char) -> SeloStatus {
    call(|| {
        br::normalize_cnpj(str_arg(s, "s")?)?;
        Ok(())
    })
}

/// A valid CPF with its mask (`000.000.000-00`).
///
/// # Safety
/// `s` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_br_format_cpf(s: *const c_char, out: *mut *mut c_char) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let f = br::format_cpf(str_arg(s, "s")?)?;
        out.write(alloc_string(f)?);
        Ok(())
    })
}

/// A valid CNPJ with its mask (`00.000.000/0000-00`).
///
/// # Safety
/// `s` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_br_format_cnpj(
    s: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let f = br::format_cnpj(str_arg(s, "s")?)?;
        out.write(alloc_string(f)?);
        Ok(())
    })
}

/// Parses a barcode (44 digits) or linha digitável (47/48 digits) and
/// writes JSON: `barcode`, `linha_digitavel`, `amount_cents` (or null),
/// `kind` (`"bank"` with `bank`, `currency`, `due_date_factor`, or
/// `"arrecadacao"` with `segment`, `value_id`).
///
/// # Safety
/// `s` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_br_parse_boleto(
    s: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let b = br::parse_boleto(str_arg(s, "s")?)?;
        let mut v = json!({
            "barcode": b.barcode,
            "linha_digitavel": b.linha_digitavel,
            "amount_cents": b.amount_cents,
        });
        let extra = match &b.kind {
            br::BoletoKind::Bank {
                bank,
                currency,
                due_date_factor,
            } => {
                json!({"kind": "bank", "bank": bank, "currency": currency, "due_date_factor": due_date_factor})
            }
            br::BoletoKind::Arrecadacao { segment, value_id } => {
                json!({"kind": "arrecadacao", "segment": segment, "value_id": value_id})
            }
        };
        if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        out.write(alloc_string(v.to_string())?);
        Ok(())
    })
}

/// The barcode of a linha digitável (check digits verified).
///
/// # Safety
/// `linha` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_br_linha_to_barcode(
    linha: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let b = br::linha_to_barcode(str_arg(linha, "linha")?)?;
        out.write(alloc_string(b)?);
        Ok(())
    })
}

/// The linha digitável of a barcode (check digits verified).
///
/// # Safety
/// `barcode` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_br_barcode_to_linha(
    barcode: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let l = br::barcode_to_linha(str_arg(barcode, "barcode")?)?;
        out.write(alloc_string(l)?);
        Ok(())
    })
}

/// Validates an ISPB (8 digits).
///
/// # Safety
/// `s` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_br_validate_ispb(s: *const c_char) -> SeloStatus {
    call(|| {
        br::validate_ispb(str_arg(s, "s")?)?;
        Ok(())
    })
}

/// Validates a Pix key of `tipo_chave` (0 CPF, 1 CNPJ, 2 phone, 3 e-mail,
/// 4 EVP) and writes its normalised value (what goes into `chavePix`).
///
/// # Safety
/// `key` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_br_validate_pix_key(
    tipo_chave: i64,
    key: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let kind = br::PixKeyType::from_code(tipo_chave)?;
        let k = br::validate_pix_key(kind, str_arg(key, "key")?)?;
        out.write(alloc_string(k.value)?);
        Ok(())
    })
}

/// Detects a Pix key's type and writes JSON `{"type":…,"value":…}` (type
/// `cpf`, `cnpj`, `phone`, `email` or `evp`); `br.pix_key.invalid` when it
/// is no valid key of any type.
///
/// # Safety
/// `key` is NUL-terminated; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn selo_br_detect_pix_key(
    key: *const c_char,
    out: *mut *mut c_char,
) -> SeloStatus {
    call(|| {
        let out = Out::new(out, "out")?;
        let key = str_arg(key, "key")?;
        let k = br::detect_pix_key(key).ok_or_else(|| {
            FfiError::from(br::Error::new(
                br::Code::PixKey,
                "not a valid Pix key of any type (CPF, CNPJ, phone, e-mail, EVP)",
            ))
        })?;
        let json = serde_json::to_string(&k).map_err(|e| FfiError::arg(e.to_string()))?;
        out.write(alloc_string(json)?);
        Ok(())
    })
}
