"""What this process has learned about each registry host's quirks, for the rest of the run.

Real registries differ in ways a client only finds out by asking (``docs/registries.md``):
some refuse manifest ``HEAD`` (GitHub Enterprise: 405, registry.centos.org: 403), some
grant one repository scope per token request (GCR/GAR), some speak plain HTTP on the
port we tried TLS on. Each is learned once per host and then applied to every request,
from every client of the :class:`~imgsync.adapters.registry_pool.RegistryPool` (all
accounts). The memory lives in the process: embedded mode learns once per run, each
Celery worker process once per process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class _HeadSupport:
    """Whether a host answers manifest ``HEAD``; ``None`` until a first answer told us."""

    refused: bool | None = None
    probe: threading.Lock = field(default_factory=threading.Lock)


class RegistryQuirks:
    """Per host: HEAD refused, one scope per token, plain HTTP; thread-safe."""

    def __init__(self) -> None:
        self._heads: dict[str, _HeadSupport] = {}
        self._single_scope: set[str] = set()
        self._plain_http: dict[str, str] = {}
        self._fallback_gets: dict[str, int] = {}
        self._lock = threading.Lock()

    def _head(self, host: str) -> _HeadSupport:
        with self._lock:
            return self._heads.setdefault(host, _HeadSupport())

    def head_refused(self, host: str) -> bool:
        """True once ``host`` refused a manifest HEAD that a GET then answered."""
        return self._head(host).refused is True

    @contextlib.contextmanager
    def first_head(self, host: str) -> Iterator[None]:
        """While HEAD support is unknown, one HEAD at a time: the first answer decides for all.

        Threads starting together would otherwise each spend a refused HEAD before
        any of them has learned; the wait is one round trip, once per host. A thread that
        waited looks again before probing: once the answer is known the rest go at once,
        not one by one (each opening its connection while holding the probe).
        """
        support = self._head(host)
        if support.refused is None:
            with support.probe:
                if support.refused is None:
                    yield
                    return
        yield

    def learn_head(self, host: str, *, refused: bool, status: int = 0) -> None:
        """Record the first telling answer (later ones do not overturn it); log a refusal."""
        support = self._head(host)
        if support.refused is not None:
            return
        support.refused = refused
        if refused:
            log.info(
                "%s refuses manifest HEAD (HTTP %d): using GET for the rest of this run "
                "(a GET counts as a pull where the registry meters pulls)",
                host,
                status,
            )

    def count_fallback_get(self, host: str) -> None:
        """One manifest GET made because HEAD is refused (a pull on a metered registry)."""
        with self._lock:
            self._fallback_gets[host] = self._fallback_gets.get(host, 0) + 1

    def fallback_gets(self) -> dict[str, int]:
        """Manifest GETs made instead of refused HEADs, per host, so far."""
        with self._lock:
            return dict(self._fallback_gets)

    def single_scope(self, host: str) -> bool:
        """True once ``host``'s token service was seen to grant one scope per request."""
        with self._lock:
            return host in self._single_scope

    def learn_single_scope(self, host: str) -> None:
        with self._lock:
            known = host in self._single_scope
            self._single_scope.add(host)
        if not known:
            log.info(
                "%s grants one repository scope per token request: asking one token "
                "per repository for the rest of this run",
                host,
            )

    def plain_http(self, host: str) -> str | None:
        """The error text of the first TLS attempt that met plain HTTP, if one did."""
        with self._lock:
            return self._plain_http.get(host)

    def learn_plain_http(self, host: str, message: str) -> None:
        with self._lock:
            self._plain_http.setdefault(host, message)
