"""Destinations that must exist before a first push: a real ``imgsync sync`` (embedded)
into an ACR namespace, a Harbor project, an ECR repository and an SWR organization that
were never created.

What the user must see: exit 1, the mapping ``failed`` with category ``not_found`` and a
message naming the registry, the missing namespace/project/repository/organization and
how to create it; found before skopeo starts (no blob upload, no manifest PUT, no source
manifest GET: the source's pull is not spent); a dry run reports the same; once created
(the personality's console stand-in), the same sync copies and the re-run skips with no
push check at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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

pytestmark = pytest.mark.registry

SOURCE = "mdst/single"
WRITES = ("POST", "PUT", "PATCH")
_names = itertools.count()


@dataclass(frozen=True)
class Case:
    """One registry: how to start it, who pushes, what is missing, the hint, how to create it."""

    personality: str
    account: tuple[str, str] | None
    kind: str  # the profile's must_exist word
    hint: str  # a fragment of the creation step
    create: Callable[[Personality, str], None]
    whole_repository: bool = False


CASES = {
    "acr": Case(
        "acr",
        ("mirror@example", "acr-pw"),
        "namespace",
        "Namespace → Create Namespace",
        lambda p, name: p.create_namespace(name),  # type: ignore[attr-defined]
    ),
    "harbor": Case(
        "harbor",
        ("robot$mirror", "harbor-pw"),
        "project",
        "Projects → New Project, or POST /api/v2.0/projects",
        lambda p, name: p.create_project(name),  # type: ignore[attr-defined]
    ),
    "ecr": Case(
        "ecr",
        None,  # ECR's password comes from login_password()
        "repository",
        "aws ecr create-repository --repository-name",
        lambda p, name: p.create_repository(name),  # type: ignore[attr-defined]
        whole_repository=True,
    ),
    "swr": Case(
        "swr",
        ("cn-north-4@AKTESTKEY", "login-key"),
        "organization",
        "Organizations → Create Organization",
        lambda p, name: p.create_organization(name),  # type: ignore[attr-defined]
    ),
}


@pytest.fixture(scope="module")
def source(anon_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> str:
    work = tmp_path_factory.mktemp("mdst")
    one = [("linux", "amd64", None)]
    seed(anon_registry, SOURCE, "v1", tmp_path=work, platforms=one, single=True)
    return f"{anon_registry.host}/{SOURCE}:v1"


@dataclass
class Target:
    """A started personality, the mapping into it and the part that is missing."""

    case: Case
    registry: Personality
    mapping: str
    repository: str
    auths: dict[str, tuple[str, str]]

    @property
    def missing(self) -> str:
        return self.repository if self.case.whole_repository else self.repository.split("/")[0]

    def create(self) -> None:
        self.case.create(self.registry, self.missing)


def target(personality: PersonalityFactory, case: Case, source: str) -> Target:
    options = {"accounts": dict([case.account])} if case.account else {}
    registry = personality(case.personality, **options)
    account = case.account or ("AWS", registry.login_password(3600))  # type: ignore[attr-defined]
    repository = f"md{next(_names)}-{case.personality}/app"
    mapping = f"{source}={registry.host}/{repository}:v1"
    return Target(case, registry, mapping, repository, {registry.host: account})


def sync(tmp_path: Path, targets: Sequence[Target], *args: str) -> Ran:
    auths = {host: a for t in targets for host, a in t.auths.items()}
    auth = write_auths(tmp_path / "auth.json", auths)
    insecure = ",".join([*(t.registry.host for t in targets), source_host(targets)])
    env = base_env(
        tmp_path,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=insecure,
        IMGSYNC_MAX_RETRIES="0",
    )
    mappings = [t.mapping for t in targets]
    return run_imgsync(["sync", *args, *mappings], env, report=tmp_path / "report.json")


def source_host(targets: Sequence[Target]) -> str:
    return targets[0].mapping.partition("/")[0]


def error_of(ran: Ran, t: Target) -> tuple[str, str, str]:
    result = ran.result_for(f"{t.registry.host}/{t.repository}")
    assert result["error"] is not None, ran.output
    return result["status"], result["error"]["category"], result["error"]["message"]


def assert_says_what_to_create(ran: Ran, t: Target) -> None:
    status, category, message = error_of(ran, t)
    assert (status, category) == ("failed", "not_found"), message
    assert f"the {t.case.kind} {t.missing!r} does not exist on {t.registry.host}" in message
    assert t.case.hint in message, message
    assert "must exist before a push" in message


def writes(t: Target, since: int = 0) -> list[str]:
    return [
        f"{s.method} {s.target}" for s in t.registry.stats.requests(since) if s.method in WRITES
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_push_into_a_part_never_created_fails_before_any_upload_and_says_how_to_create_it(
    personality: PersonalityFactory,
    anon_registry: Registry,
    source: str,
    tmp_path: Path,
    name: str,
) -> None:
    t = target(personality, CASES[name], source)
    mark = anon_registry.mark()
    ran = sync(tmp_path, [t])
    assert ran.returncode == 1, ran.output
    assert_says_what_to_create(ran, t)
    assert ran.result_for(t.repository)["attempts"] == 1  # permanent: not retried
    assert writes(t) == []  # skopeo never started: no blob upload, no manifest PUT
    assert anon_registry.count("GET", "/manifests/", since=mark) == 0  # no pull spent
    assert t.missing in ran.output and t.case.hint in ran.output  # the console summary too


def test_a_dry_run_reports_every_missing_destination_then_after_creating_them_the_sync_copies(
    personality: PersonalityFactory, source: str, tmp_path: Path
) -> None:
    targets = [target(personality, case, source) for _, case in sorted(CASES.items())]
    dry = sync(tmp_path, targets, "--dry-run")
    assert dry.returncode == 1, dry.output
    for t in targets:
        assert_says_what_to_create(dry, t)
        assert writes(t) == []
    for t in targets:
        t.create()
    ran = sync(tmp_path, targets)
    assert ran.returncode == 0, ran.output
    assert {ran.result_for(t.repository)["status"] for t in targets} == {"synced"}
    marks = [t.registry.stats.mark() for t in targets]
    again = sync(tmp_path, targets)
    assert {again.result_for(t.repository)["status"] for t in targets} == {"skipped"}
    for t, mark in zip(targets, marks, strict=True):  # the skip path: no push check
        assert t.registry.stats.count("GET", kind="tags", since=mark) == 0


def test_the_push_check_adds_no_request_to_the_skip_path_and_one_tag_list_to_a_copy(
    personality: PersonalityFactory, source: str, tmp_path: Path
) -> None:
    t = target(personality, CASES["harbor"], source)
    t.create()
    first = sync(tmp_path, [t])
    assert first.result_for(t.repository)["status"] == "synced", first.output
    assert t.registry.stats.count("GET", kind="tags") == 1  # the push check, once
    mark = t.registry.stats.mark()
    again = sync(tmp_path, [t])
    assert again.result_for(t.repository)["status"] == "skipped"
    seen = [(s.method, s.kind) for s in t.registry.stats.requests(mark) if s.kind]
    assert seen == [("HEAD", "manifests")]  # the destination's digest, nothing else


@pytest.mark.celery
def test_through_a_celery_worker_the_missing_namespace_is_reported_then_created_and_copied(
    personality: PersonalityFactory,
    anon_registry: Registry,
    redis_server: RedisServer,
    source: str,
    tmp_path: Path,
) -> None:
    """The worker process runs the same push check: dry run, real run, then created."""
    acr, swr = (target(personality, CASES[name], source) for name in ("acr", "swr"))
    auth = write_auths(tmp_path / "auth.json", {**acr.auths, **swr.auths})
    insecure = [acr.registry.host, swr.registry.host, anon_registry.host]
    mappings = [acr.mapping, swr.mapping]
    with (
        fresh_redis_db(redis_server) as url,
        running_cluster(tmp_path / "c", broker=url, auth=auth, insecure=insecure) as cluster,
    ):
        dry = cluster.sync(["--dry-run", *mappings])
        ran = cluster.sync(mappings)
        assert writes(acr) == writes(swr) == []  # nothing pushed before they exist
        acr.create()
        swr.create()
        created = cluster.sync(mappings)
    for run in (dry, ran):
        assert run.returncode == 1, run.output + cluster.logs(tail=3000)
        assert_says_what_to_create(run, acr)
        assert_says_what_to_create(run, swr)
    assert created.returncode == 0, created.output
    assert {created.result_for(t.repository)["status"] for t in (acr, swr)} == {"synced"}
