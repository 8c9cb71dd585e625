"""A shared Safra session through a real redis-server when things go wrong
(SPEC §5): the lease holder killed mid-handshake, Redis stopped and
restarted, a stale lease holder's write. redis-server missing is a
failure, never a skip."""

import copy
import threading
import time

import pytest

import selo
from selo import safra
from selo.redis import AsyncSafraShare, SafraShare
from conftest import Sim, vec
from redis_support import SEAL, RedisServer, Worker, sim_latency, sim_state

SAMPLE = vec("safra/boleto-sample.json")


def boleto(n):
    b = copy.deepcopy(SAMPLE)
    b["documento"]["nossoNumero"] = n
    b["documento"]["seuNumero"] = f"S{n}"
    return b


def bank_calls(sim):
    return {k: v for k, v in sim_state(sim)["counts"].items() if k.startswith("psd")}


@pytest.fixture
def server():
    s = RedisServer()
    yield s
    s.close()


def test_a_killed_lease_holder_is_replaced_within_the_lease_ttl(server):
    """kill -9 of the instance holding the lease mid-handshake: its lease
    stays until the TTL; another instance waits for it (a lease wait), then
    takes the lease and completes the handshake."""
    ttl_ms = 3000  # longer than a worker process takes to start on a busy machine
    sim = Sim("safra")
    try:
        sim_latency(sim, 150)  # a handshake takes at least 3 × 150 ms
        holder = Worker(sim, redis=server.url, name="chaos-kill", first=50_000, count=4, in_flight=2,
                        lease_ttl_ms=ttl_ms)
        assert holder.lease_held.wait(30), "".join(holder.stderr)
        time.sleep(0.05)  # its stage 1 is on the way
        holder.kill()
        killed, killed_wall = time.monotonic(), time.time()
        lease = server.client().pttl("selo:{safra:chaos-kill}:lease")
        assert 0 < lease <= ttl_ms, lease  # the dead holder's lease is still live
        assert server.client().get("selo:{safra:chaos-kill}:record") is None  # nothing published
        other = Worker(sim, redis=server.url, name="chaos-kill", first=51_000, count=4, in_flight=2,
                       lease_ttl_ms=ttl_ms)
        r = other.result()
        assert r["exit"] == 0 and r["registered"] == 4 and r["errors"] == [], r
        assert r["stats"]["handshakes"] == 1, r
        if r["window"][0] < killed_wall + ttl_ms / 1000 - 0.3:
            # it started while the dead holder's lease lived (the usual case;
            # not on a box so loaded that starting a process takes the TTL)
            assert r["stats"]["lease_waits"] >= 1, r
        # after the lease expired, one handshake and psd005 (3 calls at 150 ms) and 2 rounds of psd050
        assert other.finished - killed < ttl_ms / 1000 + 3.0 + max(0.0, r["window"][0] - killed_wall), \
            other.finished - killed
        c = sim_state(sim)["counts"]
        assert c.get("psd005 200") == 1 and c.get("psd050 200") == 4, c
        assert server.client().get("selo:{safra:chaos-kill}:record").startswith(b"selo1.1.")
    finally:
        sim.close()


