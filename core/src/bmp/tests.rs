//! Unit tests of the internals; protocol tests live in `core/tests/bmp_*.rs`.

use super::json::{self, JsonValue};
use super::*;

#[test]
fn parser_keeps_number_text_and_unescapes_strings() {
    let v = json::parse(br#" {"n": -0.10e+3, "s": "\ud83d\ude00\u00e9", "a": []} "#).unwrap();
    assert_eq!(v.get("n"), Some(&JsonValue::Number("-0.10e+3".into())));
    assert_eq!(v.get("s").and_then(JsonValue::as_str), Some("😀é"));
    assert_eq!(
        v.to_bytes(MoneyFormat::TwoDigits),
        "{\"n\":-0.10e+3,\"s\":\"😀é\",\"a\":[]}".as_bytes()
    );
    let e = json::parse(b"{\"a\":1,\"a\":1}").unwrap_err();
    assert!(e.message.contains("duplicate"), "{e}");
    assert_eq!(e.offset, 7);
}

#[test]
fn money_parse_rules() {
    assert_eq!(Money::parse("0").unwrap().cents(), 0);
    assert_eq!(Money::parse("007.5").unwrap().cents(), 750);
    assert_eq!(
        Money::parse("184467440737095516.15").unwrap().cents(),
        u64::MAX
    );
    for (s, code) in [
        ("", "bmp.money.syntax"),
        (".5", "bmp.money.syntax"),
        ("5.", "bmp.money.syntax"),
        ("+5", "bmp.money.syntax"),
        (" 5", "bmp.money.syntax"),
        ("-x", "bmp.money.syntax"),
        ("-0", "bmp.money.negative"),
        ("1.230", "bmp.money.precision"),
        ("184467440737095516.16", "bmp.money.range"),
    ] {
        assert_eq!(Money::parse(s).unwrap_err().code(), code, "{s:?}");
    }
    assert_eq!(
        Money::from_cents_signed(-1).unwrap_err().code(),
        "bmp.money.negative"
    );
}

#[test]
fn generated_keys_cover_the_alphabet_uniformly_enough() {
    let mut rng = crate::rng::seeded([8; 32]);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        seen.extend(HmacKey::generate(&mut rng).expose_secret().chars());
    }
    assert_eq!(seen.len(), 62);
}
