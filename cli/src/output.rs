//! Printing: human step lines or one JSON document, abridged bodies.

use std::io::Write;

/// Writes a line to stdout and flushes; a closed pipe is ignored.
pub fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(line.as_bytes());
    let _ = o.write_all(b"\n");
    let _ = o.flush();
}

/// Writes raw bytes to stdout.
pub fn out_bytes(bytes: &[u8]) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(bytes);
    let _ = o.flush();
}

/// Writes a line to stderr.
pub fn err(line: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(line.as_bytes());
    let _ = e.write_all(b"\n");
    let _ = e.flush();
}

/// Pretty JSON to stdout.
pub fn out_json(v: &serde_json::Value) {
    out(&serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()));
}

/// Longest string kept whole in abridged JSON.
const MAX_STR: usize = 40;

/// Cuts a string to `max` characters, saying how long it was.
pub fn cut(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{head}…({n} chars)")
    }
}

/// A copy of `v` whose long strings are cut (tokens, keys, envelopes).
pub fn abridge(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(cut(s, MAX_STR)),
        Value::Array(items) => Value::Array(items.iter().map(abridge).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), abridge(v))).collect()),
        other => other.clone(),
    }
}

/// An abridged view of body bytes: JSON abridged, anything else cut text.
pub fn abridge_body(body: &[u8]) -> serde_json::Value {
    if body.is_empty() {
        return serde_json::Value::Null;
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => abridge(&v),
        Err(_) => serde_json::Value::String(cut(&String::from_utf8_lossy(body), 120)),
    }
}

/// Milliseconds since `t`.
pub fn ms_since(t: std::time::Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}
