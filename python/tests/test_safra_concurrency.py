"""Many Safra operations at once on one session (SPEC §5), through the
Python drivers, against `selo sim safra`.

- threads: 64 registrations, 16 threads in flight, one `Client`: one
  handshake (two psd001) and one psd005 for all of them, every boleto
  registered once, no duplicate at the bank;
- asyncio: the same with `asyncio.gather` and a semaphore of 16;
- with 100 ms added per call, 16 in flight take at most 0.3x the time of 1;
- a 500 + `amc-criptografia: erro` answered to every psd050 of one round
  (16 in flight with the same credentials): exactly one new handshake;
- a task cancelled with its psd050 in flight: the boleto is an unresolved
  registration, and registering it again starts with psd052;
- the same nossoNumero twice at once: `safra.boleto.in_flight`;
- an operation waiting for another's transition gives up after the
  request timeout with `safra.session.not_ready`, and is cancelled.
"""

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import selo
from selo import safra
from conftest import VECTORS, Sim, vec_text

BOLETO = json.loads(vec_text("safra/boleto-sample.json"))
BANK_PEM = VECTORS / "external/keys/rsa1024-bank.pem"
N, IN_FLIGHT = 64, 16


def boleto(nosso):
    b = json.loads(json.dumps(BOLETO))
    b["documento"]["nossoNumero"] = nosso
    b["documento"]["seuNumero"] = f"C{nosso % 10**9:09d}"
    return b


@pytest.fixture
def sim():
    s = Sim("safra", "--bank-key", str(BANK_PEM), "--token-lifetime", "3600")
    yield s
    s.close()


def protocol(sim):
    return httpx.get(sim.origin + "/_control/state").json()["protocol"]


class Recorder:
    """Counts the services clients sent (psd001, psd005, psd050, …) and
    the key expiries (500 + amc-criptografia: erro) they heard."""

    def __init__(self):
        self.sent = []
        self.expired = 0
        self._lock = threading.Lock()

    def __call__(self, request):
        with self._lock:
            self.sent.append(request.url.path.rsplit("/", 1)[-1])

    async def a(self, request):
        self(request)

    def response(self, response):
        if safra.is_key_expired(response.status_code, response.headers.multi_items()):
            with self._lock:
                self.expired += 1

    async def aresponse(self, response):
        self.response(response)

    def count(self, service):
        return self.sent.count(service)


class SlowTransport(httpx.BaseTransport):
    """Adds `delay` seconds before every call; `hold(service, n)` makes the
    next n calls of `service` wait until n of them are in flight."""

    def __init__(self, delay=0.0):
        self.inner = httpx.HTTPTransport()
        self.delay = delay
        self.barrier = None
        self.held = None
        self.count = 0
        self._lock = threading.Lock()

    def hold(self, service, n):
        self.held, self.count, self.barrier = service, n, threading.Barrier(n, timeout=20)

    def handle_request(self, request):
        barrier = None
        with self._lock:
            if self.held is not None and request.url.path.endswith(self.held) and self.count > 0:
                self.count -= 1
                barrier = self.barrier
        if barrier is not None:
            barrier.wait()
        if self.delay:
            time.sleep(self.delay)
        return self.inner.handle_request(request)

    def close(self):
        self.inner.close()


class AsyncSlowTransport(httpx.AsyncBaseTransport):
    """`SlowTransport` for `httpx.AsyncClient`; `stall(service)` keeps the
    next call of `service` in flight, after the bank answered it, until the
    task is cancelled (`stalled` is set once it got there)."""

    def __init__(self, delay=0.0):
        self.inner = httpx.AsyncHTTPTransport()
        self.delay = delay
        self.stall_service = None
        self.stalled = asyncio.Event()

    def stall(self, service):
        self.stall_service = service

    async def handle_async_request(self, request):
        if self.delay:
            await asyncio.sleep(self.delay)
        response = await self.inner.handle_async_request(request)
        if self.stall_service is not None and request.url.path.endswith(self.stall_service):
            self.stall_service = None
            await response.aread()
            self.stalled.set()
            await asyncio.sleep(3600)  # the bank has it; its reply never arrives
        return response

    async def aclose(self):
        await self.inner.aclose()


def sync_client(sim, rec, transport=None, **kw):
    http = httpx.Client(timeout=20.0, event_hooks={"request": [rec], "response": [rec.response]}, transport=transport or SlowTransport(),
                        limits=httpx.Limits(max_connections=64))
    return safra.Client(sim.url, "CLIENTE01", http=http, **kw)


