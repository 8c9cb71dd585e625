//! CPF (11 digits) and CNPJ (14 characters: 12 alphanumeric + 2 digits).
//!
//! Check digits are modulo 11. Every CNPJ character counts as its ASCII
//! code minus 48 (`'0'..='9'` → 0..9, `'A'..='Z'` → 17..42), which is the
//! rule Receita Federal published for the alphanumeric CNPJ and reduces to
//! the classic rule for all-digit CNPJs. Input is either bare
//! (`52998224725`, `12ABC34501DE35`) or in the usual mask
//! (`529.982.247-25`, `12.ABC.345/01DE-35`); any other punctuation,
//! whitespace or lowercase letter is refused. Values made of one repeated
//! character (`00000000000`) are refused although their check digits add up.

use super::{Code, Error};

const CPF_LEN: usize = 11;
const CNPJ_LEN: usize = 14;

/// A CPF or CNPJ, normalised (no mask).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FederalDocument {
    /// 11 digits.
    Cpf(String),
    /// 14 characters.
    Cnpj(String),
}

impl FederalDocument {
    /// The normalised text (no mask).
    pub fn as_str(&self) -> &str {
        match self {
            FederalDocument::Cpf(s) | FederalDocument::Cnpj(s) => s,
        }
    }
}

/// Removes the mask when `s` matches it exactly; `None` when a character is
/// out of place. `mask` uses `#` for a value position.
fn unmask(s: &str, mask: &str) -> Option<String> {
    if s.len() != mask.len() {
        return None;
    }
    let mut out = String::with_capacity(mask.len());
    for (c, m) in s.chars().zip(mask.chars()) {
        if m == '#' {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else {
                return None;
            }
        } else if c != m {
            return None;
        }
    }
    Some(out)
}

fn strip(s: &str, bare_len: usize, mask: &str) -> Option<String> {
    if s.len() == bare_len && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Some(s.to_string())
    } else {
        unmask(s, mask)
    }
}

fn all_same(s: &str) -> bool {
    let mut it = s.bytes();
    match it.next() {
        Some(first) => it.all(|b| b == first),
        None => true,
    }
}

/// Modulo-11 check digit over `values` with weights cycling 2..=9 from the
/// right (CNPJ) — or the explicit descending `start` weight (CPF).
fn mod11_digit(values: &[u32], weights: impl Iterator<Item = u32>) -> u32 {
    let sum: u32 = values.iter().zip(weights).map(|(v, w)| v * w).sum();
    let r = sum % 11;
    if r < 2 { 0 } else { 11 - r }
}

/// The two check digits of the first 9 CPF digits; `None` when `base` is
/// not 9 ASCII digits.
pub fn cpf_check_digits(base: &str) -> Option<[u8; 2]> {
    if base.len() != 9 || !base.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: Vec<u32> = base.bytes().map(|b| u32::from(b - b'0')).collect();
    let d1 = mod11_digit(&v, (2..=10).rev());
    v.push(d1);
    let d2 = mod11_digit(&v, (2..=11).rev());
    Some([b'0' + d1 as u8, b'0' + d2 as u8])
}

fn cnpj_weights(len: usize) -> impl Iterator<Item = u32> {
    // Weights 2..=9 repeating, counted from the rightmost position.
    (0..len).rev().map(|i| (i as u32 % 8) + 2)
}

/// The two check digits of the first 12 CNPJ characters (digits or
/// uppercase letters); `None` when `base` is not such a text.
pub fn cnpj_check_digits(base: &str) -> Option<[u8; 2]> {
    if base.len() != 12
        || !base
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return None;
    }
    let mut v: Vec<u32> = base.bytes().map(|b| u32::from(b) - 48).collect();
    let d1 = mod11_digit(&v, cnpj_weights(12));
    v.push(d1);
    let d2 = mod11_digit(&v, cnpj_weights(13));
    Some([b'0' + d1 as u8, b'0' + d2 as u8])
}

