"""Servers that hold (issues 12, 20): replay stores fail closed and get the
core's key and TTL, every error body is the core's, and the WSGI/ASGI body
limit. (The remote JWK Set: test_ofb_remote_jwks.py.)"""

import asyncio
import io
import json
import time

import pytest

import selo
from selo import bmp, ofb
from conftest import VECTORS

PEM = (VECTORS / "external/keys/rsa2048-ofb.pem").read_text()
KEY = selo.PrivateKey.load(PEM)
GOOD = json.loads(KEY.public_key().to_jwk().with_(kid="cli", use="sig").to_json())
AUD, ISS = "https://bank/p", "org-tpp"

def token(now=None):
    return ofb.sign(KEY, {"data": {}}, kid="cli", aud=AUD, iss=ISS, now=now).token.encode()


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
