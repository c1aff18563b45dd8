"""A mapping already in sync, found before any lock is taken.

The destination lock (and its heartbeat thread) exists to keep two copies from writing
one tag at once; a mapping whose destination already holds the source's digest copies
nothing, so the worker checks first without the lock and takes it only when a copy is
needed (the pipeline then checks again under the lock, as it always has). Most runs of
a mirror are skips, so most tasks never touch a lock key.

Only the plain case is decided here: a platform subset reads manifests with GET (a pull
on Docker Hub, which a second read under the lock would spend twice), and signatures
may need copying even when the image is unchanged, and a destination that converts
manifests is compared by the pipeline's own rules; these go to the lock as before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from imgsync.core.mapping import SyncItem
from imgsync.core.pipeline import TIMEOUT_NAMES, DigestReader
from imgsync.core.reference import ImageReference
from imgsync.core.result import Status, SyncResult

log = logging.getLogger(__name__)


def unlocked_skip(
    item: SyncItem,
    registry: DigestReader,
    *,
    worker: str,
    attempts: int,
    clock: Callable[[], float] = time.monotonic,
    written: Callable[[ImageReference], str | None] | None = None,
) -> SyncResult | None:
    """The ``skipped`` result when ``item`` is in sync now; ``None``: take the lock and run.

    Any error is left for the locked run, which meets it again and reports it as before.
    """
    if item.platforms is not None or item.signatures or item.writes is not None:
        return None
    started = clock()
    try:
        digests = _in_sync(item, registry)
    except Exception as exc:  # the locked run reports it (and retries what is retryable)
        if type(exc).__name__ in TIMEOUT_NAMES:  # out of time: no second try under the lock
            raise
        return None
    if digests is None or (item.shared and written and written(item.destination)):
        return None  # a via this run wrote: the locked run reports it synced
    result = SyncResult(
        source=str(item.source),
        destination=str(item.destination),
        status=Status.SKIPPED,
        source_digest=digests[0],
        destination_digest=digests[1],
        attempts=attempts,
        duration_s=max(clock() - started, 0.0),
        worker=worker,
    )
    log.info("skipped %s -> %s in %.2fs", item.source, item.destination, result.duration_s)
    return result


def _in_sync(item: SyncItem, registry: DigestReader) -> tuple[str | None, str] | None:
    """(source, destination) digests when nothing needs copying, as the pipeline decides it.

    An immutable item whose destination tag exists is not compared with its source.
    """
    if item.immutable:
        existing = registry.head_digest(item.destination)
        return (None, existing) if existing is not None else None
    source, destination = registry.head_digests((item.source, item.destination))
    if source is None or destination != source:
        return None
    return source, destination
