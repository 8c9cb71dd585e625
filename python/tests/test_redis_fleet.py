"""Fleets of worker processes (tests/fleet_worker.py) share one Safra
session through a real redis-server (SPEC §5): the simulator counts one
handshake, one psd005 and one renewal fleet-wide; Redis holds no secret in
any encoding; the same against a 3-node Redis Cluster and with asyncio
workers. redis-server missing is a failure, never a skip."""

import base64
import time

import pytest

from selo import safra
from selo.redis import BmpPending, JtiStore
from conftest import Sim
from redis_support import RedisCluster, RedisServer, run_fleet, sim_latency, sim_state, total


@pytest.fixture(scope="module")
def server():
    s = RedisServer()
    yield s
    s.close()


def check_fleet(results, count):
    for r in results:
        assert r["lang"] == "python" and r["exit"] == 0 and r["errors"] == [], r
    assert sum(r["registered"] for r in results) == count


def check_counts(state, *, psd050, psd007=0):
    c = state["counts"]
    assert c.get("psd001 200") == 2, c  # stage 1 and stage 2: one handshake fleet-wide
    assert c.get("psd005 200") == 1, c
    assert c.get("psd050 200") == psd050, c
    assert c.get("psd007 200", 0) == psd007, c
    # No 480 and no other error, but for psd050s sent with the old token
    # once the bank renewed it (401: they go again with the new token).
    others = [k for k in c if not k.endswith(" 200") and not (psd007 and k == "psd050 401")]
    assert not others, c
    assert state["protocol"]["duplicates"] == 0


def encodings(secret: bytes):
    """A secret as Redis could hold it: raw, base64, base64url (padded or
    not), hex in either case."""
    b64 = base64.b64encode(secret)
    url = base64.urlsafe_b64encode(secret)
    return {secret, b64, b64.rstrip(b"="), url, url.rstrip(b"="), secret.hex().encode(),
            secret.hex().upper().encode()}


def assert_nothing_secret_at_rest(server, state):
    issued = state["protocol"]["issued"]
    assert issued["session_keys"] and issued["tokens"], issued
    secrets = []
    for k in issued["session_keys"]:
        secrets += encodings(base64.b64decode(k))
    for t in issued["tokens"]:
        secrets += encodings(t.encode())
        secrets += [part.encode() for part in t.split(".")[1:] if len(part) > 16]  # claims and signature
    values = server.values()
    assert values, "nothing in Redis"
    records = [v for k, v in values.items() if k.endswith(b":record")]
    assert records and all(v.startswith(b"selo1.") for v in records), records
    for key, value in values.items():
        for s in secrets:
            assert s not in value and s not in key, f"a secret of the simulator is in Redis under {key!r}"


def test_eight_worker_processes_share_one_handshake_one_psd005_and_one_renewal(server):
    """8 processes × 4 in flight register 400 boletos: 1 handshake, 1 psd005,
    no 480, no duplicate. A renewal falls due fleet-wide exactly once: on a
    second simulator with 61 s tokens, a first worker authenticates (renew
    60 s before the end: due 1 s later); once it is due, another round of 8
    workers (whose profile renews 30 s before the end, so the renewed token
    is not due again during the test) makes exactly one psd007; the others
    adopt its record."""
    sim = Sim("safra")
    short = Sim("safra", "--token-lifetime", "61")
    try:
        sim_latency(sim, 20)
        sim_latency(short, 20)
        first = run_fleet(short, workers=1, per_worker=1, first=19_000, in_flight=1, name="fleet-r",
                          redis=server.url)
        check_fleet(first, 1)
        token = sim_state(short)["protocol"]["issued"]["tokens"][0]
        # the renewal, once due (1 s after the token was received; iat is in
        # whole seconds) and long before the token expires (31 s)
        time.sleep(max(0.0, safra.token_claims(token)["iat"] + 2.5 - time.time()))
        again = run_fleet(short, workers=8, per_worker=10, first=20_000, in_flight=4, name="fleet-r",
                          redis=server.url, profile={"renew_before_secs": 30})
        check_fleet(again, 80)
        short_state = sim_state(short)
        check_counts(short_state, psd050=81, psd007=1)
        assert total(again, "renewals") == 1 and total(again, "handshakes") == 0
        assert token not in short_state["protocol"]["issued"]["tokens"]  # renewed (the bank forgot the old one)

        # the 400
        results = run_fleet(sim, workers=8, per_worker=50, first=10_000, in_flight=4, name="fleet-a",
                            redis=server.url)
        check_fleet(results, 400)
        state = sim_state(sim)
        check_counts(state, psd050=400)
        assert total(results, "handshakes") == 1 and total(results, "renewals") == 0
        assert total(results, "adopted") == 7  # each other instance adopted the one record
        assert total(results, "store_errors") == 0 and total(results, "lease_steals") == 0
        assert_nothing_secret_at_rest(server, state)
        assert_nothing_secret_at_rest(server, short_state)
    finally:
        sim.close()
        short.close()


