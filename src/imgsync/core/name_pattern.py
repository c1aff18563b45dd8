"""Patterns over repository names (``docker.io/library/*``, ``ghcr.io/org/**``), pure.

Why they match the *parsed* name and never the text a requester typed: the parser
has already folded ``nginx`` and ``index.docker.io/nginx`` into
``docker.io/library/nginx`` and refused anything outside the reference alphabet
(unicode look-alikes, zero-width characters, ``%2f``). A pattern therefore sees one
spelling per repository, and its host is compared literally, whole: no wildcard
is allowed in a host, so ``docker.io.evil.com`` or ``dockerhub.com`` can never
match ``docker.io/...``.

Syntax: ``host/path``. A path component ``*`` is exactly one component, ``**``
any number of them (at the end: one or more, as in ``.gitignore``; in the
middle: zero or more); ``*`` inside a component (``redis*``) is any run of
characters within that component. Everything else is literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from imgsync.core.reference import DOCKER_HUB
from imgsync.core.refparse import looks_like_registry_host

_COMPONENT = re.compile(r"[a-z0-9*][a-z0-9._*-]*")

__all__ = ["NamePattern", "compile_name_pattern"]


@dataclass(frozen=True, slots=True)
class NamePattern:
    """One compiled pattern; ``text`` is how the allowlist wrote it (for reasons shown)."""

    text: str
    regex: re.Pattern[str]

    def matches(self, name: str) -> bool:
        """Whether ``registry/repository`` (no tag, no digest) is one this pattern names."""
        return self.regex.fullmatch(name) is not None


def compile_name_pattern(text: str) -> NamePattern:
    """Compile ``text``; ValueError says what is wrong with it."""
    host, slash, path = text.strip().partition("/")
    _check_host(text, host, slash)
    components = path.split("/")
    for component in components:
        _check_component(text, component)
    if host == DOCKER_HUB and len(components) == 1 and "*" not in components[0]:
        raise ValueError(f"pattern {text!r}: official images are docker.io/library/{path}")
    return NamePattern(text.strip(), re.compile(re.escape(host) + _path_regex(components)))


def _check_host(text: str, host: str, slash: str) -> None:
    if not slash or not looks_like_registry_host(host):
        raise ValueError(f"pattern {text!r} must start with a registry host, e.g. docker.io/…")
    if "*" in host:
        raise ValueError(f"pattern {text!r}: the registry host must be written out, no '*'")
    if host == "index.docker.io":
        raise ValueError(f"pattern {text!r}: write docker.io, the name references are read as")


def _check_component(text: str, component: str) -> None:
    if component == "**":
        return
    if "**" in component or not _COMPONENT.fullmatch(component):
        raise ValueError(
            f"pattern {text!r}: path component {component!r} must be lowercase letters, "
            "digits, '.', '_', '-' and '*' (or '**' alone)"
        )


def _path_regex(components: list[str]) -> str:
    """``/a/*/b`` → ``/a/[^/]+/b``; ``/**`` at the end → one or more components."""
    regex = ""
    last = len(components) - 1
    for index, component in enumerate(components):
        if component == "**":
            regex += r"(?:/[^/]+)+" if index == last else r"(?:/[^/]+)*"
        elif component == "*":
            regex += r"/[^/]+"
        else:
            regex += "/" + r"[^/]*".join(re.escape(part) for part in component.split("*"))
    return regex
