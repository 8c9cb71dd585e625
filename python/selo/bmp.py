"""BMP HMAC-SHA512: canonical body bytes, exact money, signing with a stable
``IdempotencyKey``, the partner confirmation endpoint, and the BMP side.

Money in Python values is ``Decimal`` (reais), ``int`` (cents) or ``str``
(reais) — never ``float``. Bodies given as JSON *text* are wire JSON: there
a number is reais (``"valor": 10`` is R$ 10,00), exactly as BMP reads it.
"""

from __future__ import annotations

import decimal
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, MutableMapping, Optional, Tuple, \
    Union, cast

from ._errors import BmpError, guard, internal_error
from ._native import selo_uniffi as _n
from ._util import Headers, Money, as_bytes, dumps, headers_in, headers_out, loads_object, money_amount, money_text, \
    profile_json, seed

if TYPE_CHECKING:
    from ._errors import NativeCodedError

__all__ = [
    "Account",
    "BoletoPayment",
    "Ted",
    "InternalTransfer",
    "Pix",
    "PixRefund",
    "Signed",
    "Signer",
    "Client",
    "Confirmation",
    "confirm",
    "confirmation_handler",
    "internal_error_response",
    "wsgi_app",
    "asgi_app",
    "Server",
    "canonical",
    "hmac",
    "verify",
    "generate_key",
    "decimal_eq",
    "first_difference",
    "is_protected_endpoint",
    "to_dotnet",
    "default_profile",
]

Profile = Union[None, str, Mapping[str, Any]]
Body = Union[Mapping[str, Any], str, bytes]


def default_profile() -> Dict[str, Any]:
    with guard:
        return loads_object(_n.bmp_profile_json(None))


class _MoneyFields:
    """Which member names the core treats as money under a profile (cached)."""

    def __init__(self, profile: Optional[str]) -> None:
        self.profile = profile
        self.cache: Dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        r = self.cache.get(name)
        if r is None:
            with guard:
                r = self.cache[name] = _n.bmp_is_money_field(self.profile, name)
        return r


_NO_FLOAT = "float is never accepted in BMP bodies; use decimal.Decimal, int cents (for amounts) or str"


