"""Where the latest pull quota of each (registry, account) is kept, so every copier sees it.

Embedded mode keeps it in the process (:class:`MemoryQuotaBoard`); Celery
workers share one Redis hash in the result backend (:class:`RedisQuotaBoard`),
so a worker that starts a copy knows what the others just spent. Beside the
observations, each board counts the pulls that running copies have *reserved*
(their estimated cost), which :func:`imgsync.core.quota.admits` subtracts: that
is what keeps concurrent copies from overshooting ``rate_limit_min``. A *serial*
section per (registry, account) lets one copier at a time decide and reserve (a thread
lock in a process, a Redis lock across workers), so two copies never both read an index
on the same last pulls (see :mod:`imgsync.runtime.quota_admission`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Protocol

from imgsync.adapters.ratelimit import RateLimit
from imgsync.core.codec import decode_json
from imgsync.core.quota import AccountQuota

if TYPE_CHECKING:  # embedded mode never loads redis (start-up time)
    import redis

log = logging.getLogger(__name__)

QUOTA_KEY = "imgsync:quota"
RESERVED_KEY = "imgsync:quota:reserved"
SERIAL_KEY = "imgsync:quota:serial"


class QuotaBoard(Protocol):
    """Latest quota per (registry, account), and pulls reserved by running copies."""

    def record(self, registry: str, account: str, quota: RateLimit) -> None: ...

    def latest(self, registry: str, account: str) -> AccountQuota | None: ...

    def observed(self) -> list[AccountQuota]: ...

    def reserve(self, registry: str, account: str, pulls: int) -> int: ...

    def release(self, registry: str, account: str, pulls: int) -> None: ...

    def serial(self, registry: str, account: str) -> AbstractContextManager[None]:
        """One holder at a time per account: deciding and reserving a copy's pulls."""
        ...


def _quota(registry: str, account: str, quota: RateLimit, at: float) -> AccountQuota:
    return AccountQuota(registry, account, quota.limit, quota.remaining, quota.window_s, at)


class MemoryQuotaBoard:
    """The board of one process (embedded mode); thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[tuple[str, str], AccountQuota] = {}
        self._reserved: dict[tuple[str, str], int] = {}
        self._serial: dict[tuple[str, str], threading.Lock] = {}

    def record(self, registry: str, account: str, quota: RateLimit) -> None:
        with self._lock:
            self._latest[registry, account] = _quota(registry, account, quota, self._clock())

    def latest(self, registry: str, account: str) -> AccountQuota | None:
        with self._lock:
            return self._latest.get((registry, account))

    def observed(self) -> list[AccountQuota]:
        with self._lock:
            return list(self._latest.values())

    def reserve(self, registry: str, account: str, pulls: int) -> int:
        """Add ``pulls`` to the account's reservations; the new total."""
        with self._lock:
            total = self._reserved.get((registry, account), 0) + pulls
            self._reserved[registry, account] = total
            return total

    def release(self, registry: str, account: str, pulls: int) -> None:
        self.reserve(registry, account, -pulls)

    @contextmanager
    def serial(self, registry: str, account: str) -> Iterator[None]:
        with self._lock:
            lock = self._serial.setdefault((registry, account), threading.Lock())
        with lock:
            yield


class RedisQuotaBoard:
    """The board every worker shares: two Redis hashes in the result backend.

    Reservations expire with ``ttl`` (refreshed on each one), so a worker killed
    in the middle of a copy cannot hold pulls back for longer than that; a serial
    section's lock expires after ``serial_ttl`` (it covers a few registry requests).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        ttl: float,
        clock: Callable[[], float] = time.time,
        serial_ttl: float = 60.0,
    ) -> None:
        self._client, self._ttl, self._clock = client, int(ttl), clock
        self._serial_ttl = serial_ttl

    @staticmethod
    def _field(registry: str, account: str) -> str:
        return f"{registry} {account}"

    def record(self, registry: str, account: str, quota: RateLimit) -> None:
        value = _quota(registry, account, quota, self._clock())
        pipe = self._client.pipeline()
        pipe.hset(QUOTA_KEY, self._field(registry, account), json.dumps(asdict(value)))
        pipe.expire(QUOTA_KEY, max(self._ttl, quota.window_s or 0))
        pipe.execute()

    def latest(self, registry: str, account: str) -> AccountQuota | None:
        raw = self._client.hget(QUOTA_KEY, self._field(registry, account))
        return decode_json(AccountQuota, raw) if raw else None

    def observed(self) -> list[AccountQuota]:
        return [decode_json(AccountQuota, v) for v in self._client.hvals(QUOTA_KEY)]

    def reserve(self, registry: str, account: str, pulls: int) -> int:
        pipe = self._client.pipeline()
        pipe.hincrby(RESERVED_KEY, self._field(registry, account), pulls)
        pipe.expire(RESERVED_KEY, self._ttl)
        total, _ = pipe.execute()
        return int(total)

    def release(self, registry: str, account: str, pulls: int) -> None:
        self._client.hincrby(RESERVED_KEY, self._field(registry, account), -pulls)

    @contextmanager
    def serial(self, registry: str, account: str) -> Iterator[None]:
        name = f"{SERIAL_KEY}:{self._field(registry, account)}"
        lock = self._client.lock(name, timeout=self._serial_ttl, sleep=0.01)
        lock.acquire()
        try:
            yield
        finally:
            _release(lock)


def _release(lock: redis.lock.Lock) -> None:
    """A section that outlived its lock (a very slow registry) has nothing left to release."""
    from redis.exceptions import LockError  # embedded mode never loads redis

    try:
        lock.release()
    except LockError as exc:
        log.warning("quota serial lock expired before its release: %s", exc)