def async_client(sim, rec, transport=None, **kw):
    http = httpx.AsyncClient(timeout=20.0, event_hooks={"request": [rec.a], "response": [rec.aresponse]},
                             transport=transport or AsyncSlowTransport(), limits=httpx.Limits(max_connections=64))
    return safra.AsyncClient(sim.url, "CLIENTE01", http=http, **kw)


def register_with_threads(c, numbers, threads):
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda n: c.register_boleto(boleto(n)), numbers))


async def register_with_tasks(c, numbers, in_flight):
    sem = asyncio.Semaphore(in_flight)

    async def one(n):
        async with sem:
            return await c.register_boleto(boleto(n))

    return await asyncio.gather(*[one(n) for n in numbers])


def assert_registered_once(sim, numbers, replies):
    assert sorted(int(r.documento.nosso_numero) for r in replies) == sorted(numbers)
    assert all(r.status.codigo == 0 and not r.reconciled for r in replies)
    p = protocol(sim)
    counts = {int(k): v for k, v in p["psd050_counts"].items()}
    assert {n: counts.get(n) for n in numbers} == {n: 1 for n in numbers}
    assert p["duplicates"] == 0


# ---- (1) threads, (2) asyncio --------------------------------------------------------


def test_64_registrations_on_16_threads_share_one_handshake_and_one_psd005(sim):
    rec = Recorder()
    numbers = list(range(510_000_001, 510_000_001 + N))
    with sync_client(sim, rec) as c:
        replies = register_with_threads(c, numbers, IN_FLIGHT)
        assert rec.count("psd001") == 2 and rec.count("psd005") == 1
        assert rec.count("psd050") == N and len(rec.sent) == N + 3
        assert c.recoveries == [] and c.session.in_flight() == 0
        assert c.session.state == "authenticated" and not c.session.transition_in_flight()
    assert_registered_once(sim, numbers, replies)


async def test_64_registrations_with_gather_and_a_semaphore_of_16_share_one_handshake(sim):
    rec = Recorder()
    numbers = list(range(520_000_001, 520_000_001 + N))
    async with async_client(sim, rec) as c:
        replies = await register_with_tasks(c, numbers, IN_FLIGHT)
        assert rec.count("psd001") == 2 and rec.count("psd005") == 1
        assert rec.count("psd050") == N and len(rec.sent) == N + 3
        assert c.recoveries == [] and c.session.in_flight() == 0
    assert_registered_once(sim, numbers, replies)


# ---- (3) the calls overlap -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["threads", "asyncio"])
async def test_with_100_ms_per_call_16_in_flight_take_at_most_0_3_of_the_time_of_1(sim, kind):
    base = 530_000_001 if kind == "threads" else 540_000_001

    async def run(numbers, in_flight):
        rec = Recorder()
        t0 = time.monotonic()
        if kind == "threads":
            with sync_client(sim, rec, SlowTransport(0.1)) as c:
                replies = await asyncio.to_thread(register_with_threads, c, numbers, in_flight)
        else:
            async with async_client(sim, rec, AsyncSlowTransport(0.1)) as c:
                replies = await register_with_tasks(c, numbers, in_flight)
        elapsed = time.monotonic() - t0
        assert rec.count("psd001") == 2 and rec.count("psd005") == 1 and rec.count("psd050") == N
        assert_registered_once(sim, numbers, replies)
        return elapsed

    one = await run(list(range(base, base + N)), 1)
    many = await run(list(range(base + N, base + 2 * N)), IN_FLIGHT)
    print(f"{kind}: 1 in flight {one:.2f} s, {IN_FLIGHT} in flight {many:.2f} s, ratio {many / one:.3f}")
    # 1 in flight: 67 calls one after the other (>= 6.7 s); 16: 3 + 64/16.
    assert one >= 6.7
    assert many <= 0.3 * one, f"16 in flight took {many:.2f} s, 1 in flight {one:.2f} s"


# ---- (4) one failure heard by every call in flight: one recovery -----------------------


