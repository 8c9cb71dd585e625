use super::*;
use serde_json::json;

pub(crate) fn sample() -> Value {
    json!({
        "agencia": 200, "conta": 1234567,
        "documento": {
            "nossoNumero": 123456789, "seuNumero": "0000004021", "especie": "01",
            "dataVencimento": "2026-12-31", "valor": 1500000, "codigoMoeda": 0,
            "qtdDiasProtesto": 5, "identificacaoAceite": "N",
            "desconto": {"data": "2026-12-20", "valor": 12345},
            "multa": {"juros": 1.5, "data": "2027-01-01", "taxa": 2.0},
            "campoLivre": "pedido 42", "taxaFidc": 1.25,
            "danfe": "35200114200166000187550010000000046550010001",
            "pagador": {"nome": "José da Silva", "tipoPessoa": 1, "numeroDocumento": 12345678909_u64,
                        "email": "jose@example.com",
                        "endereco": {"nome": "Av. Paulista, 2000", "bairro": "Bela Vista", "cidade": "São Paulo", "uf": "SP", "cep": 1310100}},
            "beneficiario": {"nome": "Contoso SA", "tipoPessoa": 2, "numeroDocumento": 11222333000181_u64},
            "mensagens": [{"posicao": 1, "descricao": "Não receber após o vencimento"}]
        }
    })
}

fn with(path: &str, value: Value) -> Value {
    let mut v = sample();
    let mut cur = &mut v;
    let segs: Vec<&str> = path.split('.').collect();
    for seg in &segs[..segs.len() - 1] {
        cur = cur.get_mut(*seg).unwrap();
    }
    let last = segs[segs.len() - 1];
    if value.is_null() {
        cur.as_object_mut().unwrap().remove(last);
    } else {
        cur[last] = value;
    }
    v
}

#[test]
fn sample_is_valid_and_round_trips_in_table_order() {
    let req = BoletoRequest::from_value(&sample()).unwrap();
    assert_eq!(req.documento.valor, 1_500_000);
    let out = req.to_json();
    let keys: Vec<&String> = out["documento"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys[..4],
        ["nossoNumero", "seuNumero", "especie", "dataVencimento"]
    );
    assert_eq!(BoletoRequest::from_value(&out).unwrap(), req);
}

#[test]
fn every_rule_names_its_field() {
    let long = |n: usize| Value::String("x".repeat(n));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("documento.valor", Value::Null, "safra.boleto.missing_field"),
        (
            "documento.pagador.endereco.cep",
            Value::Null,
            "safra.boleto.missing_field",
        ),
        ("documento.multa", Value::Null, "safra.boleto.missing_field"),
        ("documento.seuNumero", long(11), "safra.boleto.too_long"),
        ("documento.campoLivre", long(26), "safra.boleto.too_long"),
        ("documento.pagador.nome", long(41), "safra.boleto.too_long"),
        ("documento.pagador.email", long(51), "safra.boleto.too_long"),
        (
            "documento.pagador.endereco.nome",
            long(41),
            "safra.boleto.too_long",
        ),
        (
            "documento.pagador.endereco.bairro",
            long(11),
            "safra.boleto.too_long",
        ),
        (
            "documento.pagador.endereco.cidade",
            long(16),
            "safra.boleto.too_long",
        ),
        (
            "documento.beneficiario.nome",
            long(31),
            "safra.boleto.too_long",
        ),
        (
            "documento.mensagens",
            json!([{"posicao": 1, "descricao": "x".repeat(73)}]),
            "safra.boleto.too_long",
        ),
        (
            "documento.danfe",
            json!("123"),
            "safra.boleto.invalid_value",
        ),
        (
            "documento.pagador.endereco.uf",
            json!("XX"),
            "safra.boleto.invalid_value",
        ),
        (
            "documento.especie",
            json!("04"),
            "safra.boleto.invalid_value",
        ),
        (
            "documento.codigoMoeda",
            json!(9),
            "safra.boleto.invalid_value",
        ),
        (
            "documento.identificacaoAceite",
            json!("S"),
            "safra.boleto.invalid_value",
        ),
        (
            "documento.pagador.tipoPessoa",
            json!(3),
            "safra.boleto.invalid_value",
        ),
        (
            "documento.mensagens",
            json!([{"posicao": 3, "descricao": "x"}]),
            "safra.boleto.invalid_value",
        ),
        (
            "documento.mensagens",
            json!([{"posicao": 1, "descricao": "a"}, {"posicao": 1, "descricao": "b"}, {"posicao": 2, "descricao": "c"}, {"posicao": 2, "descricao": "d"}, {"posicao": 1, "descricao": "e"}]),
            "safra.boleto.invalid_value",
        ),
        (
            "documento.pagador.numeroDocumento",
            json!(12345678900_u64),
            "safra.boleto.invalid_document",
        ),
        (
            "documento.beneficiario.numeroDocumento",
            json!(11222333000182_u64),
            "safra.boleto.invalid_document",
        ),
        (
            "documento.dataVencimento",
            json!("2026-02-30"),
            "safra.boleto.invalid_date",
        ),
        (
            "documento.dataVencimento",
            json!("31/12/2026"),
            "safra.boleto.invalid_date",
        ),
        (
            "documento.desconto.data",
            json!("2026-13-01"),
            "safra.boleto.invalid_date",
        ),
        (
            "documento.valor",
            json!(15000.5),
            "safra.boleto.invalid_value",
        ),
        ("documento.valor", json!(-1), "safra.boleto.invalid_value"),
    ];
    for (path, value, code) in cases {
        let e = BoletoRequest::from_value(&with(path, value.clone())).unwrap_err();
        assert_eq!(e.code(), code, "{path} = {value}: {e}");
        let field = path.rsplit('.').next().unwrap();
        assert!(
            e.message().contains(field) || code == "safra.boleto.invalid_value",
            "{path}: {e}"
        );
    }
}

