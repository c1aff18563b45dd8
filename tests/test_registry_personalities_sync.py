"""A real ``imgsync sync`` (embedded) against each registry personality: what it copies,
what it skips, and how each registry's failure reads (category and hint).

One run per case (a subprocess, as users run it); the personalities front the session's
anonymous docker-registry, which holds the two source images pushed once per module.
``docs/registries.md`` names these tests in its last column.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import requests

from imgsync.adapters.credentials import Credential, CredentialStore
from imgsync.adapters.registry_pool import RegistryPool
from imgsync.adapters.skopeo_stderr import classify_stderr, fatal_message, with_hint
from imgsync.core.reference import ImageReference
from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.authfile import write_auths
from tests.rig.oci import OCI_INDEX, OCI_MANIFEST, seed
from tests.rig.personalities.azure import Azure
from tests.rig.personalities.behaviours import ACCEPT_MISSES, OCI_ARTIFACT, answer
from tests.rig.personalities.ecr import Ecr
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.harbor import Harbor
from tests.rig.personalities.proxy import Exchange, Personality, Rule
from tests.rig.personalities.wire import Response, registry_error
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry

SINGLE = "psync/single"  # one platform manifest: a copy costs one pull
INDEX = "psync/index"  # a multi-platform index
ACCOUNT = ("robot$mirror", "s3cret-pw")
ARTIFACT_REPO = "psync/chart"


@pytest.fixture(scope="module")
def sources(anon_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("psync")
    one = [("linux", "amd64", None)]
    single = seed(anon_registry, SINGLE, "v1", tmp_path=work, platforms=one, single=True)
    return {SINGLE: single, INDEX: seed(anon_registry, INDEX, "v1", tmp_path=work)}


def tagged_again(registry: Registry, repo: str, tag: str, names: Sequence[str]) -> list[str]:
    """Point the tags ``g-NAME`` at ``repo:tag``'s manifest; their names, in order."""
    url = f"http://{registry.host}/v2/{repo}/manifests"
    got = requests.get(f"{url}/{tag}", headers={"Accept": OCI_MANIFEST}, timeout=10)
    media_type = got.headers["Content-Type"]
    tags = [f"g-{name}" for name in names]
    for new in tags:
        put = requests.put(f"{url}/{new}", data=got.content, headers={"Content-Type": media_type})
        assert put.status_code == 201, put.text
    return tags


def sync(
    tmp_path: Path,
    mappings: Sequence[str],
    *,
    insecure: Sequence[str],
    auths: dict[str, tuple[str, str]] | None = None,
    max_retries: int = 0,
) -> Ran:
    """``imgsync sync MAPPINGS`` with an auth file holding exactly ``auths``; no mapping retries
    unless asked (a permanent error fails on the first attempt anyway; retries cost time)."""
    auth = write_auths(tmp_path / "auth.json", auths or {})
    env = base_env(
        tmp_path,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=",".join(insecure),
        IMGSYNC_MAX_RETRIES=str(max_retries),
    )
    return run_imgsync(["sync", *mappings], env, report=tmp_path / "report.json", timeout=120)


def error_of(ran: Ran, fragment: str) -> tuple[str, str]:
    error = ran.result_for(fragment)["error"]
    assert error is not None, ran.output
    return error["category"], error["message"]


def manifest_heads(p: Personality, since: int = 0) -> int:
    return p.stats.count("HEAD", since=since)


# ---------------------------------------------------------------------- HEAD refused


@pytest.mark.parametrize("name", ["legacy", "legacy_forbidden"])
def test_a_registry_refusing_manifest_head_is_read_with_get_after_one_head_per_run(
    personality: PersonalityFactory,
    sources: dict[str, str],
    tmp_path: Path,
    unique_repo: str,
    name: str,
) -> None:
    legacy = personality(name)
    mappings = [f"{legacy.host}/{SINGLE}:v1={legacy.host}/{unique_repo}:v1"]
    mappings.append(f"{legacy.host}/{INDEX}:v1={legacy.host}/{unique_repo}:index")
    for expected in ("synced", "skipped"):
        mark = legacy.stats.mark()
        ran = sync(tmp_path, mappings, insecure=[legacy.host])
        assert ran.returncode == 0, ran.output
        assert {r["status"] for r in ran.report["results"]} == {expected}, ran.output  # type: ignore[index]
        assert manifest_heads(legacy, mark) == 1  # the first HEAD decides for the whole run
        assert legacy.stats.count("GET", since=mark) >= 4  # both sides of both mappings
    assert ran.result_for(":index")["destination_digest"] == sources[INDEX]


# ---------------------------------------------------------------------- one scope per token


