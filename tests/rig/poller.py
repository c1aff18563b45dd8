"""A ``with`` block during which a daemon thread polls something every few milliseconds.

Tests that watch a run from the outside (process command lines, every key in Redis) use
it, so that each watcher writes only what one poll looks at.
"""

from __future__ import annotations

import threading
from typing import Self


class Poller:
    """Calls :meth:`poll` every :attr:`interval` seconds from ``__enter__`` to ``__exit__``."""

    interval = 0.05

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def poll(self) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()
