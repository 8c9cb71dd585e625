"""RSA keys, JWKs and JWK Sets (import from every PEM/DER form, export,
thumbprints). Private keys live in Rust memory, zeroized on drop."""

from __future__ import annotations

from typing import List, Optional, Union

from ._errors import guard
from ._native import selo_uniffi as _n
from ._util import as_bytes, seed

__all__ = ["PrivateKey", "PublicKey", "Jwk", "JwkSet"]

KeyData = Union[bytes, bytearray, str]


class PublicKey:
    """An RSA public key."""

    __slots__ = ("_k",)

    def __init__(self, native: "_n.RsaPublicKey") -> None:
        self._k = native

    @classmethod
    def load(cls, data: KeyData) -> "PublicKey":
        """PEM or DER: SubjectPublicKeyInfo, PKCS#1, or an X.509 certificate."""
        with guard:
            return cls(_n.RsaPublicKey._import(as_bytes(data, "key")))

    @property
    def bits(self) -> int:
        return self._k.bits()

    def to_pem(self) -> str:
        with guard:
            return self._k.to_spki_pem()

    def to_der(self) -> bytes:
        with guard:
            return self._k.to_spki_der()

    def to_pkcs1_der(self) -> bytes:
        with guard:
            return self._k.to_pkcs1_der()

    def encode(self, key_format: str) -> bytes:
        """``"der-spki"``, ``"pem-spki"`` or ``"der-pkcs1"``."""
        with guard:
            return self._k.encode(key_format)

    def thumbprint(self) -> str:
        """RFC 7638 SHA-256 thumbprint, base64url."""
        return self._k.thumbprint()

    def verify(self, signature: bytes, message: bytes, *, scheme: str = "pss-sha256") -> None:
        """Raises :class:`selo.CryptoError` (``crypto.rsa.bad_signature``) unless it verifies."""
        with guard:
            self._k.verify(scheme, as_bytes(message), bytes(signature), None)

    def encrypt(self, plaintext: bytes, *, padding: str = "pkcs1v15", rng_seed: Optional[bytes] = None) -> bytes:
        """RSA encryption, chunked when the plaintext exceeds one block."""
        with guard:
            return self._k.encrypt(padding, as_bytes(plaintext), None, seed(rng_seed))

    def to_jwk(self) -> "Jwk":
        return Jwk(_n.Jwk.from_public_key(self._k))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self._k.equals(other._k)

    def __hash__(self) -> int:
        return hash(self.thumbprint())

    def __repr__(self) -> str:
        return f"PublicKey(bits={self.bits}, thumbprint={self.thumbprint()!r})"


class PrivateKey:
    """An RSA private key. ``repr`` never shows key material."""

    __slots__ = ("_k",)

    def __init__(self, native: "_n.RsaPrivateKey") -> None:
        self._k = native

    @classmethod
    def generate(cls, bits: int = 2048, *, rng_seed: Optional[bytes] = None) -> "PrivateKey":
        """1024 (Safra's manual value; weak), 2048, 3072 or 4096 bits."""
        with guard:
            return cls(_n.RsaPrivateKey.generate(bits, seed(rng_seed)))

    @classmethod
    def load(cls, data: KeyData) -> "PrivateKey":
        """PEM (PKCS#8 ``PRIVATE KEY``, PKCS#1 ``RSA PRIVATE KEY``) or DER."""
        with guard:
            return cls(_n.RsaPrivateKey._import(as_bytes(data, "key")))

    @property
    def bits(self) -> int:
        return self._k.bits()

    def public_key(self) -> PublicKey:
        return PublicKey(self._k.public_key())

    def to_pem(self) -> str:
        with guard:
            return self._k.to_pkcs8_pem()

    def to_der(self) -> bytes:
        with guard:
            return self._k.to_pkcs8_der()

    def to_pkcs1_der(self) -> bytes:
        with guard:
            return self._k.to_pkcs1_der()

    def sign(self, message: bytes, *, scheme: str = "pss-sha256", provider: Optional[str] = None) -> bytes:
        """``"pss-sha256"`` (PS256) or ``"pkcs1v15-sha256"`` (RS256 / Java SHA256withRSA)."""
        with guard:
            return self._k.sign(scheme, as_bytes(message), provider, None)

    def decrypt(self, ciphertext: bytes, *, padding: str = "pkcs1v15") -> bytes:
        """RSA decryption of one or several modulus-size blocks."""
        with guard:
            return self._k.decrypt(padding, bytes(ciphertext), None)

    def to_jwk(self) -> "Jwk":
        return Jwk(_n.Jwk.from_private_key(self._k))

    def __repr__(self) -> str:
        return f"PrivateKey(bits={self.bits})"


