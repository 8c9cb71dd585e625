"""Open Finance Brasil signed messages: compact JWS with PS256.

- :func:`sign` / :class:`Signer` — one call; :func:`prepare` +
  :func:`finish` — two phases for keys selo never sees (HSM, KMS);
- :func:`verify` — the seven-stage check of SPEC §3.2, each failure an
  :class:`selo.OfbError` with its own code;
- :class:`Server` — the resource-server role: body in, verified claims or
  the exact OFB error response out (every error body is the core's); one
  verification, then your :class:`JtiStore` records the key and TTL the
  core names (``check → store → finish``);
- :class:`Client` — an httpx driver: signs the request body, reads every
  reply with the core (a signed JWS, verified; an unsigned 2xx is
  ``ofb.client.unsigned``; an unsigned error ``ofb.client.http_status``
  unless you opt in).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from . import _capi
from ._errors import NativeSeloError, OfbError, SeloError, guard, internal_error
from ._native import selo_uniffi as _n
from ._util import dumps, headers_out, loads, loads_object, now_secs, profile_json, seed
from .jwks import AsyncRemoteJwks, JwksFetchError, RemoteJwks
from .keys import JwkSet, PrivateKey, PublicKey

__all__ = [
    "MEDIA_TYPE",
    "Signed",
    "Prepared",
    "Claims",
    "Verified",
    "Response",
    "Decision",
    "sign",
    "prepare",
    "finish",
    "verify",
    "Signer",
    "Verifier",
    "JtiStore",
    "MemoryJtiStore",
    "check_replay",
    "STORE_FAILED",
    "REPLAY_KEY_PREFIX",
    "store_failed_response",
    "body_too_large_response",
    "read_reply",
    "Server",
    "Client",
    "error_response",
    "sign_response",
    "default_profile",
]

MEDIA_TYPE = "application/jwt"

Profile = Union[None, str, Mapping[str, Any]]
Payload = Union[Mapping[str, Any], str]


@dataclass(frozen=True)
class Signed:
    token: str
    jti: str
    iat: int


@dataclass(frozen=True)
class Claims:
    aud: List[str]
    iss: str
    jti: str
    iat: int
    exp: Optional[int]
    nbf: Optional[int]


@dataclass(frozen=True)
class Verified:
    """A verified token: ``payload`` (decimals as ``Decimal``), ``header``, claims, and the key's ``kid``."""

    header: Dict[str, Any]
    payload: Dict[str, Any]
    claims: Claims
    kid: str

    @classmethod
    def _of(cls, v: Any) -> "Verified":
        c = v.claims
        return cls(loads(v.header_json), loads(v.payload_json),
                   Claims(list(c.aud), c.iss, c.jti, c.iat, c.exp, c.nbf), v.kid)


