"""The copier that minds pull quotas: estimate, pick an account, reserve, copy, release.

Why here and not in skopeo or the registry client: the decision needs both (a
fresh HEAD through the registry client tells what an account has left, skopeo
spends it), plus the board shared with other copiers. The pipeline sees an
ordinary :class:`~imgsync.core.pipeline.Copier` that may raise
:class:`~imgsync.errors.QuotaExhausted`, and a
:class:`~imgsync.core.pipeline.PullEstimator`.

A registry is *metered* once it has reported a quota. Every copy from it is admitted
first (:mod:`imgsync.runtime.quota_admission`): it reserves on the board what it will
pull, so copies running at once, in this process or on other workers, cannot overspend
the budget together. An index's platforms are counted from the destination's current
index when it has one (free: the destination is not metered), so a copy deferred for
lack of pulls has read nothing from the source; without one, the source index is read
(one pull) once the account can afford it and one platform, and a copy deferred after
that reports the pull it spent. The copy then writes that index itself after its
platforms, so it is not pulled twice: 1 + platforms pulls in all. ``pulls`` asked after
the copy says what it cost; asked before one (a dry run, a conversion), it may read the
source index, which the copy then counts as read. A registry is *gated* when it has a
``rate_limit_min`` or several accounts; its accounts are then tried in turn, the one with
the most pulls left first, and once more waiting for running copies to end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from imgsync.errors import QuotaExhausted, RateLimited
from imgsync.runtime.quota_admission import Admission, Admitter, SourceMemo, children

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
    memo: SourceMemo = field(default_factory=SourceMemo)
    #: How long a copy refused only by running copies' reservations waits for them to end.
    patience_s: float = 30.0

    def pulls(self, source: ImageReference) -> int:
        """Manifest GETs a copy of ``source`` makes; 0 on a registry that meters nothing.

        After a copy, what it cost; before one (a dry run), an estimate that may read the
        source index (one pull) to count its platforms."""
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
        """Copy with the first account whose quota admits it; QuotaExhausted when none does,
        carrying the pulls spent deciding (the source index, when it had to be read)."""
        if not self._metered(source.registry):
            return self._copy(source, destination, convert_to, None)
        spent = self.memo.billed(source)
        for patience, credential, client in self._attempts(source.registry):
            admission = self._admitter(client, patience).admit(source, destination, convert_to)
            spent += admission.spent
            if admission.admitted:
                return self._admitted(admission, source, destination, convert_to, credential)
        raise QuotaExhausted(self._refusal(source.registry, admission), pulls=spent)

    def _attempts(self, registry: str) -> Iterator[tuple[float, Credential | None, RegistryClient]]:
        """Each account without waiting, then each again waiting for running copies to end
        (one account: that wait only)."""
        clients = list(self._clients(registry))
        waits = (0.0, self.patience_s) if len(clients) > 1 else (self.patience_s,)
        for patience in waits:
            for credential, client in clients:
                yield patience, credential, client

    def _admitted(
        self,
        admission: Admission,
        source: ImageReference,
        destination: ImageReference,
        convert_to: Format | None,
        credential: Credential | None,
    ) -> str | None:
        """The copy, then one free HEAD records what it spent before its reservation goes."""
        try:
            return self._copy(source, destination, convert_to, credential)
        finally:
            self._refresh(source, admission.client)
            admission.hold.release()

    def _admitter(self, client: RegistryClient, patience_s: float) -> Admitter:
        minimum = self.minimum.get(client.registry, 0)
        memo, read = self.memo, self._destination_index
        return Admitter(client, self.board, memo, read, minimum, self.clock, patience_s)

    def _clients(self, registry: str) -> Iterator[tuple[Credential | None, RegistryClient]]:
        """Ungated: the registry's one client; gated: each account's, most pulls left first."""
        if not self._gated(registry):
            yield None, self.registry.client(registry)
            return
        for credential in self._candidates(registry):
            yield credential, self.registry.account_client(registry, credential)

    def _copy(
        self,
        source: ImageReference,
        destination: ImageReference,
        convert_to: Format | None,
        credential: Credential | None,
    ) -> str | None:
        """skopeo's copy; for an index already read here, its manifests by digest, then the
        index as read (its digest kept): 1 + platforms pulls, not 2 + platforms."""
        index = self.memo.take(source) if convert_to is None else None
        if index is None:
            return self.copier.copy(source, destination, convert_to, source_credential=credential)
        for digest in children(index):
            self.copier.copy(
                source.with_digest(digest),
                destination.with_digest(digest),
                source_credential=credential,
            )
        self.registry.put_manifest(destination, index)
        return index.digest

    def _destination_index(self, destination: ImageReference) -> Manifest | None:
        """The destination's current manifest, unless reading it would spend a pull."""
        if self._metered(destination.registry):
            return None
        return self.registry.get_manifest(destination)

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

    def _refresh(self, source: ImageReference, client: RegistryClient) -> None:
        """After a copy, one free HEAD records what it spent before its reservation goes."""
        try:
            head_media_type(client, source)
        except Exception as exc:  # the copy is done; a failed refresh only loses freshness
            log.warning("could not refresh the quota of %s: %s", source.registry, exc)

    def _cost(self, source: ImageReference, client: RegistryClient) -> int:
        known = self.memo.cost(source)
        if known is not None:
            return known
        with self.board.serial(source.registry, client.account):
            cost, exact = self._count(source, client)
        if exact:  # a bound is asked again: the quota may have grown by then
            self.memo.known(source, cost)
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
        self.memo.read(source, index, estimate=True)
        return pull_cost(media_type, len(children(index))), True

    def _affords(self, registry: str, account: str, cost: int) -> bool:
        """Whether the account's last known quota, less what others reserved, covers ``cost``."""
        reserved = self.board.reserve(registry, account, 0)
        quota, minimum = self.board.latest(registry, account), self.minimum.get(registry, 0)
        return admits(quota, reserved=reserved, cost=cost, minimum=minimum, now=self.clock())

    def _refusal(self, registry: str, last: Admission) -> str:
        if not self._gated(registry):
            return last.refusal(self.board)
        left = [self.board.latest(registry, account_name(c)) for c in self._candidates(registry)]
        shown = ", ".join(str(q.remaining) for q in left if q is not None) or "unknown"
        minimum = self.minimum.get(registry, 0)
        return f"{registry}: pulls left {shown}, below rate_limit_min {minimum}; deferred"