def test_gar_grants_one_scope_per_token_request_and_every_mapping_still_syncs(
    personality: PersonalityFactory,
    anon_registry: Registry,
    sources: dict[str, str],
    tmp_path: Path,
    unique_repo: str,
) -> None:
    gar = personality("gar", accounts=dict([ACCOUNT]))
    repos = [f"{unique_repo}/{n}" for n in ("a", "b", "c")]
    # A source tag each: one source for all three would be read once and the other two
    # copied from the first destination, whose reads are then GAR tokens of their own.
    tags = tagged_again(anon_registry, SINGLE, "v1", [repo.rpartition("/")[2] for repo in repos])
    mappings = [
        f"{anon_registry.host}/{SINGLE}:{tag}={gar.host}/{repo}:v1"
        for tag, repo in zip(tags, repos, strict=True)
    ]
    ran = sync(
        tmp_path, mappings, insecure=[gar.host, anon_registry.host], auths={gar.host: ACCOUNT}
    )
    assert ran.returncode == 0, ran.output
    assert [r["status"] for r in ran.report["results"]] == ["synced"] * 3  # type: ignore[index]
    reads = [c.scopes for c in gar.stats.tokens() if all(s.endswith(":pull") for s in c.scopes)]
    batches = [scopes for scopes in reads if len(scopes) > 1]
    assert batches == [tuple(f"repository:{r}:pull" for r in sorted(repos))]  # the warm-up's
    alone = Counter(scopes[0] for scopes in reads if len(scopes) == 1)
    granted, refused = sorted(repos)[0], sorted(repos)[1:]  # GAR grants the first scope only
    assert {f"repository:{r}:pull": 1 for r in refused}.items() <= alone.items()
    assert alone[f"repository:{granted}:pull"] <= 1 and sum(alone.values()) <= 3


def test_once_learned_the_warm_up_asks_gar_one_token_per_repository(
    personality: PersonalityFactory, unique_repo: str
) -> None:
    """In-process: a pool that has met GAR's single grants stops batching (per process)."""
    gar = personality("gar", accounts=dict([ACCOUNT]))
    refs = [ImageReference(gar.host, f"{unique_repo}/{n}", "v1") for n in ("a", "b", "c")]
    store = CredentialStore({gar.host: Credential(*ACCOUNT)})
    with RegistryPool(store, insecure=[gar.host]) as pool:
        pool.warm_up(refs)
        assert pool.head_digests(refs) == [None, None, None]  # 403s answered by fresh tokens
        mark = len(gar.stats.tokens())
        pool.warm_up(refs)
    again = [call.scopes for call in gar.stats.tokens(mark)]
    assert sorted(again) == [(f"repository:{ref.repository}:pull",) for ref in refs]


# ---------------------------------------------------------------------- missing, denied, expired


def test_destinations_that_must_be_created_first_say_so(
    personality: PersonalityFactory,
    anon_registry: Registry,
    sources: dict[str, str],
    tmp_path: Path,
    unique_repo: str,
) -> None:
    ecr, harbor = personality("ecr"), personality("harbor", accounts=dict([ACCOUNT]))
    assert isinstance(ecr, Ecr) and isinstance(harbor, Harbor)
    harbor.create_project("made")
    src = f"{anon_registry.host}/{SINGLE}:v1"
    mappings = [
        f"{src}={ecr.host}/{unique_repo}:v1",
        f"{src}={harbor.host}/missing-{unique_repo.replace('/', '-')}/app:v1",
        f"{src}={harbor.host}/made/{unique_repo}:v1",
    ]
    auths = {ecr.host: ("AWS", ecr.login_password(3600)), harbor.host: ACCOUNT}
    ran = sync(
        tmp_path, mappings, insecure=[ecr.host, harbor.host, anon_registry.host], auths=auths
    )
    assert ran.returncode == 1, ran.output
    category, message = error_of(ran, ecr.host)
    assert category == "not_found"
    assert f"(aws ecr create-repository --repository-name {unique_repo})" in message
    category, message = error_of(ran, "/missing-")
    assert category == "not_found" and "the project 'missing-" in message
    assert "does not exist on" in message and "Projects → New Project" in message
    assert ran.result_for("/made/")["status"] == "synced"


