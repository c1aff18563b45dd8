"""What the tasks do, kept apart from the task declarations so each stays a few lines."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any

import redis

from imgsync.adapters.destination_lock import destination_lock, repository_lock
from imgsync.adapters.notify import notify_all
from imgsync.adapters.result_redaction import redacted
from imgsync.adapters.runstore import RunPlan
from imgsync.config.settings import Settings
from imgsync.core.clock import utc_now
from imgsync.core.codec import decode
from imgsync.core.manifest_format import Format
from imgsync.core.mapping import SyncItem
from imgsync.core.pipeline import Copier, DigestReader, sync_item
from imgsync.core.plan import PruneOrder
from imgsync.core.quota import quota_usage
from imgsync.core.reference import ImageReference
from imgsync.core.result import Category, ErrorInfo, RunReport, Status, SyncResult
from imgsync.core.waiting import acquired
from imgsync.runtime.attached import AttachedCopier, with_attached
from imgsync.runtime.holds import RedisHolds
from imgsync.runtime.pruning import prune_all
from imgsync.runtime.services import build_channels
from imgsync.runtime.unlocked_check import unlocked_skip
from imgsync.workers import context
from imgsync.workers.metrics import record_result, remaining_by_registry

log = logging.getLogger(__name__)


def run_one(
    item: SyncItem, index: int, run_id: str, *, request: Any, dry_run: bool, attempts: int
) -> SyncResult:
    """The shared pipeline under the destination lock (raises DestinationBusy).

    A mapping found in sync before the lock is taken skips without it: no copy, no lock.
    Its token comes from a batch fetched for the run's next mappings (``token_warmup``).
    """
    settings, services = context.get_settings(), context.services()
    worker = request.hostname or ""
    ttl = hard_limit(request, settings) + 60
    owner = f"{run_id}:{index}:{request.id}"
    client = context.redis_client()
    holds = RedisHolds(client, run_id, owner, ttl, settings.copy_timeout)  # see core.via
    context.token_warm_up().before(run_id, index)
    skipped = unlocked_skip(
        item, services.registry, worker=worker, attempts=attempts, written=holds.written
    )
    if skipped is not None:
        return redacted(skipped)
    copier = RepositorySerialCopier(
        services.copier, client, owner, ttl, settings.copy_timeout, services.registry
    )
    attached = None if dry_run else AttachedCopier(services.registry, copier)
    with destination_lock(client, str(item.destination), owner=owner, ttl=ttl):
        result = sync_item(
            item,
            registry=services.registry,
            copier=copier,
            dry_run=dry_run,
            worker=worker,
            attempts=attempts,
            estimator=services.copier,
            hold=holds,
            push_check=services.push_checks,
        )
        return redacted(with_attached(result, item, attached))


def store_final_result(run_id: str, index: int, result: SyncResult) -> None:
    """Store a mapping's final result for the run, then count it in the metrics.

    Only final results are counted (not attempts that are retried), so the
    counters add up to the reports' summaries. A worker without ``--metrics-port``
    serves no metrics: it skips them, and the quota board's read (a Redis round trip
    per task, most of a skip's own Redis time).
    """
    context.run_store().add_result(run_id, index, result)
    if context.get_settings().metrics_port is None:
        return
    observed = context.quota_board().observed()
    record_result(result, remaining_by_registry(observed))


@dataclass(frozen=True, slots=True)
class RepositorySerialCopier:
    """One copy at a time into a destination repository, across all workers.

    Once the repository is ours, the destination is read again: a copy that waited may
    find the digest already there (another run pushed it while the tag lock was gone,
    say after Redis lost its data), and pushing the same image twice is then skipped.
    """

    copier: Copier
    client: redis.Redis
    owner: str
    ttl: float
    wait: float
    registry: DigestReader

    def copy(
        self,
        source: ImageReference,
        destination: ImageReference,
        convert_to: Format | None = None,
    ) -> str | None:
        with acquired(self._lock(destination)):  # the wait is not this mapping's own work
            if source.digest and self.registry.head_digest(destination) == source.digest:
                log.info("%s already holds %s: not copied again", destination, source.digest)
                return source.digest
            return self.copier.copy(source, destination, convert_to)

    def _lock(self, destination: ImageReference) -> AbstractContextManager[None]:
        return repository_lock(
            self.client, destination.name, owner=self.owner, ttl=self.ttl, wait=self.wait
        )


def hard_limit(request: Any, settings: Settings) -> float:
    """The hard time limit this task runs under: the one its message carries.

    Celery puts the *producer's* limits in each message and the worker enforces them,
    so lock lifetimes and lock-wait budgets follow the message too; the worker's own
    setting counts only for a message without limits.
    """
    limits = getattr(request, "timelimit", None) or (None, None)
    return float(limits[0]) if limits[0] else settings.task_time_limit


def lock_wait_exhausted(settings: Settings, lock_waits: int, request: Any) -> bool:
    """Wait for a busy destination at most about twice the hard time limit."""
    return lock_waits * settings.lock_retry_delay > 2 * hard_limit(request, settings)


def busy_result(item: SyncItem, *, attempts: int, worker: str) -> SyncResult:
    return _failed(
        item, Category.OTHER, "destination stayed locked by another run", worker, attempts
    )


def _failed(
    item: SyncItem | dict[str, Any],
    category: Category,
    message: str,
    worker: str = "",
    attempts: int = 1,
) -> SyncResult:
    data = item.to_dict() if isinstance(item, SyncItem) else item
    return SyncResult(
        source=data["source"],
        destination=data["destination"],
        status=Status.FAILED,
        error=ErrorInfo(category, message),
        attempts=attempts,
        worker=worker,
    )


def finish_run(
    run_id: str, raw_results: Sequence[dict[str, Any]], prune: dict[str, Any] | None = None
) -> RunReport:
    """Build, store and announce the report from the chord's results (input order).

    ``prune`` (``{"targets": [...], "dry_run": bool}``) runs after every copy;
    its results follow the copies' in the report.
    """
    results = tuple(decode(SyncResult, r) for r in raw_results)
    return _publish(run_id, results + tuple(_prune(prune)))


def _prune(prune: dict[str, Any] | None) -> list[SyncResult]:
    if not prune:
        return []
    order = decode(PruneOrder, prune)
    return prune_all(order.targets, context.services().registry, dry_run=order.dry_run)


def salvage_run(run_id: str, reason: str) -> RunReport:
    """A report from what the tasks recorded; what never finished is named as failed."""
    store = context.run_store()
    plan = store.plan(run_id)
    if plan is None:
        raise LookupError(f"run {run_id} has no stored plan (expired?)")
    done = store.results(run_id)
    results = tuple(done.get(i) or _missing(plan, i, reason) for i in range(len(plan.items)))
    return _publish(run_id, results)


def _missing(plan: RunPlan, index: int, reason: str) -> SyncResult:
    """Why a mapping has no result: ask the backend what became of its task."""
    from imgsync.workers.app import app

    outcome = app.AsyncResult(plan.task_ids[index])
    category, message = _classify_lost(outcome.state, outcome.result, reason)
    return _failed(plan.items[index], category, message, attempts=0)


def _classify_lost(state: str, error: object, reason: str) -> tuple[Category, str]:
    name = type(error).__name__
    if name in ("TimeLimitExceeded", "SoftTimeLimitExceeded"):
        return Category.TIMEOUT, f"hard time limit exceeded: {error}"
    if state == "REVOKED":
        return Category.INTERRUPTED, "task revoked"
    if name == "WorkerLostError":
        return Category.LOST, f"worker lost: {error}"
    return Category.LOST, f"no result ({state}): {reason}"


def _publish(run_id: str, results: tuple[SyncResult, ...]) -> RunReport:
    store = context.run_store()
    plan = store.plan(run_id)
    started = plan.started_at if plan else utc_now()
    quota = quota_usage(results, context.quota_board().observed())
    report = RunReport(run_id, "celery", started, utc_now(), results, quota=quota)
    if store.claim_report(run_id):  # only the first of chord body, errback and salvage
        report = _notified(report)
    else:
        log.warning("run %s was already reported; not notifying again", run_id)
        existing = store.report(run_id)
        if existing is not None:
            return existing
    store.save_report(report)
    log.info("run %s finished: %s", run_id, report.summary)
    return report


def _notified(report: RunReport) -> RunReport:
    """The report with the outcome of sending it to every configured channel."""
    settings = context.get_settings()
    sent = notify_all(build_channels(settings), report, policy=settings.notify_on)
    return replace(report, notifications=sent)
