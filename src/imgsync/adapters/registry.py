"""Manifest digests from registries by ``HEAD``, so change detection costs no pulls.

Docker Hub counts a manifest ``GET`` as a pull and a ``HEAD`` as free, so the
digest comes from ``Docker-Content-Digest`` on a ``HEAD`` with the full
``Accept`` list; a ``GET`` happens only when a registry omits that header.
One :class:`RegistryClient` per registry host keeps one keep-alive session and
one token cache for every thread; :class:`RegistryPool` hands them out.
Retries and pacing live in :mod:`imgsync.adapters.ratelimit`, challenges and
tokens in :mod:`imgsync.adapters.registry_auth`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from imgsync import __version__
from imgsync.adapters.ratelimit import Backoff, HttpRequest, RateLimit, Transport
from imgsync.adapters.registry_auth import Authenticator, challenge_error, json_object
from imgsync.core.reference import ImageReference
from imgsync.errors import AuthError, UnexpectedResponse

if TYPE_CHECKING:
    from types import TracebackType

    from requests.sessions import _Cert, _Settings, _TextMapping, _Verify

    from imgsync.adapters.credentials import Credential, CredentialStore

__all__ = ["MANIFEST_TYPES", "RateLimit", "RegistryClient", "RegistryPool", "base_url"]

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


class EnvironmentOnceSession(requests.Session):
    """A session that reads proxy and CA settings from the environment once per host.

    With ``trust_env`` requests re-reads them on *every* request: it scans the whole
    process environment twice for ``*_proxy`` variables and looks for ``~/.netrc``. That
    was 10-15 % of the CPU of a digest ``HEAD`` (benchmarks: ``docs/benchmarks.md``),
    and none of it can change during a run. The proxies and CA bundle the
    environment names are still honoured, resolved the first time a host is used.
    ``~/.netrc`` is not consulted: imgsync sends its own ``Authorization`` header,
    which a netrc entry would otherwise silently replace.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self._from_env: dict[str, _Settings] = {}
        self._env_lock = threading.Lock()

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: _TextMapping | None,
        stream: bool | None,
        verify: _Verify | None,
        cert: _Cert | None,
    ) -> _Settings:
        env = self._environment_for(url)
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        merged["proxies"] = {**self.proxies, **env["proxies"], **(proxies or {})}
        if verify is None and self.verify is True:
            merged["verify"] = env["verify"]
        return merged

    def _environment_for(self, url: str | bytes | None) -> _Settings:
        """What ``trust_env`` would add for ``url``'s scheme and host, computed once."""
        text = url.decode() if isinstance(url, bytes) else url or ""
        parts = urlsplit(text)
        key = f"{parts.scheme}://{parts.netloc}"
        with self._env_lock:
            if key not in self._from_env:
                probe = requests.Session()  # trust_env=True: the environment's view
                self._from_env[key] = probe.merge_environment_settings(text, {}, None, None, None)
                probe.close()
            return self._from_env[key]


def build_session(pool_size: int) -> requests.Session:
    """A keep-alive session whose pool fits ``pool_size`` threads; urllib3 never retries."""
    session = EnvironmentOnceSession()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = f"imgsync/{__version__}"
    return session


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

    def _capped(self, request: HttpRequest) -> requests.Response:
        """The per-registry request cap of the sync file (``concurrency``), when one is set."""
        if self._slots is None:
            return self._transport.send(request)
        with self._slots:
            return self._transport.send(request)

    def _get_token(
        self, url: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> requests.Response:
        """The token service gets the same retries as the registry itself."""
        return self._transport.send(HttpRequest("GET", url, headers, query))


class RegistryPool:
    """One lazily created :class:`RegistryClient` per registry; the pipeline's ``DigestReader``.

    ``max_requests`` caps concurrent requests per registry host (the sync file's
    per-registry ``concurrency``).
    """

    def __init__(
        self,
        credentials: CredentialStore,
        *,
        insecure: Iterable[str] = (),
        timeout: float = 30.0,
        retries: int = 4,
        pool_size: int = 32,
        max_requests: Mapping[str, int] | None = None,
        observer: QuotaObserver | None = None,
    ) -> None:
        self._credentials = credentials
        self._observer = observer
        self._insecure = frozenset(insecure)
        self._max_requests = dict(max_requests or {})
        self._timeout, self._retries, self._pool_size = timeout, retries, pool_size
        self._clients: dict[str, RegistryClient] = {}
        self._lock = threading.Lock()

    def client(self, registry: str) -> RegistryClient:
        """The client for ``registry`` (created on first use, with its credential)."""
        with self._lock:
            client = self._clients.get(registry)
            if client is None:
                client = self._clients[registry] = self._create(registry)
            return client

    def account_client(self, registry: str, credential: Credential | None) -> RegistryClient:
        """A client that uses ``credential`` (one of several accounts) instead of the default."""
        key = f"{registry} {credential.username if credential else ANONYMOUS}"
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._create(registry, credential)
            return client

    def _create(self, registry: str, credential: Credential | None = None) -> RegistryClient:
        account = credential or self._credentials.lookup(registry)
        observer = self._observer
        return RegistryClient(
            registry,
            credential=account,
            observer=(lambda q: observer(registry, self._name(account), q)) if observer else None,
            insecure=registry in self._insecure,
            timeout=self._timeout,
            retries=self._retries,
            pool_size=self._pool_size,
            max_requests=self._max_requests.get(registry),
        )

    @staticmethod
    def _name(credential: Credential | None) -> str:
        return credential.username if credential is not None else ANONYMOUS

    def head_digest(self, ref: ImageReference) -> str | None:
        """The digest of ``ref`` from its registry, ``None`` if it does not exist."""
        return self.client(ref.registry).head_digest(ref)

    def rate_limits(self) -> dict[str, RateLimit]:
        """The latest quota per registry, for those that reported one."""
        with self._lock:
            clients = list(self._clients.items())
        return {
            name: c.rate_limit
            for name, c in clients
            if c.rate_limit is not None and " " not in name
        }

    def close(self) -> None:
        """Close every client; the pool can be reused afterwards (clients are recreated)."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> RegistryPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
