"""BMP typed bodies against hand-written JSON taken from the seed's field
tables (../shared/seeds/bmp-hmac-handshake.txt, "Referências para o body das
requisições de handshake") — not from selo's output.

For each of the five transaction kinds the expected body below was typed
from the seed's table: the root members (``idempotencyKey``, ``detalhes``),
then ``detalhes``' members in the table's order, each account's members in
the table's order, the seed's types (string / integer / decimal with
exactly two fraction digits, SPEC §4.1), and the ``tipoTransacao`` text the
table quotes. Member names are the table's in lowerCamelCase (SPEC §4.3:
the seed's tables write some of them capitalised — ``Agencia``, ``Conta``,
``Nome``, ``Ispb``, ``Valor`` — and SPEC decides lowerCamelCase).

Where the seed leaves a gap, the expectation says so next to it:
- TED's ``tipoTransacao``: the TED table repeats the boleto table's
  ``"Pagamento de Boleto"`` (a copy of the boleto row); the seed's own body
  example writes ``"EnvioTED"``;
- TED's ``contaDestino`` lists only agencia, agenciaDigito, conta,
  contaDigito, tipoConta and nome;
- the internal transfer's ``contaDestino`` has no member list; the
  expectation uses the same members as ``contaOrigem``.
"""

import datetime
import hmac as std_hmac
import hashlib
import json
import re
from decimal import Decimal

import pytest

from selo import bmp

KEY = "k" * 64 + "K" * 32 + "0123456789" * 3 + "ab"  # 128 alphanumeric characters (the seed's rule)
IK = "3c5e2b1a-9d4f-4e8a-b7c6-1f2e3d4c5b6a"
WHEN = "2026-11-23T10:15:00"


# ---- a boleto barcode and its linha digitável, built here from FEBRABAN's rules -----------


def mod10(digits: str) -> int:
    total, w = 0, 2
    for ch in reversed(digits):
        p = int(ch) * w
        total += p // 10 + p % 10
        w = 1 if w == 2 else 2
    return (10 - total % 10) % 10


def mod11_barcode(digits43: str) -> int:
    total, w = 0, 2
    for ch in reversed(digits43):
        total += int(ch) * w
        w = 2 if w == 9 else w + 1
    dv = 11 - total % 11
    return 1 if dv in (0, 10, 11) else dv


def barcode(bank: str, due: datetime.date, cents: int, free: str) -> str:
    # due-date factor: 1000 on 2025-02-22 (the factor's 2025 restart)
    factor = 1000 + (due - datetime.date(2025, 2, 22)).days
    body = f"{bank}9{factor:04d}{cents:010d}{free}"
    assert len(body) == 43
    return body[:4] + str(mod11_barcode(body)) + body[4:]


def linha(code: str) -> str:
    c1 = code[0:4] + code[19:24]
    c2 = code[24:34]
    c3 = code[34:44]
    return c1 + str(mod10(c1)) + c2 + str(mod10(c2)) + c3 + str(mod10(c3)) + code[4] + code[5:19]


BARCODE = barcode("001", datetime.date(2026, 12, 31), 134583, "0000001234567890123456789")
LINHA = linha(BARCODE)
assert len(BARCODE) == 44 and len(LINHA) == 47


# ---- the expected bodies, typed from the seed's tables -------------------------------------

ORIGEM = ('{"agencia":"0001","agenciaDigito":"1","conta":"1234567","contaDigito":"8","tipoConta":1,'
          '"documentoFederal":"52998224725","nome":"Titular Origem","numeroBanco":274,"ispb":"13370835"}')
DESTINO = ('{"agencia":"1234","agenciaDigito":"5","conta":"987654","contaDigito":"3","tipoConta":2,'
           '"documentoFederal":"11222333000181","nome":"Destino SA","numeroBanco":1,"ispb":"00000000"}')
# TED table: contaDestino has agencia, agenciaDigito, conta, contaDigito, tipoConta, nome.
DESTINO_TED = '{"agencia":"1234","agenciaDigito":"5","conta":"987654","contaDigito":"3","tipoConta":2,"nome":"Destino SA"}'

