//! BMP HMAC handshake (SPEC §4).
//!
//! - Partner side: build canonical body bytes ([`canonical`], [`Money`],
//!   typed [`Transaction`]s), sign them ([`BmpClient`] →
//!   [`SignedTransaction`], whose request is identical on every retry), and
//!   answer BMP's confirmation call ([`confirm`]) from the raw bytes
//!   received.
//! - BMP side, for simulators ([`BmpServer`]): header and MAC checks (406),
//!   the confirmation call with its 5 s deadline, the check of the reply.
//!
//! Every choice SPEC marks **[profile]** is in [`BmpProfile`].

pub mod canonical;
mod confirm;
pub mod json;
mod money;
mod profile;
mod server;
mod signature;
mod transactions;

pub use confirm::{
    ConfirmResponse, TransactionLookup, confirm, first_difference, first_difference_with,
    is_json_content_type,
};
pub use json::JsonValue;
pub use money::{Money, MoneyFormat, decimal_eq};
pub use profile::{BmpProfile, MacEncoding};
pub use server::{AcceptedTransaction, BmpServer, ConfirmationCall};
pub use signature::{
    BmpClient, HmacKey, KEY_LEN, SignedTransaction, check_idempotency_key, decode_mac, encode_mac,
    sign, verify,
};
pub use transactions::{
    Account, BoletoPayment, PROTECTED_ENDPOINTS, PixRefund, PixTransfer, Transaction, Transfer,
    is_protected_endpoint,
};

crate::define_error! {
    /// A BMP operation failed. Server-role codes carry HTTP 406 (BMP side)
    /// or the partner confirmation status (404, 400, 409).
    Error, Code {
        /// An amount has more than two fraction digits (never rounded).
        MoneyPrecision => ("bmp.money.precision", None),
        /// An amount is negative.
        MoneyNegative => ("bmp.money.negative", None),
        /// An amount is not digits with an optional '.' (exponent, sign, comma…).
        MoneySyntax => ("bmp.money.syntax", None),
        /// An amount does not fit in 64-bit cents.
        MoneyRange => ("bmp.money.range", None),
        /// An amount came in as a binary floating-point number.
        MoneyFloat => ("bmp.money.float", None),
        /// A body is not valid JSON (or nests too deep, or repeats a member).
        BodyMalformed => ("bmp.body.malformed", None),
        /// A shared key is not 128 alphanumeric characters.
        KeyInvalid => ("bmp.key.invalid", None),
        /// An `hmac` value is neither 128 hex characters nor accepted base64.
        MacEncoding => ("bmp.mac.encoding", None),
        /// An `hmac` value does not match the body.
        MacMismatch => ("bmp.mac.mismatch", None),
        /// An idempotency key is missing its required shape.
        IdempotencyKeyInvalid => ("bmp.idempotency_key.invalid", None),
        /// A typed transaction member is invalid (the message names its path).
        TransactionInvalidField => ("bmp.transaction.invalid_field", None),
        /// A typed transaction lacks a required member.
        TransactionMissingField => ("bmp.transaction.missing_field", None),
        /// A BMP profile could not be loaded.
        ProfileInvalid => ("bmp.profile.invalid", None),
        /// Confirmation: no transaction with this idempotency key.
        ConfirmUnknownTransaction => ("bmp.confirm.unknown_transaction", Some(404)),
        /// Confirmation: a required header is missing or empty.
        ConfirmMissingHeader => ("bmp.confirm.missing_header", Some(400)),
        /// Confirmation: a header has a wrong value.
        ConfirmBadHeader => ("bmp.confirm.bad_header", Some(400)),
        /// Confirmation: the body (or the stored original) is not valid JSON.
        ConfirmMalformedBody => ("bmp.confirm.malformed_body", Some(400)),
        /// Confirmation: the body is larger than the profile's `max_body_bytes`.
        ConfirmBodyTooLarge => ("bmp.confirm.body_too_large", Some(413)),
        /// Confirmation: a value differs from the original transaction.
        ConfirmMismatch => ("bmp.confirm.mismatch", Some(409)),
        /// Confirmation: the host could not decide (its transaction store
        /// failed, or its handler broke): 500, with no text of the host's.
        ConfirmInternal => ("bmp.confirm.internal", Some(500)),
        /// BMP side: a required header is missing.
        ServerMissingHeader => ("bmp.server.missing_header", Some(406)),
        /// BMP side: a header has a wrong value.
        ServerBadHeader => ("bmp.server.bad_header", Some(406)),
        /// BMP side: the `hmac` does not match the raw body.
        ServerBadMac => ("bmp.server.bad_mac", Some(406)),
        /// BMP side: the body is not valid JSON.
        ServerMalformedBody => ("bmp.server.malformed_body", Some(406)),
        /// BMP side: the body is larger than the profile's `max_body_bytes`.
        ServerBodyTooLarge => ("bmp.server.body_too_large", Some(406)),
        /// BMP side: the partner's confirmation did not answer 200.
        ServerConfirmationRefused => ("bmp.server.confirmation_refused", Some(406)),
        /// BMP side: the partner's confirmation `hmac` is missing or wrong.
        ServerConfirmationBadMac => ("bmp.server.confirmation_bad_mac", Some(406)),
        /// BMP side: the partner's confirmation missed its deadline.
        ServerConfirmationTimeout => ("bmp.server.confirmation_timeout", Some(406)),
    }
}

#[cfg(test)]
mod tests;
