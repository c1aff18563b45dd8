"""Pulls against Docker Hub's meter: a deferred mapping spends none, a copy what it says.

The source is the ``dockerhub`` personality (each manifest GET is one pull, HEAD is free,
a spent budget answers 429) in front of a real docker-registry holding a two-platform
index; imgsync runs as the real command (embedded mode), as users run it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.authfile import write_auths
from tests.rig.oci import seed
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.proxy import Personality
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry

#: A two-platform index: a copy is 1 + 2 manifest GETs.
PLATFORMS = (("linux", "amd64", None), ("linux", "arm64", None))
COPY_PULLS = 1 + len(PLATFORMS)


def sync(tmp_path: Path, mappings: list[str], insecure: list[str]) -> Ran:
    auth = write_auths(tmp_path / "auth.json", {})
    env = base_env(
        tmp_path,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=",".join(insecure),
        IMGSYNC_MAX_RETRIES="0",
    )
    argv = ["sync", "-c", "1", "--check-concurrency", "1", *mappings]
    return run_imgsync(argv, env, report=tmp_path / "report.json", timeout=120)


def hub_with_index(
    personality: PersonalityFactory, registry: Registry, repo: str, tmp_path: Path, limit: int
) -> Personality:
    seed(registry, f"{repo}/src", "v1", tmp_path=tmp_path, platforms=PLATFORMS)
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


def test_13_pulls_copy_4_of_6_two_platform_images_and_the_2_deferred_spend_none(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    """The issue's case: 2 were copied where 4 fit, an estimate GET on top of each copy."""
    repos = [f"{unique_repo}/src{i}" for i in range(6)]
    for i, repo in enumerate(repos):
        seed(anon_registry, repo, "v1", version=str(i), tmp_path=tmp_path, platforms=PLATFORMS)
    hub = personality("dockerhub", limit=13)
    dst = f"{anon_registry.host}/{unique_repo}"
    mappings = [f"{hub.host}/{repo}:v1={dst}/dst{i}:v1" for i, repo in enumerate(repos)]
    mark = hub.stats.mark()
    ran = sync(tmp_path, mappings, [hub.host, anon_registry.host])
    assert ran.returncode == 0, ran.output
    assert ran.report is not None
    results = {r["source"].split("/", 1)[1].removesuffix(":v1"): r for r in ran.report["results"]}
    statuses = sorted(r["status"] for r in results.values())
    assert statuses == ["deferred"] * 2 + ["synced"] * 4, ran.output
    for repo, result in results.items():
        spent = hub.stats.count("GET", name=repo, since=mark)
        assert spent == (COPY_PULLS if result["status"] == "synced" else 0), (repo, result)
        assert result.get("pulls", 0) == spent, result  # reported = counted (0: omitted)
    assert gets(hub, mark) == 4 * COPY_PULLS
