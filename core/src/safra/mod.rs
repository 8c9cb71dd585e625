//! Banco Safra PSD ("Plataforma de Serviços Digitais"), both roles.
//!
//! - [`handshake`]: psd001 stage 1 (client key + signature) and stage 2
//!   (RSA-encrypted session id; RSA-wrapped AES key back).
//! - [`envelope`]: AES-256-CTR body envelopes `hdr.iv.ct`.
//! - [`token`]: psd005/psd007 token decoding and the renewal schedule.
//! - [`boleto`]: psd050/psd052 messages with the manual's validation rules.
//! - [`session`]: the client state machine a host drives with HTTP bytes.
//! - [`bank`]: the bank role (simulators, mocks, tests).
//!
//! Every interpretation the manual leaves open is a field of
//! [`SafraProfile`]; the defaults are the project's reading (SPEC §2).

// Overflow-safe arithmetic throughout the Safra code (token times, counters,
// sizes): checked or saturating, never a wrap or a panic. The rest of the
// core (br, bmp, ofb) is not yet under this lint.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod bank;
pub mod boleto;
pub mod envelope;
pub mod handshake;
pub mod headers;
mod profile;
pub mod session;
pub mod share;
pub mod token;

pub use envelope::SessionKey;
pub use headers::{BaseUrl, Service};
pub use profile::{On480, PaddingChoice, SafraProfile, SignatureMessage};
pub use session::{
    DEFAULT_MAX_IN_FLIGHT, MAX_UNRESOLVED, Next, NextAction, Operation, OperationId, Outcome,
    Reply, RequestId, Session, State, UnresolvedRegistration,
};

