"""Schedules of a sync file: Celery beat's entries, and starting one run without overlap.

Beat only sends ``imgsync.scheduled_run`` messages; a worker plans the sync file
and enqueues the run like a producer would. Each schedule keeps the id of its last
run in Redis (``imgsync:schedule:<name>``): while that run has a plan but no report
it is still going, and the new one is skipped and logged rather than piled on top.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery.schedules import crontab

from imgsync.adapters.runstore import RunStore
from imgsync.config.syncfile import ScheduleSpec
from imgsync.config.syncload import load_sync_file
from imgsync.core.plan import Plan
from imgsync.runtime.planning import build_plan
from imgsync.workers import context
from imgsync.workers.names import SCHEDULED_RUN

log = logging.getLogger(__name__)

SCHEDULE_PREFIX = "imgsync:schedule:"
#: How long one worker may take to decide and enqueue before another may try.
GUARD_TTL_S = 120


def beat_schedule(schedules: Sequence[ScheduleSpec], config: Path, queue: str) -> dict[str, Any]:
    """Celery's ``beat_schedule``: one entry per schedule, sent to the workers' queue."""
    return {f"imgsync:{s.name}": _entry(s, config.absolute(), queue) for s in schedules}


def _entry(schedule: ScheduleSpec, config: Path, queue: str) -> dict[str, Any]:
    options: dict[str, Any] = {"queue": queue}
    if schedule.every is not None:
        timing: Any = timedelta(seconds=schedule.every)
        options["expires"] = schedule.every  # a tick nobody took in time is stale
    else:
        minute, hour, day, month, weekday = (schedule.cron or "").split()
        timing = crontab(minute, hour, weekday, day, month)
    kwargs = {"name": schedule.name, "config": str(config), "dry_run": schedule.dry_run}
    return {
        "task": SCHEDULED_RUN,
        "schedule": timing,
        "kwargs": kwargs,
        "options": options,
    }


def start_scheduled_run(name: str, config: Path, *, dry_run: bool) -> str | None:
    """Enqueue a run of the sync file unless this schedule's previous run is still going."""
    client, store = context.redis_client(), context.run_store()
    guard = f"{SCHEDULE_PREFIX}{name}:guard"
    if not client.set(guard, "1", nx=True, ex=GUARD_TTL_S):
        log.warning("schedule %s: another worker is starting it; skipped", name)
        return None
    try:
        running = _running_run(store, client.get(f"{SCHEDULE_PREFIX}{name}"))
        if running is not None:
            log.warning("schedule %s: run %s is still going; this run is skipped", name, running)
            return None
        return _enqueue(name, config, store, dry_run=dry_run)
    finally:
        client.delete(guard)


def _running_run(store: RunStore, raw: bytes | str | None) -> str | None:
    if raw is None:
        return None
    run_id = raw.decode() if isinstance(raw, bytes) else raw
    going = store.plan(run_id) is not None and store.report(run_id) is None
    return run_id if going else None


def _enqueue(name: str, config: Path, store: RunStore, *, dry_run: bool) -> str:
    from imgsync.workers.canvas import build_items_plan

    plan = _plan(config)
    run = build_items_plan(plan.items, store, dry_run=dry_run, prune=plan.prune)
    settings = context.get_settings()
    store.client.set(f"{SCHEDULE_PREFIX}{name}", run.run_id, ex=int(settings.result_expires))
    log.info("schedule %s: started run %s (%d mappings)", name, run.run_id, len(plan.items))
    return run.run_id


def _plan(config: Path) -> Plan:
    """The sync file's plan, read again on every tick so edits apply without a restart."""
    sync_file = load_sync_file(config)
    plan = build_plan(sync_file, (), context.get_settings().with_sync_file(sync_file))
    if not sync_file.spec.signatures:
        return plan
    return replace(plan, items=tuple(replace(item, signatures=True) for item in plan.items))
