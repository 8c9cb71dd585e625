"""State shared by many instances through Redis (SPEC §5, docs/shared-state.md).

- :class:`SafraShare` (a sync ``redis.Redis`` or ``redis.cluster.RedisCluster``)
  and :class:`AsyncSafraShare` (``redis.asyncio.Redis`` or
  ``redis.asyncio.cluster.RedisCluster``): one Safra session for a whole
  fleet — ``safra.Client(base_url, cliente, shared=SafraShare(r, name=...,
  seal_key=...))``. Business calls (psd050, psd052) run at once on every
  instance with the credentials of the fleet's record, sealed (AES-256-GCM)
  under ``seal_key``; a handshake, psd005 or psd007 runs under the fleet's
  lease, once fleet-wide, and its credentials are published for the
  others. ``stats()`` counts handshakes, renewals, records adopted, lease
  waits, lease steals (fenced writes refused) and store errors.
- :class:`JtiStore`: the OFB replay set (``ofb.Server(jwks,
  store=JtiStore(r))``), ``SET <key> 1 NX EX <ttl>`` with the core's key
  and TTL.
- :class:`BmpPending`: BMP pending transactions (``bmp.Client(...,
  pending=BmpPending(r))`` and the confirmation handler's lookup), under the
  core's key for 7 days.

The core (:class:`selo._native.SafraShare`, ``shared_bmp_pending_key``…)
builds every key, value, TTL and Lua call and reads every reply: these
classes only move bytes. Every failed store call — connection refused, a
timeout, an error reply, a reply of the wrong type — raises
:class:`selo.SharedStateError` ``shared.store_unavailable``, whose message
names the Redis command and never a key, token or record (the Redis
exception is chained as ``__cause__``), and the operation it served fails
closed. Bound the calls with the client's own timeouts
(``socket_timeout``, ``socket_connect_timeout``, ``retry``); the async
classes also bound each call with ``timeout`` (seconds).

Needs the ``redis`` package (``pip install selo[redis]``); this module
never imports it: pass your client. The names ``RedisSafraShare``,
``RedisJtiStore`` and ``RedisBmpPending`` (Node's and Java's) are aliases.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Awaitable, Callable, Dict, Iterator, MutableMapping, Optional, TypeVar

from ._errors import SeloError, SharedStateError, guard
from ._native import selo_uniffi as _n
from ._util import seed
from .ofb import JtiStore as _OfbJtiStore
from .safra import Session

__all__ = [
    "SafraShare",
    "AsyncSafraShare",
    "JtiStore",
    "BmpPending",
    "ShareStats",
    "RedisSafraShare",
    "AsyncRedisSafraShare",
    "RedisJtiStore",
    "RedisBmpPending",
    "STORE_UNAVAILABLE",
    "LEASE_TIMEOUT",
    "WAIT_POLL_INTERVAL_MS",
    "DEFAULT_LEASE_TTL_MS",
    "BMP_PENDING_TTL_SECONDS",
    "bmp_pending_key",
]

STORE_UNAVAILABLE = "shared.store_unavailable"
LEASE_TIMEOUT = "shared.lease_timeout"
#: How often an instance waiting for another's transition re-reads the record (ms).
WAIT_POLL_INTERVAL_MS: int = _n.shared_wait_poll_interval_ms()
#: The lease TTL unless ``lease_ttl_ms`` says otherwise (ms).
DEFAULT_LEASE_TTL_MS: int = _n.shared_default_lease_ttl_ms()
#: How long a BMP pending transaction is kept (7 days).
BMP_PENDING_TTL_SECONDS: int = _n.shared_bmp_pending_ttl_seconds()
#: The bound of each store call of the async classes unless ``timeout`` says otherwise (s).
DEFAULT_ASYNC_TIMEOUT = 5.0

_PROTOCOL = "safra.shared.protocol"
T = TypeVar("T")


def bmp_pending_key(idempotency_key: str) -> str:
    """The core's Redis key of a BMP pending transaction:
    ``selo:bmp:pending:{<length>:<idempotency key>}``."""
    with guard:
        return _n.shared_bmp_pending_key(idempotency_key)


def _unavailable(what: str, exc: Optional[BaseException]) -> SharedStateError:
    # The kind of failure only: a Redis error's text may hold a host, a key
    # or a value.
    kind = type(exc).__name__ if exc is not None else "no answer"
    return SharedStateError(STORE_UNAVAILABLE,
                            f"shared state: Redis {what} failed ({kind}); the operation fails closed")


def _is_noscript(exc: BaseException) -> bool:
    return type(exc).__name__ == "NoScriptError" or str(exc).startswith("NOSCRIPT")


def _text(v: Any) -> Optional[str]:
    """A GET reply as text (``None``: no value); ``TypeError`` otherwise."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("latin-1")
    raise TypeError("not a string reply")