def _prepare(v: Any, is_money: _MoneyFields, path: str) -> Any:
    if isinstance(v, Mapping):
        out = {}
        for k, x in v.items():
            p = f"{path}.{k}" if path else str(k)
            if isinstance(k, str) and is_money(k) and x is not None and not isinstance(x, (Mapping, list, tuple)):
                out[k] = _money_json(x, p)
            else:
                out[k] = _prepare(x, is_money, p)
        return out
    if isinstance(v, (list, tuple)):
        return [_prepare(x, is_money, f"{path}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, float):
        raise TypeError(f"{path}: {_NO_FLOAT}")
    return v


def _money_json(x: Any, path: str) -> Any:
    if isinstance(x, int) and not isinstance(x, bool):
        with guard:
            return decimal.Decimal(_n.money_from_cents(x))
    if isinstance(x, str):
        return x  # the core reads a decimal string under a money member
    return decimal.Decimal(money_text(x, path))


def _body_text(body: Body, profile: Optional[str]) -> bytes:
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if not isinstance(body, Mapping):
        raise TypeError(f"body must be a dict, str or bytes, not {type(body).__name__}")
    return dumps(_prepare(body, _MoneyFields(profile), "")).encode("utf-8")


def canonical(body: Body, *, profile: Profile = None) -> bytes:
    """The exact bytes BMP bodies are sent (and MACed) as: minified, member
    order kept, amounts with exactly two fraction digits."""
    p = profile_json(profile)
    with guard:
        return _n.bmp_canonical(_body_text(body, p), p)


def to_dotnet(body: bytes, *, profile: Profile = None) -> bytes:
    """Amounts rewritten .NET-style (``100.00`` → ``100.0``), as BMP may send them."""
    with guard:
        return _n.bmp_reformat_money_dotnet(bytes(body), profile_json(profile))


def hmac(key: str, body: bytes, *, profile: Profile = None) -> str:
    """The ``hmac`` header value (HMAC-SHA512, lowercase hex by default) of exact bytes."""
    with guard:
        return _n.bmp_hmac(key, as_bytes(body, "body"), profile_json(profile))


def verify(key: str, body: bytes, hmac_value: str, *, profile: Profile = None) -> None:
    """Raises ``BmpError`` (``bmp.mac.mismatch`` / ``bmp.mac.encoding``) unless it matches (constant time)."""
    with guard:
        _n.bmp_verify(key, as_bytes(body, "body"), hmac_value, profile_json(profile))


def generate_key(*, rng_seed: Optional[bytes] = None) -> str:
    """A new shared key: 128 random alphanumeric characters."""
    with guard:
        return _n.bmp_generate_key(seed(rng_seed))


def decimal_eq(a: str, b: str) -> bool:
    """True when two JSON number texts are the same decimal (``100.0`` == ``100.00``)."""
    return _n.bmp_decimal_eq(a, b)


def first_difference(original: bytes, received: bytes) -> Optional[str]:
    """The path of the first value that differs (amounts compared as decimals)."""
    with guard:
        return _n.bmp_first_difference(as_bytes(original), as_bytes(received))


def is_protected_endpoint(path: str) -> bool:
    return _n.bmp_is_protected_endpoint(path)


# ---- typed transactions ---------------------------------------------------------


@dataclass
class Account:
    """``contaOrigem`` / ``contaDestino``. ``tipo_conta``: 1 checking, 2 savings, 3 payment, 4 salary."""

    agencia: str
    conta: str
    tipo_conta: int
    agencia_digito: Optional[str] = None
    conta_digito: Optional[str] = None
    documento_federal: Optional[str] = None
    nome: Optional[str] = None
    numero_banco: Optional[int] = None
    ispb: Optional[str] = None

    def _native(self) -> Any:
        return _n.BmpAccount(agencia=self.agencia, agencia_digito=self.agencia_digito, conta=self.conta,
                             conta_digito=self.conta_digito, tipo_conta=self.tipo_conta,
                             documento_federal=self.documento_federal, nome=self.nome,
                             numero_banco=self.numero_banco, ispb=self.ispb)


@dataclass
class BoletoPayment:
    """``/api/Boleto/Pagar``."""

    data_transacao: str
    conta_origem: Account
    valor: Money
    codigo_barras: Optional[str] = None
    linha_digitavel: Optional[str] = None
    data_vencimento: Optional[str] = None

    def _native(self) -> Any:
        return _n.BmpTransaction.BOLETO_PAYMENT(
            data_transacao=self.data_transacao, conta_origem=self.conta_origem._native(),
            data_vencimento=self.data_vencimento, codigo_barras=self.codigo_barras,
            valor=money_amount(self.valor), linha_digitavel=self.linha_digitavel)


@dataclass
class Ted:
    """``/api/TransferenciaOutroBanco``."""

    data_transacao: str
    conta_origem: Account
    conta_destino: Account
    valor: Money

    def _native(self) -> Any:
        return _n.BmpTransaction.TED(data_transacao=self.data_transacao, conta_origem=self.conta_origem._native(),
                                     conta_destino=self.conta_destino._native(), valor=money_amount(self.valor))


@dataclass
class InternalTransfer:
    """``/api/TransferenciaEntreContas``."""

    data_transacao: str
    conta_origem: Account
    conta_destino: Account
    valor: Money

    def _native(self) -> Any:
        return _n.BmpTransaction.INTERNAL_TRANSFER(
            data_transacao=self.data_transacao, conta_origem=self.conta_origem._native(),
            conta_destino=self.conta_destino._native(), valor=money_amount(self.valor))


@dataclass
class Pix:
    """``/api/Recurso/Tranferir``. ``tipo_chave``: 0 CPF, 1 CNPJ, 2 phone, 3 e-mail, 4 EVP."""

    data_transacao: str
    conta_origem: Account
    valor: Money
    chave_pix: str
    tipo_chave: int
    conta_destino: Optional[Account] = None

    def _native(self) -> Any:
        return _n.BmpTransaction.PIX(
            data_transacao=self.data_transacao, conta_origem=self.conta_origem._native(),
            conta_destino=self.conta_destino._native() if self.conta_destino is not None else None,
            valor=money_amount(self.valor), chave_pix=self.chave_pix, tipo_chave=self.tipo_chave)


@dataclass
class PixRefund:
    """``/api/Recurso/Devolver``."""

    data_transacao: str
    conta_origem: Account
    conta_destino: Account
    valor: Money
    codigo_movimento: str

    def _native(self) -> Any:
        return _n.BmpTransaction.PIX_REFUND(
            data_transacao=self.data_transacao, conta_origem=self.conta_origem._native(),
            conta_destino=self.conta_destino._native(), valor=money_amount(self.valor),
            codigo_movimento=self.codigo_movimento)


Transaction = Union[BoletoPayment, Ted, InternalTransfer, Pix, PixRefund]


@dataclass(frozen=True)
class Signed:
    """Exact body bytes, their ``hmac`` and the ``IdempotencyKey``. Keep it
    until the transaction settles: every retry sends it unchanged."""

    idempotency_key: str
    body: bytes = field(repr=False)
    hmac: str = field(repr=False)
    headers: List[Tuple[str, str]] = field(repr=False)
    endpoint: Optional[str] = None

    @classmethod
    def _of(cls, s: Any) -> "Signed":
        return cls(s.idempotency_key, s.body, s.hmac, headers_out(s.headers), s.endpoint)


class Signer:
    """Signs BMP request bodies with the shared key (partner side)."""

    def __init__(self, key: str, *, profile: Profile = None, rng_seed: Optional[bytes] = None) -> None:
        self.profile = profile_json(profile)
        with guard:
            self._c = _n.BmpClient(key, self.profile, seed(rng_seed))

    def sign(self, body: Body) -> Signed:
        """Canonicalises and signs a dict or JSON text. The idempotency key is
        the body's root ``idempotencyKey`` when present, else a new UUID v4."""
        with guard:
            return Signed._of(self._c.sign_json(_body_text(body, self.profile)))

    def sign_bytes(self, body: bytes, idempotency_key: str) -> Signed:
        """Signs exact bytes as they are (already canonical)."""
        with guard:
            return Signed._of(self._c.sign_bytes(bytes(body), idempotency_key))

    def sign_transaction(self, tx: Transaction, idempotency_key: Optional[str] = None) -> Signed:
        """Validates and signs a typed transaction (new idempotency key unless given)."""
        with guard:
            return Signed._of(self._c.sign_transaction(tx._native(), idempotency_key))


class Client:
    """Sends signed BMP transactions over ``httpx.Client`` (client certificate
    via ``cert``). Retries transport errors and 5xx up to ``retries`` times
    with the *same* bytes and ``IdempotencyKey``. ``pending`` (a dict-like,
    e.g. shared storage) records each body by idempotency key before it is
    sent, so :func:`confirmation_handler` can find it."""

    def __init__(self, base_url: str, key: str, *, profile: Profile = None, cert: Any = None, verify: Any = True,
                 timeout: float = 30.0, retries: int = 2, backoff: float = 0.5, http: Any = None,
                 transport: Any = None, pending: Optional[MutableMapping[str, bytes]] = None,
                 rng_seed: Optional[bytes] = None, sleep: Callable[[float], None] = time.sleep) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.signer = Signer(key, profile=profile, rng_seed=rng_seed)
        self.pending: MutableMapping[str, bytes] = pending if pending is not None else {}
        self.retries, self.backoff, self._sleep = retries, backoff, sleep
        self._own = http is None
        self.http = http if http is not None else httpx.Client(cert=cert, verify=verify, timeout=timeout,
                                                             transport=transport)
        self.attempts: List[str] = []

    def send(self, tx: Union[Transaction, Signed], endpoint: Optional[str] = None) -> Any:
        """Signs (typed transaction) and posts; returns the ``httpx.Response``."""
        import httpx

        signed = tx if isinstance(tx, Signed) else self.signer.sign_transaction(tx)
        path = endpoint or signed.endpoint
        if path is None:
            raise ValueError("endpoint is required for an untyped body")
        self.pending[signed.idempotency_key] = signed.body
        url = self.base_url + path
        last: Optional[BaseException] = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff * (2 ** (attempt - 1)))
            self.attempts.append(signed.idempotency_key)
            try:
                r = self.http.post(url, headers=signed.headers, content=signed.body)
            except httpx.TransportError as e:
                last = e
                continue
            if r.status_code < 500 or attempt == self.retries:
                return r
        assert last is not None
        raise last

    def close(self) -> None:
        if self._own:
            self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---- confirmation endpoint ------------------------------------------------------


@dataclass(frozen=True)
class Confirmation:
    """The confirmation endpoint's answer: 200 with ``hmac``, or the
    rejection (404/400/409) with a JSON body, the error and the first
    differing path."""

    status: int
    headers: List[Tuple[str, str]]
    body: bytes
    error: Optional[BmpError] = None
    difference: Optional[str] = None

    @property
    def confirmed(self) -> bool:
        return self.error is None


Lookup = Union[Callable[[str], Optional[bytes]], Mapping[str, bytes]]


class _Store(_n.BmpTransactionStore):
    """The lookup, called from the core. A lookup that raises is recorded
    (the confirmation is then answered 500 ``bmp.confirm.internal``, so BMP
    calls again) — never taken for "not found", never shown."""

    def __init__(self, lookup: Lookup) -> None:
        self._lookup = lookup
        self.error: Optional[BaseException] = None

    def original_body(self, idempotency_key: str) -> Optional[bytes]:
        try:
            if isinstance(self._lookup, Mapping):
                v = self._lookup.get(idempotency_key)
            else:
                v = self._lookup(idempotency_key)
            return None if v is None else as_bytes(v, "original body")
        except Exception as e:  # noqa: BLE001 - a failed lookup answers 500, never confirms
            self.error = e
            return None


_INTERNAL = "bmp.confirm.internal"


def internal_error_response() -> Tuple[int, List[Tuple[str, str]], bytes]:
    """The core's 500 for a confirmation that could not be decided (the
    transaction store or the handler failed): ``bmp.confirm.internal`` with
    a fixed message — never an exception's text. BMP calls again."""
    r = _n.bmp_confirm_internal_response()
    return r.status, headers_out(r.headers), r.body


def _internal(error: Optional[BaseException] = None) -> "Confirmation":
    status, headers, body = internal_error_response()
    err = BmpError(_INTERNAL, "the confirmation could not be decided: the transaction store or handler failed "
                              f"({type(error).__name__ if error is not None else 'no answer'})")
    return Confirmation(status, headers, body, err, None)


def confirm(key: str, headers: Headers, raw_body: bytes, lookup: Lookup, *, profile: Profile = None,
            on_store_error: Optional[Callable[[BaseException], Any]] = None) -> Confirmation:
    """Decides BMP's confirmation call from the headers and the *raw* bytes
    received (never re-serialised) and a lookup of the original body by
    idempotency key (a callable or a dict). A lookup that raises is
    answered 500 ``bmp.confirm.internal`` (the core's body) and handed to
    ``on_store_error``."""
    store = _Store(lookup)
    with guard:
        c = _n.bmp_confirm(key, profile_json(profile), headers_in(headers), bytes(raw_body), store)
    if store.error is not None:
        if on_store_error is not None:
            on_store_error(store.error)
        return _internal(store.error)
    err: Optional[BmpError] = None
    if c.error_code is not None:
        if c.error_message is None:
            raise internal_error("bmp_confirm answered an error code without a message")
        err = BmpError(c.error_code, c.error_message)
    return Confirmation(c.status, headers_out(c.headers), c.body, err, c.difference)


ConfirmationHandler = Callable[[Headers, bytes], Tuple[int, List[Tuple[str, str]]]]


def confirmation_handler(key: str, lookup: Lookup, *, profile: Profile = None,
                         on_store_error: Optional[Callable[[BaseException], Any]] = None) -> ConfirmationHandler:
    """A plain function ``(headers, raw_body) -> (status, headers)`` for any web framework."""

    def full(headers: Headers, raw_body: bytes) -> Confirmation:
        return confirm(key, headers, raw_body, lookup, profile=profile, on_store_error=on_store_error)

    def handle(headers: Headers, raw_body: bytes) -> Tuple[int, List[Tuple[str, str]]]:
        c = full(headers, raw_body)
        return c.status, c.headers

    handle.confirm = full  # type: ignore[attr-defined]
    return handle


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
            413: "Payload Too Large", 500: "Internal Server Error"}