EXPECTED = {
    "boleto": (
        '{"idempotencyKey":"IK","detalhes":{"tipoTransacao":"Pagamento de Boleto","dataTransacao":"WHEN",'
        '"contaOrigem":ORIGEM,"dataVencimento":"2026-12-31","codigoBarras":"BARCODE","valor":1345.83,'
        '"linhaDigitavel":"LINHA"}}'
    ),
    "ted": (
        '{"idempotencyKey":"IK","detalhes":{"tipoTransacao":"TED_TIPO","dataTransacao":"WHEN",'
        '"contaOrigem":ORIGEM,"contaDestino":DESTINO_TED,"valor":1345.00}}'
    ),
    "internal": (
        '{"idempotencyKey":"IK","detalhes":{"tipoTransacao":"Transferência Interna","dataTransacao":"WHEN",'
        '"contaOrigem":ORIGEM,"contaDestino":DESTINO,"valor":0.50}}'
    ),
    "pix": (
        '{"idempotencyKey":"IK","detalhes":{"tipoTransacao":"Pix","dataTransacao":"WHEN",'
        '"contaOrigem":ORIGEM,"contaDestino":DESTINO,"valor":100.10,"chavePix":"fulano@example.com",'
        '"tipoChave":3}}'
    ),
    "pix_refund": (
        '{"idempotencyKey":"IK","detalhes":{"tipoTransacao":"Devolução Pix","dataTransacao":"WHEN",'
        '"contaOrigem":ORIGEM,"contaDestino":DESTINO,"valor":25.00,'
        '"codigoMovimento":"9b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d"}}'
    ),
}

#: The seed's endpoint per kind ("/api/Recurso/Tranferir" sic).
ENDPOINT = {
    "boleto": "/api/Boleto/Pagar",
    "ted": "/api/TransferenciaOutroBanco",
    "internal": "/api/TransferenciaEntreContas",
    "pix": "/api/Recurso/Tranferir",
    "pix_refund": "/api/Recurso/Devolver",
}

#: The two values the seed attests for TED's tipoTransacao (see the module docstring).
TED_TIPOS = ("Pagamento de Boleto", "EnvioTED")


def expected_text(kind: str, ted_tipo: str = TED_TIPOS[0]) -> str:
    t = EXPECTED[kind]
    for name, value in (("DESTINO_TED", DESTINO_TED), ("ORIGEM", ORIGEM), ("DESTINO", DESTINO),
                        ("BARCODE", BARCODE), ("LINHA", LINHA), ("WHEN", WHEN), ("IK", IK),
                        ("TED_TIPO", ted_tipo)):
        t = t.replace(name, value)
    return t


# ---- the same transactions with selo's typed builders --------------------------------------


def origem():
    return bmp.Account("0001", "1234567", 1, agencia_digito="1", conta_digito="8",
                       documento_federal="52998224725", nome="Titular Origem", numero_banco=274, ispb="13370835")


def destino():
    return bmp.Account("1234", "987654", 2, agencia_digito="5", conta_digito="3",
                       documento_federal="11222333000181", nome="Destino SA", numero_banco=1, ispb="00000000")


def destino_ted():
    return bmp.Account("1234", "987654", 2, agencia_digito="5", conta_digito="3", nome="Destino SA")


def build(kind):
    if kind == "boleto":
        return bmp.BoletoPayment(WHEN, origem(), Decimal("1345.83"), codigo_barras=BARCODE, linha_digitavel=LINHA,
                                 data_vencimento="2026-12-31")
    if kind == "ted":
        return bmp.Ted(WHEN, origem(), destino_ted(), Decimal("1345"))
    if kind == "internal":
        return bmp.InternalTransfer(WHEN, origem(), destino(), "0.5")
    if kind == "pix":
        return bmp.Pix(WHEN, origem(), Decimal("100.1"), "fulano@example.com", 3, conta_destino=destino())
    if kind == "pix_refund":
        return bmp.PixRefund(WHEN, origem(), destino(), 2500, "9b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d")
    raise AssertionError(kind)


