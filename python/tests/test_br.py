"""Brazilian identifiers: every case of the external vectors."""

import pytest

import selo
from selo import br
from conftest import vec

V = vec("external/br/identifiers.json")


def test_cpf():
    assert len(V["cpf"]) == 55
    for c in V["cpf"]:
        assert br.is_valid_cpf(c["value"]) == c["valid"], c
        if c["valid"]:
            n = br.normalize_cpf(c["value"])
            assert br.is_valid_cpf(br.format_cpf(n)) and br.parse_document(c["value"]).kind == "cpf"
            assert br.cpf_check_digits(n[:9]) == n[9:]
        else:
            with pytest.raises(selo.BrError) as ei:
                br.normalize_cpf(c["value"])
            assert ei.value.code in ("br.cpf.invalid", "br.format")


def test_cnpj_numeric_and_alphanumeric():
    for c in V["cnpj"] + V["cnpj_alphanumeric"]:
        assert br.is_valid_cnpj(c["value"]) == c["valid"], c
        assert br.is_valid_document(c["value"]) == c["valid"]
        if c["valid"]:
            n = br.normalize_cnpj(c["value"])
            assert br.cnpj_check_digits(n[:12]) == n[12:]
            if "formatted" in c:
                assert br.format_cnpj(n) == c["formatted"]
            assert br.parse_document(c["value"]) == br.Document("cnpj", n)
        else:
            with pytest.raises(selo.BrError):
                br.parse_document(c["value"])


def test_boleto_bancario():
    assert len(V["boleto_bancario"]) == 20
    for c in V["boleto_bancario"]:
        linha = c["linha_digitavel"]
        assert br.is_valid_linha_digitavel(linha) == c["valid"], linha
        if not c["valid"]:
            with pytest.raises(selo.BrError) as ei:
                br.parse_boleto(linha)
            assert ei.value.code == "br.boleto.check_digit"
            continue
        b = br.parse_boleto(linha)
        assert b.barcode == c["codigo_barras"] and b.linha_digitavel == linha
        assert b.amount_cents == c["amount_cents"] and b.bank == c["bank"] and b.kind == "bank"
        assert br.linha_to_barcode(linha) == c["codigo_barras"]
        assert br.barcode_to_linha(c["codigo_barras"]) == linha
        assert br.is_valid_barcode(c["codigo_barras"])


def test_pix_keys():
    for c in V["pix_keys"]:
        k = br.detect_pix_key(c["key"])
        if c["valid"]:
            assert (k.kind, k.value) == (c["info"]["type"], c["info"]["value"])
            assert br.validate_pix_key(k.kind, c["key"]).value == c["info"]["value"]
            assert br.pix_key_type(k.code) == k.kind
        else:
            assert k is None
    with pytest.raises(selo.BrError) as ei:
        br.pix_key_type(7)
    assert ei.value.code == "br.pix_key.type"
    with pytest.raises(selo.BrError) as ei:
        br.validate_pix_key("email", "nope")
    assert ei.value.code == "br.pix_key.invalid"


def test_ispb_and_dates():
    assert br.is_valid_ispb("13370835") and not br.is_valid_ispb("1337083")
    with pytest.raises(selo.BrError) as ei:
        br.validate_ispb("abc")
    assert ei.value.code == "br.ispb.invalid"
    f = br.factor_for_date("2026-12-31")
    assert br.due_date_for_factor(f, "2026-12-01") == "2026-12-31"
    bc = br.bank_barcode("422", 9, f, 1500000, "0" * 25)
    assert br.is_valid_barcode(bc) and br.parse_boleto(bc).due_date_factor == f
    with pytest.raises(ValueError):
        br.factor_for_date("2026-02-30")