def _integer(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise TypeError("not an integer reply")


@dataclass(frozen=True)
class ShareStats:
    """One instance's counters: handshakes and renewals (authentications
    included) it ran and published, records it adopted from others, times
    it found the lease held, writes refused because its lease was lost
    (fenced), and failed store calls."""

    handshakes: int
    renewals: int
    adopted: int
    lease_waits: int
    lease_steals: int
    store_errors: int

    def as_dict(self) -> Dict[str, int]:
        return asdict(self)


class _ShareBase:
    """What the sync and async shares have in common: the core's share."""

    asynchronous = False

    def __init__(self, client: Any, name: str, seal_key: bytes, lease_ttl_ms: Optional[int],
                 rng_seed: Optional[bytes]) -> None:
        if client is None or not hasattr(client, "get") or not hasattr(client, "evalsha"):
            raise TypeError("client: expected a redis-py client (Redis or RedisCluster, sync or asyncio)")
        if not isinstance(name, str):
            raise TypeError("name: expected a str")
        if not isinstance(seal_key, (bytes, bytearray, memoryview)):
            raise TypeError("seal_key: expected 32 bytes")
        if lease_ttl_ms is not None and (isinstance(lease_ttl_ms, bool) or not isinstance(lease_ttl_ms, int)
                                         or lease_ttl_ms < 1):
            raise ValueError("lease_ttl_ms: expected an int >= 1 (milliseconds)")
        self.client = client
        with guard:
            self._core = _n.SafraShare(name, bytes(seal_key), lease_ttl_ms, seed(rng_seed))
        self._session: Optional[Session] = None

    @property
    def name(self) -> str:
        return self._core.name()

    @property
    def lease_ttl_ms(self) -> int:
        return int(self._core.lease_ttl_ms())

    @property
    def record_key(self) -> str:
        """The key of the fleet's sealed record (``selo:{safra:<name>}:record``)."""
        return self._core.record_key()

    @property
    def holds_lease(self) -> bool:
        """True while this instance holds the fleet's lease."""
        return bool(self._core.holds_lease())

    @property
    def adopted_generation(self) -> int:
        """The record generation this instance uses (0: none yet)."""
        return int(self._core.adopted_generation())

    def stats(self) -> ShareStats:
        s = self._core.stats()
        return ShareStats(s.handshakes, s.renewals, s.adopted, s.lease_waits, s.lease_steals, s.store_errors)

    def attach(self, session: Session) -> None:
        """Called by the Safra client once: ``session`` is shared from now on."""
        if self._session is not None and self._session is not session:
            raise TypeError("shared: this share already serves another client (one share per client)")
        self._session = session
        session.set_shared(True)

    def ready_to_publish(self, session: Session) -> bool:
        """True when the lease is held and ``session`` finished the
        transitions it ran under it."""
        return bool(self._core.ready_to_publish(session._s))

    def release_call(self, session: Session) -> Any:
        """Gives the lease up in the core (``session``'s transitions stop
        now): the script call to run with :meth:`finish_release`, or ``None``."""
        return self._core.release(session._s)

    def _failed(self, what: str, exc: Optional[BaseException]) -> SharedStateError:
        self._core.store_error()
        return _unavailable(what, exc)

    def _read(self, what: str, fn: Callable[[], T]) -> T:
        """Hands a reply to the core: a reply outside the protocol is a store failure too."""
        try:
            with guard:
                return fn()
        except SeloError as e:
            if e.code == _PROTOCOL:
                raise self._failed(what, e) from e
            raise

    def _on_record(self, session: Session, text: Optional[str]) -> str:
        with guard:
            return self._core.on_record(session._s, text)

    def _lease_timeout(self) -> SharedStateError:
        return SharedStateError(
            LEASE_TIMEOUT,
            f"shared state: waited {2 * self.lease_ttl_ms} ms (twice the lease TTL) for another instance's "
            "Safra handshake, psd005 or psd007 and saw no newer record")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, holds_lease={self.holds_lease}, "
                f"adopted_generation={self.adopted_generation})")


