"""An OCI index mirrored into Huawei SWR, which refuses OCI indexes: converted, then skipped.

The SWR personality (tests/rig/personalities/swr.py) refuses OCI index pushes as SWR
does and needs an account and an existing organization. Its built-in profile
(``profile: swr``, named in the sync file since the personality listens on
``127.0.0.1``) converts what SWR refuses to Docker v2s2. The source is the session's
anonymous docker-registry, whose access log counts manifest GETs on the source.
A real client then reads the converted mirror: ``skopeo copy`` of each platform into
an OCI layout, checked with ``oci-image-tool validate``, compared with the source.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.celery_rig import Cluster, fresh_redis_db, unique_name
from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.authfile import write_auths
from tests.rig.oci import seed
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.formats import DOCKER_LIST, DOCKER_MANIFEST
from tests.rig.personalities.proxy import Personality
from tests.rig.redis_server import RedisServer
from tests.rig.registry import Registry
from tests.rig.skopeo import require_binary

pytestmark = pytest.mark.registry
ACCOUNT = ("cn-north-4@AKTESTKEY", "login-key")
TWO = [("linux", "amd64", None), ("linux", "arm64", "v8")]
WRITES = ("PUT", "POST", "PATCH", "DELETE")
ACCEPT = f"{DOCKER_LIST}, {DOCKER_MANIFEST}"


@pytest.fixture
def swr(personality: PersonalityFactory) -> Personality:
    return personality("swr", organizations=["mirror"], accounts=dict([ACCOUNT]))


@pytest.fixture
def source(anon_registry: Registry, tmp_path: Path, unique_repo: str) -> tuple[str, str]:
    """An OCI index of two platforms: its reference and digest."""
    digest = seed(anon_registry, unique_repo, "v1", tmp_path=tmp_path, platforms=TWO)
    return f"{anon_registry.host}/{unique_repo}:v1", digest


def config_for(tmp_path: Path, swr: Personality, source: str) -> Path:
    flat = source.partition("/")[2].rpartition(":")[0].replace("/", "-")
    document = {
        "registries": {swr.host: {"profile": "swr", "insecure": True}},
        "images": [{"source": source, "destinations": [f"{swr.host}/mirror/{flat}:v1"]}],
    }
    path = tmp_path / "sync.yaml"
    path.write_text(json.dumps(document))
    return path


def env_for(home: Path, anon: Registry, swr: Personality, **extra: str) -> dict[str, str]:
    home.mkdir(exist_ok=True)
    auth = write_auths(home / "auth.json", {swr.host: ACCOUNT})
    return base_env(
        home,
        REGISTRY_AUTH_FILE=str(auth),
        IMGSYNC_INSECURE_REGISTRIES=f"{anon.host},{swr.host}",
        IMGSYNC_MAX_RETRIES="0",
        IMGSYNC_RETRY_TIMES="0",
        **extra,
    )


def sync(tmp_path: Path, env: dict[str, str], config: Path, name: str) -> dict[str, Any]:
    ran = run_imgsync(["sync", "--config", str(config)], env, report=tmp_path / f"{name}.json")
    return only_result(ran)


def only_result(ran: Ran) -> dict[str, Any]:
    assert ran.report is not None, ran.stderr
    [result] = ran.report["results"]
    return dict(result)


def writes_to(swr: Personality, since: int) -> list[str]:
    return [f"{s.method} {s.path}" for s in swr.stats.seen[since:] if s.method in WRITES]


def repository_of(result: dict[str, Any]) -> str:
    return str(result["destination"]).partition("/")[2].rpartition(":")[0]


# ---------------------------------------------------------------------- embedded


def test_an_oci_index_mirrors_into_swr_as_a_docker_list_then_skips_then_follows_a_change(
    swr: Personality,
    anon_registry: Registry,
    source: tuple[str, str],
    tmp_path: Path,
    unique_repo: str,
) -> None:
    reference, digest = source
    config, env = config_for(tmp_path, swr, reference), env_for(tmp_path / "h", anon_registry, swr)

    first = sync(tmp_path, env, config, "first")
    assert (first["status"], first.get("converted")) == ("synced", True), first["error"]
    assert first["source_digest"] == digest != first["destination_digest"]
    served = swr.upstream_get(f"/v2/{repository_of(first)}/manifests/v1", ACCEPT)
    assert served.headers.get("content-type") == DOCKER_LIST
    assert json.loads(served.body)["manifests"][0]["mediaType"] == DOCKER_MANIFEST

    mark, seen = anon_registry.mark(), len(swr.stats.seen)
    again = sync(tmp_path, env, config, "again")
    assert (again["status"], again.get("converted")) == ("skipped", True), again
    assert again["destination_digest"] == first["destination_digest"]
    assert anon_registry.count("GET", since=mark) == 0
    assert writes_to(swr, seen) == []

    changed = seed(anon_registry, unique_repo, "v1", tmp_path=tmp_path, platforms=TWO, version="2")
    third = sync(tmp_path, env, config, "third")
    assert (third["status"], third["source_digest"]) == ("synced", changed), third
    assert third["destination_digest"] not in (first["destination_digest"], None)


def test_keep_on_swr_refuses_the_oci_index_up_front_naming_registry_shape_and_setting(
    swr: Personality, anon_registry: Registry, source: tuple[str, str], tmp_path: Path
) -> None:
    config = config_for(tmp_path, swr, source[0])
    document = json.loads(config.read_text())
    document["registries"][swr.host]["manifest_format"] = "keep"
    config.write_text(json.dumps(document))
    result = sync(tmp_path, env_for(tmp_path / "h", anon_registry, swr), config, "keep")
    assert (result["status"], result["error"]["category"]) == ("failed", "unsupported")
    message = result["error"]["message"]
    assert swr.host in message and "Huawei SWR" in message and "OCI image indexes" in message
    assert f"registries: {{{swr.host}: {{manifest_format: docker}}}}" in message
    assert writes_to(swr, 0) == []


# ---------------------------------------------------------------------- a real client reads it


def test_a_real_client_pulls_each_platform_of_the_converted_mirror_with_the_sources_content(
    swr: Personality, anon_registry: Registry, source: tuple[str, str], tmp_path: Path
) -> None:
    tool = shutil.which("oci-image-tool")
    if tool is None:
        pytest.skip("oci-image-tool is not installed (scripts/install-system-deps installs it)")
    reference, _ = source
    env = env_for(tmp_path / "h", anon_registry, swr)
    result = sync(tmp_path, env, config_for(tmp_path, swr, reference), "first")
    assert result["status"] == "synced", result["error"]
    for os_name, arch, variant in TWO:
        mirrored = pulled(f"{result['destination']}", (os_name, arch, variant), tmp_path, env)
        original = pulled(reference, (os_name, arch, variant), tmp_path, env)
        subprocess.run(
            [tool, "validate", "--type", "image", "--ref", "name=v1", mirrored.layout], check=True
        )
        assert mirrored.layers == original.layers and mirrored.layers
        assert mirrored.platform == original.platform == (os_name, arch)
        assert mirrored.diff_ids == original.diff_ids


class Pulled:
    """One platform of an image copied into an OCI layout by ``skopeo copy``."""

    def __init__(self, layout: Path) -> None:
        self.layout = str(layout)
        index = json.loads((layout / "index.json").read_text())
        manifest = self._blob(index["manifests"][0]["digest"])
        config = self._blob(manifest["config"]["digest"])
        self.layers = [layer["digest"] for layer in manifest["layers"]]
        self.platform = (config["os"], config["architecture"])
        self.diff_ids = config["rootfs"]["diff_ids"]

    def _blob(self, digest: str) -> Any:
        return json.loads(
            (Path(self.layout) / "blobs" / "sha256" / digest.split(":")[1]).read_text()
        )


def pulled(
    reference: str, platform: tuple[str, str, str | None], tmp_path: Path, env: dict[str, str]
) -> Pulled:
    os_name, arch, variant = platform
    layout = tmp_path / f"pulled-{abs(hash((reference, arch)))}"
    argv = [
        require_binary("skopeo"),
        "--insecure-policy",
        "--override-os",
        os_name,
        "--override-arch",
        arch,
    ]
    argv += ["--override-variant", variant] if variant else []
    argv += ["copy", "--src-tls-verify=false", "--src-authfile", env["REGISTRY_AUTH_FILE"]]
    subprocess.run(
        [*argv, f"docker://{reference}", f"oci:{layout}:v1"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Pulled(layout)


# ---------------------------------------------------------------------- Celery workers


@pytest.fixture
def cluster(
    tmp_path: Path,
    redis_server: RedisServer,
    anon_registry: Registry,
    swr: Personality,
    source: tuple[str, str],
) -> Iterator[Cluster]:
    config = config_for(tmp_path, swr, source[0])
    with fresh_redis_db(redis_server) as url:
        env = env_for(tmp_path / "home", anon_registry, swr)
        env.update(
            IMGSYNC_BROKER_URL=url, IMGSYNC_QUEUE=unique_name("conv"), IMGSYNC_CONFIG=str(config)
        )
        running = Cluster(tmp_path, env)
        try:
            running.start_workers(unique_name("c1"), concurrency=1)
            yield running
        finally:
            running.stop()


@pytest.mark.celery
def test_through_a_celery_worker_the_oci_index_is_converted_then_skipped_with_heads_only(
    cluster: Cluster, anon_registry: Registry, swr: Personality
) -> None:
    first = cluster.sync([])
    assert first.returncode == 0, first.output + cluster.logs()
    assert first.report is not None and first.report["mode"] == "celery"
    [result] = first.report["results"]
    assert (result["status"], result.get("converted")) == ("synced", True), result
    mark, seen = anon_registry.mark(), len(swr.stats.seen)
    again = cluster.sync([])
    assert again.report is not None, again.output
    [skipped] = again.report["results"]
    assert (skipped["status"], skipped.get("converted")) == ("skipped", True), skipped
    assert anon_registry.count("GET", since=mark) == 0
    assert writes_to(swr, seen) == []


def test_a_missing_organization_fails_before_the_source_is_read_even_when_converting(
    personality: PersonalityFactory,
    anon_registry: Registry,
    source: tuple[str, str],
    tmp_path: Path,
) -> None:
    bare = personality("swr", organizations=[], accounts=dict([ACCOUNT]))
    mark = anon_registry.mark()
    result = sync(
        tmp_path,
        env_for(tmp_path / "h", anon_registry, bare),
        config_for(tmp_path, bare, source[0]),
        "r",
    )
    assert (result["status"], result["error"]["category"]) == ("failed", "not_found"), result
    assert "organization" in result["error"]["message"] and "mirror" in result["error"]["message"]
    assert anon_registry.count("GET", since=mark) == 0
    assert writes_to(bare, 0) == []
