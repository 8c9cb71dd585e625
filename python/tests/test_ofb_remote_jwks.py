"""Remote JWK Sets (issue 20): the core's `JwksCache` policy, Python's GET.

- the shared policy table (tests/vectors/ofb/jwks-policy.json) through the
  uniffi binding, as core/tests/ofb_jwks_policy.rs runs it;
- against real HTTP servers on 127.0.0.1 (threads), for `RemoteJwks`
  (threads) and `AsyncRemoteJwks` (asyncio): a 64 MiB set (refused, memory
  growth bounded), a set that trickles a byte every 200 ms (refused within
  the deadline), a redirect to another port (not followed), a server that
  goes down after max_age (the stale set verifies until the grace ends;
  fetch attempts follow the backoff, counted at the server), 100
  concurrent requests with new kids on a cold cache (one fetch: every
  fetch starts the unknown-kid cooldown, the first one included), the
  cooldown (no fetch within it, one after it),
  a key that does not parse (skipped);
- hostile tokens at a server helper with a remote set (a 700 000-deep
  header, ~1 MiB of nested objects, 10 000 header members): each refused
  with a stable code, and the next valid request verifies;
- the OFB client: a `200 application/json` answer to a signed request is
  `ofb.client.unsigned`.

Policy clocks are injected where the policy has time in it; fetch
deadlines are real (generous bounds, events to wait for)."""

import asyncio
import base64
import json
import os
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import selo
from selo import ofb
from selo._native import selo_uniffi as n
from selo.jwks import AsyncRemoteJwks, JwksFetchError, RemoteJwks
from conftest import VECTORS, vec

KEY = selo.PrivateKey.load((VECTORS / "external/keys/rsa2048-ofb.pem").read_text())
PUB = json.loads(KEY.public_key().to_jwk().to_json())
AUD, ISS = "https://bank.example/open-banking/v1/payments", "org-tpp"
SEED = int(os.environ.get("SELO_JWKS_SEED") or random.randrange(2**31))
print(f"test_ofb_remote_jwks: random seed {SEED} (SELO_JWKS_SEED={SEED} replays it)")


def jwk(kid):
    return dict(PUB, kid=kid, use="sig")


def doc(*kids):
    return {"keys": [jwk(k) for k in kids]}


def token(kid="cli"):
    return ofb.sign(KEY, {"data": {}}, kid=kid, aud=AUD, iss=ISS).token.encode()


