"""Worker metrics: a real ``imgsync worker --metrics-port`` (prefork), Redis, registry, skopeo.

Two runs go through a worker with two pool processes; /metrics, served by the
worker's main process, must add up both processes' samples to exactly the
reports' summaries. ``imgsync runs`` must list both runs with those summaries.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.celery_rig import Cluster, fresh_redis_db, unique_name
from tests.cli_run import base_env, run_imgsync
from tests.rig.authfile import write_auths
from tests.rig.ports import free_port
from tests.rig.ratelimit_proxy import RateLimitProxy
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

pytestmark = [pytest.mark.celery, pytest.mark.registry]

SeedImage = Callable[..., str]


@contextmanager
def worker_with_metrics(
    workdir: Path, redis_server: RedisServer, insecure: list[str], **env: str
) -> Iterator[tuple[Cluster, int]]:
    """One worker (two pool processes) serving /metrics on a free port."""
    port = free_port()
    with fresh_redis_db(redis_server) as url:
        (workdir / "home").mkdir()
        cluster_env = base_env(
            workdir / "home",
            IMGSYNC_BROKER_URL=url,
            IMGSYNC_QUEUE=unique_name("metrics"),
            IMGSYNC_INSECURE_REGISTRIES=",".join(insecure),
            **env,
        )
        cluster = Cluster(workdir, cluster_env)
        try:
            cluster.spawn_worker(concurrency=2, IMGSYNC_METRICS_PORT=str(port)).wait_ready()
            yield cluster, port
        finally:
            cluster.stop()


@pytest.fixture
def metrics_cluster(
    tmp_path: Path, redis_server: RedisServer, anon_registry: Registry
) -> Iterator[tuple[Cluster, int]]:
    with worker_with_metrics(tmp_path, redis_server, [anon_registry.host]) as started:
        yield started


def scrape(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """``{sample name: {sorted labels: value}}`` of the worker's /metrics."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            found.setdefault(sample.name, {})[labels] = sample.value
    return found


def by_status(samples: dict[tuple[tuple[str, str], ...], float]) -> dict[str, int]:
    return {dict(labels)["status"]: int(value) for labels, value in samples.items() if value}


def nonzero(summary: dict[str, int]) -> dict[str, int]:
    return {status: count for status, count in summary.items() if count}


@pytest.mark.timeout(180)
def test_metrics_add_up_to_the_reports(
    metrics_cluster: tuple[Cluster, int],
    anon_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    cluster, port = metrics_cluster
    seed_image(anon_registry, unique_repo, "v1")
    host = anon_registry.host
    mappings = [
        f"{host}/{unique_repo}:v1={host}/{unique_repo}/m1:v1",
        f"{host}/{unique_repo}:v1={host}/{unique_repo}/m2:v1",
        f"{host}/{unique_repo}:missing={host}/{unique_repo}/m3:missing",
    ]

    first, second = cluster.sync(mappings), cluster.sync(mappings)

    reports: list[dict[str, Any]] = [first.report or {}, second.report or {}]
    assert [r.returncode for r in (first, second)] == [1, 1], first.output + second.output
    assert nonzero(reports[0]["summary"]) == {"synced": 2, "failed": 1}
    assert nonzero(reports[1]["summary"]) == {"skipped": 2, "failed": 1}
    expected = Counter(reports[0]["summary"]) + Counter(reports[1]["summary"])
    metrics = scrape(port)
    assert by_status(metrics["imgsync_mappings_total"]) == dict(expected)
    assert by_status(metrics["imgsync_mapping_seconds_count"]) == dict(expected)
    assert sum(metrics["imgsync_retries_total"].values()) == 0
    assert sum(metrics["imgsync_lock_waits_total"].values()) == 0

    listed = json.loads(_runs_json(cluster))
    assert [r["run_id"] for r in listed] == [reports[1]["run_id"], reports[0]["run_id"]]
    assert [r["summary"] for r in listed] == [reports[1]["summary"], reports[0]["summary"]]
    assert {r["state"] for r in listed} == {"done"}


def _runs_json(cluster: Cluster) -> str:
    ran = run_imgsync(["runs", "--json"], cluster.env)
    assert ran.returncode == 0, ran.output
    return ran.stdout


def test_worker_metrics_port_is_served_before_any_task(
    metrics_cluster: tuple[Cluster, int],
) -> None:
    _, port = metrics_cluster
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    assert "imgsync_mappings_total" not in response.text  # nothing recorded yet


@pytest.mark.timeout(120)
def test_rate_limit_remaining_follows_the_registry_headers(
    tmp_path: Path,
    redis_server: RedisServer,
    anon_registry: Registry,
    seed_image: SeedImage,
    unique_repo: str,
) -> None:
    seed_image(anon_registry, unique_repo, "v1")
    proxy = RateLimitProxy(anon_registry.host, {"alice": "alice-pw"}, limit=50).start()
    auth = write_auths(tmp_path / "auth.json", {proxy.host: ("alice", "alice-pw")})
    insecure = [anon_registry.host, proxy.host]
    try:
        with worker_with_metrics(
            tmp_path, redis_server, insecure, REGISTRY_AUTH_FILE=str(auth)
        ) as (cluster, port):
            dest = f"{anon_registry.host}/{unique_repo}/via-proxy:v1"
            ran = cluster.sync([f"{proxy.host}/{unique_repo}:v1={dest}"])
            assert ran.returncode == 0, ran.output
            gauge = scrape(port)["imgsync_rate_limit_remaining"]
    finally:
        proxy.stop()
    (quota,) = (ran.report or {})["quota"]
    assert quota["registry"] == proxy.host
    assert gauge == {(("registry", proxy.host),): quota["remaining"]}
    assert proxy.remaining("alice") == quota["remaining"] < 50, (
        "the report counts what skopeo spent"
    )
