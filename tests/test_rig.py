"""The rig itself: real registries, token server, skopeo pushes, request log, Redis."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
import redis
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.rig.authfile import write_authfile
from tests.rig.binaries import need_binary
from tests.rig.inspect import get_manifest, head_digest, list_platforms
from tests.rig.names import repo_slug
from tests.rig.oci import OCI_INDEX, OCI_MANIFEST, SeedImage, build_layout, seed
from tests.rig.ports import port_open
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry, parse_access_log
from tests.rig.skopeo import skopeo_copy
from tests.rig.token_server import TokenServer

THREE_PLATFORMS = ["linux/amd64", "linux/arm64", "linux/arm/v7"]


def _push(registry: Registry, layout: Path, repo: str, authfile: Path | None) -> str:
    """Push the `v1` tag of a layout; return skopeo's last stderr line ('' on success)."""
    result = skopeo_copy(
        f"oci:{layout}:v1", f"docker://{registry.host}/{repo}:v1", dest_authfile=authfile
    )
    return "" if result.ok else result.stderr.strip().splitlines()[-1]


@pytest.mark.registry
def test_push_then_head_reads_same_index_digest(
    each_registry: Registry, unique_repo: str, seed_image: SeedImage
) -> None:
    digest = seed_image(each_registry, unique_repo, "1.0")
    assert head_digest(each_registry, unique_repo, "1.0") == digest
    assert head_digest(each_registry, unique_repo, digest) == digest
    assert list_platforms(each_registry, unique_repo, "1.0") == THREE_PLATFORMS
    assert get_manifest(each_registry, unique_repo, "1.0")["mediaType"] == OCI_INDEX


@pytest.mark.registry
def test_missing_tag_reads_none(each_registry: Registry, unique_repo: str) -> None:
    assert head_digest(each_registry, unique_repo, "never-pushed") is None


@pytest.mark.registry
def test_new_version_moves_the_tag(
    anon_registry: Registry, unique_repo: str, seed_image: SeedImage
) -> None:
    first = seed_image(anon_registry, unique_repo, "latest", version="1")
    second = seed_image(anon_registry, unique_repo, "latest", version="2")
    assert first != second
    assert head_digest(anon_registry, unique_repo, "latest") == second
    assert head_digest(anon_registry, unique_repo, first) == first


def test_layouts_are_deterministic(tmp_path: Path) -> None:
    one = build_layout(tmp_path / "a", version="7")
    again = build_layout(tmp_path / "b", version="7")
    other = build_layout(tmp_path / "c", version="8")
    renamed = build_layout(tmp_path / "d", version="7", name="other")
    assert one == again
    assert len({one, other, renamed}) == 3
    assert (tmp_path / "a" / "blobs" / "sha256" / one.split(":")[1]).is_file()


@pytest.mark.registry
def test_single_platform_image_is_a_plain_manifest(
    basic_registry: Registry, unique_repo: str, seed_image: SeedImage
) -> None:
    arm = [("linux", "arm", "v7")]
    digest = seed_image(basic_registry, unique_repo, "solo", platforms=arm, single=True)
    assert head_digest(basic_registry, unique_repo, "solo") == digest
    assert get_manifest(basic_registry, unique_repo, "solo")["mediaType"] == OCI_MANIFEST
    assert list_platforms(basic_registry, unique_repo, "solo") == ["linux/arm/v7"]


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """A multi-platform layout tagged v1, for raw skopeo pushes."""
    need_binary("skopeo")
    build_layout(tmp_path / "layout", tag="v1")
    return tmp_path / "layout"


@pytest.mark.registry
def test_token_server_refuses_wrong_password(
    token_registry: Registry, unique_repo: str, layout: Path, tmp_path: Path
) -> None:
    ts = token_registry.token_server
    assert ts is not None
    since = ts.mark()
    bad = write_authfile(tmp_path / "bad.json", token_registry.host, "tester", "wrong")
    error = _push(token_registry, layout, unique_repo, bad)
    assert "invalid username/password" in error
    assert [r.status for r in ts.requests(since)] == [401]
    assert ts.requests(since)[0].account == "tester"
    assert head_digest(token_registry, unique_repo, "v1") is None


@pytest.mark.registry
def test_token_registry_refuses_anonymous_push(
    token_registry: Registry, unique_repo: str, layout: Path
) -> None:
    ts = token_registry.token_server
    assert ts is not None
    since = ts.mark()
    error = _push(token_registry, layout, unique_repo, None)
    assert "unauthorized" in error or "denied" in error
    granted = [a["actions"] for r in ts.requests(since) if r.status == 200 for a in r.access]
    assert granted and all(actions == ["pull"] for actions in granted)
    assert head_digest(token_registry, unique_repo, "v1") is None


@pytest.mark.registry
def test_htpasswd_registry_refuses_wrong_password(
    basic_registry: Registry, unique_repo: str, layout: Path, tmp_path: Path
) -> None:
    since = basic_registry.mark()
    bad = write_authfile(tmp_path / "bad.json", basic_registry.host, "tester", "wrong")
    assert "unauthorized" in _push(basic_registry, layout, unique_repo, bad)
    statuses = {r.status for r in basic_registry.requests(since)}
    assert statuses == {401}


