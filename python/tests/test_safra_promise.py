"""Issue 19 through the Python drivers, against `selo sim safra`.

- The forgotten promise: a psd050 the bank stored whose reply was lost,
  and whose reconciling psd052 fails, is session state — it is listed by
  `Session.unresolved_registrations()`, survives other operations and an
  export/import, and the next register of that boleto starts with psd052
  (never a second psd050) until one answers; then the reply is
  `reconciled` and the bank saw psd050 exactly once. Sync and async.
- `Session.resolve_registration` forgets one on the host's word.
- Bank-key pins: the simulator's pin (computed here with `cryptography`)
  handshakes; any other refuses after stage 1 with
  `safra.handshake.bank_key_not_pinned`, and nothing more reaches the bank.
"""

import base64
import hashlib
import inspect
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

import selo
from selo import safra
from conftest import VECTORS, Sim, vec_text

BOLETO = json.loads(vec_text("safra/boleto-sample.json"))
BANK_PEM = VECTORS / "external/keys/rsa1024-bank.pem"
OTHER_PEM = VECTORS / "external/keys/rsa1024-client.pem"
UNKNOWN = "safra.boleto.outcome_unknown"


def boleto(nosso, seu):
    b = json.loads(json.dumps(BOLETO))
    b["documento"]["nossoNumero"] = nosso
    b["documento"]["seuNumero"] = seu
    return b


def spki_pin(pem_path, standard=False):
    """RFC 7469 pin of a PEM private key's public key, computed with
    `cryptography` (not selo): SHA-256 of the DER SubjectPublicKeyInfo,
    base64url without padding (or standard base64)."""
    key = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.sha256(der).digest()
    if standard:
        return base64.b64encode(digest).decode()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def sim():
    s = Sim("safra", "--bank-key", str(BANK_PEM), "--token-lifetime", "3600")
    yield s
    s.close()


def state(sim):
    return httpx.get(sim.origin + "/_control/state").json()


def psd050_count(sim, nosso):
    counts = state(sim)["protocol"]["psd050_counts"]
    return {int(k): v for k, v in counts.items()}.get(nosso, 0)


class Recorder:
    """The services a client sent (psd001, psd050, …), in order."""

    def __init__(self):
        self.sent = []

    def __call__(self, request):
        self.sent.append(request.url.path.rsplit("/", 1)[-1])

    async def a(self, request):
        self(request)

    def take(self):
        out, self.sent = self.sent, []
        return out


async def maybe(x):
    return await x if inspect.isawaitable(x) else x


def make_client(kind, sim, rec, clock, session=None, profile=None):
    if kind == "sync":
        http = httpx.Client(timeout=10.0, event_hooks={"request": [rec]})
        return safra.Client(sim.url, "CLIENTE01", http=http, clock=clock, session=session, profile=profile)
    http = httpx.AsyncClient(timeout=10.0, event_hooks={"request": [rec.a]})
    return safra.AsyncClient(sim.url, "CLIENTE01", http=http, clock=clock, session=session, profile=profile)


