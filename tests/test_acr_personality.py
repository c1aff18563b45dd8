"""The ACR Personal personality answers as its module docstring says (plain HTTP, one skopeo)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from tests.rig.authfile import write_auths
from tests.rig.oci import seed
from tests.rig.personalities.acr import DENIED, SERVICE, Acr
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.proxy import Personality
from tests.rig.registry import Registry
from tests.rig.skopeo import skopeo_copy

pytestmark = pytest.mark.registry

ACCOUNT = ("acr-user", "acr-s3cret")
SOURCE = "acrsrc/app"


@pytest.fixture(scope="module")
def source(anon_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> str:
    work = tmp_path_factory.mktemp("acr-source")
    platforms = [("linux", "amd64", None)]
    seed(anon_registry, SOURCE, "v1", tmp_path=work, platforms=platforms, single=True)
    return f"{anon_registry.host}/{SOURCE}:v1"


def _challenge(response: requests.Response) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', response.headers.get("WWW-Authenticate", "")))


def token(acr: Personality, scope: str, auth: tuple[str, str] | None = ACCOUNT) -> str:
    challenge = _challenge(requests.get(f"{acr.url}/v2/", timeout=10))
    params = {"service": challenge["service"], "scope": scope}
    answer = requests.get(challenge["realm"], params=params, auth=auth, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def start_upload(
    acr: Personality, name: str, auth: tuple[str, str] | None = ACCOUNT
) -> requests.Response:
    bearer = token(acr, f"repository:{name}:pull,push", auth)
    headers = {"Authorization": f"Bearer {bearer}"}
    return requests.post(f"{acr.url}/v2/{name}/blobs/uploads/", headers=headers, timeout=10)


def assert_denied(answer: requests.Response, name: str) -> None:
    assert answer.status_code == 401
    assert answer.json()["errors"][0] == {"code": "DENIED", "message": DENIED}
    challenge = _challenge(answer)
    assert challenge["error"] == "insufficient_scope"
    assert challenge["scope"] == f"repository:{name}:pull,push"


def test_acr_challenge_names_its_token_realm_and_service(personality: PersonalityFactory) -> None:
    acr = personality("acr")
    first = requests.get(f"{acr.url}/v2/", timeout=10)
    assert first.status_code == 401
    assert _challenge(first) == {"realm": f"{acr.url}/auth", "service": SERVICE}


def test_acr_takes_a_push_to_namespace_slash_repository_in_an_existing_namespace(
    personality: PersonalityFactory,
) -> None:
    acr = personality("acr", namespaces=["myns"], accounts=dict([ACCOUNT]))
    assert start_upload(acr, "myns/app").status_code == 202
    [call] = acr.stats.tokens()
    assert call.granted == ("myns/app:pull,push",)


def test_acr_refuses_a_push_deeper_than_namespace_slash_repository(
    personality: PersonalityFactory,
) -> None:
    acr = personality("acr", namespaces=["myns"], accounts=dict([ACCOUNT]))
    assert_denied(start_upload(acr, "myns/bitnami/redis"), "myns/bitnami/redis")
    assert_denied(start_upload(acr, "app"), "app")
    assert acr.stats.tokens()[0].granted == ("myns/bitnami/redis:pull",)


def test_acr_refuses_a_push_into_a_namespace_that_was_not_created(
    personality: PersonalityFactory,
) -> None:
    acr = personality("acr", accounts=dict([ACCOUNT]))
    assert_denied(start_upload(acr, "newns/app"), "newns/app")
    assert isinstance(acr, Acr)
    acr.create_namespace("newns")
    assert start_upload(acr, "newns/app").status_code == 202


def test_acr_lets_anonymous_callers_pull_but_not_push(
    personality: PersonalityFactory, source: str
) -> None:
    acr = personality("acr", namespaces=["acrsrc"])
    bearer = token(acr, f"repository:{SOURCE}:pull", auth=None)
    headers = {
        "Authorization": f"Bearer {bearer}",
        "Accept": "application/vnd.oci.image.manifest.v1+json",
    }
    assert (
        requests.head(
            f"{acr.url}/v2/{SOURCE}/manifests/v1", headers=headers, timeout=10
        ).status_code
        == 200
    )
    assert_denied(start_upload(acr, SOURCE, auth=None), SOURCE)


def test_a_real_skopeo_push_too_deep_reads_as_access_denied(
    personality: PersonalityFactory, source: str, tmp_path: Path
) -> None:
    acr = personality("acr", namespaces=["myns"], accounts=dict([ACCOUNT]))
    auth = write_auths(tmp_path / "auth.json", {acr.host: ACCOUNT})
    deep = skopeo_copy(
        f"docker://{source}", f"docker://{acr.host}/myns/acrsrc/app:v1", dest_authfile=auth
    )
    assert not deep.ok
    assert DENIED in deep.stderr, deep.stderr
    flat = skopeo_copy(
        f"docker://{source}", f"docker://{acr.host}/myns/acrsrc_app:v1", dest_authfile=auth
    )
    assert flat.ok, flat.stderr
    assert acr.upstream_has("myns/acrsrc_app")
