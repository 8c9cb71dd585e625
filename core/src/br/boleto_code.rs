//! Boleto codes: the 44-digit barcode and its typed form (linha digitável).
//!
//! Two families share the 44-digit barcode:
//!
//! - **Bank boletos** (first digit not `8`): bank (3), currency (1), general
//!   check digit (1, modulo 11), due-date factor (4), amount in cents (10),
//!   free field (25). The linha digitável has 47 digits in five fields; the
//!   first three end with a modulo-10 check digit, the fourth is the general
//!   check digit and the fifth is factor + amount.
//! - **Arrecadação / convênio** (first digit `8`): product (1), segment (1),
//!   value identifier (1), general check digit (1), value (11), company and
//!   free field (29). The value identifier picks the check-digit rule: 6 or
//!   7 → modulo 10, 8 or 9 → modulo 11 (6 and 8 mean the value is an amount in
//!   cents, 7 and 9 a reference quantity). The linha digitável has 48 digits:
//!   four blocks of 11 digits, each followed by its check digit.
//!
//! Formatted input (`02168.44043 89640.909332 …`) is accepted: spaces, dots
//! and hyphens are removed before the digits are checked.

use super::{Code, Error};

/// A calendar date (proleptic Gregorian), as used for boleto due dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year (e.g. 2025).
    pub year: i32,
    /// Month 1..=12.
    pub month: u8,
    /// Day 1..=31.
    pub day: u8,
}

impl Date {
    /// A date when it exists in the calendar.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        let d = Date { year, month, day };
        if (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month) {
            Some(d)
        } else {
            None
        }
    }

    /// Parses `yyyy-MM-dd`; `None` for any other text or an impossible date.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let y = i32::try_from(num(0..4)?).ok()?;
        let m = u8::try_from(num(5..7)?).ok()?;
        let d = u8::try_from(num(8..10)?).ok()?;
        Date::new(y, m, d)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn to_days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01 (`None` far outside ±5 million years).
    pub fn from_days(days: i64) -> Option<Date> {
        if days.abs() > 2_000_000_000 {
            return None;
        }
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Some(Date {
            year: i32::try_from(y).ok()?,
            month: u8::try_from(m).ok()?,
            day: u8::try_from(d).ok()?,
        })
    }

    /// This date moved by `days`.
    pub fn add_days(self, days: i64) -> Option<Date> {
        Date::from_days(self.to_days().checked_add(days)?)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Factor 0 is 1997-10-07; factors run 1000..=9999 and then restart at 1000
/// (which fell on 2025-02-22), so one factor names a date every 9000 days.
const FACTOR_BASE_DAYS: i64 = 10_141; // 1997-10-07 as days since 1970-01-01
const FACTOR_CYCLE: i64 = 9000;

/// The first two dates a due-date factor can name: the original cycle
/// (1000 = 2000-07-03, 9999 = 2025-02-21) and the one after the 2025
/// rollover (1000 = 2025-02-22). `None` for factor 0 (no due date) and for
/// factors outside 1000..=9999.
pub fn due_date_candidates(factor: u16) -> Option<[Date; 2]> {
    if !(1000..=9999).contains(&factor) {
        return None;
    }
    let first = FACTOR_BASE_DAYS + i64::from(factor);
    Some([
        Date::from_days(first)?,
        Date::from_days(first + FACTOR_CYCLE)?,
    ])
}

/// The due date a factor names, resolving the 9000-day rollover by taking
/// the cycle whose date lies nearest to `reference` (the caller's "today";
/// selo has no clock). `None` for factor 0 or outside 1000..=9999.
pub fn due_date_for_factor(factor: u16, reference: Date) -> Option<Date> {
    if !(1000..=9999).contains(&factor) {
        return None;
    }
    let first = FACTOR_BASE_DAYS + i64::from(factor);
    let r = reference.to_days();
    // Cycle index whose date is nearest to the reference (never before the first cycle).
    let k = (r - first + FACTOR_CYCLE / 2)
        .div_euclid(FACTOR_CYCLE)
        .max(0);
    Date::from_days(first + k * FACTOR_CYCLE)
}

/// Which family a code belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoletoKind {
    /// A bank boleto (barcode not starting with `8`).
    Bank {
        /// Bank code (3 digits).
        bank: String,
        /// Currency code (`9` = real).
        currency: u8,
        /// Due-date factor (0 = no due date); see [`due_date_for_factor`].
        due_date_factor: u16,
    },
    /// An arrecadação/convênio slip (barcode starting with `8`).
    Arrecadacao {
        /// Segment (digit 2).
        segment: u8,
        /// Value identifier (digit 3): 6/7 modulo 10, 8/9 modulo 11.
        value_id: u8,
    },
}

