"""Prune per registry personality: a real ``imgsync sync`` with a pruning sync file ends each
stale destination tag ``pruned``, or ``failed`` with a clear category and hint.

Every destination is a personality (``tests/rig/personalities/``) on ``127.0.0.1:PORT``,
so the sync file names its profile (``registries: {HOST: {profile: …}}``), as a user does
for a custom domain. The stale tag ``old`` is pushed straight to the upstream first; the
run copies ``v1`` and prunes ``old``. Embedded mode here; through a Celery worker at the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.celery_rig import fresh_redis_db
from tests.cli_run import Ran, base_env, run_imgsync
from tests.reliability_rig import running_cluster
from tests.rig.authfile import write_auths
from tests.rig.inspect import registry_request
from tests.rig.oci import seed
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.proxy import Personality
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry
ONE = [("linux", "amd64", None)]


@dataclass
class Destination:
    """A registry to prune in: where it listens, the repository, its profile, an account."""

    host: str
    repository: str
    profile: str | None
    auth: dict[str, tuple[str, str]] = field(default_factory=dict)
    proxy: Personality | None = None

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repository}"


def leaf(unique_repo: str) -> str:
    return unique_repo.replace("/", "-")


def destination(kind: str, make: PersonalityFactory, unique_repo: str) -> Destination:
    """The personality ``kind`` with what a push there needs (namespace, project, account)."""
    if kind == "ecr":
        ecr = make("ecr")
        return Destination(
            ecr.host, unique_repo, "ecr", {ecr.host: ("AWS", ecr.login_password())}, ecr
        )  # type: ignore[attr-defined]
    accounts: dict[str, Any] = {
        "dockerhub": ({"accounts": {"mirror": "pw"}}, "mirror/" + leaf(unique_repo), "docker-hub"),
        "ghcr": ({"accounts": {"mirror": "pw"}}, f"mirror/{unique_repo}", "ghcr"),
        "ghcr-generic": ({"accounts": {"mirror": "pw"}}, f"mirror/{unique_repo}", None),
        "gar": ({"accounts": {"oauth2accesstoken": "tok"}}, f"proj/{unique_repo}", "gar"),
        "quay": ({}, "mirror/" + leaf(unique_repo), "quay"),
        "acr": (
            {"accounts": {"mirror": "pw"}, "namespaces": ["myns"]},
            "myns/" + leaf(unique_repo),
            "acr-personal",
        ),
        "harbor": (
            {"accounts": {"robot$mirror": "pw"}, "projects": ["proj"]},
            f"proj/{unique_repo}",
            "harbor",
        ),
        "harbor-robot-without-delete": (
            {
                "accounts": {"robot$mirror": "pw"},
                "projects": ["proj"],
                "no_delete": ["robot$mirror"],
            },
            f"proj/{unique_repo}",
            "harbor",
        ),
    }
    options, repository, profile = accounts[kind]
    proxy = make(kind.partition("-")[0], **options)
    users = options.get("accounts", {})
    auth = {proxy.host: next(iter(users.items()))} if users else {}
    return Destination(proxy.host, repository, profile, auth, proxy)


def prepare(dst: Destination, upstream: Registry, tmp_path: Path, unique_repo: str) -> Path:
    """The source ``v1``, the stale ``old`` at the destination, and the pruning sync file."""
    seed(upstream, f"{unique_repo}/src", "v1", tmp_path=tmp_path, platforms=ONE, single=True)
    if dst.proxy is not None:
        dst.proxy.seed(dst.repository, "old", version="old", platforms=ONE, single=True)
    else:
        seed(upstream, dst.repository, "old", version="old", tmp_path=tmp_path, platforms=ONE)
    return sync_file(tmp_path, upstream, unique_repo, [dst])


def sync_file(
    tmp_path: Path, upstream: Registry, unique_repo: str, dsts: list[Destination]
) -> Path:
    registries: dict[str, Any] = {upstream.host: {"insecure": True}}
    for dst in dsts:
        registries[dst.host] = {"insecure": True} | (
            {"profile": dst.profile} if dst.profile else {}
        )
    images = [
        {
            "source": f"{upstream.host}/{unique_repo}/src",
            "tags": ["v1"],
            "destinations": dst.name,
            "prune": True,
        }
        for dst in dsts
    ]
    path = tmp_path / "sync.yaml"
    path.write_text(json.dumps({"registries": registries, "images": images}))
    return path


def run_sync(
    tmp_path: Path, config: Path, dsts: list[Destination], upstream: Registry, *extra: str
) -> Ran:
    auths = {host: pair for dst in dsts for host, pair in dst.auth.items()}
    auth = write_auths(tmp_path / "auth.json", auths)
    hosts = ",".join({upstream.host, *(d.host for d in dsts)})
    env = base_env(
        tmp_path,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=hosts,
        IMGSYNC_MAX_RETRIES="0",
    )
    return run_imgsync(
        ["sync", "--config", str(config), *extra], env, report=tmp_path / "report.json", timeout=120
    )


def upstream_tags(upstream: Registry, repository: str) -> list[str]:
    answer = registry_request(upstream, "GET", repository, "tags/list", accept="*/*")
    return sorted(answer.json().get("tags") or [])


def deletes(dst: Destination) -> list[tuple[str, int]]:
    assert dst.proxy is not None
    return [(s.ref, s.status) for s in dst.proxy.stats.requests() if s.method == "DELETE"]


PRUNED = ["quay", "ecr", "harbor"]
REFUSED = {
    "ghcr": ("unsupported", "GHCR deletes only through the GitHub packages API"),
    "dockerhub": (
        "unsupported",
        "delete the tag through the Hub API (DELETE https://hub.docker.com/v2/repositories/mirror/",
    ),
    "harbor-robot-without-delete": ("auth", "grant the robot account delete permission"),
    "acr": ("auth", "grant user 'mirror' delete permission on myns/"),
}


@pytest.mark.parametrize("kind", PRUNED)
def test_registries_that_delete_by_digest_end_pruned(
    kind: str,
    personality: PersonalityFactory,
    anon_registry: Registry,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    """Their tag DELETE is docker-registry's 400: one tag attempt, then the digest goes."""
    dst = destination(kind, personality, unique_repo)
    config = prepare(dst, anon_registry, tmp_path, unique_repo)
    ran = run_sync(tmp_path, config, [dst], anon_registry)
    assert ran.returncode == 0, ran.output
    assert ran.result_for(f"{dst.name}:old")["status"] == "pruned"
    assert upstream_tags(anon_registry, dst.repository) == ["v1"]
    tried = deletes(dst)
    assert [status for ref, status in tried] == [400, 202]
    assert tried[0][0] == "old" and tried[1][0].startswith("sha256:")