def shape(text: str):
    """(path, JSON type, number text) for every member in order — names, order and types."""
    out = []

    def walk(v, path):
        if isinstance(v, list) and (not v or isinstance(v[0], tuple)):  # an object as pairs
            for k, x in v:
                walk(x, f"{path}.{k}")
        elif isinstance(v, str):
            out.append((path, "string", None))
        elif isinstance(v, bool):
            out.append((path, "boolean", None))
        elif isinstance(v, int):
            out.append((path, "integer", None))
        elif isinstance(v, Decimal):
            out.append((path, "decimal", str(v)))
        else:
            out.append((path, type(v).__name__, None))

    walk(json.loads(text, object_pairs_hook=list, parse_float=Decimal), "$")
    return out


def signed(kind):
    return bmp.Signer(KEY).sign_transaction(build(kind), IK)


@pytest.mark.parametrize("kind", ["boleto", "internal", "pix", "pix_refund"])
def test_typed_body_is_the_seed_tables_body_byte_for_byte(kind):
    s = signed(kind)
    want = expected_text(kind)
    got = s.body.decode("utf-8")
    assert shape(got) == shape(want), f"{kind}: member names, order or types differ from the seed's table"
    assert got == want


def test_ted_body_follows_the_seed_table():
    s = signed("ted")
    got = s.body.decode("utf-8")
    tipo = json.loads(got)["detalhes"]["tipoTransacao"]
    assert tipo in TED_TIPOS, f"TED tipoTransacao {tipo!r} is neither of the seed's {TED_TIPOS}"
    want = expected_text("ted", tipo)
    assert shape(got) == shape(want), "TED: member names, order or types differ from the seed's table"
    assert got == want


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_money_is_a_json_number_with_exactly_two_fraction_digits(kind):
    body = signed(kind).body.decode("utf-8")
    valor = [t for p, ty, t in shape(body) if p == "$.detalhes.valor" and ty == "decimal"]
    assert len(valor) == 1 and len(valor[0].split(".")[1]) == 2, body
    outside_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', body)
    assert not re.search(r"\s", outside_strings), f"whitespace outside strings: {body}"


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_endpoint_headers_and_mac_follow_the_seed(kind):
    s = signed(kind)
    assert s.endpoint == ENDPOINT[kind]
    assert s.idempotency_key == IK
    h = {k.lower(): v for k, v in s.headers}
    assert h["content-type"] == "application/json"
    assert h["idempotencykey"] == IK
    want = std_hmac.new(KEY.encode(), s.body, hashlib.sha512).hexdigest()
    assert s.hmac == want and h["hmac"] == want


def test_the_boleto_helpers_agree_with_the_external_identifier_vectors():
    """The barcode/linha helpers above reproduce the npm boleto libraries' pairs."""
    from conftest import vec

    pairs = [c for c in vec("external/br/identifiers.json")["boleto_bancario"] if c.get("valid") and
             c.get("codigo_barras")]
    assert pairs
    for c in pairs:
        assert linha(c["codigo_barras"]) == c["linha_digitavel"], c
        assert mod11_barcode(c["codigo_barras"][:4] + c["codigo_barras"][5:]) == int(c["codigo_barras"][4])


def test_the_expectations_can_fail():
    """A changed member, order or type must show in the comparison."""
    good = expected_text("pix")
    assert shape(good.replace('"tipoChave":3', '"tipoChave":"3"')) != shape(good)
    assert shape(good.replace('"valor":100.10', '"Valor":100.10')) != shape(good)
    swapped = good.replace('"chavePix":"fulano@example.com","tipoChave":3', '"tipoChave":3,"chavePix":"fulano@example.com"')
    assert shape(swapped) != shape(good)
    assert mod11_barcode(BARCODE[:4] + BARCODE[5:]) == int(BARCODE[4])
