"""Banco Safra PSD: the client session (the core's state machine), the
httpx drivers that run it, the bank role, and the building blocks.

The drivers decide nothing: every byte and every next step comes from the
core's ``prepare_next`` / ``handle_response`` loop; they only move bytes
over HTTP (with client certificates) and read the clock.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from ._errors import SafraBusinessError, SafraError, SeloError, guard
from ._native import selo_uniffi as _n
from ._util import Headers, as_bytes, dumps, headers_in, headers_out, loads, loads_object, now_secs, profile_json, seed, \
    to_cents
from .keys import PrivateKey, PublicKey

__all__ = [
    "Client",
    "AsyncClient",
    "Session",
    "Operation",
    "Outcome",
    "Prepared",
    "Unresolved",
    "TRANSPORT_FAILURES",
    "transport_failure",
    "Response",
    "Token",
    "Status",
    "DocumentoReply",
    "BoletoReply",
    "HandshakeResult",
    "BusinessErrorReply",
    "Bank",
    "Fault",
    "StoredBoleto",
    "Envelopes",
    "Opened",
    "AgreedKey",
    "default_profile",
    "boleto_json",
    "parse_boleto_reply",
    "seal_with_iv",
    "open_envelope",
    "envelope_header_b64",
    "wrap_body",
    "unwrap_body",
    "json_body",
    "stage1_jwk",
    "parse_stage1_reply",
    "stage2_parametros",
    "parse_stage2_reply",
    "token_schedule",
    "token_claims",
    "is_key_expired",
    "HOMOLOGATION",
    "PRODUCTION",
]

HOMOLOGATION = "homologation"
PRODUCTION = "production"

Profile = Union[None, str, Mapping[str, Any]]
Clock = Callable[[], float]

# ---- typed results -------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """A psd005/psd007 token and its renewal schedule (Unix seconds, local clock)."""

    token: str = field(repr=False)
    exp: int
    iat: int
    lifetime: int
    received_at: int
    renew_at: int
    expires_at: int

    @classmethod
    def _of(cls, t: Any) -> "Token":
        return cls(t.token, t.exp, t.iat, t.lifetime, t.received_at, t.renew_at, t.expires_at)


@dataclass(frozen=True)
class Status:
    """``statusProcessamento``. ``codigo`` is ``None`` when the bank sent
    none (or one that is not a number): absent, never ``0``."""

    codigo: Optional[int]
    mensagem: str


@dataclass(frozen=True)
class DocumentoReply:
    """The reply ``documento`` (Tables 2 and 4)."""

    nosso_numero: Optional[str]
    seu_numero: Optional[str]
    codigo_barras: Optional[str]
    registrado_cip: Optional[str]


@dataclass(frozen=True)
class BoletoReply:
    """A psd050 (register) or psd052 (query) reply; ``raw`` is the whole opened JSON.

    ``reconciled`` is true when a register operation ended with the bank's
    psd052 answer instead of its psd050 answer: the psd050 outcome was
    ambiguous (a 5xx, a lost reply, a timeout) and the session found the
    boleto registered. ``iv_reused`` is true when the reply's IV had been
    seen before (only possible with ``reject_reused_iv: false``)."""

    status: Optional[Status]
    documento: Optional[DocumentoReply]
    raw: Dict[str, Any] = field(repr=False)
    reconciled: bool = False
    iv_reused: bool = False

    @classmethod
    def _of(cls, r: Any) -> "BoletoReply":
        d = r.documento
        return cls(
            Status(r.status.codigo, r.status.mensagem) if r.status is not None else None,
            DocumentoReply(d.nosso_numero, d.seu_numero, d.codigo_barras, d.registrado_cip) if d is not None else None,
            loads(r.raw_json),
            bool(r.reconciled),
            bool(r.iv_reused),
        )


@dataclass(frozen=True)
class HandshakeResult:
    """The handshake agreed a key with this padding and signature message."""

    padding: str
    signature_message: str


@dataclass(frozen=True)
class BusinessErrorReply:
    """HTTP 550: the bank refused for a business reason."""

    status: Optional[Status]
    body: Any


Reply = Union[HandshakeResult, Token, BoletoReply, BusinessErrorReply]


def _reply(r: Any) -> Reply:
    if r.is_KEY_AGREED():
        return HandshakeResult(r.padding, r.signature_message)
    if r.is_AUTHENTICATED() or r.is_RENEWED():
        return Token._of(r.token)
    if r.is_BOLETO_REGISTERED() or r.is_BOLETO_QUERIED():
        return BoletoReply._of(r.reply)
    st = r.status
    return BusinessErrorReply(Status(st.codigo, st.mensagem) if st is not None else None, loads(r.body_json))


_ACTIONS = {
    _n.SafraNextAction.REHANDSHAKE: "rehandshake",
    _n.SafraNextAction.REAUTHENTICATE: "reauthenticate",
    _n.SafraNextAction.RENEW: "renew",
    _n.SafraNextAction.RETRY: "retry",
    _n.SafraNextAction.RECONCILE: "reconcile",
}

_STATES = {
    _n.SafraState.NEW: "new",
    _n.SafraState.KEYS_SENT: "keys-sent",
    _n.SafraState.KEY_AGREED: "key-agreed",
    _n.SafraState.AUTHENTICATED: "authenticated",
}


@dataclass(frozen=True)
class Outcome:
    """What the session decided about a response: go round again (``done``
    false; ``action`` names a recovery: ``"rehandshake"``,
    ``"reauthenticate"``, ``"renew"``, ``"retry"``, ``"reconcile"`` — the
    next request is a psd052 query for a boleto whose psd050 outcome is
    unknown) or finished with ``reply``."""

    done: bool
    action: Optional[str] = None
    reply: Optional[Reply] = None


def _outcome(o: Any) -> Outcome:
    if o.is_CONTINUE():
        return Outcome(False, _ACTIONS[o.action] if o.action is not None else None)
    return Outcome(True, None, _reply(o.reply))


TRANSPORT_FAILURES = ("connect", "timeout", "reset", "other")


@dataclass(frozen=True)
class Unresolved:
    """A boleto whose psd050 outcome is unknown (SPEC §2.8): the bank may or
    may not have registered it. The session keeps it — across operations
    and through :meth:`Session.export` / :meth:`Session.load` — until a
    psd052 answers for it; any later register of it starts with that psd052
    query, never with a second psd050.

    ``nosso_numero`` and ``seu_numero`` name the boleto; ``since`` is when
    its outcome became unknown (Unix seconds, the ``now`` of that report)."""

    nosso_numero: int
    seu_numero: str
    since: int


@dataclass(frozen=True)
class Prepared:
    """A request to send byte for byte; hand its response back with ``id``
    (or report with :meth:`Session.handle_transport_error` that none came).
    ``resendable`` is false for a request that must never be sent twice
    (psd050): the session decides what follows a failure, not the host."""

    id: int
    method: str
    url: str
    headers: List[Tuple[str, str]]
    body: bytes = field(repr=False)
    resendable: bool = True


@dataclass(frozen=True)
class Response:
    """An HTTP response (from the bank role)."""

    status: int
    headers: List[Tuple[str, str]]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return None


# ---- operations ------------------------------------------------------------------

_MONEY_PATHS = (("documento", "valor"), ("documento", "desconto", "valor"))


def _boleto_text(boleto: Union[str, bytes, Mapping[str, Any]]) -> str:
    """The psd050 message as JSON text. Amounts (``documento.valor``,
    ``documento.desconto.valor``) may be ``int`` cents (the wire unit),
    ``Decimal`` or ``str`` reais; ``float`` raises ``TypeError``."""
    if isinstance(boleto, (str, bytes)):
        return boleto.decode() if isinstance(boleto, bytes) else boleto
    if not isinstance(boleto, Mapping):
        raise TypeError(f"boleto must be a dict or JSON text, not {type(boleto).__name__}")
    doc = _copy(boleto)
    for path in _MONEY_PATHS:
        parent: Any = doc
        for k in path[:-1]:
            parent = parent.get(k) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and path[-1] in parent and parent[path[-1]] is not None:
            parent[path[-1]] = to_cents(parent[path[-1]], ".".join(path))
    return dumps(doc)


def _copy(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_copy(x) for x in v]
    return v


class Operation:
    """What to run: ``Operation.authenticate()``, ``.register_boleto(dict)``, …"""

    __slots__ = ("_op", "kind")

    def __init__(self, native: Any, kind: str) -> None:
        self._op = native
        self.kind = kind

    @classmethod
    def handshake(cls) -> "Operation":
        return cls(_n.SafraOperation.HANDSHAKE(), "handshake")

    @classmethod
    def authenticate(cls) -> "Operation":
        return cls(_n.SafraOperation.AUTHENTICATE(), "authenticate")

    @classmethod
    def renew(cls) -> "Operation":
        return cls(_n.SafraOperation.RENEW(), "renew")

    @classmethod
    def register_boleto(cls, boleto: Union[str, bytes, Mapping[str, Any]]) -> "Operation":
        text = _boleto_text(boleto)
        with guard:
            _n.safra_boleto_json(text)  # validate now: errors name the field path
        return cls(_n.SafraOperation.REGISTER_BOLETO(boleto_json=text), "register_boleto")

    @classmethod
    def query_boleto(cls, nosso_numero: Union[str, int], seu_numero: str) -> "Operation":
        return cls(_n.SafraOperation.QUERY_BOLETO(nosso_numero=str(nosso_numero), seu_numero=str(seu_numero)),
                   "query_boleto")

    def __repr__(self) -> str:
        return f"Operation.{self.kind}()"


def _prepared(request_id: int, r: Any) -> Prepared:
    return Prepared(request_id, r.method, r.url, headers_out(r.headers), r.body, bool(r.resendable))


# ---- session ------------------------------------------------------------------


class Session:
    """The Safra PSD client state machine. No I/O: ``prepare`` says what to
    send, ``handle`` takes what came back. See :class:`Client` for a driver.

    ``rng_seed`` (32 bytes) makes every random choice deterministic — for
    tests and vectors only. ``provider``: ``"default"``, ``"rustcrypto"``
    or ``"aws-lc"``.
    """

    __slots__ = ("_s",)

    def __init__(
        self,
        base_url: str,
        cliente: str,
        *,
        profile: Profile = None,
        client_key: Optional[PrivateKey] = None,
        rng_seed: Optional[bytes] = None,
        provider: Optional[str] = None,
        _native: Optional[_n.SafraSession] = None,
    ) -> None:
        self._s: _n.SafraSession
        if _native is not None:
            self._s = _native
            return
        with guard:
            self._s = _n.SafraSession(
                base_url,
                cliente,
                profile_json(profile),
                client_key._k if client_key is not None else None,
                seed(rng_seed),
                provider,
            )

    @classmethod
    def load(cls, blob: bytes, *, rng_seed: Optional[bytes] = None, provider: Optional[str] = None) -> "Session":
        """A session exported by :meth:`export` (another process may continue it)."""
        with guard:
            return cls("", "", _native=_n.SafraSession._import(bytes(blob), seed(rng_seed), provider))

    def export(self) -> bytes:
        """The session as bytes, keys included: encrypt it at rest."""
        with guard:
            return self._s.export()

    def prepare(self, op: Operation, now: Optional[float] = None) -> Prepared:
        """The next request of ``op``: one operation at a time (see
        :meth:`begin` and :meth:`next` to run many at once)."""
        with guard:
            p = self._s.prepare_next(op._op, now_secs(now))
        return _prepared(p.id, p.request)

    # -- many operations at once (SPEC §5) ---------------------------------

    def begin(self, op: Operation) -> int:
        """Begins ``op`` beside any others in progress and returns its
        operation id; drive it with :meth:`next`. It ends with its reply, an
        error, or :meth:`cancel`. Raises ``safra.session.busy`` past
        :meth:`set_max_in_flight` operations, and ``safra.boleto.in_flight``
        when another operation is registering the same ``nossoNumero``."""
        with guard:
            return int(self._s.begin(op._op))

    def next(self, op_id: int, now: Optional[float] = None) -> Optional[Prepared]:
        """What operation ``op_id`` needs next at ``now``: a request to send
        (hand its response back with :meth:`handle`), or ``None`` — wait:
        another operation's transition (handshake, psd005, psd007) is in
        flight; call ``next`` again once the session handled a response,
        and give up after your request timeout (:meth:`cancel`)."""
        n: Any  # SafraNext.SEND's members are attached at run time
        with guard:
            n = self._s.next(op_id, now_secs(now))
        if n.is_WAIT():
            return None
        return _prepared(n.id, n.request)

    def cancel(self, op_id: int) -> bool:
        """Ends operation ``op_id`` without a reply; ``False`` if it had
        already ended. The responses of its requests in flight are then
        unknown to the session; a psd050 of it in flight joins
        :meth:`unresolved_registrations` (the next register of that boleto
        starts with psd052)."""
        return bool(self._s.cancel(op_id))

    def in_flight(self) -> int:
        """How many operations are in progress (begun, not ended)."""
        return int(self._s.in_flight())

    def transition_in_flight(self) -> bool:
        """True while a handshake stage, psd005 or psd007 is in flight."""
        return bool(self._s.transition_in_flight())

    def generation(self) -> int:
        """Counts the changes of credentials (handshake, authentication,
        renewal, discard after a failure)."""
        return int(self._s.generation())

    def set_max_in_flight(self, n: int) -> None:
        """How many operations may run at once (default 256)."""
        if n < 0:
            raise ValueError(f"max in flight must be >= 0, found {n}")
        self._s.set_max_in_flight(n)

    def export_credentials(self) -> bytes:
        """The credentials business calls need (session id, AES key, token,
        workId) for another instance's :meth:`adopt_credentials`. A secret:
        seal it before it leaves the process. ``safra.session.not_ready``
        before a key is agreed."""
        with guard:
            return bytes(self._s.export_credentials())

    def adopt_credentials(self, credentials: bytes) -> None:
        """Takes over credentials :meth:`export_credentials` made elsewhere
        (``safra.session.bad_snapshot`` for another bank URL or client)."""
        with guard:
            self._s.adopt_credentials(bytes(credentials))

    def set_shared(self, shared: bool) -> None:
        """Shares this session with other instances (SPEC §5; done by
        ``Client(..., shared=...)``): from now on a handshake, psd005 or
        psd007 runs only while the fleet's lease is held; an operation that
        needs one without it gets ``None`` from :meth:`next` and
        :meth:`wants_lease` turns true."""
        self._s.set_shared(bool(shared))

    def wants_lease(self) -> bool:
        """True when an operation of a shared session met a transition it
        may not run without the fleet's lease (or a renewal fell due): take
        the lease, or adopt what another instance published."""
        return bool(self._s.wants_lease())

    def is_transition(self, request_id: int) -> bool:
        """True when request ``request_id`` (in flight) is a handshake
        stage, psd005 or psd007."""
        return bool(self._s.is_transition(request_id))

    def handle(self, request_id: int, status: int, headers: Headers, body: bytes,
               now: Optional[float] = None) -> Outcome:
        resp = _n.HttpResponse(status=status, headers=headers_in(headers), body=bytes(body))
        with guard:
            o = self._s.handle_response(request_id, resp, now_secs(now))
        return _outcome(o)

    def handle_transport_error(self, request_id: int, failure: str, now: Optional[float] = None) -> Outcome:
        """Reports that request ``request_id`` got no response. ``failure``:
        ``"connect"`` (never sent), ``"timeout"``, ``"reset"`` or ``"other"``
        (see :data:`TRANSPORT_FAILURES`). Answers like :meth:`handle`: go
        round again (``"retry"``; ``"reconcile"`` after an ambiguous psd050)
        or raises, e.g. ``safra.boleto.outcome_unknown``."""
        if failure not in TRANSPORT_FAILURES:
            raise ValueError(f"unknown transport failure {failure!r}; expected one of {list(TRANSPORT_FAILURES)}")
        with guard:
            o = self._s.handle_transport_error(request_id, failure, now_secs(now))
        return _outcome(o)

    def unresolved_registrations(self) -> List[Unresolved]:
        """The boletos whose psd050 outcome is unknown, oldest first
        (SPEC §2.8). A register of any of them starts with a psd052 query
        (found: the reply is marked ``reconciled``; not found: psd050 is sent
        once); while that query fails, the register raises
        ``safra.boleto.outcome_unknown`` and the boleto stays here. The set
        is bounded (1,024): past it the oldest is dropped and named in the
        error that reports the new one."""
        return [Unresolved(int(u.nosso_numero), u.seu_numero, int(u.since))
                for u in self._s.unresolved_registrations()]

    def resolve_registration(self, nosso_numero: Union[int, str]) -> bool:
        """Forgets the unresolved registration of ``nosso_numero`` once you
        have learnt its outcome from the bank by other means; ``True`` if it
        was unresolved. After this a register of it sends psd050 directly:
        call it only when the bank does not have the boleto, or when it will
        never be registered again."""
        n = int(nosso_numero)
        if n < 0:
            raise ValueError(f"nossoNumero must be >= 0, found {n}")
        with guard:
            return self._s.resolve_registration(n)

    @property
    def state(self) -> str:
        """``"new"``, ``"keys-sent"``, ``"key-agreed"`` or ``"authenticated"``."""
        return _STATES[self._s.state()]

    @property
    def session_id(self) -> str:
        return self._s.session_id()

    @property
    def work_id(self) -> Optional[str]:
        return self._s.work_id()

    @property
    def token(self) -> Optional[Token]:
        t = self._s.token()
        return Token._of(t) if t is not None else None

    def next_action(self, now: Optional[float] = None) -> Optional[str]:
        with guard:
            a = self._s.next_action(now_secs(now))
        return _ACTIONS[a] if a is not None else None

    @property
    def padding_winner(self) -> Optional[str]:
        return self._s.padding_winner()

    @property
    def signature_winner(self) -> Optional[str]:
        return self._s.signature_winner()

    def session_key(self) -> Optional[bytes]:
        """The agreed AES key (a secret; for debugging captured traffic)."""
        return self._s.session_key()

    @property
    def profile(self) -> Dict[str, Any]:
        return loads_object(self._s.profile_json())

    def __repr__(self) -> str:
        return f"Session(state={self.state!r}, session_id={self.session_id!r})"


def default_profile() -> Dict[str, Any]:
    """The default Safra profile (SPEC §2) as a dict."""
    with guard:
        return loads_object(_n.safra_profile_json(None))


# ---- drivers ----------------------------------------------------------------------


def _finish(reply: Reply) -> Reply:
    if isinstance(reply, BusinessErrorReply):
        raise SafraBusinessError(reply.status, reply.body)
    return reply


def _clock_default() -> float:
    return time.time()


def transport_failure(exc: BaseException) -> str:
    """The kind of an httpx transport failure, as
    :meth:`Session.handle_transport_error` takes it: ``"connect"`` (the
    request was never sent: ``ConnectError``, ``ConnectTimeout``),
    ``"timeout"`` (``ReadTimeout``, ``WriteTimeout``, ``PoolTimeout``),
    ``"reset"`` (``RemoteProtocolError``, ``ReadError``: the connection
    closed without a reply) or ``"other"`` (any other error: it may have
    been sent)."""
    import httpx

    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return "connect"
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
        return "timeout"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return "reset"
    return "other"


_UNSET: Any = object()
DEFAULT_TIMEOUT = 30.0


def _client_timeout(timeout: Any) -> Any:
    return DEFAULT_TIMEOUT if timeout is _UNSET else timeout


def _request_timeout(timeout: Any) -> Any:
    """The per-request timeout: an explicit one always; else the httpx
    client's own (ours was built with the default, a given one keeps its)."""
    import httpx

    return httpx.USE_CLIENT_DEFAULT if timeout is _UNSET else timeout


