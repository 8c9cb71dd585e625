"""selo — Brazilian bank API security schemes for Python.

A sans-I/O Rust core (every byte, every protocol decision) with httpx
drivers on top:

- :mod:`selo.safra` — Banco Safra PSD (handshake, AES-CTR envelopes,
  tokens, boletos; ``Client`` / ``AsyncClient``; the bank role);
- :mod:`selo.ofb` — Open Finance Brasil JWS PS256 (sign, verify, replay,
  server helper, client);
- :mod:`selo.jwks` — remote JWK Sets under the core's policy;
- :mod:`selo.bmp` — BMP HMAC-SHA512 (canonical bodies, exact money,
  confirmation endpoint);
- :mod:`selo.br` — CPF, CNPJ, boletos, ISPB, Pix keys;
- :mod:`selo.keys` — RSA keys, JWK, JWKS;
- :mod:`selo.redis` — state shared by many instances through Redis (one
  Safra session per fleet, the OFB replay set, BMP pending transactions;
  needs ``selo[redis]``).

Errors are :class:`SeloError` subclasses with ``.code``, the core's stable
code. Money is ``decimal.Decimal`` (reais), ``int`` (cents) or ``str``
(reais) — never ``float``.
"""

from __future__ import annotations

from typing import List, Optional

from . import bmp, br, jwks, keys, ofb, safra
from ._errors import (
    BmpError,
    BrError,
    CryptoError,
    OfbError,
    SafraBusinessError,
    SafraError,
    SeloError,
    SeloKeyError,
    SharedStateError,
)
from ._native import selo_uniffi as _n
from ._util import Money, cents, to_cents
from .keys import Jwk, JwkSet, PrivateKey, PublicKey

__all__ = [
    "SeloError",
    "SeloKeyError",
    "CryptoError",
    "SafraError",
    "SafraBusinessError",
    "OfbError",
    "BmpError",
    "BrError",
    "SharedStateError",
    "all_codes",
    "host_codes",
    "http_status",
    "Money",
    "cents",
    "to_cents",
    "PrivateKey",
    "PublicKey",
    "Jwk",
    "JwkSet",
    "safra",
    "ofb",
    "bmp",
    "br",
    "keys",
    "jwks",
    "__version__",
]

__version__: str = _n.core_version()


def all_codes() -> List[str]:
    """Every stable error code of the core, in the core's order."""
    return list(_n.all_codes())


def host_codes() -> List[str]:
    """The codes only the host-language layers of the selo packages raise
    (HTTP helpers, wrappers — here ``http.body_too_large`` and
    ``internal``), never the core: the core's one table of them
    (``selo::HOST_CODES``)."""
    return list(_n.host_codes())


def http_status(code: str) -> Optional[int]:
    """The HTTP status a server role answers for ``code`` (``None`` if the core's
    tables define none; host-layer codes included, ``http.body_too_large`` is 413)."""
    return _n.http_status(code)
