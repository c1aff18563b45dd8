"""The holds a via is written under: the lock its own item runs under, in either mode.

A secondary item that brings its via up to date (:mod:`imgsync.core.via`) must take
turns with the via's own item, or both would read the source. Celery workers already
run each item under its destination's Redis lock, so the secondary waits for that same
lock; embedded mode runs each item under a per-destination thread lock for the same
reason. Waiting for either counts as waiting, not as the item's own work. The Redis
side is imported only where it is used: an embedded run loads no broker client.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgsync.core.reference import ImageReference
from imgsync.core.waiting import acquired

if TYPE_CHECKING:  # embedded mode never loads redis (start-up time)
    import redis


@dataclass
class LocalHolds:
    """One thread lock per destination of an embedded run."""

    locks: defaultdict[str, threading.Lock] = field(
        default_factory=lambda: defaultdict(threading.Lock)
    )
    guard: threading.Lock = field(default_factory=threading.Lock)
    digests: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def hold(self, destination: ImageReference) -> Iterator[None]:
        with self.guard:
            lock = self.locks[str(destination)]
        with acquired(lock):
            yield

    def written(self, destination: ImageReference) -> str | None:
        with self.guard:
            return self.digests.get(str(destination))

    def record(self, destination: ImageReference, digest: str) -> None:
        with self.guard:
            self.digests[str(destination)] = digest


@dataclass(frozen=True, slots=True)
class RedisHolds:
    """The workers' destination locks (DestinationBusy after ``wait`` seconds), and the
    run's record in Redis, kept as long as a lock could be."""

    client: redis.Redis
    run_id: str
    owner: str
    ttl: float
    wait: float

    @contextmanager
    def hold(self, destination: ImageReference) -> Iterator[None]:
        from imgsync.adapters.destination_lock import destination_lock  # workers only

        lock = destination_lock(
            self.client, str(destination), owner=self.owner, ttl=self.ttl, wait=self.wait
        )
        with acquired(lock):
            yield

    def written(self, destination: ImageReference) -> str | None:
        found = self.client.get(self._key(destination))
        return found.decode() if isinstance(found, bytes) else None

    def record(self, destination: ImageReference, digest: str) -> None:
        self.client.set(self._key(destination), digest, ex=max(int(self.ttl), 1))

    def _key(self, destination: ImageReference) -> str:
        return f"imgsync:written:{self.run_id}:{destination}"
