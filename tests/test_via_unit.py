"""One source, several destinations, with in-memory fakes: who reads the source, and when.

The plan gives every plain item after the first of its source a ``via`` (the first's
destination); a stale secondary copies from the via once it holds the digest, brings it
up to date under the via's hold when it does not, and never reads the source twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from imgsync.core.codec import decode
from imgsync.core.item import SyncItem
from imgsync.core.manifest_format import Format, WritePolicy
from imgsync.core.pipeline import sync_item
from imgsync.core.platforms import parse_platform
from imgsync.core.reference import ImageReference
from imgsync.core.refparse import parse_reference
from imgsync.core.result import Status, SyncResult
from imgsync.core.via import share_sources
from imgsync.errors import CopyError
from imgsync.runtime.unlocked_check import unlocked_skip
from tests.fakes import FakeCopier, FakeRegistry, digest_of

HUB = "hub.example"
D = digest_of("v1")


def ref(text: str) -> ImageReference:
    return parse_reference(text)


SOURCE = ref(f"{HUB}/lib/app:v1")
A, B, C = (ref(f"mirror.example/{name}/app:v1") for name in "abc")


def items() -> tuple[SyncItem, ...]:
    return share_sources(SyncItem(SOURCE, dest) for dest in (A, B, C))


@dataclass
class HubEstimator:
    """Only the source's registry meters pulls: a copy of it costs ``cost``."""

    cost: int = 3
    asked: list[str] = field(default_factory=list)

    def pulls(self, source: ImageReference) -> int:
        self.asked.append(str(source))
        return self.cost if source.registry == HUB else 0


@dataclass
class RecordingHold:
    """Records what was held; ``on_enter`` runs once held (another item finishing first)."""

    held: list[str] = field(default_factory=list)
    on_enter: dict[str, str] = field(default_factory=dict)
    registry: FakeRegistry | None = None
    digests: dict[str, str] = field(default_factory=dict)

    def written(self, destination: ImageReference) -> str | None:
        return self.digests.get(str(destination))

    def record(self, destination: ImageReference, digest: str) -> None:
        self.digests[str(destination)] = digest

    @contextmanager
    def hold(self, destination: ImageReference) -> Iterator[None]:
        self.held.append(str(destination))
        if self.registry is not None and str(destination) in self.on_enter:
            self.registry.digests[str(destination)] = self.on_enter[str(destination)]
        yield


def run(item: SyncItem, registry: FakeRegistry, copier: FakeCopier, **kw: Any) -> SyncResult:
    return sync_item(item, registry=registry, copier=copier, estimator=HubEstimator(), **kw)


def test_the_first_destination_of_a_source_is_the_via_of_the_others() -> None:
    first, second, third = items()
    assert first.via is None and first.shared
    assert second.via == A and third.via == A and not second.shared
    assert decode(SyncItem, third.to_dict()) == third  # it crosses the broker


def test_only_plain_items_with_the_same_source_and_options_share() -> None:
    other = ref(f"{HUB}/lib/other:v1")
    subset = SyncItem(SOURCE, B, platforms=(parse_platform("linux/amd64"),))
    converting = SyncItem(SOURCE, C, writes=WritePolicy(Format.DOCKER, converts_to=Format.DOCKER))
    immutable = SyncItem(SOURCE, ref("mirror.example/d/app:v1"), immutable=True)
    shared = share_sources([SyncItem(SOURCE, A), subset, converting, immutable, SyncItem(other, B)])
    assert [(item.via, item.shared) for item in shared] == [(None, False)] * 5


def test_a_secondary_copies_from_a_via_that_holds_the_digest_and_never_reads_the_source() -> None:
    _, second, _ = items()
    registry = FakeRegistry(digests={str(SOURCE): D, str(A): D})
    copier = FakeCopier(registry)
    result = run(second, registry, copier)
    assert result.status is Status.SYNCED and result.pulls == 0
    assert copier.calls == [(f"{A.name}@{D}", str(B))]


def test_a_stale_via_is_brought_up_to_date_first_under_its_hold_then_copied_from() -> None:
    _, second, _ = items()
    registry = FakeRegistry(digests={str(SOURCE): D})
    copier, hold = FakeCopier(registry), RecordingHold()
    result = run(second, registry, copier, hold=hold)
    assert result.status is Status.SYNCED and result.pulls == 3
    assert copier.calls == [(f"{SOURCE.name}@{D}", str(A)), (f"{A.name}@{D}", str(B))]
    assert hold.held == [str(A)]
    assert registry.digests[str(A)] == registry.digests[str(B)] == D
    assert hold.digests == {str(A): D, str(B): D}  # the run's record of what it wrote


