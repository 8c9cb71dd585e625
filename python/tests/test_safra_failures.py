"""Safra failure paths (issue 11) through the Python drivers: the session
decides what follows a transport failure or an ambiguous reply; the driver
only reports the failure's kind.

Against the project's simulator (`selo sim safra`) with faults from its
control endpoint, and against the in-process bank role."""

import json

import httpx
import pytest

import selo
from selo import safra
from conftest import Sim, vec_text

BOLETO = json.loads(vec_text("safra/boleto-sample.json"))


def boleto(nosso, seu="0000004021"):
    b = json.loads(json.dumps(BOLETO))
    b["documento"]["nossoNumero"] = nosso
    b["documento"]["seuNumero"] = seu
    return b


@pytest.fixture(scope="module")
def sim():
    s = Sim("safra")
    yield s
    s.close()


def state(sim):
    return httpx.get(sim.origin + "/_control/state").json()["protocol"]


def psd050_count(st, nosso):
    """How many psd050 for ``nosso`` the bank processed (its keys are zero-padded)."""
    return {int(k): v for k, v in st["psd050_counts"].items()}.get(nosso, 0)


class Recorder:
    """Counts the requests the driver sent, per service (psd050, …)."""

    def __init__(self):
        self.sent = []

    def __call__(self, request):
        self.sent.append(request.url.path.rsplit("/", 1)[-1])

    def count(self, service):
        return self.sent.count(service)


def client(sim, rec=None, **kw):
    http = httpx.Client(timeout=10.0, event_hooks={"request": [rec]} if rec else {})
    return safra.Client(sim.url, "CLIENTE01", http=http, **kw)


def authenticated(sim, *faults):
    """An authenticated client, ``faults`` queued at the simulator, and a
    Recorder of what the client sends from there on."""
    rec = Recorder()
    c = client(sim, rec)
    c.authenticate()
    sim.fault(*faults)
    rec.sent.clear()
    return c, rec


@pytest.mark.parametrize("fault,kind", [("store-then-502", None), ("store-then-drop", "reset")])
def test_lost_psd050_reply_is_reconciled_found(sim, fault, kind):
    nosso = 310_000_001 if kind is None else 310_000_002
    c, rec = authenticated(sim, fault)
    reply = c.register_boleto(boleto(nosso))
    assert reply.reconciled is True
    assert reply.documento.nosso_numero is not None and int(reply.documento.nosso_numero) == nosso
    # the reply is the bank's psd052 answer: registered, as the bank stored it
    assert reply.documento.registrado_cip == "S" and reply.status.codigo == 0
    assert c.recoveries == ["reconcile"]
    assert rec.sent == ["psd050", "psd052"]  # found: never sent twice
    assert [k for k, _ in c.transport_errors] == ([kind] if kind else [])
    st = state(sim)
    assert psd050_count(st, nosso) == 1 and st["duplicates"] == 0
    # the reconciled boleto is one the bank stored
    stored = {int(b["nossoNumero"]): b["seuNumero"] for b in st["boletos"]}
    assert stored[nosso] == "0000004021"
    # a normal register afterwards is not marked reconciled
    assert c.register_boleto(boleto(nosso + 100)).reconciled is False
    c.close()


def test_timeout_on_psd050_reconciles_not_found_and_resends_once(sim):
    nosso = 310_000_003
    c, rec = authenticated(sim, {"fault": "stall", "ms": 1500, "service": "psd050"})
    reply = c.run(safra.Operation.register_boleto(boleto(nosso)), timeout=0.3)
    assert isinstance(reply, safra.BoletoReply) and reply.reconciled is False
    assert [k for k, _ in c.transport_errors] == ["timeout"]
    assert isinstance(c.transport_errors[0][1], httpx.ReadTimeout)
    # reconcile: not found, so psd050 once more (exactly once)
    assert rec.sent == ["psd050", "psd052", "psd050"]
    assert c.recoveries == ["reconcile", "retry"]
    st = state(sim)
    assert psd050_count(st, nosso) == 1 and st["duplicates"] == 0
    c.close()


def test_plain_500_on_psd050_reconciles_not_found_and_resends_once(sim):
    nosso = 310_000_004
    c, rec = authenticated(sim, {"fault": "500-plain", "service": "psd050"})
    reply = c.register_boleto(boleto(nosso))
    assert reply.reconciled is False and reply.status.codigo == 0
    assert rec.count("psd050") == 2 and rec.sent == ["psd050", "psd052", "psd050"]
    assert c.transport_errors == []
    assert psd050_count(state(sim), nosso) == 1
    c.close()