def test_the_plain_docker_registry_falls_back_to_the_digest(
    anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    dst = Destination(anon_registry.host, f"{unique_repo}/dst", None)
    config = prepare(dst, anon_registry, tmp_path, unique_repo)
    mark = anon_registry.mark()
    ran = run_sync(tmp_path, config, [dst], anon_registry)
    assert ran.returncode == 0, ran.output
    assert ran.result_for(f"{dst.name}:old")["status"] == "pruned"
    assert upstream_tags(anon_registry, dst.repository) == ["v1"]
    sent = [
        (r.path.rsplit("/", 1)[-1], r.status)
        for r in anon_registry.requests(mark)
        if r.method == "DELETE"
    ]
    assert [status for _, status in sent] == [400, 202]
    assert sent[0][0] == "old"


def test_gar_deletes_the_tag_and_then_its_untagged_manifest(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    dst = destination("gar", personality, unique_repo)
    config = prepare(dst, anon_registry, tmp_path, unique_repo)
    old = registry_request(anon_registry, "HEAD", dst.repository, "manifests/old").headers[
        "Docker-Content-Digest"
    ]
    ran = run_sync(tmp_path, config, [dst], anon_registry)
    assert ran.returncode == 0, ran.output
    assert ran.result_for(f"{dst.name}:old")["status"] == "pruned"
    assert deletes(dst) == [("old", 202), (old, 202)]  # never 400 GOOGLE_MANIFEST_DANGLING_TAG
    gone = registry_request(anon_registry, "GET", dst.repository, f"manifests/{old}")
    assert gone.status_code == 404


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_registries_that_cannot_prune_say_why_and_keep_the_tag(
    kind: str,
    personality: PersonalityFactory,
    anon_registry: Registry,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    dst = destination(kind, personality, unique_repo)
    config = prepare(dst, anon_registry, tmp_path, unique_repo)
    ran = run_sync(tmp_path, config, [dst], anon_registry)
    assert ran.returncode == 1, ran.output
    assert ran.result_for(f"{dst.name}:v1")["status"] == "synced"
    refused = ran.result_for(f"{dst.name}:old")
    category, hint = REFUSED[kind]
    assert refused["status"] == "failed"
    assert refused["error"]["category"] == category
    assert hint in refused["error"]["message"]
    assert upstream_tags(anon_registry, dst.repository) == ["old", "v1"]
    if category == "unsupported":
        assert deletes(dst) == []  # the profile knew: nothing was sent


def test_ghcr_without_its_profile_is_refused_by_the_registry_with_the_setting_to_use(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    dst = destination("ghcr-generic", personality, unique_repo)
    config = prepare(dst, anon_registry, tmp_path, unique_repo)
    ran = run_sync(tmp_path, config, [dst], anon_registry)
    assert ran.returncode == 1, ran.output
    error = ran.result_for(f"{dst.name}:old")["error"]
    assert error["category"] == "unsupported"
    assert "deletes: packages-api" in error["message"]
    assert [status for _, status in deletes(dst)] == [405, 405]
    assert upstream_tags(anon_registry, dst.repository) == ["old", "v1"]


def test_a_dry_run_marks_the_prunes_the_profile_says_will_fail(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    dst = destination("ghcr", personality, unique_repo)
    config = prepare(dst, anon_registry, tmp_path, unique_repo)
    ran = run_sync(tmp_path, config, [dst], anon_registry, "--dry-run")
    assert ran.returncode == 0, ran.output
    marked = ran.result_for(f"{dst.name}:old")
    assert marked["status"] == "would_prune"
    assert marked["error"]["message"].startswith(
        "will fail: GHCR deletes only through the GitHub packages API"
    )
    assert "will fail: GHCR deletes only" in ran.stdout
    assert deletes(dst) == []


@pytest.mark.celery
def test_prune_through_a_celery_worker_follows_each_destinations_profile(
    personality: PersonalityFactory,
    anon_registry: Registry,
    redis_server: RedisServer,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    gar = destination("gar", personality, unique_repo)
    ghcr = destination("ghcr", personality, unique_repo)
    plain = Destination(anon_registry.host, f"{unique_repo}/dst", None)
    dsts = [gar, ghcr, plain]
    for dst in dsts:
        prepare(dst, anon_registry, tmp_path, unique_repo)
    config = sync_file(tmp_path, anon_registry, unique_repo, dsts)
    auth = write_auths(tmp_path / "auth.json", {**gar.auth, **ghcr.auth})
    hosts = [anon_registry.host, gar.host, ghcr.host]
    with (
        fresh_redis_db(redis_server) as url,
        running_cluster(tmp_path / "c", broker=url, auth=auth, insecure=hosts) as cluster,
    ):
        ran = cluster.sync(["--config", str(config)])
    assert ran.report is not None and ran.report["mode"] == "celery", ran.output
    assert ran.returncode == 1, ran.output
    assert ran.result_for(f"{gar.name}:old")["status"] == "pruned"
    assert ran.result_for(f"{plain.name}:old")["status"] == "pruned"
    refused = ran.result_for(f"{ghcr.name}:old")
    assert refused["error"]["category"] == "unsupported"
    assert "GitHub packages API" in refused["error"]["message"]
    assert deletes(gar)[0][0] == "old"  # tag first: the style came along
    assert deletes(ghcr) == []
    assert upstream_tags(anon_registry, plain.repository) == ["v1"]
