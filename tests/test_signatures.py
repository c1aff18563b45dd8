"""``--with-signatures``: cosign tags and OCI referrers arrive with the image, digests unchanged.

The tests push their own artifacts to an anonymous rig registry with the
registry API: a cosign-style ``.sig`` and ``.att`` (one manifest each, cosign's
layer media types) and an OCI 1.1 referrer (a manifest whose ``subject`` is the
image) listed under the fallback tag ``sha256-<hex>``, as cosign and oras do on
registries without the referrers API (docker-registry 2.8).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import requests

from tests.cli_run import Rig
from tests.rig.inspect import head_digest
from tests.rig.registry import Registry

pytestmark = pytest.mark.registry
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Pusher:
    """Blobs and manifests straight into one repository of an anonymous registry."""

    def __init__(self, registry: Registry, repo: str) -> None:
        self.base = f"{registry.url}/v2/{repo}"

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        location = requests.post(f"{self.base}/blobs/uploads/", timeout=10).headers["Location"]
        joiner = "&" if "?" in location else "?"
        url = f"{location}{joiner}digest={_digest(data)}"
        requests.put(url, data=data, timeout=10).raise_for_status()
        return {"mediaType": media_type, "digest": _digest(data), "size": len(data)}

    def manifest(self, ref: str, document: dict[str, Any]) -> dict[str, Any]:
        body = _json(document)
        headers = {"Content-Type": document["mediaType"]}
        url = f"{self.base}/manifests/{ref}"
        requests.put(url, data=body, headers=headers, timeout=10).raise_for_status()
        return {"mediaType": document["mediaType"], "digest": _digest(body), "size": len(body)}

    def artifact(self, layer_type: str, text: str, **extra: Any) -> dict[str, Any]:
        """A manifest with the empty config and one small layer (not pushed under a tag)."""
        layer = self.blob(text.encode(), layer_type)
        return {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": self.blob(b"{}", EMPTY),
            "layers": [layer | {"annotations": {"dev.cosignproject.cosign/signature": text}}],
            **extra,
        }


def attach_all(registry: Registry, repo: str, digest: str) -> dict[str, str]:
    """A .sig, an .att and a referrer (fallback index) for ``digest``; tag → digest."""
    push, tag = Pusher(registry, repo), digest.replace(":", "-")
    sig = push.artifact("application/vnd.dev.cosign.simplesigning.v1+json", "sig")
    att = push.artifact("application/vnd.dsse.envelope.v1+json", "att")
    subject = {"mediaType": OCI_INDEX, "digest": digest, "size": 1}
    sbom = push.artifact("application/spdx+json", "sbom", subject=subject, artifactType="x/sbom")
    referrer = push.manifest(_digest(_json(sbom)), sbom)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [referrer]}
    return {
        f"{tag}.sig": push.manifest(f"{tag}.sig", sig)["digest"],
        f"{tag}.att": push.manifest(f"{tag}.att", att)["digest"],
        tag: push.manifest(tag, index)["digest"],
        referrer["digest"]: referrer["digest"],
    }


def test_signatures_attestations_and_referrers_arrive_with_the_same_digests(rig: Rig) -> None:
    digest = rig.seed(rig.anon, "1.0")
    attached = attach_all(rig.anon, rig.repo, digest)
    mapping = f"{rig.anon.host}/{rig.repo}:1.0={rig.basic.host}/m/{rig.repo}"

    ran = rig.sync("--with-signatures", mapping)

    assert ran.returncode == 0, ran.output
    assert ran.result_for(rig.repo)["status"] == "synced"
    for ref, expected in attached.items():
        assert head_digest(rig.basic, f"m/{rig.repo}", ref) == expected, ref

    mark = rig.basic.mark()
    again = rig.sync("--with-signatures", mapping)
    assert again.returncode == 0 and again.result_for(rig.repo)["status"] == "skipped"
    assert rig.basic.count("PUT", path_contains="/", since=mark) == 0


def test_an_image_without_signatures_is_synced_as_before(rig: Rig) -> None:
    digest = rig.seed(rig.anon, "plain")
    mapping = f"{rig.anon.host}/{rig.repo}:plain={rig.basic.host}/m/{rig.repo}"

    ran = rig.sync("--with-signatures", mapping)

    assert ran.returncode == 0, ran.output
    result = ran.result_for(rig.repo)
    assert (result["status"], result["destination_digest"]) == ("synced", digest)
    tag = digest.replace(":", "-")
    for ref in (tag, f"{tag}.sig", f"{tag}.att", f"{tag}.sbom"):
        assert head_digest(rig.basic, f"m/{rig.repo}", ref) is None
