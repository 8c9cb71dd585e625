//! The BMP side (SPEC §4.4), for simulators and mocks: check the partner's
//! request, call its confirmation endpoint, check the reply. Every refusal
//! is HTTP 406, as the seed says.

use super::canonical::reformat_money;
use super::confirm::is_json_content_type;
use super::money::MoneyFormat;
use super::signature::{HmacKey, check_idempotency_key, verify};
use super::{BmpProfile, Code, Error};
use crate::http::{PreparedRequest, ReceivedResponse, header_value};

/// A request that passed the header and MAC checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedTransaction {
    /// The `IdempotencyKey` header.
    pub idempotency_key: String,
    /// The body exactly as received.
    pub body: Vec<u8>,
}

/// The confirmation request BMP sends the partner, and its deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmationCall {
    /// POST to the partner's confirmation URL with the transaction JSON.
    pub request: PreparedRequest,
    /// How long the host waits for the reply before calling
    /// [`BmpServer::confirmation_timed_out`] (ms; profile, default 5000).
    pub deadline_ms: u64,
}

/// BMP's side of the handshake.
#[derive(Clone, Debug)]
pub struct BmpServer {
    key: HmacKey,
    profile: BmpProfile,
}

fn e406(code: Code, msg: impl Into<String>) -> Error {
    Error::new(code, msg)
}

impl BmpServer {
    /// A server holding the partner's shared key.
    pub fn new(key: HmacKey, profile: BmpProfile) -> BmpServer {
        BmpServer { key, profile }
    }

    /// Step 1 and 2: `Content-Type: application/json`, an `IdempotencyKey`
    /// (a UUID v4 unless the profile relaxes it), an `hmac` that matches
    /// HMAC-SHA512 of the raw body, and a body that is JSON. Any failure is
    /// an error whose `http_status()` is 406.
    pub fn check_request(
        &self,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<AcceptedTransaction, Error> {
        if body.len() > self.profile.max_body_bytes {
            return Err(e406(
                Code::ServerBodyTooLarge,
                format!(
                    "the body has {} bytes; the limit is {} (profile max_body_bytes)",
                    body.len(),
                    self.profile.max_body_bytes
                ),
            ));
        }
        let ct = header_value(headers, "Content-Type")
            .ok_or_else(|| e406(Code::ServerMissingHeader, "Content-Type header is missing"))?;
        if !is_json_content_type(ct) {
            return Err(e406(
                Code::ServerBadHeader,
                format!("Content-Type must be application/json; found {ct:?}"),
            ));
        }
        let idem = header_value(headers, "IdempotencyKey")
            .map(str::trim)
            .ok_or_else(|| {
                e406(
                    Code::ServerMissingHeader,
                    "IdempotencyKey header is missing",
                )
            })?;
        check_idempotency_key(idem, &self.profile)
            .map_err(|e| e406(Code::ServerBadHeader, e.message()))?;
        let mac = header_value(headers, "hmac")
            .ok_or_else(|| e406(Code::ServerMissingHeader, "hmac header is missing"))?;
        verify(&self.key, body, mac, &self.profile).map_err(|e| match e.kind() {
            Code::MacEncoding => e406(Code::ServerBadHeader, e.message()),
            _ => e406(Code::ServerBadMac, e.message()),
        })?;
        let tree = super::json::parse(body).map_err(|e| {
            e406(
                Code::ServerMalformedBody,
                format!("body is not valid JSON: {e}"),
            )
        })?;
        if let Some(v) = tree.get("idempotencyKey")
            && v.as_str() != Some(idem)
        {
            return Err(e406(
                Code::ServerBadHeader,
                "the IdempotencyKey header differs from the body's idempotencyKey",
            ));
        }
        Ok(AcceptedTransaction {
            idempotency_key: idem.to_string(),
            body: body.to_vec(),
        })
    }

    /// Step 3: the confirmation request carrying the transaction body as
    /// received, with `Content-Type`, `IdempotencyKey` and the partner's
    /// `extra_headers`.
    pub fn confirmation_request(
        &self,
        tx: &AcceptedTransaction,
        partner_url: &str,
        extra_headers: &[(String, String)],
    ) -> ConfirmationCall {
        self.confirmation_request_with_body(tx, partner_url, extra_headers, tx.body.clone())
    }

    /// Like [`BmpServer::confirmation_request`], with amounts re-written
    /// .NET-style (`100.00` → `100.0`): what a partner must still confirm.
    pub fn confirmation_request_dotnet(
        &self,
        tx: &AcceptedTransaction,
        partner_url: &str,
        extra_headers: &[(String, String)],
    ) -> Result<ConfirmationCall, Error> {
        let body = reformat_money(&tx.body, &self.profile, MoneyFormat::Dotnet)?;
        Ok(self.confirmation_request_with_body(tx, partner_url, extra_headers, body))
    }

    /// The confirmation request with a body of the caller's choosing (fault
    /// injection in simulators).
    pub fn confirmation_request_with_body(
        &self,
        tx: &AcceptedTransaction,
        partner_url: &str,
        extra_headers: &[(String, String)],
        body: Vec<u8>,
    ) -> ConfirmationCall {
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("IdempotencyKey".to_string(), tx.idempotency_key.clone()),
        ];
        headers.extend(extra_headers.iter().cloned());
        ConfirmationCall {
            request: PreparedRequest::new("POST", partner_url, headers, body),
            deadline_ms: self.profile.confirm_timeout_ms,
        }
    }

    /// Step 4: the partner's reply must be 200 with an `hmac` header that
    /// matches the exact confirmation body sent. Otherwise 406.
    pub fn check_confirmation_reply(
        &self,
        call: &ConfirmationCall,
        reply: &ReceivedResponse,
    ) -> Result<(), Error> {
        if reply.status != 200 {
            return Err(e406(
                Code::ServerConfirmationRefused,
                format!(
                    "the partner's confirmation answered {}, expected 200",
                    reply.status
                ),
            ));
        }
        let mac = reply.header("hmac").ok_or_else(|| {
            e406(
                Code::ServerConfirmationBadMac,
                "the partner's confirmation has no hmac header",
            )
        })?;
        verify(&self.key, &call.request.body, mac, &self.profile).map_err(|e| {
            e406(
                Code::ServerConfirmationBadMac,
                format!("partner confirmation: {}", e.message()),
            )
        })
    }

    /// The error to answer when the confirmation did not arrive before
    /// [`ConfirmationCall::deadline_ms`].
    pub fn confirmation_timed_out(&self, call: &ConfirmationCall) -> Error {
        e406(
            Code::ServerConfirmationTimeout,
            format!(
                "the partner's confirmation did not answer within {} ms",
                call.deadline_ms
            ),
        )
    }
}