/// A checked boleto code in both forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Boleto {
    /// Bank or arrecadação, with the fields specific to each.
    pub kind: BoletoKind,
    /// The 44-digit barcode.
    pub barcode: String,
    /// The linha digitável (47 digits for bank boletos, 48 for arrecadação).
    pub linha_digitavel: String,
    /// The amount in cents; `None` when an arrecadação code carries a
    /// reference quantity instead of an amount (value identifier 7 or 9).
    pub amount_cents: Option<u64>,
}

fn digits_of(s: &str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(48);
    for c in s.chars() {
        match c {
            '0'..='9' => out.push(c as u8 - b'0'),
            ' ' | '.' | '-' => {}
            other => {
                return Err(Error::new(
                    Code::BoletoFormat,
                    format!("boleto codes contain digits only; found {other:?}"),
                ));
            }
        }
        if out.len() > 48 {
            break;
        }
    }
    Ok(out)
}

fn text(d: &[u8]) -> String {
    d.iter().map(|x| char::from(b'0' + x)).collect()
}

fn num(d: &[u8]) -> u64 {
    d.iter().fold(0u64, |acc, x| {
        acc.saturating_mul(10).saturating_add(u64::from(*x))
    })
}

/// Modulo 10, weights 2,1,2,1,… from the right, digit sums of products.
fn mod10(d: &[u8]) -> u8 {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, x)| {
            let p = u32::from(*x) * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn mod11_sum(d: &[u8]) -> u32 {
    d.iter()
        .rev()
        .enumerate()
        .map(|(i, x)| u32::from(*x) * ((i as u32 % 8) + 2))
        .sum()
}

/// Bank barcode general digit: 11 − r, with 0, 10 and 11 written as 1.
fn mod11_bank(d: &[u8]) -> u8 {
    let dv = 11 - mod11_sum(d) % 11;
    if dv == 0 || dv >= 10 { 1 } else { dv as u8 }
}

/// Arrecadação modulo 11: remainders 0 and 1 give 0, otherwise 11 − r.
fn mod11_arrecadacao(d: &[u8]) -> u8 {
    let r = mod11_sum(d) % 11;
    if r < 2 { 0 } else { (11 - r) as u8 }
}

fn check(expected: u8, found: Option<&u8>, what: &str) -> Result<(), Error> {
    match found {
        Some(f) if *f == expected => Ok(()),
        Some(f) => Err(Error::new(
            Code::BoletoCheckDigit,
            format!("{what}: expected check digit {expected}, found {f}"),
        )),
        None => Err(Error::new(Code::BoletoFormat, format!("{what} is missing"))),
    }
}

fn sl(d: &[u8], r: std::ops::Range<usize>) -> Result<&[u8], Error> {
    d.get(r)
        .ok_or_else(|| Error::new(Code::BoletoFormat, "boleto code too short"))
}

fn arrecadacao_dv(value_id: u8, d: &[u8]) -> Result<u8, Error> {
    match value_id {
        6 | 7 => Ok(mod10(d)),
        8 | 9 => Ok(mod11_arrecadacao(d)),
        v => Err(Error::new(
            Code::BoletoFormat,
            format!("arrecadação value identifier (third digit) must be 6, 7, 8 or 9; found {v}"),
        )),
    }
}

/// Checks a 44-digit barcode (either family) and derives the rest.
fn from_barcode(bc: &[u8]) -> Result<Boleto, Error> {
    if bc.len() != 44 {
        return Err(Error::new(
            Code::BoletoFormat,
            format!("a barcode has 44 digits; found {}", bc.len()),
        ));
    }
    if bc.first() == Some(&8) {
        let segment = *bc.get(1).unwrap_or(&0);
        let value_id = *bc.get(2).unwrap_or(&0);
        let mut body = sl(bc, 0..3)?.to_vec();
        body.extend_from_slice(sl(bc, 4..44)?);
        check(
            arrecadacao_dv(value_id, &body)?,
            bc.get(3),
            "barcode general digit",
        )?;
        let mut linha = Vec::with_capacity(48);
        for i in 0..4 {
            let block = sl(bc, i * 11..i * 11 + 11)?;
            linha.extend_from_slice(block);
            linha.push(arrecadacao_dv(value_id, block)?);
        }
        let amount = matches!(value_id, 6 | 8).then(|| num(sl(bc, 4..15).unwrap_or(&[])));
        Ok(Boleto {
            kind: BoletoKind::Arrecadacao { segment, value_id },
            barcode: text(bc),
            linha_digitavel: text(&linha),
            amount_cents: amount,
        })
    } else {
        let mut body = sl(bc, 0..4)?.to_vec();
        body.extend_from_slice(sl(bc, 5..44)?);
        check(mod11_bank(&body), bc.get(4), "barcode general digit")?;
        let mut linha = Vec::with_capacity(47);
        let mut f1 = sl(bc, 0..4)?.to_vec();
        f1.extend_from_slice(sl(bc, 19..24)?);
        linha.extend_from_slice(&f1);
        linha.push(mod10(&f1));
        for r in [24..34, 34..44] {
            let f = sl(bc, r)?;
            linha.extend_from_slice(f);
            linha.push(mod10(f));
        }
        linha.extend_from_slice(sl(bc, 4..19)?);
        Ok(Boleto {
            kind: BoletoKind::Bank {
                bank: text(sl(bc, 0..3)?),
                currency: *bc.get(3).unwrap_or(&0),
                due_date_factor: num(sl(bc, 5..9)?) as u16,
            },
            barcode: text(bc),
            linha_digitavel: text(&linha),
            amount_cents: Some(num(sl(bc, 9..19)?)),
        })
    }
}

/// Checks a bank linha digitável (47 digits) and rebuilds the barcode.
fn from_bank_linha(l: &[u8]) -> Result<Boleto, Error> {
    let fields = [
        (0..9, 9, "field 1"),
        (10..20, 20, "field 2"),
        (21..31, 31, "field 3"),
    ];
    for (r, dv, what) in fields {
        check(mod10(sl(l, r)?), l.get(dv), what)?;
    }
    let mut bc = Vec::with_capacity(44);
    bc.extend_from_slice(sl(l, 0..4)?);
    bc.extend_from_slice(sl(l, 32..47)?);
    bc.extend_from_slice(sl(l, 4..9)?);
    bc.extend_from_slice(sl(l, 10..20)?);
    bc.extend_from_slice(sl(l, 21..31)?);
    from_barcode(&bc)
}

/// Checks an arrecadação linha digitável (48 digits) and rebuilds the barcode.
fn from_arrecadacao_linha(l: &[u8]) -> Result<Boleto, Error> {
    let value_id = *l.get(2).unwrap_or(&0);
    let mut bc = Vec::with_capacity(44);
    for i in 0..4 {
        let block = sl(l, i * 12..i * 12 + 11)?;
        let what = ["block 1", "block 2", "block 3", "block 4"]
            .get(i)
            .copied()
            .unwrap_or("block");
        check(arrecadacao_dv(value_id, block)?, l.get(i * 12 + 11), what)?;
        bc.extend_from_slice(block);
    }
    from_barcode(&bc)
}

/// Parses a barcode (44 digits) or linha digitável (47 bank, 48
/// arrecadação), checks every check digit and returns both forms.
pub fn parse_boleto(s: &str) -> Result<Boleto, Error> {
    let d = digits_of(s)?;
    match (d.len(), d.first()) {
        (44, _) => from_barcode(&d),
        (47, Some(first)) if *first != 8 => from_bank_linha(&d),
        (48, Some(8)) => from_arrecadacao_linha(&d),
        (n, _) => Err(Error::new(
            Code::BoletoFormat,
            format!(
                "expected a 44-digit barcode, a 47-digit bank linha digitável or a 48-digit \
                 arrecadação linha starting with 8; found {n} digits"
            ),
        )),
    }
}

/// The barcode of a linha digitável (47 or 48 digits), all digits checked.
pub fn linha_to_barcode(linha: &str) -> Result<String, Error> {
    let d = digits_of(linha)?;
    if d.len() == 44 {
        return Err(Error::new(
            Code::BoletoFormat,
            "expected a linha digitável (47 or 48 digits); found a 44-digit barcode",
        ));
    }
    parse_boleto(linha).map(|b| b.barcode)
}

/// The linha digitável of a 44-digit barcode, all digits checked.
pub fn barcode_to_linha(barcode: &str) -> Result<String, Error> {
    let d = digits_of(barcode)?;
    if d.len() != 44 {
        return Err(Error::new(
            Code::BoletoFormat,
            format!("a barcode has 44 digits; found {}", d.len()),
        ));
    }
    from_barcode(&d).map(|b| b.linha_digitavel)
}

/// True when `s` is a valid 44-digit barcode of either family.
pub fn is_valid_barcode(s: &str) -> bool {
    matches!(digits_of(s), Ok(d) if d.len() == 44) && parse_boleto(s).is_ok()
}

/// True when `s` is a valid linha digitável (47 or 48 digits).
pub fn is_valid_linha_digitavel(s: &str) -> bool {
    matches!(digits_of(s), Ok(d) if d.len() == 47 || d.len() == 48) && parse_boleto(s).is_ok()
}

/// The due-date factor naming `date`: days since 1997-10-07, wrapping from
/// 9999 back to 1000 (the rollover of 2025-02-22). `None` before 2000-07-03
/// (factor 1000 of the first cycle).
pub fn factor_for_date(date: Date) -> Option<u16> {
    let days = date.to_days() - FACTOR_BASE_DAYS;
    if days < 1000 {
        return None;
    }
    u16::try_from(1000 + (days - 1000) % FACTOR_CYCLE).ok()
}

/// Builds a 44-digit bank barcode from its fields, computing the general
/// check digit: bank (3 digits), currency (one digit, 9 = Real), due-date
/// factor (0 for none, else 1000..=9999), amount in cents (≤ 10 digits) and
/// the bank's free field (25 digits).
pub fn bank_barcode(
    bank: &str,
    currency: u8,
    factor: u16,
    amount_cents: u64,
    free_field: &str,
) -> Result<String, Error> {
    let digits = |s: &str, n: usize, what: &str| -> Result<(), Error> {
        if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(Error::new(
                Code::BoletoFormat,
                format!("{what}: expected {n} digits, found \"{s}\""),
            ))
        }
    };
    digits(bank, 3, "bank")?;
    digits(free_field, 25, "free field")?;
    if currency > 9
        || (factor != 0 && !(1000..=9999).contains(&factor))
        || amount_cents > 9_999_999_999
    {
        return Err(Error::new(
            Code::BoletoFormat,
            format!("currency {currency}, factor {factor} or amount {amount_cents} out of range"),
        ));
    }
    let body = format!("{bank}{currency}{factor:04}{amount_cents:010}{free_field}");
    let d: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
    let dv = mod11_bank(&d);
    Ok(format!(
        "{}{dv}{}",
        body.get(..4).unwrap_or_default(),
        body.get(4..).unwrap_or_default()
    ))
}
