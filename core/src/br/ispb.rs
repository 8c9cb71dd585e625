//! ISPB: the 8-digit identifier of a participant in the Brazilian payment
//! system (the first 8 digits of its CNPJ root for most institutions, but
//! that is not a rule, so only the shape is checked).

use super::{Code, Error};

/// Checks that `s` is exactly 8 ASCII digits.
pub fn validate_ispb(s: &str) -> Result<(), Error> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::new(
            Code::Ispb,
            format!(
                "an ISPB is exactly 8 digits; found {} characters",
                s.chars().count()
            ),
        ))
    }
}

/// True when `s` is exactly 8 ASCII digits.
pub fn is_valid_ispb(s: &str) -> bool {
    validate_ispb(s).is_ok()
}