def test_asyncio_workers_sixteen_tasks_each_share_one_handshake(server):
    """AsyncSafraShare over redis.asyncio: 2 processes × 16 tasks."""
    sim = Sim("safra")
    try:
        sim_latency(sim, 20)
        results = run_fleet(sim, workers=2, per_worker=64, first=30_000, in_flight=16, name="fleet-async",
                            redis=server.url, asyncio=True)
        check_fleet(results, 128)
        state = sim_state(sim)
        check_counts(state, psd050=128)
        assert total(results, "handshakes") == 1 and total(results, "adopted") == 1
        assert_nothing_secret_at_rest(server, state)
    finally:
        sim.close()


def test_fleet_against_a_three_node_redis_cluster():
    """The same protocol through redis.cluster.RedisCluster: the record,
    lease and fence share one hash tag, so one slot."""
    cluster = RedisCluster()
    sim = Sim("safra")
    try:
        sim_latency(sim, 20)
        results = run_fleet(sim, workers=4, per_worker=40, first=40_000, in_flight=4, name="fleet-cluster",
                            cluster=cluster.nodes)
        check_fleet(results, 160)
        check_counts(sim_state(sim), psd050=160)
        assert total(results, "handshakes") == 1 and total(results, "adopted") == 3
        # asyncio workers through redis.asyncio.cluster.RedisCluster join the same record
        more = run_fleet(sim, workers=2, per_worker=20, first=41_000, in_flight=8, name="fleet-cluster",
                         cluster=cluster.nodes, asyncio=True)
        check_fleet(more, 40)
        check_counts(sim_state(sim), psd050=200)
        assert total(more, "handshakes") == 0 and total(more, "adopted") == 2
        c = cluster.client()
        rec = c.get("selo:{safra:fleet-cluster}:record")
        assert rec is not None and rec.startswith(b"selo1.1.")
        # the OFB replay set and BMP pending transactions over the cluster client
        jti = JtiStore(c)
        assert jti.record("selo:ofb:jti:1:c:j1", 60) == "fresh" and jti.record("selo:ofb:jti:1:c:j1", 60) == "replayed"
        pending = BmpPending(c)
        pending["idem-1"] = b'{"valor":1}'
        assert BmpPending(cluster.client())["idem-1"] == b'{"valor":1}' and "idem-1" in pending
        c.close()
    finally:
        sim.close()
        cluster.close()


def test_a_key_expiry_heard_by_the_whole_fleet_makes_one_new_handshake(server):
    """The bank forgets the session key under calls in flight on every
    instance (500 + amc-criptografia): one instance re-handshakes under the
    lease, the others adopt its record."""
    sim = Sim("safra")
    try:
        sim_latency(sim, 20)
        warm = run_fleet(sim, workers=1, per_worker=2, first=80_000, in_flight=1, name="fleet-expiry",
                         redis=server.url)
        check_fleet(warm, 2)
        sim.fault("expire-key")
        results = run_fleet(sim, workers=4, per_worker=25, first=81_000, in_flight=4, name="fleet-expiry",
                            redis=server.url)
        check_fleet(results, 100)
        state = sim_state(sim)
        c = state["counts"]
        assert c.get("psd001 200") == 4 and c.get("psd005 200") == 2, c  # one more handshake, fleet-wide
        assert c.get("psd050 200") == 102 and state["protocol"]["duplicates"] == 0, c
        assert total(results, "handshakes") == 1, results
        assert c.get("psd050 500", 0) >= 2, c  # heard by several calls in flight
        assert server.client().get("selo:{safra:fleet-expiry}:record").startswith(b"selo1.2.")
    finally:
        sim.close()
