//! Faults a simulator can be told to produce, from Rust, from the control
//! endpoint (`POST {any path}/_control/fault` with one fault object or an
//! array of them) or from the CLI (`--fault expire-key`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One fault. JSON form: `{"fault": "expire-key"}`,
/// `{"fault": "latency", "ms": 250, "count": 2}`, `{"fault": "drop"}`, …
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// Safra: forget the session's AES key at the next non-handshake call and
    /// answer 500 + `amc-criptografia: erro`.
    ExpireKey,
    /// Safra: answer the next non-handshake call with 480 (token limit).
    #[serde(rename = "answer-480")]
    Answer480,
    /// Safra: answer the next non-handshake call with 550 and a
    /// `statusProcessamento`.
    #[serde(rename = "answer-550")]
    Answer550,
    /// Any simulator: wait `ms` before handling each of the next `count`
    /// requests (every request when `count` is absent; `ms` = 0 clears).
    Latency {
        /// Added delay in milliseconds.
        ms: u64,
        /// How many requests; `None` = until cleared.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u32>,
    },
    /// Any simulator: handle each of the next `count` requests, then close
    /// the connection without answering (the reply is lost, the effect is
    /// not).
    Drop {
        /// How many replies to drop (default 1).
        #[serde(default = "one")]
        count: u32,
    },
    /// BMP: the next confirmation call to the partner times out.
    ConfirmationTimeout,
    /// Safra: the next psd050 is processed (the boleto is stored), then
    /// answered 502, as a gateway in front of the bank that timed out.
    #[serde(rename = "store-then-502")]
    StoreThen502,
    /// Safra: the next psd050 is processed (stored), then the connection
    /// closes without a reply.
    StoreThenDrop,
    /// Safra: the next request to `service` (any non-handshake service when
    /// absent) is not processed and gets no reply for `ms` (default 30 s),
    /// then the connection closes: the client times out first.
    Stall {
        /// How long to hold the connection, ms.
        #[serde(default = "stall_ms")]
        ms: u64,
        /// `psd001` … `psd052`; `None` = any but psd001.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    /// Safra: the next request to `service` (any non-handshake service when
    /// absent) is not processed and is answered a plain 500 (no
    /// `amc-criptografia`).
    #[serde(rename = "500-plain")]
    Plain500 {
        /// `psd001` … `psd052`; `None` = any but psd001.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
}

fn stall_ms() -> u64 {
    30_000
}

fn one() -> u32 {
    1
}

impl Fault {
    /// The CLI/JSON name of the fault.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::ExpireKey => "expire-key",
            Fault::Answer480 => "answer-480",
            Fault::Answer550 => "answer-550",
            Fault::Latency { .. } => "latency",
            Fault::Drop { .. } => "drop",
            Fault::ConfirmationTimeout => "confirmation-timeout",
            Fault::StoreThen502 => "store-then-502",
            Fault::StoreThenDrop => "store-then-drop",
            Fault::Stall { .. } => "stall",
            Fault::Plain500 { .. } => "500-plain",
        }
    }

    /// Parses a control-endpoint body: one fault object or an array.
    pub fn parse_json_list(body: &[u8]) -> Result<Vec<Fault>, String> {
        let v: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
        let items = match v {
            serde_json::Value::Array(items) => items,
            other => vec![other],
        };
        items
            .into_iter()
            .map(|item| {
                serde_json::from_value::<Fault>(item).map_err(|e| format!("not a fault: {e}"))
            })
            .collect()
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Latency { ms, count: None } => write!(f, "latency={ms}"),
            Fault::Latency { ms, count: Some(c) } => write!(f, "latency={ms}x{c}"),
            Fault::Drop { count } => write!(f, "drop={count}"),
            Fault::Stall { ms, service: None } => write!(f, "stall={ms}"),
            Fault::Stall {
                ms,
                service: Some(s),
            } => write!(f, "stall={ms}@{s}"),
            Fault::Plain500 { service: Some(s) } => write!(f, "500-plain@{s}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    /// CLI form: `expire-key`, `answer-480`, `answer-550`,
    /// `confirmation-timeout`, `drop`, `drop=N`, `latency=MS`, `latency=MSxN`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, arg) = match s.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (s.trim(), None),
        };
        let num = |t: &str, what: &str| {
            t.parse::<u64>()
                .map_err(|_| format!("fault {name}: {what} must be a whole number, found {t:?}"))
        };
        if let Some(rest) = s.trim().strip_prefix("500-plain") {
            return match rest.strip_prefix('@') {
                None if rest.is_empty() => Ok(Fault::Plain500 { service: None }),
                Some(svc) => Ok(Fault::Plain500 {
                    service: Some(svc.to_string()),
                }),
                _ => Err(format!(
                    "fault {s:?}: expected 500-plain or 500-plain@SERVICE"
                )),
            };
        }
        match (name, arg) {
            ("expire-key", None) => Ok(Fault::ExpireKey),
            ("store-then-502", None) => Ok(Fault::StoreThen502),
            ("store-then-drop", None) => Ok(Fault::StoreThenDrop),
            ("stall", None) => Ok(Fault::Stall {
                ms: stall_ms(),
                service: None,
            }),
            ("stall", Some(a)) => {
                let (ms, service) = match a.split_once('@') {
                    Some((ms, svc)) => (num(ms, "ms")?, Some(svc.to_string())),
                    None => (num(a, "ms")?, None),
                };
                Ok(Fault::Stall { ms, service })
            }
            ("answer-480" | "480", None) => Ok(Fault::Answer480),
            ("answer-550" | "550", None) => Ok(Fault::Answer550),
            ("confirmation-timeout", None) => Ok(Fault::ConfirmationTimeout),
            ("drop", None) => Ok(Fault::Drop { count: 1 }),
            ("drop", Some(n)) => Ok(Fault::Drop {
                count: u32::try_from(num(n, "count")?).map_err(|e| e.to_string())?,
            }),
            ("latency", Some(a)) => {
                let (ms, count) = match a.split_once('x') {
                    Some((ms, c)) => (
                        num(ms, "ms")?,
                        Some(u32::try_from(num(c, "count")?).map_err(|e| e.to_string())?),
                    ),
                    None => (num(a, "ms")?, None),
                };
                Ok(Fault::Latency { ms, count })
            }
            _ => Err(format!(
                "unknown fault {s:?}: expected expire-key, answer-480, answer-550, \
                 confirmation-timeout, drop[=N], latency=MS[xN], store-then-502, \
                 store-then-drop, stall[=MS[@SERVICE]] or 500-plain[@SERVICE]"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_and_json_forms_agree() {
        for (cli, json) in [
            ("expire-key", r#"{"fault":"expire-key"}"#),
            ("answer-480", r#"{"fault":"answer-480"}"#),
            ("answer-550", r#"{"fault":"answer-550"}"#),
            ("drop", r#"{"fault":"drop"}"#),
            ("drop=3", r#"{"fault":"drop","count":3}"#),
            ("latency=250", r#"{"fault":"latency","ms":250}"#),
            ("latency=250x2", r#"{"fault":"latency","ms":250,"count":2}"#),
            (
                "confirmation-timeout",
                r#"{"fault":"confirmation-timeout"}"#,
            ),
            ("store-then-502", r#"{"fault":"store-then-502"}"#),
            ("store-then-drop", r#"{"fault":"store-then-drop"}"#),
            ("stall=250", r#"{"fault":"stall","ms":250}"#),
            (
                "stall=250@psd050",
                r#"{"fault":"stall","ms":250,"service":"psd050"}"#,
            ),
            ("500-plain", r#"{"fault":"500-plain"}"#),
            (
                "500-plain@psd001",
                r#"{"fault":"500-plain","service":"psd001"}"#,
            ),
        ] {
            let a: Fault = cli.parse().unwrap();
            let b = Fault::parse_json_list(json.as_bytes()).unwrap();
            assert_eq!(vec![a.clone()], b, "{cli}");
            assert_eq!(a.to_string().parse::<Fault>().unwrap(), a);
        }
        assert!("latency".parse::<Fault>().is_err());
        assert!("explode".parse::<Fault>().is_err());
        assert!(Fault::parse_json_list(br#"{"fault":"explode"}"#).is_err());
        assert!(Fault::parse_json_list(br#"{"fault":"drop","extra":1}"#).is_err());
        assert_eq!(
            Fault::parse_json_list(br#"[{"fault":"drop"},{"fault":"answer-480"}]"#)
                .unwrap()
                .len(),
            2
        );
    }
}
