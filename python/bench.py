"""Benchmarks of the Python binding (not a test). Run after installing the wheel:

    .venv/bin/python python/bench.py            # prints a Markdown table

Envelope seal/open vs `cryptography` AES-256-CTR, the per-call overhead of
the binding, and PS256 sign/verify vs PyJWT, jwcrypto and `cryptography`.
Numbers are median operations per second over several runs.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import platform
import statistics
import sys
import time
import timeit
import uuid

# Benchmark the installed wheel, not the source tree next to this script
# (which has no compiled `selo._native`).
_here = pathlib.Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if pathlib.Path(p or ".").resolve() != _here]

import jwt  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from jwcrypto import jwk as jwc_jwk
from jwcrypto import jws as jwc_jws

import selo
from selo import ofb, safra
from selo._native import selo_uniffi as _n

ROOT = pathlib.Path(__file__).resolve().parents[1]
PEM = (ROOT / "tests/vectors/external/keys/rsa2048-ofb.pem").read_text()


def ops(fn, min_time=0.25, repeat=5):
    n = 1
    while True:
        t = timeit.timeit(fn, number=n)
        if t >= min_time / 5:
            break
        n *= 2
    runs = [n / timeit.timeit(fn, number=n) for _ in range(repeat)]
    return statistics.median(runs)


def fmt(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


rows = []


def row(group, what, value, note=""):
    rows.append((group, what, value, note))
    print(f"{group:10} {what:58} {fmt(value):>8}/s {note}", file=sys.stderr)


# ---- per-call overhead ------------------------------------------------------
def noop():
    return None


row("overhead", "pure-Python no-op function call", ops(noop))
row("overhead", "native call, no args (safra_envelope_header_b64)", ops(_n.safra_envelope_header_b64))
row("overhead", "native call, str in/bool out (br_is_valid_cpf)", ops(lambda: _n.br_is_valid_cpf("52998224725")))
row("overhead", "selo.br.is_valid_cpf (wrapper)", ops(lambda: selo.br.is_valid_cpf("52998224725")))
row("overhead", "selo.br.normalize_cpf (wrapper + error guard)", ops(lambda: selo.br.normalize_cpf("52998224725")))

# ---- envelopes ----------------------------------------------------------------
key = os.urandom(32)
iv = b"AbCdEfGhIjKlMnOp"
for size in (1024, 65536):
    pt = json.dumps({"x": "a" * (size - 8)}).encode()[:size]
    pt = json.dumps({"x": "a" * (size - 8 - (len(pt) - size))}).encode()
    label = f"{size // 1024} KiB"
    env = safra.Envelopes(key)
    row("envelope", f"selo seal ({label}, fresh IV, base64, JSON body not required)", ops(lambda: env.seal(pt)))
    row("envelope", f"selo seal_with_iv ({label})", ops(lambda: safra.seal_with_iv(key, iv, pt)))
    sealed = safra.seal_with_iv(key, iv, pt)
    row("envelope", f"selo open_envelope ({label}, no IV log)", ops(lambda: safra.open_envelope(key, sealed)))

    def crypto_seal():
        c = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
        ct = c.update(pt) + c.finalize()
        return base64.b64encode(ct)

    def crypto_ctr():
        c = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
        return c.update(pt) + c.finalize()

    ct_b64 = sealed.split(".")[2]

    def crypto_open():
        c = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
        return c.update(base64.b64decode(ct_b64)) + c.finalize()

    row("envelope", f"cryptography AES-256-CTR only ({label})", ops(crypto_ctr))
    row("envelope", f"cryptography AES-256-CTR + base64 ({label}, same work as seal)", ops(crypto_seal))
    row("envelope", f"cryptography base64 decode + AES-256-CTR ({label}, same work as open)", ops(crypto_open))

# ---- PS256 ------------------------------------------------------------------------
sk = selo.PrivateKey.load(PEM)
kid, aud, iss = "k1", "https://api.example/x", "org-1"
jwks = selo.JwkSet.of([sk.public_key().to_jwk().with_(kid=kid, alg="PS256", use="sig")])
now = int(time.time())
payload = {"data": {"amount": "100.00", "currency": "BRL"}}
for provider in ("default", "rustcrypto"):
    name = "aws-lc" if provider == "default" else "rustcrypto"
    row("PS256", f"selo ofb.sign, full token ({name})",
        ops(lambda: ofb.sign(sk, payload, kid=kid, aud=aud, iss=iss, now=now, provider=provider)))
    tok = ofb.sign(sk, payload, kid=kid, aud=aud, iss=iss, now=now).token
    row("PS256", f"selo ofb.verify, all stages 1-6 ({name})",
        ops(lambda: ofb.verify(tok, jwks, aud=aud, iss=iss, now=now, provider=provider)))
    row("PS256", f"selo raw RSASSA-PSS sign ({name})", ops(lambda: sk.sign(b"x" * 200, provider=provider)))
    signer = ofb.Signer(sk, kid, iss, provider=provider)
    row("PS256", f"selo ofb.Signer.sign, full token, persistent ({name})",
        ops(lambda: signer.sign(payload, aud, now=now)))
    verifier = ofb.Verifier(jwks, aud=aud, iss=iss, provider=provider)
    row("PS256", f"selo ofb.Verifier.verify, all stages 1-6, persistent ({name})",
        ops(lambda: verifier.verify(tok, now=now)))
    row("PS256", f"selo native OfbVerifier.verify (uniffi) only, no Python result objects ({name})",
        ops(lambda: verifier._v.verify(tok, now)))
    if verifier._fast is not None:
        btok = tok.encode()
        row("PS256", f"selo C-ABI verify (ctypes) only, result parsed to a dict ({name})",
            ops(lambda: verifier._fast.verify(btok, now)))

ck = serialization.load_pem_private_key(PEM.encode(), None)
cpub = ck.public_key()
pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
sig = ck.sign(b"x" * 200, pss, hashes.SHA256())
row("PS256", "cryptography raw RSASSA-PSS sign", ops(lambda: ck.sign(b"x" * 200, pss, hashes.SHA256())))
row("PS256", "cryptography raw RSASSA-PSS verify", ops(lambda: cpub.verify(sig, b"x" * 200, pss, hashes.SHA256())))
claims = {"aud": aud, "iss": iss, "jti": str(uuid.uuid4()), "iat": now, **payload}
row("PS256", "PyJWT jwt.encode", ops(lambda: jwt.encode(claims, ck, algorithm="PS256", headers={"kid": kid})))
ptok = jwt.encode(claims, ck, algorithm="PS256", headers={"kid": kid, "typ": "JWT"})
row("PS256", "PyJWT jwt.decode (aud/iss checked)",
    ops(lambda: jwt.decode(ptok, cpub, algorithms=["PS256"], audience=aud, issuer=iss)))
jk = jwc_jwk.JWK.from_pem(PEM.encode())
jpub = jwc_jwk.JWK.from_pem(cpub.public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
body = json.dumps(claims).encode()


def jwc_sign():
    t = jwc_jws.JWS(body)
    t.add_signature(jk, alg="PS256", protected=json.dumps({"alg": "PS256", "kid": kid, "typ": "JWT"}))
    return t.serialize(compact=True)


row("PS256", "jwcrypto JWS sign", ops(jwc_sign))
jtok = jwc_sign()


def jwc_verify():
    t = jwc_jws.JWS()
    t.deserialize(jtok)
    t.verify(jpub, alg="PS256")


row("PS256", "jwcrypto JWS verify (signature only)", ops(jwc_verify))

print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, selo {selo.__version__}\n")
print("| group | operation | ops/s |")
print("|---|---|---:|")
for g, w, v, _ in rows:
    print(f"| {g} | {w} | {fmt(v)} |")