#: Default body limit of the WSGI/ASGI helpers: 1 MiB.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _too_large(limit: int) -> Tuple[int, List[Tuple[str, str]], bytes]:
    """The core's 413 (``http.body_too_large``), and the connection closed."""
    r = _n.body_too_large_response(limit)
    return r.status, headers_out(r.headers) + [("Connection", "close")], r.body


def _full(handler: Any, headers: Headers, body: bytes) -> Tuple[int, List[Tuple[str, str]], bytes]:
    """The handler's answer; a handler that raises is answered with the
    core's 500 ``bmp.confirm.internal`` (never the exception's text)."""
    try:
        full = getattr(handler, "confirm", None)
        if full is not None:
            c = full(headers, body)
            return c.status, c.headers, c.body
        status, hs = handler(headers, body)
        return status, list(hs), b""
    except Exception:  # noqa: BLE001 - a failing handler is a 500 BMP retries, its text stays here
        logging.getLogger(__name__).exception("the BMP confirmation handler failed: answered 500")
        return internal_error_response()


def wsgi_app(handler: ConfirmationHandler, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
             ) -> Callable[..., Iterable[bytes]]:
    """A WSGI app serving ``handler`` on POST (any path). A ``Content-Length``
    over ``max_body_bytes`` (default 1 MiB) is answered 413 without reading
    the body; at most ``max_body_bytes + 1`` bytes are ever read."""

    def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            start_response("405 Method Not Allowed", [("Content-Length", "0")])
            return [b""]
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            n = -1
        if n > max_body_bytes or n < 0:
            status, out, content = _too_large(max_body_bytes) if n > 0 else (400, [], b"")
            start_response(f"{status} {_REASONS.get(status, 'Status')}",
                           out + [("Content-Length", str(len(content)))])
            return [content]
        body = environ["wsgi.input"].read(n) if n else b""
        hs: List[Tuple[str, str]] = []
        if environ.get("CONTENT_TYPE"):
            hs.append(("Content-Type", environ["CONTENT_TYPE"]))
        for k, v in environ.items():
            if k.startswith("HTTP_"):
                hs.append((k[5:].replace("_", "-"), v))
        status, out, content = _full(handler, hs, body)
        out = out + [("Content-Length", str(len(content)))]
        start_response(f"{status} {_REASONS.get(status, 'Status')}", out)
        return [content]

    return app