def test_key_expiry_answered_to_every_psd050_of_a_round_makes_one_new_handshake(sim):
    rec = Recorder()
    transport = SlowTransport()
    numbers = list(range(550_000_001, 550_000_001 + IN_FLIGHT))
    with sync_client(sim, rec, transport) as c:
        c.authenticate()
        generation = c.session.generation()
        rec.sent.clear()
        # The 16 psd050 leave together with the same credentials; the bank
        # forgets the key at the first (500 + amc-criptografia: erro) and
        # answers every other one of them the same.
        transport.hold("psd050", IN_FLIGHT)
        sim.fault("expire-key")
        replies = register_with_threads(c, numbers, IN_FLIGHT)
        assert rec.sent[:IN_FLIGHT] == ["psd050"] * IN_FLIGHT
        assert rec.expired == IN_FLIGHT, "every psd050 of the round heard the key expiry"
        assert rec.count("psd001") == 2 and rec.count("psd005") == 1, rec.sent
        assert rec.count("psd050") == 2 * IN_FLIGHT
        assert c.recoveries.count("rehandshake") >= 1
        assert c.session.generation() > generation
        assert c.session.in_flight() == 0
    assert_registered_once(sim, numbers, replies)


# ---- (5) cancellation keeps the promise -----------------------------------------------


