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
        match (name, arg) {
            ("expire-key", None) => Ok(Fault::ExpireKey),
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
                 confirmation-timeout, drop[=N] or latency=MS[xN]"
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
