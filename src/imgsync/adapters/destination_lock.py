"""Per-destination Redis locks, so two runs or deliveries never push one tag at once.

Two locks exist: one per destination *tag*, held for a mapping's whole pipeline
(check, copy, verify), and one per destination *repository*, held only while
skopeo copies. The second exists because docker-registry can fail two concurrent
pushes of shared blobs into one repository ("manifest blob unknown"), which tag
selection makes common (``1.25`` and ``1.25.3`` are often the same image).

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

from imgsync.errors import DestinationBusy, RepositoryBusy

KEY_PREFIX = "imgsync:lock:"


@contextmanager
def destination_lock(
    client: redis.Redis, destination: str, *, owner: str, ttl: float, wait: float = 0.0
) -> Iterator[None]:
    """Hold the lock for ``destination`` while the block runs, or raise DestinationBusy.

    With ``wait`` > 0 it waits that long for the lock before giving up.
    """
    lock = Lock(client, KEY_PREFIX + destination, timeout=ttl, thread_local=False)
    if not _acquire(client, lock, owner, wait):
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


@contextmanager
def repository_lock(
    client: redis.Redis, repository: str, *, owner: str, ttl: float, wait: float
) -> Iterator[None]:
    """Serialise copies into one repository; RepositoryBusy after ``wait`` seconds."""
    try:
        with destination_lock(client, "repo:" + repository, owner=owner, ttl=ttl, wait=wait):
            yield
    except DestinationBusy:
        raise RepositoryBusy(
            f"another copy into {repository} took longer than {wait:.0f}s"
        ) from None


def _acquire(client: redis.Redis, lock: Lock, owner: str, wait: float = 0.0) -> bool:
    """Take the lock an earlier delivery of this same task left behind, or a free one."""
    if client.get(lock.name) == owner.encode() and _take_over(lock, owner):
        return True
    return bool(lock.acquire(blocking=wait > 0, blocking_timeout=wait or None, token=owner))


def _take_over(lock: Lock, owner: str) -> bool:
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
