"""Parse image references the way Docker does, and refuse everything else.

Why hand-written and strict: references end up on a ``skopeo`` command line, so
anything outside the grammar is refused with a reason a human can act on, and the
parser must stay linear on hostile input. The total length is checked before
anything else; after that every rule is one pass over a short string (the only
regex has no nested ambiguity), so a megabyte of garbage is refused at once.

Grammar (after ``distribution/reference``)::

    reference := name [ ":" tag ] [ "@" digest ]
    name      := [ host "/" ] path                  at most 255 characters
    host      := domain [ ":" port ] | "[" ipv6 "]" [ ":" port ]
    domain    := label ( "." label )*               label: letters, digits, inner "-"
    path      := component ( "/" component )*
    component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
    digest    := "sha256:" [0-9a-f]{64}

Normalisation rules:

1. The first path component names a registry host only when a path follows it and
   it contains ``.`` or ``:`` or is exactly ``localhost``; otherwise the registry is
   ``docker.io``. (Docker also takes a first component with uppercase letters for a
   host; we refuse it for its uppercase letters instead of contacting a host
   called ``myorg`` for ``MyOrg/app``.)
2. The host is accepted in any case and lower-cased, since DNS ignores case.
   ``index.docker.io`` and ``registry-1.docker.io`` become ``docker.io``. IPv6
   hosts are written compressed (``[0:0::1]`` → ``[::1]``). Ports are 1–65535
   without leading zeros, so one registry has one spelling. IPv4 addresses pass
   as domains made of digit labels, as in Docker.
3. A Docker Hub path of one component gets the namespace ``hub_namespace``
   (``library/`` by default, like Docker; ``None`` leaves it bare so a caller can
   decide what a bare name means).
4. Without tag and digest the tag is ``default_tag`` (``None``: no tag). A digest
   without a tag keeps no tag: adding ``latest`` would claim something unsaid.
5. The name must fit in 255 characters both as written and once normalised; the
   second rule keeps ``str(parse_reference(t))`` parseable (the round trip).
6. Surrounding whitespace is not trimmed: whitespace is refused anywhere, and
   callers that read free text strip it themselves.
"""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata
from typing import NamedTuple

from imgsync.core.reference import DOCKER_HUB, ImageReference
from imgsync.errors import InvalidReference

NAME_MAX = 255
TAG_MAX = 128
DIGEST_ALGORITHM = "sha256"
DIGEST_HEX_LENGTH = 64
REFERENCE_MAX = NAME_MAX + 1 + TAG_MAX + 1 + len(DIGEST_ALGORITHM) + 1 + DIGEST_HEX_LENGTH
DIGEST_FORMAT = "digest must be sha256:<64 lowercase hex>"
BRACKETS_ONLY_IN_HOST = "'[' and ']' are only allowed around an IPv6 registry host"

_HUB_ALIASES = frozenset({DOCKER_HUB, "index.docker.io", "registry-1.docker.io"})
_ALLOWED = frozenset(string.ascii_letters + string.digits + "._-/:@[]")
_SHELL = frozenset("$();&|<>`'\"\\*?!{}")
_LABEL_CHARS = frozenset(string.ascii_letters + string.digits + "-")
_PATH_CHARS = frozenset(string.ascii_lowercase + string.digits + "._-")
_TAG_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")
_HEX_CHARS = frozenset("0123456789abcdef")
_IPV6_CHARS = frozenset(string.hexdigits + ":.")
_SEPARATORS = "._-"
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")


class _Rejected(Exception):
    """A grammar rule failed; :func:`parse_reference` adds the offending text."""


class _Parts(NamedTuple):
    """A reference split at ``:`` and ``@``, before the name is looked at."""

    name: str
    tag: str | None
    digest: str | None


def parse_reference(
    text: str, *, default_tag: str | None = "latest", hub_namespace: str | None = "library"
) -> ImageReference:
    """Parse and normalise ``text`` (see the module docstring), or raise InvalidReference."""
    try:
        return _parse(text, default_tag, hub_namespace)
    except _Rejected as exc:
        raise InvalidReference(text, str(exc)) from None


def looks_like_registry_host(component: str) -> bool:
    """Whether a leading path component names a registry rather than a namespace."""
    return "." in component or ":" in component or component == "localhost"


def _parse(text: str, default_tag: str | None, hub_namespace: str | None) -> ImageReference:
    _screen(text)
    parts = _split(text)
    registry, path = _split_name(parts.name)
    repository = _normalise_path(registry, path, hub_namespace)
    _check_name_length(parts.name, f"{registry}/{repository}")
    tag = parts.tag if parts.tag is not None or parts.digest is not None else default_tag
    if tag is not None:
        _check_tag(tag)
    return ImageReference(registry, repository, tag, parts.digest)


def _screen(text: str) -> None:
    """Refuse empty, over-long and out-of-alphabet text before any real parsing."""
    if not text:
        raise _Rejected("empty reference")
    if len(text) > REFERENCE_MAX:
        raise _Rejected(f"reference longer than {REFERENCE_MAX} characters")
    bad = next((char for char in text if char not in _ALLOWED), None)
    if bad is not None:
        raise _Rejected(_describe(bad))


def _describe(char: str) -> str:
    if char in string.whitespace or unicodedata.category(char).startswith("Z"):
        return "whitespace is not allowed"
    if unicodedata.category(char).startswith("C"):
        return f"control character {char!r} is not allowed"
    if char in _SHELL:
        return f"shell metacharacter {char!r} is not allowed"
    if not char.isascii():
        return f"non-ASCII character {char!r} is not allowed"
    return f"character {char!r} is not allowed in an image reference"