def test_a_missing_source_reads_as_missing_or_denied_and_a_bad_password_as_auth(
    personality: PersonalityFactory,
    anon_registry: Registry,
    sources: dict[str, str],
    tmp_path: Path,
    unique_repo: str,
) -> None:
    hub, ghcr = personality("dockerhub"), personality("ghcr")
    locked = personality("ghcr", accounts={"someone": "right-password"})
    dst = f"{anon_registry.host}/{unique_repo}"
    mappings = [
        f"{hub.host}/psync/never-pushed:v1={dst}/hub:v1",
        f"{ghcr.host}/psync/never-pushed:v1={dst}/ghcr:v1",
        f"{locked.host}/{SINGLE}:v1={dst}/locked:v1",
    ]
    hosts = [hub.host, ghcr.host, locked.host, anon_registry.host]
    ran = sync(tmp_path, mappings, insecure=hosts, auths={locked.host: ("someone", "wrong")})
    assert ran.returncode == 1, ran.output
    for fragment, status in (("/hub:", "401 insufficient_scope"), ("/ghcr:", "403 DENIED")):
        category, message = error_of(ran, fragment)
        assert category == "not_found", message
        assert "psync/never-pushed" in message, message
        assert "does not exist or you have no access" in message
        assert status in message
    category, message = error_of(ran, "/locked:")
    assert category == "auth" and "refused user 'someone'" in message, message
    assert "check the credentials" in message


def test_an_expired_ecr_password_says_to_refresh_the_credential(
    personality: PersonalityFactory,
    anon_registry: Registry,
    sources: dict[str, str],
    tmp_path: Path,
    unique_repo: str,
) -> None:
    ecr = personality("ecr")
    assert isinstance(ecr, Ecr)
    ecr.create_repository(unique_repo)
    mapping = f"{anon_registry.host}/{SINGLE}:v1={ecr.host}/{unique_repo}:v1"
    auths = {ecr.host: ("AWS", ecr.login_password(ttl=-1))}
    ran = sync(tmp_path, [mapping], insecure=[ecr.host, anon_registry.host], auths=auths)
    assert ran.returncode == 1, ran.output
    category, message = error_of(ran, ecr.host)
    assert category == "auth" and "has expired" in message
    assert "refresh the credential (e.g. aws ecr get-login-password / the credential helper)" in (
        message
    )


# ---------------------------------------------------------------------- Accept list, Artifactory


class AzureWithArtifact(Azure):
    """Azure holding an OCI artifact manifest at ``ARTIFACT_REPO:v1`` (docker-registry 2.8
    cannot store one): served when ``Accept`` names its type, else Azure's 404."""

    name = "azure_artifact"
    BODY = json.dumps({"mediaType": OCI_ARTIFACT, "artifactType": "application/x-chart"}).encode()
    DIGEST = "sha256:" + hashlib.sha256(BODY).hexdigest()

    def build_rules(self) -> Sequence[Rule]:
        path = f"^/v2/{ARTIFACT_REPO}/manifests/"
        return [answer("an OCI artifact", self._artifact, path=path), *super().build_rules()]

    def _artifact(self, exchange: Exchange) -> Response:
        if OCI_ARTIFACT not in exchange.request.headers.get("accept"):
            return registry_error(404, "MANIFEST_UNKNOWN", ACCEPT_MISSES[OCI_ARTIFACT])
        headers = {"Content-Type": OCI_ARTIFACT, "Docker-Content-Digest": self.DIGEST}
        return Response.of(200, headers, self.BODY)


