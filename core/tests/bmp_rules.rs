//! Golden tests for each BMP rule of SPEC §4, both roles against each
//! other, malformed input → the right code, and proptests that nothing
//! panics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use selo::bmp::{
    self, Account, BmpClient, BmpProfile, BmpServer, HmacKey, MacEncoding, Money, MoneyFormat,
    PixTransfer, Transaction, Transfer,
};
use selo::http::{ReceivedResponse, header_value};

fn key() -> HmacKey {
    HmacKey::generate(&mut selo::rng::seeded([1; 32]))
}

fn client() -> BmpClient {
    BmpClient::new(key(), BmpProfile::default())
}

fn account() -> Account {
    Account {
        agencia: "0001".into(),
        agencia_digito: Some("9".into()),
        conta: "123456".into(),
        conta_digito: Some("X".into()),
        tipo_conta: 1,
        documento_federal: Some("529.982.247-25".into()),
        nome: Some("Fulano de Tal".into()),
        numero_banco: Some(274),
        ispb: Some("13370835".into()),
    }
}

fn ted() -> Transaction {
    Transaction::Ted(Transfer {
        data_transacao: "2026-11-23T10:15:00".into(),
        conta_origem: account(),
        conta_destino: Account {
            documento_federal: Some("12.ABC.345/01DE-35".into()),
            ..account()
        },
        valor: Money::from_cents(134500),
    })
}

fn canon(text: &str) -> Result<String, selo::bmp::Error> {
    bmp::canonical::canonical_from_text(text.as_bytes(), &BmpProfile::default())
        .map(|b| String::from_utf8(b).unwrap())
}

