"""Which tags of a source repository an image entry of the sync file selects.

Either an explicit list (no tag listing needed, so a run can stay HEAD-only), or
filters over the repository's tag list, applied in this order:

1. ``regex``: keep tags the pattern matches (``re.search``: anchor with ``^…$``);
2. ``exclude``: drop tags this pattern matches;
3. ``semver``: keep tags whose version is in the range (:mod:`imgsync.core.semrange`);
   tags that are not versions (``latest``, ``alpine``) are dropped;
4. ``latest``: keep the N highest versions among what is left (non-versions dropped).

The result is in version order (then the non-versions alphabetically), so plans
and reports read the same on every run whatever order the registry lists tags in.
``immutable`` selects nothing; it marks selected tags that never change once
pushed (``^[0-9]+\\.[0-9]+\\.[0-9]+$``), which the pipeline then skips without a
request to the source as soon as the destination has them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from semver import Version

from imgsync.core.semrange import SemverRange, tag_version


def compile_pattern(text: str) -> re.Pattern[str]:
    """Compile a user's regular expression; ValueError says where it is wrong."""
    try:
        return re.compile(text)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise ValueError(f"invalid regular expression {text!r}: {exc.msg}{where}") from None


@dataclass(frozen=True, slots=True)
class TagSelector:
    """One image entry's tag selection; build it from the validated sync file."""

    names: tuple[str, ...] = ()
    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None
    semver: SemverRange | None = None
    latest: int | None = None
    immutable: re.Pattern[str] | None = None

    @property
    def needs_listing(self) -> bool:
        """Filters need the source's tag list; an explicit list does not."""
        return not self.names

    def select(self, available: Iterable[str] = ()) -> list[str]:
        """The selected tags: the explicit list as written, else the filtered ``available``."""
        if self.names:
            return list(self.names)
        kept = [tag for tag in dict.fromkeys(available) if self._passes_patterns(tag)]
        versions = {tag: tag_version(tag) for tag in kept}
        if self.semver is not None or self.latest is not None:
            kept = [tag for tag in kept if self._in_range(versions[tag])]
        ordered = sorted(kept, key=lambda tag: _order(tag, versions[tag]))
        return ordered[-self.latest :] if self.latest else ordered

    def is_immutable(self, tag: str) -> bool:
        return self.immutable is not None and self.immutable.search(tag) is not None

    def _passes_patterns(self, tag: str) -> bool:
        if self.include is not None and self.include.search(tag) is None:
            return False
        return self.exclude is None or self.exclude.search(tag) is None

    def _in_range(self, version: Version | None) -> bool:
        if version is None:
            return False
        return self.semver is None or self.semver.admits(version)


def _order(tag: str, version: Version | None) -> tuple[int, Version, str]:
    """Versions first and ascending (ties by tag text), then the rest alphabetically."""
    if version is None:
        return (1, Version(0), tag)
    return (0, version, tag)
