"""Mapping-level retries in embedded mode, matching what Celery workers do.

Only results whose category may pass (``network``, ``rate_limited``, ``timeout``)
are tried again, after an exponential, fully jittered pause; ``auth`` and
``not_found`` fail at once. An interrupt wakes every pause, so Ctrl-C never waits
out a backoff.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from imgsync.adapters.ratelimit import Backoff
from imgsync.core.mapping import SyncItem
from imgsync.core.result import SyncResult

Attempt = Callable[[SyncItem, int], SyncResult]

#: First pause ≤ 2 s, doubling, never above 2 minutes.
RETRY_BACKOFF = Backoff(base=2.0, cap=120.0)


def retrying(
    attempt: Attempt, *, max_retries: int, stop: threading.Event, backoff: Backoff = RETRY_BACKOFF
) -> Callable[[SyncItem], SyncResult]:
    """Wrap one attempt so retryable failures are tried up to ``max_retries`` more times."""

    def run(item: SyncItem) -> SyncResult:
        number = 1
        result = attempt(item, number)
        while result.retryable and number <= max_retries:
            if stop.wait(backoff.delay(number - 1)):
                break
            number += 1
            result = attempt(item, number)
        return result

    return run
