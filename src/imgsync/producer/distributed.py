"""The producer's side of a Celery run: enqueue, follow progress, fetch the report.

The producer never runs a mapping itself. It follows the run through the run
store in Redis, so Ctrl-C here only stops the waiting: the workers go on, and
``imgsync status RUN_ID`` picks the run up again.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import click
import redis

from imgsync.adapters.broker_probe import held_task_ids
from imgsync.adapters.runstore import RunPlan, RunStore, connect, is_redis_url
from imgsync.config.settings import Settings
from imgsync.core.mapping import SyncItem
from imgsync.core.plan import PruneTarget
from imgsync.core.render import render_console
from imgsync.core.result import RunReport, SyncResult
from imgsync.errors import ConfigError, RunStateLost
from imgsync.producer.exit_codes import ExitCode
from imgsync.producer.lost_watch import LostWatch
from imgsync.producer.options import SyncOptions
from imgsync.producer.progress import progress

POLL_S = 0.5
#: How long the producer keeps trying when Redis cannot be reached.
OUTAGE_LIMIT_S = 300.0


def open_store(settings: Settings) -> RunStore:
    return RunStore(connect(settings.result_backend_url), expires=settings.result_expires)


@contextmanager
def backend_reached() -> Iterator[None]:
    """A broker or result backend that does not answer is a setting to fix, not a traceback."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise ConfigError(f"cannot reach the broker or result backend: {exc}") from None


def run_distributed_command(
    items: Sequence[SyncItem],
    settings: Settings,
    options: SyncOptions,
    prune: Sequence[PruneTarget] = (),
) -> int:
    """Enqueue the run; unless ``--no-wait``, follow it and finish like embedded mode."""
    from imgsync.producer.sync_command import finish

    store = open_store(settings)
    plan = _enqueue(items, settings, store, dry_run=options.dry_run, prune=prune)
    click.echo(f"run id: {plan.run_id}", err=not options.no_wait)
    if options.no_wait:
        return ExitCode.OK
    try:
        report = _follow(store, plan, settings, len(items), quiet=options.quiet)
    except KeyboardInterrupt:
        click.echo(f"stopped waiting; the run goes on: imgsync status {plan.run_id}", err=True)
        return ExitCode.INTERRUPTED
    return finish(report, settings, options, interrupted=False)


def run_distributed(
    items: Sequence[SyncItem], settings: Settings, *, dry_run: bool, quiet: bool
) -> RunReport:
    """Enqueue ``items`` and wait for their report: for a caller that answers with it."""
    store = open_store(settings)
    plan = _enqueue(items, settings, store, dry_run=dry_run)
    click.echo(f"run id: {plan.run_id}", err=True)
    return _follow(store, plan, settings, len(items), quiet=quiet)


def _follow(
    store: RunStore, plan: RunPlan, settings: Settings, count: int, *, quiet: bool
) -> RunReport:
    with progress(count, quiet=quiet) as sink:
        return wait_for_report(store, plan, on_result=sink, watch=lost_watch(settings, plan))


def _enqueue(
    items: Sequence[SyncItem],
    settings: Settings,
    store: RunStore,
    *,
    dry_run: bool,
    prune: Sequence[PruneTarget] = (),
) -> RunPlan:
    from imgsync.workers.app import process_app
    from imgsync.workers.canvas import build_items_plan

    process_app(settings)  # the current app, which the canvas sends through
    with backend_reached():
        return build_items_plan(items, store, dry_run=dry_run, prune=prune)


def wait_for_report(
    store: RunStore,
    plan: RunPlan,
    *,
    on_result: Callable[[SyncResult], None],
    poll: float = POLL_S,
    outage_limit: float = OUTAGE_LIMIT_S,
    watch: LostWatch | None = None,
) -> RunReport:
    """Poll the run store until the report is there, announcing results as they arrive."""
    seen: set[int] = set()
    down_since: float | None = None
    while True:
        try:
            report = _poll_once(store, plan, seen, on_result, watch)
            down_since = None
        except redis.ConnectionError:
            down_since = _note_outage(down_since, outage_limit, plan.run_id)
            report = None
        if report is not None:
            return report
        _pause(store, plan.run_id, poll)