_KEEP_TRANSPORT_ERRORS = 64


def _wait_seconds(timeout: Any, http: Any) -> Optional[float]:
    """How long an operation waits for another's transition (handshake,
    psd005, psd007) before giving up: the request timeout — a number of
    seconds, the longest phase of an ``httpx.Timeout``, the httpx client's
    own for ``USE_CLIENT_DEFAULT``; ``None`` (no timeout) waits as long as
    it takes."""
    import httpx

    if timeout is httpx.USE_CLIENT_DEFAULT:
        timeout = getattr(http, "timeout", None)
    if timeout is None:
        return None
    if isinstance(timeout, httpx.Timeout):
        phases = [x for x in (timeout.connect, timeout.read, timeout.write, timeout.pool) if x is not None]
        return max(phases) if phases else None
    return float(timeout)


def _not_ready(waited: Optional[float]) -> SafraError:
    return SafraError(
        "safra.session.not_ready",
        f"waited {waited} s (the request timeout) for another operation's handshake, authentication or "
        "renewal, and no response was handled meanwhile: this operation was cancelled",
    )


def _attach(shared: Any, session: Session, *, asynchronous: bool) -> None:
    """Marks ``session`` shared through ``shared`` (one share per client)."""
    if bool(getattr(shared, "asynchronous", False)) != asynchronous:
        want = "selo.redis.AsyncSafraShare" if asynchronous else "selo.redis.SafraShare"
        raise TypeError(f"shared: expected a {want} for this client, found {type(shared).__name__}")
    shared.attach(session)


