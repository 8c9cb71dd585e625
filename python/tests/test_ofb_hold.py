"""Servers that hold (issue 12): replay stores fail closed, the remote JWK Set
(sync and async: timeout, max age, unknown-kid cooldown, single-flight, a
malformed key skipped) against a real local HTTP server counting fetches,
and the WSGI/ASGI body limit. Clocks are injected: no sleeps."""

import asyncio
import base64
import io
import json
import os
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import selo
from selo import bmp, ofb
from selo.jwks import AsyncRemoteJwks, JwksFetchError, RemoteJwks
from conftest import VECTORS

PEM = (VECTORS / "external/keys/rsa2048-ofb.pem").read_text()
KEY = selo.PrivateKey.load(PEM)
GOOD = json.loads(KEY.public_key().to_jwk().with_(kid="cli", use="sig").to_json())
AUD, ISS = "https://bank/p", "org-tpp"

SEED = int(os.environ.get("SELO_JWKS_SEED") or random.randrange(2**31))
print(f"test_ofb_hold: random seed {SEED} (SELO_JWKS_SEED={SEED} replays it)")


def token(now=None):
    return ofb.sign(KEY, {"data": {}}, kid="cli", aud=AUD, iss=ISS, now=now).token.encode()


def b64u(o):
    return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()


def token_with_kid(kid):
    return f"{b64u({'alg': 'PS256', 'kid': kid, 'typ': 'JWT'})}.{b64u({'data': {}})}.AAAA".encode()


def kw(body, now=None):
    return dict(method="POST", content_type="application/jwt", body=body, aud=AUD, iss=ISS, client_id="c", now=now)


# ---- replay stores fail closed ---------------------------------------------------------

SECRET = "redis://user:hunter2@10.1.2.3:6379"


class Answers(ofb.JtiStore):
    def __init__(self, answer):
        self.answer = answer

    def check_and_insert(self, client_id, jti, now):
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def assert_store_failed(d):
    assert not d.ok
    assert d.error.code == "ofb.replay.store_failed"
    assert d.response.status == 503
    assert d.response.json()["errors"][0]["detail"].startswith("ofb.replay.store_failed")
    assert SECRET.encode() not in d.response.body and b"10.1.2.3" not in d.response.body
    assert "10.1.2.3" not in d.error.message


@pytest.mark.parametrize("answer", [None, 1, 0, "OK", "FRESH", b"fresh", [], f"ERR {SECRET}"],
                         ids=["None", "1", "0", "OK", "FRESH", "bytes", "list", "error-string"])
def test_store_answering_anything_but_fresh_or_replayed_is_503(answer):
    assert_store_failed(ofb.Server(selo.JwkSet.parse(json.dumps({"keys": [GOOD]})), store=Answers(answer))
                        .decide(**kw(token())))


@pytest.mark.parametrize("exc", [ConnectionError(f"connect to {SECRET} refused"), TimeoutError(SECRET),
                                 selo.OfbError("ofb.replay.jti", SECRET)], ids=["conn", "timeout", "selo-error"])
def test_store_raising_is_503_without_its_text(exc):
    seen = []
    server = ofb.Server(selo.JwkSet.parse(json.dumps({"keys": [GOOD]})), store=Answers(exc),
                        on_store_error=seen.append)
    assert_store_failed(server.decide(**kw(token())))
    assert seen == [exc], "on_store_error receives the original exception"
    with pytest.raises(selo.OfbError) as ei:
        ofb.check_replay(Answers(exc), "c", "j", 0)
    assert ei.value.code == "ofb.replay.store_failed" and "10.1.2.3" not in ei.value.message


@pytest.mark.parametrize("fresh,replayed", [(True, False), ("fresh", "replayed")])
def test_a_real_replay_is_403_and_fresh_passes(fresh, replayed):
    class Store(ofb.JtiStore):
        seen = set()

        def check_and_insert(self, client_id, jti, now):
            if (client_id, jti) in self.seen:
                return replayed
            self.seen.add((client_id, jti))
            return fresh

    server = ofb.Server(selo.JwkSet.parse(json.dumps({"keys": [GOOD]})), store=Store())
    t = token()
    assert server.decide(**kw(t)).ok
    d = server.decide(**kw(t))
    assert d.error.code == "ofb.replay.jti" and d.response.status == 403


# ---- a local JWKS server (port 0) counting fetches ---------------------------------------


