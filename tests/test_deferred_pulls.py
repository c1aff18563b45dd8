"""Pulls against Docker Hub's meter: a deferred mapping spends none, a copy what it says.

The source is the ``dockerhub`` personality (each manifest GET is one pull, HEAD is free,
a spent budget answers 429) in front of a real docker-registry holding two-platform
indexes; imgsync runs as the real command, as users run it: embedded, one copy at a time
(``-c 1``) or eight (``-c 8``: the copies must not overspend the budget together), and on
two Celery workers sharing the budget through Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.celery_rig import fresh_redis_db
from tests.cli_run import Ran, base_env, run_imgsync
from tests.reliability_rig import running_cluster
from tests.rig.authfile import write_auths
from tests.rig.oci import seed
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.proxy import Personality
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry
from tests.rig.slow_proxy import SlowProxy

pytestmark = pytest.mark.registry

#: A two-platform index: a copy is 1 + 2 manifest GETs.
PLATFORMS = (("linux", "amd64", None), ("linux", "arm64", None))
COPY_PULLS = 1 + len(PLATFORMS)
#: A 429 fails the copy at once (skopeo's own backoff would take a minute).
NO_RETRIES = {"IMGSYNC_MAX_RETRIES": "0", "IMGSYNC_RETRY_TIMES": "0"}


def sync(tmp_path: Path, mappings: list[str], insecure: list[str], copies: int = 1) -> Ran:
    auth = write_auths(tmp_path / "auth.json", {})
    env = base_env(
        tmp_path,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=",".join(insecure),
        **NO_RETRIES,
    )
    argv = ["sync", "-c", str(copies), "--check-concurrency", str(copies), *mappings]
    return run_imgsync(argv, env, report=tmp_path / "report.json", timeout=60)


def seed_index(registry: Registry, repo: str, version: str, tmp_path: Path) -> None:
    """A two-platform index as REPO:v1, its content told apart by ``version``."""
    seed(registry, repo, "v1", version=version, tmp_path=tmp_path, platforms=PLATFORMS)


def hub_with_index(
    personality: PersonalityFactory, registry: Registry, repo: str, tmp_path: Path, limit: int
) -> Personality:
    seed_index(registry, f"{repo}/src", "1", tmp_path)
    return personality("dockerhub", limit=limit)


def gets(hub: Personality, since: int) -> int:
    """Manifest GETs the personality saw, whatever it answered (a 429 is a request too)."""
    return hub.stats.count("GET", since=since)


def test_a_mapping_the_budget_cannot_cover_is_deferred_without_a_manifest_get(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    hub = hub_with_index(personality, anon_registry, unique_repo, tmp_path, limit=COPY_PULLS - 2)
    mapping = f"{hub.host}/{unique_repo}/src:v1={anon_registry.host}/{unique_repo}/dst:v1"
    mark = hub.stats.mark()
    ran = sync(tmp_path, [mapping], [hub.host, anon_registry.host])
    assert ran.returncode == 0, ran.output
    assert ran.result_for("/dst:")["status"] == "deferred", ran.output
    assert gets(hub, mark) == 0
    assert hub.stats.count("HEAD", since=mark) >= 1  # decided from the free HEAD's quota


def test_a_copy_reports_the_pulls_the_registry_counted(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    hub = hub_with_index(personality, anon_registry, unique_repo, tmp_path, limit=100)
    mapping = f"{hub.host}/{unique_repo}/src:v1={anon_registry.host}/{unique_repo}/dst:v1"
    mark = hub.stats.mark()
    ran = sync(tmp_path, [mapping], [hub.host, anon_registry.host])
    assert ran.returncode == 0, ran.output
    result = ran.result_for("/dst:")
    assert result["status"] == "synced"
    assert result["pulls"] == gets(hub, mark) == COPY_PULLS  # the index once, each platform


def test_a_deferral_after_reading_the_index_reports_that_pull(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    """No destination index to count the platforms from: the source index is read (the
    budget covers it and one platform), the copy cannot fit, and the report says so."""
    hub = hub_with_index(personality, anon_registry, unique_repo, tmp_path, limit=COPY_PULLS - 1)
    mapping = f"{hub.host}/{unique_repo}/src:v1={anon_registry.host}/{unique_repo}/dst:v1"
    mark = hub.stats.mark()
    ran = sync(tmp_path, [mapping], [hub.host, anon_registry.host])
    assert ran.returncode == 0, ran.output
    result = ran.result_for("/dst:")
    assert result["status"] == "deferred", ran.output
    assert result.get("pulls", 0) == gets(hub, mark) == 1, result
    assert ran.report is not None and ran.report["quota"][0]["used"] == 1


def test_a_destination_index_counts_the_platforms_so_the_deferral_reads_nothing(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    """The image changed upstream; the destination's older index (free to read) says two
    platforms, so a budget of index + 1 defers the copy before any source GET."""
    seed_index(anon_registry, f"{unique_repo}/dst", "old", tmp_path)
    hub = hub_with_index(personality, anon_registry, unique_repo, tmp_path, limit=COPY_PULLS - 1)
    mapping = f"{hub.host}/{unique_repo}/src:v1={anon_registry.host}/{unique_repo}/dst:v1"
    mark = hub.stats.mark()
    ran = sync(tmp_path, [mapping], [hub.host, anon_registry.host])
    assert ran.returncode == 0, ran.output
    assert ran.result_for("/dst:")["status"] == "deferred", ran.output
    assert gets(hub, mark) == 0


@dataclass(frozen=True)
class Budget:
    """A run of ``images`` two-platform copies against ``left`` pulls, ``copies`` at once."""

    left: int
    images: int
    copies: int
    #: Each destination already holds an older two-platform index (the image changed).
    older: bool = False

    @property
    def fits(self) -> int:
        return self.left // COPY_PULLS

    def __str__(self) -> str:
        older = "-older" if self.older else ""
        return f"{self.left}pulls-{self.images}images-c{self.copies}{older}"


BUDGETS = [
    Budget(13, 6, 1),  # the case: 2 were copied where 4 fit
    Budget(13, 6, 8),
    Budget(7, 4, 8),  # the other case: 1 where 2 fit
    # 8 = 2 copies + index + 1: only the destination's index tells the third not to start
    Budget(8, 4, 8, older=True),
]


def seed_budget(registry: Registry, tmp_path: Path, repo: str, budget: Budget) -> None:
    for i in range(budget.images):
        seed_index(registry, f"{repo}/src{i}", str(i), tmp_path)
        if budget.older:
            seed_index(registry, f"{repo}/dst{i}", f"old{i}", tmp_path)


def budget_mappings(hub: Personality, destination: str, repo: str, budget: Budget) -> list[str]:
    dst = f"{destination}/{repo}"
    return [f"{hub.host}/{repo}/src{i}:v1={dst}/dst{i}:v1" for i in range(budget.images)]


def by_source(ran: Ran) -> dict[str, dict[str, Any]]:
    assert ran.report is not None
    return {r["source"].split("/", 1)[1].removesuffix(":v1"): r for r in ran.report["results"]}


def assert_budget_kept(ran: Ran, hub: Personality, mark: int, budget: Budget) -> None:
    """Every image that fits copied at 1 + platforms GETs, the rest deferred at 0, no 429."""
    assert ran.returncode == 0, ran.output
    results = by_source(ran)
    statuses = sorted(r["status"] for r in results.values())
    deferred = budget.images - budget.fits
    assert statuses == ["deferred"] * deferred + ["synced"] * budget.fits, ran.output
    for repo, result in results.items():
        spent = hub.stats.count("GET", name=repo, since=mark)
        assert spent == (COPY_PULLS if result["status"] == "synced" else 0), (repo, result)
        assert result.get("pulls", 0) == spent, result  # reported = counted (0: omitted)
    assert gets(hub, mark) == budget.fits * COPY_PULLS
    assert hub.stats.count("GET", status=429, since=mark) == 0


@pytest.mark.parametrize("budget", BUDGETS, ids=str)
def test_a_budget_copies_every_image_that_fits_and_the_deferred_spend_none(
    personality: PersonalityFactory,
    anon_registry: Registry,
    tmp_path: Path,
    unique_repo: str,
    budget: Budget,
    slow_proxy: Callable[..., SlowProxy],
) -> None:
    """floor(left / (1 + platforms)) copied, whatever the concurrency; no GET beyond them.

    Concurrent copies write to a slow destination, so each is still pushing after it pulled
    its manifests: the registry's count then includes pulls still reserved, and a copy
    that fits must wait for them instead of being deferred."""
    seed_budget(anon_registry, tmp_path, unique_repo, budget)
    hub = personality("dockerhub", limit=budget.left)
    destination = slow_proxy(anon_registry, delay_s=0.02).host if budget.copies > 1 else None
    destination = destination or anon_registry.host
    mappings = budget_mappings(hub, destination, unique_repo, budget)
    mark = hub.stats.mark()
    ran = sync(tmp_path, mappings, [hub.host, destination], budget.copies)
    assert_budget_kept(ran, hub, mark, budget)


@pytest.mark.celery
def test_two_worker_processes_share_one_budget_through_redis(
    personality: PersonalityFactory,
    anon_registry: Registry,
    redis_server: RedisServer,
    slow_proxy: Callable[..., SlowProxy],
    tmp_path: Path,
    unique_repo: str,
) -> None:
    """One worker of two pool processes, reservations in Redis: while the first copy still
    pushes its platforms (a slow destination), the second sees them reserved and waits for
    a later run instead of taking the pulls the first has yet to make."""
    budget = Budget(5, 3, copies=2, older=True)
    seed_budget(anon_registry, tmp_path, unique_repo, budget)
    hub = personality("dockerhub", limit=budget.left)
    slow = slow_proxy(anon_registry, delay_s=0.05)
    mappings = budget_mappings(hub, slow.host, unique_repo, budget)
    auth = write_auths(tmp_path / "auth.json", {})
    with (
        fresh_redis_db(redis_server) as url,
        running_cluster(
            tmp_path / "c",
            broker=url,
            auth=auth,
            insecure=[hub.host, slow.host],
            concurrency=2,
            settings=NO_RETRIES,
        ) as cluster,
    ):
        mark = hub.stats.mark()
        ran = cluster.sync(mappings, timeout=60)
        assert_budget_kept(ran, hub, mark, budget)