class _ClientBase:
    def __init__(self, base_url: str, cliente: str, profile: Profile, client_key: Optional[PrivateKey],
                 session: Optional[Session], clock: Optional[Clock], rng_seed: Optional[bytes],
                 provider: Optional[str]) -> None:
        self.session = session if session is not None else Session(
            base_url, cliente, profile=profile, client_key=client_key, rng_seed=rng_seed, provider=provider)
        self._clock = clock or _clock_default
        #: the share of the session with other instances (``shared=``), or ``None``
        self.shared: Any = None
        self.recoveries: List[str] = []
        #: httpx exceptions reported to the session, as (kind, exception),
        #: oldest first (the latest 64).
        self.transport_errors: List[Tuple[str, BaseException]] = []

    # Every method below calls into the session: the driver holds its lock
    # around each (never around an HTTP call).

    def _answered(self, p: Prepared, r: Any) -> Optional[Reply]:
        """Hands the session the httpx response to ``p``; the reply if it
        ended the operation, ``None`` to go round again."""
        return self._went(self.session.handle(p.id, r.status_code, r.headers.multi_items(), r.content, self._clock()))

    def _transport_error(self, p: Prepared, exc: BaseException) -> Optional[Reply]:
        """Reports a failed send to the session; the reply if it ended the
        operation, ``None`` to go round again. Raises the session's error,
        chained to ``exc``."""
        kind = transport_failure(exc)
        self.transport_errors.append((kind, exc))
        del self.transport_errors[:-_KEEP_TRANSPORT_ERRORS]  # exceptions hold frames: keep the latest only
        try:
            out = self.session.handle_transport_error(p.id, kind, self._clock())
        except SeloError as e:
            raise e from exc
        return self._went(out)

    def _next(self, op_id: int, last: Optional[BaseException]) -> Optional[Prepared]:
        """The next request of operation ``op_id`` (``None``: wait); an
        error (``too_many_recoveries``) is chained to the transport failure
        that led to it, if one did."""
        try:
            return self.session.next(op_id, self._clock())
        except SeloError as e:
            if last is None:
                raise
            raise e from last

    def _went(self, out: Outcome) -> Optional[Reply]:
        if out.done:
            return out.reply
        if out.action is not None:
            self.recoveries.append(out.action)
        return None


