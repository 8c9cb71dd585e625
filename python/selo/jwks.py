"""A remote JWK Set (SPEC §3.3a): the core's policy, httpx's GET.

Every decision comes from the core's sans-I/O ``JwksCache``: for each token
to verify it says *use* the set it holds (and maybe refresh it in the
background), *fetch* it now (one fetch at a time), *wait* for the fetch in
flight, or refuse with ``ofb.jwks.unavailable`` (503). The policy, in
seconds here (the core's defaults):

- a set is reused for ``max_age`` (600 s), then refreshed in the
  background: a token whose ``kid`` is in the set **never waits**;
- a token whose ``kid`` the set lacks fetches only when no fetch started
  within the ``cooldown`` (30 s), the first fetch included (a cold start,
  a background refresh or a fetch for a kid), whatever ``kid``s attackers
  choose; concurrent misses share the fetch in flight and verify against
  the set it brings (no second fetch for their kids);
- after a failed fetch none starts before an exponential backoff
  (``backoff_initial`` 1 s, doubling, at most ``backoff_max`` 300 s);
- while fetches fail, the last good set keeps serving for ``stale_grace``
  (24 h) after it went stale (stale-if-error); then ``ofb.jwks.unavailable``;
- ``https`` only, unless the host is loopback or ``allow_http``
  (``ofb.jwks.url`` at construction).

What Python does is the GET the core asks for: no redirect followed
(``follow_redirects=False``; a 3xx is the core's "redirects are not
followed"), the body streamed and dropped past ``max_bytes`` (512 KiB,
``"too-large"``), one deadline for the whole fetch, connect to last byte
(``timeout``, 5 s: ``"timeout"``), network failures ``"network"``, TLS or
client refusals ``"refused"``. A complete response goes to the core as
status and bytes; the core parses it (keys that do not parse are skipped
and reported in :attr:`RemoteJwks.skipped`). No lock is held during the
HTTP call; a fetch in flight is shared (threads wait on an event, tasks on
an ``asyncio.Event``).

``clock`` (monotonic seconds) is injectable for tests; fetch deadlines
always run on the real monotonic clock.

    jwks = RemoteJwks("https://keystore.directory.openbankingbrasil.org.br/<org>/<software>/application.jwks")
    server = selo.ofb.Server(jwks, store=...)          # fetched as tokens arrive
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple, Union

from ._errors import OfbError, SeloError, guard
from ._native import selo_uniffi as _n
from ._util import dumps
from .keys import JwkSet

__all__ = ["RemoteJwks", "AsyncRemoteJwks", "JwksFetchError", "JwksStats", "SkippedKey", "FETCH_FAILURES"]

#: How a fetch can end without a complete response (the core's kinds).
FETCH_FAILURES = ("timeout", "network", "too-large", "refused")

Token = Union[str, bytes, None]


class JwksFetchError(OfbError):
    """The remote JWK Set could not be used. ``code`` is the core's:
    ``ofb.jwks.unavailable`` (no usable set: HTTP 503; ``ofb.Server``
    answers it) or ``ofb.jwks.fetch`` (a fetch failed; the message is the
    core's). ``kind`` is how the last fetch failed: ``"timeout"``,
    ``"network"``, ``"too-large"``, ``"refused"``, ``"response"`` (a complete
    answer the core refused: a status other than 200, a redirect, not a JWK
    Set), or ``None`` when no fetch failed."""

    def __init__(self, code: str, message: str, kind: Optional[str] = None) -> None:
        super().__init__(code, message)
        self.kind = kind


@dataclass(frozen=True)
class SkippedKey:
    """A key of the fetched set that did not parse: its position, kid, why."""

    index: int
    kid: Optional[str]
    error: str


@dataclass(frozen=True)
class JwksStats:
    """The core's counters: fetches started, fetches failed, decisions
    refused (``ofb.jwks.unavailable``), failures since the last good fetch."""

    fetches: int
    failures: int
    refused: int
    consecutive_failures: int


_Outcome = Tuple[str, Any, Any]  # ("fetched", status, body) | ("failed", kind, detail)

#: Fetches one call may perform before it gives up (only a policy with a
#: zero backoff would ask for more).
_MAX_FETCHES_PER_CALL = 3

_HEADERS = {"accept": "application/json", "accept-encoding": "identity"}


def _policy_json(policy: Optional[Mapping[str, Any]], timeout: Optional[float], max_age: Optional[float],
                 cooldown: Optional[float], backoff_initial: Optional[float], backoff_max: Optional[float],
                 stale_grace: Optional[float], max_bytes: Optional[int], allow_http: Optional[bool]) -> Optional[str]:
    """The core's policy JSON (milliseconds): ``policy`` (the core's member
    names) with the keyword arguments (seconds) over it."""
    p: Dict[str, Any] = dict(policy or {})
    for name, secs in (("timeout_ms", timeout), ("max_age_ms", max_age), ("cooldown_ms", cooldown),
                       ("backoff_initial_ms", backoff_initial), ("backoff_max_ms", backoff_max),
                       ("stale_grace_ms", stale_grace)):
        if secs is not None:
            if isinstance(secs, bool) or not isinstance(secs, (int, float)) or secs < 0:
                raise ValueError(f"{name[:-3]} must be seconds >= 0, found {secs!r}")
            p[name] = int(round(secs * 1000))
    if max_bytes is not None:
        p["max_bytes"] = max_bytes
    if allow_http is not None:
        p["allow_http"] = allow_http
    return dumps(p) if p else None


def _token_text(token: Token) -> Optional[str]:
    if token is None:
        return None
    if isinstance(token, (bytes, bytearray, memoryview)):
        try:
            return bytes(token).decode("utf-8").strip()
        except UnicodeDecodeError:
            return None  # no readable kid; verification refuses the token
    return token.strip()


def _classify(e: BaseException) -> str:
    """The core's failure kind for an exception of the HTTP client."""
    import httpx

    if isinstance(e, httpx.TimeoutException):
        return "timeout"
    seen: Set[int] = set()
    c: Optional[BaseException] = e
    while c is not None and id(c) not in seen:  # a TLS refusal hides in the chain
        if isinstance(c, ssl.SSLError):
            return "refused"
        seen.add(id(c))
        c = c.__cause__ or c.__context__
    if isinstance(e, (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL, httpx.ProxyError)):
        return "refused"
    return "network"


