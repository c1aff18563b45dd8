"""A credential, and the many spellings of the registry it belongs to.

Auth-file keys come as ``https://index.docker.io/v1/``, ``docker.io``, ``host:port``,
``https://host:port`` or ``host:port/namespace``; they are normalised so that lookups
match by longest prefix on path segments. Kept apart from the store so that the
auth-file reader and the credential-helper runner can share them without a cycle.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from imgsync.core.reference import DOCKER_HUB

#: Every name Docker Hub's registry goes by in auth files.
DOCKER_HUB_ALIASES = frozenset(
    {DOCKER_HUB, "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
#: The server URL docker itself keys Docker Hub under, in stores and helpers alike.
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_API_PATHS = frozenset({"v1", "v2"})


@dataclass(frozen=True, slots=True)
class Credential:
    """A username and its password or token; ``repr``/``str`` never show the secret.

    ``identity_token``: the secret is an OAuth2 refresh token (a credential helper's
    ``<token>`` username), exchanged at the token service rather than sent as Basic.
    """

    username: str
    secret: str = field(repr=False)
    identity_token: bool = False

    @property
    def auth(self) -> str:
        """The ``auth`` field of an auth file: ``base64("user:secret")``."""
        return base64.b64encode(f"{self.username}:{self.secret}".encode()).decode("ascii")

    def auth_entry(self) -> dict[str, str]:
        """This credential as one ``auths`` entry of a containers/docker auth file."""
        return {"identitytoken": self.secret} if self.identity_token else {"auth": self.auth}

    def secret_forms(self) -> tuple[str, ...]:
        """The secret and the base64 blob that carries it: what log masking must know."""
        return (self.secret, self.auth) if self.secret else ()


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


def scopes(name: str) -> Iterator[str]:
    """``host/a/b`` → ``host/a/b``, ``host/a``, ``host``: the keys to try, longest first."""
    parts = normalize_key(name).split("/")
    for end in range(len(parts), 0, -1):
        yield "/".join(parts[:end])


def server_url(host: str) -> str:
    """What a credential helper is asked for: docker's Docker Hub URL, else the host."""
    return DOCKER_HUB_SERVER if host == DOCKER_HUB else host