@pytest.mark.parametrize("query_fault", [{"fault": "500-plain", "service": "psd052"},
                                         {"fault": "stall", "ms": 1500, "service": "psd052"}])
def test_ambiguous_reconcile_query_is_outcome_unknown(sim, query_fault):
    nosso = 310_000_005 if query_fault["fault"] == "500-plain" else 310_000_006
    c, rec = authenticated(sim, "store-then-502", query_fault)
    with pytest.raises(selo.SafraError) as ei:
        c.run(safra.Operation.register_boleto(boleto(nosso)), timeout=0.3)
    e = ei.value
    assert type(e) is selo.SafraError and e.code == "safra.boleto.outcome_unknown"
    assert str(nosso) in e.message
    if query_fault["fault"] == "stall":
        assert isinstance(e.__cause__, httpx.ReadTimeout)
    assert rec.sent == ["psd050", "psd052"]  # never resent blindly
    st = state(sim)
    assert psd050_count(st, nosso) == 1  # it was stored: the host must query before registering
    # the session does not wedge: the next operation starts clean
    c.recoveries.clear()
    q = c.query_boleto(nosso, "0000004021")
    assert q.documento.nosso_numero is not None and int(q.documento.nosso_numero) == nosso
    assert c.recoveries == []
    c.close()


def test_timeout_on_psd005_is_retried(sim):
    c, rec = authenticated(sim, {"fault": "stall", "ms": 1500, "service": "psd005"})
    tok = c.run(safra.Operation.authenticate(), timeout=0.3)
    assert isinstance(tok, safra.Token) and tok.lifetime > 60
    assert rec.sent == ["psd005", "psd005"]
    assert [k for k, _ in c.transport_errors] == ["timeout"]
    assert c.recoveries == ["retry"]
    c.close()


def test_plain_500_on_psd005_is_retried(sim):
    c, rec = authenticated(sim, {"fault": "500-plain", "service": "psd005"})
    assert c.authenticate().lifetime > 60
    assert rec.sent == ["psd005", "psd005"] and c.recoveries == ["retry"]
    c.close()


async def test_async_driver_reconciles_and_reports_timeouts(sim):
    nosso = 310_000_007
    async with safra.AsyncClient(sim.url, "CLIENTE01", timeout=10.0) as c:
        await c.authenticate()
        sim.fault("store-then-drop")
        reply = await c.register_boleto(boleto(nosso))
        assert reply.reconciled is True and c.recoveries == ["reconcile"]
        assert [k for k, _ in c.transport_errors] == ["reset"]
        sim.fault({"fault": "stall", "ms": 1500, "service": "psd052"})
        q = await c.run(safra.Operation.query_boleto(nosso, "0000004021"), timeout=0.3)
        assert isinstance(q, safra.BoletoReply) and q.documento.registrado_cip == "S"
        assert int(q.documento.nosso_numero) == nosso and q.reconciled is False
        assert [k for k, _ in c.transport_errors] == ["reset", "timeout"]
        assert c.recoveries == ["reconcile", "retry"]
    assert psd050_count(state(sim), nosso) == 1


def test_connect_failure_ends_in_too_many_recoveries_and_the_next_operation_starts_clean():
    # nothing listens on port 9 of 127.0.0.1 (discard): connection refused
    c = safra.Client("http://127.0.0.1:9/psd/", "CLIENTE01", timeout=2.0)
    for attempt in (1, 2):
        c.transport_errors.clear()
        c.recoveries.clear()
        with pytest.raises(selo.SafraError) as ei:
            c.authenticate()
        assert ei.value.code == "safra.session.too_many_recoveries", attempt
        assert isinstance(ei.value.__cause__, httpx.ConnectError), attempt
        # 1 + profile max_recoveries (3) attempts each time: a wedged session
        # would refuse the second operation without sending anything
        assert [k for k, _ in c.transport_errors] == ["connect"] * 4, attempt
        assert c.recoveries == ["retry"] * 4, attempt
    c.close()


def test_too_many_recoveries_resets_per_operation(sim):
    c = client(sim)
    c.authenticate()
    sim.fault(*[{"fault": "500-plain", "service": "psd052"}] * 4)
    with pytest.raises(selo.SafraError) as ei:
        c.query_boleto(1, "X")
    assert ei.value.code == "safra.session.too_many_recoveries"
    assert c.recoveries == ["retry"] * 4
    c.recoveries.clear()
    # the fault queue is drained and the next operation starts with a fresh count
    sim.fault(*[{"fault": "500-plain", "service": "psd005"}] * 3)
    assert c.authenticate().lifetime > 60
    assert c.recoveries == ["retry"] * 3
    c.close()


