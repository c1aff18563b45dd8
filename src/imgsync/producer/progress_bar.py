"""The progress bar on a terminal, with the copies running now named beside it (rich)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
from imgsync.producer.progress import RunDisplay, describe

#: Copies named on the bar at most; more are counted ("+3").
SHOWN_COPIES = 3


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
def bar(total: int) -> Iterator[RunDisplay]:
    """A transient bar on stderr, with the running copies named beside it."""
    columns = (
        TextColumn("sync"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[running]}", markup=False),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield _BarDisplay(bar, bar.add_task("sync", total=total, running=""))
