"""The Python drivers against the project's Rust simulators (`selo sim
safra|bmp|ofb`, a separate process speaking real HTTP), with faults
injected through the simulators' control endpoint.

The `selo` binary comes from $SELO_BIN, else the cargo target directory.
scripts/test-python builds it; a missing binary fails, it never skips."""

import json
import pathlib
import threading
from decimal import Decimal
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest

import selo
from selo import bmp, ofb, safra
from conftest import Sim, vec_text

BOLETO = json.loads(vec_text("safra/boleto-sample.json"))


@pytest.fixture
def sim_factory():
    sims = []

    def make(*args):
        s = Sim(*args)
        sims.append(s)
        return s

    yield make
    for s in sims:
        s.close()


def test_safra_sync_client_against_the_simulator(sim_factory):
    sim = sim_factory("safra")
    with safra.Client(sim.url, "CLIENTE01") as c:
        reply = c.register_boleto(BOLETO)
        assert selo.br.is_valid_barcode(reply.documento.codigo_barras)
        sim.fault("expire-key")
        q = c.query_boleto(reply.documento.nosso_numero, BOLETO["documento"]["seuNumero"])
        assert q.documento.registrado_cip == "S"
        sim.fault("answer-480")
        assert c.renew().lifetime > 60
        assert c.recoveries == ["rehandshake", "rehandshake"]
        sim.fault("answer-550")
        with pytest.raises(selo.SafraBusinessError) as ei:
            c.renew()
        assert ei.value.status.codigo == 99
        # A lost reply of an idempotent query: the driver reports it to the
        # session ("reset"), which says retry.
        sim.fault({"fault": "drop", "count": 1})
        q = c.query_boleto(reply.documento.nosso_numero, BOLETO["documento"]["seuNumero"])
        assert q.documento.nosso_numero == reply.documento.nosso_numero and q.documento.registrado_cip == "S"
        assert c.recoveries[-1] == "retry" and [k for k, _ in c.transport_errors] == ["reset"]
        # More lost replies than profile max_recoveries (3): a typed error,
        # chained to the transport failure.
        sim.fault({"fault": "drop", "count": 4})
        with pytest.raises(selo.SafraError) as ei:
            c.query_boleto(reply.documento.nosso_numero, BOLETO["documento"]["seuNumero"])
        assert ei.value.code == "safra.session.too_many_recoveries"
        assert isinstance(ei.value.__cause__, httpx.TransportError)
        # the session carries on: the next operation starts clean
        assert c.query_boleto(reply.documento.nosso_numero, BOLETO["documento"]["seuNumero"]).documento


async def test_safra_async_client_against_the_simulator(sim_factory):
    sim = sim_factory("safra", "--padding", "oaep-sha256")
    async with safra.AsyncClient(sim.url, "CLIENTE01", profile={"padding": "auto"}) as c:
        await c.authenticate()
        assert c.session.padding_winner == "oaep-sha256"
        sim.fault("expire-key")
        reply = await c.register_boleto(BOLETO)
        assert reply.status.codigo == 0 and c.recoveries[-1] == "rehandshake"


@pytest.fixture
def partner():
    """A real HTTP confirmation endpoint (WSGI) in a thread."""
    key = bmp.generate_key()
    pending = {}

    class Quiet(WSGIRequestHandler):
        def log_message(self, *a):
            pass

    srv = make_server("127.0.0.1", 0, bmp.wsgi_app(bmp.confirmation_handler(key, pending)), handler_class=Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield key, pending, f"http://127.0.0.1:{srv.server_port}/confirm"
    srv.shutdown()
    srv.server_close()


def _pix():
    acc = bmp.Account("0001", "1234567", 1, agencia_digito="1", conta_digito="8", documento_federal="52998224725",
                      nome="Titular", numero_banco=274, ispb="13370835")
    return bmp.Pix("2026-11-23T10:15:00", acc, Decimal("100.00"), "fulano@example.com", 3, conta_destino=acc)


@pytest.mark.parametrize("dotnet", [False, True])
def test_bmp_client_and_confirmation_endpoint_against_the_simulator(sim_factory, partner, dotnet):
    key, pending, confirm_url = partner
    args = ["bmp", "--confirmation-url", confirm_url, "--key", key] + (["--dotnet-decimals"] if dotnet else [])
    sim = sim_factory(*args)
    base = sim.url.rstrip("/").rsplit("/api", 1)[0]
    with bmp.Client(base, key, pending=pending, sleep=lambda s: None) as c:
        first = c.send(_pix())
        assert first.status_code == 200, first.text
        assert len(pending) == 1  # the client recorded the body it sent, under its key
        (first_key,) = pending
        # A lost reply: the sim executes, drops the connection; the retry
        # resends the same bytes and IdempotencyKey and gets the first reply.
        sim.fault({"fault": "drop", "count": 1})
        signed = c.signer.sign_transaction(_pix())
        r = c.send(signed)
        assert r.status_code == 200 and r.headers.get("idempotent-replayed") == "true"
        # one attempt for the first transaction, two (same key) for the dropped one
        assert first_key != signed.idempotency_key
        assert c.attempts == [first_key, signed.idempotency_key, signed.idempotency_key]
    # A partner that does not know the transaction refuses; BMP answers 406.
    with bmp.Client(base, key, pending={}, retries=0) as stranger:
        pending.clear()
        r = stranger.send(_pix())
        assert r.status_code == 406 and "bmp.server.confirmation_refused" in r.text


def test_ofb_client_against_the_simulator(sim_factory, tmp_path):
    pem = tmp_path / "client.pem"
    sim = sim_factory("ofb", "--write-client-key", str(pem))
    key = selo.PrivateKey.load(pem.read_text())
    kid = key.public_key().thumbprint()  # the simulator publishes the generated key under its thumbprint
    server_jwks = selo.JwkSet.parse(httpx.get(sim.origin + "/.well-known/jwks.json").text)
    client_org, server_org = "c0ffee00-0000-4000-8000-000000000001", "ba0bab00-0000-4000-8000-000000000002"
    with ofb.Client(ofb.Signer(key, kid, client_org), server_jwks=server_jwks, server_org_id=server_org) as c:
        status, v = c.post(sim.url, {"data": {"payment": {"amount": "100.00", "currency": "BRL"}}})
        assert status == 201 and v.claims.iss == server_org and client_org in v.claims.aud
        # the same token twice: the simulator's replay cache refuses it
        tok = ofb.sign(key, {"data": {}}, kid=kid, aud=sim.url, iss=client_org).token
        h = {"content-type": "application/jwt"}
        assert httpx.post(sim.url, content=tok, headers=h).status_code == 201
        again = httpx.post(sim.url, content=tok, headers=h)
        assert again.status_code == 403 and again.json()["errors"][0]["code"] == "JTI_REUSED"
        other = selo.PrivateKey.generate(2048)
        status, v = ofb.Client(ofb.Signer(other, kid, client_org), server_jwks=server_jwks,
                               server_org_id=server_org, allow_unsigned_errors=True).post(sim.url, {"data": {}})
        assert status == 400 and v is None  # the simulator's unsigned refusal, returned unverified on request
