"""Registry credentials: read once from an ``auths`` file, handed to skopeo only through files.

Passwords on a command line are visible to every local user in ``ps`` and
``/proc/*/cmdline``, so skopeo never gets ``--creds``: it gets a private,
short-lived auth file that holds only the registries one copy needs. The
file format is the one docker, podman and skopeo share::

    {"auths": {"KEY": {"auth": base64("user:password")}}}

Keys come in many spellings (``https://index.docker.io/v1/``, ``docker.io``,
``host:port``, ``https://host:port``, ``host:port/namespace``); they are
normalised so that lookups match by longest prefix on path segments. Error
messages and logs name the file and the entry key, never the secret.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgsync.core.reference import DOCKER_HUB
from imgsync.errors import ConfigError

log = logging.getLogger(__name__)

#: Every name Docker Hub's registry goes by in auth files.
DOCKER_HUB_ALIASES = frozenset(
    {DOCKER_HUB, "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_API_PATHS = frozenset({"v1", "v2"})


@dataclass(frozen=True, slots=True)
class Credential:
    """A username and its password or token; ``repr``/``str`` never show the secret."""

    username: str
    secret: str = field(repr=False)

    @property
    def auth(self) -> str:
        """The ``auth`` field of an auth file: ``base64("user:secret")``."""
        return base64.b64encode(f"{self.username}:{self.secret}".encode()).decode("ascii")


def registry_host(name: str) -> str:
    """The registry part of a key or name, with Docker Hub's aliases folded into ``docker.io``."""
    host = _SCHEME.sub("", name.strip()).partition("/")[0].lower()
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES else host


def normalize_key(key: str) -> str:
    """``https://index.docker.io/v1/`` → ``docker.io``; ``host:port/ns/`` → ``host:port/ns``.

    A key with a scheme is a legacy URL and names a whole host (docker ignores
    its path); a key without one may be scoped to a namespace (podman style).
    """
    text = key.strip()
    path = _SCHEME.sub("", text).partition("/")[2].strip("/")
    if _SCHEME.match(text) or not path or path in _API_PATHS:
        return registry_host(text)
    return f"{registry_host(text)}/{path}"


def _scopes(name: str) -> Iterator[str]:
    """``host/a/b`` → ``host/a/b``, ``host/a``, ``host``: the keys to try, longest first."""
    parts = normalize_key(name).split("/")
    for end in range(len(parts), 0, -1):
        yield "/".join(parts[:end])


class CredentialStore:
    """Credentials per registry (or namespace), looked up by longest prefix.

    ``DOCKERHUB_USERNAME``/``DOCKERHUB_TOKEN`` beat anything the auth file says
    about Docker Hub: they are the deliberate, per-deployment setting.
    """

    def __init__(
        self,
        entries: Mapping[str, Credential] | None = None,
        overrides: Mapping[str, Credential] | None = None,
    ) -> None:
        self._entries = {normalize_key(k): v for k, v in (entries or {}).items()}
        self._overrides = {registry_host(k): v for k, v in (overrides or {}).items()}

    def __repr__(self) -> str:
        keys = sorted({*self._entries, *self._overrides})
        return f"CredentialStore(registries={keys!r})"

    @classmethod
    def load(
        cls,
        *,
        dockerhub_username: str | None,
        dockerhub_token: str | None,
        authfile: Path | None,
    ) -> CredentialStore:
        """Read ``authfile`` (if given) and apply the Docker Hub settings on top."""
        entries = read_authfile(authfile) if authfile is not None else {}
        overrides = _dockerhub_override(dockerhub_username, dockerhub_token)
        return cls(entries, overrides)

    def with_overrides(self, overrides: Mapping[str, Credential]) -> CredentialStore:
        """A store where ``overrides`` (per registry, from the sync file) beat everything else."""
        store = CredentialStore()
        store._entries = dict(self._entries)
        added = {registry_host(key): credential for key, credential in overrides.items()}
        store._overrides = {**self._overrides, **added}
        return store

    def lookup(self, registry: str) -> Credential | None:
        """The credential for a registry (``docker.io``, ``host:port``) or image name."""
        override = self._overrides.get(registry_host(registry))
        if override is not None:
            return override
        return next((self._entries[s] for s in _scopes(registry) if s in self._entries), None)

    def secrets(self) -> tuple[str, ...]:
        """Every secret, raw and inside its base64 ``auth`` blob, for redaction."""
        creds = [*self._entries.values(), *self._overrides.values()]
        found = [text for c in creds for text in (c.secret, c.auth) if c.secret]
        return tuple(dict.fromkeys(found))

    @contextmanager
    def authfile(self, registries: Iterable[str]) -> Iterator[Path | None]:
        """A private temporary auth file for these registries, removed on exit.

        Items are registries or image names (so a namespace-scoped entry can
        apply); the file is keyed by registry host, first item wins per host.
        Yields ``None`` when no credential applies (anonymous access).
        """
        auths = self._auths_for(registries)
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

    def _auths_for(self, registries: Iterable[str]) -> dict[str, dict[str, str]]:
        auths: dict[str, dict[str, str]] = {}
        for name in registries:
            credential = self.lookup(name)
            if credential is not None:
                auths.setdefault(registry_host(name), {"auth": credential.auth})
        return auths


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


