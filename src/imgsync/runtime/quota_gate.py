"""The copier that minds pull quotas: estimate, pick an account, reserve, copy, release.

Why here and not in skopeo or the registry client: the decision needs both (a
fresh HEAD through the registry client tells what an account has left, skopeo
spends it), plus the board shared with other copiers. The pipeline sees an
ordinary :class:`~imgsync.core.pipeline.Copier` that may raise
:class:`~imgsync.errors.QuotaExhausted`, and a
:class:`~imgsync.core.pipeline.PullEstimator`.

A registry is *metered* once it has reported a quota; only then are pulls
estimated (a multi-platform index costs one GET to count its platforms, and the copy
then writes that index itself after its platforms, so it is not pulled twice; an
account that cannot afford even the index and one platform is not asked at all, so a
mapping that ends deferred has spent nothing). It is *gated* when it has a
``rate_limit_min`` or several accounts; only then does a copy first HEAD the source
with the chosen account, which is free on Docker Hub and makes the check fresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from imgsync.adapters.credentials import Credential
from imgsync.adapters.quota_board import QuotaBoard
from imgsync.adapters.registry import ANONYMOUS, RegistryClient
from imgsync.adapters.registry_api import ManifestPool, get_manifest, head_media_type
from imgsync.adapters.skopeo import SkopeoCopier
from imgsync.core.manifest_format import Format
from imgsync.core.platforms import Manifest
from imgsync.core.quota import INDEX_TYPES, admits, pull_cost
from imgsync.core.reference import ImageReference
from imgsync.errors import NotFound, QuotaExhausted, RateLimited

log = logging.getLogger(__name__)


def account_name(credential: Credential | None) -> str:
    return credential.username if credential is not None else ANONYMOUS


@dataclass
class QuotaGate:
    """Copies within each registry's quota, spread over its accounts (most pulls left first)."""

    registry: ManifestPool
    copier: SkopeoCopier
    board: QuotaBoard
    accounts: Mapping[str, Sequence[Credential | None]]
    minimum: Mapping[str, int]
    clock: Callable[[], float] = time.time
    _costs: dict[str, int] = field(default_factory=dict)
    #: Indexes read (one pull each) to count their platforms, by pinned source: the copy
    #: then writes the index as read instead of having skopeo pull it a second time.
    _indexes: dict[str, Manifest] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def pulls(self, source: ImageReference) -> int:
        """Manifest GETs a copy of ``source`` makes; 0 on a registry that meters nothing."""
        if not self._metered(source.registry):
            return 0
        try:
            return self._cost(source, self.registry.client(source.registry))
        except RateLimited as exc:  # counting an index's platforms needs a pull: none left
            raise QuotaExhausted(f"{source.registry}: pull rate limit reached ({exc})") from exc

    def copy(
        self,
        source: ImageReference,
        destination: ImageReference,
        convert_to: Format | None = None,
    ) -> str | None:
        """Copy with the first account whose quota admits it; QuotaExhausted when none does."""
        if not self._gated(source.registry):
            return self._copy_ungated(source, destination, convert_to)
        for credential in self._candidates(source.registry):
            with self._lease(source, credential) as admitted:
                if admitted:
                    return self._copy(source, destination, convert_to, credential)
        raise QuotaExhausted(self._refusal(source.registry))

    def _copy_ungated(
        self, source: ImageReference, destination: ImageReference, convert_to: Format | None
    ) -> str | None:
        """A plain copy; on a metered registry, one free HEAD afterwards records its spend."""
        if self._metered(source.registry):
            self._refuse_if_spent(source)
        written = self._copy(source, destination, convert_to, None)
        if self._metered(source.registry):
            self._refresh(source, self.registry.client(source.registry))
        return written

    def _copy(
        self,
        source: ImageReference,
        destination: ImageReference,
        convert_to: Format | None,
        credential: Credential | None,
    ) -> str | None:
        """skopeo's copy; for an index already read here, its manifests by digest, then the
        index as read (its digest kept): 1 + platforms pulls, not 2 + platforms."""
        with self._lock:
            index = self._indexes.pop(str(source), None) if convert_to is None else None
        if index is None:
            return self.copier.copy(source, destination, convert_to, source_credential=credential)
        for digest in _children(index):
            self.copier.copy(
                source.with_digest(digest),
                destination.with_digest(digest),
                source_credential=credential,
            )
        self.registry.put_manifest(destination, index)
        return index.digest

    def _refuse_if_spent(self, source: ImageReference) -> None:
        """Without a minimum too, no copy starts once the registry said fewer pulls are left
        than it needs: skopeo would only meet 429, after minutes of its own retries."""
        client = self.registry.client(source.registry)
        quota, cost = self.board.latest(source.registry, client.account), self._cost(source, client)
        if quota is not None and not admits(
            quota, reserved=0, cost=cost, minimum=0, now=self.clock()
        ):
            raise QuotaExhausted(
                f"{source.registry}: pull rate limit reached ({quota.remaining} of "
                f"{quota.limit} left for {client.account}, the copy needs {cost}); not started "
                "(hint: wait for the registry's window, authenticate, or add accounts)"
            )

    def _metered(self, registry: str) -> bool:
        return self._gated(registry) or any(q.registry == registry for q in self.board.observed())

    def _gated(self, registry: str) -> bool:
        return registry in self.minimum or len(self.accounts.get(registry, ())) > 1

    def _candidates(self, registry: str) -> list[Credential | None]:
        """This registry's accounts, the one with the most pulls left (or unknown) first."""
        found = list(self.accounts.get(registry) or (None,))
        return sorted(found, key=lambda c: -self._left(registry, account_name(c)))

    def _left(self, registry: str, account: str) -> float:
        quota = self.board.latest(registry, account)
        if quota is None or quota.remaining is None or not quota.current(self.clock()):
            return float("inf")
        return quota.remaining

    @contextmanager
    def _lease(self, source: ImageReference, credential: Credential | None) -> Iterator[bool]:
        """Reserve the copy's pulls on this account if the quota admits them; release after."""
        registry, account = source.registry, account_name(credential)
        client = self.registry.account_client(registry, credential)
        cost = self._fresh_cost(source, client)
        reserved = self.board.reserve(registry, account, cost)
        quota = self.board.latest(registry, account)  # read after reserving: see core.quota
        minimum = self.minimum.get(registry, 0)
        admitted = admits(
            quota, reserved=reserved - cost, cost=cost, minimum=minimum, now=self.clock()
        )
        try:
            yield admitted
        finally:
            if admitted:
                self._refresh(source, client)
            self.board.release(registry, account, cost)

    def _fresh_cost(self, source: ImageReference, client: RegistryClient) -> int:
        """HEAD the source as this account (fresh quota), and what the copy will cost."""
        if head_media_type(client, source) is None:
            raise NotFound(f"source {source} does not exist (manifest unknown)")
        return self._cost(source, client)

    def _refresh(self, source: ImageReference, client: RegistryClient) -> None:
        """After a copy, one free HEAD records what it spent before its reservation goes."""
        try:
            head_media_type(client, source)
        except Exception as exc:  # the copy is done; a failed refresh only loses freshness
            log.warning("could not refresh the quota of %s: %s", source.registry, exc)

    def _cost(self, source: ImageReference, client: RegistryClient) -> int:
        key = str(source)
        with self._lock:
            known = self._costs.get(key)
        if known is not None:
            return known
        cost, exact = self._count(source, client)
        if exact:  # a bound is asked again: the quota may have grown by then
            with self._lock:
                self._costs[key] = cost
        return cost

    def _count(self, source: ImageReference, client: RegistryClient) -> tuple[int, bool]:
        """``(cost, exact)``: 1 for a manifest; an index is read once (one GET) to count its
        platforms, unless the account cannot afford even the cheapest index copy: then that
        bound, unread, so a copy that will be deferred spends no pull on its estimate."""
        media_type = head_media_type(client, source) or ""
        if media_type not in INDEX_TYPES:
            return pull_cost(media_type, 0), True
        cheapest = pull_cost(media_type, 1)
        if not self._affords(source.registry, client.account, cheapest):
            return cheapest, False
        index = get_manifest(client, source)
        if index is None:
            return pull_cost(media_type, 0), True
        if source.digest is not None:  # what was read is what the copy must write
            with self._lock:
                self._indexes[str(source)] = index
        return pull_cost(media_type, len(_children(index))), True

    def _affords(self, registry: str, account: str, cost: int) -> bool:
        """Whether the account's last known quota, less what others reserved, covers ``cost``."""
        reserved = self.board.reserve(registry, account, 0)
        quota, minimum = self.board.latest(registry, account), self.minimum.get(registry, 0)
        return admits(quota, reserved=reserved, cost=cost, minimum=minimum, now=self.clock())

    def _refusal(self, registry: str) -> str:
        left = [self.board.latest(registry, account_name(c)) for c in self._candidates(registry)]
        shown = ", ".join(str(q.remaining) for q in left if q is not None) or "unknown"
        minimum = self.minimum.get(registry, 0)
        return f"{registry}: pulls left {shown}, below rate_limit_min {minimum}; deferred"


def _children(index: Manifest) -> list[str]:
    """The digests an index lists (its platforms, attestations included)."""
    return [str(entry["digest"]) for entry in index.entries()]
