"""Where the latest pull quota of each (registry, account) is kept, so every copier sees it.

Embedded mode keeps it in the process (:class:`MemoryQuotaBoard`); Celery
workers share one Redis hash in the result backend (:class:`RedisQuotaBoard`),
so a worker that starts a copy knows what the others just spent. Beside the
observations, each board counts the pulls that running copies have *reserved*
(their estimated cost), which :func:`imgsync.core.quota.admits` subtracts: that
is what keeps concurrent copies from overshooting ``rate_limit_min``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Protocol

from imgsync.adapters.ratelimit import RateLimit
from imgsync.core.codec import decode_json
from imgsync.core.quota import AccountQuota

if TYPE_CHECKING:  # embedded mode never loads redis (start-up time)
    import redis

QUOTA_KEY = "imgsync:quota"
RESERVED_KEY = "imgsync:quota:reserved"


class QuotaBoard(Protocol):
    """Latest quota per (registry, account), and pulls reserved by running copies."""

    def record(self, registry: str, account: str, quota: RateLimit) -> None: ...

    def latest(self, registry: str, account: str) -> AccountQuota | None: ...

    def observed(self) -> list[AccountQuota]: ...

    def reserve(self, registry: str, account: str, pulls: int) -> int: ...

    def release(self, registry: str, account: str, pulls: int) -> None: ...


def _quota(registry: str, account: str, quota: RateLimit, at: float) -> AccountQuota:
    return AccountQuota(registry, account, quota.limit, quota.remaining, quota.window_s, at)


class MemoryQuotaBoard:
    """The board of one process (embedded mode); thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[tuple[str, str], AccountQuota] = {}
        self._reserved: dict[tuple[str, str], int] = {}

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


class RedisQuotaBoard:
    """The board every worker shares: two Redis hashes in the result backend.

    Reservations expire with ``ttl`` (refreshed on each one), so a worker killed
    in the middle of a copy cannot hold pulls back for longer than that.
    """

    def __init__(
        self, client: redis.Redis, *, ttl: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._client, self._ttl, self._clock = client, int(ttl), clock

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
