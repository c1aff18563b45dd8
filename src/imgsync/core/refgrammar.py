"""The rules each part of an image reference follows, after ``distribution/reference``.

Shared by :class:`~imgsync.core.reference.ImageReference` (which checks itself when
built, so ``dataclasses.replace`` cannot smuggle in a bad tag) and by
:mod:`imgsync.core.refparse` (which also splits and normalises text). Each check
is one anchored regexp, copied from ``regexp.go``, so the hot path stays cheap;
only a failure walks the text again to say *which* part is wrong.

Grammar (``reference.go``, ``regexp.go``; digests as in ``go-digest``)::

    host      := domain [ ":" port ] | "[" ipv6 "]" [ ":" port ]
    domain    := label ( "." label )*
    label     := [a-zA-Z0-9] | [a-zA-Z0-9] [a-zA-Z0-9-]* [a-zA-Z0-9]
    path      := component ( "/" component )*   at most 255 characters (the host not counted)
    component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
    digest    := "sha256:" [0-9a-f]{64} | "sha512:" [0-9a-f]{128}

Deliberately stricter than Docker's regexps, which leave these to "validation"
later (their own test comments say so): a port is 1-65535, the bracketed text is
an IPv6 address, and a host has at most :data:`HOST_MAX` characters. The
algorithms are the ones ``go-digest`` registers by default (the OCI image spec's).
"""

from __future__ import annotations

import ipaddress
import re
import string
from functools import lru_cache

NAME_MAX = 255
TAG_MAX = 128
#: A DNS name (253 characters) and ":65535"; an IPv6 host is shorter.
HOST_MAX = 253 + len(":65535")
PORT_MAX = 65535
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
DIGEST_MAX = max(len(name) + 1 + size for name, size in DIGEST_HEX_LENGTHS.items())
BRACKETS_ONLY_IN_HOST = "'[' and ']' are only allowed around an IPv6 registry host"

_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST = re.compile(rf"(?P<address>{_LABEL}(?:\.{_LABEL})*|\[[a-fA-F0-9:]+\])(?::(?P<port>[0-9]+))?")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_PATH = re.compile(rf"{_COMPONENT.pattern}(?:/{_COMPONENT.pattern})*")
_TAG = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{TAG_MAX - 1}}}")
_DIGEST = re.compile("|".join(f"{name}:[0-9a-f]{{{n}}}" for name, n in DIGEST_HEX_LENGTHS.items()))
_LOWER_HEX = re.compile(r"[0-9a-f]+")
_ALGORITHM = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*")
_LABEL_CHARS = frozenset(string.ascii_letters + string.digits + "-")
_PATH_CHARS = frozenset(string.ascii_lowercase + string.digits + "._-")
_TAG_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")
_IPV6_CHARS = string.hexdigits + ":"
_SEPARATORS = "._-"


class GrammarViolation(Exception):
    """A rule failed; callers raise :class:`~imgsync.errors.InvalidReference` with the text."""


@lru_cache(maxsize=1024)
def check_host(host: str) -> None:
    """A registry host as Docker writes it; cached, since a run names few hosts."""
    _require_text(host, "registry")
    match = _HOST.fullmatch(host) if len(host) <= HOST_MAX else None
    if match is None:
        raise GrammarViolation(_host_reason(host))
    address, port = match.group("address", "port")
    if address.startswith("["):
        _check_ipv6(address[1:-1])
    if port is not None and not 1 <= int(port) <= PORT_MAX:
        raise GrammarViolation(_port_reason(port))


@lru_cache(maxsize=4096)
def check_path(path: str) -> None:
    """The repository path (Docker's "remote name"), ``library/`` included; cached."""
    _require_text(path, "repository")
    if len(path) > NAME_MAX or _PATH.fullmatch(path) is None:
        raise GrammarViolation(_path_reason(path))


@lru_cache(maxsize=4096)
def check_tag(tag: str) -> None:
    """Cached: references are rebuilt with the same few tags all the time."""
    _require_text(tag, "tag")
    if _TAG.fullmatch(tag) is None:
        raise GrammarViolation(_tag_reason(tag))


