"""Sharing state between processes through Redis (SPEC §5).

- :class:`RedisJtiStore` — the OFB replay set: ``SET <key> 1 NX EX <ttl>``
  with the key and TTL the core names for each verified request (atomic
  check-and-insert; a Redis failure refuses the request, since replay
  cannot be ruled out).
- :class:`RedisSafraSessions` — one Safra session shared by every instance:
  :meth:`~RedisSafraSessions.checkout` takes a Redis lock, loads the
  exported session (or makes a new one), and saves it back when the block
  ends, so only one instance at a time handshakes, authenticates or renews.
  The blob holds keys: pass ``cipher`` (anything with ``encrypt(bytes)`` /
  ``decrypt(bytes)``, e.g. ``cryptography.fernet.Fernet``) to encrypt it at rest.
- :class:`RedisPending` — BMP's pending transactions (idempotency key →
  exact body) as a mutable mapping, for :class:`selo.bmp.Client` and the
  confirmation handler running in different processes.

Needs the ``redis`` package (``pip install selo[redis]``).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, MutableMapping, Optional

from .ofb import JtiStore
from .safra import Session

__all__ = ["RedisJtiStore", "RedisSafraSessions", "RedisPending"]


class RedisJtiStore(JtiStore):
    """OFB ``jti`` replay set in Redis, the core's contract (SPEC §5):
    ``SET <key> 1 NX EX <ttl>``, where ``key`` is the core's
    ``<prefix>:<length of client id>:<client id>:<jti>`` (``prefix`` default
    ``selo:ofb:jti``; one record schema for every language's workers) and
    ``ttl`` the token's remaining acceptance window (1 to 86 400 s). ``OK``
    is ``"fresh"``, nil (the key existed) ``"replayed"``; any other reply is
    no answer (503 ``ofb.replay.store_failed``), and a Redis error refuses
    the request the same way."""

    def __init__(self, client: Any, *, prefix: Optional[str] = None) -> None:
        self.r = client
        self.key_prefix = prefix

    def record(self, key: str, ttl_seconds: int) -> str:
        r = self.r.set(key, b"1", nx=True, ex=int(ttl_seconds))
        # SET NX answers OK (redis-py: True) when the key was set — fresh —
        # and nil (None) exactly when it existed: a replay.
        if r is True or r == b"OK" or r == "OK":
            return "fresh"
        if r is None:
            return "replayed"
        raise TypeError(f"unexpected SET NX reply of type {type(r).__name__}")


class RedisSafraSessions:
    """One Safra session shared through Redis, used under a Redis lock."""

    def __init__(self, client: Any, key: str, factory: Callable[[], Session], *, cipher: Any = None,
                 lock_timeout: float = 60.0, blocking_timeout: Optional[float] = 30.0) -> None:
        self.r, self.key, self.factory, self.cipher = client, key, factory, cipher
        self.lock_timeout, self.blocking_timeout = lock_timeout, blocking_timeout

    def load(self) -> Optional[Session]:
        blob = self.r.get(self.key)
        if blob is None:
            return None
        if self.cipher is not None:
            blob = self.cipher.decrypt(blob)
        return Session.load(blob)

    def save(self, session: Session) -> None:
        blob = session.export()
        if self.cipher is not None:
            blob = self.cipher.encrypt(blob)
        self.r.set(self.key, blob)

    def clear(self) -> None:
        self.r.delete(self.key)

    @contextlib.contextmanager
    def checkout(self) -> Iterator[Session]:
        """``with sessions.checkout() as s:`` — the lock is held for the block;
        the session is saved when the block ends, even after an exception
        (the state machine is consistent after every call)."""
        lock = self.r.lock(self.key + ":lock", timeout=self.lock_timeout, blocking_timeout=self.blocking_timeout)
        if not lock.acquire():
            raise TimeoutError(f"could not lock the shared Safra session {self.key!r}")
        try:
            session = self.load() or self.factory()
            try:
                yield session
            finally:
                self.save(session)
        finally:
            lock.release()


class RedisPending(MutableMapping[str, bytes]):
    """BMP pending transactions: idempotency key → exact body bytes, with a TTL."""

    def __init__(self, client: Any, *, prefix: str = "selo:bmp:pending", ttl_seconds: int = 7 * 86_400) -> None:
        self.r, self.prefix, self.ttl = client, prefix, ttl_seconds

    def _k(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def __getitem__(self, key: str) -> bytes:
        v = self.r.get(self._k(key))
        if v is None:
            raise KeyError(key)
        return bytes(v)

    def __setitem__(self, key: str, body: bytes) -> None:
        self.r.set(self._k(key), bytes(body), ex=self.ttl)

    def __delitem__(self, key: str) -> None:
        if not self.r.delete(self._k(key)):
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        n = len(self.prefix) + 1
        for k in self.r.scan_iter(match=self.prefix + ":*"):
            yield (k.decode() if isinstance(k, bytes) else k)[n:]

    def __len__(self) -> int:
        return sum(1 for _ in self)
