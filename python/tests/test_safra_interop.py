"""Envelopes and handshake pieces against Python `cryptography`."""

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import selo
from selo import safra
from conftest import vec


def ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    c = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return c.update(data) + c.finalize()


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000, 65536])
def test_selo_seals_what_cryptography_opens_and_back(size):
    key = os.urandom(32)
    env = safra.Envelopes(key)
    plaintext = json.dumps({"x": "a" * size}).encode()
    sealed = env.seal(plaintext)
    hdr, iv_b64, ct_b64 = sealed.split(".")
    assert base64.b64decode(hdr) == b'{"alg":"RSA-AEP","enc":"A256CTR"}'
    iv = base64.b64decode(iv_b64)
    assert len(iv) == 16 and iv.isalnum()
    assert ctr(key, iv, base64.b64decode(ct_b64)) == plaintext
    iv2 = b"ZyXwVuTsRqPoNmLk"
    theirs = ".".join([hdr, base64.b64encode(iv2).decode(), base64.b64encode(ctr(key, iv2, plaintext)).decode()])
    assert safra.Envelopes(key).open(theirs).plaintext == plaintext


@pytest.mark.parametrize("iv", [b"\x00" * 8 + b"\xff" * 8, b"\xff" * 16, b"\x01" * 15 + b"\xfe"])
def test_counter_carry_and_wrap_match_cryptography(iv):
    key = os.urandom(32)
    data = os.urandom(16 * 5 + 3)
    env = safra.seal_with_iv(key, iv, data)
    assert base64.b64decode(env.split(".")[2]) == ctr(key, iv, data)
    assert safra.open_envelope(key, env).plaintext == data


def test_sealing_never_repeats_an_iv_and_opening_refuses_a_reused_one():
    key = os.urandom(32)
    e = safra.Envelopes(key, rng_seed=b"\x07" * 32)
    ivs = {e.seal(b"{}").split(".")[1] for _ in range(300)}
    assert len(ivs) == 300
    env = safra.seal_with_iv(key, b"AAAAAAAAAAAAAAAA", b"{}")
    other = safra.Envelopes(key)
    other.open(env)
    with pytest.raises(selo.SafraError) as ei:
        other.open(env)
    assert ei.value.code == "safra.envelope.reused_iv"
    lax = safra.Envelopes(key, reject_reused_iv=False)
    assert not lax.open(env).reused_iv and lax.open(env).reused_iv


def test_stage1_signature_and_key_verify_with_cryptography():
    v = vec("external/safra/stage1.json")
    key = selo.PrivateKey.load(v["client_private_pkcs8_pem"])
    jwk = safra.stage1_jwk(key, "11111111-2222-4333-8444-555555555555", "der-spki")
    parts = jwk.split(".")
    assert [base64.b64decode(p) for p in parts[1:4]] == [b"RSA", b"enc", b"P-256"]
    pub = serialization.load_der_public_key(base64.b64decode(parts[4]))
    pub.verify(base64.b64decode(parts[0]), b"11111111-2222-4333-8444-555555555555", padding.PKCS1v15(),
               hashes.SHA256())


@pytest.mark.parametrize("pad", ["pkcs1v15", "oaep-sha1", "oaep-sha256", "oaep-sha256-mgf1sha1"])
def test_stage2_parametros_open_with_cryptography(pad):
    v = vec("safra/generated.json")
    client = selo.PrivateKey.load(v["client_private_pkcs8_pem"])
    bank = selo.PrivateKey.load(v["bank_private_pkcs8_pem"])
    sid = "6a1f0c4e-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
    par = safra.stage2_parametros(bank.public_key(), client, sid, pad)
    enc, sig = (base64.b64decode(p) for p in par.split("."))
    theirs = serialization.load_pem_private_key(bank.to_pem().encode(), None)
    pads = {
        "pkcs1v15": padding.PKCS1v15(),
        "oaep-sha1": padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
        "oaep-sha256": padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None),
        "oaep-sha256-mgf1sha1": padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA256(), None),
    }
    assert theirs.decrypt(enc, pads[pad]) == sid.encode()
    # The key cryptography decrypted with is the bank key selo encrypted to.
    assert theirs.public_key().public_numbers() == serialization.load_pem_public_key(
        bank.public_key().to_pem().encode()).public_numbers()
    serialization.load_pem_public_key(client.public_key().to_pem().encode()).verify(
        sig, sid.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_rsa_chunked_encryption_decrypts_with_cryptography_per_block():
    v = vec("safra/generated.json")
    client = selo.PrivateKey.load(v["client_private_pkcs8_pem"])
    msg = json.dumps({"kty": "oct", "alg": "A256CTR", "kid": base64.b64encode(os.urandom(32)).decode(), "pad": "x" * 40}).encode()
    assert len(msg) > 117
    ct = client.public_key().encrypt(msg, padding="pkcs1v15")
    assert len(ct) == 256
    theirs = serialization.load_pem_private_key(client.to_pem().encode(), None)
    assert b"".join(theirs.decrypt(ct[i:i + 128], padding.PKCS1v15()) for i in (0, 128)) == msg
    assert client.decrypt(ct) == msg