async def test_a_task_cancelled_with_its_psd050_in_flight_leaves_an_unresolved_registration(sim):
    rec = Recorder()
    transport = AsyncSlowTransport()
    nosso = 560_000_001
    async with async_client(sim, rec, transport) as c:
        await c.authenticate()
        transport.stall("psd050")
        task = asyncio.ensure_future(c.register_boleto(boleto(nosso)))
        await asyncio.wait_for(transport.stalled.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [u.nosso_numero for u in c.session.unresolved_registrations()] == [nosso]
        assert c.session.in_flight() == 0
        rec.sent.clear()
        reply = await c.register_boleto(boleto(nosso))
        assert rec.sent == ["psd052"], "the promise first: a psd052 query, never a blind second psd050"
        assert reply.reconciled is True and int(reply.documento.nosso_numero) == nosso
        assert c.session.unresolved_registrations() == []
    assert {int(k): v for k, v in protocol(sim)["psd050_counts"].items()}[nosso] == 1


# ---- (6) one nossoNumero at a time ---------------------------------------------------


def test_the_same_nosso_numero_twice_at_once_is_refused_in_flight(sim):
    rec = Recorder()
    transport = SlowTransport()
    nosso = 570_000_001
    with sync_client(sim, rec, transport) as c:
        c.authenticate()
        transport.hold("psd050", 2)  # the first psd050 waits for a second that never comes …
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(c.register_boleto, boleto(nosso))
            while c.session.in_flight() == 0:
                time.sleep(0.01)
            with pytest.raises(selo.SafraError) as ei:
                c.register_boleto(boleto(nosso))
            assert ei.value.code == "safra.boleto.in_flight" and str(nosso) in ei.value.message
            # … and another boleto is not refused: it releases the first
            other = c.register_boleto(boleto(nosso + 1))
            assert int(first.result(20).documento.nosso_numero) == nosso
        assert int(other.documento.nosso_numero) == nosso + 1
        assert c.session.in_flight() == 0
    assert_registered_once(sim, [nosso, nosso + 1], [first.result(), other])


async def test_the_same_nosso_numero_twice_at_once_is_refused_with_asyncio(sim):
    rec = Recorder()
    nosso = 580_000_001
    async with async_client(sim, rec) as c:
        await c.authenticate()
        results = await asyncio.gather(c.register_boleto(boleto(nosso)), c.register_boleto(boleto(nosso)),
                                       return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(errors) == 1 and isinstance(errors[0], selo.SafraError)
        assert errors[0].code == "safra.boleto.in_flight"
        assert [int(r.documento.nosso_numero) for r in results if not isinstance(r, BaseException)] == [nosso]
    assert {int(k): v for k, v in protocol(sim)["psd050_counts"].items()}[nosso] == 1


# ---- waiting is bounded by the request timeout ----------------------------------------


class Gate(httpx.BaseTransport):
    """The bank role in process; every psd001 waits until `open` is set."""

    def __init__(self, bank):
        self.inner = bank.transport()
        self.open = threading.Event()
        self.arrived = threading.Event()

    def handle_request(self, request):
        if request.url.path.endswith("psd001"):
            self.arrived.set()
            self.open.wait(20)
        return self.inner.handle_request(request)


def test_a_thread_waiting_for_another_handshake_gives_up_after_the_request_timeout():
    gate = Gate(safra.Bank(selo.PrivateKey.generate(1024)))
    c = safra.Client("https://bank.test/psd", "CLIENTE01", transport=gate, timeout=0.3)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(c.authenticate)
        assert gate.arrived.wait(10)
        t0 = time.monotonic()
        with pytest.raises(selo.SafraError) as ei:
            c.register_boleto(boleto(590_000_001))
        waited = time.monotonic() - t0
        assert c.session.in_flight() == 1  # the waiter was cancelled; the handshake goes on
        gate.open.set()
        assert first.result(20).lifetime > 0
    assert ei.value.code == "safra.session.not_ready" and "timeout" in ei.value.message
    assert 0.25 <= waited < 5
    assert c.register_boleto(boleto(590_000_001)).status.codigo == 0
    assert c.session.in_flight() == 0


async def test_a_task_waiting_for_another_handshake_gives_up_after_the_request_timeout():
    bank = safra.Bank(selo.PrivateKey.generate(1024))
    inner = bank.transport()

    async def stalled(request):
        if request.url.path.endswith("psd001"):
            await asyncio.sleep(3600)
        return inner.handle_request(request)

    c = safra.AsyncClient("https://bank.test/psd", "CLIENTE01", timeout=0.3, transport=httpx.MockTransport(stalled))
    first = asyncio.ensure_future(c.handshake())
    while not c.session.transition_in_flight():
        await asyncio.sleep(0.01)
    t0 = time.monotonic()
    with pytest.raises(selo.SafraError) as ei:
        await c.register_boleto(boleto(590_000_002))
    waited = time.monotonic() - t0
    assert ei.value.code == "safra.session.not_ready" and "timeout" in ei.value.message
    assert 0.25 <= waited < 5
    assert c.session.in_flight() == 1
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert c.session.in_flight() == 0 and not c.session.transition_in_flight()


# ---- the session API -------------------------------------------------------------------


def test_begin_next_and_cancel_on_the_session():
    bank = safra.Bank(selo.PrivateKey.generate(1024))
    s = safra.Session("https://bank.test/psd", "CLIENTE01")

    def send(p):
        r = bank.handle(p.url.split("bank.test", 1)[1], p.headers, p.body)
        return s.handle(p.id, r.status, r.headers, r.body)

    a = s.begin(safra.Operation.register_boleto(boleto(600_000_001)))
    b = s.begin(safra.Operation.register_boleto(boleto(600_000_002)))
    assert s.in_flight() == 2
    with pytest.raises(selo.SafraError) as ei:
        s.begin(safra.Operation.register_boleto(boleto(600_000_001)))
    assert ei.value.code == "safra.boleto.in_flight"
    pa = s.next(a)
    assert pa is not None and pa.url.endswith("psd001") and s.is_transition(pa.id)
    assert s.transition_in_flight()
    assert s.next(b) is None  # waits for a's handshake
    while True:
        out = send(pa)
        assert not out.done
        pa = s.next(a)
        assert pa is not None
        if pa.url.endswith("psd050"):
            break
    assert not s.transition_in_flight() and s.generation() > 0
    pb = s.next(b)
    assert pb is not None and pb.url.endswith("psd050") and not s.is_transition(pb.id)
    assert send(pb).done and send(pa).done
    assert s.in_flight() == 0

    c = s.begin(safra.Operation.query_boleto(600_000_001, "C600000001"))
    assert s.cancel(c) is True and s.cancel(c) is False
    s.set_max_in_flight(1)
    s.begin(safra.Operation.authenticate())
    with pytest.raises(selo.SafraError) as ei:
        s.begin(safra.Operation.authenticate())
    assert ei.value.code == "safra.session.busy"
    with pytest.raises(ValueError):
        s.set_max_in_flight(-1)

    # credentials move to another session of the same bank and client
    other = safra.Session("https://bank.test/psd", "CLIENTE01")
    other.adopt_credentials(s.export_credentials())
    assert other.session_id == s.session_id
    q = other.begin(safra.Operation.query_boleto(600_000_001, "C600000001"))
    pq = other.next(q)
    assert pq is not None and pq.url.endswith("psd052")
    with pytest.raises(selo.SafraError) as ei:
        safra.Session("https://bank.test/psd", "OUTRO").adopt_credentials(s.export_credentials())
    assert ei.value.code == "safra.session.bad_snapshot"
