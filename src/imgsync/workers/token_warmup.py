"""Tokens for a run's next mappings, fetched in batches before the first of them is checked.

Embedded mode warms every scope of a run up front (:meth:`RegistryPool.warm_up`): a handful
of token requests for hundreds of repositories. A worker sees one mapping per task, so
without this each task of a token registry paid a token round trip of its own before its
HEAD: one more round trip and one more request per unchanged image. Here a process reads
the run's plan once, and the first task of each window of ``WINDOW`` mappings fetches one
token per ``TOKEN_BATCH`` scopes of the window, on threads kept for the process's life (a
libcurl handle belongs to a thread: new threads would open new connections each time),
and starts on the next window in the background, so only a run's first task waits.
A scope the batch missed is met by the registry's 401 and fetched alone, as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from imgsync.adapters.registry_pool import TOKEN_BATCH, RegistryPool
from imgsync.core.codec import decode
from imgsync.core.mapping import SyncItem
from imgsync.core.reference import ImageReference

log = logging.getLogger(__name__)

#: Mappings warmed at once: eight token requests in parallel, about 20 tasks per process.
WINDOW = 8 * TOKEN_BATCH
THREADS = 8
#: Runs whose plans a process keeps (a worker usually serves one run at a time).
PLANS_KEPT = 2

PlanItems = Callable[[str], Sequence[dict[str, Any]] | None]


class TokenWarmUp:
    """Per process: which windows of which runs are warmed, or being warmed right now."""

    def __init__(self, registry: RegistryPool, plan_items: PlanItems) -> None:
        self._registry, self._plan_items = registry, plan_items
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, int], threading.Event] = {}
        self._plans: dict[str, Sequence[dict[str, Any]]] = {}
        self._pinged: set[str] = set()
        self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="token-warm-up")
        self._ahead = ThreadPoolExecutor(1, thread_name_prefix="token-warm-up-ahead")

    def before(self, run_id: str, index: int) -> None:
        """Warm the window holding ``index`` (or wait while another thread does), then start
        on the next one in the background, so that later tasks find their tokens ready."""
        window = index // WINDOW
        event, mine = self._claim(run_id, window)
        if mine:
            self._warm_then_set(run_id, window, event)
        else:
            event.wait()
        ahead, mine = self._claim(run_id, window + 1)
        if mine:
            self._ahead.submit(self._warm_then_set, run_id, window + 1, ahead)

    def _claim(self, run_id: str, window: int) -> tuple[threading.Event, bool]:
        """The window's event, and whether this caller is the one to warm it."""
        with self._lock:
            event = self._windows.get((run_id, window))
            if event is not None:
                return event, False
            event = self._windows[(run_id, window)] = threading.Event()
            return event, True

    def _warm_then_set(self, run_id: str, window: int, event: threading.Event) -> None:
        try:
            self._warm(run_id, window)
        except Exception as exc:  # a warm-up is optional: the task's own requests report
            log.debug("token warm-up of run %s failed: %s", run_id, exc)
        finally:
            event.set()

    def _warm(self, run_id: str, window: int) -> None:
        items = self._plan(run_id)[window * WINDOW : (window + 1) * WINDOW]
        self._registry.warm_up_on(self._threads, _first_reads(items), needs_ping=self._unpinged)

    def _plan(self, run_id: str) -> Sequence[dict[str, Any]]:
        with self._lock:
            found = self._plans.get(run_id)
        if found is None:
            found = self._plan_items(run_id) or ()
            with self._lock:
                while len(self._plans) >= PLANS_KEPT:
                    self._forget(next(iter(self._plans)))
                self._plans[run_id] = found
        return found

    def _forget(self, run_id: str) -> None:
        """Drop an old run's plan and windows (called with the lock held)."""
        self._plans.pop(run_id)
        self._windows = {k: v for k, v in self._windows.items() if k[0] != run_id}

    def _unpinged(self, registry: str) -> bool:
        """True the first time a registry is met in this process (a prefetch needs its
        challenge, learnt by one ping)."""
        with self._lock:
            new = registry not in self._pinged
            self._pinged.add(registry)
        return new


def _first_reads(items: Iterable[dict[str, Any]]) -> Iterable[ImageReference]:
    """What the window's checks read first; a bad message is its own task's to report."""
    for raw in items:
        try:
            yield from decode(SyncItem, raw).first_reads()
        except Exception:  # noqa: S112 - the task decodes it again and fails
            continue
