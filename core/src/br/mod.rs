//! Placeholder: filled in by its own issue.

crate::define_error! {
    /// Errors of this area.
    Error, Code {
        /// Not built yet.
        Unimplemented => ("br.unimplemented", None),
    }
}

// Interim numeric-only checks, replaced by the full `br` module (its own issue).
fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

fn mod11_digit(d: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = d.iter().zip(weights).map(|(a, b)| a * b).sum();
    let r = sum % 11;
    if r < 2 { 0 } else { 11 - r }
}

/// True when `s` is a CPF with valid check digits.
pub fn is_valid_cpf(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 11 || d.iter().all(|&x| Some(&x) == d.first()) {
        return false;
    }
    let w1: Vec<u32> = (2..=10).rev().collect();
    let w2: Vec<u32> = (2..=11).rev().collect();
    let (Some(a), Some(b)) = (d.get(..9), d.get(..10)) else {
        return false;
    };
    Some(&mod11_digit(a, &w1)) == d.get(9) && Some(&mod11_digit(b, &w2)) == d.get(10)
}

/// True when `s` is a numeric CNPJ with valid check digits.
pub fn is_valid_cnpj(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 14 || d.iter().all(|&x| Some(&x) == d.first()) {
        return false;
    }
    let w1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    let w2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    let (Some(a), Some(b)) = (d.get(..12), d.get(..13)) else {
        return false;
    };
    Some(&mod11_digit(a, &w1)) == d.get(12) && Some(&mod11_digit(b, &w2)) == d.get(13)
}
