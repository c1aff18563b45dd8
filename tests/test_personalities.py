"""Each registry personality answers as its module docstring says (plain HTTP, one skopeo)."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.rig.oci import OCI_INDEX, OCI_MANIFEST, seed
from tests.rig.personalities.behaviours import ACCEPT_MISSES, accept_must_cover, no_referrers_api
from tests.rig.personalities.cdn import CDN_HOSTNAME
from tests.rig.personalities.dockerhub import DockerHub
from tests.rig.personalities.ecr import Ecr
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.proxy import Exchange, Personality
from tests.rig.personalities.wire import Headers, Request, Response
from tests.rig.proc import require_binary
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry

INDEX_REPO = "personalities/index"
SINGLE_REPO = "personalities/single"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ALL_TYPES = f"{OCI_INDEX}, {DOCKER_LIST}, {OCI_MANIFEST}, {DOCKER_MANIFEST}"
ACCOUNT = ("tester", "s3cret-pw")


@pytest.fixture(scope="module")
def images(anon_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One multi-platform OCI index and one single OCI manifest, pushed once for the module."""
    work = tmp_path_factory.mktemp("personality-images")
    index = seed(anon_registry, INDEX_REPO, "v1", tmp_path=work)
    single_platform = [("linux", "amd64", None)]
    single = seed(
        anon_registry, SINGLE_REPO, "v1", tmp_path=work, platforms=single_platform, single=True
    )
    return {"index": index, "single": single}


def _challenge(response: requests.Response) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', response.headers.get("WWW-Authenticate", "")))


