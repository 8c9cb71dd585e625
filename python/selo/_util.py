"""Conversions shared by the modules: time, money, JSON, headers."""

from __future__ import annotations

import decimal
import json
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union, cast

from ._errors import guard
from ._native import selo_uniffi as _n

Money = Union[decimal.Decimal, int, str]
"""An amount of money: ``Decimal`` (reais), ``int`` (cents) or ``str`` (reais, decimal text)."""

Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]]]


def now_secs(now: Optional[float]) -> int:
    """Unix seconds as an int; ``None`` reads the clock."""
    if now is None:
        return int(time.time())
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise TypeError(f"now must be Unix seconds (int or float), not {type(now).__name__}")
    return int(now)


def money_text(value: Any, what: str = "amount") -> str:
    """The exact decimal text of an amount (``Decimal``/``str`` reais)."""
    if isinstance(value, float):
        raise TypeError(
            f"{what}: float is never accepted for money (binary floating point is inexact); "
            "use decimal.Decimal, int cents or a decimal str"
        )
    if isinstance(value, bool):
        raise TypeError(f"{what}: bool is not an amount")
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ValueError(f"{what}: {value} is not a finite amount")
        return format(value, "f")
    if isinstance(value, str):
        return value
    raise TypeError(f"{what}: expected decimal.Decimal, int cents or str, not {type(value).__name__}")


def to_cents(value: Money, what: str = "amount") -> int:
    """Exact integer cents of an amount: ``Decimal('15.00')``, ``1500`` or ``'15.00'`` → 1500.

    More than two fraction digits, negatives and malformed text raise
    :class:`selo.BmpError` (``bmp.money.*``); ``float`` raises ``TypeError``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            with guard:
                _n.money_from_cents(value)  # raises bmp.money.negative
        return value
    with guard:
        return _n.money_to_cents(money_text(value, what))


def cents(n: int) -> decimal.Decimal:
    """The amount of ``n`` cents as a ``Decimal`` with two places (``cents(150)`` → ``Decimal('1.50')``)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("cents() takes an int")
    with guard:
        return decimal.Decimal(_n.money_from_cents(n))


def money_amount(value: Money, what: str = "valor") -> Any:
    """The binding's MoneyAmount for an amount."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _n.MoneyAmount.CENTS(cents=value)
    return _n.MoneyAmount.DECIMAL(text=money_text(value, what))


# ---- JSON with exact decimals ----------------------------------------------


def dumps(obj: Any, *, float_error: Optional[str] = None, path: str = "") -> str:
    """Minified JSON, member order kept, ``Decimal`` written as its exact
    text. ``float_error`` set: a float anywhere raises ``TypeError``."""
    out: List[str] = []
    _emit(obj, out, float_error, path)
    return "".join(out)


def _emit(obj: Any, out: List[str], float_error: Optional[str], path: str) -> None:
    if obj is None or obj is True or obj is False:
        out.append(json.dumps(obj))
    elif isinstance(obj, str):
        out.append(json.dumps(obj, ensure_ascii=False))
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, decimal.Decimal):
        out.append(money_text(obj, path or "value"))
    elif isinstance(obj, float):
        if float_error is not None:
            raise TypeError(f"{path or 'value'}: {float_error}")
        out.append(json.dumps(obj))
    elif isinstance(obj, Mapping):
        out.append("{")
        first = True
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"{path or 'object'}: JSON member names must be str, not {type(k).__name__}")
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(k, ensure_ascii=False))
            out.append(":")
            _emit(v, out, float_error, f"{path}.{k}" if path else k)
        out.append("}")
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _emit(v, out, float_error, f"{path}[{i}]")
        out.append("]")
    else:
        raise TypeError(f"{path or 'value'}: {type(obj).__name__} is not JSON-serialisable")


def loads(text: Union[str, bytes]) -> Any:
    """JSON with numbers that are not integers read as ``Decimal`` (exact)."""
    return json.loads(text, parse_float=decimal.Decimal)


def loads_object(text: Union[str, bytes]) -> Dict[str, Any]:
    """:func:`loads` for text the core writes as a JSON object (profiles, claims, messages)."""
    return cast(Dict[str, Any], loads(text))


# ---- headers -----------------------------------------------------------------


def headers_in(headers: Optional[Headers]) -> List[Any]:
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    if hasattr(headers, "multi_items"):
        items = headers.multi_items()
    return [_n.HttpHeader(name=str(k), value=str(v)) for k, v in items]


def headers_out(headers: Sequence[Any]) -> List[Tuple[str, str]]:
    return [(h.name, h.value) for h in headers]


def as_bytes(data: Union[bytes, bytearray, memoryview, str], what: str = "data") -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what}: expected bytes or str, not {type(data).__name__}")


def seed(rng_seed: Optional[bytes]) -> Optional[bytes]:
    if rng_seed is None:
        return None
    if not isinstance(rng_seed, (bytes, bytearray)):
        raise TypeError("rng_seed must be bytes (32 of them)")
    if len(rng_seed) != 32:
        raise ValueError(f"rng_seed must be exactly 32 bytes, found {len(rng_seed)}")
    return bytes(rng_seed)


def profile_json(profile: Any) -> Optional[str]:
    """A profile given as ``None``, a dict, or JSON text."""
    if profile is None:
        return None
    if isinstance(profile, str):
        return profile
    if isinstance(profile, Mapping):
        return json.dumps(dict(profile))
    raise TypeError(f"profile must be a dict or JSON text, not {type(profile).__name__}")