def test_the_via_written_by_a_secondary_is_not_written_again_by_its_own_item() -> None:
    """Another run moved the tag in between: this run still writes it once."""
    first, _, _ = items()
    registry = FakeRegistry(digests={str(SOURCE): D, str(A): digest_of("other run")})
    copier = FakeCopier(registry)
    result = run(first, registry, copier, hold=RecordingHold(digests={str(A): D}))
    assert (result.status, result.destination_digest, result.pulls) == (Status.SYNCED, D, 0)
    assert copier.calls == []


def test_a_secondary_copies_the_digest_the_run_wrote_even_after_the_via_tag_moved() -> None:
    _, second, _ = items()
    registry = FakeRegistry(digests={str(SOURCE): D, str(A): digest_of("other run")})
    copier = FakeCopier(registry)
    result = run(second, registry, copier, hold=RecordingHold(digests={str(A): D}))
    assert result.status is Status.SYNCED and result.pulls == 0
    assert copier.calls == [(f"{A.name}@{D}", str(B))]


def test_a_via_written_by_its_own_item_while_waiting_is_not_copied_again() -> None:
    _, second, _ = items()
    registry = FakeRegistry(digests={str(SOURCE): D})
    copier = FakeCopier(registry)
    hold = RecordingHold(on_enter={str(A): D}, registry=registry)  # the primary went first
    result = run(second, registry, copier, hold=hold)
    assert result.status is Status.SYNCED and result.pulls == 0
    assert copier.calls == [(f"{A.name}@{D}", str(B))]


def test_a_skip_asks_only_the_source_and_its_own_destination() -> None:
    _, second, _ = items()
    registry = FakeRegistry(digests={str(SOURCE): D, str(B): D})
    result = run(second, registry, FakeCopier(registry))
    assert result.status is Status.SKIPPED
    assert registry.requests == [("HEAD", str(SOURCE)), ("HEAD", str(B))]


def test_a_dry_run_counts_the_source_pulls_once_on_the_primary() -> None:
    registry = FakeRegistry(digests={str(SOURCE): D})
    results = [run(item, registry, FakeCopier(registry), dry_run=True) for item in items()]
    assert [r.pulls for r in results] == [3, 0, 0]
    assert [r.status for r in results] == [Status.WOULD_SYNC] * 3


def test_an_immutable_via_holding_another_digest_is_left_alone() -> None:
    _, second = share_sources(replace(SyncItem(SOURCE, d), immutable=True) for d in (A, B))
    assert second.via == A
    registry = FakeRegistry(digests={str(SOURCE): D, str(A): digest_of("old")})
    copier = FakeCopier(registry)
    result = run(second, registry, copier)
    assert result.status is Status.SYNCED and result.pulls == 3
    assert copier.calls == [(f"{SOURCE.name}@{D}", str(B))]
    assert registry.digests[str(A)] == digest_of("old")


@dataclass
class RefusingVia(FakeCopier):
    """A via registry that refuses every push: the secondary reads the source as before."""

    def copy(self, source: ImageReference, destination: ImageReference) -> str | None:
        if destination == A:
            self.calls.append((str(source), str(destination)))
            raise CopyError("denied: requested access to the resource is denied")
        return super().copy(source, destination)


def test_a_via_that_cannot_be_written_falls_back_to_the_source() -> None:
    _, second, _ = items()
    registry = FakeRegistry(digests={str(SOURCE): D})
    copier = RefusingVia(registry)
    result = run(second, registry, copier)
    assert result.status is Status.SYNCED
    assert copier.calls[-1] == (f"{SOURCE.name}@{D}", str(B))


def test_a_via_found_in_sync_that_this_run_wrote_reads_synced_not_skipped() -> None:
    first, _, _ = items()
    registry = FakeRegistry(digests={str(SOURCE): D, str(A): D})
    hold = RecordingHold(digests={str(A): D})
    result = run(first, registry, FakeCopier(registry), hold=hold)
    assert (result.status, result.pulls) == (Status.SYNCED, 0)
    assert unlocked_skip(first, registry, worker="", attempts=1, written=hold.written) is None
    assert unlocked_skip(first, registry, worker="", attempts=1) is not None  # a re-run skips