def read_authfile(path: Path) -> dict[str, Credential]:
    """Parse an ``auths`` file into normalised key → credential.

    Entries without inline credentials (docker's ``credsStore``/``credHelpers``)
    are skipped with a warning; anything malformed is a :class:`ConfigError`.
    When two keys normalise alike, the one already in normal form wins.
    """
    document = _load_json(path)
    auths = document.get("auths", {})
    if not isinstance(auths, dict):
        raise ConfigError(f"auth file {path}: 'auths' is not a JSON object")
    _warn_helpers(path, document)
    entries: dict[str, Credential] = {}
    for key, entry in sorted(auths.items(), key=lambda kv: normalize_key(kv[0]) != kv[0]):
        credential = _parse_entry(path, key, entry)
        if credential is not None:
            entries.setdefault(normalize_key(key), credential)
    return entries


def _load_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"auth file {path}: cannot read it: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ConfigError(f"auth file {path}: not valid JSON{where}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"auth file {path}: the top level is not a JSON object")
    return document


def _warn_helpers(path: Path, document: Mapping[str, Any]) -> None:
    """Credential helpers run external programs; imgsync uses inline entries only."""
    helpers = document.get("credHelpers")
    for registry in helpers if isinstance(helpers, dict) else ():
        log.warning(
            "auth file %s: credHelpers entry for %s ignored (not supported)", path, registry
        )
    if document.get("credsStore"):
        log.warning("auth file %s: credsStore ignored (not supported); inline auths only", path)


def _parse_entry(path: Path, key: str, entry: object) -> Credential | None:
    if not isinstance(entry, dict):
        raise ConfigError(f"auth file {path}: entry {key!r} is not a JSON object")
    if entry.get("auth"):
        return _decode_auth(path, key, entry["auth"])
    username, password = entry.get("username"), entry.get("password")
    if username or password:
        if not (isinstance(username, str) and isinstance(password, str) and username):
            raise ConfigError(f"auth file {path}: entry {key!r} needs both username and password")
        return Credential(username, password) if password else _skip(path, key)
    return _skip(path, key)


def _decode_auth(path: Path, key: str, auth: object) -> Credential | None:
    """Decode ``base64("user:password")``; the password may itself contain colons."""
    problem = f"auth file {path}: entry {key!r}: 'auth' is not base64 of 'user:password'"
    if not isinstance(auth, str):
        raise ConfigError(problem)
    try:
        text = base64.b64decode(auth, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise ConfigError(problem) from None
    username, colon, secret = text.partition(":")
    if not colon or not username:
        raise ConfigError(problem)
    return Credential(username, secret) if secret else _skip(path, key)


def _skip(path: Path, key: str) -> Credential | None:
    """No inline password (a helper holds it, or it is empty): say so, use none."""
    log.warning("auth file %s: entry %r has no inline password; accessed anonymously", path, key)
    return None
