"""Manifest digests from registries by ``HEAD``, so change detection costs no pulls.

Docker Hub counts a manifest ``GET`` as a pull and a ``HEAD`` as free, so the
digest comes from ``Docker-Content-Digest`` on a ``HEAD`` with the full
``Accept`` list; a ``GET`` happens only when a registry omits that header.
One :class:`RegistryClient` per registry host keeps one HTTP client (a kept-alive libcurl
handle per thread, :mod:`imgsync.adapters.http_client`) and one token cache for every
thread; :mod:`imgsync.adapters.registry_pool` hands them out.
Retries and pacing live in :mod:`imgsync.adapters.ratelimit`, challenges and
tokens in :mod:`imgsync.adapters.registry_auth`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from imgsync.adapters.http_client import HttpClient
from imgsync.adapters.http_response import HttpResponse
from imgsync.adapters.ratelimit import Backoff, HttpRequest, RateLimit, Transport
from imgsync.adapters.registry_auth import Authenticator, json_object
from imgsync.adapters.registry_failures import Asked, means_absent, registry_failure
from imgsync.adapters.registry_quirks import RegistryQuirks
from imgsync.core.reference import ImageReference
from imgsync.errors import ImgsyncError, PlainHttpRegistry, UnexpectedResponse

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
#: Asked for too, so that an OCI artifact manifest (Azure, GHCR) is seen as there, not as a
#: 404 "accept header does not support OCI artifacts" that reads like a missing image.
OCI_ARTIFACT = "application/vnd.oci.artifact.manifest.v1+json"
ACCEPT = ", ".join((*MANIFEST_TYPES, OCI_ARTIFACT))
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


def _scope_name(scope: str) -> str:
    """``NAME`` of ``repository:NAME:ACTIONS``."""
    return scope.partition(":")[2].rpartition(":")[0]


def _digest_of_body(response: HttpResponse) -> str:
    """The digest of a manifest GET's body, after checking it is a manifest."""
    _check_manifest(response)
    return "sha256:" + hashlib.sha256(response.content).hexdigest()


def _check_manifest(response: HttpResponse) -> None:
    """The body must be a manifest or index we asked for, not an error page."""
    body = json_object(response, "registry")
    media_type, schema = body.get("mediaType"), body.get("schemaVersion")
    if schema != 2 or (
        media_type is not None and media_type not in (*MANIFEST_TYPES, OCI_ARTIFACT)
    ):
        raise UnexpectedResponse(
            f"unsupported manifest (mediaType {media_type!r}, schemaVersion {schema!r})",
            url=response.url,
            status=response.status_code,
        )


