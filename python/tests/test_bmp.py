"""BMP: vectors, stdlib hmac interop, typed transactions, the sender with a
stable IdempotencyKey, the confirmation endpoint (plain, WSGI, ASGI), and a
BMP side end to end over httpx."""

import asyncio
import hashlib
import hmac as std_hmac
import json
from decimal import Decimal

import httpx
import pytest

import selo
from selo import bmp
from conftest import vec


def test_external_hmac_vectors_and_stdlib_interop():
    v = vec("external/bmp/hmac.json")
    for c in v["cases"]:
        body = c["body"].encode()
        assert bmp.hmac(v["key"], body) == c["hmac_hex"]
        assert bmp.hmac(v["key"], body, profile={"mac_encoding": "base64"}) == c["hmac_base64"]
        assert std_hmac.new(v["key"].encode(), body, hashlib.sha512).hexdigest() == c["hmac_hex"]
        bmp.verify(v["key"], body, c["hmac_hex"].upper())
        with pytest.raises(selo.BmpError) as ei:
            bmp.verify(v["key"], body + b" ", c["hmac_hex"])
        assert ei.value.code == "bmp.mac.mismatch"
    for c in v["rfc4231_hmac_sha512"]:
        key = bytes.fromhex(c["key_hex"])
        assert std_hmac.new(key, bytes.fromhex(c["data_hex"]), hashlib.sha512).hexdigest() == c["hmac_sha512_hex"]


def test_external_money_vectors():
    for c in vec("external/bmp/money.json")["cases"]:
        if "cents" in c:
            assert selo.cents(c["cents"]) == Decimal(c["json"])
            assert str(selo.cents(c["cents"])) == c["json"]
            assert selo.to_cents(c["cents"]) == c["cents"]
        elif "error" in c:
            with pytest.raises(selo.BmpError) as ei:
                selo.to_cents(c["decimal"])
            assert ei.value.code == c["error"]
        else:
            assert str(selo.cents(selo.to_cents(Decimal(c["decimal"])))) == c["json"]
    with pytest.raises(TypeError, match="float"):
        selo.to_cents(13.45)


def test_external_confirm_vectors():
    v = vec("external/bmp/confirm.json")
    for c in v["cases"]:
        orig = json.loads(c.get("original") or c["received"])
        h = [("Content-Type", "application/json"), ("IdempotencyKey", orig["idempotencyKey"])]
        known = {} if c["status"] == 404 else {orig["idempotencyKey"]: c["original"].encode()}
        r = bmp.confirm(v["key"], h, c["received"].encode(), known, profile={"idempotency_key_uuid_v4": False})
        if c["status"] == "reject":
            assert not r.confirmed and 400 <= r.status < 500 and r.difference == c["first_difference"]
            assert dict(r.headers).get("hmac") is None
        else:
            assert r.status == c["status"], c
        if c["status"] == 200:
            assert dict(r.headers)["hmac"] == c["hmac_hex"]


def test_own_canonical_vectors():
    v = vec("bmp/canonical.json")
    prof = {"money_fields": v["money_fields"]}
    for c in v["cases"]:
        if "error" in c:
            with pytest.raises(selo.BmpError) as ei:
                bmp.canonical(c["input"], profile=prof)
            assert ei.value.code == c["error"], c
            continue
        body = bmp.canonical(c["input"], profile=prof)
        assert body == c["body"].encode()
        assert bmp.to_dotnet(body, profile=prof) == c["body_dotnet"].encode()
        assert bmp.hmac(v["key"], body, profile=prof) == c["hmac_hex"]


def _account(d):
    return bmp.Account(agencia=d["agencia"], conta=d["conta"], tipo_conta=d["tipoConta"],
                       agencia_digito=d.get("agenciaDigito"), conta_digito=d.get("contaDigito"),
                       documento_federal=d.get("documentoFederal"), nome=d.get("nome"),
                       numero_banco=d.get("numeroBanco"), ispb=d.get("ispb"))


def _typed(kind, det):
    valor = Decimal(str(det["valor"]))
    o = _account(det["contaOrigem"])
    if kind == "boleto_payment":
        return bmp.BoletoPayment(det["dataTransacao"], o, valor, codigo_barras=det.get("codigoBarras"),
                                 linha_digitavel=det.get("linhaDigitavel"), data_vencimento=det.get("dataVencimento"))
    if kind in ("ted", "internal_transfer"):
        cls = bmp.Ted if kind == "ted" else bmp.InternalTransfer
        return cls(det["dataTransacao"], o, _account(det["contaDestino"]), valor)
    if kind == "pix":
        return bmp.Pix(det["dataTransacao"], o, valor, det["chavePix"], det["tipoChave"],
                       conta_destino=_account(det["contaDestino"]) if "contaDestino" in det else None)
    return bmp.PixRefund(det["dataTransacao"], o, _account(det["contaDestino"]), valor, det["codigoMovimento"])


