"""A remote JWK Set, fetched and cached the way jose's ``createRemoteJWKSet``
and PyJWT's ``PyJWKClient`` do (SPEC §3.2 stage 4 needs the peer's set):

- each fetch times out after ``timeout`` seconds (default 5):
  :class:`JwksFetchError` with ``kind`` ``"timeout"``;
- the set is reused for ``max_age`` seconds (default 600);
- a token whose ``kid`` is not in the set triggers a refetch **at most once
  per** ``cooldown`` seconds (default 30): an attacker choosing kids cannot
  make us fetch more often;
- concurrent misses share one fetch (single-flight: a lock in
  :class:`RemoteJwks`, one shared task in :class:`AsyncRemoteJwks`);
- a key of the set that does not parse is skipped and reported in
  ``skipped`` (and to ``on_skipped_key``); the other keys stay usable.

``clock`` (monotonic seconds) is injectable for tests. Both use httpx.

    jwks = RemoteJwks("https://keystore.directory.openbankingbrasil.org.br/<org>/<software>/application.jwks")
    server = selo.ofb.Server(jwks, store=...)          # fetched as tokens arrive
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Optional, Set, Union

from ._errors import SeloError
from .keys import JwkSet

__all__ = ["RemoteJwks", "AsyncRemoteJwks", "JwksFetchError", "SkippedKey", "kid_of"]


class JwksFetchError(SeloError):
    """The JWK Set could not be fetched or read. A driver-level code (in
    ``selo.host_codes()``, not ``selo.all_codes()``): ``ofb.jwks.fetch``; ``kind`` is ``"timeout"``,
    ``"network"``, ``"status"`` or ``"malformed"``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__("ofb.jwks.fetch", message)
        self.kind = kind


@dataclass(frozen=True)
class SkippedKey:
    """A key of the fetched set that did not parse: its position, kid, why."""

    index: int
    kid: Optional[str]
    error: str


def kid_of(token: Union[str, bytes]) -> Optional[str]:
    """The ``kid`` of a compact JWS header, without verifying anything (``None`` if unreadable)."""
    try:
        t = token.decode("ascii") if isinstance(token, bytes) else token
        head = t.strip().split(".", 1)[0]
        h = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        kid = h.get("kid") if isinstance(h, dict) else None
        return kid if isinstance(kid, str) else None
    except Exception:  # noqa: BLE001 - an unreadable token has no kid; verification reports it
        return None


class _Base:
    def __init__(self, url: str, *, timeout: float, max_age: float, cooldown: float,
                 clock: Optional[Callable[[], float]], on_skipped_key: Optional[Callable[[SkippedKey], Any]],
                 http: Any, http_class: Callable[..., Any], transport: Any, verify: Any, cert: Any) -> None:
        self.url, self.timeout, self.max_age, self.cooldown = url, timeout, max_age, cooldown
        self._clock = clock or time.monotonic
        self._on_skipped = on_skipped_key
        self._set: Optional[JwkSet] = None
        self._kids: Set[str] = set()
        self._fetched_at = float("-inf")
        self._attempt_at = float("-inf")
        #: keys of the last fetched set that did not parse
        self.skipped: List[SkippedKey] = []
        #: fetches started so far
        self.fetches = 0
        self._own = http is None
        self.http = http if http is not None else http_class(timeout=timeout, transport=transport, verify=verify,
                                                             cert=cert)

    def _need(self, kid: Optional[str]) -> bool:
        now = self._clock()
        if self._set is None or now - self._fetched_at >= self.max_age:
            return True
        return kid is not None and kid not in self._kids and now - self._attempt_at >= self.cooldown

    def _read(self, status: int, body: bytes) -> None:
        if status != 200:
            raise JwksFetchError("status", f"JWKS {self.url} answered HTTP {status}")
        try:
            doc = json.loads(body)
        except ValueError:
            raise JwksFetchError("malformed", f"JWKS {self.url}: the body is not JSON") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
            raise JwksFetchError("malformed", f'JWKS {self.url}: no "keys" array')
        good, kids, skipped = [], set(), []
        for i, k in enumerate(doc["keys"]):
            kid = k.get("kid") if isinstance(k, dict) and isinstance(k.get("kid"), str) else None
            try:
                JwkSet.parse(json.dumps({"keys": [k]}))
            except Exception as e:  # noqa: BLE001 - one bad key is skipped, not fatal to the set
                skipped.append(SkippedKey(i, kid, str(e)))
                continue
            good.append(k)
            if kid is not None:
                kids.add(kid)
        self._set = JwkSet.parse(json.dumps({"keys": good}))
        self._kids = kids
        self.skipped = skipped
        self._fetched_at = self._clock()
        if self._on_skipped is not None:
            for s in skipped:
                self._on_skipped(s)

    @contextlib.contextmanager
    def _fetching(self) -> Iterator[None]:
        """Around one fetch's request: counts it, starts the cooldown, and
        turns an httpx error into :class:`JwksFetchError`."""
        self._attempt_at = self._clock()
        self.fetches += 1
        try:
            yield
        except Exception as e:  # noqa: BLE001 - httpx errors become JwksFetchError
            raise self._transport_error(e) from e

    def _transport_error(self, e: BaseException) -> JwksFetchError:
        import httpx

        if isinstance(e, httpx.TimeoutException):
            return JwksFetchError("timeout", f"JWKS {self.url}: no answer within {self.timeout} s")
        return JwksFetchError("network", f"JWKS {self.url}: {type(e).__name__}: {e}")


