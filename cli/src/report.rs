//! Steps and their HTTP exchanges, printed as they finish (human mode) or
//! gathered into one JSON document (`--json`).

use crate::error::CliError;
use crate::output::{cut, out};

/// One HTTP round trip inside a step.
#[derive(Clone, Debug, Default)]
pub struct Exchange {
    /// Method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Status, `None` when the transport failed.
    pub status: Option<u16>,
    /// Round-trip time.
    pub ms: u64,
    /// Abridged request body.
    pub sent: serde_json::Value,
    /// Abridged plaintext of a sealed request body, when there was one.
    pub sent_opened: Option<serde_json::Value>,
    /// Abridged response body.
    pub received: serde_json::Value,
    /// Abridged plaintext of a sealed response body.
    pub received_opened: Option<serde_json::Value>,
    /// What the exchange led to (`continue`, `rehandshake: …`, `done`, an error).
    pub outcome: String,
}

impl Exchange {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "ms": self.ms,
            "sent": self.sent,
            "sent_opened": self.sent_opened,
            "received": self.received,
            "received_opened": self.received_opened,
            "outcome": self.outcome,
        })
    }
}

/// One step of a flow.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// Protocol family (`safra`, `bmp`, `ofb`).
    pub protocol: String,
    /// Step name (`handshake`, `authenticate`, …).
    pub name: String,
    /// Wall time of the whole step.
    pub ms: u64,
    /// One-line summary of the result.
    pub summary: String,
    /// The HTTP round trips, in order.
    pub exchanges: Vec<Exchange>,
    /// Recoveries the step went through (re-handshake, re-authentication…).
    pub recoveries: Vec<String>,
    /// Structured result.
    pub detail: serde_json::Value,
    /// Why the step failed; `None` = success.
    pub error: Option<CliError>,
}

impl Step {
    pub fn new(protocol: &str, name: &str) -> Self {
        Self {
            protocol: protocol.into(),
            name: name.into(),
            detail: serde_json::Value::Null,
            ..Self::default()
        }
    }

    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "protocol": self.protocol,
            "name": self.name,
            "ok": self.ok(),
            "ms": self.ms,
            "summary": self.summary,
            "recoveries": self.recoveries,
            "detail": self.detail,
            "exchanges": self.exchanges.iter().map(Exchange::to_json).collect::<Vec<_>>(),
            "error": self.error.as_ref().map(CliError::to_json),
        })
    }
}

fn path_of(url: &str) -> &str {
    url.split_once("://")
        .and_then(|(_, rest)| rest.find('/').and_then(|i| rest.get(i..)))
        .unwrap_or(url)
}

fn compact(v: &serde_json::Value) -> String {
    cut(&v.to_string(), 160)
}

/// Prints steps as they finish, or gathers them for `--json`.
#[derive(Debug)]
pub struct Reporter {
    json: bool,
    steps: Vec<Step>,
    notes: Vec<String>,
}

impl Reporter {
    pub fn new(json: bool) -> Self {
        Self {
            json,
            steps: vec![],
            notes: vec![],
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    /// A context line (which server, which profile).
    pub fn note(&mut self, line: impl Into<String>) {
        let line = line.into();
        if !self.json {
            out(&line);
        }
        self.notes.push(line);
    }

    /// Records a finished step (and prints it in human mode).
    pub fn step(&mut self, step: Step) -> bool {
        let ok = step.ok();
        if !self.json {
            print_step(&step);
        }
        self.steps.push(step);
        ok
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn all_ok(&self) -> bool {
        self.steps.iter().all(Step::ok)
    }

    /// The final line or document. `error` is a failure outside any step.
    pub fn finish(&self, command: &str, total_ms: u64, error: Option<&CliError>) {
        let ok = self.all_ok() && error.is_none();
        if self.json {
            crate::output::out_json(&serde_json::json!({
                "command": command,
                "ok": ok,
                "total_ms": total_ms,
                "notes": self.notes,
                "steps": self.steps.iter().map(Step::to_json).collect::<Vec<_>>(),
                "error": error.map(CliError::to_json),
            }));
        } else {
            let failed = self.steps.iter().filter(|s| !s.ok()).count();
            if ok {
                out(&format!("ok: {} steps in {total_ms} ms", self.steps.len()));
            } else {
                out(&format!(
                    "FAILED: {failed} of {} steps failed ({total_ms} ms)",
                    self.steps.len()
                ));
            }
        }
    }
}

fn print_step(s: &Step) {
    let mark = if s.ok() { "[ok]  " } else { "[FAIL]" };
    out(&format!(
        "{mark} {:<6} {:<14} {:>6} ms  {}",
        s.protocol, s.name, s.ms, s.summary
    ));
    for x in &s.exchanges {
        let path = path_of(&x.url);
        match &x.sent_opened {
            Some(open) => out(&format!(
                "         → {} {path} sealed {}",
                x.method,
                compact(open)
            )),
            None => out(&format!(
                "         → {} {path} {}",
                x.method,
                compact(&x.sent)
            )),
        }
        let status = x
            .status
            .map_or_else(|| "no reply".to_string(), |s| s.to_string());
        let body = match &x.received_opened {
            Some(open) => format!("sealed {}", compact(open)),
            None => compact(&x.received),
        };
        out(&format!("         ← {status} {} ms {body}", x.ms));
        if x.outcome != "continue" && x.outcome != "done" {
            out(&format!("           ↻ {}", x.outcome));
        }
    }
    if let Some(e) = &s.error {
        out(&format!("         {e}"));
    }
}
