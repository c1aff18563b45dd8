"""Progress while a run goes on: a bar on a terminal, one plain line per mapping otherwise."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from imgsync.core.result import SyncResult

ResultSink = Callable[[SyncResult], None]


def describe(result: SyncResult) -> str:
    """``synced src -> dst (1.2s)``, with the failure reason when there is one."""
    reason = f" [{result.error.category}: {result.error.message}]" if result.error else ""
    return (
        f"{result.status.value} {result.source} -> {result.destination} "
        f"({result.duration_s:.1f}s){reason}"
    )


@contextmanager
def progress(total: int, *, quiet: bool = False) -> Iterator[ResultSink]:
    """Yield the callback that records each finished mapping."""
    if quiet:
        yield lambda _result: None
    elif sys.stderr.isatty():
        with _bar(total) as sink:
            yield sink
    else:
        yield _lines(total)


def _lines(total: int) -> ResultSink:
    lock = threading.Lock()
    done = [0]

    def sink(result: SyncResult) -> None:
        with lock:
            done[0] += 1
            print(f"[{done[0]}/{total}] {describe(result)}", file=sys.stderr, flush=True)

    return sink


@contextmanager
def _bar(total: int) -> Iterator[ResultSink]:
    columns = (TextColumn("sync"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("sync", total=total)

        def sink(result: SyncResult) -> None:
            bar.console.print(describe(result), markup=False, highlight=False)
            bar.advance(task)

        yield sink