class Client(_ClientBase):
    """Synchronous Safra PSD client over ``httpx.Client``.

    Every call runs the core's loop: handshake and authentication happen on
    first use, the token is renewed when due, a key expiry (500 +
    ``amc-criptografia: erro``) re-handshakes and HTTP 480 re-initialises,
    within the profile's ``max_recoveries``.

    ``cert`` and ``verify`` go to httpx (client certificate and CA bundle).
    ``http`` replaces the whole httpx client (e.g. with a ``MockTransport``).
    ``timeout`` (seconds, or an ``httpx.Timeout``) applies to each request;
    ``run(op, timeout=...)`` overrides it for one operation.
    HTTP 550 raises :class:`selo.SafraBusinessError`.

    Failures: every httpx transport error is reported to the session
    (:func:`transport_failure` names its kind), which decides — resend a
    request that may be resent, reconcile an ambiguous psd050 with a psd052
    query (the reply then has ``reconciled=True``), or raise a
    :class:`selo.SafraError` (``safra.boleto.outcome_unknown`` names the
    ``nossoNumero`` whose registration is unknown — the session keeps it in
    :meth:`Session.unresolved_registrations`, and registering it again
    starts with psd052; ``safra.session.too_many_recoveries``) chained to
    the httpx error. The driver keeps no list of services of its own.
    """

    def __init__(self, base_url: str, cliente: str, *, profile: Profile = None, cert: Any = None,
                 verify: Any = True, timeout: Any = _UNSET, client_key: Optional[PrivateKey] = None,
                 http: Any = None, transport: Any = None, session: Optional[Session] = None,
                 clock: Optional[Clock] = None, rng_seed: Optional[bytes] = None,
                 provider: Optional[str] = None, shared: Any = None) -> None:
        import httpx

        super().__init__(base_url, cliente, profile, client_key, session, clock, rng_seed, provider)
        self._own_http = http is None
        self.timeout: Any = _request_timeout(timeout)
        # Shared with other instances (a selo.redis.SafraShare): one thread
        # at a time takes the fleet's lease (`_leasing`), the others wait.
        self._leasing = False
        if shared is not None:
            _attach(shared, self.session, asynchronous=False)
            self.shared = shared
        self.http = http if http is not None else httpx.Client(cert=cert, verify=verify, timeout=_client_timeout(timeout),
                                                             transport=transport)
        self._lock = threading.Lock()
        # Notified after every response (or transport failure) the session
        # handled and every cancel: operations waiting for another's
        # transition ask the session again.
        self._changed = threading.Condition(self._lock)

    def run(self, op: Operation, *, timeout: Any = _UNSET) -> Reply:
        """Runs one operation to its end and returns the core's reply.
        ``timeout`` (seconds or ``httpx.Timeout``) replaces the client's
        for each request of this operation.

        Any number of threads may call it at once: the session is locked
        only while it is called, never during an HTTP call, so psd050 and
        psd052 calls run side by side while a handshake, psd005 or psd007
        runs once for all (the others wait for it, each at most the request
        timeout between two handled responses, then raise
        ``safra.session.not_ready``). An exception while a request is in
        flight (``KeyboardInterrupt``, a bug in a custom transport) cancels
        the operation: a psd050 in flight joins
        :meth:`Session.unresolved_registrations`."""
        import httpx

        t = self.timeout if timeout is _UNSET else timeout
        wait = _wait_seconds(t, self.http)
        sh = self.shared
        with self._lock:
            op_id = self.session.begin(op)
        try:
            if sh is not None and not sh.holds_lease:
                # Shared: every call starts from the fleet's newest record
                # (and fails closed, shared.store_unavailable, without it).
                if sh.read_record(self.session) == "adopted":
                    with self._changed:
                        self._changed.notify_all()
            last: Optional[BaseException] = None  # the transport failure behind the last recovery
            while True:
                take = False
                p: Optional[Prepared] = None
                with self._changed:
                    while True:
                        if sh is not None and self._lease_wanted():
                            self._leasing = take = True  # this thread takes it; the others wait
                            break
                        p = self._next(op_id, last)
                        if p is not None:
                            break
                        if sh is not None and self._lease_wanted():
                            continue
                        if not self._changed.wait(wait):
                            raise _not_ready(wait)
                if take:
                    try:
                        sh.take_lease(self.session)
                    finally:
                        with self._changed:
                            self._leasing = False
                            self._changed.notify_all()
                    continue
                assert p is not None
                transition = sh is not None and self.session.is_transition(p.id)
                try:
                    r = self.http.request(p.method, p.url, headers=p.headers, content=p.body, timeout=t)
                except httpx.TransportError as e:
                    with self._changed:
                        try:
                            last, reply = e, self._transport_error(p, e)
                        finally:
                            self._changed.notify_all()
                else:
                    with self._changed:
                        try:
                            last, reply = None, self._answered(p, r)
                        finally:
                            self._changed.notify_all()
                if transition:
                    self._after_transition()
                if reply is not None:
                    return reply
        except BaseException:
            # Ended already (a reply or the session's error) or not: the
            # session forgets it; a psd050 in flight stays a promise.
            with self._changed:
                self.session.cancel(op_id)
                self._changed.notify_all()
            if sh is not None:
                # A failed operation gives the lease up (SPEC §5): one that
                # still needs it takes it again.
                self._release_if_idle(after_error=True)
            raise
        finally:
            if sh is not None:
                self._release_if_idle()

    def _lease_wanted(self) -> bool:
        """Shared, under the lock: the session needs the fleet's lease, no
        thread of this client holds or is taking it."""
        return self.session.wants_lease() and not self._leasing and not self.shared.holds_lease

    def _after_transition(self) -> None:
        """Shared: after a transition's response, publish the credentials
        when the session finished its transitions (then release the lease)."""
        sh = self.shared
        if sh.holds_lease and sh.ready_to_publish(self.session):
            try:
                sh.publish_if_ready(self.session)
            finally:
                with self._changed:
                    self._changed.notify_all()

    def _release_if_idle(self, after_error: bool = False) -> None:
        """Shared: no operation in flight (or, ``after_error``, one failed)
        and the lease held with no transition running under it — publish
        what is ready, else give the lease up. A store failure here is
        counted (``shared.stats()``) and dropped: the calls it served have
        ended (or fail with their own error)."""
        sh = self.shared
        with self._changed:
            if (not sh.holds_lease or self._leasing or (self.session.in_flight() > 0 and not after_error)
                    or self.session.transition_in_flight()):
                return
            self._leasing = True
            ready = sh.ready_to_publish(self.session)
            call = None if ready else sh.release_call(self.session)  # transitions stop now
        try:
            if ready:
                sh.publish_if_ready(self.session)
            elif call is not None:
                sh.finish_release(call)
        except Exception:  # noqa: BLE001 - counted by the share; no call is waiting for it
            pass
        finally:
            with self._changed:
                self._leasing = False
                self._changed.notify_all()

    def handshake(self) -> HandshakeResult:
        return _finish(self.run(Operation.handshake()))  # type: ignore[return-value]

    def authenticate(self) -> Token:
        return _finish(self.run(Operation.authenticate()))  # type: ignore[return-value]

    def renew(self) -> Token:
        return _finish(self.run(Operation.renew()))  # type: ignore[return-value]

    def register_boleto(self, boleto: Union[str, bytes, Mapping[str, Any]]) -> BoletoReply:
        """psd050. Amounts: ``int`` cents, ``Decimal`` or ``str`` reais."""
        return _finish(self.run(Operation.register_boleto(boleto)))  # type: ignore[return-value]

    def query_boleto(self, nosso_numero: Union[str, int], seu_numero: str) -> BoletoReply:
        """psd052."""
        return _finish(self.run(Operation.query_boleto(nosso_numero, seu_numero)))  # type: ignore[return-value]

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncClient(_ClientBase):
    """The same as :class:`Client` over ``httpx.AsyncClient``. Any number
    of tasks may run operations on one client at once (``asyncio.gather``):
    their HTTP calls overlap, a handshake, psd005 or psd007 runs once for
    all. Use it from one event loop."""

    def __init__(self, base_url: str, cliente: str, *, profile: Profile = None, cert: Any = None,
                 verify: Any = True, timeout: Any = _UNSET, client_key: Optional[PrivateKey] = None,
                 http: Any = None, transport: Any = None, session: Optional[Session] = None,
                 clock: Optional[Clock] = None, rng_seed: Optional[bytes] = None,
                 provider: Optional[str] = None, shared: Any = None) -> None:
        import httpx

        super().__init__(base_url, cliente, profile, client_key, session, clock, rng_seed, provider)
        self._own_http = http is None
        self.timeout: Any = _request_timeout(timeout)
        # Shared (a selo.redis.AsyncSafraShare): the task taking the fleet's
        # lease, one at a time; operations that need it await it.
        self._lease_task: "Optional[asyncio.Task[Any]]" = None
        self._idle_task: "Optional[asyncio.Task[Any]]" = None
        if shared is not None:
            _attach(shared, self.session, asynchronous=True)
            self.shared = shared
        self.http = http if http is not None else httpx.AsyncClient(cert=cert, verify=verify,
                                                                  timeout=_client_timeout(timeout),
                                                                  transport=transport)
        # Set after every response (or transport failure) the session
        # handled and every cancel, then replaced: operations waiting for
        # another's transition ask the session again. Calls into the
        # session never await, so within the event loop each is atomic.
        self._changed: Optional[asyncio.Event] = None

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        ev, self._changed = self._changed, None
        if ev is not None:
            ev.set()

    async def run(self, op: Operation, *, timeout: Any = _UNSET) -> Reply:
        """Runs one operation to its end (see :meth:`Client.run`). A task
        cancelled (``asyncio.CancelledError``) or any exception while a
        request is in flight cancels the operation: a psd050 in flight
        joins :meth:`Session.unresolved_registrations`, and the next
        register of that boleto starts with psd052."""
        import httpx

        t = self.timeout if timeout is _UNSET else timeout
        wait = _wait_seconds(t, self.http)
        sh = self.shared
        op_id = self.session.begin(op)
        try:
            if sh is not None and not sh.holds_lease:
                # Shared: every call starts from the fleet's newest record
                # (and fails closed, shared.store_unavailable, without it).
                if await sh.read_record(self.session) == "adopted":
                    self._notify()
            last: Optional[BaseException] = None  # the transport failure behind the last recovery
            while True:
                changed = self._event()  # taken before asking: no notification is missed
                self._lease_if_wanted()
                p = self._next(op_id, last)
                while p is None:
                    self._lease_if_wanted()
                    task = self._lease_task
                    try:
                        if task is not None:
                            # the lease task's error (store, lease timeout) is this call's too
                            await asyncio.wait_for(asyncio.shield(task), wait)
                        else:
                            await asyncio.wait_for(changed.wait(), wait)
                    except asyncio.TimeoutError:
                        raise _not_ready(wait) from None
                    changed = self._event()
                    self._lease_if_wanted()
                    p = self._next(op_id, last)
                transition = sh is not None and self.session.is_transition(p.id)
                try:
                    r = await self.http.request(p.method, p.url, headers=p.headers, content=p.body, timeout=t)
                except httpx.TransportError as e:
                    try:
                        last, reply = e, self._transport_error(p, e)
                    finally:
                        self._notify()
                else:
                    try:
                        last, reply = None, self._answered(p, r)
                    finally:
                        self._notify()
                if transition and sh.holds_lease and sh.ready_to_publish(self.session):
                    try:
                        await sh.publish_if_ready(self.session)
                    finally:
                        self._notify()
                if reply is not None:
                    return reply
        except BaseException:
            # Ended already (a reply or the session's error) or not: the
            # session forgets it; a psd050 in flight stays a promise.
            self.session.cancel(op_id)
            self._notify()
            if sh is not None:
                self._release_if_idle(after_error=True)
            raise
        finally:
            if sh is not None:
                self._release_if_idle()

    def _lease_if_wanted(self) -> None:
        """Shared: the session needs the fleet's lease and no task of this
        client holds or is taking it — start the one task that takes it."""
        sh = self.shared
        if (sh is None or self._lease_task is not None or self._idle_task is not None or sh.holds_lease
                or not self.session.wants_lease()):
            return
        task = asyncio.ensure_future(sh.take_lease(self.session))
        self._lease_task = task

        def done(tk: "asyncio.Task[Any]") -> None:
            if self._lease_task is tk:
                self._lease_task = None
            if not tk.cancelled():
                tk.exception()  # seen by the calls awaiting it; retrieved here for the others
            self._notify()
            self._release_if_idle()

        task.add_done_callback(done)

    def _release_if_idle(self, after_error: bool = False) -> None:
        """Shared: no operation in flight (or, ``after_error``, one failed)
        and the lease held with no transition running under it — publish
        what is ready, else give the lease up (in a task; a store failure
        is counted by the share)."""
        sh = self.shared
        if (sh is None or not sh.holds_lease or self._lease_task is not None or self._idle_task is not None
                or (self.session.in_flight() > 0 and not after_error) or self.session.transition_in_flight()):
            return
        ready = sh.ready_to_publish(self.session)
        call = None if ready else sh.release_call(self.session)  # transitions stop now

        async def finish() -> None:
            try:
                if ready:
                    await sh.publish_if_ready(self.session)
                elif call is not None:
                    await sh.finish_release(call)
            except Exception:  # noqa: BLE001 - counted by the share; no call is waiting for it
                pass

        task = asyncio.ensure_future(finish())
        self._idle_task = task

        def done(tk: "asyncio.Task[Any]") -> None:
            if self._idle_task is tk:
                self._idle_task = None
            self._notify()

        task.add_done_callback(done)

    async def handshake(self) -> HandshakeResult:
        return _finish(await self.run(Operation.handshake()))  # type: ignore[return-value]

    async def authenticate(self) -> Token:
        return _finish(await self.run(Operation.authenticate()))  # type: ignore[return-value]

    async def renew(self) -> Token:
        return _finish(await self.run(Operation.renew()))  # type: ignore[return-value]

    async def register_boleto(self, boleto: Union[str, bytes, Mapping[str, Any]]) -> BoletoReply:
        return _finish(await self.run(Operation.register_boleto(boleto)))  # type: ignore[return-value]

    async def query_boleto(self, nosso_numero: Union[str, int], seu_numero: str) -> BoletoReply:
        return _finish(await self.run(Operation.query_boleto(nosso_numero, seu_numero)))  # type: ignore[return-value]

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


