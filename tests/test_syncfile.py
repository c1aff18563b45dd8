"""The sync file: what it accepts, what it expands to, and errors that name file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from imgsync.config.settings import Settings
from imgsync.config.syncload import SyncFile, load_sync_file
from imgsync.core.plan import Plan, expand
from imgsync.core.reference import ImageReference
from imgsync.errors import ConfigError, PlanError, RegistryUnavailable
from tests.cli_run import base_env, run_imgsync

GOOD = """\
defaults: {dest_prefix: registry.example.com/mirror, platforms: all, concurrency: 4}
registries:
  docker.io: {username_env: HUB_USER, token_env: HUB_TOKEN}
  127.0.0.1:5001: {insecure: true, concurrency: 2}
images:
  - source: nginx
    tags: ["1.25", 1.20, "1.27-alpine"]
    destinations: [myrepo/nginx, registry.example.com/mirror/nginx]
  - source: quay.io/prometheus/node-exporter
    tags: {regex: '^v1\\.[0-9]+\\.[0-9]+$', exclude: '-rc', semver: '>=1.7.0', latest: 2}
    platforms: [linux/amd64, linux/arm64]
  - source: alpine
    destinations: 127.0.0.1:5001/alpine
    tags: {list: ["3.19.1"], immutable: '^[0-9]+\\.[0-9]+\\.[0-9]+$'}
  - "busybox:1.36=myrepo/busybox"
