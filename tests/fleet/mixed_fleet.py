#!/usr/bin/env python3
"""A mixed fleet (SPEC §5, issue 21): Node, Python and Java worker processes
share ONE Safra session through one Redis, each through its own language's
adapter over the core's shared-state protocol (docs/shared-state.md).

    tests/fleet/mixed_fleet.py [--workers-per-language 2] [--each 50]

Starts its own `redis-server` and `selo sim safra` (20 ms latency per call),
runs 2 Node + 2 Python + 2 Java workers (the cross-language worker contract:
js/test/fleet_worker.cjs, python/tests/fleet_worker.py,
dev.selo.redis.FleetWorker) with 4 calls in flight each, and checks what
the bank saw: exactly one handshake (two psd001) and one psd005 for the
whole fleet, no HTTP 480, no duplicate registration, every boleto
registered; and that no Redis value holds the bank's AES key or token in
any encoding. Prints one summary line `fleet-mixed: N passed, M failed, 0
skipped` (scripts/test-fleet collects it). Needs the release build
(target/selo-release), the wasm build (js/wasm), js/node_modules/redis,
the wheel installed in .venv, and the Java classes (java/target).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEAL_HEX = "5e" * 32
checks: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    checks.append((name, ok, detail))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_cmd(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-p", str(port), "--raw", *args], check=True,
                          capture_output=True, text=True, timeout=10).stdout


def start_redis(tmp: pathlib.Path) -> tuple[subprocess.Popen, int]:
    if shutil.which("redis-server") is None:
        print("redis-server is not on PATH (scripts/setup installs it)", file=sys.stderr)
        sys.exit(2)
    port = free_port()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", str(tmp)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            if redis_cmd(port, "PING").strip() == "PONG":
                return p, port
        except subprocess.CalledProcessError:
            pass
        time.sleep(0.05)
    p.kill()
    raise SystemExit("redis-server did not start")


def start_sim() -> tuple[subprocess.Popen, str, str]:
    selo = ROOT / "target" / "selo-release" / "bin" / "selo"
    p = subprocess.Popen([str(selo), "sim", "safra", "--port", "0"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    assert p.stdout is not None
    first = p.stdout.readline().strip()
    m = re.match(r"listening on (http://127\.0\.0\.1:(\d+)(/\S*))$", first)
    if not m:
        p.kill()
        raise SystemExit(f"selo sim safra: {first!r}")
    line = first
    while not line.startswith("control:"):
        line = p.stdout.readline().strip()
    return p, m.group(1), f"http://127.0.0.1:{m.group(2)}"


def control(origin: str, method: str, body: object = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(origin + ("/_control/fault" if method == "POST" else "/_control/state"),
                                 data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def java_classpath() -> str:
    java = ROOT / "java"
    out = java / "target" / "fleet-classpath.txt"
    subprocess.run(["mvn", "-q", "-B", "-Dstyle.color=never",
                    "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:build-classpath",
                    "-Dmdep.includeScope=test", f"-Dmdep.outputFile={out}"], cwd=java, check=True,
                   timeout=300)
    deps = out.read_text().strip()
    return os.pathsep.join([str(java / "target" / "test-classes"), str(java / "target" / "classes"), deps])


def worker_commands(lang: str, cp: str) -> list[str]:
    if lang == "node":
        return ["node", str(ROOT / "js" / "test" / "fleet_worker.cjs")]
    if lang == "python":
        return [str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "python" / "tests" / "fleet_worker.py")]
    lib = ROOT / "target" / "selo-release" / "lib"
    return ["java", "-XX:TieredStopAtLevel=1", f"-Djna.library.path={lib}",
            f"-Dselo.vectors={ROOT / 'tests' / 'vectors'}", "-cp", cp, "dev.selo.redis.FleetWorker"]


def encodings(secret: str) -> list[str]:
    """The secret as the sim reports it (base64) and in other encodings."""
    out = [secret]
    try:
        raw = base64.b64decode(secret + "=" * (-len(secret) % 4), validate=False)
        out += [base64.urlsafe_b64encode(raw).decode().rstrip("="), raw.hex(), raw.hex().upper()]
        try:
            out.append(raw.decode("latin-1"))
        except UnicodeDecodeError:
            pass
    except ValueError:
        pass
    return [e for e in out if len(e) >= 8]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers-per-language", type=int, default=2)
    ap.add_argument("--each", type=int, default=50)
    ap.add_argument("--in-flight", type=int, default=4)
    a = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="selo-fleet-"))
    redis, rport = start_redis(tmp)
    sim, base, origin = start_sim()
    procs: list[subprocess.Popen] = []
    try:
        control(origin, "POST", [{"fault": "latency", "ms": 20}])
        cp = java_classpath()
        langs = ["node", "python", "java"]
        t0 = time.monotonic()
        n = 0
        for lang in langs:
            for _ in range(a.workers_per_language):
                first = 50_000_000 + n * a.each
                n += 1
                cmd = worker_commands(lang, cp) + [
                    "--base-url", base, "--redis", f"redis://127.0.0.1:{rport}", "--name", "mixed",
                    "--seal-key", SEAL_HEX, "--first", str(first), "--count", str(a.each),
                    "--in-flight", str(a.in_flight), "--lease-ttl-ms", "10000", "--timeout-ms", "30000"]
                procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True, cwd=ROOT))
        lines = []
        for p in procs:
            try:
                out, err = p.communicate(timeout=180)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            last = out.strip().splitlines()[-1] if out.strip() else "{}"
            try:
                lines.append(json.loads(last))
            except json.JSONDecodeError:
                lines.append({"lang": "?", "registered": 0, "errors": [f"no JSON line: {last[:200]}"],
                              "stderr": err[-2000:]})
            if p.returncode != 0:
                print(err[-2000:], file=sys.stderr)
        took = time.monotonic() - t0
        total = len(langs) * a.workers_per_language * a.each
        registered = sum(int(w.get("registered", 0)) for w in lines)
        by_lang = {lang: [w for w in lines if w.get("lang") == lang] for lang in langs}
        check("every worker ran and exited 0", all(p.returncode == 0 for p in procs),
              json.dumps([{k: w.get(k) for k in ("lang", "registered", "errors")} for w in lines]))
        check("each language took part", all(len(v) == a.workers_per_language for v in by_lang.values()),
              str({k: len(v) for k, v in by_lang.items()}))
        check(f"{total} boletos registered", registered == total, f"{registered}")
        state = control(origin, "GET")
        counts = state.get("counts", {})
        proto = state.get("protocol", {})
        check("one handshake fleet-wide (2 × psd001 200)", counts.get("psd001 200") == 2, json.dumps(counts))
        check("one psd005 fleet-wide", counts.get("psd005 200") == 1, json.dumps(counts))
        check("no HTTP 480", not any(k.endswith(" 480") for k in counts), json.dumps(counts))
        check("no duplicate registration", proto.get("duplicates") == 0, str(proto.get("duplicates")))
        check(f"psd050 sent {total} times", counts.get("psd050 200") == total, json.dumps(counts))
        hs = sum(int(w.get("stats", {}).get("handshakes", 0)) for w in lines)
        check("the workers' counters agree: one handshake published", hs == 1, str(hs))
        # At rest: nothing the bank issued appears in any Redis value.
        issued = proto.get("issued", {})
        secrets = [e for s in issued.get("session_keys", []) + issued.get("tokens", []) for e in encodings(s)]
        check("the sim reported what it issued", len(secrets) > 0, json.dumps(issued)[:100])
        keys = [k for k in redis_cmd(rport, "--scan").splitlines() if k]
        leaked = []
        for k in keys:
            kind = redis_cmd(rport, "TYPE", k).strip()
            if kind != "string":
                continue
            v = redis_cmd(rport, "GET", k)
            leaked += [k for s in secrets if s in v or s in k]
        check("no Redis value holds the bank's key or token", not leaked and len(keys) > 0,
              f"keys {keys}, leaked in {sorted(set(leaked))}")
        print(f"fleet-mixed: {len(procs)} workers ({', '.join(langs)}), {total} boletos in {took:.1f} s")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        sim.terminate()
        redis.terminate()
        for p in (sim, redis):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    failed = sum(1 for _, ok, _ in checks if not ok)
    print(f"fleet-mixed: {len(checks) - failed} passed, {failed} failed, 0 skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
