"""``imgsync runs``: recent distributed runs listed from a real Redis run store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from imgsync.adapters.runstore import RunPlan, RunStore
from imgsync.core.result import ErrorInfo, RunReport, Status, SyncResult
from tests.celery_rig import fresh_redis_db
from tests.cli_run import base_env, run_imgsync
from tests.rig.ports import free_port
from tests.rig.redis_server import RedisServer

pytestmark = pytest.mark.celery

ITEMS = ({"source": "a:1", "destination": "m/a:1"}, {"source": "b:1", "destination": "m/b:1"})


@pytest.fixture
def store_url(redis_server: RedisServer) -> Iterator[str]:
    with fresh_redis_db(redis_server) as url:
        yield url


def _result(source: str, status: Status) -> SyncResult:
    error = ErrorInfo("not_found", "no such image") if status is Status.FAILED else None
    return SyncResult(source=source, destination=f"m/{source}", status=status, error=error)


def _seed(url: str) -> None:
    """Three runs: an old finished one, a running one, and one whose keys expired."""
    store = RunStore(redis.Redis.from_url(url), expires=600)
    finished = RunPlan("run-old", "2026-01-01T10:00:00+00:00", ITEMS, ("t1", "t2"), "b1")
    running = RunPlan("run-new", "2026-01-02T10:00:00+00:00", ITEMS, ("t3", "t4"), "b2")
    store.save_plan(finished)
    store.save_plan(running)
    results = (_result("a:1", Status.SYNCED), _result("b:1", Status.FAILED))
    store.save_report(
        RunReport("run-old", "celery", finished.started_at, "2026-01-01T10:01:00+00:00", results)
    )
    store.add_result("run-new", 0, _result("a:1", Status.SKIPPED))
    store.client.zadd("imgsync:runs", {"run-gone": 1.0})


def _runs(url: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = base_env(tmp_path, IMGSYNC_BROKER_URL=url)
    ran = run_imgsync(["runs", *args], env)
    return ran.returncode, ran.stdout, ran.stderr


def test_runs_lists_newest_first_with_state_and_counts(store_url: str, tmp_path: Path) -> None:
    _seed(store_url)
    code, out, err = _runs(store_url, tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert lines[0].split()[:4] == ["run-new", "2026-01-02T10:00:00+00:00", "running", "1/2"]
    assert "skipped=1" in lines[0]
    assert lines[1].split()[:4] == ["run-old", "2026-01-01T10:00:00+00:00", "done", "2/2"]
    assert "synced=1" in lines[1] and "failed=1" in lines[1]


def test_runs_json_and_limit(store_url: str, tmp_path: Path) -> None:
    _seed(store_url)
    code, out, err = _runs(store_url, tmp_path, "--json", "--limit", "1")
    assert code == 0, err
    runs = json.loads(out)
    assert [r["run_id"] for r in runs] == ["run-new"]
    assert runs[0]["state"] == "running"
    assert runs[0]["summary"] == {"synced": 0, "skipped": 1, "failed": 0, "would_sync": 0}
    code, out, _ = _runs(store_url, tmp_path, "--json")
    old = json.loads(out)[1]
    assert old["summary"] == {"synced": 1, "skipped": 0, "failed": 1, "would_sync": 0}
    assert old["finished_at"] == "2026-01-01T10:01:00+00:00"


def test_runs_with_none_recorded_says_so(store_url: str, tmp_path: Path) -> None:
    code, out, err = _runs(store_url, tmp_path)
    assert (code, out) == (0, "")
    assert "no runs recorded" in err


def test_runs_without_a_broker_exits_2(tmp_path: Path) -> None:
    ran = run_imgsync(["runs"], base_env(tmp_path))
    assert ran.returncode == 2, ran.output
    assert "Redis result backend" in ran.stderr


@pytest.mark.parametrize("command", [["runs"], ["status", "0123abcd"]])
def test_an_unreachable_broker_is_a_clear_error_with_exit_2_not_a_traceback(
    command: list[str], tmp_path: Path
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    ran = run_imgsync([*command, "--broker", closed], base_env(tmp_path), timeout=60)
    assert ran.returncode == 2, ran.stderr
    assert "cannot reach the broker or result backend" in ran.stderr
    assert "Traceback" not in ran.stderr
