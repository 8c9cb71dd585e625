"""One instance of a Safra fleet (SPEC §5), for fleet tests in any language:

    python python/tests/fleet_worker.py --base-url URL (--redis redis://127.0.0.1:P |
        --cluster host:port[,host:port...]) --name FLEET --seal-key HEX64
        --first N --count K --in-flight F [--cliente CLIENTE01]
        [--lease-ttl-ms MS] [--timeout-ms MS] [--profile JSON] [--asyncio]

registers boletos nossoNumero N..N+K-1 (tests/vectors/safra/boleto-sample.json,
seuNumero "S<n>"), F at a time (threads; ``--asyncio``: tasks of one
``AsyncClient``), through a ``selo.safra.Client`` shared with the fleet by
``selo.redis.SafraShare``, and prints ONE JSON line on stdout:

    {"lang":"python","registered":K,"errors":[codes],"stats":{"handshakes":..,
     "renewals":..,"adopted":..,"lease_waits":..,"lease_steals":..,"store_errors":..}}

Exit status 0 iff every boleto was registered. On stderr, one line
"fleet-worker <pid> lease held" / "... lease released" each time this
instance takes or gives up the fleet's lease (chaos tests read it);
with FLEET_DEBUG=1 in the environment, one line per call of the share.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import pathlib
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def parse(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--redis")
    g.add_argument("--cluster")
    p.add_argument("--name", required=True)
    p.add_argument("--seal-key", required=True)
    p.add_argument("--first", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--in-flight", type=int, required=True)
    p.add_argument("--cliente", default="CLIENTE01")
    p.add_argument("--lease-ttl-ms", type=int)
    p.add_argument("--timeout-ms", type=int, default=30_000)
    p.add_argument("--profile")
    p.add_argument("--asyncio", action="store_true")
    o = p.parse_args(argv)
    key = bytes.fromhex(o.seal_key)
    if len(key) != 32:
        p.error("--seal-key: expected 64 hex characters")
    o.seal_key = key
    return o


def boleto_for(sample, n):
    b = copy.deepcopy(sample)
    b["documento"]["nossoNumero"] = n
    b["documento"]["seuNumero"] = f"S{n}"
    return b


def redis_client(o, asynchronous):
    timeout = min(o.timeout_ms / 1000, 5.0)
    kw = dict(socket_timeout=timeout, socket_connect_timeout=2.0)
    if asynchronous:
        from redis.asyncio import Redis
        from redis.asyncio.cluster import ClusterNode, RedisCluster
        from redis.asyncio.retry import Retry
    else:
        from redis import Redis
        from redis.cluster import ClusterNode, RedisCluster
        from redis.retry import Retry
    from redis.backoff import NoBackoff

    if o.cluster:
        nodes = [ClusterNode(h, int(p)) for h, p in (hp.rsplit(":", 1) for hp in o.cluster.split(","))]
        return RedisCluster(startup_nodes=nodes, **kw)
    # Fail fast: the share fails closed on the first error, the caller retries.
    return Redis.from_url(o.redis, retry=Retry(NoBackoff(), 0), **kw)


def code_of(e):
    return getattr(e, "code", None) or type(e).__name__


def watch_lease(share, stop):
    held = False
    while not stop.is_set():
        if share.holds_lease != held:
            held = share.holds_lease
            sys.stderr.write(f"fleet-worker {os.getpid()} lease {'held' if held else 'released'}\n")
            sys.stderr.flush()
        time.sleep(0.005)


def run_threads(o, sample):
    from selo import safra
    from selo.redis import SafraShare

    r = redis_client(o, False)
    share = SafraShare(r, name=o.name, seal_key=o.seal_key, lease_ttl_ms=o.lease_ttl_ms)
    if os.environ.get("FLEET_DEBUG"):  # one stderr line per share call
        T0 = time.monotonic()
        for m in ("take_lease", "publish_if_ready", "read_record"):
            f = getattr(share, m)
            def wrap(*a, f=f, m=m):
                t = time.monotonic()
                try:
                    v = f(*a)
                except BaseException as e:
                    v = e
                    raise
                finally:
                    sys.stderr.write(f"{t-T0:.3f}-{time.monotonic()-T0:.3f} {threading.current_thread().name} {m} {v}\n")
                return v
            setattr(share, m, wrap)
    client = safra.Client(o.base_url, o.cliente, profile=json.loads(o.profile) if o.profile else None,
                          timeout=o.timeout_ms / 1000, shared=share)
    stop = threading.Event()
    watcher = threading.Thread(target=watch_lease, args=(share, stop), daemon=True)
    watcher.start()
    lock = threading.Lock()
    state = {"next": 0, "registered": 0}
    errors = []

    def lane():
        while True:
            with lock:
                if state["next"] >= o.count:
                    return
                n = o.first + state["next"]
                state["next"] += 1
            try:
                rep = client.register_boleto(boleto_for(sample, n))
                ok = rep.status is not None and rep.status.codigo == 0
            except Exception as e:  # noqa: BLE001 - reported
                with lock:
                    errors.append(code_of(e))
                continue
            with lock:
                if ok:
                    state["registered"] += 1
                else:
                    errors.append("safra.business")

    lanes = [threading.Thread(target=lane) for _ in range(max(1, min(o.in_flight, o.count)))]
    state["t0"] = time.time()
    for t in lanes:
        t.start()
    for t in lanes:
        t.join()
    state["t1"] = time.time()
    stop.set()
    watcher.join()
    client.close()
    r.close()
    return state["registered"], errors, share.stats(), (state["t0"], state["t1"])


async def run_tasks(o, sample):
    from selo import safra
    from selo.redis import AsyncSafraShare

    r = redis_client(o, True)
    share = AsyncSafraShare(r, name=o.name, seal_key=o.seal_key, lease_ttl_ms=o.lease_ttl_ms,
                            timeout=min(o.timeout_ms / 1000, 5.0))
    client = safra.AsyncClient(o.base_url, o.cliente, profile=json.loads(o.profile) if o.profile else None,
                               timeout=o.timeout_ms / 1000, shared=share)
    stop = threading.Event()
    watcher = threading.Thread(target=watch_lease, args=(share, stop), daemon=True)
    watcher.start()
    state = {"next": 0, "registered": 0}
    errors = []

    async def lane():
        while state["next"] < o.count:
            n = o.first + state["next"]
            state["next"] += 1
            try:
                rep = await client.register_boleto(boleto_for(sample, n))
            except Exception as e:  # noqa: BLE001 - reported
                errors.append(code_of(e))
                continue
            if rep.status is not None and rep.status.codigo == 0:
                state["registered"] += 1
            else:
                errors.append("safra.business")

    t0 = time.time()
    await asyncio.gather(*(lane() for _ in range(max(1, min(o.in_flight, o.count)))))
    t1 = time.time()
    stop.set()
    watcher.join()
    await client.aclose()
    await r.aclose()
    return state["registered"], errors, share.stats(), (t0, t1)


def main(argv):
    o = parse(argv)
    sample = json.loads((ROOT / "tests" / "vectors" / "safra" / "boleto-sample.json").read_text(encoding="utf-8"))
    if o.asyncio:
        registered, errors, stats, window = asyncio.run(run_tasks(o, sample))
    else:
        registered, errors, stats, window = run_threads(o, sample)
    # "window": when the registrations started and ended (Unix seconds;
    # python/bench_fleet.py reads it), beside the contract's fields.
    print(json.dumps({"lang": "python", "registered": registered, "errors": errors, "stats": stats.as_dict(),
                      "window": [round(window[0], 4), round(window[1], 4)]}), flush=True)
    return 0 if registered == o.count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