#: HEAD answers that mean "ask with GET": 405 (GitHub Enterprise), 403 (registry.centos.org;
#: also GHCR's DENIED and Artifactory's missing tag, whose body only a GET shows).
HEAD_REFUSALS = frozenset({403, 405})


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
        http: HttpClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_requests: int | None = None,
        observer: Callable[[RateLimit], None] | None = None,
        quirks: RegistryQuirks | None = None,
    ) -> None:
        self.registry = registry
        self._quirks = quirks if quirks is not None else RegistryQuirks()
        self.account = credential.username if credential is not None else ANONYMOUS
        self._slots = threading.BoundedSemaphore(max_requests) if max_requests else None
        self.base_url = base_url(registry, insecure=insecure)
        self._owns_http = http is None
        self._transport = Transport(
            http if http is not None else HttpClient(),
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
        """Close the client's connections (only if this client created it)."""
        if self._owns_http:
            self._transport.http.close()

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
        response = self.manifest_head(ref, push=push)
        if response is None:
            return None
        digest = response.headers.get(DIGEST_HEADER)
        if digest:
            return _checked_digest(digest, response.url)
        if response.request is not None and response.request.method == "GET":
            return _digest_of_body(response)
        return self._digest_by_get(ref, _scope(ref, push))

    def manifest_head(self, ref: ImageReference, *, push: bool = False) -> HttpResponse | None:
        """HEAD ``ref``'s manifest (a GET where the registry refuses HEAD); None when absent.

        The first HEAD to a host goes alone: its answer decides for every thread whether
        this host gets HEADs or, for the rest of the run, GETs.
        """
        head = HttpRequest("HEAD", self._manifest_url(ref), {"Accept": ACCEPT})
        with self._quirks.first_head(self.registry):
            response = self._head_or_get(head, _scope(ref, push))
        return self._present(response, ref)

    def _head_or_get(self, head: HttpRequest, scope: str) -> HttpResponse:
        """HEAD, unless this host refuses it; a refused HEAD is asked again with GET."""
        if self._quirks.head_refused(self.registry):
            return self._fallback_get(head, scope)
        response = self._authorised(head, scope)
        if response.status_code in HEAD_REFUSALS:
            return self._get_after_refusal(head, scope, response.status_code)
        if response.status_code in (200, 404):
            self._quirks.learn_head(self.registry, refused=False)
        return response

    def _get_after_refusal(self, head: HttpRequest, scope: str, status: int) -> HttpResponse:
        """HEAD refused: a GET tells whether GET works (then HEAD is refused for good)."""
        response = self._fallback_get(head, scope)
        if response.status_code in (200, 404):
            self._quirks.learn_head(self.registry, refused=True, status=status)
        return response

    def _fallback_get(self, head: HttpRequest, scope: str) -> HttpResponse:
        """The GET that stands in for a refused HEAD; a served one is a pull where metered."""
        response = self._authorised(HttpRequest("GET", head.url, head.headers), scope)
        if response.status_code == 200:
            self._quirks.count_fallback_get(self.registry)
        return response

    def _present(self, response: HttpResponse, ref: ImageReference) -> HttpResponse | None:
        """The manifest answer, ``None`` when the registry says it is absent, else the error."""
        if response.status_code == 404 or means_absent(response):
            return None
        if response.status_code != 200:
            raise registry_failure(response, self.asked(ref.repository, str(ref)))
        return response

    def asked(self, repository: str, subject: str = "", what: str = "") -> Asked:
        """What a failed request was about, for :func:`registry_failure`'s message."""
        subject = subject or f"{self.registry}/{repository}"
        return Asked(subject, self.registry, repository, self._auth.who, what)

    def _manifest_url(self, ref: ImageReference) -> str:
        return f"{self.base_url}/v2/{ref.repository}/manifests/{ref.manifest_ref}"

    def _digest_by_get(self, ref: ImageReference, scope: str) -> str | None:
        """The rare registry without a digest header costs one GET (a pull on Docker Hub)."""
        url = self._manifest_url(ref)
        log.info("no %s from %s; computing it from one GET", DIGEST_HEADER, url)
        response = self._authorised(HttpRequest("GET", url, {"Accept": ACCEPT}), scope)
        found = self._present(response, ref)
        return _digest_of_body(found) if found is not None else None

    def send(self, request: HttpRequest, scope: str) -> HttpResponse:
        """One authorised request with retries (for :mod:`imgsync.adapters.registry_api`)."""
        return self._authorised(request, scope)

    def send_with_fresh_token(
        self, request: HttpRequest, scope: str, sent: Mapping[str, str]
    ) -> HttpResponse:
        """``request`` again with a token fetched now for ``scope``, in place of the cached
        one in ``sent`` (it may predate a change, such as a namespace just created)."""
        self._auth.forget(scope, sent)
        return self._capped(request.with_headers(self._auth.headers(scope)))

    def _authorised(self, request: HttpRequest, scope: str) -> HttpResponse:
        """Send with what the registry wanted last time; answer one 401 challenge, no more;
        after a 403 to a bearer token, try once with a fresh token for this scope alone."""
        sent = self._auth.headers(scope)
        response = self._capped(request.with_headers(sent))
        if response.status_code == 401:
            sent = self._auth.respond(response, scope, sent)
            response = self._capped(request.with_headers(sent))
            if response.status_code == 401:
                raise registry_failure(response, self.asked(_scope_name(scope)))
        if response.status_code == 403:
            return self._after_forbidden(request, scope, sent, response)
        return response

    def _after_forbidden(
        self,
        request: HttpRequest,
        scope: str,
        sent: dict[str, str],
        response: HttpResponse,
    ) -> HttpResponse:
        """GCR/GAR answer 403 to a token that lacks the scope (and grant one scope per token
        request): a fresh single-scope token passes; then batches are off for this host."""
        fresh = self._auth.refresh(scope, sent)
        if fresh is None:
            return response
        retried = self._capped(request.with_headers(fresh))
        if retried.status_code != 403 and self._auth.was_batched(sent):
            self._quirks.learn_single_scope(self.registry)
            self._auth.forget_batches()
        return retried

    def _capped(self, request: HttpRequest, retries: int | None = None) -> HttpResponse:
        """The per-registry request cap of the sync file (``concurrency``), when one is set.

        A host met speaking plain HTTP to our TLS fails at once, without a connection.
        """
        known = self._quirks.plain_http(self.registry)
        if known is not None:
            raise PlainHttpRegistry(known, url=request.url)
        try:
            if self._slots is None:
                return self._transport.send(request, retries=retries)
            with self._slots:
                return self._transport.send(request, retries=retries)
        except PlainHttpRegistry as exc:
            self._quirks.learn_plain_http(self.registry, str(exc))
            raise

    def _get_token(self, request: HttpRequest) -> HttpResponse:
        """The token service gets the same retries as the registry itself."""
        return self._transport.send(request)
