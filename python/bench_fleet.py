"""Fleet benchmark of the Python binding (not a test): registrations per
second for 1, 2, 4 and 8 worker processes sharing one Safra session through
Redis (selo.redis.SafraShare, python/tests/fleet_worker.py), 1, 4, 16 and
64 calls in flight each, against `selo sim safra` answering every call
after 100 ms, beside the serialised baseline (one call at a time: what a
lock around every operation, like the removed RedisSafraSessions, allows
for the whole fleet). Run after scripts/test-python installed the wheel:

    .venv/bin/python python/bench_fleet.py [--latency-ms 100] [--rounds 3]

Needs redis-server on PATH and the CLI (SELO_BIN or target/selo-release/bin/selo).
Each cell: boletos registered / (last end - first start of the
registrations), process start-up excluded, the fleet's handshake done
before (every cell adopts its record); one run (a noisy box: compare cells
of one run).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "tests"))
os.environ.setdefault("SELO_BIN", str(HERE.parent / "target" / "selo-release" / "bin" / "selo"))

from conftest import Sim  # noqa: E402
from redis_support import RedisServer, run_fleet, sim_latency  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency-ms", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3, help="calls per lane (count = in flight x rounds)")
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--in-flight", default="1,4,16,64")
    o = ap.parse_args()
    workers = [int(x) for x in o.workers.split(",")]
    in_flight = [int(x) for x in o.in_flight.split(",")]
    server = RedisServer()
    sim = Sim("safra")
    sim_latency(sim, o.latency_ms)
    first = 1_000_000
    rows = {}
    try:
        # the fleet's handshake and psd005 once, before any cell is timed
        run_fleet(sim, workers=1, per_worker=1, first=first - 1, in_flight=1, name="bench", redis=server.url)
        for w in workers:
            for f in in_flight:
                per = max(f * o.rounds, 10)
                results = run_fleet(sim, workers=w, per_worker=per, first=first, in_flight=f, name="bench",
                                    redis=server.url)
                first += w * per + 1000
                bad = [r for r in results if r["exit"] != 0]
                if bad:
                    raise SystemExit(f"{w} workers x {f} in flight failed: {bad[:2]}")
                t0 = min(r["window"][0] for r in results)
                t1 = max(r["window"][1] for r in results)
                rows[(w, f)] = sum(r["registered"] for r in results) / (t1 - t0)
                print(f"# {w} workers x {f} in flight: {rows[(w, f)]:.1f}/s", file=sys.stderr, flush=True)
    finally:
        sim.close()
        server.close()
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"`selo sim safra` with {o.latency_ms} ms per call, {time.strftime('%Y-%m-%d')}.\n")
    print("| workers \\ in flight | " + " | ".join(str(f) for f in in_flight) + " |")
    print("|---|" + "---:|" * len(in_flight))
    for w in workers:
        print(f"| {w} | " + " | ".join(f"{rows[(w, f)]:.1f}" for f in in_flight) + " |")
    base = rows.get((1, 1))
    if base is not None:
        print(f"\nSerialised baseline (one call at a time, fleet-wide): {base:.1f}/s "
              f"(at most {1000 / o.latency_ms:.1f}/s at {o.latency_ms} ms per call).")


if __name__ == "__main__":
    main()
