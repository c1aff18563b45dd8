"""Admitting one copy on one account: reserve what it will still pull, or refuse it unstarted.

Why a module of its own: the order of the steps is the whole point. Inside the account's
serial section (:meth:`~imgsync.adapters.quota_board.QuotaBoard.serial`: one admission per
account at a time, in a process or across workers) a copy

1. HEADs the source (free; it refreshes the account's quota and tells manifest from index);
2. for an index not read yet, reserves an upper bound: the index plus the platforms of
   the destination's current index (read for free; 1 platform when it has none) and stops
   there, having spent nothing, when the quota cannot cover it;
3. reads the source index (one pull, inside that reservation) and keeps, as its
   reservation, what it still has to pull: the platforms (plus the index again when skopeo
   converts), checked again only when that is more than the bound left.

A reservation is counted atomically on the board and checked against the quota seen after
it (:func:`imgsync.core.quota.admits`), so concurrent copies never start beyond the budget;
the serial section keeps two copies from both reading an index on the same last pulls. A
running copy's pulls may be in the registry's count and in its reservation at once, so a
copy refused only because of running ones waits for one to end and looks again (up to
``patience_s``): copies that fit are not deferred. Without a destination index, a copy that
finds more platforms than the bound allows is deferred after the one pull of its index,
and says so (:attr:`Admission.spent`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from imgsync.adapters.quota_board import QuotaBoard
from imgsync.adapters.registry import RegistryClient
from imgsync.adapters.registry_api import get_manifest, head_media_type
from imgsync.core.manifest_format import Format
from imgsync.core.platforms import Manifest
from imgsync.core.quota import INDEX_TYPES, admits, pull_cost
from imgsync.core.reference import ImageReference
from imgsync.errors import ImgsyncError, NotFound, RateLimited

__all__ = ["Admission", "Admitter", "Hold", "SourceMemo", "children"]

#: How often a waiting admission looks at the board's reservations again.
POLL_S = 0.05


def children(index: Manifest) -> list[str]:
    """The digests an index lists (its platforms, attestations included)."""
    return [str(entry["digest"]) for entry in index.entries()]


@dataclass
class SourceMemo:
    """What this process learnt about sources: indexes read (the copy writes them as read,
    so they are not pulled twice), and exact costs (what ``pulls`` reports after a copy)."""

    indexes: dict[str, Manifest] = field(default_factory=dict)
    costs: dict[str, int] = field(default_factory=dict)
    #: Sources whose index an estimate read and no copy has accounted for yet.
    unbilled: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def index(self, source: ImageReference) -> Manifest | None:
        with self.lock:
            return self.indexes.get(str(source))

    def read(self, source: ImageReference, index: Manifest, *, estimate: bool) -> None:
        with self.lock:
            self.indexes[str(source)] = index
            if estimate:
                self.unbilled.add(str(source))

    def take(self, source: ImageReference) -> Manifest | None:
        with self.lock:
            return self.indexes.pop(str(source), None)

    def cost(self, source: ImageReference) -> int | None:
        with self.lock:
            return self.costs.get(str(source))

    def known(self, source: ImageReference, cost: int) -> None:
        with self.lock:
            self.costs[str(source)] = cost

    def billed(self, source: ImageReference) -> int:
        """1 if an estimate read the source index and no result has reported that pull."""
        with self.lock:
            if str(source) not in self.unbilled:
                return 0
            self.unbilled.discard(str(source))
            return 1


@dataclass
class Hold:
    """The pulls one copy has reserved on one account, changed as it learns its cost."""

    board: QuotaBoard
    registry: str
    account: str
    pulls: int = 0

    def set(self, pulls: int) -> int:
        """Hold ``pulls`` in all; what the other copies hold on the account, atomically."""
        total = self.board.reserve(self.registry, self.account, pulls - self.pulls)
        self.pulls = pulls
        return total - pulls

    def release(self) -> None:
        if self.pulls:
            self.board.release(self.registry, self.account, self.pulls)
            self.pulls = 0


@dataclass(frozen=True)
class Admission:
    """Whether the copy may start on this account, what deciding spent, and its hold."""

    client: RegistryClient
    hold: Hold
    admitted: bool
    spent: int = 0
    needed: int = 0

    def refusal(self, board: QuotaBoard) -> str:
        registry, account = self.client.registry, self.client.account
        quota = board.latest(registry, account)
        left = f"{quota.remaining} of {quota.limit}" if quota is not None else "unknown"
        return (
            f"{registry}: pull rate limit reached ({left} left for {account}, the copy needs "
            f"{self.needed}); not started (hint: wait for the registry's window, authenticate, "
            "or add accounts)"
        )


@dataclass
class Admitter:
    """Admits copies on the account of ``client`` (see the module docstring for the steps)."""

    client: RegistryClient
    board: QuotaBoard
    memo: SourceMemo
    destination_index: Callable[[ImageReference], Manifest | None]
    minimum: int = 0
    clock: Callable[[], float] = time.time
    #: How long a copy waits for running ones to end before it is deferred on their account.
    patience_s: float = 30.0

    def admit(
        self, source: ImageReference, destination: ImageReference, convert_to: Format | None
    ) -> Admission:
        hold = Hold(self.board, self.client.registry, self.client.account)
        with self.board.serial(hold.registry, hold.account):
            try:
                return self._reserve(source, destination, convert_to, hold)
            except BaseException:
                hold.release()
                raise

    def _reserve(
        self,
        source: ImageReference,
        destination: ImageReference,
        convert_to: Format | None,
        hold: Hold,
    ) -> Admission:
        media_type = head_media_type(self.client, source)
        if media_type is None:
            raise NotFound(f"source {source} does not exist (manifest unknown)")
        if media_type not in INDEX_TYPES:
            self.memo.known(source, 1)
            return self._fit(hold, 1, spent=0)
        index, spent = self.memo.index(source), 0
        if index is None:
            bound = pull_cost(media_type, self._platforms(destination))
            if not self._fits(hold, bound):
                return Admission(self.client, hold, False, needed=bound)
            index, spent = self._read(source, hold), 1
            if index is None:  # the GET met 429: not a pull, and no pull left
                return Admission(self.client, hold, False, needed=bound)
        platforms = len(children(index))
        self.memo.known(source, pull_cost(media_type, platforms))
        need = platforms + (1 if convert_to is not None else 0)
        if spent and need < hold.pulls:  # within what was admitted, less the index just read
            hold.set(need)
            return Admission(self.client, hold, True, spent, need)
        return self._fit(hold, need, spent)

    def _fit(self, hold: Hold, pulls: int, spent: int) -> Admission:
        return Admission(self.client, hold, self._fits(hold, pulls), spent, pulls)

    def _fits(self, hold: Hold, pulls: int) -> bool:
        """Reserve ``pulls``, then check the quota covers them beside the others' (released
        again if not): reserving first is what makes concurrent checks exclusive.

        The registry's count may already include pulls that running copies made after they
        reserved them, so a refusal that only those reservations cause is not final: wait
        for one of them to end (its count then recorded) and look again."""
        deadline = time.monotonic() + self.patience_s
        while True:
            others = hold.set(pulls)
            quota, now = self.board.latest(hold.registry, hold.account), self.clock()
            if admits(quota, reserved=others, cost=pulls, minimum=self.minimum, now=now):
                return True
            hold.release()
            certain = not admits(quota, reserved=0, cost=pulls, minimum=self.minimum, now=now)
            if certain or not self._ended(hold, others, deadline):
                return False

    def _ended(self, hold: Hold, others: int, deadline: float) -> bool:
        """Whether another copy released pulls before ``deadline`` (polling the board)."""
        while time.monotonic() < deadline:
            if self.board.reserve(hold.registry, hold.account, 0) < others:
                return True
            time.sleep(POLL_S)
        return False

    def _read(self, source: ImageReference, hold: Hold) -> Manifest | None:
        """The source index (one pull); None when the registry answered 429 instead."""
        try:
            index = get_manifest(self.client, source)
        except RateLimited:
            hold.release()
            return None
        if index is None:
            raise NotFound(f"source {source} does not exist (manifest unknown)")
        self.memo.read(source, index, estimate=False)
        return index

    def _platforms(self, destination: ImageReference) -> int:
        """The platforms of the destination's current index (an upper bound for the copy:
        the image changed upstream, its platforms seldom); 1, the fewest, without one."""
        try:
            found = self.destination_index(destination)
        except ImgsyncError:  # unreadable or absent: no bound from it
            return 1
        if found is None or found.media_type not in INDEX_TYPES:
            return 1
        return max(len(children(found)), 1)
