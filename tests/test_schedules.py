"""``imgsync beat``: a sync file's schedule fires on time and never overlaps itself.

Real ``imgsync beat`` and ``imgsync worker`` processes, Redis, a registry behind a
throttling proxy (the first run's copy takes seconds, longer than the interval),
and skopeo. Ticks that arrive while the schedule's run is going must be skipped
and logged; the runs that do start must follow each other.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from celery.schedules import crontab

from imgsync.adapters.runstore import RunStore
from imgsync.config.syncload import load_sync_file
from imgsync.errors import ConfigError
from imgsync.workers.schedules import beat_schedule
from tests.celery_rig import Cluster, fresh_redis_db, seed_sized, unique_name, wait_until
from tests.cli_run import IMGSYNC, authfile_for, base_env
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry
from tests.rig.slow_proxy import SlowProxy

pytestmark = [pytest.mark.celery, pytest.mark.registry]

MB = 1_000_000
#: A 2-platform image of 1 MB layers takes ~4 s through the proxy: longer than the interval.
SLOW_RATE = 500_000
SKIPPED = "is still going; this run is skipped"


def write_sync_file(path: Path, mapping: str, **schedule: object) -> Path:
    path.write_text(json.dumps({"images": [mapping], "schedules": [schedule]}))
    return path


@pytest.fixture
def slow(anon_registry: Registry) -> Iterator[SlowProxy]:
    with SlowProxy.in_front_of(anon_registry.host, rate_bps=SLOW_RATE) as proxy:
        yield proxy


def finished_runs(store: RunStore) -> list[tuple[str, str]]:
    """``(started_at, finished_at)`` of every run with a report, oldest first."""
    reports = [store.report(run_id) for run_id in store.recent_runs(100)]
    return sorted((r.started_at, r.finished_at) for r in reports if r is not None)


@pytest.mark.timeout(150)
def test_a_schedule_fires_and_skips_ticks_while_its_run_is_going(
    tmp_path: Path,
    redis_server: RedisServer,
    anon_registry: Registry,
    basic_registry: Registry,
    slow: SlowProxy,
    unique_repo: str,
) -> None:
    seed_sized(anon_registry, unique_repo, "big", tmp_path=tmp_path, layer_size=MB)
    mapping = f"{slow.host}/{unique_repo}:big={basic_registry.host}/{unique_repo}/copy:big"
    config = write_sync_file(tmp_path / "sync.yaml", mapping, name="quick", every=1)
    with fresh_redis_db(redis_server) as url:
        (tmp_path / "home").mkdir()
        env = base_env(
            tmp_path / "home",
            IMGSYNC_BROKER_URL=url,
            IMGSYNC_QUEUE=unique_name("beat"),
            IMGSYNC_INSECURE_REGISTRIES=f"{basic_registry.host},{slow.host}",
            REGISTRY_AUTH_FILE=str(authfile_for(tmp_path / "auth.json", [basic_registry])),
            IMGSYNC_CONFIG=str(config),
        )
        cluster = Cluster(tmp_path, env)
        beat_log = tmp_path / "beat.log"
        try:
            cluster.spawn_worker(concurrency=2).wait_ready()
            beat_started = datetime.now(UTC)
            with beat_log.open("wb") as log:
                beat = subprocess.Popen(
                    [*IMGSYNC, "beat", "--schedule-file", str(tmp_path / "beat-state")],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            store = RunStore(redis.Redis.from_url(url), expires=600)
            try:
                wait_until(lambda: len(finished_runs(store)) >= 3, 90, "three scheduled runs")
            finally:
                beat.terminate()
                beat.wait(15)
            runs = finished_runs(store)
        finally:
            cluster.stop()
    first_start = datetime.fromisoformat(runs[0][0])
    assert (first_start - beat_started).total_seconds() < 10, (beat_started, runs)
    for (_, previous_end), (next_start, _) in itertools.pairwise(runs):
        assert next_start >= previous_end, runs
    assert SKIPPED in cluster.logs(), beat_log.read_text()


def test_schedules_need_exactly_one_timing_and_unique_names(tmp_path: Path) -> None:
    mapping = "nginx=mirror/nginx"
    with pytest.raises(ConfigError, match="exactly one of 'cron' and 'every'"):
        load_sync_file(write_sync_file(tmp_path / "a.yaml", mapping, name="x"))
    with pytest.raises(ConfigError, match="cron expression"):
        load_sync_file(write_sync_file(tmp_path / "b.yaml", mapping, name="x", cron="bad"))
    spec = load_sync_file(
        write_sync_file(tmp_path / "c.yaml", mapping, name="nightly", cron="0  3 * * *")
    ).spec
    assert spec.schedules[0].cron == "0 3 * * *"
    (entry,) = beat_schedule(spec.schedules, tmp_path / "c.yaml", "q").values()
    assert entry["schedule"] == crontab(minute="0", hour="3")
    assert entry["options"] == {"queue": "q"}
    assert entry["kwargs"] == {
        "name": "nightly",
        "config": str(tmp_path / "c.yaml"),
        "dry_run": False,
    }
    path = tmp_path / "d.yaml"
    path.write_text(json.dumps({"images": [mapping], "schedules": [{"name": "x", "every": 5}] * 2}))
    with pytest.raises(ConfigError, match="unique"):
        load_sync_file(path)
