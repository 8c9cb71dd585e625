//! Regenerates selo's own BMP vectors in `tests/vectors/bmp/` from seeded
//! RNGs (keys, idempotency keys). `core/tests/bmp_own_vectors.rs` checks
//! that regenerating yields the same bytes.
//!
//! cargo run -p selo --example vectors_bmp

use selo::bmp::{
    self, Account, BmpClient, BmpProfile, BmpServer, BoletoPayment, HmacKey, MacEncoding, Money,
    MoneyFormat, PixRefund, PixTransfer, Transaction, Transfer,
};
use selo::http::{ReceivedResponse, header_value};
use serde_json::{Value, json};

fn account(doc: &str, ispb: &str) -> Account {
    Account {
        agencia: "0001".into(),
        agencia_digito: Some("1".into()),
        conta: "1234567".into(),
        conta_digito: Some("8".into()),
        tipo_conta: 1,
        documento_federal: Some(doc.into()),
        nome: Some("Titular Exemplo".into()),
        numero_banco: Some(274),
        ispb: Some(ispb.into()),
    }
}

fn transactions() -> Vec<(&'static str, Transaction)> {
    let a = account("52998224725", "13370835");
    let b = account("12ABC34501DE35", "00000000");
    vec![
        (
            "boleto_payment",
            Transaction::BoletoPayment(BoletoPayment {
                data_transacao: "2026-11-23T10:15:00".into(),
                conta_origem: a.clone(),
                data_vencimento: Some("2026-12-01".into()),
                codigo_barras: Some("02163168780122052758440489640909335399540569".into()),
                valor: Money::from_cents(8_012_205_275),
                linha_digitavel: Some("02168440438964090933253995405692316878012205275".into()),
            }),
        ),
        (
            "ted",
            Transaction::Ted(Transfer {
                data_transacao: "2026-11-23".into(),
                conta_origem: a.clone(),
                conta_destino: b.clone(),
                valor: Money::from_cents(134_583),
            }),
        ),
        (
            "internal_transfer",
            Transaction::InternalTransfer(Transfer {
                data_transacao: "2026-11-23T10:15:00".into(),
                conta_origem: a.clone(),
                conta_destino: b.clone(),
                valor: Money::from_cents(50),
            }),
        ),
        (
            "pix",
            Transaction::Pix(PixTransfer {
                data_transacao: "2026-11-23T10:15:00".into(),
                conta_origem: a.clone(),
                conta_destino: Some(b.clone()),
                valor: Money::from_cents(10_000),
                chave_pix: "fulano@example.com".into(),
                tipo_chave: 3,
            }),
        ),
        (
            "pix_refund",
            Transaction::PixRefund(PixRefund {
                data_transacao: "2026-11-23T10:15:00".into(),
                conta_origem: b,
                conta_destino: a,
                valor: Money::from_cents(10_010),
                codigo_movimento: "123e4567-e89b-42d3-a456-426614174000".into(),
            }),
        ),
    ]
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn signatures() -> Value {
    let key = HmacKey::generate(&mut selo::rng::seeded([0x42; 32]));
    let client = BmpClient::new(key.clone(), BmpProfile::default());
    let mut rng = selo::rng::seeded([0x43; 32]);
    let upper = BmpProfile {
        mac_encoding: MacEncoding::UppercaseHex,
        ..Default::default()
    };
    let b64 = BmpProfile {
        mac_encoding: MacEncoding::Base64,
        ..Default::default()
    };
    let cases: Vec<Value> = transactions()
        .into_iter()
        .map(|(name, tx)| match client.sign_transaction(&tx, &mut rng) {
            Ok(s) => json!({
                "kind": name,
                "endpoint": tx.endpoint(),
                "idempotency_key": s.idempotency_key(),
                "body": text(s.body()),
                "hmac_hex": s.hmac(),
                "hmac_upper_hex": bmp::sign(&key, s.body(), &upper),
                "hmac_base64": bmp::sign(&key, s.body(), &b64),
            }),
            Err(e) => json!({"kind": name, "error": e.code()}),
        })
        .collect();
    json!({
        "description": "selo's typed BMP bodies (SPEC 4.1-4.3) signed with a seeded key; idempotency keys from a seeded RNG",
        "key": key.expose_secret(),
        "cases": cases,
    })
}

fn canonical() -> Value {
    let key = HmacKey::generate(&mut selo::rng::seeded([0x44; 32]));
    let profile = BmpProfile {
        money_fields: vec!["tarifa".into()],
        ..Default::default()
    };
    let inputs = [
        r#"{ "z": 1, "a": {"valor": 10, "tarifa": "0.5"} }"#,
        r#"{"Valor":1345.8,"descricao":"ação € \"x\"\n"}"#,
        r#"{"valor":1.234}"#,
        r#"{"valor":-1.00}"#,
        r#"{"valor":1e3}"#,
        r#"{"valor":"1,00"}"#,
        r#"{"a":1,"a":2}"#,
        r#"{"a":1,}"#,
    ];
    let cases: Vec<Value> = inputs
        .iter()
        .map(|i| match bmp::canonical::canonical_from_text(i.as_bytes(), &profile) {
            Ok(body) => json!({
                "input": i,
                "body": text(&body),
                "body_dotnet": bmp::canonical::reformat_money(&body, &profile, MoneyFormat::Dotnet).map(|b| text(&b)).unwrap_or_default(),
                "hmac_hex": bmp::sign(&key, &body, &profile),
            }),
            Err(e) => json!({"input": i, "error": e.code()}),
        })
        .collect();
    json!({
        "description": "JSON text -> canonical body (money members valor/Valor/tarifa), .NET-style rewrite, hmac; or the error code",
        "key": key.expose_secret(),
        "money_fields": ["tarifa"],
        "cases": cases,
    })
}

fn confirm() -> Value {
    let key = HmacKey::generate(&mut selo::rng::seeded([0x45; 32]));
    let profile = BmpProfile::default();
    let client = BmpClient::new(key.clone(), profile.clone());
    let server = BmpServer::new(key.clone(), profile.clone());
    let mut rng = selo::rng::seeded([0x46; 32]);
    let (_, tx) = transactions().remove(3);
    let Ok(signed) = client.sign_transaction(&tx, &mut rng) else {
        return json!({"error": "signing failed"});
    };
    let req = signed.request("https://bmp.invalid/api/Recurso/Tranferir");
    let accepted = match server.check_request(&req.headers, &req.body) {
        Ok(a) => a,
        Err(e) => return json!({"error": e.code()}),
    };
    let original = signed.body().to_vec();
    let lookup = move |k: &str| (k == accepted.idempotency_key).then(|| original.clone());
    let id = signed.idempotency_key().to_string();
    let body = text(signed.body());
    let received = [
        ("as sent", body.clone()),
        (
            "dotnet decimals",
            body.replace("\"valor\":100.00", "\"valor\":100.0"),
        ),
        (
            "members reordered",
            body.replacen(
                &format!("{{\"idempotencyKey\":\"{id}\",\"detalhes\":"),
                "{\"detalhes\":",
                1,
            )
            .trim_end_matches('}')
            .to_string()
                + &format!("}},\"idempotencyKey\":\"{id}\"}}"),
        ),
        (
            "amount changed",
            body.replace("\"valor\":100.00", "\"valor\":100.01"),
        ),
        (
            "key changed",
            body.replace("fulano@example.com", "beltrano@example.com"),
        ),
    ];
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("IdempotencyKey".to_string(), id.clone()),
    ];
    let cases: Vec<Value> = received
        .iter()
        .map(|(what, r)| {
            let ans = bmp::confirm(&key, &profile, &headers, r.as_bytes(), &lookup);
            json!({
                "what": what,
                "received": r,
                "status": ans.status,
                "hmac": header_value(&ans.headers, "hmac"),
                "code": ans.error.as_ref().map(|e| e.code()),
                "first_difference": ans.difference,
            })
        })
        .collect();
    // BMP side: the reply to the as-sent confirmation passes step 4.
    let call = match server.check_request(&req.headers, &req.body) {
        Ok(a) => server.confirmation_request(&a, "https://partner.invalid/confirm", &[]),
        Err(e) => return json!({"error": e.code()}),
    };
    let ans = bmp::confirm(
        &key,
        &profile,
        &call.request.headers,
        &call.request.body,
        &lookup,
    );
    let step4 = server
        .check_confirmation_reply(
            &call,
            &ReceivedResponse::new(ans.status, ans.headers, ans.body),
        )
        .map(|_| "accepted".to_string())
        .unwrap_or_else(|e| e.code().to_string());
    json!({
        "description": "partner confirmation decisions (SPEC 4.5) for one signed Pix; the original is the request body",
        "key": key.expose_secret(),
        "original": body,
        "idempotency_key": id,
        "request_hmac": signed.hmac(),
        "cases": cases,
        "bmp_step4": step4,
    })
}

/// Every vector file: (file name, exact contents).
pub fn generate() -> Vec<(&'static str, String)> {
    [
        ("signatures.json", signatures()),
        ("canonical.json", canonical()),
        ("confirm.json", confirm()),
    ]
    .into_iter()
    .map(|(n, v)| {
        (
            n,
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n",
        )
    })
    .collect()
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/bmp");
    std::fs::create_dir_all(&dir)?;
    for (name, contents) in generate() {
        std::fs::write(dir.join(name), contents)?;
        println!("wrote tests/vectors/bmp/{name}");
    }
    Ok(())
}
