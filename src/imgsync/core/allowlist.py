"""What a self-service request may mirror: allowed sources, denied ones, tags, platforms.

Why an allowlist and not a denylist alone: a public issue tracker is open to
anyone, and every copy costs pulls, storage and trust in the mirror's names. So
nothing is copied unless a rule names it; the deny list then carves exceptions
out of broad rules (``docker.io/library/*`` but not ``docker.io/library/ubuntu``),
and deny always wins. The first allow rule that matches decides tags and platforms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from imgsync.core.item import SyncItem
from imgsync.core.name_pattern import NamePattern
from imgsync.core.platforms import Platform

#: Items per request when the allowlist does not say; each one is a HEAD and maybe a copy.
DEFAULT_MAX_PER_ISSUE = 10
#: The most an allowlist may allow per request; a comment must stay readable.
MAX_PER_ISSUE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Rule:
    """One allowed pattern. ``tags`` empty = any tag; ``platforms`` None = every platform."""

    pattern: NamePattern
    tags: tuple[str, ...] = ()
    deny_tags: tuple[str, ...] = ()
    platforms: tuple[Platform, ...] | None = None

    def refusal(self, item: SyncItem) -> str | None:
        """Why this rule's tag filters refuse ``item``, or None when they let it through."""
        tag = item.source.tag
        if tag is None and self.tags:
            return f"{self.pattern.text} allows only tags ({_listed(self.tags)}), not digests"
        if tag is not None and self.tags and not _any_match(tag, self.tags):
            return f"tag {tag} is not one {self.pattern.text} allows ({_listed(self.tags)})"
        if tag is not None and _any_match(tag, self.deny_tags):
            return f"tag {tag} is denied for {self.pattern.text}"
        return None


@dataclass(frozen=True, slots=True)
class Decision:
    """``item`` (with the rule's platforms) when allowed, else None and the reason."""

    item: SyncItem | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Allowlist:
    """The whole policy. ``destinations``: where a requester may name a destination."""

    allow: tuple[Rule, ...]
    deny: tuple[NamePattern, ...] = ()
    max_per_issue: int = DEFAULT_MAX_PER_ISSUE
    destinations: tuple[NamePattern, ...] = ()

    def __post_init__(self) -> None:
        if not self.allow:
            raise ValueError("an allowlist needs at least one allow rule")
        if not 1 <= self.max_per_issue <= MAX_PER_ISSUE_LIMIT:
            raise ValueError(f"max_per_issue must be between 1 and {MAX_PER_ISSUE_LIMIT}")

    def judge(self, item: SyncItem) -> Decision:
        """Deny first, then the first allow rule that names the source, then its tags."""
        name = item.source.name
        denied = next((p for p in self.deny if p.matches(name)), None)
        if denied is not None:
            return Decision(None, f"{name} is denied ({denied.text})")
        rule = next((r for r in self.allow if r.pattern.matches(name)), None)
        if rule is None:
            return Decision(None, f"{name} is not on the allowlist")
        refusal = rule.refusal(item)
        if refusal is not None:
            return Decision(None, refusal)
        platforms = rule.platforms if rule.platforms is not None else item.platforms
        return Decision(replace(item, platforms=platforms))

    def allows_destination(self, name: str) -> bool:
        """Whether a requester may name this destination repository themselves."""
        return any(pattern.matches(name) for pattern in self.destinations)


def _any_match(tag: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(tag, pattern) for pattern in patterns)


def _listed(patterns: tuple[str, ...]) -> str:
    return ", ".join(patterns)
