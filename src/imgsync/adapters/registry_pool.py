"""One :class:`RegistryClient` per registry (and per extra account), shared by every thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING

from imgsync.adapters.ratelimit import RateLimit
from imgsync.adapters.registry import ANONYMOUS, QuotaObserver, RegistryClient, pull_scope
from imgsync.adapters.registry_quirks import RegistryQuirks
from imgsync.core.reference import ImageReference
from imgsync.errors import AuthError, ImgsyncError

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
        self._held: dict[str, Credential | None] = {}
        self._retired: list[RegistryClient] = []
        self._lock = threading.Lock()
        self._helpers: ThreadPoolExecutor | None = None
        #: What each host turned out to do (HEAD refused, one scope per token, plain HTTP),
        #: shared by every client and account; kept for the pool's life (per process).
        self.quirks = RegistryQuirks()

    def client(self, registry: str) -> RegistryClient:
        """The client for ``registry``, holding the registry's credential as of now."""
        return self._current(registry)[0]

    def _current(self, registry: str) -> tuple[RegistryClient, Credential | None]:
        """The client and its credential; a changed credential (a rotated token, a helper's
        new answer) gets a new client, and the old one is closed with the pool."""
        credential = self._credentials.lookup(registry)
        with self._lock:
            client = self._clients.get(registry)
            if client is None or self._held.get(registry) != credential:
                if client is not None:
                    self._retired.append(client)
                client = self._clients[registry] = self._create(registry, credential)
                self._held[registry] = credential
            return client, credential

    def account_client(self, registry: str, credential: Credential | None) -> RegistryClient:
        """A client that uses ``credential`` (one of several accounts) instead of the default."""
        key = f"{registry} {credential.username if credential else ANONYMOUS}"
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                account = credential or self._credentials.lookup(registry)
                client = self._clients[key] = self._create(registry, account)
            return client

    def _create(self, registry: str, account: Credential | None) -> RegistryClient:
        observer = self._observer
        return RegistryClient(
            registry,
            credential=account,
            observer=(lambda q: observer(registry, self._name(account), q)) if observer else None,
            insecure=registry in self._insecure,
            timeout=self._timeout,
            retries=self._retries,
            max_requests=self._max_requests.get(registry),
            quirks=self.quirks,
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
        with ThreadPoolExecutor(WARM_UP_THREADS, thread_name_prefix="warm-up") as pool:
            self.warm_up_on(pool, refs)

    def warm_up_on(
        self,
        pool: Executor,
        refs: Iterable[ImageReference],
        *,
        needs_ping: Callable[[str], bool] = lambda registry: True,
    ) -> None:
        """:meth:`warm_up` on the caller's threads (a worker keeps its own, and their
        connections); ``needs_ping`` says which registries have not been pinged yet."""
        by_registry: dict[str, set[str]] = {}
        for ref in refs:
            by_registry.setdefault(ref.registry, set()).add(pull_scope(ref))
        found = {r: self._warm_up_client(r) for r in by_registry}
        clients = {r: c for r, c in found.items() if c is not None}
        list(pool.map(RegistryClient.ping, [c for r, c in clients.items() if needs_ping(r)]))
        jobs = [
            (client, chunk)
            for registry, client in clients.items()
            for chunk in _chunks(sorted(by_registry[registry]), self._batch_size(registry))
        ]
        list(pool.map(lambda job: job[0].prefetch_tokens(job[1]), jobs))

    def _batch_size(self, registry: str) -> int:
        """Scopes per token request: one where the registry was seen to grant only one."""
        return 1 if self.quirks.single_scope(registry) else TOKEN_BATCH

    def head_digest(self, ref: ImageReference) -> str | None:
        """The digest of ``ref`` from its registry, ``None`` if it does not exist.

        An auth failure right after the registry's credential changed (a rotated
        ECR or GAR token) is retried once, with the new credential.
        """
        client, used = self._current(ref.registry)
        try:
            return client.head_digest(ref)
        except AuthError:
            if not self._credentials.fresh(ref.registry, used):
                raise
        return self.client(ref.registry).head_digest(ref)

    def _warm_up_client(self, registry: str) -> RegistryClient | None:
        """None when the credential lookup fails (a broken credential helper): each
        mapping's own request meets that error and reports it, as for a failed ping."""
        try:
            return self.client(registry)
        except ImgsyncError:
            return None

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
            clients, self._clients = [*self._clients.values(), *self._retired], {}
            self._held, self._retired = {}, []
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
