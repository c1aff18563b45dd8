"""Docker and containers auth files: inline ``auths``, ``credHelpers`` and ``credsStore``.

The format docker, podman and skopeo share::

    {"auths": {"KEY": {"auth": base64("user:password")}},
     "credHelpers": {"HOST": "ecr-login"}, "credsStore": "desktop"}

For one host the order is docker's: its ``credHelpers`` entry, then ``credsStore``,
then the inline entry (imgsync also falls back to the inline entry when a helper
holds nothing, where docker would go anonymous: ``skopeo login`` and ``podman login``
write inline entries into a docker config that names a store). Files are re-read when
they change on disk, so a long-lived worker sees a cron job's ``docker login``.
Messages name the file and the entry key, never the secret.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgsync.adapters.credential_helper import Helper
from imgsync.adapters.credential_keys import Credential, normalize_key, registry_host, scopes
from imgsync.errors import ConfigError

log = logging.getLogger(__name__)

#: A helper name becomes part of a program name: no paths, no shell characters.
_HELPER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """One auth file, parsed: inline entries by normalised key, helpers by host."""

    path: Path
    entries: Mapping[str, Credential] = field(default_factory=dict)
    helpers: Mapping[str, str] = field(default_factory=dict)
    store: str | None = None

    def helpers_for(self, host: str) -> Iterator[Helper]:
        """The helpers to ask about ``host``, in docker's order: its own, then the store."""
        own = self.helpers.get(host)
        if own is not None:
            yield Helper(own, f"credHelpers entry for {host} in {self.path}")
        if self.store is not None:
            yield Helper(self.store, f"credsStore of {self.path}")

    def inline(self, name: str) -> Credential | None:
        """The inline entry for a registry or image name, longest prefix first."""
        return next((self.entries[s] for s in scopes(name) if s in self.entries), None)


def read_auth_config(path: Path) -> AuthConfig:
    """Parse an auth file; anything malformed is a :class:`ConfigError` naming file and key.

    When two keys normalise alike, the one already in normal form wins.
    """
    document = _load_json(path)
    helpers, store = _helpers(path, document), _store(path, document)
    auths = document.get("auths", {})
    if not isinstance(auths, dict):
        raise ConfigError(f"auth file {path}: 'auths' is not a JSON object")
    entries: dict[str, Credential] = {}
    for key, entry in sorted(auths.items(), key=lambda kv: normalize_key(kv[0]) != kv[0]):
        covered = store is not None or registry_host(key) in helpers
        credential = _parse_entry(path, key, entry, covered)
        if credential is not None:
            entries.setdefault(normalize_key(key), credential)
    return AuthConfig(path, entries, helpers, store)


def read_authfile(path: Path) -> dict[str, Credential]:
    """The inline entries of an auth file, normalised key → credential."""
    return dict(read_auth_config(path).entries)


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


def _helpers(path: Path, document: Mapping[str, Any]) -> dict[str, str]:
    """``credHelpers``: registry host → helper name (``ecr-login``: docker-credential-ecr-login)."""
    found = document.get("credHelpers", {})
    if not isinstance(found, dict):
        raise ConfigError(f"auth file {path}: 'credHelpers' is not a JSON object")
    return {
        registry_host(key): _helper_name(path, f"credHelpers.{key}", name)
        for key, name in found.items()
    }


def _store(path: Path, document: Mapping[str, Any]) -> str | None:
    name = document.get("credsStore")
    return _helper_name(path, "credsStore", name) if name not in (None, "") else None


def _helper_name(path: Path, where: str, name: object) -> str:
    if not isinstance(name, str) or not _HELPER_NAME.match(name):
        raise ConfigError(
            f"auth file {path}: {where} must name a helper such as 'ecr-login' "
            "(run as docker-credential-ecr-login)"
        )
    return name


def _parse_entry(path: Path, key: str, entry: object, covered: bool) -> Credential | None:
    if not isinstance(entry, dict):
        raise ConfigError(f"auth file {path}: entry {key!r} is not a JSON object")
    if entry.get("auth"):
        return _decode_auth(path, key, entry["auth"], covered)
    username, password = entry.get("username"), entry.get("password")
    if username or password:
        if not (isinstance(username, str) and isinstance(password, str) and username):
            raise ConfigError(f"auth file {path}: entry {key!r} needs both username and password")
        return Credential(username, password) if password else _skip(path, key, covered)
    return _skip(path, key, covered)


def _decode_auth(path: Path, key: str, auth: object, covered: bool) -> Credential | None:
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
    return Credential(username, secret) if secret else _skip(path, key, covered)


def _skip(path: Path, key: str, covered: bool) -> Credential | None:
    """No inline password: normal under a helper or store (docker writes ``{}``), else say so."""
    if not covered:
        log.warning(
            "auth file %s: entry %r has no inline password; accessed anonymously", path, key
        )
    return None


Stamp = tuple[int, int, int] | None
"""``(inode, size, mtime_ns)`` of a file, ``None`` when it cannot be stat'ed."""


def _stamp(path: Path) -> Stamp:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


class WatchedAuthFile:
    """An auth file that is re-read when it changes (``docker login`` rewrites it).

    The first read happens here, so a broken file stops the run before anything is
    copied. A later rewrite that cannot be read keeps the last good content, with a
    warning: failing every copy of a running worker over a half-written file helps no one.
    """

    def __init__(
        self, path: Path, on_secret: Callable[[Iterable[str]], None] | None = None
    ) -> None:
        self.path = path
        self._on_secret = on_secret
        self._stamp = _stamp(path)
        self._config = self._announced(read_auth_config(path))
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"WatchedAuthFile({str(self.path)!r})"

    def current(self) -> AuthConfig:
        """The file's content as of now (one ``stat`` when it has not changed)."""
        stamp = _stamp(self.path)
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                self._config = self._reread(self._config)
            return self._config

    def _reread(self, last: AuthConfig) -> AuthConfig:
        try:
            config = read_auth_config(self.path)
        except ConfigError as exc:
            log.warning("%s; keeping the credentials read before", exc)
            return last
        log.info("auth file %s changed; credentials re-read", self.path)
        return self._announced(config)

    def _announced(self, config: AuthConfig) -> AuthConfig:
        """Tell ``on_secret`` (log masking) about the file's secrets before anyone uses them."""
        if self._on_secret is not None:
            self._on_secret(form for c in config.entries.values() for form in c.secret_forms())
        return config
