"""Read the self-service allowlist (YAML) into :class:`imgsync.core.allowlist.Allowlist`.

Why strict: the file is the only thing between a public issue tracker and the
mirror's registry, so a misspelt key (``deny_tag:``) must stop the run with the
file and line named instead of quietly allowing more than meant::

    allow:                          # required: at least one
      - docker.io/library/*         # a pattern alone ...
      - source: ghcr.io/org/**      # ... or a rule
        tags: ["v*", "latest"]      # optional: allowed tag patterns (fnmatch)
        deny_tags: ["*-rc*"]        # optional
        platforms: [linux/amd64]    # optional: copy only these platforms
    deny: [docker.io/library/ubuntu]  # optional; deny wins
    max_per_issue: 10               # optional, 1..100
    platforms: [linux/amd64, linux/arm64]  # optional default for every rule
    destinations: []                # optional: where requesters may name a destination
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from imgsync.config.yamllines import KeyPath, dotted, line_of, load_yaml
from imgsync.core.allowlist import DEFAULT_MAX_PER_ISSUE, Allowlist, Rule
from imgsync.core.name_pattern import NamePattern, compile_name_pattern
from imgsync.core.platforms import Platform, parse_platform
from imgsync.errors import ConfigError

_TOP_KEYS = frozenset({"allow", "deny", "max_per_issue", "platforms", "destinations"})
_RULE_KEYS = frozenset({"source", "tags", "deny_tags", "platforms"})


@dataclass(frozen=True, slots=True)
class _Where:
    """Turns a key path into ``file:line: key`` for the one error a bad file gets."""

    path: Path | str
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def fail(self, at: KeyPath, message: str) -> NoReturn:
        line = line_of(self.lines, at) or 1
        raise ConfigError(f"{self.path}:{line}: {dotted(at)}: {message}")


def load_allowlist(path: Path) -> Allowlist:
    """Read and validate ``path``; any problem is one ConfigError naming file, line and key."""
    data, lines = load_yaml(path)
    return build_allowlist(data, _Where(path, lines))


def build_allowlist(data: Any, where: _Where | None = None) -> Allowlist:
    """The allowlist ``data`` (parsed YAML) describes; ConfigError says where it is wrong."""
    at = where or _Where("allowlist")
    top = _mapping(data, (), _TOP_KEYS, at)
    if "allow" not in top:
        at.fail((), "'allow:' is required: a list of allowed source patterns")
    default = _platforms(top.get("platforms"), ("platforms",), at)
    rules = _list(top["allow"], ("allow",), at)
    allow = tuple(_rule(rule, ("allow", i), default, at) for i, rule in enumerate(rules))
    deny = _patterns(top.get("deny", []), ("deny",), at)
    destinations = _patterns(top.get("destinations", []), ("destinations",), at)
    count = _count(top.get("max_per_issue", DEFAULT_MAX_PER_ISSUE), at)
    try:
        return Allowlist(allow, deny, max_per_issue=count, destinations=destinations)
    except ValueError as exc:
        at.fail(("max_per_issue",), str(exc))


def _rule(data: Any, at: KeyPath, default: tuple[Platform, ...] | None, where: _Where) -> Rule:
    if isinstance(data, str):
        return Rule(_pattern(data, at, where), platforms=default)
    fields = _mapping(data, at, _RULE_KEYS, where)
    if "source" not in fields:
        where.fail(at, "a rule needs 'source:' (a pattern)")
    platforms = _platforms(fields.get("platforms"), (*at, "platforms"), where)
    return Rule(
        _pattern(fields["source"], (*at, "source"), where),
        tags=_strings(fields.get("tags", []), (*at, "tags"), where),
        deny_tags=_strings(fields.get("deny_tags", []), (*at, "deny_tags"), where),
        platforms=platforms if platforms is not None else default,
    )


def _mapping(data: Any, at: KeyPath, keys: frozenset[str], where: _Where) -> dict[str, Any]:
    if not isinstance(data, dict):
        where.fail(at, "must be a mapping")
    unknown = sorted(str(key) for key in data if key not in keys)
    if unknown:
        where.fail((*at, unknown[0]), f"unknown key; expected one of {', '.join(sorted(keys))}")
    return data


def _list(data: Any, at: KeyPath, where: _Where) -> list[Any]:
    if not isinstance(data, list) or not data:
        where.fail(at, "must be a non-empty list")
    return data


def _strings(data: Any, at: KeyPath, where: _Where) -> tuple[str, ...]:
    if not isinstance(data, list) or not all(isinstance(s, str) and s for s in data):
        where.fail(at, "must be a list of non-empty strings")
    return tuple(data)


def _pattern(text: Any, at: KeyPath, where: _Where) -> NamePattern:
    if not isinstance(text, str):
        where.fail(at, "must be a pattern such as docker.io/library/*")
    try:
        return compile_name_pattern(text)
    except ValueError as exc:
        where.fail(at, str(exc))


def _patterns(data: Any, at: KeyPath, where: _Where) -> tuple[NamePattern, ...]:
    if not isinstance(data, list):
        where.fail(at, "must be a list of patterns")
    return tuple(_pattern(text, (*at, index), where) for index, text in enumerate(data))


def _platforms(data: Any, at: KeyPath, where: _Where) -> tuple[Platform, ...] | None:
    if data is None:
        return None
    texts = _strings(_list(data, at, where), at, where)
    try:
        return tuple(parse_platform(text) for text in texts)
    except ValueError as exc:
        where.fail(at, str(exc))


def _count(value: Any, where: _Where) -> int:
    """``max_per_issue`` (YAML numbers are read as strings here)."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    where.fail(("max_per_issue",), "must be a whole number")