# ---- the session API (no I/O), with the in-process bank role ------------------------


def test_session_reports_resendable_and_reconciles_after_transport_error():
    bank = safra.Bank(selo.PrivateKey.generate(1024), rng_seed=bytes(32))
    s = safra.Session("https://bank.test/psd", "CLIENTE01", rng_seed=bytes(range(32)),
                      client_key=selo.PrivateKey.generate(1024))

    def send(p):
        r = bank.handle(httpx.URL(p.url).path, p.headers, p.body)
        return s.handle(p.id, r.status, r.headers, r.body)

    auth = safra.Operation.authenticate()
    while True:
        p = s.prepare(auth)
        assert p.resendable is True
        if send(p).done:
            break
    op = safra.Operation.register_boleto(boleto(310_000_100))
    p = s.prepare(op)
    assert p.url.endswith("psd050") and p.resendable is False
    with pytest.raises(ValueError):
        s.handle_transport_error(p.id, "lost")
    # the bank processed it, the reply was lost
    bank.handle(httpx.URL(p.url).path, p.headers, p.body)
    out = s.handle_transport_error(p.id, "timeout")
    assert out == safra.Outcome(False, "reconcile")
    q = s.prepare(op)
    assert q.url.endswith("psd052") and q.resendable is True
    done = send(q)
    assert done.done and isinstance(done.reply, safra.BoletoReply)
    assert done.reply.reconciled is True and done.reply.iv_reused is False
    assert len(bank.boletos()) == 1
    # "connect" = never sent: a plain retry of the same (non-resendable) request kind
    p2 = s.prepare(safra.Operation.register_boleto(boleto(310_000_101)))
    assert s.handle_transport_error(p2.id, "connect") == safra.Outcome(False, "retry")
    p3 = s.prepare(safra.Operation.register_boleto(boleto(310_000_101)))
    assert p3.url.endswith("psd050")
    assert send(p3).reply.reconciled is False


def test_an_interrupted_psd050_is_reconciled_when_the_operation_is_run_again():
    """Something other than a transport failure interrupts the send (here a
    transport that raises after the bank processed it; in life a
    cancellation): the exception propagates, and running the same register
    again reconciles first instead of sending psd050 a second time."""
    bank = safra.Bank(selo.PrivateKey.generate(1024))
    sent = []
    interrupt = {"on": False}

    def handler(request):
        path = request.url.path
        sent.append(path.rsplit("/", 1)[-1])
        r = bank.handle(path, request.headers.multi_items(), request.read())
        if interrupt["on"] and path.endswith("psd050"):
            interrupt["on"] = False
            raise RuntimeError("interrupted after the bank processed it")
        return httpx.Response(r.status, headers=r.headers, content=r.body)

    c = safra.Client("https://bank.test/psd", "CLIENTE01", transport=httpx.MockTransport(handler))
    c.authenticate()
    interrupt["on"] = True
    b = boleto(310_000_200)
    sent.clear()
    with pytest.raises(RuntimeError):
        c.register_boleto(b)
    assert sent == ["psd050"] and len(bank.boletos()) == 1
    reply = c.register_boleto(b)
    assert sent == ["psd050", "psd052"] and reply.reconciled is True
    assert len(bank.boletos()) == 1
    # a different operation afterwards starts clean (no reconcile pending)
    assert c.register_boleto(boleto(310_000_201)).reconciled is False
    assert sent[-1] == "psd050"


@pytest.mark.parametrize("exc,kind", [
    (httpx.ConnectError("x"), "connect"),
    (httpx.ConnectTimeout("x"), "connect"),
    (httpx.ReadTimeout("x"), "timeout"),
    (httpx.WriteTimeout("x"), "timeout"),
    (httpx.PoolTimeout("x"), "timeout"),
    (httpx.RemoteProtocolError("x"), "reset"),
    (httpx.ReadError("x"), "reset"),
    (httpx.WriteError("x"), "other"),
    (httpx.ProxyError("x"), "other"),
    (httpx.UnsupportedProtocol("x"), "other"),
])
def test_transport_failure_kinds(exc, kind):
    assert safra.transport_failure(exc) == kind
    assert kind in safra.TRANSPORT_FAILURES


def test_status_codigo_absent_is_none():
    r = safra.parse_boleto_reply({"statusProcessamento": {"mensagem": "sem codigo"}})
    assert r.status is not None and r.status.codigo is None and r.status.mensagem == "sem codigo"
    e = selo.SafraBusinessError(r.status, {})
    assert "codigo absent" in e.message and "None" not in e.message