@pytest.mark.registry
def test_request_log_counts_push_and_mark_isolates(
    anon_registry: Registry, unique_repo: str, seed_image: SeedImage
) -> None:
    before = anon_registry.mark()
    # a content name of its own: skopeo's blob-info cache would mount already-seen blobs
    seed_image(anon_registry, unique_repo, "v1", name=unique_repo.replace("/", "-"))
    # three platform manifests plus the index; a layer and a config per platform
    assert anon_registry.count("PUT", since=before) == 4
    assert anon_registry.count("PUT", "/blobs/uploads/", since=before) == 6
    after = anon_registry.mark()
    head_digest(anon_registry, unique_repo, "v1")
    assert anon_registry.requests(since=after) == [("HEAD", f"/v2/{unique_repo}/manifests/v1", 200)]
    assert anon_registry.count("PUT", since=after) == 0


@pytest.mark.registry
def test_token_server_counts_tokens_and_signs_for_the_registry(
    token_registry: Registry, unique_repo: str, seed_image: SeedImage
) -> None:
    ts = token_registry.token_server
    assert ts is not None
    seed_image(token_registry, unique_repo, "v1")
    since = ts.mark()
    head_digest(token_registry, unique_repo, "v1")
    assert ts.count(since) == 1
    assert ts.requests(since)[0].scopes == (f"repository:{unique_repo}:pull",)


def _verified_claims(ts: TokenServer, token: str) -> dict[str, Any]:
    """Verify a token the way docker-registry does: with the key of the x5c certificate."""
    header = jwt.get_unverified_header(token)
    cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and header["x5c"] == ts.cert.x5c
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["RS256"], audience=ts.service, issuer=ts.issuer
    )
    return claims


def test_token_server_grants_by_identity() -> None:
    with TokenServer(users={"alice": "s3cret"}, service="svc", issuer="iss") as ts:
        scope = {"service": "svc", "scope": "repository:a/b:pull,push"}
        anon = requests.get(ts.realm, params=scope, timeout=5).json()
        user = requests.get(ts.realm, params=scope, auth=("alice", "s3cret"), timeout=5).json()
        wrong = requests.get(ts.realm, params=scope, auth=("alice", "nope"), timeout=5)
    assert anon["token"] == anon["access_token"] and anon["expires_in"] == 300
    assert _verified_claims(ts, anon["token"])["access"][0]["actions"] == ["pull"]
    claims = _verified_claims(ts, user["token"])
    assert claims["sub"] == "alice" and claims["exp"] - claims["iat"] == 300
    assert claims["access"] == [{"type": "repository", "name": "a/b", "actions": ["pull", "push"]}]
    assert wrong.status_code == 401 and "errors" in wrong.json()
    assert ts.count() == 2 and ts.count(status=401) == 1


def test_authfile_is_private_and_readable(tmp_path: Path) -> None:
    path = write_authfile(tmp_path / "auth.json", "127.0.0.1:5000", "u", "p:w")
    write_authfile(path, "127.0.0.1:6000", "v", "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    auths = json.loads(path.read_text())["auths"]
    assert base64.b64decode(auths["127.0.0.1:5000"]["auth"]) == b"u:p:w"
    assert set(auths) == {"127.0.0.1:5000", "127.0.0.1:6000"}


def test_registry_context_manager_cleans_up(tmp_path: Path) -> None:
    need_binary("docker-registry")
    with Registry("htpasswd", workdir=tmp_path / "reg") as reg:
        assert port_open(reg.port) and reg.running
        assert reg.username is not None and reg.password is not None
        resp = requests.get(f"{reg.url}/v2/", auth=(reg.username, reg.password), timeout=5)
        assert resp.status_code == 200
        pid = reg.pid
    assert pid is not None and reg.pid is None
    assert not port_open(reg.port)
    assert not Path(f"/proc/{pid}").exists()
    assert parse_access_log(reg.access_log.read_text())[-1] == ("GET", "/v2/", 200)


def test_registry_restart_keeps_port_and_images(tmp_path: Path) -> None:
    need_binary("docker-registry")
    need_binary("skopeo")
    with Registry("token", workdir=tmp_path / "reg") as reg:
        digest = seed(reg, "t/keep", "v1", tmp_path=tmp_path)
        reg.stop()
        assert not port_open(reg.port)
        reg.start()
        assert head_digest(reg, "t/keep", "v1") == digest


def test_redis_server_restarts_on_same_port(redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.set("rig:probe", "1")
    redis_server.stop()
    with redis_server.client() as client, pytest.raises(redis.exceptions.ConnectionError):
        client.ping()
    redis_server.start()
    with redis_server.client() as client:
        assert client.ping() is True
        assert client.get("rig:probe") is None  # no persistence: a restart loses data


def test_unique_repo_is_a_valid_fresh_name(unique_repo: str) -> None:
    assert unique_repo.startswith("t/test-unique-repo-is-a-valid-fresh-name-")
    assert repo_slug("Test_X[a/b]::C") == "test-x-a-b-c"
    assert repo_slug("___") == "test"


def test_missing_binary_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        need_binary("imgsync-no-such-binary")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="imgsync-no-such-binary"):
        need_binary("imgsync-no-such-binary")
    assert os.environ["CI"] == "true"


def test_make_authfile_holds_only_registries_with_credentials(
    make_authfile: Callable[..., Path],
    anon_registry: Registry,
    basic_registry: Registry,
    token_registry: Registry,
) -> None:
    path = make_authfile(anon_registry, basic_registry, token_registry)
    auths = json.loads(path.read_text())["auths"]
    assert set(auths) == {basic_registry.host, token_registry.host}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    user, password = base64.b64decode(auths[basic_registry.host]["auth"]).decode().split(":", 1)
    assert (user, password) == basic_registry.credentials
