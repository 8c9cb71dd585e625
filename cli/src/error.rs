//! The CLI's error: a stable dotted code (the core's codes pass through
//! unchanged), a message, and the exit status it maps to.
//!
//! A small typed error rather than `anyhow`: every failure must carry a
//! stable code and an exit status, which `anyhow` would make implicit.

use std::fmt;

/// Process exit statuses (documented in `cli/README.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// A protocol step failed: the server refused, a check failed, a
    /// business error (550), a bad signature.
    Step = 1,
    /// Bad usage: arguments, or input files whose content is invalid
    /// (profile, boleto, key).
    Usage = 2,
    /// I/O: a file could not be read or written, the network failed, a
    /// port could not be bound.
    Io = 3,
}

/// A failure with a stable code.
#[derive(Clone, Debug)]
pub struct CliError {
    /// Stable dotted code (`safra.bank.business`, `cli.io.read`, …).
    pub code: String,
    /// Human message.
    pub message: String,
    /// Exit status.
    pub exit: Exit,
    /// Already printed as part of a report: exit without printing again.
    pub reported: bool,
}

impl CliError {
    pub fn new(exit: Exit, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            exit,
            reported: false,
        }
    }

    /// Marks the error as printed already.
    pub fn reported(mut self) -> Self {
        self.reported = true;
        self
    }

    pub fn step(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Exit::Step, code, message)
    }

    pub fn usage(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, code, message)
    }

    pub fn io(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Exit::Io, code, message)
    }

    /// A core error met while running a protocol step.
    pub fn from_core(code: &str, message: &str) -> Self {
        Self::step(code, message)
    }

    /// A core error met while reading user input (a profile, a key, a boleto).
    pub fn input(what: &str, code: &str, message: &str) -> Self {
        Self::usage(code, format!("{what}: {message}"))
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"code": self.code, "message": self.message, "exit": self.exit as i32})
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: {}", self.code, self.message)
    }
}

impl From<selo::safra::Error> for CliError {
    fn from(e: selo::safra::Error) -> Self {
        Self::from_core(e.code(), e.message())
    }
}

/// Reads a file, mapping failure to `cli.io.read` (exit 3).
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| {
        CliError::io(
            "cli.io.read",
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

/// Reads a UTF-8 text file.
pub fn read_text(path: &std::path::Path) -> Result<String, CliError> {
    let bytes = read_file(path)?;
    String::from_utf8(bytes).map_err(|_| {
        CliError::usage(
            "cli.input.not_utf8",
            format!("{} is not UTF-8 text", path.display()),
        )
    })
}
