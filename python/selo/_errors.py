"""Exceptions: one base class, one subclass per protocol area.

Every exception selo raises for a protocol or input problem is a
:class:`SeloError` carrying ``.code`` — the core's stable dotted code
(``"safra.envelope.reused_iv"``), identical in every language binding —
and ``.message``, a human explanation that never contains key material.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Dict, Literal, Optional, Type, cast

from ._native import selo_uniffi as _n

if TYPE_CHECKING:
    from .ofb import Response
    from .safra import Status

    # The generated module declares ``SeloError`` as a bare ``Exception`` and
    # attaches one nested class per variant at import time, which a type
    # checker cannot see. These describe what is there (selo_uniffi.py).

    class NativeCodedError(Exception):
        """``SeloError.Key`` … ``SeloError.Br``: the core's code and message."""

        code: str
        message: str

        def __init__(self, code: str, message: str) -> None: ...

    class NativeArgumentError(Exception):
        """``SeloError.Argument``: a host argument the core refused."""

        message: str

        def __init__(self, message: str) -> None: ...

    class NativeSeloErrorType(Exception):
        Key: ClassVar[Type[NativeCodedError]]
        Crypto: ClassVar[Type[NativeCodedError]]
        Safra: ClassVar[Type[NativeCodedError]]
        Ofb: ClassVar[Type[NativeCodedError]]
        Bmp: ClassVar[Type[NativeCodedError]]
        Br: ClassVar[Type[NativeCodedError]]
        Argument: ClassVar[Type[NativeArgumentError]]

#: The generated ``SeloError`` with its variant classes visible to type checkers.
NativeSeloError = cast("Type[NativeSeloErrorType]", _n.SeloError)

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

    def __init__(self, status: Optional[Status], body: Any) -> None:
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

    response: Optional[Response] = None


class BmpError(SeloError):
    """BMP HMAC (``bmp.*``)."""


class BrError(SeloError):
    """Brazilian identifiers (``br.*``)."""


class SharedStateError(SeloError):
    """Shared state between instances (``shared.*``, raised by
    :mod:`selo.redis`): ``shared.store_unavailable`` (a Redis call failed,
    timed out or answered outside the protocol — the operation failed
    closed) or ``shared.lease_timeout``. The message names the Redis call,
    never a key, a token or a record."""


_AREAS: Dict[Type[BaseException], Type[SeloError]] = {
    NativeSeloError.Key: SeloKeyError,
    NativeSeloError.Crypto: CryptoError,
    NativeSeloError.Safra: SafraError,
    NativeSeloError.Ofb: OfbError,
    NativeSeloError.Bmp: BmpError,
    NativeSeloError.Br: BrError,
}

_CLASS_BY_PREFIX = {
    "key": SeloKeyError,
    "crypto": CryptoError,
    "safra": SafraError,
    "ofb": OfbError,
    "bmp": BmpError,
    "br": BrError,
    "shared": SharedStateError,
}


def error_for(code: str, message: str) -> SeloError:
    """The exception instance for a core code (used where the core returns
    an error as data, e.g. the C ABI's last error)."""
    cls = _CLASS_BY_PREFIX.get(code.split(".", 1)[0], SeloError)
    return cls(code, message)


def internal_error(detail: str) -> SeloError:
    """A broken invariant of selo itself (never the caller's input)."""
    return SeloError("internal", f"selo internal error (please report it): {detail}")


def convert(exc: BaseException) -> BaseException:
    """The Pythonic exception for an exception raised by the native module."""
    cls = _AREAS.get(type(exc))
    if cls is not None:
        area = cast("NativeCodedError", exc)  # type(exc) is one of the variant classes above
        return cls(area.code, area.message)
    if isinstance(exc, NativeSeloError.Argument):
        return ValueError(exc.message)
    if isinstance(exc, _n.InternalError):
        return internal_error(str(exc))
    return exc


class _Guard:
    """``with guard:`` turns native exceptions into selo's."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, et: Optional[Type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> Literal[False]:
        if ev is None:
            return False
        new = convert(ev)
        if new is ev:
            return False
        raise new.with_traceback(tb) from None


guard = _Guard()