# ---- bank role ----------------------------------------------------------------------


class Fault:
    """One-shot misbehaviours of :class:`Bank` for its next non-handshake call."""

    EXPIRE_KEY = "expire-key"
    ANSWER_480 = "480"
    ANSWER_550 = "550"


_FAULTS = {
    Fault.EXPIRE_KEY: _n.SafraFault.EXPIRE_KEY,
    Fault.ANSWER_480: _n.SafraFault.ANSWER480,
    Fault.ANSWER_550: _n.SafraFault.ANSWER550,
}


@dataclass(frozen=True)
class StoredBoleto:
    request: Dict[str, Any]
    nosso_numero: str
    codigo_barras: str


class Bank:
    """The PSD bank role (the core's): pure data in and out. For mocks,
    simulators and tests; :meth:`transport` plugs it into httpx."""

    __slots__ = ("_b", "clock")

    def __init__(self, bank_key: PrivateKey, *, token_lifetime: int = 600, profile: Profile = None,
                 rng_seed: Optional[bytes] = None, provider: Optional[str] = None,
                 clock: Optional[Clock] = None) -> None:
        with guard:
            self._b = _n.SafraBank(bank_key._k, token_lifetime, profile_json(profile), seed(rng_seed), provider)
        self.clock = clock or _clock_default

    def handle(self, path: str, headers: Headers, body: bytes, now: Optional[float] = None) -> Response:
        with guard:
            r = self._b.handle(path, headers_in(headers), bytes(body), now_secs(now))
        return Response(r.status, headers_out(r.headers), r.body)

    def inject(self, fault: str) -> None:
        """``Fault.EXPIRE_KEY``, ``Fault.ANSWER_480`` or ``Fault.ANSWER_550``."""
        try:
            f = _FAULTS[fault]
        except KeyError:
            raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(_FAULTS)}") from None
        self._b.inject(f)

    def public_key(self) -> PublicKey:
        return PublicKey(self._b.public_key())

    def boletos(self) -> List[StoredBoleto]:
        return [StoredBoleto(loads(b.request_json), b.nosso_numero, b.codigo_barras) for b in self._b.boletos()]

    def session_key(self, session_id: str) -> Optional[bytes]:
        return self._b.session_key(session_id)

    def transport(self) -> Any:
        """An ``httpx.MockTransport`` answering from this bank (sync and async clients)."""
        import httpx

        def handler(request: "httpx.Request") -> "httpx.Response":
            r = self.handle(request.url.path, request.headers.multi_items(), request.read(), self.clock())
            return httpx.Response(r.status, headers=r.headers, content=r.body)

        return httpx.MockTransport(handler)


