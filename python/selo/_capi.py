"""Direct ctypes calls into selo's C ABI, which is linked into the same
native library as the uniffi binding, for the one hot path where uniffi's
per-call marshalling (RustBuffer lowering and record lifting in Python)
cost more than the work itself: ``ofb.Verifier.verify``.

Nothing here decides protocol: the C ABI runs the core's SPEC §3.2
verification and answers JSON, exactly like the uniffi path. When the
symbols are missing (a library built without the C ABI) :data:`available`
is false and callers use uniffi.
"""

from __future__ import annotations

import ctypes
from typing import Any, List, Optional

from ._errors import SeloError, error_for
from ._native import selo_uniffi as _n

_lib: Any = getattr(_n, "_UniffiLib", None)

_c_char_p = ctypes.c_char_p
_c_void_p = ctypes.c_void_p


def _bind(name: str, argtypes: List[Any], restype: Any) -> Any:
    fn = getattr(_lib, name, None) if _lib is not None else None
    if fn is None:
        return None
    fn.argtypes = argtypes
    fn.restype = restype
    return fn


_jwks_parse = _bind("selo_jwks_parse", [_c_char_p, ctypes.POINTER(_c_void_p)], ctypes.c_int)
_jwks_free = _bind("selo_jwks_free", [_c_void_p], None)
_ofb_verify = _bind(
    "selo_ofb_verify",
    [_c_char_p, _c_void_p, _c_char_p, _c_char_p, _c_char_p, ctypes.c_int64, ctypes.POINTER(_c_void_p)],
    ctypes.c_int,
)
_string_free = _bind("selo_string_free", [_c_void_p], None)
_last_code = _bind("selo_last_error_code", [], _c_void_p)
_last_message = _bind("selo_last_error_message", [], _c_void_p)

available = None not in (_jwks_parse, _jwks_free, _ofb_verify, _string_free, _last_code, _last_message)


def _last_error() -> BaseException:
    code_p, msg_p = _last_code(), _last_message()
    code = ctypes.string_at(code_p).decode() if code_p else "internal"
    message = ctypes.string_at(msg_p).decode("utf-8", "replace") if msg_p else "unknown error"
    if code == "ffi.panic":
        return SeloError("internal", f"selo internal error (please report it): {message}")
    if code.startswith("ffi."):
        # Argument problems (the uniffi path raises ValueError for these).
        return ValueError(message)
    return error_for(code, message)


def _arg(s: str) -> bytes:
    b = s.encode("utf-8")
    if b"\x00" in b:
        raise ValueError("text passed to selo must not contain NUL characters")
    return b


class Jwks:
    """A JWK Set parsed once by the C ABI (its keys keep their native caches)."""

    __slots__ = ("_h",)

    def __init__(self, json_text: str) -> None:
        self._h = None
        h = _c_void_p()
        if _jwks_parse(_arg(json_text), ctypes.byref(h)) != 0:
            raise _last_error()
        self._h = h

    def __del__(self) -> None:
        h, self._h = self._h, None
        if h is not None and _jwks_free is not None:
            _jwks_free(h)


class OfbVerify:
    """``verify(token, now)`` for fixed JWKS, ``aud``, ``iss`` and profile
    (the default aws-lc provider). Returns the parsed
    ``{"header", "payload", "claims", "kid"}`` or raises like the uniffi path."""

    __slots__ = ("_jwks", "_aud", "_iss", "_profile", "_loads")

    def __init__(self, jwks_json: str, aud: str, iss: str, profile_json: Optional[str], loads: Any) -> None:
        self._jwks = Jwks(jwks_json)
        self._aud = _arg(aud)
        self._iss = _arg(iss)
        self._profile = _arg(profile_json or "")
        self._loads = loads

    def verify(self, token: bytes, now: int) -> Any:
        out = _c_void_p()
        if _ofb_verify(token, self._jwks._h, self._aud, self._iss, self._profile, now, ctypes.byref(out)) != 0:
            raise _last_error()
        try:
            text = ctypes.string_at(out)
        finally:
            _string_free(out)
        return self._loads(text)


__all__ = ["available", "OfbVerify"]
