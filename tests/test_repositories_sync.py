"""``repositories:`` entries through the real ``imgsync`` command, real registries and skopeo.

The source is a docker-registry of this module's own (so its catalog holds exactly what
the tests seed) configured with ``catalog: {maxentries: 2}``: distribution 2.8.2 then
answers ``n=1000`` with 400 ``PAGINATION_NUMBER_INVALID`` and pages by two with ``Link``
headers, the paging imgsync must follow. Destinations go to the session's anonymous
registry under a repository prefix of each test's own. Docker Hub and GHCR, which list no
repositories, are their personalities (tests/rig/personalities/dockerhub.py, ghcr.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_run import Ran, registry_env, run_imgsync
from tests.rig.authfile import write_auths
from tests.rig.inspect import head_digest
from tests.rig.oci import seed
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry
AMD64 = [("linux", "amd64", None)]
#: repository → tags, as the module's source registry holds them.
SOURCE = {
    "team/api": ["v1.0", "v1.1", "dev"],
    "team/web": ["v2.0", "latest"],
    "team/web-legacy": ["v0.1"],
    "team/ops/db": ["v9"],
    "other/x": ["v1"],
}


class PagedCatalogRegistry(Registry):
    """docker-registry with ``catalog.maxentries: 2`` (distribution 2.8.2, CVE-2023-2253 fix)."""

    def _write_config(self) -> Path:
        path = super()._write_config()
        config = json.loads(path.read_text())
        config["catalog"] = {"maxentries": 2}
        path.write_text(json.dumps(config))
        return path


@pytest.fixture(scope="module")
def catalog_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("catalog-registry")
    with PagedCatalogRegistry("anonymous", workdir=workdir / "registry") as registry:
        for repo, tags in SOURCE.items():
            for tag in tags:
                seed(registry, repo, tag, platforms=AMD64, tmp_path=workdir, single=True)
        yield registry


@pytest.fixture
def dest_prefix(anon_registry: Registry, unique_repo: str) -> str:
    return f"{anon_registry.host}/{unique_repo}"


def sync_file(tmp_path: Path, dest_prefix: str, *images: dict[str, Any]) -> Path:
    path = tmp_path / "sync.yaml"
    path.write_text(json.dumps({"defaults": {"dest_prefix": dest_prefix}, "images": images}))
    return path


def team(registry: str, **options: Any) -> dict[str, Any]:
    """The entry most tests use: ``team/`` without the legacy repository, ``v`` tags only."""
    selection = {"registry": registry, "prefix": "team/", "exclude": ["legacy$"], **options}
    return {"repositories": selection, "tags": {"regex": "^v"}, "dest_template": "flat:_"}


def run(args: list[str], tmp_path: Path, *registries: Registry, hosts: tuple[str, ...] = ()) -> Ran:
    env = registry_env(tmp_path / "home", *registries, hosts=hosts, IMGSYNC_MAX_RETRIES="0")
    report = tmp_path / "report.json" if args[0] == "sync" else None
    if report is not None:
        report.unlink(missing_ok=True)
    return run_imgsync(args, env, report=report)


def test_validate_lists_the_repositories_a_paged_catalog_selects_with_their_own_tags(
    tmp_path: Path, catalog_registry: Registry, anon_registry: Registry, dest_prefix: str
) -> None:
    since = catalog_registry.mark()
    path = sync_file(tmp_path, dest_prefix, team(catalog_registry.host))
    ran = run(["validate", "--config", str(path)], tmp_path, catalog_registry, anon_registry)
    assert ran.returncode == 0, ran.output
    source = catalog_registry.host
    assert ran.stdout.splitlines() == [
        f"{source}/team/api:v1.0 -> {dest_prefix}/team_api:v1.0",
        f"{source}/team/api:v1.1 -> {dest_prefix}/team_api:v1.1",
        f"{source}/team/ops/db:v9 -> {dest_prefix}/team_ops_db:v9",
        f"{source}/team/web:v2.0 -> {dest_prefix}/team_web:v2.0",
    ]
    catalog = [r for r in catalog_registry.requests(since) if r.path.startswith("/v2/_catalog")]
    assert [r.status for r in catalog] == [400, 200, 200, 200]  # n=1000 refused, 3 pages of 2
    assert "last=" in catalog[-1].path


def test_a_selection_over_max_stops_validate_naming_entry_count_and_key(
    tmp_path: Path, catalog_registry: Registry, anon_registry: Registry, dest_prefix: str
) -> None:
    path = sync_file(tmp_path, dest_prefix, team(catalog_registry.host, max=2))
    ran = run(["validate", "--config", str(path)], tmp_path, catalog_registry, anon_registry)
    assert ran.returncode == 2, ran.output
    assert "images[0].repositories: selects 3 repositories" in ran.stderr
    assert "more than max 2: raise images[0].repositories.max" in ran.stderr
    assert ran.stdout == ""


def test_sync_copies_every_selected_repository_and_the_rerun_skips(
    tmp_path: Path, catalog_registry: Registry, anon_registry: Registry, dest_prefix: str
) -> None:
    path = sync_file(tmp_path, dest_prefix, team(catalog_registry.host))
    first = run(["sync", "--config", str(path)], tmp_path, catalog_registry, anon_registry)
    assert first.returncode == 0, first.output
    assert first.report is not None
    assert [r["status"] for r in first.report["results"]] == ["synced"] * 4
    namespace = dest_prefix.partition("/")[2]
    copied = {
        (repo, tag): head_digest(anon_registry, f"{namespace}/{repo}", tag)
        for repo, tag in [("team_api", "v1.0"), ("team_api", "v1.1"), ("team_ops_db", "v9")]
    }
    assert all(copied.values()), copied
    assert head_digest(anon_registry, f"{namespace}/team_api", "dev") is None
    assert head_digest(anon_registry, f"{namespace}/team_web-legacy", "v0.1") is None
    again = run(["sync", "--config", str(path)], tmp_path, catalog_registry, anon_registry)
    assert again.returncode == 0, again.output
    assert again.report is not None
    assert [r["status"] for r in again.report["results"]] == ["skipped"] * 4


@pytest.mark.parametrize(
    ("name", "status"), [("dockerhub", 401), ("ghcr", 404)], ids=["dockerhub", "ghcr"]
)
def test_a_registry_without_catalog_stops_the_run_before_any_copy_or_prune(
    tmp_path: Path,
    catalog_registry: Registry,
    anon_registry: Registry,
    dest_prefix: str,
    personality: PersonalityFactory,
    name: str,
    status: int,
) -> None:
    hub = personality(name)
    namespace = dest_prefix.partition("/")[2]
    kept = seed(anon_registry, f"{namespace}/x", "old", platforms=AMD64, tmp_path=tmp_path)
    plain = {"source": f"{catalog_registry.host}/other/x:v1", "prune": True}
    path = sync_file(tmp_path, dest_prefix, plain, {"repositories": {"registry": hub.host}})
    since = anon_registry.mark()
    ran = run(
        ["sync", "--config", str(path)],
        tmp_path,
        catalog_registry,
        anon_registry,
        hosts=(hub.host,),
    )
    assert ran.returncode == 2, ran.output
    assert f"images[1].repositories: {hub.host} lists no repositories" in ran.stderr
    assert "list the repositories as separate entries" in ran.stderr
    assert "registry's own API" in ran.stderr
    catalog = [s for s in hub.stats.requests() if s.target.startswith("/v2/_catalog")]
    assert catalog and catalog[-1].status == status
    assert hub.stats.count("GET") == hub.stats.count("HEAD") == 0
    assert head_digest(anon_registry, f"{namespace}/x", "v1") is None
    assert head_digest(anon_registry, f"{namespace}/x", "old") == kept
    written = [r for r in anon_registry.requests(since) if r.method in ("PUT", "POST", "DELETE")]
    assert written == []


def test_a_catalog_that_cannot_be_read_stops_the_run_with_nothing_copied(
    tmp_path: Path, catalog_registry: Registry, anon_registry: Registry, dest_prefix: str
) -> None:
    plain = {"source": f"{catalog_registry.host}/other/x:v1"}
    gone = {"repositories": {"registry": "127.0.0.1:1"}}
    path = sync_file(tmp_path, dest_prefix, plain, gone)
    ran = run(["sync", "--config", str(path)], tmp_path, catalog_registry, anon_registry)
    assert ran.returncode == 1, ran.output
    assert "images[1].repositories: cannot read the repository catalog of 127.0.0.1:1" in (
        ran.stderr
    )
    namespace = dest_prefix.partition("/")[2]
    assert head_digest(anon_registry, f"{namespace}/other/x", "v1") is None


def test_refused_credentials_for_the_catalog_stay_an_auth_failure_not_a_missing_catalog(
    tmp_path: Path, basic_registry: Registry, anon_registry: Registry, dest_prefix: str
) -> None:
    path = sync_file(tmp_path, dest_prefix, {"repositories": {"registry": basic_registry.host}})
    env = registry_env(tmp_path / "home", anon_registry, hosts=(basic_registry.host,))
    wrong = write_auths(tmp_path / "wrong.json", {basic_registry.host: ("tester", "wrong")})
    ran = run_imgsync(
        ["validate", "--config", str(path)], {**env, "REGISTRY_AUTH_FILE": str(wrong)}
    )
    assert ran.returncode == 1, ran.output
    assert "cannot read the repository catalog" in ran.stderr
    assert "check the credentials" in ran.stderr
    assert "lists no repositories" not in ran.stderr
