"""OFB JWS: vectors, interop with PyJWT / jwcrypto / cryptography both ways,
two-phase signing, replay stores, the server role and the httpx driver."""

import base64
import json
import time
import uuid
from decimal import Decimal as selo_decimal

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from jwcrypto import jwk as jwc_jwk
from jwcrypto import jws as jwc_jws

import selo
from selo import ofb
from conftest import VECTORS, vec

PEM = (VECTORS / "external/keys/rsa2048-ofb.pem").read_text()
OTHER_PEM = (VECTORS / "external/keys/rsa2048-ofb-other.pem").read_text()
KEY = selo.PrivateKey.load(PEM)
KID = "selo-test-1"
AUD = "https://api.banco.example/open-banking/payments/v1/consents"
ISS = "5647fe90-f6bc-11eb-9a03-0242ac130003"
JWKS = selo.JwkSet.of([KEY.public_key().to_jwk().with_(kid=KID, alg="PS256", use="sig")])


def external_codes(expect, name):
    return {
        "alg": {"ofb.verify.alg_not_allowed"},
        "typ": {"ofb.verify.typ"},
        "kid": {"ofb.verify.kid_missing"} if "missing" in name else {"ofb.verify.kid_not_found"},
        "signature": {"ofb.verify.bad_signature"},
        "aud": {"ofb.claims.aud"},
        "iss": {"ofb.claims.iss"},
        "iat": {"ofb.claims.iat_in_future"} if "future" in name else {"ofb.claims.iat_too_old"},
        "jti": {"ofb.claims.jti"},
    }[expect]


def test_external_jws_cases_stop_where_expected():
    v = vec("external/ofb/jws.json")
    jwks = selo.JwkSet.parse(json.dumps(v["jwks"]))
    assert len(v["cases"]) == 16
    for c in v["cases"]:
        for provider in ("rustcrypto", "aws-lc"):
            if c["expect"] == "ok":
                r = ofb.verify(c["token"], jwks, aud=v["expected_aud"], iss=v["expected_iss"], now=v["now"],
                               provider=provider)
                assert r.claims.iss == v["expected_iss"] and v["expected_aud"] in r.claims.aud
            else:
                with pytest.raises(selo.OfbError) as ei:
                    ofb.verify(c["token"], jwks, aud=v["expected_aud"], iss=v["expected_iss"], now=v["now"],
                               provider=provider)
                assert ei.value.code in external_codes(c["expect"], c["name"]), c["name"]
    amb = selo.JwkSet.parse(json.dumps(v["jwks_ambiguous"]))
    with pytest.raises(selo.OfbError) as ei:
        ofb.verify(v["cases"][0]["token"], amb, aud=v["expected_aud"], iss=v["expected_iss"], now=v["now"])
    assert ei.value.code == "ofb.verify.kid_ambiguous"


def test_own_verify_vectors_with_profiles():
    v = vec("ofb/verify.json")
    jwks = selo.JwkSet.parse(json.dumps(v["jwks"]))
    assert len(v["cases"]) == 41
    for c in v["cases"]:
        prof = dict(ofb.default_profile(), **c["profile"])
        kw = dict(aud=v["expected_aud"], iss=v["expected_iss"], now=v["now"], profile=prof)
        if c["expect"] == "ok":
            ofb.verify(c["token"], jwks, **kw)
        else:
            with pytest.raises(selo.OfbError) as ei:
                ofb.verify(c["token"], jwks, **kw)
            assert ei.value.code == c["expect"], c["name"]
            assert ei.value.http_status in (400, 403)