def asgi_app(handler: ConfirmationHandler, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Callable[..., Any]:
    """An ASGI app serving ``handler`` on POST (any path). A body over
    ``max_body_bytes`` (default 1 MiB; declared by ``content-length`` or
    streamed) is answered 413 and not read further."""

    async def app(scope: Dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        chunks: List[bytes] = []
        size = 0
        too_large = False
        for k, v in scope.get("headers", []):
            if k.lower() == b"content-length":
                try:
                    too_large = int(v) > max_body_bytes
                except ValueError:
                    pass
        while not too_large:
            msg = await receive()
            b = msg.get("body", b"")
            size += len(b)
            if size > max_body_bytes:
                too_large = True
                chunks = []
                break
            chunks.append(b)
            if not msg.get("more_body"):
                break
        if too_large:
            status, out, content = _too_large(max_body_bytes)
        elif scope.get("method") != "POST":
            status, out, content = 405, [], b""
        else:
            hs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
            status, out, content = _full(handler, hs, b"".join(chunks))
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in out]
        raw.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": content})

    return app


# ---- BMP side (simulators, mocks) --------------------------------------------


@dataclass(frozen=True)
class Accepted:
    idempotency_key: str
    body: bytes


@dataclass(frozen=True)
class ConfirmationCall:
    method: str
    url: str
    headers: List[Tuple[str, str]]
    body: bytes
    deadline_ms: int
    _native: Any = field(repr=False, compare=False, default=None)


class Server:
    """The BMP side: header/MAC checks (406), the confirmation call, the
    check of the partner's reply. ``transport(partner_http, confirm_url)``
    gives an ``httpx.MockTransport`` playing BMP end to end."""

    def __init__(self, key: str, *, profile: Profile = None) -> None:
        with guard:
            self._s = _n.BmpServer(key, profile_json(profile))

    def check_request(self, headers: Headers, body: bytes) -> Accepted:
        with guard:
            a = self._s.check_request(headers_in(headers), bytes(body))
        return Accepted(a.idempotency_key, a.body)

    def confirmation_request(self, accepted: Accepted, partner_url: str, *, extra_headers: Optional[Headers] = None,
                             dotnet: bool = False) -> ConfirmationCall:
        with guard:
            c = self._s.confirmation_request(_n.BmpAccepted(idempotency_key=accepted.idempotency_key,
                                                            body=accepted.body),
                                             partner_url, headers_in(extra_headers), dotnet)
        r = c.request
        return ConfirmationCall(r.method, r.url, headers_out(r.headers), r.body, c.deadline_ms, c)

    def check_confirmation_reply(self, call: ConfirmationCall, status: int, headers: Headers, body: bytes) -> None:
        with guard:
            self._s.check_confirmation_reply(call._native, _n.HttpResponse(status=status, headers=headers_in(headers),
                                                                           body=bytes(body)))

    def confirmation_timed_out(self, call: ConfirmationCall) -> BmpError:
        # The core's bmp error as its native variant (SeloError.Bmp): code and message.
        e = cast("NativeCodedError", self._s.confirmation_timed_out(call._native))
        return BmpError(e.code, e.message)

    def transport(self, partner_http: Any, confirm_url: str, *, dotnet: bool = False) -> Any:
        """An ``httpx.MockTransport`` that answers like BMP: 406 on any
        refusal, else calls ``confirm_url`` through ``partner_http`` and
        answers 200 once the partner confirmed."""
        import httpx

        def handler(request: "httpx.Request") -> "httpx.Response":
            body = request.read()
            try:
                acc = self.check_request(request.headers.multi_items(), body)
                call = self.confirmation_request(acc, confirm_url, dotnet=dotnet)
                try:
                    r = partner_http.request(call.method, call.url, headers=call.headers, content=call.body,
                                             timeout=call.deadline_ms / 1000)
                except httpx.TimeoutException:
                    raise self.confirmation_timed_out(call) from None
                self.check_confirmation_reply(call, r.status_code, r.headers.multi_items(), r.content)
            except BmpError as e:
                return httpx.Response(e.http_status or 406, json={"code": e.code, "message": e.message})
            return httpx.Response(200, json={"idempotencyKey": acc.idempotency_key, "status": "executed"})

        return httpx.MockTransport(handler)
