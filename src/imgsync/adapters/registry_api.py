"""Registry calls beyond the digest HEAD: tag lists, the catalog, manifest GET/PUT, DELETE.

Kept out of :mod:`imgsync.adapters.registry` so that the HEAD-only fast path
stays small and obviously free of pulls; everything here goes through the same
client (auth challenges, token cache, retries, per-registry request cap). Only
platform subsets GET a *source* manifest (one pull on Docker Hub, unavoidable to
learn the per-platform digests); tag lists are not pulls.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin

from imgsync.adapters.http_response import HttpResponse
from imgsync.adapters.ratelimit import HttpRequest
from imgsync.adapters.registry import ACCEPT, RegistryClient
from imgsync.adapters.registry_auth import json_object
from imgsync.adapters.registry_failures import Asked, error_body, means_absent, registry_failure
from imgsync.adapters.registry_pool import RegistryPool
from imgsync.core.platforms import Manifest
from imgsync.core.reference import ImageReference
from imgsync.errors import NoCatalog, NotFound, RegistryError, UnexpectedResponse

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
MAX_PAGES = 1000
DIGEST_HEADER = "Docker-Content-Digest"
CATALOG_SCOPE = "registry:catalog:*"
#: Answers to ``GET /v2/_catalog`` that mean "no catalog here", beside the 404 and the
#: missing-or-denied 401/403 (:class:`MissingOrDenied` is a :class:`NotFound`).
CATALOG_ABSENT = frozenset({405, 501})
PAGE_TOO_LARGE = "PAGINATION_NUMBER_INVALID"


def _scope(ref: ImageReference, actions: str) -> str:
    return f"repository:{ref.repository}:{actions}"


def _url(client: RegistryClient, ref: ImageReference, tail: str) -> str:
    return f"{client.base_url}/v2/{ref.repository}/{tail}"


def _fail(response: HttpResponse, client: RegistryClient, ref: ImageReference, what: str) -> None:
    """Raise what a non-success answer means (:mod:`~imgsync.adapters.registry_failures`);
    2xx returns."""
    if not 200 <= response.status_code < 300:
        raise registry_failure(response, client.asked(ref.repository, what=what))


def list_tags(client: RegistryClient, repository: ImageReference) -> list[str]:
    """Every tag of ``repository``, following ``Link: <…>; rel="next"`` pages."""
    url = _url(client, repository, "tags/list")
    asked = client.asked(repository.repository, what=f"tag list of {repository.name}")
    return _paged(client, url, _scope(repository, "pull"), "tags", asked)


def list_repositories(client: RegistryClient) -> list[str]:
    """Every repository ``GET /v2/_catalog`` lists, page by page as for tags.

    Docker Hub answers 401 ``insufficient_scope`` even with a catalog token, GHCR
    has no such endpoint: refused or absent becomes :class:`NoCatalog`, which
    names what to write instead.
    """
    url = f"{client.base_url}/v2/_catalog"
    asked = client.asked("", f"{client.registry} catalog", "repository catalog")
    try:
        return _paged(client, url, CATALOG_SCOPE, "repositories", asked)
    except RegistryError as exc:
        if not isinstance(exc, NotFound) and exc.status not in CATALOG_ABSENT:
            raise  # a refused password, a network failure: not a missing catalog
        raise NoCatalog(_no_catalog(client, exc), url=exc.url, status=exc.status) from None


def _no_catalog(client: RegistryClient, exc: RegistryError) -> str:
    return (
        f"{client.registry} lists no repositories (GET /v2/_catalog: {exc}); Docker Hub and "
        "GHCR have no catalog: list the repositories as separate entries (source: "
        f"{client.registry}/NAME), or read them from the registry's own API (Docker Hub: "
        "hub.docker.com/v2/namespaces/NAMESPACE/repositories; GHCR: the GitHub packages API)"
    )


def _paged(client: RegistryClient, url: str, scope: str, key: str, asked: Asked) -> list[str]:
    """The names under ``key`` of every page, following ``Link`` headers."""
    next_url: str | None = url
    params: dict[str, str] | None = {"n": str(PAGE_SIZE)}
    names: list[str] = []
    for _ in range(MAX_PAGES):
        if next_url is None:
            return names
        response = _page(client, next_url, params, scope)
        if not 200 <= response.status_code < 300:
            raise registry_failure(response, asked)
        names.extend(_page_names(response, key))
        next_url, params = _next_page(response), None
    raise UnexpectedResponse(f"{asked.what}: more than {MAX_PAGES} pages")


def _page(
    client: RegistryClient, url: str, params: dict[str, str] | None, scope: str
) -> HttpResponse:
    """One page; asked again without ``n`` when the registry caps pages lower (distribution
    2.8.2+ with ``catalog.maxentries`` answers 400 ``PAGINATION_NUMBER_INVALID``)."""
    response = client.send(HttpRequest("GET", url, {"Accept": "application/json"}, params), scope)
    if params and response.status_code == 400 and error_body(response)[0] == PAGE_TOO_LARGE:
        response = client.send(HttpRequest("GET", url, {"Accept": "application/json"}), scope)
    return response


def _page_names(response: HttpResponse, key: str) -> list[str]:
    found = json_object(response, "registry").get(key) or []
    if not isinstance(found, list):
        raise UnexpectedResponse(f"{key} list is not a list", url=response.url, status=200)
    return [name for name in found if isinstance(name, str)]


def _next_page(response: HttpResponse) -> str | None:
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


#: Answers to a tag DELETE that mean "this registry deletes no tags" (docker-registry 2.8:
#: 400 DIGEST_INVALID; others 405 UNSUPPORTED or 404 for the route): delete by digest then.
TAG_DELETE_REFUSED = frozenset({400, 404, 405, 501})


def delete_tag(client: RegistryClient, repository: ImageReference, tag: str) -> bool:
    """Delete the tag alone (OCI distribution 1.1); False when the registry refuses tag deletes."""
    ref = repository.with_tag(tag)
    url = _url(client, ref, f"manifests/{tag}")
    response = client.send(HttpRequest("DELETE", url), _scope(repository, "delete"))
    if response.status_code in TAG_DELETE_REFUSED:
        return False
    _fail(response, client, ref, f"deleting the tag {ref}")
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

    def list_repositories(self, registry: str) -> list[str]:
        return list_repositories(self.client(registry))

    def get_manifest(self, ref: ImageReference) -> Manifest | None:
        return get_manifest(self.client(ref.registry), ref)

    def put_manifest(self, ref: ImageReference, manifest: Manifest) -> str:
        return put_manifest(self.client(ref.registry), ref, manifest)

    def delete_manifest(self, repository: ImageReference, digest: str) -> bool:
        return delete_manifest(self.client(repository.registry), repository, digest)

    def delete_tag(self, repository: ImageReference, tag: str) -> bool:
        return delete_tag(self.client(repository.registry), repository, tag)

    def referrers(self, repository: ImageReference, digest: str) -> list[str] | None:
        return referrers(self.client(repository.registry), repository, digest)
