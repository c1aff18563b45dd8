"""Manifest digests from registries by ``HEAD``, so change detection costs no pulls.

Docker Hub counts a manifest ``GET`` as a pull and a ``HEAD`` as free, so the
digest comes from ``Docker-Content-Digest`` on a ``HEAD`` with the full
``Accept`` list; a ``GET`` happens only when a registry omits that header.
One :class:`RegistryClient` per registry host keeps one keep-alive session and
one token cache for every thread; :mod:`imgsync.adapters.registry_pool` hands them out.
Retries and pacing live in :mod:`imgsync.adapters.ratelimit`, challenges and
tokens in :mod:`imgsync.adapters.registry_auth`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import requests

from imgsync.adapters.challenge import challenge_error
from imgsync.adapters.http_session import build_session
from imgsync.adapters.ratelimit import Backoff, HttpRequest, RateLimit, Transport
from imgsync.adapters.registry_auth import Authenticator, json_object
from imgsync.core.reference import ImageReference
from imgsync.errors import AuthError, ImgsyncError, UnexpectedResponse

if TYPE_CHECKING:
    from imgsync.adapters.credentials import Credential

__all__ = ["MANIFEST_TYPES", "RateLimit", "RegistryClient", "base_url"]

log = logging.getLogger(__name__)

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
DIGEST_HEADER = "Docker-Content-Digest"
_API_HOSTS = {"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io"}
_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
#: The account name of requests without credentials (quotas are per account, or per IP).
ANONYMOUS = "anonymous"
#: Called with (registry, account, quota) whenever a response reports a quota.
QuotaObserver = Callable[[str, str, RateLimit], None]


def base_url(registry: str, *, insecure: bool = False) -> str:
    """``https://host`` (``http://`` if insecure); Docker Hub's API lives on registry-1."""
    scheme = "http" if insecure else "https"
    return f"{scheme}://{_API_HOSTS.get(registry, registry)}"


def pull_scope(ref: ImageReference) -> str:
    """The token scope a digest ``HEAD`` of ``ref`` needs."""
    return _scope(ref, push=False)


def _scope(ref: ImageReference, push: bool) -> str:
    return f"repository:{ref.repository}:{'pull,push' if push else 'pull'}"


def _checked_digest(digest: str, url: str) -> str:
    """Reject a malformed digest header instead of comparing garbage later."""
    algorithm, _, hexpart = digest.strip().partition(":")
    if len(hexpart) != _HEX_LENGTHS.get(algorithm) or hexpart.strip("0123456789abcdef"):
        raise UnexpectedResponse(f"malformed {DIGEST_HEADER}: {digest[:80]!r}", url=url, status=200)
    return digest.strip()


def _check_manifest(response: requests.Response) -> None:
    """The body must be a manifest or index we asked for, not an error page."""
    body = json_object(response, "registry")
    media_type, schema = body.get("mediaType"), body.get("schemaVersion")
    if schema != 2 or (media_type is not None and media_type not in MANIFEST_TYPES):
        raise UnexpectedResponse(
            f"unsupported manifest (mediaType {media_type!r}, schemaVersion {schema!r})",
            url=response.url,
            status=response.status_code,
        )


def _expect_ok(response: requests.Response) -> None:
    """200 passes; 401/403 mean our credentials are not enough; anything else is unexpected."""
    status = response.status_code
    if status == 200:
        return
    if status in (401, 403):
        raise AuthError(f"access denied (HTTP {status})", url=response.url, status=status)
    raise UnexpectedResponse(f"unexpected HTTP {status}", url=response.url, status=status)


