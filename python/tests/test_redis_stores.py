"""The Redis adapters against a real redis-server started here (installed
by scripts/test-python; without it these tests fail, they never skip)."""

import json
import shutil
import subprocess
import threading
import time
from decimal import Decimal

import pytest

import selo
from selo import bmp, ofb, safra
from conftest import vec, vec_text

import redis  # noqa: E402  (installed by scripts/test-python; never a skip)
from selo.stores import RedisJtiStore, RedisPending, RedisSafraSessions  # noqa: E402


@pytest.fixture(scope="module")
def r(tmp_path_factory):
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server not found: install it (scripts/test-python does, with apt)")
    # A unix socket in a fresh directory, no TCP port at all (--port 0): no
    # free-then-rebind race with anything else on the machine.
    d = tmp_path_factory.mktemp("redis")
    sock = str(d / "redis.sock")
    proc = subprocess.Popen([exe, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700", "--save", "",
                             "--appendonly", "no", "--dir", str(d)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(unix_socket_path=sock)
    for _ in range(200):
        try:
            client.ping()
            break
        except (redis.ConnectionError, FileNotFoundError):
            assert proc.poll() is None, f"redis-server exited with {proc.returncode}"
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("redis-server did not answer PING within 10 s")
    yield client
    proc.terminate()
    proc.wait(10)


def test_jti_store_in_the_server_role(r):
    """Two server instances share one replay set: the key and TTL are the
    core's (SPEC §5) — `<prefix>:<len(client id)>:<client id>:<jti>`, for
    the token's remaining acceptance window (120 s + 1 by default), not a
    fixed 86 400 s."""
    pem = (vec_text("external/keys/rsa2048-ofb.pem"))
    key = selo.PrivateKey.load(pem)
    jwks = selo.JwkSet.of([key.public_key().to_jwk().with_(kid="k")])
    store = RedisJtiStore(r, prefix="t1")
    a, b = ofb.Server(jwks, store=store), ofb.Server(jwks, store=RedisJtiStore(r, prefix="t1"))  # two instances
    now = int(time.time())
    signed = ofb.sign(key, {}, kid="k", aud="https://x", iss="org", now=now)
    tok = signed.token.encode()
    kw = dict(method="POST", content_type="application/jwt", body=tok, aud="https://x", iss="org", client_id="cli:a",
              now=now)
    assert a.decide(**kw).ok
    d = b.decide(**kw)
    assert d.error.code == "ofb.replay.jti" and d.response.status == 403
    k = f"t1:5:cli:a:{signed.jti}"
    assert r.get(k) == b"1"
    assert 100 < r.ttl(k) <= 121, r.ttl(k)  # iat + iat_max_age 60 + iat_future_skew 60 + 1 - now
    # later in the window, a shorter TTL: what is left of it
    other = ofb.sign(key, {}, kid="k", aud="https://x", iss="org", now=now)
    assert a.decide(**dict(kw, body=other.token.encode(), now=now + 50)).ok
    assert 40 < r.ttl(f"t1:5:cli:a:{other.jti}") <= 71
    # the default prefix is the core's
    third = ofb.sign(key, {}, kid="k", aud="https://x", iss="org", now=now)
    assert ofb.Server(jwks, store=RedisJtiStore(r)).decide(**dict(kw, body=third.token.encode())).ok
    assert r.exists(f"{ofb.REPLAY_KEY_PREFIX}:5:cli:a:{third.jti}") == 1
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # no retries: redis-py would back off for seconds before giving up
    dead = RedisJtiStore(redis.Redis(unix_socket_path="/nonexistent/selo-redis.sock", retry=Retry(NoBackoff(), 0)),
                         prefix="t1")
    seen = []
    d = ofb.Server(jwks, store=dead, on_store_error=seen.append).decide(**dict(kw, client_id="other"))
    assert d.error.code == "ofb.replay.store_failed" and d.response.status == 503
    assert b"nonexistent" not in d.response.body and "nonexistent" not in d.error.message  # no socket path leaked
    assert len(seen) == 1 and isinstance(seen[0], redis.ConnectionError)


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
    s = RedisJtiStore(fake)
    assert s.record("selo:ofb:jti:1:c:j", 42) == "fresh"
    assert s.record("selo:ofb:jti:1:c:j", 42) == "replayed"  # nil = the key existed = a replay, never "fresh"
    assert fake.calls[0] == ("selo:ofb:jti:1:c:j", b"1", True, 42)
    for odd in (0, b"QUEUED", "maybe"):
        with pytest.raises(TypeError):
            RedisJtiStore(_FakeRedis(odd)).record("k", 1)
    # through the server role: an odd reply is a 503 from the core, its text nowhere
    key = selo.PrivateKey.load(vec_text("external/keys/rsa2048-ofb.pem"))
    jwks = selo.JwkSet.of([key.public_key().to_jwk().with_(kid="k")])
    tok = ofb.sign(key, {}, kid="k", aud="https://x", iss="org").token.encode()
    d = ofb.Server(jwks, store=RedisJtiStore(_FakeRedis("maybe"))).decide(
        method="POST", content_type="application/jwt", body=tok, aud="https://x", iss="org", client_id="c")
    assert d.error.code == "ofb.replay.store_failed" and d.response.status == 503
    assert d.response.json()["errors"][0]["code"] == "REPLAY_STORE_UNAVAILABLE" and b"maybe" not in d.response.body


def test_shared_safra_session_two_instances_one_handshake(r):
    v = vec("safra/generated.json")
    clock = lambda: 1_800_000_000  # noqa: E731
    bank = safra.Bank(selo.PrivateKey.load(v["bank_private_pkcs8_pem"]), clock=clock)
    calls = []
    inner = bank.transport()
    import httpx

    def handler(request):
        calls.append(request.url.path.rsplit("/", 1)[-1])
        return inner.handle_request(request)

    transport = httpx.MockTransport(handler)
    from cryptography.fernet import Fernet

    f = Fernet(Fernet.generate_key())

    errors = []
    numbers = iter(range(100_000_001, 100_000_100))
    lock = threading.Lock()

    def instance():
        sessions = RedisSafraSessions(r, "selo:safra:CLIENTE01",
                                      lambda: safra.Session("https://bank.test/psd", "CLIENTE01"), cipher=f)
        try:
            for _ in range(3):
                boleto = json.loads(vec_text("safra/boleto-sample.json"))
                with lock:
                    boleto["documento"]["nossoNumero"] = next(numbers)
                with sessions.checkout() as s:
                    c = safra.Client("https://bank.test/psd", "CLIENTE01", session=s, transport=transport,
                                     clock=clock)
                    assert c.register_boleto(boleto).status.codigo == 0
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=instance) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert calls.count("psd001") == 2 and calls.count("psd005") == 1  # one handshake for all instances
    assert calls.count("psd050") == 12
    raw = r.get("selo:safra:CLIENTE01")
    assert b"aes_key" not in raw and b"aes_key" in f.decrypt(raw)  # encrypted at rest


def test_bmp_pending_shared_between_sender_and_confirmation(r):
    key = bmp.generate_key()
    pending_sender, pending_confirm = RedisPending(r, prefix="t3"), RedisPending(r, prefix="t3")
    signer = bmp.Signer(key)
    acc = bmp.Account("0001", "1234567", 1)
    s = signer.sign_transaction(bmp.Ted("2026-11-23", acc, acc, Decimal("1.00")))
    pending_sender[s.idempotency_key] = s.body
    handler = bmp.confirmation_handler(key, pending_confirm)
    assert handler(s.headers[:2], s.body)[0] == 200
    assert list(pending_confirm) == [s.idempotency_key] and len(pending_confirm) == 1
    del pending_sender[s.idempotency_key]
    assert handler(s.headers[:2], s.body)[0] == 404
