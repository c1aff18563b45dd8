"""`imgsync sync --config` against real registries and real skopeo: the Done-when list.

Every scenario writes a sync file (JSON is YAML), runs the real command, and
checks what the registries hold and what their access logs saw.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.authfile import write_auths
from tests.rig.inspect import get_manifest, head_digest, registry_request
from tests.rig.oci import (
    Platform,
    platform_string,
    push_layout,
    write_image,
    write_index,
    write_layout_root,
)
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry
SeedImage = Callable[..., str]
REPORT_SCHEMA = json.loads((Path(__file__).parent / "data" / "report.schema.json").read_text())
AMD64: Platform = ("linux", "amd64", None)
ARM64: Platform = ("linux", "arm64", None)
ARMV7: Platform = ("linux", "arm", "v7")
_layouts = itertools.count()


class Rig:
    """The three session registries, an environment with their credentials, and a runner."""

    def __init__(self, tmp_path: Path, anon: Registry, basic: Registry, token: Registry) -> None:
        self.tmp_path, self.anon, self.basic, self.token = tmp_path, anon, basic, token
        user, password = basic.credentials or ("", "")
        self.env = base_env(tmp_path, DST_USER=user, DST_PASSWORD=password)
        self.token_auth = write_auths(
            tmp_path / "token-auth.json", {token.host: token.credentials or ("", "")}
        )

    def registries(self) -> dict[str, Any]:
        """Per-registry settings in the file: env-named credentials, an auth file, insecure."""
        return {
            self.anon.host: {"insecure": True},
            self.basic.host: {
                "insecure": True,
                "username_env": "DST_USER",
                "password_env": "DST_PASSWORD",
                "concurrency": 4,
            },
            self.token.host: {"insecure": True, "authfile": str(self.token_auth)},
        }

    def write(self, images: list[dict[str, Any]], **extra: Any) -> Path:
        path = self.tmp_path / "sync.yaml"
        path.write_text(json.dumps({"registries": self.registries(), "images": images, **extra}))
        return path

    def run(self, *args: str) -> Ran:
        return run_imgsync([*args], self.env)

    def sync(self, config: Path, *args: str) -> Ran:
        report = self.tmp_path / "report.json"
        report.unlink(missing_ok=True)
        ran = run_imgsync(["sync", "--config", str(config), *args], self.env, report=report)
        if ran.report is not None:
            jsonschema.validate(ran.report, REPORT_SCHEMA)
        return ran


@pytest.fixture
def rig(
    tmp_path: Path, anon_registry: Registry, basic_registry: Registry, token_registry: Registry
) -> Rig:
    return Rig(tmp_path, anon_registry, basic_registry, token_registry)


def statuses(ran: Ran) -> dict[str, str]:
    assert ran.report is not None, ran.output
    return {r["destination"]: r["status"] for r in ran.report["results"]}


def tags_of(registry: Registry, repo: str) -> list[str]:
    response = registry_request(registry, "GET", repo, "tags/list", accept="application/json")
    if response.status_code == 404:
        return []
    response.raise_for_status()
    return sorted(response.json().get("tags") or [])


def platform_digests(registry: Registry, repo: str, ref: str) -> dict[str, str]:
    index = get_manifest(registry, repo, ref)
    return {platform_string(_triple(m["platform"])): m["digest"] for m in index["manifests"]}


def _triple(platform: Mapping[str, str]) -> Platform:
    return (platform["os"], platform["architecture"], platform.get("variant"))


def retag(registry: Registry, repo: str, source_tag: str, tags: list[str]) -> None:
    """Point many tags at one manifest with plain PUTs (anonymous registry): fast 30+ tag repos."""
    manifest = registry_request(registry, "GET", repo, f"manifests/{source_tag}")
    manifest.raise_for_status()
    headers = {"Content-Type": manifest.headers["Content-Type"]}
    for tag in tags:
        url = f"{registry.url}/v2/{repo}/manifests/{tag}"
        requests.put(url, data=manifest.content, headers=headers, timeout=10).raise_for_status()


def push_index(
    registry: Registry, repo: str, tag: str, versions: Mapping[Platform, str], tmp_path: Path
) -> str:
    """An index whose platforms each have their own content version; returns its digest."""
    layout = tmp_path / f"layout-subset-{next(_layouts)}"
    entries = [(write_image(layout, "subset", v, p), p) for p, v in versions.items()]
    top = write_index(layout, entries)
    write_layout_root(layout, top, tag)
    push_layout(registry, layout, repo, tag, tmp_path)
    return top.digest


NODE_EXPORTER_TAGS = [
    *(f"v1.{minor}.{patch}" for minor in range(0, 10) for patch in range(3)),
    "v1.8.0-rc.0",
    "v1.9.0-rc.1",
    "v1.10.0-rc.0",
    "v2.0.0",
    "1.9.5",
    "latest",
    "master",
]


def test_regex_semver_and_latest_select_exactly_the_expected_tags_and_sync_them(
    rig: Rig, seed_image: SeedImage, unique_repo: str
) -> None:
    seed_image(rig.anon, unique_repo, "seed", single=True, platforms=[AMD64])
    retag(rig.anon, unique_repo, "seed", NODE_EXPORTER_TAGS)
    assert len(tags_of(rig.anon, unique_repo)) > 30
    tags = {"regex": r"^v1\.[0-9]+\.[0-9]+$", "exclude": "-rc", "semver": ">=1.7.0", "latest": 3}
    config = rig.write(
        [
            {
                "source": f"{rig.anon.host}/{unique_repo}",
                "tags": tags,
                "destinations": [f"{rig.basic.host}/{unique_repo}"],
            }
        ]
    )
    planned = rig.run("validate", "--config", str(config), "--json")
    assert planned.returncode == 0, planned.output
    expected = ["v1.9.0", "v1.9.1", "v1.9.2"]
    assert [json.loads(planned.stdout)[i]["source"].rsplit(":", 1)[1] for i in range(3)] == expected
    assert len(json.loads(planned.stdout)) == 3

    # The three tags share one manifest: concurrent pushes of it into one repository
    # race in docker-registry 2.8 ("blob unknown"), so imgsync serialises them itself.
    ran = rig.sync(config, "--concurrency", "8")
    assert ran.returncode == 0, ran.output
    assert set(statuses(ran).values()) == {"synced"} and len(statuses(ran)) == 3
    assert tags_of(rig.basic, unique_repo) == expected


def test_two_of_three_platforms_arrive_skip_and_follow_only_included_changes(
    rig: Rig, unique_repo: str
) -> None:
    source, destination = rig.anon, rig.token
    push_index(source, unique_repo, "1.0", {AMD64: "1", ARM64: "1", ARMV7: "1"}, rig.tmp_path)
    config = rig.write(
        [
            {
                "source": f"{source.host}/{unique_repo}:1.0",
                "destinations": f"{destination.host}/mirror/{unique_repo}",
                "platforms": ["linux/amd64", "linux/arm64"],
            }
        ]
    )
    mirror = f"mirror/{unique_repo}"

    first = rig.sync(config)
    assert first.returncode == 0, first.output
    assert list(statuses(first).values()) == ["synced"]
    wanted = {"linux/amd64", "linux/arm64"}
    source_platforms = platform_digests(source, unique_repo, "1.0")
    copied = platform_digests(destination, mirror, "1.0")
    assert copied == {p: d for p, d in source_platforms.items() if p in wanted}
    for digest in copied.values():  # the platform manifests themselves are there
        assert head_digest(destination, mirror, digest) == digest

    mark = source.mark()
    second = rig.sync(config)
    assert list(statuses(second).values()) == ["skipped"], second.output
    assert source.count("GET", since=mark) == 0 and source.count("HEAD", since=mark) == 1

    push_index(source, unique_repo, "1.0", {AMD64: "1", ARM64: "1", ARMV7: "2"}, rig.tmp_path)
    mark = destination.mark()
    excluded_changed = rig.sync(config)
    assert list(statuses(excluded_changed).values()) == ["skipped"], excluded_changed.output
    assert destination.count("PUT", path_contains="/", since=mark) == 0
    assert platform_digests(destination, mirror, "1.0") == copied

    push_index(source, unique_repo, "1.0", {AMD64: "2", ARM64: "1", ARMV7: "2"}, rig.tmp_path)
    included_changed = rig.sync(config)
    assert list(statuses(included_changed).values()) == ["synced"], included_changed.output
    now = platform_digests(destination, mirror, "1.0")
    assert set(now) == wanted and now["linux/amd64"] != copied["linux/amd64"]
    assert now["linux/amd64"] == platform_digests(source, unique_repo, "1.0")["linux/amd64"]


def test_a_platform_the_source_lacks_is_a_clear_failure(
    rig: Rig, seed_image: SeedImage, unique_repo: str
) -> None:
    seed_image(rig.anon, unique_repo, "1.0")
    config = rig.write(
        [
            {
                "source": f"{rig.anon.host}/{unique_repo}:1.0",
                "destinations": f"{rig.basic.host}/{unique_repo}",
                "platforms": ["linux/amd64", "linux/s390x"],
            }
        ]
    )
    ran = rig.sync(config)
    assert ran.returncode == 1
    assert ran.report is not None
    error = ran.report["results"][0]["error"]
    assert error["category"] == "not_found"
    assert (
        "source has no linux/s390x (it has linux/amd64,linux/arm/v7,linux/arm64)"
        in error["message"]
    )
    assert tags_of(rig.basic, unique_repo) == []


def test_one_source_goes_to_three_destinations_in_one_run(
    rig: Rig, seed_image: SeedImage, unique_repo: str
) -> None:
    digest = seed_image(rig.basic, unique_repo, "2.1")
    targets = [rig.anon, rig.token, rig.basic]
    config = rig.write(
        [
            {
                "source": f"{rig.basic.host}/{unique_repo}",
                "tags": ["2.1"],
                "destinations": [f"{r.host}/copies/{unique_repo}" for r in targets],
            }
        ]
    )
    ran = rig.sync(config)
    assert ran.returncode == 0, ran.output
    assert list(statuses(ran).values()) == ["synced"] * 3
    for registry in targets:
        assert head_digest(registry, f"copies/{unique_repo}", "2.1") == digest


def test_an_immutable_tag_already_present_costs_no_request_to_the_source(
    rig: Rig, seed_image: SeedImage, unique_repo: str
) -> None:
    seed_image(rig.anon, unique_repo, "3.19.1")
    seed_image(rig.anon, unique_repo, "edge", version="edge")
    config = rig.write(
        [
            {
                "source": f"{rig.anon.host}/{unique_repo}",
                "tags": {"list": ["3.19.1", "edge"], "immutable": r"^[0-9]+\.[0-9]+\.[0-9]+$"},
                "destinations": f"{rig.basic.host}/{unique_repo}",
            }
        ]
    )
    assert rig.sync(config).returncode == 0
    seed_image(rig.anon, unique_repo, "3.19.1", version="rebuilt")  # upstream retags: ignored

    mark = rig.anon.mark()
    only_immutable = rig.write(
        [
            {
                "source": f"{rig.anon.host}/{unique_repo}",
                "tags": {"list": ["3.19.1"], "immutable": r"^[0-9]+\.[0-9]+\.[0-9]+$"},
                "destinations": f"{rig.basic.host}/{unique_repo}",
            }
        ]
    )
    ran = rig.sync(only_immutable)
    assert ran.returncode == 0, ran.output
    assert list(statuses(ran).values()) == ["skipped"]
    assert rig.anon.requests(mark) == []
    assert ran.report is not None and ran.report["results"][0]["source_digest"] is None


def test_prune_deletes_only_what_the_dry_run_listed(
    rig: Rig, seed_image: SeedImage, unique_repo: str
) -> None:
    for tag in ("1.0", "1.1"):
        seed_image(rig.anon, unique_repo, tag, version=tag)
    for tag in ("0.8", "0.9"):
        seed_image(rig.basic, unique_repo, tag, version=tag)
    config = rig.write(
        [
            {
                "source": f"{rig.anon.host}/{unique_repo}",
                "tags": ["1.0", "1.1"],
                "destinations": f"{rig.basic.host}/{unique_repo}",
                "prune": True,
            }
        ]
    )
    listed = rig.sync(config, "--dry-run")
    assert listed.returncode == 0, listed.output
    would = {d for d, s in statuses(listed).items() if s == "would_prune"}
    assert would == {f"{rig.basic.host}/{unique_repo}:{t}" for t in ("0.8", "0.9")}
    assert listed.report is not None and listed.report["summary"]["would_prune"] == 2
    assert tags_of(rig.basic, unique_repo) == ["0.8", "0.9"]

    ran = rig.sync(config)
    assert ran.returncode == 0, ran.output
    pruned = {d for d, s in statuses(ran).items() if s == "pruned"}
    assert pruned == would
    assert tags_of(rig.basic, unique_repo) == ["1.0", "1.1"]
    assert "🗑" in ran.stdout


def test_prune_refuses_a_tag_whose_digest_a_kept_tag_shares(
    rig: Rig, seed_image: SeedImage, unique_repo: str
) -> None:
    seed_image(rig.anon, unique_repo, "1.0", version="same")
    seed_image(rig.basic, unique_repo, "alias", version="same")
    config = rig.write(
        [
            {
                "source": f"{rig.anon.host}/{unique_repo}:1.0",
                "destinations": f"{rig.basic.host}/{unique_repo}",
                "prune": True,
            }
        ]
    )
    ran = rig.sync(config)
    assert ran.returncode == 1
    assert ran.report is not None
    refused = ran.report["results"][-1]
    assert refused["destination"].endswith(":alias") and refused["status"] == "failed"
    assert refused["error"]["category"] == "unsupported"
    assert "tagged 1.0" in refused["error"]["message"]
    assert tags_of(rig.basic, unique_repo) == ["1.0", "alias"]