crate::define_error! {
    /// A Safra PSD error. `http_status()` is what the bank role answers.
    Error, Code {
        /// A profile is not valid (unknown value, bad JSON).
        ProfileInvalid => ("safra.profile.invalid", None),
        /// A handshake reply (stage 1 or 2) is not what the protocol says.
        HandshakeBadReply => ("safra.handshake.bad_reply", None),
        /// The bank's public key does not parse in any known format.
        HandshakeBadBankKey => ("safra.handshake.bad_bank_key", None),
        /// The wrapped AES key could not be decrypted with any candidate padding.
        HandshakeDecryptFailed => ("safra.handshake.decrypt_failed", None),
        /// The decrypted key material is not a 32-byte AES key.
        HandshakeBadKeyMaterial => ("safra.handshake.bad_key_material", None),
        /// A handshake signature does not verify.
        HandshakeBadSignature => ("safra.handshake.bad_signature", Some(400)),
        /// The stage-1 bank key is not one of the profile's `bank_key_pins`:
        /// the handshake stops before stage 2 is sent.
        HandshakeBankKeyNotPinned => ("safra.handshake.bank_key_not_pinned", None),
        /// Bank role: the handshake request is malformed.
        HandshakeBadRequest => ("safra.handshake.bad_request", Some(400)),
        /// Bank role: stage 2 for a session GUID that never did stage 1.
        HandshakeUnknownSession => ("safra.handshake.unknown_session", Some(400)),
        /// Bank role: a stage 1 for a session id the bank still holds (a
        /// live session is never replaced by an unauthenticated request).
        HandshakeSessionExists => ("safra.handshake.session_exists", Some(409)),
        /// Bank role: the decrypted session id is not the header's GUID.
        HandshakeSessionMismatch => ("safra.handshake.session_mismatch", Some(400)),
        /// An envelope does not have exactly three dot-separated parts.
        EnvelopeMalformed => ("safra.envelope.malformed", Some(400)),
        /// An envelope part is not valid base64.
        EnvelopeBadBase64 => ("safra.envelope.bad_base64", Some(400)),
        /// The envelope header is not JSON with `enc` = `A256CTR`.
        EnvelopeBadHeader => ("safra.envelope.bad_header", Some(400)),
        /// The envelope IV is not 16 bytes.
        EnvelopeBadIv => ("safra.envelope.bad_iv", Some(400)),
        /// The opened plaintext is not UTF-8 JSON.
        EnvelopeNotJson => ("safra.envelope.not_json", Some(400)),
        /// The IV was already used in this session (CTR keystream reuse).
        EnvelopeReusedIv => ("safra.envelope.reused_iv", Some(400)),
        /// A body is not `{"data": "<envelope>"}`.
        EnvelopeBadBody => ("safra.envelope.bad_body", Some(400)),
        /// The key is not a 32-byte AES-256 key.
        EnvelopeBadKey => ("safra.envelope.bad_key", None),
        /// The token is not a decodable JWT.
        TokenMalformed => ("safra.token.malformed", None),
        /// The token's `exp`/`iat` are missing or not integers.
        TokenBadClaims => ("safra.token.bad_claims", None),
        /// The token lives 60 s or less, too short to schedule a renewal.
        TokenLifetimeTooShort => ("safra.token.lifetime_too_short", None),
        /// A required boleto field is missing.
        BoletoMissingField => ("safra.boleto.missing_field", None),
        /// A boleto text field exceeds its length.
        BoletoTooLong => ("safra.boleto.too_long", None),
        /// A boleto field has a value outside its domain.
        BoletoInvalidValue => ("safra.boleto.invalid_value", None),
        /// A CPF/CNPJ fails its check digits.
        BoletoInvalidDocument => ("safra.boleto.invalid_document", None),
        /// A date is not a real `yyyy-MM-dd` date.
        BoletoInvalidDate => ("safra.boleto.invalid_date", None),
        /// psd050's outcome stayed ambiguous: the psd052 that should have
        /// reconciled it was ambiguous too. The message names the boleto.
        BoletoOutcomeUnknown => ("safra.boleto.outcome_unknown", None),
        /// Another operation of the same session is registering this
        /// `nossoNumero` right now: two concurrent psd050s of one boleto
        /// could register it twice.
        BoletoInFlight => ("safra.boleto.in_flight", None),
        /// A business reply (or request, bank role) is not the expected JSON.
        MessageMalformed => ("safra.message.malformed", Some(400)),
        /// The operation needs a state the session is not in.
        SessionNotReady => ("safra.session.not_ready", None),
        /// `handle_response` got an id the session did not issue (or already handled).
        SessionUnknownRequest => ("safra.session.unknown_request", None),
        /// Recovery (re-handshake, re-authentication, retry) repeated too often.
        SessionTooManyRecoveries => ("safra.session.too_many_recoveries", None),
        /// A session snapshot could not be imported.
        SessionBadSnapshot => ("safra.session.bad_snapshot", None),
        /// The session already runs its maximum of operations at once
        /// (`Session::set_max_in_flight`): end one before beginning another.
        SessionBusy => ("safra.session.busy", None),
        /// HTTP 4xx from the bank.
        StatusRequestError => ("safra.status.request_error", None),
        /// HTTP 5xx from the bank (not 500 + key expiry, not 550).
        StatusServerError => ("safra.status.server_error", None),
        /// Bank role: the token is missing, wrong, or the work id does not match.
        BankUnauthorized => ("safra.bank.unauthorized", Some(401)),
        /// Bank role: the token expired or its limit was exceeded.
        BankTokenLimit => ("safra.bank.token_limit", Some(480)),
        /// Bank role: the session's symmetric key is unknown or expired.
        BankKeyExpired => ("safra.bank.key_expired", Some(500)),
        /// Bank role: a business rule rejected the request.
        BankBusiness => ("safra.bank.business", Some(550)),
        /// Bank role: unknown service path.
        BankUnknownService => ("safra.bank.unknown_service", Some(404)),
        /// Shared state (`crate::shared`): a sealed credentials record does
        /// not open — malformed, too long, wrong seal key, wrong fleet name,
        /// or altered (generation included).
        SharedRecordRejected => ("safra.shared.record_rejected", None),
        /// Shared state: the host's seal key is not 32 bytes.
        SharedSealKey => ("safra.shared.seal_key", None),
        /// Shared state: a fleet name or lease owner token is not 1 to 200
        /// ASCII graphic characters without `{` and `}`.
        SharedName => ("safra.shared.name", None),
        /// Shared state: a script call or reply is outside the protocol (an
        /// argument out of range, or a reply the script never returns; the
        /// adapter treats it like a failed store call and fails closed).
        SharedProtocol => ("safra.shared.protocol", None),
        /// A cryptographic backend error outside the cases above.
        Crypto => ("safra.crypto", None),
    }
}

impl From<crate::keys::Error> for Error {
    fn from(e: crate::keys::Error) -> Self {
        Error::new(Code::Crypto, format!("{} ({})", e.message(), e.code()))
    }
}

impl From<crate::crypto::Error> for Error {
    fn from(e: crate::crypto::Error) -> Self {
        Error::new(Code::Crypto, format!("{} ({})", e.message(), e.code()))
    }
}

pub(crate) fn err(code: Code, msg: impl Into<String>) -> Error {
    Error::new(code, msg)
}
