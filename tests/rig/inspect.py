"""Test-side registry reads (HEAD digest, platforms) with Basic and Bearer auth."""

from __future__ import annotations

import re
from typing import Any

import requests

from .registry import Registry

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
TIMEOUT = 10.0


def bearer_token(registry: Registry, challenge: str, scope: str) -> str:
    """Follow a `Bearer realm=...,service=...` challenge to a token."""
    params = dict(_CHALLENGE_PARAM.findall(challenge))
    query = {"service": params.get("service", ""), "scope": scope}
    resp = requests.get(params["realm"], params=query, auth=registry.credentials, timeout=TIMEOUT)
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return str(body.get("token") or body["access_token"])


def registry_request(
    registry: Registry, method: str, repo: str, path: str, accept: str = MANIFEST_ACCEPT
) -> requests.Response:
    """One authenticated request to /v2/<repo>/<path>, answering a Bearer challenge once."""
    url = f"{registry.url}/v2/{repo}/{path}"
    headers = {"Accept": accept}
    resp = requests.request(
        method, url, headers=headers, auth=registry.credentials, timeout=TIMEOUT
    )
    challenge = resp.headers.get("WWW-Authenticate", "")
    if resp.status_code == 401 and challenge.lower().startswith("bearer "):
        token = bearer_token(registry, challenge, f"repository:{repo}:pull")
        headers["Authorization"] = f"Bearer {token}"
        resp = requests.request(method, url, headers=headers, timeout=TIMEOUT)
    return resp


def head_digest(registry: Registry, repo: str, ref: str) -> str | None:
    """Digest the registry reports for repo:ref via HEAD; None when it does not exist."""
    resp = registry_request(registry, "HEAD", repo, f"manifests/{ref}")
    if resp.status_code == 404:
        return None
    resp.raise_for_status()
    return resp.headers["Docker-Content-Digest"]


def get_manifest(registry: Registry, repo: str, ref: str) -> dict[str, Any]:
    """The manifest or index JSON at repo:ref (a GET, so it counts as a pull)."""
    resp = registry_request(registry, "GET", repo, f"manifests/{ref}")
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


def _platform(entry: dict[str, Any]) -> str:
    """`os/arch[/variant]` from an index entry's platform or a config blob."""
    parts = [entry.get("os", ""), entry.get("architecture", ""), entry.get("variant")]
    return "/".join(p for p in parts if p)


def list_platforms(registry: Registry, repo: str, ref: str) -> list[str]:
    """Platforms of repo:ref: index entries, or the config's platform for one image."""
    manifest = get_manifest(registry, repo, ref)
    if "manifests" in manifest:
        return [_platform(m.get("platform", {})) for m in manifest["manifests"]]
    config_digest = manifest["config"]["digest"]
    resp = registry_request(registry, "GET", repo, f"blobs/{config_digest}", accept="*/*")
    resp.raise_for_status()
    return [_platform(resp.json())]