#[test]
fn keys_are_128_alphanumeric_and_others_refused_unless_relaxed() {
    let mut rng = selo::rng::seeded([2; 32]);
    let a = HmacKey::generate(&mut rng);
    let b = HmacKey::generate(&mut rng);
    assert_ne!(a, b);
    for k in [&a, &b] {
        assert_eq!(k.expose_secret().len(), 128);
        assert!(k.expose_secret().bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(!format!("{k:?}").contains(k.expose_secret()));
        HmacKey::new(k.expose_secret(), &BmpProfile::default()).unwrap();
    }
    let strict = BmpProfile::default();
    let relaxed = BmpProfile {
        relaxed_key: true,
        ..Default::default()
    };
    for bad in ["short", &format!("{}!", &a.expose_secret()[..127])] {
        assert_eq!(
            HmacKey::new(bad, &strict).unwrap_err().code(),
            "bmp.key.invalid"
        );
        HmacKey::new(bad, &relaxed).unwrap();
    }
    assert!(HmacKey::new("", &relaxed).is_err());
}

#[test]
fn canonical_keeps_member_order_minifies_and_escapes() {
    assert_eq!(
        canon("{ \"z\" : 1,\n \"a\" : [ true , null ], \"m\": {\"b\":2,\"a\":1} }").unwrap(),
        r#"{"z":1,"a":[true,null],"m":{"b":2,"a":1}}"#
    );
    // Non-ASCII as UTF-8, escapes decoded then written the JSON way.
    assert_eq!(
        canon(r#"{"d":"a\u00e7\u00e3o \u20ac \"q\" \\ \/ \n\t\u0001"}"#).unwrap(),
        "{\"d\":\"ação € \\\"q\\\" \\\\ / \\n\\t\\u0001\"}"
    );
    // Non-money numbers keep their exact text.
    assert_eq!(
        canon(r#"{"taxa":1.50,"n":1E+2}"#).unwrap(),
        r#"{"taxa":1.50,"n":1E+2}"#
    );
}

#[test]
fn money_members_get_exactly_two_digits_at_any_depth() {
    assert_eq!(
        canon(r#"{"Valor":1345,"x":{"valor":"0.5"},"l":[{"valor":100.1}],"v":null}"#).unwrap(),
        r#"{"Valor":1345.00,"x":{"valor":0.50},"l":[{"valor":100.10}],"v":null}"#
    );
    let e = canon(r#"{"x":[{"valor":1.005}]}"#).unwrap_err();
    assert_eq!(e.code(), "bmp.money.precision");
    assert!(e.message().contains("x[0].valor"), "{}", e.message());
    assert_eq!(
        canon(r#"{"valor":-1}"#).unwrap_err().code(),
        "bmp.money.negative"
    );
    assert_eq!(
        canon(r#"{"valor":1e2}"#).unwrap_err().code(),
        "bmp.money.syntax"
    );
    assert_eq!(
        canon(r#"{"valor":true}"#).unwrap_err().code(),
        "bmp.money.syntax"
    );
    assert_eq!(
        canon(r#"{"valor":"1,00"}"#).unwrap_err().code(),
        "bmp.money.syntax"
    );
    assert_eq!(
        canon(r#"{"valor":"999999999999999999999"}"#)
            .unwrap_err()
            .code(),
        "bmp.money.range"
    );
    // Caller-marked money members.
    let p = BmpProfile {
        money_fields: vec!["tarifa".into()],
        ..Default::default()
    };
    let out = bmp::canonical::canonical_from_text(br#"{"tarifa":2,"taxa":2}"#, &p).unwrap();
    assert_eq!(out, br#"{"tarifa":2.00,"taxa":2}"#);
    // serde_json values: integers exact, floats under money refused.
    let v = serde_json::json!({"b": 1, "valor": 10, "a": "x"});
    assert_eq!(
        bmp::canonical::canonical_from_value(&v, &BmpProfile::default()).unwrap(),
        br#"{"b":1,"valor":10.00,"a":"x"}"#
    );
    let v = serde_json::json!({"valor": 10.5});
    assert_eq!(
        bmp::canonical::canonical_from_value(&v, &BmpProfile::default())
            .unwrap_err()
            .code(),
        "bmp.money.float"
    );
    // .NET-style writing for simulators.
    assert_eq!(
        Money::from_cents(10000).format(MoneyFormat::Dotnet),
        "100.0"
    );
    assert_eq!(
        Money::from_cents(10010).format(MoneyFormat::Dotnet),
        "100.1"
    );
    assert_eq!(
        Money::from_cents(10015).format(MoneyFormat::Dotnet),
        "100.15"
    );
    assert_eq!(Money::from_cents(10010).to_json_text(), "100.10");
}

#[test]
fn malformed_bodies_are_refused_with_a_code() {
    for bad in [
        "",
        "{",
        "{\"a\":1,}",
        "[1 2]",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":\"\u{1}\"}",
        "{\"a\":1}{",
        "{\"a\":1,\"a\":2}",
        "\u{feff}{}",
        "{\"a\":\"\\ud800\"}",
        "nul",
        "{\"a\":-}",
        "{'a':1}",
    ] {
        assert_eq!(
            canon(bad).unwrap_err().code(),
            "bmp.body.malformed",
            "{bad:?}"
        );
    }
    let deep = "[".repeat(100) + &"]".repeat(100);
    assert_eq!(canon(&deep).unwrap_err().code(), "bmp.body.malformed");
    assert_eq!(
        bmp::canonical::canonical_from_text(b"{\"a\":\"\xff\"}", &BmpProfile::default())
            .unwrap_err()
            .code(),
        "bmp.body.malformed"
    );
}

#[test]
fn decimal_equality() {
    for (a, b) in [
        ("100.0", "100.00"),
        ("100", "100.000"),
        ("1e2", "100"),
        ("-0", "0.0"),
        ("0.50", "5E-1"),
    ] {
        assert!(bmp::decimal_eq(a, b), "{a} = {b}");
    }
    for (a, b) in [
        ("100.01", "100.00"),
        ("-1", "1"),
        ("10", "100"),
        ("0.1", "0.01"),
    ] {
        assert!(!bmp::decimal_eq(a, b), "{a} != {b}");
    }
}

#[test]
fn signing_and_hex_case() {
    let c = client();
    let mut rng = selo::rng::seeded([3; 32]);
    let tx = c.sign_transaction(&ted(), &mut rng).unwrap();
    assert_eq!(tx.hmac().len(), 128);
    assert!(
        tx.hmac()
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    let upper = BmpClient::new(
        key(),
        BmpProfile {
            mac_encoding: MacEncoding::UppercaseHex,
            ..Default::default()
        },
    );
    let tx2 = upper
        .sign_transaction_with_key(&ted(), tx.idempotency_key())
        .unwrap();
    assert_eq!(tx2.body(), tx.body());
    assert_eq!(tx2.hmac(), tx.hmac().to_uppercase());
    // Verification: either case; a flipped character is a mismatch.
    bmp::verify(&key(), tx.body(), tx2.hmac(), &BmpProfile::default()).unwrap();
    let mut flipped = tx.hmac().to_string().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(
        bmp::verify(&key(), tx.body(), &flipped, &BmpProfile::default())
            .unwrap_err()
            .code(),
        "bmp.mac.mismatch"
    );
    assert_eq!(
        bmp::verify(&key(), tx.body(), "zz", &BmpProfile::default())
            .unwrap_err()
            .code(),
        "bmp.mac.encoding"
    );
}

#[test]
fn typed_body_shape_and_retry_keeps_idempotency_key() {
    let c = client();
    let mut rng = selo::rng::seeded([4; 32]);
    let tx = c.sign_transaction(&ted(), &mut rng).unwrap();
    let id = tx.idempotency_key().to_string();
    assert!(selo::encoding::is_uuid_v4(&id));
    let body = String::from_utf8(tx.body().to_vec()).unwrap();
    assert!(body.starts_with(&format!("{{\"idempotencyKey\":\"{id}\",\"detalhes\":{{\"tipoTransacao\":\"EnvioTED\",\"dataTransacao\":")), "{body}");
    assert!(body.contains("\"contaOrigem\":{\"agencia\":\"0001\",\"agenciaDigito\":\"9\",\"conta\":\"123456\",\"contaDigito\":\"X\",\"tipoConta\":1,\"documentoFederal\":\"52998224725\",\"nome\":\"Fulano de Tal\",\"numeroBanco\":274,\"ispb\":\"13370835\"}"), "{body}");
    assert!(
        body.contains("\"documentoFederal\":\"12ABC34501DE35\""),
        "{body}"
    );
    assert!(body.ends_with(",\"valor\":1345.00}}"), "{body}");
    // Retries: the same request, byte for byte, every time.
    let url = format!("https://bmp.example{}", ted().endpoint());
    let r1 = tx.request(&url);
    let r2 = tx.request(&url);
    assert_eq!(r1, r2);
    assert_eq!(r1.header("IdempotencyKey"), Some(id.as_str()));
    assert_eq!(r1.header("Content-Type"), Some("application/json"));
    assert_eq!(r1.header("hmac"), Some(tx.hmac()));
    assert_eq!(r1.method, "POST");
    // A new transaction gets a new key.
    let other = c.sign_transaction(&ted(), &mut rng).unwrap();
    assert_ne!(other.idempotency_key(), id);
    // Untyped JSON with its own idempotencyKey uses it as the header.
    let j = format!("{{\"idempotencyKey\":\"{id}\",\"detalhes\":{{\"valor\":1}}}}");
    let u = c.sign_json(j.as_bytes(), &mut rng).unwrap();
    assert_eq!(u.idempotency_key(), id);
    assert_eq!(
        u.body(),
        format!("{{\"idempotencyKey\":\"{id}\",\"detalhes\":{{\"valor\":1.00}}}}").as_bytes()
    );
    // ... and one that is not a UUID v4 is refused under the default profile.
    let e = c
        .sign_json(br#"{"idempotencyKey":"k1"}"#, &mut rng)
        .unwrap_err();
    assert_eq!(e.code(), "bmp.idempotency_key.invalid");
}

#[test]
fn typed_validation_names_the_field() {
    let c = client();
    let mut bad = account();
    bad.tipo_conta = 5;
    let cases: Vec<(Transaction, &str)> = vec![
        (
            Transaction::Ted(Transfer {
                conta_origem: bad,
                ..match ted() {
                    Transaction::Ted(t) => t,
                    _ => unreachable!(),
                }
            }),
            "detalhes.contaOrigem.tipoConta",
        ),
        (
            Transaction::Ted(Transfer {
                conta_destino: Account {
                    ispb: Some("1234567".into()),
                    ..account()
                },
                ..match ted() {
                    Transaction::Ted(t) => t,
                    _ => unreachable!(),
                }
            }),
            "detalhes.contaDestino.ispb",
        ),
        (
            Transaction::Ted(Transfer {
                conta_destino: Account {
                    documento_federal: Some("52998224724".into()),
                    ..account()
                },
                ..match ted() {
                    Transaction::Ted(t) => t,
                    _ => unreachable!(),
                }
            }),
            "detalhes.contaDestino.documentoFederal",
        ),
        (
            Transaction::Pix(PixTransfer {
                data_transacao: "2026-11-23".into(),
                conta_origem: account(),
                conta_destino: None,
                valor: Money::from_cents(1),
                chave_pix: "fulano@example".into(),
                tipo_chave: 0,
            }),
            "detalhes.chavePix",
        ),
        (
            Transaction::Pix(PixTransfer {
                data_transacao: "2026-11-23".into(),
                conta_origem: account(),
                conta_destino: None,
                valor: Money::from_cents(1),
                chave_pix: "x".into(),
                tipo_chave: 7,
            }),
            "detalhes.tipoChave",
        ),
        (
            Transaction::Pix(PixTransfer {
                data_transacao: "2026-02-30".into(),
                conta_origem: account(),
                conta_destino: None,
                valor: Money::from_cents(1),
                chave_pix: "fulano@example.com".into(),
                tipo_chave: 3,
            }),
            "detalhes.dataTransacao",
        ),
        (
            Transaction::BoletoPayment(bmp::BoletoPayment {
                data_transacao: "2026-11-23".into(),
                conta_origem: account(),
                linha_digitavel: Some("02168440438964090933253995405692316878012205277".into()),
                valor: Money::from_cents(1),
                ..Default::default()
            }),
            "detalhes.linhaDigitavel",
        ),
        (
            Transaction::PixRefund(bmp::PixRefund {
                data_transacao: "2026-11-23".into(),
                conta_origem: account(),
                conta_destino: account(),
                valor: Money::from_cents(1),
                codigo_movimento: "nope".into(),
            }),
            "detalhes.codigoMovimento",
        ),
    ];
    for (tx, path) in cases {
        let e = c
            .sign_transaction_with_key(&tx, "0f9a3c1e-8b2d-4f6a-9c7e-1d2b3a4c5e6f")
            .unwrap_err();
        assert_eq!(e.code(), "bmp.transaction.invalid_field", "{path}: {e}");
        assert!(e.message().starts_with(path), "{path}: {e}");
    }
    // A boleto: barcode and linha must agree; one of them is required.
    let linha = "02168440438964090933253995405692316878012205275";
    let barcode = "02163168780122052758440489640909335399540569";
    let ok = bmp::BoletoPayment {
        data_transacao: "2026-11-23".into(),
        conta_origem: account(),
        codigo_barras: Some(barcode.into()),
        linha_digitavel: Some(linha.into()),
        valor: Money::from_cents(8012205275),
        data_vencimento: Some("2026-12-01".into()),
    };
    let tx = c
        .sign_transaction_with_key(
            &Transaction::BoletoPayment(ok.clone()),
            "0f9a3c1e-8b2d-4f6a-9c7e-1d2b3a4c5e6f",
        )
        .unwrap();
    let body = String::from_utf8(tx.body().to_vec()).unwrap();
    assert!(body.contains(&format!("\"dataVencimento\":\"2026-12-01\",\"codigoBarras\":\"{barcode}\",\"valor\":80122052.75,\"linhaDigitavel\":\"{linha}\"")), "{body}");
    let none = bmp::BoletoPayment {
        codigo_barras: None,
        linha_digitavel: None,
        ..ok
    };
    assert_eq!(
        c.sign_transaction_with_key(
            &Transaction::BoletoPayment(none),
            "0f9a3c1e-8b2d-4f6a-9c7e-1d2b3a4c5e6f"
        )
        .unwrap_err()
        .code(),
        "bmp.transaction.missing_field"
    );
}

#[test]
fn protected_endpoints() {
    assert_eq!(bmp::PROTECTED_ENDPOINTS.len(), 6);
    assert!(bmp::is_protected_endpoint("/api/Recurso/Tranferir"));
    assert!(bmp::is_protected_endpoint("/api/boleto/pagar/?x=1"));
    assert!(!bmp::is_protected_endpoint("/api/Recurso/Transferir"));
    assert!(!bmp::is_protected_endpoint("/api/Boleto/Consultar"));
}

fn confirm_headers(id: &str) -> Vec<(String, String)> {
    vec![
        (
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        ),
        ("IdempotencyKey".into(), id.into()),
    ]
}

#[test]
fn full_handshake_both_roles() {
    let c = client();
    let server = BmpServer::new(key(), BmpProfile::default());
    let mut rng = selo::rng::seeded([5; 32]);
    let tx = c.sign_transaction(&ted(), &mut rng).unwrap();
    let req = tx.request("https://bmp.example/api/TransferenciaOutroBanco");
    // BMP side accepts the request.
    let accepted = server.check_request(&req.headers, &req.body).unwrap();
    assert_eq!(accepted.idempotency_key, tx.idempotency_key());
    // BMP calls back, .NET-style decimals; the partner confirms.
    let call = server
        .confirmation_request_dotnet(
            &accepted,
            "https://partner.example/confirm",
            &[("X-Partner".into(), "1".into())],
        )
        .unwrap();
    assert_eq!(call.deadline_ms, 5000);
    assert!(
        String::from_utf8(call.request.body.clone())
            .unwrap()
            .ends_with("\"valor\":1345.0}}")
    );
    assert_eq!(call.request.header("X-Partner"), Some("1"));
    let store = tx.clone();
    let lookup = move |k: &str| (k == store.idempotency_key()).then(|| store.body().to_vec());
    let answer = bmp::confirm(
        &key(),
        c.profile(),
        &call.request.headers,
        &call.request.body,
        &lookup,
    );
    assert_eq!(answer.status, 200, "{:?}", answer.error);
    // The partner's hmac covers the exact bytes received (the .NET ones).
    assert_eq!(
        header_value(&answer.headers, "hmac").unwrap(),
        bmp::sign(&key(), &call.request.body, &BmpProfile::default())
    );
    let reply = ReceivedResponse::new(answer.status, answer.headers.clone(), answer.body.clone());
    server.check_confirmation_reply(&call, &reply).unwrap();
    // A reply whose hmac covers other bytes, or a non-200, is 406.
    let plain = server.confirmation_request(&accepted, "https://partner.example/confirm", &[]);
    let e = server.check_confirmation_reply(&plain, &reply).unwrap_err();
    assert_eq!(
        (e.code(), e.http_status()),
        ("bmp.server.confirmation_bad_mac", Some(406))
    );
    let e = server
        .check_confirmation_reply(&call, &ReceivedResponse::new(409, vec![], vec![]))
        .unwrap_err();
    assert_eq!(
        (e.code(), e.http_status()),
        ("bmp.server.confirmation_refused", Some(406))
    );
    let e = server
        .check_confirmation_reply(&call, &ReceivedResponse::new(200, vec![], vec![]))
        .unwrap_err();
    assert_eq!(e.http_status(), Some(406));
    assert_eq!(
        server.confirmation_timed_out(&call).http_status(),
        Some(406)
    );
}

#[test]
fn bmp_side_refusals_are_406() {
    let c = client();
    let server = BmpServer::new(key(), BmpProfile::default());
    let mut rng = selo::rng::seeded([6; 32]);
    let tx = c.sign_transaction(&ted(), &mut rng).unwrap();
    let req = tx.request("u");
    // Tampered body (one amount digit changed) → 406 bad MAC.
    let tampered = String::from_utf8(req.body.clone())
        .unwrap()
        .replace("1345.00", "1346.00")
        .into_bytes();
    let e = server.check_request(&req.headers, &tampered).unwrap_err();
    assert_eq!(
        (e.code(), e.http_status()),
        ("bmp.server.bad_mac", Some(406))
    );
    // Re-serialised (whitespace added) → 406: the MAC is over raw bytes.
    let mut spaced = req.body.clone();
    spaced.insert(1, b' ');
    assert_eq!(
        server
            .check_request(&req.headers, &spaced)
            .unwrap_err()
            .code(),
        "bmp.server.bad_mac"
    );
    let without = |name: &str| -> Vec<(String, String)> {
        req.headers
            .iter()
            .filter(|(n, _)| n != name)
            .cloned()
            .collect()
    };
    for h in ["Content-Type", "IdempotencyKey", "hmac"] {
        let e = server.check_request(&without(h), &req.body).unwrap_err();
        assert_eq!(
            (e.code(), e.http_status()),
            ("bmp.server.missing_header", Some(406)),
            "{h}"
        );
    }
    let mut wrong = req.headers.clone();
    wrong[0].1 = "text/plain".into();
    assert_eq!(
        server.check_request(&wrong, &req.body).unwrap_err().code(),
        "bmp.server.bad_header"
    );
    let mut wrong = req.headers.clone();
    wrong[1].1 = "not-a-uuid".into();
    assert_eq!(
        server.check_request(&wrong, &req.body).unwrap_err().code(),
        "bmp.server.bad_header"
    );
    // Header key differing from the body's idempotencyKey.
    let mut wrong = req.headers.clone();
    wrong[1].1 = selo::encoding::new_guid(&mut rng);
    assert_eq!(
        server.check_request(&wrong, &req.body).unwrap_err().code(),
        "bmp.server.bad_header"
    );
    // A correctly signed body that is not JSON.
    let junk = b"not json".to_vec();
    let mut h = req.headers.clone();
    h[2].1 = bmp::sign(&key(), &junk, &BmpProfile::default());
    let e = server.check_request(&h, &junk).unwrap_err();
    assert_eq!(
        (e.code(), e.http_status()),
        ("bmp.server.malformed_body", Some(406))
    );
    // A different key → bad MAC.
    let other = BmpServer::new(HmacKey::generate(&mut rng), BmpProfile::default());
    assert_eq!(
        other
            .check_request(&req.headers, &req.body)
            .unwrap_err()
            .code(),
        "bmp.server.bad_mac"
    );
}

#[test]
fn confirmation_rejections() {
    let k = key();
    let p = BmpProfile::default();
    let original = br#"{"idempotencyKey":"k1","detalhes":{"valor":100.00,"contaDestino":{"conta":"1"},"itens":[1,2]}}"#.to_vec();
    let o = original.clone();
    let lookup = move |id: &str| (id == "k1").then(|| o.clone());
    let run = |body: &str, headers: Vec<(String, String)>| {
        bmp::confirm(&k, &p, &headers, body.as_bytes(), &lookup)
    };
    let ok = r#"{"detalhes":{"itens":[1,2.0],"contaDestino":{"conta":"1"},"valor":100.0},"idempotencyKey":"k1"}"#;
    let r = run(ok, confirm_headers("k1"));
    assert_eq!(r.status, 200, "{:?}", r.error);
    assert_eq!(
        header_value(&r.headers, "hmac").unwrap(),
        bmp::sign(&k, ok.as_bytes(), &p)
    );
    for (body, path) in [
        (
            r#"{"idempotencyKey":"k1","detalhes":{"valor":100.00,"contaDestino":{"conta":"2"},"itens":[1,2]}}"#,
            "detalhes.contaDestino.conta",
        ),
        (
            r#"{"idempotencyKey":"k1","detalhes":{"valor":100.00,"contaDestino":{"conta":"1"},"itens":[1]}}"#,
            "detalhes.itens[1]",
        ),
        (
            r#"{"idempotencyKey":"k1","detalhes":{"valor":100.00,"contaDestino":{"conta":"1"},"itens":[1,2],"extra":0}}"#,
            "detalhes.extra",
        ),
        (
            r#"{"idempotencyKey":"k1","detalhes":{"contaDestino":{"conta":"1"},"itens":[1,2]}}"#,
            "detalhes.valor",
        ),
        (
            r#"{"idempotencyKey":"k1","detalhes":{"valor":"100.00","contaDestino":{"conta":"1"},"itens":[1,2]}}"#,
            "detalhes.valor",
        ),
    ] {
        let r = run(body, confirm_headers("k1"));
        assert_eq!(
            (r.status, r.error.as_ref().unwrap().code()),
            (409, "bmp.confirm.mismatch"),
            "{body}"
        );
        assert_eq!(r.difference.as_deref(), Some(path), "{body}");
        assert!(String::from_utf8(r.body.clone()).unwrap().contains(path));
    }
    let r = run(ok, vec![("IdempotencyKey".into(), "k1".into())]);
    assert_eq!(
        (r.status, r.error.unwrap().code()),
        (400, "bmp.confirm.missing_header")
    );
    // SPEC §4.5: the IdempotencyKey header is optional when the body
    // carries the key (any case)…
    let r = run(ok, vec![("Content-Type".into(), "application/json".into())]);
    assert_eq!(r.status, 200, "{:?}", r.error);
    let cased = ok.replace("idempotencyKey", "IDEMPOTENCYKEY");
    let r = run(
        &cased,
        vec![("Content-Type".into(), "application/json".into())],
    );
    assert_eq!(r.status, 200, "{:?}", r.error);
    // … and required when it does not.
    let r = run(
        r#"{"detalhes":{}}"#,
        vec![("Content-Type".into(), "application/json".into())],
    );
    assert_eq!(
        (r.status, r.error.unwrap().code()),
        (400, "bmp.confirm.missing_header")
    );
    let r = run(ok, confirm_headers("k2"));
    assert_eq!(
        (r.status, r.error.unwrap().code()),
        (400, "bmp.confirm.bad_header")
    );
    let r = run("{\"idempotencyKey\":\"k1\"", confirm_headers("k1"));
    assert_eq!(
        (r.status, r.error.unwrap().code()),
        (400, "bmp.confirm.malformed_body")
    );
    let r = run(r#"{"idempotencyKey":"k9"}"#, confirm_headers("k9"));
    assert_eq!(
        (r.status, r.error.unwrap().code()),
        (404, "bmp.confirm.unknown_transaction")
    );
}

#[test]
fn confirmation_member_names_case_and_extra_members() {
    let k = key();
    // The original as the partner sent it (lowerCamelCase) and BMP's
    // confirmation as the seed's example writes it (PascalCase, .NET
    // decimals).
    let original = br#"{"idempotencyKey":"k1","dataTransacao":"2026-11-23T10:15:00","valor":1345.00,"contaOrigem":{"agencia":"0001","conta":"123456"},"chavePix":"fulano@example.com"}"#.to_vec();
    let o = original.clone();
    let lookup = move |id: &str| (id == "k1").then(|| o.clone());
    let pascal = r#"{"IdempotencyKey":"k1","DataTransacao":"2026-11-23T10:15:00","Valor":1345.0,"ContaOrigem":{"Agencia":"0001","Conta":"123456"},"ChavePix":"fulano@example.com"}"#;
    let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    let d = BmpProfile::default();
    let r = bmp::confirm(&k, &d, &headers, pascal.as_bytes(), &lookup);
    assert_eq!(r.status, 200, "{:?}", r.error);
    assert_eq!(
        header_value(&r.headers, "hmac").unwrap(),
        bmp::sign(&k, pascal.as_bytes(), &d)
    );
    // Values still compared: a PascalCase body with another amount fails.
    let wrong = pascal.replace("1345.0", "1345.01");
    let r = bmp::confirm(&k, &d, &headers, wrong.as_bytes(), &lookup);
    assert_eq!(r.difference.as_deref(), Some("valor"));
    // Exact case (profile switch): PascalCase is a difference.
    let exact = BmpProfile {
        confirm_exact_case: true,
        ..BmpProfile::default()
    };
    let h = confirm_headers("k1");
    let r = bmp::confirm(&k, &exact, &h, pascal.as_bytes(), &lookup);
    assert_eq!(
        (r.status, r.error.unwrap().code()),
        (409, "bmp.confirm.mismatch")
    );
    // An extra member: a difference by default, accepted with the switch.
    let extra = pascal.replace(r#""ChavePix""#, r#""Observacao":"x","ChavePix""#);
    let r = bmp::confirm(&k, &d, &headers, extra.as_bytes(), &lookup);
    assert_eq!(r.difference.as_deref(), Some("Observacao"));
    let lax = BmpProfile {
        ignore_extra_members: true,
        ..BmpProfile::default()
    };
    let r = bmp::confirm(&k, &lax, &headers, extra.as_bytes(), &lookup);
    assert_eq!(r.status, 200, "{:?}", r.error);
    // A member the confirmation lacks is a difference under every profile.
    let missing = pascal.replace(r#","ChavePix":"fulano@example.com""#, "");
    let r = bmp::confirm(&k, &lax, &headers, missing.as_bytes(), &lookup);
    assert_eq!(r.difference.as_deref(), Some("chavePix"));
    assert_eq!(
        BmpProfile::from_json(r#"{"confirm_exact_case":true,"ignore_extra_members":true}"#)
            .unwrap(),
        BmpProfile {
            confirm_exact_case: true,
            ignore_extra_members: true,
            ..BmpProfile::default()
        }
    );
}

#[test]
fn profile_json_roundtrip_and_defaults() {
    let d = BmpProfile::default();
    assert_eq!(BmpProfile::from_json("{}").unwrap(), d);
    assert_eq!(BmpProfile::from_json(&d.to_json()).unwrap(), d);
    let p = BmpProfile::from_json(
        r#"{"mac_encoding":"base64","relaxed_key":true,"money_format":"dotnet"}"#,
    )
    .unwrap();
    assert_eq!(p.mac_encoding, MacEncoding::Base64);
    assert!(p.relaxed_key && p.accepts_base64());
    assert_eq!(
        BmpProfile::from_json(r#"{"mac_encodin":"base64"}"#)
            .unwrap_err()
            .code(),
        "bmp.profile.invalid"
    );
    assert_eq!(d.confirm_timeout_ms, 5000);
    assert_eq!(d.mac_encoding, MacEncoding::LowercaseHex);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let p = BmpProfile::default();
        let _ = bmp::canonical::canonical_from_text(&bytes, &p);
        let _ = bmp::json::parse(&bytes);
        let s = String::from_utf8_lossy(&bytes);
        let _ = Money::parse(&s);
        let _ = bmp::decode_mac(&s, &BmpProfile { accept_base64: true, ..Default::default() });
        let _ = bmp::decimal_eq(&s, "1");
        let lookup = |_: &str| Some(bytes.clone());
        let _ = bmp::confirm(&key(), &p, &confirm_headers("x"), &bytes, &lookup);
        let server = BmpServer::new(key(), p.clone());
        let _ = server.check_request(&confirm_headers("x"), &bytes);
    }

    #[test]
    fn json_like_text_never_panics(s in "[\\[\\]{}\",:0-9eE.+\\-a-z\\\\ ]{0,80}") {
        let _ = bmp::canonical::canonical_from_text(s.as_bytes(), &BmpProfile::default());
        let _ = bmp::decimal_eq(&s, &s);
    }

    #[test]
    fn money_text_roundtrips(cents in any::<u64>()) {
        let m = Money::from_cents(cents);
        prop_assert_eq!(Money::parse(&m.to_json_text()).unwrap(), m);
        prop_assert!(bmp::decimal_eq(&m.to_json_text(), &m.format(MoneyFormat::Dotnet)));
    }

    #[test]
    fn canonical_is_idempotent(text in "\\{(\"[a-z]{1,3}\":(\"[^\"\\\\]{0,5}\"|[0-9]{1,4}|true|null),){0,4}\"valor\":[0-9]{1,6}(\\.[0-9]{1,2})?\\}") {
        let p = BmpProfile::default();
        let once = bmp::canonical::canonical_from_text(text.as_bytes(), &p);
        if let Ok(once) = once {
            prop_assert_eq!(bmp::canonical::canonical_from_text(&once, &p).unwrap(), once);
        }
    }
}

/// `{"m0":0,"m1":0,…}` with `n` members.
fn wide_object(n: usize) -> Vec<u8> {
    let mut s = String::with_capacity(n * 12);
    s.push('{');
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!("\"m{i}\":0"));
    }
    s.push('}');
    s.into_bytes()
}

#[test]
fn hostile_json_is_bounded() {
    use selo::bmp::json::{MAX_MEMBERS, parse};
    use std::time::{Duration, Instant};
    // 50 000 members (no MAC protects the confirmation endpoint): refused
    // by the member cap, fast. With the old pairwise duplicate check this
    // body took ~1.25e9 string comparisons.
    let body = wide_object(50_000);
    let t = Instant::now();
    let e = parse(&body).unwrap_err();
    assert!(e.message.contains("more than"), "{e}");
    // The confirmation endpoint answers it as a malformed body.
    let lookup = |_: &str| None;
    let r = bmp::confirm(
        &key(),
        &BmpProfile::default(),
        &confirm_headers("k1"),
        &body,
        &lookup,
    );
    assert_eq!(r.error.unwrap().code(), "bmp.confirm.malformed_body");
    let refused = t.elapsed();
    // Up to the cap, parsing is linear: MAX_MEMBERS members take well
    // under a second even unoptimised (pairwise: ~5e7 comparisons).
    let t = Instant::now();
    let v = parse(&wide_object(MAX_MEMBERS)).unwrap();
    let parsed = t.elapsed();
    match v {
        bmp::json::JsonValue::Object(m) => assert_eq!(m.len(), MAX_MEMBERS),
        other => panic!("{other:?}"),
    }
    println!("50 000 members refused in {refused:?}; {MAX_MEMBERS} members parsed in {parsed:?}");
    assert!(refused < Duration::from_secs(2), "{refused:?}");
    assert!(parsed < Duration::from_secs(2), "{parsed:?}");
    // A duplicate at the end of a wide object is still found.
    let mut dup = wide_object(MAX_MEMBERS - 1);
    dup.pop();
    dup.extend_from_slice(br#","m0":1}"#);
    assert!(parse(&dup).unwrap_err().message.contains("duplicate"));
}

#[test]
fn body_size_limits_on_bmp_server_roles() {
    let k = key();
    let small = BmpProfile {
        max_body_bytes: 64,
        ..BmpProfile::default()
    };
    assert_eq!(BmpProfile::default().max_body_bytes, 1 << 20);
    let body = format!(r#"{{"idempotencyKey":"k1","x":"{}"}}"#, "a".repeat(64));
    let o = body.clone().into_bytes();
    let lookup = move |id: &str| (id == "k1").then(|| o.clone());
    let r = bmp::confirm(&k, &small, &confirm_headers("k1"), body.as_bytes(), &lookup);
    assert_eq!(
        (r.status, r.error.unwrap().code()),
        (413, "bmp.confirm.body_too_large")
    );
    let r = bmp::confirm(
        &k,
        &BmpProfile::default(),
        &confirm_headers("k1"),
        body.as_bytes(),
        &lookup,
    );
    assert_eq!(r.status, 200, "{:?}", r.error);
    let server = BmpServer::new(k.clone(), small);
    let e = server
        .check_request(&confirm_headers("k1"), body.as_bytes())
        .unwrap_err();
    assert_eq!(
        (e.code(), e.http_status()),
        ("bmp.server.body_too_large", Some(406))
    );
}
