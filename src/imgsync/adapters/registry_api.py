"""Registry calls beyond the digest HEAD: tag lists, manifest GET/PUT, manifest DELETE.

Kept out of :mod:`imgsync.adapters.registry` so that the HEAD-only fast path
stays small and obviously free of pulls; everything here goes through the same
client (auth challenges, token cache, retries, per-registry request cap). Only
platform subsets GET a *source* manifest (one pull on Docker Hub, unavoidable to
learn the per-platform digests); tag lists are not pulls.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin

import requests

from imgsync.adapters.ratelimit import HttpRequest
from imgsync.adapters.registry import ACCEPT, RegistryClient
from imgsync.adapters.registry_auth import json_object
from imgsync.adapters.registry_failures import means_absent, registry_failure
from imgsync.adapters.registry_pool import RegistryPool
from imgsync.core.platforms import Manifest
from imgsync.core.reference import ImageReference
from imgsync.errors import UnexpectedResponse

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
MAX_PAGES = 1000
DIGEST_HEADER = "Docker-Content-Digest"


def _scope(ref: ImageReference, actions: str) -> str:
    return f"repository:{ref.repository}:{actions}"


def _url(client: RegistryClient, ref: ImageReference, tail: str) -> str:
    return f"{client.base_url}/v2/{ref.repository}/{tail}"


def _fail(
    response: requests.Response, client: RegistryClient, ref: ImageReference, what: str
) -> None:
    """Raise what a non-success answer means (:mod:`~imgsync.adapters.registry_failures`);
    2xx returns."""
    if not 200 <= response.status_code < 300:
        raise registry_failure(response, client.asked(ref.repository, what=what))


def list_tags(client: RegistryClient, repository: ImageReference) -> list[str]:
    """Every tag of ``repository``, following ``Link: <…>; rel="next"`` pages."""
    url: str | None = _url(client, repository, "tags/list")
    params: dict[str, str] | None = {"n": str(PAGE_SIZE)}
    tags: list[str] = []
    for _ in range(MAX_PAGES):
        if url is None:
            return tags
        request = HttpRequest("GET", url, {"Accept": "application/json"}, params)
        response = client.send(request, _scope(repository, "pull"))
        _fail(response, client, repository, f"tag list of {repository.name}")
        tags.extend(_page_tags(response))
        url, params = _next_page(response), None
    raise UnexpectedResponse(f"tag list of {repository.name}: more than {MAX_PAGES} pages")


def _page_tags(response: requests.Response) -> list[str]:
    found = json_object(response, "registry").get("tags") or []
    if not isinstance(found, list):
        raise UnexpectedResponse("tag list is not a list", url=response.url, status=200)
    return [tag for tag in found if isinstance(tag, str)]


def _next_page(response: requests.Response) -> str | None:
    link = response.links.get("next", {}).get("url")
    return urljoin(response.url, link) if link else None


def head_media_type(client: RegistryClient, ref: ImageReference) -> str | None:
    """The media type of ``ref`` from a HEAD: free on Docker Hub, and it refreshes the quota
    (a GET, and so a pull, where the registry refuses HEAD)."""
    response = client.manifest_head(ref)
    if response is None:
        return None
    return response.headers.get("Content-Type", "").split(";")[0].strip()


def get_manifest(client: RegistryClient, ref: ImageReference) -> Manifest | None:
    """The manifest or index at ``ref`` as served (a GET: a pull on Docker Hub); None if absent."""
    url = _url(client, ref, f"manifests/{ref.manifest_ref}")
    response = client.send(HttpRequest("GET", url, {"Accept": ACCEPT}), _scope(ref, "pull"))
    if response.status_code == 404 or means_absent(response):
        return None
    _fail(response, client, ref, f"manifest of {ref}")
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    manifest = Manifest(
        media_type or str(json_object(response, "registry").get("mediaType")), response.content
    )
    if ref.digest is not None and manifest.digest != ref.digest:
        raise UnexpectedResponse(f"{ref} served content with digest {manifest.digest}", url=url)
    return manifest


def put_manifest(client: RegistryClient, ref: ImageReference, manifest: Manifest) -> str:
    """Push ``manifest`` to ``ref``'s tag; the digest the registry stored it under."""
    url = _url(client, ref, f"manifests/{ref.manifest_ref}")
    headers = {"Content-Type": manifest.media_type}
    request = HttpRequest("PUT", url, headers, data=manifest.body)
    response = client.send(request, _scope(ref, "pull,push"))
    _fail(response, client, ref, f"pushing the manifest of {ref}")
    return response.headers.get(DIGEST_HEADER) or manifest.digest


def delete_manifest(client: RegistryClient, repository: ImageReference, digest: str) -> bool:
    """Delete the manifest ``digest`` (and with it every tag on it); False if already gone."""
    url = _url(client, repository, f"manifests/{digest}")
    response = client.send(HttpRequest("DELETE", url), _scope(repository, "delete"))
    if response.status_code == 404:
        return False
    _fail(response, client, repository, f"deleting {repository.name}@{digest}")
    return True


def referrers(client: RegistryClient, repository: ImageReference, digest: str) -> list[str] | None:
    """Digests of the manifests whose ``subject`` is ``digest`` (OCI 1.1 referrers API).

    ``None`` when the registry has no referrers API (docker-registry 2.8 answers
    404): the caller then falls back to the ``sha256-<hex>`` tag scheme.
    """
    url = _url(client, repository, f"referrers/{digest}")
    request = HttpRequest("GET", url, {"Accept": "application/vnd.oci.image.index.v1+json"})
    response = client.send(request, _scope(repository, "pull"))
    if response.status_code != 200:
        return None
    found = json_object(response, "registry").get("manifests")
    entries = found if isinstance(found, list) else []
    return [str(m["digest"]) for m in entries if isinstance(m, dict) and "digest" in m]


class ManifestPool(RegistryPool):
    """The registry pool with manifest, tag-list and delete calls: what sync files need."""

    def list_tags(self, repository: ImageReference) -> list[str]:
        return list_tags(self.client(repository.registry), repository)

    def get_manifest(self, ref: ImageReference) -> Manifest | None:
        return get_manifest(self.client(ref.registry), ref)

    def put_manifest(self, ref: ImageReference, manifest: Manifest) -> str:
        return put_manifest(self.client(ref.registry), ref, manifest)

    def delete_manifest(self, repository: ImageReference, digest: str) -> bool:
        return delete_manifest(self.client(repository.registry), repository, digest)

    def referrers(self, repository: ImageReference, digest: str) -> list[str] | None:
        return referrers(self.client(repository.registry), repository, digest)