def test_redis_stopped_every_operation_fails_closed_and_the_fleet_recovers(server):
    """Redis down: every operation fails with shared.store_unavailable
    within its timeout, no bank call is made, the message holds no key or
    token; Redis back (with its data): the same client goes on without a
    new handshake, and a new instance adopts the record."""
    sim = Sim("safra")
    try:
        share = SafraShare(server.client(socket_timeout=1.0), name="chaos-down", seal_key=SEAL)
        client = safra.Client(sim.url, "CLIENTE01", shared=share, timeout=5)
        for n in (60_000, 60_001):
            assert client.register_boleto(boleto(n)).status.codigo == 0
        token = client.session.token.token
        before = bank_calls(sim)
        server.stop()

        errors, took = [], []

        def call(n):
            t = time.monotonic()
            try:
                client.register_boleto(boleto(n))
            except Exception as e:  # noqa: BLE001 - checked below
                errors.append(e)
            took.append(time.monotonic() - t)

        threads = [threading.Thread(target=call, args=(60_100 + i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 8, errors
        for e in errors:
            assert isinstance(e, selo.SharedStateError) and e.code == "shared.store_unavailable", repr(e)
            assert "selo:{safra" not in e.message and token not in e.message and str(server.port) not in e.message
        assert max(took) < 5, took  # within the timeout
        assert share.stats().store_errors >= 8
        assert bank_calls(sim) == before  # fail closed: nothing reached the bank
        # a new instance while Redis is down: every registration fails the same way
        w = Worker(sim, redis=server.url, name="chaos-down", first=60_200, count=3, in_flight=3, timeout_ms=3000)
        r = w.result()
        assert r["exit"] == 1 and r["registered"] == 0, r
        assert r["errors"] == ["shared.store_unavailable"] * 3 and r["stats"]["store_errors"] >= 3, r

        server.start()
        assert client.register_boleto(boleto(60_300)).status.codigo == 0
        w = Worker(sim, redis=server.url, name="chaos-down", first=60_400, count=6, in_flight=3)
        r = w.result()
        assert r["exit"] == 0 and r["registered"] == 6, r
        assert r["stats"]["adopted"] == 1 and r["stats"]["handshakes"] == 0, r
        c = sim_state(sim)["counts"]
        assert c.get("psd001 200") == 2 and c.get("psd005 200") == 1 and c.get("psd050 200") == 9, c
        client.close()
    finally:
        sim.close()


async def test_async_share_with_redis_down_fails_closed_within_its_timeout(server):
    sim = Sim("safra")
    try:
        r = server.async_client(socket_timeout=1.0)
        share = AsyncSafraShare(r, name="chaos-async", seal_key=SEAL, timeout=2.0)
        async with safra.AsyncClient(sim.url, "CLIENTE01", shared=share, timeout=5) as client:
            assert (await client.register_boleto(boleto(61_000))).status.codigo == 0
            server.stop()
            import asyncio

            t = time.monotonic()
            out = await asyncio.gather(*(client.register_boleto(boleto(61_100 + i)) for i in range(16)),
                                       return_exceptions=True)
            assert time.monotonic() - t < 5
            assert all(isinstance(e, selo.SharedStateError) and e.code == "shared.store_unavailable"
                       for e in out), out
            server.start()
            assert (await client.register_boleto(boleto(61_200))).status.codigo == 0
        assert share.stats().store_errors >= 16 and share.stats().handshakes == 1
        await r.aclose()
    finally:
        sim.close()


def test_a_stale_lease_holders_write_is_refused_and_counted(server):
    """A takes the lease and stalls past its TTL; B takes it over and
    publishes. A's handshake then runs to the end, but its publish is
    refused (fenced), counted as a steal, and A adopts B's record."""
    sim = Sim("safra")
    try:
        share_a = SafraShare(server.client(), name="chaos-stale", seal_key=SEAL, lease_ttl_ms=300)
        share_b = SafraShare(server.client(), name="chaos-stale", seal_key=SEAL, lease_ttl_ms=300)
        a = safra.Client(sim.url, "CLIENTE01", shared=share_a, timeout=5)
        b = safra.Client(sim.url, "CLIENTE01", shared=share_b, timeout=5)
        assert share_a.take_lease(a.session) == "granted" and share_a.holds_lease
        time.sleep(0.4)  # A stalls: its lease expires
        assert b.register_boleto(boleto(62_000)).status.codigo == 0
        assert share_b.stats().handshakes == 1
        # A wakes up believing it holds the lease: it handshakes, its publish is refused
        assert a.register_boleto(boleto(62_001)).status.codigo == 0
        st = share_a.stats()
        assert st.lease_steals == 1 and st.handshakes == 0, st
        assert st.adopted == 1 and a.session.session_id == b.session.session_id
        assert not share_a.holds_lease
        assert server.client().get("selo:{safra:chaos-stale}:record").startswith(b"selo1.1.")
        c = sim_state(sim)["counts"]
        assert c.get("psd001 200") == 4 and c.get("psd005 200") == 2, c  # A's own handshake was wasted, never published
        # and the fleet goes on with B's credentials
        assert a.register_boleto(boleto(62_002)).status.codigo == 0
        assert b.register_boleto(boleto(62_003)).status.codigo == 0
        assert sim_state(sim)["counts"].get("psd001 200") == 4
    finally:
        sim.close()


def test_an_operation_failing_under_the_lease_releases_it(server):
    """The lease holder's handshake fails (the bank drops every stage 1):
    the operation's error reaches the caller and the lease is released at
    once (not left to its TTL), so another instance can take it."""
    sim = Sim("safra")
    try:
        sim.fault({"fault": "drop", "count": 4})  # stage 1 and its 3 retries
        share = SafraShare(server.client(), name="chaos-fail", seal_key=SEAL)
        client = safra.Client(sim.url, "CLIENTE01", shared=share, timeout=5)
        with pytest.raises(selo.SafraError):  # too many recoveries (or the bank's refusal of a repeated stage 1)
            client.register_boleto(boleto(63_000))
        assert not share.holds_lease
        assert server.client().exists("selo:{safra:chaos-fail}:lease") == 0  # released, not expiring
        other = SafraShare(server.client(), name="chaos-fail", seal_key=SEAL)
        b = safra.Client(sim.url, "CLIENTE01", shared=other, timeout=5)
        t = time.monotonic()
        assert b.register_boleto(boleto(63_001)).status.codigo == 0
        assert time.monotonic() - t < 5 and other.stats().lease_waits == 0
    finally:
        sim.close()


def test_a_lease_held_past_twice_the_ttl_is_shared_lease_timeout_with_no_bank_call(server):
    """Another owner keeps the lease (a stuck instance with a longer TTL)
    and publishes nothing: this instance polls the record for twice its
    lease TTL, then gives up with shared.lease_timeout (counted as a lease
    wait), having called the bank not once."""
    sim = Sim("safra")
    try:
        server.client().set("selo:{safra:chaos-timeout}:lease", "someone-else", px=60_000)
        share = SafraShare(server.client(), name="chaos-timeout", seal_key=SEAL, lease_ttl_ms=300)
        client = safra.Client(sim.url, "CLIENTE01", shared=share, timeout=5)
        t = time.monotonic()
        with pytest.raises(selo.SharedStateError) as e:
            client.register_boleto(boleto(64_000))
        took = time.monotonic() - t
        assert e.value.code == "shared.lease_timeout", e.value
        assert 0.55 < took < 3, took  # twice the 300 ms TTL
        assert share.stats().lease_waits >= 1 and not share.holds_lease
        assert bank_calls(sim) == {}
    finally:
        sim.close()


def test_a_share_of_the_wrong_kind_or_a_second_client_is_refused(server):
    sync_share = SafraShare(server.client(), name="kinds", seal_key=SEAL)
    with pytest.raises(TypeError):
        safra.AsyncClient("https://bank.test/psd", "CLIENTE01", shared=sync_share)
    safra.Client("https://bank.test/psd", "CLIENTE01", shared=sync_share)
    with pytest.raises(TypeError):  # one share per client
        safra.Client("https://bank.test/psd", "CLIENTE01", shared=sync_share)
    with pytest.raises(TypeError):
        safra.Client("https://bank.test/psd", "CLIENTE01", shared=AsyncSafraShare(server.async_client(), name="kinds",
                                                                                  seal_key=SEAL))
    with pytest.raises(selo.SafraError) as e:
        SafraShare(server.client(), name="bad{name}", seal_key=SEAL)
    assert e.value.code == "safra.shared.name"
    with pytest.raises(selo.SafraError) as e:
        SafraShare(server.client(), name="ok", seal_key=b"short")
    assert e.value.code == "safra.shared.seal_key"
    # a record sealed under another key is refused, never adopted
    other = SafraShare(server.client(), name="kinds", seal_key=b"\x01" * 32)
    server.client().set(other.record_key, "selo1.1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(selo.SafraError) as e:
        other.read_record(safra.Session("https://bank.test/psd", "CLIENTE01"))
    assert e.value.code == "safra.shared.record_rejected"
