"""Exceptions: one base class, one subclass per protocol area.

Every exception selo raises for a protocol or input problem is a
:class:`SeloError` carrying ``.code`` — the core's stable dotted code
(``"safra.envelope.reused_iv"``), identical in every language binding —
and ``.message``, a human explanation that never contains key material.
"""

from __future__ import annotations

from typing import Optional

from ._native import selo_uniffi as _n

__all__ = [
    "SeloError",
    "SeloKeyError",
    "CryptoError",
    "SafraError",
    "SafraBusinessError",
    "OfbError",
    "BmpError",
    "BrError",
]


class SeloError(Exception):
    """Base class of every selo error. ``code`` is the core's stable code."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self) -> Optional[int]:
        """The HTTP status a server role answers for this code, if the core defines one."""
        return _n.http_status(self.code)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class SeloKeyError(SeloError):
    """Key import, export and generation (``key.*``). Not a ``builtins.KeyError``."""


class CryptoError(SeloError):
    """Cryptographic operations (``crypto.*``)."""


class SafraError(SeloError):
    """Banco Safra PSD (``safra.*``)."""


class SafraBusinessError(SafraError):
    """HTTP 550 from Safra: the bank refused the operation for a business reason.

    ``status`` is the ``statusProcessamento`` the bank sent (or ``None``) and
    ``body`` the opened reply (a dict) or ``None``.
    """

    def __init__(self, status, body) -> None:  # type: ignore[no-untyped-def]
        if status is None:
            detail = "no statusProcessamento"
        elif status.codigo is None:
            detail = f"codigo absent, {status.mensagem}"
        else:
            detail = f"{status.codigo} {status.mensagem}"
        super().__init__("safra.bank.business", f"the bank refused the operation (HTTP 550): {detail}")
        self.status = status
        self.body = body


class OfbError(SeloError):
    """Open Finance Brasil JWS (``ofb.*``). ``response`` is set by the server
    helper: the exact HTTP response to send back."""

    response = None


class BmpError(SeloError):
    """BMP HMAC (``bmp.*``)."""


class BrError(SeloError):
    """Brazilian identifiers (``br.*``)."""


_AREAS = {
    _n.SeloError.Key: SeloKeyError,
    _n.SeloError.Crypto: CryptoError,
    _n.SeloError.Safra: SafraError,
    _n.SeloError.Ofb: OfbError,
    _n.SeloError.Bmp: BmpError,
    _n.SeloError.Br: BrError,
}

_CLASS_BY_PREFIX = {
    "key": SeloKeyError,
    "crypto": CryptoError,
    "safra": SafraError,
    "ofb": OfbError,
    "bmp": BmpError,
    "br": BrError,
}


def error_for(code: str, message: str) -> SeloError:
    """The exception instance for a core code (used where the core returns
    an error as data, e.g. the OFB server decision)."""
    cls = _CLASS_BY_PREFIX.get(code.split(".", 1)[0], SeloError)
    return cls(code, message)


def convert(exc: BaseException) -> BaseException:
    """The Pythonic exception for an exception raised by the native module."""
    cls = _AREAS.get(type(exc))
    if cls is not None:
        return cls(exc.code, exc.message)  # type: ignore[attr-defined]
    if isinstance(exc, _n.SeloError.Argument):
        return ValueError(exc.message)  # type: ignore[attr-defined]
    if isinstance(exc, _n.InternalError):
        return SeloError("internal", f"selo internal error (please report it): {exc}")
    return exc


class _Guard:
    """``with guard:`` turns native exceptions into selo's."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, et, ev, tb):  # type: ignore[no-untyped-def]
        if ev is None:
            return False
        new = convert(ev)
        if new is ev:
            return False
        raise new.with_traceback(tb) from None


guard = _Guard()
