#!/usr/bin/env python3
"""Benchmark (not a test): Safra registrations per second for 1, 2, 4 and 8
worker processes × 1, 4, 16 and 64 calls in flight each, all sharing one
session through Redis, against `selo sim safra` answering every call after
100 ms — beside the serialised baseline (one process, one call at a time:
what every client did before issue 21).

    tests/fleet/bench_fleet.py [--lang node|python] [--latency-ms 100]
        [--workers 1,2,4,8] [--in-flight 1,4,16,64] [--rounds 4]

Each configuration registers workers × in-flight × rounds boletos (at least
16), fresh fleet name each time (so each pays its one handshake), and the
rate counts from the first process start to the last exit (process start-up
included, as a fleet would pay it). Needs the same builds as
tests/fleet/mixed_fleet.py.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mixed_fleet import ROOT, SEAL_HEX, control, start_redis, start_sim, worker_commands  # noqa: E402


def run(lang: str, base: str, rport: int, name: str, workers: int, in_flight: int, each: int,
        first: int) -> tuple[float, int]:
    t0 = time.monotonic()
    procs = []
    for w in range(workers):
        cmd = worker_commands(lang, "") + [
            "--base-url", base, "--redis", f"redis://127.0.0.1:{rport}", "--name", name,
            "--seal-key", SEAL_HEX, "--first", str(first + w * each), "--count", str(each),
            "--in-flight", str(in_flight), "--lease-ttl-ms", "10000", "--timeout-ms", "60000"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                      cwd=ROOT))
    registered = 0
    for p in procs:
        out, _ = p.communicate(timeout=600)
        lines = out.strip().splitlines()
        if lines:
            registered += int(json.loads(lines[-1]).get("registered", 0))
    return time.monotonic() - t0, registered


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lang", default="node", choices=["node", "python"])
    ap.add_argument("--latency-ms", type=int, default=100)
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--in-flight", default="1,4,16,64")
    ap.add_argument("--rounds", type=int, default=4)
    a = ap.parse_args()
    workers = [int(x) for x in a.workers.split(",")]
    flights = [int(x) for x in a.in_flight.split(",")]
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="selo-bench-"))
    redis, rport = start_redis(tmp)
    sim, base, origin = start_sim()
    try:
        control(origin, "POST", [{"fault": "latency", "ms": a.latency_ms}])
        first = 70_000_000
        n = 0
        rows = []
        baseline = None
        print(f"# {a.lang} workers, sim latency {a.latency_ms} ms per call, registrations/s "
              f"(boletos; one fleet each)")
        print(f"{'workers':>7} {'in flight':>9} {'boletos':>7} {'seconds':>8} {'reg/s':>8} {'× serial':>8}")
        for w in workers:
            for f in flights:
                each = max(16 // w if w else 16, f * a.rounds)
                secs, reg = run(a.lang, base, rport, f"bench-{n}", w, f, each, first)
                first += w * each
                n += 1
                rate = reg / secs if secs > 0 else 0.0
                if w == 1 and f == 1:
                    baseline = rate
                ratio = rate / baseline if baseline else float("nan")
                rows.append((w, f, reg, secs, rate, ratio))
                print(f"{w:>7} {f:>9} {reg:>7} {secs:>8.2f} {rate:>8.1f} {ratio:>8.1f}", flush=True)
        print(f"# serialised baseline (1 process, 1 call at a time): {baseline:.1f} reg/s")
    finally:
        sim.terminate()
        redis.terminate()
        for p in (sim, redis):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