def test_typed_transactions_rebuild_the_signature_vectors_byte_for_byte():
    v = vec("bmp/signatures.json")
    signer = bmp.Signer(v["key"])
    assert len(v["cases"]) == 5
    for c in v["cases"]:
        det = json.loads(c["body"], parse_float=Decimal)["detalhes"]
        s = signer.sign_transaction(_typed(c["kind"], det), c["idempotency_key"])
        assert s.body == c["body"].encode(), c["kind"]
        assert s.hmac == c["hmac_hex"] and s.endpoint == c["endpoint"]
        assert dict(s.headers) == {"Content-Type": "application/json", "IdempotencyKey": c["idempotency_key"],
                                   "hmac": c["hmac_hex"]}
        assert std_hmac.new(v["key"].encode(), s.body, hashlib.sha512).hexdigest() == c["hmac_hex"]
        up = bmp.Signer(v["key"], profile={"mac_encoding": "uppercase-hex"})
        assert up.sign_transaction(_typed(c["kind"], det), c["idempotency_key"]).hmac == c["hmac_upper_hex"]
        # int cents and str give the same bytes as Decimal
        cents = selo.to_cents(Decimal(str(det["valor"])))
        t = _typed(c["kind"], det)
        t.valor = cents
        assert signer.sign_transaction(t, c["idempotency_key"]).body == s.body
        t.valor = 12.5
        with pytest.raises(TypeError):
            signer.sign_transaction(t, c["idempotency_key"])


def test_typed_validation_errors_name_the_path():
    signer = bmp.Signer(bmp.generate_key())
    acc = bmp.Account("0001", "1234567", 1, documento_federal="52998224725")
    with pytest.raises(selo.BmpError) as ei:
        signer.sign_transaction(bmp.Pix("2026-11-23", acc, Decimal("1.00"), "not-an-email", 3))
    assert ei.value.code == "bmp.transaction.invalid_field" and "chavePix" in ei.value.message
    with pytest.raises(selo.BmpError) as ei:
        signer.sign_transaction(bmp.Ted("2026-11-23", acc, bmp.Account("1", "2", 9), Decimal("1")))
    assert "tipoConta" in ei.value.message
    with pytest.raises(selo.BmpError) as ei:
        signer.sign_transaction(bmp.Ted("2026-11-23", acc, acc, Decimal("1.001")))
    assert ei.value.code == "bmp.money.precision"


def test_dict_bodies_money_semantics_and_floats():
    key = bmp.generate_key()
    s = bmp.Signer(key, profile={"idempotency_key_uuid_v4": False})
    a = s.sign({"idempotencyKey": "k1", "valor": Decimal("10"), "x": 1})
    b = s.sign({"idempotencyKey": "k1", "valor": 1000, "x": 1})  # int amount = cents
    c = s.sign({"idempotencyKey": "k1", "valor": "10.00", "x": 1})
    d = s.sign(b'{"idempotencyKey":"k1","valor":10,"x":1}')  # wire JSON: a number is reais
    assert a.body == b.body == c.body == d.body == b'{"idempotencyKey":"k1","valor":10.00,"x":1}'
    assert a.idempotency_key == "k1"
    with pytest.raises(TypeError, match="float"):
        s.sign({"valor": 10.0})
    with pytest.raises(TypeError, match="float"):
        s.sign({"outro": 1.5})
    fresh = bmp.Signer(key).sign({"valor": "1.00"})
    assert len(fresh.idempotency_key) == 36


def test_own_confirm_vectors():
    v = vec("bmp/confirm.json")
    h = [("Content-Type", "application/json"), ("IdempotencyKey", v["idempotency_key"])]
    lookup = {v["idempotency_key"]: v["original"].encode()}
    for c in v["cases"]:
        r = bmp.confirm(v["key"], h, c["received"].encode(), lookup)
        assert r.status == c["status"], c["what"]
        if c["code"]:
            assert r.error.code == c["code"] and r.difference == c["first_difference"]
            assert json.loads(r.body)["code"] == c["code"]
        else:
            assert r.confirmed and dict(r.headers)["hmac"] == c["hmac"]
    r = bmp.confirm(v["key"], h, v["original"].encode(), {})
    assert r.status == 404 and r.error.code == "bmp.confirm.unknown_transaction"
    # No IdempotencyKey header: the body's idempotencyKey is the key (SPEC §4.5).
    r = bmp.confirm(v["key"], h[:1], v["original"].encode(), lookup)
    assert r.status == 200 and r.confirmed
    # Neither the header nor the body member: refused.
    body = json.loads(v["original"])
    del body["idempotencyKey"]
    r = bmp.confirm(v["key"], h[:1], json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), lookup)
    assert r.status == 400 and r.error.code == "bmp.confirm.missing_header"