def _split(text: str) -> _Parts:
    rest, at, digest = text.partition("@")
    if at:
        _check_digest(digest)
    name, tag = _split_tag(rest)
    if not name:
        raise _Rejected("missing repository name")
    return _Parts(name, tag, digest if at else None)


def _split_tag(text: str) -> tuple[str, str | None]:
    """A ``:`` after the last ``/`` starts the tag; earlier ones belong to a host port."""
    colon = text.rfind(":")
    if colon <= text.rfind("/"):
        return text, None
    tag = text[colon + 1 :]
    _check_tag(tag)
    return text[:colon], tag


def _check_digest(digest: str) -> None:
    algorithm, colon, hexdigits = digest.partition(":")
    if "@" in digest:
        raise _Rejected("only one '@' is allowed")
    if not colon:
        raise _Rejected(f"{DIGEST_FORMAT}, got {digest!r}")
    if algorithm != DIGEST_ALGORITHM:
        raise _Rejected(f"unsupported digest algorithm {algorithm!r}; {DIGEST_FORMAT}")
    if len(hexdigits) != DIGEST_HEX_LENGTH:
        raise _Rejected(f"{DIGEST_FORMAT}, got {len(hexdigits)} characters after 'sha256:'")
    if not set(hexdigits) <= _HEX_CHARS:
        raise _Rejected(f"{DIGEST_FORMAT}, got characters other than 0-9 and a-f")


def _check_tag(tag: str) -> None:
    if not tag:
        raise _Rejected("empty tag after ':'")
    if len(tag) > TAG_MAX:
        raise _Rejected(f"tag longer than {TAG_MAX} characters")
    if tag[0] in ".-":
        raise _Rejected("tag must start with a letter, a digit or '_'")
    bad = next((char for char in tag if char not in _TAG_CHARS), None)
    if bad is not None:
        raise _Rejected(f"character {bad!r} is not allowed in a tag")


def _split_name(name: str) -> tuple[str, str]:
    """Return the normalised registry and the path as written."""
    first, slash, rest = name.partition("/")
    if slash and (looks_like_registry_host(first) or first.startswith("[")):
        return _normalise_host(first), rest
    return DOCKER_HUB, name


def _normalise_host(host: str) -> str:
    address, port = _ipv6_host(host) if host.startswith("[") else _domain_host(host)
    normal = address if port is None else f"{address}:{port}"
    return DOCKER_HUB if normal in _HUB_ALIASES else normal


def _ipv6_host(host: str) -> tuple[str, str | None]:
    inside, closing, after = host[1:].partition("]")
    if not closing:
        raise _Rejected("'[' without ']' in the registry host")
    if after and not after.startswith(":"):
        raise _Rejected("only ':<port>' may follow ']' in the registry host")
    return f"[{_ipv6(inside)}]", _port(after[1:]) if after else None


def _ipv6(text: str) -> str:
    try:
        if not set(text) <= _IPV6_CHARS:
            raise ValueError(text)
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        raise _Rejected(f"{text!r} is not an IPv6 address") from None


def _domain_host(host: str) -> tuple[str, str | None]:
    if "[" in host or "]" in host:
        raise _Rejected(BRACKETS_ONLY_IN_HOST)
    domain, colon, port = host.partition(":")
    for label in domain.split("."):
        _check_label(label)
    return domain.lower(), _port(port) if colon else None


def _check_label(label: str) -> None:
    if not label:
        raise _Rejected("empty label in the registry host")
    bad = next((char for char in label if char not in _LABEL_CHARS), None)
    if bad is not None:
        raise _Rejected(f"character {bad!r} is not allowed in a registry host")
    if label[0] == "-" or label[-1] == "-":
        raise _Rejected("registry host labels may not start or end with '-'")


def _port(port: str) -> str:
    if not (port.isascii() and port.isdigit() and port[0] != "0" and int(port) <= 65535):
        raise _Rejected(f"port {port!r} must be a number from 1 to 65535")
    return port


def _normalise_path(registry: str, path: str, hub_namespace: str | None) -> str:
    components = path.split("/")
    if registry == DOCKER_HUB and len(components) == 1 and hub_namespace is not None:
        components.insert(0, hub_namespace)
    for component in components:
        _check_component(component)
    return "/".join(components)


def _check_component(component: str) -> None:
    if not component:
        raise _Rejected("empty path component")
    bad = next((char for char in component if char not in _PATH_CHARS), None)
    if bad is not None:
        raise _Rejected(_path_character_reason(bad))
    if component[0] in _SEPARATORS or component[-1] in _SEPARATORS:
        raise _Rejected(f"path component {component!r} must start and end with a-z or 0-9")
    if not _COMPONENT.fullmatch(component):
        raise _Rejected(f"path component {component!r}: separators are '.', '_', '__' or '-'")


def _path_character_reason(char: str) -> str:
    if char.isupper():
        return "uppercase letters are not allowed in repository names"
    if char in "[]":
        return BRACKETS_ONLY_IN_HOST
    return f"character {char!r} is not allowed in repository names"


def _check_name_length(written: str, normalised: str) -> None:
    if len(written) > NAME_MAX:
        raise _Rejected(f"name longer than {NAME_MAX} characters")
    if len(normalised) > NAME_MAX:
        raise _Rejected(f"name longer than {NAME_MAX} characters once normalised")
