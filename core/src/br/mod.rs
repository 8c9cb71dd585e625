//! Brazilian identifiers: CPF and CNPJ (including the alphanumeric CNPJ that
//! Receita Federal issues from July 2026), bank boletos and
//! arrecadação/convênio slips (barcode ↔ linha digitável, every check digit,
//! amount and due date), ISPB codes and Pix keys.
//!
//! Everything here is pure text processing: no input, however malformed,
//! panics. The boolean checks ([`is_valid_cpf`], [`is_valid_cnpj`], …) never
//! fail; the parsing functions return a [`Error`] whose code says which rule
//! was broken.

mod boleto_code;
mod cpf_cnpj;
mod ispb;
mod pix_key;

pub use boleto_code::{
    Boleto, BoletoKind, Date, bank_barcode, barcode_to_linha, due_date_candidates,
    due_date_for_factor, factor_for_date, is_valid_barcode, is_valid_linha_digitavel,
    linha_to_barcode, parse_boleto,
};
pub use cpf_cnpj::{
    FederalDocument, cnpj_check_digits, cnpj_from_number, cpf_check_digits, cpf_from_number,
    format_cnpj, format_cpf, is_valid_cnpj, is_valid_cpf, is_valid_document, normalize_cnpj,
    normalize_cpf, parse_document,
};
pub use ispb::{is_valid_ispb, validate_ispb};
pub use pix_key::{PixKey, PixKeyType, detect_pix_key, is_valid_pix_key, validate_pix_key};

crate::define_error! {
    /// A Brazilian identifier was refused.
    Error, Code {
        /// The text has characters or a length the identifier never has.
        Format => ("br.format", None),
        /// A CPF was refused (length, characters, repeated digits, check digits).
        Cpf => ("br.cpf.invalid", None),
        /// A CNPJ was refused (length, characters, repeated characters, check digits).
        Cnpj => ("br.cnpj.invalid", None),
        /// A barcode or linha digitável has the wrong length or characters.
        BoletoFormat => ("br.boleto.format", None),
        /// A check digit of a barcode or linha digitável does not match.
        BoletoCheckDigit => ("br.boleto.check_digit", None),
        /// An ISPB is not exactly 8 digits.
        Ispb => ("br.ispb.invalid", None),
        /// A Pix key does not match the rules of its type.
        PixKey => ("br.pix_key.invalid", None),
        /// A Pix key type outside 0..=4.
        PixKeyType => ("br.pix_key.type", None),
    }
}

#[cfg(test)]
mod tests;