async def close(c):
    await maybe(c.http.close() if isinstance(c, safra.Client) else c.http.aclose())


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_forgotten_promise_is_kept_across_operations_and_export(sim, kind):
    base = 410_000_000 if kind == "sync" else 420_000_000
    nosso, seu = base + 1, "PROMISE01"
    now = [float(int(time.time()))]
    clock = lambda: now[0]  # noqa: E731 - the session's `now`: `since` is checked exactly
    rec = Recorder()
    c = make_client(kind, sim, rec, clock)
    await maybe(c.authenticate())
    other = await maybe(c.register_boleto(boleto(base + 2, "OTHER0001")))
    assert c.session.unresolved_registrations() == []
    rec.take()

    # psd050 stored, its reply lost (502); the reconciling psd052 fails
    # (plain 500): outcome_unknown.
    sim.fault("store-then-502", {"fault": "500-plain", "service": "psd052"})
    with pytest.raises(selo.SafraError) as ei:
        await maybe(c.register_boleto(boleto(nosso, seu)))
    assert ei.value.code == UNKNOWN and str(nosso) in ei.value.message
    assert rec.take() == ["psd050", "psd052"]
    since = int(now[0])
    promise = [safra.Unresolved(nosso, seu, since)]
    assert c.session.unresolved_registrations() == promise

    # other operations in between keep the promise
    now[0] += 5
    q = await maybe(c.query_boleto(other.documento.nosso_numero, "OTHER0001"))
    assert q.documento is not None and q.documento.registrado_cip == "S"
    tok = await maybe(c.renew())
    assert tok.lifetime > 60
    assert rec.take() == ["psd052", "psd007"]
    assert c.session.unresolved_registrations() == promise

    # ... and so do an export and an import into another client
    blob = c.session.export()
    await close(c)
    c = make_client(kind, sim, rec, clock, session=safra.Session.load(blob))
    assert c.session.unresolved_registrations() == promise

    # the same register again starts with psd052 (which fails once more:
    # queued only now, so the query above could not take it)
    sim.fault({"fault": "500-plain", "service": "psd052"})
    with pytest.raises(selo.SafraError) as ei:
        await maybe(c.register_boleto(boleto(nosso, seu)))
    assert ei.value.code == UNKNOWN and str(nosso) in ei.value.message
    assert rec.take() == ["psd052"], "never a second psd050 for an unresolved boleto"
    assert c.session.unresolved_registrations() == promise

    # and once a psd052 answers: reconciled, the promise resolved
    c.recoveries.clear()
    reply = await maybe(c.register_boleto(boleto(nosso, seu)))
    assert rec.take() == ["psd052"]
    assert reply.reconciled is True and reply.documento is not None
    assert int(reply.documento.nosso_numero) == nosso and reply.documento.registrado_cip == "S"
    assert c.session.unresolved_registrations() == []
    assert psd050_count(sim, nosso) == 1
    assert state(sim)["protocol"]["duplicates"] == 0
    await close(c)


def test_resolve_registration_forgets_a_promise_on_the_hosts_word(sim):
    nosso, seu = 430_000_001, "RESOLVE01"
    rec = Recorder()
    c = make_client("sync", sim, rec, None)
    c.authenticate()
    sim.fault("store-then-502", {"fault": "500-plain", "service": "psd052"})
    with pytest.raises(selo.SafraError) as ei:
        c.register_boleto(boleto(nosso, seu))
    assert ei.value.code == UNKNOWN
    assert [u.nosso_numero for u in c.session.unresolved_registrations()] == [nosso]
    assert c.session.resolve_registration(str(nosso)) is True
    assert c.session.unresolved_registrations() == []
    assert c.session.resolve_registration(nosso) is False
    with pytest.raises(ValueError):
        c.session.resolve_registration(-1)
    # resolved: the next register sends psd050 directly — here the bank has
    # it (the host was wrong), and says so with a 550
    rec.take()
    with pytest.raises(selo.SafraBusinessError):
        c.register_boleto(boleto(nosso, seu))
    assert rec.take() == ["psd050"]
    c.close()


# ---- bank-key pins -----------------------------------------------------------------


def test_the_simulators_pin_is_the_sha256_of_its_keys_spki(sim):
    pin = spki_pin(BANK_PEM)
    assert len(pin) == 43 and "=" not in pin
    assert f"bank key pin (profile bank_key_pins): {pin}" in sim.lines
    assert state(sim)["protocol"]["bank_key_pin"] == pin
    assert spki_pin(OTHER_PEM) != pin


@pytest.mark.parametrize("form", ["base64url", "standard"])
def test_a_pinned_bank_key_handshakes(sim, form):
    rec = Recorder()
    pins = [spki_pin(OTHER_PEM), spki_pin(BANK_PEM, standard=form == "standard")]
    c = make_client("sync", sim, rec, None, profile={"bank_key_pins": pins})
    assert isinstance(c.handshake(), safra.HandshakeResult)
    assert c.authenticate().lifetime > 60
    assert rec.take() == ["psd001", "psd001", "psd005"]
    c.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_bank_key_not_pinned_stops_after_stage_1(sim, kind):
    rec = Recorder()
    c = make_client(kind, sim, rec, None, profile={"bank_key_pins": [spki_pin(OTHER_PEM)]})
    before = state(sim)["requests"]
    with pytest.raises(selo.SafraError) as ei:
        await maybe(c.authenticate())
    assert ei.value.code == "safra.handshake.bank_key_not_pinned"
    assert spki_pin(BANK_PEM) in ei.value.message  # names the key it saw
    assert rec.take() == ["psd001"], "stage 2 is never sent with an unpinned key"
    # the bank's count: this client's one stage 1, plus the first state GET
    assert state(sim)["requests"] - before == 2
    assert c.session.state != "authenticated"
    await close(c)