class RegistryClient:
    """Digest lookups against one registry host; safe to share between threads."""

    def __init__(
        self,
        registry: str,
        *,
        credential: Credential | None = None,
        insecure: bool = False,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        pool_size: int = 32,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_requests: int | None = None,
        observer: Callable[[RateLimit], None] | None = None,
    ) -> None:
        self.registry = registry
        self.account = credential.username if credential is not None else ANONYMOUS
        self._slots = threading.BoundedSemaphore(max_requests) if max_requests else None
        self.base_url = base_url(registry, insecure=insecure)
        self._owns_session = session is None
        self._transport = Transport(
            session if session is not None else build_session(pool_size),
            name=registry,
            timeout=timeout,
            retries=retries,
            backoff=Backoff(backoff, max_backoff),
            sleep=sleep,
            secrets=(credential.secret,) if credential is not None else (),
            observer=observer,
        )
        self._auth = Authenticator(self._get_token, credential)

    def __repr__(self) -> str:
        return f"RegistryClient({self.registry!r}, base_url={self.base_url!r})"

    @property
    def rate_limit(self) -> RateLimit | None:
        """The quota from the latest response that reported one."""
        return self._transport.rate_limit

    def close(self) -> None:
        """Close the session's connections (only if this client created the session)."""
        if self._owns_session:
            self._transport.session.close()

    def ping(self) -> None:
        """``GET /v2/`` without credentials, to learn how this registry wants to be asked.

        Warm-up only (:meth:`RegistryPool.warm_up`): a failure is left for the real
        requests to meet, retry and report with the mapping it concerns.
        """
        with self._warm_up_only("ping"):
            response = self._capped(HttpRequest("GET", f"{self.base_url}/v2/"), retries=0)
            self._auth.learn(response)

    def prefetch_tokens(self, scopes: Sequence[str]) -> None:
        """One bearer token for many scopes, after :meth:`ping`; failures as for ``ping``."""
        with self._warm_up_only("token prefetch"):
            self._auth.prefetch(scopes)

    @contextlib.contextmanager
    def _warm_up_only(self, step: str) -> Iterator[None]:
        """A warm-up step may fail: log it; the real request meets and reports the error."""
        try:
            yield
        except ImgsyncError as exc:
            log.debug("warm-up %s of %s failed: %s", step, self.registry, exc)

    def head_digest(self, ref: ImageReference, *, push: bool = False) -> str | None:
        """The manifest digest of ``ref``, or ``None`` when the tag or repository is unknown.

        ``push=True`` authenticates with a ``pull,push`` scope, as a copy destination needs.
        """
        url = f"{self.base_url}/v2/{ref.repository}/manifests/{ref.manifest_ref}"
        scope = _scope(ref, push)
        response = self._authorised(HttpRequest("HEAD", url, {"Accept": ACCEPT}), scope)
        if response.status_code == 404:
            return None
        _expect_ok(response)
        digest = response.headers.get(DIGEST_HEADER)
        if digest:
            return _checked_digest(digest, url)
        return self._digest_by_get(url, scope)

    def _digest_by_get(self, url: str, scope: str) -> str | None:
        """The rare registry without a digest header costs one GET (a pull on Docker Hub)."""
        log.info("no %s from %s; computing it from one GET", DIGEST_HEADER, url)
        response = self._authorised(HttpRequest("GET", url, {"Accept": ACCEPT}), scope)
        if response.status_code == 404:
            return None
        _expect_ok(response)
        _check_manifest(response)
        return "sha256:" + hashlib.sha256(response.content).hexdigest()

    def send(self, request: HttpRequest, scope: str) -> requests.Response:
        """One authorised request with retries (for :mod:`imgsync.adapters.registry_api`)."""
        return self._authorised(request, scope)

    def _authorised(self, request: HttpRequest, scope: str) -> requests.Response:
        """Send with what the registry wanted last time; answer one 401 challenge, no more."""
        sent = self._auth.headers(scope)
        response = self._capped(request.with_headers(sent))
        if response.status_code != 401:
            return response
        answer = self._auth.respond(response, scope, sent)
        response = self._capped(request.with_headers(answer))
        if response.status_code == 401:
            message = f"registry rejected {self._auth.who} for {scope}{challenge_error(response)}"
            raise AuthError(message, url=request.url, status=401)
        return response

    def _capped(self, request: HttpRequest, retries: int | None = None) -> requests.Response:
        """The per-registry request cap of the sync file (``concurrency``), when one is set."""
        if self._slots is None:
            return self._transport.send(request, retries=retries)
        with self._slots:
            return self._transport.send(request, retries=retries)

    def _get_token(self, request: HttpRequest) -> requests.Response:
        """The token service gets the same retries as the registry itself."""
        return self._transport.send(request)
