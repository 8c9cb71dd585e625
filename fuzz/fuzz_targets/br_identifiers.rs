//! Brazilian identifier validators on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = selo::br::parse_boleto(s);
    let _ = selo::br::parse_document(s);
    let _ = selo::br::is_valid_cpf(s);
    let _ = selo::br::is_valid_cnpj(s);
    let _ = selo::br::detect_pix_key(s);
    let _ = selo::br::validate_ispb(s);
    let _ = selo::br::Date::parse(s);
});