def token(p: Personality, *scopes: str, auth: tuple[str, str] | None = None) -> str:
    """A token from the realm the personality's challenge names."""
    challenge = _challenge(requests.get(f"{p.url}/v2/", timeout=10))
    params = {"service": challenge["service"], "scope": list(scopes)}
    answer = requests.get(challenge["realm"], params=params, auth=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def call(
    p: Personality,
    method: str,
    path: str,
    bearer: str = "",
    accept: str = ALL_TYPES,
    **kwargs: object,
) -> requests.Response:
    headers = {"Accept": accept, **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
    return requests.request(method, f"{p.url}{path}", headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


def error_of(response: requests.Response) -> tuple[str, str]:
    first = response.json()["errors"][0]
    return first["code"], first["message"]


# ---------------------------------------------------------------------- Docker Hub


def test_dockerhub_challenge_names_realm_and_service_and_token_requests_are_recorded(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    hub = personality("dockerhub")
    first = requests.get(f"{hub.url}/v2/", timeout=10)
    assert first.status_code == 401
    assert _challenge(first) == {"realm": f"{hub.url}/token", "service": "registry.docker.io"}
    bearer = token(hub, f"repository:{INDEX_REPO}:pull")
    assert call(hub, "HEAD", f"/v2/{INDEX_REPO}/manifests/v1", bearer).status_code == 200
    [request] = hub.stats.tokens()
    assert (request.service, request.scopes, request.granted) == (
        "registry.docker.io",
        (f"repository:{INDEX_REPO}:pull",),
        (f"{INDEX_REPO}:pull",),
    )


def test_dockerhub_answers_a_missing_repository_with_401_insufficient_scope(
    personality: PersonalityFactory,
) -> None:
    hub = personality("dockerhub")
    bearer = token(hub, "repository:personalities/never-pushed:pull")
    answer = call(hub, "GET", "/v2/personalities/never-pushed/manifests/latest", bearer)
    assert answer.status_code == 401
    assert _challenge(answer)["error"] == "insufficient_scope"
    assert _challenge(answer)["scope"] == "repository:personalities/never-pushed:pull"
    assert error_of(answer) == ("UNAUTHORIZED", "authentication required")


def test_dockerhub_counts_manifest_gets_as_pulls_heads_free_and_429_when_spent(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    hub = personality("dockerhub", limit=2)
    bearer, path = token(hub, f"repository:{INDEX_REPO}:pull"), f"/v2/{INDEX_REPO}/manifests/v1"
    remaining = [
        call(hub, m, path, bearer).headers["ratelimit-remaining"]
        for m in ("HEAD", "HEAD", "GET", "GET")
    ]
    assert remaining == ["2;w=21600", "2;w=21600", "1;w=21600", "0;w=21600"]
    spent = call(hub, "GET", path, bearer)
    assert spent.status_code == 429 and error_of(spent)[0] == "TOOMANYREQUESTS"
    head = call(hub, "HEAD", path, bearer)
    assert (head.status_code, head.headers["ratelimit-limit"]) == (200, "2;w=21600")
    assert isinstance(hub, DockerHub) and hub.remaining("anonymous") == 0
    assert hub.stats.count("GET", name=INDEX_REPO) == 3 and hub.stats.count("HEAD") == 3


def test_dockerhub_sends_no_rate_headers_to_unmetered_accounts(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    hub = personality("dockerhub", limit=1, accounts=dict([ACCOUNT]), unmetered=[ACCOUNT[0]])
    bearer = token(hub, f"repository:{INDEX_REPO}:pull", auth=ACCOUNT)
    answers = [call(hub, "GET", f"/v2/{INDEX_REPO}/manifests/v1", bearer) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert "ratelimit-limit" not in answers[1].headers


def test_dockerhub_redirects_blob_gets_to_a_cdn_that_refuses_the_registry_authorization(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    hub = personality("dockerhub")
    bearer = token(hub, f"repository:{SINGLE_REPO}:pull")
    manifest = call(hub, "GET", f"/v2/{SINGLE_REPO}/manifests/v1", bearer).json()
    layer = manifest["layers"][0]["digest"]
    redirect = call(hub, "GET", f"/v2/{SINGLE_REPO}/blobs/{layer}", bearer, allow_redirects=False)
    assert redirect.status_code == 307
    location = redirect.headers["Location"]
    assert location.startswith(f"http://{CDN_HOSTNAME}:")
    with_credentials = requests.get(
        location, headers={"Authorization": f"Bearer {bearer}"}, timeout=10
    )
    assert (
        with_credentials.status_code == 400
        and b"Only one auth mechanism" in with_credentials.content
    )
    blob = requests.get(location, timeout=10)
    assert blob.status_code == 200 and blob.headers["Docker-Content-Digest"] == layer
    assert requests.get(location.replace("verify=", "verify=0"), timeout=10).status_code == 403


def test_skopeo_copy_from_dockerhub_follows_the_redirect_without_the_registry_credentials(
    personality: PersonalityFactory, images: dict[str, str], tmp_path: Path
) -> None:
    hub = personality("dockerhub")
    assert isinstance(hub, DockerHub)
    args = [require_binary("skopeo"), "--insecure-policy", "copy", "--src-tls-verify=false"]
    args += [f"docker://{hub.host}/{SINGLE_REPO}:v1", f"dir:{tmp_path / 'copy'}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert hub.stats.count("GET", kind="blobs", status=307) == 2  # config + layer
    assert hub.cdn.stats.count("GET", status=200, kind="") == 2 and hub.cdn.refused == 0


# ---------------------------------------------------------------------- GHCR, Azure


def test_ghcr_gives_anonymous_tokens_for_public_images_and_denied_for_missing_packages(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    ghcr = personality("ghcr")
    public = token(ghcr, f"repository:{INDEX_REPO}:pull")
    assert call(ghcr, "GET", f"/v2/{INDEX_REPO}/manifests/v1", public).status_code == 200
    missing = token(ghcr, "repository:personalities/no-such-package:pull")
    answer = call(ghcr, "GET", "/v2/personalities/no-such-package/tags/list", missing)
    assert answer.status_code == 403
    assert error_of(answer) == ("DENIED", "requested access to the resource is denied")


@pytest.mark.parametrize("name", ["ghcr", "azure"])
def test_an_oci_index_is_404_when_accept_lacks_the_oci_index_type(
    personality: PersonalityFactory, images: dict[str, str], name: str
) -> None:
    registry = personality(name)
    bearer = token(registry, f"repository:{INDEX_REPO}:pull") if name == "ghcr" else ""
    path = f"/v2/{INDEX_REPO}/manifests/v1"
    refused = call(registry, "GET", path, bearer, accept=f"{DOCKER_LIST}, {DOCKER_MANIFEST}")
    assert refused.status_code == 404
    assert error_of(refused) == (
        "MANIFEST_UNKNOWN",
        "OCI index found, but accept header does not support OCI indexes",
    )
    assert call(registry, "GET", path, bearer).headers["Content-Type"] == OCI_INDEX


def test_azure_refuses_an_oci_manifest_to_a_docker_only_accept_list(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    acr = personality("azure")
    refused = call(acr, "HEAD", f"/v2/{SINGLE_REPO}/manifests/v1", accept=DOCKER_MANIFEST)
    assert refused.status_code == 404
    got = call(acr, "GET", f"/v2/{SINGLE_REPO}/manifests/v1", accept=DOCKER_MANIFEST)
    assert (
        error_of(got)[1] == "OCI manifest found, but accept header does not support OCI manifests"
    )


# ---------------------------------------------------------------------- ECR


def test_ecr_wants_basic_credentials_and_sends_no_digest_header_on_manifest_gets(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    ecr = personality("ecr", repositories=[INDEX_REPO])
    assert isinstance(ecr, Ecr)
    challenge = requests.get(f"{ecr.url}/v2/", timeout=10).headers["WWW-Authenticate"]
    assert challenge.startswith("Basic realm=") and 'service="ecr.amazonaws.com"' in challenge
    auth = ("AWS", ecr.login_password())
    path = f"{ecr.url}/v2/{INDEX_REPO}/manifests/v1"
    get = requests.get(path, auth=auth, headers={"Accept": ALL_TYPES}, timeout=10)
    assert get.status_code == 200 and "Docker-Content-Digest" not in get.headers
    head = requests.head(path, auth=auth, headers={"Accept": ALL_TYPES}, timeout=10)
    assert head.headers["Docker-Content-Digest"] == images["index"]


def test_ecr_answers_403_token_expired_once_the_password_has_lapsed(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    ecr = personality("ecr", repositories=[INDEX_REPO])
    assert isinstance(ecr, Ecr)
    auth = ("AWS", ecr.login_password(ttl=0.2))
    path = f"{ecr.url}/v2/{INDEX_REPO}/tags/list"
    assert requests.get(path, auth=auth, timeout=10).status_code == 200
    time.sleep(0.3)
    expired = requests.get(path, auth=auth, timeout=10)
    assert expired.status_code == 403
    assert error_of(expired) == (
        "DENIED",
        "Your authorization token has expired. Reauthenticate and try again.",
    )


def test_ecr_refuses_a_push_to_a_repository_nobody_created_until_it_is_created(
    personality: PersonalityFactory,
) -> None:
    ecr = personality("ecr")
    assert isinstance(ecr, Ecr)
    auth, upload = (
        ("AWS", ecr.login_password()),
        f"{ecr.url}/v2/personalities/new-repo/blobs/uploads/",
    )
    refused = requests.post(upload, auth=auth, timeout=10)
    assert refused.status_code == 404 and error_of(refused)[0] == "NAME_UNKNOWN"
    assert "'personalities/new-repo' does not exist in the registry with id" in error_of(refused)[1]
    ecr.create_repository("personalities/new-repo")
    started = requests.post(upload, auth=auth, timeout=10)
    assert started.status_code == 202 and started.headers["Location"].startswith(ecr.url)


# ---------------------------------------------------------------------- GAR


def test_gar_grants_one_scope_per_token_request_and_answers_403_for_the_rest(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    gar = personality("gar", accounts={"oauth2accesstoken": "ya29.token"})
    assert call(gar, "GET", f"/v2/{INDEX_REPO}/tags/list").status_code == 401
    scopes = (f"repository:{INDEX_REPO}:pull", f"repository:{SINGLE_REPO}:pull")
    bearer = token(gar, *scopes, auth=("oauth2accesstoken", "ya29.token"))
    assert call(gar, "GET", f"/v2/{INDEX_REPO}/tags/list", bearer).status_code == 200
    refused = call(gar, "GET", f"/v2/{SINGLE_REPO}/tags/list", bearer)
    assert refused.status_code == 403 and "WWW-Authenticate" not in refused.headers
    assert error_of(refused)[0] == "DENIED" and "downloadArtifacts" in error_of(refused)[1]
    assert gar.stats.tokens()[0].granted == (f"{INDEX_REPO}:pull",)


# ---------------------------------------------------------------------- tag lists


@pytest.fixture(scope="module")
def many_tags(anon_registry: Registry, images: dict[str, str]) -> list[str]:
    """120 tags on one image (manifest PUTs, no pushes), sorted as registries list them."""
    tags = sorted([f"t{i:03d}" for i in range(119)] + ["v1"])
    Personality(anon_registry, Path("/nonexistent")).add_tags(
        SINGLE_REPO, "v1", [t for t in tags if t != "v1"]
    )
    return tags


def _follow_links(p: Personality, first: str) -> list[list[str]]:
    pages, url = [], f"{p.url}{first}"
    while url:
        answer = requests.get(url, timeout=10)
        pages.append(answer.json()["tags"])
        found = re.match(r'<([^>]+)>; rel="next"', answer.headers.get("Link", ""))
        url = (
            ""
            if found is None
            else (found[1] if found[1].startswith("http") else f"{p.url}{found[1]}")
        )
    return pages


def test_quay_pages_50_tags_with_a_next_page_link_and_ignores_last(
    personality: PersonalityFactory, many_tags: list[str]
) -> None:
    quay = personality("quay")
    pages = _follow_links(quay, f"/v2/{SINGLE_REPO}/tags/list?n=1000")
    assert [len(p) for p in pages] == [50, 50, 20]
    assert list(itertools.chain(*pages)) == many_tags
    first = requests.get(f"{quay.url}/v2/{SINGLE_REPO}/tags/list", timeout=10)
    assert re.match(
        rf'</v2/{SINGLE_REPO}/tags/list\?next_page=[^&]+&n=50>; rel="next"', first.headers["Link"]
    )
    again = requests.get(f"{quay.url}/v2/{SINGLE_REPO}/tags/list?last={many_tags[49]}", timeout=10)
    assert again.json()["tags"] == many_tags[:50]


def test_nexus_truncates_the_tag_list_without_a_link_but_honours_last(
    personality: PersonalityFactory, many_tags: list[str]
) -> None:
    nexus = personality("nexus", page_size=30)
    first = requests.get(f"{nexus.url}/v2/{SINGLE_REPO}/tags/list?n=10000", timeout=10)
    assert first.json()["tags"] == many_tags[:30] and "Link" not in first.headers
    more = requests.get(
        f"{nexus.url}/v2/{SINGLE_REPO}/tags/list?n=10000&last={many_tags[29]}", timeout=10
    )
    assert more.json()["tags"] == many_tags[30:60]


def test_nexus_connector_links_to_a_repository_path_it_then_rejects_with_400(
    personality: PersonalityFactory, many_tags: list[str]
) -> None:
    nexus = personality("nexus_connector", page_size=30)
    first = requests.get(f"{nexus.url}/v2/{SINGLE_REPO}/tags/list?n=10000", timeout=10)
    link = re.match(r'<([^>]+)>; rel="next"', first.headers["Link"])
    assert link is not None and f"{nexus.url}/repository/docker-proxy-docker-hub/v2/" in link[1]
    assert requests.get(link[1], timeout=10).status_code == 400


# ---------------------------------------------------------------------- HEAD, missing tags


@pytest.mark.parametrize(("name", "status"), [("legacy", 405), ("legacy_forbidden", 403)])
def test_legacy_registries_refuse_manifest_heads_but_serve_gets(
    personality: PersonalityFactory, images: dict[str, str], name: str, status: int
) -> None:
    legacy = personality(name)
    assert call(legacy, "HEAD", f"/v2/{INDEX_REPO}/manifests/v1").status_code == status
    get = call(legacy, "GET", f"/v2/{INDEX_REPO}/manifests/v1")
    assert get.status_code == 200 and get.headers["Docker-Content-Digest"] == images["index"]


def test_artifactory_answers_403_for_a_missing_tag_and_404_for_a_missing_digest(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    artifactory = personality("artifactory")
    missing = call(artifactory, "GET", f"/v2/{INDEX_REPO}/manifests/never-tagged")
    assert missing.status_code == 403 and error_of(missing)[0] == "UNAUTHORIZED"
    assert "does not have permission for manifest" in error_of(missing)[1]
    assert call(artifactory, "HEAD", f"/v2/{INDEX_REPO}/manifests/never-tagged").status_code == 403
    assert (
        call(artifactory, "GET", f"/v2/{INDEX_REPO}/manifests/sha256:{'0' * 64}").status_code == 404
    )
    assert call(artifactory, "GET", f"/v2/{INDEX_REPO}/manifests/v1").status_code == 200


# ---------------------------------------------------------------------- Harbor, GitLab


def test_harbor_robot_accounts_log_in_and_pull(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    harbor = personality(
        "harbor", projects=["personalities"], accounts={"robot$mirror": "robot-secret"}
    )
    assert (
        _challenge(requests.get(f"{harbor.url}/v2/", timeout=10))["realm"]
        == f"{harbor.url}/service/token"
    )
    bearer = token(harbor, f"repository:{INDEX_REPO}:pull", auth=("robot$mirror", "robot-secret"))
    assert call(harbor, "GET", f"/v2/{INDEX_REPO}/manifests/v1", bearer).status_code == 200
    assert harbor.stats.tokens()[0].account == "robot$mirror"
    missing = call(harbor, "GET", f"/v2/{INDEX_REPO}/manifests/never-tagged", bearer)
    assert missing.status_code == 404
    assert error_of(missing) == ("NOT_FOUND", f"artifact {INDEX_REPO}:never-tagged not found")


def test_harbor_refuses_a_push_into_a_project_that_does_not_exist(
    personality: PersonalityFactory,
) -> None:
    harbor = personality("harbor", accounts=dict([ACCOUNT]))
    scope = "repository:no-such-project/app:pull,push"
    bearer = token(harbor, scope, auth=ACCOUNT)
    refused = call(harbor, "POST", "/v2/no-such-project/app/blobs/uploads/", bearer)
    assert refused.status_code == 401 and _challenge(refused)["error"] == "insufficient_scope"
    once = "unauthorized to access repository: no-such-project/app, action: push"
    assert error_of(refused) == ("UNAUTHORIZED", f"{once}: {once}")
    harbor.create_project("no-such-project")  # type: ignore[attr-defined]
    bearer = token(harbor, scope, auth=ACCOUNT)
    assert call(harbor, "POST", "/v2/no-such-project/app/blobs/uploads/", bearer).status_code == 202


def test_gitlab_has_no_referrers_api_and_resolves_a_digest_tag_to_the_image_itself(
    personality: PersonalityFactory, images: dict[str, str]
) -> None:
    gitlab = personality("gitlab")
    digest = images["index"]
    assert call(gitlab, "GET", f"/v2/{INDEX_REPO}/referrers/{digest}").status_code == 404
    tag = digest.replace(":", "-")
    resolved = call(gitlab, "GET", f"/v2/{INDEX_REPO}/manifests/{tag}")
    assert resolved.status_code == 200 and resolved.headers["Docker-Content-Digest"] == digest
    plain = personality("azure")  # any personality without the rule: the tag does not exist
    assert call(plain, "HEAD", f"/v2/{INDEX_REPO}/manifests/{tag}").status_code == 404


# ------------------------------------------------------------- rules the upstream duplicates
# docker-registry 2.8 answers these two cases with 404 itself, so the end-to-end tests
# above pass without the rules; these call the rules directly so they stay guarded.


def _exchange(method: str, target: str, accept: str = "") -> Exchange:
    headers = Headers([("Accept", accept)] if accept else [])
    return Exchange(Personality.__new__(Personality), Request(method, target, headers))


@pytest.mark.parametrize("media_type", sorted(ACCEPT_MISSES))
def test_accept_rule_refuses_a_manifest_type_the_accept_list_lacks_whatever_the_upstream_did(
    media_type: str,
) -> None:
    rule = accept_must_cover()
    served = Response.of(200, {"Content-Type": media_type}, b"{}")
    refused = rule.on_response(_exchange("GET", "/v2/a/b/manifests/v1", DOCKER_MANIFEST), served)  # type: ignore[misc]
    assert (refused.status, json.loads(refused.body)["errors"][0]["message"]) == (
        404,
        ACCEPT_MISSES[media_type],
    )
    kept = rule.on_response(_exchange("GET", "/v2/a/b/manifests/v1", f"{media_type}, */*"), served)  # type: ignore[misc]
    assert kept.status == 200


def test_no_referrers_rule_answers_404_without_asking_the_upstream() -> None:
    rule = no_referrers_api()
    exchange = _exchange("GET", f"/v2/a/b/referrers/sha256:{'1' * 64}")
    assert rule.applies(exchange.request) and not rule.applies(
        _exchange("GET", "/v2/a/b/tags/list").request
    )
    assert rule.on_request(exchange).status == 404  # type: ignore[misc,union-attr]