class RemoteJwks(_Base):
    """A remote JWK Set over ``httpx.Client`` (thread-safe)."""

    def __init__(self, url: str, *, timeout: float = 5.0, max_age: float = 600.0, cooldown: float = 30.0,
                 clock: Optional[Callable[[], float]] = None, http: Any = None, transport: Any = None,
                 verify: Any = True, cert: Any = None,
                 on_skipped_key: Optional[Callable[[SkippedKey], Any]] = None) -> None:
        import httpx

        super().__init__(url, timeout=timeout, max_age=max_age, cooldown=cooldown, clock=clock,
                         on_skipped_key=on_skipped_key, http=http, http_class=httpx.Client, transport=transport,
                         verify=verify, cert=cert)
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Fetches the set now."""
        with self._lock:
            self._fetch()

    def _fetch(self) -> None:
        with self._fetching():
            r = self.http.get(self.url, headers={"accept": "application/json"}, timeout=self.timeout)
        self._read(r.status_code, r.content)

    def get(self, kid: Optional[str] = None) -> JwkSet:
        """The set, fetched when there is none or it is older than ``max_age``,
        or when ``kid`` is unknown and the cooldown has passed. Threads that
        miss together wait for one fetch."""
        if self._need(kid):
            with self._lock:
                if self._need(kid):  # another thread may have just fetched
                    self._fetch()
        assert self._set is not None
        return self._set

    def for_token(self, token: Union[str, bytes]) -> JwkSet:
        return self.get(kid_of(token))

    def close(self) -> None:
        if self._own:
            self.http.close()


class AsyncRemoteJwks(_Base):
    """A remote JWK Set over ``httpx.AsyncClient`` (one event loop)."""

    def __init__(self, url: str, *, timeout: float = 5.0, max_age: float = 600.0, cooldown: float = 30.0,
                 clock: Optional[Callable[[], float]] = None, http: Any = None, transport: Any = None,
                 verify: Any = True, cert: Any = None,
                 on_skipped_key: Optional[Callable[[SkippedKey], Any]] = None) -> None:
        import httpx

        super().__init__(url, timeout=timeout, max_age=max_age, cooldown=cooldown, clock=clock,
                         on_skipped_key=on_skipped_key, http=http, http_class=httpx.AsyncClient, transport=transport,
                         verify=verify, cert=cert)
        self._pending: Optional["asyncio.Task[None]"] = None

    async def _fetch(self) -> None:
        with self._fetching():
            r = await self.http.get(self.url, headers={"accept": "application/json"}, timeout=self.timeout)
        self._read(r.status_code, r.content)

    async def refresh(self) -> None:
        """Fetches the set now (shared with a fetch already in flight)."""
        if self._pending is None:
            task = asyncio.ensure_future(self._fetch())
            self._pending = task
            task.add_done_callback(lambda _t: setattr(self, "_pending", None))
        await asyncio.shield(self._pending)

    async def get(self, kid: Optional[str] = None) -> JwkSet:
        """As :meth:`RemoteJwks.get`; concurrent misses await one fetch."""
        if self._pending is not None or self._need(kid):
            await self.refresh()
        assert self._set is not None
        return self._set

    async def for_token(self, token: Union[str, bytes]) -> JwkSet:
        return await self.get(kid_of(token))

    async def aclose(self) -> None:
        if self._own:
            await self.http.aclose()
