"""OFB server-role responses (``ofb.sign_response``) verified by outside
implementations: PyJWT (with ``cryptography``'s RSASSA-PSS underneath) and
the npm ``jose`` package (tests/interop/ofb_jose.mjs, run with node).

Only each library's own verification exceptions count as a refusal: PyJWT's
``jwt.InvalidTokenError`` subclasses, ``cryptography``'s
``InvalidSignature``, jose's ``JOSEError`` (the script re-throws anything
else, so a bug in the harness fails the test instead of passing as
"refused")."""

import base64
import json
import re
import pathlib
import shutil
import subprocess
import time

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

import selo
from selo import ofb

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEYS = ROOT / "tests" / "vectors" / "external" / "keys"
PEM = (KEYS / "rsa2048-ofb.pem").read_text()
OTHER_PEM = (KEYS / "rsa2048-ofb-other.pem").read_text()
KID = "srv-key-1"
SERVER_ORG = "ba0bab00-0000-4000-8000-000000000002"  # iss of responses
CLIENT_ORG = "c0ffee00-0000-4000-8000-000000000001"  # aud of responses
PAYLOAD = {"data": {"consentId": "urn:bancoex:C1DD33123", "status": "AWAITING_AUTHORISATION",
                    "amount": "100000.12"}, "links": {"self": "https://bank.test/consents/1"}, "meta": {}}


def crypto_key(pem):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def b64url(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(pem):
    nums = crypto_key(pem).public_key().public_numbers()
    return {"kty": "RSA", "n": b64url(nums.n), "e": b64url(nums.e), "kid": KID, "alg": "PS256", "use": "sig"}


def respond(status=201, now=None, payload=PAYLOAD, exp=None):
    now = int(time.time()) if now is None else now
    r = ofb.sign_response(status, selo.PrivateKey.load(PEM), payload, kid=KID, aud=CLIENT_ORG, iss=SERVER_ORG,
                          now=now, exp=exp)
    return r, now


def tamper(token: str, part: int) -> str:
    parts = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(parts[part] + "=" * (-len(parts[part]) % 4)))
    raw[len(raw) // 2] ^= 0x01
    parts[part] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    return ".".join(parts)


# ---- PyJWT ------------------------------------------------------------------------------


def pyjwt_decode(token, pem=PEM, aud=CLIENT_ORG, iss=SERVER_ORG):
    return jwt.decode(token, crypto_key(pem).public_key(), algorithms=["PS256"], audience=aud, issuer=iss,
                      options={"require": ["aud", "iss", "iat", "jti"]})


def test_sign_response_verifies_with_pyjwt():
    r, now = respond()
    assert r.status == 201
    assert [v for k, v in r.headers if k.lower() == "content-type"] == ["application/jwt"]
    token = r.body.decode("ascii")
    assert jwt.get_unverified_header(token) == {"alg": "PS256", "kid": KID, "typ": "JWT"}
    claims = pyjwt_decode(token)
    assert claims["data"] == PAYLOAD["data"] and claims["links"] == PAYLOAD["links"] and claims["meta"] == {}
    assert claims["iss"] == SERVER_ORG and claims["aud"] == CLIENT_ORG
    assert claims["iat"] == now and isinstance(claims["iat"], int)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", claims["jti"])


def test_sign_response_is_ps256_with_a_32_byte_salt_by_cryptography():
    r, _ = respond(status=200)
    head, body, sig = r.body.decode().split(".")
    sig_raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    pub = crypto_key(PEM).public_key()
    pub.verify(sig_raw, f"{head}.{body}".encode(),
               padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        pub.verify(sig_raw, f"{head}.{body}x".encode(),
                   padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())


def test_pyjwt_refuses_broken_responses_for_the_right_reason():
    r, _ = respond()
    token = r.body.decode()
    with pytest.raises(jwt.InvalidSignatureError):
        pyjwt_decode(tamper(token, 2))  # one bit of the signature
    with pytest.raises(jwt.InvalidSignatureError):
        pyjwt_decode(tamper(token, 1))  # one bit of the payload
    with pytest.raises(jwt.InvalidSignatureError):
        pyjwt_decode(token, pem=OTHER_PEM)  # another server's key
    with pytest.raises(jwt.InvalidAudienceError):
        pyjwt_decode(token, aud="someone-else")
    with pytest.raises(jwt.InvalidIssuerError):
        pyjwt_decode(token, iss="someone-else")


def test_error_status_and_exp_are_carried():
    now = int(time.time())
    r, _ = respond(status=422, now=now, payload={"errors": [{"code": "X", "title": "t", "detail": "d"}]},
                   exp=now + 300)
    assert r.status == 422
    claims = pyjwt_decode(r.body.decode())
    assert claims["exp"] == now + 300 and claims["errors"][0]["code"] == "X"
    r, _ = respond(now=now - 3600, exp=now - 60)
    with pytest.raises(jwt.ExpiredSignatureError):
        pyjwt_decode(r.body.decode())


# ---- jose (npm) -------------------------------------------------------------------------


def jose(req):
    node = shutil.which("node")
    assert node, "node is needed for the jose check (scripts/setup installs it)"
    assert (ROOT / "tests" / "interop" / "node_modules" / "jose").is_dir(), \
        "tests/interop/node_modules/jose is missing (scripts/setup runs npm install there)"
    p = subprocess.run([node, str(ROOT / "tests" / "interop" / "ofb_jose.mjs")], input=json.dumps(req),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"ofb_jose.mjs failed: {p.stderr}"
    return json.loads(p.stdout)


def jose_verify(token, now, pem=PEM, aud=CLIENT_ORG, iss=SERVER_ORG):
    return jose({"op": "verify", "token": token, "jwk": public_jwk(pem), "aud": aud, "iss": iss, "now": now})


def test_sign_response_verifies_with_jose():
    r, now = respond()
    out = jose_verify(r.body.decode(), now)
    assert out["ok"] is True, out
    assert out["header"] == {"alg": "PS256", "kid": KID, "typ": "JWT"}
    assert out["claims"]["data"] == PAYLOAD["data"]
    assert out["claims"]["iss"] == SERVER_ORG and out["claims"]["aud"] == CLIENT_ORG and out["claims"]["iat"] == now


def test_jose_refuses_broken_responses_for_the_right_reason():
    r, now = respond()
    token = r.body.decode()
    for bad, pem, code in ((tamper(token, 2), PEM, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
                           (tamper(token, 1), PEM, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
                           (token, OTHER_PEM, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")):
        out = jose_verify(bad, now, pem=pem)
        assert out["ok"] is False and out["error"].startswith(code + ":"), out
    out = jose_verify(token, now, aud="someone-else")
    assert out["ok"] is False and out["error"].startswith("ERR_JWT_CLAIM_VALIDATION_FAILED:") and "aud" in out["error"]
    out = jose_verify(token, now, iss="someone-else")
    assert out["ok"] is False and out["error"].startswith("ERR_JWT_CLAIM_VALIDATION_FAILED:") and "iss" in out["error"]