class _Flight:
    """A fetch in flight: its ticket, its real-time deadline, and the event
    its waiters wait on."""

    __slots__ = ("id", "deadline", "done", "error", "event", "timer")

    def __init__(self, ticket_id: int, deadline: float, event: Any) -> None:
        self.id = ticket_id
        self.deadline = deadline  # time.monotonic()
        self.done = False
        self.error: Optional[JwksFetchError] = None
        self.event = event
        self.timer: Any = None


class _Base:
    def __init__(self, url: str, *, policy: Optional[Mapping[str, Any]], timeout: Optional[float],
                 max_age: Optional[float], cooldown: Optional[float], backoff_initial: Optional[float],
                 backoff_max: Optional[float], stale_grace: Optional[float], max_bytes: Optional[int],
                 allow_http: Optional[bool], clock: Optional[Callable[[], float]],
                 on_skipped_key: Optional[Callable[[SkippedKey], Any]],
                 on_fetch_error: Optional[Callable[[JwksFetchError], Any]]) -> None:
        with guard:
            self._c = _n.JwksCache(url, _policy_json(policy, timeout, max_age, cooldown, backoff_initial,
                                                     backoff_max, stale_grace, max_bytes, allow_http))
        self.url = url
        self._clock = clock or time.monotonic
        self._on_skipped = on_skipped_key
        self._on_fetch_error = on_fetch_error
        #: the error of the last failed fetch (``None`` after a good one)
        self.last_error: Optional[JwksFetchError] = None

    # ---- what the core says ----

    def _now_ms(self) -> int:
        return max(0, int(self._clock() * 1000))

    @property
    def timeout(self) -> float:
        """The deadline of a whole fetch, seconds."""
        return self._c.timeout_ms() / 1000

    @property
    def max_bytes(self) -> int:
        return self._c.max_bytes()

    @property
    def stats(self) -> JwksStats:
        s = self._c.stats()
        return JwksStats(int(s.fetches), int(s.failures), int(s.refused), int(s.consecutive_failures))

    @property
    def fetches(self) -> int:
        """Fetches started so far."""
        return int(self._c.stats().fetches)

    @property
    def skipped(self) -> List[SkippedKey]:
        """Keys of the current set that did not parse (skipped, the others kept)."""
        return [SkippedKey(int(k.index), k.kid, k.error) for k in self._c.skipped()]

    def has_kid(self, kid: str) -> bool:
        """True when the current set has a key with this ``kid``."""
        return self._c.has_kid(kid)

    def _decide(self, token: Optional[str]) -> Any:
        try:
            with guard:
                return self._c.decide(self._now_ms(), token)
        except SeloError as e:
            last = self.last_error
            raise JwksFetchError(e.code, e.message, last.kind if last is not None else None) from last

    def _set(self) -> JwkSet:
        with guard:
            return JwkSet(self._c.jwks())

    def _record(self, ticket_id: int, outcome: _Outcome) -> Tuple[Optional[JwksFetchError], List[SkippedKey]]:
        """Hands a fetch's end to the core: the error it recorded, or the keys skipped."""
        now = self._now_ms()
        try:
            with guard:
                if outcome[0] == "fetched":
                    skipped = self._c.fetched(ticket_id, now, int(outcome[1]), bytes(outcome[2]))
                    return None, [SkippedKey(int(k.index), k.kid, k.error) for k in skipped]
                message = self._c.failed(ticket_id, now, str(outcome[1]), outcome[2])
            return JwksFetchError("ofb.jwks.fetch", message, str(outcome[1])), []
        except SeloError as e:  # a complete answer the core refused (status, redirect, not a JWK Set)
            return JwksFetchError(e.code, e.message, "response"), []

    def _announce(self, error: Optional[JwksFetchError], skipped: List[SkippedKey]) -> None:
        """Callbacks, outside any lock."""
        if error is not None and self._on_fetch_error is not None:
            self._on_fetch_error(error)
        if error is None and self._on_skipped is not None:
            for k in skipped:
                self._on_skipped(k)

    @staticmethod
    def _too_large_declared(headers: Any, max_bytes: int) -> bool:
        n = headers.get("content-length")
        try:
            return n is not None and int(n) > max_bytes
        except ValueError:
            return False


