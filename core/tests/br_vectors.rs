//! Every case of `tests/vectors/external/br/identifiers.json` (made by
//! independent implementations; `valid` is the truth), plus proptests that
//! no input makes the validators panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::indexing_slicing
)]

mod common;

use proptest::prelude::*;
use selo::br;
use serde_json::Value;

fn vectors() -> Value {
    common::vector_json("external/br/identifiers.json")
}

fn cases<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} missing"))
        .as_slice()
}

#[test]
fn cpf_vectors() {
    let v = vectors();
    let cases = cases(&v, "cpf");
    assert!(cases.len() > 40);
    for c in cases {
        let value = c["value"].as_str().unwrap();
        let valid = c["valid"].as_bool().unwrap();
        assert_eq!(br::is_valid_cpf(value), valid, "CPF {value}");
        assert_eq!(br::is_valid_document(value), valid, "document {value}");
        if valid {
            let bare = br::normalize_cpf(value).unwrap();
            assert!(br::is_valid_cpf(&br::format_cpf(&bare).unwrap()));
        }
    }
}

#[test]
fn cnpj_vectors_numeric_and_alphanumeric() {
    let v = vectors();
    let mut n = 0;
    for key in ["cnpj", "cnpj_alphanumeric"] {
        for c in cases(&v, key) {
            let value = c["value"].as_str().unwrap();
            let valid = c["valid"].as_bool().unwrap();
            assert_eq!(br::is_valid_cnpj(value), valid, "{key} {value}");
            assert_eq!(br::is_valid_document(value), valid, "document {value}");
            if let Some(f) = c["formatted"].as_str() {
                assert_eq!(br::is_valid_cnpj(f), valid, "{key} formatted {f}");
                assert_eq!(br::format_cnpj(value).unwrap(), f);
            }
            if valid {
                // The same value masked is valid too.
                let masked = br::format_cnpj(value).unwrap();
                assert!(br::is_valid_cnpj(&masked), "{masked}");
            }
            n += 1;
        }
    }
    assert!(n > 70);
}

#[test]
fn boleto_bancario_vectors() {
    let v = vectors();
    let reference = br::Date::parse("2026-01-01").unwrap();
    for c in cases(&v, "boleto_bancario") {
        let linha = c["linha_digitavel"].as_str().unwrap();
        let valid = c["valid"].as_bool().unwrap();
        assert_eq!(br::is_valid_linha_digitavel(linha), valid, "linha {linha}");
        let parsed = br::parse_boleto(linha);
        assert_eq!(parsed.is_ok(), valid, "{linha}: {parsed:?}");
        if !valid {
            assert_eq!(parsed.unwrap_err().code(), "br.boleto.check_digit");
            continue;
        }
        let b = parsed.unwrap();
        let barcode = c["codigo_barras"].as_str().unwrap();
        assert_eq!(b.barcode, barcode);
        assert_eq!(b.linha_digitavel, linha);
        assert_eq!(br::linha_to_barcode(linha).unwrap(), barcode);
        assert_eq!(br::barcode_to_linha(barcode).unwrap(), linha);
        assert!(br::is_valid_barcode(barcode));
        assert_eq!(b.amount_cents, c["amount_cents"].as_u64());
        match &b.kind {
            br::BoletoKind::Bank {
                bank,
                due_date_factor,
                ..
            } => {
                assert_eq!(bank, c["bank"].as_str().unwrap());
                let factor: u16 = barcode[5..9].parse().unwrap();
                assert_eq!(*due_date_factor, factor);
                if factor >= 1000 {
                    let due = br::due_date_for_factor(factor, reference).unwrap();
                    let [old, new] = br::due_date_candidates(factor).unwrap();
                    assert!(due == old || due == new);
                }
            }
            other => panic!("{linha} should be a bank boleto, got {other:?}"),
        }
        // Formatted input (dots and spaces) is the same code.
        let formatted = format!(
            "{}.{} {}.{} {}.{} {} {}",
            &linha[0..5],
            &linha[5..10],
            &linha[10..15],
            &linha[15..21],
            &linha[21..26],
            &linha[26..32],
            &linha[32..33],
            &linha[33..]
        );
        assert_eq!(br::parse_boleto(&formatted).unwrap().barcode, barcode);
        // Changing the general check digit is always caught.
        let mut bytes = barcode.as_bytes().to_vec();
        bytes[4] = if bytes[4] == b'9' { b'0' } else { bytes[4] + 1 };
        assert!(!br::is_valid_barcode(&String::from_utf8(bytes).unwrap()));
        // Modulo 10 catches every single-digit change inside fields 1 to 3
        // of the linha digitável (positions 0..32).
        for i in 0..32 {
            let mut bytes = linha.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'9' { b'0' } else { bytes[i] + 1 };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(
                !br::is_valid_linha_digitavel(&changed),
                "{changed} (digit {i})"
            );
        }
    }
}

