"""A mapping's duration is its own work; time queued for a copy slot is reported apart."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import Progress

from imgsync.core.mapping import SyncItem
from imgsync.core.pipeline import sync_item
from imgsync.core.reference import ImageReference
from imgsync.core.refparse import parse_reference
from imgsync.core.result import Status, SyncResult
from imgsync.core.waiting import acquired, waiting, waits_counted
from imgsync.producer.embedded import run_items
from imgsync.producer.progress import RunDisplay, describe
from imgsync.producer.progress_bar import _BarDisplay, running_text
from tests.fakes import FakeCopier, FakeRegistry, digest_of

COPY_SECONDS = 0.3


def ref(text: str) -> ImageReference:
    return parse_reference(text)


def test_a_wait_marked_inside_a_tally_is_counted_and_nothing_outside_it() -> None:
    ticks = iter([0.0, 10.0, 11.0]).__next__  # no tally: the end is not even read
    with waiting(ticks):  # no tally open: ignored
        pass
    with waits_counted() as waited, waiting(ticks):
        pass
    assert waited() == 1.0


def test_acquired_counts_only_the_time_to_get_the_resource() -> None:
    lock = threading.Lock()
    with waits_counted() as waited, acquired(lock):
        time.sleep(0.2)  # holding it is work, not waiting
        assert lock.locked()
    assert not lock.locked()
    assert waited() < 0.1


@dataclass
class WaitingCopier:
    """A copier that first queues (``queue_s`` of a fake clock) and then works."""

    registry: FakeRegistry
    clock_times: list[float]
    calls: list[str] = field(default_factory=list)

    def copy(
        self, source: ImageReference, destination: ImageReference, convert_to: object = None
    ) -> str | None:
        with waiting(lambda: self.clock_times.pop(0)):
            self.calls.append(str(destination))
        self.registry.digests[str(destination)] = str(source.digest)
        return None


def test_sync_item_reports_the_wait_apart_from_its_duration() -> None:
    src, dst = ref("r.io/a:1"), ref("d.io/a:1")
    registry = FakeRegistry(digests={str(src): digest_of("a")})
    # pipeline clock: start 0, end 20; the copier waited from 2 to 14 (12 s queued).
    times = [0.0, 20.0]
    copier = WaitingCopier(registry, [2.0, 14.0])
    result = sync_item(
        SyncItem(src, dst), registry=registry, copier=copier, clock=lambda: times.pop(0)
    )
    assert copier.calls == [str(dst)]
    assert result.status is Status.SYNCED
    assert result.waited_s == 12.0
    assert result.duration_s == 8.0
    assert result.to_dict()["waited_s"] == 12.0


def test_a_mapping_that_never_waited_has_no_waited_field_in_the_report() -> None:
    result = SyncResult("a", "b", Status.SKIPPED, duration_s=0.1)
    assert "waited_s" not in result.to_dict()


@dataclass
class SlowCopier(FakeCopier):
    def copy(
        self, source: ImageReference, destination: ImageReference, convert_to: object = None
    ) -> str | None:
        time.sleep(COPY_SECONDS)
        return super().copy(source, destination)


def test_copies_queued_behind_one_slot_report_their_own_time_not_the_queue() -> None:
    registry = FakeRegistry()
    items = []
    for n in range(4):
        src = ref(f"r.io/img{n}:1")
        registry.digests[str(src)] = digest_of(str(n))
        items.append(SyncItem(src, ref(f"d.io/img{n}:1")))
    outcome = run_items(
        items,
        registry=registry,
        copier=SlowCopier(registry),
        concurrency=1,
        check_concurrency=4,
    )
    results = outcome.results
    assert [r.status for r in results] == [Status.SYNCED] * 4
    assert all(r.duration_s < 2 * COPY_SECONDS for r in results), [r.duration_s for r in results]
    waits = sorted(r.waited_s for r in results)
    assert waits[0] < COPY_SECONDS / 2
    assert waits[-1] > 2.5 * COPY_SECONDS  # the last one queued behind three copies


def test_the_progress_line_shows_the_wait_when_there_was_one() -> None:
    result = SyncResult("a", "b", Status.SYNCED, duration_s=3.0, waited_s=6.4)
    assert describe(result) == "synced a -> b (3.0s, waited 6.4s)"
    assert describe(SyncResult("a", "b", Status.SKIPPED, duration_s=0.2)) == (
        "skipped a -> b (0.2s)"
    )


def test_running_copies_are_named_on_the_bar_and_counted_beyond_three() -> None:
    assert running_text([]) == ""
    assert running_text(["a", "b"]) == "copying a, b"
    assert running_text(["a", "b", "c", "d", "e"]) == "copying a, b, c +2"


def test_the_bar_shows_a_copy_while_it_runs_and_drops_it_after() -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    with Progress(console=console) as bar:
        task = bar.add_task("sync", total=1, running="")
        display = _BarDisplay(bar, task)
        with display.copying(ref("d.io/a:1")):
            assert bar.tasks[0].fields["running"] == "copying d.io/a:1"
        assert bar.tasks[0].fields["running"] == ""


def test_run_items_tells_the_watch_about_each_copy() -> None:
    seen: list[str] = []

    class Watch(RunDisplay):
        def copying(self, destination: ImageReference):  # type: ignore[override]
            seen.append(str(destination))
            return super().copying(destination)

    registry = FakeRegistry()
    src, dst = ref("r.io/a:1"), ref("d.io/a:1")
    registry.digests[str(src)] = digest_of("a")
    run_items(
        [SyncItem(src, dst)],
        registry=registry,
        copier=FakeCopier(registry),
        concurrency=1,
        check_concurrency=1,
        watch=Watch(lambda _r: None),
    )
    assert seen == [str(dst)]