def b64u(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def kw(body):
    return dict(method="POST", content_type="application/jwt", body=body, aud=AUD, iss=ISS, client_id="c")


# ---- the shared policy table through the binding ----------------------------------------


def table_token(kid):
    if kid is None:
        return "not-a-jws"
    return b64u(json.dumps({"alg": "PS256", "kid": kid}, separators=(",", ":")).encode()) + ".e30.AA"


def table_body(table, fetched):
    if "body" in fetched:
        return fetched["body"].encode()
    keys = [dict(table["key"], kid=k) for k in fetched["kids"]]
    return json.dumps({"keys": keys}).encode()


def test_every_scenario_of_the_shared_policy_table():
    table = vec("ofb/jwks-policy.json")
    steps = 0
    for sc in table["scenarios"]:
        name = sc["name"]
        cache = n.JwksCache(table["url"], json.dumps(sc["policy"]) if sc.get("policy") else None)
        ticket = None
        for i, st in enumerate(sc["steps"]):
            at = f"{name}, step {i}"
            t, expect = st["t"], st.get("expect", {})
            steps += 1
            if "decide" in st:
                kind = expect["kind"]
                if kind == "refuse":
                    with pytest.raises(selo.OfbError) as ei:
                        with selo._errors.guard:
                            cache.decide(t, table_token(st["decide"]))
                    assert ei.value.code == expect["code"], at
                    assert selo.http_status(ei.value.code) == 503, at
                    continue
                d = cache.decide(t, table_token(st["decide"]))
                if kind == "use":
                    assert isinstance(d, n.JwksDecision.USE), (at, d)
                    assert (d.refresh is not None) == expect["refresh"], at
                    if d.refresh is not None:
                        ticket = d.refresh.id
                elif kind == "fetch":
                    assert isinstance(d, n.JwksDecision.FETCH), (at, d)
                    assert d.ticket.url == table["url"], at
                    ticket = d.ticket.id
                else:
                    assert kind == "wait" and isinstance(d, n.JwksDecision.WAIT), (at, d)
                    assert d.until_ms > 0, at
            elif "fetched" in st:
                f = st["fetched"]
                if "code" in expect:
                    with pytest.raises(selo.OfbError) as ei:
                        with selo._errors.guard:
                            cache.fetched(ticket, t, f["status"], table_body(table, f))
                    assert ei.value.code == expect["code"], at
                    if "message_contains" in expect:
                        assert expect["message_contains"] in ei.value.message, (at, ei.value.message)
                else:
                    skipped = cache.fetched(ticket, t, f["status"], table_body(table, f))
                    assert len(skipped) == expect.get("skipped", 0), at
            elif "failed" in st:
                message = cache.failed(ticket, t, st["failed"], "the host's words")
                assert expect["code"] == "ofb.jwks.fetch" and message.startswith("JWKS "), (at, message)
            elif "stats" in st:
                s = cache.stats()
                assert {"fetches": s.fetches, "failures": s.failures, "refused": s.refused} == st["stats"], at
            else:
                raise AssertionError(f"{at}: unknown step {st}")
    assert steps >= 60, steps


def test_policy_and_url_are_refused_at_construction():
    for url in ("http://keys.example.org/jwks", "ftp://keys.example.org/x", "http://127.0.0.1@evil.example/j"):
        with pytest.raises(selo.OfbError) as ei:
            RemoteJwks(url)
        assert ei.value.code == "ofb.jwks.url", url
    with pytest.raises(selo.OfbError) as ei:
        RemoteJwks("https://k.example/jwks", policy={"max_agee": 1})
    assert ei.value.code == "ofb.jwks.url"
    RemoteJwks("http://keys.example.org/jwks", allow_http=True).close()
    j = RemoteJwks("https://k.example/jwks", timeout=2.5, max_bytes=1000)
    assert (j.timeout, j.max_bytes) == (2.5, 1000)
    j.close()


# ---- real local HTTP servers ------------------------------------------------------------


class Srv:
    """A JWKS server on 127.0.0.1 (port 0) in threads, counting GETs.
    ``mode``: "jwks" (``doc``), "huge" (64 MiB, streamed without a length,
    or declared), "trickle" (a byte every 200 ms), "redirect" (302 to
    ``location``), "down" (closes without an answer)."""

    def __init__(self, mode="jwks", body=None, location=None, gate=None, declared=False):
        self.mode, self.body, self.location, self.gate, self.declared = mode, body, location, gate, declared
        self.hits, self.sent = 0, 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.lock:
                    outer.hits += 1
                try:
                    outer.answer(self)
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    pass  # the client stopped reading: what it must do

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = self.origin + "/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, h):
        if self.gate is not None:
            assert self.gate.wait(30), "the test never opened the gate"
        if self.mode == "down":
            h.close_connection = True
            return
        if self.mode == "redirect":
            h.send_response(302)
            h.send_header("location", self.location)
            h.send_header("content-length", "0")
            h.end_headers()
            return
        if self.mode == "huge":
            total, chunk = 64 * 1024 * 1024, b" " * 65536
            h.send_response(200)
            h.send_header("content-type", "application/json")
            if self.declared:
                h.send_header("content-length", str(total))
            h.end_headers()
            h.wfile.write(b'{"keys":[')
            for _ in range(total // len(chunk)):
                if self.stop.is_set():
                    return
                h.wfile.write(chunk)
                self.sent += len(chunk)
            return
        if self.mode == "trickle":
            body = json.dumps(doc("cli")).encode()
            h.send_response(200)
            h.send_header("content-type", "application/json")
            h.send_header("content-length", str(len(body)))
            h.end_headers()
            for b in body:
                if self.stop.wait(0.2):
                    return
                h.wfile.write(bytes([b]))
                h.wfile.flush()
                self.sent += 1
            return
        body = json.dumps(self.body).encode()
        h.send_response(200)
        h.send_header("content-type", "application/json")
        h.send_header("content-length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def close(self):
        self.stop.set()
        if self.gate is not None:
            self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    made = []

    def make(*a, **k):
        s = Srv(*a, **k)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


KINDS = ["sync", "async"]


def remote(kind, url, **k):
    return RemoteJwks(url, **k) if kind == "sync" else AsyncRemoteJwks(url, **k)


async def decide(server, body):
    if isinstance(server.jwks, AsyncRemoteJwks):
        return await server.adecide(**kw(body))
    return server.decide(**kw(body))


async def close(jwks):
    if isinstance(jwks, AsyncRemoteJwks):
        await jwks.aclose()
    else:
        jwks.close()


async def until(cond, what, timeout=20.0):
    """Waits (real time, generously) for ``cond()``; the test fails after ``timeout``."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


class PeakRss:
    """The process's peak resident memory over a block: VmHWM after
    resetting it (/proc/self/clear_refs), and a 2 ms sampler of VmRSS."""

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.hwm = True
        except OSError:
            self.hwm = False
        self.base = status_kib("VmRSS")
        self.peak, self.done = self.base, threading.Event()

        def sample():
            while not self.done.wait(0.002):
                self.peak = max(self.peak, status_kib("VmRSS"))

        self.t = threading.Thread(target=sample, daemon=True)
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.t.join(5)
        self.peak = max(self.peak, status_kib("VmRSS"))
        if self.hwm:
            self.peak = max(self.peak, status_kib("VmHWM"))

    @property
    def growth_mib(self):
        return (self.peak - self.base) / 1024


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("declared", [False, True], ids=["streamed", "declared"])
async def test_a_64_mib_set_is_refused_and_memory_stays_bounded(servers, kind, declared):
    srv = servers("huge", declared=declared)
    jwks = remote(kind, srv.url, timeout=20.0)
    server = ofb.Server(jwks)
    with PeakRss() as mem:
        t0 = time.monotonic()
        d = await decide(server, token())
        elapsed = time.monotonic() - t0
    assert d.error.code == "ofb.jwks.unavailable" and d.response.status == 503
    assert d.response.json()["errors"][0]["code"] == "JWKS_UNAVAILABLE"
    assert jwks.last_error is not None and jwks.last_error.kind == "too-large"
    assert "512" in jwks.last_error.message or "524288" in jwks.last_error.message
    assert srv.hits == 1 and elapsed < 15, elapsed
    # reading stopped: a fraction of the 64 MiB ever left the server (socket buffers aside)
    assert srv.sent < 16 * 1024 * 1024, srv.sent
    assert mem.growth_mib < 24, f"peak RSS grew {mem.growth_mib:.1f} MiB fetching a 64 MiB set"
    await close(jwks)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_trickling_set_is_refused_within_the_deadline(servers, kind):
    srv = servers("trickle")
    jwks = remote(kind, srv.url, timeout=1.0)
    server = ofb.Server(jwks)
    t0 = time.monotonic()
    d = await decide(server, token())
    elapsed = time.monotonic() - t0
    assert d.error.code == "ofb.jwks.unavailable" and d.response.status == 503
    assert jwks.last_error.kind == "timeout" and jwks.last_error.code == "ofb.jwks.fetch"
    # one deadline for the whole fetch: ~1 s, not 200 ms per byte of a ~450-byte set (90 s)
    assert 0.8 <= elapsed < 4.0, elapsed
    assert srv.sent < 40, srv.sent
    await close(jwks)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_redirect_to_another_port_is_not_followed(servers, kind):
    target = servers("jwks", body=doc("cli"))
    srv = servers("redirect", location=target.url)
    jwks = remote(kind, srv.url)
    d = await decide(ofb.Server(jwks), token())
    assert d.error.code == "ofb.jwks.unavailable" and d.response.status == 503
    assert jwks.last_error.kind == "response" and "redirects are not followed" in jwks.last_error.message
    assert (srv.hits, target.hits) == (1, 0)
    await close(jwks)


@pytest.mark.parametrize("kind", KINDS)
async def test_down_after_max_age_stale_set_serves_until_grace_and_fetches_back_off(servers, kind):
    srv = servers("jwks", body=doc("cli"))
    now = [100.0]
    errors = []
    jwks = remote(kind, srv.url, clock=lambda: now[0], max_age=1.0, stale_grace=5.0, backoff_initial=0.2,
                  backoff_max=1.6, on_fetch_error=errors.append)
    server = ofb.Server(jwks)

    async def at(t, ok, hits, failures):
        now[0] = 100.0 + t
        d = await decide(server, token())
        assert d.ok is ok, (t, d.error)
        if not ok:
            assert d.error.code == "ofb.jwks.unavailable" and d.response.status == 503, t
        await until(lambda: srv.hits == hits and jwks.stats.failures == failures,
                    f"t={t}: {hits} fetches, {failures} failed (saw {srv.hits}, {jwks.stats})")

    await at(0.0, True, 1, 0)
    srv.mode = "down"
    await at(0.5, True, 1, 0)  # fresh
    # stale: verifies with the old set, refreshes in the background (fails)
    await at(1.0, True, 2, 1)
    await at(1.1, True, 2, 1)  # backing off 0.2 s
    await at(1.2, True, 3, 2)  # then 0.4 s
    await at(1.5, True, 3, 2)
    await at(1.6, True, 4, 3)  # then 0.8 s
    await at(2.3, True, 4, 3)
    await at(2.4, True, 5, 4)  # then 1.6 s (the cap)
    await at(3.9, True, 5, 4)
    await at(4.0, True, 6, 5)  # then 1.6 s again
    await at(5.6, True, 7, 6)
    await at(5.99, True, 7, 6)  # the last moment of the grace (max_age 1 + grace 5)
    await at(6.0, False, 7, 6)  # grace over: 503, no fetch while backing off
    await at(7.2, False, 8, 7)  # a fetch when the backoff allows, failing: still 503
    assert all(e.code == "ofb.jwks.fetch" and e.kind == "network" for e in errors) and len(errors) == 7
    srv.mode = "jwks"
    await at(8.8, True, 9, 7)  # back up: a good set
    assert jwks.stats.consecutive_failures == 0 and jwks.last_error is None
    await close(jwks)


@pytest.mark.parametrize("kind", KINDS)
async def test_100_concurrent_new_kids_share_one_fetch(servers, kind):
    """Every fetch starts the unknown-kid cooldown, the cold one included: 100
    concurrent requests with 100 new kids on a cold cache make exactly one
    fetch; the waiters verify against that set (their kid in it: accepted;
    not in it: ``ofb.verify.kid_not_found``) and never fetch again for their
    kids; new kids within the cooldown fetch nothing; the first one after it
    fetches exactly once more."""
    kids = [f"k{i}" for i in range(100)]
    published = kids[::2]  # the set has half of the new kids
    srv = servers("jwks", body=doc(*published))
    srv.gate = threading.Event()  # the one fetch answers once the requests have decided
    now = [1000.0]  # the policy's clock, frozen while the requests run
    # a deadline far past the gate: a loaded machine cannot time the fetch out
    jwks = remote(kind, srv.url, clock=lambda: now[0], timeout=20.0)
    server = ofb.Server(jwks)
    tokens = [token(k) for k in kids]
    if kind == "sync":
        barrier = threading.Barrier(101)
        out = [None] * 100

        def run(i):
            barrier.wait(30)
            out[i] = server.decide(**kw(tokens[i]))

        ts = [threading.Thread(target=run, args=(i,)) for i in range(100)]
        for t in ts:
            t.start()
        barrier.wait(30)
        await until(lambda: srv.hits == 1, "the one fetch")
        time.sleep(0.3)  # the others meet the flight (after it they would not fetch either)
        srv.gate.set()
        for t in ts:
            t.join(30)
        decisions = out
    else:
        tasks = [asyncio.ensure_future(server.adecide(**kw(t))) for t in tokens]
        await until(lambda: srv.hits == 1, "the one fetch")
        await asyncio.sleep(0.3)  # the others meet the flight
        srv.gate.set()
        decisions = await asyncio.gather(*tasks)
    assert all(d is not None for d in decisions)
    for k, d in zip(kids, decisions):
        if k in published:
            assert d.ok, (k, d.error)
        else:
            assert not d.ok and d.error.code == "ofb.verify.kid_not_found" and d.response.status == 400, (k, d.error)
    assert srv.hits == 1 and jwks.fetches == 1, "100 new kids on a cold cache: one fetch"
    assert jwks.stats.failures == 0 and jwks.stats.refused == 0
    # the issuer publishes one more kid; new kids within the cooldown fetch nothing
    srv.body = doc(*published, "late")
    now[0] = 1029.999
    rng = random.Random(SEED)
    for t in [token("late")] + [token(f"r{rng.getrandbits(64)}") for _ in range(50)]:
        d = await decide(server, t)
        assert not d.ok and d.error.code == "ofb.verify.kid_not_found" and d.response.status == 400
    assert srv.hits == 1 and jwks.fetches == 1, "new kids within the cooldown: no fetch"
    assert not jwks.has_kid("late")
    now[0] = 1030.0  # the cooldown passed: the first new kid fetches, once
    d = await decide(server, token("late"))
    assert d.ok, d.error
    assert srv.hits == 2 and jwks.fetches == 2, "the first new kid after the cooldown: exactly one fetch"
    d = await decide(server, token(f"r{rng.getrandbits(64)}"))
    assert d.error.code == "ofb.verify.kid_not_found"
    assert srv.hits == 2, "that fetch started a new cooldown"
    await close(jwks)


@pytest.mark.parametrize("kind", KINDS)
async def test_max_age_refresh_in_the_background_and_a_skipped_key(servers, kind):
    bad = {"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"}
    srv = servers("jwks", body={"keys": [bad, jwk("cli"), {"kid": "no-kty"}]})
    now = [0.0]
    seen = []
    jwks = remote(kind, srv.url, clock=lambda: now[0], on_skipped_key=seen.append, timeout=20.0)
    server = ofb.Server(jwks)
    assert (await decide(server, token())).ok
    assert [(k.index, k.kid) for k in jwks.skipped] == [(0, "broken"), (2, "no-kty")] and len(seen) == 2
    assert jwks.has_kid("cli") and not jwks.has_kid("broken")
    srv.gate = threading.Event()  # the refresh hangs until the test lets it answer
    srv.body = doc("cli", "rotated")
    now[0] = 600.0  # max_age: a known kid verifies now, the refresh runs behind it
    t0 = time.monotonic()
    assert (await decide(server, token())).ok
    assert time.monotonic() - t0 < 2.0, "a known kid never waits for the refresh"
    await until(lambda: srv.hits == 2, "the background refresh")
    assert not jwks.has_kid("rotated")
    srv.gate.set()
    await until(lambda: jwks.has_kid("rotated"), "the refreshed set")
    assert jwks.skipped == [] and (await decide(server, token("rotated"))).ok
    await close(jwks)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_server_that_never_answers_is_a_timeout(kind):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    try:
        jwks = remote(kind, f"http://127.0.0.1:{s.getsockname()[1]}/jwks", timeout=0.3)
        t0 = time.monotonic()
        with pytest.raises(JwksFetchError) as ei:
            r = jwks.for_token(token())
            if asyncio.iscoroutine(r):
                await r
        assert time.monotonic() - t0 < 3.0
        e = ei.value
        assert e.code == "ofb.jwks.unavailable" and e.kind == "timeout" and isinstance(e, selo.OfbError)
        assert e.http_status == 503 and jwks.stats.failures == 1
        await close(jwks)
    finally:
        s.close()


# ---- hostile tokens at a server helper with a remote set ---------------------------------


def hostile_tokens():
    deep = (b64u(b"[" * 700_000) + ".e30.AA").encode()
    k = 130_000  # ~1 MiB of base64url: {"a":{"a":…1…}}
    nested = (b64u(b'{"a":' * k + b"1" + b"}" * k) + "." + b64u(b'{"data":{}}') + ".AA").encode()
    members = {"alg": "PS256", "kid": "cli", "typ": "JWT"}
    members.update((f"m{i}", i) for i in range(10_000 - len(members)))
    assert len(members) == 10_000
    wide = (b64u(json.dumps(members).encode()) + "." + b64u(b'{"data":{}}') + ".AA").encode()
    return {"700000-deep header": deep, "1 MiB of nested objects": nested, "10000 header members": wide}




@pytest.mark.parametrize("kind", KINDS)
async def test_hostile_tokens_are_refused_and_the_next_request_verifies(servers, kind):
    srv = servers("jwks", body=doc("cli"))
    jwks = remote(kind, srv.url)
    server = ofb.Server(jwks)
    assert (await decide(server, token())).ok
    codes = set(selo.all_codes()) | set(selo.host_codes())
    for name, body in hostile_tokens().items():
        assert len(body) > 100_000, name
        t0 = time.monotonic()
        d = await decide(server, body)
        assert not d.ok, name
        assert d.error.code in codes and d.error.code.split(".")[0] in ("ofb", "http"), (name, d.error.code)
        assert d.response.status in (400, 413), (name, d.response.status)
        assert d.response.json()["errors"][0]["detail"].startswith(d.error.code), name
        assert time.monotonic() - t0 < 10, name
        # the process keeps serving
        assert (await decide(server, token())).ok, name
    assert srv.hits == 1, "no hostile token made the helper fetch"
    await close(jwks)


# ---- the OFB client reading a reply ------------------------------------------------------


class Answer(BaseHTTPRequestHandler):
    """POST: answers ``self.server.reply`` (status, content type, body)."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        status, ct, body = self.server.reply
        self.send_response(status)
        self.send_header("content-type", ct)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def test_read_reply_is_the_cores():
    assert ofb.read_reply(201, "application/jwt; charset=utf-8", b" a.b.c\n") == "a.b.c"
    assert ofb.read_reply(200, None, b"eyJhbGciOiJQUzI1NiJ9.e30.c2ln") == "eyJhbGciOiJQUzI1NiJ9.e30.c2ln"
    for allow in (False, True):
        with pytest.raises(selo.OfbError) as ei:
            ofb.read_reply(204, None, b"", allow_unsigned_errors=allow)
        assert ei.value.code == "ofb.client.unsigned"
    assert ofb.read_reply(500, "text/html", b"<html>", allow_unsigned_errors=True) is None
    with pytest.raises(selo.OfbError) as ei:
        ofb.read_reply(500, "text/html", b"<html>")
    assert ei.value.code == "ofb.client.http_status"


def test_the_client_refuses_an_unsigned_200_and_unsigned_errors_unless_asked():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/payments"
    bank = selo.PrivateKey.generate(2048)
    bank_jwks = selo.JwkSet.of([bank.public_key().to_jwk().with_(kid="bank-1")])
    try:
        for allow in (False, True):
            c = ofb.Client(ofb.Signer(KEY, "cli", ISS), server_jwks=bank_jwks, server_org_id="bank-org",
                           allow_unsigned_errors=allow)
            httpd.reply = (200, "application/json", b'{"data":{"status":"ACCEPTED"}}')
            with pytest.raises(selo.OfbError) as ei:
                c.post(url, {"data": {}})
            assert ei.value.code == "ofb.client.unsigned", allow  # never passed off as verified
            httpd.reply = (422, "application/json", b'{"errors":[{"code":"X"}]}')
            if allow:
                assert c.post(url, {"data": {}}) == (422, None)  # returned, unverified
            else:
                with pytest.raises(selo.OfbError) as ei:
                    c.post(url, {"data": {}})
                assert ei.value.code == "ofb.client.http_status" and "422" in ei.value.message
            # a signed answer is verified, whatever its status
            r = ofb.sign_response(422, bank, {"errors": [{"code": "X"}]}, kid="bank-1", aud=ISS, iss="bank-org")
            httpd.reply = (r.status, dict(r.headers)["content-type"], r.body)
            status, v = c.post(url, {"data": {}})
            assert status == 422 and v is not None and v.claims.iss == "bank-org"
            c.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
