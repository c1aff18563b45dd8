"""One source, three destinations: Docker Hub's meter sees one copy's pulls, not three.

The source is the ``dockerhub`` personality (each manifest GET is one pull, HEAD is free)
in front of a real docker-registry holding a two-platform index; the destinations are a
real docker-registry, which meters nothing. imgsync runs as the real command with a sync
file whose entry lists three destinations, embedded and through a real Celery worker
(two processes, so the three copies run at once). What one copy costs is measured in the
same test with one destination, not assumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.celery_rig import fresh_redis_db
from tests.cli_run import Ran, base_env, run_imgsync
from tests.reliability_rig import running_cluster
from tests.rig.authfile import write_auths
from tests.rig.inspect import head_digest
from tests.rig.oci import seed
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.proxy import Personality
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry

PLATFORMS = (("linux", "amd64", None), ("linux", "arm64", None))
NAMES = ("a", "b", "c")


def sync_file(path: Path, source: str, destinations: list[str]) -> Path:
    listed = ", ".join(destinations)
    path.write_text(
        f"images:\n  - source: {source}\n    tags: [v1]\n    destinations: [{listed}]\n"
    )
    return path


def embedded(tmp_path: Path, config: Path, insecure: list[str]) -> Ran:
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = base_env(
        tmp_path,
        REGISTRY_AUTH_FILE=str(write_auths(tmp_path / "auth.json", {})),
        IMGSYNC_INSECURE_REGISTRIES=",".join(insecure),
        IMGSYNC_MAX_RETRIES="0",
    )
    argv = ["sync", "--config", str(config), "-c", "3"]
    return run_imgsync(argv, env, report=tmp_path / "report.json", timeout=180)


def results(ran: Ran) -> list[dict[str, object]]:
    assert ran.report is not None, ran.output
    return list(ran.report["results"])


class Case:
    """A seeded source behind the hub, one measured single copy, and three destinations."""

    def __init__(self, hub: Personality, registry: Registry, repo: str, digest: str) -> None:
        self.hub, self.registry, self.repo, self.digest = hub, registry, repo, digest
        self.source = f"{hub.host}/{repo}/src"
        self.insecure = [hub.host, registry.host]

    def destinations(self, *names: str) -> list[str]:
        return [f"{self.registry.host}/{self.repo}/{name}" for name in names]

    def gets(self, since: int) -> int:
        return self.hub.stats.count("GET", since=since)

    def held(self, *names: str) -> list[str | None]:
        return [head_digest(self.registry, f"{self.repo}/{name}", "v1") for name in names]


@pytest.fixture
def case(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> Iterator[Case]:
    digest = seed(anon_registry, f"{unique_repo}/src", "v1", tmp_path=tmp_path, platforms=PLATFORMS)
    yield Case(personality("dockerhub", limit=100), anon_registry, unique_repo, digest)


def one_copy_costs(case: Case, tmp_path: Path) -> int:
    """The hub's manifest GETs for a single destination (embedded, as users run it)."""
    config = sync_file(tmp_path / "one.yaml", case.source, case.destinations("one"))
    mark = case.hub.stats.mark()
    ran = embedded(tmp_path / "one", config, case.insecure)
    assert ran.returncode == 0, ran.output
    assert [r["status"] for r in results(ran)] == ["synced"]
    cost = case.gets(mark)
    assert cost == 1 + len(PLATFORMS)  # the index once, each platform once
    return cost


def test_three_destinations_cost_the_source_one_copy_and_a_rerun_nothing(
    case: Case, tmp_path: Path
) -> None:
    cost = one_copy_costs(case, tmp_path)
    config = sync_file(tmp_path / "three.yaml", case.source, case.destinations(*NAMES))
    mark = case.hub.stats.mark()
    ran = embedded(tmp_path / "three", config, case.insecure)
    assert ran.returncode == 0, ran.output
    assert [r["status"] for r in results(ran)] == ["synced"] * 3, ran.output
    assert case.gets(mark) == cost
    assert sum(int(str(r.get("pulls", 0))) for r in results(ran)) == cost  # reported = counted
    assert case.held(*NAMES) == [case.digest] * 3
    mark = case.hub.stats.mark()
    again = embedded(tmp_path / "again", config, case.insecure)
    assert again.returncode == 0, again.output
    assert [r["status"] for r in results(again)] == ["skipped"] * 3
    assert case.gets(mark) == 0


@pytest.mark.celery
def test_three_destinations_through_a_worker_running_two_at_once(
    case: Case, redis_server: RedisServer, tmp_path: Path
) -> None:
    cost = one_copy_costs(case, tmp_path)
    config = sync_file(tmp_path / "three.yaml", case.source, case.destinations(*NAMES))
    auth = write_auths(tmp_path / "auth.json", {})
    with (
        fresh_redis_db(redis_server) as url,
        running_cluster(tmp_path / "c", broker=url, auth=auth, insecure=case.insecure) as cluster,
    ):
        mark = case.hub.stats.mark()
        first = cluster.sync(["--config", str(config)], timeout=180)
        assert first.returncode == 0, first.output + cluster.logs(tail=3000)
        assert [r["status"] for r in results(first)] == ["synced"] * 3, first.output
        assert case.gets(mark) == cost, cluster.logs(tail=3000)
        assert sum(int(str(r.get("pulls", 0))) for r in results(first)) == cost
        assert case.held(*NAMES) == [case.digest] * 3
        mark = case.hub.stats.mark()
        second = cluster.sync(["--config", str(config)])
    assert [r["status"] for r in results(second)] == ["skipped"] * 3, second.output
    assert case.gets(mark) == 0
