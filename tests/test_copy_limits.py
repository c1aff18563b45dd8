"""The embedded copy limiter: a global cap, and one copy at a time per repository."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from imgsync.core.reference import ImageReference
from imgsync.producer.embedded import LimitedCopier


class RecordingCopier:
    """A copier that takes a little time and records how many copies overlap."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: Counter[str] = Counter()
        self.peak_per_repo: Counter[str] = Counter()
        self.total = 0
        self.peak_total = 0

    def copy(
        self, source: ImageReference, destination: ImageReference, convert_to: object = None
    ) -> str | None:
        with self.lock:
            self.running[destination.name] += 1
            self.total += 1
            self.peak_per_repo[destination.name] = max(
                self.peak_per_repo[destination.name], self.running[destination.name]
            )
            self.peak_total = max(self.peak_total, self.total)
        time.sleep(0.05)
        with self.lock:
            self.running[destination.name] -= 1
            self.total -= 1
        return None


def test_copies_into_one_repository_never_overlap_and_the_cap_holds() -> None:
    recorder = RecordingCopier()
    limited = LimitedCopier(recorder, threading.Semaphore(3))
    source = ImageReference("r.example", "src", "1")
    targets = [ImageReference("r.example", f"repo{i % 4}", f"t{i}") for i in range(24)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda dst: limited.copy(source, dst), targets))
    assert set(recorder.peak_per_repo.values()) == {1}
    assert recorder.peak_total == 3
