"""A per-destination Redis lock, so two runs or deliveries never push one tag at once.

The lock's TTL sits above the task's hard time limit (a crashed holder frees it
eventually) and a heartbeat thread extends it while a long copy runs. The token is
the Celery task id: a redelivery of the *same* task (its pool process was killed)
takes the lock over at once instead of waiting out the TTL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis
from redis.exceptions import LockError
from redis.lock import Lock

KEY_PREFIX = "imgsync:lock:"


class DestinationBusy(Exception):
    """Another task holds the destination; try again later."""


@contextmanager
def destination_lock(
    client: redis.Redis, destination: str, *, owner: str, ttl: float
) -> Iterator[None]:
    """Hold the lock for ``destination`` while the block runs, or raise DestinationBusy."""
    lock = Lock(client, KEY_PREFIX + destination, timeout=ttl, thread_local=False)
    if not _acquire(client, lock, owner):
        raise DestinationBusy(destination)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(lock, ttl, stop), daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        _release(lock)


def _acquire(client: redis.Redis, lock: Lock, owner: str) -> bool:
    """Take a free lock, or the lock an earlier delivery of this same task left behind."""
    if lock.acquire(blocking=False, token=owner):
        return True
    if client.get(lock.name) != owner.encode():
        return False
    lock.local.token = owner.encode()
    try:
        lock.reacquire()
    except LockError:
        return False  # it expired or changed hands between the two calls
    return True


def _heartbeat(lock: Lock, ttl: float, stop: threading.Event) -> None:
    """Reset the TTL every third of it while the copy is still running."""
    while not stop.wait(ttl / 3):
        try:
            lock.reacquire()
        except LockError:
            return


def _release(lock: Lock) -> None:
    with suppress(LockError):  # expired or taken over: nothing of ours to release
        lock.release()
