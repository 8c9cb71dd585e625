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


# ---- the core's replay key contract and the core's bodies (issue 20) --------------------


TRUTH = object()


class Recording(ofb.JtiStore):
    """The new contract: records (key, ttl) and answers ``answer`` (or the truth)."""

    def __init__(self, answer=TRUTH, prefix=None):
        self.calls, self.seen, self.answer = [], set(), answer
        self.key_prefix = prefix

    def record(self, key, ttl_seconds):
        self.calls.append((key, ttl_seconds))
        if self.answer is not TRUTH:
            return self.answer
        fresh = key not in self.seen
        self.seen.add(key)
        return "fresh" if fresh else "replayed"


def jwks_set():
    return selo.JwkSet.parse(json.dumps({"keys": [GOOD]}))


@pytest.mark.parametrize("prefix", [None, "tenant-7:jti"])
def test_the_store_records_the_cores_key_for_the_tokens_remaining_window(prefix):
    store = Recording(prefix=prefix)
    server = ofb.Server(jwks_set(), store=store)
    now = int(time.time())
    signed = ofb.sign(KEY, {"data": {}}, kid="cli", aud=AUD, iss=ISS, now=now)
    body = signed.token.encode()
    client = "org:a:b"  # a colon in the client id: the length prefix keeps the key unambiguous
    d = server.decide(**dict(kw(body, now=now + 30), client_id=client))
    assert d.ok
    key = f"{prefix or ofb.REPLAY_KEY_PREFIX}:{len(client)}:{client}:{signed.jti}"
    # the token's remaining acceptance window: iat + 60 (max age) + 60 (skew) + 1 - now
    assert store.calls == [(key, 91)]
    d = server.decide(**dict(kw(body, now=now + 31), client_id=client))
    assert d.error.code == "ofb.replay.jti" and d.response.status == 403
    assert store.calls[-1] == (key, 90)
    assert d.response.json()["errors"][0]["code"] == "JTI_REUSED"


@pytest.mark.parametrize("answer", ["Fresh", "fresh ", "OK", "", "replayed\x00", True, False, 1, b"fresh", None],
                         ids=["Fresh", "space", "OK", "empty", "nul", "True", "False", "1", "bytes", "None"])
def test_record_must_answer_exactly_fresh_or_replayed(answer):
    seen = []
    d = ofb.Server(jwks_set(), store=Recording(answer), on_store_error=seen.append).decide(**kw(token()))
    assert_store_failed(d)
    assert d.response.json()["errors"][0]["title"] == "Replay protection unavailable"
    assert len(seen) == 1 and isinstance(seen[0], TypeError)
    if isinstance(answer, str) and answer:
        assert answer not in str(seen[0])  # its type, never its text


def test_error_bodies_are_the_cores():
    r = ofb.store_failed_response()
    assert r.status == 503 and r.json()["errors"][0]["code"] == "REPLAY_STORE_UNAVAILABLE"
    assert r.body == ofb.error_response("ofb.replay.store_failed",
                                        "the replay store failed; replay cannot be ruled out").body
    big = ofb.body_too_large_response(100)
    assert big.status == 413 and big.json()["errors"][0]["code"] == "PAYLOAD_TOO_LARGE"
    assert big.json()["errors"][0]["detail"].startswith("http.body_too_large") and "100" in big.json()["errors"][0][
        "detail"]
    # the WSGI helper sends exactly the core's bytes
    got = {}
    out = b"".join(bmp.wsgi_app(handler(), max_body_bytes=100)(
        {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "101", "wsgi.input": CountingInput(101)},
        lambda s, h: got.update(status=s, headers=h)))
    assert out == big.body and got["status"].startswith("413")
    unavailable = ofb.error_response("ofb.jwks.unavailable", "x")
    assert unavailable.status == 503 and unavailable.json()["errors"][0]["code"] == "JWKS_UNAVAILABLE"


def _confirmation_call(key):
    acc = bmp.Account("0001", "1234567", 1, documento_federal="52998224725")
    pix = bmp.Pix("2026-11-23T10:15:00", acc, "100.00", "fulano@example.com", 3)
    signed = bmp.Signer(key).sign_transaction(pix)
    server = bmp.Server(key)
    return signed, server.confirmation_request(server.check_request(signed.headers, signed.body),
                                               "https://partner.test/confirm")


def test_a_bmp_confirmation_whose_store_raises_is_the_cores_500():
    key = bmp.generate_key()
    signed, call = _confirmation_call(key)

    def lookup(idempotency_key):
        raise ConnectionError(f"connect to {SECRET} refused")

    seen = []
    c = bmp.confirm(key, call.headers, call.body, lookup, on_store_error=seen.append)
    status, headers, body = bmp.internal_error_response()
    assert (c.status, c.body) == (500, body) and status == 500
    assert c.error.code == "bmp.confirm.internal" and not c.confirmed
    assert json.loads(body)["code"] == "bmp.confirm.internal"
    assert SECRET.encode() not in c.body and "10.1.2.3" not in c.error.message
    assert len(seen) == 1 and isinstance(seen[0], ConnectionError)
    # the same through the WSGI app; a found body still confirms
    got = {}
    app = bmp.wsgi_app(bmp.confirmation_handler(key, lookup))
    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(call.body)), "wsgi.input": io.BytesIO(call.body)}
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in call.headers})
    out = b"".join(app(environ, lambda s, h: got.update(status=s)))
    assert got["status"].startswith("500") and out == body
    ok = bmp.confirm(key, call.headers, call.body, {signed.idempotency_key: signed.body})
    assert ok.confirmed and ok.status == 200


def test_a_confirmation_handler_that_raises_is_the_cores_500():
    def broken(headers, raw_body):
        raise RuntimeError(f"db at {SECRET} is down")

    got = {}
    out = b"".join(bmp.wsgi_app(broken)({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "2",
                                         "wsgi.input": io.BytesIO(b"{}")}, lambda s, h: got.update(status=s)))
    assert got["status"].startswith("500") and out == bmp.internal_error_response()[2]
    assert SECRET.encode() not in out