def test_own_sign_vectors_reproduce_byte_for_byte():
    v = vec("ofb/sign.json")
    key = selo.PrivateKey.load((VECTORS / v["key"]).read_text())
    for c in v["cases"]:
        p = c["params"]
        s = ofb.sign(key, c["payload"], kid=p["kid"], aud=p["aud"], iss=p["iss"], exp=p["exp"], profile=c["profile"],
                     now=c["now"], provider="rustcrypto", rng_seed=base64.b64decode(c["seed"]))
        assert s.token == c["token"], c["name"]
        assert s.jti == c["jti"] and s.token.startswith(c["signing_input"] + ".")
        pre = ofb.prepare(c["payload"], kid=p["kid"], aud=p["aud"], iss=p["iss"], exp=p["exp"], profile=c["profile"],
                          now=c["now"], rng_seed=base64.b64decode(c["seed"]))
        assert pre.signing_input == c["signing_input"].encode()


def test_jwk_vectors_and_thumbprints():
    for c in vec("ofb/jwk.json")["cases"]:
        pem = (VECTORS / c["pem"]).read_text()
        j = selo.Jwk.load(pem)
        assert json.loads(j.to_json()) == c["private_jwk"]
        assert json.loads(j.to_public().to_json()) == c["public_jwk"]
        assert j.thumbprint() == c["thumbprint"] == selo.PrivateKey.load(pem).public_key().thumbprint()
        theirs = jwc_jwk.JWK.from_pem(pem.encode())
        assert theirs.thumbprint() == c["thumbprint"]


def test_selo_tokens_verify_with_pyjwt_and_jwcrypto():
    now = int(time.time())
    s = ofb.sign(KEY, {"data": {"amount": "100.00"}}, kid=KID, aud=AUD, iss=ISS, now=now)
    pub = KEY.public_key().to_pem()
    claims = jwt.decode(s.token, pub, algorithms=["PS256"], audience=AUD, issuer=ISS,
                        options={"require": ["aud", "iss", "iat", "jti"]})
    assert claims["jti"] == s.jti and claims["data"] == {"amount": "100.00"}
    assert jwt.get_unverified_header(s.token) == {"alg": "PS256", "kid": KID, "typ": "JWT"}
    t = jwc_jws.JWS()
    t.deserialize(s.token)
    t.verify(jwc_jwk.JWK.from_pem(pub.encode()), alg="PS256")
    assert json.loads(t.payload)["iss"] == ISS


def test_pyjwt_and_jwcrypto_tokens_verify_with_selo():
    now = int(time.time())
    claims = {"aud": AUD, "iss": ISS, "jti": str(uuid.uuid4()), "iat": now, "data": {"x": 1}}
    a = jwt.encode(claims, PEM, algorithm="PS256", headers={"kid": KID, "typ": "JWT"})
    assert ofb.verify(a, JWKS, aud=AUD, iss=ISS, now=now).payload["data"] == {"x": 1}
    k = jwc_jwk.JWK.from_pem(PEM.encode())
    t = jwc_jws.JWS(json.dumps(dict(claims, jti=str(uuid.uuid4()))).encode())
    t.add_signature(k, alg="PS256", protected=json.dumps({"alg": "PS256", "kid": KID, "typ": "JWT"}))
    assert ofb.verify(t.serialize(compact=True), JWKS, aud=AUD, iss=ISS, now=now).kid == KID
    other = jwt.encode(claims, OTHER_PEM, algorithm="PS256", headers={"kid": KID, "typ": "JWT"})
    with pytest.raises(selo.OfbError) as ei:
        ofb.verify(other, JWKS, aud=AUD, iss=ISS, now=now)
    assert ei.value.code == "ofb.verify.bad_signature"
    rs = jwt.encode(claims, PEM, algorithm="RS256", headers={"kid": KID, "typ": "JWT"})
    with pytest.raises(selo.OfbError) as ei:
        ofb.verify(rs, JWKS, aud=AUD, iss=ISS, now=now)
    assert ei.value.code == "ofb.verify.alg_not_allowed"


