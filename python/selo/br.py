"""Brazilian identifiers: CPF, CNPJ (numeric and the alphanumeric form from
July 2026), boletos (barcode ↔ linha digitável), ISPB, Pix keys.

``is_valid_*`` never raise; the other functions raise :class:`selo.BrError`
whose code names the rule broken."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ._errors import guard
from ._native import selo_uniffi as _n

__all__ = [
    "Document",
    "Boleto",
    "PixKey",
    "is_valid_cpf",
    "is_valid_cnpj",
    "is_valid_document",
    "normalize_cpf",
    "normalize_cnpj",
    "format_cpf",
    "format_cnpj",
    "cpf_check_digits",
    "cnpj_check_digits",
    "parse_document",
    "parse_boleto",
    "linha_to_barcode",
    "barcode_to_linha",
    "is_valid_barcode",
    "is_valid_linha_digitavel",
    "due_date_for_factor",
    "factor_for_date",
    "bank_barcode",
    "validate_ispb",
    "is_valid_ispb",
    "validate_pix_key",
    "is_valid_pix_key",
    "detect_pix_key",
    "pix_key_type",
]


@dataclass(frozen=True)
class Document:
    kind: str  # "cpf" | "cnpj"
    value: str


@dataclass(frozen=True)
class Boleto:
    kind: str  # "bank" | "arrecadacao"
    barcode: str
    linha_digitavel: str
    amount_cents: Optional[int]
    bank: Optional[str] = None
    currency: Optional[int] = None
    due_date_factor: Optional[int] = None
    segment: Optional[int] = None
    value_id: Optional[int] = None


@dataclass(frozen=True)
class PixKey:
    kind: str  # "cpf" | "cnpj" | "phone" | "email" | "evp"
    code: int  # tipoChave
    value: str


def _s(x: object, what: str) -> str:
    if not isinstance(x, str):
        raise TypeError(f"{what} must be str, not {type(x).__name__}")
    return x


def is_valid_cpf(s: str) -> bool:
    return _n.br_is_valid_cpf(_s(s, "cpf"))


def is_valid_cnpj(s: str) -> bool:
    return _n.br_is_valid_cnpj(_s(s, "cnpj"))


def is_valid_document(s: str) -> bool:
    return _n.br_is_valid_document(_s(s, "document"))


def normalize_cpf(s: str) -> str:
    with guard:
        return _n.br_normalize_cpf(_s(s, "cpf"))


def normalize_cnpj(s: str) -> str:
    with guard:
        return _n.br_normalize_cnpj(_s(s, "cnpj"))


def format_cpf(s: str) -> str:
    with guard:
        return _n.br_format_cpf(_s(s, "cpf"))


def format_cnpj(s: str) -> str:
    with guard:
        return _n.br_format_cnpj(_s(s, "cnpj"))


def cpf_check_digits(base: str) -> Optional[str]:
    """The two check digits (``"83"``) of a 9-digit CPF base; ``None`` if malformed."""
    d = _n.br_cpf_check_digits(_s(base, "base"))
    return bytes(d).decode("ascii") if d is not None else None


def cnpj_check_digits(base: str) -> Optional[str]:
    """The two check digits (``"83"``) of a 12-character CNPJ base; ``None`` if malformed."""
    d = _n.br_cnpj_check_digits(_s(base, "base"))
    return bytes(d).decode("ascii") if d is not None else None


def parse_document(s: str) -> Document:
    with guard:
        d = _n.br_parse_document(_s(s, "document"))
    return Document(d.kind, d.value)


def parse_boleto(s: str) -> Boleto:
    """A barcode (44 digits) or linha digitável (47/48), every check digit verified."""
    with guard:
        b = _n.br_parse_boleto(_s(s, "boleto"))
    return Boleto(b.kind, b.barcode, b.linha_digitavel, b.amount_cents, b.bank, b.currency, b.due_date_factor,
                  b.segment, b.value_id)


def linha_to_barcode(linha: str) -> str:
    with guard:
        return _n.br_linha_to_barcode(_s(linha, "linha"))


def barcode_to_linha(barcode: str) -> str:
    with guard:
        return _n.br_barcode_to_linha(_s(barcode, "barcode"))


def is_valid_barcode(s: str) -> bool:
    return _n.br_is_valid_barcode(_s(s, "barcode"))


def is_valid_linha_digitavel(s: str) -> bool:
    return _n.br_is_valid_linha_digitavel(_s(s, "linha"))


def due_date_for_factor(factor: int, reference: str) -> Optional[str]:
    """The due date (``yyyy-MM-dd``) of a factor, in the cycle nearest ``reference``."""
    with guard:
        return _n.br_due_date_for_factor(factor, reference)


def factor_for_date(date: str) -> Optional[int]:
    with guard:
        return _n.br_factor_for_date(date)


def bank_barcode(bank: str, currency: int, factor: int, amount_cents: int, free_field: str) -> str:
    with guard:
        return _n.br_bank_barcode(bank, currency, factor, amount_cents, free_field)


def validate_ispb(s: str) -> None:
    with guard:
        _n.br_validate_ispb(_s(s, "ispb"))


def is_valid_ispb(s: str) -> bool:
    return _n.br_is_valid_ispb(_s(s, "ispb"))


def validate_pix_key(kind: str, key: str) -> PixKey:
    """``kind``: ``"cpf"``, ``"cnpj"``, ``"phone"``, ``"email"`` or ``"evp"``."""
    with guard:
        k = _n.br_validate_pix_key(kind, _s(key, "key"))
    return PixKey(k.kind, k.code, k.value)


def is_valid_pix_key(kind: str, key: str) -> bool:
    with guard:
        return _n.br_is_valid_pix_key(kind, _s(key, "key"))


def detect_pix_key(key: str) -> Optional[PixKey]:
    k = _n.br_detect_pix_key(_s(key, "key"))
    return PixKey(k.kind, k.code, k.value) if k is not None else None


def pix_key_type(code: int) -> str:
    """The type name of a ``tipoChave`` number (``br.pix_key.type`` outside 0..4)."""
    with guard:
        return _n.br_pix_key_type(code)