class JwksServer:
    def __init__(self, doc, gate=None):
        self.doc, self.fetches, self.gate = doc, 0, gate
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.fetches += 1
                if outer.gate is not None:
                    assert outer.gate.wait(20), "the test never opened the gate"
                body = json.dumps(outer.doc).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        port = self.httpd.server_address[1]
        assert port > 0
        self.url = f"http://127.0.0.1:{port}/jwks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def srv():
    s = JwksServer({"keys": [GOOD]})
    yield s
    s.close()


@pytest.fixture
def silent():
    """A listening socket that never accepts nor answers (port 0)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield f"http://127.0.0.1:{s.getsockname()[1]}/jwks"
    s.close()


def test_1000_random_unknown_kids_cause_at_most_one_fetch_per_cooldown(srv):
    rng = random.Random(SEED)
    clock = [1000.0]
    jwks = RemoteJwks(srv.url, clock=lambda: clock[0], cooldown=30.0, max_age=3600.0)
    server = ofb.Server(jwks, store=ofb.MemoryJtiStore())
    for _ in range(1000):
        d = server.decide(**kw(token_with_kid(f"k{rng.getrandbits(64)}")))
        assert d.error.code == "ofb.verify.kid_not_found"
    assert srv.fetches == 1, "1,000 unknown kids at one instant: the first load only"
    start = clock[0]
    for _ in range(1000):
        clock[0] += rng.uniform(0, 0.2)
        server.decide(**kw(token_with_kid(f"r{rng.getrandbits(64)}")))
    windows = int((clock[0] - start) // 30) + 1
    assert 2 <= srv.fetches <= 1 + windows, (srv.fetches, clock[0] - start)
    assert server.decide(**kw(token())).ok, "a good token still verifies"
    jwks.close()


def test_cooldown_then_new_kid_found_and_max_age_refetch(srv):
    clock = [0.0]
    jwks = RemoteJwks(srv.url, clock=lambda: clock[0], cooldown=30.0, max_age=600.0)
    assert len(jwks.get("cli")) == 1 and srv.fetches == 1
    srv.doc = {"keys": [GOOD, dict(GOOD, kid="rotated")]}
    clock[0] = 29.9
    assert len(jwks.get("rotated")) == 1 and srv.fetches == 1, "within the cooldown: no refetch"
    clock[0] = 30.0
    assert len(jwks.get("rotated")) == 2 and srv.fetches == 2
    clock[0] = 629.9
    jwks.get("cli")
    assert srv.fetches == 2
    clock[0] = 630.0
    jwks.get("cli")
    assert srv.fetches == 3, "max_age passed: refetched"
    jwks.close()


def test_concurrent_misses_share_one_fetch_threads():
    gate = threading.Event()
    s = JwksServer({"keys": [GOOD]}, gate=gate)
    n = 16
    entered, lock = set(), threading.Lock()

    class Counting(RemoteJwks):
        def _need(self, kid):
            with lock:
                entered.add(threading.get_ident())
                if len(entered) == n:
                    gate.set()  # every thread is inside get() before the fetch answers
            return super()._need(kid)

    try:
        jwks = Counting(s.url, clock=lambda: 0.0)
        out, errors = [], []

        def run(i):
            try:
                out.append(jwks.get(f"unknown-{i}"))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        assert not errors and len(out) == n
        assert s.fetches == 1
        jwks.close()
    finally:
        gate.set()
        s.close()


def test_a_server_that_never_answers_times_out_typed(silent):
    jwks = RemoteJwks(silent, timeout=0.2)
    with pytest.raises(JwksFetchError) as ei:
        jwks.get("x")
    assert ei.value.kind == "timeout" and ei.value.code == "ofb.jwks.fetch"
    assert isinstance(ei.value, selo.SeloError)
    jwks.close()


def test_a_malformed_key_is_skipped_and_reported():
    bad = {"kty": "RSA", "kid": "broken", "n": "!!!", "e": "AQAB"}
    s = JwksServer({"keys": [bad, GOOD, {"kid": "no-kty"}]})
    try:
        with pytest.raises(selo.SeloError):
            selo.JwkSet.parse(json.dumps({"keys": [bad, GOOD]}))  # the whole set at once would fail
        seen = []
        jwks = RemoteJwks(s.url, on_skipped_key=seen.append)
        assert ofb.Server(jwks, store=ofb.MemoryJtiStore()).decide(**kw(token())).ok
        assert [(k.index, k.kid) for k in jwks.skipped] == [(0, "broken"), (2, "no-kty")]
        assert len(seen) == 2
        jwks.close()
    finally:
        s.close()


# ---- async ------------------------------------------------------------------------------


def test_async_concurrent_misses_one_fetch_and_cooldown(srv):
    async def main():
        clock = [0.0]
        jwks = AsyncRemoteJwks(srv.url, clock=lambda: clock[0])
        sets = await asyncio.gather(*(jwks.get(f"u{i}") for i in range(50)))
        assert srv.fetches == 1 and all(x is sets[0] for x in sets)
        rng = random.Random(SEED)
        server = ofb.Server(jwks, store=ofb.MemoryJtiStore())
        for _ in range(1000):
            d = await server.adecide(**kw(token_with_kid(f"k{rng.getrandbits(64)}")))
            assert d.error.code == "ofb.verify.kid_not_found"
        assert srv.fetches == 1
        clock[0] = 30.0
        await jwks.get("another")
        assert srv.fetches == 2
        assert (await server.adecide(**kw(token()))).ok
        await jwks.aclose()

    asyncio.run(main())


def test_async_timeout_and_malformed_key(silent):
    async def main():
        jwks = AsyncRemoteJwks(silent, timeout=0.2)
        with pytest.raises(JwksFetchError) as ei:
            await jwks.get("x")
        assert ei.value.kind == "timeout"
        await jwks.aclose()
        s = JwksServer({"keys": [{"kty": "RSA", "kid": "bad", "n": "", "e": ""}, GOOD]})
        try:
            j2 = AsyncRemoteJwks(s.url)
            assert (await ofb.Server(j2, store=ofb.MemoryJtiStore()).adecide(**kw(token()))).ok
            assert [k.kid for k in j2.skipped] == ["bad"]
            await j2.aclose()
        finally:
            s.close()

    asyncio.run(main())


# ---- body size limits (BMP WSGI/ASGI helpers) -----------------------------------------------


class CountingInput(io.RawIOBase):
    def __init__(self, n):
        self.n, self.read_bytes = n, 0

    def read(self, size=-1):
        k = self.n - self.read_bytes if size is None or size < 0 else min(size, self.n - self.read_bytes)
        self.read_bytes += k
        return b"a" * k


def handler():
    return bmp.confirmation_handler(bmp.generate_key(), {})


def test_wsgi_body_over_limit_is_413_unread():
    app = bmp.wsgi_app(handler(), max_body_bytes=100)
    got = {}
    inp = CountingInput(10_000)
    out = b"".join(app({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "10000", "wsgi.input": inp},
                       lambda s, h: got.update(status=s, headers=h)))
    assert got["status"].startswith("413") and inp.read_bytes == 0
    assert json.loads(out)["errors"][0]["code"] == "PAYLOAD_TOO_LARGE"
    inp = CountingInput(50)
    b"".join(app({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "50", "wsgi.input": inp},
                 lambda s, h: got.update(status=s)))
    assert not got["status"].startswith("413") and inp.read_bytes == 50
    default = bmp.wsgi_app(handler())
    inp = CountingInput(1024 * 1024 + 1)
    b"".join(default({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(1024 * 1024 + 1), "wsgi.input": inp},
                     lambda s, h: got.update(status=s)))
    assert got["status"].startswith("413") and inp.read_bytes == 0, "the default limit is 1 MiB"


def test_asgi_body_over_limit_is_413_and_stops_reading():
    async def run(app, headers, chunks):
        sent, received = [], [0]

        async def receive():
            i = received[0]
            received[0] += 1
            return {"type": "http.request", "body": chunks[i], "more_body": i + 1 < len(chunks)}

        async def send(m):
            sent.append(m)

        await app({"type": "http", "method": "POST", "headers": headers}, receive, send)
        return sent[0]["status"], received[0]

    app = bmp.asgi_app(handler(), max_body_bytes=100)
    # Streamed with no length: stops after the chunk that crosses the limit (of 1,000 chunks).
    status, n = asyncio.run(run(app, [], [b"a" * 60] * 1000))
    assert status == 413 and n == 2
    # Declared too large: nothing read.
    status, n = asyncio.run(run(app, [(b"content-length", b"5000")], [b"a" * 5000]))
    assert status == 413 and n == 0
    status, n = asyncio.run(run(app, [], [b"a" * 50]))
    assert status != 413 and n == 1


def test_a_store_saying_it_is_full_is_503_capacity():
    d = ofb.Server(selo.JwkSet.parse(json.dumps({"keys": [GOOD]})),
                   store=Answers(selo.OfbError("ofb.replay.capacity", "full"))).decide(**kw(token()))
    assert d.error.code == "ofb.replay.capacity" and d.response.status == 503
