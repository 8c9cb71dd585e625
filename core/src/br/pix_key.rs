//! Pix keys (chaves Pix) by type, with the type numbers BMP uses
//! (`tipoChave`: 0 CPF, 1 CNPJ, 2 phone, 3 e-mail, 4 EVP).
//!
//! - CPF / CNPJ: valid check digits; stored without mask.
//! - Phone: `+55`, a two-digit area code not starting with 0, then 8 or 9
//!   digits. The bare form without `+` (`5511987654321`) is accepted and
//!   normalised to `+5511987654321`.
//! - E-mail: at most 77 characters, one `@`, a non-empty local part of
//!   letters, digits and ``.!#$%&'*+/=?^_`{|}~-``, a domain of dot-separated
//!   labels (letters, digits, inner hyphens), no whitespace. The DICT stores
//!   e-mail keys in lowercase, so the value is lowercased.
//! - EVP (random key): a lowercase hyphenated UUID, 36 characters.

use super::{Code, Error, normalize_cnpj, normalize_cpf};
use serde::{Deserialize, Serialize};

/// The type of a Pix key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixKeyType {
    /// CPF (`tipoChave` 0).
    Cpf,
    /// CNPJ (`tipoChave` 1).
    Cnpj,
    /// Phone number in E.164 with `+55` (`tipoChave` 2).
    Phone,
    /// E-mail address (`tipoChave` 3).
    Email,
    /// Random key, a UUID (`tipoChave` 4).
    Evp,
}

impl PixKeyType {
    /// Every type, in `tipoChave` order.
    pub const ALL: [PixKeyType; 5] = [
        PixKeyType::Cpf,
        PixKeyType::Cnpj,
        PixKeyType::Phone,
        PixKeyType::Email,
        PixKeyType::Evp,
    ];

    /// The `tipoChave` number (0..=4).
    pub const fn code(self) -> u8 {
        match self {
            PixKeyType::Cpf => 0,
            PixKeyType::Cnpj => 1,
            PixKeyType::Phone => 2,
            PixKeyType::Email => 3,
            PixKeyType::Evp => 4,
        }
    }

    /// The type of a `tipoChave` number.
    pub fn from_code(code: i64) -> Result<PixKeyType, Error> {
        usize::try_from(code)
            .ok()
            .and_then(|i| PixKeyType::ALL.get(i).copied())
            .ok_or_else(|| {
                Error::new(
                    Code::PixKeyType,
                    format!("tipoChave must be 0 (CPF), 1 (CNPJ), 2 (phone), 3 (e-mail) or 4 (EVP); found {code}"),
                )
            })
    }

    /// `"cpf"`, `"cnpj"`, `"phone"`, `"email"` or `"evp"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PixKeyType::Cpf => "cpf",
            PixKeyType::Cnpj => "cnpj",
            PixKeyType::Phone => "phone",
            PixKeyType::Email => "email",
            PixKeyType::Evp => "evp",
        }
    }
}

/// A checked Pix key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PixKey {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: PixKeyType,
    /// The normalised value (what goes into `chavePix`).
    pub value: String,
}

fn bad(kind: PixKeyType, why: &str) -> Error {
    Error::new(Code::PixKey, format!("{} Pix key {why}", kind.as_str()))
}

fn phone(s: &str) -> Result<String, Error> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    let ok = digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 12 || digits.len() == 13)
        && digits.starts_with("55")
        && digits.as_bytes().get(2).is_some_and(|b| *b != b'0');
    if ok {
        Ok(format!("+{digits}"))
    } else {
        Err(bad(
            PixKeyType::Phone,
            "must be +55, a 2-digit area code (not starting with 0) and 8 or 9 digits",
        ))
    }
}

fn email(s: &str) -> Result<String, Error> {
    let kind = PixKeyType::Email;
    if s.chars().count() > 77 {
        return Err(bad(kind, "has at most 77 characters"));
    }
    let (local, domain) = s.split_once('@').ok_or_else(|| bad(kind, "needs one @"))?;
    const LOCAL_EXTRA: &str = ".!#$%&'*+/=?^_`{|}~-";
    if local.is_empty()
        || !local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || LOCAL_EXTRA.contains(c))
    {
        return Err(bad(
            kind,
            "has an empty local part or a character not allowed in it",
        ));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if domain.is_empty() || !domain.split('.').all(label_ok) {
        return Err(bad(kind, "has a malformed domain"));
    }
    Ok(s.to_ascii_lowercase())
}

fn evp(s: &str) -> Result<String, Error> {
    let b = s.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        });
    if ok {
        Ok(s.to_string())
    } else {
        Err(bad(
            PixKeyType::Evp,
            "must be a lowercase hyphenated UUID (8-4-4-4-12 hex digits)",
        ))
    }
}

/// Checks `key` against the rules of `kind` and returns the normalised key.
pub fn validate_pix_key(kind: PixKeyType, key: &str) -> Result<PixKey, Error> {
    let value = match kind {
        PixKeyType::Cpf => normalize_cpf(key).map_err(|e| bad(kind, e.message()))?,
        PixKeyType::Cnpj => normalize_cnpj(key).map_err(|e| bad(kind, e.message()))?,
        PixKeyType::Phone => phone(key)?,
        PixKeyType::Email => email(key)?,
        PixKeyType::Evp => evp(key)?,
    };
    Ok(PixKey { kind, value })
}

/// True when `key` is a valid key of type `kind`.
pub fn is_valid_pix_key(kind: PixKeyType, key: &str) -> bool {
    validate_pix_key(kind, key).is_ok()
}

/// Finds the type of a key given without one: an EVP by its UUID shape, an
/// e-mail by its `@`, a phone by its `+`; then 11 digits that form a valid
/// CPF, 14 characters that form a valid CNPJ, and finally 12 or 13 digits
/// starting with `55` as a phone without `+`. `None` when nothing fits.
pub fn detect_pix_key(key: &str) -> Option<PixKey> {
    let order: &[PixKeyType] = if key.contains('@') {
        &[PixKeyType::Email]
    } else if key.starts_with('+') {
        &[PixKeyType::Phone]
    } else if key.len() == 36 {
        &[PixKeyType::Evp]
    } else {
        &[PixKeyType::Cpf, PixKeyType::Cnpj, PixKeyType::Phone]
    };
    order.iter().find_map(|k| validate_pix_key(*k, key).ok())
}
