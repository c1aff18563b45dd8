"""Pull quotas: what a copy costs, whether it may start, and what a run used.

Docker Hub counts every manifest ``GET`` as a pull (``HEAD`` is free) and says
what is left in ``RateLimit-Remaining``. The rules here are pure, so embedded
mode and every Celery worker decide alike from the same shared observations:

- a copy of one manifest costs 1 pull; of an index, 1 for the index plus 1
  per platform manifest skopeo then reads (:func:`pull_cost`);
- a copy may start only when ``remaining - reserved - cost >= rate_limit_min``
  for the account it would use (:func:`admits`), where ``reserved`` is what
  copies already running on that account may still spend. So concurrent copies
  can never take the quota below the minimum between two observations;
- an observation older than its window says nothing any more (the window has
  refilled the quota), so it no longer blocks copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["INDEX_TYPES", "AccountQuota", "admits", "pull_cost", "quota_usage"]

from imgsync.core.platforms import INDEX_TYPES
from imgsync.core.refparse import parse_reference
from imgsync.core.result import QuotaUsage, Status, SyncResult
from imgsync.errors import InvalidReference


@dataclass(frozen=True, slots=True)
class AccountQuota:
    """The latest quota one account of one registry reported, and when (epoch seconds)."""

    registry: str
    account: str
    limit: int | None
    remaining: int | None
    window_s: int | None
    at: float

    def current(self, now: float) -> bool:
        """False once the window the value was measured in has passed."""
        return self.window_s is None or now - self.at < self.window_s


def pull_cost(media_type: str, platforms: int) -> int:
    """Manifest GETs of one copy: the manifest, or the index plus each platform's manifest."""
    return 1 + platforms if media_type in INDEX_TYPES else 1


def admits(
    quota: AccountQuota | None, *, reserved: int, cost: int, minimum: int, now: float
) -> bool:
    """May a copy of ``cost`` pulls start on this account without going below ``minimum``?"""
    if quota is None or quota.remaining is None or not quota.current(now):
        return True
    return quota.remaining - reserved - cost >= minimum


def quota_usage(
    results: Iterable[SyncResult], observed: Sequence[AccountQuota]
) -> tuple[QuotaUsage, ...]:
    """Per registry: pulls used (by copies, and by deferrals that read an index), pulls a
    dry run says it needs, and what is left.

    Only registries this run's mappings read or wrote are shown: a shared board
    (Celery mode) also remembers registries of other runs.
    """
    results = list(results)
    touched = {_registry(r.source) for r in results} | {_registry(r.destination) for r in results}
    registries = sorted({q.registry for q in observed} & touched | set(_pulls(results, None)))
    return tuple(_usage(name, results, observed) for name in registries)


def _registry(text: str) -> str:
    try:
        return parse_reference(text, default_tag=None).registry
    except InvalidReference:  # a pruned tag's "source" names a rule, not always an image
        return ""


def _pulls(results: Sequence[SyncResult], dry: bool | None) -> dict[str, int]:
    """Pulls per source registry: spent (``dry`` False), estimated (True), or both (None)."""
    found: dict[str, int] = {}
    for result in results:
        if result.pulls and (dry is None or (result.status is Status.WOULD_SYNC) is dry):
            registry = _registry(result.source)
            found[registry] = found.get(registry, 0) + result.pulls
    return found


def _usage(
    registry: str, results: Sequence[SyncResult], observed: Sequence[AccountQuota]
) -> QuotaUsage:
    mine = [q for q in observed if q.registry == registry]
    return QuotaUsage(
        registry=registry,
        used=_pulls(results, False).get(registry, 0),  # a deferral may have read an index
        needed=_pulls(results, True).get(registry, 0),
        remaining=_total(q.remaining for q in mine),
        limit=_total(q.limit for q in mine),
        accounts=tuple(
            {"account": q.account, "remaining": q.remaining, "limit": q.limit} for q in mine
        ),
    )


def _total(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