@lru_cache(maxsize=4096)
def check_digest(digest: str) -> None:
    """Cached: a run pins the digest it read to its source and destination, and HEADs both."""
    _require_text(digest, "digest")
    if _DIGEST.fullmatch(digest) is None:
        raise GrammarViolation(_digest_reason(digest))


def _require_text(value: object, field: str) -> None:
    if not isinstance(value, str):
        raise GrammarViolation(f"{field} must be a string, got {type(value).__name__}")


def _host_reason(host: str) -> str:
    if not host:
        return "empty registry host"
    if len(host) > HOST_MAX:
        return f"registry host longer than {HOST_MAX} characters"
    if host.startswith("["):
        return _bracketed_reason(host)
    if "[" in host or "]" in host:
        return BRACKETS_ONLY_IN_HOST
    domain, colon, port = host.partition(":")
    for label in domain.split("."):
        _check_label(label, host)
    return _port_reason(port) if colon else f"registry host {host!r} does not follow the grammar"


def _bracketed_reason(host: str) -> str:
    inside, closing, after = host[1:].partition("]")
    if not closing:
        return f"'[' without ']' in registry host {host!r}"
    if after and not after.startswith(":"):
        return f"only ':<port>' may follow ']' in registry host {host!r}"
    if not inside or inside.strip(_IPV6_CHARS):
        return f"{inside!r} is not an IPv6 address"
    return _port_reason(after[1:])


def _check_ipv6(text: str) -> None:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        raise GrammarViolation(f"{text!r} is not an IPv6 address") from None


def _check_label(label: str, host: str) -> None:
    if not label:
        raise GrammarViolation(f"empty label in registry host {host!r}")
    bad = next((char for char in label if char not in _LABEL_CHARS), None)
    if bad is not None:
        raise GrammarViolation(f"character {bad!r} is not allowed in registry host {host!r}")
    if label[0] == "-" or label[-1] == "-":
        raise GrammarViolation(f"labels of registry host {host!r} may not start or end with '-'")


def _port_reason(port: str) -> str:
    return f"port {port!r} must be a number from 1 to {PORT_MAX}"


def _path_reason(path: str) -> str:
    for component in path.split("/"):
        reason = _component_reason(component)
        if reason is not None:
            return reason
    return f"repository name longer than {NAME_MAX} characters"


def _component_reason(component: str) -> str | None:
    if not component:
        return "empty path component"
    bad = next((char for char in component if char not in _PATH_CHARS), None)
    if bad is not None:
        return _path_character_reason(bad)
    if component[0] in _SEPARATORS or component[-1] in _SEPARATORS:
        return f"path component {component!r} must start and end with a-z or 0-9"
    if _COMPONENT.fullmatch(component) is None:
        return f"path component {component!r}: separators are '.', '_', '__' or '-'"
    return None


def _path_character_reason(char: str) -> str:
    if char.isupper():
        return "uppercase letters are not allowed in repository names"
    if char in "[]":
        return BRACKETS_ONLY_IN_HOST
    return f"character {char!r} is not allowed in repository names"


def _tag_reason(tag: str) -> str:
    if not tag:
        return "empty tag after ':'"
    if len(tag) > TAG_MAX:
        return f"tag longer than {TAG_MAX} characters"
    if tag[0] in ".-":
        return "tag must start with a letter, a digit or '_'"
    bad = next((char for char in tag if char not in _TAG_CHARS), "")
    return f"character {bad!r} is not allowed in a tag" if bad else f"tag {tag!r} is malformed"


def _digest_reason(digest: str) -> str:
    algorithm, colon, encoded = digest.partition(":")
    if not colon or not algorithm or not encoded:
        return f"digest must be <algorithm>:<hex> such as sha256:<64 hex>, got {digest!r}"
    if _ALGORITHM.fullmatch(algorithm) is None:
        return f"malformed digest algorithm {algorithm!r}"
    size = DIGEST_HEX_LENGTHS.get(algorithm)
    if size is None:
        return f"unsupported digest algorithm {algorithm!r}; use sha256 or sha512"
    if _LOWER_HEX.fullmatch(encoded) is None:
        return f"{algorithm} digest must be lowercase hex (0-9, a-f)"
    return f"{algorithm} digest must have {size} hex characters, got {len(encoded)}"