# ---- building blocks ------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    iv: bytes
    plaintext: bytes = field(repr=False)
    reused_iv: bool


class Envelopes:
    """Envelopes under one AES-256 key with the session's IV rules: sealing
    never repeats an IV; opening refuses (``reject_reused_iv``) or flags an
    IV already seen."""

    __slots__ = ("_e",)

    def __init__(self, key: bytes, *, reject_reused_iv: bool = True, rng_seed: Optional[bytes] = None) -> None:
        with guard:
            self._e = _n.SafraEnvelopes(bytes(key), reject_reused_iv, seed(rng_seed))

    def seal(self, plaintext: Union[bytes, str]) -> str:
        return self._e.seal(as_bytes(plaintext, "plaintext"))

    def open(self, envelope: str) -> Opened:
        """Opens; the plaintext must be UTF-8 JSON."""
        with guard:
            o = self._e.open(envelope)
        return Opened(o.iv, o.plaintext, o.reused_iv)

    @property
    def seen(self) -> int:
        return self._e.seen()


def seal_with_iv(key: bytes, iv: bytes, plaintext: Union[bytes, str]) -> str:
    """An envelope with an explicit 16-byte IV (vectors, interop only)."""
    with guard:
        return _n.safra_seal_with_iv(bytes(key), bytes(iv), as_bytes(plaintext, "plaintext"))


