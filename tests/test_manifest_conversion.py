"""Manifest-format conversion through the real ``imgsync sync``, into registries that refuse shapes.

Destinations are personalities (tests/rig/personalities): zot refuses Docker media
types, Quay an OCI index of Docker manifests, SWR OCI indexes. They listen on
``127.0.0.1:PORT``, so the sync file names the profile (``registries: {HOST: {profile}}``),
as a user does for a custom domain. Sources live in the session's anonymous
docker-registry, whose access log counts the source's manifest GETs.
"""

from __future__ import annotations

import http.client
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli_run import Ran, base_env, run_imgsync
from tests.rig.oci import seed
from tests.rig.personalities.fixtures import PersonalityFactory, personality_fixture  # noqa: F401
from tests.rig.personalities.formats import DOCKER_LIST, DOCKER_MANIFEST, OCI_MANIFEST
from tests.rig.personalities.proxy import Personality
from tests.rig.registry import Registry
from tests.rig.skopeo import require_binary

pytestmark = pytest.mark.registry
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
TWO = [("linux", "amd64", None), ("linux", "arm64", "v8")]
WRITES = ("PUT", "POST", "PATCH", "DELETE")
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))


def docker_list(registry: Registry, repo: str, tmp_path: Path, version: str = "1") -> str:
    """An OCI image seeded, then converted to a Docker manifest list under ``REPO-docker:v1``."""
    digest = seed(registry, repo, "v1", tmp_path=tmp_path, platforms=TWO, version=version)
    converted(f"{registry.host}/{repo}@{digest}", f"{registry.host}/{repo}-docker:v1", "v2s2")
    return f"{registry.host}/{repo}-docker:v1"


def converted(source: str, target: str, fmt: str) -> None:
    """``skopeo copy --all --format FMT``: how the rig makes a Docker-format source."""
    argv = [require_binary("skopeo"), "--insecure-policy", "copy", "--all", "--format", fmt]
    argv += ["--src-tls-verify=false", "--dest-tls-verify=false"]
    subprocess.run(
        [*argv, f"docker://{source}", f"docker://{target}"],
        check=True,
        timeout=120,
        capture_output=True,
    )