def _pix(signer):
    acc = bmp.Account("0001", "1234567", 1, agencia_digito="1", conta_digito="8", documento_federal="52998224725",
                      nome="Titular", numero_banco=274, ispb="13370835")
    return bmp.Pix("2026-11-23T10:15:00", acc, Decimal("100.00"), "fulano@example.com", 3, conta_destino=acc)


@pytest.mark.parametrize("dotnet", [False, True])
def test_end_to_end_send_bmp_side_and_wsgi_confirmation(dotnet):
    key = bmp.generate_key()
    pending = {}
    confirm_app = bmp.wsgi_app(bmp.confirmation_handler(key, pending))
    partner = httpx.Client(transport=httpx.WSGITransport(app=confirm_app))
    server = bmp.Server(key)
    client = bmp.Client("https://bmp.test", key, pending=pending,
                        transport=server.transport(partner, "https://partner.test/confirm", dotnet=dotnet))
    r = client.send(_pix(client.signer))
    assert r.status_code == 200, r.text
    assert r.json()["idempotencyKey"] in pending


def test_retries_resend_the_same_bytes_and_idempotency_key():
    key = bmp.generate_key()
    seen = []
    server = bmp.Server(key)

    def flaky(request):
        body = request.read()
        seen.append((request.headers["IdempotencyKey"], request.headers["hmac"], body))
        if len(seen) == 1:
            raise httpx.ConnectError("boom")
        if len(seen) == 2:
            return httpx.Response(503)
        server.check_request(request.headers.multi_items(), body)
        return httpx.Response(200)

    c = bmp.Client("https://bmp.test", key, transport=httpx.MockTransport(flaky), sleep=lambda s: None)
    assert c.send(_pix(c.signer)).status_code == 200
    assert len(seen) == 3 and len(set(seen)) == 1


def test_bmp_side_refuses_with_406():
    key = bmp.generate_key()
    server = bmp.Server(key)
    s = bmp.Signer(key).sign_transaction(_pix(None))
    with pytest.raises(selo.BmpError) as ei:
        server.check_request(s.headers, s.body + b" ")
    assert ei.value.code == "bmp.server.bad_mac" and ei.value.http_status == 406
    with pytest.raises(selo.BmpError) as ei:
        server.check_request([h for h in s.headers if h[0] != "IdempotencyKey"], s.body)
    assert ei.value.code == "bmp.server.missing_header"
    acc = server.check_request(s.headers, s.body)
    call = server.confirmation_request(acc, "https://p/confirm")
    with pytest.raises(selo.BmpError) as ei:
        server.check_confirmation_reply(call, 200, [("hmac", "00" * 64)], b"")
    assert ei.value.code == "bmp.server.confirmation_bad_mac"
    server.check_confirmation_reply(call, 200, [("hmac", bmp.hmac(key, call.body))], b"")
    assert server.confirmation_timed_out(call).code == "bmp.server.confirmation_timeout"


def test_asgi_confirmation_app():
    key = bmp.generate_key()
    s = bmp.Signer(key).sign_transaction(_pix(None))
    app = bmp.asgi_app(bmp.confirmation_handler(key, lambda k: s.body if k == s.idempotency_key else None))

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as c:
            ok = await c.post("/confirm", content=s.body, headers=s.headers[:2])
            bad = await c.post("/confirm", content=s.body.replace(b"100.00", b"100.01"), headers=s.headers[:2])
            return ok, bad

    ok, bad = asyncio.run(go())
    assert ok.status_code == 200 and ok.headers["hmac"] == bmp.hmac(key, s.body)
    assert bad.status_code == 409 and bad.json()["code"] == "bmp.confirm.mismatch"


def test_plain_confirmation_handler_contract():
    key = bmp.generate_key()
    s = bmp.Signer(key).sign_transaction(_pix(None))
    handler = bmp.confirmation_handler(key, {s.idempotency_key: s.body})
    status, headers = handler(s.headers[:2], s.body)
    assert status == 200 and headers == [("hmac", s.hmac)]
    status, headers = handler(s.headers[:2], b"{not json")
    assert status == 400