class Jwk:
    """One JSON Web Key."""

    __slots__ = ("_k",)

    def __init__(self, native: "_n.Jwk") -> None:
        self._k = native

    @classmethod
    def parse(cls, json_text: Union[str, bytes]) -> "Jwk":
        with guard:
            return cls(_n.Jwk.parse(json_text.decode() if isinstance(json_text, bytes) else json_text))

    @classmethod
    def load(cls, data: KeyData) -> "Jwk":
        """A JWK from PEM/DER key bytes (private forms give a private JWK)."""
        with guard:
            return cls(_n.Jwk._import(as_bytes(data, "key")))

    def with_(self, *, kid: Optional[str] = None, alg: Optional[str] = None, use: Optional[str] = None,
              thumbprint_kid: bool = False) -> "Jwk":
        """A copy with ``kid``/``alg``/``use`` set (``thumbprint_kid``: kid = RFC 7638 thumbprint)."""
        with guard:
            return Jwk(self._k.with_members(kid, alg, use, thumbprint_kid))

    @property
    def kid(self) -> Optional[str]:
        return self._k.kid()

    @property
    def alg(self) -> Optional[str]:
        return self._k.alg()

    @property
    def use(self) -> Optional[str]:
        return self._k.key_use()

    @property
    def kty(self) -> str:
        return self._k.kty()

    @property
    def is_private(self) -> bool:
        return self._k.is_private()

    def thumbprint(self) -> str:
        with guard:
            return self._k.thumbprint()

    def to_public(self) -> "Jwk":
        return Jwk(self._k.to_public())

    def to_json(self) -> str:
        with guard:
            return self._k.to_json()

    def public_key(self) -> Optional[PublicKey]:
        k = self._k.rsa_public_key()
        return PublicKey(k) if k is not None else None

    def private_key(self) -> Optional[PrivateKey]:
        k = self._k.rsa_private_key()
        return PrivateKey(k) if k is not None else None

    def __repr__(self) -> str:
        return f"Jwk(kty={self.kty!r}, kid={self.kid!r}, private={self.is_private})"


class JwkSet:
    """A JWK Set (``{"keys": [...]}``)."""

    __slots__ = ("_k",)

    def __init__(self, native: "_n.JwkSet") -> None:
        self._k = native

    @classmethod
    def parse(cls, json_text: Union[str, bytes]) -> "JwkSet":
        with guard:
            return cls(_n.JwkSet.parse(json_text.decode() if isinstance(json_text, bytes) else json_text))

    @classmethod
    def of(cls, keys: List[Jwk]) -> "JwkSet":
        return cls(_n.JwkSet.from_keys([k._k for k in keys]))

    def keys(self) -> List[Jwk]:
        return [Jwk(k) for k in self._k.keys()]

    def __len__(self) -> int:
        return self._k.len()

    def to_public(self) -> "JwkSet":
        return JwkSet(self._k.to_public())

    def to_json(self) -> str:
        with guard:
            return self._k.to_json()

    def select(self, kid: str) -> PublicKey:
        """The one key OFB verification would pick for ``kid`` (stage 4)."""
        with guard:
            return PublicKey(self._k.select(kid))

    def __repr__(self) -> str:
        return f"JwkSet({len(self)} keys)"
