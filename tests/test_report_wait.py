"""How a waiting producer follows a run in a real Redis: new results once, the end at once.

A producer used to read and decode every result of the run on every poll, and to learn of
the report only at its next poll (up to half a second after it was saved). These tests
check what each call returns and how soon.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis

from imgsync.adapters.runstore import RunPlan, RunStore
from imgsync.core.result import RunReport, Status, SyncResult
from imgsync.producer.distributed import wait_for_report
from tests.celery_rig import fresh_redis_db
from tests.rig.redis_server import RedisServer

pytestmark = pytest.mark.celery

ITEMS = tuple({"source": f"s{i}:1", "destination": f"m/s{i}:1"} for i in range(3))
PLAN = RunPlan("run-w", "2026-01-01T10:00:00+00:00", ITEMS, ("t0", "t1", "t2"), "b")
#: Far longer than any test waits: only the report's signal can end a wait in time.
LONG_POLL_S = 20.0


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[RunStore]:
    with fresh_redis_db(redis_server) as url:
        found = RunStore(redis.Redis.from_url(url), expires=600)
        found.save_plan(PLAN)
        yield found


def _result(i: int, status: Status = Status.SKIPPED) -> SyncResult:
    return SyncResult(source=f"s{i}:1", destination=f"m/s{i}:1", status=status)


def _report() -> RunReport:
    results = tuple(_result(i) for i in range(3))
    return RunReport(PLAN.run_id, "celery", PLAN.started_at, "2026-01-01T10:01:00+00:00", results)


def test_new_results_are_only_those_not_seen_yet(store: RunStore) -> None:
    store.add_result(PLAN.run_id, 0, _result(0))
    store.add_result(PLAN.run_id, 2, _result(2, Status.SYNCED))
    assert store.new_results(PLAN.run_id, set()) == {0: _result(0), 2: _result(2, Status.SYNCED)}
    assert store.new_results(PLAN.run_id, {0, 2}) == {}
    store.add_result(PLAN.run_id, 1, _result(1))
    assert store.new_results(PLAN.run_id, {0, 2}) == {1: _result(1)}


def test_a_wait_ends_when_the_report_is_saved_not_at_the_next_poll(store: RunStore) -> None:
    saver = threading.Timer(0.3, store.save_report, args=(_report(),))
    started = time.monotonic()
    saver.start()
    store.wait_reported(PLAN.run_id, LONG_POLL_S)
    assert time.monotonic() - started < 3.0
    assert store.report(PLAN.run_id) == _report()


def test_a_wait_without_a_report_lasts_its_timeout(store: RunStore) -> None:
    started = time.monotonic()
    store.wait_reported(PLAN.run_id, 0.5)
    assert 0.4 < time.monotonic() - started < 3.0


def test_the_producer_announces_each_result_once_and_returns_the_report_at_once(
    store: RunStore,
) -> None:
    announced: list[SyncResult] = []
    for i in range(3):
        store.add_result(PLAN.run_id, i, _result(i))
    threading.Timer(0.3, store.save_report, args=(_report(),)).start()
    started = time.monotonic()
    report = wait_for_report(store, PLAN, on_result=announced.append, poll=LONG_POLL_S)
    assert time.monotonic() - started < 3.0
    assert report == _report()
    assert announced == [_result(i) for i in range(3)]
