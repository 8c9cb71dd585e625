//! Money: exact amounts in cents, written as JSON numbers with exactly two
//! fraction digits (SPEC §4.1), and exact decimal equality of JSON numbers
//! (SPEC §4.5: `100.0` equals `100.00`). No binary floating point anywhere.

use super::{Code, Error};
use serde::{Deserialize, Serialize};

/// How amounts are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MoneyFormat {
    /// Exactly two fraction digits: `1345.00`, `0.50`, `100.10` (SPEC §4.1).
    #[default]
    TwoDigits,
    /// Trailing fraction zeros dropped, one digit kept: `100.0`, `100.1`,
    /// `100.15` — how BMP's .NET stack may write a decimal it re-serialises.
    /// For simulators; never what a partner signs by default.
    Dotnet,
}

/// A non-negative amount of money, held exactly as integer cents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    cents: u64,
}

fn money_err(code: Code, msg: impl Into<String>) -> Error {
    Error::new(code, msg)
}

impl Money {
    /// An amount of `cents` cents (`134583` → `1345.83`).
    pub const fn from_cents(cents: u64) -> Money {
        Money { cents }
    }

    /// An amount from signed cents; negative amounts are refused
    /// (`bmp.money.negative`).
    pub fn from_cents_signed(cents: i64) -> Result<Money, Error> {
        u64::try_from(cents).map(Money::from_cents).map_err(|_| {
            money_err(
                Code::MoneyNegative,
                format!("amounts are never negative; found {cents} cents"),
            )
        })
    }

    /// The amount in cents.
    pub const fn cents(self) -> u64 {
        self.cents
    }

    /// Parses a decimal text: digits, optionally `.` and one or two fraction
    /// digits (`"1345.8"`, `"100"`, `"0.50"`). A leading `-` is
    /// `bmp.money.negative`; a third fraction digit is `bmp.money.precision`
    /// (never rounded); exponents, `+`, commas, spaces and anything else are
    /// `bmp.money.syntax`; more than `u64::MAX` cents is `bmp.money.range`.
    pub fn parse(s: &str) -> Result<Money, Error> {
        let syntax = || {
            money_err(
                Code::MoneySyntax,
                format!(
                    "an amount is digits with an optional '.' and up to two fraction digits; found {:?}",
                    truncate(s)
                ),
            )
        };
        if let Some(rest) = s.strip_prefix('-') {
            let amount_like =
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            return Err(if amount_like {
                money_err(
                    Code::MoneyNegative,
                    format!("amounts are never negative; found {:?}", truncate(s)),
                )
            } else {
                syntax()
            });
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return Err(syntax());
        }
        let frac = frac.unwrap_or("");
        if frac.len() > 2 {
            return Err(money_err(
                Code::MoneyPrecision,
                format!(
                    "amounts have at most two fraction digits and are never rounded; found {} in {:?}",
                    frac.len(),
                    truncate(s)
                ),
            ));
        }
        let range = || {
            money_err(
                Code::MoneyRange,
                format!("amount {:?} is too large", truncate(s)),
            )
        };
        let mut cents: u64 = 0;
        let padded = format!("{frac:0<2}");
        for b in int.bytes().chain(padded.bytes()) {
            cents = cents
                .checked_mul(10)
                .and_then(|c| c.checked_add(u64::from(b - b'0')))
                .ok_or_else(range)?;
        }
        Ok(Money { cents })
    }

    /// The JSON number text with exactly two fraction digits (`1345.00`).
    pub fn to_json_text(self) -> String {
        self.format(MoneyFormat::TwoDigits)
    }

    /// The JSON number text in the given format.
    pub fn format(self, format: MoneyFormat) -> String {
        let int = self.cents / 100;
        let frac = self.cents % 100;
        match format {
            MoneyFormat::TwoDigits => format!("{int}.{frac:02}"),
            MoneyFormat::Dotnet if frac.is_multiple_of(10) => format!("{int}.{}", frac / 10),
            MoneyFormat::Dotnet => format!("{int}.{frac:02}"),
        }
    }
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_json_text())
    }
}

impl std::str::FromStr for Money {
    type Err = Error;
    fn from_str(s: &str) -> Result<Money, Error> {
        Money::parse(s)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// A JSON number as sign, significant digits and exponent, so that equal
/// values compare equal whatever their text (`100.0`, `100.00`, `1e2`).
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    /// Significant digits without leading or trailing zeros ("" for zero).
    digits: String,
    /// Value = 0.digits × 10^exp (i128 so no text can overflow it).
    exp: i128,
}

fn decimal(text: &str) -> Option<Decimal> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp_text) = match rest.find(['e', 'E']) {
        Some(i) => (rest.get(..i)?, rest.get(i + 1..)),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut exp: i128 = match exp_text {
        None => 0,
        Some(e) => {
            let (neg, ds) = match e.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, e.strip_prefix('+').unwrap_or(e)),
            };
            if ds.is_empty() || !ds.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Saturate: exponents this large only compare equal textually.
            let v = ds
                .bytes()
                .fold(0i128, |acc, b| {
                    acc.saturating_mul(10).saturating_add(i128::from(b - b'0'))
                })
                .min(i128::from(i64::MAX));
            if neg { -v } else { v }
        }
    };
    let all = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all
        .trim_start_matches('0')
        .trim_end_matches('0')
        .to_string();
    exp += i128::try_from(int.len()).ok()? - i128::try_from(lead).ok()?;
    if digits.is_empty() {
        return Some(Decimal {
            negative: false,
            digits,
            exp: 0,
        });
    }
    Some(Decimal {
        negative,
        digits,
        exp,
    })
}

/// True when two JSON number texts have the same decimal value
/// (`"100.0"` and `"100.00"`, `"1e2"` and `"100"`, `"-0"` and `"0.0"`).
/// Unparseable texts are equal only to themselves.
pub fn decimal_eq(a: &str, b: &str) -> bool {
    match (decimal(a), decimal(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