def _timeout(remaining: float) -> Any:
    """httpx timeouts for one operation, each bounded by the fetch's remaining time."""
    import httpx

    r = max(remaining, 0.001)
    return httpx.Timeout(r, connect=r, read=r, write=r, pool=r)


class RemoteJwks(_Base):
    """A remote JWK Set over ``httpx.Client`` (thread-safe).

    Policy keyword arguments are seconds (``timeout``, ``max_age``,
    ``cooldown``, ``backoff_initial``, ``backoff_max``, ``stale_grace``),
    ``max_bytes`` and ``allow_http``; ``policy`` takes the core's JSON policy
    as a dict (``{"max_age_ms": 600000, ...}``) under them. ``http``
    replaces the httpx client (redirects are refused per request anyway).
    ``on_skipped_key`` sees each key of a new set that did not parse,
    ``on_fetch_error`` each failed fetch (also in :attr:`last_error`)."""

    def __init__(self, url: str, *, timeout: Optional[float] = None, max_age: Optional[float] = None,
                 cooldown: Optional[float] = None, backoff_initial: Optional[float] = None,
                 backoff_max: Optional[float] = None, stale_grace: Optional[float] = None,
                 max_bytes: Optional[int] = None, allow_http: Optional[bool] = None,
                 policy: Optional[Mapping[str, Any]] = None, clock: Optional[Callable[[], float]] = None,
                 http: Any = None, transport: Any = None, verify: Any = True, cert: Any = None,
                 on_skipped_key: Optional[Callable[[SkippedKey], Any]] = None,
                 on_fetch_error: Optional[Callable[[JwksFetchError], Any]] = None) -> None:
        import httpx

        super().__init__(url, policy=policy, timeout=timeout, max_age=max_age, cooldown=cooldown,
                         backoff_initial=backoff_initial, backoff_max=backoff_max, stale_grace=stale_grace,
                         max_bytes=max_bytes, allow_http=allow_http, clock=clock, on_skipped_key=on_skipped_key,
                         on_fetch_error=on_fetch_error)
        self._own = http is None
        self.http = http if http is not None else httpx.Client(transport=transport, verify=verify, cert=cert,
                                                             follow_redirects=False)
        # Guards the core's decision together with the flight it starts:
        # held for core calls only, never during the HTTP call.
        self._lock = threading.Lock()
        self._flight: Optional[_Flight] = None

    def for_token(self, token: Token) -> JwkSet:
        """The set to verify ``token`` with (its ``kid`` is read by the core).
        A known ``kid`` never waits (an old set is refreshed in the
        background); an unknown one fetches only when no fetch started within
        the cooldown (the first fetch included), or waits for the fetch in
        flight. Raises :class:`JwksFetchError`
        (``ofb.jwks.unavailable``) when no set can be used."""
        t = _token_text(token)
        fetched = 0
        give_up = time.monotonic() + 2 * self.timeout + 2.0
        while True:
            with self._lock:
                d = self._decide(t)
                if d.is_USE():
                    s = self._set()
                    f = self._start_locked(d.refresh) if d.refresh is not None else None
                elif d.is_FETCH():
                    fetched += 1
                    f = self._start_locked(d.ticket)
                else:
                    f = self._flight
            if d.is_USE():
                if f is not None:
                    self._launch(d.refresh, f)  # in the background: this request does not wait
                return s
            if d.is_FETCH():
                self._launch(d.ticket, f)
            left = give_up - time.monotonic()
            if f is None:  # cannot happen (the flight is registered with its decision): decide again
                time.sleep(0.01)
            else:
                f.event.wait(max(0.0, min(left, f.deadline - time.monotonic() + 0.5)))
                if d.is_FETCH() and f.error is not None and fetched >= _MAX_FETCHES_PER_CALL:
                    raise f.error
            if left <= 0:
                raise JwksFetchError("ofb.jwks.unavailable",
                                     f"JWKS {self.url}: the fetch in flight did not end within "
                                     f"{2 * self.timeout + 2.0:g} s", "timeout")

    def _start_locked(self, ticket: Any) -> _Flight:
        f = _Flight(int(ticket.id), time.monotonic() + int(ticket.timeout_ms) / 1000, threading.Event())
        self._flight = f
        return f

    def _launch(self, ticket: Any, f: Optional[_Flight]) -> None:
        """Runs the fetch in a thread; a timer ends it at its deadline."""
        if f is None:
            return
        threading.Thread(target=self._run, args=(ticket, f), name="selo-jwks-fetch", daemon=True).start()
        timer = threading.Timer(max(0.0, f.deadline - time.monotonic()), self._finish,
                                args=(f, ("failed", "timeout", None)))
        timer.daemon = True
        f.timer = timer
        timer.start()

    def _run(self, ticket: Any, f: _Flight) -> None:
        try:
            outcome = self._get(ticket, f)
        except BaseException as e:  # noqa: BLE001 - any failure of the GET is reported, never lost
            outcome = ("failed", _classify(e), type(e).__name__)
        self._finish(f, outcome)

    def _get(self, ticket: Any, f: _Flight) -> _Outcome:
        max_bytes = int(ticket.max_bytes)
        left = f.deadline - time.monotonic()
        if left <= 0:
            return ("failed", "timeout", None)
        with self.http.stream("GET", ticket.url, headers=_HEADERS, timeout=_timeout(left),
                              follow_redirects=False) as r:
            if self._too_large_declared(r.headers, max_bytes):
                return ("failed", "too-large", None)
            body = bytearray()
            for chunk in r.iter_raw():
                body += chunk
                if len(body) > max_bytes:
                    return ("failed", "too-large", None)
                if time.monotonic() >= f.deadline or f.done:
                    return ("failed", "timeout", None)
            if time.monotonic() >= f.deadline:
                return ("failed", "timeout", None)
            return ("fetched", r.status_code, bytes(body))

    def _finish(self, f: _Flight, outcome: _Outcome) -> None:
        """The first end of a flight (its fetch, or its deadline) is the one the core hears."""
        with self._lock:
            if f.done:
                return
            f.done = True
            error, skipped = self._record(f.id, outcome)
            f.error = error
            self.last_error = error
            if self._flight is f:
                self._flight = None
            timer, f.timer = f.timer, None
        if timer is not None:
            timer.cancel()
        f.event.set()
        self._announce(error, skipped)

    def close(self) -> None:
        if self._own:
            self.http.close()

    def __enter__(self) -> "RemoteJwks":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncRemoteJwks(_Base):
    """A remote JWK Set over ``httpx.AsyncClient`` (one event loop); the
    same arguments as :class:`RemoteJwks`."""

    def __init__(self, url: str, *, timeout: Optional[float] = None, max_age: Optional[float] = None,
                 cooldown: Optional[float] = None, backoff_initial: Optional[float] = None,
                 backoff_max: Optional[float] = None, stale_grace: Optional[float] = None,
                 max_bytes: Optional[int] = None, allow_http: Optional[bool] = None,
                 policy: Optional[Mapping[str, Any]] = None, clock: Optional[Callable[[], float]] = None,
                 http: Any = None, transport: Any = None, verify: Any = True, cert: Any = None,
                 on_skipped_key: Optional[Callable[[SkippedKey], Any]] = None,
                 on_fetch_error: Optional[Callable[[JwksFetchError], Any]] = None) -> None:
        import httpx

        super().__init__(url, policy=policy, timeout=timeout, max_age=max_age, cooldown=cooldown,
                         backoff_initial=backoff_initial, backoff_max=backoff_max, stale_grace=stale_grace,
                         max_bytes=max_bytes, allow_http=allow_http, clock=clock, on_skipped_key=on_skipped_key,
                         on_fetch_error=on_fetch_error)
        self._own = http is None
        self.http = http if http is not None else httpx.AsyncClient(transport=transport, verify=verify, cert=cert,
                                                                  follow_redirects=False)
        self._flight: Optional[_Flight] = None
        self._tasks: Set["asyncio.Task[None]"] = set()  # background fetches, kept alive

    async def for_token(self, token: Token) -> JwkSet:
        """As :meth:`RemoteJwks.for_token`; concurrent misses await one fetch."""
        t = _token_text(token)
        fetched = 0
        give_up = time.monotonic() + 2 * self.timeout + 2.0
        while True:
            # No await between the decision and the flight it registers.
            d = self._decide(t)
            if d.is_USE():
                if d.refresh is not None:
                    self._launch(d.refresh)  # in the background: this request does not wait
                return self._set()
            if d.is_FETCH():
                fetched += 1
                f: Optional[_Flight] = self._launch(d.ticket)
            else:
                f = self._flight
            left = give_up - time.monotonic()
            if f is None:
                await asyncio.sleep(0.01)
            else:
                try:
                    await asyncio.wait_for(f.event.wait(),
                                           max(0.0, min(left, f.deadline - time.monotonic() + 0.5)))
                except asyncio.TimeoutError:
                    pass
                if d.is_FETCH() and f.error is not None and fetched >= _MAX_FETCHES_PER_CALL:
                    raise f.error
            if left <= 0:
                raise JwksFetchError("ofb.jwks.unavailable",
                                     f"JWKS {self.url}: the fetch in flight did not end within "
                                     f"{2 * self.timeout + 2.0:g} s", "timeout")

    def _launch(self, ticket: Any) -> _Flight:
        f = _Flight(int(ticket.id), time.monotonic() + int(ticket.timeout_ms) / 1000, asyncio.Event())
        self._flight = f
        task = asyncio.ensure_future(self._run(ticket, f))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return f

    async def _run(self, ticket: Any, f: _Flight) -> None:
        outcome: _Outcome
        try:
            outcome = await asyncio.wait_for(self._get(ticket, f), max(0.0, f.deadline - time.monotonic()))
        except asyncio.TimeoutError:
            outcome = ("failed", "timeout", None)
        except asyncio.CancelledError:
            self._finish(f, ("failed", "network", "cancelled"))
            raise
        except Exception as e:  # noqa: BLE001 - any failure of the GET is reported, never lost
            outcome = ("failed", _classify(e), type(e).__name__)
        self._finish(f, outcome)

    async def _get(self, ticket: Any, f: _Flight) -> _Outcome:
        max_bytes = int(ticket.max_bytes)
        left = f.deadline - time.monotonic()
        if left <= 0:
            return ("failed", "timeout", None)
        async with self.http.stream("GET", ticket.url, headers=_HEADERS, timeout=_timeout(left),
                                    follow_redirects=False) as r:
            if self._too_large_declared(r.headers, max_bytes):
                return ("failed", "too-large", None)
            body = bytearray()
            async for chunk in r.aiter_raw():
                body += chunk
                if len(body) > max_bytes:
                    return ("failed", "too-large", None)
                if time.monotonic() >= f.deadline:
                    return ("failed", "timeout", None)
            if time.monotonic() >= f.deadline:
                return ("failed", "timeout", None)
            return ("fetched", r.status_code, bytes(body))

    def _finish(self, f: _Flight, outcome: _Outcome) -> None:
        if f.done:
            return
        f.done = True
        error, skipped = self._record(f.id, outcome)
        f.error = error
        self.last_error = error
        if self._flight is f:
            self._flight = None
        f.event.set()
        self._announce(error, skipped)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own:
            await self.http.aclose()

    async def __aenter__(self) -> "AsyncRemoteJwks":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
