"""Progress while a run goes on: a bar on a terminal, one plain line per mapping otherwise.

On a terminal the bar also names the copies running now, so a long run shows what it
is busy with, not only how many mappings are done.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from imgsync.core.reference import ImageReference
from imgsync.core.result import SyncResult

ResultSink = Callable[[SyncResult], None]

#: Copies named on the bar at most; more are counted ("+3").
SHOWN_COPIES = 3


def describe(result: SyncResult) -> str:
    """``synced src -> dst (1.2s)``, with the wait and the failure reason when there are any."""
    reason = f" [{result.error.category}: {result.error.message}]" if result.error else ""
    waited = f", waited {result.waited_s:.1f}s" if result.waited_s >= 0.05 else ""
    converted = "converted, " if result.converted else ""
    return (
        f"{result.status.value} {result.source} -> {result.destination} "
        f"({converted}{result.duration_s:.1f}s{waited}){reason}"
    )


class RunDisplay:
    """Takes each finished mapping and, on a terminal, the copies as they start and end."""

    def __init__(self, sink: ResultSink) -> None:
        self._sink = sink

    def __call__(self, result: SyncResult) -> None:
        self._sink(result)

    def copying(self, destination: ImageReference) -> AbstractContextManager[None]:
        """Held while a copy into ``destination`` runs (no-op unless a bar shows it)."""
        return nullcontext()


@contextmanager
def progress(total: int, *, quiet: bool = False) -> Iterator[RunDisplay]:
    """Yield the display that records each finished mapping."""
    if quiet:
        yield RunDisplay(lambda _result: None)
    elif sys.stderr.isatty():
        with _bar(total) as display:
            yield display
    else:
        yield RunDisplay(_lines(total))


def _lines(total: int) -> ResultSink:
    lock = threading.Lock()
    done = [0]

    def sink(result: SyncResult) -> None:
        with lock:
            done[0] += 1
            print(f"[{done[0]}/{total}] {describe(result)}", file=sys.stderr, flush=True)

    return sink


class _BarDisplay(RunDisplay):
    """The rich bar: one line per finished mapping above it, running copies beside it."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        super().__init__(self._print)
        self._bar, self._task = bar, task
        self._running: list[str] = []
        self._lock = threading.Lock()

    def _print(self, result: SyncResult) -> None:
        self._bar.console.print(describe(result), markup=False, highlight=False)
        self._bar.advance(self._task)

    @contextmanager
    def copying(self, destination: ImageReference) -> Iterator[None]:
        self._change(lambda running: running.append(str(destination)))
        try:
            yield
        finally:
            self._change(lambda running: running.remove(str(destination)))

    def _change(self, edit: Callable[[list[str]], None]) -> None:
        with self._lock:
            edit(self._running)
            self._bar.update(self._task, running=running_text(self._running))


def running_text(running: list[str]) -> str:
    """``copying a, b, c +2`` for the bar; empty when nothing is being copied."""
    if not running:
        return ""
    more = len(running) - SHOWN_COPIES
    return "copying " + ", ".join(running[:SHOWN_COPIES]) + (f" +{more}" if more > 0 else "")


@contextmanager
def _bar(total: int) -> Iterator[RunDisplay]:
    columns = (
        TextColumn("sync"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[running]}", markup=False),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield _BarDisplay(bar, bar.add_task("sync", total=total, running=""))
