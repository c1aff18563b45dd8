"""Registry credentials from everywhere users keep them, asked for per copy.

:meth:`CredentialStore.lookup` (the ``credentials_for(host)`` of the design) answers
from, first match wins:

1. imgsync's own settings: ``DOCKERHUB_USERNAME``/``DOCKERHUB_TOKEN``, the sync file's
   ``username_env``/``password_env`` and first ``accounts:`` entry — the deliberate,
   per-deployment choice;
2. the sync file's per-registry ``authfile``;
3. the auth file (``--authfile``, ``REGISTRY_AUTH_FILE``, ``~/.docker/config.json``):
   its ``credHelpers`` entry for the host, its ``credsStore``, its inline ``auths``
   (:mod:`imgsync.adapters.auth_config`).

Nothing is fixed for the life of a process: auth files are re-read when they change
and helper answers are kept only briefly (:mod:`imgsync.adapters.credential_helper`),
so a long-lived worker picks up a rotated ECR or GAR token. After an auth failure
:meth:`CredentialStore.fresh` asks again at once and says whether a retry can help.

Passwords on a command line are visible to every local user in ``ps``, so skopeo
never gets ``--creds``: it gets a private, short-lived auth file holding only the
registries one copy needs (:func:`private_authfile`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imgsync.adapters.auth_config import AuthConfig, WatchedAuthFile, read_authfile
from imgsync.adapters.credential_helper import HelperCache
from imgsync.adapters.credential_keys import (
    DOCKER_HUB_ALIASES,
    Credential,
    normalize_key,
    registry_host,
    scopes,
    server_url,
)
from imgsync.core.reference import DOCKER_HUB

__all__ = [
    "DOCKER_HUB_ALIASES",
    "Credential",
    "CredentialStore",
    "normalize_key",
    "private_authfile",
    "read_authfile",
    "registry_host",
]

log = logging.getLogger(__name__)

SecretSink = Callable[[Iterable[str]], None]


class CredentialStore:
    """Credentials per registry (or namespace); see the module docstring for the order.

    ``entries`` are inline credentials by key (tests, and callers without a file);
    ``authfile`` the watched main auth file, ``registry_files`` the sync file's
    per-registry ones; ``helpers`` runs and briefly remembers credential helpers.
    """

    def __init__(
        self,
        entries: Mapping[str, Credential] | None = None,
        overrides: Mapping[str, Credential] | None = None,
        *,
        authfile: WatchedAuthFile | None = None,
        registry_files: Mapping[str, WatchedAuthFile] | None = None,
        helpers: HelperCache | None = None,
    ) -> None:
        self._entries = {normalize_key(k): v for k, v in (entries or {}).items()}
        self._overrides = {registry_host(k): v for k, v in (overrides or {}).items()}
        self._authfile = authfile
        self._registry_files = {registry_host(k): v for k, v in (registry_files or {}).items()}
        self._helpers = helpers if helpers is not None else HelperCache()

    def __repr__(self) -> str:
        keys = sorted({*self._entries, *self._overrides, *self._registry_files})
        return f"CredentialStore(registries={keys!r}, authfile={self._authfile!r})"

    @classmethod
    def load(
        cls,
        *,
        dockerhub_username: str | None,
        dockerhub_token: str | None,
        authfile: Path | None,
        helpers: HelperCache | None = None,
    ) -> CredentialStore:
        """Read ``authfile`` (if given; a broken one fails here) under the Docker Hub settings."""
        watched = WatchedAuthFile(authfile, _on_secret(helpers)) if authfile is not None else None
        overrides = _dockerhub_override(dockerhub_username, dockerhub_token)
        return cls(overrides=overrides, authfile=watched, helpers=helpers)

    def with_overrides(self, overrides: Mapping[str, Credential]) -> CredentialStore:
        """A store where ``overrides`` (per registry) beat everything else; helpers shared."""
        return self._copy(overrides=overrides)

    def with_registry_files(self, files: Mapping[str, WatchedAuthFile]) -> CredentialStore:
        """A store that reads ``files`` (the sync file's per-registry auth files) too."""
        return self._copy(registry_files=files)

    def _copy(
        self,
        overrides: Mapping[str, Credential] | None = None,
        registry_files: Mapping[str, WatchedAuthFile] | None = None,
    ) -> CredentialStore:
        store = CredentialStore(authfile=self._authfile, helpers=self._helpers)
        store._entries = dict(self._entries)
        added = {registry_host(k): v for k, v in (overrides or {}).items()}
        store._overrides = {**self._overrides, **added}
        files = {registry_host(k): v for k, v in (registry_files or {}).items()}
        store._registry_files = {**self._registry_files, **files}
        return store

    def lookup(self, registry: str) -> Credential | None:
        """The credential for a registry (``docker.io``, ``host:port``) or image name, now.

        May run a credential helper (briefly remembered); raises ConfigError or
        AuthError, naming the helper and the host, when the helper is missing or fails.
        """
        host = registry_host(registry)
        override = self._overrides.get(host)
        if override is not None:
            return override
        own = self._registry_files.get(host)
        found = self._from_file(own.current(), registry) if own is not None else None
        if found is None and self._authfile is not None:
            found = self._from_file(self._authfile.current(), registry)
        return found or next(
            (self._entries[s] for s in scopes(registry) if s in self._entries), None
        )

    def _from_file(self, config: AuthConfig, name: str) -> Credential | None:
        """Helpers before inline entries; a helper that holds nothing passes to the next."""
        server = server_url(registry_host(name))
        for helper in config.helpers_for(registry_host(name)):
            found = self._helpers.ask(helper, server)
            if found is not None:
                return found
        return config.inline(name)

    def fresh(self, registry: str, used: Credential | None) -> bool:
        """After an auth failure with ``used``: True when the credential is now another one.

        Remembered helper answers for the host are dropped first, unless another thread
        has already done so (the lookup no longer gives ``used``). One retry then
        follows a rotation, and a plain wrong password is not tried twice.
        """
        if self.lookup(registry) == used:
            self._helpers.forget(server_url(registry_host(registry)))
        return self.lookup(registry) != used

    def secrets(self) -> tuple[str, ...]:
        """Every secret known now, raw and inside its base64 ``auth`` blob, for redaction."""
        files = [f.current() for f in (self._authfile, *self._registry_files.values()) if f]
        inline = [c for config in files for c in config.entries.values()]
        creds = [*self._entries.values(), *self._overrides.values(), *inline]
        found = [form for c in creds for form in c.secret_forms()]
        return tuple(dict.fromkeys([*found, *self._helpers.secrets()]))

    @contextmanager
    def authfile(self, registries: Iterable[str]) -> Iterator[Path | None]:
        """A private temporary auth file for these registries (or image names), removed on exit.

        Keyed by registry host, first item wins per host; ``None`` when no credential
        applies (anonymous access).
        """
        found: dict[str, Credential] = {}
        for name in registries:
            credential = self.lookup(name)
            if credential is not None:
                found.setdefault(registry_host(name), credential)
        with private_authfile(found) as path:
            yield path


@contextmanager
def private_authfile(credentials: Mapping[str, Credential | None]) -> Iterator[Path | None]:
    """``{"auths": …}`` for these hosts in a 0600 file in a 0700 directory, removed on exit.

    Yields ``None`` when no credential is given (the caller then runs anonymously).
    """
    auths = {host: c.auth_entry() for host, c in credentials.items() if c is not None}
    if not auths:
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="imgsync-auth-"))
    try:
        path = directory / "auth.json"
        _write_private(path, {"auths": auths})
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _on_secret(helpers: HelperCache | None) -> SecretSink | None:
    """The auth file reports its secrets where helper answers go (the log masking)."""
    return helpers.on_secret if helpers is not None else None


def _dockerhub_override(username: str | None, token: str | None) -> dict[str, Credential]:
    """The Docker Hub credential from settings; half a pair means anonymous pulls."""
    if username and token:
        return {DOCKER_HUB: Credential(username, token)}
    if username or token:
        log.warning("DOCKERHUB_USERNAME and DOCKERHUB_TOKEN must both be set; using none")
    return {}


def _write_private(path: Path, document: Mapping[str, Any]) -> None:
    """Create ``path`` with mode 0600 from the first byte (no chmod-after-write window)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o600), "w", encoding="utf-8") as handle:
        json.dump(document, handle)
