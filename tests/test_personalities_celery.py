"""A sample of the registry personalities through real Celery workers, not only embedded.

What a worker learns about a registry (HEAD refused → GET) must hold inside the worker
process, and the metered skip path (no manifest GET on a re-run) must hold there too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.celery_rig import fresh_redis_db
from tests.cli_run import Ran
from tests.reliability_rig import running_cluster
from tests.rig.authfile import write_auths
from tests.rig.oci import seed
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

pytestmark = [pytest.mark.registry, pytest.mark.celery]


def statuses(ran: Ran) -> list[str]:
    assert ran.report is not None, ran.output
    return [r["status"] for r in ran.report["results"]]


def test_docker_hub_and_a_head_refusing_registry_through_one_worker_copy_then_skip(
    personality: PersonalityFactory,
    anon_registry: Registry,
    redis_server: RedisServer,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    hub, legacy = personality("dockerhub"), personality("legacy")
    digest = seed(anon_registry, f"{unique_repo}/src", "v1", tmp_path=tmp_path)
    mappings = [
        f"{hub.host}/{unique_repo}/src:v1={anon_registry.host}/{unique_repo}/hub:v1",
        f"{legacy.host}/{unique_repo}/src:v1={legacy.host}/{unique_repo}/legacy:v1",
    ]
    insecure = [hub.host, legacy.host, anon_registry.host]
    auth = write_auths(tmp_path / "auth.json", {})
    with (
        fresh_redis_db(redis_server) as url,
        running_cluster(tmp_path / "c", broker=url, auth=auth, insecure=insecure) as cluster,
    ):
        first = cluster.sync(mappings)
        assert first.returncode == 0, first.output + cluster.logs(tail=3000)
        assert statuses(first) == ["synced", "synced"]
        mark_hub, mark_legacy = hub.stats.mark(), legacy.stats.mark()
        second = cluster.sync(mappings)
    assert second.returncode == 0, second.output
    assert statuses(second) == ["skipped", "skipped"]
    assert {r["destination_digest"] for r in second.report["results"]} == {digest}  # type: ignore[index]
    assert hub.stats.count("GET", since=mark_hub) == 0  # HEAD only: no pull spent
    assert hub.stats.count("HEAD", since=mark_hub) >= 1
    assert legacy.stats.count("GET", since=mark_legacy) >= 2  # both sides read with GET
    assert legacy.stats.count("HEAD", since=mark_legacy) <= 1  # learnt once per process