class SafraShare(_ShareBase):
    """One instance's part in a Safra session shared by a fleet through
    Redis, over a sync ``redis.Redis`` or ``redis.cluster.RedisCluster``.

    ``name``: the fleet (every instance sharing one set of credentials uses
    the same; ASCII ``!``..``~`` without braces, 1 to 200 bytes).
    ``seal_key``: 32 bytes from your secret store, the same on every
    instance, never sent to Redis. ``lease_ttl_ms``: how long a transition
    may hold the lease (default 30 000; a killed holder is replaced after
    it). Pass it as ``safra.Client(base_url, cliente, shared=share)``; one
    share per client. Thread-safe."""

    def __init__(self, client: Any, *, name: str, seal_key: bytes, lease_ttl_ms: Optional[int] = None,
                 rng_seed: Optional[bytes] = None) -> None:
        super().__init__(client, name, seal_key, lease_ttl_ms, rng_seed)
        self._lock = threading.RLock()
        self._sleep: Callable[[float], None] = time.sleep

    def _get(self) -> Optional[str]:
        try:
            return _text(self.client.get(self.record_key))
        except Exception as e:  # noqa: BLE001 - every store failure fails closed
            raise self._failed("GET", e) from e

    def _eval(self, call: Any) -> int:
        """Runs a core script call (EVALSHA, EVAL on NOSCRIPT): its integer reply."""
        n = len(call.keys)
        try:
            try:
                r = self.client.evalsha(call.sha1, n, *call.keys, *call.args)
            except Exception as e:  # noqa: BLE001 - NOSCRIPT is retried, anything else fails below
                if not _is_noscript(e):
                    raise
                r = self.client.eval(call.script, n, *call.keys, *call.args)
            return _integer(r)
        except Exception as e:  # noqa: BLE001 - every store failure fails closed
            raise self._failed(call.name, e) from e

    def read_record(self, session: Session) -> str:
        """``GET`` the record and adopt it if newer: ``"empty"``,
        ``"current"`` or ``"adopted"``."""
        return self._on_record(session, self._get())

    def finish_release(self, call: Any) -> str:
        """Runs the release call of :meth:`release_call`: ``"released"`` or
        ``"not_owner"`` (the lease had expired: counted as a steal)."""
        with self._lock:
            r = self._eval(call)
            return self._read(call.name, lambda: self._core.on_release(r))

    def release(self, session: Session) -> Optional[str]:
        """Gives the lease up, if held (``session``'s transitions stop)."""
        with self._lock:
            call = self.release_call(session)
            return None if call is None else self.finish_release(call)

    def _release_quietly(self, session: Session) -> None:
        try:
            self.release(session)
        except Exception:  # noqa: BLE001 - the caller is failing already; counted
            pass

    def take_lease(self, session: Session) -> str:
        """Takes the fleet's lease for ``session`` (docs/shared-state.md §6):
        acquire; held → re-read the record (a newer one: adopt it and
        release — another instance ran the transition — else grant the
        session its transitions); busy → re-read the record every
        :data:`WAIT_POLL_INTERVAL_MS` until a newer one is adopted, trying
        the lease again once it expired; after twice the lease TTL,
        ``shared.lease_timeout``. Returns ``"granted"`` or ``"adopted"``."""
        deadline = time.monotonic() + 2 * self.lease_ttl_ms / 1000
        poll = WAIT_POLL_INTERVAL_MS / 1000
        while True:
            with self._lock:
                call = self._core.acquire()
                try:
                    reply = self._eval(call)
                except BaseException:
                    self._core.release(session._s)  # the acquire's fate is unknown: forget its owner
                    raise
                got = self._read(call.name, lambda: self._core.on_acquire(reply))
                if got.held:
                    try:
                        outcome = self.read_record(session)
                    except BaseException:
                        self._release_quietly(session)
                        raise
                    if outcome == "adopted":
                        self.release(session)
                        return "adopted"
                    with guard:
                        self._core.grant(session._s)
                    return "granted"
            # Another instance runs the transition: wait for its record.
            until = min(time.monotonic() + got.retry_after_ms / 1000, deadline)
            while True:
                if self.read_record(session) == "adopted":
                    return "adopted"
                left = until - time.monotonic()
                if left <= 0:
                    break
                self._sleep(min(poll, left))
            if time.monotonic() >= deadline:
                raise self._lease_timeout()

    def publish_if_ready(self, session: Session) -> Optional[str]:
        """After a transition's response, while the lease is held: when the
        session finished its transitions, publish its credentials (sealed)
        and release the lease. A refused publish (the lease was lost:
        counted as a steal) re-reads the record to adopt the winner's.
        Returns the publish result (``"published"``, ``"not_lease_owner"``,
        ``"fence_moved_on"``, ``"generation_changed"``,
        ``"stored_record_malformed"``) or ``None`` when nothing was due."""
        with self._lock:
            if not self.holds_lease or not self.ready_to_publish(session):
                return None
            with guard:
                call = self._core.publish(session._s)
            try:
                r = self._eval(call)
                out = self._read(call.name, lambda: self._core.on_publish(session._s, r))
            except BaseException:
                self._release_quietly(session)  # unknown whether it was written: fail closed
                raise
            self.release(session)
            if out != "published":
                self.read_record(session)
            return out