/// Validates a CPF (bare or masked) and returns its 11 digits.
pub fn normalize_cpf(s: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::new(Code::Cpf, format!("CPF {why}"));
    let d = strip(s, CPF_LEN, "###.###.###-##")
        .ok_or_else(|| bad("must be 11 digits or ###.###.###-##"))?;
    if !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("must contain digits only"));
    }
    if all_same(&d) {
        return Err(bad("made of one repeated digit is not issued"));
    }
    let (base, dv) = d.split_at(9);
    match cpf_check_digits(base) {
        Some(expected) if expected == dv.as_bytes() => Ok(d),
        Some(expected) => Err(bad(&format!(
            "check digits: expected {}, found {dv}",
            String::from_utf8_lossy(&expected)
        ))),
        None => Err(bad("must contain digits only")),
    }
}

/// Validates a CNPJ (numeric or alphanumeric, bare or masked) and returns
/// its 14 characters.
pub fn normalize_cnpj(s: &str) -> Result<String, Error> {
    let bad = |why: &str| Error::new(Code::Cnpj, format!("CNPJ {why}"));
    let d = strip(s, CNPJ_LEN, "##.###.###/####-##")
        .ok_or_else(|| bad("must be 14 characters or ##.###.###/####-##"))?;
    let (base, dv) = d.split_at(12);
    if !base
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return Err(bad("root and branch must be digits or uppercase letters"));
    }
    if !dv.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("check digits must be digits"));
    }
    if all_same(&d) {
        return Err(bad("made of one repeated character is not issued"));
    }
    match cnpj_check_digits(base) {
        Some(expected) if expected == dv.as_bytes() => Ok(d),
        Some(expected) => Err(bad(&format!(
            "check digits: expected {}, found {dv}",
            String::from_utf8_lossy(&expected)
        ))),
        None => Err(bad("root and branch must be digits or uppercase letters")),
    }
}

/// True when `s` is a valid CPF, bare (`52998224725`) or masked (`529.982.247-25`).
pub fn is_valid_cpf(s: &str) -> bool {
    normalize_cpf(s).is_ok()
}

/// True when `s` is a valid CNPJ, numeric or alphanumeric, bare
/// (`12ABC34501DE35`) or masked (`12.ABC.345/01DE-35`).
pub fn is_valid_cnpj(s: &str) -> bool {
    normalize_cnpj(s).is_ok()
}

/// Validates a CPF or a CNPJ, told apart by length (11 or 14 characters
/// bare, 14 or 18 masked).
pub fn parse_document(s: &str) -> Result<FederalDocument, Error> {
    match s.len() {
        11 => normalize_cpf(s).map(FederalDocument::Cpf),
        14 if s.contains('-') => normalize_cpf(s).map(FederalDocument::Cpf),
        14 | 18 => normalize_cnpj(s).map(FederalDocument::Cnpj),
        n => Err(Error::new(
            Code::Format,
            format!("a CPF has 11 characters (14 masked) and a CNPJ 14 (18 masked); found {n}"),
        )),
    }
}

/// True when `s` is a valid CPF or CNPJ.
pub fn is_valid_document(s: &str) -> bool {
    parse_document(s).is_ok()
}

/// The masked form `###.###.###-##` of a valid CPF.
pub fn format_cpf(s: &str) -> Result<String, Error> {
    let d = normalize_cpf(s)?;
    let (a, rest) = d.split_at(3);
    let (b, rest) = rest.split_at(3);
    let (c, dv) = rest.split_at(3);
    Ok(format!("{a}.{b}.{c}-{dv}"))
}

/// The masked form `##.###.###/####-##` of a valid CNPJ.
pub fn format_cnpj(s: &str) -> Result<String, Error> {
    let d = normalize_cnpj(s)?;
    let (a, rest) = d.split_at(2);
    let (b, rest) = rest.split_at(3);
    let (c, rest) = rest.split_at(3);
    let (e, dv) = rest.split_at(4);
    Ok(format!("{a}.{b}.{c}/{e}-{dv}"))
}

/// A CPF held as a JSON number (leading zeros lost, as in Safra's
/// `numeroDocumento`) back as 11 digits; `None` above 11 digits.
pub fn cpf_from_number(n: u64) -> Option<String> {
    (n <= 99_999_999_999).then(|| format!("{n:011}"))
}

/// A numeric CNPJ held as a JSON number back as 14 digits; `None` above 14 digits.
pub fn cnpj_from_number(n: u64) -> Option<String> {
    (n <= 99_999_999_999_999).then(|| format!("{n:014}"))
}