#[test]
fn pix_key_vectors() {
    let v = vectors();
    for c in cases(&v, "pix_keys") {
        let key = c["key"].as_str().unwrap();
        let valid = c["valid"].as_bool().unwrap();
        let detected = br::detect_pix_key(key);
        assert_eq!(detected.is_some(), valid, "{key}");
        if let Some(d) = detected {
            let info = &c["info"];
            assert_eq!(d.kind.as_str(), info["type"].as_str().unwrap(), "{key}");
            assert_eq!(d.value, info["value"].as_str().unwrap(), "{key}");
            assert!(br::is_valid_pix_key(d.kind, key));
            // The same key declared under every other type is refused.
            for other in br::PixKeyType::ALL {
                if other != d.kind {
                    assert!(!br::is_valid_pix_key(other, key), "{key} as {other:?}");
                }
            }
        } else {
            for kind in br::PixKeyType::ALL {
                assert!(!br::is_valid_pix_key(kind, key), "{key} as {kind:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn validators_never_panic(s in "\\PC{0,60}") {
        let _ = br::is_valid_cpf(&s);
        let _ = br::is_valid_cnpj(&s);
        let _ = br::parse_document(&s);
        let _ = br::format_cpf(&s);
        let _ = br::format_cnpj(&s);
        let _ = br::parse_boleto(&s);
        let _ = br::linha_to_barcode(&s);
        let _ = br::barcode_to_linha(&s);
        let _ = br::validate_ispb(&s);
        let _ = br::detect_pix_key(&s);
        let _ = br::Date::parse(&s);
        for k in br::PixKeyType::ALL {
            let _ = br::validate_pix_key(k, &s);
        }
    }

    #[test]
    fn digit_strings_never_panic(s in "[0-9 .\\-]{0,52}") {
        let _ = br::parse_boleto(&s);
        let _ = br::is_valid_barcode(&s);
        let _ = br::is_valid_linha_digitavel(&s);
        let _ = br::is_valid_cpf(&s);
    }

    #[test]
    fn barcode_linha_roundtrip(digits in "[0-79][0-9]{43}") {
        // Whatever the digits, a code either is refused or converts both ways.
        if let Ok(b) = br::parse_boleto(&digits) {
            prop_assert_eq!(br::linha_to_barcode(&b.linha_digitavel).unwrap(), b.barcode.clone());
            prop_assert_eq!(br::barcode_to_linha(&b.barcode).unwrap(), b.linha_digitavel);
        }
    }

    #[test]
    fn cnpj_alnum_bases_get_digits_that_validate(base in "[0-9A-Z]{12}") {
        let dv = br::cnpj_check_digits(&base).unwrap();
        let full = format!("{base}{}", String::from_utf8(dv.to_vec()).unwrap());
        let repeated = full.bytes().all(|b| b == full.as_bytes()[0]);
        prop_assert_eq!(br::is_valid_cnpj(&full), !repeated);
    }

    #[test]
    fn factor_dates_are_on_a_candidate(factor in 0u16..20000, days in -20000i64..40000) {
        let reference = br::Date::from_days(days).unwrap();
        if let Some(d) = br::due_date_for_factor(factor, reference) {
            let [a, _] = br::due_date_candidates(factor).unwrap();
            prop_assert_eq!((d.to_days() - a.to_days()) % 9000, 0);
        }
    }
}