def open_envelope(key: bytes, envelope: str) -> Opened:
    """Opens an envelope without IV bookkeeping and without requiring JSON."""
    with guard:
        o = _n.safra_open_envelope(bytes(key), envelope)
    return Opened(o.iv, o.plaintext, o.reused_iv)


def envelope_header_b64() -> str:
    return _n.safra_envelope_header_b64()


def wrap_body(envelope: str) -> bytes:
    return _n.safra_wrap_body(envelope)


def unwrap_body(body: bytes) -> str:
    with guard:
        return _n.safra_unwrap_body(bytes(body))


def json_body(member: str, value: str) -> bytes:
    return _n.safra_json_body(member, value)


def stage1_jwk(client_key: PrivateKey, session_id: str, key_format: str = "der-spki", *,
               provider: Optional[str] = None) -> str:
    with guard:
        return _n.safra_stage1_jwk(client_key._k, session_id, key_format, provider)


def parse_stage1_reply(body: bytes) -> PublicKey:
    with guard:
        return PublicKey(_n.safra_parse_stage1_reply(bytes(body)))


def stage2_parametros(bank_key: PublicKey, client_key: PrivateKey, session_id: str, padding: str = "pkcs1v15", *,
                      provider: Optional[str] = None, rng_seed: Optional[bytes] = None) -> str:
    with guard:
        return _n.safra_stage2_parametros(bank_key._k, client_key._k, session_id, padding, provider, seed(rng_seed))


