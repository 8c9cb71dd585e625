//! Every parser the Safra client runs on bytes from the network.
#![no_main]
use libfuzzer_sys::fuzz_target;
use selo::safra::envelope::{IvLog, SessionKey, open_bytes, unwrap_body};
use selo::safra::handshake::{extract_key, parse_stage1_reply};
use selo::safra::{Session, token};

fuzz_target!(|data: &[u8]| {
    let key = SessionKey::new([7; 32]);
    let _ = parse_stage1_reply(data);
    let _ = extract_key(data);
    let _ = unwrap_body(data);
    let _ = Session::import(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = open_bytes(&key, s);
        let _ = IvLog::default().open(&key, s, true);
        let _ = token::schedule(s, 0, &Default::default());
        let _ = selo::safra::boleto::BoletoRequest::from_json(s);
        let _ = selo::safra::SafraProfile::from_json(s);
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = selo::safra::boleto::BoletoReply::from_value(&v);
        let _ = selo::safra::boleto::BoletoQuery::from_value(&v);
    }
});
