"""Progress while a run goes on: a bar on a terminal, one plain line per mapping otherwise.

On a terminal the bar (:mod:`.progress_bar`) also names the copies running now, so a long
run shows what it is busy with, not only how many mappings are done. rich is imported only
for the bar: a quiet run or one logging to a file never loads it (about 40 ms of start-up).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from imgsync.core.reference import ImageReference
from imgsync.core.result import SyncResult

ResultSink = Callable[[SyncResult], None]


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
        from imgsync.producer.progress_bar import bar

        with bar(total) as display:
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
