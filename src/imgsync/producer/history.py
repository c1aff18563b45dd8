"""``imgsync runs``: the recent distributed runs, read from the run store in Redis.

The run index (``imgsync:runs``) outlives the per-run keys, which expire after
``result_expires``; a run whose plan and report are both gone is left out
rather than shown half-known.
"""

from __future__ import annotations

import json
from typing import Any

import click

from imgsync.adapters.runstore import RunStore
from imgsync.config.settings import Settings
from imgsync.core.result import summarize
from imgsync.producer.exit_codes import ExitCode


def run_summaries(store: RunStore, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` runs, newest first: finished ones from their report."""
    found = (_summary(store, run_id) for run_id in store.recent_runs(limit))
    return [summary for summary in found if summary is not None]


def _summary(store: RunStore, run_id: str) -> dict[str, Any] | None:
    report = store.report(run_id)
    if report is not None:
        total = len(report.results)
        return {
            "run_id": run_id,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "state": "done",
            "total": total,
            "done": total,
            "summary": report.summary,
        }
    plan = store.plan(run_id)
    if plan is None:
        return None
    results = store.results(run_id)
    return {
        "run_id": run_id,
        "started_at": plan.started_at,
        "finished_at": None,
        "state": "running",
        "total": len(plan.items),
        "done": len(results),
        "summary": summarize(results.values()),
    }


def run_line(run: dict[str, Any]) -> str:
    """One console line per run: id, start, state, then the counts so far."""
    counts = " ".join(f"{status}={count}" for status, count in run["summary"].items())
    progress = f"{run['done']}/{run['total']}"
    return f"{run['run_id']}  {run['started_at']}  {run['state']:<7}  {progress}  {counts}"


def show_runs(settings: Settings, *, limit: int, as_json: bool) -> int:
    """Print the recent runs (a JSON list with ``as_json``); no runs is not an error."""
    from imgsync.producer.distributed import backend_reached, open_store

    with backend_reached():
        runs = run_summaries(open_store(settings), limit)
    if as_json:
        click.echo(json.dumps(runs, indent=2))
        return ExitCode.OK
    if not runs:
        click.echo("no runs recorded (or all expired)", err=True)
    for run in runs:
        click.echo(run_line(run))
    return ExitCode.OK
