//! Unit tests with hand-computed values (independent vectors live in
//! `core/tests/br_vectors.rs`).

use super::*;

#[test]
fn cpf_mask_and_bare_forms() {
    assert!(is_valid_cpf("529.982.247-25"));
    assert!(is_valid_cpf("52998224725"));
    assert!(!is_valid_cpf("529.982.24725"));
    assert!(!is_valid_cpf("529982247-25"));
    assert!(!is_valid_cpf(" 52998224725"));
    assert!(!is_valid_cpf("5299822472a"));
    assert_eq!(format_cpf("52998224725").unwrap(), "529.982.247-25");
    assert_eq!(normalize_cpf("529.982.247-25").unwrap(), "52998224725");
    assert_eq!(
        normalize_cpf("52998224724").unwrap_err().code(),
        "br.cpf.invalid"
    );
}

#[test]
fn cnpj_numeric_and_alphanumeric() {
    // Receita Federal's published example of the alphanumeric CNPJ.
    assert!(is_valid_cnpj("12.ABC.345/01DE-35"));
    assert!(is_valid_cnpj("12ABC34501DE35"));
    assert!(!is_valid_cnpj("12abc34501de35"), "lowercase is refused");
    assert!(!is_valid_cnpj("12ABC34501DE3A"), "check digits are numeric");
    assert!(is_valid_cnpj("11.222.333/0001-81"));
    assert!(!is_valid_cnpj("00000000000000"));
    assert_eq!(format_cnpj("12ABC34501DE35").unwrap(), "12.ABC.345/01DE-35");
    assert_eq!(cnpj_check_digits("112223330001"), Some(*b"81"));
    assert_eq!(cpf_check_digits("529982247"), Some(*b"25"));
    assert_eq!(
        parse_document("11.222.333/0001-81").unwrap(),
        FederalDocument::Cnpj("11222333000181".into())
    );
    assert_eq!(
        parse_document("529.982.247-25").unwrap(),
        FederalDocument::Cpf("52998224725".into())
    );
    assert_eq!(parse_document("123").unwrap_err().code(), "br.format");
}

#[test]
fn dates_and_factor_rollover() {
    assert_eq!(Date::new(1997, 10, 7).unwrap().to_days(), 10_141);
    assert_eq!(Date::from_days(0).unwrap(), Date::new(1970, 1, 1).unwrap());
    assert!(Date::parse("2025-02-29").is_none());
    assert!(Date::parse("2024-02-29").is_some());
    let [old, new] = due_date_candidates(1000).unwrap();
    assert_eq!(old.to_string(), "2000-07-03");
    assert_eq!(new.to_string(), "2025-02-22");
    let [old, _] = due_date_candidates(9999).unwrap();
    assert_eq!(old.to_string(), "2025-02-21");
    let today = Date::parse("2026-05-01").unwrap();
    assert_eq!(
        due_date_for_factor(1000, today).unwrap().to_string(),
        "2025-02-22"
    );
    let long_ago = Date::parse("2010-01-01").unwrap();
    assert_eq!(
        due_date_for_factor(1000, long_ago).unwrap().to_string(),
        "2000-07-03"
    );
    assert!(due_date_for_factor(0, today).is_none());
}

#[test]
fn arrecadacao_roundtrip_mod10_and_mod11() {
    // Build barcodes with each value identifier, then check the conversions.
    for value_id in [6u8, 7, 8, 9] {
        let mut digits: Vec<u8> = vec![8, 2, value_id, 0];
        digits.extend((0..40).map(|i| ((i * 7 + 3) % 10) as u8));
        let mut body = digits[..3].to_vec();
        body.extend_from_slice(&digits[4..]);
        // Find the general digit by trying all ten: exactly one must pass.
        let passing: Vec<String> = (0..10u8)
            .map(|dv| {
                let mut d = digits.clone();
                d[3] = dv;
                d.iter().map(|x| char::from(b'0' + x)).collect::<String>()
            })
            .filter(|s| is_valid_barcode(s))
            .collect();
        assert_eq!(passing.len(), 1, "value id {value_id}: {passing:?}");
        let bc = &passing[0];
        let linha = barcode_to_linha(bc).unwrap();
        assert_eq!(linha.len(), 48);
        assert_eq!(&linha_to_barcode(&linha).unwrap(), bc);
        // Corrupting any block digit must be caught.
        let mut bad = linha.clone().into_bytes();
        bad[5] = if bad[5] == b'9' { b'0' } else { bad[5] + 1 };
        assert!(parse_boleto(std::str::from_utf8(&bad).unwrap()).is_err());
        let b = parse_boleto(bc).unwrap();
        assert_eq!(b.amount_cents.is_some(), value_id == 6 || value_id == 8);
    }
}