class AsyncSafraShare(_ShareBase):
    """:class:`SafraShare` over ``redis.asyncio.Redis`` or
    ``redis.asyncio.cluster.RedisCluster``, for ``safra.AsyncClient(...,
    shared=share)``. ``timeout`` (seconds, default 5; ``None``: unbounded)
    bounds each store call. Use it from one event loop."""

    asynchronous = True

    def __init__(self, client: Any, *, name: str, seal_key: bytes, lease_ttl_ms: Optional[int] = None,
                 timeout: Optional[float] = DEFAULT_ASYNC_TIMEOUT, rng_seed: Optional[bytes] = None) -> None:
        super().__init__(client, name, seal_key, lease_ttl_ms, rng_seed)
        self.timeout = timeout
        self._alock: Optional[asyncio.Lock] = None

    def _lock(self) -> asyncio.Lock:
        if self._alock is None:
            self._alock = asyncio.Lock()
        return self._alock

    async def _bounded(self, aw: Awaitable[T]) -> T:
        if self.timeout is None:
            return await aw
        return await asyncio.wait_for(aw, self.timeout)

    async def _get(self) -> Optional[str]:
        try:
            return _text(await self._bounded(self.client.get(self.record_key)))
        except Exception as e:  # noqa: BLE001 - every store failure fails closed
            raise self._failed("GET", e) from e

    async def _eval(self, call: Any) -> int:
        n = len(call.keys)

        async def run() -> Any:
            try:
                return await self.client.evalsha(call.sha1, n, *call.keys, *call.args)
            except Exception as e:  # noqa: BLE001 - NOSCRIPT is retried, anything else fails below
                if not _is_noscript(e):
                    raise
                return await self.client.eval(call.script, n, *call.keys, *call.args)

        try:
            return _integer(await self._bounded(run()))
        except Exception as e:  # noqa: BLE001 - every store failure fails closed
            raise self._failed(call.name, e) from e

    async def read_record(self, session: Session) -> str:
        """``GET`` the record and adopt it if newer: ``"empty"``,
        ``"current"`` or ``"adopted"``."""
        return self._on_record(session, await self._get())

    async def finish_release(self, call: Any) -> str:
        async with self._lock():
            r = await self._eval(call)
            return self._read(call.name, lambda: self._core.on_release(r))

    async def release(self, session: Session) -> Optional[str]:
        """Gives the lease up, if held (``session``'s transitions stop)."""
        call = self.release_call(session)
        return None if call is None else await self.finish_release(call)

    async def _release_quietly(self, session: Session) -> None:
        try:
            await self.release(session)
        except Exception:  # noqa: BLE001 - the caller is failing already; counted
            pass

    async def take_lease(self, session: Session) -> str:
        """:meth:`SafraShare.take_lease`, awaited."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * self.lease_ttl_ms / 1000
        poll = WAIT_POLL_INTERVAL_MS / 1000
        while True:
            async with self._lock():
                call = self._core.acquire()
                try:
                    reply = await self._eval(call)
                except BaseException:
                    self._core.release(session._s)  # the acquire's fate is unknown: forget its owner
                    raise
                got = self._read(call.name, lambda: self._core.on_acquire(reply))
                if got.held:
                    try:
                        outcome = await self.read_record(session)
                    except BaseException:
                        await self._release_quietly_locked(session)
                        raise
                    if outcome == "adopted":
                        await self._release_locked(session)
                        return "adopted"
                    with guard:
                        self._core.grant(session._s)
                    return "granted"
            until = min(loop.time() + got.retry_after_ms / 1000, deadline)
            while True:
                if await self.read_record(session) == "adopted":
                    return "adopted"
                left = until - loop.time()
                if left <= 0:
                    break
                await asyncio.sleep(min(poll, left))
            if loop.time() >= deadline:
                raise self._lease_timeout()

    async def _release_locked(self, session: Session) -> Optional[str]:
        call = self.release_call(session)
        if call is None:
            return None
        r = await self._eval(call)
        return self._read(call.name, lambda: self._core.on_release(r))

    async def _release_quietly_locked(self, session: Session) -> None:
        try:
            await self._release_locked(session)
        except Exception:  # noqa: BLE001 - the caller is failing already; counted
            pass

    async def publish_if_ready(self, session: Session) -> Optional[str]:
        """:meth:`SafraShare.publish_if_ready`, awaited."""
        async with self._lock():
            if not self.holds_lease or not self.ready_to_publish(session):
                return None
            with guard:
                call = self._core.publish(session._s)
            try:
                r = await self._eval(call)
                out = self._read(call.name, lambda: self._core.on_publish(session._s, r))
            except BaseException:
                await self._release_quietly_locked(session)
                raise
            await self._release_locked(session)
        if out != "published":
            await self.read_record(session)
        return out


class JtiStore(_OfbJtiStore):
    """The OFB replay set in Redis for ``ofb.Server(jwks, store=...)``:
    ``SET <key> 1 NX EX <ttl>`` with the core's key
    (``selo:ofb:jti:<length of client id>:<client id>:<jti>``; ``prefix``
    replaces ``selo:ofb:jti``) and TTL (the token's remaining acceptance
    window). ``OK`` is ``"fresh"``, nil (the key existed) ``"replayed"``;
    any other reply or a Redis error raises ``shared.store_unavailable``
    and the server answers 503 ``ofb.replay.store_failed`` (fail closed).
    A sync ``redis.Redis`` or ``redis.cluster.RedisCluster``
    (``ofb.Server.adecide`` calls the store synchronously too)."""

    def __init__(self, client: Any, *, prefix: Optional[str] = None) -> None:
        if client is None or not hasattr(client, "set"):
            raise TypeError("client: expected a sync redis-py client (Redis or RedisCluster)")
        self.client = client
        self.key_prefix = prefix
        self.store_errors = 0
        self._count = threading.Lock()

    def _failed(self, exc: Optional[BaseException]) -> SharedStateError:
        with self._count:
            self.store_errors += 1
        return _unavailable("SET NX", exc)

    def record(self, key: str, ttl_seconds: int) -> str:
        try:
            r = self.client.set(key, b"1", nx=True, ex=int(ttl_seconds))
        except Exception as e:  # noqa: BLE001 - a replay cannot be ruled out: refuse
            raise self._failed(e) from e
        # SET NX answers OK (redis-py: True) when the key was set — fresh —
        # and nil (None) exactly when it existed: a replay.
        if r is True or r == b"OK" or r == "OK":
            return "fresh"
        if r is None:
            return "replayed"
        raise self._failed(TypeError("unexpected SET NX reply"))


class BmpPending(MutableMapping[str, bytes]):
    """BMP pending transactions in Redis: idempotency key → the exact body
    bytes sent, under the core's key (:func:`bmp_pending_key`) for
    :data:`BMP_PENDING_TTL_SECONDS` — ``bmp.Client(..., pending=BmpPending(r))``
    on the sender and ``bmp.confirmation_handler(key, BmpPending(r))`` on
    any instance. Storing is ``SET NX EX``; a transaction already pending
    under the key is kept when its bytes are identical (a retry) and
    refused (``ValueError``) otherwise. Fails closed: a Redis error raises
    ``shared.store_unavailable`` (the sender does not send; the
    confirmation endpoint answers 500 and BMP calls again). A sync
    ``redis.Redis`` or ``redis.cluster.RedisCluster``."""

    def __init__(self, client: Any) -> None:
        if client is None or not hasattr(client, "set"):
            raise TypeError("client: expected a sync redis-py client (Redis or RedisCluster)")
        self.client = client
        self.store_errors = 0
        self._count = threading.Lock()

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - every store failure fails closed
            with self._count:
                self.store_errors += 1
            raise _unavailable(what, e) from e

    def __getitem__(self, key: str) -> bytes:
        k = bmp_pending_key(key)
        v = self._call("GET", lambda: self.client.get(k))
        if v is None:
            raise KeyError(key)
        if isinstance(v, str):
            return v.encode("utf-8")
        if isinstance(v, (bytes, bytearray, memoryview)):
            return bytes(v)
        with self._count:
            self.store_errors += 1
        raise _unavailable("GET", TypeError("not a string reply"))

    def __setitem__(self, key: str, body: bytes) -> None:
        k, b = bmp_pending_key(key), bytes(body)
        if self._call("SET NX", lambda: self.client.set(k, b, nx=True, ex=BMP_PENDING_TTL_SECONDS)):
            return
        if self[key] != b:
            raise ValueError("another body is already pending under this idempotency key")

    def __delitem__(self, key: str) -> None:
        k = bmp_pending_key(key)
        if not self._call("DEL", lambda: self.client.delete(k)):
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        """The pending idempotency keys (``SCAN``: for operators; slow on a big keyspace)."""
        prefix = bmp_pending_key("x")[: -len("{1:x}")]
        keys = self._call("SCAN", lambda: list(self.client.scan_iter(match=prefix + "{*")))
        for raw in keys:
            k = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else str(raw)
            inner = k[len(prefix) + 1: -1]
            length, _, idem = inner.partition(":")
            if length.isdigit() and len(idem.encode("utf-8")) == int(length):
                yield idem

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: Node's and Java's names for the same adapters.
RedisSafraShare = SafraShare
AsyncRedisSafraShare = AsyncSafraShare
RedisJtiStore = JtiStore
RedisBmpPending = BmpPending