def test_an_accept_header_404_is_unsupported_with_a_hint_not_a_missing_image(
    anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    azure = AzureWithArtifact(anon_registry, tmp_path).start()
    try:
        mapping = f"{azure.host}/{ARTIFACT_REPO}:v1={anon_registry.host}/{unique_repo}:v1"
        ran = sync(tmp_path, [mapping], insecure=[azure.host, anon_registry.host])
    finally:
        azure.stop()
    assert ran.returncode == 1, ran.output
    category, message = error_of(ran, unique_repo)
    assert category == "unsupported", message
    assert "accept header does not support OCI artifacts" in message
    assert "manifest type skopeo does not request" in message


def test_artifactory_403_for_a_missing_destination_tag_reads_as_absent(
    personality: PersonalityFactory,
    anon_registry: Registry,
    sources: dict[str, str],
    tmp_path: Path,
    unique_repo: str,
) -> None:
    artifactory = personality("artifactory")
    mapping = f"{anon_registry.host}/{INDEX}:v1={artifactory.host}/{unique_repo}:v1"
    for expected in ("synced", "skipped"):
        ran = sync(tmp_path, [mapping], insecure=[artifactory.host, anon_registry.host])
        assert ran.returncode == 0, ran.output
        assert ran.result_for(unique_repo)["status"] == expected
    assert artifactory.stats.count("HEAD", status=403) == 1  # only the first run's new tag


# ---------------------------------------------------------------------- rate limited


def _spend(hub: Personality, repo: str) -> None:
    """Use up the anonymous quota with one manifest GET of our own."""
    challenge = requests.get(f"{hub.url}/token", params={"scope": f"repository:{repo}:pull"})
    token = challenge.json()["token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": f"{OCI_INDEX}, {OCI_MANIFEST}"}
    assert requests.get(f"{hub.url}/v2/{repo}/manifests/v1", headers=headers).status_code == 200


def test_a_spent_pull_quota_defers_the_copies_at_once_without_starting_skopeo(
    personality: PersonalityFactory,
    anon_registry: Registry,
    sources: dict[str, str],
    tmp_path: Path,
    unique_repo: str,
) -> None:
    hub = personality("dockerhub", limit=1)
    _spend(hub, SINGLE)
    mark = hub.stats.mark()
    dst = f"{anon_registry.host}/{unique_repo}"
    mappings = [f"{hub.host}/{SINGLE}:v1={dst}/single:v1", f"{hub.host}/{INDEX}:v1={dst}/index:v1"]
    started = time.monotonic()
    ran = sync(tmp_path, mappings, insecure=[hub.host, anon_registry.host])
    took = time.monotonic() - started
    assert ran.returncode == 0, ran.output  # deferred counts as not failed by default
    for fragment in ("/single:", "/index:"):
        assert ran.result_for(fragment)["status"] == "deferred", ran.output
        category, message = error_of(ran, fragment)
        assert category == "rate_limited" and "pull rate limit reached" in message
    assert took < 5, took  # skopeo's own 429 retries took 128 s here for one mapping
    assert hub.stats.count("GET", status=200, since=mark) == 0
    assert hub.stats.count("GET", since=mark) == 0  # the index: not even asked (index + 1 > 0 left)


# ---------------------------------------------------------------------- plain HTTP


def test_200_mappings_to_a_plain_http_registry_without_insecure_fail_fast_with_the_hint(
    anon_registry: Registry, sources: dict[str, str], tmp_path: Path
) -> None:
    host = anon_registry.host
    mappings = [f"{host}/{SINGLE}:v1={host}/plain/m{n}:v1" for n in range(200)]
    started = time.monotonic()
    ran = sync(tmp_path, mappings, insecure=[], max_retries=3)  # the default: none is used
    took = time.monotonic() - started
    assert ran.returncode == 1, ran.output
    assert took < 2.0, took
    assert {r["status"] for r in ran.report["results"]} == {"failed"}  # type: ignore[index]
    hint = f"{host} speaks plain HTTP, not HTTPS: add it to --insecure-registry {host}"
    messages = {r["error"]["message"] for r in ran.report["results"]}  # type: ignore[index]
    categories = {r["error"]["category"] for r in ran.report["results"]}  # type: ignore[index]
    assert categories == {"unsupported"} and all(hint in m for m in messages), messages
    assert hint in ran.output
    assert all(r["attempts"] == 1 for r in _results(ran))


def _results(ran: Ran) -> list[dict[str, Any]]:
    assert ran.report is not None
    return list(ran.report["results"])


# ---------------------------------------------------------------------- skopeo's own texts


@pytest.mark.parametrize(
    ("stderr", "category", "hint"),
    [
        (
            "writing blob: initiating layer upload to /v2/a/b/blobs/uploads/ in h:1: name unknown: "
            "The repository with name 'a/b' does not exist in the registry with id '1'",
            "not_found",
            "must exist before a push: create the repository (aws ecr create-repository "
            "--repository-name a/b)",
        ),
        (
            "reading manifest v1 in h:1/a/b: denied: Your authorization token has expired. "
            "Reauthenticate and try again.",
            "auth",
            "refresh the credential (e.g. aws ecr get-login-password / the credential helper)",
        ),
        (
            "initiating layer upload to /v2/proj/app/blobs/uploads/ in h:1: unauthorized: "
            "unauthorized to access repository: proj/app, action: push: unauthorized to access "
            "repository: proj/app, action: push",
            "auth",
            "on Harbor the project 'proj' must exist before a push: create the project 'proj'",
        ),
        (
            'pinging container registry h:1: Get "https://h:1/v2/": http: server gave HTTP '
            "response to HTTPS client",
            "unsupported",
            "h:1 speaks plain HTTP: add it to --insecure-registry h:1",
        ),
    ],
)
def test_skopeo_failures_from_these_registries_get_their_category_and_hint(
    stderr: str, category: str, hint: str
) -> None:
    escaped = stderr.replace('"', '\\"')  # as skopeo quotes its message
    line = f'time="t" level=fatal msg="{escaped}"'
    assert classify_stderr(line) == category
    assert hint in with_hint(fatal_message(line))
