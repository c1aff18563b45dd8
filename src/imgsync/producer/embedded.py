"""The in-process runner: the whole pipeline on a thread pool, no broker needed.

Digest checks are cheap HEAD requests and run ``check_concurrency`` at a time over
kept-alive connections; copies are heavy skopeo processes, limited separately to
``concurrency`` by a semaphore around the copier. An interrupt stops new work,
lets running copies finish, and reports what was not done.
"""

from __future__ import annotations

import socket
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Protocol

from imgsync.adapters.notify import notify_all
from imgsync.adapters.registry_api import ManifestPool
from imgsync.adapters.result_redaction import redacted
from imgsync.config.settings import Settings
from imgsync.core.clock import new_run_id, utc_now
from imgsync.core.manifest_format import Format
from imgsync.core.mapping import SyncItem
from imgsync.core.pipeline import Copier, DigestReader, PullEstimator, PushCheck, sync_item
from imgsync.core.plan import PruneTarget
from imgsync.core.quota import quota_usage
from imgsync.core.reference import ImageReference
from imgsync.core.result import Category, ErrorInfo, RunReport, Status, SyncResult
from imgsync.core.via import share_sources
from imgsync.core.waiting import acquired
from imgsync.producer.retrying import retrying
from imgsync.runtime.attached import AttachedCopier, with_attached
from imgsync.runtime.holds import LocalHolds
from imgsync.runtime.pruning import prune_all
from imgsync.runtime.services import build_channels, build_services

ResultSink = Callable[[SyncResult], None]


class CopyWatch(Protocol):
    """Told which copies run now (the terminal progress shows them)."""

    def copying(self, destination: ImageReference) -> AbstractContextManager[None]: ...


@dataclass(slots=True)
class LimitedCopier:
    """At most ``slots`` copies at once, and one at a time into any one repository.

    The per-repository lock is taken before a copy slot, so a copy waiting for its
    repository never keeps a slot from another repository's copy; it exists because
    docker-registry can fail concurrent pushes of shared blobs into one repository.
    """

    copier: Copier
    slots: threading.Semaphore
    watch: CopyWatch | None = None
    repositories: defaultdict[str, threading.Lock] = field(
        default_factory=lambda: defaultdict(threading.Lock)
    )
    guard: threading.Lock = field(default_factory=threading.Lock)

    def copy(
        self,
        source: ImageReference,
        destination: ImageReference,
        convert_to: Format | None = None,
    ) -> str | None:
        """Copy once the repository and a slot are ours; the time to get them is a wait."""
        repository = self._repository(destination.name)
        with acquired(repository), acquired(self.slots), self._watched(destination):
            return self.copier.copy(source, destination, convert_to)

    def _watched(self, destination: ImageReference) -> AbstractContextManager[None]:
        return self.watch.copying(destination) if self.watch is not None else nullcontext()

    def _repository(self, name: str) -> threading.Lock:
        with self.guard:
            return self.repositories[name]


@dataclass(frozen=True, slots=True)
class ItemResults:
    """What :func:`run_items` returns: results in input order, and whether an interrupt
    cut the run short."""

    results: list[SyncResult]
    interrupted: bool


