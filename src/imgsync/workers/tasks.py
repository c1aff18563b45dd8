"""The Celery tasks: deserialise, call the core, handle retries. Nothing else.

Expected failures are *returned* as ``failed`` results so the chord body always
runs; what a task cannot catch (hard time limit, lost worker, revoke) reaches
``on_run_error``, which still writes a report naming those mappings as failed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Task

from imgsync.adapters.ratelimit import Backoff
from imgsync.core.codec import decode
from imgsync.core.mapping import SyncItem
from imgsync.core.result import RunReport
from imgsync.errors import DestinationBusy
from imgsync.workers import context
from imgsync.workers.app import app
from imgsync.workers.execution import (
    busy_result,
    finish_run,
    lock_wait_exhausted,
    run_one,
    salvage_run,
    store_final_result,
)
from imgsync.workers.metrics import record_lock_wait, record_retry
from imgsync.workers.names import (
    AGGREGATE_RUN,
    ON_RUN_ERROR,
    REPORT_LOST_RUN,
    SCHEDULED_RUN,
    SYNC_IMAGE,
)
from imgsync.workers.schedules import start_scheduled_run

log = logging.getLogger(__name__)

#: Task retries: first pause ≤ 2 s, doubling, never above 10 minutes; fully jittered.
TASK_BACKOFF = Backoff(base=2.0, cap=600.0)


#: The producer sends these with ``ignore_result`` (the chord collects the results, and
#: not subscribing to a result channel per task makes enqueueing much faster:
#: ``docs/benchmarks.md``, Findings 8); failures are still stored, so the errback can
#: tell a hard time limit from a lost worker.
@app.task(bind=True, name=SYNC_IMAGE, max_retries=None, store_errors_even_if_ignored=True)
def sync_image(
    self: Task,
    item: dict[str, Any],
    index: int,
    run_id: str,
    dry_run: bool = False,
    failures: int = 0,
    lock_waits: int = 0,
) -> dict[str, Any]:
    """Sync one mapping; retry later when its destination is locked or a fault may pass."""
    settings, kwargs = context.get_settings(), dict(self.request.kwargs)
    mapping = decode(SyncItem, item)
    try:
        result = run_one(
            mapping, index, run_id, request=self.request, dry_run=dry_run, attempts=failures + 1
        )
    except DestinationBusy:
        if lock_wait_exhausted(settings, lock_waits, self.request):
            result = busy_result(mapping, attempts=failures + 1, worker=self.request.hostname)
        else:
            kwargs["lock_waits"] = lock_waits + 1
            record_lock_wait()
            log.info("%s is busy: again in %gs", mapping.destination, settings.lock_retry_delay)
            raise self.retry(kwargs=kwargs, countdown=settings.lock_retry_delay) from None
    if result.retryable and failures < settings.max_retries:
        kwargs["failures"], delay = failures + 1, TASK_BACKOFF.delay(failures)
        record_retry()
        reason = result.error.message if result.error else "?"
        log.info("%s failed (%s): retry %d in %.1fs", mapping, reason, failures + 1, delay)
        raise self.retry(kwargs=kwargs, countdown=delay)
    store_final_result(run_id, index, result)
    return result.to_dict()


@app.task(name=AGGREGATE_RUN)
def aggregate_run(
    results: list[dict[str, Any]], run_id: str, prune: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The chord body: prune (when the sync file asks), one report, one notification."""
    report: RunReport = finish_run(run_id, results, prune)
    return report.to_dict()


@app.task(name=REPORT_LOST_RUN)
def report_lost_run(run_id: str, missing: list[int]) -> None:
    """Sent by a producer that found task messages lost by the broker: report the run now."""
    salvage_run(run_id, reason=f"the broker lost the task message of mapping(s) {missing}")


@app.task(name=ON_RUN_ERROR)
def on_run_error(request: Any, exc: BaseException, traceback: Any, run_id: str) -> None:
    """Errback of the chord body: a task died in a way it could not report itself."""
    salvage_run(run_id, reason=f"{type(exc).__name__}: {exc}")


@app.task(name=SCHEDULED_RUN)
def scheduled_run(name: str, config: str, dry_run: bool = False) -> str | None:
    """A beat tick: start a run of the sync file unless this schedule's last one still goes."""
    return start_scheduled_run(name, Path(config), dry_run=dry_run)
