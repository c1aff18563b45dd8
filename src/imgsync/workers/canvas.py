"""Build and enqueue one run: a chord of ``sync_image`` tasks and ``aggregate_run``.

Task ids are chosen here and stored in the run plan, so progress, status and the
errback can follow every mapping without asking the broker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from celery import chord, current_app, group
from kombu.exceptions import OperationalError
from kombu.utils.uuid import uuid

from imgsync.adapters.redact import redact_url
from imgsync.adapters.runstore import RunPlan, RunStore
from imgsync.core.clock import new_run_id, utc_now
from imgsync.core.mapping import SyncItem
from imgsync.core.plan import PruneTarget
from imgsync.core.via import share_sources
from imgsync.errors import ConfigError
from imgsync.workers.names import AGGREGATE_RUN, ON_RUN_ERROR, SYNC_IMAGE


def plan_run(items: Sequence[SyncItem], *, dry_run: bool) -> RunPlan:
    """Ids for the run, every task and the chord body; a source's destinations share it."""
    items = share_sources(items)
    return RunPlan(
        run_id=new_run_id(),
        started_at=utc_now(),
        items=tuple(item.to_dict() for item in items),
        task_ids=tuple(uuid() for _ in items),
        body_id=uuid(),
        dry_run=dry_run,
    )


def enqueue(plan: RunPlan, store: RunStore, prune: Sequence[PruneTarget] = ()) -> None:
    """Store the plan first (the errback needs it), then send the chord.

    Prune targets ride on the chord body, which prunes once every copy is done.
    """
    store.save_plan(plan)
    app, limits = current_app, _time_limits()
    header = group(
        app.signature(
            SYNC_IMAGE,
            kwargs={"item": item, "index": i, "run_id": plan.run_id, "dry_run": plan.dry_run},
            task_id=task_id,
            ignore_result=True,
            argsrepr="()",
            kwargsrepr=_shown(i, item),
            **limits,
        )
        for i, (item, task_id) in enumerate(zip(plan.items, plan.task_ids, strict=True))
    )
    body_kwargs: dict[str, object] = {"run_id": plan.run_id}
    if prune:
        targets = [target.to_dict() for target in prune]
        body_kwargs["prune"] = {"targets": targets, "dry_run": plan.dry_run}
    body = app.signature(AGGREGATE_RUN, kwargs=body_kwargs, task_id=plan.body_id)
    body.on_error(app.signature(ON_RUN_ERROR, kwargs={"run_id": plan.run_id}))
    chord(header)(body)


def _time_limits() -> dict[str, float | None]:
    """This side's limits, written into every message: workers enforce what it carries."""
    conf = current_app.conf
    return {"time_limit": conf.task_time_limit, "soft_time_limit": conf.task_soft_time_limit}


def _shown(index: int, item: Mapping[str, Any]) -> str:
    """What Flower and worker logs show for a task; Celery's own ``saferepr`` of the
    arguments was a large part of enqueueing (``docs/benchmarks.md``, Findings 8).
    """
    return f"#{index} {item.get('source')} -> {item.get('destination')}"


def build_items_plan(
    items: Sequence[SyncItem],
    store: RunStore,
    *,
    dry_run: bool,
    prune: Sequence[PruneTarget] = (),
) -> RunPlan:
    """Plan and send the run; a broker that cannot be reached is a configuration error."""
    plan = plan_run(items, dry_run=dry_run)
    try:
        enqueue(plan, store, prune)
    except OperationalError as exc:  # kombu could not publish: the broker (amqp://…) is down
        store.forget(plan.run_id)  # or `imgsync status` would show it running, 0 done
        broker = redact_url(str(current_app.conf.broker_url or ""))
        raise ConfigError(f"cannot reach the broker {broker}: {exc}") from None
    return plan
