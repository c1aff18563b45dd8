"""Parse image references the way Docker's ``ParseNormalizedNamed`` does, and refuse the rest.

Why hand-written and strict: references end up on a ``skopeo`` command line, so
anything outside the grammar is refused with a reason a human can act on, and the
parser must stay linear on hostile input. The total length is checked before
anything else; after that every rule is one pass over a short string, so a
megabyte of garbage is refused at once. The rules of each part (host, path, tag,
digest) live in :mod:`imgsync.core.refgrammar`; this module splits and normalises.

Grammar (``distribution/reference``: ``reference.go``, ``regexp.go``)::

    reference := name [ ":" tag ] [ "@" digest ]
    name      := [ host "/" ] path

Normalisation, as ``splitDockerDomain`` in ``normalize.go`` does it:

1. A name without ``/`` is a Docker Hub repository: ``ubuntu`` is
   ``docker.io/library/ubuntu``.
2. Otherwise the first component names the registry when it is ``localhost``,
   contains ``.`` or ``:``, or has an uppercase letter (namespaces are lowercase,
   so ``LOCALDOMAIN/app`` names a host); else the registry is ``docker.io``.
3. ``index.docker.io`` becomes ``docker.io``; every other host is kept exactly as
   written (its case, its IPv6 spelling, ``registry-1.docker.io``).
4. A Docker Hub path of one component gets the namespace ``hub_namespace``
   (``library/`` by default, like Docker; ``None`` leaves it bare so a caller can
   decide what a bare name means).
5. Text that is 64 lowercase hex digits alone is an image ID, not a name.
6. The path has at most 255 characters once normalised; the host is not counted.
7. Without tag and digest the tag is ``default_tag`` (``None``: no tag). A digest
   without a tag keeps no tag: adding ``latest`` would claim something unsaid.
8. Surrounding whitespace is not trimmed: whitespace is refused anywhere, and
   callers that read free text strip it themselves.

Where imgsync differs from Docker on purpose (each refuses what cannot be reached
or named): see :mod:`imgsync.core.refgrammar` and ``tests/test_reference.py``.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from typing import NamedTuple

from imgsync.core.reference import DOCKER_HUB, ImageReference
from imgsync.core.refgrammar import (
    DIGEST_MAX,
    HOST_MAX,
    NAME_MAX,
    TAG_MAX,
    GrammarViolation,
    check_digest,
    check_host,
    check_path,
    check_tag,
)
from imgsync.errors import InvalidReference

LEGACY_HUB = "index.docker.io"
REFERENCE_MAX = HOST_MAX + 1 + NAME_MAX + 1 + TAG_MAX + 1 + DIGEST_MAX

_ALLOWED = frozenset(string.ascii_letters + string.digits + "._-/:@[]+")
_SHELL = frozenset("$();&|<>`'\"\\*?!{}")
_IDENTIFIER = re.compile(r"[a-f0-9]{64}")


#: References a process keeps parsed (a few MB at most).
PARSED_KEPT = 8192


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
    except GrammarViolation as exc:
        raise InvalidReference(text, str(exc)) from None


def looks_like_registry_host(component: str) -> bool:
    """Whether a leading path component names a registry rather than a namespace."""
    return (
        component == "localhost"
        or "." in component
        or ":" in component
        or component.lower() != component
    )


@functools.lru_cache(maxsize=PARSED_KEPT)
def _parse(text: str, default_tag: str | None, hub_namespace: str | None) -> ImageReference:
    """Cached: a worker reads each reference of a run twice (its token warm-up, then the
    task), and a reference is an immutable value; text that fails is never cached."""
    _screen(text)
    parts = _split(text)
    registry, path = _split_name(parts.name)
    if registry == DOCKER_HUB and "/" not in path and hub_namespace is not None:
        path = _in_namespace(hub_namespace, path)
    check_path(path)
    tag = parts.tag if parts.tag is not None or parts.digest is not None else default_tag
    if tag is not None:
        check_tag(tag)
    return ImageReference(registry, path, tag, parts.digest)


def _screen(text: str) -> None:
    """Refuse empty, over-long, out-of-alphabet and image-ID text before real parsing."""
    if not text:
        raise GrammarViolation("empty reference")
    if len(text) > REFERENCE_MAX:
        raise GrammarViolation(f"reference longer than {REFERENCE_MAX} characters")
    bad = next((char for char in text if char not in _ALLOWED), None)
    if bad is not None:
        raise GrammarViolation(_describe(bad))
    if _IDENTIFIER.fullmatch(text):
        raise GrammarViolation("64 hex digits alone are an image ID, not a repository name")


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
        if "@" in digest:
            raise GrammarViolation("only one '@' is allowed")
        check_digest(digest)
    name, tag = _split_tag(rest)
    if not name:
        raise GrammarViolation("missing repository name")
    return _Parts(name, tag, digest if at else None)


def _split_tag(text: str) -> tuple[str, str | None]:
    """A ``:`` after the last ``/`` (and ``]``) starts the tag; earlier ones are a host's port."""
    colon = text.rfind(":")
    if colon <= max(text.rfind("/"), text.rfind("]")):
        return text, None
    tag = text[colon + 1 :]
    check_tag(tag)
    return text[:colon], tag


def _split_name(name: str) -> tuple[str, str]:
    """The registry (``index.docker.io`` folded into ``docker.io``) and the path as written."""
    first, slash, rest = name.partition("/")
    if not slash or not looks_like_registry_host(first):
        return DOCKER_HUB, name
    check_host(first)
    return (DOCKER_HUB if first == LEGACY_HUB else first), rest


def _in_namespace(namespace: str, path: str) -> str:
    """``nginx`` → ``library/nginx``; the limit counts the namespace, as Docker's does."""
    check_path(path)
    full = f"{namespace}/{path}"
    if len(full) > NAME_MAX:
        raise GrammarViolation(
            f"repository name longer than {NAME_MAX} characters once normalised to {namespace}/…"
        )
    return full
