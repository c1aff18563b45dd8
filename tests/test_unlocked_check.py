"""The lock-free check before a worker's pipeline: skip only what the pipeline would skip.

Anything else (a copy needed, an error, a subset, signatures) returns ``None``: the worker
then takes the destination lock and runs the pipeline as before.
"""

from __future__ import annotations

import pytest

from imgsync.core.item import SyncItem
from imgsync.core.platforms import parse_platform
from imgsync.core.reference import ImageReference
from imgsync.core.result import Status
from imgsync.errors import RegistryUnavailable
from imgsync.runtime.unlocked_check import unlocked_skip
from tests.fakes import FakeRegistry, digest_of

SRC = ImageReference("src.example", "team/app", "1")
DST = ImageReference("dst.example", "mirror/app", "1")
A, B = digest_of("a"), digest_of("b")


def check(item: SyncItem, registry: FakeRegistry) -> Status | None:
    result = unlocked_skip(item, registry, worker="w@h", attempts=2)
    if result is not None:
        assert (result.worker, result.attempts) == ("w@h", 2)
    return result.status if result is not None else None


@pytest.mark.parametrize(
    ("source", "destination", "expected"),
    [(A, A, Status.SKIPPED), (A, B, None), (A, None, None), (None, None, None)],
)
def test_only_equal_digests_skip(
    source: str | None, destination: str | None, expected: Status | None
) -> None:
    found = {str(r): d for r, d in ((SRC, source), (DST, destination)) if d is not None}
    assert check(SyncItem(SRC, DST), FakeRegistry(found)) is expected


def test_an_immutable_item_present_skips_without_asking_the_source() -> None:
    registry = FakeRegistry({str(DST): B})
    assert check(SyncItem(SRC, DST, immutable=True), registry) is Status.SKIPPED
    assert registry.verbs("HEAD") == [str(DST)]


def test_an_error_is_left_for_the_locked_run() -> None:
    registry = FakeRegistry(fail_with=RegistryUnavailable("down"))
    assert check(SyncItem(SRC, DST), registry) is None


@pytest.mark.parametrize(
    "item",
    [
        SyncItem(SRC, DST, platforms=(parse_platform("linux/amd64"),)),
        SyncItem(SRC, DST, signatures=True),
    ],
)
def test_subsets_and_signatures_go_to_the_lock_unasked(item: SyncItem) -> None:
    registry = FakeRegistry({str(SRC): A, str(DST): A})
    assert check(item, registry) is None
    assert registry.requests == []


class SoftTimeLimitExceeded(Exception):
    """Celery's soft time limit, recognised by name."""


def test_a_time_limit_is_not_swallowed() -> None:
    registry = FakeRegistry(fail_with=SoftTimeLimitExceeded())
    with pytest.raises(SoftTimeLimitExceeded):
        check(SyncItem(SRC, DST), registry)