@dataclass(frozen=True)
class AgreedKey:
    key: bytes = field(repr=False)
    padding: str
    signature_message: str


def parse_stage2_reply(body: bytes, client_key: PrivateKey, bank_key: PublicKey, *,
                       paddings: Tuple[str, ...] = ("auto",), signature_messages: Tuple[str, ...] = ("auto",),
                       provider: Optional[str] = None) -> AgreedKey:
    with guard:
        a = _n.safra_parse_stage2_reply(bytes(body), client_key._k, bank_key._k, list(paddings),
                                        list(signature_messages), provider)
    return AgreedKey(a.key, a.padding, a.signature_message)


def token_schedule(token: str, t0: float, profile: Profile = None) -> Token:
    with guard:
        return Token._of(_n.safra_token_schedule(token, now_secs(t0), profile_json(profile)))


def token_claims(token: str) -> Dict[str, Any]:
    """A JWT's payload, unverified (the bank publishes no key)."""
    with guard:
        return loads_object(_n.safra_token_claims(token))


def boleto_json(boleto: Union[str, bytes, Mapping[str, Any]]) -> Dict[str, Any]:
    """Validates a psd050 message (errors name the field path) and returns it as the core sends it."""
    text = _boleto_text(boleto)
    with guard:
        return loads_object(_n.safra_boleto_json(text))


def parse_boleto_reply(reply: Union[str, bytes, Mapping[str, Any]]) -> BoletoReply:
    text = reply if isinstance(reply, str) else reply.decode() if isinstance(reply, bytes) else dumps(reply)
    with guard:
        return BoletoReply._of(_n.safra_boleto_reply(text))


def is_key_expired(status: int, headers: Headers) -> bool:
    return _n.safra_is_key_expired(status, headers_in(headers))