def test_two_phase_signing_with_cryptography_as_the_hsm():
    now = int(time.time())
    pre = ofb.prepare({"data": {}}, kid=KID, aud=AUD, iss=ISS, now=now)
    hsm = serialization.load_pem_private_key(PEM.encode(), None)
    sig = hsm.sign(pre.signing_input, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    s = ofb.finish(pre, sig, KEY.public_key())
    assert s.jti == pre.jti and ofb.verify(s.token, JWKS, aud=AUD, iss=ISS, now=now).claims.jti == pre.jti
    with pytest.raises(selo.OfbError) as ei:
        ofb.finish(pre, sig[:-1] + bytes([sig[-1] ^ 1]), KEY.public_key())
    assert ei.value.code == "ofb.sign.self_verify"


def test_signing_refuses_small_keys_reserved_claims_and_non_objects():
    with pytest.raises(selo.OfbError) as ei:
        ofb.sign(selo.PrivateKey.generate(1024), {}, kid=KID, aud=AUD, iss=ISS)
    assert ei.value.code == "ofb.sign.key_size"
    with pytest.raises(selo.OfbError) as ei:
        ofb.sign(KEY, {"iss": "x"}, kid=KID, aud=AUD, iss=ISS)
    assert ei.value.code == "ofb.sign.reserved_claim"
    with pytest.raises(selo.OfbError) as ei:
        ofb.sign(KEY, "[1]", kid=KID, aud=AUD, iss=ISS)
    assert ei.value.code == "ofb.sign.payload_not_object"


class DictStore(ofb.JtiStore):
    def __init__(self):
        self.seen = set()

    def check_and_insert(self, client_id, jti, now):
        if (client_id, jti) in self.seen:
            return False
        self.seen.add((client_id, jti))
        return True


class BrokenStore(ofb.JtiStore):
    def check_and_insert(self, client_id, jti, now):
        raise ConnectionError("redis down")


@pytest.mark.parametrize("store", [ofb.MemoryJtiStore(), DictStore()], ids=["memory", "python"])
def test_server_role_verifies_then_refuses_the_replay(store):
    now = int(time.time())
    server = ofb.Server(JWKS, store=store)
    tok = ofb.sign(KEY, {"data": {"v": 1}}, kid=KID, aud=AUD, iss=ISS, now=now).token.encode()
    kw = dict(method="POST", content_type="application/jwt", body=tok, aud=AUD, iss=ISS, client_id="c1", now=now)
    assert server.verify_request(**kw).payload["data"] == {"v": 1}
    d = server.decide(**kw)
    assert not d.ok and d.error.code == "ofb.replay.jti" and d.response.status == 403
    assert d.response.json()["errors"][0]["code"] == "JTI_REUSED"
    assert server.decide(**dict(kw, client_id="c2")).ok  # per client
    with pytest.raises(selo.OfbError) as ei:
        server.verify_request(**dict(kw, content_type="application/json"))
    assert ei.value.code == "ofb.server.content_type" and ei.value.response.status == 415
    bad = server.decide(**dict(kw, body=tok[:-4] + b"AAAA"))
    assert bad.error.code == "ofb.verify.bad_signature" and bad.response.status == 400
    assert bad.response.json()["errors"][0]["code"] == "BAD_SIGNATURE"


def test_a_failing_store_refuses_the_request():
    now = int(time.time())
    server = ofb.Server(JWKS, store=BrokenStore())
    tok = ofb.sign(KEY, {}, kid=KID, aud=AUD, iss=ISS, now=now).token.encode()
    d = server.decide(method="POST", content_type="application/jwt", body=tok, aud=AUD, iss=ISS, client_id="c",
                      now=now)
    assert d.error.code == "ofb.replay.store_failed" and d.response.status == 503
    assert "redis down" not in d.error.message and b"redis down" not in d.response.body


def test_memory_store_capacity_refuses_or_evicts():
    s = ofb.MemoryJtiStore(2)
    assert s.check_and_insert("c", "a", 1) and s.check_and_insert("c", "b", 1)
    with pytest.raises(selo.OfbError) as ei:
        s.check_and_insert("c", "x", 1)
    assert ei.value.code == "ofb.replay.capacity"
    e = ofb.MemoryJtiStore(2, evict_oldest=True)
    assert e.check_and_insert("c", "a", 1) and e.check_and_insert("c", "b", 1) and e.check_and_insert("c", "x", 1)
    assert not e.check_and_insert("c", "x", 2)
    ttl = ofb.MemoryJtiStore(10, ttl_seconds=5)
    assert ttl.check_and_insert("c", "a", 1) and not ttl.check_and_insert("c", "a", 5)
    assert ttl.check_and_insert("c", "a", 6)
    with pytest.raises(selo.OfbError):
        ofb.check_replay(ttl, "c", "a", 7)


def test_memory_store_default_capacity_is_the_cores():
    # The default bound is the core's DEFAULT_CAPACITY (1,000,000), not the
    # old 100,000: the 100,001st live entry must still be accepted.
    s = ofb.MemoryJtiStore()
    for i in range(100_001):
        assert s.check_and_insert("c", str(i), 1)
    assert not s.check_and_insert("c", "0", 1)


def test_error_response_table():
    r = ofb.error_response("ofb.claims.iss", "nope")
    assert r.status == 403 and r.json()["errors"][0]["code"] == "INVALID_ISS"
    with pytest.raises(ValueError):
        ofb.error_response("safra.envelope.malformed", "x")


def test_httpx_client_signs_requests_and_verifies_responses():
    bank_key = selo.PrivateKey.load(OTHER_PEM)
    bank_jwks = selo.JwkSet.of([bank_key.public_key().to_jwk().with_(kid="bank-1", alg="PS256", use="sig")])
    bank_org = "bank-org-0001"
    server = ofb.Server(JWKS)

    def handler(request):
        d = server.decide(method=request.method, content_type=request.headers.get("content-type"),
                          body=request.read(), aud=str(request.url), iss=ISS, client_id=ISS)
        if not d.ok:
            return httpx.Response(d.response.status, headers=d.response.headers, content=d.response.body)
        r = ofb.sign_response(201, bank_key, {"data": {"echo": d.verified.payload["data"]}}, kid="bank-1",
                              aud=ISS, iss=bank_org)
        return httpx.Response(r.status, headers=r.headers, content=r.body)

    c = ofb.Client(ofb.Signer(KEY, KID, ISS), server_jwks=bank_jwks, server_org_id=bank_org,
                   transport=httpx.MockTransport(handler))
    status, v = c.post(AUD, {"data": {"amount": "1.00"}})
    assert status == 201 and v.payload["data"] == {"echo": {"amount": "1.00"}} and v.claims.iss == bank_org
    wrong = ofb.Client(ofb.Signer(selo.PrivateKey.load(OTHER_PEM), KID, ISS), server_jwks=bank_jwks,
                       server_org_id=bank_org, transport=httpx.MockTransport(handler))
    # the server's refusal is an unsigned 400: an error unless the caller opts in
    with pytest.raises(selo.OfbError) as ei:
        wrong.post(AUD, {"data": {}})
    assert ei.value.code == "ofb.client.http_status" and "BAD_SIGNATURE" in ei.value.message
    status, v = wrong.post(AUD, {"data": {}}, allow_unsigned_errors=True)
    assert status == 400 and v is None  # unverified
    assert wrong.last_response.json()["errors"][0]["code"] == "BAD_SIGNATURE"


def test_persistent_signer_and_verifier_match_the_one_shot_functions():
    now = int(time.time())
    payload = {"data": {"amount": "100.00"}}
    signer = ofb.Signer(KEY, KID, ISS)
    verifier = ofb.Verifier(JWKS, aud=AUD, iss=ISS)
    seed = bytes(range(32))
    rs = ofb.Signer(KEY, KID, ISS, provider="rustcrypto")  # deterministic PSS salt from the seed
    assert rs.sign(payload, AUD, now=now, rng_seed=seed) == ofb.sign(
        KEY, payload, kid=KID, aud=AUD, iss=ISS, now=now, provider="rustcrypto", rng_seed=seed)
    s = signer.sign(payload, AUD, now=now)
    assert signer.sign(payload, AUD, now=now).jti != s.jti
    for _ in range(3):  # repeated calls reuse the native key and stay correct
        v = verifier.verify(s.token, now=now)
        assert v == ofb.verify(s.token, JWKS, aud=AUD, iss=ISS, now=now)
        assert v.kid == KID and v.claims.jti == s.jti
    assert verifier.verify(s.token.encode(), aud=AUD, iss=ISS, now=now).claims.iat == now
    with pytest.raises(selo.OfbError) as e:
        verifier.verify(s.token, aud="https://other.example", now=now)
    assert e.value.code == "ofb.claims.aud"
    with pytest.raises(TypeError):
        ofb.Verifier(JWKS).verify(s.token, now=now)
    with pytest.raises(selo.OfbError):
        verifier.verify(s.token[:-4] + "AAAA", now=now)
    assert ofb.Verifier(JWKS, aud=AUD, iss=ISS, provider="rustcrypto").verify(s.token, now=now).kid == KID
    with pytest.raises(ValueError):
        ofb.Verifier(JWKS, provider="nope")


def _outcome(fn):
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001 - the type and code are compared
        return (type(e), getattr(e, "code", None), str(e))


def test_verifier_fast_path_equals_the_uniffi_path_on_every_vector():
    # ofb.Verifier(aud=, iss=) verifies through the C ABI linked into the
    # wheel's library (ctypes, one call); ofb.verify goes through uniffi.
    # Same results and the same exception type, code and message everywhere.
    from selo import _capi

    assert _capi.available, "the wheel's library must export the C ABI (selo_ofb_verify)"
    cases = 0
    for path in ("ofb/verify.json", "external/ofb/jws.json"):
        v = vec(path)
        jwks = selo.JwkSet.parse(json.dumps(v["jwks"]))
        for c in v["cases"]:
            prof = dict(ofb.default_profile(), **c.get("profile", {}))
            fast = ofb.Verifier(jwks, aud=v["expected_aud"], iss=v["expected_iss"], profile=prof)
            assert fast._fast is not None
            slow = lambda t: ofb.verify(t, jwks, aud=v["expected_aud"], iss=v["expected_iss"],  # noqa: E731
                                        now=v["now"], profile=prof)
            for token in (c["token"], c["token"].encode(), f"  {c['token']}\n"):
                a = _outcome(lambda: fast.verify(token, now=v["now"]))
                b = _outcome(lambda: slow(token if isinstance(token, str) else token.decode()))
                assert a == b, (path, c["name"])
                cases += 1
            assert (a[0] == "ok") == (c["expect"] == "ok"), c["name"]
    assert cases == 3 * (41 + 16)
    # Inputs the C ABI cannot take as C strings go the uniffi way and fail the same.
    fast = ofb.Verifier(JWKS, aud=AUD, iss=ISS)
    tok = ofb.Signer(KEY, KID, ISS).sign({"a": 1}, AUD).token
    assert fast.verify(tok).claims.aud == [AUD]
    assert _outcome(lambda: fast.verify(tok + "\x00x")) == _outcome(
        lambda: ofb.verify(tok + "\x00x", JWKS, aud=AUD, iss=ISS))
    with pytest.raises(ValueError):
        fast.verify(b"\xff\xfe.a.b")
    # Decimal payload members survive both paths identically.
    tok = ofb.Signer(KEY, KID, ISS).sign({"amount": selo_decimal("12.50")}, AUD).token
    assert fast.verify(tok).payload["amount"] == selo_decimal("12.50")
    assert fast.verify(tok) == ofb.verify(tok, JWKS, aud=AUD, iss=ISS)
