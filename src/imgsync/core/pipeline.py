"""The inspect → compare → copy pipeline for one mapping, shared by every mode.

The compare uses digests read with HEAD requests only: Docker Hub counts manifest
GETs as pulls and HEADs as free, so an unchanged image costs no quota. The copy is
pinned to the digest just compared, so a tag moving upstream mid-run cannot make us
copy something else than what we decided to copy.

Two item options change the steps: an *immutable* item whose destination tag
exists is skipped after one HEAD of the destination, with no request to the
source at all; an item with *platforms* goes through :mod:`imgsync.core.subset`.

On a registry that meters pulls, an *estimator* tells what the copy will cost
(a dry run reports it as the pulls needed), and a copier that guards the quota
may refuse to start the copy: the mapping then ends ``deferred``, not failed.

An item with a *via* (a source with several destinations) copies from that other
destination once it holds the digest, so the source is read once (:mod:`imgsync.core.via`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace

from imgsync.core.converting import sync_converting
from imgsync.core.manifest_format import Format
from imgsync.core.mapping import SyncItem
from imgsync.core.ports import Copier, DigestReader, PullEstimator, PushCheck
from imgsync.core.reference import ImageReference
from imgsync.core.result import Category, ErrorInfo, Status, StepResult, SyncResult
from imgsync.core.subset import sync_subset
from imgsync.core.via import DestinationHold, read_from
from imgsync.core.waiting import waits_counted
from imgsync.errors import ImgsyncError, NotFound, QuotaExhausted

log = logging.getLogger(__name__)

#: The ports stay importable from here, where callers have always found them.
__all__ = [
    "Copier",
    "DigestReader",
    "PullEstimator",
    "PushCheck",
    "describe_exception",
    "sync_item",
]


def sync_item(
    item: SyncItem,
    *,
    registry: DigestReader,
    copier: Copier,
    dry_run: bool = False,
    worker: str = "",
    attempts: int = 1,
    clock: Callable[[], float] = time.monotonic,
    estimator: PullEstimator | None = None,
    push_check: PushCheck | None = None,
    hold: DestinationHold | None = None,
) -> SyncResult:
    """Bring one destination up to date; every failure becomes a ``failed`` result."""
    started = clock()
    with waits_counted() as waited:
        metered = _MeteredCopier(copier, estimator, push_check, hold)
        outcome = _guarded(item, registry, metered, dry_run)
    elapsed, waited_s = clock() - started, waited()
    result = SyncResult(
        source=str(item.source),
        destination=str(item.destination),
        status=outcome.status,
        source_digest=outcome.source_digest,
        destination_digest=outcome.destination_digest,
        error=outcome.error,
        attempts=attempts,
        duration_s=max(elapsed - waited_s, 0.0),
        waited_s=waited_s,
        worker=worker,
        pulls=outcome.pulls,
        converted=outcome.converted,
    )
    _log_result(result)
    return result


@dataclass(frozen=True, slots=True)
class _MeteredCopier:
    """The copier and the optional pull estimator, passed down the steps as one."""

    copier: Copier
    estimator: PullEstimator | None
    push_check: PushCheck | None = None
    hold: DestinationHold | None = None

    def copy(
        self,
        source: ImageReference,
        destination: ImageReference,
        convert_to: Format | None = None,
    ) -> str | None:
        if convert_to is None:  # the plain call every copier knows
            return self.copier.copy(source, destination)
        return self.copier.copy(source, destination, convert_to)

    def pulls(self, source: ImageReference) -> int:
        return self.estimator.pulls(source) if self.estimator is not None else 0

    def check_push(self, destination: ImageReference) -> None:
        """Before a copy (or a dry run's would_sync): a destination that must be created first."""
        if self.push_check is not None:
            self.push_check.check_push(destination)

    def holding(self, destination: ImageReference) -> AbstractContextManager[None]:
        """The runner's lock for ``destination`` while a via is written (none without one)."""
        return self.hold.hold(destination) if self.hold is not None else nullcontext()

    def written(self, destination: ImageReference) -> str | None:
        """The digest this run already wrote into ``destination``, if it did."""
        return self.hold.written(destination) if self.hold is not None else None

    def record(self, destination: ImageReference, digest: str) -> None:
        if self.hold is not None:
            self.hold.record(destination, digest)


def _guarded(
    item: SyncItem, registry: DigestReader, copier: _MeteredCopier, dry_run: bool
) -> StepResult:
    """Run the steps; turn any exception into a failed outcome so other mappings go on."""
    try:
        return _steps(item, registry, copier, dry_run)
    except QuotaExhausted as exc:  # a platform subset's copy found the quota spent
        error = ErrorInfo(Category.RATE_LIMITED, str(exc))
        return StepResult(Status.DEFERRED, error=error, pulls=exc.pulls)
    except Exception as exc:  # a bug or an unforeseen library error must not stop the run
        return StepResult(Status.FAILED, error=describe_exception(exc))


#: Celery's time-limit exceptions, recognised by name so the core never imports celery.
TIMEOUT_NAMES = frozenset({"SoftTimeLimitExceeded", "TimeLimitExceeded"})


def describe_exception(exc: Exception) -> ErrorInfo:
    """The category and message a failed result shows for ``exc``."""
    if isinstance(exc, ImgsyncError):
        return ErrorInfo(exc.category, str(exc))
    if isinstance(exc, TimeoutError) or type(exc).__name__ in TIMEOUT_NAMES:
        return ErrorInfo(Category.TIMEOUT, f"time limit exceeded ({type(exc).__name__})")
    log.error("unexpected error", exc_info=exc)
    return ErrorInfo(Category.OTHER, f"unexpected {type(exc).__name__}: {exc}")


def _steps(
    item: SyncItem, registry: DigestReader, copier: _MeteredCopier, dry_run: bool
) -> StepResult:
    if item.immutable:
        existing = registry.head_digest(item.destination)
        if existing is not None:  # immutable and present: the source is not even asked
            return StepResult(Status.SKIPPED, None, existing)
    if item.platforms is not None or item.writes is not None:
        return _own_path(item, registry, copier, dry_run)
    source_digest, destination_digest = _digests(item, registry)
    if item.shared and copier.written(item.destination) == source_digest:
        return StepResult(Status.SYNCED, source_digest, source_digest)  # written as a via
    if destination_digest == source_digest:
        return StepResult(Status.SKIPPED, source_digest, destination_digest)
    return _copy_stale(item, (source_digest, destination_digest), registry, copier, dry_run)


def _copy_stale(
    item: SyncItem,
    digests: tuple[str, str | None],
    registry: DigestReader,
    copier: _MeteredCopier,
    dry_run: bool,
) -> StepResult:
    """Copy the source digest (or the via's copy of it) and check what landed."""
    source_digest, destination_digest = digests
    copier.check_push(item.destination)
    pinned, spent = read_from(item, source_digest, registry, copier, dry_run=dry_run)
    if dry_run:
        pulls = spent + copier.pulls(pinned)
        return StepResult(Status.WOULD_SYNC, source_digest, destination_digest, pulls=pulls)
    try:  # the cost is asked after the copy: asked first, it may read the source index
        copier.copy(pinned, item.destination)  # for a copy that then ends deferred
    except QuotaExhausted as exc:
        error = ErrorInfo(Category.RATE_LIMITED, str(exc))
        pulls = spent + exc.pulls
        return StepResult(Status.DEFERRED, source_digest, destination_digest, error, pulls)
    pulls = spent + copier.pulls(pinned)
    return replace(_recorded(_verify(item, registry, source_digest), item, copier), pulls=pulls)


def _recorded(step: StepResult, item: SyncItem, copier: _MeteredCopier) -> StepResult:
    """A verified write is noted for the run: an item reading this destination as its via
    copies that digest instead of writing the destination a second time."""
    if step.status is Status.SYNCED and step.source_digest is not None:
        copier.record(item.destination, step.source_digest)
    return step


def _own_path(
    item: SyncItem, registry: DigestReader, copier: _MeteredCopier, dry_run: bool
) -> StepResult:
    """A platform subset, or a destination that may need a format conversion."""
    if item.platforms is not None:
        return sync_subset(item, registry, copier, dry_run)
    return sync_converting(item, registry, copier, dry_run)


def _digests(item: SyncItem, registry: DigestReader) -> tuple[str, str | None]:
    """Source and destination digests, read together; a missing source ends the mapping."""
    source_digest, destination_digest = registry.head_digests((item.source, item.destination))
    if source_digest is None:
        raise NotFound(f"source {item.source} does not exist (manifest unknown)")
    return source_digest, destination_digest


def _verify(item: SyncItem, registry: DigestReader, source_digest: str) -> StepResult:
    """The copy only counts when the destination now serves the source's digest."""
    written = registry.head_digest(item.destination)
    if written == source_digest:
        return StepResult(Status.SYNCED, source_digest, written)
    message = f"destination has {written or 'nothing'} after the copy, expected {source_digest}"
    return StepResult(
        Status.FAILED, source_digest, written, ErrorInfo(Category.DIGEST_MISMATCH, message)
    )


def _log_result(result: SyncResult) -> None:
    """One line per mapping: outcome and duration (the worker log users grep)."""
    reason = f" ({result.error.category}: {result.error.message})" if result.error else ""
    waited = f" (waited {result.waited_s:.2f}s for a copy slot)" if result.waited_s >= 0.005 else ""
    log.info(
        "%s %s -> %s in %.2fs%s%s",
        result.status.value,
        result.source,
        result.destination,
        result.duration_s,
        waited,
        reason,
    )
