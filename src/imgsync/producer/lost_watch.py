"""Notice task messages a Redis broker lost, so that a run still ends with one report.

A Redis restart at the wrong moment can drop a message kombu was moving from the queue
to its ``unacked`` hash (:mod:`imgsync.adapters.broker_probe`). That mapping's task
never runs, the chord body never fires, and without this watch the producer would wait
forever while Redis answers. When the run has made no progress for ``quiet_after``
seconds, the watch compares the plan with the results and with what the broker still
holds; a mapping missing from both, twice in a row with no progress in between, was
lost. Once every other mapping has finished, the watch asks a worker to report the run
(``report_lost_run``): the lost mappings end ``failed`` with category ``lost``, the
others as they finished, and the one notification goes out. Re-running the sync copies
what was lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from imgsync.adapters.runstore import RunPlan

#: Seconds between the two looks that must agree before a message counts as lost.
CONFIRM_S = 5.0
#: Stands for the chord body among the mapping indices.
BODY = -1

HeldIds = Callable[[], set[str]]
ReportLost = Callable[[list[int]], None]


@dataclass
class LostWatch:
    """Called on every poll of the producer; acts at most once per run."""

    plan: RunPlan
    held: HeldIds
    report_lost: ReportLost
    quiet_after: float
    clock: Callable[[], float] = time.monotonic
    _last_change: float = field(init=False)
    _suspects: frozenset[int] | None = field(default=None, init=False)
    _done: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._last_change = self.clock()

    def progressed(self) -> None:
        """A result arrived: the run is alive, forget any suspicion."""
        self._last_change, self._suspects = self.clock(), None

    def check(self, finished: set[int]) -> list[int] | None:
        """The mappings found lost (once), after a quiet spell and a second look."""
        if self._done or not self._due():
            return None
        suspects, previous = self._missing(finished), self._suspects
        self._last_change = self.clock()
        if previous is None:  # first look: look again soon, if anything is missing
            self._suspects = suspects or None
            return None
        self._suspects = None
        lost = suspects & previous
        unfinished = set(range(len(self.plan.task_ids))) - finished
        if not lost or not unfinished <= lost:  # report only once the rest has finished
            return None
        self._done = True
        mappings = sorted(i for i in lost if i != BODY)
        self.report_lost(mappings)
        return mappings

    def _due(self) -> bool:
        wait = self.quiet_after if self._suspects is None else CONFIRM_S
        return self.clock() - self._last_change >= wait

    def _missing(self, finished: set[int]) -> frozenset[int]:
        """Unfinished mappings the broker does not hold, and :data:`BODY` for the chord body.

        The body's message exists only once every mapping has finished; if the report
        has not come by then and the broker does not hold the body, it was lost too.
        """
        held = self.held()
        ids = self.plan.task_ids
        missing = {i for i, task in enumerate(ids) if i not in finished and task not in held}
        if len(finished) == len(ids) and self.plan.body_id not in held:
            missing.add(BODY)
        return frozenset(missing)
