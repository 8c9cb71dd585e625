"""selo.redis's OFB replay set and BMP pending transactions against a real
redis-server started here (installed by scripts/setup python; without it
these tests fail, they never skip): two instances share them, and a Redis
that is down fails closed (503, 500, nothing sent)."""

import time
from decimal import Decimal

import httpx
import pytest

import selo
from selo import bmp, ofb
from selo.redis import BMP_PENDING_TTL_SECONDS, BmpPending, JtiStore, RedisBmpPending, RedisJtiStore, \
    bmp_pending_key
from conftest import vec_text
from redis_support import RedisServer


@pytest.fixture(scope="module")
def server():
    s = RedisServer()
    yield s
    s.close()


def ofb_setup():
    key = selo.PrivateKey.load(vec_text("external/keys/rsa2048-ofb.pem"))
    jwks = selo.JwkSet.of([key.public_key().to_jwk().with_(kid="k")])
    return key, jwks


def test_jti_store_a_token_accepted_by_instance_a_is_a_replay_at_instance_b(server):
    """The core's key and TTL (SPEC §5): `<prefix>:<len(client id)>:<client
    id>:<jti>` for the token's remaining acceptance window (120 s + 1 by
    default), not a fixed 86 400 s."""
    key, jwks = ofb_setup()
    # two instances, each with its own connection
    a = ofb.Server(jwks, store=JtiStore(server.client(), prefix="t1"))
    b = ofb.Server(jwks, store=JtiStore(server.client(), prefix="t1"))
    now = int(time.time())
    signed = ofb.sign(key, {}, kid="k", aud="https://x", iss="org", now=now)
    kw = dict(method="POST", content_type="application/jwt", body=signed.token.encode(), aud="https://x", iss="org",
              client_id="cli:a", now=now)
    assert a.decide(**kw).ok
    d = b.decide(**kw)
    assert d.error.code == "ofb.replay.jti" and d.response.status == 403
    r = server.client()
    k = f"t1:5:cli:a:{signed.jti}"
    assert r.get(k) == b"1"
    assert 100 < r.ttl(k) <= 121, r.ttl(k)  # iat + iat_max_age 60 + iat_future_skew 60 + 1 - now
    # later in the window, a shorter TTL: what is left of it
    other = ofb.sign(key, {}, kid="k", aud="https://x", iss="org", now=now)
    assert a.decide(**dict(kw, body=other.token.encode(), now=now + 50)).ok
    assert 40 < r.ttl(f"t1:5:cli:a:{other.jti}") <= 71
    # the default prefix is the core's; the Node/Java name is an alias
    third = ofb.sign(key, {}, kid="k", aud="https://x", iss="org", now=now)
    assert RedisJtiStore is JtiStore
    assert ofb.Server(jwks, store=RedisJtiStore(server.client())).decide(**dict(kw, body=third.token.encode())).ok
    assert r.exists(f"{ofb.REPLAY_KEY_PREFIX}:5:cli:a:{third.jti}") == 1


def test_jti_store_with_redis_down_is_503_without_the_store_text():
    key, jwks = ofb_setup()
    down = RedisServer()
    store = JtiStore(down.client())
    down.close()  # killed: connection refused from now on
    seen = []
    now = int(time.time())
    tok = ofb.sign(key, {}, kid="k", aud="https://x", iss="org", now=now).token.encode()
    t = time.monotonic()
    d = ofb.Server(jwks, store=store, on_store_error=seen.append).decide(
        method="POST", content_type="application/jwt", body=tok, aud="https://x", iss="org", client_id="c", now=now)
    assert time.monotonic() - t < 3
    assert d.error.code == "ofb.replay.store_failed" and d.response.status == 503
    assert d.response.json()["errors"][0]["code"] == "REPLAY_STORE_UNAVAILABLE"
    assert str(down.port).encode() not in d.response.body and str(down.port) not in d.error.message
    assert len(seen) == 1 and isinstance(seen[0], selo.SharedStateError)
    assert seen[0].code == "shared.store_unavailable" and "selo:ofb" not in seen[0].message
    assert store.store_errors == 1


class _FakeRedis:
    """SET NX as Redis answers it: True (OK) when set, None when the key exists; or a fixed odd reply."""

    def __init__(self, reply=None):
        self.keys, self.reply, self.calls = set(), reply, []

    def set(self, k, v, nx, ex):
        self.calls.append((k, v, nx, ex))
        if self.reply is not None:
            return self.reply
        if k in self.keys:
            return None
        self.keys.add(k)
        return True


