"""Time a mapping spends waiting for a copy slot or a repository lock, kept apart.

A mapping's ``duration_s`` is the time its own work took: at ``-c 3``, ten 3-second
copies must each report about 3 s, not 3, 6, 9 … because they queued for a slot.
The wrappers that make a copy wait (the embedded slot semaphore, the workers'
repository lock) mark the wait with :func:`waiting`; :func:`sync_item` opens a tally
with :func:`waits_counted` and reports the sum as ``waited_s``. A context variable
carries the tally, so the ``Copier`` protocol stays as it is and each thread (embedded
mode) or task (a worker) counts only its own waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from contextvars import ContextVar

_tally: ContextVar[list[float] | None] = ContextVar("imgsync_wait_tally", default=None)


@contextmanager
def waits_counted() -> Iterator[Callable[[], float]]:
    """Count the waits marked inside; yields a function returning the seconds so far."""
    tally = [0.0]
    token = _tally.set(tally)
    try:
        yield lambda: tally[0]
    finally:
        _tally.reset(token)


@contextmanager
def waiting(clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Mark the block as waiting (for a slot, a lock): it adds to the open tally, if any."""
    started = clock()
    try:
        yield
    finally:
        tally = _tally.get()
        if tally is not None:
            tally[0] += clock() - started


@contextmanager
def acquired(
    resource: AbstractContextManager[object], clock: Callable[[], float] = time.monotonic
) -> Iterator[None]:
    """Hold ``resource`` (a lock, a copy slot); the time it took to get counts as waiting."""
    with ExitStack() as held:
        with waiting(clock):
            held.enter_context(resource)
        yield
