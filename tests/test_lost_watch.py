"""When the producer decides a task message was lost: the rules, on a controlled clock.

The broker side (which ids Redis holds) is exercised end to end in
``test_sync_celery.py``; here ``held`` is the set the broker probe would return.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imgsync.adapters.runstore import RunPlan
from imgsync.producer.lost_watch import CONFIRM_S, LostWatch

QUIET = 60.0


@dataclass
class World:
    now: float = 0.0
    held: set[str] = field(default_factory=lambda: {"t0", "t1", "t2"})
    reported: list[list[int]] = field(default_factory=list)

    def watch(self) -> LostWatch:
        items = ({"source": "a:1", "destination": "m/a:1"},) * 3
        plan = RunPlan("run", "2026-11-29T00:00:00+00:00", items, ("t0", "t1", "t2"), "body")
        return LostWatch(
            plan, lambda: set(self.held), self.reported.append, QUIET, lambda: self.now
        )

    def at(self, watch: LostWatch, seconds: float, finished: set[int]) -> list[int] | None:
        self.now = seconds
        return watch.check(finished)


def test_nothing_is_reported_while_every_message_is_held() -> None:
    world = World()
    watch = world.watch()
    for t in (61, 67, 130, 200):
        assert world.at(watch, t, set()) is None
    assert world.reported == []


def test_a_lost_message_is_reported_after_quiet_and_a_second_look_once_the_rest_is_done() -> None:
    world = World(held={"t0", "t2"})
    watch = world.watch()
    assert world.at(watch, 61, set()) is None  # first look: #1 suspected
    assert world.at(watch, 61 + CONFIRM_S, set()) is None  # confirmed, but #0, #2 still run
    world.held = set()
    watch.progressed()  # #0 and #2 finish at t = 70
    world.now = 70
    assert world.at(watch, 129, {0, 2}) is None  # not quiet long enough
    assert world.at(watch, 131, {0, 2}) is None  # first look after the quiet spell
    assert world.at(watch, 131 + CONFIRM_S, {0, 2}) == [1]
    assert world.at(watch, 300, {0, 2}) is None  # once only
    assert world.reported == [[1]]


def test_a_message_seen_again_at_the_second_look_was_only_in_flight() -> None:
    world = World(held={"t0", "t2"})
    watch = world.watch()
    assert world.at(watch, 61, {0, 2}) is None
    world.held = {"t1"}  # it was between the queue and the unacked hash
    assert world.at(watch, 61 + CONFIRM_S, {0, 2}) is None
    assert world.reported == []


def test_a_lost_chord_body_is_reported_with_no_mapping() -> None:
    world = World(held=set())
    watch = world.watch()
    assert world.at(watch, 61, {0, 1, 2}) is None
    assert world.at(watch, 61 + CONFIRM_S, {0, 1, 2}) == []
    assert world.reported == [[]]