@dataclass(frozen=True)
class Response:
    status: int
    headers: List[Tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return loads(self.body)


def _payload(p: Payload) -> str:
    if isinstance(p, str):
        return p
    return dumps(p)


def _params(kid: str, aud: str, iss: str, exp: Optional[float]) -> Any:
    return _n.OfbSignParams(kid=kid, aud=aud, iss=iss, exp=now_secs(exp) if exp is not None else None)


def default_profile(responses: bool = False) -> Dict[str, Any]:
    with guard:
        return loads_object(_n.ofb_profile_json(None, responses))


def sign(key: PrivateKey, payload: Payload, *, kid: str, aud: str, iss: str, exp: Optional[float] = None,
         profile: Profile = None, now: Optional[float] = None, provider: Optional[str] = None,
         rng_seed: Optional[bytes] = None) -> Signed:
    """Signs ``payload`` (a dict) with PS256; adds ``aud``, ``iss``, ``jti``, ``iat`` (and ``exp``)."""
    with guard:
        s = _n.ofb_sign(key._k, _payload(payload), _params(kid, aud, iss, exp), profile_json(profile),
                        now_secs(now), provider, seed(rng_seed))
    return Signed(s.token, s.jti, s.iat)


class Prepared:
    """Phase one: sign :attr:`signing_input` with RSASSA-PSS-SHA256, salt 32."""

    __slots__ = ("_p",)

    def __init__(self, native: _n.OfbPrepared) -> None:
        self._p = native

    @property
    def signing_input(self) -> bytes:
        return self._p.signing_input()

    @property
    def kid(self) -> str:
        return self._p.kid()

    @property
    def jti(self) -> str:
        return self._p.jti()

    @property
    def iat(self) -> int:
        return self._p.iat()


def prepare(payload: Payload, *, kid: str, aud: str, iss: str, exp: Optional[float] = None,
            profile: Profile = None, now: Optional[float] = None, rng_seed: Optional[bytes] = None) -> Prepared:
    with guard:
        return Prepared(_n.ofb_prepare(_payload(payload), _params(kid, aud, iss, exp), profile_json(profile),
                                       now_secs(now), seed(rng_seed)))


def finish(prepared: Prepared, signature: bytes, public_key: PublicKey, *, provider: Optional[str] = None) -> Signed:
    """Phase two: assembles the token; the signature must verify with ``public_key``."""
    with guard:
        s = _n.ofb_finish(prepared._p, bytes(signature), public_key._k, provider)
    return Signed(s.token, s.jti, s.iat)


def verify(token: Union[str, bytes], jwks: JwkSet, *, aud: str, iss: str, profile: Profile = None,
           responses: bool = False, now: Optional[float] = None, provider: Optional[str] = None) -> Verified:
    """Stages 1–6 of SPEC §3.2 (replay is :func:`check_replay`). ``responses``
    uses the response profile (``typ`` may be absent) when ``profile`` is None."""
    t = token.decode() if isinstance(token, bytes) else token
    p = profile_json(profile)
    if p is None and responses:
        p = _n.ofb_profile_json(None, True)
    with guard:
        return Verified._of(_n.ofb_verify(t.strip(), jwks._k, aud, iss, p, now_secs(now), provider))


class Signer:
    """Signs for one organisation with one key: ``Signer(key, kid, iss).sign(payload, aud)``.
    Key, ``kid``, ``iss``, profile and provider are fixed in a native signer
    once, so each :meth:`sign` is one native call."""

    def __init__(self, key: PrivateKey, kid: str, iss: str, *, profile: Profile = None,
                 provider: Optional[str] = None) -> None:
        self.key, self.kid, self.iss, self.profile, self.provider = key, kid, iss, profile, provider
        with guard:
            self._s = _n.OfbSigner(key._k, kid, iss, profile_json(profile), provider)

    def sign(self, payload: Payload, aud: str, *, exp: Optional[float] = None, now: Optional[float] = None,
             rng_seed: Optional[bytes] = None) -> Signed:
        with guard:
            s = self._s.sign(_payload(payload), aud, now_secs(exp) if exp is not None else None, now_secs(now),
                             seed(rng_seed))
        return Signed(s.token, s.jti, s.iat)


class Verifier:
    """Verifies tokens against one JWK Set: ``Verifier(jwks, aud=..., iss=...).verify(token)``.
    The set, profile, provider and the default ``aud``/``iss`` are fixed in a
    native verifier once, so each :meth:`verify` is one native call that
    reuses the parsed key. :meth:`verify` may override ``aud``/``iss``."""

    def __init__(self, jwks: JwkSet, *, aud: Optional[str] = None, iss: Optional[str] = None,
                 profile: Profile = None, responses: bool = False, provider: Optional[str] = None) -> None:
        p = profile_json(profile)
        with guard:
            if p is None and responses:
                p = _n.ofb_profile_json(None, True)
            fixed = aud is not None and iss is not None
            self._v = _n.OfbVerifier(jwks._k, aud if fixed else None, iss if fixed else None, p, provider)
        self.jwks, self.aud, self.iss = jwks, aud, iss
        # The hot path: with aud/iss fixed and the default provider, each
        # verify is one ctypes call into the C ABI (same core verification,
        # without uniffi's marshalling). See selo/_capi.py.
        self._fast: Optional[_capi.OfbVerify] = None
        if aud is not None and iss is not None and provider in (None, "default", "aws-lc") and _capi.available:
            try:
                self._fast = _capi.OfbVerify(jwks.to_json(), aud, iss, p, loads)
            except ValueError:
                self._fast = None  # e.g. NUL in aud/iss: the uniffi path reports it

    def verify(self, token: Union[str, bytes], *, aud: Optional[str] = None, iss: Optional[str] = None,
               now: Optional[float] = None) -> Verified:
        """Stages 1–6 of SPEC §3.2, as :func:`verify`."""
        if aud is None and iss is None and self._fast is not None:
            b = (token if isinstance(token, bytes) else token.encode("utf-8", "surrogatepass")).strip()
            if b"\x00" not in b:
                d = self._fast.verify(b, now_secs(now))
                c = d["claims"]
                return Verified(d["header"], d["payload"],
                                Claims(list(c["aud"]), c["iss"], c["jti"], c["iat"], c.get("exp"), c.get("nbf")),
                                d["kid"])
        t = token.decode() if isinstance(token, bytes) else token
        if aud is None and iss is None and self.aud is not None and self.iss is not None:
            with guard:
                return Verified._of(self._v.verify(t.strip(), now_secs(now)))
        a = aud if aud is not None else self.aud
        i = iss if iss is not None else self.iss
        if a is None or i is None:
            raise TypeError("Verifier.verify needs aud and iss (here or in the constructor)")
        with guard:
            return Verified._of(self._v.verify_for(t.strip(), a, i, now_secs(now)))


# ---- replay ------------------------------------------------------------------------

#: The replay store's key prefix the core uses by default (SPEC §5).
REPLAY_KEY_PREFIX = "selo:ofb:jti"


class JtiStore:
    """A replay store of your own (Redis, a database) for :class:`Server`.

    The contract is the core's, one for every language (SPEC §5):
    implement :meth:`record` — atomically record ``key`` for ``ttl_seconds``
    and answer exactly ``"fresh"`` (it was not there) or ``"replayed"`` (it
    was). Both come from the core: the key is
    ``<prefix>:<length of client id>:<client id>:<jti>`` (``prefix``:
    :attr:`key_prefix`, default ``selo:ofb:jti``; the ``jti`` lower-case),
    the TTL the token's remaining acceptance window (1 to 86 400 s). Redis:
    ``SET key 1 NX EX ttl`` — ``OK`` is ``"fresh"``, nil (the key existed)
    ``"replayed"``.

    Fail closed: any other answer (``None``, ``True``, ``"OK"`` …) or an
    exception refuses the request with 503 ``ofb.replay.store_failed``,
    whose body never holds the store's text. A :class:`selo.OfbError`
    ``ofb.replay.capacity`` raised by the store is answered 503 with that
    code.

    Stores written for the earlier contract, which override only
    :meth:`check_and_insert` (``True`` fresh, ``False`` replayed), keep
    working; they choose their own key and TTL."""

    #: the key prefix passed to the core (``None``: ``selo:ofb:jti``)
    key_prefix: Optional[str] = None

    def record(self, key: str, ttl_seconds: int) -> str:
        """Records ``key`` for ``ttl_seconds``; ``"fresh"`` or ``"replayed"``."""
        raise NotImplementedError

    def check_and_insert(self, client_id: str, jti: str, now: int) -> bool:
        """The earlier contract: record the pair; ``True`` if it was fresh,
        ``False`` if already seen (used when :meth:`record` is not overridden,
        and by :func:`check_replay`)."""
        raise NotImplementedError


STORE_FAILED = "ofb.replay.store_failed"
_CAPACITY = "ofb.replay.capacity"


def _overrides(store: JtiStore, name: str) -> bool:
    return getattr(type(store), name, None) is not getattr(JtiStore, name)


def _store_answer(store: JtiStore, pending: Any, now: int) -> Tuple[Optional[str], Optional[BaseException]]:
    """Asks ``store`` about a pending request: the answer to hand the core
    (``None`` when it gave none usable) and what went wrong, if anything.
    A store saying it is full raises its ``ofb.replay.capacity`` error."""
    try:
        if _overrides(store, "record") or not _overrides(store, "check_and_insert"):
            v: Any = store.record(pending.store_key(store.key_prefix), int(pending.ttl_seconds(now)))
        else:
            v = store.check_and_insert(pending.client_id(), pending.jti(), now)
            v = "fresh" if v is True else "replayed" if v is False else v
    except SeloError as e:
        if e.code == _CAPACITY:
            raise
        return None, e
    except Exception as e:  # noqa: BLE001 - a store failure must refuse, never pass
        return None, e
    if type(v) is str and v in ("fresh", "replayed"):
        return v, None
    # Never the value itself in a message: a store may put an error text (host:port) in it.
    return None, TypeError(f"the replay store answered {_describe(v)}, not \"fresh\" or \"replayed\"")


def _replay_answer(v: Any) -> Optional[bool]:
    """``True`` fresh, ``False`` replayed, ``None`` for anything else."""
    if v is True or (isinstance(v, str) and v == "fresh"):
        return True
    if v is False or (isinstance(v, str) and v == "replayed"):
        return False
    return None


def _describe(v: Any) -> str:
    # Never the value itself: a store may put an error text (host:port) in it.
    return "None" if v is None else f"a {type(v).__name__}"


class _Adapter(_n.JtiStore):
    """Calls a Python store from Rust (:func:`check_replay`). Anything but a
    fresh/replayed answer is recorded in ``failure`` and raised."""

    def __init__(self, store: JtiStore) -> None:
        self._store = store
        self.failure: Optional[str] = None
        self.error: Optional[BaseException] = None

    def check_and_insert(self, client_id: str, jti: str, now: int) -> bool:
        try:
            v = self._store.check_and_insert(client_id, jti, now)
        except SeloError as e:
            if e.code == _CAPACITY:  # a store may say it is full: 503 ofb.replay.capacity
                raise NativeSeloError.Ofb(e.code, e.message) from None
            self.failure, self.error = "the replay store failed", e
            raise NativeSeloError.Argument("replay store failure") from None
        except Exception as e:  # noqa: BLE001 - a store failure must refuse, never pass
            self.failure, self.error = "the replay store failed", e
            raise NativeSeloError.Argument("replay store failure") from None
        answer = _replay_answer(v)
        if answer is None:
            self.failure = f"the replay store answered {_describe(v)}, not fresh (True) or replayed (False)"
            raise NativeSeloError.Argument("replay store failure") from None
        return answer


def _store_failed(message: str) -> OfbError:
    return OfbError(STORE_FAILED, f"{message}; replay cannot be ruled out")


def store_failed_response(message: str = "the replay store failed") -> "Response":
    """The core's 503 response for a replay store failure (``ofb.replay.store_failed``,
    ``REPLAY_STORE_UNAVAILABLE``). ``message`` goes into its detail: never a
    store's own text."""
    return error_response(STORE_FAILED, f"{message}; replay cannot be ruled out")


def body_too_large_response(limit: int) -> "Response":
    """The core's 413 response for a request body over ``limit`` bytes
    (``http.body_too_large``, ``PAYLOAD_TOO_LARGE``): what a server sends
    when it stops reading."""
    return _response(_n.body_too_large_response(int(limit)))


class MemoryJtiStore(JtiStore):
    """The core's in-memory store: at most ``capacity`` live entries (default
    1,000,000, the core's ``DEFAULT_CAPACITY``), each kept for the acceptance
    window (at most 86 400 s); when full, refuse (503, the default) or
    ``evict_oldest``. :class:`Server` uses it in the core directly (one
    call)."""

    def __init__(self, capacity: Optional[int] = None, *, evict_oldest: bool = False,
                 ttl_seconds: Optional[int] = None) -> None:
        self._native = _n.ofb_memory_jti_store(capacity, evict_oldest, ttl_seconds)

    def check_and_insert(self, client_id: str, jti: str, now: int) -> bool:
        with guard:
            return self._native.check_and_insert(client_id, jti, now)


def _native_store(store: JtiStore) -> Any:
    if isinstance(store, MemoryJtiStore):
        return store._native
    return _Adapter(store)


def check_replay(store: JtiStore, client_id: str, jti: str, now: Optional[float] = None) -> None:
    """Stage 7 on its own (after :func:`verify`), for a :class:`MemoryJtiStore`
    or a store with the earlier ``check_and_insert`` contract: raises
    ``OfbError`` ``ofb.replay.jti`` when ``jti`` was already seen for
    ``client_id``, ``ofb.replay.store_failed`` when the store fails or
    answers neither fresh nor replayed. A store with only :meth:`JtiStore.record`
    needs the core's key and TTL: use :class:`Server`."""
    if not isinstance(store, MemoryJtiStore) and not _overrides(store, "check_and_insert"):
        raise TypeError(f"{type(store).__name__} implements JtiStore.record (the core's key and TTL): "
                        "use ofb.Server, which asks it once per verified request")
    native = _native_store(store)
    try:
        with guard:
            _n.ofb_check_replay(native, client_id, jti, now_secs(now))
    except Exception:
        if isinstance(native, _Adapter) and native.failure is not None:
            raise _store_failed(native.failure) from None
        raise


# ---- server role ------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The resource server's decision: ``verified``, or ``error`` and the ``response`` to send."""

    verified: Optional[Verified]
    error: Optional[OfbError] = field(default=None)
    response: Optional[Response] = field(default=None)

    @property
    def ok(self) -> bool:
        return self.verified is not None


def _response(r: Any) -> Response:
    return Response(r.status, headers_out(r.headers), r.body)


class Server:
    """Verifies signed requests for one resource server (``aud`` = the endpoint
    URL the client signed for, ``iss`` = the expected client organisation).

    ``jwks`` is a :class:`JwkSet`, a :class:`selo.jwks.RemoteJwks` (the set
    for the token's ``kid``, by the core's policy; no usable set → 503
    ``ofb.jwks.unavailable``) or an :class:`selo.jwks.AsyncRemoteJwks`
    (:meth:`adecide` only).

    ``store``: :class:`MemoryJtiStore` (the default; the core verifies and
    checks replay in one call) or your :class:`JtiStore` — the core checks
    the request once (method, content type, size, stages 1–6), your store
    records the key and TTL the core names, and the core decides from its
    answer. ``on_store_error`` receives what went wrong with the store (its
    exception, or a ``TypeError`` naming an unusable answer's type); the
    response never holds it."""

    def __init__(self, jwks: Union[JwkSet, RemoteJwks, AsyncRemoteJwks], *, profile: Profile = None,
                 store: Optional[JtiStore] = None, provider: Optional[str] = None,
                 on_store_error: Optional[Any] = None) -> None:
        self.jwks, self.profile, self.provider = jwks, profile_json(profile), provider
        self.store = store if store is not None else MemoryJtiStore()
        self.on_store_error = on_store_error
        self._memory = self.store._native if isinstance(self.store, MemoryJtiStore) else None

    def decide(self, *, method: str, content_type: Optional[str], body: bytes, aud: str, iss: str,
               client_id: str, now: Optional[float] = None) -> Decision:
        jwks = self.jwks
        if isinstance(jwks, AsyncRemoteJwks):
            raise TypeError("an AsyncRemoteJwks needs `await server.adecide(...)`")
        if isinstance(jwks, RemoteJwks):
            try:
                jwks = jwks.for_token(bytes(body))
            except JwksFetchError as e:
                return _refusal(e)
        return self._decide(jwks, method, content_type, body, aud, iss, client_id, now)

    async def adecide(self, *, method: str, content_type: Optional[str], body: bytes, aud: str, iss: str,
                      client_id: str, now: Optional[float] = None) -> Decision:
        """:meth:`decide` for asyncio servers: awaits an ``AsyncRemoteJwks``
        (the replay store is called synchronously)."""
        jwks = self.jwks
        try:
            if isinstance(jwks, AsyncRemoteJwks):
                jwks = await jwks.for_token(bytes(body))
            elif isinstance(jwks, RemoteJwks):
                jwks = jwks.for_token(bytes(body))
        except JwksFetchError as e:
            return _refusal(e)
        return self._decide(jwks, method, content_type, body, aud, iss, client_id, now)

    def _decide(self, jwks: JwkSet, method: str, content_type: Optional[str], body: bytes, aud: str,
                iss: str, client_id: str, now: Optional[float]) -> Decision:
        n = now_secs(now)
        if self._memory is not None:  # the core's own store: verification and replay in one call
            with guard:
                d = _n.ofb_verify_request(method, content_type, bytes(body), n, jwks._k, aud, iss, client_id,
                                          self.profile, self._memory, self.provider)
            return _decision(d)
        with guard:
            check = _n.ofb_check_request(method, content_type, bytes(body), n, jwks._k, aud, iss, client_id,
                                         self.profile, self.provider)
        if isinstance(check, _n.OfbCheck.REFUSED):
            return _decision(check.decision)
        if not isinstance(check, _n.OfbCheck.PENDING):
            raise internal_error("ofb_check_request answered neither pending nor refused")
        pending = check.pending
        try:
            answer, problem = _store_answer(self.store, pending, n)
        except SeloError as e:  # the store is full: 503 ofb.replay.capacity
            return _refusal(e)
        if problem is not None and self.on_store_error is not None:
            self.on_store_error(problem)
        with guard:
            return _decision(pending.finish(answer))

    def verify_request(self, **kw: Any) -> Verified:
        """Like :meth:`decide`, raising the ``OfbError`` (with ``.response``) on rejection."""
        d = self.decide(**kw)
        if d.verified is not None:
            return d.verified
        if d.error is None:
            raise internal_error("Server.decide answered neither verified claims nor an error")
        raise d.error


def _decision(d: Any) -> Decision:
    """A :class:`Decision` from the core's."""
    if d.verified is not None:
        return Decision(Verified._of(d.verified))
    if d.error_code is None or d.error_message is None or d.response is None:
        raise internal_error("the core answered neither verified claims nor a complete rejection")
    # The core's rejections are ofb::Error values: always an ``ofb.*`` code.
    err = OfbError(d.error_code, d.error_message)
    resp = _response(d.response)
    err.response = resp
    return Decision(None, err, resp)


def _refusal(e: SeloError) -> Decision:
    """A refusal for a core error raised before the request was checked
    (``ofb.jwks.unavailable``, ``ofb.replay.capacity``): the core's response."""
    err = e if isinstance(e, OfbError) else OfbError(e.code, e.message)
    resp = error_response(err.code, err.message)
    err.response = resp
    return Decision(None, err, resp)


def error_response(code: str, message: str) -> Response:
    """The OFB error response the server role sends for an ``ofb.*`` code."""
    with guard:
        return _response(_n.ofb_error_response(code, message))


def sign_response(status: int, key: PrivateKey, payload: Payload, *, kid: str, aud: str, iss: str,
                  exp: Optional[float] = None, profile: Profile = None, now: Optional[float] = None,
                  provider: Optional[str] = None, rng_seed: Optional[bytes] = None) -> Response:
    """A signed response (``application/jwt``) for the server role."""
    with guard:
        return _response(_n.ofb_sign_response(status, key._k, _payload(payload), _params(kid, aud, iss, exp),
                                              profile_json(profile), now_secs(now), provider, seed(rng_seed)))


# ---- client role -----------------------------------------------------------------


def read_reply(status: int, content_type: Optional[str], body: bytes, *,
               allow_unsigned_errors: bool = False) -> Optional[str]:
    """The core's reading of a reply to a signed request: the compact JWS to
    verify (its media type is ``application/jwt`` or it has the compact
    form), or ``None`` for an unsigned non-2xx returned only because
    ``allow_unsigned_errors`` (unverified). An unsigned 2xx raises
    ``ofb.client.unsigned`` — never passed off as verified; an unsigned
    non-2xx raises ``ofb.client.http_status`` unless you opted in."""
    with guard:
        r = _n.ofb_read_reply(int(status), content_type, bytes(body), bool(allow_unsigned_errors))
    return r.token if isinstance(r, _n.OfbReply.JWS) else None


class Client:
    """Sends signed OFB requests over ``httpx.Client`` and verifies the signed
    responses. ``org_id`` is our organisation (``iss`` of requests, ``aud``
    of responses); ``server_org_id`` and ``server_jwks`` identify the server.

    Every reply goes through :func:`read_reply`: a signed one is verified
    (``(status, verified)``), an unsigned 2xx raises ``ofb.client.unsigned``,
    an unsigned error raises ``ofb.client.http_status`` — unless
    ``allow_unsigned_errors=True`` (here or per request), which returns it
    as ``(status, None)``: unverified (the httpx response is in
    :attr:`last_response`)."""

    def __init__(self, signer: Signer, *, server_jwks: JwkSet, server_org_id: str, cert: Any = None,
                 verify: Any = True, timeout: float = 30.0, http: Any = None, transport: Any = None,
                 response_profile: Profile = None, clock: Any = None, allow_unsigned_errors: bool = False) -> None:
        import httpx

        self.signer, self.server_jwks, self.server_org_id = signer, server_jwks, server_org_id
        self.response_profile = response_profile
        self.allow_unsigned_errors = allow_unsigned_errors
        self._own = http is None
        self.http = http if http is not None else httpx.Client(cert=cert, verify=verify, timeout=timeout,
                                                             transport=transport)
        self._clock = clock
        self._verifier = Verifier(server_jwks, aud=signer.iss, iss=server_org_id, profile=response_profile,
                                  responses=True)
        #: the httpx response to the last request (an unverified error's body is there)
        self.last_response: Any = None

    def _now(self) -> Optional[float]:
        return self._clock() if self._clock is not None else None

    def request(self, method: str, url: str, payload: Optional[Payload] = None,
                headers: Optional[Mapping[str, str]] = None, *,
                allow_unsigned_errors: Optional[bool] = None) -> Tuple[int, Optional[Verified]]:
        """Signs ``payload`` for ``url`` (POST/PUT/PATCH), sends it, and reads
        the reply (see the class). Returns ``(status, verified)``;
        ``verified`` is ``None`` only for an unsigned error you opted in to."""
        h = dict(headers or {})
        content = None
        if payload is not None:
            h["content-type"] = MEDIA_TYPE
            content = self.signer.sign(payload, aud=url, now=self._now()).token.encode()
        r = self.http.request(method, url, headers=h, content=content)
        self.last_response = r
        allow = self.allow_unsigned_errors if allow_unsigned_errors is None else allow_unsigned_errors
        token = read_reply(r.status_code, r.headers.get("content-type"), r.content, allow_unsigned_errors=allow)
        if token is None:
            return r.status_code, None
        return r.status_code, self._verifier.verify(token, now=self._now())

    def post(self, url: str, payload: Payload, **kw: Any) -> Tuple[int, Optional[Verified]]:
        return self.request("POST", url, payload, **kw)

    def close(self) -> None:
        if self._own:
            self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
