"""Turn the user's mapping text into validated source → destination pairs.

Why everything is checked up front: a run that stops at item 7 because of a typo
wastes the six copies before it, so every item is validated before anything runs
and every problem is reported in one :class:`~imgsync.errors.InvalidMapping`.

Syntax: items ``<source>[:<tag>]=<destination>[:<tag>]`` separated by commas
and/or newlines. Whitespace around items and around ``=`` is ignored, empty items
(a trailing comma, a blank line) are skipped, and a line whose first non-blank
character is ``#`` is a comment. Several strings (several CLI arguments) are read
as if each stood on its own line.

An item's *position* is its 1-based index among the non-empty, non-comment items,
counted in reading order across all lines and strings; blank items and comments do
not count, so ``"a=b,,c=d"`` has items 1 and 2.

Rules:

- A source without tag means ``:latest``; a destination without tag takes the
  source's tag. A source pinned by digest needs an explicit destination tag, and a
  destination may not be a digest (one cannot push to a digest).
- A Docker Hub destination written with one path component (``nginx=mynginx``) goes
  to ``docker.io/<dockerhub_user>/mynginx``; without ``dockerhub_user`` it is an
  error, since nobody but Docker can push to ``library/``. Only what the user
  wrote counts: an explicit ``library/x`` is taken at its word.
- With ``dest_prefix`` (a registry host plus optional path) an item may be a bare
  source, copied to ``<prefix>/<source path without library/>:<tag>``, the path laid
  out by the destination template (:mod:`imgsync.core.destination_rules`).
- Every destination must fit its registry's profile (path depth): a plan that ACR
  Personal would refuse fails here, naming the template that would fit.
- Two items writing the same destination (after normalisation) are an error.
- At most :data:`MAX_ITEMS` items per run: every item costs real work (a HEAD
  request, maybe a copy), and the cap keeps a runaway or hostile input (a megabyte
  of ``A,A,A``) from tying the parser up for seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from imgsync.core.destination_rules import DestinationRules
from imgsync.core.item import SyncItem
from imgsync.core.mapping_problem import MappingProblem
from imgsync.core.reference import DOCKER_HUB, ImageReference
from imgsync.core.refparse import looks_like_registry_host, parse_reference
from imgsync.errors import ConfigError, InvalidMapping, InvalidReference

MAX_ITEMS = 50_000

_BLANK = " \t\r\f\v"
_ITEM = re.compile(r"[^,\n]+")
_PROBE = "probe"  # a throw-away last component, to validate a namespace or prefix

__all__ = ["MAX_ITEMS", "SyncItem", "parse_item", "parse_mappings", "split_items"]


@dataclass(frozen=True, slots=True)
class _Rules:
    """The settings that change how an item is read."""

    hub_user: str | None
    prefix: str | None
    dest: DestinationRules


class _ItemError(Exception):
    """One item is wrong; the message is the reason shown to the user."""


def split_items(text: str) -> list[tuple[int, str]]:
    """Split mapping text into ``(position, item)`` pairs, dropping blanks and comments.

    Runs of separators are skipped by the regex rather than item by item, so a
    flood of commas or newlines costs next to nothing.
    """
    if "#" in text:
        text = "\n".join(line for line in text.split("\n") if not _is_comment(line))
    pieces = (piece.strip(_BLANK) for piece in _ITEM.findall(text))
    return list(enumerate((piece for piece in pieces if piece), start=1))


def _is_comment(line: str) -> bool:
    return line.lstrip(_BLANK).startswith("#")


def parse_mappings(
    text: str | Iterable[str],
    *,
    dockerhub_user: str | None = None,
    dest_prefix: str | None = None,
    dest_rules: DestinationRules | None = None,
) -> list[SyncItem]:
    """Parse every item or raise one InvalidMapping listing all problems.

    A bad ``dockerhub_user`` or ``dest_prefix`` raises ConfigError: it is the
    configuration that is wrong, not any item. ``dest_rules`` (templates, profiles)
    defaults to the built-in profiles and the ``path`` template.
    """
    rules = _rules(dockerhub_user, dest_prefix, dest_rules)
    joined = text if isinstance(text, str) else "\n".join(text)
    items = split_items(joined)
    _check_count(items)
    parsed, problems = _parse_all(items, rules)
    problems.extend(_duplicates(parsed))
    if problems:
        raise InvalidMapping(sorted(problems, key=lambda problem: problem.position))
    return [item for _, _, item in parsed]


def parse_item(
    text: str,
    *,
    dockerhub_user: str | None = None,
    dest_prefix: str | None = None,
    dest_rules: DestinationRules | None = None,
) -> SyncItem:
    """One item read as :func:`parse_mappings` reads it; ValueError with the reason if wrong.

    The sync file builds items from its own fields and reports problems at the
    file's line, so it needs the reason alone rather than a positioned list.
    """
    try:
        return _parse_item(text, _rules(dockerhub_user, dest_prefix, dest_rules))
    except _ItemError as exc:
        raise ValueError(str(exc)) from None


def _rules(hub_user: str | None, prefix: str | None, dest: DestinationRules | None) -> _Rules:
    return _Rules(_hub_user(hub_user), _prefix(prefix), dest or DestinationRules())


def _check_count(items: list[tuple[int, str]]) -> None:
    """Refuse absurdly long lists before parsing them, so hostile input stays cheap."""
    if len(items) > MAX_ITEMS:
        position, text = items[MAX_ITEMS]
        reason = f"more than {MAX_ITEMS} items; split the list into several runs"
        raise InvalidMapping([MappingProblem(position, text, reason)])


def _parse_all(
    items: list[tuple[int, str]], rules: _Rules
) -> tuple[list[tuple[int, str, SyncItem]], list[MappingProblem]]:
    parsed: list[tuple[int, str, SyncItem]] = []
    problems: list[MappingProblem] = []
    for position, item_text in items:
        try:
            parsed.append((position, item_text, _parse_item(item_text, rules)))
        except _ItemError as exc:
            problems.append(MappingProblem(position, item_text, str(exc)))
    return parsed, problems


def _parse_item(text: str, rules: _Rules) -> SyncItem:
    source_text, destination_text = _sides(text)
    source = _reference("source", source_text, default_tag="latest")
    prefix = rules.prefix if destination_text is None else None
    if destination_text is None:
        destination_text = _prefixed(source, rules)
    destination = _destination(source, destination_text, rules.hub_user)
    item = SyncItem(source, destination, writes=rules.dest.writes_for(destination))
    problem = rules.dest.problem(item.destination, prefix, source.short_path)
    if problem is not None:
        raise _ItemError(problem)
    return item


def _sides(text: str) -> tuple[str, str | None]:
    """Split at ``=``; no ``=`` means a bare source (only valid with a prefix)."""
    if text.count("=") > 1:
        raise _ItemError("more than one '='; write <source>=<destination>")
    source, equals, destination = (side.strip(_BLANK) for side in text.partition("="))
    if not source:
        raise _ItemError("empty source before '='")
    if equals and not destination:
        raise _ItemError("empty destination after '='")
    return source, destination if equals else None


def _prefixed(source: ImageReference, rules: _Rules) -> str:
    if rules.prefix is None:
        raise _ItemError("no destination: write <source>=<destination> or set a destination prefix")
    return rules.dest.prefixed(rules.prefix, source.short_path)


def _destination(source: ImageReference, text: str, hub_user: str | None) -> ImageReference:
    destination = _reference("destination", text, default_tag=None, hub_namespace=hub_user)
    _check_pushable(destination)
    if destination.tag is not None:
        return destination
    if source.digest is not None or source.tag is None:
        raise _ItemError("the source is pinned by digest; give the destination an explicit tag")
    return destination.with_tag(source.tag)


def _check_pushable(destination: ImageReference) -> None:
    """One cannot push to a digest, nor (unless one is Docker) to ``library/``."""
    if destination.digest is not None:
        raise _ItemError("the destination may not be a digest; give it a tag")
    if destination.registry == DOCKER_HUB and "/" not in destination.repository:
        raise _ItemError(
            f"cannot push to docker.io/library/{destination.repository}; "
            "set DOCKERHUB_USERNAME or give a namespace"
        )


def _reference(
    side: str, text: str, *, default_tag: str | None, hub_namespace: str | None = "library"
) -> ImageReference:
    try:
        return parse_reference(text, default_tag=default_tag, hub_namespace=hub_namespace)
    except InvalidReference as exc:
        raise _ItemError(f"{side} {_excerpt(text)}: {exc.reason}") from None


def _excerpt(text: str, limit: int = 80) -> str:
    """Quote a side of an item, shortened: the full item is already in the problem."""
    return repr(text if len(text) <= limit else f"{text[:limit]}...")


def _duplicates(parsed: list[tuple[int, str, SyncItem]]) -> list[MappingProblem]:
    first_writer: dict[str, int] = {}
    problems: list[MappingProblem] = []
    for position, text, item in parsed:
        key = str(item.destination)
        if key in first_writer:
            reason = f"items {first_writer[key]} and {position} both write {key}"
            problems.append(MappingProblem(position, text, reason))
        else:
            first_writer[key] = position
    return problems


def _hub_user(user: str | None) -> str | None:
    """Validate DOCKERHUB_USERNAME as a namespace; an empty value means unset."""
    if not user:
        return None
    if "/" in user:
        raise ConfigError(f"DOCKERHUB_USERNAME {user!r} must be one name without '/'")
    try:
        parse_reference(f"{DOCKER_HUB}/{user}/{_PROBE}")
    except InvalidReference as exc:
        reason = f"DOCKERHUB_USERNAME {user!r} is not a valid namespace: {exc.reason}"
        raise ConfigError(reason) from None
    return user


def _prefix(prefix: str | None) -> str | None:
    """Validate and normalise the destination prefix; an empty value means unset."""
    text = (prefix or "").strip(_BLANK).removesuffix("/")
    if not text:
        return None
    if not looks_like_registry_host(text.partition("/")[0]):
        raise ConfigError(f"destination prefix {prefix!r} must start with a registry host")
    try:
        probe = parse_reference(f"{text}/{_PROBE}", default_tag=None, hub_namespace=None)
    except InvalidReference as exc:
        raise ConfigError(f"destination prefix {prefix!r} is invalid: {exc.reason}") from None
    return probe.name.removesuffix(f"/{_PROBE}")