def test_jti_store_maps_set_nx_nil_to_replayed_and_odd_replies_to_503():
    fake = _FakeRedis()
    s = JtiStore(fake)
    assert s.record("selo:ofb:jti:1:c:j", 42) == "fresh"
    assert s.record("selo:ofb:jti:1:c:j", 42) == "replayed"  # nil = the key existed = a replay, never "fresh"
    assert fake.calls[0] == ("selo:ofb:jti:1:c:j", b"1", True, 42)
    for odd in (0, b"QUEUED", "maybe"):
        with pytest.raises(selo.SharedStateError) as e:
            JtiStore(_FakeRedis(odd)).record("k", 1)
        assert e.value.code == "shared.store_unavailable"
    # through the server role: an odd reply is a 503 from the core, its text nowhere
    key, jwks = ofb_setup()
    tok = ofb.sign(key, {}, kid="k", aud="https://x", iss="org").token.encode()
    d = ofb.Server(jwks, store=JtiStore(_FakeRedis("maybe"))).decide(
        method="POST", content_type="application/jwt", body=tok, aud="https://x", iss="org", client_id="c")
    assert d.error.code == "ofb.replay.store_failed" and d.response.status == 503
    assert d.response.json()["errors"][0]["code"] == "REPLAY_STORE_UNAVAILABLE" and b"maybe" not in d.response.body


def signed_ted(key):
    signer = bmp.Signer(key)
    acc = bmp.Account("0001", "1234567", 1)
    return signer.sign_transaction(bmp.Ted("2026-11-23", acc, acc, Decimal("1.00")))


def test_bmp_confirmation_reaching_another_instance_finds_the_pending_transfer(server):
    """The sender (bmp.Client on instance A) records the exact body under
    the core's key for 7 days before sending; BMP's confirmation call
    reaches instance B, whose handler finds it."""
    key = bmp.generate_key()
    sent = []

    def bank(request):
        sent.append(request.read())
        return httpx.Response(200, json={"status": "accepted"})

    sender = bmp.Client("https://bmp.test", key, pending=BmpPending(server.client()),
                        transport=httpx.MockTransport(bank))
    s = signed_ted(key)
    assert sender.send(s).status_code == 200 and sent == [s.body]
    r = server.client()
    k = bmp_pending_key(s.idempotency_key)
    assert k == f"selo:bmp:pending:{{{len(s.idempotency_key)}:{s.idempotency_key}}}"
    assert r.get(k) == s.body
    assert BMP_PENDING_TTL_SECONDS - 10 < r.ttl(k) <= BMP_PENDING_TTL_SECONDS == 604_800
    # instance B: another process, another connection
    pending_b = RedisBmpPending(server.client())
    handler = bmp.confirmation_handler(key, pending_b)
    assert handler(s.headers[:2], s.body)[0] == 200
    assert s.idempotency_key in list(pending_b) and len(pending_b) >= 1
    # a retry of the same bytes is fine; other bytes under the same key are refused
    sender.pending[s.idempotency_key] = s.body
    with pytest.raises(ValueError):
        sender.pending[s.idempotency_key] = s.body + b" "
    del pending_b[s.idempotency_key]
    assert handler(s.headers[:2], s.body)[0] == 404
    with pytest.raises(KeyError):
        del pending_b[s.idempotency_key]


def test_bmp_with_redis_down_sends_nothing_and_the_confirmation_is_500():
    key = bmp.generate_key()
    down = RedisServer()
    pending = BmpPending(down.client())
    down.close()
    sent = []
    sender = bmp.Client("https://bmp.test", key, pending=pending,
                        transport=httpx.MockTransport(lambda rq: sent.append(1) or httpx.Response(200)))
    s = signed_ted(key)
    with pytest.raises(selo.SharedStateError) as e:
        sender.send(s)
    assert e.value.code == "shared.store_unavailable" and sent == []  # fail closed: never sent unrecorded
    assert s.idempotency_key not in e.value.message
    seen = []
    status, _ = bmp.confirmation_handler(key, pending, on_store_error=seen.append)(s.headers[:2], s.body)
    assert status == 500  # BMP calls again; never taken for "not found" (404)
    assert len(seen) == 1 and seen[0].code == "shared.store_unavailable"
    assert pending.store_errors == 2
