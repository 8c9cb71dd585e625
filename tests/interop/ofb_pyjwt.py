"""OFB JWS interop with independent Python implementations (PyJWT, jwcrypto,
cryptography). Reads one JSON request on stdin, writes one JSON answer.

ops:
  verify      {token, jwk, aud, iss}          -> {pyjwt: {...}, jwcrypto: {...}}
  sign        {private_pem, kid, claims}      -> {pyjwt: token, jwcrypto: token}
  sign_input  {private_pem, input}            -> {signature_b64url}   (cryptography PSS)
  thumbprint  {jwk}                           -> {thumbprint}
  jwk_from_pem{pem}                           -> {jwk}
"""
import base64
import json
import sys

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from jwcrypto import jwk as jwc_jwk
from jwcrypto import jws as jwc_jws
from jwcrypto.common import JWException


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verify(req):
    out = {}
    key = jwc_jwk.JWK(**req["jwk"])
    pem = key.export_to_pem()
    try:
        header = jwt.get_unverified_header(req["token"])
        claims = jwt.decode(
            req["token"],
            pem,
            algorithms=["PS256"],
            audience=req["aud"],
            issuer=req["iss"],
            options={"require": ["aud", "iss", "iat", "jti"]},
        )
        out["pyjwt"] = {"ok": True, "header": header, "claims": claims}
    # Only PyJWT's own refusals count as "refused"; anything else (a bug in
    # this script, a bad request) propagates and fails the run.
    except jwt.InvalidTokenError as e:
        out["pyjwt"] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    try:
        tok = jwc_jws.JWS()
        tok.deserialize(req["token"])
        tok.verify(key, alg="PS256")
        out["jwcrypto"] = {
            "ok": True,
            "header": tok.jose_header,
            "claims": json.loads(tok.payload),
        }
    except JWException as e:  # jwcrypto's refusals (InvalidJWSSignature, InvalidJWSObject, …)
        out["jwcrypto"] = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    return out


def sign(req):
    key = serialization.load_pem_private_key(req["private_pem"].encode(), password=None)
    headers = {"kid": req["kid"], "typ": "JWT"}
    py = jwt.encode(req["claims"], key, algorithm="PS256", headers=headers)
    jk = jwc_jwk.JWK.from_pem(req["private_pem"].encode())
    s = jwc_jws.JWS(json.dumps(req["claims"]).encode())
    s.add_signature(jk, alg="PS256", protected=json.dumps({"alg": "PS256", "kid": req["kid"], "typ": "JWT"}))
    return {"pyjwt": py, "jwcrypto": s.serialize(compact=True)}


def sign_input(req):
    key = serialization.load_pem_private_key(req["private_pem"].encode(), password=None)
    sig = key.sign(
        req["input"].encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    return {"signature_b64url": b64url(sig)}


def thumbprint(req):
    return {"thumbprint": jwc_jwk.JWK(**req["jwk"]).thumbprint()}


def jwk_from_pem(req):
    k = jwc_jwk.JWK.from_pem(req["pem"].encode())
    return {"jwk": json.loads(k.export(private_key=k.has_private))}


OPS = {
    "verify": verify,
    "sign": sign,
    "sign_input": sign_input,
    "thumbprint": thumbprint,
    "jwk_from_pem": jwk_from_pem,
}

if __name__ == "__main__":
    req = json.load(sys.stdin)
    json.dump(OPS[req["op"]](req), sys.stdout)
