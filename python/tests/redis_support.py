"""Shared by the test_redis_*.py files (not a test file): real redis-server
processes on free loopback ports (Debian's redis-server; missing is a
failure, never a skip), a 3-node Redis Cluster, the Safra simulator's
state, and fleet worker processes (tests/fleet_worker.py)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

WORKER = pathlib.Path(__file__).resolve().parent / "fleet_worker.py"
SEAL_HEX = "5e" * 32
SEAL = bytes.fromhex(SEAL_HEX)


def redis_server_exe() -> str:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server not found: install it (scripts/setup python does, with apt)")
    return exe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def cluster_ports(n: int) -> list:
    """``n`` distinct free ports whose cluster bus port (port + 10000) is
    free and valid too."""
    ports: list = []
    while len(ports) < n:
        p = free_port()
        if p < 50_000 and p not in ports and _bindable(p + 10_000):
            ports.append(p)
        elif p >= 50_000:
            # pick below the ephemeral range ourselves
            import random

            q = random.randint(20_000, 40_000)
            if q not in ports and _bindable(q) and _bindable(q + 10_000):
                ports.append(q)
    return ports


def wait_ping(port: int, proc: subprocess.Popen, seconds: float = 10.0) -> None:
    until = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as c:
                c.sendall(b"PING\r\n")
                if c.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        assert proc.poll() is None, f"redis-server on {port} exited with {proc.returncode}"
        assert time.monotonic() < until, f"redis-server on {port} did not answer PING"
        time.sleep(0.05)


class RedisServer:
    """A redis-server on a free loopback port. ``stop()`` shuts it down with
    SHUTDOWN SAVE (``start()`` on the same port brings the data back);
    ``close()`` kills it and removes its directory."""

    def __init__(self, *extra: str) -> None:
        self.exe = redis_server_exe()
        self.dir = tempfile.mkdtemp(prefix="selo-redis-")
        self.extra = list(extra)
        self.port = free_port()
        self.proc: "subprocess.Popen[bytes] | None" = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir, *self.extra],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ping(self.port, self.proc)

    def client(self, **kw):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        kw.setdefault("socket_timeout", 2.0)
        kw.setdefault("socket_connect_timeout", 1.0)
        kw.setdefault("retry", Retry(NoBackoff(), 0))
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def async_client(self, **kw):
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        kw.setdefault("socket_timeout", 2.0)
        kw.setdefault("socket_connect_timeout", 1.0)
        kw.setdefault("retry", Retry(NoBackoff(), 0))
        return redis.asyncio.Redis(host="127.0.0.1", port=self.port, **kw)

    def stop(self) -> None:
        """SHUTDOWN SAVE: the data is on disk for the next start()."""
        if self.proc is None:
            return
        try:
            self.client().shutdown(save=True)
        except Exception:  # noqa: BLE001 - the connection closes as it shuts down
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def values(self) -> dict:
        """Every key and its value (strings only)."""
        c = self.client()
        out = {}
        for k in c.scan_iter(count=1000):
            if c.type(k) == b"string":
                out[k] = c.get(k)
        return out

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisCluster:
    """Three cluster-enabled redis-servers joined with ``redis-cli --cluster
    create`` (no replicas)."""

    def __init__(self) -> None:
        exe = redis_server_exe()
        cli = shutil.which("redis-cli")
        if cli is None:
            pytest.fail("redis-cli not found (Debian's redis-tools, installed with redis-server)")
        self.dir = tempfile.mkdtemp(prefix="selo-redis-cluster-")
        self.ports = cluster_ports(3)
        self.procs = []
        try:
            for p in self.ports:
                proc = subprocess.Popen([exe, "--port", str(p), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                                         "--cluster-config-file", f"{self.dir}/nodes-{p}.conf", "--save", "",
                                         "--appendonly", "no", "--dir", self.dir],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self.procs.append(proc)
                wait_ping(p, proc)
            r = subprocess.run([cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                                "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, text=True,
                               timeout=60)
            assert r.returncode == 0, r.stdout + r.stderr
            # Wait until every node agrees the cluster is up.
            until = time.monotonic() + 20
            while True:
                states = [subprocess.run([cli, "-p", str(p), "cluster", "info"], capture_output=True,
                                         text=True).stdout for p in self.ports]
                if all("cluster_state:ok" in s for s in states):
                    break
                assert time.monotonic() < until, states
                time.sleep(0.1)
        except BaseException:
            self.close()
            raise

    @property
    def nodes(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def client(self):
        from redis.cluster import ClusterNode, RedisCluster

        return RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in self.ports], socket_timeout=2.0)

    def close(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()
        self.procs = []
        shutil.rmtree(self.dir, ignore_errors=True)


def sim_state(sim) -> dict:
    import httpx

    return httpx.get(sim.origin + "/_control/state").json()


def sim_latency(sim, ms: int) -> None:
    import httpx

    if ms:
        sim.fault({"fault": "latency", "ms": ms})
    else:
        httpx.delete(sim.origin + "/_control/fault")


class Worker:
    """One fleet worker process (tests/fleet_worker.py). Its stderr is read
    by a thread: ``lease_held`` is set when it reports holding the lease."""

    def __init__(self, sim, *, redis=None, cluster=None, name: str, first: int, count: int, in_flight: int,
                 lease_ttl_ms=None, timeout_ms=None, asyncio: bool = False, profile=None) -> None:
        args = [sys.executable, str(WORKER), "--base-url", sim.url, "--name", name, "--seal-key", SEAL_HEX,
                "--first", str(first), "--count", str(count), "--in-flight", str(in_flight)]
        args += ["--cluster", cluster] if cluster is not None else ["--redis", redis]
        if lease_ttl_ms is not None:
            args += ["--lease-ttl-ms", str(lease_ttl_ms)]
        if timeout_ms is not None:
            args += ["--timeout-ms", str(timeout_ms)]
        if asyncio:
            args.append("--asyncio")
        if profile is not None:
            args += ["--profile", json.dumps(profile)]
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                     cwd="/")
        self.lease_held = threading.Event()
        self.stderr: list = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            if line.rstrip().endswith("lease held"):
                self.lease_held.set()

    def result(self, timeout: float = 60.0) -> dict:
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"worker did not finish within {timeout} s: {''.join(self.stderr)[-2000:]}")
        self.finished = time.monotonic()
        self._reader.join(5)
        lines = [ln for ln in out.splitlines() if ln.strip()]
        assert len(lines) == 1, f"expected one JSON line, got {out!r}; stderr: {''.join(self.stderr)[-2000:]}"
        r = json.loads(lines[0])
        r["exit"] = self.proc.returncode
        return r

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def run_fleet(sim, *, workers: int, per_worker: int, first: int, in_flight: int, name: str, **kw) -> list:
    ws = [Worker(sim, name=name, first=first + i * per_worker, count=per_worker, in_flight=in_flight, **kw)
          for i in range(workers)]
    try:
        return [w.result() for w in ws]
    finally:
        for w in ws:
            w.kill()


def total(results: list, stat: str) -> int:
    return sum(r["stats"][stat] for r in results)