def run_items(
    items: Sequence[SyncItem],
    *,
    registry: DigestReader,
    copier: Copier,
    concurrency: int,
    check_concurrency: int,
    dry_run: bool = False,
    worker: str = "",
    on_result: ResultSink | None = None,
    max_retries: int = 0,
    estimator: PullEstimator | None = None,
    manifests: ManifestPool | None = None,
    watch: CopyWatch | None = None,
    push_check: PushCheck | None = None,
) -> ItemResults:
    """Sync every item; an interrupt (Ctrl-C, SIGTERM) ends with a partial, honest outcome."""
    limited = LimitedCopier(copier, threading.Semaphore(concurrency), watch)
    stop = threading.Event()
    attached = AttachedCopier(manifests, limited) if manifests and not dry_run else None
    task = retrying(
        partial(
            _held_attempt,
            holds=LocalHolds(),
            registry=registry,
            copier=limited,
            dry_run=dry_run,
            worker=worker,
            estimator=estimator,
            attached=attached,
            push_check=push_check,
        ),
        max_retries=max_retries,
        stop=stop,
    )
    pool = ThreadPoolExecutor(max(check_concurrency, concurrency), thread_name_prefix="imgsync")
    futures = [pool.submit(_run_and_pass_on, task, item, on_result) for item in items]
    try:
        return ItemResults([f.result() for f in futures], interrupted=False)
    except KeyboardInterrupt:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        return ItemResults(_partial(items, futures, worker), interrupted=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _held_attempt(item: SyncItem, number: int, *, holds: LocalHolds, **options: Any) -> SyncResult:
    """One try under the destination's hold: a secondary bringing this destination (its
    via) up to date waits for it, and this item for that secondary (:mod:`imgsync.core.via`)."""
    with holds.hold(item.destination):
        return _attempt(item, number, hold=holds, **options)


def _attempt(
    item: SyncItem,
    number: int,
    *,
    registry: DigestReader,
    copier: Copier,
    dry_run: bool,
    worker: str,
    estimator: PullEstimator | None,
    attached: AttachedCopier | None,
    push_check: PushCheck | None = None,
    hold: LocalHolds | None = None,
) -> SyncResult:
    """One try at one item; what leaves it has every known secret masked."""
    result = sync_item(
        item,
        registry=registry,
        copier=copier,
        dry_run=dry_run,
        worker=worker,
        attempts=number,
        estimator=estimator,
        push_check=push_check,
        hold=hold,
    )
    return redacted(with_attached(result, item, attached))


def _run_and_pass_on(
    task: Callable[[SyncItem], SyncResult], item: SyncItem, on_result: ResultSink | None
) -> SyncResult:
    """Sync one item and hand its result to ``on_result`` (the progress display) at once."""
    result = task(item)
    if on_result is not None:
        on_result(result)
    return result


def _partial(
    items: Sequence[SyncItem], futures: list[Future[SyncResult]], worker: str
) -> list[SyncResult]:
    """What finished keeps its result; the rest is ``failed`` with category ``interrupted``."""
    return [
        f.result() if f.done() and not f.cancelled() else _interrupted(item, worker)
        for item, f in zip(items, futures, strict=True)
    ]


def _interrupted(item: SyncItem, worker: str) -> SyncResult:
    return SyncResult(
        source=str(item.source),
        destination=str(item.destination),
        status=Status.FAILED,
        error=ErrorInfo(Category.INTERRUPTED, "run interrupted before this mapping finished"),
        attempts=0,
        worker=worker,
    )


def run_embedded(
    items: Sequence[SyncItem],
    settings: Settings,
    *,
    dry_run: bool = False,
    on_result: ResultSink | None = None,
    prune: Sequence[PruneTarget] = (),
    watch: CopyWatch | None = None,
) -> tuple[RunReport, bool]:
    """The whole embedded run: sync, prune, report, notify once. Returns (report, interrupted).

    Pruning (a sync file's opt-in) runs after every copy, and not at all after an
    interrupt: a half-done run must not delete anything.
    """
    channels = build_channels(settings)  # bad notify URLs fail here, before any copy
    run_id, started = new_run_id(), utc_now()
    services, items = build_services(settings), share_sources(items)
    try:
        services.registry.warm_up(ref for item in items for ref in item.first_reads())
        outcome = run_items(
            items,
            registry=services.registry,
            copier=services.copier,
            concurrency=settings.concurrency,
            check_concurrency=settings.check_concurrency,
            dry_run=dry_run,
            worker=f"embedded@{socket.gethostname()}",
            on_result=on_result,
            max_retries=settings.max_retries,
            estimator=services.copier,
            manifests=services.registry,
            watch=watch,
            push_check=services.push_checks,
        )
        pruned = [] if outcome.interrupted else prune_all(prune, services.registry, dry_run=dry_run)
    finally:
        services.close()
    results = (*outcome.results, *pruned)
    quota = quota_usage(results, services.board.observed())
    report = RunReport(run_id, "embedded", started, utc_now(), results, quota=quota)
    sent = notify_all(channels, report, policy=settings.notify_on)
    return replace(report, notifications=sent), outcome.interrupted