def _pause(store: RunStore, run_id: str, poll: float) -> None:
    """Until the next poll, cut short when the run's report is saved."""
    try:
        store.wait_reported(run_id, poll)
    except redis.ConnectionError:
        time.sleep(poll)  # the next poll notes the outage


def _poll_once(
    store: RunStore,
    plan: RunPlan,
    seen: set[int],
    on_result: Callable[[SyncResult], None],
    watch: LostWatch | None,
) -> RunReport | None:
    for index, result in sorted(store.new_results(plan.run_id, seen).items()):
        seen.add(index)
        on_result(result)
        if watch is not None:
            watch.progressed()
    report = store.report(plan.run_id)
    if report is None and not store.has_plan(plan.run_id):
        raise RunStateLost(_lost_message(plan.run_id, "Redis no longer knows this run"))
    if report is None and watch is not None:
        _announce_lost(watch.check(seen), plan)
    return report


def lost_watch(settings: Settings, plan: RunPlan) -> LostWatch | None:
    """A watch for messages a Redis broker lost; none for AMQP, whose acks are atomic."""
    url = settings.broker_url.get_secret_value() if settings.broker_url else ""
    if not is_redis_url(url):
        return None
    from imgsync.workers.app import process_app
    from imgsync.workers.names import REPORT_LOST_RUN

    broker, app = connect(url), process_app()
    return LostWatch(
        plan,
        held=lambda: held_task_ids(broker, settings.queue),
        report_lost=lambda lost: app.send_task(REPORT_LOST_RUN, args=(plan.run_id, lost)),
        quiet_after=settings.lost_check_after,
    )


def _announce_lost(lost: list[int] | None, plan: RunPlan) -> None:
    if lost is None:
        return
    names = "; ".join(f"#{i} {plan.items[i]['source']}" for i in lost[:5]) or "the chord body"
    more = f" and {len(lost) - 5} more" if len(lost) > 5 else ""
    click.echo(
        f"imgsync: the broker lost the task message of {names}{more} (a Redis restart?); "
        "a worker now reports the run with those mappings failed (lost). Re-run to copy them.",
        err=True,
    )


def _note_outage(down_since: float | None, limit: float, run_id: str) -> float:
    now = time.monotonic()
    if down_since is None:
        click.echo("result backend unreachable; retrying…", err=True)
        return now
    if now - down_since > limit:
        raise RunStateLost(_lost_message(run_id, f"Redis unreachable for {limit:.0f}s"))
    return down_since


def _lost_message(run_id: str, why: str) -> str:
    return (
        f"run state lost ({why}). The workers may still finish the run: check "
        f"`imgsync status {run_id}`. Re-running the same sync is safe: images already "
        "synced are skipped."
    )


def show_status(settings: Settings, run_id: str, *, as_json: bool) -> int:
    """Print a run's final report, or its progress while it is still going."""
    with backend_reached():
        return _shown_status(open_store(settings), run_id, as_json)


def _shown_status(store: RunStore, run_id: str, as_json: bool) -> int:
    report = store.report(run_id)
    if report is not None:
        click.echo(json.dumps(report.to_dict(), indent=2) if as_json else render_console(report))
        return ExitCode.FAILED if report.failed else ExitCode.OK
    plan = store.plan(run_id)
    if plan is None:
        click.echo(f"imgsync: error: unknown run {run_id} (or expired)", err=True)
        return ExitCode.INPUT
    _print_progress(plan, store.results(run_id), as_json)
    return ExitCode.OK


def _print_progress(plan: RunPlan, done: Mapping[int, SyncResult], as_json: bool) -> None:
    if as_json:
        data = {
            "run_id": plan.run_id,
            "state": "running",
            "total": len(plan.items),
            "done": len(done),
            "results": [done[i].to_dict() for i in sorted(done)],
        }
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"run {plan.run_id}: running, {len(done)}/{len(plan.items)} mappings done")
    sys.stdout.flush()