#[test]
fn pix_keys_by_type() {
    assert_eq!(PixKeyType::from_code(2).unwrap(), PixKeyType::Phone);
    assert_eq!(
        PixKeyType::from_code(5).unwrap_err().code(),
        "br.pix_key.type"
    );
    assert_eq!(
        PixKeyType::from_code(-1).unwrap_err().code(),
        "br.pix_key.type"
    );
    assert!(is_valid_pix_key(PixKeyType::Phone, "+5511987654321"));
    assert!(is_valid_pix_key(PixKeyType::Phone, "+551133334444"));
    assert!(!is_valid_pix_key(PixKeyType::Phone, "+5501987654321"));
    assert!(!is_valid_pix_key(PixKeyType::Phone, "+1 2025550100"));
    assert!(!is_valid_pix_key(PixKeyType::Email, "a@b@c"));
    assert!(!is_valid_pix_key(PixKeyType::Email, "a b@c.com"));
    assert!(!is_valid_pix_key(
        PixKeyType::Evp,
        "123E4567-E89B-42D3-A456-426614174000"
    ));
    assert!(is_valid_pix_key(PixKeyType::Cnpj, "12ABC34501DE35"));
    assert_eq!(
        detect_pix_key("Fulano@Example.com").unwrap().value,
        "fulano@example.com"
    );
    assert!(validate_ispb("00000000").is_ok());
    assert_eq!(
        validate_ispb("1234567").unwrap_err().code(),
        "br.ispb.invalid"
    );
    assert!(!is_valid_ispb("1234567a"));
}

#[test]
fn documents_held_as_numbers() {
    assert_eq!(cpf_from_number(4740439166).unwrap(), "04740439166");
    assert!(is_valid_cpf(&cpf_from_number(4740439166).unwrap()));
    assert!(cpf_from_number(100_000_000_000).is_none());
    assert_eq!(cnpj_from_number(4334646408912).unwrap(), "04334646408912");
    assert!(cnpj_from_number(100_000_000_000_000).is_none());
}

#[test]
fn built_barcodes_parse_back_with_their_fields() {
    use super::{Date, bank_barcode, due_date_for_factor, factor_for_date, parse_boleto};
    assert_eq!(factor_for_date(Date::new(2000, 7, 3).unwrap()), Some(1000));
    assert_eq!(factor_for_date(Date::new(2025, 2, 21).unwrap()), Some(9999));
    assert_eq!(factor_for_date(Date::new(2025, 2, 22).unwrap()), Some(1000));
    assert_eq!(factor_for_date(Date::new(2000, 7, 2).unwrap()), None);
    let due = Date::new(2026, 12, 31).unwrap();
    let f = factor_for_date(due).unwrap();
    assert_eq!(
        due_date_for_factor(f, Date::new(2026, 11, 23).unwrap()),
        Some(due)
    );
    let bc = bank_barcode("422", 9, f, 1_500_000, "0000000000000000123456789").unwrap();
    assert_eq!(bc.len(), 44);
    let parsed = parse_boleto(&bc).unwrap();
    assert_eq!(parsed.barcode, bc);
    assert!(bank_barcode("42", 9, f, 1, "0000000000000000123456789").is_err());
    assert!(bank_barcode("422", 9, 999, 1, "0000000000000000123456789").is_err());
}
