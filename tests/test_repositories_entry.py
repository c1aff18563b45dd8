"""``repositories:`` entries without a registry: the schema, the selection, the bound, the errors.

Pure: the catalog and tag lists are dictionaries. What a real registry's catalog, its
``Link`` paging and the registries without one do is in tests/test_repositories_sync.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from imgsync.config.syncload import load_sync_file
from imgsync.core.catalog import expand_catalogs
from imgsync.core.plan import Plan, expand
from imgsync.core.reference import ImageReference
from imgsync.errors import (
    Category,
    ConfigError,
    MissingOrDenied,
    NoCatalog,
    PlanError,
    RegistryError,
    RegistryUnavailable,
)

HOST = "reg.example.com"
CATALOG = ["team/api", "team/web", "team/web-legacy", "team/ops/db", "teamwork/x", "other/y"]
TAGS = {
    f"{HOST}/team/api": ["v1.0", "v1.1", "latest", "dev"],
    f"{HOST}/team/web": ["v2.0", "latest"],
    f"{HOST}/team/ops/db": ["v9", "nightly"],
}


def write(tmp_path: Path, entry: str, defaults: str = "dest_prefix: mirror.example.com/m") -> Path:
    path = tmp_path / "sync.yaml"
    text = f"defaults: {{{defaults}}}\nimages:\n  - source: {HOST}/single:v1\n{entry}"
    path.write_text(text)
    return path


def catalog_of(catalogs: dict[str, list[str]], asked: list[str]) -> Callable[[str], list[str]]:
    def list_repositories(host: str) -> list[str]:
        asked.append(host)
        return catalogs[host]

    return list_repositories


def failing(error: RegistryError) -> Callable[[str], list[str]]:
    def list_repositories(host: str) -> list[str]:
        raise error

    return list_repositories


def plan_for(path: Path, list_repositories: Callable[[str], list[str]]) -> Plan:
    sync_file = load_sync_file(path)
    rules = expand_catalogs(sync_file.rules, list_repositories)
    return expand(
        rules, list_tags=lambda ref: TAGS[ref.name], dest_rules=sync_file.entry_rules(None)
    )


def test_prefix_include_and_exclude_select_repositories_each_with_its_own_tags(
    tmp_path: Path,
) -> None:
    entry = (
        f"  - repositories: {{registry: {HOST}, prefix: team/,\n"
        "                   include: ['^team/(api|web|ops)'], exclude: [legacy]}\n"
        "    tags: {regex: '^v'}\n"
    )
    asked: list[str] = []
    plan = plan_for(write(tmp_path, entry), catalog_of({HOST: CATALOG}, asked))
    assert [item.describe() for item in plan.items] == [
        f"{HOST}/single:v1 -> mirror.example.com/m/single:v1",
        f"{HOST}/team/api:v1.0 -> mirror.example.com/m/team/api:v1.0",
        f"{HOST}/team/api:v1.1 -> mirror.example.com/m/team/api:v1.1",
        f"{HOST}/team/ops/db:v9 -> mirror.example.com/m/team/ops/db:v9",
        f"{HOST}/team/web:v2.0 -> mirror.example.com/m/team/web:v2.0",
    ]
    assert asked == [HOST]


def test_the_prefix_is_whole_path_components_and_no_tags_means_latest(tmp_path: Path) -> None:
    entry = f"  - repositories: {{registry: {HOST}, prefix: team, exclude: [ops, legacy]}}\n"
    plan = plan_for(write(tmp_path, entry), catalog_of({HOST: CATALOG}, []))
    sources = [str(item.source) for item in plan.items]
    assert sources == [f"{HOST}/single:v1", f"{HOST}/team/api:latest", f"{HOST}/team/web:latest"]


def test_destinations_follow_the_entry_template(tmp_path: Path) -> None:
    entry = f"  - repositories: {{registry: {HOST}, prefix: team/ops}}\n    dest_template: flat:_\n"
    plan = plan_for(write(tmp_path, entry), catalog_of({HOST: CATALOG}, []))
    assert str(plan.items[-1].destination) == "mirror.example.com/m/team_ops_db:latest"


def test_two_repositories_laid_out_on_one_destination_are_refused_naming_both(
    tmp_path: Path,
) -> None:
    catalogs = {HOST: ["a/redis", "b/redis"]}
    entry = f"  - repositories: {{registry: {HOST}}}\n    dest_template: last\n"
    with pytest.raises(ConfigError, match=r"images\[1\] \(b/redis\).*images\[1\] \(a/redis\)"):
        plan_for(write(tmp_path, entry), catalog_of(catalogs, []))


def test_a_selection_above_max_names_the_entry_the_count_and_the_key(tmp_path: Path) -> None:
    entry = f"  - repositories: {{registry: {HOST}, prefix: team, max: 3}}\n"
    with pytest.raises(ConfigError) as caught:
        plan_for(write(tmp_path, entry), catalog_of({HOST: CATALOG}, []))
    message = str(caught.value)
    assert "sync.yaml:4: images[1].repositories: selects 4 repositories" in message
    assert "more than max 3: raise images[1].repositories.max" in message


def test_an_empty_selection_is_refused(tmp_path: Path) -> None:
    entry = f"  - repositories: {{registry: {HOST}, prefix: nobody}}\n"
    with pytest.raises(ConfigError, match=r"selects no repository: the catalog .* lists 6"):
        plan_for(write(tmp_path, entry), catalog_of({HOST: CATALOG}, []))


def test_a_registry_without_catalog_is_a_config_error_at_the_entry(tmp_path: Path) -> None:
    entry = "  - repositories: {registry: docker.io, prefix: library}\n"
    error = NoCatalog("docker.io lists no repositories: list the repositories", status=401)
    with pytest.raises(ConfigError, match=r"sync.yaml:4: images\[1\].repositories: docker.io"):
        plan_for(write(tmp_path, entry), failing(error))


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (RegistryUnavailable("connection refused"), Category.NETWORK),
        (MissingOrDenied("denied", status=403), Category.NOT_FOUND),
    ],
)
def test_a_catalog_that_cannot_be_read_stops_the_plan_with_its_category(
    tmp_path: Path, error: RegistryError, category: Category
) -> None:
    entry = f"  - repositories: {{registry: {HOST}}}\n"
    with pytest.raises(PlanError) as caught:
        plan_for(write(tmp_path, entry), failing(error))
    assert caught.value.category is category
    assert f"cannot read the repository catalog of {HOST}" in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            f"  - repositories: {{registry: {HOST}}}\n    destinations: [x.io/a]\n",
            "images[1]: a repositories entry names its destinations from dest_prefix",
        ),
        (
            f"  - repositories: {{registry: {HOST}}}\n    source: {HOST}/a\n",
            "images[1]: an image needs one of source and repositories",
        ),
        (
            f"  - repositories: {{registry: {HOST}, max: 0}}\n",
            "images[1].repositories.max: Input should be greater than or equal to 1",
        ),
        (
            f"  - repositories: {{registry: {HOST}, include: ['(']}}\n",
            "images[1].repositories.include[0]: invalid regular expression",
        ),
        (
            f"  - repositories: {{registry: {HOST}, prefix: Team}}\n",
            "images[1].repositories.prefix: 'Team' is not a repository path prefix",
        ),
        (
            f"  - repositories: {{registry: {HOST}, prefx: team}}\n",
            "unknown key 'prefx' (allowed: registry, prefix, include, exclude, max)",
        ),
    ],
)
def test_a_bad_repositories_entry_is_refused_at_its_line(
    tmp_path: Path, entry: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_sync_file(write(tmp_path, entry))
    assert "sync.yaml:4: " in str(caught.value)
    assert problem in str(caught.value)


def test_one_catalog_read_serves_every_entry_on_that_registry(tmp_path: Path) -> None:
    entries = (
        f"  - repositories: {{registry: {HOST}, prefix: team/api}}\n"
        f"  - repositories: {{registry: {HOST}, prefix: team/web, exclude: [legacy]}}\n"
    )
    asked: list[str] = []
    plan = plan_for(write(tmp_path, entries), catalog_of({HOST: CATALOG}, asked))
    assert asked == [HOST]
    assert ImageReference(HOST, "team/web", "latest") in [item.source for item in plan.items]
