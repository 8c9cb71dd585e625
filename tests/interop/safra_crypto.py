"""Independent RSA / AES-CTR operations for the Safra interop tests.

Reads {"ops": [...]} on stdin, answers {"results": [...]} on stdout. Every
operation uses Python's `cryptography` package only (OpenSSL underneath), so
a misreading shared by selo's client and bank roles cannot hide.
"""
import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def b64d(s):
    s = s.replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.b64encode(b).decode()


def pad(name):
    if name == "pkcs1v15":
        return rsa_padding.PKCS1v15(), 11
    digest, mgf = {
        "oaep-sha1": (hashes.SHA1(), hashes.SHA1()),
        "oaep-sha256": (hashes.SHA256(), hashes.SHA256()),
        "oaep-sha256-mgf1sha1": (hashes.SHA256(), hashes.SHA1()),
    }[name]
    return rsa_padding.OAEP(mgf=rsa_padding.MGF1(mgf), algorithm=digest, label=None), 2 * digest.digest_size + 2


def private(pem):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def public(data):
    raw = data.encode() if isinstance(data, str) else data
    if raw.lstrip().startswith(b"-----BEGIN"):
        if b"PRIVATE" in raw:
            return serialization.load_pem_private_key(raw, password=None).public_key()
        return serialization.load_pem_public_key(raw)
    return serialization.load_der_public_key(raw)


def run(op):
    kind = op["op"]
    if kind == "rsa_decrypt":
        key = private(op["key_pem"])
        p, _ = pad(op["padding"])
        ct = b64d(op["ct"])
        k = key.key_size // 8
        out = b"".join(key.decrypt(ct[i:i + k], p) for i in range(0, len(ct), k))
        return b64e(out)
    if kind == "rsa_encrypt":
        key = public(op["key_pem"])
        p, overhead = pad(op["padding"])
        pt = b64d(op["pt"])
        chunk = key.key_size // 8 - overhead
        return b64e(b"".join(key.encrypt(pt[i:i + chunk], p) for i in range(0, max(len(pt), 1), chunk)))
    if kind == "sign":
        key = private(op["key_pem"])
        return b64e(key.sign(b64d(op["msg"]), rsa_padding.PKCS1v15(), hashes.SHA256()))
    if kind == "verify":
        key = public(b64d(op["key_der"]) if "key_der" in op else op["key_pem"])
        try:
            key.verify(b64d(op["sig"]), b64d(op["msg"]), rsa_padding.PKCS1v15(), hashes.SHA256())
            return True
        except InvalidSignature:
            return False
    if kind == "ctr":
        c = Cipher(algorithms.AES(b64d(op["key"])), modes.CTR(b64d(op["iv"]))).encryptor()
        return b64e(c.update(b64d(op["data"])) + c.finalize())
    if kind == "spki_der":
        # The key as Python reads it (PEM, or DER in SPKI or PKCS#1 form),
        # written back as SPKI DER.
        key = public(b64d(op["key_der"]) if "key_der" in op else op["key_pem"])
        return b64e(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    raise ValueError("unknown op " + kind)


def main():
    req = json.load(sys.stdin)
    json.dump({"results": [run(op) for op in req["ops"]]}, sys.stdout)


if __name__ == "__main__":
    main()
