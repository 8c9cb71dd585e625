#!/usr/bin/env python3
"""Writes record.json beside this file: sealed Safra credentials records
(docs/shared-state.md §3) made with Python `cryptography`'s AESGCM, an
implementation independent of the core's (RustCrypto aes-gcm).

    .venv/bin/python tests/vectors/shared/gen_record.py

Each case's inputs are a key, a fleet name, a generation, a plaintext and
an rng seed. The nonce is the first 12 bytes the core's seeded rng
(`selo::rng::seeded(seed)`, ChaCha20Rng) draws: the ChaCha20 keystream
under key = seed, counter 0, nonce 0 (RFC 8439 block function; rand_core's
ChaCha20Rng emits it in order). The Rust test (core/src/shared/seal.rs,
`python_cryptography_vectors`) opens every record, reproduces it from the
nonce, and reproduces it from the seed through `seal`.

Record: selo1.<generation>.<base64url-no-pad(nonce || ciphertext || tag)>
AAD:    b"selo/safra-record/v1\\0" || name || b"\\0" || generation (8 bytes BE)
"""

import base64
import json
import pathlib
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

AAD_LABEL = b"selo/safra-record/v1\0"

CASES = [
    {
        "comment": "a credentials-shaped JSON (made-up values), a small generation",
        "key_hex": bytes(range(32)).hex(),
        "name": "acme-prod",
        "generation": 42,
        "plaintext": json.dumps(
            {
                "version": 1,
                "session_id": "7d2c3a0e-5b1f-4e7a-9c3d-1f2e3d4c5b6a",
                "aes_key": base64.b64encode(bytes(range(100, 132))).decode(),
                "work_id": "W-000123",
                "generation": 42,
            },
            separators=(",", ":"),
        ),
        "rng_seed_hex": (b"selo shared-state vector seed 1" + b"\0").hex(),
    },
    {
        "comment": "a generation past 2^32 (all 8 AAD bytes in use), punctuation in the name, empty plaintext",
        "key_hex": bytes(0xFF - i for i in range(32)).hex(),
        "name": "bank:safra/tenant-7|prod",
        "generation": (1 << 40) + 7,
        "plaintext": "",
        "rng_seed_hex": bytes([0x5E] * 32).hex(),
    },
]


def seeded_nonce(seed: bytes) -> bytes:
    # ChaCha20 keystream: key = seed, 16-byte initial block = counter 0 || nonce 0.
    enc = Cipher(algorithms.ChaCha20(seed, bytes(16)), mode=None).encryptor()
    return enc.update(bytes(12))


def main() -> None:
    out = []
    for c in CASES:
        key = bytes.fromhex(c["key_hex"])
        nonce = seeded_nonce(bytes.fromhex(c["rng_seed_hex"]))
        aad = AAD_LABEL + c["name"].encode() + b"\0" + struct.pack(">Q", c["generation"])
        sealed = AESGCM(key).encrypt(nonce, c["plaintext"].encode(), aad)
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
        out.append(
            {
                **c,
                "nonce_hex": nonce.hex(),
                "aad_hex": aad.hex(),
                "record": f"selo1.{c['generation']}.{body}",
            }
        )
    doc = {
        "description": "Sealed Safra credentials records (docs/shared-state.md §3), "
        "made by gen_record.py with Python cryptography's AESGCM.",
        "cases": out,
    }
    path = pathlib.Path(__file__).with_name("record.json")
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
