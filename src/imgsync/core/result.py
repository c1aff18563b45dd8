"""What one mapping and one run end as; the records that cross the broker and fill reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from imgsync.errors import Category

#: ``Category`` lives in errors.py (every error names its own); it stays importable here.
__all__ = [
    "ALWAYS_COUNTED",
    "RETRYABLE",
    "Category",
    "ChannelDelivery",
    "ErrorInfo",
    "QuotaUsage",
    "RunReport",
    "Status",
    "StepResult",
    "SyncResult",
    "summarize",
]


class Status(StrEnum):
    """Outcome of one mapping; values are the report's JSON strings.

    ``pruned`` / ``would_prune`` are destination tags a sync file's prune rule
    deleted (or, in a dry run, would delete); they appear only when pruning.
    ``deferred`` means the copy was not started because the source registry's
    pulls left fell below ``rate_limit_min``: not a failure, a later run's work.
    """

    SYNCED = "synced"
    SKIPPED = "skipped"
    FAILED = "failed"
    WOULD_SYNC = "would_sync"
    PRUNED = "pruned"
    WOULD_PRUNE = "would_prune"
    DEFERRED = "deferred"


#: Statuses counted in every summary; the prune ones only when a run has some.
ALWAYS_COUNTED = (Status.SYNCED, Status.SKIPPED, Status.FAILED, Status.WOULD_SYNC)


RETRYABLE = frozenset({Category.NETWORK, Category.RATE_LIMITED, Category.TIMEOUT})


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A failure's category and a short, secret-free message."""

    category: Category
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"category": str(self.category), "message": self.message}


@dataclass(frozen=True, slots=True)
class StepResult:
    """What the pipeline's steps ended with for one item, before timing and naming are added."""

    status: Status
    source_digest: str | None = None
    destination_digest: str | None = None
    error: ErrorInfo | None = None
    pulls: int = 0
    converted: bool = False


@dataclass(frozen=True, slots=True)
class SyncResult:
    """The outcome of one mapping; ``to_dict`` is exactly the report's JSON object.

    ``pulls`` is the number of manifest GETs the copy made (or, in a dry run,
    would make) on a registry that reports a pull quota; it is left out of the
    JSON when 0, so reports of unmetered registries look as they always did.

    ``duration_s`` is the mapping's own work; ``waited_s`` the time it queued for a
    copy slot or its destination repository's lock (left out of the JSON when 0).

    ``converted``: the destination holds a format conversion of the source (its
    digest differs by design; :mod:`imgsync.core.manifest_format`), left out when false.
    """

    source: str
    destination: str
    status: Status
    source_digest: str | None = None
    destination_digest: str | None = None
    error: ErrorInfo | None = None
    attempts: int = 1
    duration_s: float = 0.0
    worker: str = ""
    pulls: int = 0
    waited_s: float = 0.0
    converted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Written out field by field: ``asdict`` took most of a report's encoding time."""
        data: dict[str, Any] = {
            "source": self.source,
            "destination": self.destination,
            "status": str(self.status),
            "source_digest": self.source_digest,
            "destination_digest": self.destination_digest,
            "error": None if self.error is None else self.error.to_dict(),
            "attempts": self.attempts,
            "duration_s": round(self.duration_s, 3),
            "worker": self.worker,
        }
        if self.pulls:
            data["pulls"] = self.pulls
        if self.waited_s >= 0.0005:
            data["waited_s"] = round(self.waited_s, 3)
        if self.converted:
            data["converted"] = True
        return data

    @property
    def retryable(self) -> bool:
        """True when a later attempt may succeed (network, rate limit, timeout).

        A ``deferred`` result is never retried within the run: waiting a few
        seconds does not refill a quota measured over hours.
        """
        failed = self.status is Status.FAILED
        return failed and self.error is not None and self.error.category in RETRYABLE


@dataclass(frozen=True, slots=True)
class ChannelDelivery:
    """How one notification channel fared; a failure never changes the run's results."""

    channel: str
    ok: bool
    detail: str = ""


def summarize(results: Iterable[SyncResult]) -> dict[str, int]:
    """Count results per status: the four sync statuses always, prune statuses when present.

    Runs without pruning keep the summary they always had (four keys).
    """
    counts = Counter(r.status for r in results)
    shown = [s for s in Status if s in ALWAYS_COUNTED or counts.get(s)]
    return {status.value: counts.get(status, 0) for status in shown}


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    """One registry's pull quota in a run: pulls used (or needed) and what is left.

    ``remaining`` and ``limit`` add up the latest values of every account used
    on that registry (``None`` when it reported none); ``accounts`` holds the
    per-account values (``{"account", "remaining", "limit"}``), never a secret.
    """

    registry: str
    used: int
    needed: int
    remaining: int | None
    limit: int | None
    accounts: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["accounts"] = [dict(a) for a in self.accounts]
        return data


@dataclass(frozen=True, slots=True)
class RunReport:
    """One run's results in input order, plus when and how it ran."""

    run_id: str
    mode: str
    started_at: str
    finished_at: str
    results: tuple[SyncResult, ...]
    notifications: tuple[ChannelDelivery, ...] = field(default=())
    quota: tuple[QuotaUsage, ...] = field(default=())

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.results)

    @property
    def failed(self) -> bool:
        return any(r.status is Status.FAILED for r in self.results)

    @property
    def changed(self) -> bool:
        """True when something was (or would be) copied or pruned."""
        changes = (Status.SYNCED, Status.WOULD_SYNC, Status.PRUNED, Status.WOULD_PRUNE)
        return any(r.status in changes for r in self.results)

    @property
    def deferred(self) -> bool:
        """True when some copy waits for the quota (exit code per ``--deferred-exit-code``)."""
        return any(r.status is Status.DEFERRED for r in self.results)

    def by_status(self, status: Status) -> list[SyncResult]:
        return [r for r in self.results if r.status is status]

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON; ``quota`` appears only when a registry reported one."""
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "mode": self.mode,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "summary": self.summary,
            "results": [r.to_dict() for r in self.results],
            "notifications": [asdict(n) for n in self.notifications],
        }
        if self.quota:
            data["quota"] = [q.to_dict() for q in self.quota]
        return data
