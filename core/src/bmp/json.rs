//! A small JSON tree that keeps what `serde_json::Value` would lose: the
//! exact text of every number, the member order, and typed money. Strict
//! RFC 8259 parser (UTF-8, no BOM, no comments, no trailing commas,
//! duplicate member names refused in O(1) each, at most [`MAX_MEMBERS`]
//! members per object, nesting at most [`MAX_DEPTH`]) and a
//! minified writer (SPEC §4.1).

use super::money::{Money, MoneyFormat};

/// Deepest nesting the parser accepts (keeps hostile input off the stack).
pub const MAX_DEPTH: usize = 64;

/// Most members one object may have (the seed's bodies have a few dozen);
/// duplicate detection is a hash-set lookup per member, so parsing stays
/// linear in the input either way.
pub const MAX_MEMBERS: usize = 10_000;

/// A JSON value as selo builds and reads BMP bodies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JsonValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, kept as its exact JSON text.
    Number(String),
    /// An amount, written per [`MoneyFormat`] (two fraction digits by default).
    Money(Money),
    /// A string (unescaped).
    String(String),
    /// An array.
    Array(Vec<JsonValue>),
    /// An object, members in order.
    Object(Vec<(String, JsonValue)>),
}

impl JsonValue {
    /// The member `name` of an object (first match), if any.
    pub fn get(&self, name: &str) -> Option<&JsonValue> {
        match self {
            JsonValue::Object(m) => m.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsonValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Minified JSON bytes with amounts in `format`.
    pub fn to_bytes(&self, format: MoneyFormat) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out, format);
        out
    }

    fn write(&self, out: &mut Vec<u8>, format: MoneyFormat) {
        match self {
            JsonValue::Null => out.extend_from_slice(b"null"),
            JsonValue::Bool(true) => out.extend_from_slice(b"true"),
            JsonValue::Bool(false) => out.extend_from_slice(b"false"),
            JsonValue::Number(t) => out.extend_from_slice(t.as_bytes()),
            JsonValue::Money(m) => out.extend_from_slice(m.format(format).as_bytes()),
            JsonValue::String(s) => write_string(out, s),
            JsonValue::Array(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write(out, format);
                }
                out.push(b']');
            }
            JsonValue::Object(members) => {
                out.push(b'{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(out, k);
                    out.push(b':');
                    v.write(out, format);
                }
                out.push(b'}');
            }
        }
    }
}

/// Writes a JSON string: `"` and `\` escaped, control characters as the
/// short escapes where JSON has one (`\b \f \n \r \t`) and `\u00XX`
/// otherwise; everything else, non-ASCII included, as raw UTF-8.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Why a JSON text was refused (callers turn it into their area's code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset where the problem was found.
    pub offset: usize,
    /// What was expected and found.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

/// Parses one JSON text (surrounding whitespace allowed, nothing else).
pub fn parse(bytes: &[u8]) -> Result<JsonValue, ParseError> {
    let mut p = Parser { b: bytes, i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != bytes.len() {
        return Err(p.err("end of the JSON text"));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn err(&self, expected: &str) -> ParseError {
        let found = match self.peek() {
            None => "the end of the input".to_string(),
            Some(c) if c.is_ascii_graphic() => format!("'{}'", char::from(c)),
            Some(c) => format!("byte 0x{c:02x}"),
        };
        ParseError {
            offset: self.i,
            message: format!("expected {expected}, found {found}"),
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn lit(&mut self, word: &[u8], v: JsonValue) -> Result<JsonValue, ParseError> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("a JSON value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsonValue, ParseError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(JsonValue::String),
            Some(b't') => self.lit(b"true", JsonValue::Bool(true)),
            Some(b'f') => self.lit(b"false", JsonValue::Bool(false)),
            Some(b'n') => self.lit(b"null", JsonValue::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("a JSON value")),
        }
    }

    fn deep(&self, depth: usize) -> Result<(), ParseError> {
        if depth > MAX_DEPTH {
            Err(ParseError {
                offset: self.i,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            })
        } else {
            Ok(())
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsonValue, ParseError> {
        self.deep(depth)?;
        self.i += 1;
        let mut members: Vec<(String, JsonValue)> = Vec::new();
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(JsonValue::Object(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("a member name"));
            }
            let at = self.i;
            let k = self.string()?;
            if members.len() >= MAX_MEMBERS {
                return Err(ParseError {
                    offset: at,
                    message: format!("an object with more than {MAX_MEMBERS} members"),
                });
            }
            if !seen.insert(k.clone()) {
                return Err(ParseError {
                    offset: at,
                    message: format!("duplicate member name {k:?}"),
                });
            }
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err("':'"));
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth)?;
            members.push((k, v));
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(JsonValue::Object(members));
                }
                _ => return Err(self.err("',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsonValue, ParseError> {
        self.deep(depth)?;
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(JsonValue::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(JsonValue::Array(items));
                }
                _ => return Err(self.err("',' or ']'")),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<JsonValue, ParseError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(self.err("no leading zero"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err("a fraction digit"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("an exponent digit"));
            }
        }
        let text = self
            .b
            .get(start..self.i)
            .and_then(|t| std::str::from_utf8(t).ok())
            .unwrap_or("0");
        Ok(JsonValue::Number(text.to_string()))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("a hex digit")),
            };
            v = v * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the longest run of plain bytes at once (validated as UTF-8).
            let start = self.i;
            while matches!(self.peek(), Some(c) if c != b'"' && c != b'\\' && c >= 0x20) {
                self.i += 1;
            }
            let run = self.b.get(start..self.i).unwrap_or(&[]);
            match std::str::from_utf8(run) {
                Ok(s) => out.push_str(s),
                Err(e) => {
                    return Err(ParseError {
                        offset: start + e.valid_up_to(),
                        message: "invalid UTF-8 in a string".into(),
                    });
                }
            }
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{08}',
                        Some(b'f') => '\u{0c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err(self.err("a low surrogate escape"));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("a low surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            match char::from_u32(cp) {
                                Some(c) => {
                                    out.push(c);
                                    continue;
                                }
                                None => return Err(self.err("no lone surrogate")),
                            }
                        }
                        _ => return Err(self.err("an escape character")),
                    };
                    self.i += 1;
                    out.push(c);
                }
                _ => return Err(self.err("'\"' or a character allowed in a string")),
            }
        }
    }
}