#[test]
fn dates() {
    assert!(is_real_date("2024-02-29"));
    assert!(!is_real_date("2025-02-29"));
    assert!(!is_real_date("1900-02-29"));
    assert!(is_real_date("2000-02-29"));
    assert!(!is_real_date("2026-1-01"));
    assert!(!is_real_date("2026-01-0a"));
}

#[test]
fn replies_are_parsed_leniently_and_kept_whole() {
    let v = json!({"STATUSPROCESSAMENTO": {"Codigo": "0", "mensagem": "ok"},
                   "documento": {"nossonumero": 123456789012345_u64, "seuNumero": "0000004021", "codigoBarras": "4229", "extra": 1},
                   "outro": true});
    let r = BoletoReply::from_value(&v).unwrap();
    assert_eq!(
        r.status_processamento.unwrap(),
        StatusProcessamento {
            codigo: Some(0),
            mensagem: "ok".into()
        }
    );
    let d = r.documento.unwrap();
    assert_eq!(d.nosso_numero.as_deref(), Some("123456789012345"));
    assert_eq!(d.codigo_barras.as_deref(), Some("4229"));
    assert_eq!(r.raw["outro"], true);
    assert_eq!(
        BoletoReply::from_value(&json!([1])).unwrap_err().code(),
        "safra.message.malformed"
    );
}

#[test]
fn query_message() {
    let q = BoletoQuery {
        nosso_numero: "123456789012345".into(),
        seu_numero: "0000004021".into(),
    };
    q.validate().unwrap();
    assert_eq!(
        q.to_json().to_string(),
        r#"{"documento":{"nossoNumero":"123456789012345","seuNumero":"0000004021"}}"#
    );
    assert_eq!(BoletoQuery::from_value(&q.to_json()).unwrap(), q);
    let long = BoletoQuery {
        nosso_numero: "1".repeat(16),
        seu_numero: "1".into(),
    };
    assert_eq!(long.validate().unwrap_err().code(), "safra.boleto.too_long");
}

#[test]
fn unknown_members_and_wrong_types_are_refused_with_their_path() {
    let sample: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/safra/boleto-sample.json"
    )))
    .unwrap();
    assert!(BoletoRequest::from_value(&sample).is_ok());
    // A member in the wrong case is an unknown member, never ignored.
    let mut v = sample.clone();
    v["documento"]["campolivre"] = Value::String("x".into());
    let e = BoletoRequest::from_value(&v).unwrap_err();
    assert_eq!(e.code(), "safra.boleto.invalid_value");
    assert!(
        e.message().starts_with("documento.campolivre: "),
        "{}",
        e.message()
    );
    assert!(e.message().contains("unknown field"), "{}", e.message());
    let mut v = sample.clone();
    v["documento"]["mensagem"] = Value::String("x".into());
    let e = BoletoRequest::from_value(&v).unwrap_err();
    assert!(
        e.message().starts_with("documento.mensagem: "),
        "{}",
        e.message()
    );
    let mut v = sample.clone();
    v["documento"]["pagador"]["endereco"]["cep"] = Value::String("01310100".into());
    let e = BoletoRequest::from_value(&v).unwrap_err();
    assert!(
        e.message()
            .starts_with("documento.pagador.endereco.cep: invalid type: string"),
        "{}",
        e.message()
    );
}
