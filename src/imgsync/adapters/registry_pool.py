"""One :class:`RegistryClient` per registry (and per extra account), shared by every thread."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from imgsync.adapters.ratelimit import RateLimit
from imgsync.adapters.registry import ANONYMOUS, QuotaObserver, RegistryClient, pull_scope
from imgsync.core.reference import ImageReference

if TYPE_CHECKING:
    from types import TracebackType

    from imgsync.adapters.credentials import Credential, CredentialStore

#: Scopes per token request: 20 repositories keep a Docker Hub token (about 150 bytes of
#: claims per repository) well inside the 8 KiB header limit common to proxies.
TOKEN_BATCH = 20
#: Pings and token requests in flight during :meth:`RegistryPool.warm_up`.
WARM_UP_THREADS = 16


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


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
        self._helpers: ThreadPoolExecutor | None = None

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

    def warm_up(self, refs: Iterable[ImageReference]) -> None:
        """Before a run's checks: learn each registry's challenge, fetch tokens in batches.

        Without it, each of the first ``check_concurrency`` requests meets a 401 and
        every repository costs a token round trip of its own; with it, 200 repositories
        cost one ping per registry and ``200 / TOKEN_BATCH`` token requests, in parallel.
        """
        by_registry: dict[str, set[str]] = {}
        for ref in refs:
            by_registry.setdefault(ref.registry, set()).add(pull_scope(ref))
        clients = [self.client(registry) for registry in by_registry]
        with ThreadPoolExecutor(WARM_UP_THREADS, thread_name_prefix="warm-up") as pool:
            list(pool.map(RegistryClient.ping, clients))
            jobs = [
                (client, chunk)
                for client, scopes in zip(clients, by_registry.values(), strict=True)
                for chunk in _chunks(sorted(scopes), TOKEN_BATCH)
            ]
            list(pool.map(lambda job: job[0].prefetch_tokens(job[1]), jobs))

    def head_digest(self, ref: ImageReference) -> str | None:
        """The digest of ``ref`` from its registry, ``None`` if it does not exist."""
        return self.client(ref.registry).head_digest(ref)

    def head_digests(self, refs: Sequence[ImageReference]) -> list[str | None]:
        """The digests of ``refs``, asked at the same time: a check of source and destination
        then costs one round trip, not two. Errors are raised as from :meth:`head_digest`.
        """
        helpers = self._helper_threads()
        later = [helpers.submit(self.head_digest, ref) for ref in refs[1:]]
        try:
            first = self.head_digest(refs[0])
        finally:
            rest = [future.result() for future in later]
        return [first, *rest]

    def _helper_threads(self) -> ThreadPoolExecutor:
        """Threads for the second and later HEADs of :meth:`head_digests`, made on first use."""
        with self._lock:
            if self._helpers is None:
                self._helpers = ThreadPoolExecutor(self._pool_size, thread_name_prefix="head")
            return self._helpers

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
            helpers, self._helpers = self._helpers, None
        if helpers is not None:
            helpers.shutdown(wait=True)
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
