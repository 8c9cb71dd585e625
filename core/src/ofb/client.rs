//! The client role's reading of a reply (SPEC §3.3a): a signed JWS to
//! verify, or a typed error — a client never hands back an unsigned body as
//! if it were verified. Every OFB client (Node, Python, Java, C#) asks this.

use super::{Code, Error, MEDIA_TYPE};

/// What a reply's body is, for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyBody<'a> {
    /// A compact JWS: verify it (with the response profile) before use.
    Jws(&'a str),
    /// A non-2xx reply without a JWS, accepted only because the caller
    /// opted in: hand it back marked unverified.
    Unverified,
}

/// Reads a reply: `status`, its `content-type` and `body`. A body is a JWS
/// when the media type is `application/jwt` or the body has the compact
/// form (three base64url parts). A 2xx without one is
/// [`Code::ClientUnsigned`]; a non-2xx without one is
/// [`Code::ClientHttpStatus`] unless `allow_unsigned_errors`.
pub fn read_reply<'a>(
    status: u16,
    content_type: Option<&str>,
    body: &'a [u8],
    allow_unsigned_errors: bool,
) -> Result<ReplyBody<'a>, Error> {
    let text = std::str::from_utf8(body)
        .ok()
        .map(|t| t.trim_matches(|c: char| c.is_ascii_whitespace()));
    let media_jwt = content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case(MEDIA_TYPE))
    });
    if let Some(t) = text
        && (media_jwt || is_compact_shape(t))
    {
        return Ok(ReplyBody::Jws(t));
    }
    let shown = excerpt(body);
    if (200..300).contains(&status) {
        return Err(Error::new(
            Code::ClientUnsigned,
            format!(
                "HTTP {status} with content-type {:?} and a body that is not a signed JWS ({shown}): refused, never passed off as verified",
                content_type.unwrap_or("(none)")
            ),
        ));
    }
    if allow_unsigned_errors {
        return Ok(ReplyBody::Unverified);
    }
    Err(Error::new(
        Code::ClientHttpStatus,
        format!("HTTP {status} with a body that is not a signed JWS ({shown})"),
    ))
}

fn is_compact_shape(t: &str) -> bool {
    let b64 = |p: &str| {
        p.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    };
    let mut parts = t.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !s.is_empty() && b64(h) && b64(p) && b64(s)
    )
}

/// The first 200 characters of a body, as a JSON string literal (control
/// characters escaped), or its size when it is not text.
fn excerpt(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(t) => {
            let cut: String = t.chars().take(200).collect();
            let more = if cut.len() < t.len() { "…" } else { "" };
            format!("{}{more}", serde_json::Value::String(cut))
        }
        Err(_) => format!("{} bytes, not UTF-8", body.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2xx_must_be_a_jws() {
        let jws = b"eyJhbGciOiJQUzI1NiJ9.e30.c2ln";
        assert_eq!(
            read_reply(200, None, jws, false),
            Ok(ReplyBody::Jws("eyJhbGciOiJQUzI1NiJ9.e30.c2ln"))
        );
        assert!(matches!(
            read_reply(201, Some("application/jwt; charset=utf-8"), b"x", false),
            Ok(ReplyBody::Jws("x"))
        ));
        let e = read_reply(200, Some("application/json"), br#"{"data":{}}"#, true).unwrap_err();
        assert_eq!(e.code(), "ofb.client.unsigned");
        let e = read_reply(204, None, b"", false).unwrap_err();
        assert_eq!(e.code(), "ofb.client.unsigned");
    }

    #[test]
    fn an_unsigned_error_is_returned_only_on_request() {
        let body = br#"{"errors":[{"code":"X"}]}"#;
        assert_eq!(
            read_reply(422, Some("application/json"), body, false)
                .unwrap_err()
                .code(),
            "ofb.client.http_status"
        );
        assert_eq!(
            read_reply(422, Some("application/json"), body, true),
            Ok(ReplyBody::Unverified)
        );
        let e = read_reply(500, None, "\u{0}<html>".as_bytes(), false).unwrap_err();
        assert!(e.message().contains("\\u0000<html>"), "{}", e.message());
    }
}