def manifest_at(host: str, path: str) -> tuple[str, bytes]:
    conn = http.client.HTTPConnection(host, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept": f"{OCI_INDEX}, {DOCKER_LIST}"})
        answer = conn.getresponse()
        return answer.getheader("Content-Type", ""), answer.read()
    finally:
        conn.close()


def put_manifest(host: str, path: str, media_type: str, body: bytes) -> None:
    conn = http.client.HTTPConnection(host, timeout=30)
    try:
        conn.request("PUT", path, body, {"Content-Type": media_type})
        answer = conn.getresponse()
        assert answer.status == 201, answer.read()
    finally:
        conn.close()


def sync_file(tmp_path: Path, dest: Personality, source: str, **settings: Any) -> Path:
    """``source`` to ``DEST/mirror/<source repository>:v1`` flattened: unique (the upstream
    is shared) and two levels (Quay's limit)."""
    registry = {"insecure": True, **settings}
    flat = source.partition("/")[2].rpartition(":")[0].replace("/", "_")
    target = f"{dest.host}/mirror/{flat}:v1"
    document = {
        "registries": {dest.host: registry},
        "images": [{"source": source, "destinations": [target]}],
    }
    path = tmp_path / "sync.yaml"
    path.write_text(json.dumps(document))
    return path


def sync(tmp_path: Path, anon: Registry, dest: Personality, config: Path, name: str) -> Ran:
    env = base_env(
        tmp_path,
        IMGSYNC_INSECURE_REGISTRIES=f"{anon.host},{dest.host}",
        IMGSYNC_MAX_RETRIES="0",
        IMGSYNC_RETRY_TIMES="0",
    )
    return run_imgsync(["sync", "--config", str(config)], env, report=tmp_path / f"{name}.json")


def only_result(ran: Ran) -> dict[str, Any]:
    assert ran.report is not None, ran.stderr
    results = [r for r in ran.report["results"] if r["status"] not in ("pruned", "would_prune")]
    assert len(results) == 1, results
    return results[0]


def served(
    dest: Personality, result: dict[str, Any], ref: str = "v1"
) -> tuple[str, dict[str, Any]]:
    repository = result["destination"].partition("/")[2].rpartition(":")[0]
    found = dest.upstream_get(f"/v2/{repository}/manifests/{ref}", ACCEPT)
    assert found.status == 200, found.body
    return found.headers.get("content-type"), json.loads(found.body)


def writes_to(dest: Personality, since: int) -> list[str]:
    return [f"{s.method} {s.path}" for s in dest.stats.seen[since:] if s.method in WRITES]


# ---------------------------------------------------------------------- zot: Docker → OCI


def test_a_docker_list_mirrors_into_zot_converted_to_oci_then_skips_with_heads_only(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    zot = personality("zot")
    source = docker_list(anon_registry, unique_repo, tmp_path)
    config = sync_file(tmp_path, zot, source, profile="zot")

    first = sync(tmp_path, anon_registry, zot, config, "first")
    result = only_result(first)
    assert (first.returncode, result["status"], result.get("converted")) == (0, "synced", True), (
        result["error"]
    )
    assert result["destination_digest"] != result["source_digest"]
    media_type, index = served(zot, result)
    assert media_type == OCI_INDEX
    assert {m["mediaType"] for m in index["manifests"]} == {OCI_MANIFEST}
    assert served(zot, result, result["destination_digest"])[1] == index

    mark, seen = anon_registry.mark(), len(zot.stats.seen)
    again = only_result(sync(tmp_path, anon_registry, zot, config, "again"))
    assert (again["status"], again.get("converted")) == ("skipped", True), again
    assert again["destination_digest"] == result["destination_digest"]
    assert anon_registry.count("GET", since=mark) == 0  # HEADs only on the source
    assert writes_to(zot, seen) == []


def test_keep_into_zot_fails_unsupported_before_writing_and_names_the_setting(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    zot = personality("zot")
    source = docker_list(anon_registry, unique_repo, tmp_path)
    ran = sync(
        tmp_path,
        anon_registry,
        zot,
        sync_file(tmp_path, zot, source, profile="zot", manifest_format="keep"),
        "r",
    )
    result = only_result(ran)
    assert (ran.returncode, result["status"], result["error"]["category"]) == (
        1,
        "failed",
        "unsupported",
    )
    message = result["error"]["message"]
    assert zot.host in message and "Docker manifest lists" in message
    assert "manifest_format: oci" in message
    assert writes_to(zot, 0) == []


def test_a_zot_without_its_profile_refuses_at_push_and_the_error_names_the_setting(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    """No profile: skopeo meets the refusal at push, and the message says what to set."""
    zot = personality("zot")
    source = docker_list(anon_registry, unique_repo, tmp_path)
    ran = sync(tmp_path, anon_registry, zot, sync_file(tmp_path, zot, source), "r")
    result = only_result(ran)
    assert (result["status"], result["error"]["category"]) == ("failed", "unsupported"), result
    assert "manifest_format" in result["error"]["message"]
    assert zot.host in result["error"]["message"]


def test_setting_oci_for_an_unknown_registry_converts_there_too(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    zot = personality("zot")
    source = docker_list(anon_registry, unique_repo, tmp_path)
    ran = sync(
        tmp_path, anon_registry, zot, sync_file(tmp_path, zot, source, manifest_format="oci"), "r"
    )
    result = only_result(ran)
    assert (result["status"], result.get("converted")) == ("synced", True), result
    assert served(zot, result)[0] == OCI_INDEX


# ---------------------------------------------------------------------- Quay: mixed index


def mixed_index(registry: Registry, repo: str, tmp_path: Path) -> str:
    """An OCI index whose children are Docker v2s2 manifests (as rabbitmq's images were)."""
    docker = docker_list(registry, repo, tmp_path)
    _, body = manifest_at(registry.host, f"/v2/{repo}-docker/manifests/v1")
    document = json.loads(body)
    document["mediaType"] = OCI_INDEX
    put_manifest(
        registry.host,
        f"/v2/{repo}-docker/manifests/mixed",
        OCI_INDEX,
        json.dumps(document).encode(),
    )
    return docker.replace(":v1", ":mixed")


def test_an_oci_index_of_docker_manifests_mirrors_into_quay_converted_to_docker(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    quay = personality("quay")
    source = mixed_index(anon_registry, unique_repo, tmp_path)
    config = sync_file(tmp_path, quay, source, profile="quay")
    result = only_result(sync(tmp_path, anon_registry, quay, config, "first"))
    assert (result["status"], result.get("converted")) == ("synced", True), result
    media_type, index = served(quay, result)
    assert media_type == DOCKER_LIST
    assert {m["mediaType"] for m in index["manifests"]} == {DOCKER_MANIFEST}
    again = only_result(sync(tmp_path, anon_registry, quay, config, "again"))
    assert (again["status"], again.get("converted")) == ("skipped", True), again


def test_a_pure_oci_index_mirrors_into_quay_with_its_own_digest(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    """Quay refuses only the mixed shape: nothing else is converted, digests are kept."""
    quay = personality("quay")
    digest = seed(anon_registry, unique_repo, "v1", tmp_path=tmp_path, platforms=TWO)
    config = sync_file(tmp_path, quay, f"{anon_registry.host}/{unique_repo}:v1", profile="quay")
    result = only_result(sync(tmp_path, anon_registry, quay, config, "first"))
    assert (result["status"], result["destination_digest"]) == ("synced", digest), result
    assert "converted" not in result


# ---------------------------------------------------------------------- prune and record tags


def dest_tags(dest: Personality, repository: str) -> set[str]:
    listed = dest.upstream_get(f"/v2/{repository}/tags/list", "application/json")
    return set(json.loads(listed.body)["tags"])


def test_prune_keeps_the_live_record_and_deletes_the_stale_one_after_the_source_changed(
    personality: PersonalityFactory, anon_registry: Registry, tmp_path: Path, unique_repo: str
) -> None:
    zot = personality("zot")
    source = docker_list(anon_registry, unique_repo, tmp_path)
    repository = f"mirror/{unique_repo.replace('/', '_')}"
    entry = {"source": source.rpartition(":")[0], "tags": ["v1"], "prune": True}
    document = {
        "registries": {zot.host: {"insecure": True, "profile": "zot"}},
        "images": [{**entry, "destinations": [f"{zot.host}/{repository}"]}],
    }
    config = tmp_path / "prune.yaml"
    config.write_text(json.dumps(document))

    first = sync(tmp_path, anon_registry, zot, config, "first")
    assert first.returncode == 0, first.report
    [old_record] = [t for t in dest_tags(zot, repository) if t.startswith("imgsync.")]
    assert first.report is not None and [r["status"] for r in first.report["results"]] == ["synced"]

    docker_list(anon_registry, unique_repo, tmp_path, version="2")  # the source tag moves
    second = sync(tmp_path, anon_registry, zot, config, "second")
    assert second.report is not None, second.stderr
    statuses = {r["destination"].rpartition(":")[2]: r["status"] for r in second.report["results"]}
    assert statuses == {"v1": "synced", old_record: "pruned"}, second.report["results"]
    tags = dest_tags(zot, repository)
    assert "v1" in tags and old_record not in tags
    assert len([t for t in tags if t.startswith("imgsync.")]) == 1  # the new, live record