"""
NODE_EXPORTER_TAGS = ["v1.6.0", "v1.7.0", "v1.8.0", "v1.8.1-rc.0", "v1.8.1", "latest"]


def write(tmp_path: Path, text: str, name: str = "sync.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def lister(tags: dict[str, list[str]]) -> object:
    def list_tags(repository: ImageReference) -> list[str]:
        return tags[repository.name]

    return list_tags


def expand_file(
    sync_file: SyncFile, tags: dict[str, list[str]] | None = None, hub_user: str | None = "me"
) -> Plan:
    list_tags = lister(tags or {})
    return expand(sync_file.rules, list_tags=list_tags, dockerhub_user=hub_user)  # type: ignore[arg-type]


def test_issue_example_expands_to_images_times_tags_times_destinations(tmp_path: Path) -> None:
    sync_file = load_sync_file(write(tmp_path, GOOD))
    plan = expand_file(sync_file, {"quay.io/prometheus/node-exporter": NODE_EXPORTER_TAGS})
    assert [item.describe() for item in plan.items] == [
        "docker.io/library/nginx:1.25 -> docker.io/myrepo/nginx:1.25",
        "docker.io/library/nginx:1.25 -> registry.example.com/mirror/nginx:1.25",
        "docker.io/library/nginx:1.20 -> docker.io/myrepo/nginx:1.20",
        "docker.io/library/nginx:1.20 -> registry.example.com/mirror/nginx:1.20",
        "docker.io/library/nginx:1.27-alpine -> docker.io/myrepo/nginx:1.27-alpine",
        "docker.io/library/nginx:1.27-alpine -> registry.example.com/mirror/nginx:1.27-alpine",
        "quay.io/prometheus/node-exporter:v1.8.0 -> registry.example.com/mirror/prometheus/"
        "node-exporter:v1.8.0  [platforms linux/amd64,linux/arm64]",
        "quay.io/prometheus/node-exporter:v1.8.1 -> registry.example.com/mirror/prometheus/"
        "node-exporter:v1.8.1  [platforms linux/amd64,linux/arm64]",
        "docker.io/library/alpine:3.19.1 -> 127.0.0.1:5001/alpine:3.19.1  [immutable]",
        "docker.io/library/busybox:1.36 -> docker.io/myrepo/busybox:1.36",
    ]
    assert plan.prune == ()


def test_expanded_items_cross_the_broker_as_plain_json(tmp_path: Path) -> None:
    sync_file = load_sync_file(write(tmp_path, GOOD))
    plan = expand_file(sync_file, {"quay.io/prometheus/node-exporter": NODE_EXPORTER_TAGS})
    by_tag = {item.source.tag: item.to_dict() for item in plan.items}
    assert by_tag["v1.8.0"]["platforms"] == ["linux/amd64", "linux/arm64"]
    assert by_tag["3.19.1"]["immutable"] is True
    assert set(by_tag["1.25"]) == {"source", "destination"}


def test_registry_settings_read_the_named_variables(tmp_path: Path) -> None:
    sync_file = load_sync_file(write(tmp_path, GOOD))
    env = {"HUB_USER": "me", "HUB_TOKEN": "dckr_pat_x"}
    settings = Settings.from_env({}, home=tmp_path).with_sync_file(sync_file, env)
    hub = settings.registries["docker.io"]
    assert hub.username == "me" and hub.password is not None
    assert hub.password.get_secret_value() == "dckr_pat_x"
    assert settings.registries["127.0.0.1:5001"].insecure
    assert settings.registries["127.0.0.1:5001"].concurrency == 2
    assert settings.concurrency == 4
    with pytest.raises(ConfigError, match=r"registries\.docker\.io: HUB_TOKEN is not set"):
        Settings.from_env({}, home=tmp_path).with_sync_file(sync_file, {"HUB_USER": "me"})


def test_imgsync_config_variable_applies_the_file_to_workers_settings(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    settings = Settings.from_env(
        {"IMGSYNC_CONFIG": str(path), "HUB_USER": "u", "HUB_TOKEN": "t"}, home=tmp_path
    )
    assert settings.config_file == path and "docker.io" in settings.registries


# (id, file text, line, what the message must say)
BAD: list[tuple[str, str, int, str]] = [
    (
        "unknown-key",
        """\
        images:
          - source: nginx
            destinations: [me/nginx]
            platform: [linux/amd64]
        """,
        4,
        "images[0].platform: unknown key 'platform' (allowed: source, mapping, tags,",
    ),
    (
        "unknown-top-level-key",
        "image:\n  - source: nginx\n",
        1,
        "image: unknown key 'image' (allowed: version, defaults, registries, images, "
        "signatures, schedules)",
    ),
    (
        "wrong-type",
        """\
        defaults: {dest_prefix: r.example.com/m}
        images:
          - source: nginx
            tags: {latest: three}
        """,
        4,
        "images[0].tags.latest: Input should be a valid integer",
    ),
    (
        "bad-regex",
        """\
        defaults: {dest_prefix: r.example.com/m}
        images:
          - source: nginx
            tags:
              regex: '^1\\.(2'
        """,
        5,
        "images[0].tags.regex: invalid regular expression '^1\\\\.(2': missing ),",
    ),
    (
        "bad-semver-range",
        """\
        defaults: {dest_prefix: r.example.com/m}
        images:
          - source: nginx
          - source: redis
            tags: {semver: '>=7 <'}
        """,
        5,
        "images[1].tags.semver: semver range '>=7 <': cannot read '<'",
    ),
    (
        "bad-platform",
        """\
        defaults: {dest_prefix: r.example.com/m}
        images:
          - source: nginx
            platforms:
              - linux/amd64
              - Linux
        """,
        6,
        "images[0].platforms[1]: platform 'Linux' must be os/architecture[/variant]",
    ),
    (
        "bad-source",
        "defaults: {dest_prefix: r.example.com/m}\nimages:\n  - source: Nginx\n",
        3,
        "images[0].source: uppercase letters are not allowed in repository names",
    ),
    (
        "list-and-filters",
        """\
        defaults: {dest_prefix: r.example.com/m}
        images:
          - source: nginx
            tags: {list: ["1"], latest: 3}
        """,
        4,
        "images[0].tags: give either list or filters",
    ),
    (
        "destination-tag-with-many-tags",
        """\
        images:
          - source: nginx
            tags: ["1", "2"]
            destinations: me/nginx:stable
        """,
        2,
        "images[0]: destination 'me/nginx:stable' has a tag, but more than one tag is selected",
    ),
    (
        "registry-key-not-a-host",
        "registries:\n  nginx: {insecure: true}\nimages: ['a=me/a']\n",
        2,
        "registries.nginx: 'nginx' is not a registry host",
    ),
    (
        "half-a-credential",
        "registries:\n  ghcr.io:\n    username_env: GH_USER\nimages: ['a=me/a']\n",
        2,
        "registries.ghcr.io: username_env needs password_env",
    ),
    ("key-given-twice", "images: ['a=me/a']\nimages: ['b=me/b']\n", 2, "images: key given twice"),
    ("not-yaml", "images: [a=me/a\n", 2, "not valid YAML"),
    ("empty-images", "images: []\n", 1, "'images' is empty"),
    ("missing-images", "defaults: {prune: false}\n", 1, "missing key 'images'"),
]


@pytest.mark.parametrize(("text", "line", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_file_is_one_error_with_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_sync_file(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}:{line}: "), lines[0]
    assert message in lines[0]


EXPANSION_ERRORS: list[tuple[str, str, int, str]] = [
    (
        "duplicate-destination-across-images",
        """\
        images:
          - source: nginx
            tags: ["1.25"]
            destinations: [me/web]
          - source: library/nginx:1.25
            destinations: [me/web]
        """,
        6,
        "images[1].destinations[0]: writes docker.io/me/web:1.25, which "
        "images[0].destinations[0] (line 4) writes too",
    ),
    (
        "duplicate-destination-within-an-image",
        """\
        images:
          - source: nginx:1
            destinations: [me/web, docker.io/me/web]
        """,
        3,
        "images[0].destinations[1]: writes docker.io/me/web:1, which "
        "images[0].destinations[0] (line 3) writes too",
    ),
    (
        "unpushable-destination",
        """\
        images:
          - source: nginx:1
            destinations:
              - me/ok
              - nginx
        """,
        5,
        "images[0].destinations[1]: cannot push to docker.io/library/nginx; set DOCKERHUB_USERNAME",
    ),
    (
        "no-destination-and-no-prefix",
        "images:\n  - source: nginx:1\n",
        2,
        "images[0]: no destination",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [c[1:] for c in EXPANSION_ERRORS],
    ids=[c[0] for c in EXPANSION_ERRORS],
)
def test_expansion_error_names_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        expand_file(load_sync_file(path), hub_user=None)
    assert str(caught.value).startswith(f"{path}:{line}: "), str(caught.value)
    assert message in str(caught.value)


def test_a_source_whose_tags_cannot_be_listed_stops_the_plan(tmp_path: Path) -> None:
    path = write(tmp_path, "images:\n  - source: nginx\n    tags: {latest: 1}\n")

    def broken(repository: ImageReference) -> list[str]:
        raise RegistryUnavailable("registry answered HTTP 503")

    with pytest.raises(PlanError, match=r"sync.yaml:2: images\[0\]: cannot list the tags"):
        expand(load_sync_file(path).rules, list_tags=broken, dest_prefix="r.example.com/m")


def test_prune_keeps_every_tag_the_plan_writes_to_the_repository(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        defaults: {dest_prefix: r.example.com/m}
        images:
          - source: nginx
            tags: ["1.25", "1.27"]
            prune: true
          - source: nginx
            tags: {regex: alpine}
          - source: redis
            tags: {regex: nothing-matches}
            prune: true
        """,
    )
    tags = {"docker.io/library/nginx": ["1.27-alpine"], "docker.io/library/redis": ["7"]}
    plan = expand_file(load_sync_file(path), tags)
    targets = {target.repository.name: target.keep for target in plan.prune}
    assert targets == {
        "r.example.com/m/nginx": frozenset({"1.25", "1.27", "1.27-alpine"}),
        "r.example.com/m/redis": frozenset(),
    }


def test_cli_reports_a_bad_file_with_its_line_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, "images:\n  - source: nginx\n    tags: {semver: 'latest'}\n")
    for command in ("validate", "sync"):
        ran = run_imgsync([command, "--config", str(path)], base_env(tmp_path))
        assert ran.returncode == 2, ran.output
        assert f"{path}:3: images[0].tags.semver: semver range 'latest'" in ran.stderr


def test_cli_validate_prints_the_expanded_plan_with_mappings_beside_it(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults: {dest_prefix: r.example.com/m}\nimages: [nginx:1.25]\n")
    ran = run_imgsync(
        ["validate", "--config", str(path), "redis:7=r.example.com/x"], base_env(tmp_path)
    )
    assert ran.returncode == 0, ran.output
    assert ran.stdout.splitlines() == [
        "docker.io/library/nginx:1.25 -> r.example.com/m/nginx:1.25",
        "docker.io/library/redis:7 -> r.example.com/x:7",
    ]
